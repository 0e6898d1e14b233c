"""PRM's own system checks (``prm check``), one configuration at a time."""

from __future__ import annotations

import os
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from prm.core import checks

STRONG_KEY = "k3Y-" + "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOP"
SQLITE = "django.db.backends.sqlite3"
POSTGRES = "django.db.backends.postgresql"


def ids(messages) -> list[str]:
    return [message.id for message in messages]


@pytest.fixture
def production(settings):
    """A sound production configuration; each test breaks one thing."""
    settings.PRM_MODE = "production"
    settings.DEBUG = False
    settings.SECRET_KEY = STRONG_KEY
    settings.ALLOWED_HOSTS = ["prm.example.net"]
    settings.PRM_BROKER_URL = "amqp://prm:secret@mq:5672//"
    return settings


def test_sound_production_configuration_passes(production):
    assert ids(checks.production_safety_check()) == []
    assert ids(checks.production_broker_check()) == []


@pytest.mark.parametrize(
    ("_case", "changes", "expected"),
    [
        ("debug on", {"DEBUG": True}, ["prm.E001"]),
        ("short key", {"SECRET_KEY": "short-key"}, ["prm.E002"]),
        ("django sample key", {"SECRET_KEY": "django-insecure-" + "x1y2z3" * 10}, ["prm.E002"]),
        ("key of few characters", {"SECRET_KEY": "ab" * 40}, ["prm.E002"]),
        ("no allowed host", {"ALLOWED_HOSTS": []}, ["prm.E003"]),
        (
            "everything wrong",
            {"DEBUG": True, "SECRET_KEY": "x", "ALLOWED_HOSTS": []},
            ["prm.E001", "prm.E002", "prm.E003"],
        ),
    ],
)
def test_production_safety_errors(production, _case, changes, expected):
    for name, value in changes.items():
        setattr(production, name, value)

    assert ids(checks.production_safety_check()) == expected


@pytest.mark.parametrize("mode", ["development", "demo"])
def test_development_and_demo_may_debug_with_any_key(settings, mode):
    settings.PRM_MODE = mode
    settings.DEBUG = True
    settings.SECRET_KEY = "short"
    settings.ALLOWED_HOSTS = []
    settings.PRM_BROKER_URL = ""

    assert ids(checks.production_safety_check()) == []
    assert ids(checks.production_database_check(database_engine=SQLITE)) == []
    assert ids(checks.production_broker_check()) == []


@pytest.mark.parametrize(
    ("_case", "database", "expected"),
    [("sqlite", SQLITE, ["prm.W001"]), ("postgresql", POSTGRES, [])],
)
def test_production_warns_about_sqlite(production, _case, database, expected):
    assert ids(checks.production_database_check(database_engine=database)) == expected


def test_production_warns_when_jobs_would_run_eagerly(production):
    production.PRM_BROKER_URL = ""

    messages = checks.production_broker_check()

    assert ids(messages) == ["prm.W002"]
    assert "eagerly" in messages[0].msg


@pytest.mark.parametrize(
    ("_case", "sms_backend", "sms_url", "expected"),
    [
        ("file log", "file", "", []),
        ("http with url", "http", "https://sms.example.net/send", []),
        ("http without url", "http", "", ["prm.E010"]),
    ],
)
def test_sms_gateway_needs_its_url(settings, _case, sms_backend, sms_url, expected):
    settings.PRM_SMS_BACKEND = sms_backend
    settings.PRM_SMS_HTTP_URL = sms_url
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

    assert ids(checks.gateways_check()) == expected


@pytest.mark.parametrize(
    ("_case", "backend", "host", "expected"),
    [
        ("console", "console", "", []),
        ("smtp with host", "smtp", "mail.example.net", []),
        ("smtp without host", "smtp", "", ["prm.E011"]),
    ],
)
def test_smtp_needs_its_host(settings, _case, backend, host, expected):
    settings.PRM_SMS_BACKEND = "file"
    settings.EMAIL_BACKEND = f"django.core.mail.backends.{backend}.EmailBackend"
    settings.EMAIL_HOST = host

    assert ids(checks.gateways_check()) == expected


