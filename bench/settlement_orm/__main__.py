"""Run the per-record ORM settlement on a sample of an input directory.

    .venv/bin/python -m bench.settlement_orm --data bench/data/S --sample 10000 \
        --period 2026-03 --out /tmp/orm.json

Creates the tables in a fresh SQLite file (removed at the end), loads the sample (not
measured), then evaluates the sample's records one by one — ``Record.objects.get`` and
the rule queries, one saved ``Verdict`` each, in one transaction — and writes the
timing and the verdicts as JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--sample", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1, help="picks the sample")
    parser.add_argument("--period", default="2026-03")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="prm_bench_orm_"))
    os.environ["PRM_BENCH_ORM_DB"] = str(tmp / "orm.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settlement_orm.settings"
    import django

    django.setup()
    from django.db import connection, transaction

    from .loader import create_tables, load_sample, usage_form
    from .models import Record
    from .rules import settle_record

    try:
        create_tables()
        started = time.perf_counter()
        sample_ids, loaded = load_sample(args.data, sample_size=args.sample, seed=args.seed)
        load_seconds = time.perf_counter() - started
        usage = usage_form(args.data)

        verdicts, not_in_period = {}, []
        started = time.perf_counter()
        with transaction.atomic():
            for record_id in sample_ids:
                record = Record.objects.get(pk=record_id)
                verdict = settle_record(record, period=args.period, usage=usage)
                if verdict is None:
                    not_in_period.append(record_id)
                else:
                    verdicts[record_id] = [verdict.qualified, verdict.reasons, str(verdict.amount)]
        seconds = time.perf_counter() - started
        connection.close()
    finally:
        for leftover in tmp.iterdir():
            leftover.unlink()
        tmp.rmdir()

    result = {
        "sample": len(sample_ids),
        "seconds": round(seconds, 4),
        "s_per_record": seconds / max(1, len(sample_ids)),
        "load_seconds": round(load_seconds, 2),
        "loaded_rows": loaded,
        "usage": usage,
        "not_in_period": not_in_period,
        "verdicts": {str(k): v for k, v in verdicts.items()},
    }
    args.out.write_text(json.dumps(result))
    print(
        json.dumps(
            {
                "name": "settlement_orm",
                "sample": len(sample_ids),
                "seconds": result["seconds"],
                "ms_per_record": round(1000 * result["s_per_record"], 3),
                "load_seconds": result["load_seconds"],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
