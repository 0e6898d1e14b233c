"""Announcements, notices and knowledge base through the pages and the API: what the
user does and sees (the rules themselves are tested in test_announcements.py,
test_notices.py and test_knowledge.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from prm.core.models import Attachment
from prm.core.navigation import nav_items_for
from prm.partners.tests import factories
from prm.portal.models import (
    Announcement,
    AnnouncementReceipt,
    AnnouncementReply,
    KnowledgeArticle,
    PublicNotice,
)
from prm.portal.services.announcements import announcement_create, announcement_publish
from prm.portal.services.knowledge import (
    knowledge_article_approve,
    knowledge_article_create,
    knowledge_article_submit,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(db, settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def world(orgs, make_user):
    gz = factories.partner(managing_org=orgs.city_a, category_code="sp", tier="A")
    return {
        "gz": gz,
        "gz_user": factories.partner_user(gz),
        "staff": make_user(org=orgs.city_a, roles=("partner_manager",)),
        "writer": make_user(org=orgs.city_a, roles=("channel_manager",)),
    }


def _published(actor, **extra):
    values = {
        "title": "Settlement change",
        "body": "From next month.",
        "publish_from": timezone.now() - timedelta(hours=1),
    }
    values.update(extra)
    announcement = announcement_create(actor=actor, **values)
    announcement_publish(actor=actor, announcement_id=announcement.pk)
    return announcement


def test_staff_write_a_targeted_draft_through_the_form_and_publish_it(client, orgs, world):
    client.force_login(world["staff"])

    response = client.post(
        "/portal/announcements/new/",
        {
            "title": "SP partners of Tianhe",
            "body": "Please update your contacts.",
            "org": orgs.city_a.code,
            "audience_categories": ["sp"],
            "audience_tiers": ["A", "B"],
            "audience_regions": [orgs.city_a.code],
            "publish_from": "2026-06-01T09:00",
            "publish_until": "2099-07-01T09:00",
            "requires_ack": "on",
        },
    )

    announcement = Announcement.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/portal/announcements/{announcement.pk}/"
    assert (announcement.audience_all, announcement.audience_tiers, announcement.requires_ack) == (
        False,
        ["A", "B"],
        True,
    )
    assert [c.code for c in announcement.audience_categories.all()] == ["sp"]
    assert [r.code for r in announcement.audience_regions.all()] == [orgs.city_a.code]
    assert timezone.localtime(announcement.publish_from).strftime("%Y-%m-%d %H:%M") == (
        "2026-06-01 09:00"
    )

    client.post(f"/portal/announcements/{announcement.pk}/publish/")
    assert Announcement.objects.get().status == "published"


def test_form_refusal_is_shown_on_the_field_and_writes_nothing(client, orgs, world):
    client.force_login(world["staff"])

    response = client.post(
        "/portal/announcements/new/",
        {"title": "t", "body": "b", "org": orgs.city_a.code, "publish_from": "2026-06-01T09:00"},
    )

    assert response.status_code == 200
    assert "Choose all partners, or at least one category, tier or region." in (
        response.content.decode()
    )
    assert Announcement.objects.count() == 0


def test_a_region_outside_the_staff_scope_is_an_invalid_choice(client, orgs, world):
    client.force_login(world["staff"])

    response = client.post(
        "/portal/announcements/new/",
        {
            "title": "t",
            "body": "b",
            "org": orgs.city_a.code,
            "audience_regions": [orgs.city_b.code],
            "publish_from": "2026-06-01T09:00",
        },
    )

    assert response.status_code == 200
    assert Announcement.objects.count() == 0


def test_partner_opens_acknowledges_and_replies(client, world):
    announcement = _published(world["staff"], requires_ack=True)
    client.force_login(world["gz_user"])

    listing = client.get("/portal/announcements/").content.decode()
    assert 'data-testid="announcement-unread-count"' in listing

    page = client.get(f"/portal/announcements/{announcement.pk}/").content.decode()
    assert 'data-testid="acknowledge"' in page
    receipt = AnnouncementReceipt.objects.get()
    assert (receipt.read_by, receipt.acknowledged_at) == (world["gz_user"], None)

    client.post(f"/portal/announcements/{announcement.pk}/acknowledge/")
    client.post(f"/portal/announcements/{announcement.pk}/reply/", {"body": "Noted."})

    receipt.refresh_from_db()
    assert receipt.acknowledged_by == world["gz_user"]
    assert AnnouncementReply.objects.get().body == "Noted."
    page = client.get(f"/portal/announcements/{announcement.pk}/").content.decode()
    assert 'data-testid="acknowledged"' in page and "Noted." in page
    listing = client.get("/portal/announcements/").content.decode()
    assert 'data-testid="announcement-unread-count"' not in listing


def test_statistics_page_shows_the_figures(client, orgs, world):
    announcement = _published(world["staff"], requires_ack=True)
    factories.partner(managing_org=orgs.county_a, company_name="Silent Ltd")
    client.force_login(world["gz_user"])
    client.post(f"/portal/announcements/{announcement.pk}/acknowledge/")
    client.force_login(world["staff"])

    page = client.get(f"/portal/announcements/{announcement.pk}/statistics/").content.decode()

    assert 'data-testid="stat-audience">2<' in page
    assert 'data-testid="stat-read-percent">50.0 %<' in page
    assert 'data-testid="stat-ack-percent">50.0 %<' in page
    assert "Silent Ltd" in page


def test_staff_list_filters_with_htmx_returning_only_the_table(client, world):
    _published(world["staff"], title="Alpha notice")
    _published(world["staff"], title="Beta notice")
    client.force_login(world["staff"])

    response = client.get("/portal/announcements/", {"q": "alpha"}, headers={"HX-Request": "true"})

    content = response.content.decode()
    assert "Alpha notice" in content and "Beta notice" not in content
    assert "<html" not in content


def test_staff_attach_a_file_to_a_draft_but_not_once_published(client, world):
    draft = announcement_create(
        actor=world["staff"], title="t", body="b", publish_from=timezone.now()
    )
    client.force_login(world["staff"])

    client.post(
        f"/portal/announcements/{draft.pk}/attachments/",
        {"file": SimpleUploadedFile("rules.txt", "结算规则".encode())},
    )
    client.post(f"/portal/announcements/{draft.pk}/publish/")
    client.post(
        f"/portal/announcements/{draft.pk}/attachments/",
        {"file": SimpleUploadedFile("late.txt", b"late")},
    )

    assert list(Attachment.objects.values_list("original_name", flat=True)) == ["rules.txt"]
    client.force_login(world["gz_user"])
    page = client.get(f"/portal/announcements/{draft.pk}/").content.decode()
    assert "rules.txt" in page and 'data-testid="attachment-upload-form"' not in page


def test_partner_list_runs_constant_queries(client, world):
    client.force_login(world["gz_user"])
    _published(world["staff"])
    client.get("/portal/announcements/")

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/portal/announcements/").status_code == 200
        return len(queries)

    small = count()
    for n in range(5):
        _published(world["staff"], title=f"n{n}", requires_ack=True)

    assert count() == small


# ---- API ------------------------------------------------------------------------------------


def test_api_partner_flags_follow_read_and_acknowledge(client, world):
    announcement = _published(world["staff"], requires_ack=True)
    client.force_login(world["gz_user"])

    before = client.get("/api/v1/portal/announcements").json()
    client.post(f"/api/v1/portal/announcements/{announcement.pk}/read")
    read = client.get("/api/v1/portal/announcements", {"unread": "false"}).json()
    acked = client.post(f"/api/v1/portal/announcements/{announcement.pk}/acknowledge").json()
    reply = client.post(
        f"/api/v1/portal/announcements/{announcement.pk}/replies",
        {"body": "OK"},
        content_type="application/json",
    )

    assert [(a["id"], a["is_read"], a["is_acknowledged"]) for a in before] == [
        (announcement.pk, False, False)
    ]
    assert before[0]["audience"] is None
    assert [a["is_read"] for a in read] == [True]
    assert acked["is_acknowledged"] is True and acked["acknowledged_at"] is not None
    assert (reply.status_code, reply.json()["body"]) == (201, "OK")
    detail = client.get(f"/api/v1/portal/announcements/{announcement.pk}").json()
    assert [r["body"] for r in detail["replies"]] == ["OK"]


def test_api_acknowledging_an_announcement_without_the_requirement_is_409(client, world):
    announcement = _published(world["staff"], requires_ack=False)
    client.force_login(world["gz_user"])

    response = client.post(f"/api/v1/portal/announcements/{announcement.pk}/acknowledge")

    assert (response.status_code, response.json()["code"]) == (
        409,
        "acknowledgement_not_required",
    )
    assert AnnouncementReceipt.objects.count() == 0


def test_api_staff_see_the_audience(client, orgs, world):
    _published(world["staff"], audience_all=False, audience_regions=[orgs.county_a])
    client.force_login(world["staff"])

    listed = client.get("/api/v1/portal/announcements", {"status": "published"})

    assert listed["X-Total-Count"] == "1"
    assert listed.json()[0]["audience"] == {
        "all": False,
        "categories": [],
        "tiers": [],
        "regions": [orgs.county_a.code],
    }


def test_api_knowledge_search_and_category(client, world):
    def publish(title, body, category):
        article = knowledge_article_create(
            actor=world["writer"], title=title, category=category, body=body
        )
        knowledge_article_submit(actor=world["writer"], article_id=article.pk)
        knowledge_article_approve(actor=world["staff"], article_id=article.pk)

    publish("月报", "本月彩铃业务推广…", "marketing")
    publish("彩铃产品", "产品说明", "product")
    publish("宽带", "宽带业务", "marketing")
    client.force_login(world["gz_user"])

    found = client.get("/api/v1/portal/knowledge", {"q": "彩铃"}).json()
    marketing = client.get("/api/v1/portal/knowledge", {"q": "彩铃", "category": "marketing"})

    assert sorted(a["title"] for a in found) == ["彩铃产品", "月报"]
    assert [a["title"] for a in marketing.json()] == ["月报"]


def test_knowledge_page_search_finds_the_word_in_the_body(client, world):
    article = knowledge_article_create(
        actor=world["writer"], title="月报", category="marketing", body="本月彩铃业务推广…"
    )
    knowledge_article_submit(actor=world["writer"], article_id=article.pk)
    client.force_login(world["staff"])
    queue = client.get("/portal/knowledge/", {"tab": "review"}).content.decode()
    assert f'data-id="{article.pk}"' in queue
    client.post(f"/portal/knowledge/{article.pk}/approve/")
    client.force_login(world["gz_user"])

    page = client.get("/portal/knowledge/", {"q": "彩铃"}).content.decode()

    assert KnowledgeArticle.objects.get().status == "published"
    assert f'data-id="{article.pk}"' in page


def test_staff_publish_a_notice_through_the_form(client, world):
    client.force_login(world["staff"])

    response = client.post(
        "/portal/notices/new/",
        {"kind": "tier", "title": "Your tier", "body": "A", "only_partner": world["gz"].code},
    )

    notice = PublicNotice.objects.get()
    assert response["Location"] == f"/portal/notices/{notice.pk}/"
    assert notice.only_partner == world["gz"]
    client.force_login(world["gz_user"])
    assert client.get("/api/v1/portal/notices", {"kind": "tier"}).json()[0]["back_to_back"]


@pytest.mark.parametrize(
    ("_case", "who", "expected"),
    [
        ("partner", "gz_user", {"portal_announcements", "portal_notices", "portal_knowledge"}),
        (
            "partner_manager",
            "staff",
            {"portal_announcements", "portal_notices", "portal_knowledge"},
        ),
        ("channel_manager", "writer", {"portal_knowledge"}),
    ],
    ids=["partner", "partner_manager", "channel_manager"],
)
def test_menu_entries_follow_the_permissions(world, _case, who, expected):
    keys = {link.key for link in nav_items_for(world[who])}

    assert keys & {"portal_announcements", "portal_notices", "portal_knowledge"} == expected
