"""Portal API: announcements, public notices, knowledge base (R2), at /api/v1/portal/.

For a partner's user, ``announcements`` are the live ones addressed to its partner, with
its read and acknowledgement flags; for operator staff, those published from their org
subtree. Reading, acknowledging and replying are partner actions. An announcement, notice
or article the caller may not see answers 404, exactly like one that does not exist.
Reads need the ``view_*`` permission (token scope ``portal.read``), partner actions
``portal.view_announcement`` (``portal.write``).
"""

from __future__ import annotations

from datetime import date, datetime

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from prm.api import ErrorOut, paginate, require_permission
from prm.portal.models import Announcement, KnowledgeArticle, PublicNotice
from prm.portal.selectors_announcements import (
    announcement_get_for,
    announcement_list_filter,
    announcement_replies_of,
    announcements_for_partner,
    announcements_for_staff,
    audience_partner,
    knowledge_article_get_for,
    knowledge_article_list_filter,
    knowledge_articles_visible,
    public_notice_get_for,
    public_notice_list_filter,
    public_notices_visible,
)
from prm.portal.services.announcements import (
    REPLY_MAX_LENGTH,
    announcement_acknowledge,
    announcement_mark_read,
    announcement_reply_create,
)

router = Router()

READ_SCOPE = "portal.read"
WRITE_SCOPE = "portal.write"
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class OrgRef(Schema):
    code: str
    name: str


class AudienceOut(Schema):
    all: bool
    categories: list[str]
    tiers: list[str]
    regions: list[str] = Field(description="Org unit codes")


class AnnouncementOut(Schema):
    id: int
    title: str
    status: str
    org: OrgRef
    publish_from: datetime
    publish_until: datetime | None
    published_at: datetime | None
    requires_ack: bool
    is_read: bool | None = Field(None, description="Partner callers: read by your partner")
    is_acknowledged: bool | None = Field(None, description="Partner callers: acknowledged")
    audience: AudienceOut | None = Field(None, description="Staff callers only")


class ReplyOut(Schema):
    id: int
    author: str
    body: str
    created_at: datetime


class AnnouncementDetailOut(AnnouncementOut):
    body: str
    read_at: datetime | None = None
    acknowledged_at: datetime | None = None
    replies: list[ReplyOut] = Field(default_factory=list, description="Your partner's replies")


class AnnouncementFilters(Schema):
    q: str | None = Field(None, description="Title or text contains")
    since: date | None = Field(None, description="Visible from on or after this day")
    until: date | None = Field(None, description="Visible from on or before this day")
    status: Announcement.Status | None = Field(None, description="Staff callers")
    unread: bool | None = Field(None, description="Partner callers: only unread / read")
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=500)


class ReplyIn(Schema):
    body: str = Field(..., min_length=1, max_length=REPLY_MAX_LENGTH)


class NoticeOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    org: OrgRef
    partner: str | None = Field(None, description="Code of the partner concerned")
    back_to_back: bool
    published_at: datetime


class NoticeFilters(Schema):
    kind: PublicNotice.Kind | None = None
    q: str | None = Field(None, description="Title or text contains")
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=500)


class ArticleOut(Schema):
    id: int
    title: str
    category: str
    summary: str
    tags: list[str]
    status: str
    author: str
    org: OrgRef
    published_at: datetime | None


class ArticleDetailOut(ArticleOut):
    body: str


class ArticleFilters(Schema):
    q: str | None = Field(None, description="Words found in title, summary, text or tags")
    category: KnowledgeArticle.Category | None = None
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=500)


# Announcements ---------------------------------------------------------------------------


def _announcement_out(announcement: Announcement, *, for_partner: bool) -> dict:
    data = {
        "id": announcement.pk,
        "title": announcement.title,
        "status": announcement.status,
        "org": announcement.org,
        "publish_from": announcement.publish_from,
        "publish_until": announcement.publish_until,
        "published_at": announcement.published_at,
        "requires_ack": announcement.requires_ack,
    }
    if for_partner:
        data["is_read"] = bool(getattr(announcement, "is_read", False))
        data["is_acknowledged"] = bool(getattr(announcement, "is_acknowledged", False))
    else:
        data["audience"] = {
            "all": announcement.audience_all,
            "categories": [c.code for c in announcement.audience_categories.all()],
            "tiers": list(announcement.audience_tiers or []),
            "regions": [r.code for r in announcement.audience_regions.all()],
        }
    return data


def _announcement_detail(request: HttpRequest, announcement_id: int) -> dict:
    user = request.user
    announcement = announcement_get_for(user=user, pk=announcement_id)
    partner = audience_partner(user) if user.is_partner_user else None
    data = _announcement_out(announcement, for_partner=partner is not None)
    data["body"] = announcement.body
    if partner is not None:
        receipt = announcement.receipts.filter(partner=partner).first()
        data["read_at"] = receipt.read_at if receipt else None
        data["acknowledged_at"] = receipt.acknowledged_at if receipt else None
        data["replies"] = [
            {
                "id": reply.pk,
                "author": reply.author.display_name,
                "body": reply.body,
                "created_at": reply.created_at,
            }
            for reply in announcement_replies_of(announcement=announcement, partner=partner)
        ]
    return data


