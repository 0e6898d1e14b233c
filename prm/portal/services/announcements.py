"""Announcements (R2): staff write, publish and withdraw; partners read, acknowledge and
reply. The audience rule is in :mod:`prm.portal.selectors_announcements`.

Staff act with ``portal.publish_announcement`` on announcements of their org subtree;
partner users act with ``portal.view_announcement`` on the live announcements that reach
their partner. Anything else is refused (``Forbidden``) or not found (``NotFound``:
another org's or another partner's announcement) and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from prm.accounts.models import OrgUnit
from prm.core.attachments import attachment_create
from prm.core.audit import audit_event_create, field_changes
from prm.core.exceptions import ApplicationError, Forbidden, NotFound
from prm.core.models import Attachment
from prm.core.notifications import notify
from prm.core.scoping import path_in_scope
from prm.partners.models import Partner, PartnerCategory
from prm.portal.models import Announcement, AnnouncementReceipt, AnnouncementReply
from prm.portal.selectors_announcements import (
    announcement_audience,
    announcement_get_for,
    audience_partner,
)

PUBLISH_PERMISSION = "portal.publish_announcement"
VIEW_PERMISSION = "portal.view_announcement"
EVENT_PUBLISHED = "portal.announcement_published"
EVENT_PUBLISHED_ACK = "portal.announcement_published_ack"
REPLY_MAX_LENGTH = 5000


def _refuse(code: str, message: str, *, field: str = "", status: int = 400) -> ApplicationError:
    return ApplicationError(code, message, details={"field": field} if field else {}, status=status)


# Staff -----------------------------------------------------------------------------------


def _check_staff(actor) -> None:
    if actor is None or actor.is_partner_user or not actor.has_perm(PUBLISH_PERMISSION):
        raise Forbidden()


def _locked_for_staff(*, actor, announcement_id) -> Announcement:
    _check_staff(actor)
    announcement = (
        Announcement.objects.select_for_update(of=("self",))
        .select_related("org")
        .filter(pk=announcement_id, org__path__startswith=actor.scope_path)
        .first()
    )
    if announcement is None:
        raise NotFound()
    return announcement


def _validated(
    *,
    actor,
    title: str,
    body: str,
    org: OrgUnit | None,
    audience_all: bool,
    audience_categories: Iterable[PartnerCategory],
    audience_tiers: Iterable[str],
    audience_regions: Iterable[OrgUnit],
    publish_from: datetime,
    publish_until: datetime | None,
    requires_ack: bool,
) -> dict:
    title = (title or "").strip()
    body = (body or "").strip()
    if not title:
        raise _refuse("title_required", _("Enter a title."), field="title")
    if not body:
        raise _refuse("body_required", _("Enter the text."), field="body")
    org = org or actor.org
    if org.kind not in OrgUnit.OPERATOR_KINDS or not path_in_scope(user=actor, path=org.path):
        raise _refuse(
            "org_out_of_scope",
            _("Announcements are published from an operator org unit of your scope."),
            field="org",
        )
    if publish_from is None:
        raise _refuse(
            "publish_from_required", _("Enter when it becomes visible."), field="publish_from"
        )
    if publish_until is not None and publish_until <= publish_from:
        raise _refuse(
            "publish_window_invalid",
            _("“Visible until” must be later than “visible from”."),
            field="publish_until",
        )
    categories = list(audience_categories or [])
    tiers = [str(tier) for tier in (audience_tiers or [])]
    regions = list(audience_regions or [])
    if audience_all:
        # "All partners" is all of them: criteria ticked as well would only mislead.
        categories, tiers, regions = [], [], []
    elif not (categories or tiers or regions):
        raise _refuse(
            "audience_empty",
            _("Choose all partners, or at least one category, tier or region."),
            field="audience_all",
        )
    unknown_tiers = sorted(set(tiers) - set(Partner.Tier.values))
    if unknown_tiers:
        raise _refuse(
            "audience_tier_unknown",
            _("Unknown tier: %(tiers)s.") % {"tiers": ", ".join(unknown_tiers)},
            field="audience_tiers",
        )
    for region in regions:
        if region.kind not in OrgUnit.OPERATOR_KINDS or not region.path.startswith(org.path):
            raise _refuse(
                "audience_region_out_of_scope",
                _("The region %(region)s is not inside the publishing org unit %(org)s.")
                % {"region": region.name, "org": org.name},
                field="audience_regions",
            )
    # Keep tiers in the declared order: stored lists compare equal whatever the input order.
    tiers = [tier for tier in Partner.Tier.values if tier in set(tiers)]
    return {
        "title": title[:200],
        "body": body,
        "org": org,
        "audience_all": bool(audience_all),
        "audience_tiers": tiers,
        "publish_from": publish_from,
        "publish_until": publish_until,
        "requires_ack": bool(requires_ack),
        "_categories": categories,
        "_regions": regions,
    }


def _audience_repr(announcement: Announcement) -> dict:
    return {
        "all": announcement.audience_all,
        "categories": sorted(c.code for c in announcement.audience_categories.all()),
        "tiers": list(announcement.audience_tiers),
        "regions": sorted(r.code for r in announcement.audience_regions.all()),
    }


@transaction.atomic
def announcement_create(
    *,
    actor,
    title: str,
    body: str,
    publish_from: datetime,
    publish_until: datetime | None = None,
    org: OrgUnit | None = None,
    audience_all: bool = True,
    audience_categories: Iterable[PartnerCategory] = (),
    audience_tiers: Iterable[str] = (),
    audience_regions: Iterable[OrgUnit] = (),
    requires_ack: bool = False,
) -> Announcement:
    """Write a draft announcement (R2). ``org`` (default: the author's org) is the
    publishing node; it reaches only the partners managed in its subtree."""
    _check_staff(actor)
    values = _validated(
        actor=actor,
        title=title,
        body=body,
        org=org,
        audience_all=audience_all,
        audience_categories=audience_categories,
        audience_tiers=audience_tiers,
        audience_regions=audience_regions,
        publish_from=publish_from,
        publish_until=publish_until,
        requires_ack=requires_ack,
    )
    categories = values.pop("_categories")
    regions = values.pop("_regions")
    announcement = Announcement.objects.create(created_by=actor, **values)
    announcement.audience_categories.set(categories)
    announcement.audience_regions.set(regions)
    audit_event_create(
        actor=actor,
        action="announcement.created",
        target=announcement,
        changes={
            "title": announcement.title,
            "org": announcement.org.code,
            "audience": _audience_repr(announcement),
            "publish_from": announcement.publish_from,
            "publish_until": announcement.publish_until,
            "requires_ack": announcement.requires_ack,
        },
    )
    return announcement


@transaction.atomic
def announcement_update(
    *,
    actor,
    announcement_id: int,
    title: str,
    body: str,
    publish_from: datetime,
    publish_until: datetime | None = None,
    org: OrgUnit | None = None,
    audience_all: bool = True,
    audience_categories: Iterable[PartnerCategory] = (),
    audience_tiers: Iterable[str] = (),
    audience_regions: Iterable[OrgUnit] = (),
    requires_ack: bool = False,
) -> Announcement:
    """Change a draft. A published announcement is not edited: withdraw it and write a
    new one, so that what partners read and acknowledged stays what was published."""
    announcement = _locked_for_staff(actor=actor, announcement_id=announcement_id)
    if announcement.status != Announcement.Status.DRAFT:
        raise _refuse(
            "announcement_not_draft", _("Only a draft announcement can be changed."), status=409
        )
    values = _validated(
        actor=actor,
        title=title,
        body=body,
        org=org,
        audience_all=audience_all,
        audience_categories=audience_categories,
        audience_tiers=audience_tiers,
        audience_regions=audience_regions,
        publish_from=publish_from,
        publish_until=publish_until,
        requires_ack=requires_ack,
    )
    categories = values.pop("_categories")
    regions = values.pop("_regions")
    old_audience = _audience_repr(announcement)
    changes = field_changes(announcement, values)
    for name, value in values.items():
        setattr(announcement, name, value)
    announcement.save()
    announcement.audience_categories.set(categories)
    announcement.audience_regions.set(regions)
    new_audience = _audience_repr(announcement)
    if new_audience != old_audience:
        changes["audience"] = [old_audience, new_audience]
    audit_event_create(
        actor=actor, action="announcement.updated", target=announcement, changes=changes
    )
    return announcement


def _partner_admin_users(partners: list[Partner]) -> list:
    """The active partner administrators of these partners (users of each partner's
    org tree holding the ``partner_admin`` role)."""
    roots = {f"/{partner.org_id}/" for partner in partners}
    if not roots:
        return []
    users = (
        get_user_model()
        .objects.filter(
            is_active=True,
            groups__role__code="partner_admin",
            org__kind__in=OrgUnit.PARTNER_KINDS,
        )
        .select_related("org")
        .distinct()
    )
    return [user for user in users if user.scope_path in roots]


@transaction.atomic
def announcement_publish(
    *, actor, announcement_id: int, now: datetime | None = None
) -> Announcement:
    """Publish a draft: partners of its audience see it inside its window, and their
    administrators get an inbox message now (saying from when it is visible)."""
    now = now or timezone.now()
    announcement = _locked_for_staff(actor=actor, announcement_id=announcement_id)
    old = announcement.transition_to(Announcement.Status.PUBLISHED)
    if announcement.publish_until is not None and announcement.publish_until <= now:
        raise _refuse(
            "publish_window_past",
            _("Its visibility window has already ended; change “visible until” first."),
            field="publish_until",
        )
    announcement.published_at = now
    announcement.save(update_fields=["status", "published_at", "updated_at"])
    audience = list(announcement_audience(announcement))
    audit_event_create(
        actor=actor,
        action="announcement.published",
        target=announcement,
        changes={"status": [old, announcement.status], "audience_size": len(audience)},
    )
    visible_now = announcement.publish_from <= now
    link = (
        reverse("portal:announcement_detail", args=[announcement.pk])
        if visible_now
        else reverse("portal:announcement_list")
    )
    notify(
        recipients=_partner_admin_users(audience),
        event=EVENT_PUBLISHED_ACK if announcement.requires_ack else EVENT_PUBLISHED,
        context={
            "title": announcement.title,
            "org": announcement.org.name,
            "visible_from": date_format(
                timezone.localtime(announcement.publish_from), "DATETIME_FORMAT"
            ),
        },
        link=link,
        channels=("inbox",),
    )
    return announcement


@transaction.atomic
def announcement_withdraw(*, actor, announcement_id: int) -> Announcement:
    """Take a published announcement down: partners no longer see it; its receipts and
    replies are kept for the statistics."""
    announcement = _locked_for_staff(actor=actor, announcement_id=announcement_id)
    old = announcement.transition_to(Announcement.Status.WITHDRAWN)
    announcement.save(update_fields=["status", "updated_at"])
    audit_event_create(
        actor=actor,
        action="announcement.withdrawn",
        target=announcement,
        changes={"status": [old, announcement.status]},
    )
    return announcement


def announcement_attachment_add(*, actor, announcement_id: int, uploaded_file) -> Attachment:
    """Attach a file to a draft (what partners receive is fixed once published)."""
    with transaction.atomic():
        announcement = _locked_for_staff(actor=actor, announcement_id=announcement_id)
        if announcement.status != Announcement.Status.DRAFT:
            raise _refuse(
                "announcement_not_draft",
                _("Files can be attached only while the announcement is a draft."),
                status=409,
            )
    return attachment_create(
        owner=announcement, uploaded_file=uploaded_file, actor=actor, purpose="announcement"
    )


# Partners --------------------------------------------------------------------------------


def _partner_of_actor(actor) -> Partner:
    if actor is None or not actor.is_partner_user:
        raise _refuse(
            "partner_only",
            _("Only a partner's users read, acknowledge and reply to announcements."),
            status=403,
        )
    if not actor.has_perm(VIEW_PERMISSION):
        raise Forbidden()
    partner = audience_partner(actor)
    if partner is None:
        raise NotFound()
    return partner


def _receipt_for(*, actor, announcement: Announcement, partner: Partner, now: datetime):
    receipt, created = AnnouncementReceipt.objects.get_or_create(
        announcement=announcement,
        partner=partner,
        defaults={"read_by": actor, "read_at": now},
    )
    if created:
        audit_event_create(
            actor=actor,
            action="announcement.read",
            target=announcement,
            changes={"partner": partner.code or partner.pk},
        )
    return receipt


@transaction.atomic
def announcement_mark_read(
    *, actor, announcement_id: int, now: datetime | None = None
) -> AnnouncementReceipt:
    """Record that the actor's partner read the announcement. The first reader of the
    partner is kept; reading again changes nothing."""
    now = now or timezone.now()
    partner = _partner_of_actor(actor)
    announcement = announcement_get_for(user=actor, pk=announcement_id, now=now)
    return _receipt_for(actor=actor, announcement=announcement, partner=partner, now=now)


@transaction.atomic
def announcement_acknowledge(
    *, actor, announcement_id: int, now: datetime | None = None
) -> AnnouncementReceipt:
    """Acknowledge an announcement that requires it, for the actor's partner (R2
    required acknowledgement). Acknowledging marks it read; a second acknowledgement
    keeps the first one."""
    now = now or timezone.now()
    partner = _partner_of_actor(actor)
    announcement = announcement_get_for(user=actor, pk=announcement_id, now=now)
    if not announcement.requires_ack:
        raise _refuse(
            "acknowledgement_not_required",
            _("This announcement does not ask for an acknowledgement."),
            status=409,
        )
    receipt = _receipt_for(actor=actor, announcement=announcement, partner=partner, now=now)
    receipt = AnnouncementReceipt.objects.select_for_update().get(pk=receipt.pk)
    if receipt.acknowledged_at is not None:
        return receipt
    receipt.acknowledged_by = actor
    receipt.acknowledged_at = now
    receipt.save(update_fields=["acknowledged_by", "acknowledged_at", "updated_at"])
    audit_event_create(
        actor=actor,
        action="announcement.acknowledged",
        target=announcement,
        changes={"partner": partner.code or partner.pk, "acknowledged_at": now},
    )
    return receipt


@transaction.atomic
def announcement_reply_create(
    *, actor, announcement_id: int, body: str, now: datetime | None = None
) -> AnnouncementReply:
    """A partner's reply to an announcement (staff read it with the statistics; other
    partners never see it). Replying marks the announcement read."""
    now = now or timezone.now()
    partner = _partner_of_actor(actor)
    announcement = announcement_get_for(user=actor, pk=announcement_id, now=now)
    body = (body or "").strip()
    if not body:
        raise _refuse("reply_empty", _("Write a reply."), field="body")
    if len(body) > REPLY_MAX_LENGTH:
        raise _refuse(
            "reply_too_long",
            _("A reply has at most %(max)s characters.") % {"max": REPLY_MAX_LENGTH},
            field="body",
        )
    _receipt_for(actor=actor, announcement=announcement, partner=partner, now=now)
    reply = AnnouncementReply.objects.create(
        announcement=announcement, partner=partner, author=actor, body=body
    )
    audit_event_create(
        actor=actor,
        action="announcement.replied",
        target=announcement,
        changes={"partner": partner.code or partner.pk, "reply": reply.pk},
    )
    return reply
