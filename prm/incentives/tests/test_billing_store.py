"""Reads of the billing store (selectors_billing.py): the months and their files, the
"had the product" check of the recommendation entry rule, and a subscriber's profile."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb
import pytest
from django.utils import timezone

from prm.incentives.models import BillingMonth
from prm.incentives.selectors_billing import (
    billing_had_product,
    billing_month_files,
    billing_months,
    subscriber_profile,
)
from prm.incentives.services import billing as billing_service
from prm.incentives.storage import billing_month_dir
from prm.incentives.tests.test_billing_import import A, B, C, good_rows, import_month, products

pytestmark = pytest.mark.django_db

JAN, FEB, MAR, APR = (date(2026, month, 1) for month in (1, 2, 3, 4))


@pytest.fixture
def manager(orgs, make_user):
    products()
    return make_user(org=orgs.city_a, roles=("channel_manager",))


def _month(month: date, *, calls: dict[str, int], billing=(), subscribers=None) -> dict:
    """A month's tables: one usage day per number with ``calls`` calls (0 allowed)."""
    rows = good_rows(month)
    m = month.strftime("%Y-%m")
    rows["usage_daily"] = [(number, f"{m}-10", str(count)) for number, count in calls.items()]
    rows["billing"] = [(number, code, f"{m}-01", amount) for number, code, amount in billing]
    rows["product_changes"] = []
    rows["complaints"] = []
    if subscribers is not None:
        rows["subscribers"] = subscribers
    return rows


def test_months_and_files(manager, django_capture_on_commit_callbacks):
    rows = good_rows(FEB)
    import_month(
        manager,
        FEB,
        tables={"subscribers": rows["subscribers"], "usage_daily": rows["usage_daily"]},
        capture=django_capture_on_commit_callbacks,
    )
    import_month(manager, MAR, capture=django_capture_on_commit_callbacks)
    # A month row that only carries a lock (never imported) is no imported month.
    BillingMonth.objects.create(month=APR, locked_at=timezone.now())

    months = billing_months()
    files = billing_month_files(month=date(2026, 3, 17))

    assert [month.month for month in months] == [MAR, FEB]
    assert list(files) == [
        "subscribers",
        "usage_monthly",
        "product_changes",
        "billing",
        "complaints",
    ]
    assert files["billing"] == billing_month_dir(MAR) / "billing.parquet"
    assert list(billing_month_files(month=FEB)) == ["subscribers", "usage_monthly"]
    assert billing_month_files(month=APR) == {}
    assert billing_month_files(month=JAN) == {}


@pytest.mark.parametrize(
    ("_case", "msisdn", "product", "months", "expected"),
    [
        ("billed in one of the months", A, "CRBT", [JAN, FEB, MAR], True),
        ("billed in the only month", A, "CRBT", [MAR], True),
        ("billed a cent", C, "CRBT", [MAR], True),
        ("billed zero", B, "CRBT", [MAR], False),
        ("another product", A, "WBR", [JAN, FEB, MAR], False),
        ("billed in a month not asked", A, "CRBT", [JAN, FEB], False),
        ("month not imported", A, "CRBT", [APR], False),
        ("a day inside the month counts as the month", A, "CRBT", [date(2026, 3, 31)], True),
        ("another number", "13800130009", "CRBT", [MAR], False),
        ("not a number", "abc", "CRBT", [MAR], False),
        ("no months", A, "CRBT", [], False),
    ],
)
def test_billing_had_product(
    manager, django_capture_on_commit_callbacks, _case, msisdn, product, months, expected
):
    import_month(
        manager, FEB, tables=_month(FEB, calls={A: 1}), capture=django_capture_on_commit_callbacks
    )
    import_month(
        manager,
        MAR,
        tables=_month(
            MAR,
            calls={A: 1},
            billing=[(A, "CRBT", "5.00"), (B, "CRBT", "0.00"), (C, "CRBT", "0.01")],
        ),
        capture=django_capture_on_commit_callbacks,
    )

    assert billing_had_product(msisdn=msisdn, product_code=product, months=months) is expected


