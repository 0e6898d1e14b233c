"""The ``prm`` command: Django's management commands plus PRM's own.

``prm worker`` and ``prm beat`` start Celery; everything else (``prm migrate``,
``prm demo``, ``prm tokens create …``, ``prm check``) is a management command.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prm.settings")
    command = argv[1] if len(argv) > 1 else "help"
    if command in {"worker", "beat"}:
        import django

        django.setup()
        from prm.celery import app

        extra = argv[2:]
        if command == "worker":
            app.worker_main(["worker", "--loglevel=INFO", *extra])
        else:
            app.start(["beat", "--loglevel=INFO", *extra])
        return
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
