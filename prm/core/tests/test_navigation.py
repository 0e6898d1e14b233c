"""The UI shell (R0 roles & views): the menu built from permissions, a home dashboard per
role, and the language switch (zh-hans by default, en on request, remembered)."""

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from prm.accounts.models import User
from prm.core import navigation
from prm.core.audit import audit_event_create
from prm.core.models import (
    WorkflowDefinition,
    WorkflowInstance,
    WorkflowStep,
    WorkflowTask,
)
from prm.core.navigation import NavItem, nav_items_for

pytestmark = pytest.mark.django_db


def _keys(user):
    return [link.key for link in nav_items_for(user)]


def test_nav_of_system_admin_has_the_console_and_audit(orgs, make_user):
    admin = make_user(org=orgs.city_a, roles=("system_admin",))

    keys = _keys(admin)

    assert {"console_orgs", "console_users", "console_roles", "audit"} <= set(keys)
    assert keys.index("console_orgs") < keys.index("console_users") < keys.index("audit")


def test_nav_of_cs_agent_has_no_admin_pages(orgs, make_user):
    agent = make_user(org=orgs.city_a, roles=("cs_agent",))

    keys = set(_keys(agent))

    assert keys.isdisjoint(
        {"console_orgs", "console_users", "console_roles", "audit", "imports", "account_requests"}
    )


def test_nav_of_partner_admin_has_users_but_not_roles(orgs, make_user):
    partner_admin = make_user(org=orgs.partner, roles=("partner_admin",))

    keys = set(_keys(partner_admin))

    assert {"console_orgs", "console_users"} <= keys
    assert keys.isdisjoint({"console_roles", "audit"})


def test_nav_skips_pages_that_do_not_exist(orgs, make_user, monkeypatch):
    monkeypatch.setitem(
        navigation._items, "ghost", NavItem(key="ghost", label="Ghost", url_name="nowhere:page")
    )
    user = make_user(org=orgs.city_a, roles=("cs_agent",))

    links = nav_items_for(user)

    assert "ghost" not in [link.key for link in links]
    assert all(link.url.startswith("/") for link in links)


def test_nav_is_empty_for_anonymous():
    from django.contrib.auth.models import AnonymousUser

    assert nav_items_for(AnonymousUser()) == []


def test_header_renders_the_menu_entries(client, orgs, make_user):
    client.force_login(make_user(org=orgs.city_a, roles=("system_admin",)))

    response = client.get(reverse("home"))

    content = response.content.decode()
    assert 'data-testid="nav"' in content
    assert f'href="{reverse("console:user_list")}" data-nav="console_users"' in content
    assert 'data-testid="user-menu"' in content
    assert 'data-testid="logout"' in content


# --- Home dashboards -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "view"),
    [
        ("system_admin", "admin"),
        ("auditor", "audit"),
        ("partner_manager", "management"),
        ("account_manager", "account_manager"),
        ("project_manager", "operations"),
        ("cs_agent", "cs"),
    ],
)
def test_home_view_per_operator_role(client, orgs, make_user, role, view):
    client.force_login(make_user(org=orgs.city_a, roles=(role,)))

    response = client.get(reverse("home"))

    assert response.status_code == 200
    assert f'data-testid="home-{view}"'.encode() in response.content


def test_home_view_of_partner_user(client, orgs, make_user):
    client.force_login(make_user(org=orgs.partner, roles=("partner_staff",)))

    response = client.get(reverse("home"))

    assert b'data-testid="home-partner"' in response.content
    assert b'data-testid="modules-coming"' in response.content


def test_home_needs_sign_in(client):
    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_admin_dashboard_counts_and_login_chart(client, orgs, make_user):
    admin = make_user(org=orgs.city_a, roles=("system_admin",))
    make_user(org=orgs.county_a, username="locked-one")
    make_user(org=orgs.county_b)  # another city: not counted
    User.objects.filter(username="locked-one").update(
        locked_until=timezone.now() + timedelta(minutes=5)
    )
    audit_event_create(actor=admin, action="auth.login", target=admin)
    audit_event_create(actor=admin, action="auth.login", target=admin)
    client.force_login(admin)

    response = client.get(reverse("home"))

    assert response.context["counts"] == {"orgs": 2, "users": 2, "active": 2, "locked": 1}
    chart = response.context["logins_chart"]
    assert len(chart["xAxis"]["data"]) == 14
    assert chart["series"][0]["data"][-1] == 2
    assert sum(chart["series"][0]["data"]) == 2
    assert b"vendor/echarts/echarts.min.js" in response.content
    assert b'id="logins-chart-data"' in response.content


