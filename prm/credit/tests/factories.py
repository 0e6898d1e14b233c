"""Factories of credit raw data for tests (rows entered directly, no import)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from prm.credit.models import ComplaintRecord, RevenueRecord, UnpaidItem, Violation
from prm.partners.tests import factories as partner_factories


def credit_partner(*, managing_org, **extra):
    """An active partner with a code (what the credit rules evaluate)."""
    return partner_factories.partner(managing_org=managing_org, **extra)


def revenue(
    partner,
    *,
    month: date,
    line: str = "sms",
    code: str | None = None,
    users: int = 100,
    fee: str | Decimal = "1000.00",
) -> RevenueRecord:
    return RevenueRecord.objects.create(
        partner=partner,
        business_line=line,
        business_code=code or f"{partner.code}-{line}",
        month=month,
        paying_users=users,
        info_fee=Decimal(str(fee)),
    )


def complaint(partner, *, month: date, line: str = "sms", complaints: int = 0, users: int = 10_000):
    return ComplaintRecord.objects.create(
        partner=partner, business_line=line, month=month, complaints=complaints, users=users
    )


def unpaid(partner, *, recorded_on: date, line: str = "sms", count: int = 1) -> UnpaidItem:
    return UnpaidItem.objects.create(
        partner=partner, business_line=line, recorded_on=recorded_on, count=count
    )


def violation(
    partner,
    *,
    determined_on: date,
    line: str = "sms",
    degree: str = "minor",
    with_resources: bool = False,
) -> Violation:
    return Violation.objects.create(
        partner=partner,
        business_line=line,
        determined_on=determined_on,
        degree=degree,
        with_allocated_resources=with_resources,
    )
