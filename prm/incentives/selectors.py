"""Reads shared by the incentive concerns: who the acting user is as a promoter, and the
rows an operator user may see (their org subtree: channels by their managing node,
promoters, recommendations and runs by their city).

Promoters see only their own records and statements; those selectors live with their
concern and start from ``promoter_of_user``.
"""

from __future__ import annotations

from django.db.models import QuerySet

from prm.core.scoping import scope_by_org
from prm.incentives.models import (
    Channel,
    Product,
    Promoter,
    Recommendation,
    SettlementRun,
)


def _allowed(user, permission: str) -> bool:
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and user.has_perm(permission)
    )


def promoter_of_user(*, user) -> Promoter | None:
    """The active promoter record behind a login, or ``None``."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    cached = getattr(user, "_prm_promoter", False)
    if cached is False:
        cached = (
            Promoter.objects.select_related("channel", "outlet", "org")
            .filter(user=user, status=Promoter.Status.ACTIVE)
            .first()
        )
        user._prm_promoter = cached
    return cached


def channels_visible(*, user) -> QuerySet[Channel]:
    if not _allowed(user, "incentives.view_channel"):
        return Channel.objects.none()
    return scope_by_org(Channel.objects.all(), user=user)


def promoters_visible(*, user) -> QuerySet[Promoter]:
    if not _allowed(user, "incentives.view_promoter"):
        return Promoter.objects.none()
    return scope_by_org(Promoter.objects.all(), user=user)


def recommendations_visible(*, user) -> QuerySet[Recommendation]:
    """Staff: the recommendations of their subtree; a promoter: their own."""
    if _allowed(user, "incentives.view_recommendation"):
        return scope_by_org(Recommendation.objects.all(), user=user)
    promoter = promoter_of_user(user=user)
    if promoter is None:
        return Recommendation.objects.none()
    return Recommendation.objects.filter(promoter=promoter)


def runs_visible(*, user) -> QuerySet[SettlementRun]:
    if not _allowed(user, "incentives.view_settlementrun"):
        return SettlementRun.objects.none()
    return scope_by_org(SettlementRun.objects.all(), user=user)


def products_visible(*, user) -> QuerySet[Product]:
    """The product catalogue is operator-wide: anyone with ``view_product`` reads it."""
    if not _allowed(user, "incentives.view_product"):
        return Product.objects.none()
    return Product.objects.all()
