"""Scoped reads behind the TM Forum-shaped API.

Visibility follows the partners app: a partner's role, organisation and agreements are
seen by whoever sees the partner (``partners_visible``); a role created through the API
(no partner) by the operator staff of its org subtree. Applications are not
organisations. Anything outside the caller's scope reads as missing (404).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q, QuerySet

from prm.core.exceptions import NotFound
from prm.partners.models import Agreement, Partner
from prm.partners.selectors import partners_visible
from prm.tmf.models import HubSubscription, PartyRole
from prm.tmf.resources import ORGANIZATION_STATUS


def _any_of(value: str | None) -> list[str]:
    """TMF630: ``?status=a,b`` matches either value."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _uuids(values: list[str]) -> list[uuid.UUID]:
    found = []
    for value in values:
        try:
            found.append(uuid.UUID(value))
        except ValueError:
            continue
    return found


def _is_authenticated(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


def party_roles_visible(user) -> QuerySet[PartyRole]:
    queryset = PartyRole.objects.select_related("partner", "org")
    if not _is_authenticated(user):
        return queryset.none()
    partners = partners_visible(user).values("pk")
    return queryset.filter(
        Q(partner__in=partners) | Q(partner__isnull=True, org__path__startswith=user.scope_path)
    )


def party_role_list(*, user, filters: dict[str, Any]) -> QuerySet[PartyRole]:
    queryset = party_roles_visible(user)
    if filters.get("id") is not None:
        queryset = queryset.filter(pk__in=_uuids(_any_of(filters["id"])))
    if filters.get("name") is not None:
        queryset = queryset.filter(name=filters["name"])
    if filters.get("status") is not None:
        queryset = queryset.filter(status__in=_any_of(filters["status"]))
    return queryset.order_by("created_at", "pk")


def party_role_get_for(*, user, role_id: str) -> PartyRole:
    ids = _uuids([role_id])
    role = party_roles_visible(user).filter(pk=ids[0]).first() if ids else None
    if role is None:
        raise NotFound()
    return role


def organizations_visible(user) -> QuerySet[Partner]:
    """Approved partners (with a code) the user sees."""
    return (
        partners_visible(user)
        .exclude(status__in=Partner.APPLICATION_STATUSES)
        .exclude(code__isnull=True)
    )


def organization_list(*, user, filters: dict[str, Any]) -> QuerySet[Partner]:
    queryset = organizations_visible(user)
    if filters.get("id") is not None:
        queryset = queryset.filter(code__in=_any_of(filters["id"]))
    if filters.get("name") is not None:
        queryset = queryset.filter(company_name=filters["name"])
    if filters.get("tradingName") is not None:
        queryset = queryset.filter(company_name=filters["tradingName"])
    if filters.get("status") is not None:
        wanted = set(_any_of(filters["status"]))
        statuses = [status for status, tmf in ORGANIZATION_STATUS.items() if tmf in wanted]
        queryset = queryset.filter(status__in=statuses)
    if filters.get("organizationType") is not None:
        queryset = queryset.filter(category__code__in=_any_of(filters["organizationType"]))
    return queryset.order_by("code")


def organization_get_for(*, user, code: str) -> Partner:
    partner = organizations_visible(user).filter(code=code).first() if "\x00" not in code else None
    if partner is None:
        raise NotFound()
    return partner


def agreements_visible(user) -> QuerySet[Agreement]:
    queryset = Agreement.objects.select_related("partner", "partner__category")
    if not _is_authenticated(user):
        return queryset.none()
    return queryset.filter(partner__in=organizations_visible(user).values("pk"))


def agreement_list(*, user, filters: dict[str, Any]) -> QuerySet[Agreement]:
    queryset = agreements_visible(user)
    if filters.get("id") is not None:
        queryset = queryset.filter(number__in=_any_of(filters["id"]))
    if filters.get("name") is not None:
        queryset = queryset.filter(title=filters["name"])
    if filters.get("status") is not None:
        queryset = queryset.filter(status__in=_any_of(filters["status"]))
    if filters.get("agreementType") is not None:
        queryset = queryset.filter(settlement_model__in=_any_of(filters["agreementType"]))
    return queryset.order_by("number")


def agreement_get_for(*, user, number: str) -> Agreement:
    found = None
    if "\x00" not in number:
        found = agreements_visible(user).filter(number=number).first()
    if found is None:
        raise NotFound()
    return found


def hub_subscription_get_for(*, user, api: str, subscription_id: str) -> HubSubscription:
    """A listener of ``api`` registered by ``user`` (nobody else's)."""
    ids = _uuids([subscription_id])
    found = None
    if ids and _is_authenticated(user):
        found = HubSubscription.objects.filter(pk=ids[0], api=api, owner=user).first()
    if found is None:
        raise NotFound()
    return found
