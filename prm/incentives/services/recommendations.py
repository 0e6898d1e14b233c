"""Writes of recommendations (R4 推荐): a promoter records a subscriber's number and a
product, the subscriber confirms or declines by replying to an SMS, and a confirmed
recommendation is handed to the billing system for opening.

    recommendation_record ──▶ awaiting_confirmation ──(SMS "Y 1234")──▶ confirmed
                                      │                                    │ on commit
                                      └──(SMS "N 1234")──▶ declined        ▼
                                                       ordered ◀── billing order_open
                                                                    └─▶ open_failed (retried)
"""

from __future__ import annotations

import logging
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from prm.core.audit import audit_event_create
from prm.core.calendar import business_date
from prm.core.exceptions import ApplicationError
from prm.core.notifications import notify_number
from prm.core.numbering import document_number_next
from prm.core.scoping import path_in_scope
from prm.core.validators import msisdn_is_well_formed, msisdn_normalise
from prm.incentives.adapters.billing import BillingError, billing_gateway
from prm.incentives.constants import EVENT_CONFIRMATION_SMS
from prm.incentives.models import Product, Promoter, Recommendation
from prm.incentives.numbers import operator_msisdn_clean
from prm.incentives.selectors_recommendations import (
    EntryRefusal,
    entry_refusal_of_billing,
    entry_refusal_of_product,
    entry_refusal_of_records,
    recommendation_confirm_deadline,
)

logger = logging.getLogger(__name__)

NUMBER_PREFIX = "REC"
# An order that billing refused is retried by the hourly task for this long after the
# confirmation; a confirmed one whose hand-over never ran (the process stopped right after
# the commit) is picked up after the grace period.
ORDER_RETRY_DAYS = 7
ORDER_HANDOVER_GRACE = timedelta(minutes=10)
SMS_ACTOR = "sms-gateway"
BILLING_ACTOR = "billing"


def _confirmation_code() -> str:
    return f"{secrets.randbelow(10_000):04d}"


