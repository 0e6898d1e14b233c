"""Reads of a run's artefact files (DuckDB over Parquet): totals per reason, channel and
city; verdict pages with keyset pagination and filters; one record; a promoter's own
statement and clawbacks; sums over several runs.

``write_artefacts`` writes a run's files as the settlement engine does
(``shared/contracts/settlement-files.md``); the report and home tests use it too."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from prm.core.exceptions import ApplicationError
from prm.incentives import artefacts
from prm.incentives.artefacts import VerdictFilters
from prm.incentives.reasons import REASON_CODES, reason_codes_of

MONEY = pa.decimal128(14, 2)


def _money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def write_artefacts(
    directory: Path,
    *,
    verdicts: list[dict],
    promoters: list[dict],
    clawbacks: list[dict] = (),
    period: str = "2026-03",
    msisdn_as_int: bool = False,
    with_promoters_file: bool = True,
) -> dict:
    """Write ``verdicts``, ``clawbacks``, ``statements``, ``promoters`` and ``summary.json``
    into ``directory``; returns the summary.

    A verdict: ``record_id``, ``promoter_id``, ``msisdn``, ``product_code``, ``reasons``
    ("" = qualified), ``amount`` (default 4.00 when qualified, else 0). A promoter:
    ``promoter_id``, ``work_id``, ``name``, ``channel_id``, ``channel_code``,
    ``channel_name``, ``city_id``, ``city_name``. Statements are computed per promoter.
    """
    directory.mkdir(parents=True, exist_ok=True)
    verdicts = sorted(verdicts, key=lambda row: row["record_id"])
    amounts = [_money(row.get("amount", "4.00" if not row["reasons"] else "0")) for row in verdicts]
    msisdn_type = pa.int64() if msisdn_as_int else pa.string()
    msisdns = [int(row["msisdn"]) if msisdn_as_int else str(row["msisdn"]) for row in verdicts]
    table = pa.table(
        {
            "record_id": pa.array([row["record_id"] for row in verdicts], pa.int64()),
            "promoter_id": pa.array([row["promoter_id"] for row in verdicts], pa.int64()),
            "msisdn": pa.array(msisdns, msisdn_type),
            "product_code": pa.array([row["product_code"] for row in verdicts], pa.string()),
            "period": pa.array([period] * len(verdicts), pa.string()),
            "qualified": pa.array([not row["reasons"] for row in verdicts], pa.bool_()),
            "reasons": pa.array([row["reasons"] for row in verdicts], pa.string()),
            "amount": pa.array(amounts, MONEY),
        }
    )
    pq.write_table(table, directory / "verdicts.parquet")
    clawbacks = sorted(clawbacks, key=lambda row: row["record_id"])
    pq.write_table(
        pa.table(
            {
                "record_id": pa.array([row["record_id"] for row in clawbacks], pa.int64()),
                "promoter_id": pa.array([row["promoter_id"] for row in clawbacks], pa.int64()),
                "msisdn": pa.array(
                    [int(r["msisdn"]) if msisdn_as_int else r["msisdn"] for r in clawbacks],
                    msisdn_type,
                ),
                "product_code": pa.array([row["product_code"] for row in clawbacks], pa.string()),
                "complained_at": pa.array(
                    [row.get("complained_at", datetime(2026, 3, 5, 9, 0)) for row in clawbacks],
                    pa.timestamp("us"),
                ),
                "amount": pa.array([_money(row["amount"]) for row in clawbacks], MONEY),
            }
        ),
        directory / "clawbacks.parquet",
    )
    per_promoter: dict[int, dict] = {}
    for row, amount in zip(verdicts, amounts, strict=True):
        entry = per_promoter.setdefault(
            row["promoter_id"], {"records": 0, "qualified": 0, "gross": Decimal("0.00"),
                                 "clawback": Decimal("0.00")}
        )  # fmt: skip
        entry["records"] += 1
        entry["qualified"] += 0 if row["reasons"] else 1
        entry["gross"] += amount
    for row in clawbacks:
        entry = per_promoter.setdefault(
            row["promoter_id"], {"records": 0, "qualified": 0, "gross": Decimal("0.00"),
                                 "clawback": Decimal("0.00")}
        )  # fmt: skip
        entry["clawback"] += _money(row["amount"])
    ids = sorted(per_promoter)
    nets = [per_promoter[i]["gross"] + per_promoter[i]["clawback"] for i in ids]
    pq.write_table(
        pa.table(
            {
                "promoter_id": pa.array(ids, pa.int64()),
                "records": pa.array([per_promoter[i]["records"] for i in ids], pa.int64()),
                "qualified": pa.array([per_promoter[i]["qualified"] for i in ids], pa.int64()),
                "gross_amount": pa.array([per_promoter[i]["gross"] for i in ids], MONEY),
                "clawback_amount": pa.array([per_promoter[i]["clawback"] for i in ids], MONEY),
                "net_amount": pa.array(nets, MONEY),
                "payable_amount": pa.array([max(n, Decimal("0.00")) for n in nets], MONEY),
                "carry_forward": pa.array([min(n, Decimal("0.00")) for n in nets], MONEY),
            }
        ),
        directory / "statements.parquet",
    )
    if with_promoters_file:
        columns = {
            "promoter_id": pa.int64(),
            "work_id": pa.string(),
            "name": pa.string(),
            "channel_id": pa.int64(),
            "channel_code": pa.string(),
            "channel_name": pa.string(),
            "city_id": pa.int64(),
            "city_name": pa.string(),
        }
        pq.write_table(
            pa.table(
                {
                    name: pa.array([row.get(name) for row in promoters], kind)
                    for name, kind in columns.items()
                }
            ),
            directory / "promoters.parquet",
        )
    reasons = dict.fromkeys(REASON_CODES, 0)
    for row in verdicts:
        for code in reason_codes_of(row["reasons"]):
            reasons[code] += 1
    gross = sum(amounts, Decimal("0.00"))
    clawback = sum((_money(row["amount"]) for row in clawbacks), Decimal("0.00"))
    summary = {
        "period": period,
        "records": len(verdicts),
        "qualified": sum(1 for row in verdicts if not row["reasons"]),
        "not_in_period": 0,
        "reasons": reasons,
        "gross_amount": f"{gross:.2f}",
        "clawback_amount": f"{clawback:.2f}",
        "net_amount": f"{gross + clawback:.2f}",
        "rule_version": "test-1",
        "input_sha256": {},
        "timings": {},
    }
    (directory / "summary.json").write_text(json.dumps(summary))
    return summary


# --- A small hand-built run -----------------------------------------------------------------

PROMOTERS = [
    {"promoter_id": 1, "work_id": "W1", "name": "Ann", "channel_id": 10, "channel_code": "CH10",
     "channel_name": "Hall ten", "city_id": 100, "city_name": "Guangzhou"},
    {"promoter_id": 2, "work_id": "W2", "name": "Bo", "channel_id": 20, "channel_code": "CH20",
     "channel_name": "Store twenty", "city_id": 100, "city_name": "Guangzhou"},
    {"promoter_id": 3, "work_id": "W3", "name": "Cy", "channel_id": None, "channel_code": None,
     "channel_name": None, "city_id": 200, "city_name": "Shenzhen"},
]  # fmt: skip
VERDICTS = [
    {"record_id": 1, "promoter_id": 1, "msisdn": "13800000001", "product_code": "CRBT",
     "reasons": ""},
    {"record_id": 2, "promoter_id": 1, "msisdn": "13800000002", "product_code": "CRBT",
     "reasons": "unconfirmed"},
    {"record_id": 3, "promoter_id": 2, "msisdn": "13800000003", "product_code": "WBR",
     "reasons": "not_active_before,in_arrears"},
    {"record_id": 5, "promoter_id": 2, "msisdn": "13800000005", "product_code": "CRBT",
     "reasons": "no_voice_in_window,in_arrears"},
    {"record_id": 7, "promoter_id": 1, "msisdn": "13800000007", "product_code": "WBR",
     "reasons": "", "amount": "2.00"},
    {"record_id": 8, "promoter_id": 3, "msisdn": "13800000008", "product_code": "CRBT",
     "reasons": "duplicate"},
    # A promoter missing from promoters.parquet.
    {"record_id": 9, "promoter_id": 99, "msisdn": "13800000009", "product_code": "CRBT",
     "reasons": "duplicate"},
]  # fmt: skip
CLAWBACKS = [
    {"record_id": 4, "promoter_id": 1, "msisdn": "13800000004", "product_code": "CRBT",
     "amount": "-4.00"},
]  # fmt: skip


@pytest.fixture
def run_dir(tmp_path) -> Path:
    write_artefacts(tmp_path / "run", verdicts=VERDICTS, promoters=PROMOTERS, clawbacks=CLAWBACKS)
    return tmp_path / "run"


def test_run_totals_count_each_reason_of_a_record(run_dir):
    totals = artefacts.run_totals(directory=run_dir)

    assert (totals.records, totals.qualified, totals.failed) == (7, 2, 5)
    assert totals.amount == Decimal("6.00")
    assert totals.clawback_amount == Decimal("-4.00")
    assert totals.reasons == {
        **dict.fromkeys(REASON_CODES, 0),
        "unconfirmed": 1,
        "not_active_before": 1,
        "in_arrears": 2,
        "no_voice_in_window": 1,
        "duplicate": 2,
    }


def test_totals_per_channel_and_city_add_up_to_the_run(run_dir):
    totals = artefacts.run_totals(directory=run_dir)

    channels = artefacts.channel_totals(directory=run_dir, totals=totals)
    cities = artefacts.city_totals(directory=run_dir, totals=totals)

    by_channel = {row["id"]: row for row in channels}
    assert set(by_channel) == {10, 20, None}
    assert (by_channel[10]["code"], by_channel[10]["name"]) == ("CH10", "Hall ten")
    assert [by_channel[10][k] for k in ("records", "qualified", "amount")] == [
        3, 2, Decimal("6.00")
    ]  # fmt: skip
    assert [by_channel[20][k] for k in ("records", "qualified", "amount")] == [
        2, 0, Decimal("0.00")
    ]  # fmt: skip
    # Promoter 3 has no channel, promoter 99 is unknown: both under None.
    assert by_channel[None]["records"] == 2
    by_city = {row["id"]: row for row in cities}
    assert (by_city[100]["name"], by_city[100]["records"], by_city[100]["qualified"]) == (
        "Guangzhou", 5, 2
    )  # fmt: skip
    assert (by_city[200]["records"], by_city[None]["records"]) == (1, 1)
    assert sum(row["records"] for row in cities) == totals.records
    # Largest group first.
    assert channels[0]["id"] == 10


def test_without_totals_the_unknown_promoters_are_left_out(run_dir):
    channels = artefacts.channel_totals(directory=run_dir)

    assert sum(row["records"] for row in channels) == 6


@pytest.mark.parametrize(
    ("_case", "filters", "expected"),
    [
        ("all", VerdictFilters(), [1, 2, 3, 5, 7, 8, 9]),
        ("qualified", VerdictFilters(reason="qualified"), [1, 7]),
        ("one_reason", VerdictFilters(reason="in_arrears"), [3, 5]),
        ("reason_not_substring", VerdictFilters(reason="unconfirmed"), [2]),
        ("none_failed", VerdictFilters(reason="upheld_complaint"), []),
        ("channel", VerdictFilters(channel_id=20), [3, 5]),
        ("channel_code", VerdictFilters(channel_code="CH10"), [1, 2, 7]),
        ("city", VerdictFilters(city_id=200), [8]),
        ("promoter", VerdictFilters(promoter_id=1), [1, 2, 7]),
        ("promoter_unpaid", VerdictFilters(promoter_id=1, qualified=False), [2]),
        ("reason_and_channel", VerdictFilters(reason="duplicate", channel_id=10), []),
    ],
)
def test_verdict_page_filters(run_dir, _case, filters, expected):
    page = artefacts.verdict_page(directory=run_dir, filters=filters)

    assert [row["record_id"] for row in page.rows] == expected
    assert page.next_after is None


def test_an_unknown_reason_is_refused(run_dir):
    with pytest.raises(ApplicationError) as error:
        artefacts.verdict_page(directory=run_dir, filters=VerdictFilters(reason="x' OR 1=1"))

    assert error.value.code == "unknown_reason"


def test_verdict_rows_carry_the_promoter_of_the_run(run_dir):
    row = artefacts.verdict_page(directory=run_dir).rows[2]

    assert row == {
        "record_id": 3,
        "promoter_id": 2,
        "msisdn": "13800000003",
        "product_code": "WBR",
        "period": "2026-03",
        "qualified": False,
        "reasons": "not_active_before,in_arrears",
        "amount": Decimal("0.00"),
        "work_id": "W2",
        "promoter_name": "Bo",
        "channel_id": 20,
        "channel_code": "CH20",
        "channel_name": "Store twenty",
        "city_id": 100,
        "city_name": "Guangzhou",
    }


def test_keyset_pages_of_fifty(tmp_path):
    verdicts = [
        {
            "record_id": n * 2,  # gaps in the ids
            "promoter_id": 1 + n % 2,
            "msisdn": f"1380000{n:04d}",
            "product_code": "CRBT",
            "reasons": "in_arrears" if n % 3 == 0 else "",
        }
        for n in range(1, 121)
    ]
    write_artefacts(tmp_path, verdicts=verdicts, promoters=PROMOTERS)

    first = artefacts.verdict_page(directory=tmp_path)
    second = artefacts.verdict_page(directory=tmp_path, after=first.next_after)
    third = artefacts.verdict_page(directory=tmp_path, after=second.next_after)

    assert [len(first.rows), len(second.rows), len(third.rows)] == [50, 50, 20]
    assert (first.next_after, second.next_after, third.next_after) == (100, 200, None)
    assert first.rows[0]["record_id"] == 2 and second.rows[0]["record_id"] == 102
    assert third.rows[-1]["record_id"] == 240
    # After an id that is not in the file (a gap): the next one.
    assert artefacts.verdict_page(directory=tmp_path, after=101).rows[0]["record_id"] == 102
    # Exactly 50 left: one full page, no next page.
    assert artefacts.verdict_page(directory=tmp_path, after=140).next_after is None
    assert len(artefacts.verdict_page(directory=tmp_path, after=140).rows) == 50
    # 51 left: a next page.
    assert artefacts.verdict_page(directory=tmp_path, after=138).next_after == 238
    # Filtered pages: 40 records in arrears fit one page; 80 qualified take two.
    arrears = artefacts.verdict_page(
        directory=tmp_path, filters=VerdictFilters(reason="in_arrears")
    )
    assert (len(arrears.rows), arrears.next_after) == (40, None)
    assert all(row["reasons"] == "in_arrears" for row in arrears.rows)
    qualified = VerdictFilters(reason="qualified")
    page = artefacts.verdict_page(directory=tmp_path, filters=qualified)
    rest = artefacts.verdict_page(directory=tmp_path, filters=qualified, after=page.next_after)
    assert (len(page.rows), page.next_after, len(rest.rows), rest.next_after) == (50, 148, 30, None)
    assert rest.rows[0]["record_id"] == 152  # 150 (n = 75) is in arrears


def test_one_record_and_a_promoters_own(run_dir):
    assert artefacts.verdict_get(directory=run_dir, record_id=5)["reasons"] == (
        "no_voice_in_window,in_arrears"
    )
    assert artefacts.verdict_get(directory=run_dir, record_id=4) is None  # not in the run
    assert artefacts.verdict_get(directory=run_dir, record_id=5, promoter_id=2) is not None
    assert artefacts.verdict_get(directory=run_dir, record_id=5, promoter_id=1) is None


def test_a_promoters_statement_clawbacks_and_reasons(run_dir):
    statement = artefacts.promoter_statement(directory=run_dir, promoter_id=1)

    assert statement == {
        "promoter_id": 1,
        "records": 3,
        "qualified": 2,
        "gross_amount": Decimal("6.00"),
        "clawback_amount": Decimal("-4.00"),
        "net_amount": Decimal("2.00"),
        "payable_amount": Decimal("2.00"),
        "carry_forward": Decimal("0.00"),
    }
    assert artefacts.promoter_statement(directory=run_dir, promoter_id=42) is None
    clawbacks = artefacts.promoter_clawbacks(directory=run_dir, promoter_id=1)
    assert [(row["record_id"], row["amount"]) for row in clawbacks] == [(4, Decimal("-4.00"))]
    assert artefacts.promoter_clawbacks(directory=run_dir, promoter_id=2) == []
    assert artefacts.promoter_reason_totals(directory=run_dir, promoter_id=2) == {
        "not_active_before": 1,
        "no_voice_in_window": 1,
        "in_arrears": 2,
    }


def test_integer_subscriber_numbers_read_as_text(tmp_path):
    write_artefacts(tmp_path, verdicts=VERDICTS, promoters=PROMOTERS, msisdn_as_int=True)

    row = artefacts.verdict_get(directory=tmp_path, record_id=1)

    assert row["msisdn"] == "13800000001"


def test_without_promoters_file_totals_still_add_up(tmp_path):
    write_artefacts(tmp_path, verdicts=VERDICTS, promoters=[], with_promoters_file=False)
    totals = artefacts.run_totals(directory=tmp_path)

    channels = artefacts.channel_totals(directory=tmp_path, totals=totals)

    assert channels == [
        {"id": None, "code": None, "name": None, "records": 7, "qualified": 2,
         "amount": Decimal("6.00")}
    ]  # fmt: skip
    assert artefacts.verdict_get(directory=tmp_path, record_id=1)["work_id"] is None


@pytest.mark.parametrize("missing", ["verdicts.parquet", "statements.parquet"])
def test_missing_files_are_a_clear_error(run_dir, missing):
    (run_dir / missing).unlink()

    with pytest.raises(ApplicationError) as error:
        artefacts.run_totals(directory=run_dir)

    assert (error.value.code, error.value.status) == ("artefacts_missing", 409)


def test_an_empty_directory_setting_is_missing_too():
    with pytest.raises(ApplicationError):
        artefacts.verdict_page(directory="")


def test_sums_over_several_runs(tmp_path, run_dir):
    other = [
        {"record_id": 50, "promoter_id": 1, "msisdn": "139", "product_code": "CRBT",
         "reasons": "in_arrears"},
        {"record_id": 51, "promoter_id": 4, "msisdn": "139", "product_code": "WBR",
         "reasons": ""},
    ]  # fmt: skip
    # In the second run promoter 1 belongs to channel 20.
    moved = [{**PROMOTERS[0], "channel_id": 20}, {**PROMOTERS[1], "promoter_id": 4}]
    write_artefacts(tmp_path / "other", verdicts=other, promoters=moved)
    directories = [run_dir, tmp_path / "other"]

    records, reasons = artefacts.runs_reason_records(directories=directories)
    assert records == 9
    assert (reasons["in_arrears"], reasons["duplicate"], reasons["unconfirmed"]) == (3, 2, 1)
    # Channel 10 at the time of each run: promoter 1 in the first run only.
    records_10, reasons_10 = artefacts.runs_reason_records(directories=directories, channel_id=10)
    assert (records_10, reasons_10["unconfirmed"], reasons_10["in_arrears"]) == (3, 1, 0)
    records_20, reasons_20 = artefacts.runs_reason_records(directories=directories, channel_id=20)
    assert (records_20, reasons_20["in_arrears"]) == (4, 3)

    assert artefacts.runs_qualified_by_product(directories=directories) == {
        "CRBT": 1,
        "WBR": 2,
    }
    assert artefacts.runs_qualified_by_product(directories=directories, channel_id=20) == {
        "CRBT": 0,
        "WBR": 1,
    }
    assert artefacts.runs_reason_records(directories=[]) == (0, dict.fromkeys(REASON_CODES, 0))
    assert artefacts.runs_qualified_by_product(directories=[]) == {}
