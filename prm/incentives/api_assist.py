"""API: the call-centre assist (/api/v1/incentives/assist/…), R4.

For a calling subscriber's number: the account state, subscribed products, and the
products the agent may recommend ranked from the number's usage, with those refused and
why (the rule: ``prm.incentives.selectors_assist``). The agent can send a recommendation
SMS and record the recommendation (the subscriber confirms by SMS). Needs
``incentives.use_assist`` (token scopes ``incentives.read`` / ``incentives.write``);
recording also needs the agent's own call-centre promoter record. A malformed number is
400 ``msisdn_invalid``; a number in another operator's segment 400
``msisdn_other_operator``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from ninja import Field, Router, Schema, Status

from prm.api import ErrorOut, require_permission
from prm.incentives.selectors_assist import assist_lookup
from prm.incentives.services.assist import assist_recommend, assist_sms_send

router = Router()

READ_SCOPE = "incentives.read"
WRITE_SCOPE = "incentives.write"
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class ProductRefOut(Schema):
    product_code: str
    name: str


class RecommendableOut(Schema):
    product_code: str
    name: str
    kind: str
    monthly_fee: Decimal
    rebate: Decimal | None = Field(description="Rebate per subscriber in force today")
    score: int = Field(description="3 = best fit for the number's usage … 0")
    why: str


class RefusedOut(Schema):
    product_code: str
    name: str
    reason: str


class VoiceCallsOut(Schema):
    month: date
    voice_calls: int


class AssistOut(Schema):
    msisdn: str
    known: bool = Field(description="In the subscribers snapshot of the latest billing month")
    status: str | None
    in_arrears: bool | None
    activated_on: date | None
    month: date | None = Field(description="The billing month the profile comes from")
    voice_calls: list[VoiceCallsOut]
    avg_voice_calls: Decimal | None
    notice: str | None = Field(description="Why the number gets no recommendation at all")
    subscribed_products: list[ProductRefOut]
    recommendable: list[RecommendableOut]
    refused: list[RefusedOut]


class ProductIn(Schema):
    product_code: str = Field(min_length=1, max_length=30)


class SmsOut(Schema):
    msisdn: str
    product_code: str
    status: str = Field(description="queued, sent or failed")


class RecommendationOut(Schema):
    number: str
    msisdn: str
    product_code: str
    status: str
    source: str
    seat_work_id: str
    recommended_at: datetime


@router.get(
    "/assist/{msisdn}",
    response={200: AssistOut, **ERRORS},
    summary="A calling subscriber: state, products, recommendable products",
)
def assist_detail(request, msisdn: str):
    require_permission(request, "incentives.use_assist", scope=READ_SCOPE)
    return assist_lookup(user=request.user, msisdn=msisdn)


@router.post(
    "/assist/{msisdn}/sms",
    response={202: SmsOut, **ERRORS},
    summary="Send the subscriber a recommendation SMS",
)
def assist_sms(request, msisdn: str, payload: ProductIn):
    require_permission(request, "incentives.use_assist", scope=WRITE_SCOPE)
    message = assist_sms_send(actor=request.user, msisdn=msisdn, product_code=payload.product_code)
    message.refresh_from_db()
    return Status(
        202,
        {"msisdn": message.number, "product_code": payload.product_code, "status": message.status},
    )


@router.post(
    "/assist/{msisdn}/recommend",
    response={201: RecommendationOut, **ERRORS},
    summary="Record the recommendation (the subscriber confirms by SMS)",
)
def assist_recommend_view(request, msisdn: str, payload: ProductIn):
    require_permission(request, "incentives.use_assist", scope=WRITE_SCOPE)
    recommendation = assist_recommend(
        actor=request.user, msisdn=msisdn, product_code=payload.product_code
    )
    return Status(
        201,
        {
            "number": recommendation.number,
            "msisdn": recommendation.msisdn,
            "product_code": recommendation.product.code,
            "status": recommendation.status,
            "source": recommendation.source,
            "seat_work_id": recommendation.seat_work_id,
            "recommended_at": recommendation.recommended_at,
        },
    )
