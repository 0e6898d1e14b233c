"""Reads of the billing-extract store (R4; ADR 0014): the imported months and their files,
and single-number lookups for the recommendation entry rule and the call-centre assist.

The store is one directory of Parquet files per month, each sorted by msisdn
(``services/billing.py``). Every lookup uses a short-lived DuckDB connection (a cursor
of the process's in-memory database, see ``_cursor``) and reads only the months it needs
with ``read_parquet``; the row-group statistics of a sorted file let DuckDB skip every
row group but the one holding the number. Nothing is kept between lookups except the
billed product codes of a number per set of file versions (``_billed_codes``).
"""

from __future__ import annotations

import functools
import os
import re
import threading
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from django.db.models import QuerySet

from prm.core.exceptions import NotFound
from prm.core.scoping import scope_by_path
from prm.incentives.models import BillingImport, BillingMonth
from prm.incentives.storage import BILLING_TABLES, billing_month_dir

# Whose staff may import: the extracts come per province or city billing centre.
IMPORT_ORG_KINDS = ("province", "city")
# How many imported months the usage profile of a subscriber covers.
PROFILE_MONTHS = 3
_DIGITS = re.compile(r"[0-9]{1,18}")


def _sql_literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _parquet(paths: list[Path]) -> str:
    return "read_parquet([" + ", ".join(_sql_literal(path) for path in paths) + "])"


def _number(msisdn: str) -> int | None:
    """The store's key of a number (BIGINT), or None for something that is no number."""
    text = str(msisdn or "").strip()
    if not _DIGITS.fullmatch(text):
        return None
    return int(text)


_database: tuple[int, duckdb.DuckDBPyConnection] | None = None
_database_lock = threading.Lock()


def _cursor() -> duckdb.DuckDBPyConnection:
    """A short-lived connection (a cursor) to this process's in-memory DuckDB.

    Opening a new in-memory database costs 20-50 ms here (measured on the 2-core
    machines), a cursor of an open one 0.3 ms — the difference between a fast and a slow
    assist page, which makes one lookup per product. The database holds nothing: every
    query reads the Parquet files afresh, so a replaced month is seen at once. It is
    opened lazily in each process (never inherited across a fork).
    """
    global _database
    with _database_lock:
        if _database is None or _database[0] != os.getpid():
            database = duckdb.connect(":memory:")
            # One-number lookups read one row group; more threads only cost.
            database.execute("SET threads = 1")
            _database = (os.getpid(), database)
        return _database[1].cursor()


def _query(sql: str, params: list[Any]) -> list[tuple]:
    """Run one lookup on its own cursor. A month being replaced at this instant (its
    directory is swapped by two renames) is read once more."""
    for attempt in (1, 2):
        cursor = _cursor()
        try:
            return cursor.execute(sql, params).fetchall()
        except duckdb.IOException:
            if attempt == 2:
                raise
        finally:
            cursor.close()
    return []  # pragma: no cover


# Months and files ------------------------------------------------------------------------


def billing_months() -> list[BillingMonth]:
    """The imported months, newest first."""
    return list(BillingMonth.objects.filter(imported_at__isnull=False).order_by("-month"))


def _month_files(month_row: BillingMonth) -> dict[str, Path]:
    directory = billing_month_dir(month_row.month)
    files = {}
    for table in BILLING_TABLES:
        path = directory / f"{table}.parquet"
        if table in (month_row.files or {}) and path.is_file():
            files[table] = path
    return files


def billing_month_files(*, month: date) -> dict[str, Path]:
    """``{table: path}`` of the stored files of ``month`` (any day of it), in the order of
    ``BILLING_TABLES``; empty when the month was never imported. A table that was absent
    from the import is absent here (the contract: absent = empty)."""
    month_row = BillingMonth.objects.filter(
        month=month.replace(day=1), imported_at__isnull=False
    ).first()
    return {} if month_row is None else _month_files(month_row)


def _files_of(months: list[date], table: str) -> list[Path]:
    """The stored files of ``table`` of the imported ones of ``months`` (one query)."""
    rows = BillingMonth.objects.filter(
        month__in={month.replace(day=1) for month in months}, imported_at__isnull=False
    ).order_by("month")
    return [path for row in rows if (path := _month_files(row).get(table)) is not None]


# Single-number lookups -----------------------------------------------------------------------


def _file_key(path: Path) -> tuple:
    """A file's identity and version: a replaced month's files are new inodes."""
    stat = path.stat()
    return (str(path), stat.st_ino, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4096)
def _billed_codes(number: int, files: tuple[tuple, ...]) -> frozenset[str]:
    """The product codes billed (> 0) to the number in ``files`` (keyed by their
    versions, so a cached answer is never one of replaced files). The assist asks this
    once per product for the same number and months; one read answers them all."""
    rows = _query(
        f"SELECT DISTINCT product_code FROM {_parquet([Path(key[0]) for key in files])} "
        "WHERE msisdn = ? AND billed_amount > 0",
        [number],
    )
    return frozenset(str(code) for (code,) in rows)


