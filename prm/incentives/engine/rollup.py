"""Daily usage → monthly usage (R4 rebate rule 2, contract "usage_monthly or usage_daily").

Billing systems deliver voice usage per subscriber per day; the engine works on one row
per subscriber per month, which is exact for a two-month observation window (see
:mod:`.settlement`). :func:`usage_daily_to_monthly` is the roll-up used at ingest.
"""

from __future__ import annotations

from pathlib import Path

from .inputs import connect, sql_literal, table_inspect


def usage_daily_to_monthly(
    daily_path: Path | str,
    out_path: Path | str,
    *,
    memory_limit: str | None = "1GB",
    threads: int | None = None,
) -> int:
    """Roll ``usage_daily`` (msisdn, day, voice_calls) up to ``usage_monthly`` Parquet.

    One row per msisdn and calendar month that has daily rows: ``month`` its first day,
    ``voice_calls`` the sum, ``first_voice_day``/``last_voice_day`` the first and last
    day with ``voice_calls > 0`` — both null when the month had no such day (days with
    0 calls are not voice days). ``msisdn`` keeps the input's type. Rows are ordered by
    msisdn and month. Returns the number of rows written. Raises
    :class:`~.inputs.SettlementInputError` on bad input.
    """
    daily_path = Path(daily_path)
    out_path = Path(out_path)
    con = connect(memory_limit=memory_limit, threads=threads)
    try:
        source = table_inspect(con, "usage_daily", daily_path)
        query = (
            "SELECT msisdn, CAST(date_trunc('month', day) AS DATE) AS month, "
            "min(day) FILTER (WHERE voice_calls > 0) AS first_voice_day, "
            "max(day) FILTER (WHERE voice_calls > 0) AS last_voice_day, "
            "CAST(sum(voice_calls) AS BIGINT) AS voice_calls "
            f"FROM ({source.relation_sql()}) GROUP BY msisdn, m, month ORDER BY m, msisdn, month"
        )
        con.execute(f"COPY ({query}) TO {sql_literal(out_path)} (FORMAT parquet)")
        return int(
            con.execute(f"SELECT count(*) FROM read_parquet({sql_literal(out_path)})").fetchone()[0]
        )
    finally:
        con.close()
