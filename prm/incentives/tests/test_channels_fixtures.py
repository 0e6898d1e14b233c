"""Shared test world of the channel and product tests: channel managers of two cities, a
county and the province, users without the permissions, channels, an outlet, partners.

Imported by the other ``test_channels*`` / ``test_products*`` modules (``world``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from prm.accounts.models import OrgUnit, User
from prm.incentives.models import Channel, Outlet, Product
from prm.incentives.tests import factories
from prm.partners.models import Partner
from prm.partners.tests import factories as partner_factories


@dataclass
class World:
    orgs: object
    cm_a: User  # channel manager of city A (GZ)
    cm_b: User  # channel manager of city B (SZ)
    cm_county: User  # channel manager of county A (under GZ)
    cm_province: User
    cs_agent: User  # view_product only
    account_manager: User  # no incentive permission
    auditor_a: User  # reads city A
    finance_a: User
    channel_a: Channel  # managed by county A
    channel_city_a: Channel  # managed by city A itself
    channel_b: Channel  # managed by city B
    outlet_a: Outlet
    partner_a: Partner  # active, managed by city A
    partner_b: Partner  # active, managed by city B
    product: Product  # CRBT, rebate 4.00 from 2020-01-01

    @property
    def city_a(self) -> OrgUnit:
        return self.orgs.city_a

    @property
    def county_a(self) -> OrgUnit:
        return self.orgs.county_a


@pytest.fixture(name="world")
def world_fixture(orgs, make_user) -> World:
    channel_a = factories.channel(org=orgs.county_a, code="GZ-TH-HALL", name="Tianhe hall")
    return World(
        orgs=orgs,
        cm_a=make_user(org=orgs.city_a, roles=("channel_manager",), username="cm_a"),
        cm_b=make_user(org=orgs.city_b, roles=("channel_manager",), username="cm_b"),
        cm_county=make_user(org=orgs.county_a, roles=("channel_manager",), username="cm_county"),
        cm_province=make_user(org=orgs.province, roles=("channel_manager",), username="cm_gd"),
        cs_agent=make_user(org=orgs.city_a, roles=("cs_agent",), username="cs_a"),
        account_manager=make_user(org=orgs.city_a, roles=("account_manager",), username="am_a"),
        auditor_a=make_user(org=orgs.city_a, roles=("auditor",), username="auditor_a"),
        finance_a=make_user(org=orgs.city_a, roles=("finance",), username="finance_a"),
        channel_a=channel_a,
        channel_city_a=factories.channel(org=orgs.city_a, code="GZ-ONLINE", name="GZ online"),
        channel_b=factories.channel(org=orgs.city_b, code="SZ-HALL", name="Nanshan hall"),
        outlet_a=factories.outlet(
            channel=channel_a, code="GZ-TH-HALL-01", name="Tianhe hall counter"
        ),
        partner_a=partner_factories.partner(managing_org=orgs.city_a),
        partner_b=partner_factories.partner(managing_org=orgs.city_b),
        product=factories.product("CRBT", rebate="4.00", effective_from=date(2020, 1, 1)),
    )