def _check_actor(*, actor, promoter: Promoter, source: str) -> None:
    """A promoter records only as themselves (web form, API); a call-centre seat records
    through the assist for a promoter of its subtree. Anyone else: 403, nothing written."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise ApplicationError("forbidden", _("You do not have permission to do this."), status=403)
    if source == Recommendation.Source.ASSIST:
        allowed = actor.has_perm("incentives.use_assist") and path_in_scope(
            user=actor, path=promoter.org.path
        )
    else:
        allowed = (
            actor.has_perm("incentives.record_recommendation")
            and promoter.user_id is not None
            and promoter.user_id == actor.pk
        )
    if not allowed:
        raise ApplicationError(
            "not_own_promoter",
            _("You can only record recommendations as yourself."),
            status=403,
        )


def _check_active(promoter: Promoter) -> None:
    if promoter.status != Promoter.Status.ACTIVE:
        raise ApplicationError(
            "promoter_inactive",
            _("Only an active promoter can record recommendations."),
            status=403,
        )


def _refuse_if(refusal: EntryRefusal | None) -> None:
    if refusal is not None:
        raise ApplicationError(
            refusal.code,
            refusal.message,
            details={"field": refusal.field} if refusal.field else None,
            status=409 if refusal.code.startswith("already_") else 400,
        )


def recommendation_record(
    *,
    actor,
    promoter: Promoter,
    msisdn: str,
    product_code: str,
    source: str,
    seat_work_id: str = "",
    at: datetime | None = None,
) -> Recommendation:
    """Record that ``promoter`` recommended the product ``product_code`` to the subscriber
    ``msisdn`` and ask the subscriber to confirm by SMS (R4 recommendation).

    Refused, with nothing written and no SMS: the actor is not the promoter's own login
    (or, for ``source="assist"``, not a call-centre user of the promoter's subtree); the
    promoter is not active; the number is malformed or not the operator's; the product is
    unknown or not open for recommendation; the number had the product in the 3 calendar
    months before the month of development, or was recommended it (by anyone) since the
    first day of the third month before (``recommendation_entry_refusal``).

    The record starts ``awaiting_confirmation`` with a random 4-digit code; the SMS leaves
    after the commit.
    """
    if source not in Recommendation.Source.values:
        raise ApplicationError("source_invalid", _("Unknown recommendation source."))
    _check_actor(actor=actor, promoter=promoter, source=source)
    _check_active(promoter)
    try:
        msisdn = operator_msisdn_clean(msisdn)
    except ApplicationError as error:
        raise ApplicationError(
            error.code, error.message, details={"field": "msisdn"}, status=error.status
        ) from error
    product_code = (product_code or "").strip()
    seat_work_id = (seat_work_id or "").strip()
    if len(seat_work_id) > 20:
        raise ApplicationError("seat_work_id_invalid", _("The seat work ID is too long."))
    at = at or timezone.now()
    product = Product.objects.filter(code=product_code).first()
    if product is None:
        raise ApplicationError(
            "product_unknown",
            _("There is no product with the code “%(code)s”.") % {"code": product_code},
            details={"field": "product_code"},
        )
    # The billing store is read before the transaction: it does not change with our
    # writes, and the locks below are then held only for the database checks.
    _refuse_if(entry_refusal_of_product(product=product))
    _refuse_if(entry_refusal_of_billing(msisdn=msisdn, product=product, at=at))

    with transaction.atomic():
        # The promoter and product rows are locked so that two recordings of the same
        # number and product cannot both pass the duplicate check.
        promoter = Promoter.objects.select_for_update(of=("self",)).get(pk=promoter.pk)
        _check_active(promoter)
        product = Product.objects.select_for_update(of=("self",)).get(pk=product.pk)
        _refuse_if(entry_refusal_of_product(product=product))
        _refuse_if(entry_refusal_of_records(msisdn=msisdn, product=product, at=at))
        recommendation = Recommendation.objects.create(
            number=document_number_next(
                model=Recommendation, prefix=NUMBER_PREFIX, on=business_date(at)
            ),
            promoter=promoter,
            channel_id=promoter.channel_id,
            org_id=promoter.org_id,
            msisdn=msisdn,
            product=product,
            recommended_at=at,
            confirmation_code=_confirmation_code(),
            status=Recommendation.Status.AWAITING_CONFIRMATION,
            source=source,
            seat_work_id=seat_work_id,
        )
        audit_event_create(
            actor=actor,
            action="recommendation.recorded",
            target=recommendation,
            changes={
                "promoter": promoter.work_id or str(promoter.pk),
                "msisdn": msisdn,
                "product": product.code,
                "source": source,
                "seat_work_id": seat_work_id,
            },
        )
        # The code is sent but not stored in the SMS log (staff read that log).
        notify_number(
            number=msisdn,
            event=EVENT_CONFIRMATION_SMS,
            context={
                "promoter": promoter.name,
                "product": product.name,
                "fee": Decimal(product.monthly_fee).quantize(Decimal("0.01")),
                "code": recommendation.confirmation_code,
            },
            redact=("code",),
        )
    return recommendation


# Subscriber replies ---------------------------------------------------------------------------

_REPLY_RE = re.compile(
    r"^\s*(?P<answer>Y|YES|是|确认|N|NO|否)\s*[#:,.\-]?\s*(?P<code>\d{4})\s*[.!。！]?\s*$",
    re.IGNORECASE,
)
_YES = {"Y", "YES", "是", "确认"}


@dataclass(frozen=True)
class SmsInboundResult:
    """What became of one inbound SMS: ``confirmed``, ``declined`` or ``ignored`` (with a
    stable ``reason`` code); ``number`` is the recommendation concerned, if any."""

    result: str
    reason: str = ""
    number: str = ""


def sms_reply_parse(text: str) -> tuple[bool, str] | None:
    """``(confirms, code)`` of a reply such as ``Y 1234``, ``n1234`` or ``确认 1234``
    (full-width characters accepted), else ``None``."""
    match = _REPLY_RE.match(unicodedata.normalize("NFKC", text or ""))
    if match is None:
        return None
    return match["answer"].upper() in _YES, match["code"]


def sms_inbound_handle(
    *, sender: str, text: str, received_at: datetime | None = None
) -> SmsInboundResult:
    """Apply a subscriber's reply to the confirmation SMS (R4: the subscriber confirms).

    ``Y <code>`` (also ``是``/``确认``) confirms and ``N <code>`` (``否``) declines the
    newest recommendation of the sender's number that awaits a reply with that code,
    provided the reply came within ``PRM_RECOMMENDATION_CONFIRM_HOURS`` of the
    recommendation. Anything else is ignored, changes nothing and says why; the gateway
    is answered normally so that it does not retry. A confirmed recommendation goes to
    billing after the commit. A reception time later than now is taken as now (the
    gateway's clock is not trusted to confirm in the future).
    """
    now = timezone.now()
    received_at = min(received_at or now, now)
    sender = msisdn_normalise(sender)
    if not msisdn_is_well_formed(sender):
        return SmsInboundResult("ignored", "sender_invalid")
    parsed = sms_reply_parse(text)
    if parsed is None:
        return SmsInboundResult("ignored", "not_a_reply")
    confirms, code = parsed
    with transaction.atomic():
        recommendation = (
            Recommendation.objects.select_for_update(of=("self",))
            .filter(
                msisdn=sender,
                confirmation_code=code,
                status=Recommendation.Status.AWAITING_CONFIRMATION,
            )
            .order_by("-recommended_at", "-id")
            .first()
        )
        if recommendation is None:
            answered = Recommendation.objects.filter(msisdn=sender, confirmation_code=code)
            reason = "already_answered" if answered.exists() else "unknown_code"
            return SmsInboundResult("ignored", reason)
        if received_at < recommendation.recommended_at:
            return SmsInboundResult("ignored", "before_recommendation", recommendation.number)
        if received_at > recommendation_confirm_deadline(recommendation):
            return SmsInboundResult("ignored", "expired", recommendation.number)
        new_status = Recommendation.Status.CONFIRMED if confirms else Recommendation.Status.DECLINED
        old = recommendation.transition_to(new_status)
        fields = ["status", "updated_at"]
        changes = {"status": [old, new_status]}
        if confirms:
            recommendation.confirmed_at = received_at
            fields.append("confirmed_at")
            changes["confirmed_at"] = [None, received_at]
        recommendation.save(update_fields=fields)
        audit_event_create(
            actor=None,
            actor_username=SMS_ACTOR,
            org_path=recommendation.org.path,
            action="recommendation.confirmed" if confirms else "recommendation.declined",
            target=recommendation,
            changes=changes,
        )
        if confirms:
            transaction.on_commit(
                partial(recommendation_order_send, recommendation_id=recommendation.pk),
                robust=True,
            )
    return SmsInboundResult(new_status, "", recommendation.number)


# Hand-over to billing ----------------------------------------------------------------------

_ORDERABLE = (Recommendation.Status.CONFIRMED, Recommendation.Status.OPEN_FAILED)


def recommendation_order_send(*, recommendation_id: int) -> Recommendation:
    """Ask billing to open the product of a confirmed recommendation (R4: the order goes
    to billing for opening) and record the outcome: ``ordered`` with the billing order id,
    or ``open_failed`` with billing's message (retried by ``recommendation_orders_retry``).

    Runs outside any transaction (the gateway may wait on the network). A recommendation
    that is not confirmed or failed is left alone. The recommendation number is the
    order's reference, which billing uses to recognise an order handed over twice.
    """
    recommendation = Recommendation.objects.select_related("product").get(pk=recommendation_id)
    if recommendation.status not in _ORDERABLE:
        return recommendation
    try:
        order_id = billing_gateway().order_open(
            msisdn=recommendation.msisdn,
            product_code=recommendation.product.code,
            reference=recommendation.number,
        )
    except BillingError as exc:
        logger.warning("Billing refused order %s: %s", recommendation.number, exc)
        order_id, message = "", str(exc)[:300] or "billing refused the order"
    else:
        message = ""
    with transaction.atomic():
        recommendation = (
            Recommendation.objects.select_for_update(of=("self",))
            .select_related("org")
            .get(pk=recommendation_id)
        )
        if recommendation.status not in _ORDERABLE:
            return recommendation  # another attempt finished first
        new_status = (
            Recommendation.Status.ORDERED if order_id else Recommendation.Status.OPEN_FAILED
        )
        old = recommendation.transition_to(new_status)
        recommendation.billing_order_id = order_id[:40]
        recommendation.billing_message = message
        recommendation.save(
            update_fields=["status", "billing_order_id", "billing_message", "updated_at"]
        )
        audit_event_create(
            actor=None,
            actor_username=BILLING_ACTOR,
            org_path=recommendation.org.path,
            action=("recommendation.ordered" if order_id else "recommendation.open_failed"),
            target=recommendation,
            changes={
                "status": [old, new_status],
                "billing_order_id": order_id,
                "billing_message": message,
            },
        )
    return recommendation


def recommendation_orders_retry(*, now: datetime | None = None) -> dict[str, int]:
    """Hand over again the orders billing refused (confirmed within the last
    ``ORDER_RETRY_DAYS``) and the confirmed ones whose hand-over never ran. Returns how
    many were tried, ordered and still failing."""
    now = now or timezone.now()
    pending = list(
        Recommendation.objects.filter(
            Q(
                status=Recommendation.Status.OPEN_FAILED,
                confirmed_at__gte=now - timedelta(days=ORDER_RETRY_DAYS),
            )
            | Q(
                status=Recommendation.Status.CONFIRMED,
                updated_at__lte=now - ORDER_HANDOVER_GRACE,
            )
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    outcome = {"tried": 0, "ordered": 0, "failed": 0}
    for recommendation_id in pending:
        outcome["tried"] += 1
        recommendation = recommendation_order_send(recommendation_id=recommendation_id)
        if recommendation.status == Recommendation.Status.ORDERED:
            outcome["ordered"] += 1
        elif recommendation.status == Recommendation.Status.OPEN_FAILED:
            outcome["failed"] += 1
    return outcome
