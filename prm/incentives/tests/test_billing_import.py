"""The monthly billing-extract import (R4; services/billing.py): a good month in CSV and
Parquet (daily usage rolled up), re-import, the lock, every kind of bad input (nothing
changed in the store or the database), and the atomic replacement of a month.

The builders here are shared by the other billing and assist tests.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from prm.core.exceptions import ApplicationError
from prm.core.models import AuditEvent
from prm.incentives.models import BillingImport, BillingMonth
from prm.incentives.services import billing as billing_service
from prm.incentives.services.billing import billing_import_create, billing_import_execute
from prm.incentives.storage import billing_month_dir, billing_staging_dir
from prm.incentives.tests import factories

pytestmark = pytest.mark.django_db

MONTH = date(2026, 3, 1)
A, B, C = "13800130001", "13800130002", "13800130003"

HEADERS = {
    "subscribers": ("msisdn", "activated_on", "status", "in_arrears"),
    "usage_daily": ("msisdn", "day", "voice_calls"),
    "usage_monthly": ("msisdn", "month", "first_voice_day", "last_voice_day", "voice_calls"),
    "product_changes": ("msisdn", "product_code", "changed_at", "change_type"),
    "billing": ("msisdn", "product_code", "month", "billed_amount"),
    "complaints": ("msisdn", "product_code", "complained_at", "kind", "upheld"),
}


def good_rows(month: date = MONTH) -> dict[str, list[tuple]]:
    """A small good month: three subscribers, daily usage, a change, billing, a complaint."""
    m = month.strftime("%Y-%m")
    return {
        "subscribers": [
            (A, "2024-01-10", "active", "false"),
            (B, "2025-06-01", "active", "true"),
            (C, "2020-02-02", "closed", "false"),
        ],
        "usage_daily": [
            (A, f"{m}-05", "0"),
            (A, f"{m}-02", "3"),
            (A, f"{m}-28", "4"),
            (B, f"{m}-10", "0"),
            (C, f"{m}-01", "1"),
        ],
        "product_changes": [(A, "CRBT", f"{m}-15 10:00:00", "modify")],
        "billing": [(A, "CRBT", f"{m}-01", "5.00"), (B, "WBR", f"{m}-01", "2.00")],
        "complaints": [(B, "WBR", f"{m}-20 09:00:00", "other", "false")],
    }


def csv_bytes(table: str, rows: list[tuple], header: tuple[str, ...] | None = None) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header or HEADERS[table])
    writer.writerows(rows)
    return buffer.getvalue().encode()


def parquet_bytes(table: str, rows: list[tuple], tmp_path: Path) -> bytes:
    """The rows as Parquet with the types a billing system would write (DuckDB's CSV type
    detection: BIGINT numbers, DATE, TIMESTAMP, BOOLEAN, DOUBLE money)."""
    source = tmp_path / f"_{table}.csv"
    target = tmp_path / f"_{table}.parquet"
    source.write_bytes(csv_bytes(table, rows))
    con = duckdb.connect()
    try:
        con.execute(
            f"COPY (SELECT * FROM read_csv_auto('{source}', header=true)) "
            f"TO '{target}' (FORMAT parquet)"
        )
    finally:
        con.close()
    return target.read_bytes()


def uploads(
    tables: dict[str, list[tuple]], *, fmt: str = "csv", tmp_path: Path | None = None
) -> list[SimpleUploadedFile]:
    files = []
    for table, rows in tables.items():
        if fmt == "csv":
            files.append(SimpleUploadedFile(f"{table}.csv", csv_bytes(table, rows)))
        else:
            files.append(
                SimpleUploadedFile(f"{table}.parquet", parquet_bytes(table, rows, tmp_path))
            )
    return files


def zip_upload(tables: dict[str, list[tuple]], *, name: str = "month.zip") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for table, rows in tables.items():
            archive.writestr(f"extract/{table}.csv", csv_bytes(table, rows))
    return SimpleUploadedFile(name, buffer.getvalue())


def products():
    factories.product("CRBT", monthly_fee="5.00", rebate="4.00")
    factories.product("WBR", monthly_fee="2.00", rebate="2.00", kind="data_package")


@pytest.fixture
def manager(orgs, make_user):
    return make_user(org=orgs.city_a, roles=("channel_manager",))


def run_import(manager, files, month: date | str = MONTH, *, capture) -> BillingImport:
    """Upload and run (the task runs on commit, eagerly)."""
    with capture(execute=True):
        job = billing_import_create(actor=manager, month=month, uploads=files)
    job.refresh_from_db()
    return job


def import_month(manager, month: date = MONTH, tables=None, *, capture) -> BillingImport:
    job = run_import(manager, uploads(tables or good_rows(month)), month, capture=capture)
    assert job.status == BillingImport.Status.SUCCEEDED, job.message
    return job


def read_store(month: date, table: str) -> list[tuple]:
    path = billing_month_dir(month) / f"{table}.parquet"
    con = duckdb.connect()
    try:
        return con.execute(f"SELECT * FROM read_parquet('{path}')").fetchall()
    finally:
        con.close()


def store_snapshot(month: date = MONTH) -> dict[str, str]:
    """{file name: sha256} of the month's directory (empty when absent)."""
    directory = billing_month_dir(month)
    if not directory.exists():
        return {}
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.iterdir())
    }


