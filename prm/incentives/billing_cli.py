"""``prm incentives import-billing --month YYYY-MM [--user USERNAME] DIR``: import a month
of billing extracts from a directory on the server (big files that a browser upload
should not carry).

The directory holds ``<table>.csv`` or ``<table>.parquet`` for the month's tables
(``subscribers``, ``usage_monthly`` or ``usage_daily``, ``product_changes``, ``billing``,
``complaints``); other files are ignored. The files are hard-linked into the staging
directory when the store is on the same file system (else copied) and imported in this
process with the same checks and the same atomic replacement as an upload
(``services/billing.py``), with a progress display.

Exit status 0 on success; 2 with one line ``error: <message>`` on stderr when the import
is refused or fails (nothing changed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import translation

from prm.core.exceptions import ApplicationError
from prm.incentives.models import BillingImport


def add_import_billing_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--month", required=True, help="The month of the extracts, YYYY-MM.")
    parser.add_argument(
        "--user",
        default="",
        help="Username the import is made for (a channel manager of a province or city); "
        "without it the import is logged as made from the command line.",
    )
    parser.add_argument("directory", type=Path, help="Directory holding the month's tables.")


def run_import_billing(options, *, stdout: TextIO, stderr: TextIO) -> int:
    """Run ``import-billing`` with parsed ``options`` (a dict or a namespace)."""
    from prm.incentives.services.billing import (
        billing_import_create_from_dir,
        billing_import_execute,
    )

    if not isinstance(options, dict):
        options = vars(options)
    is_tty = getattr(stdout, "isatty", lambda: False)()
    shown: dict[str, object] = {"stage": None}

    def report(percent: int, stage: str) -> None:
        if is_tty:
            bar = "#" * (percent // 5)
            stdout.write(f"\r[{bar:<20}] {percent:3d}% {stage:<20}")
            if percent >= 100:
                stdout.write("\n")
        elif stage != shown["stage"]:
            stdout.write(f"[{percent:3d}%] {stage}\n")
        shown["stage"] = stage
        stdout.flush()

    with translation.override("en"):
        actor = None
        username = (options.get("user") or "").strip()
        if username:
            actor = get_user_model().objects.filter(username=username, is_active=True).first()
            if actor is None:
                stderr.write(f"error: no active user {username!r}\n")
                return 2
        try:
            with transaction.atomic():
                job = billing_import_create_from_dir(
                    actor=actor, month=options["month"], source_dir=Path(options["directory"])
                )
        except ApplicationError as error:
            stderr.write(f"error: {error.message}\n")
            return 2
        # The import speaks the importing user's language on the job page; this display
        # stays in English.
        job = billing_import_execute(import_id=job.pk, report=report)
    if job.status != BillingImport.Status.SUCCEEDED:
        stderr.write(f"error: {job.message}\n")
        return 2
    files = ", ".join(
        f"{table} {item['rows']} rows" for table, item in job.files.items() if item.get("stored")
    )
    stdout.write(f"imported {job.month:%Y-%m} (import {job.pk}): {files}\n")
    return 0


def billing_import_cli(argv: list[str]) -> int:
    """``billing_import_cli(["--month", "2026-03", "/data/2026-03"])`` → exit status."""
    parser = argparse.ArgumentParser(
        prog="prm incentives import-billing",
        description="Import a month of billing extracts from a directory.",
    )
    add_import_billing_arguments(parser)
    try:
        options = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return run_import_billing(options, stdout=sys.stdout, stderr=sys.stderr)
