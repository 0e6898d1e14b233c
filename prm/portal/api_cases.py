"""API: breach investigations (``cases``) and partner inquiries (``inquiries``), R2.

Objects are addressed by number (``BC-2026-000001``, ``IQ-2026-000001``). Reads need
``view_breachcase`` / ``view_inquiry`` (token scope ``portal.read``); writes need the
action's permission (``portal.write``). An object outside the caller's scope is 404.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from prm.api import ErrorOut, paginate, require_permission
from prm.partners.selectors import partner_by_code_for
from prm.portal.models import BreachCase, BreachResponse, Inquiry
from prm.portal.selectors_cases import (
    breach_case_get,
    breach_case_list_filtered,
    breach_case_response_deadline,
    breach_response_list,
    inquiry_get,
    inquiry_is_overdue,
    inquiry_list_filtered,
)
from prm.portal.services.cases import (
    breach_case_decide,
    breach_case_open,
    breach_response_submit,
    inquiry_answer,
    inquiry_close,
    inquiry_create,
    inquiry_reopen,
)

router = Router()

READ_SCOPE = "portal.read"
WRITE_SCOPE = "portal.write"
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


# Breach investigations -------------------------------------------------------------------


class CaseOut(Schema):
    number: str
    partner_code: str | None
    partner_name: str
    business: str
    violation_type: str
    impact: str
    affected_users: int
    used_marketing_resources: bool
    description: str
    status: str
    response_due: date
    response_deadline: datetime = Field(description="The end of the due date (local time)")
    opened_by: str
    org: str = Field(description="Code of the org unit that opened the case")
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str
    credit_deduction: bool
    fine_amount: Decimal | None
    suspend_business_until: date | None


class ResponseOut(Schema):
    id: int
    author: str
    body: str
    created_at: datetime


class CaseDetailOut(CaseOut):
    responses: list[ResponseOut]


class CaseFilters(Schema):
    q: str | None = Field(None, description="Number, partner name or code, business contains")
    status: BreachCase.Status | None = None
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=500)


class CaseIn(Schema):
    partner: str = Field(description="Partner code")
    business: str = Field(min_length=1, max_length=200)
    violation_type: BreachCase.ViolationType
    impact: BreachCase.Impact
    description: str = Field(min_length=1)
    affected_users: int = Field(0, ge=0, le=2_147_483_647)
    used_marketing_resources: bool = False


class ResponseIn(Schema):
    body: str = Field(min_length=1)


class DecisionIn(Schema):
    upheld: bool
    reason: str = Field(min_length=1)
    credit_deduction: bool = False
    fine_amount: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    suspend_business_until: date | None = None


def _case_out(case: BreachCase) -> dict:
    return {
        "number": case.number,
        "partner_code": case.partner.code,
        "partner_name": str(case.partner),
        "business": case.business,
        "violation_type": case.violation_type,
        "impact": case.impact,
        "affected_users": case.affected_users,
        "used_marketing_resources": case.used_marketing_resources,
        "description": case.description,
        "status": case.status,
        "response_due": case.response_due,
        "response_deadline": breach_case_response_deadline(case),
        "opened_by": case.opened_by.username,
        "org": case.org.code,
        "created_at": case.created_at,
        "decided_by": case.decided_by.username if case.decided_by else None,
        "decided_at": case.decided_at,
        "decision_reason": case.decision_reason,
        "credit_deduction": case.credit_deduction,
        "fine_amount": case.fine_amount,
        "suspend_business_until": case.suspend_business_until,
    }


def _response_out(response: BreachResponse) -> dict:
    return {
        "id": response.pk,
        "author": response.author.username,
        "body": response.body,
        "created_at": response.created_at,
    }


def _case_detail_out(request: HttpRequest, number: str) -> dict:
    case = breach_case_get(user=request.user, number=number)
    return {
        **_case_out(case),
        "responses": [_response_out(item) for item in breach_response_list(case=case)],
    }


@router.get("/cases", response={200: list[CaseOut], **ERRORS}, summary="Breach investigations")
def case_list(request, response: HttpResponse, filters: Query[CaseFilters]):
    require_permission(request, "portal.view_breachcase", scope=READ_SCOPE)
    values = filters.dict(exclude={"offset", "limit"})
    cases = breach_case_list_filtered(user=request.user, filters=values)
    page = paginate(cases, response=response, offset=filters.offset, limit=filters.limit)
    return [_case_out(case) for case in page]


@router.post(
    "/cases", response={201: CaseDetailOut, **ERRORS}, summary="Open a breach investigation"
)
def case_open(request, payload: CaseIn):
    require_permission(request, "portal.manage_breachcase", scope=WRITE_SCOPE)
    partner = partner_by_code_for(user=request.user, code=payload.partner)
    case = breach_case_open(
        actor=request.user,
        partner=partner,
        business=payload.business,
        violation_type=payload.violation_type,
        impact=payload.impact,
        description=payload.description,
        affected_users=payload.affected_users,
        used_marketing_resources=payload.used_marketing_resources,
    )
    return Status(201, _case_detail_out(request, case.number))


@router.get(
    "/cases/{number}",
    response={200: CaseDetailOut, **ERRORS},
    summary="One breach investigation with the partner's responses",
)
def case_detail(request, number: str):
    require_permission(request, "portal.view_breachcase", scope=READ_SCOPE)
    return _case_detail_out(request, number)


@router.post(
    "/cases/{number}/responses",
    response={201: ResponseOut, **ERRORS},
    summary="The partner responds (until the end of the due date)",
)
def case_respond(request, number: str, payload: ResponseIn):
    require_permission(request, "portal.view_breachcase", scope=WRITE_SCOPE)
    response = breach_response_submit(actor=request.user, number=number, body=payload.body)
    return Status(201, _response_out(response))


@router.post(
    "/cases/{number}/decision",
    response={200: CaseDetailOut, **ERRORS},
    summary="Decide: upheld (with penalties) or not upheld; final",
)
def case_decision(request, number: str, payload: DecisionIn):
    require_permission(request, "portal.manage_breachcase", scope=WRITE_SCOPE)
    breach_case_decide(actor=request.user, number=number, **payload.dict())
    return _case_detail_out(request, number)


# Inquiries -------------------------------------------------------------------------------


class InquiryOut(Schema):
    number: str
    partner_code: str | None
    partner_name: str
    author: str
    topic: str
    subject: str
    body: str
    status: str
    due_at: datetime
    is_overdue: bool
    answer: str
    answered_by: str | None
    answered_at: datetime | None
    created_at: datetime


class InquiryFilters(Schema):
    q: str | None = Field(None, description="Number, subject, partner name or code contains")
    status: Inquiry.Status | None = None
    topic: Inquiry.Topic | None = None
    overdue: bool | None = Field(None, description="Only open inquiries past their deadline")
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=500)


class InquiryIn(Schema):
    topic: Inquiry.Topic
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1)


class AnswerIn(Schema):
    answer: str = Field(min_length=1)


class ReopenIn(Schema):
    comment: str = Field(min_length=1)


def _inquiry_out(inquiry: Inquiry) -> dict:
    return {
        "number": inquiry.number,
        "partner_code": inquiry.partner.code,
        "partner_name": str(inquiry.partner),
        "author": inquiry.author.username,
        "topic": inquiry.topic,
        "subject": inquiry.subject,
        "body": inquiry.body,
        "status": inquiry.status,
        "due_at": inquiry.due_at,
        "is_overdue": inquiry_is_overdue(inquiry),
        "answer": inquiry.answer,
        "answered_by": inquiry.answered_by.username if inquiry.answered_by else None,
        "answered_at": inquiry.answered_at,
        "created_at": inquiry.created_at,
    }


def _inquiry_permission(request: HttpRequest, *, scope: str) -> None:
    permission = "portal.view_inquiry"
    if not request.user.has_perm(permission) and request.user.has_perm("portal.answer_inquiry"):
        permission = "portal.answer_inquiry"
    require_permission(request, permission, scope=scope)


@router.get("/inquiries", response={200: list[InquiryOut], **ERRORS}, summary="Inquiries")
def inquiry_list(request, response: HttpResponse, filters: Query[InquiryFilters]):
    _inquiry_permission(request, scope=READ_SCOPE)
    values = filters.dict(exclude={"offset", "limit"})
    inquiries = inquiry_list_filtered(user=request.user, filters=values)
    page = paginate(inquiries, response=response, offset=filters.offset, limit=filters.limit)
    return [_inquiry_out(inquiry) for inquiry in page]


@router.post(
    "/inquiries", response={201: InquiryOut, **ERRORS}, summary="A partner raises an inquiry"
)
def inquiry_raise(request, payload: InquiryIn):
    require_permission(request, "portal.add_inquiry", scope=WRITE_SCOPE)
    inquiry = inquiry_create(actor=request.user, **payload.dict())
    return Status(201, _inquiry_out(inquiry))


@router.get("/inquiries/{number}", response={200: InquiryOut, **ERRORS}, summary="One inquiry")
def inquiry_detail(request, number: str):
    _inquiry_permission(request, scope=READ_SCOPE)
    return _inquiry_out(inquiry_get(user=request.user, number=number))


@router.post(
    "/inquiries/{number}/answer",
    response={200: InquiryOut, **ERRORS},
    summary="Staff answer an open inquiry",
)
def inquiry_answer_endpoint(request, number: str, payload: AnswerIn):
    require_permission(request, "portal.answer_inquiry", scope=WRITE_SCOPE)
    return _inquiry_out(inquiry_answer(actor=request.user, number=number, answer=payload.answer))


@router.post(
    "/inquiries/{number}/reopen",
    response={200: InquiryOut, **ERRORS},
    summary="The partner reopens an answered inquiry",
)
def inquiry_reopen_endpoint(request, number: str, payload: ReopenIn):
    require_permission(request, "portal.add_inquiry", scope=WRITE_SCOPE)
    return _inquiry_out(inquiry_reopen(actor=request.user, number=number, comment=payload.comment))


@router.post(
    "/inquiries/{number}/close",
    response={200: InquiryOut, **ERRORS},
    summary="Close an inquiry (the partner, or the staff who answer it)",
)
def inquiry_close_endpoint(request, number: str):
    permission = "portal.add_inquiry" if request.user.is_partner_user else "portal.answer_inquiry"
    require_permission(request, permission, scope=WRITE_SCOPE)
    return _inquiry_out(inquiry_close(actor=request.user, number=number))
