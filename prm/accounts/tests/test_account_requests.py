"""Operator account requests on the approval engine (R0 workflow): the first real document.

A city's system admin asks for an account; the province's system admin approves it on
/approvals/; the account is created with an initial password sent only by SMS.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from prm.accounts.models import AccountRequest, User
from prm.accounts.services.console import password_generate
from prm.accounts.services.requests import (
    account_request_create,
)
from prm.core.exceptions import ApplicationError
from prm.core.models import AuditEvent, WorkflowAction, WorkflowInstance, WorkflowTask
from prm.core.workflow import workflow_approve, workflow_instance_for

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 5, 11, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
WORKFLOW = "accounts.account_request"


@pytest.fixture
def admins(orgs, make_user):
    return {
        "city": make_user(org=orgs.city_a, roles=("system_admin",), username="gz_admin"),
        "province": make_user(org=orgs.province, roles=("system_admin",), username="gd_admin"),
        "other_city": make_user(org=orgs.city_b, roles=("system_admin",), username="sz_admin"),
        "no_permission": make_user(org=orgs.city_a, roles=("channel_manager",), username="gz_cm"),
    }


@pytest.fixture
def notified(monkeypatch):
    """What is handed to the notifications module (SMS gateway, mail: the outside world)."""
    sent: list[dict] = []

    def notify(*, recipients, event, context, link="", channels=("inbox", "email")):
        sent.append(
            {
                "to": [user.username for user in recipients],
                "event": event,
                "context": context,
                "channels": tuple(channels),
            }
        )

    monkeypatch.setattr("prm.core.notifications.notify", notify, raising=False)
    return sent


def _form(orgs, **overrides):
    data = {
        "username": "gz_new",
        "display_name": "Wang Fang",
        "email": "wang.fang@example.com",
        "mobile": "13912345678",
        "org": orgs.county_a.code,
        "role_codes": ["channel_manager"],
        "reason": "New channel manager for Tianhe",
    }
    data.update(overrides)
    return data


def _create(actor, orgs, **overrides):
    fields = {
        "username": "gz_new",
        "display_name": "Wang Fang",
        "email": "",
        "mobile": "13912345678",
        "org": orgs.county_a,
        "role_codes": ["channel_manager"],
        "reason": "",
    }
    fields.update(overrides)
    return account_request_create(actor=actor, **fields)


def _counts():
    return (
        AccountRequest.objects.count(),
        WorkflowInstance.objects.count(),
        WorkflowTask.objects.count(),
        User.objects.count(),
        AuditEvent.objects.count(),
    )


# ---- end to end through the pages ------------------------------------------------------


def test_city_admin_requests_and_province_admin_approves_on_the_approvals_page(
    client, orgs, admins, notified, django_capture_on_commit_callbacks
):
    client.force_login(admins["city"])
    with time_machine.travel(T0, tick=False):
        assert client.get("/accounts/requests/new/").status_code == 200
        response = client.post("/accounts/requests/new/", _form(orgs))

    account_request = AccountRequest.objects.get()
    assert account_request.code == "AR-2026-000001"
    assert (response.status_code, response["Location"]) == (
        302,
        "/accounts/requests/AR-2026-000001/",
    )
    assert account_request.status == AccountRequest.Status.SUBMITTED
    assert (account_request.requested_by, account_request.org) == (admins["city"], orgs.county_a)
    assert account_request.role_codes == ["channel_manager"]

    client.force_login(admins["province"])
    page = client.get("/approvals/")
    assert 'href="/accounts/requests/AR-2026-000001/"' in page.content.decode()
    [row] = page.context["rows"]
    instance_id = row["task"].instance_id

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/approvals/{instance_id}/approve/", {"next": "/approvals/", "comment": "OK"}
        )

    assert (response.status_code, response["Location"]) == (302, "/approvals/")
    account_request.refresh_from_db()
    user = User.objects.get(username="gz_new")
    assert account_request.status == AccountRequest.Status.APPROVED
    assert account_request.created_user == user
    assert (user.display_name, user.org, user.mobile) == ("Wang Fang", orgs.county_a, "13912345678")
    assert user.must_change_password is True
    assert user.role_codes == {"channel_manager"}
    [sms] = [n for n in notified if n["event"] == "core.initial_password"]
    assert (sms["to"], sms["channels"]) == (["gz_new"], ("sms",))
    password = sms["context"]["password"]
    assert user.check_password(password)
    assert [n["event"] for n in notified if n["event"] != "core.initial_password"] == [
        "workflow.approved"
    ]

    detail = client.get("/accounts/requests/AR-2026-000001/").content.decode()
    assert password not in detail
    assert 'data-testid="request-created-user"' in detail
    assert 'data-status="approved"' in detail
    audit_text = " ".join(str(e.changes) for e in AuditEvent.objects.all())
    assert password not in audit_text
    assert AuditEvent.objects.filter(action="user.created", actor=admins["province"]).count() == 1


def test_rejected_request_is_edited_and_resubmitted(client, orgs, admins):
    client.force_login(admins["city"])
    client.post("/accounts/requests/new/", _form(orgs))
    account_request = AccountRequest.objects.get()
    instance = workflow_instance_for(target=account_request, definition_code=WORKFLOW)

    client.force_login(admins["province"])
    client.post(f"/approvals/{instance.pk}/reject/", {"reason": "Use the county's own org"})

    account_request.refresh_from_db()
    assert account_request.status == AccountRequest.Status.REJECTED
    client.force_login(admins["city"])
    detail = client.get(f"/accounts/requests/{account_request.code}/")
    assert "Use the county&#x27;s own org" in detail.content.decode()
    assert detail.context["can_edit"] is True
    assert detail.context["workflow_actions"] == ["resubmit", "withdraw"]

    response = client.post(
        f"/accounts/requests/{account_request.code}/edit/",
        _form(orgs, username="gz_new2", org=orgs.city_a.code),
    )

    assert response.status_code == 302
    account_request.refresh_from_db()
    instance.refresh_from_db()
    assert account_request.status == AccountRequest.Status.SUBMITTED
    assert (account_request.username, account_request.org) == ("gz_new2", orgs.city_a)
    assert (instance.status, instance.round) == ("in_progress", 2)
    trail = client.get(f"/accounts/requests/{account_request.code}/").content.decode()
    assert trail.count('data-testid="workflow-round"') == 2
    assert [(a.kind, a.round) for a in WorkflowAction.objects.filter(instance=instance)] == [
        ("submit", 1),
        ("reject", 1),
        ("resubmit", 2),
    ]


def test_requester_withdraws_a_request(client, orgs, admins):
    client.force_login(admins["city"])
    client.post("/accounts/requests/new/", _form(orgs))
    account_request = AccountRequest.objects.get()
    instance = workflow_instance_for(target=account_request, definition_code=WORKFLOW)

    response = client.post(f"/approvals/{instance.pk}/withdraw/")

    assert response["Location"] == f"/accounts/requests/{account_request.code}/"
    account_request.refresh_from_db()
    assert account_request.status == AccountRequest.Status.WITHDRAWN
    assert WorkflowTask.objects.filter(instance=instance, status="pending").count() == 0


# ---- the service's rules ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "overrides", "code"),
    [
        ("username_taken", {"username": "gd_admin"}, "username_taken"),
        ("username_bad", {"username": "a b"}, "username_invalid"),
        ("org_other_city", {"org": "city_b"}, "org_out_of_scope"),
        ("org_above", {"org": "province"}, "org_out_of_scope"),
        ("org_partner", {"org": "partner"}, "org_out_of_scope"),
        ("partner_role", {"role_codes": ["field_engineer"]}, "role_audience"),
        ("unknown_role", {"role_codes": ["wizard"]}, "role_unknown"),
        ("no_role", {"role_codes": []}, "roles_required"),
        ("mobile_short", {"mobile": "1391234567"}, "mobile_invalid"),
        ("mobile_letters", {"mobile": "1391234567x"}, "mobile_invalid"),
        ("email_bad", {"email": "not-an-email"}, "email_invalid"),
    ],
)
def test_invalid_request_is_refused_and_writes_nothing(orgs, admins, _case, overrides, code):
    if "org" in overrides:
        overrides["org"] = getattr(orgs, overrides["org"])
    before = _counts()

    with pytest.raises(ApplicationError) as refused:
        _create(admins["city"], orgs, **overrides)

    assert refused.value.code == code
    assert _counts() == before


def test_an_open_request_reserves_the_username(orgs, admins):
    _create(admins["city"], orgs)
    before = _counts()

    with pytest.raises(ApplicationError) as refused:
        _create(admins["city"], orgs)

    assert refused.value.code == "username_requested"
    assert _counts() == before


@pytest.mark.parametrize(
    ("_case", "org", "roles", "code"),
    [
        ("province_admin", "province", ("system_admin",), "requester_org_kind"),
        ("no_permission", "city_a", ("channel_manager",), "forbidden"),
    ],
)
def test_who_may_request(orgs, make_user, _case, org, roles, code):
    actor = make_user(org=getattr(orgs, org), roles=roles)
    before = _counts()

    with pytest.raises(ApplicationError) as refused:
        _create(actor, orgs, org=getattr(orgs, org))

    assert (refused.value.code, refused.value.status) == (code, 403)
    assert _counts() == before


def test_county_partner_manager_may_request(orgs, make_user, admins):
    actor = make_user(org=orgs.county_a, roles=("partner_manager",))

    account_request = _create(actor, orgs)

    assert account_request.status == AccountRequest.Status.SUBMITTED
    assert WorkflowTask.objects.get().assignee == admins["province"]


def test_codes_count_up_within_the_year(orgs, admins):
    with time_machine.travel(T0, tick=False):
        first = _create(admins["city"], orgs, username="first")
        second = _create(admins["city"], orgs, username="second")

    assert (first.code, second.code) == ("AR-2026-000001", "AR-2026-000002")


def test_no_province_admin_refuses_the_request_and_writes_nothing(orgs, make_user):
    requester = make_user(org=orgs.city_a, roles=("system_admin",))
    before = _counts()

    with pytest.raises(ApplicationError) as refused:
        _create(requester, orgs)

    assert refused.value.code == "no_approver"
    assert _counts() == before


def test_approval_refused_when_the_username_was_taken_meanwhile(orgs, admins, make_user):
    account_request = _create(admins["city"], orgs)
    make_user(org=orgs.city_a, username="gz_new")
    instance = workflow_instance_for(target=account_request, definition_code=WORKFLOW)
    before = _counts()

    with pytest.raises(ApplicationError) as refused:
        workflow_approve(instance_id=instance.pk, actor=admins["province"])

    assert refused.value.code == "username_taken"
    assert _counts() == before
    account_request.refresh_from_db()
    instance.refresh_from_db()
    assert (account_request.status, instance.status) == ("submitted", "in_progress")


def test_initial_passwords_meet_the_policy():
    from django.contrib.auth.password_validation import validate_password

    passwords = {password_generate() for _ in range(20)}

    assert len(passwords) == 20
    for password in passwords:
        validate_password(password)
        assert len(password) == 14


# ---- permission matrix of the pages ----------------------------------------------------


@pytest.fixture
def submitted(orgs, admins):
    return _create(admins["city"], orgs)


@pytest.mark.parametrize(
    "path", ["/accounts/requests/", "/accounts/requests/new/", "/accounts/requests/{code}/"]
)
def test_pages_send_anonymous_to_sign_in(client, submitted, path):
    response = client.get(path.format(code=submitted.code))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("_case", "who", "path", "status"),
    [
        ("list_no_permission", "no_permission", "/accounts/requests/", 403),
        ("create_no_permission", "no_permission", "/accounts/requests/new/", 403),
        ("detail_no_permission", "no_permission", "/accounts/requests/{code}/", 403),
        ("detail_other_city", "other_city", "/accounts/requests/{code}/", 404),
        ("edit_other_city", "other_city", "/accounts/requests/{code}/edit/", 404),
        ("edit_not_requester", "province", "/accounts/requests/{code}/edit/", 403),
        ("detail_requester", "city", "/accounts/requests/{code}/", 200),
        ("detail_approver", "province", "/accounts/requests/{code}/", 200),
        ("list_allowed", "city", "/accounts/requests/", 200),
        ("create_allowed", "city", "/accounts/requests/new/", 200),
    ],
)
def test_page_permissions(client, admins, submitted, _case, who, path, status):
    client.force_login(admins[who])

    response = client.get(path.format(code=submitted.code))

    assert response.status_code == status


def test_list_shows_only_requests_of_my_subtree(client, admins, submitted):
    client.force_login(admins["other_city"])
    assert list(client.get("/accounts/requests/").context["page"]) == []

    client.force_login(admins["province"])
    assert list(client.get("/accounts/requests/").context["page"]) == [submitted]


def test_approver_sees_the_actions_on_the_detail_page(client, admins, submitted):
    client.force_login(admins["province"])

    response = client.get(f"/accounts/requests/{submitted.code}/")

    assert response.context["workflow_actions"] == ["approve", "reject", "delegate"]
    assert 'data-testid="workflow-approve"' in response.content.decode()
    assert 'data-testid="workflow-trail"' in response.content.decode()


def test_create_page_refuses_an_org_of_another_city_and_writes_nothing(client, orgs, admins):
    client.force_login(admins["city"])
    before = _counts()

    response = client.post("/accounts/requests/new/", _form(orgs, org=orgs.county_b.code))

    assert response.status_code == 200
    assert response.context["form"].errors["org"]
    assert _counts() == before


def test_create_page_shows_a_service_refusal_on_the_field(client, orgs, admins, settings):
    settings.LANGUAGE_CODE = "en"  # the assertions read the English text
    client.force_login(admins["city"])
    before = _counts()

    response = client.post("/accounts/requests/new/", _form(orgs, username="gd_admin"))

    assert response.status_code == 200
    assert response.context["form"].errors["username"] == ["The username gd_admin is taken."]
    assert _counts() == before


def test_other_city_cannot_act_on_the_request(client, admins, submitted):
    instance = workflow_instance_for(target=submitted, definition_code=WORKFLOW)
    client.force_login(admins["other_city"])

    response = client.post(f"/approvals/{instance.pk}/approve/")

    assert response.status_code == 404
    submitted.refresh_from_db()
    assert submitted.status == AccountRequest.Status.SUBMITTED
