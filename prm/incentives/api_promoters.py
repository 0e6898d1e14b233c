"""API: promoters (/api/v1/incentives/…).

- ``GET /promoters`` and ``GET /promoters/{key}`` (a work ID or the registration's
  ``public_id``): operator staff with ``incentives.view_promoter`` (token scope
  ``incentives.read``), their org subtree only; anything else answers 404.
- ``POST /promoters/register``: the internet registration of telemarketers and ordinary
  promoters, anonymous and rate-limited per client address (429 ``rate_limited``).
- ``GET /promoters/me``: a promoter's own record (404 for a login that is no promoter).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from prm.api import ErrorOut, error_response, paginate, require_permission
from prm.core.exceptions import ApplicationError, NotFound
from prm.core.middleware import client_ip
from prm.incentives.models import Promoter
from prm.incentives.selectors_promoters import (
    promoter_get_for,
    promoter_list,
    promoter_of_user,
    promoter_recommendation_count,
)
from prm.incentives.services.promoters import promoter_register, promoter_registration_rate_limit

router = Router(tags=["incentives: promoters"])

READ_SCOPE = "incentives.read"
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class PromoterOut(Schema):
    public_id: UUID
    work_id: str | None
    name: str
    msisdn: str
    kind: str
    path: str
    status: str
    city: str = Field(..., description="Code of the approving city org unit")
    channel: str | None = Field(None, description="Channel code")
    outlet: str | None = Field(None, description="Outlet code")
    seat_number: str
    created_at: datetime
    decided_at: datetime | None


class PromoterDetailOut(PromoterOut):
    email: str
    bank_name: str
    bank_account: str
    decision_reason: str
    recommendation_count: int


class PromoterFilters(Schema):
    kind: Promoter.Kind | None = None
    status: Promoter.Status | None = None
    channel: str | None = Field(None, description="Channel code")
    q: str | None = Field(None, description="Name, number or work ID contains")
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=500)


class PromoterRegisterIn(Schema):
    name: str = Field(..., max_length=100)
    msisdn: str = Field(..., max_length=20)
    kind: str = Field(..., description="telemarketer or ordinary (internet registration)")
    city: str = Field(..., description="Code of the city org unit")
    channel: str = Field("", max_length=30, description="Channel code (optional)")
    outlet: str = Field("", max_length=30, description="Outlet code (optional)")
    bank_name: str = Field(..., max_length=100)
    bank_account: str = Field(..., max_length=40)
    email: str = Field("", max_length=254)


class PromoterRegisteredOut(Schema):
    public_id: UUID
    status: str


def _out(promoter: Promoter) -> dict:
    return {
        "public_id": promoter.public_id,
        "work_id": promoter.work_id,
        "name": promoter.name,
        "msisdn": promoter.msisdn,
        "kind": promoter.kind,
        "path": promoter.path,
        "status": promoter.status,
        "city": promoter.org.code,
        "channel": promoter.channel.code if promoter.channel_id else None,
        "outlet": promoter.outlet.code if promoter.outlet_id else None,
        "seat_number": promoter.seat_number,
        "created_at": promoter.created_at,
        "decided_at": promoter.decided_at,
    }


def _detail_out(promoter: Promoter) -> dict:
    return {
        **_out(promoter),
        "email": promoter.email,
        "bank_name": promoter.bank_name,
        "bank_account": promoter.bank_account,
        "decision_reason": promoter.decision_reason,
        "recommendation_count": promoter_recommendation_count(promoter=promoter),
    }


@router.get(
    "/promoters",
    response={200: list[PromoterOut], **ERRORS},
    summary="Promoters in the caller's scope (X-Total-Count holds the total)",
)
def promoter_list_endpoint(request, response: HttpResponse, filters: Query[PromoterFilters]):
    require_permission(request, "incentives.view_promoter", scope=READ_SCOPE)
    promoters = promoter_list(
        user=request.user,
        filters={
            "kind": filters.kind,
            "status": filters.status,
            "channel": filters.channel,
            "q": filters.q,
        },
    )
    page = paginate(promoters, response=response, offset=filters.offset, limit=filters.limit)
    return [_out(promoter) for promoter in page]


@router.get(
    "/promoters/me",
    response={200: PromoterDetailOut, **ERRORS},
    summary="The signed-in promoter's own record",
)
def promoter_me_endpoint(request):
    promoter = promoter_of_user(user=request.user)
    if promoter is None:
        raise NotFound()
    return _detail_out(promoter)


@router.post(
    "/promoters/register",
    auth=None,
    response={201: PromoterRegisteredOut, 429: ErrorOut, **ERRORS},
    summary="Internet registration of a telemarketer or ordinary promoter (anonymous)",
    description=(
        "R4: telemarketers and ordinary promoters register through the internet. The "
        "number must be one of the operator's subscribers' numbers and hold no live "
        "registration (409 `msisdn_registered`). The registration awaits the city "
        "admin's approval, who assigns the work ID; the initial password goes by SMS. "
        "Rate-limited per client address (`PRM_PROMOTER_REGISTRATION_LIMIT` attempts per "
        "10 minutes; then 429 `rate_limited` with `Retry-After`)."
    ),
)
def promoter_register_endpoint(request: HttpRequest, payload: PromoterRegisterIn):
    try:
        promoter_registration_rate_limit(client_ip=client_ip(request))
        promoter = promoter_register(
            path=Promoter.Path.INTERNET,
            actor=None,
            name=payload.name,
            msisdn=payload.msisdn,
            kind=payload.kind,
            city_code=payload.city,
            channel_code=payload.channel,
            outlet_code=payload.outlet,
            bank_name=payload.bank_name,
            bank_account=payload.bank_account,
            email=payload.email,
        )
    except ApplicationError as exc:
        response = error_response(
            request, code=exc.code, message=exc.message, status=exc.status, details=exc.details
        )
        if exc.status == 429:
            response["Retry-After"] = str(exc.details.get("retry_after_seconds", 600))
        return response
    return Status(201, {"public_id": promoter.public_id, "status": promoter.status})


@router.get(
    "/promoters/{key}",
    response={200: PromoterDetailOut, **ERRORS},
    summary="One promoter, by work ID or public id",
)
def promoter_detail_endpoint(request, key: str):
    require_permission(request, "incentives.view_promoter", scope=READ_SCOPE)
    return _detail_out(promoter_get_for(user=request.user, key=key))
