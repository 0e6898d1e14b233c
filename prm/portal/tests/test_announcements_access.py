"""Access to every page and API endpoint of announcements, public notices and the
knowledge base: anonymous, another partner, staff of another org, staff without the
permission, and the allowed user (R0 scoping: out of scope is 404, not 403).

The world: Guangzhou (``city_a``) publishes announcement ``A`` to all its partners
(partner ``gz``, managed by Tianhe); ``sz`` is Shenzhen's partner. ``D`` is a draft of
Guangzhou. Notice ``NB`` is back-to-back for ``gz``. Articles: ``K`` published, ``KD`` a
draft and ``KR`` one in review, all written by ``writer`` (Tianhe).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from prm.partners.tests import factories
from prm.portal.models import Announcement, AnnouncementReceipt, AnnouncementReply
from prm.portal.services.announcements import announcement_create, announcement_publish
from prm.portal.services.knowledge import (
    knowledge_article_approve,
    knowledge_article_create,
    knowledge_article_submit,
)
from prm.portal.services.notices import public_notice_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(orgs, make_user):
    gz = factories.partner(managing_org=orgs.county_a, company_name="GZ")
    sz = factories.partner(managing_org=orgs.city_b, company_name="SZ")
    people = {
        "anonymous": None,
        "gz": factories.partner_user(gz),
        "sz": factories.partner_user(sz),
        "staff": make_user(org=orgs.city_a, roles=("partner_manager",), username="gz_pm"),
        "staff_b": make_user(org=orgs.city_b, roles=("partner_manager",), username="sz_pm"),
        "channel": make_user(org=orgs.city_a, roles=("channel_manager",), username="gz_cm"),
        "auditor": make_user(org=orgs.city_a, roles=("auditor",), username="gz_aud"),
        "cs": make_user(org=orgs.city_a, roles=("cs_agent",), username="gz_cs"),
        "writer": make_user(org=orgs.county_a, roles=("channel_manager",), username="th_cm"),
    }
    now = timezone.now()
    published = announcement_create(
        actor=people["staff"],
        title="通知",
        body="正文",
        publish_from=now - timedelta(days=1),
        requires_ack=True,
    )
    announcement_publish(actor=people["staff"], announcement_id=published.pk)
    draft = announcement_create(
        actor=people["staff"], title="草稿", body="正文", publish_from=now - timedelta(days=1)
    )
    notice = public_notice_create(
        kind="tier", title="分级结果", body="A", org=orgs.city_a, only_partner=gz
    )

    def article(title):
        return knowledge_article_create(
            actor=people["writer"], title=title, category="product", body="彩铃"
        )

    k_published = article("published")
    knowledge_article_submit(actor=people["writer"], article_id=k_published.pk)
    knowledge_article_approve(actor=people["staff"], article_id=k_published.pk)
    k_draft = article("draft")
    k_review = article("review")
    knowledge_article_submit(actor=people["writer"], article_id=k_review.pk)
    ids = {
        "A": published.pk,
        "D": draft.pk,
        "NB": notice.pk,
        "K": k_published.pk,
        "KD": k_draft.pk,
        "KR": k_review.pk,
    }
    return {"people": people, "ids": ids}


# (case, method, url template, who, expected status)
PAGES = [
    # announcement list
    ("list_anonymous", "get", "/portal/announcements/", "anonymous", 302),
    ("list_partner", "get", "/portal/announcements/", "gz", 200),
    ("list_other_partner", "get", "/portal/announcements/", "sz", 200),
    ("list_no_permission", "get", "/portal/announcements/", "channel", 403),
    ("list_staff", "get", "/portal/announcements/", "staff", 200),
    ("list_staff_other_org", "get", "/portal/announcements/", "staff_b", 200),
    # new
    ("new_anonymous", "get", "/portal/announcements/new/", "anonymous", 302),
    ("new_partner", "get", "/portal/announcements/new/", "gz", 403),
    ("new_read_only", "get", "/portal/announcements/new/", "auditor", 403),
    ("new_staff", "get", "/portal/announcements/new/", "staff", 200),
    # detail
    ("detail_anonymous", "get", "/portal/announcements/{A}/", "anonymous", 302),
    ("detail_partner", "get", "/portal/announcements/{A}/", "gz", 200),
    ("detail_other_partner", "get", "/portal/announcements/{A}/", "sz", 404),
    ("detail_draft_partner", "get", "/portal/announcements/{D}/", "gz", 404),
    ("detail_staff_other_org", "get", "/portal/announcements/{A}/", "staff_b", 404),
    ("detail_no_permission", "get", "/portal/announcements/{A}/", "channel", 403),
    ("detail_read_only", "get", "/portal/announcements/{A}/", "auditor", 200),
    ("detail_staff", "get", "/portal/announcements/{D}/", "staff", 200),
    # edit
    ("edit_anonymous", "get", "/portal/announcements/{D}/edit/", "anonymous", 302),
    ("edit_partner", "get", "/portal/announcements/{D}/edit/", "gz", 403),
    ("edit_staff_other_org", "get", "/portal/announcements/{D}/edit/", "staff_b", 404),
    ("edit_read_only", "get", "/portal/announcements/{D}/edit/", "auditor", 403),
    ("edit_staff", "get", "/portal/announcements/{D}/edit/", "staff", 200),
    # publish / withdraw / attachments
    ("publish_anonymous", "post", "/portal/announcements/{D}/publish/", "anonymous", 302),
    ("publish_partner", "post", "/portal/announcements/{D}/publish/", "gz", 403),
    ("publish_staff_other_org", "post", "/portal/announcements/{D}/publish/", "staff_b", 404),
    ("publish_read_only", "post", "/portal/announcements/{D}/publish/", "auditor", 403),
    ("publish_staff", "post", "/portal/announcements/{D}/publish/", "staff", 302),
    ("withdraw_anonymous", "post", "/portal/announcements/{A}/withdraw/", "anonymous", 302),
    ("withdraw_partner", "post", "/portal/announcements/{A}/withdraw/", "gz", 403),
    ("withdraw_staff_other_org", "post", "/portal/announcements/{A}/withdraw/", "staff_b", 404),
    ("withdraw_read_only", "post", "/portal/announcements/{A}/withdraw/", "auditor", 403),
    ("withdraw_staff", "post", "/portal/announcements/{A}/withdraw/", "staff", 302),
    ("attach_anonymous", "post", "/portal/announcements/{D}/attachments/", "anonymous", 302),
    ("attach_partner", "post", "/portal/announcements/{D}/attachments/", "gz", 403),
    ("attach_staff_other_org", "post", "/portal/announcements/{D}/attachments/", "staff_b", 404),
    ("attach_read_only", "post", "/portal/announcements/{D}/attachments/", "auditor", 403),
    ("attach_staff", "post", "/portal/announcements/{D}/attachments/", "staff", 302),
    # partner actions
    ("ack_anonymous", "post", "/portal/announcements/{A}/acknowledge/", "anonymous", 302),
    ("ack_partner", "post", "/portal/announcements/{A}/acknowledge/", "gz", 302),
    ("ack_other_partner", "post", "/portal/announcements/{A}/acknowledge/", "sz", 404),
    ("ack_staff", "post", "/portal/announcements/{A}/acknowledge/", "staff", 403),
    ("ack_no_permission", "post", "/portal/announcements/{A}/acknowledge/", "channel", 403),
    ("reply_anonymous", "post", "/portal/announcements/{A}/reply/", "anonymous", 302),
    ("reply_partner", "post", "/portal/announcements/{A}/reply/", "gz", 302),
    ("reply_other_partner", "post", "/portal/announcements/{A}/reply/", "sz", 404),
    ("reply_staff", "post", "/portal/announcements/{A}/reply/", "staff", 403),
    ("reply_no_permission", "post", "/portal/announcements/{A}/reply/", "cs", 403),
    # statistics
    ("stats_anonymous", "get", "/portal/announcements/{A}/statistics/", "anonymous", 302),
    ("stats_partner", "get", "/portal/announcements/{A}/statistics/", "gz", 403),
    ("stats_staff_other_org", "get", "/portal/announcements/{A}/statistics/", "staff_b", 404),
    ("stats_no_permission", "get", "/portal/announcements/{A}/statistics/", "channel", 403),
    ("stats_read_only", "get", "/portal/announcements/{A}/statistics/", "auditor", 200),
    ("stats_staff", "get", "/portal/announcements/{A}/statistics/", "staff", 200),
    # public notices
    ("notices_anonymous", "get", "/portal/notices/", "anonymous", 302),
    ("notices_partner", "get", "/portal/notices/", "gz", 200),
    ("notices_no_permission", "get", "/portal/notices/", "channel", 403),
    ("notices_staff", "get", "/portal/notices/", "staff", 200),
    ("notice_anonymous", "get", "/portal/notices/{NB}/", "anonymous", 302),
    ("notice_partner", "get", "/portal/notices/{NB}/", "gz", 200),
    ("notice_other_partner", "get", "/portal/notices/{NB}/", "sz", 404),
    ("notice_staff_other_org", "get", "/portal/notices/{NB}/", "staff_b", 404),
    ("notice_no_permission", "get", "/portal/notices/{NB}/", "channel", 403),
    ("notice_staff", "get", "/portal/notices/{NB}/", "staff", 200),
    ("notice_new_anonymous", "get", "/portal/notices/new/", "anonymous", 302),
    ("notice_new_partner", "get", "/portal/notices/new/", "gz", 403),
    ("notice_new_read_only", "get", "/portal/notices/new/", "auditor", 403),
    ("notice_new_staff", "get", "/portal/notices/new/", "staff", 200),
    # knowledge base
    ("kb_anonymous", "get", "/portal/knowledge/", "anonymous", 302),
    ("kb_partner", "get", "/portal/knowledge/", "gz", 200),
    ("kb_no_permission", "get", "/portal/knowledge/", "cs", 403),
    ("kb_staff", "get", "/portal/knowledge/?tab=review", "staff", 200),
    ("kb_new_anonymous", "get", "/portal/knowledge/new/", "anonymous", 302),
    ("kb_new_partner", "get", "/portal/knowledge/new/", "gz", 403),
    ("kb_new_no_permission", "get", "/portal/knowledge/new/", "auditor", 403),
    ("kb_new_writer", "get", "/portal/knowledge/new/", "writer", 200),
    ("kb_article_anonymous", "get", "/portal/knowledge/{K}/", "anonymous", 302),
    ("kb_article_partner", "get", "/portal/knowledge/{K}/", "gz", 200),
    ("kb_article_no_permission", "get", "/portal/knowledge/{K}/", "cs", 403),
    ("kb_draft_partner", "get", "/portal/knowledge/{KD}/", "gz", 404),
    ("kb_draft_other_staff", "get", "/portal/knowledge/{KD}/", "staff_b", 404),
    ("kb_draft_author", "get", "/portal/knowledge/{KD}/", "writer", 200),
    ("kb_review_reviewer", "get", "/portal/knowledge/{KR}/", "staff", 200),
    ("kb_review_other_reviewer", "get", "/portal/knowledge/{KR}/", "staff_b", 404),
    ("kb_edit_anonymous", "get", "/portal/knowledge/{KD}/edit/", "anonymous", 302),
    ("kb_edit_partner", "get", "/portal/knowledge/{KD}/edit/", "gz", 403),
    ("kb_edit_other_writer", "get", "/portal/knowledge/{KD}/edit/", "channel", 404),
    ("kb_edit_no_permission", "get", "/portal/knowledge/{KD}/edit/", "cs", 403),
    ("kb_edit_author", "get", "/portal/knowledge/{KD}/edit/", "writer", 200),
    ("kb_submit_anonymous", "post", "/portal/knowledge/{KD}/submit/", "anonymous", 302),
    ("kb_submit_partner", "post", "/portal/knowledge/{KD}/submit/", "gz", 403),
    ("kb_submit_other_writer", "post", "/portal/knowledge/{KD}/submit/", "channel", 404),
    ("kb_submit_author", "post", "/portal/knowledge/{KD}/submit/", "writer", 302),
    ("kb_recall_other_writer", "post", "/portal/knowledge/{KR}/recall/", "channel", 404),
    ("kb_recall_author", "post", "/portal/knowledge/{KR}/recall/", "writer", 302),
    ("kb_approve_anonymous", "post", "/portal/knowledge/{KR}/approve/", "anonymous", 302),
    ("kb_approve_partner", "post", "/portal/knowledge/{KR}/approve/", "gz", 403),
    ("kb_approve_other_org", "post", "/portal/knowledge/{KR}/approve/", "staff_b", 404),
    ("kb_approve_no_permission", "post", "/portal/knowledge/{KR}/approve/", "writer", 403),
    ("kb_approve_reviewer", "post", "/portal/knowledge/{KR}/approve/", "staff", 302),
    ("kb_reject_other_org", "post", "/portal/knowledge/{KR}/reject/", "staff_b", 404),
    ("kb_reject_no_permission", "post", "/portal/knowledge/{KR}/reject/", "channel", 403),
    ("kb_reject_reviewer", "post", "/portal/knowledge/{KR}/reject/", "staff", 302),
    ("kb_archive_anonymous", "post", "/portal/knowledge/{K}/archive/", "anonymous", 302),
    ("kb_archive_partner", "post", "/portal/knowledge/{K}/archive/", "gz", 403),
    ("kb_archive_other_org", "post", "/portal/knowledge/{K}/archive/", "staff_b", 403),
    ("kb_archive_no_permission", "post", "/portal/knowledge/{K}/archive/", "cs", 403),
    ("kb_archive_reviewer", "post", "/portal/knowledge/{K}/archive/", "staff", 302),
    ("kb_attach_partner", "post", "/portal/knowledge/{KD}/attachments/", "gz", 403),
    ("kb_attach_other_writer", "post", "/portal/knowledge/{KD}/attachments/", "channel", 404),
    ("kb_attach_author", "post", "/portal/knowledge/{KD}/attachments/", "writer", 302),
]


@pytest.mark.parametrize(
    ("_case", "method", "url", "who", "expected"), PAGES, ids=[case[0] for case in PAGES]
)
def test_page_access(client, world, _case, method, url, who, expected):
    user = world["people"][who]
    if user is not None:
        client.force_login(user)
    url = url.format(**world["ids"])

    response = getattr(client, method)(
        url, {"note": "请补充", "body": "收到"} if method == "post" else None
    )

    assert response.status_code == expected
    if expected == 302 and who == "anonymous":
        assert response["Location"].startswith("/accounts/login/")


API = [
    ("list_anonymous", "get", "announcements", "anonymous", 401),
    ("list_partner", "get", "announcements", "gz", 200),
    ("list_no_permission", "get", "announcements", "channel", 403),
    ("list_staff", "get", "announcements", "staff", 200),
    ("detail_anonymous", "get", "announcements/{A}", "anonymous", 401),
    ("detail_partner", "get", "announcements/{A}", "gz", 200),
    ("detail_other_partner", "get", "announcements/{A}", "sz", 404),
    ("detail_draft_partner", "get", "announcements/{D}", "gz", 404),
    ("detail_staff_other_org", "get", "announcements/{A}", "staff_b", 404),
    ("detail_no_permission", "get", "announcements/{A}", "channel", 403),
    ("detail_staff", "get", "announcements/{A}", "staff", 200),
    ("read_anonymous", "post", "announcements/{A}/read", "anonymous", 401),
    ("read_partner", "post", "announcements/{A}/read", "gz", 200),
    ("read_other_partner", "post", "announcements/{A}/read", "sz", 404),
    ("read_staff", "post", "announcements/{A}/read", "staff", 403),
    ("read_no_permission", "post", "announcements/{A}/read", "cs", 403),
    ("ack_anonymous", "post", "announcements/{A}/acknowledge", "anonymous", 401),
    ("ack_partner", "post", "announcements/{A}/acknowledge", "gz", 200),
    ("ack_other_partner", "post", "announcements/{A}/acknowledge", "sz", 404),
    ("ack_staff", "post", "announcements/{A}/acknowledge", "staff", 403),
    ("reply_anonymous", "post", "announcements/{A}/replies", "anonymous", 401),
    ("reply_partner", "post", "announcements/{A}/replies", "gz", 201),
    ("reply_other_partner", "post", "announcements/{A}/replies", "sz", 404),
    ("reply_staff", "post", "announcements/{A}/replies", "staff", 403),
    ("notices_anonymous", "get", "notices", "anonymous", 401),
    ("notices_partner", "get", "notices", "gz", 200),
    ("notices_no_permission", "get", "notices", "channel", 403),
    ("notices_staff", "get", "notices", "staff", 200),
    ("notice_partner", "get", "notices/{NB}", "gz", 200),
    ("notice_other_partner", "get", "notices/{NB}", "sz", 404),
    ("notice_staff_other_org", "get", "notices/{NB}", "staff_b", 404),
    ("notice_staff", "get", "notices/{NB}", "staff", 200),
    ("kb_anonymous", "get", "knowledge", "anonymous", 401),
    ("kb_partner", "get", "knowledge", "gz", 200),
    ("kb_no_permission", "get", "knowledge", "cs", 403),
    ("kb_staff", "get", "knowledge", "staff", 200),
    ("kb_article_partner", "get", "knowledge/{K}", "gz", 200),
    ("kb_draft_partner", "get", "knowledge/{KD}", "gz", 404),
    ("kb_draft_other_staff", "get", "knowledge/{KD}", "staff_b", 404),
    ("kb_draft_author", "get", "knowledge/{KD}", "writer", 200),
]


@pytest.mark.parametrize(
    ("_case", "method", "path", "who", "expected"), API, ids=[case[0] for case in API]
)
def test_api_access(client, world, _case, method, path, who, expected):
    user = world["people"][who]
    if user is not None:
        client.force_login(user)
    url = "/api/v1/portal/" + path.format(**world["ids"])

    if method == "post":
        response = client.post(url, {"body": "收到"}, content_type="application/json")
    else:
        response = client.get(url)

    assert response.status_code == expected, response.content
    if expected >= 400:
        assert set(response.json()) == {"code", "message", "details"}


def test_other_partner_list_does_not_show_the_announcement(client, world):
    client.force_login(world["people"]["sz"])

    page = client.get("/portal/announcements/")
    api = client.get("/api/v1/portal/announcements")

    assert f'data-id="{world["ids"]["A"]}"' not in page.content.decode()
    assert api.json() == []
    assert api["X-Total-Count"] == "0"


def test_refused_partner_actions_change_nothing(client, world):
    client.force_login(world["people"]["sz"])
    a = world["ids"]["A"]

    client.post(f"/portal/announcements/{a}/acknowledge/")
    client.post(f"/portal/announcements/{a}/reply/", {"body": "hi"})
    client.post(f"/api/v1/portal/announcements/{a}/read", content_type="application/json")

    assert (AnnouncementReceipt.objects.count(), AnnouncementReply.objects.count()) == (0, 0)
    assert Announcement.objects.get(pk=a).status == "published"
