"""The R4 settlement rules, one record at a time with ORM queries (the naive way).

Written from ``shared/contracts/settlement-files.md`` independently of the engine, so
that the benchmark also cross-checks the engine's verdicts:

- window ``[recommended_at, end)``, ``end`` = recommended_at + 2 calendar months, same
  day of month clamped to the month's last day, time of day kept;
- period = month of the window's last day, the date of ``end - 1 s``;
- reasons in the contract's order; qualified records earn the product version's rebate.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Max, Q
from django.utils import timezone

from .models import (
    Billing,
    Complaint,
    Product,
    ProductChange,
    RebateHistory,
    Record,
    Subscriber,
    UsageDaily,
    UsageMonthly,
    Verdict,
)

ONE_SECOND = timedelta(seconds=1)
ZERO = Decimal("0.00")


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` moved by whole calendar months, the day clamped to the month's end.

    2025-12-31 10:00 + 2 → 2026-02-28 10:00; 2026-08-31 - 6 → 2026-02-28.
    """
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def first_of_month(day: date, months: int = 0) -> date:
    """The first day of the month ``months`` after (negative: before) ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def months_between(first: date, last: date) -> list[date]:
    """First days of the calendar months from ``first``'s month to ``last``'s month."""
    months, current = [], first.replace(day=1)
    while current <= last:
        months.append(current)
        current = first_of_month(current, 1)
    return months


def period_of(recommended_at: datetime) -> str:
    """``YYYY-MM`` of the window's last day (the date of end - 1 s)."""
    last_day = (add_months(timezone.localtime(recommended_at), 2) - ONE_SECOND).date()
    return f"{last_day.year:04d}-{last_day.month:02d}"


def settle_record(record: Record, *, period: str, usage: str) -> Verdict | None:
    """Evaluate one record of ``period`` and save its verdict; None when not in the period.

    ``usage`` is ``monthly`` or ``daily`` (the usage table that was loaded).
    """
    recommended = timezone.localtime(record.recommended_at)
    end = add_months(recommended, 2)
    last_day = (end - ONE_SECOND).date()
    if f"{last_day.year:04d}-{last_day.month:02d}" != period:
        return None
    rec_date, end_date = recommended.date(), end.date()
    number = {"msisdn": record.msisdn}
    same = {"msisdn": record.msisdn, "product_code": record.product_code}
    reasons: list[str] = []

    # unknown_product: the version whose [from, to] (to null = open) holds the date.
    product = (
        Product.objects.filter(product_code=record.product_code, effective_from__lte=rec_date)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=rec_date))
        .order_by("-effective_from")
        .first()
    )
    if product is None:
        reasons.append("unknown_product")

    # unconfirmed: confirmed_at null or outside [recommended_at, end).
    confirmed = record.confirmed_at
    if confirmed is None or not (recommended <= confirmed < end):
        reasons.append("unconfirmed")

    # duplicate: another record of the number + product came first (earlier, or at the
    # same instant with a smaller record_id), on or after the first day of the third
    # calendar month before this record's month — whatever that record's own verdict.
    duplicate_from = datetime.combine(
        first_of_month(rec_date, -3), time(0), tzinfo=recommended.tzinfo
    )
    came_first = Record.objects.filter(**same, recommended_at__gte=duplicate_from).filter(
        Q(recommended_at__lt=recommended)
        | Q(recommended_at=recommended, record_id__lt=record.record_id)
    )
    if came_first.exists():
        reasons.append("duplicate")

    # prior_same_product: billed (> 0) in any of the 3 calendar months before the month.
    prior_months = [first_of_month(rec_date, -k) for k in (1, 2, 3)]
    if Billing.objects.filter(**same, month__in=prior_months, billed_amount__gt=0).exists():
        reasons.append("prior_same_product")

    # not_active_before (rule 1): unknown number, activated on/after the date, or closed.
    subscriber = Subscriber.objects.filter(**number).first()
    if subscriber is None or subscriber.activated_on >= rec_date or subscriber.status == "closed":
        reasons.append("not_active_before")

    # no_voice_in_window (rule 2): a day with calls in [date(rec), date(end)).
    if usage == "daily":
        voice = UsageDaily.objects.filter(
            **number, day__gte=rec_date, day__lt=end_date, voice_calls__gt=0
        ).exists()
    else:
        voice = UsageMonthly.objects.filter(
            **number, first_voice_day__lt=end_date, last_voice_day__gte=rec_date
        ).exists()
    if not voice:
        reasons.append("no_voice_in_window")

    # product_changed_in_window (rule 3): recommended_at < changed_at < end.
    if ProductChange.objects.filter(
        **same, changed_at__gt=recommended, changed_at__lt=end
    ).exists():
        reasons.append("product_changed_in_window")

    # rebated_in_last_6_months (rule 4): a paid record in [rec - 6 months, rec).
    if RebateHistory.objects.filter(
        **same, recommended_at__gte=add_months(recommended, -6), recommended_at__lt=recommended
    ).exists():
        reasons.append("rebated_in_last_6_months")

    # in_arrears (user-status audit).
    if subscriber is not None and subscriber.in_arrears:
        reasons.append("in_arrears")

    # not_billed / discounted_price (billing and package audits), for paid products only.
    if product is not None and product.monthly_fee > 0:
        billed = Billing.objects.filter(
            **same, month__in=months_between(rec_date, last_day)
        ).aggregate(
            largest=Max("billed_amount"), positive=Count("pk", filter=Q(billed_amount__gt=0))
        )
        if not billed["positive"]:
            reasons.append("not_billed")
        elif billed["largest"] < product.monthly_fee:
            reasons.append("discounted_price")

    # upheld_complaint (lagging-complaint audit): upheld forced subscription from rec on.
    if Complaint.objects.filter(
        **same, kind="forced_subscription", upheld=True, complained_at__gte=recommended
    ).exists():
        reasons.append("upheld_complaint")

    qualified = not reasons
    return Verdict.objects.create(
        record_id=record.record_id,
        promoter_id=record.promoter_id,
        msisdn=record.msisdn,
        product_code=record.product_code,
        period=period,
        qualified=qualified,
        reasons=",".join(reasons),
        amount=product.rebate if qualified else ZERO,
    )
