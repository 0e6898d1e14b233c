"""The monthly import of billing-system extracts into the per-month Parquet store (R4
audits against billing data; ADR 0014; contract ``settlement-files.md``).

A channel manager (``incentives.import_billing``, staff of a province or a city) uploads
one month's extracts — ``subscribers``, ``usage_monthly`` or ``usage_daily``,
``product_changes``, ``billing``, ``complaints``, each ``<table>.csv`` or
``<table>.parquet`` — as separate files or one zip; big files go through
``prm incentives import-billing`` (:mod:`prm.incentives.billing_cli`). ``subscribers``
and one usage form are required; an absent optional table is empty.

The upload becomes a :class:`BillingImport` job (Celery task, eager without a broker):

1. every file is validated by the engine (``table_validate``: columns, types, nulls,
   choice values — the file, the row and the column of the first error are named);
2. then by the rules of a month: every row belongs to the month (usage ``day`` /
   ``month``, ``billing.month``, ``product_changes.changed_at``,
   ``complaints.complained_at``; ``subscribers`` is a snapshot and has no month), every
   product code is a known product, and no key appears twice (``subscribers``: msisdn;
   ``billing``: msisdn + product + month; usage: msisdn + month / day);
3. daily usage is rolled up to ``usage_monthly`` (``usage_daily_to_monthly``) and each
   table is written to the staging directory as Parquet with fixed types (msisdn
   BIGINT, product codes as text, money ``DECIMAL(14,2)``) **sorted by msisdn**, so a
   single-number lookup reads one row group; the SHA-256 of each file is recorded;
4. the month's directory is replaced atomically — the new directory is renamed into
   place after the old one was renamed to a backup, which is deleted after the database
   commit and renamed back on any failure — so the store never holds a half-replaced
   month; ``BillingMonth.revision`` goes up by one and an audit event records the old
   and new hashes.

Any error leaves the store and the ``BillingMonth`` as they were; the import is
``failed`` and its message says why (file, row, column). A month whose settlement was
approved is locked (``BillingMonth.locked_at``): importing it is refused, nothing is
written.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path, PurePosixPath

import duckdb
from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from prm.core.audit import audit_event_create
from prm.core.calendar import business_date
from prm.core.exceptions import ApplicationError, Forbidden
from prm.incentives.engine import (
    TABLES,
    SettlementInputError,
    table_validate,
    usage_daily_to_monthly,
)
from prm.incentives.models import BillingImport, BillingMonth, Product
from prm.incentives.selectors_billing import billing_import_may
from prm.incentives.storage import BILLING_TABLES, billing_month_dir, billing_staging_dir

logger = logging.getLogger(__name__)

# The tables a month's upload may hold: the store's tables plus the daily usage form,
# which is rolled up to usage_monthly at import.
UPLOAD_TABLES = (
    "subscribers",
    "usage_monthly",
    "usage_daily",
    "product_changes",
    "billing",
    "complaints",
)
USAGE_FORMS = ("usage_monthly", "usage_daily")
FILE_SUFFIXES = (".csv", ".parquet")
# Rows per Parquet row group: a single-number lookup in a file sorted by msisdn reads one.
ROW_GROUP_SIZE = 100_000
_PARQUET_MAGIC = b"PAR1"
_ZIP_MAGIC = b"PK\x03\x04"
_MONTH_RE = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
_COPY_CHUNK = 1024 * 1024

# Store types by the engine's column kinds (prm.incentives.engine.TABLES).
_STORE_TYPES = {
    "msisdn": "BIGINT",
    "key": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
    "money": "DECIMAL(14,2)",
    "boolean": "BOOLEAN",
    "integer": "BIGINT",
    "choice": "VARCHAR",
}
# Sort order of each stored table: msisdn first (row-group pruning of number lookups).
_SORT = {
    "subscribers": ("msisdn",),
    "usage_monthly": ("msisdn", "month"),
    "product_changes": ("msisdn", "changed_at", "product_code"),
    "billing": ("msisdn", "product_code", "month"),
    "complaints": ("msisdn", "complained_at", "product_code"),
}
# Keys that may not appear twice in one month's table.
_KEYS = {
    "subscribers": ("msisdn",),
    "usage_monthly": ("msisdn", "month"),
    "usage_daily": ("msisdn", "day"),
    "billing": ("msisdn", "product_code", "month"),
}
_PRODUCT_TABLES = ("product_changes", "billing", "complaints")

# Stage weights of the progress bar (percent at the end of each stage).
_PROGRESS_FILES_END = 90
_PROGRESS_SWAP = 95


# Who may import ----------------------------------------------------------------------------


def _check_may_import(actor) -> None:
    if not billing_import_may(actor):
        raise Forbidden(_("Only channel managers of a province or a city import billing data."))


# Months ------------------------------------------------------------------------------------


def billing_month_parse(value: str | date) -> date:
    """``YYYY-MM`` (or a date) → the first day of the month; ``billing_month_invalid``
    otherwise. A month after the current one cannot be imported."""
    if isinstance(value, date):
        month = value.replace(day=1)
    else:
        match = _MONTH_RE.fullmatch(str(value or "").strip())
        if not match:
            raise ApplicationError(
                "billing_month_invalid",
                _("Give the month as YYYY-MM, e.g. 2026-03."),
                details={"field": "month"},
            )
        month = date(int(match.group(1)), int(match.group(2)), 1)
    if month > business_date().replace(day=1):
        raise ApplicationError(
            "billing_month_future",
            _("The month %(month)s has not begun yet.") % {"month": month.strftime("%Y-%m")},
            details={"field": "month"},
        )
    return month


def _month_end(month: date) -> date:
    """The first day of the month after ``month``."""
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _locked_error(month_row: BillingMonth) -> ApplicationError:
    return ApplicationError(
        "billing_month_locked",
        _(
            "The billing month %(month)s is locked: the settlement of that period was "
            "approved on %(date)s. Its extracts can no longer be replaced."
        )
        % {
            "month": month_row.month.strftime("%Y-%m"),
            "date": timezone.localtime(month_row.locked_at).strftime("%Y-%m-%d"),
        },
        status=409,
        details={"field": "month"},
    )


def _check_not_locked(month: date) -> None:
    month_row = BillingMonth.objects.filter(month=month).first()
    if month_row is not None and month_row.is_locked:
        raise _locked_error(month_row)


# Receiving files ---------------------------------------------------------------------------


def _table_of(name: str) -> tuple[str, str] | None:
    """``("billing", ".csv")`` for ``billing.csv``; None for a name that is no table file."""
    path = PurePosixPath(name)
    suffix = path.suffix.lower()
    if suffix not in FILE_SUFFIXES or path.stem not in UPLOAD_TABLES:
        return None
    return path.stem, suffix


def _expected_names() -> str:
    return ", ".join(f"{table}.csv|.parquet" for table in UPLOAD_TABLES)


def _unexpected_file(name: str) -> ApplicationError:
    return ApplicationError(
        "billing_file_unexpected",
        _("“%(name)s” is not an extract of a month. Expected file names: %(names)s.")
        % {"name": name, "names": _expected_names()},
        details={"field": "files"},
    )


@dataclass
class _Received:
    table: str
    name: str  # as delivered (the zip member's base name or the upload's name)
    path: Path  # where it is kept in the staging directory
    size: int


def _write_stream(chunks: Iterable[bytes], target: Path) -> int:
    size = 0
    with open(target, "wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
            size += len(chunk)
    return size


def _check_content(received: _Received) -> None:
    """A ``.parquet`` must be Parquet (the engine checks the rest of each file)."""
    if received.path.suffix == ".parquet":
        with open(received.path, "rb") as handle:
            head = handle.read(4)
        if head != _PARQUET_MAGIC:
            raise ApplicationError(
                "billing_file_type",
                _("“%(name)s” is not a Parquet file.") % {"name": received.name},
                details={"field": "files"},
            )


def _zip_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    members = []
    for info in archive.infolist():
        base = PurePosixPath(info.filename).name
        if info.is_dir() or not base or base.startswith(".") or "__MACOSX" in info.filename:
            continue
        members.append(info)
    return members


def _receive_uploads(uploads: list, raw_dir: Path) -> list[_Received]:
    """Keep the uploaded files (or the members of one zip) as ``raw/<table><suffix>``."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    received: list[_Received] = []
    if not uploads:
        raise ApplicationError(
            "billing_files_missing",
            _("Choose the files of the month (or one zip holding them)."),
            details={"field": "files"},
        )
    zips = [upload for upload in uploads if (upload.name or "").lower().endswith(".zip")]
    if zips:
        if len(uploads) > 1:
            raise ApplicationError(
                "billing_zip_alone",
                _("Upload either one zip or the separate files, not both."),
                details={"field": "files"},
            )
        upload = zips[0]
        head = upload.read(4)
        upload.seek(0)
        if head != _ZIP_MAGIC:
            raise _not_a_zip(upload.name)
        try:
            archive = zipfile.ZipFile(upload)
        except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
            raise _not_a_zip(upload.name) from exc
        with archive:
            for info in _zip_members(archive):
                base = PurePosixPath(info.filename).name
                found = _table_of(base)
                if found is None:
                    raise _unexpected_file(info.filename)
                target = raw_dir / f"{found[0]}{found[1]}"
                if found[0] in {item.table for item in received}:
                    raise _table_twice(found[0])
                try:
                    with archive.open(info) as member:
                        size = _write_stream(iter(partial(member.read, _COPY_CHUNK), b""), target)
                except (zipfile.BadZipFile, NotImplementedError, EOFError) as exc:
                    raise _not_a_zip(upload.name) from exc
                received.append(_Received(found[0], base, target, size))
    else:
        for upload in uploads:
            base = PurePosixPath((upload.name or "").replace("\\", "/")).name
            found = _table_of(base)
            if found is None:
                raise _unexpected_file(base)
            target = raw_dir / f"{found[0]}{found[1]}"
            if found[0] in {item.table for item in received}:
                raise _table_twice(found[0])
            size = _write_stream(upload.chunks(), target)
            received.append(_Received(found[0], base, target, size))
    return received


