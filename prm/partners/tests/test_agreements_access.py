"""Access to every page and endpoint of agreements, business codes, exits and the
blacklist: anonymous, another partner, staff of another city, staff without the
permission, and the allowed users (STYLE 19)."""

from __future__ import annotations

from datetime import date

import pytest

from prm.accounts.models import User
from prm.accounts.services import api_token_create
from prm.partners.models import Agreement, BlacklistEntry, BusinessCode, ExitCase
from prm.partners.services.agreements import agreement_create
from prm.partners.services.codes import business_code_assign
from prm.partners.services.exit import blacklist_entry_add, exit_case_apply
from prm.partners.tests.test_agreements_fixtures import (  # noqa: F401  (fixture)
    AGREEMENT_VALUES,
    world_fixture,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def docs(world, orgs, make_user):
    agreement = agreement_create(
        actor=world.pm1,
        partner=world.partner_a,
        **{**AGREEMENT_VALUES, "ends_on": date(2099, 12, 31)},
    )
    code = business_code_assign(
        actor=world.pm1, partner=world.partner_a, code="1065801", name="Weather SMS"
    )
    code_b = business_code_assign(
        actor=world.pm_b, partner=world.partner_b, code="1065901", name="News SMS"
    )
    case = exit_case_apply(actor=world.admin_b, reason="Leaving")
    entry = blacklist_entry_add(
        actor=world.pm1, uscc="91440101MA0000001X", company_name="Bad Co", reason="Fraud"
    )
    return {
        "world": world,
        "users": {
            "admin_a": world.admin_a,
            "staff_a": world.staff_a,
            "admin_b": world.admin_b,
            "pm1": world.pm1,
            "pm_b": world.pm_b,
            "finance_a": world.finance_a,
            "channel_a": world.channel_a,
            "auditor_a": make_user(org=orgs.city_a, roles=("auditor",), username="gz_auditor"),
            "auditor_b": make_user(org=orgs.city_b, roles=("auditor",), username="sz_auditor"),
        },
        "n": agreement.number,
        "code": code.code,
        "code_b": code_b.code,
        "x": case.number,
        "a": world.partner_a.pk,
        "b": world.partner_b.pk,
        "uscc": entry.uscc,
        "pcode_a": world.partner_a.code,
        "pcode_b": world.partner_b.code,
    }


def _url(template: str, docs) -> str:
    return template.format(**{k: v for k, v in docs.items() if k not in ("world", "users")})


# ---- Pages ---------------------------------------------------------------------------------

GET_PAGES = [
    "/partners/agreements/",
    "/partners/agreements/new/",
    "/partners/agreements/{n}/",
    "/partners/agreements/{n}/edit/",
    "/partners/business-codes/",
    "/partners/business-codes/new/",
    "/partners/exits/",
    "/partners/exits/new/",
    "/partners/exits/apply/",
    "/partners/exits/{x}/",
    "/partners/blacklist/",
]
POST_PAGES = [
    "/partners/agreements/{n}/submit/",
    "/partners/agreements/{n}/terminate/",
    "/partners/agreements/{n}/renew/",
    "/partners/business-codes/{code}/release/",
    "/partners/blacklist/{uscc}/remove/",
]


@pytest.mark.parametrize("path", GET_PAGES + POST_PAGES)
def test_pages_send_anonymous_to_sign_in(client, docs, path):
    method = client.post if path in POST_PAGES else client.get

    response = method(_url(path, docs))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("_case", "who", "path", "status"),
    [
        # agreements
        ("list_staff", "pm1", "/partners/agreements/", 200),
        ("list_partner_admin", "admin_a", "/partners/agreements/", 200),
        ("list_finance", "finance_a", "/partners/agreements/?partner={a}", 200),
        ("list_no_permission", "channel_a", "/partners/agreements/", 403),
        ("list_partner_staff", "staff_a", "/partners/agreements/", 403),
        ("list_other_city_partner", "pm_b", "/partners/agreements/?partner={a}", 404),
        ("list_other_partner", "admin_b", "/partners/agreements/?partner={a}", 404),
        ("new_staff", "pm1", "/partners/agreements/new/?partner={a}", 200),
        ("new_other_city", "pm_b", "/partners/agreements/new/?partner={a}", 404),
        ("new_no_permission", "channel_a", "/partners/agreements/new/", 403),
        ("new_partner_admin", "admin_a", "/partners/agreements/new/", 403),
        ("detail_staff", "pm1", "/partners/agreements/{n}/", 200),
        ("detail_partner_admin", "admin_a", "/partners/agreements/{n}/", 200),
        ("detail_finance", "finance_a", "/partners/agreements/{n}/", 200),
        ("detail_auditor", "auditor_a", "/partners/agreements/{n}/", 200),
        ("detail_other_city", "pm_b", "/partners/agreements/{n}/", 404),
        ("detail_other_city_auditor", "auditor_b", "/partners/agreements/{n}/", 404),
        ("detail_other_partner", "admin_b", "/partners/agreements/{n}/", 404),
        ("detail_no_permission", "channel_a", "/partners/agreements/{n}/", 403),
        ("detail_partner_staff", "staff_a", "/partners/agreements/{n}/", 403),
        ("edit_staff", "pm1", "/partners/agreements/{n}/edit/", 200),
        ("edit_other_city", "pm_b", "/partners/agreements/{n}/edit/", 404),
        ("edit_partner_admin", "admin_a", "/partners/agreements/{n}/edit/", 403),
        ("edit_auditor", "auditor_a", "/partners/agreements/{n}/edit/", 403),
        # business codes
        ("codes_staff", "pm1", "/partners/business-codes/?partner={a}", 200),
        ("codes_partner_admin", "admin_a", "/partners/business-codes/", 200),
        ("codes_no_permission", "channel_a", "/partners/business-codes/", 403),
        ("codes_partner_staff", "staff_a", "/partners/business-codes/", 403),
        ("codes_other_city", "pm_b", "/partners/business-codes/?partner={a}", 404),
        ("codes_other_partner", "admin_b", "/partners/business-codes/?partner={a}", 404),
        ("assign_staff", "pm1", "/partners/business-codes/new/?partner={a}", 200),
        ("assign_other_city", "pm_b", "/partners/business-codes/new/?partner={a}", 404),
        ("assign_no_permission", "channel_a", "/partners/business-codes/new/", 403),
        ("assign_partner_admin", "admin_a", "/partners/business-codes/new/", 403),
        # exits
        ("exits_staff", "pm_b", "/partners/exits/", 200),
        ("exits_partner_admin", "admin_b", "/partners/exits/", 200),
        ("exits_no_permission", "channel_a", "/partners/exits/", 403),
        ("exits_partner_staff", "staff_a", "/partners/exits/", 403),
        ("exits_other_city", "pm1", "/partners/exits/?partner={b}", 404),
        ("exits_other_partner", "admin_a", "/partners/exits/?partner={b}", 404),
        ("exit_detail_staff", "pm_b", "/partners/exits/{x}/", 200),
        ("exit_detail_partner_admin", "admin_b", "/partners/exits/{x}/", 200),
        ("exit_detail_other_city", "pm1", "/partners/exits/{x}/", 404),
        ("exit_detail_other_partner", "admin_a", "/partners/exits/{x}/", 404),
        ("exit_detail_no_permission", "channel_a", "/partners/exits/{x}/", 403),
        ("start_staff", "pm1", "/partners/exits/new/?partner={a}", 200),
        ("start_other_city", "pm_b", "/partners/exits/new/?partner={a}", 404),
        ("start_no_permission", "channel_a", "/partners/exits/new/", 403),
        ("start_partner_admin", "admin_a", "/partners/exits/new/", 403),
        ("apply_partner_admin", "admin_a", "/partners/exits/apply/", 200),
        ("apply_partner_staff", "staff_a", "/partners/exits/apply/", 403),
        ("apply_staff", "pm1", "/partners/exits/apply/", 403),
        # blacklist
        ("blacklist_staff", "pm1", "/partners/blacklist/", 200),
        ("blacklist_auditor", "auditor_b", "/partners/blacklist/", 200),
        ("blacklist_no_permission", "channel_a", "/partners/blacklist/", 403),
        ("blacklist_partner_admin", "admin_a", "/partners/blacklist/", 403),
    ],
)
def test_page_permissions(client, docs, _case, who, path, status):
    client.force_login(docs["users"][who])

    response = client.get(_url(path, docs))

    assert response.status_code == status


