"""Small input tables for the settlement engine tests (contract ``settlement-files.md``).

:func:`passing_inputs` builds one development record that passes every rule, with the
subscriber, usage, billing and product rows it needs; a test changes one thing and
checks the verdict. :meth:`Inputs.write` writes the tables as Parquet or CSV, the usage
in daily form or rolled up to the monthly form with ``usage_daily_to_monthly`` (so a
test can run both forms on the same days).

The calendar arithmetic here is written independently of the engine (plain Python),
so that the tests check the engine's SQL against it.
"""

from __future__ import annotations

import calendar
import csv
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from prm.incentives.engine import TABLES, settle_files, usage_daily_to_monthly

FEE = Decimal("10.00")
REBATE = Decimal("4.00")
MSISDN = 13800000001
PRODUCT = "CRBT"
PROMOTER = "P-001"


def add_months(moment, months: int):
    """``moment`` plus ``months`` calendar months, the day clamped to the month's end."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def window_end(recommended_at: datetime) -> datetime:
    return add_months(recommended_at, 2)


def period_of(recommended_at: datetime) -> str:
    last = window_end(recommended_at) - timedelta(seconds=1)
    return f"{last.year:04d}-{last.month:02d}"


def month_start(day) -> date:
    return date(day.year, day.month, 1)


def window_months(recommended_at: datetime) -> list[date]:
    months = [month_start(recommended_at)]
    last = month_start(window_end(recommended_at) - timedelta(seconds=1))
    while months[-1] < last:
        months.append(month_start(add_months(months[-1], 1)))
    return months


@dataclass
class Inputs:
    records: list[dict] = field(default_factory=list)
    products: list[dict] = field(default_factory=list)
    subscribers: list[dict] = field(default_factory=list)
    usage_daily: list[dict] = field(default_factory=list)
    product_changes: list[dict] = field(default_factory=list)
    billing: list[dict] = field(default_factory=list)
    rebate_history: list[dict] = field(default_factory=list)
    complaints: list[dict] = field(default_factory=list)
    paid_records: list[dict] = field(default_factory=list)
    usage_monthly: list[dict] | None = None  # given explicitly instead of rolled up

    def add_record(
        self,
        record_id,
        *,
        recommended_at: datetime,
        msisdn=MSISDN,
        product_code=PRODUCT,
        promoter_id=PROMOTER,
        confirmed_at: datetime | None | str = "auto",
    ) -> dict:
        record = {
            "record_id": record_id,
            "promoter_id": promoter_id,
            "msisdn": msisdn,
            "product_code": product_code,
            "recommended_at": recommended_at,
            "confirmed_at": (
                recommended_at + timedelta(minutes=5) if confirmed_at == "auto" else confirmed_at
            ),
        }
        self.records.append(record)
        return record

    def add_support(self, record: dict, *, fee: Decimal = FEE) -> None:
        """Rows that make ``record`` pass: subscriber, a voice day, billing at full fee."""
        msisdn, code = record["msisdn"], record["product_code"]
        recommended_at = record["recommended_at"]
        if not any(s["msisdn"] == msisdn for s in self.subscribers):
            self.subscribers.append(
                {
                    "msisdn": msisdn,
                    "activated_on": date(2020, 1, 1),
                    "status": "active",
                    "in_arrears": False,
                }
            )
        self.usage_daily.append(
            {"msisdn": msisdn, "day": recommended_at.date() + timedelta(days=1), "voice_calls": 3}
        )
        if fee > 0:
            for month in window_months(recommended_at):
                self.billing.append(
                    {"msisdn": msisdn, "product_code": code, "month": month, "billed_amount": fee}
                )

    def write(self, directory: Path, *, fmt: str = "parquet", usage: str = "daily") -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        tables = {
            "records": self.records,
            "products": self.products,
            "subscribers": self.subscribers,
            "product_changes": self.product_changes,
            "billing": self.billing,
            "rebate_history": self.rebate_history,
            "complaints": self.complaints,
            "paid_records": self.paid_records,
        }
        for name, rows in tables.items():
            if rows or TABLES[name].required:
                write_table(directory, name, rows, fmt=fmt)
        if self.usage_monthly is not None:
            write_table(directory, "usage_monthly", self.usage_monthly, fmt=fmt)
        elif usage == "daily":
            write_table(directory, "usage_daily", self.usage_daily, fmt=fmt)
        else:
            scratch = directory.parent / f"{directory.name}-daily"
            scratch.mkdir(exist_ok=True)
            daily = write_table(scratch, "usage_daily", self.usage_daily, fmt=fmt)
            usage_daily_to_monthly(daily, directory / "usage_monthly.parquet")
        return directory


def add_period_decoys(inputs: Inputs, period: str) -> None:
    """Two qualifying records of other numbers at the very first and last moments of
    ``period``: they widen the range of dates the engine scans the side tables for, so
    that a rule's own boundary (not a scan pre-filter) decides the tested record."""
    year, month = (int(part) for part in period.split("-"))
    first = add_months(datetime(year, month, 1), -2) + timedelta(seconds=1)
    last = add_months(datetime(year, month, 1), -1)
    assert period_of(first) == period_of(last) == period
    for offset, moment in ((0, first), (1, last)):
        record = inputs.add_record(
            900_001 + offset, recommended_at=moment, msisdn=13_900_000_001 + offset
        )
        inputs.add_support(record, fee=inputs.products[0]["monthly_fee"])


