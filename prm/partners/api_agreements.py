"""API: agreements, business codes, exits and the blacklist (/api/v1/partners/…).

Paths start with their own words (``agreements``, ``business-codes``, ``exits``,
``blacklist``), never with a partner code, so they do not clash with ``/{code}``.
Partners are named by their partner code, documents by their number; rows outside the
caller's scope answer 404. Reads need the ``view_*`` permission (token scope
``partners.read``), writes ``partners.manage_partner`` / ``manage_blacklist`` /
``add_exitcase`` (``partners.write``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from prm.api import ErrorOut, paginate, require_permission
from prm.partners import selectors_agreements as selectors
from prm.partners.models import Agreement, BlacklistEntry, BusinessCode, ExitCase
from prm.partners.selectors import partner_by_code_for
from prm.partners.services.agreements import (
    agreement_create,
    agreement_renew,
    agreement_submit,
    agreement_terminate,
)
from prm.partners.services.codes import business_code_assign, business_code_release
from prm.partners.services.exit import (
    blacklist_entry_add,
    blacklist_entry_remove,
    exit_case_apply,
    exit_case_start,
)

router = Router(tags=["partners: agreements, codes, exits"])

READ_SCOPE = "partners.read"
WRITE_SCOPE = "partners.write"
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


# ---- Schemas -------------------------------------------------------------------------------


class AgreementOut(Schema):
    number: str
    title: str
    partner: str | None = Field(None, description="Partner code")
    partner_name: str
    status: str
    starts_on: date
    ends_on: date
    business_scope: str
    settlement_model: str
    revenue_share_percent: Decimal | None
    fixed_fee: Decimal | None
    signed_on: date | None
    terminated_at: datetime | None
    termination_reason: str
    reminders_sent: list[int]
    renews: str | None = Field(None, description="Number of the agreement this one renews")
    created_at: datetime


class AgreementIn(Schema):
    partner: str = Field(..., description="Partner code")
    title: str = Field(..., max_length=200)
    starts_on: date
    ends_on: date
    business_scope: str
    settlement_model: Agreement.SettlementModel
    revenue_share_percent: Decimal | None = Field(None, max_digits=5, decimal_places=2)
    fixed_fee: Decimal | None = Field(None, max_digits=14, decimal_places=2)


class AgreementFilters(Schema):
    partner: str | None = Field(None, description="Partner code")
    status: Agreement.Status | None = None
    q: str | None = Field(None, description="Number, title or company name contains")
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=500)


class ReasonIn(Schema):
    reason: str = Field(..., min_length=1, max_length=2000)


class BusinessCodeOut(Schema):
    code: str
    name: str
    service_type: str
    partner: str | None
    status: str
    released_at: datetime | None
    release_reason: str
    created_at: datetime


class BusinessCodeIn(Schema):
    partner: str = Field(..., description="Partner code")
    code: str = Field(..., max_length=30)
    name: str = Field(..., max_length=200)
    service_type: str = Field("", max_length=50)


class CodeFilters(Schema):
    partner: str | None = Field(None, description="Partner code")
    status: BusinessCode.Status | None = None
    q: str | None = None
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=500)


class ExitOut(Schema):
    number: str
    partner: str | None
    partner_name: str
    kind: str
    status: str
    reason: str
    source: str
    checklist: dict[str, str]
    blacklisted: bool
    created_at: datetime
    completed_at: datetime | None


class ExitStartIn(Schema):
    partner: str = Field(..., description="Partner code")
    kind: ExitCase.Kind
    reason: str = Field(..., min_length=1, max_length=2000)


class ExitFilters(Schema):
    partner: str | None = Field(None, description="Partner code")
    status: ExitCase.Status | None = None
    kind: ExitCase.Kind | None = None
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=500)


class BlacklistOut(Schema):
    uscc: str
    company_name: str
    reason: str
    partner: str | None
    created_at: datetime


class BlacklistIn(Schema):
    uscc: str = Field(..., max_length=18)
    company_name: str = Field(..., max_length=200)
    reason: str = Field(..., min_length=1, max_length=2000)


class BlacklistFilters(Schema):
    q: str | None = Field(None, description="USCC or company name contains")
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=500)


# ---- Helpers -------------------------------------------------------------------------------


def _agreement_out(agreement: Agreement) -> dict:
    return {
        "number": agreement.number,
        "title": agreement.title,
        "partner": agreement.partner.code,
        "partner_name": str(agreement.partner),
        "status": agreement.status,
        "starts_on": agreement.starts_on,
        "ends_on": agreement.ends_on,
        "business_scope": agreement.business_scope,
        "settlement_model": agreement.settlement_model,
        "revenue_share_percent": agreement.revenue_share_percent,
        "fixed_fee": agreement.fixed_fee,
        "signed_on": agreement.signed_on,
        "terminated_at": agreement.terminated_at,
        "termination_reason": agreement.termination_reason,
        "reminders_sent": list(agreement.reminders_sent or []),
        "renews": agreement.renews.number if agreement.renews_id else None,
        "created_at": agreement.created_at,
    }


def _code_out(business_code: BusinessCode) -> dict:
    return {
        "code": business_code.code,
        "name": business_code.name,
        "service_type": business_code.service_type,
        "partner": business_code.partner.code,
        "status": business_code.status,
        "released_at": business_code.released_at,
        "release_reason": business_code.release_reason,
        "created_at": business_code.created_at,
    }


def _exit_out(case: ExitCase) -> dict:
    return {
        "number": case.number,
        "partner": case.partner.code,
        "partner_name": str(case.partner),
        "kind": case.kind,
        "status": case.status,
        "reason": case.reason,
        "source": case.source,
        "checklist": {key: str(value) for key, value in (case.checklist or {}).items()},
        "blacklisted": case.blacklisted,
        "created_at": case.created_at,
        "completed_at": case.completed_at,
    }


def _blacklist_out(entry: BlacklistEntry) -> dict:
    return {
        "uscc": entry.uscc,
        "company_name": entry.company_name,
        "reason": entry.reason,
        "partner": entry.partner.code if entry.partner_id else None,
        "created_at": entry.created_at,
    }


def _partner_filter(request: HttpRequest, code: str | None):
    """The partner a list is filtered on (none given: no filter)."""
    return partner_by_code_for(user=request.user, code=code) if code else None


def _partner(request: HttpRequest, code: str):
    """The partner a write names; an empty or unknown code is "not found"."""
    return partner_by_code_for(user=request.user, code=code or "")


def _agreement(request: HttpRequest, number: str) -> Agreement:
    return selectors.agreement_get_for(user=request.user, number=number)


# ---- Agreements ----------------------------------------------------------------------------


@router.get(
    "/agreements",
    response={200: list[AgreementOut], **ERRORS},
    summary="Agreements in the caller's scope (X-Total-Count holds the total)",
)
def agreement_list(request, response: HttpResponse, filters: Query[AgreementFilters]):
    require_permission(request, "partners.view_agreement", scope=READ_SCOPE)
    agreements = selectors.agreement_list(
        user=request.user,
        filters={
            "partner": _partner_filter(request, filters.partner),
            "status": filters.status,
            "q": filters.q,
        },
    ).select_related("renews")
    page = paginate(agreements, response=response, offset=filters.offset, limit=filters.limit)
    return [_agreement_out(agreement) for agreement in page]


@router.post("/agreements", response={201: AgreementOut, **ERRORS}, summary="Draft an agreement")
def agreement_create_endpoint(request, payload: AgreementIn):
    require_permission(request, "partners.manage_partner", scope=WRITE_SCOPE)
    values = payload.model_dump(exclude={"partner"})
    agreement = agreement_create(
        actor=request.user, partner=_partner(request, payload.partner), **values
    )
    return Status(201, _agreement_out(_agreement(request, agreement.number)))


@router.get("/agreements/{number}", response={200: AgreementOut, **ERRORS}, summary="One agreement")
def agreement_detail(request, number: str):
    require_permission(request, "partners.view_agreement", scope=READ_SCOPE)
    return _agreement_out(_agreement(request, number))


@router.post(
    "/agreements/{number}/submit",
    response={200: AgreementOut, **ERRORS},
    summary="Send a draft to countersign (a rejected one: a new round)",
)
def agreement_submit_endpoint(request, number: str):
    require_permission(request, "partners.manage_partner", scope=WRITE_SCOPE)
    agreement_submit(actor=request.user, agreement=_agreement(request, number))
    return _agreement_out(_agreement(request, number))


@router.post(
    "/agreements/{number}/terminate",
    response={200: AgreementOut, **ERRORS},
    summary="End an agreement early (or drop a draft), with a reason",
)
def agreement_terminate_endpoint(request, number: str, payload: ReasonIn):
    require_permission(request, "partners.manage_partner", scope=WRITE_SCOPE)
    agreement_terminate(
        actor=request.user, agreement=_agreement(request, number), reason=payload.reason
    )
    return _agreement_out(_agreement(request, number))


@router.post(
    "/agreements/{number}/renew",
    response={201: AgreementOut, **ERRORS},
    summary="Draft the renewal of a signed, active or expiring agreement",
)
def agreement_renew_endpoint(request, number: str):
    require_permission(request, "partners.manage_partner", scope=WRITE_SCOPE)
    renewal = agreement_renew(actor=request.user, agreement=_agreement(request, number))
    return Status(201, _agreement_out(_agreement(request, renewal.number)))


# ---- Business codes ------------------------------------------------------------------------


@router.get(
    "/business-codes",
    response={200: list[BusinessCodeOut], **ERRORS},
    summary="Business codes in the caller's scope",
)
def code_list(request, response: HttpResponse, filters: Query[CodeFilters]):
    require_permission(request, "partners.view_businesscode", scope=READ_SCOPE)
    codes = selectors.business_code_list(
        user=request.user,
        filters={
            "partner": _partner_filter(request, filters.partner),
            "status": filters.status,
            "q": filters.q,
        },
    )
    page = paginate(codes, response=response, offset=filters.offset, limit=filters.limit)
    return [_code_out(business_code) for business_code in page]


@router.post(
    "/business-codes",
    response={201: BusinessCodeOut, **ERRORS},
    summary="Assign a business code to a partner (within its tier's limit)",
)
def code_assign(request, payload: BusinessCodeIn):
    require_permission(request, "partners.manage_partner", scope=WRITE_SCOPE)
    business_code = business_code_assign(
        actor=request.user,
        partner=_partner(request, payload.partner),
        code=payload.code,
        name=payload.name,
        service_type=payload.service_type,
    )
    return Status(201, _code_out(business_code))


@router.post(
    "/business-codes/{code}/release",
    response={200: BusinessCodeOut, **ERRORS},
    summary="Release an active business code, with a reason",
)
def code_release(request, code: str, payload: ReasonIn):
    require_permission(request, "partners.manage_partner", scope=WRITE_SCOPE)
    business_code = selectors.business_code_get_for(user=request.user, code=code)
    business_code = business_code_release(
        actor=request.user, business_code=business_code, reason=payload.reason
    )
    return _code_out(business_code)


# ---- Exits -------------------------------------------------------------------------------


@router.get(
    "/exits", response={200: list[ExitOut], **ERRORS}, summary="Exit cases in the caller's scope"
)
def exit_list(request, response: HttpResponse, filters: Query[ExitFilters]):
    require_permission(request, "partners.view_exitcase", scope=READ_SCOPE)
    cases = selectors.exit_case_list(
        user=request.user,
        filters={
            "partner": _partner_filter(request, filters.partner),
            "status": filters.status,
            "kind": filters.kind,
        },
    )
    page = paginate(cases, response=response, offset=filters.offset, limit=filters.limit)
    return [_exit_out(case) for case in page]


@router.post(
    "/exits",
    response={201: ExitOut, **ERRORS},
    summary="Make a partner exit now (staff): close-down at once",
)
def exit_start(request, payload: ExitStartIn):
    require_permission(request, "partners.manage_partner", scope=WRITE_SCOPE)
    case = exit_case_start(
        actor=request.user,
        partner=_partner(request, payload.partner),
        kind=payload.kind,
        reason=payload.reason,
    )
    return Status(201, _exit_out(case))


@router.post(
    "/exits/apply",
    response={201: ExitOut, **ERRORS},
    summary="The calling partner applies to leave (its admin)",
)
def exit_apply(request, payload: ReasonIn):
    require_permission(request, "partners.add_exitcase", scope=WRITE_SCOPE)
    case = exit_case_apply(actor=request.user, reason=payload.reason)
    return Status(201, _exit_out(case))


@router.get("/exits/{number}", response={200: ExitOut, **ERRORS}, summary="One exit case")
def exit_detail(request, number: str):
    require_permission(request, "partners.view_exitcase", scope=READ_SCOPE)
    return _exit_out(selectors.exit_case_get_for(user=request.user, number=number))


# ---- Blacklist ---------------------------------------------------------------------------


@router.get(
    "/blacklist", response={200: list[BlacklistOut], **ERRORS}, summary="The USCC blacklist"
)
def blacklist(request, response: HttpResponse, filters: Query[BlacklistFilters]):
    require_permission(request, "partners.view_blacklistentry", scope=READ_SCOPE)
    entries = selectors.blacklist_list(user=request.user, filters={"q": filters.q})
    page = paginate(entries, response=response, offset=filters.offset, limit=filters.limit)
    return [_blacklist_out(entry) for entry in page]


@router.post(
    "/blacklist", response={201: BlacklistOut, **ERRORS}, summary="Put a USCC on the blacklist"
)
def blacklist_add(request, payload: BlacklistIn):
    require_permission(request, "partners.manage_blacklist", scope=WRITE_SCOPE)
    entry = blacklist_entry_add(
        actor=request.user,
        uscc=payload.uscc,
        company_name=payload.company_name,
        reason=payload.reason,
    )
    return Status(201, _blacklist_out(entry))


@router.post(
    "/blacklist/{uscc}/remove",
    response={204: None, **ERRORS},
    summary="Take a USCC off the blacklist, with a reason",
)
def blacklist_remove(request, uscc: str, payload: ReasonIn):
    require_permission(request, "partners.manage_blacklist", scope=WRITE_SCOPE)
    entry = selectors.blacklist_entry_get_for(user=request.user, uscc=uscc)
    blacklist_entry_remove(actor=request.user, entry=entry, reason=payload.reason)
    return Status(204, None)