def _receive_directory(source_dir: Path, raw_dir: Path) -> list[_Received]:
    """Take ``<table>.csv|.parquet`` from a directory (CLI): hard-linked when the store is
    on the same file system (big extracts are not copied), copied otherwise. Other files
    in the directory are left alone."""
    if not source_dir.is_dir():
        raise ApplicationError(
            "billing_dir_missing",
            _("%(path)s is not a directory.") % {"path": source_dir},
        )
    raw_dir.mkdir(parents=True, exist_ok=True)
    received: list[_Received] = []
    for path in sorted(source_dir.iterdir()):
        found = _table_of(path.name)
        if found is None or not path.is_file():
            continue
        target = raw_dir / f"{found[0]}{found[1]}"
        if found[0] in {item.table for item in received}:
            raise _table_twice(found[0])
        try:
            os.link(path, target)
        except OSError:
            shutil.copyfile(path, target)
        received.append(_Received(found[0], path.name, target, path.stat().st_size))
    return received


def _not_a_zip(name: str) -> ApplicationError:
    return ApplicationError(
        "billing_file_type",
        _("“%(name)s” could not be read as a zip file.") % {"name": name},
        details={"field": "files"},
    )


def _table_twice(table: str) -> ApplicationError:
    return ApplicationError(
        "billing_table_twice",
        _("The table %(table)s was given twice; give one file for it.") % {"table": table},
        details={"field": "files"},
    )


