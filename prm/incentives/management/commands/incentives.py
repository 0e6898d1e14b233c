"""``prm incentives ACTION``: R4 channel incentives from the command line.

``settle-files --period YYYY-MM --input DIR --out DIR [--csv]`` settles a period from
billing extracts on plain files (contract ``settlement-files.md``); bad input exits 2
with one line ``error: …`` on stderr. The work is done by :mod:`prm.incentives.engine`,
which needs neither the database nor Django.

``import-billing --month YYYY-MM DIR [--user USERNAME]`` imports a month of billing-system
extracts from a server directory into the store (the same checks as the upload page).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from prm.incentives.billing_cli import add_import_billing_arguments, run_import_billing
from prm.incentives.engine.cli import add_settle_files_arguments, run_settle_files


class Command(BaseCommand):
    help = "Channel incentives (R4): settle a period from files; import billing extracts."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        settle = actions.add_parser(
            "settle-files", help="Settle a period from billing extracts (Parquet or CSV)."
        )
        add_settle_files_arguments(settle)
        billing = actions.add_parser(
            "import-billing", help="Import a month of billing extracts from a directory."
        )
        add_import_billing_arguments(billing)

    def handle(self, *args, **options) -> None:
        if options["action"] == "settle-files":
            status = run_settle_files(options, stdout=self.stdout, stderr=self.stderr)
        else:
            status = run_import_billing(options, stdout=self.stdout, stderr=self.stderr)
        if status:
            raise SystemExit(status)
