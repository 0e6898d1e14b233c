"""Actions of the call-centre assist (R4 呼叫中心辅助): send a calling subscriber a
recommendation SMS, and record the recommendation (the subscriber then confirms by SMS
and the order goes to billing — ``services/recommendations.py``).

The agent must be allowed to use the assist (``incentives.use_assist``). Recording also
needs the agent's own promoter record: an active call-centre agent promoter linked to
the agent's login; the recommendation is the agent's, with the agent's work ID as the
recording seat. A product the number may not be recommended (``assist_product_refusal``:
arrears, suspended or closed number, a product it has, the entry rule) is refused with
the reason and nothing is sent or written.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prm.core.audit import audit_event_create
from prm.core.exceptions import ApplicationError, Forbidden
from prm.core.models import SmsMessage
from prm.core.notifications import notify_number
from prm.incentives.constants import EVENT_RECOMMENDATION_SMS
from prm.incentives.models import Product, Promoter, Recommendation
from prm.incentives.numbers import operator_msisdn_clean
from prm.incentives.selectors import promoter_of_user
from prm.incentives.selectors_assist import assist_may_use, assist_product_refusal
from prm.incentives.selectors_billing import subscriber_profile
from prm.incentives.services.recommendations import recommendation_record


def _product(product_code: str) -> Product:
    code = (product_code or "").strip()
    product = Product.objects.filter(code=code).first()
    if product is None:
        raise ApplicationError(
            "product_unknown",
            _("There is no product with the code “%(code)s”.") % {"code": code},
            details={"field": "product_code"},
        )
    return product


def _refuse_if_not_recommendable(*, msisdn: str, product: Product, entry_rule: bool) -> None:
    profile = subscriber_profile(msisdn=msisdn)
    reason = assist_product_refusal(
        msisdn=msisdn, product=product, profile=profile, at=timezone.now(), entry_rule=entry_rule
    )
    if reason is not None:
        raise ApplicationError(
            "product_not_recommendable", reason, details={"field": "product_code"}
        )


def assist_sms_send(*, actor, msisdn: str, product_code: str) -> SmsMessage:
    """Send the subscriber an SMS recommending the product (after the commit)."""
    if not assist_may_use(actor):
        raise Forbidden()
    msisdn = operator_msisdn_clean(msisdn)
    product = _product(product_code)
    _refuse_if_not_recommendable(msisdn=msisdn, product=product, entry_rule=True)
    with transaction.atomic():
        message = notify_number(
            number=msisdn,
            event=EVENT_RECOMMENDATION_SMS,
            context={
                "product": product.name,
                "fee": Decimal(product.monthly_fee).quantize(Decimal("0.01")),
            },
        )
        audit_event_create(
            actor=actor,
            action="assist.recommendation_sms_sent",
            target=message,
            changes={"msisdn": msisdn, "product": product.code},
        )
    return message


def assist_agent_promoter(*, user) -> Promoter:
    """The agent's own call-centre promoter record, or a refusal (403)."""
    promoter = promoter_of_user(user=user)
    if promoter is None or promoter.kind != Promoter.Kind.CALL_CENTRE_AGENT:
        raise ApplicationError(
            "assist_no_agent_record",
            _(
                "Your login is not linked to an active call-centre agent record, so "
                "recommendations cannot be recorded for you. Ask your channel manager."
            ),
            status=403,
        )
    return promoter


def assist_recommend(*, actor, msisdn: str, product_code: str) -> Recommendation:
    """Record that the agent recommended the product to the calling subscriber; the
    recommendation service asks the subscriber to confirm by SMS."""
    if not assist_may_use(actor):
        raise Forbidden()
    promoter = assist_agent_promoter(user=actor)
    msisdn = operator_msisdn_clean(msisdn)
    product = _product(product_code)
    # The entry rule is the recording service's own check (with its own error codes).
    _refuse_if_not_recommendable(msisdn=msisdn, product=product, entry_rule=False)
    return recommendation_record(
        actor=actor,
        promoter=promoter,
        msisdn=msisdn,
        product_code=product.code,
        source=Recommendation.Source.ASSIST,
        seat_work_id=promoter.work_id or "",
    )
