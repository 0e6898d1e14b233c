"""Announcements (R2): the audience rule, the publish window, reading, acknowledging,
replying and the read statistics.

The operator tree of the root conftest: HQ → Guangdong → Guangzhou (→ Tianhe) and
Shenzhen (→ Nanshan). Partners here: ``gz`` (SP, tier A, managed by Tianhe, under
Guangzhou), ``sz`` (CP, tier B, managed by Shenzhen), ``gd`` (SP, no tier, managed by
the province).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from prm.core.exceptions import ApplicationError
from prm.core.models import AuditEvent, Notification
from prm.partners.models import Partner
from prm.partners.tests import factories
from prm.portal.models import Announcement, AnnouncementReceipt, AnnouncementReply
from prm.portal.selectors_announcements import (
    announcement_audience,
    announcement_reaches,
    announcement_statistics,
    announcements_for_partner,
)
from prm.portal.services.announcements import (
    announcement_acknowledge,
    announcement_create,
    announcement_mark_read,
    announcement_publish,
    announcement_reply_create,
    announcement_update,
    announcement_withdraw,
)

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 6, 1, 9, 0, tzinfo=TZ)
T1 = datetime(2026, 6, 30, 18, 0, tzinfo=TZ)
SECOND = timedelta(seconds=1)


@pytest.fixture
def staff(orgs, make_user):
    return {
        "hq": make_user(org=orgs.hq, roles=("partner_manager",), username="hq_pm"),
        "province": make_user(org=orgs.province, roles=("partner_manager",), username="gd_pm"),
        "city_a": make_user(org=orgs.city_a, roles=("partner_manager",), username="gz_pm"),
        "city_b": make_user(org=orgs.city_b, roles=("partner_manager",), username="sz_pm"),
        "auditor": make_user(org=orgs.province, roles=("auditor",), username="gd_auditor"),
    }


@pytest.fixture
def partners(orgs):
    return {
        "gz": factories.partner(
            managing_org=orgs.county_a, category_code="sp", tier="A", company_name="GZ SP"
        ),
        "sz": factories.partner(
            managing_org=orgs.city_b, category_code="cp", tier="B", company_name="SZ CP"
        ),
        "gd": factories.partner(
            managing_org=orgs.province, category_code="sp", tier="", company_name="GD SP"
        ),
    }


def _announcement(actor, *, org=None, publish=True, **extra):
    values = {
        "title": "彩铃业务调整通知",
        "body": "自下月起调整彩铃业务结算方式。",
        "publish_from": T0,
        "publish_until": T1,
        "org": org,
    }
    values.update(extra)
    announcement = announcement_create(actor=actor, **values)
    if publish:
        announcement_publish(actor=actor, announcement_id=announcement.pk, now=T0 - SECOND)
        announcement.refresh_from_db()
    return announcement


# ---- the audience rule ------------------------------------------------------------------

AUDIENCE_CASES = [
    # (case, publishing org, audience, partners reached)
    ("hq_all", "hq", {"audience_all": True}, {"gz", "sz", "gd"}),
    ("province_all", "province", {"audience_all": True}, {"gz", "sz", "gd"}),
    ("city_all_reaches_only_its_subtree", "city_a", {"audience_all": True}, {"gz"}),
    ("other_city_all", "city_b", {"audience_all": True}, {"sz"}),
    ("category_sp", "province", {"categories": ["sp"]}, {"gz", "gd"}),
    ("category_sp_or_cp", "province", {"categories": ["sp", "cp"]}, {"gz", "sz", "gd"}),
    ("tier_a", "province", {"tiers": ["A"]}, {"gz"}),
    ("tier_a_or_b", "province", {"tiers": ["A", "B"]}, {"gz", "sz"}),
    ("tier_c_nobody", "province", {"tiers": ["C"]}, set()),
    ("region_city_b", "province", {"regions": ["city_b"]}, {"sz"}),
    ("region_city_a_includes_county", "hq", {"regions": ["city_a"]}, {"gz"}),
    ("region_county", "hq", {"regions": ["county_a"]}, {"gz"}),
    ("region_province_includes_all", "hq", {"regions": ["province"]}, {"gz", "sz", "gd"}),
    ("category_and_tier", "province", {"categories": ["sp"], "tiers": ["A"]}, {"gz"}),
    (
        "categories_or_and_region",
        "province",
        {"categories": ["sp", "cp"], "regions": ["city_b"]},
        {"sz"},
    ),
    ("tier_and_region_disjoint", "province", {"tiers": ["A"], "regions": ["city_b"]}, set()),
    ("org_subtree_and_category", "city_b", {"categories": ["sp"]}, set()),
    ("city_region_in_subtree", "city_a", {"regions": ["county_a"]}, {"gz"}),
]


@pytest.mark.parametrize(
    ("_case", "publisher", "audience", "expected"),
    AUDIENCE_CASES,
    ids=[case[0] for case in AUDIENCE_CASES],
)
def test_audience_rule(orgs, staff, partners, _case, publisher, audience, expected):
    factories.category("cp")
    categories = [factories.category(code) for code in audience.get("categories", [])]
    regions = [getattr(orgs, name) for name in audience.get("regions", [])]
    announcement = _announcement(
        staff["hq"],
        org=getattr(orgs, publisher),
        audience_all=audience.get("audience_all", False),
        audience_categories=categories,
        audience_tiers=audience.get("tiers", []),
        audience_regions=regions,
    )

    reached = {key for key, p in partners.items() if announcement_reaches(announcement, p)}
    in_audience = {
        key for key, p in partners.items() if announcement_audience(announcement).filter(pk=p.pk)
    }
    listed = {
        key
        for key, p in partners.items()
        if announcements_for_partner(partner=p, now=T0).filter(pk=announcement.pk).exists()
    }

    assert reached == in_audience == listed == expected


@pytest.mark.parametrize(
    ("_case", "status", "reached"),
    [
        ("active", Partner.Status.ACTIVE, True),
        ("exiting", Partner.Status.EXITING, True),
        ("exited", Partner.Status.EXITED, False),
        ("application", Partner.Status.SUBMITTED, False),
    ],
    ids=["active", "exiting", "exited", "application"],
)
def test_only_working_partners_are_reached(orgs, staff, _case, status, reached):
    partner = factories.partner(managing_org=orgs.city_a, status=status)
    announcement = _announcement(staff["hq"])

    assert announcement_reaches(announcement, partner) is reached
    assert announcement_audience(announcement).filter(pk=partner.pk).exists() is reached


WINDOW_CASES = [
    ("before_from", T0 - SECOND, T1, False),
    ("at_from", T0, T1, True),
    ("inside", T0 + timedelta(days=3), T1, True),
    ("just_before_until", T1 - SECOND, T1, True),
    ("at_until_excluded", T1, T1, False),
    ("after_until", T1 + SECOND, T1, False),
    ("open_ended_far_future", T1 + timedelta(days=900), None, True),
]


@pytest.mark.parametrize(
    ("_case", "now", "until", "visible"),
    WINDOW_CASES,
    ids=[case[0] for case in WINDOW_CASES],
)
def test_publish_window_edges(orgs, staff, partners, _case, now, until, visible):
    announcement = _announcement(staff["hq"], publish_until=until)

    listed = announcements_for_partner(partner=partners["gz"], now=now)

    assert listed.filter(pk=announcement.pk).exists() is visible


def test_drafts_and_withdrawn_announcements_are_not_shown_to_partners(orgs, staff, partners):
    draft = _announcement(staff["hq"], publish=False)
    withdrawn = _announcement(staff["hq"])
    announcement_withdraw(actor=staff["hq"], announcement_id=withdrawn.pk)

    listed = announcements_for_partner(partner=partners["gz"], now=T0)

    assert list(listed) == []
    assert Announcement.objects.get(pk=draft.pk).status == "draft"


def test_partner_list_puts_unread_first_then_newest(orgs, staff, partners, make_user):
    older = _announcement(staff["hq"], title="older", publish_from=T0 - timedelta(days=2))
    newer = _announcement(staff["hq"], title="newer", publish_from=T0 - timedelta(days=1))
    read = _announcement(staff["hq"], title="read", publish_from=T0)
    reader = factories.partner_user(partners["gz"])
    announcement_mark_read(actor=reader, announcement_id=read.pk, now=T0)

    listed = list(announcements_for_partner(partner=partners["gz"], now=T0))

    assert [(a.title, a.is_read) for a in listed] == [
        ("newer", False),
        ("older", False),
        ("read", True),
    ]
    assert older.pk != newer.pk


# ---- writing and publishing ------------------------------------------------------------


def test_create_update_and_publish_notifies_partner_admins_in_app(orgs, staff, partners):
    extra_admin = factories.partner_user(partners["gz"], roles=("partner_admin",))
    plain_staff = factories.partner_user(partners["gz"])
    announcement = _announcement(staff["city_a"], publish=False)
    announcement_update(
        actor=staff["city_a"],
        announcement_id=announcement.pk,
        title="新标题",
        body="正文",
        publish_from=T0,
        publish_until=T1,
        requires_ack=True,
    )

    announcement_publish(actor=staff["city_a"], announcement_id=announcement.pk, now=T0)

    announcement.refresh_from_db()
    assert (announcement.status, announcement.title, announcement.requires_ack) == (
        "published",
        "新标题",
        True,
    )
    assert announcement.published_at == T0
    recipients = set(
        Notification.objects.filter(event="portal.announcement_published_ack").values_list(
            "recipient__username", flat=True
        )
    )
    # Only Guangzhou's partner (the city's subtree), only its administrators.
    assert recipients == {partners["gz"].admin_user.username, extra_admin.username}
    assert plain_staff.username not in recipients
    assert list(
        AuditEvent.objects.filter(target_type="portal.announcement", target_id=str(announcement.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["announcement.created", "announcement.updated", "announcement.published"]


REFUSALS = [
    ("empty_audience", {"audience_all": False}, "audience_empty"),
    ("window_reversed", {"publish_until": T0}, "publish_window_invalid"),
    ("unknown_tier", {"audience_all": False, "audience_tiers": ["Z"]}, "audience_tier_unknown"),
    (
        "region_outside_org",
        {"audience_all": False, "region": "city_b"},
        "audience_region_out_of_scope",
    ),
    ("org_outside_scope", {"org": "city_b"}, "org_out_of_scope"),
    ("empty_title", {"title": "  "}, "title_required"),
]


@pytest.mark.parametrize(
    ("_case", "overrides", "code"), REFUSALS, ids=[case[0] for case in REFUSALS]
)
def test_invalid_announcements_are_refused_and_nothing_is_written(
    orgs, staff, _case, overrides, code
):
    overrides = dict(overrides)
    if "region" in overrides:
        overrides["audience_regions"] = [getattr(orgs, overrides.pop("region"))]
    if "org" in overrides:
        overrides["org"] = getattr(orgs, overrides["org"])
    counts = (Announcement.objects.count(), AuditEvent.objects.count())

    with pytest.raises(ApplicationError) as error:
        _announcement(staff["city_a"], publish=False, **overrides)

    assert error.value.code == code
    assert (Announcement.objects.count(), AuditEvent.objects.count()) == counts


def test_published_announcement_cannot_be_edited_or_published_again(orgs, staff):
    announcement = _announcement(staff["hq"])
    before = (announcement.title, AuditEvent.objects.count())

    with pytest.raises(ApplicationError) as edit:
        announcement_update(
            actor=staff["hq"],
            announcement_id=announcement.pk,
            title="x",
            body="y",
            publish_from=T0,
        )
    with pytest.raises(ApplicationError) as publish:
        announcement_publish(actor=staff["hq"], announcement_id=announcement.pk)

    assert (edit.value.code, publish.value.code) == ("announcement_not_draft", "invalid_transition")
    announcement.refresh_from_db()
    assert (announcement.title, AuditEvent.objects.count()) == before


def test_staff_of_another_city_cannot_touch_an_announcement(orgs, staff):
    announcement = _announcement(staff["city_a"], publish=False)

    with pytest.raises(ApplicationError) as error:
        announcement_publish(actor=staff["city_b"], announcement_id=announcement.pk)

    assert error.value.status == 404
    assert Announcement.objects.get(pk=announcement.pk).status == "draft"


def test_publishing_after_the_window_ended_is_refused(orgs, staff):
    announcement = _announcement(staff["hq"], publish=False)

    with pytest.raises(ApplicationError) as error:
        announcement_publish(actor=staff["hq"], announcement_id=announcement.pk, now=T1)

    assert error.value.code == "publish_window_past"
    assert Announcement.objects.get(pk=announcement.pk).status == "draft"
    assert Notification.objects.count() == 0


# ---- reading, acknowledging, replying ---------------------------------------------------


def test_first_reader_of_a_partner_is_kept(orgs, staff, partners, settings):
    announcement = _announcement(staff["hq"])
    first = factories.partner_user(partners["gz"])
    second = factories.partner_user(partners["gz"])

    announcement_mark_read(actor=first, announcement_id=announcement.pk, now=T0)
    announcement_mark_read(actor=second, announcement_id=announcement.pk, now=T0 + SECOND)

    receipt = AnnouncementReceipt.objects.get()
    assert (receipt.partner, receipt.read_by, receipt.read_at) == (partners["gz"], first, T0)
    assert AuditEvent.objects.filter(action="announcement.read").count() == 1


def test_acknowledgement_when_required(orgs, staff, partners):
    announcement = _announcement(staff["hq"], requires_ack=True)
    user = factories.partner_user(partners["gz"])
    other = factories.partner_user(partners["gz"])

    announcement_acknowledge(actor=user, announcement_id=announcement.pk, now=T0)
    announcement_acknowledge(actor=other, announcement_id=announcement.pk, now=T0 + SECOND)

    receipt = AnnouncementReceipt.objects.get()
    assert (receipt.read_by, receipt.acknowledged_by, receipt.acknowledged_at) == (user, user, T0)
    assert AuditEvent.objects.filter(action="announcement.acknowledged").count() == 1


def test_acknowledgement_is_refused_when_not_required(orgs, staff, partners):
    announcement = _announcement(staff["hq"], requires_ack=False)
    user = factories.partner_user(partners["gz"])

    with pytest.raises(ApplicationError) as error:
        announcement_acknowledge(actor=user, announcement_id=announcement.pk, now=T0)

    assert error.value.code == "acknowledgement_not_required"
    assert AnnouncementReceipt.objects.count() == 0


def test_reply_is_recorded_and_marks_read(orgs, staff, partners):
    announcement = _announcement(staff["hq"])
    user = factories.partner_user(partners["gz"])

    reply = announcement_reply_create(
        actor=user, announcement_id=announcement.pk, body=" 已收到，请问何时生效？ ", now=T0
    )

    assert (reply.partner, reply.author, reply.body) == (
        partners["gz"],
        user,
        "已收到，请问何时生效？",
    )
    assert AnnouncementReceipt.objects.filter(partner=partners["gz"]).exists()


@pytest.mark.parametrize("action", ["read", "acknowledge", "reply"])
def test_another_partner_cannot_act_on_an_announcement_not_addressed_to_it(
    orgs, staff, partners, action
):
    # Guangzhou's announcement does not reach Shenzhen's partner.
    announcement = _announcement(staff["city_a"], requires_ack=True)
    outsider = factories.partner_user(partners["sz"])
    calls = {
        "read": lambda: announcement_mark_read(
            actor=outsider, announcement_id=announcement.pk, now=T0
        ),
        "acknowledge": lambda: announcement_acknowledge(
            actor=outsider, announcement_id=announcement.pk, now=T0
        ),
        "reply": lambda: announcement_reply_create(
            actor=outsider, announcement_id=announcement.pk, body="hi", now=T0
        ),
    }

    with pytest.raises(ApplicationError) as error:
        calls[action]()

    assert error.value.status == 404
    assert (AnnouncementReceipt.objects.count(), AnnouncementReply.objects.count()) == (0, 0)


def test_empty_reply_is_refused(orgs, staff, partners):
    announcement = _announcement(staff["hq"])
    user = factories.partner_user(partners["gz"])

    with pytest.raises(ApplicationError) as error:
        announcement_reply_create(actor=user, announcement_id=announcement.pk, body="  ", now=T0)

    assert error.value.code == "reply_empty"
    assert (AnnouncementReceipt.objects.count(), AnnouncementReply.objects.count()) == (0, 0)


def test_staff_cannot_read_as_a_partner(orgs, staff):
    announcement = _announcement(staff["hq"])

    with pytest.raises(ApplicationError) as error:
        announcement_mark_read(actor=staff["hq"], announcement_id=announcement.pk, now=T0)

    assert (error.value.code, error.value.status) == ("partner_only", 403)


# ---- statistics ---------------------------------------------------------------------------


def _read(partner, announcement, *, ack=False, reply=""):
    user = factories.partner_user(partner)
    if ack:
        announcement_acknowledge(actor=user, announcement_id=announcement.pk, now=T0)
    else:
        announcement_mark_read(actor=user, announcement_id=announcement.pk, now=T0)
    if reply:
        announcement_reply_create(actor=user, announcement_id=announcement.pk, body=reply, now=T0)


def test_statistics_exact_numbers(orgs, staff):
    audience = [factories.partner(managing_org=orgs.city_a, company_name=f"P{n}") for n in range(5)]
    outside = factories.partner(managing_org=orgs.city_b, company_name="Outside")
    announcement = _announcement(
        staff["province"], requires_ack=True, audience_all=False, audience_regions=[orgs.city_a]
    )
    _read(audience[0], announcement, ack=True, reply="收到")
    _read(audience[1], announcement, ack=True)
    _read(audience[2], announcement)

    stats = announcement_statistics(announcement=announcement)

    assert (stats.audience_size, stats.read_count, stats.acknowledged_count) == (5, 3, 2)
    assert (stats.read_percent, stats.acknowledged_percent) == (60.0, 40.0)
    assert [p.company_name for p in stats.not_read] == ["P3", "P4"]
    assert [p.company_name for p in stats.not_acknowledged] == ["P2", "P3", "P4"]
    assert [(r.partner.company_name, r.body) for r in stats.replies] == [("P0", "收到")]
    assert outside not in stats.not_read
    assert stats.outside_audience_reads == 0


def test_statistics_of_an_empty_audience(orgs, staff):
    announcement = _announcement(staff["hq"], audience_all=False, audience_tiers=["C"])

    stats = announcement_statistics(announcement=announcement)

    assert (stats.audience_size, stats.read_count, stats.read_percent) == (0, 0, 0.0)


def test_statistics_run_constant_queries(orgs, staff):
    announcement = _announcement(staff["hq"], requires_ack=True)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            announcement_statistics(announcement=announcement)
        return len(captured)

    partner = factories.partner(managing_org=orgs.city_a)
    _read(partner, announcement, ack=True, reply="ok")
    queries()  # loads the announcement's org once
    small = queries()
    for n in range(6):
        partner = factories.partner(managing_org=orgs.city_b)
        _read(partner, announcement, ack=n % 2 == 0, reply=f"r{n}")

    assert queries() == small