@router.get(
    "announcements",
    response={200: list[AnnouncementOut], **ERRORS},
    summary="Announcements for the caller (X-Total-Count holds the total)",
)
def announcement_list(request, response: HttpResponse, filters: Query[AnnouncementFilters]):
    """A partner's users: the live announcements addressed to their partner, unread
    first, with read/acknowledged flags. Staff: their subtree's, newest first."""
    require_permission(request, "portal.view_announcement", scope=READ_SCOPE)
    user = request.user
    values = filters.model_dump(exclude={"offset", "limit"})
    if user.is_partner_user:
        partner = audience_partner(user)
        if partner is None:
            announcements = Announcement.objects.none()
        else:
            announcements = announcements_for_partner(partner=partner)
        values.pop("status", None)
    else:
        announcements = announcements_for_staff(user=user).prefetch_related(
            "audience_categories", "audience_regions"
        )
        values.pop("unread", None)
    announcements = announcement_list_filter(announcements, filters=values)
    page = paginate(announcements, response=response, offset=filters.offset, limit=filters.limit)
    return [_announcement_out(item, for_partner=user.is_partner_user) for item in page]


@router.get(
    "announcements/{int:announcement_id}",
    response={200: AnnouncementDetailOut, **ERRORS},
    summary="One announcement",
)
def announcement_detail(request, announcement_id: int):
    require_permission(request, "portal.view_announcement", scope=READ_SCOPE)
    return _announcement_detail(request, announcement_id)


@router.post(
    "announcements/{int:announcement_id}/read",
    response={200: AnnouncementDetailOut, **ERRORS},
    summary="Record that the caller's partner read it",
)
def announcement_read(request, announcement_id: int):
    require_permission(request, "portal.view_announcement", scope=WRITE_SCOPE)
    announcement_mark_read(actor=request.user, announcement_id=announcement_id)
    return _announcement_detail(request, announcement_id)


@router.post(
    "announcements/{int:announcement_id}/acknowledge",
    response={200: AnnouncementDetailOut, **ERRORS},
    summary="Acknowledge it for the caller's partner (when it requires acknowledgement)",
)
def announcement_ack(request, announcement_id: int):
    require_permission(request, "portal.view_announcement", scope=WRITE_SCOPE)
    announcement_acknowledge(actor=request.user, announcement_id=announcement_id)
    return _announcement_detail(request, announcement_id)


@router.post(
    "announcements/{int:announcement_id}/replies",
    response={201: ReplyOut, **ERRORS},
    summary="Reply to it (staff read the replies; other partners never do)",
)
def announcement_reply(request, announcement_id: int, payload: ReplyIn):
    require_permission(request, "portal.view_announcement", scope=WRITE_SCOPE)
    reply = announcement_reply_create(
        actor=request.user, announcement_id=announcement_id, body=payload.body
    )
    return Status(
        201,
        {
            "id": reply.pk,
            "author": reply.author.display_name,
            "body": reply.body,
            "created_at": reply.created_at,
        },
    )


# Public notices --------------------------------------------------------------------------


def _notice_out(notice: PublicNotice) -> dict:
    return {
        "id": notice.pk,
        "kind": notice.kind,
        "title": notice.title,
        "body": notice.body,
        "org": notice.org,
        "partner": notice.partner.code if notice.partner_id else None,
        "back_to_back": notice.only_partner_id is not None,
        "published_at": notice.published_at,
    }


@router.get(
    "notices",
    response={200: list[NoticeOut], **ERRORS},
    summary="Public notices for the caller (X-Total-Count holds the total)",
)
def notice_list(request, response: HttpResponse, filters: Query[NoticeFilters]):
    """Partners: notices for all plus their own back-to-back ones; staff: their
    subtree's."""
    require_permission(request, "portal.view_publicnotice", scope=READ_SCOPE)
    notices = public_notice_list_filter(
        public_notices_visible(user=request.user),
        filters=filters.model_dump(exclude={"offset", "limit"}),
    )
    page = paginate(notices, response=response, offset=filters.offset, limit=filters.limit)
    return [_notice_out(notice) for notice in page]


@router.get(
    "notices/{int:notice_id}", response={200: NoticeOut, **ERRORS}, summary="One public notice"
)
def notice_detail(request, notice_id: int):
    require_permission(request, "portal.view_publicnotice", scope=READ_SCOPE)
    return _notice_out(public_notice_get_for(user=request.user, pk=notice_id))


# Knowledge base --------------------------------------------------------------------------


def _article_out(article: KnowledgeArticle, *, with_body: bool = False) -> dict:
    data = {
        "id": article.pk,
        "title": article.title,
        "category": article.category,
        "summary": article.summary,
        "tags": [tag.strip() for tag in article.tags.split(",") if tag.strip()],
        "status": article.status,
        "author": article.author.display_name,
        "org": article.org,
        "published_at": article.published_at,
    }
    if with_body:
        data["body"] = article.body
    return data


@router.get(
    "knowledge",
    response={200: list[ArticleOut], **ERRORS},
    summary="Search the published knowledge base (X-Total-Count holds the total)",
)
def knowledge_list(request, response: HttpResponse, filters: Query[ArticleFilters]):
    """Published articles the caller may read (partners: those visible to partners);
    ``q`` finds words inside the text, Chinese included (``彩铃``)."""
    require_permission(request, "portal.view_knowledgearticle", scope=READ_SCOPE)
    values = filters.model_dump(exclude={"offset", "limit"})
    values["status"] = KnowledgeArticle.Status.PUBLISHED
    articles = knowledge_article_list_filter(
        knowledge_articles_visible(user=request.user), filters=values
    )
    page = paginate(articles, response=response, offset=filters.offset, limit=filters.limit)
    return [_article_out(article) for article in page]


@router.get(
    "knowledge/{int:article_id}",
    response={200: ArticleDetailOut, **ERRORS},
    summary="One knowledge article",
)
def knowledge_detail(request, article_id: int):
    require_permission(request, "portal.view_knowledgearticle", scope=READ_SCOPE)
    article = knowledge_article_get_for(user=request.user, pk=article_id)
    return _article_out(article, with_body=True)
