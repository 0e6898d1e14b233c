"""API: settlement runs (/api/v1/incentives/runs…).

Runs are named by their number (``ST-2026-03-GZ``); a run outside the caller's subtree
answers 404. Reads need ``incentives.view_settlementrun`` (token scope
``incentives.read``); starting, re-running and submitting need ``start_settlementrun``,
approving and rejecting ``approve_settlementrun``, the payout file ``export_payout``
(``incentives.write``). Starting answers 202: the run is computed in the background
(at once without a broker); poll ``GET /runs/{number}`` for its status and progress.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from prm.api import ErrorOut, paginate, require_permission
from prm.incentives import selectors_settlement as selectors
from prm.incentives.models import SettlementRun
from prm.incentives.services import payouts as payout_services
from prm.incentives.services import settlement as services

router = Router(tags=["incentives: settlement"])

READ_SCOPE = "incentives.read"
WRITE_SCOPE = "incentives.write"
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class RunOut(Schema):
    number: str
    period: str
    city: str = Field(..., description="City code")
    city_name: str
    status: str
    revision: int
    progress: int
    stage: str
    message: str
    started_by: str | None = Field(None, description="Username; null when the schedule started it")
    started_at: datetime | None
    finished_at: datetime | None
    rule_version: str
    records: int
    qualified: int
    gross_amount: Decimal
    clawback_amount: Decimal
    adjustment_amount: Decimal
    payable_amount: Decimal
    approved_at: datetime | None
    payout_generated_at: datetime | None
    artefacts: dict[str, str]
    input_sha256: dict[str, str]
    summary: dict[str, Any]
    changes: dict[str, Any]


class RunIn(Schema):
    city: str = Field(..., description="City code")
    period: str | None = Field(
        None, description="YYYY-MM; by default the previous month", pattern=r"^[0-9]{4}-[0-9]{2}$"
    )


class RunFilters(Schema):
    period: str | None = Field(None, description="YYYY-MM (or a year)")
    status: SettlementRun.Status | None = None
    city: str | None = Field(None, description="City code")
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=500)


class PageFilters(Schema):
    offset: int = Field(0, ge=0)
    limit: int = Field(100, ge=1, le=500)


class StatementOut(Schema):
    promoter_work_id: str | None
    promoter_name: str
    channel: str | None = Field(None, description="Channel code")
    records: int
    qualified: int
    gross_amount: Decimal
    clawback_amount: Decimal
    carried_in: Decimal
    adjustment_amount: Decimal
    net_amount: Decimal
    payable_amount: Decimal
    carry_forward: Decimal


class ApproveIn(Schema):
    comment: str = Field("", max_length=2000)


class RejectIn(Schema):
    reason: str = Field(..., min_length=1, max_length=2000)


def _run_out(run: SettlementRun) -> dict:
    return {
        "number": run.number,
        "period": run.period,
        "city": run.org.code,
        "city_name": run.org.name,
        "status": run.status,
        "revision": run.revision,
        "progress": run.progress,
        "stage": run.stage,
        "message": run.message,
        "started_by": run.started_by.username if run.started_by_id else None,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "rule_version": run.rule_version,
        "records": run.records,
        "qualified": run.qualified,
        "gross_amount": run.gross_amount,
        "clawback_amount": run.clawback_amount,
        "adjustment_amount": run.adjustment_amount,
        "payable_amount": run.payable_amount,
        "approved_at": run.approved_at,
        "payout_generated_at": run.payout_generated_at,
        "artefacts": dict(run.artefacts or {}),
        "input_sha256": dict(run.input_sha256 or {}),
        "summary": dict(run.summary or {}),
        "changes": dict(run.changes or {}),
    }


def _run(request: HttpRequest, number: str) -> SettlementRun:
    return selectors.run_get_for(user=request.user, number=number)


@router.get(
    "/runs",
    response={200: list[RunOut], **ERRORS},
    summary="Settlement runs in the caller's scope (X-Total-Count holds the total)",
)
def run_list(request, response: HttpResponse, filters: Query[RunFilters]):
    require_permission(request, selectors.VIEW_PERMISSION, scope=READ_SCOPE)
    runs = selectors.run_list(
        user=request.user,
        filters={"period": filters.period, "status": filters.status, "city": filters.city},
    )
    page = paginate(runs, response=response, offset=filters.offset, limit=filters.limit)
    return [_run_out(run) for run in page]


@router.post(
    "/runs",
    response={202: RunOut, **ERRORS},
    summary="Start (or run again) the settlement of a city for a period",
)
def run_start(request, payload: RunIn):
    require_permission(request, selectors.START_PERMISSION, scope=WRITE_SCOPE)
    city = selectors.city_by_code_for(user=request.user, code=payload.city)
    run = services.settlement_run_start(org=city, period=payload.period, actor=request.user)
    return Status(202, _run_out(_run(request, run.number)))


@router.get("/runs/{number}", response={200: RunOut, **ERRORS}, summary="One settlement run")
def run_detail(request, number: str):
    require_permission(request, selectors.VIEW_PERMISSION, scope=READ_SCOPE)
    return _run_out(_run(request, number))


@router.post(
    "/runs/{number}/rerun",
    response={202: RunOut, **ERRORS},
    summary="Run a computed or failed settlement again",
)
def run_rerun(request, number: str):
    require_permission(request, selectors.START_PERMISSION, scope=WRITE_SCOPE)
    run = services.settlement_run_rerun(run=_run(request, number), actor=request.user)
    return Status(202, _run_out(_run(request, run.number)))


@router.post(
    "/runs/{number}/submit",
    response={200: RunOut, **ERRORS},
    summary="Send a computed settlement to approval (city, then province)",
)
def run_submit(request, number: str):
    require_permission(request, selectors.START_PERMISSION, scope=WRITE_SCOPE)
    services.settlement_run_submit(run=_run(request, number), actor=request.user)
    return _run_out(_run(request, number))


@router.post(
    "/runs/{number}/approve",
    response={200: RunOut, **ERRORS},
    summary="Approve your step of the settlement's approval",
)
def run_approve(request, number: str, payload: ApproveIn):
    require_permission(request, selectors.APPROVE_PERMISSION, scope=WRITE_SCOPE)
    services.settlement_run_approve(
        run=_run(request, number), actor=request.user, comment=payload.comment
    )
    return _run_out(_run(request, number))


@router.post(
    "/runs/{number}/reject",
    response={200: RunOut, **ERRORS},
    summary="Reject the settlement (a reason is required); it returns to computed",
)
def run_reject(request, number: str, payload: RejectIn):
    require_permission(request, selectors.APPROVE_PERMISSION, scope=WRITE_SCOPE)
    services.settlement_run_reject(
        run=_run(request, number), actor=request.user, reason=payload.reason
    )
    return _run_out(_run(request, number))


@router.get(
    "/runs/{number}/statements",
    response={200: list[StatementOut], **ERRORS},
    summary="The promoters' statements of a run (X-Total-Count holds the total)",
)
def run_statements(request, response: HttpResponse, number: str, filters: Query[PageFilters]):
    require_permission(request, selectors.VIEW_PERMISSION, scope=READ_SCOPE)
    statements = selectors.run_statements(run=_run(request, number))
    page = paginate(statements, response=response, offset=filters.offset, limit=filters.limit)
    return [
        {
            "promoter_work_id": statement.promoter.work_id,
            "promoter_name": statement.promoter.name,
            "channel": statement.promoter.channel.code if statement.promoter.channel_id else None,
            "records": statement.records,
            "qualified": statement.qualified,
            "gross_amount": statement.gross_amount,
            "clawback_amount": statement.clawback_amount,
            "carried_in": statement.carried_in,
            "adjustment_amount": statement.adjustment_amount,
            "net_amount": statement.net_amount,
            "payable_amount": statement.payable_amount,
            "carry_forward": statement.carry_forward,
        }
        for statement in page
    ]


@router.get(
    "/runs/{number}/payout.{fmt}",
    response={200: None, **ERRORS},
    summary="The payout file of an approved run (fmt: xlsx or csv)",
)
def run_payout(request, number: str, fmt: str):
    require_permission(request, selectors.PAYOUT_PERMISSION, scope=READ_SCOPE)
    export = payout_services.payout_file_build(
        run=_run(request, number), actor=request.user, fmt=fmt
    )
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response
