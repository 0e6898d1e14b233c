"""Reads of recommendations (R4 推荐/发展记录): the entry rule, the promoter's own list,
the staff list and detail, the product choices of the recommendation form.

Staff see the recommendations of their org subtree (``recommendations_visible``); a
promoter sees only their own (``promoter_of_user``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from prm.accounts.models import OrgUnit
from prm.core.calendar import business_date
from prm.core.exceptions import NotFound
from prm.core.scoping import scope_by_path
from prm.incentives.models import Channel, Product, RebateVersion, Recommendation
from prm.incentives.selectors import (
    channels_visible,
    promoter_of_user,
    recommendations_visible,
)

# R4: a number that had the product in the 3 calendar months before the month of
# development cannot be recorded again; nor can one recommended since then.
ENTRY_LOOKBACK_MONTHS = 3

_RELATED = ("promoter", "product", "channel", "org")


# The calendar of the entry rule ------------------------------------------------------------


def month_first(day: date) -> date:
    return day.replace(day=1)


def month_shift(month: date, months: int) -> date:
    """The first day of the month ``months`` calendar months after ``month`` (negative:
    before)."""
    index = month.year * 12 + (month.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def month_start_at(month: date) -> datetime:
    """The first moment of ``month`` in the business time zone."""
    return timezone.make_aware(
        datetime(month.year, month.month, 1), timezone.get_default_timezone()
    )


def entry_months_before(at: datetime) -> list[date]:
    """The calendar months m−3, m−2, m−1 before the month m of ``at`` (first days)."""
    month = month_first(business_date(at))
    return [month_shift(month, -n) for n in range(ENTRY_LOOKBACK_MONTHS, 0, -1)]


@dataclass(frozen=True)
class EntryRefusal:
    code: str
    message: str
    field: str = ""


def entry_refusal_of_product(*, product: Product) -> EntryRefusal | None:
    """The product is not open for recommendation."""
    if product.is_active:
        return None
    return EntryRefusal(
        "product_inactive",
        _("The product %(product)s is not open for recommendation.") % {"product": product.name},
        "product_code",
    )


def entry_refusal_of_billing(*, msisdn: str, product: Product, at: datetime) -> EntryRefusal | None:
    """The number was billed (> 0) for the product in any of the 3 calendar months before
    the month of ``at`` (the billing extracts imported into the store)."""
    months = entry_months_before(at)
    # Imported lazily: the billing store's reader lives with the billing concern.
    from prm.incentives.selectors_billing import billing_had_product

    if not billing_had_product(msisdn=msisdn, product_code=product.code, months=months):
        return None
    return EntryRefusal(
        "already_had_product",
        _(
            "The number %(number)s already had %(product)s in the three months before "
            "this month (%(first)s to %(last)s), so it cannot be recommended again."
        )
        % {
            "number": msisdn,
            "product": product.name,
            "first": months[0].strftime("%Y-%m"),
            "last": months[-1].strftime("%Y-%m"),
        },
        "msisdn",
    )


def entry_refusal_of_records(*, msisdn: str, product: Product, at: datetime) -> EntryRefusal | None:
    """A recommendation of the same number and product exists since the first day of the
    third month before the month of ``at`` — any promoter, any city, any status (ADR 0014:
    the settlement's duplicate rule counts every earlier record whatever its verdict)."""
    first = entry_months_before(at)[0]
    if not Recommendation.objects.filter(
        msisdn=msisdn, product=product, recommended_at__gte=month_start_at(first)
    ).exists():
        return None
    # Another promoter's record is not shown to this one: only that it exists.
    return EntryRefusal(
        "already_recommended",
        _(
            "The number %(number)s was already recommended %(product)s since %(since)s "
            "(by you or another promoter), so it cannot be recommended again."
        )
        % {"number": msisdn, "product": product.name, "since": first.isoformat()},
        "msisdn",
    )


def recommendation_entry_refusal(
    *, msisdn: str, product: Product, at: datetime
) -> EntryRefusal | None:
    """Why a recommendation of ``product`` to the (normalised, operator-checked) number
    would be refused at ``at``, or ``None`` (R4 recommendation entry rule): the product is
    not open for recommendation, the number had the product in the 3 calendar months
    before the month of development, or it was recommended the product since then."""
    return (
        entry_refusal_of_product(product=product)
        or entry_refusal_of_billing(msisdn=msisdn, product=product, at=at)
        or entry_refusal_of_records(msisdn=msisdn, product=product, at=at)
    )


def recommendation_refusal(*, msisdn: str, product: Product, at: datetime) -> str | None:
    """The translated reason a recommendation of ``product`` to ``msisdn`` would be
    refused at entry at ``at``, or ``None`` when it would be accepted (the number itself is
    checked by ``operator_msisdn_clean`` first)."""
    refusal = recommendation_entry_refusal(msisdn=msisdn, product=product, at=at)
    return refusal.message if refusal is not None else None


# Products offered to promoters --------------------------------------------------------------


def recommendation_products(*, on: date | None = None) -> QuerySet[Product]:
    """The products open for recommendation, each with ``current_rebate`` (the rebate
    version in force on ``on``, default today; ``None`` when none is)."""
    on = on or business_date()
    rebate = (
        RebateVersion.objects.filter(product=OuterRef("pk"), effective_from__lte=on)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on))
        .order_by("-effective_from")
        .values("rebate")[:1]
    )
    return (
        Product.objects.filter(is_active=True)
        .annotate(current_rebate=Subquery(rebate))
        .order_by("code")
    )