@pytest.mark.parametrize(
    ("_case", "who", "path", "data", "status"),
    [
        ("submit_other_city", "pm_b", "/partners/agreements/{n}/submit/", {}, 404),
        ("submit_no_permission", "channel_a", "/partners/agreements/{n}/submit/", {}, 403),
        ("submit_partner_admin", "admin_a", "/partners/agreements/{n}/submit/", {}, 403),
        (
            "terminate_other_city",
            "pm_b",
            "/partners/agreements/{n}/terminate/",
            {"reason": "x"},
            404,
        ),
        (
            "terminate_auditor",
            "auditor_a",
            "/partners/agreements/{n}/terminate/",
            {"reason": "x"},
            403,
        ),
        ("renew_other_city", "pm_b", "/partners/agreements/{n}/renew/", {}, 404),
        (
            "release_other_city",
            "pm_b",
            "/partners/business-codes/{code}/release/",
            {"reason": "x"},
            404,
        ),
        (
            "release_other_partner",
            "admin_b",
            "/partners/business-codes/{code}/release/",
            {"reason": "x"},
            403,
        ),
        (
            "release_no_permission",
            "channel_a",
            "/partners/business-codes/{code}/release/",
            {"reason": "x"},
            403,
        ),
        ("blacklist_add_auditor", "auditor_a", "/partners/blacklist/", {"uscc": "x"}, 403),
        (
            "blacklist_remove_other_city",
            "pm_b",
            "/partners/blacklist/{uscc}/remove/",
            {"reason": "x"},
            404,
        ),
        (
            "blacklist_remove_auditor",
            "auditor_a",
            "/partners/blacklist/{uscc}/remove/",
            {"reason": "x"},
            403,
        ),
        ("exit_start_other_city", "pm_b", "/partners/exits/new/?partner={a}", {"reason": "x"}, 404),
    ],
)
def test_refused_posts_change_nothing(client, docs, _case, who, path, data, status):
    client.force_login(docs["users"][who])
    before = (
        list(Agreement.objects.values_list("status", flat=True)),
        list(BusinessCode.objects.values_list("status", flat=True)),
        BlacklistEntry.objects.count(),
        ExitCase.objects.count(),
    )

    response = client.post(_url(path, docs), data)

    assert response.status_code == status
    assert (
        list(Agreement.objects.values_list("status", flat=True)),
        list(BusinessCode.objects.values_list("status", flat=True)),
        BlacklistEntry.objects.count(),
        ExitCase.objects.count(),
    ) == before


