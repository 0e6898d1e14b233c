"""Synthetic input files for the R4 settlement benchmark (PERFORMANCE.md §1).

    .venv/bin/python bench/settlement_generate.py --scale S --out bench/data/S

Writes the tables of ``shared/contracts/settlement-files.md`` (records, products,
subscribers, usage_monthly or usage_daily, product_changes, billing, rebate_history,
complaints, paid_records) for the period 2026-03, entirely in DuckDB SQL (``range()`` and
``hash()`` for deterministic pseudo-randomness, ``COPY … TO``), so that L (5 M records,
50 M subscribers, ~350 M rows) is written in minutes with bounded memory.

Every development record follows one *scenario*: clean, a decoy that must pass (a rebate
7 months ago, billing 4 months before the month, a confirmation 1 s before the window
end, …) or planted failures (one reason, or several). Only the planted rows touch the
numbers of the records; background rows (the other subscribers' usage and billing) use
other numbers, so no failure happens by accident and the expectation is exact:

- ``DIR/expected.json``: counts per reason, records of the period, not_in_period,
  qualified, gross, clawbacks, rows per table;
- ``DIR/expected/verdicts.parquet`` (record_id, qualified, reasons, amount) and
  ``DIR/expected/clawbacks.parquet`` (record_id, amount): the planted verdicts of every
  record, to name the records where an engine disagrees.

The same seed gives the same files (for one DuckDB version: ``hash()`` is DuckDB's).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb

PERIOD = "2026-03"

# The contract's reason codes, in the contract's order.
REASONS = (
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

TABLES = (
    "records",
    "products",
    "subscribers",
    "usage",  # usage_monthly or usage_daily
    "product_changes",
    "billing",
    "rebate_history",
    "complaints",
    "paid_records",
)


@dataclass(frozen=True)
class Scale:
    records: int  # base records; duplicate scenarios add ~1 % more
    subscribers: int
    usage_months: tuple[str, ...]  # background subscribers' usage months
    usage_share: int  # % of background subscriber-months with voice
    billing_months: tuple[str, ...]
    billing_share: int  # % of background subscriber-months billed


SCALES = {
    # S: ~3.5 M input rows with monthly usage; M and L: ~7 rows per subscriber.
    "S": Scale(100_000, 1_000_000, ("2026-01-01", "2026-02-01"), 75, ("2026-01-01",), 60),
    "M": Scale(
        1_000_000,
        10_000_000,
        ("2025-12-01", "2026-01-01", "2026-02-01", "2026-03-01"),
        100,
        ("2026-01-01", "2026-02-01"),
        100,
    ),
    "L": Scale(
        5_000_000,
        50_000_000,
        ("2025-12-01", "2026-01-01", "2026-02-01", "2026-03-01"),
        100,
        ("2026-01-01", "2026-02-01"),
        100,
    ),
}

# ---------------------------------------------------------------------------------------
# Products: ~50 codes; 1041-1044 free; 1001-1005 with two versions (switch 2026-01-16);
# 1049 retired 2025-12-31, 1050 launched 2026-02-01, 1099 unknown.
# ---------------------------------------------------------------------------------------

FREE = tuple(range(1041, 1045))
TWO_VERSIONS = tuple(range(1001, 1006))
KNOWN = tuple(range(1001, 1049))
PAID = tuple(c for c in KNOWN if c not in FREE)
SINGLE = tuple(c for c in KNOWN if c not in TWO_VERSIONS)  # one version: same fee all month
RETIRED, FUTURE, MISSING = 1049, 1050, 1099


def product_rows() -> list[tuple]:
    rows = []
    for code in KNOWN:
        fee = Decimal("0.00") if code in FREE else Decimal(10 + (code % 9) * 5)
        rebate = Decimal("4.00") if code in FREE else Decimal(2) + (code % 7) * Decimal(3)
        start = f"2024-{(code % 12) + 1:02d}-01"
        if code in TWO_VERSIONS:
            rows.append((code, fee, rebate, start, "2026-01-15"))
            rows.append((code, fee + 10, rebate + Decimal("1.50"), "2026-01-16", None))
        else:
            rows.append((code, fee, rebate, start, None))
    rows.append((RETIRED, Decimal(30), Decimal(8), "2023-01-01", "2025-12-31"))
    rows.append((FUTURE, Decimal(20), Decimal(6), "2026-02-01", None))
    return rows


# ---------------------------------------------------------------------------------------
# Scenarios. Flags (0 = ordinary; failures; decoys that must pass):
#   unconf   1 null, 2 = window end, 3 = 1 s before recommendation | 4 = end - 1 s, 5 = at rec
#   dup      1 earlier record in Oct-Dec, 2 at exactly the first day of the 3rd month before,
#            6 an earlier record (1 h before, same period) that itself fails unconfirmed,
#            7 a tie on recommended_at with a smaller record_id            (base fails)
#            4 a tie with a larger record_id, 5 a record 1 h later           (extra fails)
#            3 a record 4 months earlier (2025-09-30 23:59:59)               (decoy)
#   prior    1 billed month-1, 2 billed month-3 | 3 billed month-4, 4 billed 0.00 month-1,
#            5 another product billed month-1
#   active   1 not in subscribers, 2 activated on the date, 3 after, 4 closed |
#            5 suspended, 6 activated the day before
#   voice    1 no usage, 2 only the day before, 3 only on date(end), 4 a 0-call day |
#            5 only on the recommendation date, 6 only on date(end) - 1
#   change   1 rec + 1 s, 2 rec + 20 days, 3 end - 1 s | 4 at end, 5 at rec, 6 other product
#   rebate   1 rec - 6 months, 2 rec - 3 months | 3 rec - 7 months, 4 rec - 6 months - 1 s,
#            5 other product
#   arrears  1 in arrears
#   billing  1 none, 2 only 0.00, 3 only the month after the window, 4 discounted (max =
#            fee - 0.01) | 5 half price then full fee, 6 only in the last month of the window
#   complaint 1 upheld forced at rec, 2 upheld forced rec + 40 days | 3 not upheld,
#            4 kind other, 5 1 s before rec, 6 other product
# rec: jan (2026-01-01 00:00:01 … 01-31 23:59:59), mid (01-02 … 01-30), fixed instants,
#      nip (not in the period).
# product: any known, paid, free, single (one version: the duplicate scenarios move the
#      record by an hour), missing, future, retired.
# ---------------------------------------------------------------------------------------

FLAGS = ("unconf", "dup", "prior", "active", "voice", "change", "rebate", "arrears")
FLAGS += ("billing", "complaint")


@dataclass
class Scenario:
    name: str
    weight: int  # per 10 000 base records
    rec: str = "jan"
    product: str = "any"
    flags: dict = field(default_factory=dict)

    def flag(self, name: str) -> int:
        return self.flags.get(name, 0)

    def reasons(self) -> list[str]:
        """The planted reasons of the base record (contract order)."""
        if self.rec == "nip":
            return []
        f = self.flag
        found = {
            "unknown_product": self.product in ("missing", "future", "retired"),
            "unconfirmed": f("unconf") in (1, 2, 3),
            "duplicate": f("dup") in (1, 2, 6, 7),
            "prior_same_product": f("prior") in (1, 2),
            "not_active_before": f("active") in (1, 2, 3, 4),
            "no_voice_in_window": f("voice") in (1, 2, 3, 4),
            "product_changed_in_window": f("change") in (1, 2, 3),
            "rebated_in_last_6_months": f("rebate") in (1, 2),
            "in_arrears": f("arrears") == 1,
            "not_billed": f("billing") in (1, 2, 3),
            "discounted_price": f("billing") == 4,
            "upheld_complaint": f("complaint") in (1, 2),
        }
        return [code for code in REASONS if found[code]]

    def extra_reasons(self) -> list[str]:
        """The planted reasons of the duplicate scenario's extra record (if in the period)."""
        return {4: ["duplicate"], 5: ["duplicate"], 6: ["unconfirmed"], 7: []}.get(
            self.flag("dup"), []
        )


