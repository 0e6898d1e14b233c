"""Public notices (公示, R2): every partner sees the notices for all, only the partner
concerned sees a back-to-back one (tier results); staff see their subtree's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from prm.core.exceptions import ApplicationError
from prm.core.models import AuditEvent
from prm.partners.tests import factories
from prm.portal.models import PublicNotice
from prm.portal.selectors_announcements import public_notice_list_filter, public_notices_visible
from prm.portal.services.notices import public_notice_create, public_notice_publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(orgs, make_user):
    gz = factories.partner(managing_org=orgs.city_a, company_name="GZ")
    sz = factories.partner(managing_org=orgs.city_b, company_name="SZ")
    notices = {
        "admission": public_notice_create(
            kind="admission", title="入围结果", body="…", org=orgs.province, partner=gz
        ),
        "penalty_gz": public_notice_create(
            kind="penalty", title="处罚公示", body="…", org=orgs.city_a, partner=gz
        ),
        "tier_gz": public_notice_create(
            kind="tier", title="分级结果 GZ", body="A", org=orgs.province, only_partner=gz
        ),
        "tier_sz": public_notice_create(
            kind="tier", title="分级结果 SZ", body="B", org=orgs.province, only_partner=sz
        ),
        "scheduled": public_notice_create(
            kind="admission",
            title="明日公示",
            body="…",
            org=orgs.province,
            published_at=timezone.now() + timedelta(days=1),
        ),
    }
    return {
        "gz": gz,
        "sz": sz,
        "gz_user": factories.partner_user(gz),
        "sz_user": factories.partner_user(sz),
        "province": make_user(org=orgs.province, roles=("partner_manager",)),
        "city_a": make_user(org=orgs.city_a, roles=("partner_manager",)),
        "city_b": make_user(org=orgs.city_b, roles=("partner_manager",)),
        "notices": notices,
    }


def _seen(world, who):
    keys = {notice.pk: key for key, notice in world["notices"].items()}
    return {keys[pk] for pk in public_notices_visible(user=world[who]).values_list("pk", flat=True)}


@pytest.mark.parametrize(
    ("_case", "who", "expected"),
    [
        ("partner_sees_public_and_own_tier", "gz_user", {"admission", "penalty_gz", "tier_gz"}),
        ("other_partner_sees_its_own_tier", "sz_user", {"admission", "penalty_gz", "tier_sz"}),
        (
            "province_staff_see_all_of_subtree",
            "province",
            {"admission", "penalty_gz", "tier_gz", "tier_sz", "scheduled"},
        ),
        ("city_staff_see_their_city", "city_a", {"penalty_gz"}),
        ("other_city_staff", "city_b", set()),
    ],
    ids=["gz_partner", "sz_partner", "province", "city_a", "city_b"],
)
def test_back_to_back_visibility(world, _case, who, expected):
    assert _seen(world, who) == expected


def test_filter_by_kind_and_text(world):
    visible = public_notices_visible(user=world["gz_user"])

    tiers = public_notice_list_filter(visible, filters={"kind": "tier"})
    penalty = public_notice_list_filter(visible, filters={"q": "处罚"})

    assert list(tiers) == [world["notices"]["tier_gz"]]
    assert list(penalty) == [world["notices"]["penalty_gz"]]


def test_staff_publish_a_back_to_back_notice(world):
    notice = public_notice_publish(
        actor=world["city_a"],
        kind="tier",
        title="您的分级结果",
        body="A",
        only_partner=world["gz"],
    )

    assert (notice.org, notice.only_partner, notice.partner) == (
        world["city_a"].org,
        world["gz"],
        world["gz"],
    )
    assert AuditEvent.objects.filter(action="public_notice.published", target_id=str(notice.pk))
    assert notice.pk in public_notices_visible(user=world["gz_user"]).values_list("pk", flat=True)
    assert notice.pk not in public_notices_visible(user=world["sz_user"]).values_list(
        "pk", flat=True
    )


@pytest.mark.parametrize(
    ("_case", "actor", "overrides", "code"),
    [
        ("partner_outside_scope", "city_a", {"partner": "sz"}, "partner_out_of_scope"),
        ("only_partner_outside_scope", "city_a", {"only_partner": "sz"}, "partner_out_of_scope"),
        ("unknown_kind", "city_a", {"kind": "other"}, "kind_unknown"),
        ("partner_user", "gz_user", {}, "forbidden"),
    ],
    ids=["partner_outside_scope", "only_partner_outside_scope", "unknown_kind", "partner_user"],
)
def test_publish_refusals_write_nothing(world, _case, actor, overrides, code):
    values = {"kind": "penalty", "title": "t", "body": "b"}
    for key, value in overrides.items():
        values[key] = world[value] if key in ("partner", "only_partner") else value
    counts = (PublicNotice.objects.count(), AuditEvent.objects.count())

    with pytest.raises(ApplicationError) as error:
        public_notice_publish(actor=world[actor], **values)

    assert error.value.code == code
    assert (PublicNotice.objects.count(), AuditEvent.objects.count()) == counts
