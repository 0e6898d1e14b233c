"""Reads of the promoter concern: the registration form's choices, the staff list and
detail (scoped through ``promoters_visible``), a promoter's history, seat syncs."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q, QuerySet

from prm.accounts.models import OrgUnit
from prm.core.exceptions import NotFound
from prm.core.models import AuditEvent
from prm.core.scoping import scope_by_org
from prm.incentives.models import Channel, Outlet, Promoter, SeatSync
from prm.incentives.selectors import promoter_of_user, promoters_visible
from prm.incentives.services.seats import SYNC_ORG_KINDS, SYNC_PERMISSION

__all__ = [
    "promoter_get_for",
    "promoter_history",
    "promoter_list",
    "promoter_of_user",
    "promoter_recommendation_count",
    "registration_channels",
    "registration_cities",
    "registration_city",
    "registration_outlets",
    "seat_sync_get_for",
    "seat_sync_list",
    "seat_sync_orgs",
]


# ---- Registration form ---------------------------------------------------------------------


def registration_cities(*, user=None) -> QuerySet[OrgUnit]:
    """The cities a registration may choose: every active operator city on the internet
    form (``user`` None); on the intranet, those of the registrant's subtree and the city
    their own org sits in."""
    cities = OrgUnit.objects.filter(kind=OrgUnit.Kind.CITY, is_active=True).order_by("code")
    if user is None:
        return cities
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return cities.none()
    if user.is_partner_user:
        return cities.none()
    return cities.filter(Q(path__startswith=user.scope_path) | Q(pk__in=user.org.ancestor_ids))


def registration_city(*, code: str, user=None) -> OrgUnit | None:
    if not code:
        return None
    return registration_cities(user=user).filter(code=code).first()


def registration_channels(*, city: OrgUnit | None) -> QuerySet[Channel]:
    """The active channels of the city's subtree (the form's channel choices)."""
    if city is None:
        return Channel.objects.none()
    return Channel.objects.filter(is_active=True, org__path__startswith=city.path).order_by("code")


def registration_outlets(*, city: OrgUnit | None) -> QuerySet[Outlet]:
    """The active outlets of the city's active channels."""
    if city is None:
        return Outlet.objects.none()
    return (
        Outlet.objects.filter(
            is_active=True, channel__is_active=True, channel__org__path__startswith=city.path
        )
        .select_related("channel")
        .order_by("channel__code", "code")
    )


# ---- Staff list and detail -------------------------------------------------------------------


def promoter_list(*, user, filters: dict[str, Any] | None = None) -> QuerySet[Promoter]:
    """Promoters the user sees, newest registration first. ``filters``: ``kind``,
    ``status``, ``path``, ``channel`` (a ``Channel`` or its code), ``q`` (name, number or
    work ID contains)."""
    promoters = promoters_visible(user=user).select_related("org", "channel", "outlet")
    filters = filters or {}
    if filters.get("kind"):
        promoters = promoters.filter(kind=filters["kind"])
    if filters.get("status"):
        promoters = promoters.filter(status=filters["status"])
    if filters.get("path"):
        promoters = promoters.filter(path=filters["path"])
    channel = filters.get("channel")
    if channel:
        if isinstance(channel, Channel):
            promoters = promoters.filter(channel=channel)
        else:
            promoters = promoters.filter(channel__code=channel)
    text = (filters.get("q") or "").strip()
    if text:
        promoters = promoters.filter(
            Q(name__icontains=text) | Q(msisdn__contains=text) | Q(work_id__icontains=text)
        )
    return promoters.order_by("-created_at", "-pk")


def promoter_get_for(*, user, key: str) -> Promoter:
    """A promoter the user sees, by public id (any registration) or work ID; anything
    else (absent, outside the scope, no permission) is "not found"."""
    key = (key or "").strip()
    promoters = promoters_visible(user=user).select_related(
        "org", "channel", "outlet", "user", "submitted_by"
    )
    try:
        lookup = Q(public_id=uuid.UUID(key))
    except ValueError:
        lookup = Q(work_id=key)
    promoter = promoters.filter(lookup).first() if key else None
    if promoter is None:
        raise NotFound()
    return promoter


def promoter_history(*, promoter: Promoter) -> QuerySet[AuditEvent]:
    """The audit events of the promoter (registration, decisions, changes), oldest first.
    Shown on the promoter's page to whoever may see the promoter."""
    return AuditEvent.objects.filter(
        target_type=Promoter._meta.label_lower, target_id=str(promoter.pk)
    ).order_by("created_at", "pk")


def promoter_recommendation_count(*, promoter: Promoter) -> int:
    return promoter.recommendations.count()


# ---- Seat synchronisation ------------------------------------------------------------------


def _may_sync(user) -> bool:
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and user.has_perm(SYNC_PERMISSION)
    )


def seat_sync_list(*, user) -> QuerySet[SeatSync]:
    """The seat synchronisations of the user's subtree, newest first."""
    if not _may_sync(user):
        return SeatSync.objects.none()
    return scope_by_org(SeatSync.objects.select_related("org", "actor"), user=user).order_by(
        "-created_at", "-pk"
    )


def seat_sync_get_for(*, user, pk) -> SeatSync:
    sync = seat_sync_list(user=user).filter(pk=pk).first()
    if sync is None:
        raise NotFound()
    return sync


def seat_sync_orgs(*, user) -> QuerySet[OrgUnit]:
    """The operator orgs (cities, provinces, HQ) of the user's subtree a synchronisation
    may cover."""
    if not _may_sync(user) or user.is_partner_user:
        return OrgUnit.objects.none()
    return OrgUnit.objects.filter(
        kind__in=SYNC_ORG_KINDS, is_active=True, path__startswith=user.scope_path
    ).order_by("path")
