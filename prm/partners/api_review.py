"""API of the introduction review (mounted at /api/v1/partners/): the scoped review
queue, the guarded approve/reject actions, the expert panel draw and expert scoring."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from ninja import Body, Query, Router, Schema, Status

from prm.api import ErrorOut, paginate, require_permission
from prm.partners.models import Partner
from prm.partners.selectors_review import (
    application_review_queue,
    application_review_rows,
    expert_panel_drawn_ids,
)
from prm.partners.services.review import (
    application_review_approve,
    application_review_reject,
    expert_panel_draw,
    expert_score_submit,
)

router = Router(tags=["partners: review"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


class PanelOut(Schema):
    id: int
    round: int
    size: int
    seed: str
    eligible_ids: list[int]
    drawn_expert_ids: list[int]
    mean_score: Decimal | None
    spread: Decimal | None
    completed_at: datetime | None


class ReviewOut(Schema):
    partner_id: int
    company_name: str
    uscc: str | None
    category: str
    status: str
    source: str
    managing_org: str
    submitted_at: datetime | None
    workflow_status: str | None
    current_step: int | None
    step_name: str
    round: int | None
    is_my_task: bool
    panel: PanelOut | None


class ReviewFilter(Schema):
    status: str = Partner.Status.SUBMITTED
    category: str = ""
    offset: int = 0
    limit: int = 50


class ApproveIn(Schema):
    comment: str = ""


class RejectIn(Schema):
    reason: str


class DrawIn(Schema):
    size: int | None = None


class WorkflowOut(Schema):
    instance_id: int
    status: str
    current_step: int | None
    round: int


class ScoreIn(Schema):
    scores: dict[str, Decimal]
    comment: str = ""


class ScoreOut(Schema):
    panel_id: int
    scores: dict[str, str]
    total: Decimal | None
    comment: str
    submitted_at: datetime | None
    panel_complete: bool
    mean_score: Decimal | None
    spread: Decimal | None


def _panel_out(panel) -> dict | None:
    if panel is None:
        return None
    return {
        "id": panel.pk,
        "round": panel.round,
        "size": panel.size,
        "seed": panel.seed,
        "eligible_ids": list(panel.eligible_ids),
        "drawn_expert_ids": expert_panel_drawn_ids(panel),
        "mean_score": panel.mean_score,
        "spread": panel.spread,
        "completed_at": panel.completed_at,
    }


def _workflow_out(instance) -> dict:
    return {
        "instance_id": instance.pk,
        "status": instance.status,
        "current_step": instance.current_step,
        "round": instance.round,
    }


@router.get(
    "reviews",
    response={200: list[ReviewOut], **ERRORS},
    summary="Applications in review (scoped to the caller's org subtree)",
)
def review_list(request: HttpRequest, response: HttpResponse, filters: Query[ReviewFilter]):
    require_permission(request, "partners.review_partner", scope="partners:read")
    status = filters.status if filters.status in (*Partner.APPLICATION_STATUSES, "all") else ""
    applications = application_review_queue(
        user=request.user, status=status or Partner.Status.SUBMITTED, category=filters.category
    )
    page = paginate(applications, response=response, offset=filters.offset, limit=filters.limit)
    return [
        {
            "partner_id": row.partner.pk,
            "company_name": row.partner.company_name,
            "uscc": row.partner.uscc,
            "category": row.partner.category.code,
            "status": row.partner.status,
            "source": row.partner.source,
            "managing_org": row.partner.managing_org.code,
            "submitted_at": row.partner.submitted_at,
            "workflow_status": row.instance.status if row.instance else None,
            "current_step": row.instance.current_step if row.instance else None,
            "step_name": row.step_name,
            "round": row.instance.round if row.instance else None,
            "is_my_task": row.is_my_task,
            "panel": _panel_out(row.panel),
        }
        for row in application_review_rows(user=request.user, partners=page)
    ]


@router.post(
    "reviews/{partner_id}/panel",
    response={201: PanelOut, **ERRORS},
    summary="Draw the expert panel of the application's current round",
)
def review_panel_draw(request: HttpRequest, partner_id: int, payload: DrawIn | None = Body(None)):  # noqa: B008
    require_permission(request, "partners.review_partner", scope="partners:write")
    panel = expert_panel_draw(
        partner_id=partner_id, actor=request.user, size=payload.size if payload else None
    )
    return Status(201, _panel_out(panel))


@router.post(
    "reviews/{partner_id}/approve",
    response={200: WorkflowOut, **ERRORS},
    summary="Approve the caller's step (the panel and decision steps need a complete panel)",
)
def review_approve(request: HttpRequest, partner_id: int, payload: ApproveIn | None = Body(None)):  # noqa: B008
    require_permission(request, "partners.review_partner", scope="partners:write")
    instance = application_review_approve(
        partner_id=partner_id, actor=request.user, comment=payload.comment if payload else ""
    )
    return _workflow_out(instance)


@router.post(
    "reviews/{partner_id}/reject",
    response={200: WorkflowOut, **ERRORS},
    summary="Return the application to the applicant with reasons",
)
def review_reject(request: HttpRequest, partner_id: int, payload: RejectIn):
    require_permission(request, "partners.review_partner", scope="partners:write")
    instance = application_review_reject(
        partner_id=partner_id, actor=request.user, reason=payload.reason
    )
    return _workflow_out(instance)


@router.post(
    "reviews/panels/{panel_id}/scores",
    response={201: ScoreOut, **ERRORS},
    summary="Submit the caller's scores as a drawn expert",
)
def review_score_submit(request: HttpRequest, panel_id: int, payload: ScoreIn):
    require_permission(request, "partners.view_expertpanel", scope="partners:write")
    score = expert_score_submit(
        panel_id=panel_id, actor=request.user, scores=payload.scores, comment=payload.comment
    )
    panel = score.panel
    panel.refresh_from_db()
    return Status(
        201,
        {
            "panel_id": panel.pk,
            "scores": score.scores,
            "total": score.total,
            "comment": score.comment,
            "submitted_at": score.submitted_at,
            "panel_complete": panel.completed_at is not None,
            "mean_score": panel.mean_score,
            "spread": panel.spread,
        },
    )
