"""Import and export of the product catalogue with the current rebate: a new rebate with a
new date adds a version under the version rules; versions are never changed by import;
re-importing an export changes nothing; any bad row writes nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from prm.core.exceptions import Forbidden
from prm.core.imports import export_rows, import_job_create
from prm.core.models import AuditEvent
from prm.core.tests.spreadsheets import csv_bytes, csv_rows, run_import, upload
from prm.incentives.imports_channels import PRODUCT_IMPORT_KIND
from prm.incentives.models import Product, RebateVersion, SettlementRun
from prm.incentives.services.products import rebate_version_add
from prm.incentives.tests.test_channels_fixtures import world_fixture  # noqa: F401

pytestmark = pytest.mark.django_db

HEADER = [
    "code",
    "name",
    "kind",
    "monthly fee (yuan)",
    "open for recommendation",
    "rebate per subscriber (yuan)",
    "rebate effective from",
]
TODAY = timezone.make_aware(timezone.datetime(2026, 5, 15, 10, 0))


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def actor(world):
    world.cm_a.language = "en"
    world.cm_a.save(update_fields=["language"])
    return world.cm_a


def _state():
    return (
        list(
            Product.objects.order_by("code").values_list(
                "code", "name", "kind", "monthly_fee", "is_active"
            )
        ),
        list(
            RebateVersion.objects.order_by("product__code", "effective_from").values_list(
                "product__code", "rebate", "effective_from", "effective_to"
            )
        ),
        AuditEvent.objects.exclude(action__startswith="import_job").count(),
    )


def _import(capture, actor, rows):
    return run_import(
        capture, kind=PRODUCT_IMPORT_KIND, name="products.csv", data=csv_bytes(rows), actor=actor
    )


def test_new_products_new_rules_and_unchanged_rows(
    world, actor, django_capture_on_commit_callbacks
):
    job = _import(
        django_capture_on_commit_callbacks,
        actor,
        [
            HEADER,
            # New product with its first rule; the type by a Chinese alias.
            ["VIDEO", "Video pack", "流量包", "30", "1", "6", "2026-06-01"],
            # New product without a rule, closed.
            ["FAX", "Fax", "own_business", "1.5", "0", "", ""],
            # Existing product: a new rule from a later date and a new fee.
            ["CRBT", "Product CRBT", "sp_business", "6", "", "5", "2026-07-01"],
        ],
    )

    assert (job.status, job.created_count, job.updated_count) == ("succeeded", 2, 1), job.errors
    assert _state()[:2] == (
        [
            ("CRBT", "Product CRBT", "sp_business", Decimal("6.00"), True),
            ("FAX", "Fax", "own_business", Decimal("1.50"), False),
            ("VIDEO", "Video pack", "data_package", Decimal("30.00"), True),
        ],
        [
            ("CRBT", Decimal("4.00"), date(2020, 1, 1), date(2026, 6, 30)),
            ("CRBT", Decimal("5.00"), date(2026, 7, 1), None),
            ("VIDEO", Decimal("6.00"), date(2026, 6, 1), None),
        ],
    )


@pytest.mark.parametrize(
    ("_case", "row", "column"),
    [
        ("same_day_other_rebate", ["CRBT", "c", "sp_business", "5", "", "9", "2020-01-01"], 6),
        ("before_the_latest", ["CRBT", "c", "sp_business", "5", "", "9", "2019-12-31"], 6),
        ("rebate_without_date", ["CRBT", "c", "sp_business", "5", "", "9", ""], 6),
        ("date_without_rebate", ["CRBT", "c", "sp_business", "5", "", "", "2026-07-01"], 5),
        ("frozen_period", ["CRBT", "c", "sp_business", "5", "", "9", "2026-03-31"], 6),
        ("negative_fee", ["CRBT", "c", "sp_business", "-1", "", "", ""], 3),
        ("bad_flag", ["CRBT", "c", "sp_business", "5", "maybe", "", ""], 4),
        ("bad_kind", ["CRBT", "c", "voice", "5", "", "", ""], 2),
        ("code_other_case", ["crbt", "c", "sp_business", "5", "", "", ""], 0),
        ("bad_date", ["CRBT", "c", "sp_business", "5", "", "4", "2026/07/01"], 6),
    ],
)
def test_one_bad_product_row_writes_nothing(
    world, actor, django_capture_on_commit_callbacks, _case, row, column
):
    SettlementRun.objects.create(
        number="SR-1", period="2026-03", org=world.city_a, status=SettlementRun.Status.APPROVED
    )
    before = _state()

    job = _import(
        django_capture_on_commit_callbacks,
        actor,
        [HEADER, ["NEW", "ok", "sp_business", "1", "", "", ""], row],
    )

    assert job.status == "rejected"
    assert [(error["row"], error["column"]) for error in job.errors] == [(3, HEADER[column])]
    assert _state() == before


def test_exporting_then_importing_products_changes_nothing(
    world, actor, django_capture_on_commit_callbacks
):
    # A future rule: the export shows the one in force today, which stays valid.
    rebate_version_add(
        actor=actor, product=world.product, rebate="4.50", effective_from=date(2026, 9, 1)
    )
    exported = export_rows(kind=PRODUCT_IMPORT_KIND, user=actor, fmt="csv")
    before = _state()

    job = run_import(
        django_capture_on_commit_callbacks,
        kind=PRODUCT_IMPORT_KIND,
        name="products.csv",
        data=exported.content,
        actor=actor,
    )

    assert csv_rows(exported.content)[1:] == [
        ["CRBT", "Product CRBT", "sp_business", "5.00", "1", "4.00", "2020-01-01"],
    ]
    assert (job.status, job.created_count, job.updated_count) == ("succeeded", 0, 0), job.errors
    assert _state() == before


def test_a_user_without_the_permission_cannot_import_products(world):
    with pytest.raises(Forbidden):
        import_job_create(
            kind=PRODUCT_IMPORT_KIND,
            uploaded_file=upload("p.csv", csv_bytes([HEADER])),
            actor=world.cs_agent,
        )