def _check_table_set(received: list[_Received]) -> None:
    tables = [item.table for item in received]
    if "subscribers" not in tables:
        raise ApplicationError(
            "billing_subscribers_missing",
            _("The subscribers table (subscribers.csv or subscribers.parquet) is required."),
            details={"field": "files"},
        )
    usage = [table for table in tables if table in USAGE_FORMS]
    if not usage:
        raise ApplicationError(
            "billing_usage_missing",
            _("A usage table is required: usage_monthly or usage_daily (.csv or .parquet)."),
            details={"field": "files"},
        )
    if len(usage) > 1:
        raise ApplicationError(
            "billing_usage_twice",
            _("Give usage_monthly or usage_daily, not both."),
            details={"field": "files"},
        )
    for item in received:
        _check_content(item)


def _import_create(*, actor, month: date, receive: Callable[[Path], list[_Received]]):
    month = billing_month_parse(month)
    _check_not_locked(month)
    with transaction.atomic():
        job = BillingImport.objects.create(month=month, actor=actor, staging_dir="")
        staging = billing_staging_dir(job.pk)
        shutil.rmtree(staging, ignore_errors=True)
        try:
            received = receive(staging / "raw")
            _check_table_set(received)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        job.staging_dir = str(staging)
        job.files = {
            item.table: {"name": item.name, "size": item.size}
            for item in sorted(received, key=lambda item: UPLOAD_TABLES.index(item.table))
        }
        job.save(update_fields=["staging_dir", "files", "updated_at"])
        audit_event_create(
            actor=actor,
            action="billing_import.created",
            target=job,
            changes={"month": month.strftime("%Y-%m"), "files": sorted(job.files)},
        )
    return job


