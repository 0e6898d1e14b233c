"""Shared fixtures of the agreement, business-code and exit tests: they import
``world_fixture`` (the fixture ``world``).

Two partners: A managed by the city of Guangzhou, B by Shenzhen. In Guangzhou three
partner managers (pm1 drafts and submits, pm2 and pm3 countersign), finance and a
channel manager without partner permissions; in Shenzhen a partner manager.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from prm.accounts.models import User
from prm.partners.models import Agreement, Partner
from prm.partners.tests import factories


@dataclass
class World:
    partner_a: Partner
    partner_b: Partner
    admin_a: User
    staff_a: User
    admin_b: User
    pm1: User
    pm2: User
    pm3: User
    finance_a: User
    channel_a: User
    pm_b: User
    finance_b: User
    province_pm: User


@pytest.fixture(name="world")
def world_fixture(orgs, make_user) -> World:
    partner_a = factories.partner(managing_org=orgs.city_a, company_name="Alpha Tech Ltd")
    partner_b = factories.partner(managing_org=orgs.city_b, company_name="Beta Media Ltd")
    pm1 = make_user(org=orgs.city_a, roles=("partner_manager",), username="gz_pm1")
    Partner.objects.filter(pk=partner_a.pk).update(manager=pm1)
    partner_a.refresh_from_db()
    return World(
        partner_a=partner_a,
        partner_b=partner_b,
        admin_a=partner_a.admin_user,
        staff_a=factories.partner_user(partner_a, roles=("partner_staff",)),
        admin_b=partner_b.admin_user,
        pm1=pm1,
        pm2=make_user(org=orgs.city_a, roles=("partner_manager",), username="gz_pm2"),
        pm3=make_user(org=orgs.city_a, roles=("partner_manager",), username="gz_pm3"),
        finance_a=make_user(org=orgs.city_a, roles=("finance",), username="gz_finance"),
        channel_a=make_user(org=orgs.city_a, roles=("channel_manager",), username="gz_channel"),
        pm_b=make_user(org=orgs.city_b, roles=("partner_manager",), username="sz_pm"),
        finance_b=make_user(org=orgs.city_b, roles=("finance",), username="sz_finance"),
        province_pm=make_user(org=orgs.province, roles=("partner_manager",), username="gd_pm"),
    )


AGREEMENT_VALUES = {
    "title": "SMS cooperation 2026",
    "starts_on": date(2026, 1, 1),
    "ends_on": date(2026, 12, 31),
    "business_scope": "SMS and MMS value-added services",
    "settlement_model": Agreement.SettlementModel.REVENUE_SHARE,
    "revenue_share_percent": Decimal("60.00"),
    "fixed_fee": None,
}


def agreement_row(partner: Partner, *, created_by: User, number: str = "", **values) -> Agreement:
    """An agreement written directly in a given state (the check and exit tests)."""
    fields = {**AGREEMENT_VALUES, **values}
    count = Agreement.objects.count() + 1
    return Agreement.objects.create(
        partner=partner,
        number=number or f"AG-2026-{900000 + count:06d}",
        created_by=created_by,
        **fields,
    )
