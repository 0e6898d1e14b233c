"""Input tables of the file settlement (contract ``shared/contracts/settlement-files.md``).

Each table is ``DIR/<name>.parquet`` or ``DIR/<name>.csv``. :data:`TABLES` says which
columns a table has, of which kind, and which may be null; the billing import of the
app reuses it. :func:`table_validate` checks one file against it and
:func:`table_inspect` does the same for the engine, returning what the engine needs to
read the file (a typed SQL relation over the file, queried in place).

Validation rules, the same for every caller:

* a missing required column, an unreadable file, a Parquet column of an incompatible
  type, a null in a column that may not be null, or a CSV value that does not parse is
  bad input: :class:`SettlementInputError` names the file, the first bad data row
  (1-based, header not counted) and the column;
* CSV values follow the contract strictly: timestamps ``YYYY-MM-DD HH:MM:SS``, dates
  ``YYYY-MM-DD``, money with at most 2 decimal places, booleans ``true``/``false`` (any
  letter case), an empty cell is null;
* ``msisdn`` is 1 to 18 digits (string or integer column); the engine joins on it as a
  BIGINT. ``status``, ``change_type`` and ``kind`` must hold one of the contract's values
  (a typo such as ``Closed`` would otherwise pay a rebate on a closed number);
* codes and ids (``product_code``, ``record_id``, ``promoter_id``) may be integers or
  strings. A CSV column counts as integer when every value is a canonical integer
  (no leading zero, no sign other than ``-``); a Parquet column has its declared type;
* Parquet money may be decimal, integer or floating point (rounded to 2 places); Parquet
  dates may be dates or timestamps (the date part is used); timestamps with a time zone
  are converted to Asia/Shanghai local time;
* Parquet values are trusted to their declared type: only nulls (from the column
  statistics when the file has them), string ``msisdn`` and the choice columns are
  checked row by row, so validation of a large Parquet extract costs almost nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

LOCAL_TIME_ZONE = "Asia/Shanghai"

MSISDN = "msisdn"  # digits; joined as BIGINT, written out as given
KEY = "key"  # product_code, record_id, promoter_id: integer or string
TIMESTAMP = "timestamp"
DATE = "date"
MONEY = "money"
BOOLEAN = "boolean"
INTEGER = "integer"
CHOICE = "choice"


class SettlementInputError(Exception):
    """Bad input of a file settlement: names the file, the data row and the column.

    ``row`` is the 1-based data row (the header is not counted) or None when the error
    concerns the whole file; ``column`` is None when it concerns no single column.
    ``str(error)`` is one English line.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.column = column
        self.detail = " ".join(str(message).split())
        where = []
        if file:
            where.append(file)
        if row is not None:
            where.append(f"row {row}")
        if column:
            where.append(f"column {column}")
        text = f"{', '.join(where)}: {self.detail}" if where else self.detail
        super().__init__(text)


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    nullable: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    required: bool = False

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)


