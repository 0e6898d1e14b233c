"""Fixtures of the TMF API tests: a partner manager in Guangzhou with an API token, a
partner managed there and one managed in Shenzhen (outside the manager's scope)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from prm.accounts.services import api_token_create
from prm.partners.tests import factories


@dataclass
class TokenClient:
    """A Django test client that sends one user's API token with every request."""

    client: Client
    token: str
    user: object

    def _headers(self, extra):
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}", **extra}

    def get(self, path, data=None, **extra):
        return self.client.get(path, data, **self._headers(extra))

    def post(self, path, body=None, *, content_type="application/json", **extra):
        return self.client.post(path, body, content_type=content_type, **self._headers(extra))

    def patch(self, path, body=None, *, content_type="application/json", **extra):
        return self.client.patch(path, body, content_type=content_type, **self._headers(extra))

    def delete(self, path, **extra):
        return self.client.delete(path, **self._headers(extra))


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def token_client():
    def make(user, scopes=("*",)) -> TokenClient:
        _token, raw = api_token_create(actor=None, user=user, label="integration", scopes=scopes)
        return TokenClient(Client(), raw, user)

    return make


@pytest.fixture
def manager(orgs, make_user):
    return make_user(org=orgs.city_a, roles=("partner_manager",), username="manager-gz")


@pytest.fixture
def api(token_client, manager) -> TokenClient:
    return token_client(manager)


@pytest.fixture
def partner_a(orgs):
    return factories.partner(managing_org=orgs.county_a, company_name="Alpha Media Ltd")


@pytest.fixture
def partner_b(orgs):
    return factories.partner(managing_org=orgs.city_b, company_name="Beta Content Ltd")
