#!/usr/bin/env python3
"""PRM's two quick-start commands; needs nothing but Python 3.11+.

    python3 dev.py demo    install into .venv, migrate, load demo data, serve http://127.0.0.1:8000
    python3 dev.py test    install dev dependencies (+ Debian chromium) and run the whole suite

Extra arguments after ``test`` go to pytest (``python3 dev.py test -k workflow``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("PRM_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
CHROMIUM = os.environ.get("PRM_CHROMIUM", "/usr/bin/chromium")


def run(*args: str, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(args), flush=True)
    subprocess.run(args, check=True, cwd=ROOT, env={**os.environ, **(env or {})})


def ensure_venv(extras: str = "") -> None:
    if sys.version_info < (3, 11):  # noqa: UP036  (dev.py runs before the venv exists)
        sys.exit("PRM needs Python 3.11 or newer.")
    if not (BIN / "python").exists():
        print(f"Creating a virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    marker = VENV / f".prm-installed{extras}"
    stamp = str((ROOT / "pyproject.toml").stat().st_mtime)
    if not marker.exists() or marker.read_text() != stamp:
        run(
            str(BIN / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-e",
            f".{extras}",
        )
        marker.write_text(stamp)


def ensure_chromium() -> None:
    """Playwright drives Debian's chromium (no browser download: machines are offline)."""
    if Path(CHROMIUM).exists():
        return
    _apt_install("chromium", "fonts-noto-cjk")


def _apt_install(*packages: str) -> None:
    apt = ["apt-get", "install", "-y", "-qq", *packages]
    if os.geteuid() == 0:
        run("apt-get", "update", "-qq")
        run(*apt)
    elif shutil.which("sudo"):
        run("sudo", "apt-get", "update", "-qq")
        run("sudo", *apt)
    else:
        sys.exit(f"Install {' '.join(packages)} with apt-get first.")


def ensure_newman() -> None:
    """The TM Forum conformance kit runs under newman (npm registry, pinned in
    tools/newman/package-lock.json); Node.js comes from Debian when missing."""
    package = ROOT / "tools" / "newman"
    if (
        not (package / "package.json").exists()
        or (package / "node_modules" / ".bin" / "newman").exists()
    ):
        return
    if not shutil.which("npm"):
        _apt_install("nodejs", "npm")
    run("npm", "ci", "--prefix", str(package), "--no-audit", "--no-fund", "--loglevel=error")


def demo(args: list[str]) -> None:
    ensure_venv()
    env = {"PRM_MODE": os.environ.get("PRM_MODE", "demo")}
    prm = str(BIN / "prm")
    run(prm, "migrate", "--no-input", env=env)
    run(prm, "demo", env=env)
    address = args[0] if args else "127.0.0.1:8000"
    print(f"\nPRM is at http://{address}/  (Ctrl-C stops it)\n", flush=True)
    run(prm, "runserver", "--noreload", address, env=env)


def test(args: list[str]) -> None:
    ensure_venv("[dev]")
    ensure_chromium()
    ensure_newman()
    run(str(BIN / "python"), "-m", "pytest", *args)


def main() -> None:
    command, args = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("help", [])
    if command == "demo":
        demo(args)
    elif command == "test":
        test(args)
    else:
        print(__doc__)
        sys.exit(0 if command == "help" else 2)


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as error:
        sys.exit(error.returncode)
    except KeyboardInterrupt:
        sys.exit(130)
