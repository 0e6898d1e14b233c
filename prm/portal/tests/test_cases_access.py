"""Breach investigation pages and API: who may do what (anonymous, another partner, staff of
another city, staff without the permission, the allowed users), and the whole path
through the pages."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from prm.accounts.services import api_token_create
from prm.core.models import Attachment, Notification
from prm.portal.models import BreachCase, BreachResponse, PublicNotice
from prm.portal.tests.test_cases import (
    DUE,
    MONDAY,
    World,
    at,
    build_world,
    counts,
    open_case,
    pdf,
    respond,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(orgs, make_user) -> World:
    return build_world(orgs, make_user)


@pytest.fixture
def case(world) -> BreachCase:
    return open_case(world)


def _login(client, world: World, who: str | None):
    if who is not None:
        client.force_login(getattr(world, who))
    return client


# ---- pages -------------------------------------------------------------------------------

PAGE_TABLE = [
    # list
    ("list anonymous", None, "get", "/portal/cases/", 302),
    ("list other partner", "admin_b", "get", "/portal/cases/", 200),
    ("list staff of another city", "staff_b", "get", "/portal/cases/", 200),
    ("list staff without permission", "staff_no_permission", "get", "/portal/cases/", 403),
    ("list partner admin", "admin_a", "get", "/portal/cases/", 200),
    ("list partner staff", "user_a", "get", "/portal/cases/", 200),
    ("list auditor", "auditor_a", "get", "/portal/cases/", 200),
    ("list case manager", "staff_a", "get", "/portal/cases/", 200),
    # open a case
    ("new anonymous", None, "get", "/portal/cases/new/", 302),
    ("new partner", "admin_a", "get", "/portal/cases/new/", 403),
    ("new staff without permission", "staff_no_permission", "get", "/portal/cases/new/", 403),
    ("new auditor", "auditor_a", "get", "/portal/cases/new/", 403),
    ("new case manager", "staff_a", "get", "/portal/cases/new/", 200),
    # detail
    ("detail anonymous", None, "get", "/portal/cases/{n}/", 302),
    ("detail other partner", "admin_b", "get", "/portal/cases/{n}/", 404),
    ("detail staff of another city", "staff_b", "get", "/portal/cases/{n}/", 404),
    ("detail staff without permission", "staff_no_permission", "get", "/portal/cases/{n}/", 403),
    ("detail partner admin", "admin_a", "get", "/portal/cases/{n}/", 200),
    ("detail partner staff", "user_a", "get", "/portal/cases/{n}/", 200),
    ("detail auditor", "auditor_a", "get", "/portal/cases/{n}/", 200),
    ("detail case manager", "staff_a", "get", "/portal/cases/{n}/", 200),
    ("detail province manager", "staff_province", "get", "/portal/cases/{n}/", 200),
    ("detail unknown number", "staff_a", "get", "/portal/cases/BC-2026-999999/", 404),
    # respond
    ("respond anonymous", None, "post", "/portal/cases/{n}/respond/", 302),
    ("respond other partner", "admin_b", "post", "/portal/cases/{n}/respond/", 404),
    ("respond staff of another city", "staff_b", "post", "/portal/cases/{n}/respond/", 404),
    (
        "respond staff no permission",
        "staff_no_permission",
        "post",
        "/portal/cases/{n}/respond/",
        403,
    ),
    ("respond case manager", "staff_a", "post", "/portal/cases/{n}/respond/", 403),
    ("respond get not allowed", "admin_a", "get", "/portal/cases/{n}/respond/", 405),
    # decide
    ("decide anonymous", None, "get", "/portal/cases/{n}/decide/", 302),
    ("decide other partner", "admin_b", "get", "/portal/cases/{n}/decide/", 404),
    ("decide staff of another city", "staff_b", "get", "/portal/cases/{n}/decide/", 404),
    (
        "decide staff without permission",
        "staff_no_permission",
        "get",
        "/portal/cases/{n}/decide/",
        403,
    ),
    ("decide partner", "admin_a", "get", "/portal/cases/{n}/decide/", 403),
    ("decide auditor", "auditor_a", "get", "/portal/cases/{n}/decide/", 403),
    ("decide case manager", "staff_a", "get", "/portal/cases/{n}/decide/", 200),
    ("decide post other city", "staff_b", "post", "/portal/cases/{n}/decide/", 404),
    ("decide post partner", "admin_a", "post", "/portal/cases/{n}/decide/", 403),
]


@pytest.mark.parametrize(("_case", "who", "method", "path", "status"), PAGE_TABLE)
def test_page_access(client, world, case, _case, who, method, path, status):
    _login(client, world, who)
    before = counts()
    data = {"body": "Feedback", "decision": "upheld", "reason": "Because."}

    with time_machine.travel(at(MONDAY, 15), tick=False):
        response = getattr(client, method)(
            path.format(n=case.number), data if method == "post" else None
        )

    assert response.status_code == status
    if status == 302 and who is None:
        assert response["Location"].startswith("/accounts/login/")
    if method == "post":
        assert counts() == before


@pytest.mark.parametrize(
    ("_case", "who", "sees"),
    [
        ("the partner concerned", "admin_a", True),
        ("another partner", "admin_b", False),
        ("the city managing the partner", "staff_a", True),
        ("another city", "staff_b", False),
        ("the province", "staff_province", True),
    ],
)
def test_list_shows_only_cases_in_scope(client, world, case, _case, who, sees):
    client.force_login(getattr(world, who))

    content = client.get("/portal/cases/").content.decode()

    assert (case.number in content) is sees


def test_list_filter_and_htmx_partial(client, world, case):
    other = open_case(world, business="WAP game portal")
    client.force_login(world.staff_a)

    response = client.get("/portal/cases/", {"q": "WAP"}, HTTP_HX_REQUEST="true")

    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert (other.number in content, case.number in content) == (True, False)


def test_menu_entry_for_staff_and_partners(client, world):
    for who, shown in (("staff_a", True), ("admin_a", True), ("staff_no_permission", False)):
        client.force_login(getattr(world, who))
        content = client.get("/portal/cases/" if shown else "/").content.decode()
        assert ('data-nav="portal_cases"' in content) is shown


def test_evidence_downloads_only_for_those_who_see_the_case(client, world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    case = open_case(world, evidence=[pdf("screenshot.pdf")])
    response = respond(world, case, now=at(MONDAY, 15), evidence=[pdf("logs.pdf")])
    staff_file = Attachment.objects.get(owner_id=str(case.pk), original_name="screenshot.pdf")
    partner_file = Attachment.objects.get(owner_id=str(response.pk), original_name="logs.pdf")

    for who, status in (
        ("admin_a", 200),
        ("staff_a", 200),
        ("auditor_a", 200),
        ("admin_b", 404),
        ("staff_b", 404),
        ("staff_no_permission", 404),
    ):
        client.force_login(getattr(world, who))
        for attachment in (staff_file, partner_file):
            got = client.get(f"/attachments/{attachment.public_id}/")
            assert got.status_code == status, (who, attachment.original_name)


# ---- the path through the pages ----------------------------------------------------------


def test_staff_open_partner_responds_staff_uphold(
    client, world, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    settings.LANGUAGE_CODE = "en"
    client.cookies["django_language"] = "en"
    client.force_login(world.staff_a)
    with time_machine.travel(at(MONDAY, 10), tick=False):
        form = client.get("/portal/cases/new/")
        assert [p.code for p in form.context["form"].fields["partner"].queryset] == [
            world.partner_a.code
        ]
        response = client.post(
            "/portal/cases/new/",
            {
                "partner": world.partner_a.code,
                "business": "SMS weather",
                "violation_type": "misleading_promotion",
                "impact": "ordinary",
                "affected_users": "35",
                "used_marketing_resources": "on",
                "description": "Advert promised a free service.",
                "evidence": [pdf("advert.pdf"), pdf("complaints.pdf")],
            },
        )
    case = BreachCase.objects.get()
    assert (response.status_code, response["Location"]) == (302, f"/portal/cases/{case.number}/")
    assert (case.used_marketing_resources, case.affected_users, case.response_due) == (
        True,
        35,
        DUE,
    )
    assert Attachment.objects.filter(owner_id=str(case.pk)).count() == 2

    client.force_login(world.admin_a)
    with time_machine.travel(at(DUE, 23, 59), tick=False):
        page = client.get(f"/portal/cases/{case.number}/")
        assert page.context["can_respond"] is True
        assert 'data-testid="case-response-form"' in page.content.decode()
        response = client.post(
            f"/portal/cases/{case.number}/respond/",
            {"body": "We stopped the advert.", "evidence": [pdf("proof.pdf")]},
        )
    assert response.status_code == 302
    assert BreachResponse.objects.filter(case=case).count() == 1

    with time_machine.travel(at(date(2026, 6, 16), 0, 0, 1), tick=False):
        page = client.get(f"/portal/cases/{case.number}/")
        late = client.post(f"/portal/cases/{case.number}/respond/", {"body": "Late words."})
    content = page.content.decode()
    assert 'data-testid="case-response-form"' not in content
    assert 'data-testid="case-responses-closed"' in content
    assert "The response deadline (2026-06-15 23:59) has passed" in content
    assert late.status_code == 400
    assert "has passed: responses are closed" in late.content.decode()
    assert BreachResponse.objects.filter(case=case).count() == 1

    client.force_login(world.staff_a)
    decision = {
        "decision": "upheld",
        "reason": "The advert misled users.",
        "credit_deduction": "on",
        "fine_amount": "2000.50",
        "suspend_business_until": "2026-07-31",
    }
    with (
        time_machine.travel(at(date(2026, 6, 16), 9), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(f"/portal/cases/{case.number}/decide/", decision)
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.fine_amount, case.suspend_business_until) == (
        "upheld",
        Decimal("2000.50"),
        date(2026, 7, 31),
    )
    assert PublicNotice.objects.filter(breach_case=case, kind="penalty").count() == 1

    client.force_login(world.admin_a)
    detail = client.get(f"/portal/cases/{case.number}/").content.decode()
    assert 'data-testid="case-decision"' in detail
    assert "Fine: 2000.50 yuan" in detail
    assert 'data-testid="case-responses-closed"' in detail
    assert Notification.objects.filter(
        recipient=world.admin_a, event="portal.breach_case_upheld"
    ).exists()

    client.force_login(world.staff_a)
    again = client.get(f"/portal/cases/{case.number}/decide/")
    assert (again.status_code, again["Location"]) == (302, f"/portal/cases/{case.number}/")


def test_decide_page_shows_when_it_is_too_early(client, world, case, settings):
    settings.LANGUAGE_CODE = "en"
    client.cookies["django_language"] = "en"
    client.force_login(world.staff_a)

    with time_machine.travel(at(MONDAY, 15), tick=False):
        page = client.get(f"/portal/cases/{case.number}/decide/")
        response = client.post(
            f"/portal/cases/{case.number}/decide/", {"decision": "not_upheld", "reason": "x"}
        )

    assert 'data-testid="case-decide-too-early"' in page.content.decode()
    assert response.status_code == 200
    assert "The partner may respond until 2026-06-15" in response.content.decode()
    case.refresh_from_db()
    assert case.status == "awaiting_response"


def test_open_case_page_refuses_a_partner_of_another_city(client, world):
    client.force_login(world.staff_a)
    before = counts()

    response = client.post(
        "/portal/cases/new/",
        {
            "partner": world.partner_b.code,
            "business": "x",
            "violation_type": "other",
            "impact": "minor",
            "affected_users": "0",
            "description": "x",
        },
    )

    assert response.status_code == 200
    assert "partner" in response.context["form"].errors
    assert counts() == before


# ---- API ---------------------------------------------------------------------------------

API = "/api/v1/portal/cases"
CASE_BODY = {
    "business": "SMS weather",
    "violation_type": "billing_fraud",
    "impact": "very_serious",
    "description": "Charged twice.",
    "affected_users": 10,
}

API_TABLE = [
    ("list anonymous", None, "get", "", None, 401),
    ("list other partner", "admin_b", "get", "", None, 200),
    ("list staff of another city", "staff_b", "get", "", None, 200),
    ("list staff without permission", "staff_no_permission", "get", "", None, 403),
    ("list partner", "admin_a", "get", "", None, 200),
    ("list case manager", "staff_a", "get", "", None, 200),
    ("open anonymous", None, "post", "", "a", 401),
    ("open partner", "admin_a", "post", "", "a", 403),
    ("open staff of another city", "staff_b", "post", "", "a", 404),
    ("open staff without permission", "staff_no_permission", "post", "", "a", 403),
    ("open auditor", "auditor_a", "post", "", "a", 403),
    ("open case manager", "staff_a", "post", "", "a", 201),
    ("detail anonymous", None, "get", "/{n}", None, 401),
    ("detail other partner", "admin_b", "get", "/{n}", None, 404),
    ("detail staff of another city", "staff_b", "get", "/{n}", None, 404),
    ("detail staff without permission", "staff_no_permission", "get", "/{n}", None, 403),
    ("detail partner", "admin_a", "get", "/{n}", None, 200),
    ("detail case manager", "staff_a", "get", "/{n}", None, 200),
    ("respond anonymous", None, "post", "/{n}/responses", "r", 401),
    ("respond other partner", "admin_b", "post", "/{n}/responses", "r", 404),
    ("respond staff of another city", "staff_b", "post", "/{n}/responses", "r", 404),
    ("respond staff without permission", "staff_no_permission", "post", "/{n}/responses", "r", 403),
    ("respond case manager", "staff_a", "post", "/{n}/responses", "r", 403),
    ("respond partner", "admin_a", "post", "/{n}/responses", "r", 201),
    ("decide anonymous", None, "post", "/{n}/decision", "d", 401),
    ("decide other partner", "admin_b", "post", "/{n}/decision", "d", 403),
    ("decide staff of another city", "staff_b", "post", "/{n}/decision", "d", 404),
    ("decide staff without permission", "staff_no_permission", "post", "/{n}/decision", "d", 403),
    ("decide partner", "admin_a", "post", "/{n}/decision", "d", 403),
    ("decide before the deadline", "staff_a", "post", "/{n}/decision", "d", 409),
]


@pytest.mark.parametrize(("_case", "who", "method", "suffix", "body", "status"), API_TABLE)
def test_api_access(client, world, case, _case, who, method, suffix, body, status):
    _login(client, world, who)
    payloads = {
        "a": {"partner": world.partner_a.code, **CASE_BODY},
        "r": {"body": "Our logs."},
        "d": {"upheld": True, "reason": "Proven."},
    }
    before = counts()

    with time_machine.travel(at(MONDAY, 15), tick=False):
        if method == "get":
            response = client.get(API + suffix.format(n=case.number))
        else:
            response = client.post(
                API + suffix.format(n=case.number),
                payloads[body],
                content_type="application/json",
            )

    assert response.status_code == status, response.content
    if status >= 400:
        assert set(response.json()) == {"code", "message", "details"}
        assert counts() == before
    if method == "get" and status == 200 and not suffix:
        numbers = [item["number"] for item in response.json()]
        assert numbers == ([case.number] if who in ("admin_a", "staff_a") else [])


def test_api_full_path(client, world):
    client.force_login(world.staff_a)
    with time_machine.travel(at(MONDAY, 10), tick=False):
        created = client.post(
            API, {"partner": world.partner_a.code, **CASE_BODY}, content_type="application/json"
        )
    assert created.status_code == 201
    body = created.json()
    number = body["number"]
    assert (body["status"], body["response_due"], body["responses"]) == (
        "awaiting_response",
        "2026-06-15",
        [],
    )
    assert body["response_deadline"].startswith("2026-06-15T23:59:59")

    client.force_login(world.admin_a)
    with time_machine.travel(at(DUE, 23, 59, 59), tick=False):
        ok = client.post(
            f"{API}/{number}/responses", {"body": "Refunded."}, content_type="application/json"
        )
    with time_machine.travel(at(date(2026, 6, 16), 0, 0, 0), tick=False):
        late = client.post(
            f"{API}/{number}/responses", {"body": "Late."}, content_type="application/json"
        )
    assert ok.status_code == 201
    assert (late.status_code, late.json()["code"]) == (409, "response_deadline_passed")

    client.force_login(world.staff_a)
    with time_machine.travel(at(date(2026, 6, 16), 9), tick=False):
        decided = client.post(
            f"{API}/{number}/decision",
            {"upheld": True, "reason": "Proven.", "fine_amount": "100.00"},
            content_type="application/json",
        )
        twice = client.post(
            f"{API}/{number}/decision",
            {"upheld": False, "reason": "Changed."},
            content_type="application/json",
        )
    assert decided.status_code == 200
    assert (decided.json()["status"], decided.json()["fine_amount"]) == ("upheld", "100.00")
    assert [r["body"] for r in decided.json()["responses"]] == ["Refunded."]
    assert (twice.status_code, twice.json()["code"]) == (409, "breach_case_decided")


@pytest.mark.parametrize(
    ("_case", "payload"),
    [
        ("negative fine", {"upheld": True, "reason": "x", "fine_amount": "-1"}),
        ("reason missing", {"upheld": True, "reason": ""}),
        ("no decision", {"reason": "x"}),
    ],
)
def test_api_decision_validation(client, world, case, _case, payload):
    client.force_login(world.staff_a)
    before = counts()

    response = client.post(
        f"{API}/{case.number}/decision", payload, content_type="application/json"
    )

    assert (response.status_code, response.json()["code"]) == (422, "validation_error")
    assert counts() == before


def test_api_read_token_cannot_write(client, world, case):
    _token, raw = api_token_create(
        actor=None, user=world.staff_a, label="crm", scopes=["portal.read"]
    )
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    listed = client.get(API, **headers)
    with time_machine.travel(at(date(2026, 6, 16), 9), tick=False):
        refused = client.post(
            f"{API}/{case.number}/decision",
            {"upheld": False, "reason": "x"},
            content_type="application/json",
            **headers,
        )

    assert listed.status_code == 200
    assert (refused.status_code, refused.json()["code"]) == (403, "token_scope")
    case.refresh_from_db()
    assert case.status == "awaiting_response"