TABLES: dict[str, Table] = {
    table.name: table
    for table in (
        Table(
            "records",
            (
                Column("record_id", KEY),
                Column("promoter_id", KEY),
                Column("msisdn", MSISDN),
                Column("product_code", KEY),
                Column("recommended_at", TIMESTAMP),
                Column("confirmed_at", TIMESTAMP, nullable=True),
            ),
            required=True,
        ),
        Table(
            "products",
            (
                Column("product_code", KEY),
                Column("monthly_fee", MONEY),
                Column("rebate", MONEY),
                Column("effective_from", DATE),
                Column("effective_to", DATE, nullable=True),
            ),
            required=True,
        ),
        Table(
            "subscribers",
            (
                Column("msisdn", MSISDN),
                Column("activated_on", DATE),
                Column("status", CHOICE, choices=("active", "suspended", "closed")),
                Column("in_arrears", BOOLEAN),
            ),
            required=True,
        ),
        Table(
            "usage_monthly",
            (
                Column("msisdn", MSISDN),
                Column("month", DATE),
                Column("first_voice_day", DATE, nullable=True),
                Column("last_voice_day", DATE, nullable=True),
                Column("voice_calls", INTEGER),
            ),
        ),
        Table(
            "usage_daily",
            (Column("msisdn", MSISDN), Column("day", DATE), Column("voice_calls", INTEGER)),
        ),
        Table(
            "product_changes",
            (
                Column("msisdn", MSISDN),
                Column("product_code", KEY),
                Column("changed_at", TIMESTAMP),
                Column("change_type", CHOICE, choices=("unsubscribe", "modify")),
            ),
        ),
        Table(
            "billing",
            (
                Column("msisdn", MSISDN),
                Column("product_code", KEY),
                Column("month", DATE),
                Column("billed_amount", MONEY),
            ),
        ),
        Table(
            "rebate_history",
            (
                Column("msisdn", MSISDN),
                Column("product_code", KEY),
                Column("recommended_at", TIMESTAMP),
            ),
        ),
        Table(
            "complaints",
            (
                Column("msisdn", MSISDN),
                Column("product_code", KEY),
                Column("complained_at", TIMESTAMP),
                Column("kind", CHOICE, choices=("forced_subscription", "other")),
                Column("upheld", BOOLEAN),
            ),
        ),
        Table(
            "paid_records",
            (
                Column("record_id", KEY),
                Column("promoter_id", KEY),
                Column("msisdn", MSISDN),
                Column("product_code", KEY),
                Column("recommended_at", TIMESTAMP),
                Column("amount", MONEY),
            ),
        ),
    )
}

USAGE_TABLES = ("usage_monthly", "usage_daily")

# CSV checks (value is VARCHAR, NULL for an empty cell). Each is true for a good value.
_RE_TIMESTAMP = r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}"
_RE_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_RE_MONEY = r"-?[0-9]{1,12}(\.[0-9]{1,2})?"
_RE_INTEGER = r"-?[0-9]{1,18}"
_RE_MSISDN = r"[0-9]{1,18}"
_RE_CANONICAL_INTEGER = r"-?(0|[1-9][0-9]{0,17})"
_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
_DATE_FORMAT = "%Y-%m-%d"

_EXPECTED = {
    MSISDN: "a number of 1 to 18 digits",
    KEY: "a value",
    TIMESTAMP: "a timestamp YYYY-MM-DD HH:MM:SS",
    DATE: "a date YYYY-MM-DD",
    MONEY: "an amount with at most 2 decimal places",
    BOOLEAN: "true or false",
    INTEGER: "an integer",
}

_INTEGER_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
}
_FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}
_TIMESTAMP_TYPES = {
    "TIMESTAMP",
    "TIMESTAMP_S",
    "TIMESTAMP_MS",
    "TIMESTAMP_NS",
    "TIMESTAMP WITH TIME ZONE",
}


