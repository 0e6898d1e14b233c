"""Property-based API tests (issue 3, "done when"): schemathesis generates requests for
every operation of the ``/api/v1/`` and ``/tmf-api/`` OpenAPI documents, valid and
invalid, and none may get a server error (5xx).

The requests go through Django's test request handler wrapped as a WSGI app, so they
share the test's database transaction, authenticated with the API token of a
province-level partner manager and system administrator. Deterministic
(``derandomize``) with a modest number of examples per operation.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.test.client import ClientHandler
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import DataGenerationMethod, GenerationConfig

from prm.accounts.services import api_token_create
from prm.partners.tests import factories

EXAMPLES_PER_OPERATION = 10
GENERATION = [DataGenerationMethod.positive, DataGenerationMethod.negative]
# The token goes in every request; generated credentials (a random ``sessionid`` cookie,
# a random bearer) would only test the session middleware, not the operations.
CONFIG = GenerationConfig(with_security_parameters=False)


class DjangoTestWSGI:
    """A WSGI app over Django's test handler: unlike ``prm.wsgi.application`` it keeps
    the database connection (and so the test's transaction) open between requests."""

    def __init__(self) -> None:
        self.handler = ClientHandler(enforce_csrf_checks=False)

    def __call__(self, environ, start_response):
        response = self.handler(environ)
        headers = list(response.items())
        headers += [("Set-Cookie", cookie.OutputString()) for cookie in response.cookies.values()]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        if response.streaming:
            return response.streaming_content
        return [response.content]


APP = DjangoTestWSGI()
# Django Ninja writes OpenAPI 3.1, still "experimental" in schemathesis 3.
schemathesis.experimental.OPEN_API_3_1.enable()


@pytest.fixture
def api_v1_schema():
    return schemathesis.from_wsgi("/api/v1/openapi.json", APP, data_generation_methods=GENERATION)


@pytest.fixture
def tmf_schema():
    return schemathesis.from_wsgi("/tmf-api/openapi.json", APP, data_generation_methods=GENERATION)


# The lazy schema's own settings decide how operations are generated.
api_v1 = schemathesis.from_pytest_fixture(
    "api_v1_schema", data_generation_methods=GENERATION, generation_config=CONFIG
).exclude(
    # A multipart list of files: schemathesis 3 hands werkzeug a bare value for it and
    # crashes building the request, before anything reaches the server. The upload has
    # its own tests (prm/incentives/tests/test_billing_import_access.py).
    method="POST",
    path="/api/v1/incentives/billing/imports",
)
tmf = schemathesis.from_pytest_fixture(
    "tmf_schema", data_generation_methods=GENERATION, generation_config=CONFIG
)


@pytest.fixture
def auth_headers(orgs, make_user) -> dict[str, str]:
    """A broad user, and some data for the operations to find."""
    user = make_user(
        org=orgs.province,
        roles=("partner_manager", "system_admin", "channel_manager"),
        username="fuzzer",
    )
    factories.partner(managing_org=orgs.city_a)
    factories.partner(managing_org=orgs.city_b, status="submitted")
    _token, raw = api_token_create(actor=None, user=user, label="schemathesis")
    return {"Authorization": f"Bearer {raw}"}


def _no_server_error(case, auth_headers) -> None:
    response = case.call(headers=auth_headers)
    case.validate_response(response, checks=(not_a_server_error,))


FUZZ = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.django_db
@api_v1.parametrize()
@FUZZ
def test_api_v1_has_no_server_errors(case, auth_headers):
    _no_server_error(case, auth_headers)


@pytest.mark.django_db
@tmf.parametrize()
@FUZZ
def test_tmf_api_has_no_server_errors(case, auth_headers):
    _no_server_error(case, auth_headers)
