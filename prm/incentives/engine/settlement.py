"""R4 rebate settlement on plain files (contract ``shared/contracts/settlement-files.md``).

:func:`settle_files` reads the billing extracts and development records of
``input_dir`` in place (Parquet or CSV, see :mod:`.inputs`), settles the records whose
observation window ends in the period, and writes ``verdicts.parquet``,
``clawbacks.parquet``, ``statements.parquet`` and ``summary.json`` into ``out_dir``.
The in-app monthly run, the billing import, the benchmark and ``prm incentives
settle-files`` all call it.

How it runs (``shared/PERFORMANCE.md`` §1): DuckDB queries the files in place. The
period's records are read first (``rp``, a few million rows at most); every rule then
joins one side table onto them with a single equality on the msisdn, which makes
DuckDB push a filter of the records' numbers into the scan of the big table (a
semi-join inside the Parquet reader), so each big table (subscribers, usage, billing …)
is scanned once and never drives a join. Each rule adds ``(record, bits)`` rows to one
table; a final pass ORs them per record into the reasons mask, and the outputs are
written as Parquet, ordered. No Python loop touches a row.

Rules (R4 rebate rules 1-4 and the audits), in the order of :data:`REASON_CODES`;
every failing reason is recorded. Interpretations where the contract leaves room:

* **window**: ``[recommended_at, recommended_at + 2 calendar months)``; a day of month
  missing in the end month is clamped to its last day, the time of day is kept
  (2025-12-31 10:00 → 2026-02-28 10:00).
* **period**: a record belongs to P when the date of ``end − 1 second`` is in P.
* **unknown_product**: no version of the product applies on the date of
  ``recommended_at``. The fee-based audits (``not_billed``, ``discounted_price``) need
  the version's ``monthly_fee``, so they cannot apply and are not recorded; the amount
  is 0. Overlapping versions of one product are bad input.
* **duplicate**: looks at every input record, in the period or not.
* **not_active_before**: ``suspended`` does not fail. Should a number appear more than
  once in ``subscribers``, it passes when any of its rows shows it active (activated
  before the date of ``recommended_at`` and not closed), and is in arrears when any row
  says so.
* **no_voice_in_window**: with ``usage_daily`` the contract's day rule applies as
  written; with ``usage_monthly`` its month rule (``first_voice_day < date(end)`` and
  ``last_voice_day ≥ date(recommended_at)``). A month row without voice days has null
  first/last days (that is what :func:`.rollup.usage_daily_to_monthly` writes) and
  never counts. The two forms agree because the window spans at least two calendar
  months: a month's voice days (taken to lie in that month) meet the window's days
  exactly when its first one is before ``date(end)`` and its last one not before
  ``date(recommended_at)``. The tests run every boundary case in both forms.
* **not_billed / discounted_price / prior_same_product**: a billing row counts for the
  calendar month of its ``month``. Free products (``monthly_fee = 0``) skip the two fee
  audits; ``discounted_price`` applies only to a billed record and compares the largest
  amount billed in the window's months with the fee.
* **bad values**: the values the rules read are validated as in :mod:`.inputs`; the
  only exception is ``subscribers.status`` in Parquet, which is checked on the rows the
  settlement joins (reading 50 M statuses a second time would cost more than the rule).
* **clawbacks**: for a paid record, the upheld ``forced_subscription`` complaints for
  its number and product with ``complained_at`` in month P and
  ``recommended_at ≤ complained_at < recommended_at + 6 calendar months`` ("within 6
  months after"); one clawback of ``−amount`` per paid-records row, whose
  ``complained_at`` is the earliest such complaint. Identical ``paid_records`` rows
  count once.
* **usage forms**: ``usage_monthly`` and ``usage_daily`` both present is bad input
  ("give one usage form"): silently preferring one would hide a mistaken extract.

Outputs are byte-identical for the same input (ordered by ``record_id`` /
``promoter_id``; ties in clawbacks broken by every other column), whatever the number
of threads. Nothing is written to ``out_dir`` unless everything succeeded: the files
are built in a temporary directory next to it and then moved in.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from .inputs import (
    KEY,
    MSISDN,
    TABLES,
    USAGE_TABLES,
    SettlementInputError,
    check_choice_values,
    check_product_versions,
    connect,
    find_table_file,
    parse_period,
    raise_duplicate_record_id,
    raise_unconvertible,
    sql_literal,
    sql_name,
    table_inspect,
)

RULE_VERSION = "r4-settlement-1"

REASON_CODES: tuple[str, ...] = (
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

OUTPUT_TABLES = ("verdicts", "clawbacks", "statements")
_HASH_CHUNK = 4 * 1024 * 1024

# Engine type of each column kind for an absent (empty) optional table.
_EMPTY_TYPES = {
    "timestamp": "TIMESTAMP",
    "date": "DATE",
    "money": "DECIMAL(14,2)",
    "boolean": "BOOLEAN",
    "integer": "BIGINT",
    "choice": "VARCHAR",
}

Progress = Callable[[str, float], None]


def _same_product(condition: str) -> str:
    """``condition`` for a side-table row ``s`` of the same product as the record ``rp``.

    The product test sits inside a CASE so that the join keeps one equality (msisdn):
    DuckDB then pushes a filter of the records' msisdns into the scan of the big
    table (a semi-join in the scan), which it does not for a two-column key.
    """
    return f"(CASE WHEN s.product_code = rp.product_code THEN ({condition}) ELSE false END)"


def _bit(code: str) -> int:
    return 1 << REASON_CODES.index(code)


# What a record found (see _Run._rules); their absence fails a rule.
_ACTIVE_OK = 1 << 16
_VOICE_OK = 1 << 17
_BILLED_OK = 1 << 18
_FULL_PRICE_OK = 1 << 19
_BAD_STATUS = 1 << 20  # a subscriber row the settlement uses has an invalid status
_STATUSES = (
    "("
    + ", ".join(
        sql_literal(value)
        for column in TABLES["subscribers"].columns
        if column.name == "status"
        for value in column.choices
    )
    + ")"
)
_FAIL_BITS = (1 << len(REASON_CODES)) - 1

# Stages and the share of the work done when each ends (for progress bars).
_STAGES = (
    ("validate", 0.10),
    ("records", 0.20),
    ("rules", 0.75),
    ("verdicts", 0.85),
    ("clawbacks", 0.90),
    ("statements", 0.95),
    ("write", 1.00),
)


def settle_files(
    period: str,
    input_dir: Path | str,
    out_dir: Path | str,
    write_csv: bool = False,
    memory_limit: str | None = "1GB",
    threads: int | None = None,
    progress: Progress | None = None,
) -> dict:
    """Settle ``period`` (``YYYY-MM``) from the files of ``input_dir`` into ``out_dir``.

    Returns the summary written to ``summary.json``. Raises
    :class:`SettlementInputError` on bad input, leaving ``out_dir`` untouched.
    ``progress(stage, fraction)`` is called after each stage.
    """
    year, month = parse_period(period)
    period = f"{year:04d}-{month:02d}"
    input_dir = Path(input_dir)
    out_dir = Path(out_dir)
    if not input_dir.is_dir():
        raise SettlementInputError(f"input directory {str(input_dir)!r} does not exist")
    if out_dir.exists() and not out_dir.is_dir():
        raise SettlementInputError(f"output {str(out_dir)!r} is not a directory")
    files = _locate_inputs(input_dir)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.settle-", dir=out_dir.parent))
    # The inputs are hashed in a second thread while DuckDB works (hashlib releases the
    # GIL); on failure the thread stops at its next chunk.
    hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="settle-sha256")
    stop = threading.Event()
    try:
        hashes = hasher.submit(_hash_files, files, stop)
        run = _Run(
            period=(year, month),
            files=files,
            work=work,
            memory_limit=memory_limit,
            threads=threads,
            progress=progress,
        )
        try:
            summary = run.execute(write_csv=write_csv)
        except (duckdb.ConversionException, duckdb.OutOfRangeException) as error:
            raise_unconvertible(run.con, list(run.sources.values()), error)
        finally:
            run.close()
        started = time.perf_counter()
        summary["input_sha256"], hash_seconds = hashes.result()
        run.timings["input_sha256"] = round(hash_seconds, 3)  # overlapped with the other stages
        run.timings["total"] = round(
            run.timings.get("total", 0.0) + time.perf_counter() - started, 3
        )
        summary["timings"] = run.timings
        (work / "summary.json").write_text(
            json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        _publish(work, out_dir, write_csv=write_csv)
        return summary
    finally:
        stop.set()
        hasher.shutdown(wait=True)
        shutil.rmtree(work, ignore_errors=True)


def _locate_inputs(input_dir: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for name, table in TABLES.items():
        path = find_table_file(input_dir, name)
        if path is None:
            if table.required:
                raise SettlementInputError(
                    "required file is missing", file=f"{name}.parquet or {name}.csv"
                )
            continue
        files[name] = path
    usage = [name for name in USAGE_TABLES if name in files]
    if not usage:
        raise SettlementInputError(
            "required file is missing: give one usage form (.parquet or .csv)",
            file="usage_monthly or usage_daily",
        )
    if len(usage) > 1:
        raise SettlementInputError(
            "both usage_monthly and usage_daily are present: give one usage form",
            file=files["usage_daily"].name,
        )
    return files


def _hash_files(files: dict[str, Path], stop: threading.Event) -> tuple[dict[str, str], float]:
    started = time.perf_counter()
    digests = {}
    for path in sorted(files.values(), key=lambda p: p.name):
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(_HASH_CHUNK):
                if stop.is_set():
                    return {}, 0.0
                digest.update(chunk)
        digests[path.name] = digest.hexdigest()
    return digests, time.perf_counter() - started


def _publish(work: Path, out_dir: Path, *, write_csv: bool) -> None:
    """Move the finished files into ``out_dir``; ``summary.json`` last."""
    names = [f"{table}.parquet" for table in OUTPUT_TABLES]
    if write_csv:
        names += [f"{table}.csv" for table in OUTPUT_TABLES]
    names.append("summary.json")
    out_dir.mkdir(exist_ok=True)
    for name in names:
        os.replace(work / name, out_dir / name)


def _money(value: Decimal | None) -> str:
    return f"{(value or Decimal(0)).quantize(Decimal('0.01'))}"


def _unified_type(types: list[str | None]) -> str:
    """One type for a key shared by several tables (``product_code``, ``promoter_id``):
    the input's type when all tables agree, BIGINT for integers of different widths,
    VARCHAR as soon as one table has strings (integers then compare as their text)."""
    known = {t for t in types if t is not None}
    if "VARCHAR" in known:
        return "VARCHAR"
    if len(known) == 1:
        return known.pop()
    return "BIGINT"


class _Run:
    """One settlement: a DuckDB connection, its temporary tables and the timings."""

    def __init__(self, *, period, files, work, memory_limit, threads, progress):
        self.year, self.month = period
        self.files = files
        self.work = work
        self.progress = progress
        self.timings: dict[str, float] = {}
        spill = work / "spill"
        spill.mkdir()
        self.con = connect(memory_limit=memory_limit, threads=threads, temp_directory=spill)
        self._clock = time.perf_counter()
        self._started = self._clock
        self.sources = {}

    def close(self) -> None:
        self.con.close()

    # -- helpers -----------------------------------------------------------------

    def sql(self, query: str):
        return self.con.execute(query)

    def stage_done(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = round(now - self._clock, 3)
        self._clock = now
        if self.progress is not None:
            self.progress(stage, dict(_STAGES)[stage])

    # -- the run -----------------------------------------------------------------

    def execute(self, *, write_csv: bool) -> dict:
        period_start = date(self.year, self.month, 1)
        period_text = f"{self.year:04d}-{self.month:02d}"
        self.p_start = f"DATE '{period_start.isoformat()}'"
        self.p_end = f"(DATE '{period_start.isoformat()}' + INTERVAL 1 MONTH)"

        self.sources = {
            name: table_inspect(
                self.con,
                name,
                path,
                deferred=("status",) if name == "subscribers" else (),
            )
            for name, path in self.files.items()
        }
        self._define_views()
        check_product_versions(self.con, self.sources["products"])
        self.stage_done("validate")

        self._records()
        self.stage_done("records")
        in_period = int(self.sql("SELECT count(*) FROM rp").fetchone()[0])
        not_in_period = self.sources["records"].rows - in_period

        self._rules(has_records=in_period > 0)
        self.stage_done("rules")
        self._verdicts(period_text)
        self.stage_done("verdicts")
        self._clawbacks()
        self.stage_done("clawbacks")
        self._statements()
        self.stage_done("statements")

        summary = self._summary(period_text, not_in_period)
        self._write(write_csv)
        self.stage_done("write")
        self.timings["total"] = round(time.perf_counter() - self._started, 3)
        return summary

    def _define_views(self) -> None:
        """One view per table with engine types; absent optional tables are empty."""
        product_type = _unified_type(
            [
                s.key_types.get("product_code")
                for s in self.sources.values()
                if "product_code" in s.key_types
            ]
        )
        promoter_type = _unified_type(
            [
                self.sources[n].key_types.get("promoter_id")
                for n in ("records", "paid_records")
                if n in self.sources
            ]
        )
        self.key_types = {"product_code": product_type, "promoter_id": promoter_type}
        for name in TABLES:
            source = self.sources.get(name)
            if source is not None:
                relation = source.relation_sql(self.key_types)
            else:
                relation = self._empty_relation(name)
            self.sql(f"CREATE TEMP VIEW {sql_name('t_' + name)} AS {relation}")

    def _empty_relation(self, name: str) -> str:
        columns = []
        for column in TABLES[name].columns:
            if column.kind == MSISDN:
                columns.append(f"CAST(NULL AS BIGINT) AS {sql_name(column.name)}")
                columns.append("CAST(NULL AS BIGINT) AS m")
            elif column.kind == KEY:
                target = self.key_types.get(column.name, "BIGINT")
                columns.append(f"CAST(NULL AS {target}) AS {sql_name(column.name)}")
            else:
                columns.append(
                    f"CAST(NULL AS {_EMPTY_TYPES[column.kind]}) AS {sql_name(column.name)}"
                )
        return f"SELECT {', '.join(columns)} WHERE false"

    def _records(self) -> None:
        """The period's records ``rp`` with their window and product version.

        The table's ``rowid`` (dense, 0 to n − 1) numbers them for the joins that follow
        (``rid``); a window function would cost more. A record is in period P when
        the date of ``end − 1 second`` is in P. That month never decreases as
        ``recommended_at`` grows (clamping only moves ends within the last day of a
        month), and it is P exactly from ``(P − 2 months) 00:00:01`` (inclusive) to
        ``(P − 1 month) 00:00:01`` (exclusive): a record of the first day of a month
        before 00:00:01 ends at 00:00:0x of the first day, so its last second is in the
        month before. The test is thus a constant range, which DuckDB pushes into the
        scan (no month arithmetic per row; whole row groups skipped when sorted).
        """
        records = self.sources["records"]
        if records.rows:
            # sorting is cheaper than hashing 5 M ids (and records usually come sorted)
            duplicate = self.sql(
                "SELECT record_id FROM (SELECT record_id, "
                "lag(record_id) OVER (ORDER BY record_id) AS previous FROM t_records) "
                "WHERE record_id = previous ORDER BY record_id LIMIT 1"
            ).fetchone()
            if duplicate is not None:
                raise_duplicate_record_id(self.con, records, duplicate[0])
        first = f"CAST({self.p_start} - INTERVAL 2 MONTH + INTERVAL 1 SECOND AS TIMESTAMP)"
        after = f"CAST({self.p_start} - INTERVAL 1 MONTH + INTERVAL 1 SECOND AS TIMESTAMP)"
        self.sql(
            "CREATE TEMP TABLE rp AS SELECT "
            "r.record_id, r.promoter_id, "
            "r.msisdn, r.m, r.product_code, r.recommended_at, r.confirmed_at, "
            "r.recommended_at + INTERVAL 2 MONTH AS end_at, "
            "CAST(r.recommended_at AS DATE) AS rec_date, "
            "CAST(r.recommended_at + INTERVAL 2 MONTH AS DATE) AS end_date, "
            "CAST(date_trunc('month', r.recommended_at) AS DATE) AS month0, "
            "CAST(date_trunc('month', r.recommended_at) - INTERVAL 3 MONTH AS DATE) "
            "AS prior_from, "
            "p.product_code IS NOT NULL AS known_product, p.monthly_fee, p.rebate "
            "FROM t_records r LEFT JOIN t_products p ON p.product_code = r.product_code "
            "AND CAST(r.recommended_at AS DATE) >= p.effective_from "
            "AND CAST(r.recommended_at AS DATE) <= coalesce(p.effective_to, DATE '9999-12-31') "
            f"WHERE r.recommended_at >= {first} AND r.recommended_at < {after}"
        )

    def _rules(self, *, has_records: bool) -> None:
        """Each side table adds ``(rid, bits)`` rows for the period's records it touches.

        Bit ``i`` (``1 << i``) is reason ``REASON_CODES[i]`` failing; the ``_OK`` bits
        say that a record found what it needs (an active subscriber row, a voice day,
        a billed month, a month billed at full price) — their absence fails. The final
        pass ORs the bits per record, so a number with several rows in a table passes
        when any of them shows what is needed (and fails when any of them fails).
        """
        self.sql("CREATE TEMP TABLE bits (rid BIGINT, bits INTEGER)")
        if not has_records:
            return
        low_ts, high_ts, low_month = self.sql(
            "SELECT min(recommended_at), max(end_at), min(month0) FROM rp"
        ).fetchone()
        # Constant bounds let DuckDB skip row groups of the big tables.
        low_ts = f"TIMESTAMP '{low_ts}'"
        high_ts = f"TIMESTAMP '{high_ts}'"
        low_month = f"DATE '{low_month}'"

        def add(query: str) -> None:
            self.sql(f"INSERT INTO bits {query}")

        add(
            f"SELECT rp.rowid AS rid, {_bit('duplicate')} FROM rp SEMI JOIN ("
            "  SELECT m, product_code, recommended_at, record_id FROM t_records "
            f"  WHERE recommended_at >= {low_month} - INTERVAL 3 MONTH "
            f"  AND recommended_at <= {high_ts}"
            ") s ON s.m = rp.m AND "
            + _same_product(
                "s.recommended_at >= rp.prior_from "
                "AND (s.recommended_at < rp.recommended_at OR "
                "     (s.recommended_at = rp.recommended_at AND s.record_id < rp.record_id))"
            )
        )
        # Billing months are compared as dates with first days of months, which reads a
        # row by its calendar month without truncating every row.
        add(
            "SELECT rid, bits FROM (SELECT rp.rowid AS rid, CASE "
            "  WHEN s.product_code <> rp.product_code THEN 0 ELSE "
            "  CASE WHEN s.month < rp.month0 AND s.billed_amount > 0 "
            f"  THEN {_bit('prior_same_product')} ELSE 0 END "
            "  | CASE WHEN s.month >= rp.month0 AND s.billed_amount > 0 "
            f"  THEN {_BILLED_OK} ELSE 0 END "
            "  | CASE WHEN s.month >= rp.month0 AND s.billed_amount >= rp.monthly_fee "
            f"  THEN {_FULL_PRICE_OK} ELSE 0 END END AS bits "
            "  FROM rp JOIN ("
            "    SELECT m, product_code, month, billed_amount FROM t_billing "
            f"    WHERE month >= {low_month} - INTERVAL 3 MONTH AND month < {self.p_end}"
            "  ) s ON s.m = rp.m AND s.month >= rp.prior_from"
            ") WHERE bits <> 0"
        )
        add(
            "SELECT rid, bits FROM (SELECT rp.rowid AS rid, "
            "  CASE WHEN s.activated_on < rp.rec_date AND s.status <> 'closed' "
            f"  THEN {_ACTIVE_OK} ELSE 0 END "
            f"  | CASE WHEN s.in_arrears THEN {_bit('in_arrears')} ELSE 0 END "
            f"  | CASE WHEN s.status NOT IN {_STATUSES} THEN {_BAD_STATUS} ELSE 0 END AS bits "
            "  FROM rp JOIN t_subscribers s ON s.m = rp.m"
            ") WHERE bits <> 0"
        )
        bad_status = self.sql(f"SELECT count(*) FROM bits WHERE bits & {_BAD_STATUS} <> 0")
        if bad_status.fetchone()[0]:
            check_choice_values(self.con, self.sources["subscribers"], "status")
        if "usage_daily" in self.sources:
            add(
                f"SELECT rp.rowid AS rid, {_VOICE_OK} FROM rp SEMI JOIN ("
                "  SELECT m, day FROM t_usage_daily WHERE voice_calls > 0 "
                f"  AND day >= {low_month} AND day < {self.p_end}"
                ") s ON s.m = rp.m AND s.day >= rp.rec_date AND s.day < rp.end_date"
            )
        else:
            add(
                f"SELECT rp.rowid AS rid, {_VOICE_OK} FROM rp SEMI JOIN ("
                "  SELECT m, first_voice_day, last_voice_day FROM t_usage_monthly "
                f"  WHERE month >= {low_month} AND month < {self.p_end}"
                ") s ON s.m = rp.m AND s.first_voice_day < rp.end_date "
                "AND s.last_voice_day >= rp.rec_date"
            )
        add(
            f"SELECT rp.rowid AS rid, {_bit('product_changed_in_window')} FROM rp SEMI JOIN ("
            "  SELECT m, product_code, changed_at FROM t_product_changes "
            f"  WHERE changed_at > {low_ts} AND changed_at < {high_ts}"
            ") s ON s.m = rp.m AND "
            + _same_product("s.changed_at > rp.recommended_at AND s.changed_at < rp.end_at")
        )
        add(
            f"SELECT rp.rowid AS rid, {_bit('rebated_in_last_6_months')} FROM rp SEMI JOIN ("
            "  SELECT m, product_code, recommended_at FROM t_rebate_history "
            f"  WHERE recommended_at >= {low_ts} - INTERVAL 6 MONTH "
            f"  AND recommended_at < {high_ts}"
            ") s ON s.m = rp.m AND "
            + _same_product(
                "s.recommended_at >= rp.recommended_at - INTERVAL 6 MONTH "
                "AND s.recommended_at < rp.recommended_at"
            )
        )
        add(
            f"SELECT rp.rowid AS rid, {_bit('upheld_complaint')} FROM rp SEMI JOIN ("
            "  SELECT m, product_code, complained_at FROM t_complaints "
            f"  WHERE upheld AND kind = 'forced_subscription' AND complained_at >= {low_ts}"
            ") s ON s.m = rp.m AND " + _same_product("s.complained_at >= rp.recommended_at")
        )

    def _verdicts(self, period_text: str) -> None:
        """One pass: the reasons mask per record, its reasons string and amount."""
        found = "coalesce(b.bits, 0)"
        fails = {
            "unknown_product": "NOT rp.known_product",
            "unconfirmed": "(rp.confirmed_at IS NULL OR rp.confirmed_at < rp.recommended_at "
            "OR rp.confirmed_at >= rp.end_at)",
            "duplicate": None,
            "prior_same_product": None,
            "not_active_before": f"{found} & {_ACTIVE_OK} = 0",
            "no_voice_in_window": f"{found} & {_VOICE_OK} = 0",
            "product_changed_in_window": None,
            "rebated_in_last_6_months": None,
            "in_arrears": None,
            # the fee audits need the product version: not recorded for unknown products
            "not_billed": f"coalesce(rp.monthly_fee > 0, false) AND {found} & {_BILLED_OK} = 0",
            "discounted_price": f"coalesce(rp.monthly_fee > 0, false) "
            f"AND {found} & {_BILLED_OK} <> 0 AND {found} & {_FULL_PRICE_OK} = 0",
            "upheld_complaint": None,
        }
        assert tuple(fails) == REASON_CODES
        mask_parts = [f"({found} & {_FAIL_BITS})"] + [
            f"CASE WHEN {sql} THEN {_bit(code)} ELSE 0 END"
            for code, sql in fails.items()
            if sql is not None
        ]
        # rid is dense (0..n-1): a perfect hash table (an array) groups and joins on it
        records = self.sql("SELECT count(*) FROM rp").fetchone()[0]
        self.sql(f"SET perfect_ht_threshold = {min(max(int(records + 1).bit_length(), 12), 24)}")
        self.sql(
            "CREATE TEMP TABLE found AS SELECT rid, bit_or(bits) AS bits FROM bits GROUP BY rid"
        )
        self.sql(
            "CREATE TEMP TABLE verdict AS SELECT record_id, promoter_id, msisdn, product_code, "
            "mask, CAST(CASE WHEN mask = 0 THEN rebate ELSE 0 END AS DECIMAL(14,2)) AS amount "
            f"FROM (SELECT rp.*, {' | '.join(mask_parts)} AS mask FROM rp "
            "LEFT JOIN found b ON b.rid = rp.rowid)"
        )
        # The reasons text of each distinct mask (a few dozen), joined on when writing.
        reasons = ", ".join(
            f"CASE WHEN mask & {_bit(code)} <> 0 THEN '{code}' END" for code in REASON_CODES
        )
        self.sql(
            f"CREATE TEMP TABLE reason_text AS SELECT mask, concat_ws(',', {reasons}) AS reasons "
            "FROM (SELECT DISTINCT mask FROM verdict)"
        )
        self.period_text = period_text
        self.sql("RESET perfect_ht_threshold")

    def _clawbacks(self) -> None:
        self.sql(
            "CREATE TEMP TABLE clawback AS SELECT p.record_id, p.promoter_id, p.msisdn, "
            "p.product_code, min(c.complained_at) AS complained_at, "
            "CAST(-p.amount AS DECIMAL(14,2)) AS amount, p.m, p.recommended_at "
            "FROM t_paid_records p JOIN ("
            "  SELECT m, product_code, complained_at FROM t_complaints "
            "  WHERE upheld AND kind = 'forced_subscription' "
            f"  AND complained_at >= {self.p_start} AND complained_at < {self.p_end}"
            ") c ON c.m = p.m AND c.product_code = p.product_code "
            "AND c.complained_at >= p.recommended_at "
            "AND c.complained_at < p.recommended_at + INTERVAL 6 MONTH "
            "GROUP BY p.record_id, p.promoter_id, p.msisdn, p.m, p.product_code, "
            "p.recommended_at, p.amount"
        )

    def _statements(self) -> None:
        self.sql(
            "CREATE TEMP TABLE statement AS "
            "WITH per_promoter AS ("
            "  SELECT promoter_id, count(*) AS records, count(*) FILTER (WHERE mask = 0) "
            "  AS qualified, sum(amount) AS gross, 0 AS clawback FROM verdict GROUP BY 1 "
            "  UNION ALL SELECT promoter_id, 0, 0, 0, sum(amount) FROM clawback GROUP BY 1"
            "), totals AS ("
            "  SELECT promoter_id, CAST(sum(records) AS BIGINT) AS records, "
            "  CAST(sum(qualified) AS BIGINT) AS qualified, "
            "  CAST(sum(gross) AS DECIMAL(14,2)) AS gross_amount, "
            "  CAST(sum(clawback) AS DECIMAL(14,2)) AS clawback_amount "
            "  FROM per_promoter GROUP BY promoter_id"
            ") SELECT promoter_id, records, qualified, gross_amount, clawback_amount, "
            "CAST(gross_amount + clawback_amount AS DECIMAL(14,2)) AS net_amount, "
            "CAST(greatest(gross_amount + clawback_amount, 0) AS DECIMAL(14,2)) "
            "AS payable_amount, "
            "CAST(least(gross_amount + clawback_amount, 0) AS DECIMAL(14,2)) AS carry_forward "
            "FROM totals"
        )

    def _summary(self, period_text: str, not_in_period: int) -> dict:
        records, qualified, gross = self.sql(
            "SELECT count(*), count(*) FILTER (WHERE mask = 0), "
            "CAST(coalesce(sum(amount), 0) AS DECIMAL(18,2)) FROM verdict"
        ).fetchone()
        reason_counts = self.sql(
            "SELECT "
            + ", ".join(
                f"count(*) FILTER (WHERE mask & {_bit(code)} <> 0)" for code in REASON_CODES
            )
            + " FROM verdict"
        ).fetchone()
        clawback = self.sql(
            "SELECT CAST(coalesce(sum(amount), 0) AS DECIMAL(18,2)) FROM clawback"
        ).fetchone()[0]
        return {
            "period": period_text,
            "records": int(records),
            "qualified": int(qualified),
            "not_in_period": not_in_period,
            "reasons": {code: int(n) for code, n in zip(REASON_CODES, reason_counts, strict=True)},
            "gross_amount": _money(gross),
            "clawback_amount": _money(clawback),
            "net_amount": _money(gross + clawback),
            "rule_version": RULE_VERSION,
            "input_sha256": {},
            "timings": {},
        }

    def _write(self, write_csv: bool) -> None:
        outputs = {
            "verdicts": "SELECT v.record_id, v.promoter_id, v.msisdn, v.product_code, "
            f"{sql_literal(self.period_text)} AS period, v.mask = 0 AS qualified, t.reasons, "
            "v.amount FROM verdict v JOIN reason_text t ON t.mask = v.mask ORDER BY v.record_id",
            "clawbacks": "SELECT record_id, promoter_id, msisdn, product_code, complained_at, "
            "amount FROM clawback ORDER BY record_id, promoter_id, m, product_code, "
            "recommended_at, amount",
            "statements": "SELECT promoter_id, records, qualified, gross_amount, "
            "clawback_amount, net_amount, payable_amount, carry_forward FROM statement "
            "ORDER BY promoter_id",
        }
        # Writing in insertion order lets DuckDB encode row groups in parallel while
        # keeping the ORDER BY (measured faster than the unordered mode here).
        self.sql("SET preserve_insertion_order = true")
        for name, query in outputs.items():
            target = sql_literal(self.work / f"{name}.parquet")
            self.sql(f"COPY ({query}) TO {target} (FORMAT parquet)")
        if write_csv:
            for name in OUTPUT_TABLES:
                source = sql_literal(self.work / f"{name}.parquet")
                target = sql_literal(self.work / f"{name}.csv")
                self.sql(
                    f"COPY (SELECT * FROM read_parquet({source})) TO {target} "
                    "(FORMAT csv, HEADER true, TIMESTAMPFORMAT '%Y-%m-%d %H:%M:%S')"
                )
        self.sql("SET preserve_insertion_order = false")
