"""R4 settlement benchmark (PERFORMANCE.md §1): the engine against a scan and the ORM.

    .venv/bin/python bench/settlement.py --scale S --runs 3

Generates the inputs if absent (``bench/settlement_generate.py``, cached under
``bench/data/<scale>/``), then per run, each step in a fresh process:

(a) scan: one DuckDB scan of every input file, every column (``count(*)``,
    ``sum(hash(row))``) — the floor;
(b) engine: ``prm.incentives.engine.settle_files`` on the inputs — wall time of the call
    and peak RSS of its process; its ``summary.json``, verdicts and clawbacks are checked
    against the generator's planted expectations (``expected.json``, ``expected/``);
(c) ORM (S and M by default): the per-record Django ORM baseline
    (``python -m bench.settlement_orm``) on a 10 k-record sample — seconds per record,
    extrapolated to every record of the scale; its verdicts must equal the engine's.

Prints one JSON line per run, appends it to ``bench/results/settlement.jsonl`` and ends
with the medians and the targets (L: engine ≤ 3× the scan, peak RSS ≤ 1536 MB;
M: ≥ 300× faster than the ORM). Exit status 1 when a check failed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
DATA_DIR = BENCH_DIR / "data"
PERIOD = "2026-03"
INPUT_TABLES = (
    "records",
    "products",
    "subscribers",
    "usage_monthly",
    "usage_daily",
    "product_changes",
    "billing",
    "rebate_history",
    "complaints",
    "paid_records",
)
TARGET_RATIO_TO_SCAN = 3.0  # at L
TARGET_PEAK_RSS_MB = 1536  # at L
TARGET_SPEEDUP_VS_ORM = 300  # at M
EXAMPLES = 20  # mismatching records shown


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _input_files(data: Path) -> list[Path]:
    files = []
    for name in INPUT_TABLES:
        for suffix in (".parquet", ".csv"):
            if (data / f"{name}{suffix}").exists():
                files.append(data / f"{name}{suffix}")
    return files


# ---------------------------------------------------------------------------------------
# Child stages (run in a fresh process each)
# ---------------------------------------------------------------------------------------


def stage_scan(args) -> dict:
    import duckdb

    files = _input_files(args.data)
    started = time.perf_counter()
    con = duckdb.connect()
    rows = 0
    for path in files:
        reader = "read_parquet" if path.suffix == ".parquet" else "read_csv"
        count, _ = con.execute(
            f"SELECT count(*), sum(hash(t)) FROM {reader}('{path}') t"
        ).fetchone()
        rows += count
    con.close()
    return {
        "seconds": time.perf_counter() - started,
        "rows": rows,
        "files": len(files),
        "peak_rss_mb": _peak_rss_mb(),
    }


def stage_engine(args) -> dict:
    started = time.perf_counter()
    try:
        from prm.incentives.engine import RULE_VERSION, settle_files
    except Exception:  # the engine may need Django's settings (translations, calendars)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prm.settings")
        import django

        django.setup()
        from prm.incentives.engine import RULE_VERSION, settle_files
    import_seconds = time.perf_counter() - started
    rss_before = _peak_rss_mb()
    options = {}
    if args.memory_limit:
        options["memory_limit"] = args.memory_limit
    if args.threads:
        options["threads"] = args.threads
    started = time.perf_counter()
    summary = settle_files(
        period=PERIOD, input_dir=args.data, out_dir=args.out, write_csv=False, **options
    )
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "import_seconds": round(import_seconds, 3),
        "rss_before_mb": rss_before,
        "peak_rss_mb": _peak_rss_mb(),
        "rule_version": str(RULE_VERSION),
        "summary_type": type(summary).__name__,
    }


def _run_stage(stage: str, extra: list[str], timeout: float | None = None) -> dict:
    """Run a stage of this script in a fresh process; its last stdout line is JSON."""
    env = {**os.environ, "PYTHONPATH": str(REPO_DIR)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--stage", stage, *extra],
        cwd=REPO_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-15:]
        return {"error": f"{stage} exited with {done.returncode}", "stderr": tail}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_seconds"] = round(elapsed, 3)
    return result


# ---------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------


def _money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def check_engine(out: Path, data: Path, expected: dict) -> dict:
    """Compare the engine's output with the planted expectations; list the differences."""
    import duckdb

    problems: list[str] = []
    summary_file = out / "summary.json"
    if not summary_file.exists():
        return {"ok": False, "problems": [f"no {summary_file.name} in the output"]}
    summary = json.loads(summary_file.read_text())
    for key in ("records", "qualified", "not_in_period"):
        if summary.get(key) != expected[key]:
            problems.append(f"summary {key}: engine {summary.get(key)}, expected {expected[key]}")
    engine_reasons = summary.get("reasons") or {}
    for code, count in expected["reasons"].items():
        if engine_reasons.get(code, 0) != count:
            problems.append(f"reason {code}: engine {engine_reasons.get(code, 0)}, planted {count}")
    for code in set(engine_reasons) - set(expected["reasons"]):
        problems.append(f"reason {code}: not a contract code ({engine_reasons[code]})")
    for key in ("gross_amount", "clawback_amount", "net_amount"):
        try:
            if _money(summary.get(key)) != _money(expected[key]):
                problems.append(
                    f"summary {key}: engine {summary.get(key)}, expected {expected[key]}"
                )
        except ArithmeticError:
            problems.append(f"summary {key}: not a decimal: {summary.get(key)!r}")

    con = duckdb.connect()
    verdicts, planted = out / "verdicts.parquet", data / "expected" / "verdicts.parquet"
    examples: list[dict] = []
    mismatches = 0
    if verdicts.exists():
        rows = con.execute(
            f"""
            SELECT coalesce(e.record_id, v.record_id) AS record_id,
                   e.reasons AS planted, v.reasons AS engine,
                   e.amount AS planted_amount, v.amount AS engine_amount
            FROM '{planted}' e FULL JOIN '{verdicts}' v USING (record_id)
            WHERE e.record_id IS NULL OR v.record_id IS NULL
               OR e.reasons IS DISTINCT FROM v.reasons
               OR e.qualified IS DISTINCT FROM v.qualified
               OR e.amount IS DISTINCT FROM v.amount
            ORDER BY record_id
            """
        ).fetchall()
        mismatches = len(rows)
        for record_id, want, got, want_amount, got_amount in rows[:EXAMPLES]:
            examples.append(
                {
                    "record_id": record_id,
                    "planted": want,
                    "engine": got,
                    "planted_amount": None if want_amount is None else str(want_amount),
                    "engine_amount": None if got_amount is None else str(got_amount),
                }
            )
        if mismatches:
            problems.append(f"{mismatches} verdicts differ from the planted ones")
        unordered = con.execute(
            f"SELECT count(*) FROM (SELECT record_id, lag(record_id) OVER () AS previous "
            f"FROM '{verdicts}') WHERE previous >= record_id"
        ).fetchone()[0]
        if unordered:
            problems.append("verdicts.parquet is not ordered by record_id")
    else:
        problems.append("no verdicts.parquet in the output")
    clawbacks = out / "clawbacks.parquet"
    planted_clawbacks = data / "expected" / "clawbacks.parquet"
    if clawbacks.exists():
        rows = con.execute(
            f"""
            SELECT coalesce(e.record_id, c.record_id), e.amount, c.amount
            FROM '{planted_clawbacks}' e FULL JOIN '{clawbacks}' c USING (record_id)
            WHERE e.record_id IS NULL OR c.record_id IS NULL OR e.amount <> c.amount
            ORDER BY 1
            """
        ).fetchall()
        if rows:
            problems.append(
                f"{len(rows)} clawbacks differ, e.g. (record_id, planted, engine) "
                + str([(r[0], str(r[1]), str(r[2])) for r in rows[:5]])
            )
    else:
        problems.append("no clawbacks.parquet in the output")
    if not (out / "statements.parquet").exists():
        problems.append("no statements.parquet in the output")
    con.close()
    return {
        "ok": not problems,
        "problems": problems,
        "verdict_mismatches": mismatches,
        "examples": examples,
    }