def db_snapshot() -> dict:
    return {
        "months": list(
            BillingMonth.objects.values_list("month", "revision", "files", "imported_at")
        ),
        "month_events": AuditEvent.objects.filter(action__startswith="billing_month.").count(),
    }


# Good months ---------------------------------------------------------------------------------


def test_import_csv_month_with_daily_usage_rolled_up(manager, django_capture_on_commit_callbacks):
    products()

    job = import_month(manager, capture=django_capture_on_commit_callbacks)

    month = BillingMonth.objects.get(month=MONTH)
    assert month.revision == 1
    assert sorted(month.files) == [
        "billing",
        "complaints",
        "product_changes",
        "subscribers",
        "usage_monthly",
    ]
    assert month.files["usage_monthly"]["name"] == "usage_daily.csv"
    assert month.files["usage_monthly"]["rows"] == 3
    for table, item in month.files.items():
        path = billing_month_dir(MONTH) / f"{table}.parquet"
        assert item["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    # Hand-computed roll-up: A voiced on the 2nd and the 28th (the 5th had 0 calls);
    # B had only a day without calls; C one call on the 1st.
    assert read_store(MONTH, "usage_monthly") == [
        (int(A), MONTH, date(2026, 3, 2), date(2026, 3, 28), 7),
        (int(B), MONTH, None, None, 0),
        (int(C), MONTH, date(2026, 3, 1), date(2026, 3, 1), 1),
    ]
    assert read_store(MONTH, "subscribers") == [
        (int(A), date(2024, 1, 10), "active", False),
        (int(B), date(2025, 6, 1), "active", True),
        (int(C), date(2020, 2, 2), "closed", False),
    ]
    assert read_store(MONTH, "billing") == [
        (int(A), "CRBT", MONTH, Decimal("5.00")),
        (int(B), "WBR", MONTH, Decimal("2.00")),
    ]
    assert read_store(MONTH, "product_changes") == [
        (int(A), "CRBT", datetime(2026, 3, 15, 10, 0), "modify")
    ]
    assert job.progress == 100
    assert job.finished_at is not None
    assert not billing_staging_dir(job.pk).exists()
    event = AuditEvent.objects.get(action="billing_month.imported")
    assert event.changes["revision"] == [0, 1]
    assert event.changes["sha256"]["billing"] == [None, month.files["billing"]["sha256"]]


def test_import_parquet_month_with_monthly_usage(
    manager, tmp_path, django_capture_on_commit_callbacks
):
    products()
    tables = good_rows()
    del tables["usage_daily"]
    tables["usage_monthly"] = [
        (B, "2026-03-01", "", "", "0"),
        (A, "2026-03-01", "2026-03-02", "2026-03-28", "7"),
    ]

    job = run_import(
        manager,
        uploads(tables, fmt="parquet", tmp_path=tmp_path),
        capture=django_capture_on_commit_callbacks,
    )

    assert job.status == BillingImport.Status.SUCCEEDED, job.message
    # Sorted by msisdn whatever the order delivered; types are the store's.
    assert read_store(MONTH, "usage_monthly") == [
        (int(A), MONTH, date(2026, 3, 2), date(2026, 3, 28), 7),
        (int(B), MONTH, None, None, 0),
    ]
    assert read_store(MONTH, "billing") == [
        (int(A), "CRBT", MONTH, Decimal("5.00")),
        (int(B), "WBR", MONTH, Decimal("2.00")),
    ]
    assert read_store(MONTH, "complaints") == [
        (int(B), "WBR", datetime(2026, 3, 20, 9, 0), "other", False)
    ]
    assert BillingMonth.objects.get(month=MONTH).files["subscribers"]["name"] == (
        "subscribers.parquet"
    )


def test_csv_and_parquet_of_the_same_month_store_the_same_rows(
    manager, tmp_path, django_capture_on_commit_callbacks
):
    products()
    import_month(manager, capture=django_capture_on_commit_callbacks)
    from_csv = {table: read_store(MONTH, table) for table in BillingMonth.objects.get().files}

    job = run_import(
        manager,
        uploads(good_rows(), fmt="parquet", tmp_path=tmp_path),
        capture=django_capture_on_commit_callbacks,
    )

    assert job.status == BillingImport.Status.SUCCEEDED, job.message
    assert {table: read_store(MONTH, table) for table in from_csv} == from_csv


def test_import_from_one_zip(manager, django_capture_on_commit_callbacks):
    products()

    job = run_import(manager, [zip_upload(good_rows())], capture=django_capture_on_commit_callbacks)

    assert job.status == BillingImport.Status.SUCCEEDED, job.message
    assert sorted(BillingMonth.objects.get(month=MONTH).files) == [
        "billing",
        "complaints",
        "product_changes",
        "subscribers",
        "usage_monthly",
    ]


def test_optional_tables_may_be_absent(manager, django_capture_on_commit_callbacks):
    products()
    rows = good_rows()

    import_month(
        manager,
        tables={"subscribers": rows["subscribers"], "usage_daily": rows["usage_daily"]},
        capture=django_capture_on_commit_callbacks,
    )

    assert sorted(BillingMonth.objects.get(month=MONTH).files) == ["subscribers", "usage_monthly"]
    assert sorted(store_snapshot()) == ["subscribers.parquet", "usage_monthly.parquet"]


@pytest.mark.parametrize(
    ("_case", "table", "row"),
    [
        (
            "change at the first second",
            "product_changes",
            (A, "CRBT", "2026-03-01 00:00:00", "modify"),
        ),
        (
            "change at the last second",
            "product_changes",
            (A, "CRBT", "2026-03-31 23:59:59", "modify"),
        ),
        (
            "complaint at the last second",
            "complaints",
            (A, "CRBT", "2026-03-31 23:59:59", "other", "true"),
        ),
        ("first usage day", "usage_daily", (B, "2026-03-01", "2")),
        ("last usage day", "usage_daily", (B, "2026-03-31", "2")),
    ],
)
def test_rows_on_the_edges_of_the_month_belong_to_it(
    manager, django_capture_on_commit_callbacks, _case, table, row
):
    products()
    tables = good_rows()
    tables[table] = [*tables[table], row]

    job = run_import(manager, uploads(tables), capture=django_capture_on_commit_callbacks)

    assert job.status == BillingImport.Status.SUCCEEDED, job.message


# Re-import and lock ------------------------------------------------------------------------------


def test_reimport_replaces_the_month_with_audit_and_revision(
    manager, django_capture_on_commit_callbacks
):
    products()
    import_month(manager, capture=django_capture_on_commit_callbacks)
    first = BillingMonth.objects.get(month=MONTH)
    old_files = dict(first.files)
    tables = good_rows()
    tables["billing"] = [(A, "CRBT", "2026-03-01", "4.50")]
    del tables["complaints"]

    job = import_month(manager, tables=tables, capture=django_capture_on_commit_callbacks)

    month = BillingMonth.objects.get(month=MONTH)
    assert month.revision == 2
    assert "complaints" not in month.files
    assert not (billing_month_dir(MONTH) / "complaints.parquet").exists()
    assert read_store(MONTH, "billing") == [(int(A), "CRBT", MONTH, Decimal("4.50"))]
    assert month.files["billing"]["sha256"] != old_files["billing"]["sha256"]
    assert month.files["subscribers"]["sha256"] == old_files["subscribers"]["sha256"]
    assert job.replaced_files == old_files
    event = AuditEvent.objects.get(action="billing_month.replaced")
    assert event.actor == manager
    assert event.changes["revision"] == [1, 2]
    assert event.changes["sha256"]["billing"] == [
        old_files["billing"]["sha256"],
        month.files["billing"]["sha256"],
    ]
    assert event.changes["sha256"]["complaints"] == [old_files["complaints"]["sha256"], None]
    # No backup or staging directory is left behind.
    assert sorted(path.name for path in billing_month_dir(MONTH).parent.iterdir()) == [
        "2026-03",
        "staging",
    ]
    assert list((billing_month_dir(MONTH).parent / "staging").iterdir()) == []


def _lock(month: date = MONTH) -> BillingMonth:
    BillingMonth.objects.filter(month=month).update(locked_at=timezone.now())
    return BillingMonth.objects.get(month=month)


def test_locked_month_is_refused_and_nothing_is_written(
    manager, settings, django_capture_on_commit_callbacks
):
    settings.LANGUAGE_CODE = "en"
    products()
    import_month(manager, capture=django_capture_on_commit_callbacks)
    _lock()
    store, db, jobs = store_snapshot(), db_snapshot(), BillingImport.objects.count()

    with pytest.raises(ApplicationError) as error:
        billing_import_create(actor=manager, month=MONTH, uploads=uploads(good_rows()))

    assert error.value.code == "billing_month_locked"
    assert "2026-03 is locked" in str(error.value.message)
    assert (store_snapshot(), db_snapshot(), BillingImport.objects.count()) == (store, db, jobs)
    assert list((billing_month_dir(MONTH).parent / "staging").iterdir()) == []


def test_month_locked_while_the_import_waits_fails_it(manager, django_capture_on_commit_callbacks):
    products()
    import_month(manager, capture=django_capture_on_commit_callbacks)
    manager.language = "en"
    manager.save(update_fields=["language"])
    job = billing_import_create(actor=manager, month=MONTH, uploads=uploads(good_rows()))
    _lock()
    store, db = store_snapshot(), db_snapshot()

    job = billing_import_execute(import_id=job.pk)

    assert job.status == BillingImport.Status.FAILED
    assert "is locked" in job.message
    assert (store_snapshot(), db_snapshot()) == (store, db)
    assert not billing_staging_dir(job.pk).exists()


# Bad input ---------------------------------------------------------------------------------------


def _without_column(table: str, column: str):
    def change(tables, files):
        header = tuple(name for name in HEADERS[table] if name != column)
        index = HEADERS[table].index(column)
        rows = [row[:index] + row[index + 1 :] for row in tables[table]]
        files[table] = SimpleUploadedFile(f"{table}.csv", csv_bytes(table, rows, header))

    return change


def _row(table: str, index: int, row: tuple):
    """Replace (index < len) or append the data row ``index`` (0-based) of ``table``."""

    def change(tables, files):
        rows = list(tables[table])
        if index < len(rows):
            rows[index] = row
        else:
            rows.append(row)
        files[table] = SimpleUploadedFile(f"{table}.csv", csv_bytes(table, rows))

    return change


def _usage_monthly(rows: list[tuple]):
    def change(tables, files):
        del files["usage_daily"]
        files["usage_monthly"] = SimpleUploadedFile(
            "usage_monthly.csv", csv_bytes("usage_monthly", rows)
        )

    return change


BAD_INPUT = [
    # (case, change, file, row, column)
    (
        "missing column",
        _without_column("subscribers", "in_arrears"),
        "subscribers.csv",
        None,
        "in_arrears",
    ),
    (
        "wrong type: money",
        _row("billing", 1, (B, "WBR", "2026-03-01", "two")),
        "billing.csv",
        2,
        "billed_amount",
    ),
    (
        "wrong type: date",
        _row("usage_daily", 2, (A, "28/03/2026", "4")),
        "usage_daily.csv",
        3,
        "day",
    ),
    (
        "wrong choice",
        _row("subscribers", 2, (C, "2020-02-02", "Closed", "false")),
        "subscribers.csv",
        3,
        "status",
    ),
    (
        "usage day just before the month",
        _row("usage_daily", 4, (C, "2026-02-28", "1")),
        "usage_daily.csv",
        5,
        "day",
    ),
    (
        "usage day just after the month",
        _row("usage_daily", 5, (C, "2026-04-01", "1")),
        "usage_daily.csv",
        6,
        "day",
    ),
    (
        "billing of another month",
        _row("billing", 1, (B, "WBR", "2026-04-01", "2.00")),
        "billing.csv",
        2,
        "month",
    ),
    (
        "billing month not its first day",
        _row("billing", 0, (A, "CRBT", "2026-03-15", "5.00")),
        "billing.csv",
        1,
        "month",
    ),
    (
        "change a second before the month",
        _row("product_changes", 0, (A, "CRBT", "2026-02-28 23:59:59", "modify")),
        "product_changes.csv",
        1,
        "changed_at",
    ),
    (
        "change at the start of the next month",
        _row("product_changes", 1, (A, "CRBT", "2026-04-01 00:00:00", "modify")),
        "product_changes.csv",
        2,
        "changed_at",
    ),
    (
        "complaint of another month",
        _row("complaints", 0, (B, "WBR", "2026-01-20 09:00:00", "other", "false")),
        "complaints.csv",
        1,
        "complained_at",
    ),
    (
        "monthly usage of another month",
        _usage_monthly([(A, "2026-02-01", "", "", "0")]),
        "usage_monthly.csv",
        1,
        "month",
    ),
    (
        "monthly voice day outside",
        _usage_monthly([(A, "2026-03-01", "2026-03-02", "2026-04-02", "3")]),
        "usage_monthly.csv",
        1,
        "last_voice_day",
    ),
    (
        "unknown product in billing",
        _row("billing", 1, (B, "NOPE", "2026-03-01", "2.00")),
        "billing.csv",
        2,
        "product_code",
    ),
    (
        "unknown product in changes",
        _row("product_changes", 0, (A, "crbt", "2026-03-15 10:00:00", "modify")),
        "product_changes.csv",
        1,
        "product_code",
    ),
    (
        "unknown product in complaints",
        _row("complaints", 1, (A, "X1", "2026-03-15 10:00:00", "other", "true")),
        "complaints.csv",
        2,
        "product_code",
    ),
    (
        "duplicate subscriber",
        _row("subscribers", 3, (A, "2024-01-10", "active", "false")),
        "subscribers.csv",
        4,
        "msisdn",
    ),
    (
        "duplicate billing key",
        _row("billing", 2, (A, "CRBT", "2026-03-01", "1.00")),
        "billing.csv",
        3,
        "month",
    ),
    (
        "duplicate usage day",
        _row("usage_daily", 5, (A, "2026-03-28", "1")),
        "usage_daily.csv",
        6,
        "day",
    ),
    (
        "duplicate monthly usage",
        _usage_monthly(
            [
                (A, "2026-03-01", "", "", "0"),
                (B, "2026-03-01", "", "", "0"),
                (A, "2026-03-01", "", "", "0"),
            ]
        ),
        "usage_monthly.csv",
        3,
        "month",
    ),
]


@pytest.mark.parametrize(("_case", "change", "file", "row", "column"), BAD_INPUT)
def test_bad_input_changes_nothing_and_says_where(
    manager, django_capture_on_commit_callbacks, _case, change, file, row, column
):
    products()
    import_month(manager, capture=django_capture_on_commit_callbacks)
    manager.language = "en"
    manager.save(update_fields=["language"])
    store, db = store_snapshot(), db_snapshot()
    tables = good_rows()
    files = {
        table: SimpleUploadedFile(f"{table}.csv", csv_bytes(table, rows))
        for table, rows in tables.items()
    }
    change(tables, files)

    job = run_import(manager, list(files.values()), capture=django_capture_on_commit_callbacks)

    assert job.status == BillingImport.Status.FAILED
    assert job.message.startswith(file + (f", row {row}" if row else "") + f", column {column}: ")
    assert (store_snapshot(), db_snapshot()) == (store, db)
    assert BillingMonth.objects.get(month=MONTH).revision == 1
    assert not billing_staging_dir(job.pk).exists()
    assert AuditEvent.objects.filter(action="billing_import.failed", target_id=str(job.pk)).exists()


def test_bad_parquet_input_names_the_row(manager, tmp_path, django_capture_on_commit_callbacks):
    products()
    manager.language = "en"
    manager.save(update_fields=["language"])
    tables = good_rows()
    tables["billing"] = [*tables["billing"], (C, "NOPE", "2026-03-01", "1.5")]

    job = run_import(
        manager,
        uploads(tables, fmt="parquet", tmp_path=tmp_path),
        capture=django_capture_on_commit_callbacks,
    )

    assert job.status == BillingImport.Status.FAILED
    assert job.message.startswith("billing.parquet, row 3, column product_code: unknown product")
    assert not BillingMonth.objects.exists()
    assert store_snapshot() == {}


@pytest.mark.parametrize(
    ("_case", "names", "code"),
    [
        ("no subscribers", ["usage_daily.csv"], "billing_subscribers_missing"),
        ("no usage", ["subscribers.csv", "billing.csv"], "billing_usage_missing"),
        (
            "both usage forms",
            ["subscribers.csv", "usage_daily.csv", "usage_monthly.csv"],
            "billing_usage_twice",
        ),
        (
            "unexpected name",
            ["subscribers.csv", "usage_daily.csv", "records.csv"],
            "billing_file_unexpected",
        ),
        ("unexpected suffix", ["subscribers.csv", "usage_daily.xlsx"], "billing_file_unexpected"),
        (
            "a table twice",
            ["subscribers.csv", "subscribers.parquet", "usage_daily.csv"],
            "billing_table_twice",
        ),
        ("zip with other files", ["month.zip", "subscribers.csv"], "billing_zip_alone"),
        ("nothing", [], "billing_files_missing"),
    ],
)
def test_a_wrong_set_of_files_is_refused_at_upload(manager, _case, names, code):
    rows = good_rows()
    files = []
    for name in names:
        table = name.split(".")[0]
        files.append(
            SimpleUploadedFile(
                name, csv_bytes(table, rows.get(table, [])) if table in HEADERS else b"x"
            )
        )
    if "subscribers.parquet" in names:
        files[1] = SimpleUploadedFile("subscribers.parquet", b"PAR1" + b"\0" * 8)
    if "month.zip" in names:
        files[0] = zip_upload(rows)

    with pytest.raises(ApplicationError) as error:
        billing_import_create(actor=manager, month=MONTH, uploads=files)

    assert error.value.code == code
    assert BillingImport.objects.count() == 0
    assert not (billing_month_dir(MONTH).parent / "staging").exists() or not list(
        (billing_month_dir(MONTH).parent / "staging").iterdir()
    )


@pytest.mark.parametrize(
    ("_case", "file", "code"),
    [
        (
            "parquet that is not",
            SimpleUploadedFile("billing.parquet", b"msisdn\n1\n"),
            "billing_file_type",
        ),
        (
            "zip that is not",
            SimpleUploadedFile("month.zip", b"PK\x03\x04garbage"),
            "billing_file_type",
        ),
        ("zip that is text", SimpleUploadedFile("month.zip", b"hello"), "billing_file_type"),
    ],
)
def test_a_file_of_the_wrong_kind_is_refused_at_upload(manager, _case, file, code):
    rows = good_rows()
    files = [file]
    if not file.name.endswith(".zip"):
        files += uploads({"subscribers": rows["subscribers"], "usage_daily": rows["usage_daily"]})

    with pytest.raises(ApplicationError) as error:
        billing_import_create(actor=manager, month=MONTH, uploads=files)

    assert error.value.code == code
    assert BillingImport.objects.count() == 0


@pytest.mark.parametrize(
    ("_case", "month", "code"),
    [
        ("not a month", "2026-13", "billing_month_invalid"),
        ("free text", "March", "billing_month_invalid"),
        ("next month", "2026-12", "billing_month_future"),
    ],
)
def test_a_bad_month_is_refused(manager, _case, month, code):
    moment = datetime(2026, 11, 30, 23, 0, tzinfo=timezone.get_default_timezone())
    with time_machine.travel(moment), pytest.raises(ApplicationError) as error:
        billing_import_create(actor=manager, month=month, uploads=uploads(good_rows()))

    assert error.value.code == code
    assert BillingImport.objects.count() == 0


def test_the_current_month_may_be_imported(manager, django_capture_on_commit_callbacks):
    products()
    with time_machine.travel(datetime(2026, 3, 31, 23, 0, tzinfo=timezone.get_default_timezone())):
        job = run_import(
            manager, uploads(good_rows()), "2026-03", capture=django_capture_on_commit_callbacks
        )

    assert job.status == BillingImport.Status.SUCCEEDED, job.message


@pytest.mark.parametrize(
    ("_case", "org", "roles"),
    [
        ("county channel manager", "county_a", ("channel_manager",)),
        ("hq channel manager", "hq", ("channel_manager",)),
        ("city auditor", "city_a", ("auditor",)),
        ("partner user", "partner", ()),
    ],
)
def test_only_province_or_city_channel_managers_import(orgs, make_user, _case, org, roles):
    user = make_user(org=getattr(orgs, org), roles=roles)

    with pytest.raises(ApplicationError) as error:
        billing_import_create(actor=user, month=MONTH, uploads=uploads(good_rows()))

    assert error.value.status == 403
    assert BillingImport.objects.count() == 0


def test_a_province_channel_manager_imports(orgs, make_user, django_capture_on_commit_callbacks):
    products()
    user = make_user(org=orgs.province, roles=("channel_manager",))

    import_month(user, capture=django_capture_on_commit_callbacks)

    assert BillingMonth.objects.get().revision == 1


# The atomic replacement ---------------------------------------------------------------------------


def test_a_failure_during_the_swap_leaves_the_old_month(
    manager, monkeypatch, django_capture_on_commit_callbacks
):
    products()
    import_month(manager, capture=django_capture_on_commit_callbacks)
    store, db = store_snapshot(), db_snapshot()
    month_dir = billing_month_dir(MONTH)
    real_rename = billing_service._rename

    def rename(source, target):
        if Path(target) == month_dir and "staging" in str(source):
            raise OSError("disk gone")
        return real_rename(source, target)

    monkeypatch.setattr(billing_service, "_rename", rename)
    tables = good_rows()
    tables["billing"] = [(A, "CRBT", "2026-03-01", "9.99")]

    job = run_import(manager, uploads(tables), capture=django_capture_on_commit_callbacks)

    assert job.status == BillingImport.Status.FAILED
    assert "OSError" in job.message
    assert (store_snapshot(), db_snapshot()) == (store, db)
    assert sorted(path.name for path in month_dir.parent.iterdir()) == ["2026-03", "staging"]


def test_a_failure_after_the_swap_puts_the_old_month_back(
    manager, monkeypatch, django_capture_on_commit_callbacks
):
    products()
    import_month(manager, capture=django_capture_on_commit_callbacks)
    store, db = store_snapshot(), db_snapshot()
    tables = good_rows()
    tables["billing"] = [(A, "CRBT", "2026-03-01", "9.99")]
    job = billing_import_create(actor=manager, month=MONTH, uploads=uploads(tables))
    real_audit = billing_service.audit_event_create

    def audit(**kwargs):
        if kwargs["action"].startswith("billing_month."):
            # The month's directory is already swapped when its audit event is written.
            assert read_store(MONTH, "billing") == [(int(A), "CRBT", MONTH, Decimal("9.99"))]
            raise RuntimeError("database gone")
        return real_audit(**kwargs)

    monkeypatch.setattr(billing_service, "audit_event_create", audit)

    job = billing_import_execute(import_id=job.pk)

    assert job.status == BillingImport.Status.FAILED
    assert "RuntimeError" in job.message
    assert (store_snapshot(), db_snapshot()) == (store, db)
    assert sorted(path.name for path in billing_month_dir(MONTH).parent.iterdir()) == [
        "2026-03",
        "staging",
    ]


def test_a_first_import_that_fails_after_the_swap_leaves_no_month(
    manager, monkeypatch, django_capture_on_commit_callbacks
):
    products()
    job = billing_import_create(actor=manager, month=MONTH, uploads=uploads(good_rows()))
    real_audit = billing_service.audit_event_create

    def audit(**kwargs):
        if kwargs["action"].startswith("billing_month."):
            raise RuntimeError("database gone")
        return real_audit(**kwargs)

    monkeypatch.setattr(billing_service, "audit_event_create", audit)

    job = billing_import_execute(import_id=job.pk)

    assert job.status == BillingImport.Status.FAILED
    assert "RuntimeError" in job.message
    assert not BillingMonth.objects.exists()
    assert not billing_month_dir(MONTH).exists()


def test_an_interrupted_swap_is_recovered_by_the_next_import(
    manager, django_capture_on_commit_callbacks
):
    products()
    import_month(manager, capture=django_capture_on_commit_callbacks)
    month_dir = billing_month_dir(MONTH)
    # A crash between the two renames: the month is only in its backup.
    month_dir.rename(month_dir.with_name(".2026-03.old-99"))

    import_month(manager, capture=django_capture_on_commit_callbacks)

    assert BillingMonth.objects.get().revision == 2
    assert sorted(path.name for path in month_dir.parent.iterdir()) == ["2026-03", "staging"]


def test_a_parquet_column_of_the_wrong_type_is_refused(
    manager, tmp_path, django_capture_on_commit_callbacks
):
    products()
    manager.language = "en"
    manager.save(update_fields=["language"])
    target = tmp_path / "billing.parquet"
    con = duckdb.connect()
    try:
        con.execute(
            "COPY (SELECT 13800130001 AS msisdn, 'CRBT' AS product_code, DATE '2026-03-01' AS "
            f"month, 'five' AS billed_amount) TO '{target}' (FORMAT parquet)"
        )
    finally:
        con.close()
    rows = good_rows()
    files = uploads({"subscribers": rows["subscribers"], "usage_daily": rows["usage_daily"]})
    files.append(SimpleUploadedFile("billing.parquet", target.read_bytes()))

    job = run_import(manager, files, capture=django_capture_on_commit_callbacks)

    assert job.status == BillingImport.Status.FAILED
    assert job.message.startswith("billing.parquet, column billed_amount: type VARCHAR")
    assert not BillingMonth.objects.exists()
    assert store_snapshot() == {}
