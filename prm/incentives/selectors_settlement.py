"""Reads of the settlement runs, their statements and the adjustments (R4 commission
query). Everything starts from ``runs_visible`` (``view_settlementrun``, the user's
org subtree); a run outside it is "not found"."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from prm.accounts.models import OrgUnit
from prm.core.exceptions import NotFound
from prm.core.scoping import scope_by_org, scope_by_path
from prm.incentives.models import (
    Promoter,
    SettlementAdjustment,
    SettlementRun,
    SettlementStatement,
)
from prm.incentives.selectors import promoters_visible, runs_visible

VIEW_PERMISSION = "incentives.view_settlementrun"
START_PERMISSION = "incentives.start_settlementrun"
APPROVE_PERMISSION = "incentives.approve_settlementrun"
PAYOUT_PERMISSION = "incentives.export_payout"
ADJUST_PERMISSION = "incentives.add_settlementadjustment"

# Runs with a result (statements and artefacts) to show.
RESULT_STATUSES = (
    SettlementRun.Status.COMPUTED,
    SettlementRun.Status.SUBMITTED,
    SettlementRun.Status.APPROVED,
)
ACTIVE_STATUSES = (SettlementRun.Status.QUEUED, SettlementRun.Status.RUNNING)


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def _may(user, permission: str) -> bool:
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and user.has_perm(permission)
    )


def cities_visible(*, user) -> QuerySet[OrgUnit]:
    """The active cities in the user's subtree (those whose runs they may see or start)."""
    if user is None or not getattr(user, "is_authenticated", False) or user.is_partner_user:
        return OrgUnit.objects.none()
    return scope_by_path(
        OrgUnit.objects.filter(kind=OrgUnit.Kind.CITY, is_active=True),
        user=user,
        path_field="path",
    ).order_by("path")


def city_by_code_for(*, user, code: str) -> OrgUnit:
    city = cities_visible(user=user).filter(code=_text(code)).first()
    if city is None:
        raise NotFound()
    return city


def run_list(*, user, filters: dict[str, Any] | None = None) -> QuerySet[SettlementRun]:
    """The user's runs, newest period first. ``filters``: ``period`` (YYYY-MM, or a year
    prefix), ``status``, ``city`` (an OrgUnit, or its code)."""
    filters = filters or {}
    runs = runs_visible(user=user).select_related("org", "started_by")
    period = _text(filters.get("period"))
    if period:
        runs = runs.filter(period__startswith=period)
    status = _text(filters.get("status"))
    if status:
        runs = runs.filter(status=status)
    city = filters.get("city")
    if isinstance(city, OrgUnit):
        runs = runs.filter(org=city)
    elif _text(city):
        runs = runs.filter(org__code=_text(city))
    return runs.order_by("-period", "org__path")


def run_get_for(*, user, number: str) -> SettlementRun:
    run = (
        runs_visible(user=user)
        .select_related("org", "started_by")
        .filter(number=_text(number))
        .first()
    )
    if run is None:
        raise NotFound()
    return run


def run_statements(*, run: SettlementRun) -> QuerySet[SettlementStatement]:
    """The run's statements with their promoter and channel (one query per page)."""
    return (
        SettlementStatement.objects.filter(run=run)
        .select_related("promoter", "promoter__channel")
        .order_by("promoter__work_id", "promoter_id")
    )


def run_is_active(run: SettlementRun) -> bool:
    return run.status in ACTIVE_STATUSES


def run_actions(*, run: SettlementRun, user) -> dict[str, bool]:
    """Which buttons of the run's page the user may use now (the services decide)."""
    may_start = _may(user, START_PERMISSION)
    return {
        "can_rerun": may_start
        and run.status in (SettlementRun.Status.COMPUTED, SettlementRun.Status.FAILED),
        "can_submit": may_start and run.status == SettlementRun.Status.COMPUTED,
        "can_payout": _may(user, PAYOUT_PERMISSION) and run.status == SettlementRun.Status.APPROVED,
    }


def runs_approved_for(*, user) -> QuerySet[SettlementRun]:
    """Approved runs the user sees (what an adjustment may correct)."""
    return (
        runs_visible(user=user)
        .filter(status=SettlementRun.Status.APPROVED)
        .select_related("org")
        .order_by("-period", "org__path")
    )


def adjustment_list(*, user, filters: dict[str, Any] | None = None):
    """Adjustments of the promoters of the user's subtree (readers of runs see them).
    ``filters``: ``q`` (work ID or name contains), ``state`` (``pending``/``applied``)."""
    filters = filters or {}
    if not _may(user, VIEW_PERMISSION):
        return SettlementAdjustment.objects.none()
    adjustments = scope_by_org(
        SettlementAdjustment.objects.all(), user=user, org_field="promoter__org"
    ).select_related("promoter", "corrects_run", "applied_run", "created_by")
    q = _text(filters.get("q"))
    if q:
        adjustments = adjustments.filter(
            Q(promoter__work_id__icontains=q) | Q(promoter__name__icontains=q)
        )
    state = _text(filters.get("state"))
    if state == "pending":
        adjustments = adjustments.filter(applied_run__isnull=True)
    elif state == "applied":
        adjustments = adjustments.filter(applied_run__isnull=False)
    return adjustments.order_by("-created_at", "-id")


def promoter_by_work_id_for(*, user, work_id: str) -> Promoter:
    promoter = (
        promoters_visible(user=user).select_related("org").filter(work_id=_text(work_id)).first()
    )
    if promoter is None:
        raise NotFound()
    return promoter
