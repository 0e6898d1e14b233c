"""Shared world of the promoter and seat tests: two channel managers of city A (GZ, so
that four-eyes leaves someone to approve), one of city B (SZ), one of the province,
read-only and permission-less users, channels and outlets of both cities.

Imported by the other ``test_promoters*`` / ``test_seats*`` modules (``world``,
``register``, ``approve``, ``reject``)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from prm.accounts.models import OrgUnit, User
from prm.core.workflow import workflow_approve, workflow_instance_for, workflow_reject
from prm.incentives.constants import PROMOTER_WORKFLOW
from prm.incentives.models import Channel, Outlet, Promoter
from prm.incentives.services.promoters import promoter_register
from prm.incentives.tests import factories

pytestmark = pytest.mark.django_db

PASSWORD_CHARS = 14  # prm.accounts.services.console.PASSWORD_LENGTH


@dataclass
class World:
    orgs: object
    cm_a: User  # channel manager of city A (GZ)
    cm_a2: User  # a second channel manager of city A
    cm_b: User  # channel manager of city B (SZ)
    cm_province: User
    finance_a: User  # view_promoter only
    account_manager_a: User  # no incentive permission
    channel_a: Channel  # managed by county A (in city A's subtree)
    channel_b: Channel  # managed by city B
    outlet_a: Outlet
    outlet_b: Outlet

    @property
    def city_a(self) -> OrgUnit:
        return self.orgs.city_a

    @property
    def city_b(self) -> OrgUnit:
        return self.orgs.city_b


@pytest.fixture
def world(orgs, make_user) -> World:
    channel_a = factories.channel(org=orgs.county_a, code="CH-GZ-1", name="Tianhe hall")
    channel_b = factories.channel(org=orgs.city_b, code="CH-SZ-1", name="Nanshan hall")
    return World(
        orgs=orgs,
        cm_a=make_user(org=orgs.city_a, roles=("channel_manager",), username="cm_a"),
        cm_a2=make_user(org=orgs.city_a, roles=("channel_manager",), username="cm_a2"),
        cm_b=make_user(org=orgs.city_b, roles=("channel_manager",), username="cm_b"),
        cm_province=make_user(org=orgs.province, roles=("channel_manager",), username="cm_gd"),
        finance_a=make_user(org=orgs.city_a, roles=("finance",), username="fin_a"),
        account_manager_a=make_user(org=orgs.city_a, roles=("account_manager",), username="am_a"),
        channel_a=channel_a,
        channel_b=channel_b,
        outlet_a=factories.outlet(channel=channel_a, code="OU-GZ-1", name="Counter 1"),
        outlet_b=factories.outlet(channel=channel_b, code="OU-SZ-1", name="Counter 9"),
    )


GOOD = {
    "name": "Li Lei",
    "msisdn": "13800138001",
    "bank_name": "ICBC",
    "bank_account": "622200001234",
    "email": "",
}


def internet(world, **values) -> Promoter:
    """An internet registration of an ordinary promoter of city A."""
    data = {**GOOD, "kind": Promoter.Kind.ORDINARY, "city_code": "GZ", **values}
    return promoter_register(path=Promoter.Path.INTERNET, actor=None, **data)


def intranet(world, actor=None, **values) -> Promoter:
    """An intranet registration of a hall clerk of city A by ``actor`` (cm_province)."""
    data = {**GOOD, "kind": Promoter.Kind.HALL_CLERK, "city_code": "GZ", **values}
    return promoter_register(path=Promoter.Path.INTRANET, actor=actor or world.cm_province, **data)


def instance_of(promoter: Promoter):
    return workflow_instance_for(target=promoter, definition_code=PROMOTER_WORKFLOW)


def approve(promoter: Promoter, actor) -> Promoter:
    workflow_approve(instance_id=instance_of(promoter).pk, actor=actor)
    promoter.refresh_from_db()
    return promoter


def reject(promoter: Promoter, actor, reason: str = "Not our subscriber's hall") -> Promoter:
    workflow_reject(instance_id=instance_of(promoter).pk, actor=actor, reason=reason)
    promoter.refresh_from_db()
    return promoter
