"""Shared fixtures: an operator tree (HQ → province → two cities → a county each), a
partner tree, and users by role. Tests get a fresh database per test (pytest-django)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.cache import cache

from prm.accounts.models import OrgUnit, User
from prm.accounts.tests import factories
from prm.core.sms import sms_fake_reset
from prm.incentives.adapters.billing import billing_fake_reset


@dataclass
class OrgTree:
    hq: OrgUnit
    province: OrgUnit
    city_a: OrgUnit
    city_b: OrgUnit
    county_a: OrgUnit
    county_b: OrgUnit
    partner: OrgUnit
    other_partner: OrgUnit


@pytest.fixture(autouse=True)
def _clear_cache(settings, tmp_path_factory):
    settings.PRM_INCENTIVES_DIR = str(tmp_path_factory.mktemp("incentives"))
    settings.PRM_CREDIT_DIR = str(tmp_path_factory.mktemp("credit"))
    settings.PRM_BILLING_BACKEND = "fake"
    settings.PRM_TOTP_REQUIRED_FOR_ADMINS = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PRM_SMS_BACKEND = "fake"
    # argon2 is slow on purpose; test_passwords_are_hashed_with_argon2 checks the real setting.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    sms_fake_reset()
    billing_fake_reset()
    yield
    cache.clear()


@pytest.fixture
def orgs(db) -> OrgTree:
    hq = factories.org_unit(kind="hq", parent=None, code="HQ", name="HQ")
    province = factories.org_unit(kind="province", parent=hq, code="GD", name="Guangdong")
    city_a = factories.org_unit(kind="city", parent=province, code="GZ", name="Guangzhou")
    city_b = factories.org_unit(kind="city", parent=province, code="SZ", name="Shenzhen")
    county_a = factories.org_unit(kind="county", parent=city_a, code="GZ-TH", name="Tianhe")
    county_b = factories.org_unit(kind="county", parent=city_b, code="SZ-NS", name="Nanshan")
    partner = factories.org_unit(kind="partner", parent=None, code="PA", name="Partner A")
    other_partner = factories.org_unit(kind="partner", parent=None, code="PB", name="Partner B")
    return OrgTree(hq, province, city_a, city_b, county_a, county_b, partner, other_partner)


@pytest.fixture
def make_user(db):
    def make(*, org: OrgUnit, roles: tuple[str, ...] = (), **extra) -> User:
        return factories.user(org=org, roles=roles, **extra)

    return make