def test_subscriber_profile_reads_the_latest_month_and_three_months_of_calls(
    manager, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    import_month(manager, JAN, tables=_month(JAN, calls={A: 500}), capture=capture)
    import_month(manager, FEB, tables=_month(FEB, calls={A: 10, B: 3}), capture=capture)
    # March: A has no usage row at all; B is now in arrears.
    import_month(manager, MAR, tables=_month(MAR, calls={B: 1}), capture=capture)
    import_month(
        manager,
        APR,
        tables=_month(
            APR,
            calls={A: 21},
            billing=[(A, "WBR", "2.00"), (A, "CRBT", "5.00"), (B, "CRBT", "0.00")],
            subscribers=[
                (A, "2024-01-10", "suspended", "false"),
                (B, "2025-06-01", "active", "true"),
            ],
        ),
        capture=capture,
    )

    profile = subscriber_profile(msisdn=A)

    assert profile == {
        "msisdn": A,
        "month": APR,
        "activated_on": date(2024, 1, 10),
        "status": "suspended",
        "in_arrears": False,
        "billed_products": [
            {"product_code": "CRBT", "billed_amount": Decimal("5.00")},
            {"product_code": "WBR", "billed_amount": Decimal("2.00")},
        ],
        # January is not one of the last three imported months.
        "voice_calls": [
            {"month": FEB, "voice_calls": 10},
            {"month": MAR, "voice_calls": 0},
            {"month": APR, "voice_calls": 21},
        ],
        "avg_voice_calls": Decimal("10.33"),
    }
    assert subscriber_profile(msisdn=B)["in_arrears"] is True
    assert subscriber_profile(msisdn=B)["billed_products"] == []
    # C was a subscriber until March; the latest snapshot does not hold it.
    assert subscriber_profile(msisdn=C) is None


def test_subscriber_profile_without_months_or_number(manager, django_capture_on_commit_callbacks):
    assert subscriber_profile(msisdn=A) is None

    import_month(manager, MAR, capture=django_capture_on_commit_callbacks)

    assert subscriber_profile(msisdn="not-a-number") is None
    assert subscriber_profile(msisdn="13800139999") is None
    assert subscriber_profile(msisdn=A)["voice_calls"] == [{"month": MAR, "voice_calls": 7}]


def test_stored_files_are_sorted_so_a_number_lookup_reads_one_row_group(
    manager, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(billing_service, "ROW_GROUP_SIZE", 2048)
    # 10 000 numbers delivered in a scrambled order (7919 is prime to 10 000).
    numbers = [f"1390000{(n * 7919) % 10_000:04d}" for n in range(10_000)]
    rows = _month(MAR, calls={A: 1})
    rows["subscribers"] = [(number, "2024-01-01", "active", "false") for number in numbers]

    import_month(manager, MAR, tables=rows, capture=django_capture_on_commit_callbacks)

    path = billing_month_dir(MAR) / "subscribers.parquet"
    con = duckdb.connect()
    try:
        groups = con.execute(
            "SELECT row_group_id, stats_min_value, stats_max_value FROM parquet_metadata(?) "
            "WHERE path_in_schema = 'msisdn' ORDER BY row_group_id",
            [str(path)],
        ).fetchall()
    finally:
        con.close()
    bounds = [(int(low), int(high)) for _group, low, high in groups]
    assert len(bounds) >= 4
    # Ascending, non-overlapping ranges: the statistics exclude every group but one.
    assert all(bounds[i][1] < bounds[i + 1][0] for i in range(len(bounds) - 1))
    assert bounds[0][0] == 13900000000
    assert bounds[-1][1] == 13900009999
    assert subscriber_profile(msisdn="13900004711")["activated_on"] == date(2024, 1, 1)
