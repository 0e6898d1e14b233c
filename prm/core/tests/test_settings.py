"""Settings come from the environment; production mode refuses unsafe ones at start-up.

Each case starts a fresh interpreter (settings are read once per process). The
interpreters of all cases start together, once per module, to keep the suite fast.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

STRONG_KEY = "k3Y-" + "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOP"
SETUP = "import django; django.setup(); from django.conf import settings as s; "
PRINT_SETTINGS = SETUP + (
    "print(s.PRM_MODE, s.DEBUG, s.PRM_DEMO_MODE, s.PRM_TOTP_REQUIRED_FOR_ADMINS, "
    "s.CELERY_TASK_ALWAYS_EAGER, s.SESSION_COOKIE_SECURE)"
)
PRINT_KEY = SETUP + "print(s.SECRET_KEY)"
PRINT_BROKER = SETUP + "print(s.CELERY_BROKER_URL, s.CELERY_TASK_ALWAYS_EAGER)"
CHECK_DEPLOY = "from prm.cli import main; main(['prm', 'check', '--deploy'])"

# name: (code, environment)
CASES: dict[str, tuple[str, dict[str, str]]] = {
    "production_without_key": (PRINT_SETTINGS, {"PRM_MODE": "production"}),
    "production_with_debug": (
        PRINT_SETTINGS,
        {"PRM_MODE": "production", "PRM_SECRET_KEY": STRONG_KEY, "PRM_DEBUG": "true"},
    ),
    "production": (
        PRINT_SETTINGS,
        {"PRM_MODE": "production", "PRM_SECRET_KEY": STRONG_KEY, "PRM_DEBUG": "false"},
    ),
    "development": (PRINT_KEY, {}),
    "development_settings": (PRINT_SETTINGS, {"PRM_MODE": "development"}),
    "demo": (PRINT_SETTINGS, {"PRM_MODE": "demo"}),
    "unknown_mode": (PRINT_SETTINGS, {"PRM_MODE": "staging"}),
    "broker": (PRINT_BROKER, {"PRM_BROKER_URL": "redis://127.0.0.1:6379/0"}),
    "check_deploy": (
        CHECK_DEPLOY,
        {
            "PRM_MODE": "production",
            "PRM_SECRET_KEY": STRONG_KEY,
            "PRM_ALLOWED_HOSTS": "prm.example.net",
            "PRM_SMS_BACKEND": "http",
        },
    ),
}


@dataclass
class Started:
    returncode: int
    stdout: str
    stderr: str
    var_dir: Path


def clean_environment(var_dir: Path, extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without any PRM_* variable, plus the given ones."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PRM_")}
    env.update(DJANGO_SETTINGS_MODULE="prm.settings", PRM_VAR_DIR=str(var_dir), **extra)
    return env


def start(code: str, var_dir: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env=clean_environment(var_dir, env),
        cwd=var_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def started(tmp_path_factory) -> dict[str, Started]:
    running = {}
    for name, (code, env) in CASES.items():
        var_dir = tmp_path_factory.mktemp(name)
        running[name] = (start(code, var_dir, env), var_dir)
    results = {}
    for name, (process, var_dir) in running.items():
        stdout, stderr = process.communicate(timeout=120)
        results[name] = Started(process.returncode, stdout, stderr, var_dir)
    return results


def test_production_refuses_to_start_without_a_secret_key(started):
    result = started["production_without_key"]

    assert result.returncode == 1
    assert "ImproperlyConfigured: Production mode needs PRM_SECRET_KEY." in result.stderr
    assert result.stdout == ""


def test_production_refuses_to_start_with_debug_on(started):
    result = started["production_with_debug"]

    assert result.returncode == 1
    assert "ImproperlyConfigured: Production mode refuses to run with PRM_DEBUG on." in (
        result.stderr
    )


def test_production_starts_with_a_key_and_debug_off(started):
    result = started["production"]

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["production", "False", "False", "True", "True", "True"]
    assert not (result.var_dir / "secret_key").exists()


def test_development_generates_a_private_secret_key_and_keeps_it(started):
    first = started["development"]
    key_file = first.var_dir / "secret_key"

    second = start(PRINT_KEY, first.var_dir, {})
    second_stdout, second_stderr = second.communicate(timeout=120)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second_stderr
    assert first.stdout.strip() == key_file.read_text().strip() == second_stdout.strip()
    assert len(first.stdout.strip()) >= 50
    assert key_file.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("development_settings", ["development", "True", "False", "True", "True", "False"]),
        ("demo", ["demo", "True", "True", "False", "True", "False"]),
    ],
)
def test_development_and_demo_modes(started, case, expected):
    result = started[case]

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == expected


def test_unknown_mode_is_refused(started):
    result = started["unknown_mode"]

    assert result.returncode == 1
    assert "PRM_MODE must be development, demo or production." in result.stderr


def test_a_broker_turns_eager_tasks_off(started):
    result = started["broker"]

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["redis://127.0.0.1:6379/0", "False"]


def test_prm_check_deploy_reports_prm_findings_in_production(started):
    result = started["check_deploy"]

    assert result.returncode == 1
    output = result.stdout + result.stderr
    for finding in ("prm.E010", "prm.W001", "prm.W002", "security.W004"):
        assert f"({finding})" in output
