"""Load a sample of records and their numbers' rows from the input files into the models.

Not measured. DuckDB picks the sample (``hash(record_id, seed)`` order: the same ids
every run), semi-joins every side table on the sample's numbers, and the rows go in with
``bulk_create``. The duplicate rule looks at all input records, so every record of the
sample's number + product pairs is loaded too (only the sample is evaluated).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
from django.conf import settings
from django.db import connection, transaction

from . import models

# The contract's columns and their types (CSV is read as text and cast).
COLUMNS = {
    "records": {
        "record_id": "BIGINT",
        "promoter_id": "BIGINT",
        "msisdn": "BIGINT",
        "product_code": "INTEGER",
        "recommended_at": "TIMESTAMP",
        "confirmed_at": "TIMESTAMP",
    },
    "products": {
        "product_code": "INTEGER",
        "monthly_fee": "DECIMAL(14,2)",
        "rebate": "DECIMAL(14,2)",
        "effective_from": "DATE",
        "effective_to": "DATE",
    },
    "subscribers": {
        "msisdn": "BIGINT",
        "activated_on": "DATE",
        "status": "VARCHAR",
        "in_arrears": "BOOLEAN",
    },
    "usage_monthly": {
        "msisdn": "BIGINT",
        "month": "DATE",
        "first_voice_day": "DATE",
        "last_voice_day": "DATE",
        "voice_calls": "INTEGER",
    },
    "usage_daily": {"msisdn": "BIGINT", "day": "DATE", "voice_calls": "INTEGER"},
    "product_changes": {
        "msisdn": "BIGINT",
        "product_code": "INTEGER",
        "changed_at": "TIMESTAMP",
        "change_type": "VARCHAR",
    },
    "billing": {
        "msisdn": "BIGINT",
        "product_code": "INTEGER",
        "month": "DATE",
        "billed_amount": "DECIMAL(14,2)",
    },
    "rebate_history": {
        "msisdn": "BIGINT",
        "product_code": "INTEGER",
        "recommended_at": "TIMESTAMP",
    },
    "complaints": {
        "msisdn": "BIGINT",
        "product_code": "INTEGER",
        "complained_at": "TIMESTAMP",
        "kind": "VARCHAR",
        "upheld": "BOOLEAN",
    },
}

MODELS = {
    "records": models.Record,
    "products": models.Product,
    "subscribers": models.Subscriber,
    "usage_monthly": models.UsageMonthly,
    "usage_daily": models.UsageDaily,
    "product_changes": models.ProductChange,
    "billing": models.Billing,
    "rebate_history": models.RebateHistory,
    "complaints": models.Complaint,
}


def table_source(input_dir: Path, name: str) -> str | None:
    """A DuckDB relation with the table's typed columns, or None when the file is absent."""
    parquet, csv = input_dir / f"{name}.parquet", input_dir / f"{name}.csv"
    if parquet.exists():
        raw = f"read_parquet('{parquet}')"
    elif csv.exists():
        raw = f"read_csv('{csv}', header = true, all_varchar = true)"
    else:
        return None
    columns = ", ".join(
        f"CAST({column} AS {kind}) AS {column}" for column, kind in COLUMNS[name].items()
    )
    return f"(SELECT {columns} FROM {raw})"


def usage_form(input_dir: Path) -> str:
    if table_source(input_dir, "usage_monthly") is not None:
        return "monthly"
    if table_source(input_dir, "usage_daily") is not None:
        return "daily"
    raise FileNotFoundError(f"{input_dir}: no usage_monthly or usage_daily table")


def create_tables() -> None:
    with connection.schema_editor() as editor:
        for model in [*MODELS.values(), models.Verdict]:
            editor.create_model(model)


def load_sample(input_dir: Path, *, sample_size: int, seed: int) -> tuple[list[int], dict]:
    """Load the sample and its numbers' rows; return the sample's record ids and row counts."""
    zone = ZoneInfo(settings.TIME_ZONE)
    con = duckdb.connect()
    con.execute("SET threads = 2")
    records = table_source(input_dir, "records")
    con.execute(
        f"CREATE TEMP TABLE sample AS SELECT record_id, msisdn, product_code FROM {records} "
        f"ORDER BY hash(record_id, {int(seed)}) LIMIT {int(sample_size)}"
    )
    sample_ids = sorted(row[0] for row in con.execute("SELECT record_id FROM sample").fetchall())
    con.execute("CREATE TEMP TABLE numbers AS SELECT DISTINCT msisdn FROM sample")
    con.execute("CREATE TEMP TABLE pairs AS SELECT DISTINCT msisdn, product_code FROM sample")
    counts = {}
    for name, model in MODELS.items():
        source = table_source(input_dir, name)
        if source is None:
            continue
        columns = list(COLUMNS[name])
        if name == "records":
            query = f"SELECT * FROM {source} t SEMI JOIN pairs USING (msisdn, product_code)"
        elif name == "products":
            query = f"SELECT * FROM {source} t"
        else:
            query = f"SELECT * FROM {source} t SEMI JOIN numbers USING (msisdn)"
        rows = con.execute(query).fetchall()
        objects = [
            model(
                **{
                    column: value.replace(tzinfo=zone) if isinstance(value, datetime) else value
                    for column, value in zip(columns, row, strict=True)
                }
            )
            for row in rows
        ]
        with transaction.atomic():
            model.objects.bulk_create(objects, batch_size=2000)
        counts[name] = len(objects)
    con.close()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return sample_ids, counts