# Lists and details ---------------------------------------------------------------------------


def _filter(recommendations: QuerySet[Recommendation], filters: dict[str, Any]):
    month = filters.get("month")
    if month:
        month = month_first(month)
        recommendations = recommendations.filter(
            recommended_at__gte=month_start_at(month),
            recommended_at__lt=month_start_at(month_shift(month, 1)),
        )
    if filters.get("status"):
        recommendations = recommendations.filter(status=filters["status"])
    if filters.get("product"):
        recommendations = recommendations.filter(product=filters["product"])
    if filters.get("city"):
        recommendations = recommendations.filter(org__path__startswith=filters["city"].path)
    if filters.get("channel"):
        recommendations = recommendations.filter(channel=filters["channel"])
    # The API's filters name rows by their codes.
    if filters.get("product_code"):
        recommendations = recommendations.filter(product__code=filters["product_code"])
    if filters.get("channel_code"):
        recommendations = recommendations.filter(channel__code=filters["channel_code"])
    if filters.get("city_code"):
        path = (
            OrgUnit.objects.filter(code=filters["city_code"]).values_list("path", flat=True).first()
        )
        if path is None:
            return recommendations.none()
        recommendations = recommendations.filter(org__path__startswith=path)
    promoter = (filters.get("promoter") or "").strip()
    if promoter:
        recommendations = recommendations.filter(
            Q(promoter__work_id__iexact=promoter) | Q(promoter__name__icontains=promoter)
        )
    msisdn = (filters.get("msisdn") or "").strip()
    if msisdn:
        recommendations = recommendations.filter(msisdn__startswith=msisdn)
    return recommendations


def recommendations_filtered(*, user, filters: dict[str, Any] | None = None):
    """The recommendations the user may see (staff: subtree; promoter: own), filtered by
    ``month`` (a date in the month), ``status``, ``product``, ``city`` (an org unit: its
    subtree), ``channel`` (or ``product_code``, ``city_code``, ``channel_code``),
    ``promoter`` (work ID or part of the name) and ``msisdn`` (prefix), newest first, with
    the related rows of a list page in the same query."""
    recommendations = recommendations_visible(user=user).select_related(*_RELATED)
    return _filter(recommendations, filters or {}).order_by("-recommended_at", "-id")


def recommendations_own(*, user, filters: dict[str, Any] | None = None):
    """The acting promoter's own recommendations (none for anyone else)."""
    promoter = promoter_of_user(user=user)
    if promoter is None:
        return Recommendation.objects.none()
    recommendations = Recommendation.objects.filter(promoter=promoter).select_related(*_RELATED)
    return _filter(recommendations, filters or {}).order_by("-recommended_at", "-id")


def recommendation_get(*, user, number: str) -> Recommendation:
    """One recommendation the user may see, or ``NotFound`` (also for another promoter's)."""
    recommendation = (
        recommendations_visible(user=user)
        .select_related(*_RELATED, "promoter__user")
        .filter(number=number)
        .first()
    )
    if recommendation is None:
        raise NotFound()
    return recommendation


def recommendation_may_list(user) -> bool:
    """Staff with ``view_recommendation`` (their subtree)."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and user.has_perm("incentives.view_recommendation")
    )


def recommendation_may_record(user) -> bool:
    """An active promoter with a login and ``record_recommendation``."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.has_perm("incentives.record_recommendation")
        and promoter_of_user(user=user) is not None
    )


def recommendation_confirm_deadline(recommendation: Recommendation) -> datetime:
    """The last moment a subscriber's reply is accepted."""
    return recommendation.recommended_at + timedelta(
        hours=settings.PRM_RECOMMENDATION_CONFIRM_HOURS
    )


def recommendation_is_expired(recommendation: Recommendation, *, now: datetime | None = None):
    """Awaiting a reply that can no longer come in time."""
    return recommendation.status == Recommendation.Status.AWAITING_CONFIRMATION and (
        now or timezone.now()
    ) > recommendation_confirm_deadline(recommendation)


# Filter choices of the staff list ---------------------------------------------------------


def recommendation_city_choices(*, user) -> QuerySet[OrgUnit]:
    """The cities in the user's subtree."""
    return scope_by_path(
        OrgUnit.objects.filter(kind="city"), user=user, path_field="path"
    ).order_by("code")


def recommendation_channel_choices(*, user) -> QuerySet[Channel]:
    return channels_visible(user=user).order_by("code")


def recommendation_product_filter_choices() -> QuerySet[Product]:
    """Every product, retired ones too (past records keep them); the catalogue is
    operator-wide."""
    return Product.objects.order_by("code")


def recommendation_fee_label(product: Product) -> str:
    """``<name> · <fee> yuan/month · rebate <rebate> yuan`` for the product select."""
    rebate = getattr(product, "current_rebate", None)
    fee = Decimal(product.monthly_fee).quantize(Decimal("0.01"))
    if rebate is None:
        return _("%(name)s · %(fee)s yuan/month") % {"name": product.name, "fee": fee}
    return _("%(name)s · %(fee)s yuan/month · rebate %(rebate)s yuan") % {
        "name": product.name,
        "fee": fee,
        "rebate": Decimal(rebate).quantize(Decimal("0.01")),
    }