def billing_import_create(*, actor, month: str | date, uploads: list) -> BillingImport:
    """Keep a month's uploaded extracts (separate files, or one zip holding them) and
    queue their import (after the commit).

    Refused, with nothing written: the actor may not import; the month is malformed,
    in the future or locked; a file is not one of the month's tables, a table is given
    twice, ``subscribers`` or the usage table is missing, a ``.parquet`` is no Parquet.
    """
    _check_may_import(actor)
    job = _import_create(actor=actor, month=month, receive=partial(_receive_uploads, list(uploads)))
    from prm.incentives.tasks_billing import billing_import_run

    transaction.on_commit(partial(billing_import_run.delay, job.pk))
    return job


def billing_import_create_from_dir(*, actor, month: str | date, source_dir: Path):
    """The CLI path: the same checks as an upload, for the files of a directory. The
    caller runs the job (:func:`billing_import_execute`) in its own process."""
    if actor is not None:
        _check_may_import(actor)
    return _import_create(
        actor=actor, month=month, receive=partial(_receive_directory, Path(source_dir))
    )


# Running an import -------------------------------------------------------------------------


class _MonthRuleError(Exception):
    """A row breaks a rule of the month; names the file, the data row and the column."""

    def __init__(self, detail: str, *, file: str, row: int | None, column: str | None):
        super().__init__(detail)
        self.detail = detail
        self.file = file
        self.row = row
        self.column = column


def _where(file: str, row: int | None, column: str | None, detail: str) -> str:
    parts = [file]
    if row is not None:
        parts.append(_("row %(row)s") % {"row": row})
    if column:
        parts.append(_("column %(column)s") % {"column": column})
    return _("%(where)s: %(detail)s") % {"where": ", ".join(parts), "detail": detail}