def compare_orm(orm: dict, out: Path | None, data: Path) -> dict:
    """The ORM's verdicts on its sample against the engine's and the planted ones."""
    import duckdb

    con = duckdb.connect()
    sample = [int(k) for k in orm["verdicts"]] + list(orm["not_in_period"])
    con.execute("CREATE TEMP TABLE sample (record_id BIGINT)")
    con.executemany("INSERT INTO sample VALUES (?)", [(i,) for i in sample])

    def read(path: Path) -> dict:
        rows = con.execute(
            f"SELECT record_id, qualified, reasons, amount FROM '{path}' "
            f"SEMI JOIN sample USING (record_id)"
        ).fetchall()
        return {r[0]: [r[1], r[2], str(r[3])] for r in rows}

    ormv = {int(k): v for k, v in orm["verdicts"].items()}
    result = {}
    sources = {"planted": data / "expected" / "verdicts.parquet"}
    if out is not None and (out / "verdicts.parquet").exists():
        sources["engine"] = out / "verdicts.parquet"
    for label, path in sources.items():
        other = read(path)
        differ = sorted(
            record_id
            for record_id in set(ormv) | set(other)
            if ormv.get(record_id) != other.get(record_id)
        )
        result[label] = {
            "mismatches": len(differ),
            "examples": [
                {"record_id": r, "orm": ormv.get(r), label: other.get(r)} for r in differ[:EXAMPLES]
            ],
        }
    con.close()
    return result


