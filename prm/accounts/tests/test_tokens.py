"""API tokens for other systems (R0): `prm tokens create|revoke|list` and bearer auth."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

from prm.accounts.models import ApiToken, User
from prm.core.models import AuditEvent

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
ME = "/api/v1/accounts/me"


@pytest.fixture(autouse=True)
def _english_and_fast_hashing(settings):
    settings.LANGUAGE_CODE = "en"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def billing(orgs, make_user) -> User:
    return make_user(org=orgs.province, roles=("channel_manager",), username="billing")


def tokens(*args: str) -> str:
    out = StringIO()
    call_command("tokens", *args, stdout=out)
    return out.getvalue()


def create_token(*extra: str) -> str:
    """The raw token: the last line of `prm tokens create`."""
    return tokens("create", "--user", "billing", "--label", "Billing feed", *extra).splitlines()[-1]


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


def test_create_prints_the_token_last_and_stores_only_its_hash(billing):
    with time_machine.travel(T0, tick=False):
        output = tokens(
            "create",
            "--user",
            "billing",
            "--label",
            "Billing feed",
            "--scopes",
            "partners.read",
            "accounts.read",
            "--expires-days",
            "30",
        )

    raw = output.splitlines()[-1]
    assert re.fullmatch(r"prm_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", raw)
    token = ApiToken.objects.get()
    assert token.prefix == raw[4:12]
    assert token.token_hash == ApiToken.hash_token(raw)
    assert token.scopes == ["accounts.read", "partners.read"]
    assert token.expires_at == T0 + timedelta(days=30)
    assert (token.user, token.label, token.revoked_at, token.created_by) == (
        billing,
        "Billing feed",
        None,
        None,
    )
    stored = ApiToken.objects.values_list(
        "label", "prefix", "token_hash", "scopes", named=False
    ).get()
    assert all(raw not in str(value) for value in stored)
    assert raw[13:] not in str(stored)
    event = AuditEvent.objects.get(action="api_token.created")
    assert raw not in str(event.changes)
    assert output.count(raw) == 1


def test_default_scopes_are_all(billing):
    create_token()

    assert ApiToken.objects.get().scopes == ["*"]


def test_api_accepts_a_valid_bearer_token(client, billing):
    raw = create_token()

    response = client.get(ME, headers=bearer(raw))

    assert response.status_code == 200
    assert response.json()["username"] == "billing"
    assert ApiToken.objects.get().last_used_at is not None


@pytest.mark.parametrize(
    ("_case", "header"),
    [
        ("no header", None),
        ("unknown token", "Bearer prm_00000000_notarealtoken"),
        ("not a PRM token", "Bearer abc"),
        ("wrong scheme", "Token {raw}"),
    ],
)
def test_api_refuses_missing_or_bad_tokens(client, billing, _case, header):
    raw = create_token()
    headers = {"Authorization": header.format(raw=raw)} if header else {}

    response = client.get(ME, headers=headers)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_revoked_token_is_refused(client, billing):
    raw = create_token()
    prefix = raw[4:12]

    output = tokens("revoke", prefix)
    response = client.get(ME, headers=bearer(raw))

    assert output.strip() == f"Token {prefix} revoked."
    assert response.status_code == 401
    assert ApiToken.objects.get().revoked_at is not None
    assert AuditEvent.objects.filter(action="api_token.revoked").count() == 1


def test_revoking_twice_or_an_unknown_prefix_fails_and_writes_nothing(billing):
    raw = create_token()
    tokens("revoke", raw[4:12])
    events_before = AuditEvent.objects.count()
    revoked_at = ApiToken.objects.get().revoked_at

    with pytest.raises(CommandError, match="The token is already revoked."):
        tokens("revoke", raw[4:12])
    with pytest.raises(CommandError, match="No token with prefix 12345678."):
        tokens("revoke", "12345678")

    assert AuditEvent.objects.count() == events_before
    assert ApiToken.objects.get().revoked_at == revoked_at


def test_expired_token_is_refused(client, billing):
    with time_machine.travel(T0, tick=False):
        raw = create_token("--expires-days", "1")
        fresh = client.get(ME, headers=bearer(raw))

    with time_machine.travel(T0 + timedelta(days=1, seconds=1), tick=False):
        expired = client.get(ME, headers=bearer(raw))

    assert fresh.status_code == 200
    assert expired.status_code == 401


def test_token_of_a_disabled_user_is_refused(client, billing):
    raw = create_token()
    User.objects.filter(pk=billing.pk).update(is_active=False)

    response = client.get(ME, headers=bearer(raw))

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("_case", "args", "message"),
    [
        ("unknown user", ["--user", "ghost", "--label", "x"], "No user named ghost."),
        (
            "zero days",
            ["--user", "billing", "--label", "x", "--expires-days", "0"],
            "A token must expire in 1 to 3650 days.",
        ),
        (
            "too many days",
            ["--user", "billing", "--label", "x", "--expires-days", "3651"],
            "A token must expire in 1 to 3650 days.",
        ),
        (
            "blank label",
            ["--user", "billing", "--label", "  "],
            "Give the token a label of 1 to 100 characters.",
        ),
    ],
)
def test_create_refuses_bad_input_and_writes_nothing(billing, _case, args, message):
    events_before = AuditEvent.objects.count()

    with pytest.raises(CommandError, match=re.escape(message)):
        tokens("create", *args)

    assert ApiToken.objects.count() == 0
    assert AuditEvent.objects.count() == events_before


def test_create_refuses_a_disabled_user(billing):
    User.objects.filter(pk=billing.pk).update(is_active=False)

    with pytest.raises(CommandError, match="The user is disabled."):
        tokens("create", "--user", "billing", "--label", "x")

    assert ApiToken.objects.count() == 0


def test_list_shows_tokens_without_secrets(orgs, make_user, billing):
    make_user(org=orgs.province, username="crm")
    billing_raw = create_token("--scopes", "accounts.read")
    crm_raw = tokens("create", "--user", "crm", "--label", "CRM sync").splitlines()[-1]
    tokens("revoke", crm_raw[4:12])

    everything = tokens("list")
    only_billing = tokens("list", "--user", "billing")

    assert billing_raw not in everything and crm_raw not in everything
    lines = everything.splitlines()
    assert len(lines) == 3
    assert lines[1].split()[:2] == [crm_raw[4:12], "crm"]
    assert "revoked" in lines[1]
    assert lines[2].split()[:2] == [billing_raw[4:12], "billing"]
    assert "active" in lines[2] and lines[2].endswith("accounts.read")
    assert len(only_billing.splitlines()) == 2
    assert billing_raw[4:12] in only_billing and crm_raw[4:12] not in only_billing


def test_a_token_call_that_writes_needs_no_csrf_token(orgs, make_user, db):
    from django.test import Client

    from prm.accounts.services import api_token_create

    admin = make_user(org=orgs.province, roles=("system_admin",))
    _token, secret = api_token_create(actor=admin, user=admin, label="ci")
    client = Client(enforce_csrf_checks=True)

    response = client.patch(
        f"/api/v1/accounts/org-units/{orgs.city_a.code}",
        data={"name": "Guangzhou branch"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )

    assert response.status_code == 200
    orgs.city_a.refresh_from_db()
    assert orgs.city_a.name == "Guangzhou branch"
