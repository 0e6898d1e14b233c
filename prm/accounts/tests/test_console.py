"""The administration console: org units, users and roles (R0 4A)."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.auth.password_validation import validate_password
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from prm.accounts.models import ApiToken, OrgUnit, Role, User
from prm.accounts.selectors import role_permission_codes
from prm.accounts.services import api_token_create, password_generate
from prm.accounts.tests import factories
from prm.core.audit import audit_event_create
from prm.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_a(orgs, make_user):
    return make_user(org=orgs.city_a, roles=("system_admin",), username="admin-a")


@pytest.fixture
def staff_a(orgs, make_user):
    return make_user(org=orgs.county_a, roles=("channel_manager",), username="staff-a")


def _last_event(action):
    return AuditEvent.objects.filter(action=action).order_by("-id").first()


# --- Lists: constant queries ---------------------------------------------------------


def _count_queries(client, url):
    client.get(url)  # warm the per-process caches (demo flag) out of the count
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_user_list_runs_constant_queries(client, orgs, admin_a):
    client.force_login(admin_a)
    for _ in range(5):
        factories.user(org=orgs.county_a, roles=("channel_manager", "finance"))
    small = _count_queries(client, reverse("console:user_list"))
    for _ in range(20):
        factories.user(org=orgs.county_a, roles=("channel_manager",))

    large = _count_queries(client, reverse("console:user_list"))

    assert large == small


def test_org_list_runs_constant_queries(client, orgs, admin_a):
    client.force_login(admin_a)
    for _ in range(5):
        factories.org_unit(kind="county", parent=orgs.city_a)
    small = _count_queries(client, reverse("console:org_list"))
    for _ in range(20):
        factories.org_unit(kind="county", parent=orgs.city_a)

    large = _count_queries(client, reverse("console:org_list"))

    assert large == small


def test_user_list_is_paginated_by_50(client, orgs, admin_a):
    for _ in range(55):
        factories.user(org=orgs.county_a)
    client.force_login(admin_a)

    first = client.get(reverse("console:user_list"))
    second = client.get(reverse("console:user_list"), {"page": 2})

    assert len(first.context["page"].object_list) == 50
    assert len(second.context["page"].object_list) == 6
    assert first.content.count(b'data-testid="user-row"') == 50


@pytest.mark.parametrize(
    ("_case", "params", "expected"),
    [
        ("search by name", {"q": "Staff A"}, ["staff-a"]),
        ("by org subtree", {"org": "GZ-TH"}, ["staff-a"]),
        ("by role", {"role": "system_admin"}, ["admin-a"]),
        ("disabled only", {"active": "0"}, ["gone"]),
        ("active only", {"active": "1"}, ["admin-a", "staff-a"]),
        ("org outside scope", {"org": "SZ"}, []),
    ],
)
def test_user_list_filters(client, orgs, admin_a, make_user, _case, params, expected):
    make_user(
        org=orgs.county_a, roles=("channel_manager",), username="staff-a", display_name="Staff A"
    )
    make_user(
        org=orgs.county_b,
        roles=("channel_manager",),
        username="staff-b",
        display_name="Staff A too",
    )
    User.objects.filter(pk=make_user(org=orgs.city_a, username="gone").pk).update(is_active=False)
    client.force_login(admin_a)

    response = client.get(reverse("console:user_list"), params)

    assert [user.username for user in response.context["page"]] == expected


def test_user_list_htmx_returns_the_table_only(client, orgs, admin_a):
    client.force_login(admin_a)

    response = client.get(reverse("console:user_list"), {"q": "admin"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert b"<html" not in response.content
    assert response.content.count(b'data-testid="user-row"') == 1


def test_org_list_filters_by_kind_and_text(client, orgs, make_user):
    client.force_login(make_user(org=orgs.province, roles=("system_admin",)))

    by_kind = client.get(reverse("console:org_list"), {"kind": "county"})
    by_text = client.get(reverse("console:org_list"), {"q": "shen"})

    assert [org.code for org in by_kind.context["page"]] == ["GZ-TH", "SZ-NS"]
    assert [org.code for org in by_text.context["page"]] == ["SZ"]


# --- Org units -----------------------------------------------------------------------


def test_org_detail_shows_children_and_users(client, orgs, admin_a, staff_a):
    client.force_login(admin_a)

    response = client.get(reverse("console:org_detail", kwargs={"code": "GZ"}))

    assert response.status_code == 200
    assert [child.code for child in response.context["children"]] == ["GZ-TH"]
    assert [user.username for user in response.context["users"]] == ["admin-a"]


def test_org_create_under_own_subtree(client, orgs, admin_a):
    client.force_login(admin_a)

    response = client.post(
        reverse("console:org_create"),
        {"code": "GZ-YX", "name": "Yuexiu", "kind": "county", "parent": "GZ"},
    )

    org = OrgUnit.objects.get(code="GZ-YX")
    assert response.status_code == 302
    assert response["Location"] == reverse("console:org_detail", kwargs={"code": "GZ-YX"})
    assert (org.parent_id, org.path, org.depth) == (
        orgs.city_a.pk,
        f"{orgs.city_a.path}{org.pk}/",
        3,
    )
    assert _last_event("org_unit.created").actor_username == "admin-a"


def test_org_create_refuses_wrong_kind_under_parent(client, orgs, admin_a):
    client.force_login(admin_a)
    count = OrgUnit.objects.count()

    response = client.post(
        reverse("console:org_create"),
        {"code": "GZ-X", "name": "X", "kind": "province", "parent": "GZ"},
    )

    assert response.status_code == 200
    assert b'data-testid="form-error"' in response.content
    assert OrgUnit.objects.count() == count


def test_org_edit_renames_with_audit(client, orgs, admin_a):
    client.force_login(admin_a)

    response = client.post(
        reverse("console:org_edit", kwargs={"code": "GZ-TH"}),
        {"name": "Tianhe District", "parent": "GZ", "is_active": "on"},
    )

    assert response.status_code == 302
    assert OrgUnit.objects.get(code="GZ-TH").name == "Tianhe District"
    assert _last_event("org_unit.updated").changes == {"name": ["Tianhe", "Tianhe District"]}


def test_org_edit_moves_subtree(client, orgs, make_user):
    # Given a city with a county; when the HQ admin moves the city to another province,
    # then the whole subtree's paths and depths follow.
    other_province = factories.org_unit(kind="province", parent=orgs.hq, code="FJ")
    client.force_login(make_user(org=orgs.hq, roles=("system_admin",)))

    response = client.post(
        reverse("console:org_edit", kwargs={"code": "GZ"}),
        {"name": "Guangzhou", "parent": "FJ", "is_active": "on"},
    )

    city, county = OrgUnit.objects.get(code="GZ"), OrgUnit.objects.get(code="GZ-TH")
    assert response.status_code == 302
    assert city.path == f"{other_province.path}{city.pk}/"
    assert county.path == f"{other_province.path}{city.pk}/{county.pk}/"
    assert (city.depth, county.depth) == (2, 3)
    assert _last_event("org_unit.updated").changes == {"parent": ["GD", "FJ"]}


def test_org_edit_refuses_move_under_own_child(client, orgs, make_user):
    admin = make_user(org=orgs.province, roles=("system_admin",))
    client.force_login(admin)
    before = OrgUnit.objects.get(code="GZ").path

    response = client.post(
        reverse("console:org_edit", kwargs={"code": "GZ"}),
        {"name": "Guangzhou", "parent": "GZ-TH", "is_active": "on"},
    )

    assert response.status_code == 200
    assert b'data-field="parent"' in response.content
    assert OrgUnit.objects.get(code="GZ").path == before


def test_org_edit_of_own_root_has_no_parent_field(client, orgs, admin_a):
    client.force_login(admin_a)

    response = client.post(
        reverse("console:org_edit", kwargs={"code": "GZ"}),
        {"name": "Guangzhou City", "is_active": "on"},
    )

    assert response.status_code == 302
    assert OrgUnit.objects.get(code="GZ").name == "Guangzhou City"


# --- Users ---------------------------------------------------------------------------


def test_user_create_shows_initial_password_once(client, orgs, admin_a):
    client.force_login(admin_a)

    response = client.post(
        reverse("console:user_create"),
        {
            "username": "newbie",
            "display_name": "New Bie",
            "email": "newbie@example.com",
            "mobile": "13912345678",
            "org": "GZ-TH",
            "roles": ["channel_manager"],
        },
    )

    user = User.objects.get(username="newbie")
    password = response.context["password"]
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert password.encode() in response.content
    assert user.check_password(password)
    assert user.must_change_password is True
    assert user.role_codes == {"channel_manager"}
    assert user.org == orgs.county_a
    assert password not in str(_last_event("user.created").changes)


def test_user_create_refuses_role_of_other_audience(client, orgs, admin_a):
    client.force_login(admin_a)
    count = User.objects.count()

    response = client.post(
        reverse("console:user_create"),
        {"username": "p", "display_name": "P", "org": "GZ", "roles": ["field_engineer"]},
    )

    assert response.status_code == 200
    assert "roles" in response.context["form"].errors
    assert User.objects.count() == count


@pytest.mark.parametrize("username", ["new", "a/b", "with space"])
def test_user_create_refuses_bad_usernames(client, orgs, admin_a, username):
    client.force_login(admin_a)
    count = User.objects.count()

    response = client.post(
        reverse("console:user_create"),
        {"username": username, "display_name": "X", "org": "GZ"},
    )

    assert "username" in response.context["form"].errors
    assert User.objects.count() == count


def test_user_detail_shows_status_roles_and_tokens(client, orgs, admin_a, staff_a):
    api_token_create(actor=admin_a, user=staff_a, label="billing feed", scopes=["accounts.read"])
    User.objects.filter(pk=staff_a.pk).update(locked_until=timezone.now() + timezone.timedelta(1))
    client.force_login(admin_a)

    response = client.get(reverse("console:user_detail", kwargs={"username": "staff-a"}))

    assert response.status_code == 200
    assert [role.code for role in response.context["roles"]] == ["channel_manager"]
    assert [token.label for token in response.context["tokens"]] == ["billing feed"]
    assert b'data-testid="status-locked"' in response.content
    assert b'data-testid="user-unlock"' in response.content


def test_user_detail_shows_the_users_history(client, orgs, admin_a, staff_a):
    audit_event_create(
        actor=None, actor_username="staff-a", action="auth.login_failed", target=staff_a
    )
    client.force_login(admin_a)

    response = client.get(reverse("console:user_detail", kwargs={"username": "staff-a"}))

    assert [event.action for event in response.context["history"]] == [
        "auth.login_failed",
        "user.created",
    ]


def test_user_edit_records_old_and_new_values(client, orgs, admin_a, staff_a):
    old_name = staff_a.display_name
    client.force_login(admin_a)

    response = client.post(
        reverse("console:user_edit", kwargs={"username": "staff-a"}),
        {
            "display_name": "Staff Renamed",
            "email": staff_a.email,
            "mobile": staff_a.mobile,
            "org": "GZ",
            "roles": ["channel_manager", "finance"],
        },
    )

    staff_a = User.objects.get(pk=staff_a.pk)
    assert response.status_code == 302
    assert (staff_a.display_name, staff_a.org.code) == ("Staff Renamed", "GZ")
    assert staff_a.role_codes == {"channel_manager", "finance"}
    assert _last_event("user.updated").changes == {
        "display_name": [old_name, "Staff Renamed"],
        "org": ["GZ-TH", "GZ"],
        "roles": [["channel_manager"], ["channel_manager", "finance"]],
    }


def test_disable_keeps_the_user_and_their_history(client, orgs, admin_a, staff_a):
    token, _raw = api_token_create(actor=admin_a, user=staff_a, label="t")
    history = AuditEvent.objects.filter(target_id=str(staff_a.pk)).count()
    client.force_login(admin_a)

    response = client.post(reverse("console:user_disable", kwargs={"username": "staff-a"}))

    staff_a.refresh_from_db()
    assert response.status_code == 302
    assert staff_a.is_active is False
    assert AuditEvent.objects.filter(target_id=str(staff_a.pk)).count() == history + 1
    assert _last_event("user.disabled").changes == {"is_active": [True, False]}
    assert ApiToken.objects.get(pk=token.pk).is_valid() is False


def test_disabled_user_cannot_sign_in_or_use_the_api(client, orgs, admin_a, staff_a):
    from prm.accounts.services import user_disable

    user_disable(actor=admin_a, user=staff_a)

    client.force_login(staff_a)
    response = client.get("/api/v1/accounts/me")

    assert response.status_code == 401


def test_enable_after_disable(client, orgs, admin_a, staff_a):
    client.force_login(admin_a)
    client.post(reverse("console:user_disable", kwargs={"username": "staff-a"}))

    client.post(reverse("console:user_enable", kwargs={"username": "staff-a"}))

    staff_a.refresh_from_db()
    assert staff_a.is_active is True
    assert _last_event("user.enabled").changes == {"is_active": [False, True]}


def test_admin_cannot_disable_themself(client, orgs, admin_a):
    client.force_login(admin_a)
    client.cookies["django_language"] = "en"
    events = AuditEvent.objects.count()

    response = client.post(
        reverse("console:user_disable", kwargs={"username": "admin-a"}), follow=True
    )

    admin_a.refresh_from_db()
    assert admin_a.is_active is True
    assert AuditEvent.objects.count() == events
    assert [str(m) for m in response.context["messages"]] == [
        "You cannot disable your own account."
    ]


def test_unlock_lifts_the_lock(client, orgs, admin_a, staff_a):
    User.objects.filter(pk=staff_a.pk).update(
        locked_until=timezone.now() + timezone.timedelta(minutes=10)
    )
    client.force_login(admin_a)

    client.post(reverse("console:user_unlock", kwargs={"username": "staff-a"}))

    staff_a.refresh_from_db()
    assert staff_a.is_locked() is False
    assert _last_event("user.unlocked").actor_username == "admin-a"


def test_unlock_of_unlocked_user_changes_nothing(client, orgs, admin_a, staff_a):
    client.force_login(admin_a)
    events = AuditEvent.objects.count()

    client.post(reverse("console:user_unlock", kwargs={"username": "staff-a"}))

    assert AuditEvent.objects.count() == events


def test_password_reset_gives_a_new_initial_password(client, orgs, admin_a, staff_a):
    client.force_login(admin_a)

    response = client.post(reverse("console:user_password_reset", kwargs={"username": "staff-a"}))

    staff_a.refresh_from_db()
    password = response.context["password"]
    assert "no-store" in response["Cache-Control"]
    assert staff_a.check_password(password)
    assert staff_a.check_password(factories.DEFAULT_PASSWORD) is False
    assert staff_a.must_change_password is True
    event = _last_event("user.password_reset")
    assert event.changes == {"must_change_password": [False, True], "password": "reset"}


def test_generated_passwords_meet_the_policy():
    for _ in range(20):
        password = password_generate()
        validate_password(password)
        assert len(password) == 14


@pytest.mark.parametrize(
    "url_name", ["user_disable", "user_enable", "user_unlock", "user_password_reset"]
)
def test_user_actions_need_post(client, orgs, admin_a, staff_a, url_name):
    client.force_login(admin_a)

    response = client.get(reverse(f"console:{url_name}", kwargs={"username": "staff-a"}))

    assert response.status_code == 405


def test_partner_admin_may_read_but_not_manage_users(client, orgs, make_user):
    admin = make_user(org=orgs.partner, roles=("partner_admin",))
    staff = make_user(org=orgs.partner, roles=("partner_staff",), username="pa-staff")
    client.force_login(admin)

    detail = client.get(reverse("console:user_detail", kwargs={"username": "pa-staff"}))
    disable = client.post(reverse("console:user_disable", kwargs={"username": "pa-staff"}))

    staff.refresh_from_db()
    assert detail.status_code == 200
    assert disable.status_code == 403
    assert staff.is_active is True


# --- Roles ---------------------------------------------------------------------------


def test_role_list_and_detail(client, orgs, admin_a):
    client.force_login(admin_a)

    listing = client.get(reverse("console:role_list"))
    detail = client.get(reverse("console:role_detail", kwargs={"code": "auditor"}))

    assert listing.content.count(b'data-testid="role-row"') == Role.objects.count()
    assert detail.status_code == 200
    assert b'value="core.view_auditevent"' in detail.content


def test_role_permissions_can_be_ticked_and_unticked(client, orgs, admin_a):
    client.force_login(admin_a)
    role = Role.objects.get(code="auditor")
    before = sorted(role_permission_codes(role=role))

    response = client.post(
        reverse("console:role_detail", kwargs={"code": "auditor"}),
        {"permissions": ["accounts.view_orgunit", "core.view_auditevent"]},
    )

    assert response.status_code == 302
    assert role_permission_codes(role=role) == {"accounts.view_orgunit", "core.view_auditevent"}
    assert _last_event("role.permissions_set").changes == {
        "permissions": [before, ["accounts.view_orgunit", "core.view_auditevent"]]
    }


def test_role_permission_not_held_cannot_be_granted(client, orgs, admin_a):
    client.force_login(admin_a)
    role = Role.objects.get(code="cs_agent")
    before = role_permission_codes(role=role)

    client.post(
        reverse("console:role_detail", kwargs={"code": "cs_agent"}),
        {"permissions": ["accounts.delete_user"]},
    )

    assert role_permission_codes(role=role) == before
    assert "accounts.delete_user" not in before


def test_system_admin_role_keeps_role_management(client, orgs, admin_a):
    client.force_login(admin_a)
    role = Role.objects.get(code="system_admin")
    before = role_permission_codes(role=role)

    client.post(
        reverse("console:role_detail", kwargs={"code": "system_admin"}),
        {"permissions": ["accounts.view_user"]},
    )

    assert role_permission_codes(role=role) == before


def test_role_permissions_need_manage_role(client, orgs, make_user):
    auditor = make_user(org=orgs.province, roles=("auditor",))
    role = Role.objects.get(code="auditor")
    role.group.permissions.add(Permission.objects.get(codename="view_role"))
    before = role_permission_codes(role=role)
    client.force_login(auditor)

    view = client.get(reverse("console:role_detail", kwargs={"code": "auditor"}))
    post = client.post(reverse("console:role_detail", kwargs={"code": "auditor"}), {})

    assert view.status_code == 200
    assert post.status_code == 403
    assert role_permission_codes(role=role) == before


# --- Django admin --------------------------------------------------------------------


def test_django_admin_refuses_to_delete_users(client, orgs, staff_a):
    superuser = factories.user(org=orgs.hq)
    User.objects.filter(pk=superuser.pk).update(is_superuser=True, is_staff=True)
    client.force_login(User.objects.get(pk=superuser.pk))

    response = client.post(
        reverse("admin:accounts_user_delete", args=[staff_a.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert User.objects.filter(pk=staff_a.pk).exists()
