"""``settle-files`` on the command line, without Django.

``prm incentives settle-files`` (the management command) and
``python -m prm.incentives.engine.cli settle-files`` both end here. Exit status 0 on
success; 2 with one line ``error: <message>`` on stderr for bad input (contract
``settlement-files.md``); 1 with one such line when the run itself fails (the output
cannot be written, DuckDB runs out of memory …).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

import duckdb

from .inputs import SettlementInputError
from .settlement import settle_files


def add_settle_files_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--period", required=True, help="Period to settle, YYYY-MM.")
    parser.add_argument("--input", required=True, type=Path, help="Directory of the input tables.")
    parser.add_argument(
        "--out", required=True, type=Path, help="Directory to write the results into."
    )
    parser.add_argument("--csv", action="store_true", help="Also write each Parquet output as CSV.")
    parser.add_argument("--memory-limit", default="1GB", help="DuckDB memory limit (default 1GB).")
    parser.add_argument(
        "--threads", type=int, default=None, help="DuckDB threads (default: all cores)."
    )


def run_settle_files(options, *, stdout: TextIO, stderr: TextIO) -> int:
    """Run ``settle-files`` with parsed ``options`` (a dict or a namespace)."""
    if not isinstance(options, dict):
        options = vars(options)
    show_progress = getattr(stdout, "isatty", lambda: False)()

    def progress(stage: str, fraction: float) -> None:
        if show_progress:
            stdout.write(f"[{fraction:4.0%}] {stage}\n")
            stdout.flush()

    try:
        summary = settle_files(
            period=options["period"],
            input_dir=options["input"],
            out_dir=options["out"],
            write_csv=options.get("csv", False),
            memory_limit=options.get("memory_limit") or "1GB",
            threads=options.get("threads"),
            progress=progress,
        )
    except SettlementInputError as error:
        stderr.write(f"error: {error}\n")
        return 2
    except (OSError, duckdb.Error) as error:  # disk full, permissions, out of memory …
        stderr.write(f"error: {' '.join(str(error).split())}\n")
        return 1
    stdout.write(
        f"settled {summary['period']}: {summary['records']} records, "
        f"{summary['qualified']} qualified, gross {summary['gross_amount']}, "
        f"clawbacks {summary['clawback_amount']}, net {summary['net_amount']} "
        f"({summary['not_in_period']} records of other periods) -> {options['out']}\n"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="prm incentives", description="R4 channel incentives on plain files."
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    settle = actions.add_parser(
        "settle-files", help="Settle a period from billing extracts (Parquet or CSV)."
    )
    add_settle_files_arguments(settle)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``main(["settle-files", "--period", ...])`` returns the exit status."""
    options = build_parser().parse_args(argv)
    return run_settle_files(options, stdout=sys.stdout, stderr=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