def test_lists_show_only_rows_in_scope(client, docs):
    client.force_login(docs["users"]["admin_b"])
    assert list(client.get("/partners/business-codes/").context["page"]) == [
        BusinessCode.objects.get(code=docs["code_b"])
    ]
    assert list(client.get("/partners/agreements/").context["page"]) == []

    client.force_login(docs["users"]["pm_b"])
    assert list(client.get("/partners/agreements/").context["page"]) == []
    assert [c.number for c in client.get("/partners/exits/").context["page"]] == [docs["x"]]

    client.force_login(docs["users"]["pm1"])
    assert [a.number for a in client.get("/partners/agreements/").context["page"]] == [docs["n"]]
    assert list(client.get("/partners/exits/").context["page"]) == []


# ---- API -------------------------------------------------------------------------------

API = "/api/v1/partners"
API_GETS = [
    "/agreements",
    "/agreements/{n}",
    "/business-codes",
    "/exits",
    "/exits/{x}",
    "/blacklist",
]


@pytest.fixture
def api(client):
    client.cookies["django_language"] = "en"
    return client


@pytest.mark.parametrize("path", API_GETS)
def test_api_needs_credentials(api, docs, path):
    response = api.get(API + _url(path, docs))

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("_case", "who", "path", "status"),
    [
        ("agreements_staff", "pm1", "/agreements", 200),
        ("agreements_partner", "admin_a", "/agreements", 200),
        ("agreements_no_permission", "channel_a", "/agreements", 403),
        ("agreements_partner_staff", "staff_a", "/agreements", 403),
        ("agreements_other_city_filter", "pm_b", "/agreements?partner={pcode_a}", 404),
        ("agreement_staff", "pm1", "/agreements/{n}", 200),
        ("agreement_partner", "admin_a", "/agreements/{n}", 200),
        ("agreement_other_city", "pm_b", "/agreements/{n}", 404),
        ("agreement_other_partner", "admin_b", "/agreements/{n}", 404),
        ("agreement_no_permission", "channel_a", "/agreements/{n}", 403),
        ("codes_staff", "pm1", "/business-codes?partner={pcode_a}", 200),
        ("codes_partner", "admin_a", "/business-codes", 200),
        ("codes_other_city", "pm_b", "/business-codes?partner={pcode_a}", 404),
        ("codes_no_permission", "channel_a", "/business-codes", 403),
        ("exits_staff", "pm_b", "/exits", 200),
        ("exits_other_city_filter", "pm1", "/exits?partner={pcode_b}", 404),
        ("exits_no_permission", "channel_a", "/exits", 403),
        ("exit_partner", "admin_b", "/exits/{x}", 200),
        ("exit_other_city", "pm1", "/exits/{x}", 404),
        ("exit_other_partner", "admin_a", "/exits/{x}", 404),
        ("blacklist_staff", "pm_b", "/blacklist", 200),
        ("blacklist_partner", "admin_a", "/blacklist", 403),
        ("blacklist_no_permission", "channel_a", "/blacklist", 403),
    ],
)
def test_api_get_permissions(api, docs, _case, who, path, status):
    api.force_login(docs["users"][who])

    response = api.get(API + _url(path, docs))

    assert response.status_code == status, response.content


