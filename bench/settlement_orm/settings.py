"""Django settings of the ORM baseline: this app only, one throw-away SQLite file.

Nothing from ``prm.settings`` is imported (it creates ``var/`` and a secret key); the
time zone is the same as PRM's default.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

SECRET_KEY = "bench-settlement-orm-not-a-secret"
DEBUG = False  # DEBUG would keep every SQL statement in memory
INSTALLED_APPS = ["bench.settlement_orm"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("PRM_BENCH_ORM_DB")
        or str(Path(tempfile.gettempdir()) / f"prm_bench_orm_{os.getpid()}.sqlite3"),
    }
}
USE_TZ = True
TIME_ZONE = "Asia/Shanghai"  # as prm.settings (PRM_TIME_ZONE default)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
