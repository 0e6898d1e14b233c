"""The marketing knowledge base (R2; seed 004 营销知识库): articles reviewed before
publication.

    draft ──submit──▶ in_review ──approve──▶ published ──archive──▶ archived
      ▲                 │   │
      └────recall───────┘   └──reject (note)──▶ rejected ──submit──▶ in_review

Writers (``portal.write_knowledgearticle``) write and submit their own articles; a
reviewer (``portal.review_knowledgearticle``) of the article's org or above approves or
returns it with a note. Four-eyes: nobody decides on an article they wrote. Only the
author edits, and only a draft or a returned article, so what a reviewer approved is
what is published.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from prm.core.attachments import attachment_create
from prm.core.audit import audit_event_create, field_changes
from prm.core.exceptions import ApplicationError, Forbidden, NotFound
from prm.core.models import Attachment
from prm.core.notifications import notify
from prm.portal.models import KnowledgeArticle

WRITE_PERMISSION = "portal.write_knowledgearticle"
REVIEW_PERMISSION = "portal.review_knowledgearticle"
EVENT_SUBMITTED = "portal.knowledge_article_submitted"
EVENT_APPROVED = "portal.knowledge_article_approved"
EVENT_REJECTED = "portal.knowledge_article_rejected"
EDITABLE = (KnowledgeArticle.Status.DRAFT, KnowledgeArticle.Status.REJECTED)


def _refuse(code: str, message: str, *, field: str = "", status: int = 400) -> ApplicationError:
    return ApplicationError(code, message, details={"field": field} if field else {}, status=status)


def _check_staff(actor, permission: str) -> None:
    if actor is None or actor.is_partner_user or not actor.has_perm(permission):
        raise Forbidden()


def _locked(article_id: int) -> KnowledgeArticle:
    article = (
        KnowledgeArticle.objects.select_for_update(of=("self",))
        .select_related("org", "author")
        .filter(pk=article_id)
        .first()
    )
    if article is None:
        raise NotFound()
    return article


def _locked_own(*, actor, article_id: int) -> KnowledgeArticle:
    """The actor's own article, locked; someone else's answers "not found" unless it is
    published (then editing it is simply refused)."""
    _check_staff(actor, WRITE_PERMISSION)
    article = _locked(article_id)
    if article.author_id != actor.pk:
        if article.status == KnowledgeArticle.Status.PUBLISHED:
            raise Forbidden()
        raise NotFound()
    return article


def _locked_for_review(*, actor, article_id: int) -> KnowledgeArticle:
    _check_staff(actor, REVIEW_PERMISSION)
    article = _locked(article_id)
    if not article.org.path.startswith(actor.scope_path):
        raise NotFound()
    if article.author_id == actor.pk:
        raise _refuse(
            "four_eyes",
            _("You cannot review an article you wrote; another reviewer decides."),
            status=403,
        )
    return article


def _validated(
    *, title: str, category: str, summary: str, body: str, tags: str, audience_partners: bool
) -> dict:
    title = (title or "").strip()
    body = (body or "").strip()
    if not title:
        raise _refuse("title_required", _("Enter a title."), field="title")
    if not body:
        raise _refuse("body_required", _("Enter the text."), field="body")
    if category not in KnowledgeArticle.Category.values:
        raise _refuse("category_unknown", _("Choose a category."), field="category")
    # Tags: separated by commas (either width) or spaces, stored "a, b, c".
    words = (tags or "").replace("，", ",").replace(" ", ",").split(",")
    tags = ", ".join(dict.fromkeys(word.strip() for word in words if word.strip()))
    if len(tags) > 200:
        raise _refuse("tags_too_long", _("The tags are too long."), field="tags")
    return {
        "title": title[:200],
        "category": category,
        "summary": (summary or "").strip()[:300],
        "body": body,
        "tags": tags,
        "audience_partners": bool(audience_partners),
    }


@transaction.atomic
def knowledge_article_create(
    *,
    actor,
    title: str,
    category: str,
    body: str,
    summary: str = "",
    tags: str = "",
    audience_partners: bool = True,
) -> KnowledgeArticle:
    """Write a draft article (it belongs to the author's org)."""
    _check_staff(actor, WRITE_PERMISSION)
    values = _validated(
        title=title,
        category=category,
        summary=summary,
        body=body,
        tags=tags,
        audience_partners=audience_partners,
    )
    article = KnowledgeArticle.objects.create(author=actor, org=actor.org, **values)
    audit_event_create(
        actor=actor,
        action="knowledge_article.created",
        target=article,
        changes={"title": article.title, "category": article.category},
    )
    return article


@transaction.atomic
def knowledge_article_update(
    *,
    actor,
    article_id: int,
    title: str,
    category: str,
    body: str,
    summary: str = "",
    tags: str = "",
    audience_partners: bool = True,
) -> KnowledgeArticle:
    """The author changes a draft or a returned article."""
    article = _locked_own(actor=actor, article_id=article_id)
    if article.status not in EDITABLE:
        raise _refuse(
            "article_not_editable",
            _("Only a draft or a returned article can be changed."),
            status=409,
        )
    values = _validated(
        title=title,
        category=category,
        summary=summary,
        body=body,
        tags=tags,
        audience_partners=audience_partners,
    )
    changes = field_changes(article, values)
    for name, value in values.items():
        setattr(article, name, value)
    article.save()
    audit_event_create(
        actor=actor, action="knowledge_article.updated", target=article, changes=changes
    )
    return article


def _reviewers_of(article: KnowledgeArticle) -> list:
    """Active reviewers at the article's org or above (who may decide it), not the author."""
    parts = [part for part in article.org.path.strip("/").split("/") if part]
    paths = ["/" + "/".join(parts[: index + 1]) + "/" for index in range(len(parts))]
    users = (
        get_user_model()
        .objects.filter(is_active=True, org__path__in=paths)
        .filter(
            Q(groups__permissions__codename="review_knowledgearticle")
            | Q(user_permissions__codename="review_knowledgearticle")
        )
        .exclude(pk=article.author_id)
        .select_related("org")
        .distinct()
    )
    return [user for user in users if user.has_perm(REVIEW_PERMISSION)]


@transaction.atomic
def knowledge_article_submit(*, actor, article_id: int) -> KnowledgeArticle:
    """The author sends a draft (or a returned article) for review."""
    article = _locked_own(actor=actor, article_id=article_id)
    old = article.transition_to(KnowledgeArticle.Status.IN_REVIEW)
    article.save(update_fields=["status", "updated_at"])
    audit_event_create(
        actor=actor,
        action="knowledge_article.submitted",
        target=article,
        changes={"status": [old, article.status]},
    )
    notify(
        recipients=_reviewers_of(article),
        event=EVENT_SUBMITTED,
        context={"title": article.title, "author": actor.display_name},
        link=reverse("portal:knowledge_detail", args=[article.pk]),
        channels=("inbox",),
    )
    return article


@transaction.atomic
def knowledge_article_recall(*, actor, article_id: int) -> KnowledgeArticle:
    """The author takes an article back from review to keep working on it."""
    article = _locked_own(actor=actor, article_id=article_id)
    if article.status != KnowledgeArticle.Status.IN_REVIEW:
        raise _refuse("article_not_in_review", _("The article is not in review."), status=409)
    old = article.transition_to(KnowledgeArticle.Status.DRAFT)
    article.save(update_fields=["status", "updated_at"])
    audit_event_create(
        actor=actor,
        action="knowledge_article.recalled",
        target=article,
        changes={"status": [old, article.status]},
    )
    return article


@transaction.atomic
def knowledge_article_approve(*, actor, article_id: int, note: str = "") -> KnowledgeArticle:
    """A reviewer other than the author publishes the article (four-eyes)."""
    article = _locked_for_review(actor=actor, article_id=article_id)
    if article.status != KnowledgeArticle.Status.IN_REVIEW:
        raise _refuse("article_not_in_review", _("The article is not in review."), status=409)
    old = article.transition_to(KnowledgeArticle.Status.PUBLISHED)
    article.published_at = timezone.now()
    article.review_note = (note or "").strip()
    article.save(update_fields=["status", "published_at", "review_note", "updated_at"])
    audit_event_create(
        actor=actor,
        action="knowledge_article.published",
        target=article,
        changes={"status": [old, article.status], "note": article.review_note},
    )
    notify(
        recipients=[article.author],
        event=EVENT_APPROVED,
        context={"title": article.title, "reviewer": actor.display_name},
        link=reverse("portal:knowledge_detail", args=[article.pk]),
        channels=("inbox",),
    )
    return article


@transaction.atomic
def knowledge_article_reject(*, actor, article_id: int, note: str) -> KnowledgeArticle:
    """A reviewer other than the author returns the article with a note (required)."""
    article = _locked_for_review(actor=actor, article_id=article_id)
    note = (note or "").strip()
    if not note:
        raise _refuse("review_note_required", _("Say what needs to change."), field="note")
    if article.status != KnowledgeArticle.Status.IN_REVIEW:
        raise _refuse("article_not_in_review", _("The article is not in review."), status=409)
    old = article.transition_to(KnowledgeArticle.Status.REJECTED)
    article.review_note = note
    article.save(update_fields=["status", "review_note", "updated_at"])
    audit_event_create(
        actor=actor,
        action="knowledge_article.rejected",
        target=article,
        changes={"status": [old, article.status], "note": note},
    )
    notify(
        recipients=[article.author],
        event=EVENT_REJECTED,
        context={"title": article.title, "reviewer": actor.display_name, "note": note},
        link=reverse("portal:knowledge_detail", args=[article.pk]),
        channels=("inbox",),
    )
    return article


@transaction.atomic
def knowledge_article_archive(*, actor, article_id: int) -> KnowledgeArticle:
    """Take a published article out of the knowledge base (kept, no longer listed):
    its author, or a reviewer of its org or above."""
    if actor is None or actor.is_partner_user:
        raise Forbidden()
    article = _locked(article_id)
    is_author = article.author_id == actor.pk and actor.has_perm(WRITE_PERMISSION)
    is_reviewer = actor.has_perm(REVIEW_PERMISSION) and article.org.path.startswith(
        actor.scope_path
    )
    if not (is_author or is_reviewer):
        if article.status == KnowledgeArticle.Status.PUBLISHED:
            raise Forbidden()
        raise NotFound()
    if article.status != KnowledgeArticle.Status.PUBLISHED:
        raise _refuse(
            "article_not_published", _("Only a published article can be archived."), status=409
        )
    old = article.transition_to(KnowledgeArticle.Status.ARCHIVED)
    article.save(update_fields=["status", "updated_at"])
    audit_event_create(
        actor=actor,
        action="knowledge_article.archived",
        target=article,
        changes={"status": [old, article.status]},
    )
    return article


def knowledge_article_attachment_add(*, actor, article_id: int, uploaded_file) -> Attachment:
    """The author attaches a file while the article is a draft or returned."""
    with transaction.atomic():
        article = _locked_own(actor=actor, article_id=article_id)
        if article.status not in EDITABLE:
            raise _refuse(
                "article_not_editable",
                _("Files can be attached only while the article is a draft or returned."),
                status=409,
            )
    return attachment_create(
        owner=article, uploaded_file=uploaded_file, actor=actor, purpose="knowledge"
    )
