"""PRM's own system checks (``prm check``; ``prm check --deploy`` adds Django's deploy checks).

They run with every management command and at server start, so a misconfigured
installation says what is wrong before the first request. Registered from
``CoreConfig.ready`` with the tag ``prm`` (``prm check --tag prm`` runs only these).

IDs: ``prm.E0xx`` stop the command; ``prm.W0xx`` are printed and let it run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from django.conf import settings
from django.core import checks
from django.utils.translation import to_locale

TAG = "prm"
VENDOR_DIR = Path(__file__).resolve().parent.parent / "static" / "vendor"
SMS_BACKENDS_NEEDING_URL = {"http"}


def _is_production() -> bool:
    return getattr(settings, "PRM_MODE", "development") == "production"


def _secret_key_is_weak(key: str) -> bool:
    # The same rule as Django's security.W009: long, varied, not Django's sample prefix.
    return len(key) < 50 or len(set(key)) < 5 or key.startswith("django-insecure")


@checks.register(TAG, checks.Tags.security)
def production_safety_check(app_configs=None, **kwargs) -> list:
    """Production mode must not run with DEBUG on, a weak secret key or no allowed host.

    The settings module already refuses the first two at start-up; this check also
    catches them when the settings were changed some other way.
    """
    if not _is_production():
        return []
    errors = []
    if settings.DEBUG:
        errors.append(
            checks.Error(
                "Production mode runs with DEBUG on.",
                hint="Unset PRM_DEBUG (or set it to false).",
                id="prm.E001",
            )
        )
    if _secret_key_is_weak(settings.SECRET_KEY):
        errors.append(
            checks.Error(
                "Production mode runs with a weak PRM_SECRET_KEY.",
                hint="Use at least 50 random characters, e.g. "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'.",
                id="prm.E002",
            )
        )
    if not settings.ALLOWED_HOSTS:
        errors.append(
            checks.Error(
                "Production mode has no allowed host: every request would be refused.",
                hint="Set PRM_ALLOWED_HOSTS to the host names users type, comma-separated.",
                id="prm.E003",
            )
        )
    return errors


@checks.register(TAG)
def production_database_check(app_configs=None, database_engine: str = "", **kwargs) -> list:
    """SQLite serves a demo or a small operator; a province needs PostgreSQL."""
    engine = database_engine or settings.DATABASES["default"]["ENGINE"]
    if _is_production() and engine.endswith("sqlite3"):
        return [
            checks.Warning(
                "Production mode uses the embedded SQLite database.",
                hint="Set PRM_DATABASE_URL to a PostgreSQL database "
                "(postgres://user:password@host:5432/prm).",
                id="prm.W001",
            )
        ]
    return []


@checks.register(TAG)
def production_broker_check(app_configs=None, **kwargs) -> list:
    """Without a broker, background jobs run inside the web request that starts them."""
    if _is_production() and not getattr(settings, "PRM_BROKER_URL", ""):
        return [
            checks.Warning(
                "Production mode has no message broker: background jobs (imports, "
                "reminders, settlement runs) run eagerly inside web requests and "
                "scheduled jobs do not run.",
                hint="Set PRM_BROKER_URL (amqp://… or redis://…) and run `prm worker` "
                "and `prm beat`.",
                id="prm.W002",
            )
        ]
    return []


@checks.register(TAG)
def gateways_check(app_configs=None, **kwargs) -> list:
    """The SMS and e-mail gateways need the address they send to."""
    errors = []
    sms_backend = getattr(settings, "PRM_SMS_BACKEND", "file")
    if sms_backend in SMS_BACKENDS_NEEDING_URL and not getattr(settings, "PRM_SMS_HTTP_URL", ""):
        errors.append(
            checks.Error(
                "The HTTP SMS gateway is selected but has no URL.",
                hint="Set PRM_SMS_HTTP_URL, or PRM_SMS_BACKEND=file to write messages to a log.",
                id="prm.E010",
            )
        )
    if settings.EMAIL_BACKEND.endswith("smtp.EmailBackend") and not settings.EMAIL_HOST:
        errors.append(
            checks.Error(
                "The SMTP e-mail backend is selected but has no host.",
                hint="Set PRM_EMAIL_HOST, or PRM_EMAIL_BACKEND=console or file.",
                id="prm.E011",
            )
        )
    return errors


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


@checks.register(TAG)
def media_root_check(app_configs=None, **kwargs) -> list:
    """Uploads (attachments, import files) are written under MEDIA_ROOT."""
    media_root = Path(settings.MEDIA_ROOT)
    if media_root.exists() and not media_root.is_dir():
        return [
            checks.Error(
                f"MEDIA_ROOT {media_root} is not a directory.",
                hint="Point PRM_MEDIA_ROOT at a directory.",
                id="prm.E020",
            )
        ]
    # A missing folder is created on the first upload, so its nearest parent must be writable.
    folder = _nearest_existing(media_root)
    if not os.access(folder, os.W_OK | os.X_OK):
        return [
            checks.Error(
                f"MEDIA_ROOT {media_root} is not writable by this process.",
                hint="Give the PRM user write access, or set PRM_MEDIA_ROOT elsewhere.",
                id="prm.E021",
            )
        ]
    return []


def vendored_asset_files(vendor_dir: Path = VENDOR_DIR) -> list[str]:
    """The file patterns listed in the ``files`` column of ``vendor/VERSIONS.md``."""
    versions = vendor_dir / "VERSIONS.md"
    patterns = []
    for line in versions.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not line.lstrip().startswith("|"):
            continue
        patterns.extend(re.findall(r"`([^`]+/[^`]+)`", cells[-1]))
    return patterns


@checks.register(TAG)
def vendored_assets_check(app_configs=None, vendor_dir: Path = VENDOR_DIR, **kwargs) -> list:
    """The UI's front-end assets are vendored (no CDN: operator networks are offline)."""
    versions = vendor_dir / "VERSIONS.md"
    if not versions.is_file():
        return [
            checks.Error(
                f"{versions} is missing: the vendored front-end assets are not recorded.",
                hint="Restore prm/static/vendor/ from the repository.",
                id="prm.E030",
            )
        ]
    patterns = vendored_asset_files(vendor_dir)
    if not patterns:
        return [
            checks.Error(
                f"{versions} lists no files.",
                hint="Restore prm/static/vendor/VERSIONS.md from the repository.",
                id="prm.E030",
            )
        ]
    missing = [pattern for pattern in patterns if not any(vendor_dir.glob(pattern))]
    if missing:
        return [
            checks.Error(
                "Vendored front-end assets are missing: " + ", ".join(missing) + ".",
                hint="Restore prm/static/vendor/ from the repository "
                "(see prm/static/vendor/VERSIONS.md).",
                id="prm.E031",
            )
        ]
    return []


@checks.register(TAG)
def translation_catalogues_check(app_configs=None, **kwargs) -> list:
    """Every UI language needs its compiled catalogue, or pages fall back to English
    source strings (or, for English, to the Chinese default)."""
    missing = []
    for code, _name in settings.LANGUAGES:
        relative = Path(to_locale(code)) / "LC_MESSAGES" / "django.mo"
        if not any((Path(folder) / relative).is_file() for folder in settings.LOCALE_PATHS):
            missing.append(str(relative))
    if missing:
        return [
            checks.Warning(
                "Compiled translation catalogues are missing: " + ", ".join(missing) + ".",
                hint="Run `prm compilemessages` (needs GNU gettext) after changing the .po files.",
                id="prm.W040",
            )
        ]
    return []
