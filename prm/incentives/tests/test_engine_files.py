"""The file settlement as a whole (contract ``settlement-files.md``): inputs in CSV and
Parquet, bad input, output files and their types, determinism, the CLI."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from prm.incentives.engine import (
    REASON_CODES,
    RULE_VERSION,
    TABLES,
    SettlementInputError,
    settle_files,
    table_validate,
    usage_daily_to_monthly,
)
from prm.incentives.engine import settlement as settlement_module
from prm.incentives.engine.cli import main
from prm.incentives.tests.engine_builders import (
    FEE,
    MSISDN,
    PRODUCT,
    REBATE,
    Inputs,
    passing_inputs,
    read_rows,
    settle,
    write_table,
)

REPO = Path(__file__).resolve().parents[3]
PERIOD = "2026-03"
REC = datetime(2026, 1, 15, 10, 0, 0)
OUTPUTS = ("verdicts.parquet", "clawbacks.parquet", "statements.parquet", "summary.json")


def mixed_inputs() -> Inputs:
    """Four records of the period (two fail), one of another period, one clawback."""
    inputs = passing_inputs(recommended_at=REC, record_id=10)
    for record_id, offset in ((11, 1), (12, 2), (13, 3)):
        record = inputs.add_record(
            record_id,
            recommended_at=REC + timedelta(hours=offset),
            msisdn=MSISDN + offset,
            promoter_id=f"P-00{offset}",
        )
        inputs.add_support(record)
    inputs.records[2]["confirmed_at"] = None  # 12: unconfirmed
    inputs.subscribers[3]["in_arrears"] = True  # 13: in_arrears
    other = inputs.add_record(14, recommended_at=datetime(2025, 12, 1, 9, 0), msisdn=MSISDN + 9)
    inputs.add_support(other)
    inputs.paid_records.append(
        {
            "record_id": 500,
            "promoter_id": "P-001",
            "msisdn": MSISDN + 20,
            "product_code": PRODUCT,
            "recommended_at": datetime(2025, 11, 2, 8, 0),
            "amount": Decimal("4.00"),
        }
    )
    inputs.complaints.append(
        {
            "msisdn": MSISDN + 20,
            "product_code": PRODUCT,
            "complained_at": datetime(2026, 3, 3),
            "kind": "forced_subscription",
            "upheld": True,
        }
    )
    return inputs


# ------------------------------------------------------------------ outputs


def test_output_files_columns_and_types(tmp_path):
    outcome = settle(mixed_inputs(), tmp_path, period=PERIOD)

    verdicts = pq.read_schema(outcome.out_dir / "verdicts.parquet")
    assert verdicts.names == [
        "record_id",
        "promoter_id",
        "msisdn",
        "product_code",
        "period",
        "qualified",
        "reasons",
        "amount",
    ]
    assert verdicts.field("amount").type == pa.decimal128(14, 2)
    assert verdicts.field("qualified").type == pa.bool_()
    assert verdicts.field("reasons").type == pa.string()
    assert verdicts.field("period").type == pa.string()
    clawbacks = pq.read_schema(outcome.out_dir / "clawbacks.parquet")
    assert clawbacks.names == [
        "record_id",
        "promoter_id",
        "msisdn",
        "product_code",
        "complained_at",
        "amount",
    ]
    assert clawbacks.field("amount").type == pa.decimal128(14, 2)
    statements = pq.read_schema(outcome.out_dir / "statements.parquet")
    assert statements.names == [
        "promoter_id",
        "records",
        "qualified",
        "gross_amount",
        "clawback_amount",
        "net_amount",
        "payable_amount",
        "carry_forward",
    ]
    for name in statements.names[3:]:
        assert statements.field(name).type == pa.decimal128(14, 2)
    assert [row["record_id"] for row in read_rows(outcome.out_dir / "verdicts.parquet")] == [
        10,
        11,
        12,
        13,
    ]
    assert outcome.verdicts[12]["reasons"] == "unconfirmed"
    assert outcome.verdicts[13]["reasons"] == "in_arrears"
    assert outcome.verdicts[10] == {
        "record_id": 10,
        "promoter_id": "P-001",
        "msisdn": MSISDN,
        "product_code": PRODUCT,
        "period": PERIOD,
        "qualified": True,
        "reasons": "",
        "amount": REBATE,
    }
    assert outcome.clawbacks == [
        {
            "record_id": 500,
            "promoter_id": "P-001",
            "msisdn": MSISDN + 20,
            "product_code": PRODUCT,
            "complained_at": datetime(2026, 3, 3),
            "amount": Decimal("-4.00"),
        }
    ]


def test_summary_json_has_exactly_the_contract_keys(tmp_path):
    outcome = settle(mixed_inputs(), tmp_path, period=PERIOD)

    summary = json.loads((outcome.out_dir / "summary.json").read_text())
    assert list(summary) == [
        "period",
        "records",
        "qualified",
        "not_in_period",
        "reasons",
        "gross_amount",
        "clawback_amount",
        "net_amount",
        "rule_version",
        "input_sha256",
        "timings",
    ]
    assert (summary["period"], summary["records"], summary["qualified"]) == (PERIOD, 4, 2)
    assert outcome.verdicts[11]["reasons"] == ""
    assert summary["not_in_period"] == 1
    assert list(summary["reasons"]) == list(REASON_CODES)
    assert summary["reasons"] == {
        code: int(code in {"unconfirmed", "in_arrears"}) for code in REASON_CODES
    }
    assert (summary["gross_amount"], summary["clawback_amount"], summary["net_amount"]) == (
        "8.00",
        "-4.00",
        "4.00",
    )
    assert summary["rule_version"] == RULE_VERSION
    input_dir = tmp_path / "run-in"
    assert summary["input_sha256"] == {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(input_dir.iterdir())
    }
    assert summary["timings"]
    assert all(isinstance(seconds, float | int) for seconds in summary["timings"].values())


def test_reason_codes_and_rule_version():
    assert REASON_CODES == (
        "unknown_product",
        "unconfirmed",
        "duplicate",
        "prior_same_product",
        "not_active_before",
        "no_voice_in_window",
        "product_changed_in_window",
        "rebated_in_last_6_months",
        "in_arrears",
        "not_billed",
        "discounted_price",
        "upheld_complaint",
    )
    assert RULE_VERSION == "r4-settlement-1"


def test_tables_describe_the_contract_columns():
    assert {name: table.column_names for name, table in TABLES.items()} == {
        "records": (
            "record_id",
            "promoter_id",
            "msisdn",
            "product_code",
            "recommended_at",
            "confirmed_at",
        ),
        "products": ("product_code", "monthly_fee", "rebate", "effective_from", "effective_to"),
        "subscribers": ("msisdn", "activated_on", "status", "in_arrears"),
        "usage_monthly": ("msisdn", "month", "first_voice_day", "last_voice_day", "voice_calls"),
        "usage_daily": ("msisdn", "day", "voice_calls"),
        "product_changes": ("msisdn", "product_code", "changed_at", "change_type"),
        "billing": ("msisdn", "product_code", "month", "billed_amount"),
        "rebate_history": ("msisdn", "product_code", "recommended_at"),
        "complaints": ("msisdn", "product_code", "complained_at", "kind", "upheld"),
        "paid_records": (
            "record_id",
            "promoter_id",
            "msisdn",
            "product_code",
            "recommended_at",
            "amount",
        ),
    }
    assert [name for name, table in TABLES.items() if table.required] == [
        "records",
        "products",
        "subscribers",
    ]


def test_csv_and_parquet_inputs_give_the_same_results(tmp_path):
    inputs = mixed_inputs()

    parquet = settle(inputs, tmp_path, period=PERIOD, name="parquet")
    from_csv = settle(inputs, tmp_path, period=PERIOD, fmt="csv", name="csv")

    assert from_csv.verdicts == parquet.verdicts
    assert from_csv.clawbacks == parquet.clawbacks
    assert from_csv.statements == parquet.statements
    assert {k: v for k, v in from_csv.summary.items() if k not in {"timings", "input_sha256"}} == {
        k: v for k, v in parquet.summary.items() if k not in {"timings", "input_sha256"}
    }


def test_write_csv_writes_each_parquet_file_as_csv(tmp_path):
    outcome = settle(mixed_inputs(), tmp_path, period=PERIOD, write_csv=True)

    with (outcome.out_dir / "verdicts.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == [
        "record_id",
        "promoter_id",
        "msisdn",
        "product_code",
        "period",
        "qualified",
        "reasons",
        "amount",
    ]
    assert rows[1] == ["10", "P-001", str(MSISDN), PRODUCT, PERIOD, "true", "", "4.00"]
    assert rows[3][5:] == ["false", "unconfirmed", "0.00"]
    with (outcome.out_dir / "clawbacks.csv").open(newline="") as handle:
        assert list(csv.reader(handle))[1] == [
            "500",
            "P-001",
            str(MSISDN + 20),
            PRODUCT,
            "2026-03-03 00:00:00",
            "-4.00",
        ]
    with (outcome.out_dir / "statements.csv").open(newline="") as handle:
        assert list(csv.reader(handle)) == [
            [
                "promoter_id",
                "records",
                "qualified",
                "gross_amount",
                "clawback_amount",
                "net_amount",
                "payable_amount",
                "carry_forward",
            ],
            ["P-001", "2", "2", "8.00", "-4.00", "4.00", "4.00", "0.00"],
            ["P-002", "1", "0", "0.00", "0.00", "0.00", "0.00", "0.00"],
            ["P-003", "1", "0", "0.00", "0.00", "0.00", "0.00", "0.00"],
        ]
    assert sorted(p.name for p in outcome.out_dir.iterdir()) == sorted(
        [*OUTPUTS, "verdicts.csv", "clawbacks.csv", "statements.csv"]
    )


def test_same_input_gives_byte_identical_outputs_whatever_the_threads(tmp_path):
    input_dir = mixed_inputs().write(tmp_path / "in")
    runs = {
        "first": {},
        "second": {},
        "one thread": {"threads": 1},
        "two threads": {"threads": 2},
    }
    outputs = {}
    for name, options in runs.items():
        out_dir = tmp_path / name
        settle_files(period=PERIOD, input_dir=input_dir, out_dir=out_dir, **options)
        outputs[name] = {
            file: (out_dir / file).read_bytes()
            for file in ("verdicts.parquet", "clawbacks.parquet", "statements.parquet")
        }

    assert outputs["first"] == outputs["second"] == outputs["one thread"] == outputs["two threads"]


def test_progress_is_reported_between_stages(tmp_path):
    calls = []
    input_dir = mixed_inputs().write(tmp_path / "in")

    settle_files(
        period=PERIOD,
        input_dir=input_dir,
        out_dir=tmp_path / "out",
        progress=lambda stage, fraction: calls.append((stage, fraction)),
    )

    assert [stage for stage, _ in calls] == [
        "validate",
        "records",
        "rules",
        "verdicts",
        "clawbacks",
        "statements",
        "write",
    ]
    fractions = [fraction for _, fraction in calls]
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0


def test_a_period_without_records_writes_empty_outputs(tmp_path):
    outcome = settle(mixed_inputs(), tmp_path, period="2026-07")

    assert outcome.verdicts == {}
    assert outcome.clawbacks == []
    assert outcome.statements == []
    assert outcome.summary["records"] == 0
    assert outcome.summary["not_in_period"] == 5
    assert outcome.summary["gross_amount"] == "0.00"
    assert set(outcome.summary["reasons"].values()) == {0}


def test_out_dir_is_created_and_other_files_in_it_are_kept(tmp_path):
    input_dir = mixed_inputs().write(tmp_path / "in")
    out_dir = tmp_path / "results" / "2026-03"
    out_dir.mkdir(parents=True)
    (out_dir / "notes.txt").write_text("keep me")

    settle_files(period=PERIOD, input_dir=input_dir, out_dir=out_dir)

    assert sorted(p.name for p in out_dir.iterdir()) == sorted([*OUTPUTS, "notes.txt"])
    assert sorted(p.name for p in out_dir.parent.iterdir()) == ["2026-03"]


# ------------------------------------------------------------------ key types


def _single_record(**overrides) -> Inputs:
    inputs = passing_inputs(recommended_at=REC, **overrides)
    return inputs


@pytest.mark.parametrize(
    ("_case", "product_code", "arrow_type"),
    [
        ("integer codes stay integers", 1001, pa.int64()),
        ("string codes stay strings", "CRBT", pa.string()),
        ("digit strings stay strings", "1001", pa.string()),
    ],
)
def test_product_code_keeps_the_input_type(tmp_path, _case, product_code, arrow_type):
    outcome = settle(_single_record(product_code=product_code), tmp_path, period=PERIOD)

    schema = pq.read_schema(outcome.out_dir / "verdicts.parquet")
    assert schema.field("product_code").type == arrow_type
    assert outcome.verdict(1) == ("", REBATE)


def test_int32_product_codes_stay_int32(tmp_path):
    input_dir = _single_record(product_code=7).write(tmp_path / "in")
    for name in ("records", "products", "billing"):
        path = input_dir / f"{name}.parquet"
        table = pq.read_table(path)
        index = table.schema.get_field_index("product_code")
        pq.write_table(
            table.set_column(index, "product_code", table["product_code"].cast(pa.int32())), path
        )

    settle_files(period=PERIOD, input_dir=input_dir, out_dir=tmp_path / "out")

    schema = pq.read_schema(tmp_path / "out" / "verdicts.parquet")
    assert schema.field("product_code").type == pa.int32()


def test_integer_and_string_codes_of_different_tables_match(tmp_path):
    # given: records and billing carry 1001 as integers, products as the string "1001"
    input_dir = _single_record(product_code=1001).write(tmp_path / "in")
    products = pq.read_table(input_dir / "products.parquet")
    pq.write_table(
        products.set_column(0, "product_code", pa.array(["1001"], type=pa.string())),
        input_dir / "products.parquet",
    )

    settle_files(period=PERIOD, input_dir=input_dir, out_dir=tmp_path / "out")

    rows = read_rows(tmp_path / "out" / "verdicts.parquet")
    assert [(row["product_code"], row["reasons"], row["amount"]) for row in rows] == [
        ("1001", "", REBATE)
    ]


def test_string_msisdn_is_accepted_and_kept(tmp_path):
    outcome = settle(_single_record(msisdn="13800000001"), tmp_path, period=PERIOD)

    assert outcome.verdicts[1]["msisdn"] == "13800000001"
    assert outcome.verdict(1) == ("", REBATE)


def test_csv_integer_like_codes_are_integers(tmp_path):
    outcome = settle(_single_record(product_code=1001), tmp_path, period=PERIOD, fmt="csv")

    schema = pq.read_schema(outcome.out_dir / "verdicts.parquet")
    assert schema.field("product_code").type == pa.int64()
    assert schema.field("msisdn").type == pa.int64()
    assert schema.field("promoter_id").type == pa.string()


def test_parquet_timestamps_with_a_time_zone_are_read_in_shanghai_time(tmp_path):
    # given: recommended 2026-01-15 10:00 Shanghai = 02:00 UTC; confirmed 1 s before the
    # end of the window (2026-03-15 09:59:59 Shanghai) and, in a second run, at the end
    input_dir = _single_record().write(tmp_path / "in")
    utc = UTC
    for name, confirmed, expected in (
        ("inside", datetime(2026, 3, 15, 1, 59, 59, tzinfo=utc), ""),
        ("at-end", datetime(2026, 3, 15, 2, 0, 0, tzinfo=utc), "unconfirmed"),
    ):
        records = pq.read_table(input_dir / "records.parquet")
        zoned = pa.timestamp("us", tz="UTC")
        records = records.set_column(
            4, "recommended_at", pa.array([datetime(2026, 1, 15, 2, 0, tzinfo=utc)], zoned)
        ).set_column(5, "confirmed_at", pa.array([confirmed], zoned))
        pq.write_table(records, input_dir / "records.parquet")

        settle_files(period=PERIOD, input_dir=input_dir, out_dir=tmp_path / name)

        assert read_rows(tmp_path / name / "verdicts.parquet")[0]["reasons"] == expected


def test_parquet_float_money_is_rounded_to_cents(tmp_path):
    input_dir = _single_record().write(tmp_path / "in")
    products = pq.read_table(input_dir / "products.parquet")
    products = products.set_column(2, "rebate", pa.array([3.999999], pa.float64()))
    pq.write_table(products, input_dir / "products.parquet")

    settle_files(period=PERIOD, input_dir=input_dir, out_dir=tmp_path / "out")

    assert read_rows(tmp_path / "out" / "verdicts.parquet")[0]["amount"] == Decimal("4.00")


def test_csv_quoted_values_with_commas(tmp_path):
    inputs = _single_record()
    inputs.records[0]["promoter_id"] = 'Hall 7, "north"'

    outcome = settle(inputs, tmp_path, period=PERIOD, fmt="csv")

    assert outcome.verdicts[1]["promoter_id"] == 'Hall 7, "north"'


# ------------------------------------------------------------------ bad input


def _csv_inputs(tmp_path: Path) -> Path:
    """Valid CSV inputs: three records so that row numbers mean something."""
    inputs = passing_inputs(recommended_at=REC, record_id=1)
    for record_id in (2, 3):
        record = inputs.add_record(record_id, recommended_at=REC, msisdn=MSISDN + record_id)
        inputs.add_support(record)
    return inputs.write(tmp_path / "in", fmt="csv")


def _set_cell(path: Path, row: int, column: str, value: str) -> None:
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    rows[row][rows[0].index(column)] = value
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)


def _drop_column(path: Path, column: str) -> None:
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    index = rows[0].index(column)
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([row[:index] + row[index + 1 :] for row in rows])


def _bad(input_dir: Path, tmp_path: Path, period: str = PERIOD) -> SettlementInputError:
    out_dir = tmp_path / "out"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "earlier.txt").write_text("from an earlier run")
    with pytest.raises(SettlementInputError) as caught:
        settle_files(period=period, input_dir=input_dir, out_dir=out_dir)
    # never partial output: --out holds nothing new, no temporary directory is left
    assert [p.name for p in out_dir.iterdir()] == ["earlier.txt"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    return caught.value


@pytest.mark.parametrize(
    ("_case", "file", "row", "column", "value", "message"),
    [
        (
            "impossible date",
            "records.csv",
            3,
            "recommended_at",
            "2026-02-30 10:00:00",
            "'2026-02-30 10:00:00' is not a timestamp YYYY-MM-DD HH:MM:SS",
        ),
        (
            "timestamp without seconds",
            "records.csv",
            1,
            "confirmed_at",
            "2026-01-15 10:05",
            "'2026-01-15 10:05' is not a timestamp YYYY-MM-DD HH:MM:SS",
        ),
        (
            "money abc",
            "billing.csv",
            2,
            "billed_amount",
            "abc",
            "'abc' is not an amount with at most 2 decimal places",
        ),
        (
            "money with 3 decimals",
            "products.csv",
            1,
            "rebate",
            "4.001",
            "'4.001' is not an amount with at most 2 decimal places",
        ),
        ("boolean yes", "subscribers.csv", 2, "in_arrears", "yes", "'yes' is not true or false"),
        (
            "date 2026-13-01",
            "subscribers.csv",
            1,
            "activated_on",
            "2026-13-01",
            "'2026-13-01' is not a date YYYY-MM-DD",
        ),
        (
            "non-digit msisdn",
            "records.csv",
            2,
            "msisdn",
            "+8613800000002",
            "'+8613800000002' is not a number of 1 to 18 digits",
        ),
        (
            "integer voice calls",
            "usage_daily.csv",
            3,
            "voice_calls",
            "2.5",
            "'2.5' is not an integer",
        ),
        (
            "unknown status",
            "subscribers.csv",
            3,
            "status",
            "Closed",
            "'Closed' is not one of active, suspended, closed",
        ),
        (
            "empty required value",
            "records.csv",
            2,
            "record_id",
            "",
            "empty value in a column that may not be empty",
        ),
    ],
)
def test_unparsable_csv_value_names_file_row_and_column(
    tmp_path, _case, file, row, column, value, message
):
    input_dir = _csv_inputs(tmp_path)
    _set_cell(input_dir / file, row, column, value)

    error = _bad(input_dir, tmp_path)

    assert (error.file, error.row, error.column) == (file, row, column)
    assert str(error) == f"{file}, row {row}, column {column}: {message}"


def test_the_first_bad_row_is_reported(tmp_path):
    input_dir = _csv_inputs(tmp_path)
    _set_cell(input_dir / "records.csv", 3, "recommended_at", "bad")
    _set_cell(input_dir / "records.csv", 2, "confirmed_at", "bad")

    error = _bad(input_dir, tmp_path)

    assert (error.row, error.column) == (2, "confirmed_at")


def test_missing_column(tmp_path):
    input_dir = _csv_inputs(tmp_path)
    _drop_column(input_dir / "products.csv", "rebate")

    error = _bad(input_dir, tmp_path)

    assert (error.file, error.row, error.column) == ("products.csv", None, "rebate")
    assert str(error).startswith("products.csv, column rebate: missing column")


@pytest.mark.parametrize("table", ["records", "products", "subscribers"])
def test_missing_required_file(tmp_path, table):
    input_dir = _csv_inputs(tmp_path)
    (input_dir / f"{table}.csv").unlink()

    error = _bad(input_dir, tmp_path)

    assert str(error) == f"{table}.parquet or {table}.csv: required file is missing"


def test_missing_usage(tmp_path):
    input_dir = _csv_inputs(tmp_path)
    (input_dir / "usage_daily.csv").unlink()

    error = _bad(input_dir, tmp_path)

    assert "usage_monthly or usage_daily" in str(error)


def test_both_usage_forms_is_bad_input(tmp_path):
    input_dir = _csv_inputs(tmp_path)
    usage_daily_to_monthly(input_dir / "usage_daily.csv", input_dir / "usage_monthly.parquet")

    error = _bad(input_dir, tmp_path)

    assert str(error) == (
        "usage_daily.csv: both usage_monthly and usage_daily are present: give one usage form"
    )


def test_a_table_as_csv_and_parquet_is_bad_input(tmp_path):
    input_dir = _csv_inputs(tmp_path)
    write_table(input_dir, "records", [], fmt="parquet")

    error = _bad(input_dir, tmp_path)

    assert error.file == "records.parquet"
    assert "both records.parquet and records.csv" in str(error)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_duplicate_record_id_names_its_second_row(tmp_path, fmt):
    inputs = passing_inputs(recommended_at=REC, record_id=1)
    for record_id in (2, 1):
        inputs.add_record(record_id, recommended_at=REC + timedelta(days=40))
    input_dir = inputs.write(tmp_path / "in", fmt=fmt)

    error = _bad(input_dir, tmp_path)

    assert (error.file, error.row, error.column) == (f"records.{fmt}", 3, "record_id")
    assert "record_id 1 appears more than once" in str(error)


def test_overlapping_product_versions_are_bad_input(tmp_path):
    inputs = passing_inputs(recommended_at=REC)
    inputs.products.append(
        {
            "product_code": PRODUCT,
            "monthly_fee": FEE,
            "rebate": REBATE,
            "effective_from": date(2025, 6, 1),
            "effective_to": date(2025, 12, 31),
        }
    )
    input_dir = inputs.write(tmp_path / "in", fmt="csv")

    error = _bad(input_dir, tmp_path)

    assert (error.file, error.row, error.column) == ("products.csv", 2, "effective_from")


@pytest.mark.parametrize("period", ["2026-3", "2026-13", "202603", "", "2026-00", "26-03"])
def test_period_not_yyyy_mm(tmp_path, period):
    input_dir = _csv_inputs(tmp_path)

    error = _bad(input_dir, tmp_path, period=period)

    assert str(error) == f"column period: period {period!r} is not YYYY-MM"


def _rewrite_parquet(path: Path, column: str, array: pa.Array) -> None:
    table = pq.read_table(path)
    index = table.schema.get_field_index(column)
    pq.write_table(table.set_column(index, column, array), path)


@pytest.mark.parametrize(
    ("_case", "file", "column", "array", "expected"),
    [
        (
            "timestamp as string",
            "records.parquet",
            "recommended_at",
            pa.array(["2026-01-15 10:00:00"]),
            "type VARCHAR is incompatible: expected a timestamp column",
        ),
        (
            "boolean as integer",
            "subscribers.parquet",
            "in_arrears",
            pa.array([0]),
            "type BIGINT is incompatible: expected a boolean column",
        ),
        (
            "money as string",
            "products.parquet",
            "rebate",
            pa.array(["4.00"]),
            "type VARCHAR is incompatible: expected a decimal, integer or floating-point column",
        ),
    ],
)
def test_parquet_column_of_an_incompatible_type(tmp_path, _case, file, column, array, expected):
    input_dir = _single_record().write(tmp_path / "in")
    _rewrite_parquet(input_dir / file, column, array)

    error = _bad(input_dir, tmp_path)

    assert (error.file, error.row, error.column) == (file, None, column)
    assert error.detail == expected


def test_parquet_amount_beyond_decimal_14_2_names_its_row(tmp_path):
    input_dir = _single_record().write(tmp_path / "in")
    wide = pa.decimal128(20, 2)
    _rewrite_parquet(
        input_dir / "products.parquet", "rebate", pa.array([Decimal("123456789012345.00")], wide)
    )

    error = _bad(input_dir, tmp_path)

    assert (error.file, error.row, error.column) == ("products.parquet", 1, "rebate")


def test_parquet_null_in_a_required_column_names_its_row(tmp_path):
    inputs = passing_inputs(recommended_at=REC)
    inputs.add_record(2, recommended_at=REC)
    inputs.add_record(3, recommended_at=REC)
    input_dir = inputs.write(tmp_path / "in")
    _rewrite_parquet(input_dir / "records.parquet", "recommended_at", pa.array([REC, None, REC]))

    error = _bad(input_dir, tmp_path)

    assert (error.file, error.row, error.column) == ("records.parquet", 2, "recommended_at")


def test_parquet_non_digit_string_msisdn(tmp_path):
    inputs = passing_inputs(recommended_at=REC, msisdn="13800000001")
    inputs.subscribers.append(
        {
            "msisdn": "1380000000x",
            "activated_on": date(2020, 1, 1),
            "status": "active",
            "in_arrears": False,
        }
    )
    input_dir = inputs.write(tmp_path / "in")

    error = _bad(input_dir, tmp_path)

    assert (error.file, error.row, error.column) == ("subscribers.parquet", 2, "msisdn")


def test_parquet_invalid_status_of_a_used_subscriber(tmp_path):
    inputs = passing_inputs(recommended_at=REC)
    inputs.subscribers.insert(
        0,
        {
            "msisdn": MSISDN + 5,
            "activated_on": date(2020, 1, 1),
            "status": "active",
            "in_arrears": False,
        },
    )
    inputs.subscribers[1]["status"] = "gone"
    input_dir = inputs.write(tmp_path / "in")

    error = _bad(input_dir, tmp_path)

    assert (error.file, error.row, error.column) == ("subscribers.parquet", 2, "status")
    with pytest.raises(SettlementInputError):
        table_validate("subscribers", input_dir / "subscribers.parquet")


def test_ragged_csv_names_the_file(tmp_path):
    input_dir = _csv_inputs(tmp_path)
    with (input_dir / "records.csv").open("a") as handle:
        handle.write("9,P-001,13800000009,CRBT,2026-01-15 10:00:00,,extra,fields\n")

    error = _bad(input_dir, tmp_path)

    assert error.file == "records.csv"
    assert "\n" not in str(error)


def test_failure_after_some_outputs_were_built_leaves_out_untouched(tmp_path, monkeypatch):
    input_dir = mixed_inputs().write(tmp_path / "in")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "earlier.txt").write_text("x")

    def fail(self):
        raise SettlementInputError("statements exploded", file="statements")

    monkeypatch.setattr(settlement_module._Run, "_statements", fail)
    with pytest.raises(SettlementInputError):
        settle_files(period=PERIOD, input_dir=input_dir, out_dir=out_dir)

    assert [p.name for p in out_dir.iterdir()] == ["earlier.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]


# ------------------------------------------------------------------ table_validate, rollup


def test_table_validate_returns_the_rows(tmp_path):
    input_dir = _csv_inputs(tmp_path)

    assert table_validate("records", input_dir / "records.csv") == 3
    assert table_validate("usage_daily", input_dir / "usage_daily.csv") == 3


def test_table_validate_checks_unique_record_ids(tmp_path):
    input_dir = _csv_inputs(tmp_path)
    _set_cell(input_dir / "records.csv", 3, "record_id", "1")

    with pytest.raises(SettlementInputError) as caught:
        table_validate("records", input_dir / "records.csv")

    assert (caught.value.row, caught.value.column) == (3, "record_id")


def test_usage_daily_to_monthly(tmp_path):
    daily = [
        {"msisdn": MSISDN, "day": date(2026, 1, 31), "voice_calls": 0},
        {"msisdn": MSISDN, "day": date(2026, 1, 5), "voice_calls": 2},
        {"msisdn": MSISDN, "day": date(2026, 1, 20), "voice_calls": 3},
        {"msisdn": MSISDN, "day": date(2026, 1, 2), "voice_calls": 0},
        {"msisdn": MSISDN, "day": date(2026, 2, 10), "voice_calls": 0},
        {"msisdn": MSISDN - 1, "day": date(2026, 2, 28), "voice_calls": 1},
    ]
    path = write_table(tmp_path, "usage_daily", daily, fmt="csv")

    rows = usage_daily_to_monthly(path, tmp_path / "usage_monthly.parquet")

    assert rows == 3
    assert read_rows(tmp_path / "usage_monthly.parquet") == [
        {
            "msisdn": MSISDN - 1,
            "month": date(2026, 2, 1),
            "first_voice_day": date(2026, 2, 28),
            "last_voice_day": date(2026, 2, 28),
            "voice_calls": 1,
        },
        {
            "msisdn": MSISDN,
            "month": date(2026, 1, 1),
            "first_voice_day": date(2026, 1, 5),
            "last_voice_day": date(2026, 1, 20),
            "voice_calls": 5,
        },
        {
            "msisdn": MSISDN,
            "month": date(2026, 2, 1),
            "first_voice_day": None,
            "last_voice_day": None,
            "voice_calls": 0,
        },
    ]
    assert table_validate("usage_monthly", tmp_path / "usage_monthly.parquet") == 3


# ------------------------------------------------------------------ command line


def _argv(input_dir: Path, out_dir: Path, period: str = PERIOD) -> list[str]:
    return ["settle-files", "--period", period, "--input", str(input_dir), "--out", str(out_dir)]


def test_cli_settles_and_exits_0(tmp_path, capsys):
    input_dir = mixed_inputs().write(tmp_path / "in")

    status = main([*_argv(input_dir, tmp_path / "out"), "--csv", "--threads", "1"])

    assert status == 0
    output = capsys.readouterr()
    assert output.err == ""
    assert output.out.startswith("settled 2026-03: 4 records, 2 qualified, gross 8.00")
    assert (tmp_path / "out" / "verdicts.csv").exists()


def test_cli_bad_input_exits_2_with_one_line(tmp_path, capsys):
    input_dir = _csv_inputs(tmp_path)
    _set_cell(input_dir / "billing.csv", 2, "billed_amount", "abc")

    status = main(_argv(input_dir, tmp_path / "out"))

    assert status == 2
    output = capsys.readouterr()
    assert output.err == (
        "error: billing.csv, row 2, column billed_amount: "
        "'abc' is not an amount with at most 2 decimal places\n"
    )
    assert not (tmp_path / "out").exists()


def test_cli_in_a_subprocess_exit_status_and_stderr(tmp_path):
    input_dir = _csv_inputs(tmp_path)

    command = [sys.executable, "-m", "prm.incentives.engine.cli"]
    bad = subprocess.run(
        [*command, *_argv(input_dir, tmp_path / "o", "2026-3")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    good = subprocess.run(
        [*command, *_argv(input_dir, tmp_path / "o")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert bad.returncode == 2
    assert bad.stderr == "error: column period: period '2026-3' is not YYYY-MM\n"
    assert good.returncode == 0, good.stderr
    assert (tmp_path / "o" / "summary.json").exists()


def test_management_command_runs_the_same_cli(tmp_path, capsys):
    from prm.incentives.management.commands.incentives import Command

    input_dir = _csv_inputs(tmp_path)
    Command().run_from_argv(["prm", "incentives", *_argv(input_dir, tmp_path / "out")])
    assert (tmp_path / "out" / "verdicts.parquet").exists()

    _set_cell(input_dir / "records.csv", 1, "msisdn", "abc")
    with pytest.raises(SystemExit) as caught:
        Command().run_from_argv(["prm", "incentives", *_argv(input_dir, tmp_path / "out2")])

    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "error: records.csv, row 1, column msisdn: 'abc' is not a number of 1 to 18 digits"
    ]
