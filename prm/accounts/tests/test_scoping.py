"""Data scoping of the console and the accounts API (R0): a city admin never sees or
changes another city's users or org units; HQ and province admins see both cities;
partner admins see only their own partner."""

import pytest
from django.urls import reverse

from prm.accounts.models import OrgUnit, User
from prm.accounts.tests import factories
from prm.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def cities(orgs, make_user):
    """A system admin in city A, and a user of each city."""
    return {
        "admin_a": make_user(org=orgs.city_a, roles=("system_admin",), username="admin-a"),
        "user_a": make_user(org=orgs.county_a, roles=("channel_manager",), username="staff-a"),
        "user_b": make_user(org=orgs.county_b, roles=("channel_manager",), username="staff-b"),
    }


def _snapshot_user(username):
    user = User.objects.get(username=username)
    return (user.display_name, user.email, user.mobile, user.org_id, user.is_active)


def _snapshot_org(code):
    org = OrgUnit.objects.get(code=code)
    return (org.name, org.parent_id, org.path, org.is_active)


# --- UI ------------------------------------------------------------------------------


def test_ui_user_list_excludes_other_city(client, orgs, cities):
    client.force_login(cities["admin_a"])

    response = client.get(reverse("console:user_list"))

    assert response.status_code == 200
    usernames = [user.username for user in response.context["page"]]
    assert usernames == ["admin-a", "staff-a"]
    assert b"staff-b" not in response.content


def test_ui_org_list_excludes_other_city(client, orgs, cities):
    client.force_login(cities["admin_a"])

    response = client.get(reverse("console:org_list"))

    assert [org.code for org in response.context["page"]] == ["GZ", "GZ-TH"]


@pytest.mark.parametrize(
    ("url_name", "kwargs"),
    [
        ("console:user_detail", {"username": "staff-b"}),
        ("console:user_edit", {"username": "staff-b"}),
        ("console:org_detail", {"code": "SZ"}),
        ("console:org_edit", {"code": "SZ-NS"}),
        ("console:org_detail", {"code": "GD"}),
    ],
)
def test_ui_detail_of_other_city_is_404(client, orgs, cities, url_name, kwargs):
    client.force_login(cities["admin_a"])

    response = client.get(reverse(url_name, kwargs=kwargs))

    assert response.status_code == 404


def test_ui_user_edit_of_other_city_is_404_and_changes_nothing(client, orgs, cities):
    client.force_login(cities["admin_a"])
    before = _snapshot_user("staff-b")
    events = AuditEvent.objects.count()

    response = client.post(
        reverse("console:user_edit", kwargs={"username": "staff-b"}),
        {"display_name": "Hacked", "email": "", "mobile": "", "org": "GZ"},
    )

    assert response.status_code == 404
    assert _snapshot_user("staff-b") == before
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("action", ["disable", "enable", "unlock", "password_reset"])
def test_ui_user_actions_on_other_city_are_404(client, orgs, cities, action):
    client.force_login(cities["admin_a"])
    staff_b = User.objects.get(username="staff-b")
    password = staff_b.password
    events = AuditEvent.objects.count()

    response = client.post(reverse(f"console:user_{action}", kwargs={"username": "staff-b"}))

    assert response.status_code == 404
    staff_b.refresh_from_db()
    assert (staff_b.is_active, staff_b.password) == (True, password)
    assert AuditEvent.objects.count() == events


def test_ui_org_edit_of_other_city_is_404_and_changes_nothing(client, orgs, cities):
    client.force_login(cities["admin_a"])
    before = _snapshot_org("SZ-NS")

    response = client.post(
        reverse("console:org_edit", kwargs={"code": "SZ-NS"}),
        {"name": "Hacked", "parent": "GZ", "is_active": ""},
    )

    assert response.status_code == 404
    assert _snapshot_org("SZ-NS") == before