def test_audit_dashboard_shows_failed_logins_in_scope(client, orgs, make_user):
    auditor = make_user(org=orgs.city_a, roles=("auditor",))
    staff_a = make_user(org=orgs.county_a, username="staff-a")
    staff_b = make_user(org=orgs.county_b, username="staff-b")
    for target in (staff_a, staff_b):
        audit_event_create(
            actor=None,
            actor_username=target.username,
            action="auth.login_failed",
            target=target,
            changes={"reason": "password"},
        )
    client.force_login(auditor)

    response = client.get(reverse("home"))

    assert [e.actor_username for e in response.context["failed_logins"]] == ["staff-a"]
    assert response.content.count(b'data-testid="failed-login"') == 1


def test_home_counts_my_pending_approvals(client, orgs, make_user):
    approver = make_user(org=orgs.city_a, roles=("partner_manager",))
    definition = WorkflowDefinition.objects.create(code="test.flow", name="Test")
    step = WorkflowStep.objects.create(
        definition=definition,
        order=1,
        name="Check",
        approver_role="partner_manager",
        org_scope=WorkflowStep.OrgScope.SUBMITTER_ORG,
    )
    instance = WorkflowInstance.objects.create(
        definition=definition,
        target_type=ContentType.objects.get_for_model(User),
        target_id=str(approver.pk),
        status=WorkflowInstance.Status.IN_PROGRESS,
        current_step=1,
        submitted_by=approver,
        submitter_org_path=orgs.city_a.path,
    )
    WorkflowTask.objects.create(
        instance=instance,
        step=step,
        round=1,
        assignee=approver,
        due_at=timezone.now() + timedelta(hours=48),
    )
    client.force_login(approver)

    response = client.get(reverse("home"))

    assert response.context["pending_approvals"] == 1


# --- Language ------------------------------------------------------------------------


def test_default_language_is_simplified_chinese(client, orgs, make_user):
    client.force_login(make_user(org=orgs.city_a, roles=("cs_agent",)))

    response = client.get(reverse("home"))

    assert b'<html lang="zh-hans">' in response.content


def test_language_cookie_en_renders_english(client, orgs, make_user):
    client.force_login(make_user(org=orgs.city_a, roles=("cs_agent",)))
    client.cookies["django_language"] = "en"

    response = client.get(reverse("home"))

    assert b'<html lang="en">' in response.content
    assert b'data-testid="lang-zh-hans"' in response.content


def test_language_switch_is_remembered_on_the_user(client, orgs, make_user):
    user = make_user(org=orgs.city_a, roles=("cs_agent",))
    client.force_login(user)

    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})

    user.refresh_from_db()
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "en"
    assert response.cookies["django_language"]["max-age"] == 365 * 24 * 3600
    assert user.language == "en"


def test_a_new_browser_gets_the_users_language(client, orgs, make_user):
    user = make_user(org=orgs.city_a, roles=("cs_agent",))
    User.objects.filter(pk=user.pk).update(language="en")
    client.force_login(User.objects.get(pk=user.pk))

    response = client.get(reverse("home"))

    assert b'<html lang="en">' in response.content
    assert response.cookies["django_language"].value == "en"


def test_language_switch_works_signed_out(client, db):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/accounts/login/"})

    assert response.cookies["django_language"].value == "en"


def test_unknown_language_is_ignored(client, orgs, make_user):
    user = make_user(org=orgs.city_a, roles=("cs_agent",))
    client.force_login(user)

    client.post(reverse("set_language"), {"language": "xx", "next": "/"})

    user.refresh_from_db()
    assert user.language == "zh-hans"