def _sql_literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _connect(temp_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    con.execute(f"SET memory_limit = {_sql_literal(settings.PRM_SETTLEMENT_MEMORY_LIMIT)}")
    threads = getattr(settings, "PRM_SETTLEMENT_THREADS", None)
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if temp_dir is not None:
        con.execute(f"SET temp_directory = {_sql_literal(temp_dir)}")
    return con


def _scan(path: Path, *, numbered: bool = False) -> str:
    """The raw file as a table (CSV: every column text, as the engine reads it)."""
    if path.suffix == ".csv":
        scan = (
            f"read_csv({_sql_literal(path)}, header=true, all_varchar=true, delim=',', "
            "quote='\"', escape='\"', encoding='utf-8')"
        )
        if numbered:
            return f"(SELECT row_number() OVER () AS __row, * FROM {scan})"
        return scan
    if numbered:
        return (
            f"(SELECT file_row_number + 1 AS __row, * FROM "
            f"read_parquet({_sql_literal(path)}, file_row_number=true))"
        )
    return f"read_parquet({_sql_literal(path)})"


def _typed_select(con, table: str, path: Path, *, numbered: bool = False) -> str:
    """The validated file with the store's column types (extra columns dropped)."""
    source_types = {
        row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM {_scan(path)}").fetchall()
    }
    selected = ["__row"] if numbered else []
    for column in TABLES[table].columns:
        name = _quote(column.name)
        source = source_types.get(column.name, "VARCHAR")
        if column.kind == "boolean" and source == "VARCHAR":
            value = f"(lower({name}) = 'true')"
        elif column.kind == "money" and source in ("FLOAT", "DOUBLE"):
            value = f"CAST(round({name}, 2) AS DECIMAL(14,2))"
        else:
            value = f"CAST({name} AS {_STORE_TYPES[column.kind]})"
        selected.append(f"{value} AS {name}")
    return f"SELECT {', '.join(selected)} FROM {_scan(path, numbered=numbered)}"


def _month_checks(table: str, month: date) -> list[tuple[str, str, str]]:
    """(column, SQL true for a good row, message) of the month's rules for ``table``."""
    start, end = month.isoformat(), _month_end(month).isoformat()
    outside = _("the date is outside the month %(month)s") % {"month": month.strftime("%Y-%m")}
    not_first = _("must be the first day of the month, %(day)s") % {"day": start}

    def first_day(column: str) -> str:
        return f"{_quote(column)} = DATE '{start}'"

    def day_inside(column: str) -> str:  # nullable voice days: null passes
        name = _quote(column)
        return f"({name} IS NULL OR ({name} >= DATE '{start}' AND {name} < DATE '{end}'))"

    def moment_inside(column: str) -> str:
        name = _quote(column)
        return f"({name} >= TIMESTAMP '{start} 00:00:00' AND {name} < TIMESTAMP '{end} 00:00:00')"

    checks: list[tuple[str, str, str]] = {
        "usage_monthly": [
            ("month", first_day("month"), not_first),
            ("first_voice_day", day_inside("first_voice_day"), outside),
            ("last_voice_day", day_inside("last_voice_day"), outside),
        ],
        "usage_daily": [("day", day_inside("day"), outside)],
        "billing": [("month", first_day("month"), not_first)],
        "product_changes": [("changed_at", moment_inside("changed_at"), outside)],
        "complaints": [("complained_at", moment_inside("complained_at"), outside)],
    }.get(table, [])
    if table in _PRODUCT_TABLES:
        checks.append(
            (
                "product_code",
                "product_code IN (SELECT code FROM known_products)",
                _("unknown product code"),
            )
        )
    return checks


def _in_file_order(con, path: Path, query: str, params: list | None = None):
    """Run an error-path query; CSV row numbers (``row_number() OVER ()``) follow the file
    only with one sequential reader. Used once a rule is known to be broken."""
    if path.suffix != ".csv":
        return con.execute(query, params or []).fetchone()
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET threads = 1")
    try:
        return con.execute(query, params or []).fetchone()
    finally:
        con.execute(f"SET threads = {int(threads)}")


def _check_month_rules(con, table: str, path: Path, month: date) -> None:
    """Rows inside the month, known product codes, no key twice (see the module doc)."""
    checks = _month_checks(table, month)
    if checks:
        typed = _typed_select(con, table, path)
        flags = ", ".join(f"coalesce(bool_and({condition}), true)" for _c, condition, _m in checks)
        if not all(con.execute(f"SELECT {flags} FROM ({typed})").fetchone()):
            numbered = _typed_select(con, table, path, numbered=True)
            oks = [f"coalesce({condition}, false)" for _c, condition, _m in checks]
            values = ", ".join(f"CAST({_quote(column)} AS VARCHAR)" for column, _c, _m in checks)
            found = _in_file_order(
                con,
                path,
                f"SELECT __row, {', '.join(oks)}, {values} FROM ({numbered}) "
                f"WHERE NOT ({' AND '.join(oks)}) ORDER BY __row LIMIT 1",
            )
            count = len(checks)
            for (column, _condition, message), ok, value in zip(
                checks, found[1 : 1 + count], found[1 + count :], strict=True
            ):
                if not ok:
                    raise _MonthRuleError(
                        f"{message} ({value})", file=path.name, row=int(found[0]), column=column
                    )
    keys = _KEYS.get(table)
    if keys:
        typed = _typed_select(con, table, path)
        key_list = ", ".join(_quote(key) for key in keys)
        duplicate = con.execute(
            f"SELECT {key_list} FROM ({typed}) GROUP BY {key_list} HAVING count(*) > 1 LIMIT 1"
        ).fetchone()
        if duplicate is not None:
            numbered = _typed_select(con, table, path, numbered=True)
            condition = " AND ".join(f"{_quote(key)} = ?" for key in keys)
            found = _in_file_order(
                con,
                path,
                f"SELECT __row FROM ({numbered}) WHERE {condition} ORDER BY __row LIMIT 1 OFFSET 1",
                list(duplicate),
            )
            shown = ", ".join(f"{key} {value}" for key, value in zip(keys, duplicate, strict=True))
            raise _MonthRuleError(
                _("duplicate key (%(key)s): it may appear only once") % {"key": shown},
                file=path.name,
                row=None if found is None else int(found[0]),
                column=keys[-1],
            )


def _store_write(con, table: str, select_sql: str, target: Path) -> int:
    order = ", ".join(_quote(column) for column in _SORT[table])
    con.execute(
        f"COPY ({select_sql} ORDER BY {order}) TO {_sql_literal(target)} "
        f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_SIZE})"
    )
    return int(
        con.execute(
            f"SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata({_sql_literal(target)})"
        ).fetchone()[0]
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(partial(handle.read, _COPY_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _prepare_table(
    con, *, table: str, raw: Path, out_dir: Path, month: date, work_dir: Path
) -> tuple[str, Path, int]:
    """Validate one raw file and write its store file; returns (store table, path, rows)."""
    table_validate(table, raw)
    _check_month_rules(con, table, raw, month)
    if table == "usage_daily":
        rolled = work_dir / "usage_monthly.rolled.parquet"
        usage_daily_to_monthly(raw, rolled, memory_limit=settings.PRM_SETTLEMENT_MEMORY_LIMIT)
        target = out_dir / "usage_monthly.parquet"
        rows = _store_write(
            con, "usage_monthly", _typed_select(con, "usage_monthly", rolled), target
        )
        rolled.unlink()
        return "usage_monthly", target, rows
    target = out_dir / f"{table}.parquet"
    rows = _store_write(con, table, _typed_select(con, table, raw), target)
    return table, target, rows


@dataclass
class _Prepared:
    files: dict[str, dict]  # store table → {sha256, rows, name}
    out_dir: Path


def _progress_set(job_id: int, percent: int, report: Callable[[int, str], None] | None, stage):
    BillingImport.objects.filter(pk=job_id).update(progress=percent, updated_at=timezone.now())
    if report is not None:
        report(percent, stage)


def _prepare(job: BillingImport, report) -> _Prepared:
    staging = Path(job.staging_dir)
    raw_dir, out_dir, work_dir = staging / "raw", staging / "out", staging / "work"
    shutil.rmtree(out_dir, ignore_errors=True)
    shutil.rmtree(work_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    work_dir.mkdir(parents=True)
    tables = [table for table in UPLOAD_TABLES if table in job.files]
    known = list(Product.objects.values_list("code", flat=True))
    files: dict[str, dict] = {}
    con = _connect(work_dir)
    try:
        con.execute("CREATE TEMP TABLE known_products (code VARCHAR PRIMARY KEY)")
        if known:
            con.executemany("INSERT INTO known_products VALUES (?)", [[code] for code in known])
        for index, table in enumerate(tables):
            name = job.files[table]["name"]
            raw = next(raw_dir.glob(f"{table}.*"), None)
            if raw is None:
                raise ApplicationError(
                    "billing_file_missing",
                    _("The file %(name)s is no longer in the staging directory.") % {"name": name},
                )
            _progress_set(job.pk, 5 + index * 85 // len(tables), report, table)
            store_table, target, rows = _prepare_table(
                con, table=table, raw=raw, out_dir=out_dir, month=job.month, work_dir=work_dir
            )
            files[store_table] = {"sha256": _sha256(target), "rows": rows, "name": name}
    finally:
        con.close()
    shutil.rmtree(work_dir, ignore_errors=True)
    _progress_set(job.pk, _PROGRESS_FILES_END, report, "checked")
    return _Prepared(files={t: files[t] for t in BILLING_TABLES if t in files}, out_dir=out_dir)


# The atomic replacement of a month's directory ----------------------------------------------

_rename = os.replace  # module level so that tests can make a rename fail


@dataclass
class _Swap:
    month_dir: Path
    backup: Path | None


def _month_recover(month_dir: Path) -> None:
    """Undo a swap that a crash interrupted: the month's directory is missing but a
    backup of it is there → the backup goes back. Stale backups beside a present
    directory (a crash after the swap) are deleted. Runs under the month's row lock."""
    backups = sorted(
        month_dir.parent.glob(f".{month_dir.name}.old-*"), key=lambda path: path.stat().st_mtime
    )
    if not month_dir.exists() and backups:
        _rename(backups.pop(), month_dir)
    for stale in backups:
        shutil.rmtree(stale, ignore_errors=True)


def _month_swap(new_dir: Path, month_dir: Path, *, tag: str) -> _Swap:
    """Put ``new_dir`` in place of ``month_dir``; on failure the old one is back."""
    month_dir.parent.mkdir(parents=True, exist_ok=True)
    _month_recover(month_dir)
    backup = None
    if month_dir.exists():
        backup = month_dir.with_name(f".{month_dir.name}.old-{tag}")
        _rename(month_dir, backup)
    try:
        _rename(new_dir, month_dir)
    except BaseException:
        if backup is not None:
            _rename(backup, month_dir)
        raise
    return _Swap(month_dir=month_dir, backup=backup)


def _month_swap_undo(swap: _Swap) -> None:
    """After a failure following the swap: the new directory goes, the old comes back."""
    discarded = swap.month_dir.with_name(f".{swap.month_dir.name}.failed")
    shutil.rmtree(discarded, ignore_errors=True)
    if swap.month_dir.exists():
        _rename(swap.month_dir, discarded)
    if swap.backup is not None:
        _rename(swap.backup, swap.month_dir)
    shutil.rmtree(discarded, ignore_errors=True)


def _commit(job: BillingImport, prepared: _Prepared, report) -> BillingImport:
    _progress_set(job.pk, _PROGRESS_SWAP, report, "store")
    swap: _Swap | None = None
    try:
        with transaction.atomic():
            month_row, _created = BillingMonth.objects.get_or_create(month=job.month)
            month_row = BillingMonth.objects.select_for_update(of=("self",)).get(pk=month_row.pk)
            if month_row.is_locked:
                raise _locked_error(month_row)
            old_revision, old_files = month_row.revision, dict(month_row.files or {})
            swap = _month_swap(prepared.out_dir, billing_month_dir(job.month), tag=f"{job.pk}")
            month_row.revision = old_revision + 1
            month_row.files = prepared.files
            month_row.imported_at = timezone.now()
            month_row.save(update_fields=["revision", "files", "imported_at", "updated_at"])
            hashes = {
                table: [
                    (old_files.get(table) or {}).get("sha256"),
                    (prepared.files.get(table) or {}).get("sha256"),
                ]
                for table in BILLING_TABLES
                if table in old_files or table in prepared.files
            }
            audit_event_create(
                actor=job.actor,
                actor_username="" if job.actor else "cli",
                action="billing_month.replaced" if old_revision else "billing_month.imported",
                target=month_row,
                changes={
                    "revision": [old_revision, month_row.revision],
                    "sha256": hashes,
                    "import": job.pk,
                },
            )
            job = _finish(
                job.pk,
                BillingImport.Status.SUCCEEDED,
                files={
                    **{table: dict(item) for table, item in job.files.items()},
                    **{table: {**item, "stored": True} for table, item in prepared.files.items()},
                },
                replaced_files=old_files,
                progress=100,
                message=_("Imported %(month)s, revision %(revision)s.")
                % {"month": job.month.strftime("%Y-%m"), "revision": month_row.revision},
            )
    except BaseException:
        if swap is not None:
            _month_swap_undo(swap)
        raise
    if swap.backup is not None:
        shutil.rmtree(swap.backup, ignore_errors=True)
    if report is not None:
        report(100, "done")
    return job


def _finish(job_id: int, status: str, **fields) -> BillingImport:
    job = (
        BillingImport.objects.select_for_update(of=("self",)).select_related("actor").get(pk=job_id)
    )
    old = job.transition_to(status)
    for name, value in fields.items():
        setattr(job, name, value)
    job.finished_at = timezone.now()
    job.save()
    if status == BillingImport.Status.FAILED:
        audit_event_create(
            actor=job.actor,
            actor_username="" if job.actor else "cli",
            action="billing_import.failed",
            target=job,
            changes={"status": [old, status], "message": job.message},
        )
    return job


def _failure_message(exc: BaseException) -> str:
    if isinstance(exc, SettlementInputError):
        # The engine's detail is English and names the problem precisely; the frame
        # (file, row, column) is translated.
        return _where(exc.file or "", exc.row, exc.column, exc.detail)
    if isinstance(exc, _MonthRuleError):
        return _where(exc.file, exc.row, exc.column, exc.detail)
    if isinstance(exc, ApplicationError):
        return str(exc.message)
    return _("The import failed unexpectedly (%(error)s). Nothing was changed.") % {
        "error": exc.__class__.__name__
    }


def billing_import_execute(
    *, import_id: int, report: Callable[[int, str], None] | None = None
) -> BillingImport:
    """Run a queued import (see the module doc); ``report(percent, stage)`` follows the
    progress (the CLI's display). A job that is not queued is left as it is."""
    with transaction.atomic():
        job = (
            BillingImport.objects.select_for_update(of=("self",))
            .select_related("actor")
            .get(pk=import_id)
        )
        if job.status != BillingImport.Status.QUEUED:
            return job
        job.transition_to(BillingImport.Status.RUNNING)
        job.save(update_fields=["status", "updated_at"])
    # The job speaks its importer's language (the CLI without a user: the current one).
    language = (
        job.actor.language if job.actor else translation.get_language()
    ) or settings.LANGUAGE_CODE
    with translation.override(language):
        try:
            month_row = BillingMonth.objects.filter(month=job.month).first()
            if month_row is not None and month_row.is_locked:
                raise _locked_error(month_row)
            prepared = _prepare(job, report)
            return _commit(job, prepared, report)
        except Exception as exc:  # noqa: BLE001  (any failure: the job says why)
            if not isinstance(exc, ApplicationError | SettlementInputError | _MonthRuleError):
                logger.exception("Billing import %s failed", job.pk)
            message = _failure_message(exc)
            with transaction.atomic():
                return _finish(job.pk, BillingImport.Status.FAILED, message=message)
        finally:
            if job.staging_dir:
                shutil.rmtree(job.staging_dir, ignore_errors=True)
