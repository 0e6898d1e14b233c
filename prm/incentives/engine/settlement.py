"""R4 rebate settlement on plain files (contract ``shared/contracts/settlement-files.md``).

:func:`settle_files` reads the billing extracts and development records of
``input_dir`` in place (Parquet or CSV, see :mod:`.inputs`), settles the records whose
observation window ends in the period, and writes ``verdicts.parquet``,
``clawbacks.parquet``, ``statements.parquet`` and ``summary.json`` into ``out_dir``.
The in-app monthly run, the billing import, the benchmark and ``prm incentives
settle-files`` all call it.

How it runs (``shared/PERFORMANCE.md`` §1): DuckDB queries the files in place; every
join starts from the small table of the period's records, so each big table
(subscribers, usage, billing …) is scanned once, probing a hash table of the records'
keys (a semi-join), and never drives a join itself. Each side table yields, per
record, one row of aggregates or the id of the records it fails; one final pass joins
them onto the records and writes the verdicts as Parquet, ordered by ``record_id``.

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
* **no_voice_in_window**: the daily form is first rolled up to months (exactly as
  :func:`.rollup.usage_daily_to_monthly`), then the monthly rule applies; a month's
  ``first_voice_day``/``last_voice_day`` are null when it had no day with calls. The
  two forms give the same verdicts because the window spans at least two calendar
  months, so a month row overlaps the window's days exactly when one of its voice days
  does (a month's voice days are taken to lie in that month).
* **not_billed / discounted_price / prior_same_product**: billing ``month`` is read as
  its calendar month (``date_trunc``). Free products (``monthly_fee = 0``) skip the two
  fee audits; ``discounted_price`` applies only to a billed record.
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
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from pathlib import Path

from .inputs import (
    KEY,
    MSISDN,
    TABLES,
    USAGE_TABLES,
    SettlementInputError,
    check_product_versions,
    connect,
    find_table_file,
    parse_period,
    raise_duplicate_record_id,
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
    hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="settle-sha256")
    try:
        hashes = hasher.submit(_hash_files, files)
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
        finally:
            run.close()
        started = time.perf_counter()
        summary["input_sha256"], hash_seconds = hashes.result()
        run.timings["input_sha256"] = round(
            hash_seconds, 3
        )  # overlapped with the other stages
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
        hasher.shutdown(wait=True)
        shutil.rmtree(work, ignore_errors=True)


def _locate_inputs(input_dir: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for name, table in TABLES.items():
        path = find_table_file(input_dir, name)
        if path is None:
            if table.required:
                raise SettlementInputError(
                    f"required file missing: {name}.parquet or {name}.csv", file=f"{name}"
                )
            continue
        files[name] = path
    usage = [name for name in USAGE_TABLES if name in files]
    if not usage:
        raise SettlementInputError(
            "required file missing: usage_monthly or usage_daily (.parquet or .csv)",
            file="usage_monthly",
        )
    if len(usage) > 1:
        raise SettlementInputError(
            "both usage_monthly and usage_daily are present: give one usage form",
            file=files["usage_daily"].name,
        )
    return files


def _hash_files(files: dict[str, Path]) -> tuple[dict[str, str], float]:
    started = time.perf_counter()
    digests = {}
    for path in sorted(files.values(), key=lambda p: p.name):
        with path.open("rb") as handle:
            digests[path.name] = hashlib.file_digest(handle, "sha256").hexdigest()
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
    known = [t for t in types if t is not None]
    return "BIGINT" if all(t == "BIGINT" for t in known) else "VARCHAR"


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

        self.sources = {name: table_inspect(self.con, name, path)
                        for name, path in self.files.items()}
        self._define_views()
        check_product_versions(self.con, self.sources["products"])
        self.stage_done("validate")

        self._records()
        self.stage_done("records")
        counts = self.sql(
            "SELECT count(*) FILTER (WHERE in_period), count(*) FILTER (WHERE NOT in_period) "
            "FROM rec"
        ).fetchone()
        in_period, not_in_period = int(counts[0]), int(counts[1])

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
            [s.key_types.get("product_code") for s in self.sources.values()
             if "product_code" in s.key_types]
        )
        promoter_type = _unified_type(
            [self.sources[n].key_types.get("promoter_id")
             for n in ("records", "paid_records") if n in self.sources]
        )
        self.key_types = {"product_code": product_type, "promoter_id": promoter_type}
        for name, table in TABLES.items():
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
        """All records (for the duplicate rule) and the period's records ``rp``."""
        self.sql(
            "CREATE TEMP TABLE rec AS SELECT "
            "CAST(row_number() OVER () AS INTEGER) AS rid, record_id, promoter_id, msisdn, m, "
            "product_code, recommended_at, confirmed_at, "
            "recommended_at + INTERVAL 2 MONTH AS end_at, "
            f"(recommended_at + INTERVAL 2 MONTH - INTERVAL 1 SECOND >= {self.p_start} AND "
            f" recommended_at + INTERVAL 2 MONTH - INTERVAL 1 SECOND < {self.p_end}) "
            "AS in_period FROM t_records"
        )
        duplicate = self.sql(
            "SELECT record_id FROM rec GROUP BY record_id HAVING count(*) > 1 "
            "ORDER BY record_id LIMIT 1"
        ).fetchone()
        if duplicate is not None:
            raise_duplicate_record_id(self.con, self.sources["records"], duplicate[0])
        self.sql(
            "CREATE TEMP TABLE rp AS SELECT rid, record_id, promoter_id, msisdn, m, "
            "product_code, recommended_at, confirmed_at, end_at, "
            "CAST(recommended_at AS DATE) AS rec_date, CAST(end_at AS DATE) AS end_date, "
            "CAST(date_trunc('month', recommended_at) AS DATE) AS month0 "
            "FROM rec WHERE in_period"
        )

    def _rules(self, *, has_records: bool) -> None:
        """Per side table, the aggregates or the failing record ids of ``rp``."""
        if not has_records:
            for name, columns in (
                ("r_product", "rid INTEGER, monthly_fee DECIMAL(14,2), rebate DECIMAL(14,2)"),
                ("r_billing", "rid INTEGER, prior BOOLEAN, billed BOOLEAN, "
                              "max_billed DECIMAL(14,2)"),
                ("r_subscriber", "rid INTEGER, active_before BOOLEAN, in_arrears BOOLEAN"),
                ("r_duplicate", "rid INTEGER"),
                ("r_voice", "rid INTEGER"),
                ("r_changed", "rid INTEGER"),
                ("r_rebated", "rid INTEGER"),
                ("r_complaint", "rid INTEGER"),
            ):
                self.sql(f"CREATE TEMP TABLE {name} ({columns})")
            return
        low_ts, high_ts, low_month = self.sql(
            "SELECT min(recommended_at), max(end_at), min(month0) FROM rp"
        ).fetchone()
        # Constant bounds let DuckDB skip row groups of the big tables.
        low_ts = f"TIMESTAMP '{low_ts}'"
        high_ts = f"TIMESTAMP '{high_ts}'"
        low_month = f"DATE '{low_month}'"
        same_key = "s.m = rp.m AND s.product_code = rp.product_code"

        self.sql(
            "CREATE TEMP TABLE r_product AS SELECT rp.rid, s.monthly_fee, s.rebate "
            "FROM rp JOIN t_products s ON s.product_code = rp.product_code "
            "AND rp.rec_date >= s.effective_from "
            "AND rp.rec_date <= coalesce(s.effective_to, DATE '9999-12-31')"
        )
        self.sql(
            "CREATE TEMP TABLE r_duplicate AS SELECT rp.rid FROM rp SEMI JOIN rec s "
            f"ON {same_key} "
            "AND s.recommended_at >= CAST(rp.month0 - INTERVAL 3 MONTH AS TIMESTAMP) "
            "AND (s.recommended_at < rp.recommended_at OR "
            "     (s.recommended_at = rp.recommended_at AND s.record_id < rp.record_id))"
        )
        self.sql(
            "CREATE TEMP TABLE r_billing AS SELECT rp.rid, "
            "bool_or(s.month < rp.month0 AND s.billed_amount > 0) AS prior, "
            "bool_or(s.month >= rp.month0 AND s.billed_amount > 0) AS billed, "
            "max(s.billed_amount) FILTER (WHERE s.month >= rp.month0) AS max_billed "
            "FROM rp JOIN ("
            "  SELECT m, product_code, CAST(date_trunc('month', month) AS DATE) AS month, "
            "  billed_amount FROM t_billing "
            f"  WHERE month >= {low_month} - INTERVAL 3 MONTH AND month < {self.p_end}"
            f") s ON {same_key} AND s.month >= rp.month0 - INTERVAL 3 MONTH "
            f"AND s.month <= {self.p_start} GROUP BY rp.rid"
        )
        self.sql(
            "CREATE TEMP TABLE r_subscriber AS SELECT rp.rid, "
            "bool_or(s.activated_on < rp.rec_date AND s.status <> 'closed') AS active_before, "
            "bool_or(s.in_arrears) AS in_arrears "
            "FROM rp JOIN t_subscribers s ON s.m = rp.m GROUP BY rp.rid"
        )
        if "usage_daily" in self.sources:
            usage = (
                "SELECT m, CAST(date_trunc('month', day) AS DATE) AS month, "
                "min(day) FILTER (WHERE voice_calls > 0) AS first_voice_day, "
                "max(day) FILTER (WHERE voice_calls > 0) AS last_voice_day "
                "FROM t_usage_daily WHERE voice_calls > 0 "
                f"AND day >= {low_month} AND day < {self.p_end} "
                "AND m IN (SELECT m FROM rp) GROUP BY ALL"
            )
        else:
            usage = (
                "SELECT m, first_voice_day, last_voice_day FROM t_usage_monthly "
                f"WHERE month >= {low_month} AND month < {self.p_end}"
            )
        self.sql(
            f"CREATE TEMP TABLE r_voice AS SELECT rp.rid FROM rp SEMI JOIN ({usage}) s "
            "ON s.m = rp.m AND s.first_voice_day < rp.end_date "
            "AND s.last_voice_day >= rp.rec_date"
        )
        self.sql(
            "CREATE TEMP TABLE r_changed AS SELECT rp.rid FROM rp SEMI JOIN ("
            "  SELECT m, product_code, changed_at FROM t_product_changes "
            f"  WHERE changed_at > {low_ts} AND changed_at < {high_ts}"
            f") s ON {same_key} AND s.changed_at > rp.recommended_at "
            "AND s.changed_at < rp.end_at"
        )
        self.sql(
            "CREATE TEMP TABLE r_rebated AS SELECT rp.rid FROM rp SEMI JOIN ("
            "  SELECT m, product_code, recommended_at FROM t_rebate_history "
            f"  WHERE recommended_at >= {low_ts} - INTERVAL 6 MONTH "
            f"  AND recommended_at < {high_ts}"
            f") s ON {same_key} "
            "AND s.recommended_at >= rp.recommended_at - INTERVAL 6 MONTH "
            "AND s.recommended_at < rp.recommended_at"
        )
        self.sql(
            "CREATE TEMP TABLE r_complaint AS SELECT rp.rid FROM rp SEMI JOIN ("
            "  SELECT m, product_code, complained_at FROM t_complaints "
            f"  WHERE upheld AND kind = 'forced_subscription' AND complained_at >= {low_ts}"
            f") s ON {same_key} AND s.complained_at >= rp.recommended_at"
        )

    def _verdicts(self, period_text: str) -> None:
        flags = {
            "unknown_product": "p.rid IS NULL",
            "unconfirmed": "(rp.confirmed_at IS NULL OR rp.confirmed_at < rp.recommended_at "
            "OR rp.confirmed_at >= rp.end_at)",
            "duplicate": "rp.rid IN (SELECT rid FROM r_duplicate)",
            "prior_same_product": "coalesce(b.prior, false)",
            "not_active_before": "NOT coalesce(s.active_before, false)",
            "no_voice_in_window": "rp.rid NOT IN (SELECT rid FROM r_voice)",
            "product_changed_in_window": "rp.rid IN (SELECT rid FROM r_changed)",
            "rebated_in_last_6_months": "rp.rid IN (SELECT rid FROM r_rebated)",
            "in_arrears": "coalesce(s.in_arrears, false)",
            "not_billed": "coalesce(p.monthly_fee > 0 AND NOT coalesce(b.billed, false), false)",
            "discounted_price": "coalesce(p.monthly_fee > 0 AND b.billed "
            "AND b.max_billed < p.monthly_fee, false)",
            "upheld_complaint": "rp.rid IN (SELECT rid FROM r_complaint)",
        }
        assert tuple(flags) == REASON_CODES
        flag_columns = ", ".join(f"{sql} AS f_{code}" for code, sql in flags.items())
        self.sql(
            f"CREATE TEMP TABLE flags AS SELECT rp.rid, p.rebate, {flag_columns} FROM rp "
            "LEFT JOIN r_product p ON p.rid = rp.rid "
            "LEFT JOIN r_billing b ON b.rid = rp.rid "
            "LEFT JOIN r_subscriber s ON s.rid = rp.rid"
        )
        reasons = ", ".join(
            f"CASE WHEN f.f_{code} THEN '{code}' END" for code in REASON_CODES
        )
        self.sql(
            "CREATE TEMP TABLE verdict AS SELECT rp.record_id, rp.promoter_id, rp.msisdn, "
            f"rp.product_code, {sql_literal(period_text)} AS period, q.reasons = '' AS qualified, "
            "q.reasons, CAST(CASE WHEN q.reasons = '' THEN f.rebate ELSE 0 END "
            "AS DECIMAL(14,2)) AS amount "
            "FROM rp JOIN flags f ON f.rid = rp.rid, "
            f"LATERAL (SELECT concat_ws(',', {reasons}) AS reasons) q"
        )

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
            "  SELECT promoter_id, count(*) AS records, count(*) FILTER (WHERE qualified) "
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
            "SELECT count(*), count(*) FILTER (WHERE qualified), "
            "CAST(coalesce(sum(amount), 0) AS DECIMAL(18,2)) FROM verdict"
        ).fetchone()
        reason_counts = self.sql(
            "SELECT " + ", ".join(f"count(*) FILTER (WHERE f_{code})" for code in REASON_CODES)
            + " FROM flags"
        ).fetchone()
        clawback = self.sql(
            "SELECT CAST(coalesce(sum(amount), 0) AS DECIMAL(18,2)) FROM clawback"
        ).fetchone()[0]
        return {
            "period": period_text,
            "records": int(records),
            "qualified": int(qualified),
            "not_in_period": not_in_period,
            "reasons": {code: int(n) for code, n in zip(REASON_CODES, reason_counts,
                                                         strict=True)},
            "gross_amount": _money(gross),
            "clawback_amount": _money(clawback),
            "net_amount": _money(gross + clawback),
            "rule_version": RULE_VERSION,
            "input_sha256": {},
            "timings": {},
        }

    def _write(self, write_csv: bool) -> None:
        outputs = {
            "verdicts": "SELECT record_id, promoter_id, msisdn, product_code, period, "
            "qualified, reasons, amount FROM verdict ORDER BY record_id",
            "clawbacks": "SELECT record_id, promoter_id, msisdn, product_code, complained_at, "
            "amount FROM clawback ORDER BY record_id, promoter_id, m, product_code, "
            "recommended_at, amount",
            "statements": "SELECT promoter_id, records, qualified, gross_amount, "
            "clawback_amount, net_amount, payable_amount, carry_forward FROM statement "
            "ORDER BY promoter_id",
        }
        for name, query in outputs.items():
            target = sql_literal(self.work / f"{name}.parquet")
            self.sql(f"COPY ({query}) TO {target} (FORMAT parquet)")
        if write_csv:
            self.sql("SET preserve_insertion_order = true")
            for name in OUTPUT_TABLES:
                source = sql_literal(self.work / f"{name}.parquet")
                target = sql_literal(self.work / f"{name}.csv")
                self.sql(
                    f"COPY (SELECT * FROM read_parquet({source})) TO {target} "
                    "(FORMAT csv, HEADER true, TIMESTAMPFORMAT '%Y-%m-%d %H:%M:%S')"
                )
            self.sql("SET preserve_insertion_order = false")