def test_media_root_may_be_created_under_a_writable_folder(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "not-yet" / "media")

    assert ids(checks.media_root_check()) == []


def test_media_root_that_is_a_file_is_refused(settings, tmp_path):
    a_file = tmp_path / "media"
    a_file.write_text("not a folder")
    settings.MEDIA_ROOT = str(a_file)

    assert ids(checks.media_root_check()) == ["prm.E020"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_read_only_media_root_is_refused(settings, tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    media.chmod(0o500)
    settings.MEDIA_ROOT = str(media)
    try:
        assert ids(checks.media_root_check()) == ["prm.E021"]
    finally:
        media.chmod(0o700)


def test_read_only_media_root_is_refused_for_anyone(settings, tmp_path, monkeypatch):
    # Root passes os.access on any folder, so the refusal is also shown with os.access faked.
    settings.MEDIA_ROOT = str(tmp_path)
    monkeypatch.setattr(checks.os, "access", lambda path, mode: False)

    assert ids(checks.media_root_check()) == ["prm.E021"]


def test_vendored_assets_of_the_repository_are_complete():
    assert checks.vendored_asset_files() == [
        "bootstrap/bootstrap.min.css",
        "bootstrap/bootstrap.bundle.min.js",
        "bootstrap-icons/bootstrap-icons.min.css",
        "bootstrap-icons/fonts/*",
        "htmx/htmx.min.js",
        "echarts/echarts.min.js",
    ]
    assert ids(checks.vendored_assets_check()) == []


@pytest.fixture
def vendor_copy(tmp_path) -> Path:
    copy = tmp_path / "vendor"
    shutil.copytree(checks.VENDOR_DIR, copy)
    return copy


def test_missing_vendored_file_is_an_error(vendor_copy):
    (vendor_copy / "htmx" / "htmx.min.js").unlink()
    for font in (vendor_copy / "bootstrap-icons" / "fonts").iterdir():
        font.unlink()

    messages = checks.vendored_assets_check(vendor_dir=vendor_copy)

    assert ids(messages) == ["prm.E031"]
    assert messages[0].msg == (
        "Vendored front-end assets are missing: bootstrap-icons/fonts/*, htmx/htmx.min.js."
    )


def test_missing_versions_record_is_an_error(vendor_copy):
    (vendor_copy / "VERSIONS.md").unlink()

    assert ids(checks.vendored_assets_check(vendor_dir=vendor_copy)) == ["prm.E030"]


def test_missing_catalogues_are_a_warning(settings, tmp_path):
    (tmp_path / "en" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "en" / "LC_MESSAGES" / "django.mo").write_bytes(b"")
    settings.LOCALE_PATHS = [tmp_path]

    messages = checks.translation_catalogues_check()

    assert ids(messages) == ["prm.W040"]
    assert messages[0].msg == (
        "Compiled translation catalogues are missing: zh_Hans/LC_MESSAGES/django.mo."
    )


def test_present_catalogues_pass(settings, tmp_path):
    for folder in ("zh_Hans", "en"):
        (tmp_path / folder / "LC_MESSAGES").mkdir(parents=True)
        (tmp_path / folder / "LC_MESSAGES" / "django.mo").write_bytes(b"")
    settings.LOCALE_PATHS = [tmp_path]

    assert ids(checks.translation_catalogues_check()) == []


def test_prm_checks_run_without_deploy_flag_and_with_it(production):
    production.PRM_BROKER_URL = ""

    plain = ids(run_checks(tags=[checks.TAG]))
    deploy = ids(run_checks(include_deployment_checks=True))

    assert "prm.W002" in plain
    assert "prm.W002" in deploy
    assert any(message_id.startswith("security.") for message_id in deploy)


def test_check_command_fails_on_a_prm_error(settings):
    settings.PRM_SMS_BACKEND = "http"
    settings.PRM_SMS_HTTP_URL = ""

    with pytest.raises(SystemCheckError, match=r"prm\.E010"):
        call_command("check", tags=[checks.TAG], stdout=StringIO(), stderr=StringIO())


def test_check_command_passes_the_test_configuration():
    out = StringIO()

    call_command("check", tags=[checks.TAG], stdout=out, stderr=StringIO())

    assert "prm.E" not in out.getvalue()