def S(name, weight, rec="jan", product="any", **flags):  # noqa: N802 - table shorthand
    return Scenario(name, weight, rec, product, flags)


SCENARIOS = [
    S("not_in_period", 500, rec="nip"),
    # --- pass: clean and boundary instants
    S("clean", 0),  # takes the remaining weight
    S("clean_first_second_of_jan", 10, rec="jan1"),
    S("clean_last_second_of_jan", 10, rec="jan31"),
    S("clean_feb_1_midnight", 10, rec="feb1"),
    # --- pass: decoys
    S("decoy_rebate_7_months_ago", 150, rebate=3),
    S("decoy_rebate_6_months_and_1s_ago", 100, rebate=4),
    S("decoy_rebate_other_product", 80, rebate=5),
    S("decoy_billed_4_months_before", 150, prior=3),
    S("decoy_billed_zero_month_before", 80, prior=4),
    S("decoy_other_product_billed_before", 80, prior=5),
    S("decoy_confirmed_1s_before_end", 150, unconf=4),
    S("decoy_confirmed_at_recommendation", 80, unconf=5),
    S("decoy_complaint_not_upheld", 100, complaint=3),
    S("decoy_complaint_kind_other", 100, complaint=4),
    S("decoy_complaint_1s_before", 80, complaint=5),
    S("decoy_complaint_other_product", 50, complaint=6),
    S("decoy_change_at_window_end", 150, change=4),
    S("decoy_change_at_recommendation", 80, change=5),
    S("decoy_change_other_product", 80, change=6),
    S("decoy_duplicate_4_months_before", 150, rec="mid", product="single", dup=3),
    S("decoy_first_of_tie", 60, rec="mid", product="single", dup=4),
    S("decoy_first_of_later_duplicate", 60, rec="mid", product="single", dup=5),
    S("decoy_suspended", 150, active=5),
    S("decoy_free_product_never_billed", 250, product="free"),
    S("decoy_activated_day_before", 100, active=6),
    S("decoy_voice_on_recommendation_day", 100, voice=5),
    S("decoy_voice_day_before_end", 100, voice=6),
    S("decoy_half_price_then_full", 100, product="paid", billing=5),
    S("decoy_billed_last_window_month_only", 100, product="paid", billing=6),
    # --- fail: one reason
    S("unknown_product_code", 60, product="missing"),
    S("unknown_product_not_yet_launched", 40, product="future"),
    S("unknown_product_retired", 40, product="retired"),
    S("unconfirmed_never", 150, unconf=1),
    S("unconfirmed_at_window_end", 80, unconf=2),
    S("unconfirmed_before_recommendation", 60, unconf=3),
    S("duplicate_earlier", 120, rec="mid", product="single", dup=1),
    S("duplicate_first_day_third_month", 40, rec="mid", product="single", dup=2),
    S("duplicate_of_failing_record", 50, rec="mid", product="single", dup=6),
    S("duplicate_tie_smaller_id", 50, rec="mid", product="single", dup=7),
    S("prior_billed_month_before", 100, prior=1),
    S("prior_billed_third_month_before", 70, prior=2),
    S("not_a_subscriber", 60, active=1),
    S("activated_on_recommendation_day", 60, active=2),
    S("activated_after", 40, active=3),
    S("closed", 80, active=4),
    S("no_usage", 100, voice=1),
    S("voice_only_day_before", 60, voice=2),
    S("voice_only_on_end_date", 60, voice=3),
    S("zero_call_day", 40, voice=4),
    S("changed_1s_after", 60, change=1),
    S("changed_mid_window", 80, change=2),
    S("unsubscribed_1s_before_end", 60, change=3),
    S("rebated_exactly_6_months_ago", 60, rebate=1),
    S("rebated_3_months_ago", 100, rebate=2),
    S("arrears", 200, arrears=1),
    S("never_billed", 100, product="paid", billing=1),
    S("billed_zero", 50, product="paid", billing=2),
    S("billed_after_window", 50, product="paid", billing=3),
    S("discounted", 200, product="paid", billing=4),
    S("complaint_at_recommendation", 60, complaint=1),
    S("complaint_later", 120, complaint=2),
    # --- fail: several reasons
    S("unconfirmed_and_arrears", 40, unconf=1, arrears=1),
    S("no_voice_and_not_billed", 40, product="paid", voice=1, billing=1),
    S("closed_arrears_complaint", 30, active=4, arrears=1, complaint=2),
    S("unknown_and_unconfirmed", 30, product="missing", unconf=2),
    S("prior_rebated_duplicate", 30, rec="mid", product="single", prior=1, rebate=2, dup=1),
    S("discounted_and_changed", 30, product="paid", billing=4, change=2),
    S("not_subscriber_no_voice_not_billed", 30, product="paid", active=1, voice=1, billing=1),
    S(
        "ten_reasons",
        10,
        rec="mid",
        product="single_paid",
        unconf=1,
        dup=1,
        prior=1,
        active=3,
        voice=1,
        change=2,
        rebate=2,
        arrears=1,
        billing=1,
        complaint=2,
    ),
]


