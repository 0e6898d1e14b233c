"""The pages and the API of agreements, business codes, exits and the blacklist, used
the way staff and partners use them."""

from __future__ import annotations

from datetime import date

import pytest

from prm.core.models import WorkflowTask
from prm.partners.models import Agreement, BlacklistEntry, BusinessCode, ExitCase, Partner
from prm.partners.selectors import DEFAULT_BUSINESS_CODE_LIMIT
from prm.partners.services.agreements import agreement_create
from prm.partners.services.codes import business_code_assign
from prm.partners.tests.test_agreements_fixtures import (  # noqa: F401  (fixture)
    AGREEMENT_VALUES,
    agreement_row,
    world_fixture,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def en(client, settings):
    settings.LANGUAGE_CODE = "en"
    client.cookies["django_language"] = "en"
    return client


def _form(world, **overrides):
    data = {
        "partner": world.partner_a.pk,
        "title": "SMS cooperation",
        "starts_on": "2026-01-01",
        "ends_on": "2099-12-31",
        "business_scope": "SMS services",
        "settlement_model": "revenue_share",
        "revenue_share_percent": "60",
        "fixed_fee": "",
    }
    data.update(overrides)
    return data


# ---- Agreements ----------------------------------------------------------------------------


def test_staff_draft_submit_and_countersign_on_the_pages(en, world):
    en.force_login(world.pm1)
    assert en.get(f"/partners/agreements/new/?partner={world.partner_a.pk}").status_code == 200

    response = en.post("/partners/agreements/new/", _form(world))

    agreement = Agreement.objects.get()
    assert response["Location"] == f"/partners/agreements/{agreement.number}/"
    page = en.get(response["Location"]).content.decode()
    assert 'data-testid="agreement-submit"' in page
    en.post(f"/partners/agreements/{agreement.number}/submit/")
    agreement.refresh_from_db()
    assert agreement.status == "countersigning"

    en.force_login(world.pm2)
    page = en.get(f"/partners/agreements/{agreement.number}/").content.decode()
    assert 'data-testid="workflow-approve"' in page
    assert 'data-testid="agreement-submit"' not in page


def test_a_broken_settlement_rule_shows_on_its_field_and_writes_nothing(en, world):
    en.force_login(world.pm1)

    response = en.post("/partners/agreements/new/", _form(world, revenue_share_percent="0"))

    assert response.status_code == 200
    assert "above 0 and at most 100" in response.content.decode()
    assert 'data-testid="field-error-revenue_share_percent"' in response.content.decode()
    assert Agreement.objects.count() == 0


def test_draft_is_edited_and_terminated_on_the_pages(en, world):
    en.force_login(world.pm1)
    en.post("/partners/agreements/new/", _form(world))
    number = Agreement.objects.get().number

    form = _form(world, title="SMS cooperation v2")
    form.pop("partner")
    assert en.post(f"/partners/agreements/{number}/edit/", form).status_code == 302
    assert Agreement.objects.get().title == "SMS cooperation v2"

    en.post(f"/partners/agreements/{number}/terminate/", {"reason": "Not needed"})
    agreement = Agreement.objects.get()
    assert (agreement.status, agreement.termination_reason) == ("terminated", "Not needed")


def test_renewal_from_the_page_opens_the_new_draft(en, world):
    agreement = agreement_row(world.partner_a, created_by=world.pm1, status="expiring")
    en.force_login(world.pm1)

    response = en.post(f"/partners/agreements/{agreement.number}/renew/")

    renewal = Agreement.objects.get(renews=agreement)
    assert response["Location"] == f"/partners/agreements/{renewal.number}/edit/"


def test_partner_admin_sees_own_agreements_read_only(en, world):
    agreement = agreement_row(world.partner_a, created_by=world.pm1, status="active")
    en.force_login(world.admin_a)

    listing = en.get("/partners/agreements/").content.decode()
    detail = en.get(f"/partners/agreements/{agreement.number}/").content.decode()

    assert agreement.number in listing
    assert 'data-testid="agreement-new"' not in listing
    for action in ("agreement-edit", "agreement-terminate", "agreement-renew"):
        assert f'data-testid="{action}"' not in detail


def test_the_list_filters_with_htmx(en, world):
    agreement_row(world.partner_a, created_by=world.pm1, status="active", title="Alpha deal")
    agreement_row(world.partner_a, created_by=world.pm1, status="draft", title="Beta deal")
    en.force_login(world.pm1)

    response = en.get("/partners/agreements/?status=active", HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert "<html" not in body
    assert "Alpha deal" in body and "Beta deal" not in body


# ---- Business codes ------------------------------------------------------------------------


def test_code_assigned_on_the_page_and_the_limit_shown(en, world):
    en.force_login(world.pm1)

    response = en.post(
        "/partners/business-codes/new/",
        {"partner": world.partner_a.pk, "code": "1065801", "name": "Weather", "service_type": ""},
    )

    assert response.status_code == 302
    listing = en.get(response["Location"]).content.decode()
    assert "1065801" in listing
    assert f"Active codes: 1 of at most {DEFAULT_BUSINESS_CODE_LIMIT}." in listing


def test_the_limit_refusal_shows_the_limit_and_writes_nothing(en, world):
    for n in range(DEFAULT_BUSINESS_CODE_LIMIT):
        business_code_assign(
            actor=world.pm1, partner=world.partner_a, code=f"10658{n:02d}", name="x"
        )
    en.force_login(world.pm1)

    response = en.post(
        "/partners/business-codes/new/",
        {"partner": world.partner_a.pk, "code": "1065899", "name": "One more"},
    )

    assert response.status_code == 200
    assert f"its limit is {DEFAULT_BUSINESS_CODE_LIMIT}" in response.content.decode()
    assert BusinessCode.objects.count() == DEFAULT_BUSINESS_CODE_LIMIT


def test_code_released_on_the_page(en, world):
    business_code_assign(actor=world.pm1, partner=world.partner_a, code="1065801", name="x")
    en.force_login(world.pm1)

    en.post("/partners/business-codes/1065801/release/", {"reason": "Ended"})

    assert BusinessCode.objects.get().status == "released"


# ---- Exits and blacklist -----------------------------------------------------------------


def test_partner_admin_applies_to_leave_on_the_page(en, world):
    en.force_login(world.admin_a)
    assert en.get("/partners/exits/apply/").status_code == 200

    response = en.post("/partners/exits/apply/", {"reason": "We stop SMS"})

    case = ExitCase.objects.get()
    assert response["Location"] == f"/partners/exits/{case.number}/"
    detail = en.get(response["Location"]).content.decode()
    assert 'data-testid="workflow-withdraw"' in detail
    assert 'data-testid="exit-pending"' in en.get("/partners/exits/apply/").content.decode()
    assert WorkflowTask.objects.filter(instance__target_id=str(case.pk)).count() == 3


def test_staff_start_an_exit_and_see_the_checklist(en, world):
    en.force_login(world.pm1)

    response = en.post(
        "/partners/exits/new/",
        {"partner": world.partner_a.pk, "kind": "illegal_content", "reason": "Gambling"},
    )

    case = ExitCase.objects.get()
    assert response["Location"] == f"/partners/exits/{case.number}/"
    detail = en.get(response["Location"]).content.decode()
    assert detail.count('data-done="1"') == len(ExitCase.CHECKLIST)
    assert 'data-testid="exit-blacklisted"' in detail
    assert Partner.objects.get(pk=world.partner_a.pk).status == "exited"


def test_blacklist_add_duplicate_and_remove_on_the_page(en, world):
    en.force_login(world.pm1)
    data = {"uscc": "91440101MA0000001X", "company_name": "Bad Co", "reason": "Fraud"}

    assert en.post("/partners/blacklist/", data).status_code == 302
    duplicate = en.post("/partners/blacklist/", data)
    assert "already on the blacklist" in duplicate.content.decode()
    assert BlacklistEntry.objects.count() == 1
    page = en.get("/partners/blacklist/").content.decode()
    assert 'data-testid="blacklist-remove"' in page

    en.post("/partners/blacklist/91440101MA0000001X/remove/", {"reason": "Court ruling"})

    assert BlacklistEntry.objects.count() == 0


def test_staff_of_another_city_see_the_entry_but_may_not_remove_it(en, world):
    en.force_login(world.pm1)
    en.post(
        "/partners/blacklist/",
        {"uscc": "91440101MA0000001X", "company_name": "Bad Co", "reason": "Fraud"},
    )
    en.force_login(world.pm_b)

    page = en.get("/partners/blacklist/").content.decode()

    assert "91440101MA0000001X" in page
    assert 'data-testid="blacklist-remove"' not in page


# ---- API -------------------------------------------------------------------------------


def test_api_agreement_lifecycle(en, world):
    en.force_login(world.pm1)
    body = {
        "partner": world.partner_a.code,
        "title": "API deal",
        "starts_on": "2026-01-01",
        "ends_on": "2099-12-31",
        "business_scope": "SMS",
        "settlement_model": "mixed",
        "revenue_share_percent": "40",
        "fixed_fee": "1000",
    }

    created = en.post("/api/v1/partners/agreements", body, content_type="application/json")

    assert created.status_code == 201, created.content
    number = created.json()["number"]
    assert created.json()["status"] == "draft"
    assert created.json()["fixed_fee"] == "1000.00"
    listing = en.get(f"/api/v1/partners/agreements?partner={world.partner_a.code}")
    assert [row["number"] for row in listing.json()] == [number]
    assert listing["X-Total-Count"] == "1"
    submitted = en.post(f"/api/v1/partners/agreements/{number}/submit")
    assert submitted.json()["status"] == "countersigning"
    refused = en.post(
        f"/api/v1/partners/agreements/{number}/terminate",
        {"reason": "x"},
        content_type="application/json",
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "agreement_in_approval")


def test_api_refuses_a_broken_settlement_rule_with_its_code(en, world):
    en.force_login(world.pm1)
    body = {
        "partner": world.partner_a.code,
        "title": "API deal",
        "starts_on": "2026-01-01",
        "ends_on": "2099-12-31",
        "business_scope": "SMS",
        "settlement_model": "fixed_fee",
        "fixed_fee": "0",
    }

    response = en.post("/api/v1/partners/agreements", body, content_type="application/json")

    assert (response.status_code, response.json()["code"]) == (400, "fixed_fee_invalid")
    assert response.json()["details"] == {"field": "fixed_fee"}
    assert Agreement.objects.count() == 0


def test_api_codes_limit_and_release(en, world):
    en.force_login(world.pm1)
    for n in range(DEFAULT_BUSINESS_CODE_LIMIT):
        response = en.post(
            "/api/v1/partners/business-codes",
            {"partner": world.partner_a.code, "code": f"10658{n:02d}", "name": "x"},
            content_type="application/json",
        )
        assert response.status_code == 201

    refused = en.post(
        "/api/v1/partners/business-codes",
        {"partner": world.partner_a.code, "code": "1065899", "name": "x"},
        content_type="application/json",
    )

    assert refused.status_code == 409
    assert refused.json()["code"] == "business_code_limit"
    assert refused.json()["details"]["limit"] == DEFAULT_BUSINESS_CODE_LIMIT
    released = en.post(
        "/api/v1/partners/business-codes/1065800/release",
        {"reason": "Ended"},
        content_type="application/json",
    )
    assert released.json()["status"] == "released"


def test_api_exits_and_blacklist(en, world):
    en.force_login(world.admin_b)
    applied = en.post(
        "/api/v1/partners/exits/apply", {"reason": "Leaving"}, content_type="application/json"
    )
    assert (applied.status_code, applied.json()["status"]) == (201, "submitted")

    en.force_login(world.pm1)
    started = en.post(
        "/api/v1/partners/exits",
        {"partner": world.partner_a.code, "kind": "violation", "reason": "Fraud"},
        content_type="application/json",
    )
    assert started.status_code == 201, started.content
    assert started.json()["blacklisted"] is True
    assert set(started.json()["checklist"]) == {item for item, _ in ExitCase.CHECKLIST}
    again = en.post(
        "/api/v1/partners/exits",
        {"partner": world.partner_a.code, "kind": "violation", "reason": "Again"},
        content_type="application/json",
    )
    assert (again.status_code, again.json()["code"]) == (409, "partner_exited")
    entries = en.get("/api/v1/partners/blacklist").json()
    assert [entry["uscc"] for entry in entries] == [world.partner_a.uscc]
    removed = en.post(
        f"/api/v1/partners/blacklist/{world.partner_a.uscc}/remove",
        {"reason": "Appeal upheld"},
        content_type="application/json",
    )
    assert removed.status_code == 204
    assert BlacklistEntry.objects.count() == 0


def test_api_paths_do_not_clash_with_partner_codes(en, world):
    """``/agreements`` etc. must not be taken for a partner code (``/{code}``)."""
    agreement_create(
        actor=world.pm1,
        partner=world.partner_a,
        **{**AGREEMENT_VALUES, "ends_on": date(2099, 12, 31)},
    )
    en.force_login(world.pm1)

    for path in ("agreements", "business-codes", "exits", "blacklist"):
        response = en.get(f"/api/v1/partners/{path}")
        assert response.status_code == 200, path
        assert isinstance(response.json(), list), path


@pytest.mark.parametrize("path", ["/agreements", "/business-codes", "/exits"])
def test_api_writes_naming_no_partner_answer_not_found(en, world, path):
    en.force_login(world.pm1)

    response = en.post(
        f"/api/v1/partners{path}",
        {
            "partner": "",
            "title": "x",
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
            "business_scope": "x",
            "settlement_model": "fixed_fee",
            "fixed_fee": "1",
            "code": "106580",
            "name": "x",
            "kind": "violation",
            "reason": "x",
        },
        content_type="application/json",
    )

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