# ---------------------------------------------------------------------------------------
# Orchestration
# ---------------------------------------------------------------------------------------


def ensure_data(args) -> Path:
    if args.data:
        data = args.data
    else:
        suffix = (
            ""
            if (args.usage, args.format) == ("monthly", "parquet")
            else (f"-{args.usage}-{args.format}")
        )
        data = DATA_DIR / f"{args.scale}{suffix}"
    if not (data / "expected.json").exists():
        print(f"generating {args.scale} into {data} …", flush=True)
        command = [
            sys.executable,
            str(BENCH_DIR / "settlement_generate.py"),
            "--scale",
            args.scale,
            "--out",
            str(data),
            "--seed",
            str(args.seed),
            "--usage",
            args.usage,
            "--format",
            args.format,
        ]
        subprocess.run(command, cwd=REPO_DIR, check=True)
    return data


def _median(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 4) if values else None


def one_run(args, data: Path, expected: dict, run: int, orm_sample: int) -> tuple[dict, dict]:
    load_before = os.getloadavg()[0]  # other processes make the figures noisy
    started = datetime.now().isoformat(timespec="seconds")
    scratch = Path(tempfile.mkdtemp(prefix="prm_bench_settle_"))
    try:
        scan = _run_stage("scan", ["--data", str(data)])
        out = scratch / "out"
        engine_extra = ["--data", str(data), "--out", str(out)]
        if args.memory_limit:
            engine_extra += ["--memory-limit", args.memory_limit]
        if args.threads:
            engine_extra += ["--threads", str(args.threads)]
        engine = _run_stage("engine", engine_extra)
        check = (
            check_engine(out, data, expected)
            if "error" not in engine
            else {"ok": False, "problems": [engine["error"], *engine.get("stderr", [])]}
        )
        orm = None
        if orm_sample:
            orm_file = scratch / "orm.json"
            orm_run = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.settlement_orm",
                    "--data",
                    str(data),
                    "--sample",
                    str(orm_sample),
                    "--period",
                    PERIOD,
                    "--out",
                    str(orm_file),
                ],
                cwd=REPO_DIR,
                env={**os.environ, "PYTHONPATH": str(REPO_DIR)},
                capture_output=True,
                text=True,
            )
            if orm_run.returncode == 0:
                orm = json.loads(orm_file.read_text())
                orm["compare"] = compare_orm(orm, out if "error" not in engine else None, data)
            else:
                orm = {"error": orm_run.stderr.strip().splitlines()[-15:]}
    finally:
        if args.keep_output:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)

    records = expected["records"] + expected["not_in_period"]
    wall = engine.get("seconds")
    scan_s = scan.get("seconds")
    line = {
        "name": "settlement",
        "scale": args.scale,
        "run": run,
        "started": started,
        "wall_s": None if wall is None else round(wall, 3),
        "peak_rss_mb": engine.get("peak_rss_mb"),
        "rows": expected["input_rows"],
        "records": records,
        "scan_s": None if scan_s is None else round(scan_s, 3),
        "ratio_to_scan": round(wall / scan_s, 2) if wall and scan_s else None,
        "orm_s_per_record": None,
        "orm_extrapolated_s": None,
        "speedup_vs_orm": None,
        "expected_ok": check["ok"],
        "usage": expected.get("usage"),
        "format": expected.get("format"),
        "load_avg_1m": round(load_before, 2),
        "cores": os.cpu_count(),
    }
    if "error" in engine:
        line["engine_error"] = engine
    if orm and "error" not in orm:
        extrapolated = orm["s_per_record"] * records
        line["orm_sample"] = orm["sample"]
        line["orm_s_per_record"] = round(orm["s_per_record"], 6)
        line["orm_load_s"] = orm["load_seconds"]
        line["orm_extrapolated_s"] = round(extrapolated, 1)
        line["speedup_vs_orm"] = round(extrapolated / wall, 1) if wall else None
        line["orm_vs_planted_mismatches"] = orm["compare"]["planted"]["mismatches"]
        if "engine" in orm["compare"]:
            line["orm_vs_engine_mismatches"] = orm["compare"]["engine"]["mismatches"]
    elif orm:
        line["orm_error"] = orm["error"]
    details = {"check": check, "orm_compare": orm.get("compare") if orm else None}
    return line, details


