"""Services and selectors of channels, outlets and development targets (R4 "Channels",
"Marketing management"): every refusal changes nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import translation

from prm.core.exceptions import ApplicationError, Forbidden, NotFound
from prm.core.models import AuditEvent
from prm.incentives.models import Channel, DevelopmentTarget, Outlet, Promoter
from prm.incentives.selectors_channels import (
    channel_hierarchy,
    channel_list_filtered,
    channel_summary,
    targets_for,
)
from prm.incentives.services import channels as services
from prm.incentives.tests import factories
from prm.incentives.tests.test_channels_fixtures import world_fixture  # noqa: F401
from prm.partners.models import Partner
from prm.partners.tests import factories as partner_factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _values(world, **overrides) -> dict:
    return {
        "code": "GZ-TH-STORE",
        "name": "Tianhe handset store",
        "kind": Channel.Kind.HANDSET_STORE,
        "org": world.county_a,
        "partner": None,
        "contact_name": "Wang",
        "contact_phone": "020-12345678",
        "address": "Tianhe Road 1",
        "rebate_share_percent": Decimal("80.00"),
        "monthly_quota": 120,
        **overrides,
    }


def _snapshot():
    """Everything a refused action must leave as it was."""
    return (
        list(
            Channel.objects.order_by("pk").values_list(
                "code",
                "name",
                "kind",
                "org_id",
                "partner_id",
                "contact_phone",
                "rebate_share_percent",
                "monthly_quota",
                "is_active",
            )
        ),
        list(Outlet.objects.order_by("pk").values_list("code", "name", "channel_id", "is_active")),
        list(DevelopmentTarget.objects.order_by("pk").values_list("month", "channel_id", "target")),
        AuditEvent.objects.count(),
    )


# ---- Create -------------------------------------------------------------------------------


def test_a_city_manager_creates_a_channel_under_a_county_of_the_city(world):
    channel = services.channel_create(actor=world.cm_a, **_values(world, partner=world.partner_a))

    channel.refresh_from_db()
    assert (channel.code, channel.kind, channel.org, channel.partner) == (
        "GZ-TH-STORE",
        "handset_store",
        world.county_a,
        world.partner_a,
    )
    assert (channel.rebate_share_percent, channel.monthly_quota, channel.is_active) == (
        Decimal("80.00"),
        120,
        True,
    )
    event = AuditEvent.objects.get(action="channel.created")
    assert event.target_id == str(channel.pk)
    assert event.changes["org"] == "GZ-TH"
    assert event.changes["partner"] == world.partner_a.code
    assert event.changes["rebate_share_percent"] == "80.00"
    assert event.org_path == world.city_a.path  # placed at the actor's org


@pytest.mark.parametrize(
    ("_case", "share"),
    [("zero", "0"), ("hundred", "100"), ("two_places", "99.99")],
)
def test_share_boundaries_accepted(world, _case, share):
    channel = services.channel_create(
        actor=world.cm_a, **_values(world, rebate_share_percent=share)
    )
    assert channel.rebate_share_percent == Decimal(share)


@pytest.mark.parametrize(
    ("_case", "overrides", "code"),
    [
        ("share_above_100", {"rebate_share_percent": "100.01"}, "invalid_share"),
        ("share_negative", {"rebate_share_percent": "-0.01"}, "invalid_share"),
        ("share_three_places", {"rebate_share_percent": "50.001"}, "invalid_share"),
        ("share_not_a_number", {"rebate_share_percent": "many"}, "invalid_share"),
        ("quota_negative", {"monthly_quota": -1}, "invalid_number"),
        ("quota_not_whole", {"monthly_quota": "1.5"}, "invalid_number"),
        ("bad_phone", {"contact_phone": "call me"}, "invalid_phone"),
        ("bad_kind", {"kind": "shop"}, "invalid_kind"),
        ("empty_name", {"name": "  "}, "required"),
        ("bad_code", {"code": "GZ HALL"}, "invalid_code"),
        ("code_too_long", {"code": "A" * 31}, "invalid_code"),
        ("code_taken", {"code": "GZ-TH-HALL"}, "channel_code_taken"),
        ("code_taken_other_case", {"code": "gz-th-hall"}, "channel_code_taken"),
        ("code_taken_in_other_city", {"code": "SZ-HALL"}, "channel_code_taken"),
        ("org_is_the_province", {"org": "province"}, "channel_org_kind"),
        ("org_in_other_city", {"org": "county_b"}, "channel_org_out_of_scope"),
        ("partner_of_other_city", {"partner": "partner_b"}, "channel_partner_not_active"),
        ("partner_exited", {"partner": "exited"}, "channel_partner_not_active"),
        ("partner_application", {"partner": "application"}, "channel_partner_not_active"),
    ],
)
def test_create_refusals_change_nothing(world, _case, overrides, code):
    resolved = dict(overrides)
    if resolved.get("org") in ("province", "county_b"):
        resolved["org"] = getattr(world.orgs, resolved["org"])
    if resolved.get("partner") == "partner_b":
        resolved["partner"] = world.partner_b
    elif resolved.get("partner") == "exited":
        resolved["partner"] = partner_factories.partner(
            managing_org=world.city_a, status=Partner.Status.EXITED
        )
    elif resolved.get("partner") == "application":
        resolved["partner"] = partner_factories.partner(
            managing_org=world.city_a, status=Partner.Status.SUBMITTED
        )
    before = _snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.channel_create(actor=world.cm_a, **_values(world, **resolved))

    assert refused.value.code == code
    assert _snapshot() == before


def test_a_county_manager_cannot_place_a_channel_under_the_city(world):
    before = _snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.channel_create(actor=world.cm_county, **_values(world, org=world.city_a))

    assert refused.value.code == "channel_org_out_of_scope"
    assert str(refused.value.message) == (
        "You can only manage channels of your own organisation or below it."
    )
    assert _snapshot() == before


@pytest.mark.parametrize("who", ["cs_agent", "auditor_a", "account_manager", "finance_a"])
def test_create_needs_the_permission(world, who):
    before = _snapshot()

    with pytest.raises(Forbidden):
        services.channel_create(actor=getattr(world, who), **_values(world))

    assert _snapshot() == before


# ---- Update -------------------------------------------------------------------------------


def test_update_records_the_changed_fields_only(world):
    services.channel_update(
        actor=world.cm_a,
        channel=world.channel_a,
        name="Tianhe flagship hall",
        org=world.city_a,
        partner=world.partner_a,
        monthly_quota=0,
        rebate_share_percent="100",
    )

    world.channel_a.refresh_from_db()
    assert (world.channel_a.name, world.channel_a.org, world.channel_a.partner) == (
        "Tianhe flagship hall",
        world.city_a,
        world.partner_a,
    )
    event = AuditEvent.objects.get(action="channel.updated")
    assert event.changes == {
        "name": ["Tianhe hall", "Tianhe flagship hall"],
        "org": ["GZ-TH", "GZ"],
        "partner": [None, world.partner_a.code],
    }


def test_update_without_changes_writes_no_audit(world):
    before = AuditEvent.objects.count()

    services.channel_update(actor=world.cm_a, channel=world.channel_a, name="Tianhe hall")

    assert AuditEvent.objects.count() == before


def test_another_citys_manager_does_not_find_the_channel(world):
    before = _snapshot()

    with pytest.raises(NotFound):
        services.channel_update(actor=world.cm_b, channel=world.channel_a, name="Taken over")

    assert _snapshot() == before


def test_a_county_manager_changes_the_countys_channel_but_not_the_citys(world):
    services.channel_update(actor=world.cm_county, channel=world.channel_a, monthly_quota=5)
    before = _snapshot()

    with pytest.raises(NotFound):
        services.channel_update(actor=world.cm_county, channel=world.channel_city_a, name="x")

    assert Channel.objects.get(pk=world.channel_a.pk).monthly_quota == 5
    assert _snapshot() == before


def test_the_province_manager_changes_a_citys_channel(world):
    services.channel_update(actor=world.cm_province, channel=world.channel_b, monthly_quota=7)

    assert Channel.objects.get(pk=world.channel_b.pk).monthly_quota == 7


@pytest.mark.parametrize(
    ("_case", "fields", "code"),
    [
        ("move_to_other_city", {"org": "county_b"}, "channel_org_out_of_scope"),
        ("share_above_100", {"rebate_share_percent": "100.01"}, "invalid_share"),
        ("partner_of_other_city", {"partner": "partner_b"}, "channel_partner_not_active"),
        ("unknown_field", {"code": "NEW"}, "unknown_field"),
    ],
)
def test_update_refusals_change_nothing(world, _case, fields, code):
    resolved = dict(fields)
    if resolved.get("org") == "county_b":
        resolved["org"] = world.orgs.county_b
    if resolved.get("partner") == "partner_b":
        resolved["partner"] = world.partner_b
    before = _snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.channel_update(actor=world.cm_a, channel=world.channel_a, **resolved)

    assert refused.value.code == code
    assert _snapshot() == before


# ---- Deactivate / activate ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "active", "message"),
    [
        ("one", 1, "The channel still has 1 active promoter; move or disable them first."),
        ("two", 2, "The channel still has 2 active promoters; move or disable them first."),
    ],
)
def test_deactivation_is_refused_while_active_promoters_work_there(world, _case, active, message):
    for _ in range(active):
        factories.promoter(org=world.city_a, channel=world.channel_a, with_user=False)
    before = _snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.channel_deactivate(actor=world.cm_a, channel=world.channel_a)

    assert refused.value.code == "active_promoters"
    assert refused.value.details == {"count": active}
    assert str(refused.value.message) == message
    assert _snapshot() == before


def test_deactivation_closes_the_channel_and_its_outlets(world):
    # Promoters not active (disabled, awaiting approval) do not hold the channel open.
    factories.promoter(
        org=world.city_a,
        channel=world.channel_a,
        with_user=False,
        status=Promoter.Status.DISABLED,
    )
    factories.promoter(
        org=world.city_a,
        channel=world.channel_a,
        with_user=False,
        status=Promoter.Status.SUBMITTED,
        work_id=None,
    )
    second = factories.outlet(channel=world.channel_a, code="GZ-TH-HALL-02")

    services.channel_deactivate(actor=world.cm_a, channel=world.channel_a)

    assert Channel.objects.get(pk=world.channel_a.pk).is_active is False
    assert list(
        Outlet.objects.filter(channel=world.channel_a).values_list("code", "is_active")
    ) == [("GZ-TH-HALL-01", False), (second.code, False)]
    event = AuditEvent.objects.get(action="channel.deactivated")
    assert event.changes == {
        "is_active": [True, False],
        "outlets_deactivated": ["GZ-TH-HALL-01", "GZ-TH-HALL-02"],
    }


def test_deactivate_twice_and_activate_twice_are_refused(world):
    services.channel_deactivate(actor=world.cm_a, channel=world.channel_a)
    before = _snapshot()
    with pytest.raises(ApplicationError) as refused:
        services.channel_deactivate(actor=world.cm_a, channel=world.channel_a)
    assert refused.value.code == "channel_inactive"
    assert _snapshot() == before

    services.channel_activate(actor=world.cm_a, channel=world.channel_a)
    assert Channel.objects.get(pk=world.channel_a.pk).is_active is True
    # Its outlets stay closed until opened one by one.
    assert Outlet.objects.get(pk=world.outlet_a.pk).is_active is False
    before = _snapshot()
    with pytest.raises(ApplicationError) as refused:
        services.channel_activate(actor=world.cm_a, channel=world.channel_a)
    assert refused.value.code == "channel_active"
    assert _snapshot() == before


def test_another_city_cannot_deactivate(world):
    before = _snapshot()
    with pytest.raises(NotFound):
        services.channel_deactivate(actor=world.cm_b, channel=world.channel_a)
    assert _snapshot() == before


# ---- Outlets ------------------------------------------------------------------------------


def test_outlet_create_update_and_audit(world):
    outlet = services.outlet_create(
        actor=world.cm_county, channel=world.channel_a, code="GZ-TH-HALL-09", name="Counter 9"
    )
    services.outlet_update(actor=world.cm_county, outlet=outlet, name="Counter nine", address="B1")

    outlet.refresh_from_db()
    assert (outlet.channel, outlet.name, outlet.address, outlet.is_active) == (
        world.channel_a,
        "Counter nine",
        "B1",
        True,
    )
    assert list(
        AuditEvent.objects.filter(target_id=str(outlet.pk), target_type="incentives.outlet")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["outlet.created", "outlet.updated"]


@pytest.mark.parametrize(
    ("_case", "code", "expected"),
    [
        ("code_taken", "GZ-TH-HALL-01", "outlet_code_taken"),
        ("code_taken_other_case", "gz-th-hall-01", "outlet_code_taken"),
        ("bad_code", "counter 1", "invalid_code"),
    ],
)
def test_outlet_create_refusals_change_nothing(world, _case, code, expected):
    before = _snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.outlet_create(actor=world.cm_a, channel=world.channel_a, code=code, name="X")

    assert refused.value.code == expected
    assert _snapshot() == before


def test_no_outlet_is_added_to_a_closed_channel(world):
    services.channel_deactivate(actor=world.cm_a, channel=world.channel_city_a)
    before = _snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.outlet_create(actor=world.cm_a, channel=world.channel_city_a, code="O1", name="X")

    assert refused.value.code == "channel_inactive"
    assert _snapshot() == before


def test_outlets_of_another_city_are_not_found(world):
    before = _snapshot()
    with pytest.raises(NotFound):
        services.outlet_create(actor=world.cm_b, channel=world.channel_a, code="O1", name="X")
    with pytest.raises(NotFound):
        services.outlet_deactivate(actor=world.cm_b, outlet=world.outlet_a)
    assert _snapshot() == before


def test_outlet_deactivation_is_refused_while_active_promoters_work_there(world):
    factories.promoter(
        org=world.city_a, channel=world.channel_a, outlet=world.outlet_a, with_user=False
    )
    before = _snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.outlet_deactivate(actor=world.cm_a, outlet=world.outlet_a)

    assert refused.value.code == "active_promoters"
    assert str(refused.value.message) == (
        "The outlet still has 1 active promoter; move or disable them first."
    )
    assert _snapshot() == before


def test_outlet_deactivate_and_activate(world):
    services.outlet_deactivate(actor=world.cm_a, outlet=world.outlet_a)
    assert Outlet.objects.get(pk=world.outlet_a.pk).is_active is False

    services.outlet_activate(actor=world.cm_a, outlet=world.outlet_a)
    assert Outlet.objects.get(pk=world.outlet_a.pk).is_active is True


def test_an_outlet_of_a_closed_channel_is_not_opened(world):
    services.channel_deactivate(actor=world.cm_a, channel=world.channel_a)
    before = _snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.outlet_activate(actor=world.cm_a, outlet=world.outlet_a)

    assert refused.value.code == "channel_inactive"
    assert _snapshot() == before


# ---- Selectors ----------------------------------------------------------------------------


def test_list_is_scoped_and_filtered(world):
    factories.promoter(org=world.city_a, channel=world.channel_a, with_user=False)
    factories.promoter(
        org=world.city_a, channel=world.channel_a, with_user=False, status="disabled"
    )

    def codes(user, **filters):
        return [c.code for c in channel_list_filtered(user=user, filters=filters)]

    assert codes(world.cm_a) == ["GZ-ONLINE", "GZ-TH-HALL"]
    assert codes(world.cm_county) == ["GZ-TH-HALL"]
    assert codes(world.cm_b) == ["SZ-HALL"]
    assert codes(world.cm_province) == ["GZ-ONLINE", "GZ-TH-HALL", "SZ-HALL"]
    assert codes(world.cs_agent) == []
    assert codes(world.cm_a, q="online") == ["GZ-ONLINE"]
    assert codes(world.cm_a, org="GZ-TH") == ["GZ-TH-HALL"]
    assert codes(world.cm_a, org="SZ") == []  # outside the scope: nothing, not everything
    assert codes(world.cm_a, kind="own_hall") == ["GZ-ONLINE", "GZ-TH-HALL"]
    assert codes(world.cm_a, kind="online") == []
    assert codes(world.cm_a, active="0") == []
    hall = channel_list_filtered(user=world.cm_a, filters={"q": "GZ-TH"}).get()
    assert (hall.outlet_count, hall.promoter_count) == (1, 1)


def test_summary_and_hierarchy(world):
    at_outlet = factories.promoter(
        org=world.city_a, channel=world.channel_a, outlet=world.outlet_a, with_user=False
    )
    nowhere = factories.promoter(org=world.city_a, channel=world.channel_a, with_user=False)
    disabled = factories.promoter(
        org=world.city_a,
        channel=world.channel_a,
        outlet=world.outlet_a,
        with_user=False,
        status=Promoter.Status.DISABLED,
    )

    summary = channel_summary(user=world.cm_a, channel=world.channel_a)
    hierarchy = channel_hierarchy(channel=world.channel_a)
    everyone = channel_hierarchy(channel=world.channel_a, include_inactive=True)

    assert (summary.promoter_count, summary.promoters_without_outlet) == (2, 1)
    assert [(o.code, o.promoter_count) for o in summary.outlets] == [("GZ-TH-HALL-01", 1)]
    assert [[p.pk for p in o.staff] for o in hierarchy.outlets] == [[at_outlet.pk]]
    assert [p.pk for p in hierarchy.unassigned] == [nowhere.pk]
    assert sorted(p.pk for p in everyone.outlets[0].staff) == sorted([at_outlet.pk, disabled.pk])


def test_summary_links_the_partner_only_for_who_sees_it(world):
    services.channel_update(actor=world.cm_a, channel=world.channel_a, partner=world.partner_a)
    channel = Channel.objects.get(pk=world.channel_a.pk)

    assert channel_summary(user=world.cm_a, channel=channel).partner_visible is True
    assert channel_summary(user=world.finance_a, channel=channel).partner_visible is True
    # A county manager sees the channel but not the partner managed by the city.
    assert channel_summary(user=world.cm_county, channel=channel).partner_visible is False


# ---- Development targets ------------------------------------------------------------------


def test_target_set_creates_then_replaces_and_audits(world):
    services.target_set(
        actor=world.cm_a, month=date(2026, 3, 17), channel=world.channel_a, target=50
    )
    services.target_set(
        actor=world.cm_a, month=date(2026, 3, 1), channel=world.channel_a, target=60
    )
    services.target_set(
        actor=world.cm_a,
        month=date(2026, 3, 1),
        channel=world.channel_a,
        product=world.product,
        target=10,
    )
    audits = AuditEvent.objects.count()
    services.target_set(
        actor=world.cm_a, month=date(2026, 3, 1), channel=world.channel_a, target=60
    )

    assert AuditEvent.objects.count() == audits  # same number: nothing written
    assert list(
        DevelopmentTarget.objects.order_by(F("product__code").asc(nulls_first=True)).values_list(
            "month", "channel__code", "product__code", "target"
        )
    ) == [
        (date(2026, 3, 1), "GZ-TH-HALL", None, 60),
        (date(2026, 3, 1), "GZ-TH-HALL", "CRBT", 10),
    ]
    assert list(
        AuditEvent.objects.filter(action__startswith="development_target")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == [
        "development_target.created",
        "development_target.updated",
        "development_target.created",
    ]


@pytest.mark.parametrize(
    ("_case", "who", "kwargs", "error"),
    [
        ("negative", "cm_a", {"target": -1}, "invalid_number"),
        ("too_large", "cm_a", {"target": 10_000_001}, "invalid_number"),
        ("closed_channel", "cm_a", {"channel": "closed"}, "channel_inactive"),
        ("closed_product", "cm_a", {"product": "closed"}, "product_inactive"),
        ("other_city", "cm_b", {}, "not_found"),
        ("no_permission", "auditor_a", {}, "forbidden"),
    ],
)
def test_target_refusals_change_nothing(world, _case, who, kwargs, error):
    values = {"month": date(2026, 4, 1), "channel": world.channel_a, "target": 5}
    values.update(kwargs)
    if values["channel"] == "closed":
        services.channel_deactivate(actor=world.cm_a, channel=world.channel_city_a)
        values["channel"] = world.channel_city_a
    if values.get("product") == "closed":
        values["product"] = factories.product("OLD", is_active=False)
    before = _snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.target_set(actor=getattr(world, who), **values)

    assert refused.value.code == error
    assert _snapshot() == before


def test_target_boundaries(world):
    zero = services.target_set(
        actor=world.cm_a, month=date(2026, 4, 1), channel=world.channel_a, target=0
    )
    top = services.target_set(
        actor=world.cm_a, month=date(2026, 5, 1), channel=world.channel_a, target=10_000_000
    )
    assert (zero.target, top.target) == (0, 10_000_000)


def test_targets_for_is_scoped_and_takes_whole_months(world):
    for month in (date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)):
        services.target_set(actor=world.cm_a, month=month, channel=world.channel_a, target=1)
    services.target_set(actor=world.cm_b, month=date(2026, 2, 1), channel=world.channel_b, target=2)

    def rows(user, month_from, month_to):
        return [
            (t.month.month, t.channel.code)
            for t in targets_for(user=user, month_from=month_from, month_to=month_to)
        ]

    assert rows(world.cm_a, date(2026, 2, 28), date(2026, 3, 1)) == [
        (3, "GZ-TH-HALL"),
        (2, "GZ-TH-HALL"),
    ]
    assert rows(world.cm_a, date(2026, 2, 1), date(2026, 2, 1)) == [(2, "GZ-TH-HALL")]
    assert rows(world.cm_province, date(2026, 2, 1), date(2026, 2, 1)) == [
        (2, "GZ-TH-HALL"),
        (2, "SZ-HALL"),
    ]
    assert rows(world.cs_agent, None, None) == []
    assert rows(world.auditor_a, None, None) == [
        (3, "GZ-TH-HALL"),
        (2, "GZ-TH-HALL"),
        (1, "GZ-TH-HALL"),
    ]
