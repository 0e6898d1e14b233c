"""Pages and API of the product catalogue and rebate versions for the four audiences:
anonymous, users without the permission (an account manager reads nothing; a CS agent
reads but changes nothing), another city's channel manager (the catalogue is
operator-wide: they read and change it like their colleagues), and the allowed users."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from prm.accounts.services import api_token_create
from prm.core.models import AuditEvent
from prm.incentives.models import Product, RebateVersion, SettlementRun
from prm.incentives.tests import factories
from prm.incentives.tests.test_channels_fixtures import world_fixture  # noqa: F401

pytestmark = pytest.mark.django_db

P = "/incentives/products"
V = f"{P}/CRBT/versions/2020-01-01"

GET_PAGES = [
    f"{P}/",
    f"{P}/new/",
    f"{P}/CRBT/",
    f"{P}/CRBT/edit/",
    f"{P}/CRBT/versions/new/",
    f"{V}/edit/",
]
POST_PAGES = [f"{V}/delete/"]


@pytest.fixture
def en(client, settings):
    settings.LANGUAGE_CODE = "en"
    client.cookies["django_language"] = "en"
    return client


def _state():
    return (
        list(
            Product.objects.order_by("pk").values_list("code", "name", "monthly_fee", "is_active")
        ),
        list(
            RebateVersion.objects.order_by("pk").values_list(
                "product_id", "rebate", "effective_from", "effective_to", "note"
            )
        ),
        AuditEvent.objects.count(),
    )


def _versions(code="CRBT"):
    return list(
        RebateVersion.objects.filter(product__code=code)
        .order_by("effective_from")
        .values_list("effective_from", "effective_to", "rebate")
    )


# ---- Pages: access ------------------------------------------------------------------------


@pytest.mark.parametrize("path", GET_PAGES + POST_PAGES)
def test_pages_send_anonymous_to_sign_in(client, world, path):
    method = client.post if path in POST_PAGES else client.get

    response = method(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("_case", "who", "path", "status"),
    [
        ("list_city", "cm_a", f"{P}/", 200),
        ("list_other_city", "cm_b", f"{P}/", 200),
        ("list_cs_agent", "cs_agent", f"{P}/", 200),
        ("list_account_manager", "account_manager", f"{P}/", 403),
        ("list_finance", "finance_a", f"{P}/", 403),
        ("new_city", "cm_a", f"{P}/new/", 200),
        ("new_cs_agent", "cs_agent", f"{P}/new/", 403),
        ("new_auditor", "auditor_a", f"{P}/new/", 403),
        ("detail_city", "cm_a", f"{P}/CRBT/", 200),
        ("detail_other_city", "cm_b", f"{P}/CRBT/", 200),
        ("detail_cs_agent", "cs_agent", f"{P}/CRBT/", 200),
        ("detail_auditor", "auditor_a", f"{P}/CRBT/", 200),
        ("detail_unknown", "cm_a", f"{P}/NOPE/", 404),
        ("detail_account_manager", "account_manager", f"{P}/CRBT/", 403),
        ("edit_city", "cm_a", f"{P}/CRBT/edit/", 200),
        ("edit_cs_agent", "cs_agent", f"{P}/CRBT/edit/", 403),
        ("edit_unknown", "cm_a", f"{P}/NOPE/edit/", 404),
        ("version_new_city", "cm_a", f"{P}/CRBT/versions/new/", 200),
        ("version_new_auditor", "auditor_a", f"{P}/CRBT/versions/new/", 403),
        ("version_edit_city", "cm_a", f"{V}/edit/", 200),
        ("version_edit_cs_agent", "cs_agent", f"{V}/edit/", 403),
        ("version_edit_unknown_date", "cm_a", f"{P}/CRBT/versions/2020-01-02/edit/", 404),
        ("version_edit_bad_date", "cm_a", f"{P}/CRBT/versions/yesterday/edit/", 404),
    ],
)
def test_page_access(client, world, _case, who, path, status):
    client.force_login(getattr(world, who))

    response = client.get(path)

    assert response.status_code == status


@pytest.mark.parametrize(
    ("_case", "who", "path", "data", "status"),
    [
        ("create_cs_agent", "cs_agent", f"{P}/new/", "product", 403),
        ("create_account_manager", "account_manager", f"{P}/new/", "product", 403),
        ("edit_auditor", "auditor_a", f"{P}/CRBT/edit/", "product", 403),
        ("version_cs_agent", "cs_agent", f"{P}/CRBT/versions/new/", "version", 403),
        ("version_unknown_product", "cm_a", f"{P}/NOPE/versions/new/", "version", 404),
        ("version_edit_cs_agent", "cs_agent", f"{V}/edit/", {"rebate": "1"}, 403),
        ("version_delete_cs_agent", "cs_agent", f"{V}/delete/", {}, 403),
        ("version_delete_unknown", "cm_a", f"{P}/CRBT/versions/2021-01-01/delete/", {}, 404),
    ],
)
def test_refused_posts_change_nothing(client, world, _case, who, path, data, status):
    bodies = {
        "product": {"code": "NEW", "name": "New", "kind": "sp_business", "monthly_fee": "1"},
        "version": {"rebate": "9", "effective_from": "2026-06-01"},
    }
    client.force_login(getattr(world, who))
    before = _state()

    response = client.post(path, bodies.get(data, data) if isinstance(data, str) else data)

    assert response.status_code == status
    assert _state() == before


# ---- Pages: behaviour ---------------------------------------------------------------------


def test_create_a_product_with_its_first_rule(en, world):
    en.force_login(world.cm_b)

    response = en.post(
        f"{P}/new/",
        {
            "code": "VIDEO",
            "name": "Video pack",
            "kind": "data_package",
            "monthly_fee": "30",
            "is_active": "on",
            "rebate": "6",
            "effective_from": "2026-06-01",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == f"{P}/VIDEO/"
    assert _versions("VIDEO") == [(date(2026, 6, 1), None, Decimal("6.00"))]


def test_edit_a_product(en, world):
    en.force_login(world.cm_a)

    response = en.post(
        f"{P}/CRBT/edit/",
        {"name": "Colour ring", "kind": "sp_business", "monthly_fee": "5.00", "description": ""},
    )

    assert response.status_code == 302
    product = Product.objects.get(code="CRBT")
    assert (product.name, product.is_active) == ("Colour ring", False)  # unchecked box


@pytest.mark.parametrize(
    ("_case", "start", "status", "versions"),
    [
        ("same_day", "2020-01-01", 400, [(date(2020, 1, 1), None, Decimal("4.00"))]),
        (
            "day_after",
            "2020-01-02",
            302,
            [
                (date(2020, 1, 1), date(2020, 1, 1), Decimal("4.00")),
                (date(2020, 1, 2), None, Decimal("5.00")),
            ],
        ),
    ],
)
def test_add_a_version_on_the_page(en, world, _case, start, status, versions):
    en.force_login(world.cm_a)

    response = en.post(f"{P}/CRBT/versions/new/", {"rebate": "5", "effective_from": start})

    assert response.status_code == status
    assert _versions() == versions
    if status == 400:
        assert response.context["form"].errors["effective_from"] == [
            "The current rule of CRBT starts on 2020-01-01: a new rule must start after that day."
        ]


def test_a_frozen_version_shows_fixed_and_refuses_a_correction(en, world):
    SettlementRun.objects.create(
        number="SR-1", period="2026-02", org=world.orgs.city_b, status=SettlementRun.Status.APPROVED
    )
    en.force_login(world.cm_a)
    before = _state()

    page = en.get(f"{P}/CRBT/").content.decode()
    response = en.post(f"{V}/edit/", {"rebate": "9"})
    deleted = en.post(f"{V}/delete/", follow=True)

    assert 'data-testid="frozen-until"' in page
    assert f'href="{V}/edit/"' not in page
    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [
        "Settlements up to 2026-02-28 used this rule: it can no longer change. Add a new rule "
        "from a later date instead."
    ]
    assert [str(m) for m in deleted.context["messages"]] == [
        "Settlements up to 2026-02-28 used this rule: it can no longer change. Add a new rule "
        "from a later date instead."
    ]
    assert _state() == before


def test_correct_and_delete_a_version_on_the_page(en, world):
    factories.product("WBR", rebate="2.00", effective_from=date(2026, 1, 10))
    en.force_login(world.cm_a)
    en.post(f"{P}/WBR/versions/new/", {"rebate": "3", "effective_from": "2026-04-01"})

    corrected = en.post(f"{P}/WBR/versions/2026-04-01/edit/", {"rebate": "3.5", "note": "x"})
    assert corrected.status_code == 302
    assert _versions("WBR")[-1] == (date(2026, 4, 1), None, Decimal("3.50"))

    deleted = en.post(f"{P}/WBR/versions/2026-04-01/delete/")
    assert deleted.status_code == 302
    assert _versions("WBR") == [(date(2026, 1, 10), None, Decimal("2.00"))]


def test_the_list_shows_the_rebate_in_force(client, world):
    client.force_login(world.cs_agent)

    response = client.get(f"{P}/", {"q": "crb"})

    assert [p.code for p in response.context["page"]] == ["CRBT"]
    assert "4.00" in response.content.decode()
    assert 'data-testid="product-new"' not in response.content.decode()


def test_product_list_runs_a_constant_number_of_queries(client, world):
    client.force_login(world.cm_a)
    client.get(f"{P}/")
    with CaptureQueriesContext(connection) as few:
        client.get(f"{P}/")
    for n in range(25):
        product = factories.product(f"P{n:03d}", effective_from=date(2025, 1, 1))
        RebateVersion.objects.filter(product=product).update(effective_to=date(2025, 12, 31))
        RebateVersion.objects.create(product=product, rebate="1", effective_from=date(2026, 1, 1))
    with CaptureQueriesContext(connection) as many:
        response = client.get(f"{P}/")

    assert len(response.context["page"]) == 26
    assert len(many) == len(few)
    assert len(few) <= 15


# ---- API ----------------------------------------------------------------------------------

API = "/api/v1/incentives/products"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", ""),
        ("get", "/CRBT"),
        ("get", "/CRBT/versions"),
        ("post", ""),
        ("patch", "/CRBT"),
        ("post", "/CRBT/versions"),
    ],
)
def test_api_needs_credentials(en, world, method, path):
    before = _state()

    response = getattr(en, method)(API + path, {}, content_type="application/json")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert _state() == before


@pytest.mark.parametrize(
    ("_case", "who", "path", "status"),
    [
        ("list_city", "cm_a", "", 200),
        ("list_other_city", "cm_b", "", 200),
        ("list_cs_agent", "cs_agent", "", 200),
        ("list_account_manager", "account_manager", "", 403),
        ("detail_cs_agent", "cs_agent", "/CRBT", 200),
        ("detail_unknown", "cm_a", "/NOPE", 404),
        ("detail_account_manager", "account_manager", "/CRBT", 403),
        ("versions_city", "cm_a", "/CRBT/versions", 200),
        ("versions_account_manager", "account_manager", "/CRBT/versions", 403),
        ("versions_unknown", "cm_a", "/NOPE/versions", 404),
    ],
)
def test_api_get_access(en, world, _case, who, path, status):
    en.force_login(getattr(world, who))

    response = en.get(API + path)

    assert response.status_code == status, response.content


def test_api_list_and_detail(en, world):
    en.force_login(world.cs_agent)

    listed = en.get(API, {"kind": "sp_business", "active": "true"})
    detail = en.get(f"{API}/CRBT").json()

    assert listed["X-Total-Count"] == "1"
    assert detail["current_rebate"] == {
        "rebate": "4.00",
        "effective_from": "2020-01-01",
        "effective_to": None,
    }
    assert (detail["monthly_fee"], detail["is_active"]) == ("5.00", True)


def test_api_create_patch_and_version(en, world):
    en.force_login(world.cm_a)

    created = en.post(
        API,
        {"code": "VIDEO", "name": "Video", "kind": "data_package", "monthly_fee": "30"},
        content_type="application/json",
    )
    patched = en.patch(
        f"{API}/VIDEO", {"is_active": False, "description": "HD"}, content_type="application/json"
    )
    version = en.post(
        f"{API}/VIDEO/versions",
        {"rebate": "6", "effective_from": "2026-06-01", "note": "launch"},
        content_type="application/json",
    )
    versions = en.get(f"{API}/VIDEO/versions").json()

    assert created.status_code == 201, created.content
    assert created.json()["current_rebate"] is None
    assert patched.status_code == 200, patched.content
    assert (patched.json()["is_active"], patched.json()["description"]) == (False, "HD")
    assert version.status_code == 201, version.content
    assert versions == [
        {
            "rebate": "6.00",
            "effective_from": "2026-06-01",
            "effective_to": None,
            "note": "launch",
            "is_frozen": False,
            "created_at": versions[0]["created_at"],
        }
    ]


@pytest.mark.parametrize(
    ("_case", "who", "method", "path", "body", "status", "code"),
    [
        ("create_cs_agent", "cs_agent", "post", "", "product", 403, "forbidden"),
        ("create_duplicate", "cm_a", "post", "", {"code": "CRBT"}, 409, "product_code_taken"),
        ("create_bad_fee", "cm_a", "post", "", {"monthly_fee": "-1"}, 400, "invalid_amount"),
        ("patch_cs_agent", "cs_agent", "patch", "/CRBT", {"name": "x"}, 403, "forbidden"),
        ("patch_unknown", "cm_a", "patch", "/NOPE", {"name": "x"}, 404, "not_found"),
        ("patch_bad_kind", "cm_a", "patch", "/CRBT", {"kind": "voice"}, 400, "invalid_kind"),
        ("version_same_day", "cm_a", "post", "/CRBT/versions", "same_day", 409,
         "rebate_version_not_after_latest"),
        ("version_frozen", "cm_a", "post", "/CRBT/versions", "frozen", 409,
         "rebate_version_frozen"),
        ("version_cs_agent", "cs_agent", "post", "/CRBT/versions", "later", 403, "forbidden"),
        ("version_bad_date", "cm_a", "post", "/CRBT/versions", "bad_date", 422,
         "validation_error"),
    ],
)  # fmt: skip
def test_api_refused_writes_change_nothing(en, world, _case, who, method, path, body, status, code):
    SettlementRun.objects.create(
        number="SR-1", period="2026-02", org=world.city_a, status=SettlementRun.Status.SUBMITTED
    )
    bodies = {
        "product": {"code": "NEW", "name": "N", "kind": "sp_business", "monthly_fee": "1"},
        "same_day": {"rebate": "5", "effective_from": "2020-01-01"},
        "frozen": {"rebate": "5", "effective_from": "2026-02-28"},
        "later": {"rebate": "5", "effective_from": "2026-03-01"},
        "bad_date": {"rebate": "5", "effective_from": "2026-02-30"},
    }
    if isinstance(body, str):
        body = bodies[body]
    elif method == "post" and path == "":
        body = {**bodies["product"], **body}
    en.force_login(getattr(world, who))
    before = _state()

    response = getattr(en, method)(API + path, body, content_type="application/json")

    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert _state() == before


def test_api_version_the_day_after_the_frozen_period(en, world):
    SettlementRun.objects.create(
        number="SR-1", period="2026-02", org=world.city_a, status=SettlementRun.Status.APPROVED
    )
    en.force_login(world.cm_a)

    response = en.post(
        f"{API}/CRBT/versions",
        {"rebate": "5", "effective_from": "2026-03-01"},
        content_type="application/json",
    )
    listed = en.get(f"{API}/CRBT/versions").json()

    assert response.status_code == 201
    assert [(v["effective_to"], v["is_frozen"]) for v in listed] == [
        ("2026-02-28", True),
        (None, False),
    ]


def test_api_token_scopes(en, world):
    _token, read_only = api_token_create(
        actor=world.cm_a, user=world.cm_a, label="crm", scopes=["incentives.read"]
    )
    headers = {"HTTP_AUTHORIZATION": f"Bearer {read_only}"}
    before = _state()

    read = en.get(f"{API}/CRBT", **headers)
    write = en.post(
        f"{API}/CRBT/versions",
        {"rebate": "5", "effective_from": "2026-03-01"},
        content_type="application/json",
        **headers,
    )

    assert read.status_code == 200
    assert (write.status_code, write.json()["code"]) == (403, "token_scope")
    assert _state() == before


def test_api_list_runs_a_constant_number_of_queries(en, world):
    en.force_login(world.cm_a)
    en.get(API)
    with CaptureQueriesContext(connection) as few:
        en.get(API)
    for n in range(20):
        factories.product(f"P{n:03d}")
    with CaptureQueriesContext(connection) as many:
        response = en.get(API)

    assert len(response.json()) == 21
    assert len(many) == len(few)
