"""Partners API, registry and profile (R1): the scoped partner list, one partner, its
change requests (list, create) and its qualifications.

Partners are addressed by partner code (``P-2026-000123``), never by database id; the
``{partner_code:code}`` converter matches codes only, so ``/registration-status`` and
the other concerns' paths are never taken for a code. Reads need the ``view_*``
permission (token scope ``partners.read``), a change request ``add_changerequest``
(``partners.write``). A partner outside the caller's scope answers 404.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from prm.api import ErrorOut, paginate, require_permission
from prm.partners import selectors_profile as selectors
from prm.partners.models import ChangeRequest, Partner, Qualification
from prm.partners.selectors import partner_by_code_for, partner_may_do_new_business
from prm.partners.services.profile import change_request_create

router = Router()

READ_SCOPE = "partners.read"
WRITE_SCOPE = "partners.write"
ERRORS = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}
CODE = "{partner_code:code}"


class CategoryRef(Schema):
    code: str
    name: str


class OrgRef(Schema):
    code: str
    name: str


class PartnerOut(Schema):
    code: str | None
    company_name: str
    uscc: str | None
    category: CategoryRef
    status: str
    tier: str
    source: str
    managing_org: OrgRef
    manager: str | None = Field(None, description="Username of the partner manager")
    business_suspended: bool
    may_do_new_business: bool
    approved_at: datetime | None


class PartnerDetailOut(PartnerOut):
    legal_representative: str
    registered_capital: Decimal | None
    address: str
    contact_name: str
    contact_phone: str
    admin_email: str
    bank_name: str
    bank_account: str
    business_scope: str
    business_suspended_reason: str
    business_suspended_until: date | None


class PartnerFilters(Schema):
    q: str | None = Field(None, description="Company name, partner code or USCC contains")
    status: str | None = None
    category: str | None = Field(None, description="Category code")
    source: str | None = None
    tier: str | None = None
    managing_org: str | None = Field(None, description="Org unit code: partners of its subtree")
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=500)


class ChangeRequestOut(Schema):
    number: str
    partner: str | None = Field(None, description="Partner code")
    status: str
    changes: dict[str, list[str]] = Field(description="{field: [old, new]}")
    reason: str
    submitted_by: str
    created_at: datetime
    decided_at: datetime | None


class ChangeRequestIn(Schema):
    changes: dict[str, str | int | float | None] = Field(
        description="New values of some of: " + ", ".join(Partner.PROFILE_FIELDS)
    )
    reason: str = Field(min_length=1, max_length=2000)


class QualificationOut(Schema):
    id: int
    name: str
    requirement: str | None = Field(None, description="Checklist item code")
    number: str
    issuer: str
    issued_on: date | None
    expires_on: date | None
    mandatory: bool
    is_current: bool
    is_expired: bool
    replaced_by: int | None
    attachments: list[str] = Field(description="Download URLs")


def _partner_out(partner: Partner, *, detail: bool = False) -> dict:
    out = {
        "code": partner.code,
        "company_name": partner.company_name,
        "uscc": partner.uscc,
        "category": {"code": partner.category.code, "name": partner.category.label},
        "status": partner.status,
        "tier": partner.tier,
        "source": partner.source,
        "managing_org": {"code": partner.managing_org.code, "name": partner.managing_org.name},
        "manager": partner.manager.username if partner.manager else None,
        "business_suspended": partner.business_suspended,
        "may_do_new_business": partner_may_do_new_business(partner),
        "approved_at": partner.approved_at,
    }
    if detail:
        for name in Partner.PROFILE_FIELDS:
            out[name] = getattr(partner, name)
        out["business_suspended_reason"] = partner.business_suspended_reason
        out["business_suspended_until"] = partner.business_suspended_until
    return out


def _change_request_out(change_request: ChangeRequest) -> dict:
    return {
        "number": change_request.number,
        "partner": change_request.partner.code,
        "status": change_request.status,
        "changes": change_request.changes,
        "reason": change_request.reason,
        "submitted_by": change_request.submitted_by.username,
        "created_at": change_request.created_at,
        "decided_at": change_request.decided_at,
    }


def _partner(request: HttpRequest, code: str) -> Partner:
    return partner_by_code_for(user=request.user, code=code)


@router.get(
    "/",
    response={200: list[PartnerOut], **ERRORS},
    summary="Partners in the caller's scope (X-Total-Count holds the total)",
)
def partner_list(request, response: HttpResponse, filters: Query[PartnerFilters]):
    require_permission(request, "partners.view_partner", scope=READ_SCOPE)
    partners = selectors.partner_list_filtered(
        user=request.user, filters=filters.model_dump(exclude={"offset", "limit"})
    )
    page = paginate(partners, response=response, offset=filters.offset, limit=filters.limit)
    return [_partner_out(partner) for partner in page]


@router.get(f"/{CODE}", response={200: PartnerDetailOut, **ERRORS}, summary="One partner")
def partner_detail(request, code: str):
    require_permission(request, "partners.view_partner", scope=READ_SCOPE)
    return _partner_out(_partner(request, code), detail=True)


@router.get(
    f"/{CODE}/change-requests",
    response={200: list[ChangeRequestOut], **ERRORS},
    summary="The partner's change requests, newest first",
)
def change_request_list(request, code: str):
    require_permission(request, "partners.view_changerequest", scope=READ_SCOPE)
    partner = _partner(request, code)
    requests = selectors.change_request_list(user=request.user, filters={"partner": partner.pk})
    return [_change_request_out(change_request) for change_request in requests]


@router.post(
    f"/{CODE}/change-requests",
    response={201: ChangeRequestOut, **ERRORS},
    summary="Ask for a change of the partner's registration data (the partner's admin)",
)
def change_request_post(request, code: str, payload: ChangeRequestIn):
    require_permission(request, "partners.add_changerequest", scope=WRITE_SCOPE)
    partner = _partner(request, code)
    change_request = change_request_create(
        actor=request.user, partner=partner, values=payload.changes, reason=payload.reason
    )
    return Status(201, _change_request_out(change_request))


@router.get(
    f"/{CODE}/qualifications",
    response={200: list[QualificationOut], **ERRORS},
    summary="The partner's qualifications (current ones first)",
)
def qualification_list(request, code: str):
    require_permission(request, "partners.view_qualification", scope=READ_SCOPE)
    partner = _partner(request, code)
    today = timezone.localdate()
    rows = [
        *selectors.qualification_rows(partner=partner, today=today),
        *selectors.qualification_rows(partner=partner, today=today, current=False),
    ]
    return [_qualification_out(request, row) for row in rows]


def _qualification_out(request: HttpRequest, row: selectors.QualificationRow) -> dict:
    qualification: Qualification = row.qualification
    return {
        "id": qualification.pk,
        "name": qualification.name,
        "requirement": qualification.requirement.code if qualification.requirement else None,
        "number": qualification.number,
        "issuer": qualification.issuer,
        "issued_on": qualification.issued_on,
        "expires_on": qualification.expires_on,
        "mandatory": qualification.mandatory,
        "is_current": qualification.is_current,
        "is_expired": row.is_expired,
        "replaced_by": qualification.replaced_by_id,
        "attachments": [
            reverse("core:attachment_download", kwargs={"public_id": attachment.public_id})
            for attachment in row.attachments
        ],
    }