def passing_inputs(
    *,
    recommended_at: datetime = datetime(2026, 1, 15, 10, 0, 0),
    record_id=1,
    product_code=PRODUCT,
    msisdn=MSISDN,
    fee: Decimal = FEE,
    rebate: Decimal = REBATE,
) -> Inputs:
    """One record that qualifies for ``rebate``, with everything it needs."""
    inputs = Inputs()
    inputs.products.append(
        {
            "product_code": product_code,
            "monthly_fee": fee,
            "rebate": rebate,
            "effective_from": date(2020, 1, 1),
            "effective_to": None,
        }
    )
    record = inputs.add_record(
        record_id, recommended_at=recommended_at, msisdn=msisdn, product_code=product_code
    )
    inputs.add_support(record, fee=fee)
    return inputs


# ---------------------------------------------------------------- writing


def _arrow_type(kind: str, values: list):
    present = [v for v in values if v is not None]
    if kind in ("msisdn", "key"):
        return pa.int64() if present and all(isinstance(v, int) for v in present) else pa.string()
    return {
        "timestamp": pa.timestamp("us"),
        "date": pa.date32(),
        "money": pa.decimal128(14, 2),
        "boolean": pa.bool_(),
        "integer": pa.int64(),
        "choice": pa.string(),
    }[kind]


def write_table(directory: Path, name: str, rows: list[dict], *, fmt: str = "parquet") -> Path:
    columns = TABLES[name].columns
    if fmt == "parquet":
        path = directory / f"{name}.parquet"
        arrays = {}
        for column in columns:
            values = [row.get(column.name) for row in rows]
            kind_type = _arrow_type(column.kind, values)
            if kind_type == pa.string():
                values = [None if v is None else str(v) for v in values]
            arrays[column.name] = pa.array(values, type=kind_type)
        pq.write_table(pa.table(arrays), path)
        return path
    path = directory / f"{name}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([column.name for column in columns])
        for row in rows:
            writer.writerow([csv_value(row.get(column.name)) for column in columns])
    return path


def csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# ---------------------------------------------------------------- running


@dataclass
class Outcome:
    summary: dict
    verdicts: dict  # record_id -> row
    clawbacks: list[dict]
    statements: list[dict]
    out_dir: Path

    def verdict(self, record_id) -> tuple[str, Decimal]:
        row = self.verdicts[record_id]
        return row["reasons"], row["amount"]


def read_rows(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def settle(
    inputs: Inputs,
    tmp_path: Path,
    *,
    period: str,
    fmt: str = "parquet",
    usage: str = "daily",
    name: str = "run",
    **options,
) -> Outcome:
    input_dir = inputs.write(tmp_path / f"{name}-in", fmt=fmt, usage=usage)
    out_dir = tmp_path / f"{name}-out"
    summary = settle_files(period=period, input_dir=input_dir, out_dir=out_dir, **options)
    assert json.loads((out_dir / "summary.json").read_text()) == summary
    return Outcome(
        summary=summary,
        verdicts={row["record_id"]: row for row in read_rows(out_dir / "verdicts.parquet")},
        clawbacks=read_rows(out_dir / "clawbacks.parquet"),
        statements=read_rows(out_dir / "statements.parquet"),
        out_dir=out_dir,
    )