def sql_literal(value: object) -> str:
    """A SQL string literal (paths, periods): single quotes doubled."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class TableSource:
    """A validated input file and how to read it in SQL.

    ``key_types`` gives, for each msisdn/key column, the SQL type the input carries:
    ``VARCHAR`` or an integer type (a CSV column of integers is ``BIGINT``; None for an
    empty CSV, where nothing says).
    """

    table: Table
    path: Path
    format: str  # "csv" | "parquet"
    rows: int
    key_types: dict[str, str | None] = field(default_factory=dict)
    parquet_types: dict[str, str] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return self.path.name

    def scan_sql(self, *, numbered: bool = False) -> str:
        """The file as an SQL table expression (all columns as stored).

        ``numbered`` adds ``__row``, the 1-based data row; for a CSV it is only in file
        order when the query runs through :func:`in_file_order`.
        """
        if self.format == "csv":
            scan = _csv_scan(self.path)
            if numbered:
                return f"(SELECT row_number() OVER () AS __row, * FROM {scan})"
            return scan
        if numbered:
            return (
                f"(SELECT file_row_number + 1 AS __row, * FROM "
                f"read_parquet({sql_literal(self.path)}, file_row_number=true))"
            )
        return f"read_parquet({sql_literal(self.path)})"

    def relation_sql(
        self, key_types: dict[str, str] | None = None, *, numbered: bool = False
    ) -> str:
        """``SELECT`` of the typed columns.

        Every column keeps its contract name with its engine type (TIMESTAMP, DATE,
        DECIMAL(14,2), BOOLEAN, BIGINT, VARCHAR); ``msisdn`` keeps the input's type and
        ``m`` is the BIGINT msisdn to join on. ``key_types`` overrides the type of key
        columns (``product_code`` shared by all tables must have one type).
        """
        key_types = key_types or {}
        selected = ["__row"] if numbered else []
        for column in self.table.columns:
            value = self._typed(column, key_types.get(column.name))
            selected.append(f"{value} AS {sql_name(column.name)}")
            if column.kind == MSISDN:
                selected.append(f"{self._typed(column, 'BIGINT')} AS m")
        return f"SELECT {', '.join(selected)} FROM {self.scan_sql(numbered=numbered)}"

    def _typed(self, column: Column, key_type: str | None) -> str:
        """SQL for ``column`` with its engine type; a column already of that type is
        used as it is, so that DuckDB can push filters down into the Parquet scan."""
        name = sql_name(column.name)
        kind = column.kind
        if self.format == "csv":
            if kind in (MSISDN, KEY):
                target = key_type or self.key_types.get(column.name) or "VARCHAR"
                return name if target == "VARCHAR" else f"CAST({name} AS {target})"
            if kind == TIMESTAMP:
                return f"strptime({name}, '{_TIMESTAMP_FORMAT}')"
            if kind == DATE:
                return f"CAST({name} AS DATE)"
            if kind == MONEY:
                return f"CAST({name} AS DECIMAL(14,2))"
            if kind == BOOLEAN:
                return f"(lower({name}) = 'true')"
            if kind == INTEGER:
                return f"CAST({name} AS BIGINT)"
            return name
        source_type = self.parquet_types[column.name]
        if kind in (MSISDN, KEY):
            target = key_type or self.key_types.get(column.name) or "VARCHAR"
        elif kind == TIMESTAMP:
            target = "TIMESTAMP"
        elif kind == DATE:
            target = "DATE"
        elif kind == MONEY:
            target = "DECIMAL(14,2)"
            if source_type in _FLOAT_TYPES:
                return f"CAST(round({name}, 2) AS DECIMAL(14,2))"
        elif kind == INTEGER:
            target = "BIGINT"
        else:
            return name
        return name if source_type == target else f"CAST({name} AS {target})"


def _csv_scan(path: Path) -> str:
    return (
        f"read_csv({sql_literal(path)}, header=true, all_varchar=true, delim=',', "
        "quote='\"', escape='\"', encoding='utf-8')"
    )


def find_table_file(input_dir: Path, name: str) -> Path | None:
    """``DIR/<name>.parquet`` or ``DIR/<name>.csv``; both present is bad input."""
    parquet = input_dir / f"{name}.parquet"
    csv = input_dir / f"{name}.csv"
    if parquet.is_file() and csv.is_file():
        raise SettlementInputError(
            f"both {parquet.name} and {csv.name} are present: give one", file=parquet.name
        )
    if parquet.is_file():
        return parquet
    if csv.is_file():
        return csv
    return None


def table_validate(name: str, path: Path | str) -> int:
    """Validate one input file against the contract; return its number of data rows.

    Raises :class:`SettlementInputError` naming the file, the first bad row and the
    column. Table-level rules are checked too: ``record_id`` unique in ``records``,
    versions of a product in ``products`` not overlapping.
    """
    path = Path(path)
    con = connect()
    try:
        source = table_inspect(con, name, path)
        table_check_constraints(con, source)
        return source.rows
    finally:
        con.close()


def connect(
    *,
    memory_limit: str | None = None,
    threads: int | None = None,
    temp_directory: Path | None = None,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection set up for the engine: local time zone, no insertion order."""
    con = duckdb.connect(":memory:")
    con.execute(f"SET TimeZone = {sql_literal(LOCAL_TIME_ZONE)}")
    con.execute("SET enable_progress_bar = false")
    con.execute("SET preserve_insertion_order = false")
    if memory_limit:
        con.execute(f"SET memory_limit = {sql_literal(memory_limit)}")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if temp_directory is not None:
        con.execute(f"SET temp_directory = {sql_literal(temp_directory)}")
    return con