def billing_had_product(*, msisdn: str, product_code: str, months: list[date]) -> bool:
    """Whether the number was billed (``billed_amount > 0``) for the product in any of
    ``months`` (first days) — R4: no same business in the 3 months before the month of
    development. Months not imported know nothing and count as not billed."""
    number = _number(msisdn)
    if number is None or not months:
        return False
    paths = _files_of(months, "billing")
    if not paths:
        return False
    try:
        files = tuple(_file_key(path) for path in paths)
    except FileNotFoundError:  # a month being replaced this instant: read it once more
        files = tuple(_file_key(path) for path in _files_of(months, "billing"))
    return str(product_code) in _billed_codes(number, files)


def subscriber_profile(*, msisdn: str) -> dict | None:
    """What the latest imported month says about a number, or None when the number is not
    in its subscribers snapshot (or nothing was imported):

    ``{"msisdn", "month"`` (the latest month), ``"activated_on", "status", "in_arrears",
    "billed_products": [{"product_code", "billed_amount"}]`` (billed > 0 in the latest
    month, by code), ``"voice_calls": [{"month", "voice_calls"}]`` (the last
    ``PROFILE_MONTHS`` imported months, oldest first, 0 when the number has no usage row),
    ``"avg_voice_calls"}`` (Decimal, 2 places, over those months).
    """
    number = _number(msisdn)
    months = billing_months()[:PROFILE_MONTHS]
    if number is None or not months:
        return None
    latest = months[0].month
    latest_files = billing_month_files(month=latest)
    if "subscribers" not in latest_files:
        return None
    found = _query(
        f"SELECT activated_on, status, in_arrears FROM {_parquet([latest_files['subscribers']])} "
        "WHERE msisdn = ? LIMIT 1",
        [number],
    )
    if not found:
        return None
    activated_on, status, in_arrears = found[0]
    billed: list[tuple] = []
    if "billing" in latest_files:
        billed = _query(
            f"SELECT product_code, sum(billed_amount) FROM {_parquet([latest_files['billing']])} "
            "WHERE msisdn = ? AND billed_amount > 0 GROUP BY product_code ORDER BY product_code",
            [number],
        )
    month_list = sorted(row.month for row in months)
    usage_paths = _files_of(month_list, "usage_monthly")
    calls: dict[date, int] = {}
    if usage_paths:
        calls = dict(
            _query(
                f"SELECT month, CAST(sum(voice_calls) AS BIGINT) FROM {_parquet(usage_paths)} "
                "WHERE msisdn = ? GROUP BY month",
                [number],
            )
        )
    voice = [{"month": month, "voice_calls": int(calls.get(month, 0))} for month in month_list]
    average = (Decimal(sum(item["voice_calls"] for item in voice)) / len(voice)).quantize(
        Decimal("0.01")
    )
    return {
        "msisdn": str(msisdn).strip(),
        "month": latest,
        "activated_on": activated_on,
        "status": status,
        "in_arrears": bool(in_arrears),
        "billed_products": [
            {"product_code": code, "billed_amount": Decimal(amount).quantize(Decimal("0.01"))}
            for code, amount in billed
        ],
        "voice_calls": voice,
        "avg_voice_calls": average,
    }


# Pages and API: who sees months and imports ----------------------------------------------------


def billing_import_may(user) -> bool:
    """Channel managers of a province or a city with ``incentives.import_billing``."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and not user.is_partner_user
        and user.has_perm("incentives.import_billing")
        and getattr(user.org, "kind", None) in IMPORT_ORG_KINDS
    )


def billing_may_view(user) -> bool:
    """Operator staff with ``view_billingmonth`` (the store is operator-wide)."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and not user.is_partner_user
        and user.has_perm("incentives.view_billingmonth")
    )


def billing_months_visible(*, user) -> QuerySet[BillingMonth]:
    """Every month row (imported or only locked) for staff who may view the store."""
    if not billing_may_view(user) and not billing_import_may(user):
        return BillingMonth.objects.none()
    return BillingMonth.objects.select_related("locked_by_run").order_by("-month")


def billing_month_get(*, user, month: date) -> BillingMonth:
    found = billing_months_visible(user=user).filter(month=month.replace(day=1)).first()
    if found is None:
        raise NotFound()
    return found


def billing_imports_visible(*, user) -> QuerySet[BillingImport]:
    """Imports started by users of the acting user's org subtree (CLI imports without a
    user: only for the top of the operator tree), for staff who may view or import."""
    if not billing_may_view(user) and not billing_import_may(user):
        return BillingImport.objects.none()
    imports = scope_by_path(
        BillingImport.objects.select_related("actor"), user=user, path_field="actor__org__path"
    )
    if user.org.parent_id is None:
        imports = imports | BillingImport.objects.filter(actor__isnull=True)
    return imports.order_by("-created_at", "-id")


def billing_import_get(*, user, import_id: int) -> BillingImport:
    """An import the user may see, or ``NotFound``."""
    found = billing_imports_visible(user=user).filter(pk=import_id).first()
    if found is None:
        raise NotFound()
    return found


def billing_month_imports(*, user, month: date) -> QuerySet[BillingImport]:
    return billing_imports_visible(user=user).filter(month=month.replace(day=1))