def test_ui_user_cannot_be_moved_to_other_city(client, orgs, cities):
    # Given a user of city A; when the city A admin names city B's org unit (a forbidden
    # id); then the form says so and nothing is written.
    client.force_login(cities["admin_a"])
    before = _snapshot_user("staff-a")
    events = AuditEvent.objects.count()

    response = client.post(
        reverse("console:user_edit", kwargs={"username": "staff-a"}),
        {"display_name": "Moved", "email": "", "mobile": "", "org": "SZ-NS"},
    )

    assert response.status_code == 200
    assert [e.code for e in response.context["form"].errors.as_data()["org"]] == ["invalid_choice"]
    assert b'data-field="org"' in response.content
    assert _snapshot_user("staff-a") == before
    assert AuditEvent.objects.count() == events


def test_ui_org_cannot_be_created_under_other_city(client, orgs, cities):
    client.force_login(cities["admin_a"])
    count = OrgUnit.objects.count()

    response = client.post(
        reverse("console:org_create"),
        {"code": "SZ-NEW", "name": "New", "kind": "county", "parent": "SZ"},
    )

    assert response.status_code == 200
    assert "parent" in response.context["form"].errors
    assert OrgUnit.objects.count() == count


def test_ui_province_admin_sees_both_cities(client, orgs, cities, make_user):
    admin = make_user(org=orgs.province, roles=("system_admin",), username="admin-gd")
    client.force_login(admin)

    users = client.get(reverse("console:user_list")).context["page"]
    detail = client.get(reverse("console:user_detail", kwargs={"username": "staff-b"}))

    assert [user.username for user in users] == ["admin-a", "admin-gd", "staff-a", "staff-b"]
    assert detail.status_code == 200


def test_ui_hq_admin_sees_every_operator_org(client, orgs, make_user):
    admin = make_user(org=orgs.hq, roles=("system_admin",))
    client.force_login(admin)

    orgs_seen = client.get(reverse("console:org_list")).context["page"]

    assert [org.code for org in orgs_seen] == ["HQ", "GD", "GZ", "GZ-TH", "SZ", "SZ-NS"]


def test_ui_partner_admin_sees_only_own_partner(client, orgs, make_user):
    office = factories.org_unit(kind="office", parent=orgs.partner, code="PA-OFF")
    admin = make_user(org=orgs.partner, roles=("partner_admin",), username="pa-admin")
    make_user(org=office, roles=("partner_staff",), username="pa-staff")
    make_user(org=orgs.other_partner, roles=("partner_staff",), username="pb-staff")
    make_user(org=orgs.city_a, roles=("channel_manager",), username="operator-staff")
    client.force_login(admin)

    users = client.get(reverse("console:user_list")).context["page"]
    other = client.get(reverse("console:user_detail", kwargs={"username": "pb-staff"}))
    operator = client.get(reverse("console:user_detail", kwargs={"username": "operator-staff"}))

    assert [user.username for user in users] == ["pa-admin", "pa-staff"]
    assert other.status_code == 404
    assert operator.status_code == 404


@pytest.mark.parametrize(
    ("url_name", "kwargs"),
    [
        ("console:user_list", {}),
        ("console:user_detail", {"username": "staff-a"}),
        ("console:org_list", {}),
        ("console:org_detail", {"code": "GZ"}),
        ("console:role_list", {}),
    ],
)
def test_ui_anonymous_is_sent_to_login(client, orgs, cities, url_name, kwargs):
    url = reverse(url_name, kwargs=kwargs)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={url}"


@pytest.mark.parametrize(
    ("url_name", "kwargs"),
    [
        ("console:user_list", {}),
        ("console:user_detail", {"username": "staff-a"}),
        ("console:user_create", {}),
        ("console:org_list", {}),
        ("console:org_create", {}),
        ("console:role_list", {}),
    ],
)
def test_ui_user_without_permission_gets_403(client, orgs, cities, make_user, url_name, kwargs):
    agent = make_user(org=orgs.city_a, roles=("cs_agent",))
    client.force_login(agent)

    response = client.get(reverse(url_name, kwargs=kwargs))

    assert response.status_code == 403
    assert b'data-testid="forbidden"' in response.content


