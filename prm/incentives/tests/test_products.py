"""Services and selectors of the product catalogue and rebate versions (R4 "Products and
rules", rule 6 "amounts configurable"; commission management: an approved settlement is
never edited)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation

from prm.core.exceptions import ApplicationError, Forbidden
from prm.core.models import AuditEvent
from prm.incentives.models import Product, RebateVersion, SettlementRun
from prm.incentives.selectors_products import (
    product_list_filtered,
    product_version_rows,
    product_versions_for_export,
    rebate_frozen_until,
)
from prm.incentives.services import products as services
from prm.incentives.tests import factories
from prm.incentives.tests.test_channels_fixtures import world_fixture  # noqa: F401

pytestmark = pytest.mark.django_db

START = date(2026, 1, 10)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def product(world):
    """A product whose only (open) version starts on 2026-01-10."""
    return factories.product("WBR", monthly_fee="3.00", rebate="2.00", effective_from=START)


def _snapshot():
    return (
        list(
            Product.objects.order_by("pk").values_list(
                "code", "name", "kind", "monthly_fee", "is_active"
            )
        ),
        list(
            RebateVersion.objects.order_by("pk").values_list(
                "product_id", "rebate", "effective_from", "effective_to", "note"
            )
        ),
        AuditEvent.objects.count(),
    )


def _versions(product):
    return list(
        RebateVersion.objects.filter(product=product)
        .order_by("effective_from")
        .values_list("effective_from", "effective_to", "rebate")
    )


def _run(world, period: str, status: str, org=None) -> SettlementRun:
    return SettlementRun.objects.create(
        number=f"SR-{period}-{status}-{(org or world.city_a).code}",
        period=period,
        org=org or world.city_a,
        status=status,
    )


# ---- Products -----------------------------------------------------------------------------


def test_create_with_a_first_rebate(world):
    product = services.product_create(
        actor=world.cm_a,
        code="VIDEO",
        name="Video package",
        kind=Product.Kind.DATA_PACKAGE,
        monthly_fee="30",
        rebate="6.5",
        effective_from=date(2026, 3, 1),
    )

    assert (product.code, product.monthly_fee, product.is_active) == (
        "VIDEO",
        Decimal("30.00"),
        True,
    )
    assert _versions(product) == [(date(2026, 3, 1), None, Decimal("6.50"))]
    assert list(
        AuditEvent.objects.filter(action__startswith=("product")).values_list("action", flat=True)
    ) == ["product.created"]
    assert AuditEvent.objects.filter(action="rebate_version.created").count() == 1


def test_create_without_a_rebate(world):
    product = services.product_create(
        actor=world.cm_a, code="NEWS", name="News", kind="sp_business", monthly_fee="0"
    )
    assert _versions(product) == []


@pytest.mark.parametrize(
    ("_case", "overrides", "code"),
    [
        ("code_taken", {"code": "CRBT"}, "product_code_taken"),
        ("code_taken_other_case", {"code": "crbt"}, "product_code_taken"),
        ("bad_code", {"code": "video pack"}, "invalid_code"),
        ("negative_fee", {"monthly_fee": "-0.01"}, "invalid_amount"),
        ("fee_three_places", {"monthly_fee": "1.005"}, "invalid_amount"),
        ("bad_kind", {"kind": "voice"}, "invalid_kind"),
        ("empty_name", {"name": ""}, "required"),
        ("rebate_without_date", {"rebate": "1"}, "rebate_incomplete"),
        ("date_without_rebate", {"effective_from": date(2026, 1, 1)}, "rebate_incomplete"),
        ("negative_rebate", {"rebate": "-1", "effective_from": START}, "invalid_amount"),
    ],
)
def test_create_refusals_change_nothing(world, _case, overrides, code):
    values = {
        "code": "VIDEO",
        "name": "Video package",
        "kind": "data_package",
        "monthly_fee": "30",
        **overrides,
    }
    before = _snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.product_create(actor=world.cm_a, **values)

    assert refused.value.code == code
    assert _snapshot() == before


@pytest.mark.parametrize("who", ["cs_agent", "auditor_a", "account_manager"])
def test_changes_need_the_permission(world, product, who):
    actor = getattr(world, who)
    before = _snapshot()

    with pytest.raises(Forbidden):
        services.product_create(
            actor=actor, code="X", name="X", kind="sp_business", monthly_fee="1"
        )
    with pytest.raises(Forbidden):
        services.product_update(actor=actor, product=product, name="Y")
    with pytest.raises(Forbidden):
        services.rebate_version_add(
            actor=actor, product=product, rebate="1", effective_from=date(2026, 6, 1)
        )

    assert _snapshot() == before


def test_update_audits_the_changes(world, product):
    services.product_update(actor=world.cm_a, product=product, monthly_fee="3.50", is_active=False)

    product.refresh_from_db()
    assert (product.monthly_fee, product.is_active) == (Decimal("3.50"), False)
    assert AuditEvent.objects.get(action="product.updated").changes == {
        "monthly_fee": ["3.00", "3.50"],
        "is_active": [True, False],
    }


# ---- Rebate versions: the date rule ---------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "new_start", "accepted"),
    [
        ("before_the_open_one", date(2026, 1, 9), False),
        ("same_day", date(2026, 1, 10), False),
        ("day_after", date(2026, 1, 11), True),
        ("months_later", date(2026, 7, 1), True),
    ],
)
def test_a_new_version_must_start_after_the_open_one(world, product, _case, new_start, accepted):
    before = _snapshot()

    if not accepted:
        with pytest.raises(ApplicationError) as refused:
            services.rebate_version_add(
                actor=world.cm_a, product=product, rebate="3", effective_from=new_start
            )
        assert refused.value.code == "rebate_version_not_after_latest"
        assert str(refused.value.message) == (
            "The current rule of WBR starts on 2026-01-10: a new rule must start after that day."
        )
        assert _snapshot() == before
        return

    services.rebate_version_add(
        actor=world.cm_a, product=product, rebate="3", effective_from=new_start
    )
    assert _versions(product) == [
        (START, date.fromordinal(new_start.toordinal() - 1), Decimal("2.00")),
        (new_start, None, Decimal("3.00")),
    ]


def test_the_day_after_closes_the_previous_version_on_its_first_day(world, product):
    services.rebate_version_add(
        actor=world.cm_a, product=product, rebate="3", effective_from=date(2026, 1, 11)
    )

    first = RebateVersion.objects.get(product=product, effective_from=START)
    assert (first.effective_from, first.effective_to) == (START, START)
    event = AuditEvent.objects.get(action="rebate_version.created")
    assert event.changes["closed_version"] == {
        "effective_from": "2026-01-10",
        "effective_to": [None, "2026-01-10"],
    }
    assert event.changes["rebate"] == "3.00"


def test_no_overlap_with_a_closed_latest_version(world, product):
    RebateVersion.objects.filter(product=product).update(effective_to=date(2026, 3, 31))
    before = _snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.rebate_version_add(
            actor=world.cm_a, product=product, rebate="3", effective_from=date(2026, 3, 31)
        )
    assert refused.value.code == "rebate_version_overlap"
    assert _snapshot() == before

    services.rebate_version_add(
        actor=world.cm_a, product=product, rebate="3", effective_from=date(2026, 4, 1)
    )
    assert _versions(product) == [
        (START, date(2026, 3, 31), Decimal("2.00")),
        (date(2026, 4, 1), None, Decimal("3.00")),
    ]


@pytest.mark.parametrize(
    ("_case", "rebate", "stored"),
    [("zero", "0", Decimal("0.00")), ("two_places", "4.25", Decimal("4.25"))],
)
def test_rebate_amount_boundaries(world, product, _case, rebate, stored):
    version = services.rebate_version_add(
        actor=world.cm_a, product=product, rebate=rebate, effective_from=date(2026, 2, 1)
    )
    assert version.rebate == stored


@pytest.mark.parametrize("rebate", ["-0.01", "1.001", "x"])
def test_bad_rebate_amounts_change_nothing(world, product, rebate):
    before = _snapshot()
    with pytest.raises(ApplicationError) as refused:
        services.rebate_version_add(
            actor=world.cm_a, product=product, rebate=rebate, effective_from=date(2026, 2, 1)
        )
    assert refused.value.code == "invalid_amount"
    assert _snapshot() == before


# ---- Rebate versions: settlements freeze them ------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "status", "frozen_until"),
    [
        ("approved", SettlementRun.Status.APPROVED, date(2026, 2, 28)),
        ("submitted", SettlementRun.Status.SUBMITTED, date(2026, 2, 28)),
        ("computed", SettlementRun.Status.COMPUTED, None),
        ("failed", SettlementRun.Status.FAILED, None),
    ],
)
def test_runs_in_approval_or_approved_freeze_their_period(world, _case, status, frozen_until):
    _run(world, "2026-02", status)
    _run(world, "2026-01", SettlementRun.Status.QUEUED, org=world.orgs.city_b)

    assert rebate_frozen_until() == frozen_until


def test_the_latest_frozen_period_of_any_city_counts(world):
    _run(world, "2025-11", SettlementRun.Status.APPROVED)
    _run(world, "2026-01", SettlementRun.Status.SUBMITTED, org=world.orgs.city_b)
    _run(world, "2026-03", SettlementRun.Status.COMPUTED)

    assert rebate_frozen_until() == date(2026, 1, 31)


@pytest.mark.parametrize(
    ("_case", "new_start", "accepted"),
    [
        ("last_frozen_day", date(2026, 2, 28), False),
        ("inside_the_period", date(2026, 2, 1), False),
        ("day_after_the_period", date(2026, 3, 1), True),
    ],
)
def test_a_new_version_starts_after_the_frozen_period(world, product, _case, new_start, accepted):
    _run(world, "2026-02", SettlementRun.Status.APPROVED)
    before = _snapshot()

    if not accepted:
        with pytest.raises(ApplicationError) as refused:
            services.rebate_version_add(
                actor=world.cm_a, product=product, rebate="3", effective_from=new_start
            )
        assert refused.value.code == "rebate_version_frozen"
        assert _snapshot() == before
        return

    services.rebate_version_add(
        actor=world.cm_a, product=product, rebate="3", effective_from=new_start
    )
    # The used version keeps every day up to the frozen one.
    assert _versions(product)[0] == (START, date(2026, 2, 28), Decimal("2.00"))


def test_a_frozen_version_is_neither_corrected_nor_deleted(world, product):
    _run(world, "2026-01", SettlementRun.Status.APPROVED)
    version = RebateVersion.objects.get(product=product)
    before = _snapshot()

    with pytest.raises(ApplicationError) as corrected:
        services.rebate_version_update(actor=world.cm_a, version=version, rebate="9")
    with pytest.raises(ApplicationError) as deleted:
        services.rebate_version_delete(actor=world.cm_a, version=version)

    assert (corrected.value.code, deleted.value.code) == (
        "rebate_version_frozen",
        "rebate_version_frozen",
    )
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("_case", "period", "frozen"),
    [
        ("period_ends_the_day_before_the_start", "2025-12", False),
        ("period_holds_the_start", "2026-01", True),
    ],
)
def test_a_version_is_frozen_from_the_period_holding_its_start(
    world, product, _case, period, frozen
):
    _run(world, period, SettlementRun.Status.APPROVED)
    version = RebateVersion.objects.get(product=product)

    if frozen:
        with pytest.raises(ApplicationError):
            services.rebate_version_update(actor=world.cm_a, version=version, rebate="9")
        assert RebateVersion.objects.get(pk=version.pk).rebate == Decimal("2.00")
    else:
        services.rebate_version_update(actor=world.cm_a, version=version, rebate="9")
        assert RebateVersion.objects.get(pk=version.pk).rebate == Decimal("9.00")


def test_correcting_a_version_not_used_yet(world, product):
    services.rebate_version_update(
        actor=world.cm_a,
        version=RebateVersion.objects.get(product=product),
        rebate="2.5",
        note="typo",
    )

    assert _versions(product) == [(START, None, Decimal("2.50"))]
    assert AuditEvent.objects.get(action="rebate_version.updated").changes == {
        "product": "WBR",
        "effective_from": "2026-01-10",
        "rebate": ["2.00", "2.50"],
        "note": ["", "typo"],
    }


def test_deleting_the_latest_version_reopens_the_previous(world, product):
    services.rebate_version_add(
        actor=world.cm_a, product=product, rebate="3", effective_from=date(2026, 4, 1)
    )
    latest = RebateVersion.objects.get(product=product, effective_from=date(2026, 4, 1))

    services.rebate_version_delete(actor=world.cm_a, version=latest)

    assert _versions(product) == [(START, None, Decimal("2.00"))]
    event = AuditEvent.objects.get(action="rebate_version.deleted")
    assert event.changes["reopened_version"] == {
        "effective_from": "2026-01-10",
        "effective_to": ["2026-03-31", None],
    }


def test_only_the_latest_version_is_deleted(world, product):
    services.rebate_version_add(
        actor=world.cm_a, product=product, rebate="3", effective_from=date(2026, 4, 1)
    )
    first = RebateVersion.objects.get(product=product, effective_from=START)
    before = _snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.rebate_version_delete(actor=world.cm_a, version=first)

    assert refused.value.code == "rebate_version_not_latest"
    assert _snapshot() == before


# ---- Selectors ----------------------------------------------------------------------------


def test_versions_for_export_are_the_engines_products_table(world, product):
    services.rebate_version_add(
        actor=world.cm_a, product=product, rebate="3", effective_from=date(2026, 4, 1)
    )
    services.product_update(actor=world.cm_a, product=world.product, is_active=False)

    rows = product_versions_for_export()

    assert rows == [
        {
            "product_code": "CRBT",
            "monthly_fee": Decimal("5.00"),
            "rebate": Decimal("4.00"),
            "effective_from": date(2020, 1, 1),
            "effective_to": None,
        },
        {
            "product_code": "WBR",
            "monthly_fee": Decimal("3.00"),
            "rebate": Decimal("2.00"),
            "effective_from": START,
            "effective_to": date(2026, 3, 31),
        },
        {
            "product_code": "WBR",
            "monthly_fee": Decimal("3.00"),
            "rebate": Decimal("3.00"),
            "effective_from": date(2026, 4, 1),
            "effective_to": None,
        },
    ]
    assert all(isinstance(row["rebate"], Decimal) for row in rows)
    assert all(type(row["effective_from"]) is date for row in rows)


def test_list_shows_the_rebate_in_force_and_filters(world, product):
    services.rebate_version_add(
        actor=world.cm_a, product=product, rebate="3", effective_from=date(2026, 4, 1)
    )

    def listed(user, today, **filters):
        return [
            (p.code, [v.rebate for v in p.current_versions])
            for p in product_list_filtered(user=user, filters=filters, today=today)
        ]

    assert listed(world.cs_agent, date(2026, 3, 31)) == [
        ("CRBT", [Decimal("4.00")]),
        ("WBR", [Decimal("2.00")]),
    ]
    assert listed(world.cs_agent, date(2026, 4, 1), q="wbr") == [("WBR", [Decimal("3.00")])]
    assert listed(world.cs_agent, date(2026, 1, 9), kind="sp_business") == [
        ("CRBT", [Decimal("4.00")]),
        ("WBR", []),
    ]
    assert listed(world.account_manager, date(2026, 4, 1)) == []


def test_version_rows_flag_current_frozen_and_latest(world, product):
    services.rebate_version_add(
        actor=world.cm_a, product=product, rebate="3", effective_from=date(2026, 4, 1)
    )
    _run(world, "2026-02", SettlementRun.Status.APPROVED)

    rows = product_version_rows(product=product, today=date(2026, 3, 15))

    assert [(r.version.effective_from, r.is_current, r.is_frozen, r.is_latest) for r in rows] == [
        (date(2026, 4, 1), False, False, True),
        (START, True, True, False),
    ]