def scenario_table() -> list[tuple]:
    """(sc, name, rec, product, flags…, reasons, extra_reasons, lo, hi) over 10 000 buckets."""
    fixed = sum(s.weight for s in SCENARIOS)
    clean = next(s for s in SCENARIOS if s.name == "clean")
    clean.weight = 10_000 - fixed
    assert clean.weight > 3000, clean.weight
    rows, lo = [], 0
    for sc, s in enumerate(SCENARIOS):
        rows.append(
            (
                sc,
                s.name,
                s.rec,
                s.product,
                *(s.flag(name) for name in FLAGS),
                ",".join(s.reasons()),
                ",".join(s.extra_reasons()),
                lo,
                lo + s.weight,
            )
        )
        lo += s.weight
    assert lo == 10_000
    return rows


def base_record_count(scale: Scale) -> int:
    """Base records such that base + the duplicate scenarios' extra records ≈ the scale."""
    extra = sum(s.weight for s in SCENARIOS if s.flag("dup"))
    return round(scale.records * 10_000 / (10_000 + extra))


def _sql_value(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def _values(rows: list[tuple]) -> str:
    return ",\n".join("(" + ", ".join(_sql_value(v) for v in row) + ")" for row in rows)


def _list(codes) -> str:
    return "[" + ", ".join(str(c) for c in codes) + "]"


# ---------------------------------------------------------------------------------------
# SQL
# ---------------------------------------------------------------------------------------


def _setup(con, seed: int) -> None:
    con.execute(f"CREATE MACRO h(i, salt) AS (hash(i, {int(seed)}, salt) >> 1)::BIGINT")
    # 11-digit numbers over 13x / 15x / 18x: s -> (prefix from s % 30, s // 30), a bijection.
    con.execute(
        "CREATE MACRO msisdn_of(s) AS "
        "(([13, 15, 18])[(s % 3)::INT + 1] * 10 + (s // 3) % 10)::BIGINT * 100000000 + s // 30"
    )
    con.execute("CREATE MACRO secs(n) AS to_seconds((n)::BIGINT)")
    con.execute("CREATE MACRO money(x) AS CAST(x AS DECIMAL(14, 2))")


def _create_plan(con, scale: Scale, seed: int) -> None:
    products = product_rows()
    con.execute(
        "CREATE TABLE products AS SELECT product_code::INTEGER AS product_code, "
        "money(monthly_fee) AS monthly_fee, money(rebate) AS rebate, "
        "effective_from::DATE AS effective_from, effective_to::DATE AS effective_to "
        f"FROM (VALUES {_values(products)}) "
        "t(product_code, monthly_fee, rebate, effective_from, effective_to)"
    )
    columns = ", ".join(
        ["sc", "name", "rec_kind", "product_kind", *FLAGS, "reasons", "extra_reasons", "lo", "hi"]
    )
    con.execute(
        f"CREATE TABLE scenario AS SELECT * FROM (VALUES {_values(scenario_table())}) t({columns})"
    )
    con.execute(
        "CREATE TABLE bucket AS SELECT range AS b, sc FROM range(10000) "
        "JOIN scenario ON range >= lo AND range < hi"
    )
    promoters = max(10, scale.records // 20)
    day = 86400
    base_records = base_record_count(scale)
    con.execute(
        f"""
        CREATE TABLE plan0 AS
        WITH base AS (
            SELECT range AS i, h(range, 'scenario') % 10000 AS b FROM range({base_records})
        )
        SELECT
            i,
            10000001 + i AS record_id,
            1 + h(i, 'promoter') % {promoters} AS promoter_id,
            msisdn_of(i) AS msisdn,
            s.* EXCLUDE (lo, hi, name),
            CASE s.rec_kind
                WHEN 'jan' THEN TIMESTAMP '2026-01-01 00:00:01'
                    + secs(h(i, 'rec') % ({31 * day} - 1))
                WHEN 'mid' THEN TIMESTAMP '2026-01-02 00:00:00' + secs(h(i, 'rec') % {29 * day})
                WHEN 'jan1' THEN TIMESTAMP '2026-01-01 00:00:01'
                WHEN 'jan31' THEN TIMESTAMP '2026-01-31 23:59:59'
                WHEN 'feb1' THEN TIMESTAMP '2026-02-01 00:00:00'
                ELSE CASE h(i, 'nip') % 6
                    WHEN 0 THEN TIMESTAMP '2025-11-01' + secs(h(i, 'rec') % {30 * day})
                    WHEN 1 THEN TIMESTAMP '2025-12-01' + secs(h(i, 'rec') % {28 * day})
                    -- 12-29 … 12-31: the window end is clamped to 02-28, period 2026-02
                    WHEN 2 THEN TIMESTAMP '2025-12-29' + secs(h(i, 'rec') % {3 * day})
                    -- exactly 01-01 00:00:00: the window's last second is 02-28 23:59:59
                    WHEN 3 THEN TIMESTAMP '2026-01-01 00:00:00'
                    WHEN 4 THEN TIMESTAMP '2026-02-01 00:00:01'
                        + secs(h(i, 'rec') % ({27 * day} - 1))
                    ELSE TIMESTAMP '2026-03-01' + secs(h(i, 'rec') % {31 * day})
                END
            END AS recommended_at,
            CASE s.product_kind
                WHEN 'any' THEN ({_list(KNOWN)})[1 + h(i, 'product') % {len(KNOWN)}]
                WHEN 'paid' THEN ({_list(PAID)})[1 + h(i, 'product') % {len(PAID)}]
                WHEN 'free' THEN ({_list(FREE)})[1 + h(i, 'product') % {len(FREE)}]
                WHEN 'single' THEN ({_list(SINGLE)})[1 + h(i, 'product') % {len(SINGLE)}]
                WHEN 'single_paid' THEN 1010 + h(i, 'product') % 30
                WHEN 'missing' THEN {MISSING}
                WHEN 'future' THEN {FUTURE}
                ELSE {RETIRED}
            END::INTEGER AS product_code
        FROM base JOIN bucket USING (b) JOIN scenario s USING (sc)
        """
    )
    con.execute(
        f"""
        CREATE TABLE plan AS
        SELECT
            p.*,
            v.monthly_fee AS fee,
            v.rebate AS rebate_amount,
            (1001 + (p.product_code - 1001 + 1 + h(p.i, 'other') % 40) % 48)::INTEGER
                AS other_code,
            p.recommended_at::DATE AS rec_date,
            p.recommended_at + INTERVAL 2 MONTH AS end_ts,
            (p.recommended_at + INTERVAL 2 MONTH)::DATE AS end_date,
            date_trunc('month', p.recommended_at)::DATE AS m0,
            date_trunc('month', p.recommended_at + INTERVAL 2 MONTH - INTERVAL 1 SECOND)::DATE
                AS m_last,
            CASE p.unconf
                WHEN 0 THEN p.recommended_at + secs(60 + h(p.i, 'confirm') % {6 * day})
                WHEN 1 THEN NULL
                WHEN 2 THEN p.recommended_at + INTERVAL 2 MONTH
                WHEN 3 THEN p.recommended_at - INTERVAL 1 SECOND
                WHEN 4 THEN p.recommended_at + INTERVAL 2 MONTH - INTERVAL 1 SECOND
                ELSE p.recommended_at
            END AS confirmed_at
        FROM plan0 p
        LEFT JOIN products v
            ON v.product_code = p.product_code
            AND v.effective_from <= p.recommended_at::DATE
            AND (v.effective_to IS NULL OR v.effective_to >= p.recommended_at::DATE)
        ORDER BY p.i
        """
    )
    con.execute("DROP TABLE plan0")
    # The duplicate scenarios' extra records (same number and product).
    con.execute(
        f"""
        CREATE TABLE extra AS
        SELECT
            CASE dup WHEN 7 THEN 1 + i ELSE 20000001 + i END AS record_id,
            1 + h(i, 'extra_promoter') % {promoters} AS promoter_id,
            msisdn,
            product_code,
            CASE dup
                WHEN 1 THEN TIMESTAMP '2025-10-01 00:00:00' + secs(h(i, 'extra') % {92 * day})
                WHEN 2 THEN TIMESTAMP '2025-10-01 00:00:00'
                WHEN 3 THEN TIMESTAMP '2025-09-30 23:59:59'
                WHEN 5 THEN recommended_at + INTERVAL 1 HOUR
                WHEN 6 THEN recommended_at - INTERVAL 1 HOUR
                ELSE recommended_at
            END AS recommended_at,
            dup,
            extra_reasons,
            rebate_amount
        FROM plan WHERE dup > 0
        ORDER BY i
        """
    )


def _copy(con, select: str, path: Path, fmt: str) -> int:
    options = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER"
    con.execute(f"COPY ({select}) TO '{path}' ({options})")
    return con.execute(f"SELECT count(*) FROM '{path}'").fetchone()[0]


def _write_tables(con, scale: Scale, out: Path, fmt: str, usage: str) -> dict[str, int]:
    rows: dict[str, int] = {}
    n, subs = base_record_count(scale), scale.subscribers
    paid_n = max(100, n // 50)
    bg = f"range({n + paid_n}, {subs}) t(s)"  # background subscribers: no record, no claim
    day = 86400

    def copy(name: str, select: str) -> None:
        rows[name] = _copy(con, select, out / f"{name}.{fmt}", fmt)

    copy(
        "records",
        """
        SELECT record_id, promoter_id, msisdn, product_code, recommended_at, confirmed_at
        FROM plan
        UNION ALL
        SELECT record_id, promoter_id, msisdn, product_code, recommended_at,
               CASE WHEN dup = 6 THEN NULL ELSE recommended_at + INTERVAL 10 MINUTE END
        FROM extra
        """,
    )
    copy("products", "SELECT * FROM products ORDER BY product_code, effective_from")
    copy(
        "subscribers",
        f"""
        SELECT msisdn,
            CASE active
                WHEN 2 THEN rec_date
                WHEN 3 THEN rec_date + 3
                WHEN 6 THEN rec_date - 1
                ELSE rec_date - (30 + h(i, 'activated') % 2000)::INTEGER
            END AS activated_on,
            CASE active WHEN 4 THEN 'closed' WHEN 5 THEN 'suspended' ELSE 'active' END AS status,
            arrears = 1 AS in_arrears
        FROM plan WHERE active <> 1
        UNION ALL
        SELECT msisdn_of(s), DATE '2026-01-01' - (h(s, 'activated') % 4000)::INTEGER,
            CASE WHEN h(s, 'status') % 100 < 3 THEN 'suspended'
                 WHEN h(s, 'status') % 100 < 5 THEN 'closed' ELSE 'active' END,
            h(s, 'arrears') % 100 < 4
        FROM range({n}, {subs}) t(s)
        """,
    )
    # Voice days of the records' numbers (see the voice flags).
    con.execute(
        """
        CREATE TABLE record_days AS
        SELECT msisdn, rec_date + 1 + (h(i, 'vday') % 40)::INTEGER AS day,
               (1 + h(i, 'vcalls') % 9)::INTEGER AS calls FROM plan WHERE voice = 0
        UNION ALL SELECT msisdn, rec_date - 1 - (h(i, 'vnoise') % 20)::INTEGER, 3
            FROM plan WHERE voice = 0 AND h(i, 'vnoise2') % 2 = 0
        UNION ALL SELECT msisdn, rec_date - 1, 3 FROM plan WHERE voice = 2
        UNION ALL SELECT msisdn, end_date, 4 FROM plan WHERE voice = 3
        UNION ALL SELECT msisdn, end_date + 2, 5 FROM plan WHERE voice IN (2, 4)
        UNION ALL SELECT msisdn, rec_date + 5, 0 FROM plan WHERE voice = 4
        UNION ALL SELECT msisdn, rec_date, 2 FROM plan WHERE voice = 5
        UNION ALL SELECT msisdn, end_date - 1, 2 FROM plan WHERE voice = 6
        """
    )
    months = "[" + ", ".join(f"DATE '{m}'" for m in scale.usage_months) + "]"
    background_days = f"""
        SELECT msisdn_of(s) AS msisdn, m AS month,
            m + (h(s * 16 + month(m), 'd1') % 14)::INTEGER AS d1,
            m + 14 + (h(s * 16 + month(m), 'd2') % 14)::INTEGER AS d2,
            (1 + h(s * 16 + month(m), 'c1') % 30)::INTEGER AS c1,
            (1 + h(s * 16 + month(m), 'c2') % 30)::INTEGER AS c2
        FROM {bg}, unnest({months}) u(m)
        WHERE h(s * 16 + month(m), 'voice') % 100 < {scale.usage_share}
    """
    if usage == "monthly":
        copy(
            "usage_monthly",
            f"""
            SELECT msisdn, month, d1 AS first_voice_day, d2 AS last_voice_day,
                   c1 + c2 AS voice_calls
            FROM ({background_days})
            UNION ALL
            SELECT msisdn, date_trunc('month', day)::DATE,
                   min(day) FILTER (WHERE calls > 0), max(day) FILTER (WHERE calls > 0),
                   sum(calls)::INTEGER
            FROM record_days GROUP BY msisdn, date_trunc('month', day)::DATE
            """,
        )
    else:
        copy(
            "usage_daily",
            f"""
            SELECT msisdn, unnest([d1, d2]) AS day, unnest([c1, c2]) AS voice_calls
            FROM ({background_days})
            UNION ALL
            SELECT msisdn, day, calls FROM record_days
            """,
        )
    rows["usage"] = rows.get("usage_monthly", rows.get("usage_daily"))
    copy(
        "product_changes",
        f"""
        SELECT msisdn, product_code, recommended_at + INTERVAL 1 SECOND AS changed_at,
               'modify' AS change_type FROM plan WHERE change = 1
        UNION ALL SELECT msisdn, product_code, recommended_at + INTERVAL 20 DAY, 'modify'
            FROM plan WHERE change = 2
        UNION ALL SELECT msisdn, product_code, end_ts - INTERVAL 1 SECOND, 'unsubscribe'
            FROM plan WHERE change = 3
        UNION ALL SELECT msisdn, product_code, end_ts, 'unsubscribe' FROM plan WHERE change = 4
        UNION ALL SELECT msisdn, product_code, recommended_at, 'modify' FROM plan WHERE change = 5
        UNION ALL SELECT msisdn, other_code, recommended_at + INTERVAL 10 DAY, 'unsubscribe'
            FROM plan WHERE change = 6
        UNION ALL
        SELECT msisdn_of(s), ({_list(KNOWN)})[1 + h(s, 'chg_product') % {len(KNOWN)}],
            TIMESTAMP '2025-10-01' + secs(h(s, 'chg_at') % {182 * day}),
            CASE WHEN h(s, 'chg_type') % 2 = 0 THEN 'modify' ELSE 'unsubscribe' END
        FROM {bg} WHERE h(s, 'chg') % 100 = 0
        """,
    )
    billing_months = "[" + ", ".join(f"DATE '{m}'" for m in scale.billing_months) + "]"
    copy(
        "billing",
        f"""
        SELECT msisdn, product_code, m0 AS month, coalesce(fee, money(999)) AS billed_amount
            FROM plan WHERE billing = 0 AND (fee IS NULL OR fee > 0)
        UNION ALL SELECT msisdn, product_code, (m0 + INTERVAL 1 MONTH)::DATE, fee
            FROM plan WHERE billing = 0 AND fee > 0 AND h(i, 'bill2') % 2 = 0
        UNION ALL SELECT msisdn, product_code, m0, money(0) FROM plan WHERE billing = 2
        UNION ALL SELECT msisdn, product_code, (m_last + INTERVAL 1 MONTH)::DATE, fee
            FROM plan WHERE billing = 3
        UNION ALL SELECT msisdn, product_code, m0, money(round(fee * 0.5, 2))
            FROM plan WHERE billing IN (4, 5)
        UNION ALL SELECT msisdn, product_code, (m0 + INTERVAL 1 MONTH)::DATE,
                money(fee - 0.01) FROM plan WHERE billing = 4
        UNION ALL SELECT msisdn, product_code, (m0 + INTERVAL 1 MONTH)::DATE, fee
            FROM plan WHERE billing = 5
        UNION ALL SELECT msisdn, product_code, m_last, fee FROM plan WHERE billing = 6
        UNION ALL SELECT msisdn, product_code, (m0 - INTERVAL 1 MONTH)::DATE, money(10)
            FROM plan WHERE prior = 1
        UNION ALL SELECT msisdn, product_code, (m0 - INTERVAL 3 MONTH)::DATE, money(10)
            FROM plan WHERE prior = 2
        UNION ALL SELECT msisdn, product_code, (m0 - INTERVAL 4 MONTH)::DATE, money(10)
            FROM plan WHERE prior = 3
        UNION ALL SELECT msisdn, product_code, (m0 - INTERVAL 1 MONTH)::DATE, money(0)
            FROM plan WHERE prior = 4
        UNION ALL SELECT msisdn, other_code, (m0 - INTERVAL 1 MONTH)::DATE, money(10)
            FROM plan WHERE prior = 5
        UNION ALL SELECT msisdn, other_code, m0, money(20)
            FROM plan WHERE h(i, 'bill_noise') % 2 = 0
        UNION ALL
        SELECT msisdn_of(s), ({_list(PAID)})[1 + h(s * 16 + month(m), 'bproduct') % {len(PAID)}],
            m, money(5 + (h(s * 16 + month(m), 'bamount') % 90))
        FROM {bg}, unnest({billing_months}) u(m)
        WHERE h(s * 16 + month(m), 'billed') % 100 < {scale.billing_share}
        """,
    )
    copy(
        "rebate_history",
        f"""
        SELECT msisdn, product_code, recommended_at - INTERVAL 6 MONTH AS recommended_at
            FROM plan WHERE rebate = 1
        UNION ALL SELECT msisdn, product_code, recommended_at - INTERVAL 3 MONTH
            FROM plan WHERE rebate = 2
        UNION ALL SELECT msisdn, product_code, recommended_at - INTERVAL 7 MONTH
            FROM plan WHERE rebate = 3
        UNION ALL SELECT msisdn, product_code,
                recommended_at - INTERVAL 6 MONTH - INTERVAL 1 SECOND FROM plan WHERE rebate = 4
        UNION ALL SELECT msisdn, other_code, recommended_at - INTERVAL 2 MONTH
            FROM plan WHERE rebate = 5
        UNION ALL
        SELECT msisdn_of(s), ({_list(KNOWN)})[1 + h(s, 'rh_product') % {len(KNOWN)}],
            TIMESTAMP '2025-03-01' + secs(h(s, 'rh_at') % {300 * day})
        FROM {bg} WHERE h(s, 'rh') % 100 = 0
        """,
    )
    # Earlier periods' paid records (clawback candidates) on their own numbers:
    #   c < 40 no complaint; 40-75 upheld forced complaint(s) in 2026-03 within 6 months
    #   (65-75: two of them, one clawback); 75-80 just outside March; 80-85 not upheld;
    #   85-90 kind other; 90-95 more than 6 months after the record; 95-100 other product.
    con.execute(
        f"""
        CREATE TABLE paid AS
        SELECT j, 30000001 + j AS record_id,
            1 + h(j, 'paid_promoter') % {max(10, n // 20)} AS promoter_id,
            msisdn_of({n} + j) AS msisdn,
            ({_list(SINGLE)})[1 + h(j, 'paid_product') % {len(SINGLE)}]::INTEGER AS product_code,
            h(j, 'claim') % 100 AS c,
            CASE WHEN h(j, 'claim') % 100 BETWEEN 90 AND 94
                THEN TIMESTAMP '2025-08-01' + secs(h(j, 'paid_at') % {31 * day})
                ELSE TIMESTAMP '2025-10-01' + secs(h(j, 'paid_at') % {92 * day})
            END AS recommended_at,
            money(4 + h(j, 'paid_amount') % 20) AS amount
        FROM range({paid_n}) t(j)
        """
    )
    copy(
        "paid_records",
        "SELECT record_id, promoter_id, msisdn, product_code, recommended_at, amount FROM paid",
    )
    march = f"TIMESTAMP '2026-03-01 00:00:00' + secs(h(j, 'claim_at') % {31 * day})"
    copy(
        "complaints",
        f"""
        SELECT msisdn, product_code, recommended_at AS complained_at,
               'forced_subscription' AS kind, true AS upheld FROM plan WHERE complaint = 1
        UNION ALL SELECT msisdn, product_code, recommended_at + INTERVAL 40 DAY,
                'forced_subscription', true FROM plan WHERE complaint = 2
        UNION ALL SELECT msisdn, product_code, recommended_at + INTERVAL 5 DAY,
                'forced_subscription', false FROM plan WHERE complaint = 3
        UNION ALL SELECT msisdn, product_code, recommended_at + INTERVAL 5 DAY, 'other', true
            FROM plan WHERE complaint = 4
        UNION ALL SELECT msisdn, product_code, recommended_at - INTERVAL 1 SECOND,
                'forced_subscription', true FROM plan WHERE complaint = 5
        UNION ALL SELECT msisdn, other_code, recommended_at + INTERVAL 5 DAY,
                'forced_subscription', true FROM plan WHERE complaint = 6
        UNION ALL
        SELECT msisdn, product_code,
            CASE WHEN c BETWEEN 40 AND 42 THEN TIMESTAMP '2026-03-01 00:00:00'
                 WHEN c BETWEEN 43 AND 45 THEN TIMESTAMP '2026-03-31 23:59:59'
                 WHEN c BETWEEN 75 AND 79 THEN
                    CASE WHEN j % 2 = 0 THEN TIMESTAMP '2026-02-28 23:59:59'
                         ELSE TIMESTAMP '2026-04-01 00:00:00' END
                 WHEN c BETWEEN 90 AND 94 THEN TIMESTAMP '2026-03-10 00:00:00'
                    + secs(h(j, 'claim_at') % {21 * day})
                 ELSE {march}
            END,
            CASE WHEN c BETWEEN 85 AND 89 THEN 'other' ELSE 'forced_subscription' END,
            c NOT BETWEEN 80 AND 84
        FROM paid WHERE c BETWEEN 40 AND 94
        UNION ALL
        SELECT msisdn, product_code, {march} + INTERVAL 1 HOUR, 'forced_subscription', true
            FROM paid WHERE c BETWEEN 65 AND 74
        UNION ALL
        SELECT msisdn, other_code, {march}, 'forced_subscription', true FROM (
            SELECT *, (1001 + (product_code - 1001 + 1 + h(j, 'other') % 40) % 48)::INTEGER
                AS other_code FROM paid WHERE c >= 95)
        UNION ALL
        SELECT msisdn_of(s), ({_list(KNOWN)})[1 + h(s, 'cp_product') % {len(KNOWN)}],
            TIMESTAMP '2025-10-01' + secs(h(s, 'cp_at') % {182 * day}),
            CASE WHEN h(s, 'cp_kind') % 3 = 0 THEN 'other' ELSE 'forced_subscription' END,
            h(s, 'cp_upheld') % 2 = 0
        FROM {bg} WHERE h(s, 'cp') % 200 = 0
        """,
    )
    return rows


def _write_expected(con, out: Path, rows: dict, meta: dict) -> dict:
    expected_dir = out / "expected"
    expected_dir.mkdir(exist_ok=True)
    con.execute(
        """
        CREATE TABLE expected_verdicts AS
        SELECT record_id, reasons = '' AS qualified, reasons,
               CASE WHEN reasons = '' THEN rebate_amount ELSE money(0) END AS amount
        FROM plan WHERE rec_kind <> 'nip'
        UNION ALL
        SELECT record_id, extra_reasons = '', extra_reasons,
               CASE WHEN extra_reasons = '' THEN rebate_amount ELSE money(0) END
        FROM extra WHERE dup >= 4
        ORDER BY record_id
        """
    )
    con.execute(f"COPY expected_verdicts TO '{expected_dir / 'verdicts.parquet'}' (FORMAT parquet)")
    con.execute(
        f"COPY (SELECT record_id, promoter_id, -amount AS amount FROM paid "
        f"WHERE c BETWEEN 40 AND 74 ORDER BY record_id) "
        f"TO '{expected_dir / 'clawbacks.parquet'}' (FORMAT parquet)"
    )
    records, qualified, gross = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE qualified), coalesce(sum(amount), 0) "
        "FROM expected_verdicts"
    ).fetchone()
    reasons = {
        code: con.execute(
            "SELECT count(*) FROM expected_verdicts "
            "WHERE list_contains(string_split(reasons, ','), ?)",
            [code],
        ).fetchone()[0]
        for code in REASONS
    }
    not_in_period = con.execute(
        "SELECT (SELECT count(*) FROM plan WHERE rec_kind = 'nip') "
        "+ (SELECT count(*) FROM extra WHERE dup < 4)"
    ).fetchone()[0]
    clawbacks, clawback_amount = con.execute(
        "SELECT count(*), coalesce(-sum(amount), 0) FROM paid WHERE c BETWEEN 40 AND 74"
    ).fetchone()
    several = con.execute(
        "SELECT count(*) FROM expected_verdicts WHERE reasons LIKE '%,%'"
    ).fetchone()[0]
    input_rows = sum(v for k, v in rows.items() if k != "usage")
    expected = {
        **meta,
        "period": PERIOD,
        "records": records,
        "not_in_period": not_in_period,
        "qualified": qualified,
        "failed": records - qualified,
        "failed_share": round((records - qualified) / records, 3),
        "with_several_reasons": several,
        "reasons": reasons,
        "gross_amount": f"{gross:.2f}",
        "clawbacks": clawbacks,
        "clawback_amount": f"{clawback_amount:.2f}",
        "net_amount": f"{gross + clawback_amount:.2f}",
        "tables": {k: v for k, v in rows.items() if k != "usage"},
        "input_rows": input_rows,
    }
    (out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    return expected


def generate(
    scale_name: str,
    out: Path,
    *,
    seed: int = 1,
    usage: str = "monthly",
    fmt: str = "parquet",
    memory_limit: str = "2GB",
    threads: int = 2,
) -> dict:
    """Write the input tables and the expectations to ``out``; return expected.json."""
    scale = SCALES[scale_name]
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    for old in [*out.glob("*.parquet"), *out.glob("*.csv"), out / "expected.json"]:
        old.unlink(missing_ok=True)
    work = out / ".work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    con = duckdb.connect(str(work / "plan.duckdb"))
    try:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute(f"SET threads = {int(threads)}")
        con.execute(f"SET temp_directory = '{work / 'tmp'}'")
        _setup(con, seed)
        _create_plan(con, scale, seed)
        rows = _write_tables(con, scale, out, fmt, usage)
        meta = {
            "scale": scale_name,
            "seed": seed,
            "usage": usage,
            "format": fmt,
            "duckdb": duckdb.__version__,
        }
        expected = _write_expected(con, out, rows, meta)
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)
    expected["generated_s"] = round(time.perf_counter() - started, 2)
    (out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    return expected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--usage", choices=["monthly", "daily"], default="monthly")
    parser.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    parser.add_argument("--memory-limit", default="2GB", help="DuckDB memory_limit")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    expected = generate(
        args.scale,
        args.out,
        seed=args.seed,
        usage=args.usage,
        fmt=args.format,
        memory_limit=args.memory_limit,
        threads=args.threads,
    )
    line = {
        "name": "settlement_generate",
        "scale": args.scale,
        "seed": args.seed,
        "usage": args.usage,
        "format": args.format,
        "rows": expected["tables"],
        "input_rows": expected["input_rows"],
        "records": expected["records"] + expected["not_in_period"],
        "failed_share": expected["failed_share"],
        "seconds": expected["generated_s"],
    }
    print(json.dumps(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