@pytest.mark.parametrize(
    ("_case", "who", "path", "body", "status"),
    [
        ("create_other_city", "pm_b", "/agreements", "create", 404),
        ("create_no_permission", "channel_a", "/agreements", "create", 403),
        ("create_partner", "admin_a", "/agreements", "create", 403),
        ("submit_other_city", "pm_b", "/agreements/{n}/submit", None, 404),
        ("submit_partner", "admin_a", "/agreements/{n}/submit", None, 403),
        ("terminate_other_city", "pm_b", "/agreements/{n}/terminate", {"reason": "x"}, 404),
        ("renew_no_permission", "channel_a", "/agreements/{n}/renew", None, 403),
        ("assign_other_city", "pm_b", "/business-codes", "code", 404),
        ("assign_partner", "admin_a", "/business-codes", "code", 403),
        ("release_other_city", "pm_b", "/business-codes/{code}/release", {"reason": "x"}, 404),
        ("release_partner", "admin_a", "/business-codes/{code}/release", {"reason": "x"}, 403),
        ("exit_other_city", "pm_b", "/exits", "exit", 404),
        ("exit_no_permission", "channel_a", "/exits", "exit", 403),
        ("apply_staff", "pm1", "/exits/apply", {"reason": "x"}, 403),
        ("apply_partner_staff", "staff_a", "/exits/apply", {"reason": "x"}, 403),
        ("blacklist_add_partner", "admin_a", "/blacklist", "blacklist", 403),
        ("blacklist_add_auditor", "auditor_a", "/blacklist", "blacklist", 403),
        ("blacklist_remove_other_city", "pm_b", "/blacklist/{uscc}/remove", {"reason": "x"}, 404),
    ],
)
def test_api_refused_writes_change_nothing(api, docs, _case, who, path, body, status):
    bodies = {
        "create": {
            "partner": docs["pcode_a"],
            "title": "T",
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
            "business_scope": "SMS",
            "settlement_model": "fixed_fee",
            "fixed_fee": "100",
        },
        "code": {"partner": docs["pcode_a"], "code": "1065888", "name": "X"},
        "exit": {"partner": docs["pcode_a"], "kind": "violation", "reason": "x"},
        "blacklist": {"uscc": "91440101MA0000002X", "company_name": "X", "reason": "x"},
    }
    payload = bodies.get(body, body) if isinstance(body, str) else body
    api.force_login(docs["users"][who])
    before = (
        list(Agreement.objects.values_list("status", flat=True)),
        list(BusinessCode.objects.values_list("status", flat=True)),
        BlacklistEntry.objects.count(),
        ExitCase.objects.count(),
        User.objects.filter(is_active=False).count(),
    )

    response = api.post(API + _url(path, docs), payload or {}, content_type="application/json")

    assert response.status_code == status, response.content
    assert (
        list(Agreement.objects.values_list("status", flat=True)),
        list(BusinessCode.objects.values_list("status", flat=True)),
        BlacklistEntry.objects.count(),
        ExitCase.objects.count(),
        User.objects.filter(is_active=False).count(),
    ) == before


def test_api_token_scopes(api, docs):
    world = docs["world"]
    _token, read_only = api_token_create(
        actor=world.pm1, user=world.pm1, label="crm", scopes=["partners.read"]
    )
    headers = {"HTTP_AUTHORIZATION": f"Bearer {read_only}"}

    assert api.get(f"{API}/agreements", **headers).status_code == 200
    response = api.post(
        f"{API}/agreements/{docs['n']}/submit", content_type="application/json", **headers
    )
    assert (response.status_code, response.json()["code"]) == (403, "token_scope")
