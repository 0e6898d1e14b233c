"""The call-centre assist (R4 呼叫中心辅助): for a calling subscriber, what they have, their
account state and the products an agent may recommend, ranked from their usage.

What the agent sees for a number (``assist_lookup``):

- **known**: the number is in the subscribers snapshot of the latest imported billing
  month (``subscriber_profile``); its status, arrears flag, the products billed in that
  month (**subscribed products**) and its voice calls over the last three imported
  months;
- **refused**: each product open for recommendation that the number may not be
  recommended, with the reason — the recommendation entry rule
  (``recommendation_refusal``: same product billed in the 3 months before this month,
  or already recommended since); a number **in arrears**, **suspended** or **closed**
  gets no recommendation at all (every product is refused with that reason);
- **recommendable**: the other products open for recommendation that the number does
  not have, ranked by this rule (also shown on the page):

  1. the number's usage is its average voice calls per month over the last three
     imported months (a month without a usage row counts 0 calls);
  2. **voice-heavy** (average ≥ ``VOICE_HEAVY_CALLS`` = 60 calls a month): own-business
     products first, then SP businesses (e.g. CRBT, heard by callers), then fixed line /
     broadband, then data packages;
  3. **low voice** (average < 60): data packages first, then fixed line / broadband,
     then SP businesses, then own-business products;
  4. a number not in the store has no usage: every product scores the same;
  5. the score is 3, 2, 1, 0 by that order of product types; ties go to the higher
     rebate, then to the product code.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from prm.core.exceptions import Forbidden
from prm.incentives.models import Product
from prm.incentives.numbers import operator_msisdn_clean
from prm.incentives.selectors_billing import subscriber_profile
from prm.incentives.selectors_recommendations import (
    recommendation_products,
    recommendation_refusal,
)

VOICE_HEAVY_CALLS = Decimal("60")
KIND_ORDER_VOICE_HEAVY = (
    Product.Kind.OWN_BUSINESS,
    Product.Kind.SP_BUSINESS,
    Product.Kind.BROADBAND,
    Product.Kind.DATA_PACKAGE,
)
KIND_ORDER_LOW_VOICE = (
    Product.Kind.DATA_PACKAGE,
    Product.Kind.BROADBAND,
    Product.Kind.SP_BUSINESS,
    Product.Kind.OWN_BUSINESS,
)


def assist_may_use(user) -> bool:
    """Operator staff with ``incentives.use_assist`` (call-centre agents)."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and not user.is_partner_user
        and user.has_perm("incentives.use_assist")
    )


def _money(value) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(Decimal("0.01"))


def assist_rank(*, products: list, avg_voice_calls: Decimal | None) -> list[dict]:
    """Rank candidate products (each with ``code``, ``name``, ``kind``, ``monthly_fee``
    and ``current_rebate``) for a number's usage (None: unknown). See the module doc."""
    if avg_voice_calls is None:
        order: tuple = ()
    elif avg_voice_calls >= VOICE_HEAVY_CALLS:
        order = KIND_ORDER_VOICE_HEAVY
    else:
        order = KIND_ORDER_LOW_VOICE
    ranked = []
    for product in products:
        rebate = _money(getattr(product, "current_rebate", None))
        if not order:
            score = 0
            why = _("No usage known for this number: ranked by rebate.")
        else:
            position = order.index(product.kind)
            score = len(order) - 1 - position
            values = {
                "calls": avg_voice_calls,
                "limit": VOICE_HEAVY_CALLS,
                "kind": Product.Kind(product.kind).label,
                "rank": position + 1,
                "of": len(order),
            }
            if order is KIND_ORDER_VOICE_HEAVY:
                why = (
                    _(
                        "Voice-heavy (%(calls)s calls a month on average, at least "
                        "%(limit)s): %(kind)s ranks %(rank)s of %(of)s."
                    )
                    % values
                )
            else:
                why = (
                    _(
                        "Low voice use (%(calls)s calls a month on average, below "
                        "%(limit)s): %(kind)s ranks %(rank)s of %(of)s."
                    )
                    % values
                )
        ranked.append(
            {
                "product_code": product.code,
                "name": product.name,
                "kind": product.kind,
                "monthly_fee": _money(product.monthly_fee),
                "rebate": rebate,
                "score": score,
                "why": why,
            }
        )
    ranked.sort(key=lambda item: (-item["score"], -(item["rebate"] or 0), item["product_code"]))
    return ranked


def assist_subscriber_refusal(profile: dict | None) -> str | None:
    """Why a number gets no recommendation at all (arrears, suspended, closed), or None."""
    if profile is None:
        return None
    if profile["in_arrears"]:
        return _("The subscriber is in arrears: no product may be recommended until paid.")
    if profile["status"] == "closed":
        return _("The number is closed: no product may be recommended.")
    if profile["status"] == "suspended":
        return _("The number is suspended: no product may be recommended.")
    return None


def assist_product_refusal(
    *, msisdn: str, product: Product, profile: dict | None, at, entry_rule: bool = True
) -> str | None:
    """Why ``product`` may not be recommended to the number now, or None: the number's
    own state, a product it already has, and (unless ``entry_rule`` is false, when the
    caller's service applies it itself) the recommendation entry rule."""
    blocked = assist_subscriber_refusal(profile)
    if blocked is not None:
        return blocked
    if not product.is_active:
        return _("The product %(product)s is not open for recommendation.") % {
            "product": product.name
        }
    if profile is not None and product.code in {
        item["product_code"] for item in profile["billed_products"]
    }:
        return _("The subscriber already has %(product)s.") % {"product": product.name}
    if not entry_rule:
        return None
    return recommendation_refusal(msisdn=msisdn, product=product, at=at)


def assist_lookup(*, user, msisdn: str) -> dict:
    """What the assist shows for a number (see the module doc). Refused: a user who may
    not use the assist (403); a malformed number or another operator's (400,
    ``msisdn_invalid`` / ``msisdn_other_operator``)."""
    if not assist_may_use(user):
        raise Forbidden()
    msisdn = operator_msisdn_clean(msisdn)
    profile = subscriber_profile(msisdn=msisdn)
    at = timezone.now()
    offered = list(recommendation_products())
    subscribed_codes = [item["product_code"] for item in (profile or {}).get("billed_products", [])]
    names = dict(Product.objects.filter(code__in=subscribed_codes).values_list("code", "name"))
    blocked = assist_subscriber_refusal(profile)
    refused: list[dict] = []
    candidates = []
    for product in offered:
        if product.code in subscribed_codes:
            continue
        reason = blocked or assist_product_refusal(
            msisdn=msisdn, product=product, profile=profile, at=at
        )
        if reason is not None:
            refused.append({"product_code": product.code, "name": product.name, "reason": reason})
        else:
            candidates.append(product)
    return {
        "msisdn": msisdn,
        "known": profile is not None,
        "status": profile["status"] if profile else None,
        "in_arrears": profile["in_arrears"] if profile else None,
        "activated_on": profile["activated_on"] if profile else None,
        "month": profile["month"] if profile else None,
        "voice_calls": profile["voice_calls"] if profile else [],
        "avg_voice_calls": profile["avg_voice_calls"] if profile else None,
        "notice": blocked,
        "subscribed_products": [
            {"product_code": item["product_code"], "name": names.get(item["product_code"], "")}
            for item in (profile or {}).get("billed_products", [])
        ],
        "recommendable": assist_rank(
            products=candidates, avg_voice_calls=profile["avg_voice_calls"] if profile else None
        ),
        "refused": refused,
    }
