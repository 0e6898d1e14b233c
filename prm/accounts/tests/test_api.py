"""The accounts API at /api/v1/accounts/ (R0 API): users and org units, scoped, with one
error shape, offset/limit pagination and token scopes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from prm.accounts.models import OrgUnit, User
from prm.accounts.services import api_token_create
from prm.accounts.tests import factories
from prm.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_a(orgs, make_user):
    return make_user(org=orgs.city_a, roles=("system_admin",), username="admin-a")


@pytest.fixture
def staff_a(orgs, make_user):
    return make_user(
        org=orgs.county_a, roles=("channel_manager",), username="staff-a", display_name="Staff A"
    )


@pytest.fixture
def api(client):
    client.cookies["django_language"] = "en"
    return client


def _bearer(raw):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_openapi_schema_lists_the_endpoints(api):
    response = api.get("/api/v1/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {
        "/api/v1/accounts/me",
        "/api/v1/accounts/users",
        "/api/v1/accounts/users/{username}",
        "/api/v1/accounts/org-units",
        "/api/v1/accounts/org-units/{code}",
        "/api/v1/core/audit-events",
    } <= set(paths)
    assert set(paths["/api/v1/accounts/users/{username}"]) == {"get", "patch"}


def test_me_needs_credentials(api):
    response = api.get("/api/v1/accounts/me")

    assert response.status_code == 401
    assert response.json() == {
        "code": "not_authenticated",
        "message": "Sign in or send a valid API token.",
        "details": {},
    }


def test_me_with_a_token(api, orgs, admin_a):
    _token, raw = api_token_create(actor=None, user=admin_a, label="crm")

    response = api.get("/api/v1/accounts/me", **_bearer(raw))

    assert response.status_code == 200
    assert response.json()["username"] == "admin-a"
    assert response.json()["org"] == {"code": "GZ", "name": "Guangzhou", "kind": "city"}


def test_user_list_pagination_and_total(api, orgs, admin_a):
    for n in range(7):
        factories.user(org=orgs.county_a, username=f"u{n}")
    api.force_login(admin_a)

    response = api.get("/api/v1/accounts/users", {"offset": 2, "limit": 3})

    assert response.status_code == 200
    assert response["X-Total-Count"] == "8"
    assert [user["username"] for user in response.json()] == ["u1", "u2", "u3"]


def test_user_list_fields_and_filters(api, orgs, admin_a, staff_a):
    api.force_login(admin_a)

    response = api.get("/api/v1/accounts/users", {"role": "channel_manager", "q": "staff"})

    assert response.json() == [
        {
            "username": "staff-a",
            "display_name": "Staff A",
            "email": staff_a.email,
            "mobile": staff_a.mobile,
            "org": {"code": "GZ-TH", "name": "Tianhe", "kind": "county"},
            "roles": ["channel_manager"],
            "is_active": True,
            "is_locked": False,
            "must_change_password": False,
            "last_login": None,
        }
    ]


def test_user_list_filter_by_active_and_org(api, orgs, admin_a, staff_a):
    User.objects.filter(pk=staff_a.pk).update(is_active=False)
    api.force_login(admin_a)

    inactive = api.get("/api/v1/accounts/users", {"is_active": "false"})
    in_county = api.get("/api/v1/accounts/users", {"org": "GZ-TH"})

    assert [user["username"] for user in inactive.json()] == ["staff-a"]
    assert [user["username"] for user in in_county.json()] == ["staff-a"]


def test_user_list_runs_constant_queries(api, orgs, admin_a):
    api.force_login(admin_a)
    for _ in range(5):
        factories.user(org=orgs.county_a, roles=("channel_manager",))
    api.get("/api/v1/accounts/users")
    with CaptureQueriesContext(connection) as small:
        api.get("/api/v1/accounts/users")
    for _ in range(20):
        factories.user(org=orgs.county_a, roles=("channel_manager", "finance"))

    with CaptureQueriesContext(connection) as large:
        response = api.get("/api/v1/accounts/users")

    assert len(response.json()) == 26
    assert len(large) == len(small)


def test_org_unit_list_and_detail(api, orgs, make_user):
    api.force_login(make_user(org=orgs.province, roles=("system_admin",)))

    listing = api.get("/api/v1/accounts/org-units", {"kind": "city"})
    detail = api.get("/api/v1/accounts/org-units/GZ-TH")

    assert [org["code"] for org in listing.json()] == ["GZ", "SZ"]
    assert listing["X-Total-Count"] == "2"
    assert detail.json() == {
        "code": "GZ-TH",
        "name": "Tianhe",
        "kind": "county",
        "parent": "GZ",
        "depth": 3,
        "is_active": True,
    }


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 501}, {"offset": -1}])
def test_bad_pagination_is_422_in_the_error_shape(api, orgs, admin_a, params):
    api.force_login(admin_a)

    response = api.get("/api/v1/accounts/users", params)

    assert response.status_code == 422
    body = response.json()
    assert (body["code"], body["message"]) == ("validation_error", "The request is not valid.")
    assert list(body["details"]) == ["errors"]


def test_patch_user_changes_fields_with_audit(api, orgs, admin_a, staff_a):
    api.force_login(admin_a)

    response = api.patch(
        "/api/v1/accounts/users/staff-a",
        {"display_name": "Staff Renamed", "org": "GZ", "roles": ["finance"]},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert (response.json()["display_name"], response.json()["roles"]) == (
        "Staff Renamed",
        ["finance"],
    )
    event = AuditEvent.objects.filter(action="user.updated").latest("id")
    assert event.changes == {
        "display_name": ["Staff A", "Staff Renamed"],
        "org": ["GZ-TH", "GZ"],
        "roles": [["channel_manager"], ["finance"]],
    }


def test_patch_user_disables_and_enables(api, orgs, admin_a, staff_a):
    api.force_login(admin_a)

    disabled = api.patch(
        "/api/v1/accounts/users/staff-a", {"is_active": False}, content_type="application/json"
    )
    enabled = api.patch(
        "/api/v1/accounts/users/staff-a", {"is_active": True}, content_type="application/json"
    )

    assert disabled.json()["is_active"] is False
    assert enabled.json()["is_active"] is True
    assert User.objects.filter(username="staff-a").count() == 1


@pytest.mark.parametrize(
    ("_case", "payload", "status", "code"),
    [
        ("partner role for operator", {"roles": ["field_engineer"]}, 400, "role_audience"),
        ("unknown role", {"roles": ["wizard"]}, 400, "role_unknown"),
        ("unknown org", {"org": "NOPE"}, 400, "org_out_of_scope"),
        ("bad mobile", {"mobile": "12345"}, 422, "validation_error"),
        ("bad e-mail", {"email": "not-an-address"}, 422, "validation_error"),
        ("empty name", {"display_name": ""}, 422, "validation_error"),
    ],
)
def test_patch_user_refusals_change_nothing(
    api, orgs, admin_a, staff_a, _case, payload, status, code
):
    api.force_login(admin_a)
    events = AuditEvent.objects.count()
    before = User.objects.filter(pk=staff_a.pk).values().get()

    response = api.patch("/api/v1/accounts/users/staff-a", payload, content_type="application/json")

    assert response.status_code == status
    assert response.json()["code"] == code
    assert set(response.json()) == {"code", "message", "details"}
    assert User.objects.filter(pk=staff_a.pk).values().get() == before
    assert AuditEvent.objects.count() == events


def test_patch_self_disable_is_refused_and_rolls_back(api, orgs, admin_a):
    name = admin_a.display_name
    api.force_login(admin_a)

    response = api.patch(
        "/api/v1/accounts/users/admin-a",
        {"display_name": "Changed", "is_active": False},
        content_type="application/json",
    )

    admin_a.refresh_from_db()
    assert response.status_code == 400
    assert response.json()["code"] == "disable_self"
    assert (admin_a.display_name, admin_a.is_active) == (name, True)


def test_patch_org_unit_renames_and_refuses_cycles(api, orgs, make_user):
    api.force_login(make_user(org=orgs.province, roles=("system_admin",)))

    renamed = api.patch(
        "/api/v1/accounts/org-units/GZ", {"name": "Canton"}, content_type="application/json"
    )
    cycle = api.patch(
        "/api/v1/accounts/org-units/GZ", {"parent": "GZ-TH"}, content_type="application/json"
    )

    assert renamed.json()["name"] == "Canton"
    assert cycle.status_code == 400
    assert cycle.json()["code"] == "org_parent_cycle"
    assert OrgUnit.objects.get(code="GZ").parent == orgs.province


def test_token_scopes_limit_reads_and_writes(api, orgs, admin_a, staff_a):
    _token, read_only = api_token_create(
        actor=None, user=admin_a, label="reader", scopes=["accounts.read"]
    )
    _token, other = api_token_create(actor=None, user=admin_a, label="other", scopes=["x.read"])

    listing = api.get("/api/v1/accounts/users", **_bearer(read_only))
    patch = api.patch(
        "/api/v1/accounts/users/staff-a",
        {"display_name": "Token Change"},
        content_type="application/json",
        **_bearer(read_only),
    )
    wrong = api.get("/api/v1/accounts/users", **_bearer(other))

    assert listing.status_code == 200
    assert patch.status_code == 403
    assert patch.json()["code"] == "token_scope"
    assert wrong.status_code == 403
    assert User.objects.get(pk=staff_a.pk).display_name == "Staff A"


def test_token_with_write_scope_may_patch(api, orgs, admin_a, staff_a):
    _token, raw = api_token_create(
        actor=None, user=admin_a, label="writer", scopes=["accounts.read", "accounts.write"]
    )

    response = api.patch(
        "/api/v1/accounts/users/staff-a",
        {"mobile": "13900000000"},
        content_type="application/json",
        **_bearer(raw),
    )

    assert response.status_code == 200
    assert User.objects.get(pk=staff_a.pk).mobile == "13900000000"


def test_ids_are_never_exposed(api, orgs, admin_a):
    api.force_login(admin_a)

    users = api.get("/api/v1/accounts/users").json()
    org_units = api.get("/api/v1/accounts/org-units").json()

    assert all("id" not in row and "pk" not in row for row in users + org_units)
    assert all("path" not in row for row in org_units)