def table_inspect(
    con: duckdb.DuckDBPyConnection, name: str, path: Path, *, deferred: tuple[str, ...] = ()
) -> TableSource:
    """Validate ``path`` as table ``name`` (see the module docstring) and describe it.

    ``deferred`` names Parquet choice columns whose values the caller checks itself, on
    the rows it uses (the engine checks ``subscribers.status`` in its join rather than
    reading 50 M statuses twice); :func:`check_choice_values` finds the first bad row.
    """
    if name not in TABLES:
        raise SettlementInputError(f"unknown table {name!r}", file=Path(path).name)
    table = TABLES[name]
    path = Path(path)
    if not path.is_file():
        raise SettlementInputError("file not found", file=path.name)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _inspect_csv(con, table, path)
    if suffix == ".parquet":
        return _inspect_parquet(con, table, path, deferred=deferred)
    raise SettlementInputError("not a .csv or .parquet file", file=path.name)


def _duckdb_message(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _columns_present(con, table: Table, path: Path, scan: str) -> dict[str, str]:
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()
    except duckdb.Error as error:
        raise SettlementInputError(
            f"cannot read the file ({_duckdb_message(error)})", file=path.name
        ) from error
    types = {row[0]: row[1] for row in described}
    for column in table.columns:
        if column.name not in types:
            raise SettlementInputError(
                "missing column (required: " + ", ".join(table.column_names) + ")",
                file=path.name,
                column=column.name,
            )
    return types


# ---------------------------------------------------------------- CSV


def _csv_ok(column: Column) -> str:
    """SQL boolean, never null: the CSV value of ``column`` is good."""
    name = sql_name(column.name)
    kind = column.kind
    if kind == MSISDN:
        check = f"regexp_full_match({name}, '{_RE_MSISDN}')"
    elif kind == KEY:
        check = "true"
    elif kind == TIMESTAMP:
        check = (
            f"(regexp_full_match({name}, '{_RE_TIMESTAMP}') AND "
            f"try_strptime({name}, '{_TIMESTAMP_FORMAT}') IS NOT NULL)"
        )
    elif kind == DATE:
        check = (
            f"(regexp_full_match({name}, '{_RE_DATE}') AND "
            f"try_strptime({name}, '{_DATE_FORMAT}') IS NOT NULL)"
        )
    elif kind == MONEY:
        check = f"regexp_full_match({name}, '{_RE_MONEY}')"
    elif kind == BOOLEAN:
        check = f"lower({name}) IN ('true', 'false')"
    elif kind == INTEGER:
        check = f"regexp_full_match({name}, '{_RE_INTEGER}')"
    elif kind == CHOICE:
        check = f"{name} IN ({', '.join(sql_literal(c) for c in column.choices)})"
    else:  # pragma: no cover - TABLES is fixed
        raise ValueError(kind)
    if column.nullable:
        return f"({name} IS NULL OR coalesce({check}, false))"
    return f"({name} IS NOT NULL AND coalesce({check}, false))"


def _csv_problem(column: Column, value: str | None) -> str:
    if value is None:
        return "empty value in a column that may not be empty"
    shown = value if len(value) <= 40 else value[:37] + "..."
    if column.kind == CHOICE:
        return f"{shown!r} is not one of " + ", ".join(column.choices)
    return f"{shown!r} is not {_EXPECTED[column.kind]}"


def _inspect_csv(con, table: Table, path: Path) -> TableSource:
    scan = _csv_scan(path)
    _columns_present(con, table, path, scan)
    checks = [_csv_ok(column) for column in table.columns]
    key_columns = [c for c in table.columns if c.kind in (MSISDN, KEY)]
    detections = [
        f"bool_and({sql_name(c.name)} IS NULL OR "
        f"regexp_full_match({sql_name(c.name)}, '{_RE_CANONICAL_INTEGER}'))"
        for c in key_columns
    ]
    query = (
        f"SELECT count(*), bool_and({' AND '.join(checks)}) "
        + "".join(f", {d}" for d in detections)
        + f" FROM {scan}"
    )
    try:
        row = con.execute(query).fetchone()
    except duckdb.Error as error:
        raise SettlementInputError(
            f"cannot read the file ({_duckdb_message(error)})", file=path.name
        ) from error
    rows, all_good = row[0], row[1]
    if rows and not all_good:
        _raise_first_bad_csv_row(con, table, path, scan, checks)
    key_types = {}
    for column, integer_like in zip(key_columns, row[2:], strict=True):
        key_types[column.name] = (
            None if integer_like is None else ("BIGINT" if integer_like else "VARCHAR")
        )
    return TableSource(table, path, "csv", rows, key_types=key_types)


def _raise_first_bad_csv_row(con, table: Table, path: Path, scan: str, checks: list[str]):
    """Error path: find the first bad data row (file order) and its first bad column."""
    columns = ", ".join(sql_name(c.name) for c in table.columns)
    numbered = f"SELECT row_number() OVER () AS __row, * FROM {scan}"
    query = (
        f"SELECT __row, {', '.join(checks)}, {columns} FROM ({numbered}) "
        f"WHERE NOT ({' AND '.join(checks)}) ORDER BY __row LIMIT 1"
    )
    row = in_file_order(con, query)
    count = len(table.columns)
    oks, values = row[1 : 1 + count], row[1 + count :]
    for column, ok, value in zip(table.columns, oks, values, strict=True):
        if not ok:
            raise SettlementInputError(
                _csv_problem(column, value), file=path.name, row=row[0], column=column.name
            )
    raise AssertionError("a bad row without a bad column")  # pragma: no cover


def in_file_order(con, query: str):
    """Run ``query`` (using ``row_number() OVER ()`` over a CSV scan) in file order.

    One thread with insertion order preserved reads the file sequentially; only the
    error paths use it.
    """
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET threads = 1")
    try:
        return con.execute(query).fetchone()
    finally:
        con.execute(f"SET threads = {int(threads)}")
        con.execute("SET preserve_insertion_order = false")


# ---------------------------------------------------------------- Parquet


def _parquet_type_ok(column: Column, source_type: str) -> bool:
    base = source_type.split("(")[0].strip()
    kind = column.kind
    if kind in (MSISDN, KEY):
        return base in _INTEGER_TYPES or base == "VARCHAR"
    if kind == TIMESTAMP:
        return source_type in _TIMESTAMP_TYPES
    if kind == DATE:
        return base == "DATE" or source_type in _TIMESTAMP_TYPES
    if kind == MONEY:
        return base == "DECIMAL" or base in _INTEGER_TYPES or base in _FLOAT_TYPES
    if kind == BOOLEAN:
        return base == "BOOLEAN"
    if kind == INTEGER:
        return base in _INTEGER_TYPES
    if kind == CHOICE:
        return base == "VARCHAR"
    return False  # pragma: no cover


_WANTED = {
    MSISDN: "an integer or string column",
    KEY: "an integer or string column",
    TIMESTAMP: "a timestamp column",
    DATE: "a date column",
    MONEY: "a decimal, integer or floating-point column",
    BOOLEAN: "a boolean column",
    INTEGER: "an integer column",
    CHOICE: "a string column",
}


def _inspect_parquet(con, table: Table, path: Path, *, deferred=()) -> TableSource:
    scan = f"read_parquet({sql_literal(path)})"
    types = _columns_present(con, table, path, scan)
    for column in table.columns:
        if not _parquet_type_ok(column, types[column.name]):
            raise SettlementInputError(
                f"type {types[column.name]} is incompatible: expected {_WANTED[column.kind]}",
                file=path.name,
                column=column.name,
            )
    rows = con.execute(
        f"SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata({sql_literal(path)})"
    ).fetchone()[0]
    source = TableSource(
        table,
        path,
        "parquet",
        int(rows),
        key_types={c.name: types[c.name] for c in table.columns if c.kind in (MSISDN, KEY)},
        parquet_types={c.name: types[c.name] for c in table.columns},
    )
    if rows:
        _check_parquet_nulls(con, source)
        _check_parquet_values(con, source, skip=deferred)
    return source


def _check_parquet_nulls(con, source: TableSource) -> None:
    """Nulls in columns that may not be null, from the row-group statistics when present."""
    not_nullable = [c for c in source.table.columns if not c.nullable]
    stats = con.execute(
        "SELECT path_in_schema, sum(stats_null_count), bool_or(stats_null_count IS NULL) "
        f"FROM parquet_metadata({sql_literal(source.path)}) GROUP BY path_in_schema"
    ).fetchall()
    by_column = {name: (nulls, unknown) for name, nulls, unknown in stats}
    suspect = [
        c
        for c in not_nullable
        if c.name not in by_column or by_column[c.name][1] or by_column[c.name][0]
    ]
    if not suspect:
        return
    condition = " OR ".join(f"{sql_name(c.name)} IS NULL" for c in suspect)
    checks = ", ".join(f"{sql_name(c.name)} IS NULL" for c in suspect)
    found = con.execute(
        f"SELECT file_row_number, {checks} FROM read_parquet({sql_literal(source.path)}, "
        f"file_row_number=true) WHERE {condition} ORDER BY file_row_number LIMIT 1"
    ).fetchone()
    if found is None:
        return
    for column, is_null in zip(suspect, found[1:], strict=True):
        if is_null:
            raise SettlementInputError(
                "null in a column that may not be null",
                file=source.file,
                row=found[0] + 1,
                column=column.name,
            )


def check_choice_values(con, source: TableSource, column_name: str) -> None:
    """Raise for the first row of ``source`` whose ``column_name`` is not a valid choice."""
    if source.format == "csv":
        _inspect_csv(con, source.table, source.path)
    else:
        _check_parquet_values(con, source, only=(column_name,))


def _check_parquet_values(con, source: TableSource, *, skip=(), only=None) -> None:
    """String msisdn must be digits; choice columns must hold one of their values."""
    checks = []
    for column in source.table.columns:
        if column.name in skip or (only is not None and column.name not in only):
            continue
        name = sql_name(column.name)
        if column.kind == MSISDN and source.parquet_types[column.name] == "VARCHAR":
            checks.append((column, f"coalesce(regexp_full_match({name}, '{_RE_MSISDN}'), true)"))
        elif column.kind == CHOICE:
            values = ", ".join(sql_literal(v) for v in column.choices)
            checks.append((column, f"coalesce({name} IN ({values}), true)"))
    if not checks:
        return
    scan = f"read_parquet({sql_literal(source.path)})"
    good = con.execute(
        f"SELECT bool_and({' AND '.join(check for _, check in checks)}) FROM {scan}"
    ).fetchone()[0]
    if good is not False:
        return
    found = con.execute(
        f"SELECT file_row_number, {', '.join(c for _, c in checks)}, "
        f"{', '.join(sql_name(column.name) for column, _ in checks)} "
        f"FROM read_parquet({sql_literal(source.path)}, file_row_number=true) "
        f"WHERE NOT ({' AND '.join(c for _, c in checks)}) ORDER BY file_row_number LIMIT 1"
    ).fetchone()
    count = len(checks)
    for (column, _), ok, value in zip(
        checks, found[1 : 1 + count], found[1 + count :], strict=True
    ):
        if not ok:
            raise SettlementInputError(
                _csv_problem(column, value),
                file=source.file,
                row=found[0] + 1,
                column=column.name,
            )


def raise_unconvertible(con, sources: list[TableSource], error: Exception) -> None:
    """Error path of a failed cast while settling (a Parquet DECIMAL(38,2) amount beyond
    DECIMAL(14,2), an integer code beyond BIGINT …): name the first such value."""
    for source in sources:
        if source.format != "parquet" or not source.rows:
            continue
        for column in source.table.columns:
            typed = source._typed(column, None)
            if typed == sql_name(column.name):
                continue  # used as stored: cannot fail
            name = sql_name(column.name)
            found = con.execute(
                f"SELECT file_row_number, CAST({name} AS VARCHAR) FROM "
                f"read_parquet({sql_literal(source.path)}, file_row_number=true) "
                f"WHERE {name} IS NOT NULL AND TRY({typed}) IS NULL "
                "ORDER BY file_row_number LIMIT 1"
            ).fetchone()
            if found is not None:
                raise SettlementInputError(
                    f"{found[1]!r} cannot be converted ({_EXPECTED[column.kind]} "
                    "that fits the engine's type)",
                    file=source.file,
                    row=int(found[0]) + 1,
                    column=column.name,
                ) from error
    raise SettlementInputError(f"a value cannot be converted ({_duckdb_message(error)})") from error


# ---------------------------------------------------------------- table-level rules


def raise_duplicate_record_id(con, source: TableSource, record_id) -> None:
    """Bad input: ``record_id`` appears twice in records; names its second row."""
    literal = str(record_id) if isinstance(record_id, int) else sql_literal(record_id)
    found = in_file_order(
        con,
        f"SELECT __row FROM ({source.relation_sql(numbered=True)}) "
        f"WHERE record_id = {literal} ORDER BY __row LIMIT 1 OFFSET 1",
    )
    raise SettlementInputError(
        f"record_id {record_id!r} appears more than once",
        file=source.file,
        row=None if found is None else int(found[0]),
        column="record_id",
    )


def table_check_constraints(con, source: TableSource) -> None:
    """Table-level rules: unique ``record_id`` in records; products versions not overlapping."""
    if source.rows == 0:
        return
    if source.table.name == "records":
        duplicate = con.execute(
            f"SELECT record_id FROM ({source.relation_sql()}) GROUP BY record_id "
            "HAVING count(*) > 1 ORDER BY record_id LIMIT 1"
        ).fetchone()
        if duplicate is not None:
            raise_duplicate_record_id(con, source, duplicate[0])
    elif source.table.name == "products":
        check_product_versions(con, source)


def check_product_versions(con, source: TableSource) -> None:
    """Two versions of a product whose date ranges overlap are bad input: the contract
    needs exactly one version to apply on a date. Names the later row of the two."""
    found = in_file_order(
        con,
        f"WITH p AS ({source.relation_sql(numbered=True)}) "
        "SELECT b.__row, b.product_code, b.effective_from FROM p a JOIN p b "
        "ON a.product_code = b.product_code AND a.__row < b.__row "
        "AND a.effective_from <= coalesce(b.effective_to, DATE '9999-12-31') "
        "AND b.effective_from <= coalesce(a.effective_to, DATE '9999-12-31') "
        "ORDER BY b.__row LIMIT 1",
    )
    if found is None:
        return
    row, code, start = found
    raise SettlementInputError(
        f"version of product {code!r} from {start} overlaps another version of it",
        file=source.file,
        row=int(row),
        column="effective_from",
    )


_PERIOD = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


def parse_period(period: str) -> tuple[int, int]:
    match = _PERIOD.fullmatch(str(period or ""))
    if not match:
        raise SettlementInputError(f"period {period!r} is not YYYY-MM", column="period")
    return int(match.group(1)), int(match.group(2))
