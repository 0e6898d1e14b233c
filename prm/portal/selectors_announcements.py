"""Scoped reads of announcements, public notices and the knowledge base (R2).

**Who sees an announcement.** Operator staff see the announcements published from their
org subtree (``org`` in their subtree: a city sees its own and its counties', HQ all).
A partner's users see an announcement when it is *published*, ``publish_from <= now <
publish_until`` (no ``publish_until``: open-ended) and it *reaches* their partner:

    audience rule (R2 announcements), for a partner P and an announcement A:
      1. P is active or exiting (an application or an exited partner gets nothing), and
      2. P.managing_org lies in A.org's subtree (a city's announcement reaches only the
         partners that city or its counties manage; HQ's reaches every partner), and
      3. A.audience_all, or else every criterion kind A names matches P:
           categories: P.category is one of them
           tiers:      P.tier is one of them
           regions:    P.managing_org lies in the subtree of one of the region nodes
         Kinds combine with AND, values within a kind with OR: "SP or CP partners managed
         in Guangzhou" is categories {SP, CP} and regions {Guangzhou}. A kind A leaves
         empty does not restrict.

:func:`announcement_reaches` states the rule in Python (one partner, one
announcement); :func:`announcement_audience` is the same rule as one query over
partners (statistics, notifications). The tests hold both to one table.

**Public notices.** Partners see every notice for all (``only_partner`` empty) and the
back-to-back ones addressed to them; staff see the notices published from their subtree.

**Knowledge base.** Partners see published articles marked visible to partners. Staff
see every published article (the knowledge base is shared across the operator), their
own articles in any state, and — when they may review — the articles of their subtree
that are in review, returned, or archived.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from prm.accounts.models import OrgUnit
from prm.core.exceptions import NotFound
from prm.core.scoping import scope_by_path
from prm.partners.models import Partner
from prm.partners.selectors import partner_of_user, partners_visible
from prm.portal.models import (
    Announcement,
    AnnouncementReceipt,
    AnnouncementReply,
    KnowledgeArticle,
    PublicNotice,
)

# Partners that announcements reach (R2): working partners, including one in exit.
AUDIENCE_STATUSES = (Partner.Status.ACTIVE, Partner.Status.EXITING)


def _is_signed_in(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


def _ancestor_paths(path: str) -> list[str]:
    """``/1/4/9/`` → ``["/1/", "/1/4/", "/1/4/9/"]``: the node and its ancestors."""
    parts = [part for part in path.strip("/").split("/") if part]
    return ["/" + "/".join(parts[: index + 1]) + "/" for index in range(len(parts))]


def audience_partner(user) -> Partner | None:
    """The partner whose announcements ``user`` reads: their own, if it is one the
    announcements reach (active or exiting); else ``None``."""
    if not _is_signed_in(user) or not user.is_partner_user:
        return None
    partner = partner_of_user(user)
    if partner is None or partner.status not in AUDIENCE_STATUSES:
        return None
    return partner


# Announcements: the audience rule -----------------------------------------------------


def announcement_reaches(announcement: Announcement, partner: Partner) -> bool:
    """Whether the announcement's audience includes the partner (the rule in the module
    docstring; ignores status and window, see :func:`announcement_is_live`)."""
    if partner.status not in AUDIENCE_STATUSES:
        return False
    managing_path = partner.managing_org.path
    if not managing_path.startswith(announcement.org.path):
        return False
    if announcement.audience_all:
        return True
    categories = {category.pk for category in announcement.audience_categories.all()}
    if categories and partner.category_id not in categories:
        return False
    tiers = set(announcement.audience_tiers or [])
    if tiers and partner.tier not in tiers:
        return False
    regions = [region.path for region in announcement.audience_regions.all()]
    if regions and not any(managing_path.startswith(path) for path in regions):
        return False
    return bool(categories or tiers or regions)


def announcement_is_live(announcement: Announcement, *, now: datetime | None = None) -> bool:
    """Published and inside its window ``[publish_from, publish_until)``."""
    now = now or timezone.now()
    return (
        announcement.status == Announcement.Status.PUBLISHED
        and announcement.publish_from <= now
        and (announcement.publish_until is None or now < announcement.publish_until)
    )


def announcement_audience(announcement: Announcement) -> QuerySet[Partner]:
    """The partners the announcement reaches now, as one query (same rule as
    :func:`announcement_reaches`)."""
    partners = Partner.objects.filter(
        status__in=AUDIENCE_STATUSES, managing_org__path__startswith=announcement.org.path
    )
    if announcement.audience_all:
        return partners.order_by("company_name", "pk")
    category_ids = [category.pk for category in announcement.audience_categories.all()]
    tiers = list(announcement.audience_tiers or [])
    region_paths = [region.path for region in announcement.audience_regions.all()]
    if not (category_ids or tiers or region_paths):
        return partners.none()
    if category_ids:
        partners = partners.filter(category_id__in=category_ids)
    if tiers:
        partners = partners.filter(tier__in=tiers)
    if region_paths:
        in_region = Q()
        for path in region_paths:
            in_region |= Q(managing_org__path__startswith=path)
        partners = partners.filter(in_region)
    return partners.order_by("company_name", "pk")


def _live(queryset: QuerySet[Announcement], now: datetime) -> QuerySet[Announcement]:
    return queryset.filter(status=Announcement.Status.PUBLISHED, publish_from__lte=now).filter(
        Q(publish_until__isnull=True) | Q(publish_until__gt=now)
    )


def _with_audience(queryset: QuerySet[Announcement]) -> QuerySet[Announcement]:
    return queryset.select_related("org").prefetch_related(
        "audience_categories", Prefetch("audience_regions", queryset=OrgUnit.objects.only("path"))
    )


def announcements_for_partner(
    *, partner: Partner, now: datetime | None = None
) -> QuerySet[Announcement]:
    """The live announcements that reach ``partner``, annotated with ``is_read`` and
    ``is_acknowledged`` for it; unread first, then newest first.

    The candidates (published, in window, from an org above the partner's managing org)
    are few, so the rule runs in Python (:func:`announcement_reaches`, one statement of
    it) and the result is a plain queryset that callers filter and paginate.
    """
    now = now or timezone.now()
    candidates = _with_audience(
        _live(Announcement.objects.all(), now).filter(
            org__path__in=_ancestor_paths(partner.managing_org.path)
        )
    )
    ids = [
        announcement.pk
        for announcement in candidates
        if announcement_reaches(announcement, partner)
    ]
    receipts = AnnouncementReceipt.objects.filter(announcement=OuterRef("pk"), partner=partner)
    return (
        Announcement.objects.filter(pk__in=ids)
        .select_related("org")
        .annotate(
            is_read=Exists(receipts),
            is_acknowledged=Exists(receipts.filter(acknowledged_at__isnull=False)),
        )
        .order_by("is_read", "-publish_from", "-pk")
    )


def announcements_for_staff(*, user) -> QuerySet[Announcement]:
    """The announcements published from the staff member's org subtree, newest first."""
    if not _is_signed_in(user) or user.is_partner_user:
        return Announcement.objects.none()
    return scope_by_path(
        Announcement.objects.select_related("org", "created_by"), user=user, path_field="org__path"
    ).order_by("-publish_from", "-pk")


def announcements_visible(*, user, now: datetime | None = None) -> QuerySet[Announcement]:
    """What the user may see: staff their subtree's, partner users their partner's live
    ones (attachments follow this)."""
    if not _is_signed_in(user):
        return Announcement.objects.none()
    if user.is_partner_user:
        partner = audience_partner(user)
        if partner is None:
            return Announcement.objects.none()
        return announcements_for_partner(partner=partner, now=now)
    return announcements_for_staff(user=user)


def announcement_get_for(*, user, pk, now: datetime | None = None) -> Announcement:
    """One announcement the user may see, or :class:`NotFound`."""
    try:
        announcement = announcements_visible(user=user, now=now).filter(pk=pk).first()
    except (TypeError, ValueError):
        announcement = None
    if announcement is None:
        raise NotFound()
    return announcement


def announcement_list_filter(
    queryset: QuerySet[Announcement], *, filters: dict
) -> QuerySet[Announcement]:
    """``q`` (title or text contains), ``since``/``until`` (publish date, inclusive),
    ``status`` (staff), ``unread`` (partner lists annotated with ``is_read``)."""
    q = (filters.get("q") or "").strip()
    if q:
        queryset = queryset.filter(Q(title__icontains=q) | Q(body__icontains=q))
    if filters.get("since"):
        queryset = queryset.filter(publish_from__date__gte=filters["since"])
    if filters.get("until"):
        queryset = queryset.filter(publish_from__date__lte=filters["until"])
    if filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    if filters.get("unread") is True:
        queryset = queryset.filter(is_read=False)
    elif filters.get("unread") is False:
        queryset = queryset.filter(is_read=True)
    return queryset


def announcement_unread_count(*, partner: Partner, now: datetime | None = None) -> int:
    return announcements_for_partner(partner=partner, now=now).filter(is_read=False).count()


def announcement_receipt_of(
    *, announcement: Announcement, partner: Partner
) -> AnnouncementReceipt | None:
    return (
        AnnouncementReceipt.objects.select_related("read_by", "acknowledged_by")
        .filter(announcement=announcement, partner=partner)
        .first()
    )


def announcement_replies_of(
    *, announcement: Announcement, partner: Partner
) -> QuerySet[AnnouncementReply]:
    """A partner's own replies (partners never see each other's)."""
    return AnnouncementReply.objects.select_related("author").filter(
        announcement=announcement, partner=partner
    )


@dataclass
class AnnouncementStatistics:
    """Read and acknowledgement figures of one announcement over its audience now."""

    audience_size: int
    read_count: int
    acknowledged_count: int
    requires_ack: bool
    not_read: list[Partner] = field(default_factory=list)
    not_acknowledged: list[Partner] = field(default_factory=list)
    receipts: list[AnnouncementReceipt] = field(default_factory=list)
    replies: list[AnnouncementReply] = field(default_factory=list)
    # Receipts of partners the announcement no longer reaches (tier or region changed).
    outside_audience_reads: int = 0

    @staticmethod
    def _percent(count: int, total: int) -> float:
        return round(100.0 * count / total, 1) if total else 0.0

    @property
    def read_percent(self) -> float:
        return self._percent(self.read_count, self.audience_size)

    @property
    def acknowledged_percent(self) -> float:
        return self._percent(self.acknowledged_count, self.audience_size)


def announcement_statistics(*, announcement: Announcement) -> AnnouncementStatistics:
    """Audience size (partners the announcement reaches now), read and acknowledged
    counts and percentages over it, the partners that have not read / acknowledged, and
    the replies — in a constant number of queries whatever the audience size."""
    audience = list(announcement_audience(announcement).only("pk", "company_name", "code"))
    receipts = list(
        AnnouncementReceipt.objects.filter(announcement=announcement)
        .select_related("partner", "read_by", "acknowledged_by")
        .order_by("read_at", "pk")
    )
    by_partner = {receipt.partner_id: receipt for receipt in receipts}
    audience_ids = {partner.pk for partner in audience}
    read = [partner for partner in audience if partner.pk in by_partner]
    acknowledged_ids = {
        partner_id
        for partner_id, receipt in by_partner.items()
        if partner_id in audience_ids and receipt.acknowledged_at is not None
    }
    replies = list(
        AnnouncementReply.objects.filter(announcement=announcement).select_related(
            "partner", "author"
        )
    )
    return AnnouncementStatistics(
        audience_size=len(audience),
        read_count=len(read),
        acknowledged_count=len(acknowledged_ids),
        requires_ack=announcement.requires_ack,
        not_read=[partner for partner in audience if partner.pk not in by_partner],
        not_acknowledged=(
            [partner for partner in audience if partner.pk not in acknowledged_ids]
            if announcement.requires_ack
            else []
        ),
        receipts=receipts,
        replies=replies,
        outside_audience_reads=sum(1 for pk in by_partner if pk not in audience_ids),
    )


def announcement_list_with_counts(queryset: QuerySet[Announcement]) -> QuerySet[Announcement]:
    """Staff lists: how many partners read / replied (one query)."""
    return queryset.annotate(
        receipt_count=Count("receipts", distinct=True),
        reply_count=Count("replies", distinct=True),
    )


# Public notices --------------------------------------------------------------------------


def public_notices_visible(*, user, now: datetime | None = None) -> QuerySet[PublicNotice]:
    """Partners: published notices for all plus their own back-to-back ones. Staff:
    the notices of their subtree (scheduled ones too)."""
    queryset = PublicNotice.objects.select_related("org", "partner", "only_partner")
    if not _is_signed_in(user):
        return queryset.none()
    if user.is_partner_user:
        partner = partner_of_user(user)
        if partner is None:
            return queryset.none()
        return queryset.filter(
            Q(only_partner__isnull=True) | Q(only_partner=partner),
            published_at__lte=now or timezone.now(),
        )
    return scope_by_path(queryset, user=user, path_field="org__path")


def public_notice_list_filter(
    queryset: QuerySet[PublicNotice], *, filters: dict
) -> QuerySet[PublicNotice]:
    """``kind``, ``q`` (title or text contains)."""
    if filters.get("kind"):
        queryset = queryset.filter(kind=filters["kind"])
    q = (filters.get("q") or "").strip()
    if q:
        queryset = queryset.filter(Q(title__icontains=q) | Q(body__icontains=q))
    return queryset.order_by("-published_at", "-pk")


def public_notice_get_for(*, user, pk) -> PublicNotice:
    try:
        notice = public_notices_visible(user=user).filter(pk=pk).first()
    except (TypeError, ValueError):
        notice = None
    if notice is None:
        raise NotFound()
    return notice


def notice_partner_choices(*, user) -> QuerySet[Partner]:
    """Partners a staff member may name on a notice (those they manage)."""
    return partners_visible(user).exclude(status__in=Partner.APPLICATION_STATUSES)


# Knowledge base --------------------------------------------------------------------------


def knowledge_articles_visible(*, user) -> QuerySet[KnowledgeArticle]:
    """The articles the user may open (see the module docstring)."""
    queryset = KnowledgeArticle.objects.select_related("org", "author")
    if not _is_signed_in(user):
        return queryset.none()
    published = Q(status=KnowledgeArticle.Status.PUBLISHED)
    if user.is_partner_user:
        if partner_of_user(user) is None:
            return queryset.none()
        return queryset.filter(published, audience_partners=True)
    visible = published | Q(author=user)
    if user.has_perm("portal.review_knowledgearticle"):
        reviewable = Q(
            status__in=[
                KnowledgeArticle.Status.IN_REVIEW,
                KnowledgeArticle.Status.REJECTED,
                KnowledgeArticle.Status.ARCHIVED,
            ],
            org__path__startswith=user.scope_path,
        )
        visible |= reviewable
    return queryset.filter(visible)


def knowledge_article_list_filter(
    queryset: QuerySet[KnowledgeArticle], *, filters: dict
) -> QuerySet[KnowledgeArticle]:
    """``q`` finds text inside title, summary, body or tags — a substring match, so a
    Chinese word is found inside running text (``彩铃`` in "本月彩铃业务推广…"), the same
    on SQLite and PostgreSQL; ``category``; ``status``; ``mine`` (author is ``user``)."""
    q = (filters.get("q") or "").strip()
    for word in q.split():
        queryset = queryset.filter(
            Q(title__icontains=word)
            | Q(summary__icontains=word)
            | Q(body__icontains=word)
            | Q(tags__icontains=word)
        )
    if filters.get("category"):
        queryset = queryset.filter(category=filters["category"])
    if filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    if filters.get("author") is not None:
        queryset = queryset.filter(author=filters["author"])
    return queryset.order_by("-published_at", "-updated_at", "-pk")


def knowledge_review_queue(*, user) -> QuerySet[KnowledgeArticle]:
    """Articles in review that the user may decide (not their own: four-eyes)."""
    if not _is_signed_in(user) or not user.has_perm("portal.review_knowledgearticle"):
        return KnowledgeArticle.objects.none()
    return (
        knowledge_articles_visible(user=user)
        .filter(status=KnowledgeArticle.Status.IN_REVIEW)
        .exclude(author=user)
        .order_by("updated_at", "pk")
    )


def knowledge_article_get_for(*, user, pk) -> KnowledgeArticle:
    try:
        article = knowledge_articles_visible(user=user).filter(pk=pk).first()
    except (TypeError, ValueError):
        article = None
    if article is None:
        raise NotFound()
    return article
