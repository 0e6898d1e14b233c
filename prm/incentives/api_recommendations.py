"""API: recommendations (/api/v1/incentives/…), R4.

- ``POST /recommendations``: a promoter records a recommendation as themselves (session or
  their API token, scope ``incentives.write``); there is no promoter field, so nobody can
  record for someone else.
- ``GET /recommendations`` and ``GET /recommendations/{number}``: a promoter reads their
  own; staff with ``view_recommendation`` their subtree's (scope ``incentives.read``).
  Another promoter's record is 404.
- ``POST /sms/inbound``: the SMS gateway forwards a subscriber's reply. No user: the
  gateway is authenticated by the shared secret ``X-PRM-SMS-Token``
  (``PRM_SMS_INBOUND_TOKEN``; refused with 403 when unset or wrong). A reply that matches
  nothing is answered 200 ``{"result": "ignored", "reason": …}`` so that it is not retried.
"""

from __future__ import annotations

import hmac
from datetime import date, datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.security import APIKeyHeader

from prm.api import ErrorOut, paginate, require_permission
from prm.core.exceptions import ApplicationError
from prm.incentives.models import Recommendation
from prm.incentives.selectors import promoter_of_user
from prm.incentives.selectors_recommendations import (
    recommendation_confirm_deadline,
    recommendation_get,
    recommendation_may_list,
    recommendations_filtered,
)
from prm.incentives.services.recommendations import recommendation_record, sms_inbound_handle

router = Router()

READ_SCOPE = "incentives.read"
WRITE_SCOPE = "incentives.write"
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class RecommendationIn(Schema):
    msisdn: str = Field(min_length=1, max_length=20, description="The subscriber's number")
    product_code: str = Field(min_length=1, max_length=30)


class RecommendationOut(Schema):
    number: str
    msisdn: str
    product_code: str
    product_name: str
    status: str
    source: str
    recommended_at: datetime
    confirm_by: datetime = Field(description="The subscriber's reply is accepted until then")
    confirmed_at: datetime | None
    billing_order_id: str
    billing_message: str
    promoter_work_id: str | None
    promoter_name: str
    channel_code: str | None
    city: str = Field(description="Code of the promoter's city")


class RecommendationFilters(Schema):
    month: str | None = Field(None, pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")
    status: Recommendation.Status | None = None
    product: str | None = Field(None, description="Product code")
    city: str | None = Field(None, description="Org unit code (its subtree)")
    channel: str | None = Field(None, description="Channel code")
    promoter: str | None = Field(None, description="Promoter work ID or part of the name")
    msisdn: str | None = Field(None, description="Subscriber number prefix")
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=500)


class SmsInboundIn(Schema):
    sender: str = Field(alias="from", min_length=1, max_length=32)
    text: str = Field(max_length=500)
    received_at: datetime | None = Field(
        None, description="When the gateway received it (ISO 8601; local time if naive)"
    )


class SmsInboundOut(Schema):
    result: str = Field(description="confirmed, declined or ignored")
    reason: str = ""
    reference: str = Field("", description="The recommendation concerned, if any")


def _out(recommendation: Recommendation) -> dict:
    return {
        "number": recommendation.number,
        "msisdn": recommendation.msisdn,
        "product_code": recommendation.product.code,
        "product_name": recommendation.product.name,
        "status": recommendation.status,
        "source": recommendation.source,
        "recommended_at": recommendation.recommended_at,
        "confirm_by": recommendation_confirm_deadline(recommendation),
        "confirmed_at": recommendation.confirmed_at,
        "billing_order_id": recommendation.billing_order_id,
        "billing_message": recommendation.billing_message,
        "promoter_work_id": recommendation.promoter.work_id,
        "promoter_name": recommendation.promoter.name,
        "channel_code": recommendation.channel.code if recommendation.channel else None,
        "city": recommendation.org.code,
    }


def _require_reader(request: HttpRequest) -> None:
    """Staff with ``view_recommendation`` or an active promoter (own records)."""
    if recommendation_may_list(request.user):
        require_permission(request, "incentives.view_recommendation", scope=READ_SCOPE)
        return
    require_permission(request, "incentives.record_recommendation", scope=READ_SCOPE)
    if promoter_of_user(user=request.user) is None:
        raise ApplicationError(
            "not_a_promoter", _("Only an active promoter can do this."), status=403
        )


def _filters(values: RecommendationFilters) -> dict:
    filters = {
        "status": values.status,
        "promoter": values.promoter,
        "msisdn": values.msisdn,
        "product_code": values.product,
        "city_code": values.city,
        "channel_code": values.channel,
    }
    if values.month:
        try:
            filters["month"] = date.fromisoformat(f"{values.month}-01")
        except ValueError as exc:
            raise ApplicationError("month_invalid", _("Give the month as YYYY-MM.")) from exc
    return filters


@router.post(
    "/recommendations",
    response={201: RecommendationOut, **ERRORS},
    summary="Record a recommendation (the subscriber confirms by SMS)",
)
def recommendation_create(request, payload: RecommendationIn):
    require_permission(request, "incentives.record_recommendation", scope=WRITE_SCOPE)
    promoter = promoter_of_user(user=request.user)
    if promoter is None:
        raise ApplicationError(
            "not_a_promoter", _("Only an active promoter can do this."), status=403
        )
    recommendation = recommendation_record(
        actor=request.user,
        promoter=promoter,
        msisdn=payload.msisdn,
        product_code=payload.product_code,
        source=Recommendation.Source.API,
    )
    return Status(201, _out(recommendation_get(user=request.user, number=recommendation.number)))


@router.get(
    "/recommendations",
    response={200: list[RecommendationOut], **ERRORS},
    summary="Recommendations (a promoter's own; staff: their subtree)",
)
def recommendation_list(request, response: HttpResponse, filters: Query[RecommendationFilters]):
    _require_reader(request)
    recommendations = recommendations_filtered(user=request.user, filters=_filters(filters))
    page = paginate(recommendations, response=response, offset=filters.offset, limit=filters.limit)
    return [_out(recommendation) for recommendation in page]


@router.get(
    "/recommendations/{number}",
    response={200: RecommendationOut, **ERRORS},
    summary="One recommendation",
)
def recommendation_detail(request, number: str):
    _require_reader(request)
    return _out(recommendation_get(user=request.user, number=number))


class SmsGatewayToken(APIKeyHeader):
    """The SMS gateway's shared secret, compared in constant time."""

    param_name = "X-PRM-SMS-Token"

    def authenticate(self, request: HttpRequest, key: str | None):
        expected = settings.PRM_SMS_INBOUND_TOKEN or ""
        if not expected or not hmac.compare_digest(
            (key or "").encode("utf-8"), expected.encode("utf-8")
        ):
            raise ApplicationError(
                "sms_token_invalid", _("The SMS gateway token is missing or wrong."), status=403
            )
        return "sms-gateway"


@router.post(
    "/sms/inbound",
    auth=SmsGatewayToken(),
    response={200: SmsInboundOut, 403: ErrorOut, 422: ErrorOut},
    summary="A subscriber's SMS reply, forwarded by the SMS gateway",
)
def sms_inbound(request, payload: SmsInboundIn):
    received_at = payload.received_at
    if received_at is not None and timezone.is_naive(received_at):
        received_at = timezone.make_aware(received_at, timezone.get_default_timezone())
    outcome = sms_inbound_handle(sender=payload.sender, text=payload.text, received_at=received_at)
    return {"result": outcome.result, "reason": outcome.reason, "reference": outcome.number}