def _report_details(details: dict) -> None:
    check = details["check"]
    for problem in check.get("problems", []):
        print(f"  engine check: {problem}", file=sys.stderr)
    for example in check.get("examples", []):
        print(f"    {json.dumps(example)}", file=sys.stderr)
    for label, compare in (details.get("orm_compare") or {}).items():
        if compare["mismatches"]:
            print(f"  ORM vs {label}: {compare['mismatches']} records differ", file=sys.stderr)
            for example in compare["examples"]:
                print(f"    {json.dumps(example)}", file=sys.stderr)


def main_run(args) -> int:
    data = ensure_data(args)
    expected = json.loads((data / "expected.json").read_text())
    if expected.get("scale") != args.scale:
        print(f"{data} holds scale {expected.get('scale')}, not {args.scale}", file=sys.stderr)
        return 2
    orm_sample = (
        args.orm_sample
        if args.orm_sample is not None
        else (10_000 if args.scale in ("S", "M") else 0)
    )
    print(
        f"settlement {args.scale}: {expected['records'] + expected['not_in_period']:,} records, "
        f"{expected['input_rows']:,} input rows ({data}); {args.runs} run(s); "
        f"ORM sample {orm_sample or 'skipped'}",
        flush=True,
    )
    RESULTS_DIR.mkdir(exist_ok=True)
    lines, failed = [], False
    for run in range(1, args.runs + 1):
        line, details = one_run(args, data, expected, run, orm_sample)
        print(json.dumps(line), flush=True)
        _report_details(details)
        with open(RESULTS_DIR / "settlement.jsonl", "a") as results:
            results.write(json.dumps(line) + "\n")
        lines.append(line)
        failed |= not line["expected_ok"]
        failed |= bool(
            line.get("orm_vs_engine_mismatches") or line.get("orm_vs_planted_mismatches")
        )
        failed |= "orm_error" in line

    medians = {
        key: _median([line[key] for line in lines])
        for key in (
            "wall_s",
            "peak_rss_mb",
            "scan_s",
            "ratio_to_scan",
            "orm_s_per_record",
            "orm_extrapolated_s",
            "speedup_vs_orm",
        )
    }
    print(
        json.dumps({"name": "settlement_median", "scale": args.scale, "runs": args.runs, **medians})
    )
    ratio, rss = medians["ratio_to_scan"], medians["peak_rss_mb"]
    targets = [
        f"ratio_to_scan {ratio} (target at L ≤ {TARGET_RATIO_TO_SCAN:g})"
        + (" — met" if ratio is not None and ratio <= TARGET_RATIO_TO_SCAN else ""),
        f"peak RSS {rss} MB (target at L ≤ {TARGET_PEAK_RSS_MB} MB)"
        + (" — met" if rss is not None and rss <= TARGET_PEAK_RSS_MB else ""),
    ]
    speedup = medians["speedup_vs_orm"]
    targets.append(
        f"speed-up vs ORM {speedup} (target at M ≥ {TARGET_SPEEDUP_VS_ORM})"
        + (" — met" if speedup is not None and speedup >= TARGET_SPEEDUP_VS_ORM else "")
    )
    print("targets: " + "; ".join(targets))
    print(
        "all checks passed" if not failed else "CHECKS FAILED (see above)",
        file=sys.stderr if failed else sys.stdout,
    )
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=["S", "M", "L"], default="S")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, help="input directory (default bench/data/<scale>)")
    parser.add_argument(
        "--orm-sample",
        type=int,
        help="records of the ORM baseline sample (default 10000 at S and M, 0 = skip)",
    )
    parser.add_argument("--seed", type=int, default=1, help="generator seed (new data only)")
    parser.add_argument("--usage", choices=["monthly", "daily"], default="monthly")
    parser.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    parser.add_argument("--memory-limit", help="engine memory_limit (default: the engine's)")
    parser.add_argument("--threads", type=int, help="engine threads (default: the engine's)")
    parser.add_argument("--keep-output", action="store_true", help="keep the engine's output")
    # Internal: child stages.
    parser.add_argument("--stage", choices=["run", "scan", "engine"], default="run")
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage == "scan":
        print(json.dumps(stage_scan(args)))
        return 0
    if args.stage == "engine":
        print(json.dumps(stage_engine(args)))
        return 0
    return main_run(args)


if __name__ == "__main__":
    sys.exit(main())
