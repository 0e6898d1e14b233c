"""The knowledge base (R2): review before publication with four eyes, visibility, and a
search that finds Chinese words inside running text."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from prm.core.exceptions import ApplicationError
from prm.core.models import Attachment, AuditEvent, Notification
from prm.partners.tests import factories
from prm.portal.models import KnowledgeArticle
from prm.portal.selectors_announcements import (
    knowledge_article_list_filter,
    knowledge_articles_visible,
    knowledge_review_queue,
)
from prm.portal.services.knowledge import (
    knowledge_article_approve,
    knowledge_article_archive,
    knowledge_article_attachment_add,
    knowledge_article_create,
    knowledge_article_recall,
    knowledge_article_reject,
    knowledge_article_submit,
    knowledge_article_update,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(orgs, make_user):
    partner = factories.partner(managing_org=orgs.city_a)
    return {
        "writer": make_user(org=orgs.county_a, roles=("channel_manager",), username="writer"),
        "reviewer": make_user(org=orgs.city_a, roles=("partner_manager",), username="reviewer"),
        "reviewer_b": make_user(org=orgs.city_b, roles=("partner_manager",), username="rev_b"),
        "writer_b": make_user(org=orgs.city_b, roles=("channel_manager",), username="writer_b"),
        "nobody": make_user(org=orgs.city_a, roles=("cs_agent",), username="cs"),
        "partner": factories.partner_user(partner),
    }


def _article(author, **extra):
    values = {
        "title": "彩铃营销经验",
        "category": KnowledgeArticle.Category.MARKETING,
        "summary": "总结",
        "body": "本月彩铃业务推广取得良好效果，重点在校园渠道。",
        "tags": "彩铃，校园 推广",
    }
    values.update(extra)
    return knowledge_article_create(actor=author, **values)


def _published(author, reviewer, **extra):
    article = _article(author, **extra)
    knowledge_article_submit(actor=author, article_id=article.pk)
    return knowledge_article_approve(actor=reviewer, article_id=article.pk)


def test_write_submit_approve_publishes(people):
    article = _article(people["writer"])
    assert (article.status, article.tags, article.org) == (
        "draft",
        "彩铃, 校园, 推广",
        people["writer"].org,
    )

    knowledge_article_submit(actor=people["writer"], article_id=article.pk)
    knowledge_article_approve(actor=people["reviewer"], article_id=article.pk, note="好")

    article.refresh_from_db()
    assert (article.status, article.review_note) == ("published", "好")
    assert article.published_at is not None
    assert Notification.objects.filter(
        event="portal.knowledge_article_submitted", recipient=people["reviewer"]
    ).exists()
    assert Notification.objects.filter(
        event="portal.knowledge_article_approved", recipient=people["writer"]
    ).exists()
    assert list(
        AuditEvent.objects.filter(target_type="portal.knowledgearticle")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == [
        "knowledge_article.created",
        "knowledge_article.submitted",
        "knowledge_article.published",
    ]


def test_four_eyes_the_author_cannot_approve_their_own_article(orgs, make_user):
    # A partner manager may both write and review, but not decide on their own article.
    author = make_user(org=orgs.city_a, roles=("partner_manager",))
    article = _article(author)
    knowledge_article_submit(actor=author, article_id=article.pk)
    events = AuditEvent.objects.count()

    for decide in (
        lambda: knowledge_article_approve(actor=author, article_id=article.pk),
        lambda: knowledge_article_reject(actor=author, article_id=article.pk, note="no"),
    ):
        with pytest.raises(ApplicationError) as error:
            decide()
        assert (error.value.code, error.value.status) == ("four_eyes", 403)

    article.refresh_from_db()
    assert article.status == "in_review"
    assert AuditEvent.objects.count() == events
    assert not knowledge_review_queue(user=author).filter(pk=article.pk).exists()


def test_reviewer_of_another_city_cannot_decide(people):
    article = _article(people["writer"])
    knowledge_article_submit(actor=people["writer"], article_id=article.pk)

    with pytest.raises(ApplicationError) as error:
        knowledge_article_approve(actor=people["reviewer_b"], article_id=article.pk)

    assert error.value.status == 404
    assert KnowledgeArticle.objects.get(pk=article.pk).status == "in_review"


def test_writer_without_review_permission_cannot_approve(people):
    article = _article(people["writer"])
    knowledge_article_submit(actor=people["writer"], article_id=article.pk)

    with pytest.raises(ApplicationError) as error:
        knowledge_article_approve(actor=people["writer_b"], article_id=article.pk)

    assert error.value.status == 403
    assert KnowledgeArticle.objects.get(pk=article.pk).status == "in_review"


def test_reject_needs_a_note_then_author_edits_and_resubmits(people):
    article = _article(people["writer"])
    knowledge_article_submit(actor=people["writer"], article_id=article.pk)

    with pytest.raises(ApplicationError) as error:
        knowledge_article_reject(actor=people["reviewer"], article_id=article.pk, note=" ")
    assert error.value.code == "review_note_required"
    assert KnowledgeArticle.objects.get(pk=article.pk).status == "in_review"

    knowledge_article_reject(actor=people["reviewer"], article_id=article.pk, note="补充数据")
    knowledge_article_update(
        actor=people["writer"],
        article_id=article.pk,
        title="彩铃营销经验（修订）",
        category="marketing",
        body="补充了数据。",
    )
    knowledge_article_submit(actor=people["writer"], article_id=article.pk)

    article.refresh_from_db()
    assert (article.status, article.title, article.review_note) == (
        "in_review",
        "彩铃营销经验（修订）",
        "补充数据",
    )
    assert Notification.objects.filter(
        event="portal.knowledge_article_rejected", recipient=people["writer"]
    ).exists()


@pytest.mark.parametrize(
    ("_case", "status", "editable"),
    [
        ("draft", "draft", True),
        ("rejected", "rejected", True),
        ("in_review", "in_review", False),
        ("published", "published", False),
        ("archived", "archived", False),
    ],
    ids=["draft", "rejected", "in_review", "published", "archived"],
)
def test_only_drafts_and_returned_articles_are_edited(people, _case, status, editable):
    article = _article(people["writer"])
    KnowledgeArticle.objects.filter(pk=article.pk).update(status=status)

    def edit():
        knowledge_article_update(
            actor=people["writer"], article_id=article.pk, title="新", category="case", body="b"
        )

    if editable:
        edit()
        assert KnowledgeArticle.objects.get(pk=article.pk).title == "新"
    else:
        with pytest.raises(ApplicationError) as error:
            edit()
        assert error.value.code == "article_not_editable"
        assert KnowledgeArticle.objects.get(pk=article.pk).title == "彩铃营销经验"


def test_someone_else_cannot_edit_a_draft(people, orgs, make_user):
    article = _article(people["writer"])
    colleague = make_user(org=orgs.county_a, roles=("channel_manager",))

    with pytest.raises(ApplicationError) as error:
        knowledge_article_update(
            actor=colleague, article_id=article.pk, title="x", category="case", body="y"
        )

    assert error.value.status == 404
    assert KnowledgeArticle.objects.get(pk=article.pk).title == "彩铃营销经验"


def test_recall_and_archive(people):
    article = _article(people["writer"])
    knowledge_article_submit(actor=people["writer"], article_id=article.pk)
    knowledge_article_recall(actor=people["writer"], article_id=article.pk)
    assert KnowledgeArticle.objects.get(pk=article.pk).status == "draft"

    knowledge_article_submit(actor=people["writer"], article_id=article.pk)
    knowledge_article_approve(actor=people["reviewer"], article_id=article.pk)
    with pytest.raises(ApplicationError):
        knowledge_article_archive(actor=people["writer_b"], article_id=article.pk)
    knowledge_article_archive(actor=people["reviewer"], article_id=article.pk)

    assert KnowledgeArticle.objects.get(pk=article.pk).status == "archived"


SEARCH_CASES = [
    ("word_inside_body", "推广", {"body"}),
    ("crbt_in_title_body_tags", "彩铃", {"title", "body", "tags"}),
    ("word_in_summary", "经验汇总", {"summary"}),
    ("two_words_all_must_match", "彩铃 校园", {"body"}),
    ("latin_case_insensitive", "crbt", {"tags"}),
    ("no_match", "宽带", set()),
]


@pytest.mark.parametrize(
    ("_case", "q", "expected"), SEARCH_CASES, ids=[case[0] for case in SEARCH_CASES]
)
def test_search_finds_chinese_words_inside_text(people, _case, q, expected):
    articles = {
        "title": _published(
            people["writer"], people["reviewer"], title="彩铃套餐介绍", body="套餐", tags=""
        ),
        "body": _published(
            people["writer"],
            people["reviewer"],
            title="本月总结",
            body="本月彩铃业务推广，重点在校园渠道。",
            tags="",
        ),
        "summary": _published(
            people["writer"],
            people["reviewer"],
            title="其他",
            summary="渠道经验汇总",
            body="正文",
            tags="",
        ),
        "tags": _published(
            people["writer"], people["reviewer"], title="其他二", body="正文", tags="彩铃 CRBT"
        ),
    }

    found = knowledge_article_list_filter(
        knowledge_articles_visible(user=people["partner"]), filters={"q": q}
    )

    ids = set(found.values_list("pk", flat=True))
    assert {key for key, article in articles.items() if article.pk in ids} == expected


def test_category_filter(people):
    product = _published(people["writer"], people["reviewer"], category="product")
    _published(people["writer"], people["reviewer"], category="case")

    found = knowledge_article_list_filter(
        knowledge_articles_visible(user=people["partner"]), filters={"category": "product"}
    )

    assert list(found) == [product]


def test_visibility(people):
    public = _published(people["writer"], people["reviewer"], title="public")
    internal = _published(
        people["writer"], people["reviewer"], title="internal", audience_partners=False
    )
    draft = _article(people["writer"], title="draft")
    in_review = _article(people["writer"], title="in review")
    knowledge_article_submit(actor=people["writer"], article_id=in_review.pk)

    def seen(user):
        return set(knowledge_articles_visible(user=user).values_list("title", flat=True))

    assert seen(people["partner"]) == {public.title}
    assert seen(people["writer"]) == {public.title, internal.title, draft.title, in_review.title}
    assert seen(people["reviewer"]) == {public.title, internal.title, in_review.title}
    assert seen(people["reviewer_b"]) == {public.title, internal.title}
    assert seen(people["writer_b"]) == {public.title, internal.title}
    assert knowledge_review_queue(user=people["reviewer"]).get() == in_review
    assert not knowledge_review_queue(user=people["reviewer_b"]).exists()


def test_attachments_only_while_editable(people):
    article = _article(people["writer"])
    knowledge_article_attachment_add(
        actor=people["writer"],
        article_id=article.pk,
        uploaded_file=SimpleUploadedFile("notes.txt", "彩铃话术".encode()),
    )
    knowledge_article_submit(actor=people["writer"], article_id=article.pk)

    with pytest.raises(ApplicationError) as error:
        knowledge_article_attachment_add(
            actor=people["writer"],
            article_id=article.pk,
            uploaded_file=SimpleUploadedFile("more.txt", b"more"),
        )

    assert error.value.code == "article_not_editable"
    assert Attachment.objects.count() == 1