# --- API -----------------------------------------------------------------------------


def test_api_user_list_excludes_other_city(client, orgs, cities):
    client.force_login(cities["admin_a"])

    response = client.get("/api/v1/accounts/users")

    assert response.status_code == 200
    assert [user["username"] for user in response.json()] == ["admin-a", "staff-a"]
    assert response["X-Total-Count"] == "2"


def test_api_org_list_excludes_other_city(client, orgs, cities):
    client.force_login(cities["admin_a"])

    response = client.get("/api/v1/accounts/org-units")

    assert [org["code"] for org in response.json()] == ["GZ", "GZ-TH"]


@pytest.mark.parametrize(
    "path", ["/api/v1/accounts/users/staff-b", "/api/v1/accounts/org-units/SZ-NS"]
)
def test_api_detail_of_other_city_is_404(client, orgs, cities, path):
    client.force_login(cities["admin_a"])
    client.cookies["django_language"] = "en"

    response = client.get(path)

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "Not found.", "details": {}}


def test_api_patch_user_of_other_city_is_404_and_changes_nothing(client, orgs, cities):
    client.force_login(cities["admin_a"])
    before = _snapshot_user("staff-b")

    response = client.patch(
        "/api/v1/accounts/users/staff-b",
        {"display_name": "Hacked", "is_active": False},
        content_type="application/json",
    )

    assert response.status_code == 404
    assert _snapshot_user("staff-b") == before


def test_api_patch_org_of_other_city_is_404_and_changes_nothing(client, orgs, cities):
    client.force_login(cities["admin_a"])
    before = _snapshot_org("SZ")

    response = client.patch(
        "/api/v1/accounts/org-units/SZ", {"name": "Hacked"}, content_type="application/json"
    )

    assert response.status_code == 404
    assert _snapshot_org("SZ") == before


def test_api_patch_user_into_other_city_is_refused(client, orgs, cities):
    client.force_login(cities["admin_a"])
    before = _snapshot_user("staff-a")

    response = client.patch(
        "/api/v1/accounts/users/staff-a",
        {"display_name": "Moved", "org": "SZ-NS"},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "org_out_of_scope"
    assert response.json()["details"] == {"field": "org"}
    assert _snapshot_user("staff-a") == before


def test_api_province_admin_sees_both_cities(client, orgs, cities, make_user):
    client.force_login(make_user(org=orgs.province, roles=("system_admin",)))

    response = client.get("/api/v1/accounts/users/staff-b")

    assert response.status_code == 200
    assert response.json()["org"]["code"] == "SZ-NS"


def test_api_partner_admin_sees_only_own_partner(client, orgs, make_user):
    admin = make_user(org=orgs.partner, roles=("partner_admin",), username="pa-admin")
    make_user(org=orgs.other_partner, roles=("partner_staff",), username="pb-staff")
    client.force_login(admin)

    listing = client.get("/api/v1/accounts/users")
    other = client.get("/api/v1/accounts/users/pb-staff")

    assert [user["username"] for user in listing.json()] == ["pa-admin"]
    assert other.status_code == 404


@pytest.mark.parametrize(
    "path", ["/api/v1/accounts/users", "/api/v1/accounts/org-units", "/api/v1/accounts/users/x"]
)
def test_api_anonymous_gets_401(client, orgs, path):
    response = client.get(path)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_api_user_without_permission_gets_403(client, orgs, cities, make_user):
    client.force_login(make_user(org=orgs.city_a, roles=("cs_agent",)))
    client.cookies["django_language"] = "en"
    before = _snapshot_user("staff-a")

    listing = client.get("/api/v1/accounts/users")
    patch = client.patch(
        "/api/v1/accounts/users/staff-a", {"display_name": "X"}, content_type="application/json"
    )

    assert listing.status_code == 403
    assert listing.json() == {
        "code": "forbidden",
        "message": "You do not have permission to do this.",
        "details": {},
    }
    assert patch.status_code == 403
    assert _snapshot_user("staff-a") == before
