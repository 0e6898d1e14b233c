"""PRM settings, read from the environment (see `.env.example`).

Three modes (``PRM_MODE``):
- ``development`` (default): DEBUG allowed, a per-machine secret key is generated under
  ``var/`` when none is given, TOTP is required for system admins.
- ``demo``: as development, but system admins may log in without TOTP and a "demo data"
  banner is shown. ``python3 dev.py demo`` uses it.
- ``production``: refuses to start without ``PRM_SECRET_KEY`` or with ``PRM_DEBUG`` on.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(__file__).resolve().parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


PRM_MODE = env_str("PRM_MODE", "development")
if PRM_MODE not in {"development", "demo", "production"}:
    raise ImproperlyConfigured("PRM_MODE must be development, demo or production.")
PRM_DEMO_MODE = PRM_MODE == "demo"
PRODUCTION = PRM_MODE == "production"

VAR_DIR = Path(env_str("PRM_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("PRM_DEBUG", default=not PRODUCTION)

SECRET_KEY = env_str("PRM_SECRET_KEY")
if PRODUCTION:
    if not SECRET_KEY:
        raise ImproperlyConfigured("Production mode needs PRM_SECRET_KEY.")
    if DEBUG:
        raise ImproperlyConfigured("Production mode refuses to run with PRM_DEBUG on.")
elif not SECRET_KEY:
    # A development or demo install gets its own random key, kept out of the repository.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    SECRET_KEY = key_file.read_text().strip()

ALLOWED_HOSTS = env_list(
    "PRM_ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver"
)
CSRF_TRUSTED_ORIGINS = env_list("PRM_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "prm.core",
    "prm.accounts",
    "prm.partners",
    "prm.portal",
    "prm.tmf",
    "prm.incentives",
    "prm.credit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "prm.core.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "prm.core.middleware.NulCharacterGuardMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "prm.core.middleware.RequestContextMiddleware",
    "prm.accounts.middleware.AccountGuardMiddleware",
    "prm.partners.middleware.ApplicantGuardMiddleware",
]

ROOT_URLCONF = "prm.urls"
WSGI_APPLICATION = "prm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "prm.core.context_processors.platform",
                "prm.accounts.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("PRM_DATABASE_URL", f"sqlite:///{VAR_DIR / 'prm.sqlite3'}"),
        conn_max_age=env_int("PRM_DB_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["prm.accounts.backends.RoleBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("PRM_PASSWORD_MIN_LENGTH", 10)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "prm.accounts.passwords.CharacterClassValidator"},
]
PRM_LOCKOUT_FAILURES = env_int("PRM_LOCKOUT_FAILURES", 5)
PRM_LOCKOUT_WINDOW_MINUTES = env_int("PRM_LOCKOUT_WINDOW_MINUTES", 15)
PRM_TOTP_REQUIRED_FOR_ADMINS = env_bool("PRM_TOTP_REQUIRED_FOR_ADMINS", default=not PRM_DEMO_MODE)

SESSION_COOKIE_AGE = env_int("PRM_SESSION_SECONDS", 8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "prm.core.views.csrf_failure"
if PRODUCTION:
    SESSION_COOKIE_SECURE = env_bool("PRM_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("PRM_SECURE_COOKIES", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("PRM_SSL_REDIRECT", False)
    SECURE_HSTS_SECONDS = env_int("PRM_HSTS_SECONDS", 0)
    SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env_str("PRM_TIME_ZONE", "Asia/Shanghai")
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]  # vendored assets + prm.css (not an app)
MEDIA_ROOT = Path(env_str("PRM_MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
PRM_ATTACHMENT_MAX_BYTES = env_int("PRM_ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = PRM_ATTACHMENT_MAX_BYTES + 1024 * 1024
PRM_IMPORT_MAX_ROWS = env_int("PRM_IMPORT_MAX_ROWS", 200_000)

# Partner lifecycle and portal (R1/R2); see .env.example.
# Anonymous registration-progress queries allowed per client IP per 10 minutes.
PRM_REGISTRATION_STATUS_LIMIT = env_int("PRM_REGISTRATION_STATUS_LIMIT", 10)
PRM_EXPERT_PANEL_SIZE = env_int("PRM_EXPERT_PANEL_SIZE", 3)
# Days before expiry on which a qualification reminder goes out.
PRM_QUALIFICATION_REMINDER_DAYS = [
    int(day) for day in env_list("PRM_QUALIFICATION_REMINDER_DAYS", "30,7")
]
# Days before an agreement's end: renewal reminders; the first also marks it expiring.
PRM_AGREEMENT_REMINDER_DAYS = [int(day) for day in env_list("PRM_AGREEMENT_REMINDER_DAYS", "60,30")]
PRM_BREACH_RESPONSE_WORKING_DAYS = env_int("PRM_BREACH_RESPONSE_WORKING_DAYS", 5)
PRM_INQUIRY_RESPONSE_WORKING_DAYS = env_int("PRM_INQUIRY_RESPONSE_WORKING_DAYS", 3)
# TMF event hub: delivery attempts per event before it is marked failed.
PRM_TMF_DELIVERY_ATTEMPTS = env_int("PRM_TMF_DELIVERY_ATTEMPTS", 5)

# E-mail: console by default; "file" writes to var/mail; "smtp" uses the PRM_EMAIL_* settings.
_email_backends = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}
EMAIL_BACKEND = _email_backends[env_str("PRM_EMAIL_BACKEND", "console")]
EMAIL_FILE_PATH = env_str("PRM_EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = env_str("PRM_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("PRM_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("PRM_EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("PRM_EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("PRM_EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("PRM_EMAIL_USE_SSL")
EMAIL_TIMEOUT = env_int("PRM_EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("PRM_DEFAULT_FROM_EMAIL", "PRM <prm@localhost>")

# SMS gateway: "file" appends to an append-only log; "http" posts to PRM_SMS_HTTP_URL.
PRM_SMS_BACKEND = env_str("PRM_SMS_BACKEND", "file")
PRM_SMS_LOG_PATH = env_str("PRM_SMS_LOG_PATH", str(VAR_DIR / "sms.log"))
PRM_SMS_HTTP_URL = env_str("PRM_SMS_HTTP_URL")
PRM_SMS_HTTP_TOKEN = env_str("PRM_SMS_HTTP_TOKEN")
PRM_SMS_HTTP_TIMEOUT = env_int("PRM_SMS_HTTP_TIMEOUT", 10)
PRM_SMS_SIGNATURE = env_str("PRM_SMS_SIGNATURE", "【PRM】")

# Channel incentives (R4). Billing-extract store and settlement artefacts live under
# PRM_INCENTIVES_DIR (one directory per billing month and per settlement run).
PRM_INCENTIVES_DIR = env_str("PRM_INCENTIVES_DIR", str(VAR_DIR / "incentives"))

# R3 credit: evaluation and exit-check artefacts (engine inputs and outputs, one directory
# per run) under PRM_CREDIT_DIR.
PRM_CREDIT_DIR = env_str("PRM_CREDIT_DIR", str(VAR_DIR / "credit"))
# The operator running PRM: promoters and recommended subscribers must hold a number of
# its segments (prm.core.reference number segments).
PRM_OPERATOR = env_str("PRM_OPERATOR", "china_mobile")
# DuckDB limits of the settlement engine inside the app (per run).
PRM_SETTLEMENT_MEMORY_LIMIT = env_str("PRM_SETTLEMENT_MEMORY_LIMIT", "1GB")
PRM_SETTLEMENT_THREADS = env_int("PRM_SETTLEMENT_THREADS", 0)  # 0: all cores
# Billing/BOSS order adapter: "file" spools order requests as JSON lines (the billing
# side collects them); "http" posts them to PRM_BILLING_HTTP_URL; "fake" for tests/demo.
PRM_BILLING_BACKEND = env_str("PRM_BILLING_BACKEND", "file")
PRM_BILLING_SPOOL_PATH = env_str("PRM_BILLING_SPOOL_PATH", str(VAR_DIR / "billing-orders.jsonl"))
PRM_BILLING_HTTP_URL = env_str("PRM_BILLING_HTTP_URL")
PRM_BILLING_HTTP_TOKEN = env_str("PRM_BILLING_HTTP_TOKEN")
PRM_BILLING_HTTP_TIMEOUT = env_int("PRM_BILLING_HTTP_TIMEOUT", 10)
# Call-centre seat feed: a CSV file path or an HTTP URL returning the seats as JSON.
PRM_CALLCENTRE_SEATS_SOURCE = env_str("PRM_CALLCENTRE_SEATS_SOURCE")
PRM_CALLCENTRE_SEATS_TOKEN = env_str("PRM_CALLCENTRE_SEATS_TOKEN")
PRM_CALLCENTRE_SEATS_TIMEOUT = env_int("PRM_CALLCENTRE_SEATS_TIMEOUT", 30)
# Internet promoter registrations per client IP per 10 minutes.
PRM_PROMOTER_REGISTRATION_LIMIT = env_int("PRM_PROMOTER_REGISTRATION_LIMIT", 10)
# Shared secret the SMS gateway sends with inbound messages (subscriber replies).
PRM_SMS_INBOUND_TOKEN = env_str("PRM_SMS_INBOUND_TOKEN")
# Hours a subscriber has to answer the confirmation SMS of a recommendation.
PRM_RECOMMENDATION_CONFIRM_HOURS = env_int("PRM_RECOMMENDATION_CONFIRM_HOURS", 48)

# Celery: with no broker configured, tasks run eagerly in the calling process.
PRM_BROKER_URL = env_str("PRM_BROKER_URL")
CELERY_BROKER_URL = PRM_BROKER_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not PRM_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = env_str("PRM_RESULT_BACKEND") or None
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if env_str("PRM_CACHE_URL"):
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env_str("PRM_CACHE_URL"),
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("PRM_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

NINJA_PAGINATION_MAX_LIMIT = 500
PRM_TRUST_X_FORWARDED_FOR = env_bool("PRM_TRUST_X_FORWARDED_FOR")
# Modules whose Celery tasks are not in an app's tasks.py.
CELERY_IMPORTS = ("prm.core.imports",)
