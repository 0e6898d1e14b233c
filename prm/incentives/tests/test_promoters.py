"""Promoter registration and lifecycle (R4 promoter registration; seed 004 系统注册):
paths and kinds, the operator-subscriber rule, one live registration per number, the
channel of the city, the city admin's approval (work ID, login, SMS with the initial
password), rejection, four-eyes, disable/enable, staff edits."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache

from prm.accounts.models import User
from prm.accounts.tests import factories as account_factories
from prm.core.exceptions import ApplicationError
from prm.core.models import AuditEvent, SmsMessage, WorkflowInstance, WorkflowTask
from prm.core.sms import sms_outbox
from prm.core.workflow import workflow_approve, workflow_resubmit, workflow_withdraw
from prm.incentives.models import Promoter
from prm.incentives.services.promoters import (
    INTERNET_REGISTRAR_USERNAME,
    promoter_disable,
    promoter_enable,
    promoter_registration_rate_limit,
    promoter_update,
)
from prm.incentives.tests import factories
from prm.incentives.tests import test_promoters_fixtures as fixtures
from prm.incentives.tests.test_promoters_fixtures import (
    PASSWORD_CHARS,
    approve,
    instance_of,
    internet,
    intranet,
    reject,
)

pytestmark = pytest.mark.django_db

world = fixtures.world  # the shared fixture


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


def counts() -> tuple[int, int, int, int]:
    return (
        Promoter.objects.count(),
        WorkflowInstance.objects.count(),
        User.objects.count(),
        AuditEvent.objects.filter(target_type="incentives.promoter").count(),
    )


def refused(call, code: str) -> ApplicationError:
    before = counts()
    with pytest.raises(ApplicationError) as caught:
        call()
    assert caught.value.code == code
    assert counts() == before
    return caught.value


# ---- Registration -------------------------------------------------------------------------


def test_internet_registration_awaits_the_city_admins_of_its_city(world):
    promoter = internet(world, channel_code="CH-GZ-1", outlet_code="OU-GZ-1")

    assert (promoter.status, promoter.path, promoter.kind) == ("submitted", "internet", "ordinary")
    assert (promoter.org, promoter.channel, promoter.outlet) == (
        world.city_a,
        world.channel_a,
        world.outlet_a,
    )
    assert (promoter.work_id, promoter.user, promoter.submitted_by) == (None, None, None)
    instance = instance_of(promoter)
    assert instance.status == "in_progress"
    assert instance.submitter_org_path == world.city_a.path
    assert sorted(t.assignee.username for t in WorkflowTask.objects.all()) == ["cm_a", "cm_a2"]
    registrar = instance.submitted_by
    assert registrar.username == INTERNET_REGISTRAR_USERNAME
    assert (registrar.has_usable_password(), registrar.role_codes) == (False, set())
    [event] = AuditEvent.objects.filter(action="promoter.registered")
    assert (event.actor, event.actor_username, event.org_path) == (
        None,
        "internet",
        world.city_a.path,
    )


def test_a_second_internet_registration_reuses_the_registration_account(world):
    internet(world)
    internet(world, msisdn="13800138002")

    assert User.objects.filter(username=INTERNET_REGISTRAR_USERNAME).count() == 1


def test_the_number_is_stored_normalised(world):
    promoter = internet(world, msisdn="+86 138-0013-8001")

    assert promoter.msisdn == "13800138001"


@pytest.mark.parametrize(
    ("_case", "path", "kind", "allowed"),
    [
        ("internet ordinary", "internet", "ordinary", True),
        ("internet telemarketer", "internet", "telemarketer", True),
        ("internet hall clerk", "internet", "hall_clerk", False),
        ("internet call-centre agent", "internet", "call_centre_agent", False),
        ("intranet hall clerk", "intranet", "hall_clerk", True),
        ("intranet call-centre agent", "intranet", "call_centre_agent", True),
        ("intranet telemarketer", "intranet", "telemarketer", False),
        ("intranet ordinary", "intranet", "ordinary", False),
    ],
)
def test_each_path_registers_only_its_kinds(world, _case, path, kind, allowed):
    register = internet if path == "internet" else intranet

    if allowed:
        assert register(world, kind=kind).kind == kind
    else:
        error = refused(lambda: register(world, kind=kind), "kind_wrong_path")
        assert error.details == {"field": "kind"}


def test_an_unknown_kind_is_refused(world):
    refused(lambda: internet(world, kind="boss"), "kind_unknown")


@pytest.mark.parametrize(
    ("_case", "number", "code"),
    [
        ("ten digits", "1380013800", "msisdn_invalid"),
        ("twelve digits", "138001380012", "msisdn_invalid"),
        ("letters", "1380013800x", "msisdn_invalid"),
        ("unknown segment 140", "14000138001", "msisdn_invalid"),
        ("China Unicom 130", "13000138001", "msisdn_other_operator"),
        ("China Telecom 133", "13300138001", "msisdn_other_operator"),
    ],
)
def test_only_our_subscribers_register(world, _case, number, code):
    error = refused(lambda: internet(world, msisdn=number), code)

    assert error.details == {"field": "msisdn"}


def test_unknown_segment_says_so(world):
    error = refused(lambda: internet(world, msisdn="14000138001"), "msisdn_invalid")

    assert "not in a known mobile number segment" in str(error.message)


@pytest.mark.parametrize("status", ["submitted", "active", "disabled"])
def test_a_live_registration_blocks_the_number(world, status):
    factories.promoter(org=world.city_a, msisdn="13800138001", status=status, with_user=False)

    error = refused(lambda: internet(world), "msisdn_registered")

    assert error.status == 409
    assert "already registered" in str(error.message)


def test_a_rejected_registration_does_not_block_the_number(world):
    factories.promoter(org=world.city_a, msisdn="13800138001", status="rejected", with_user=False)

    assert internet(world).status == "submitted"


@pytest.mark.parametrize(
    ("_case", "values", "code", "field"),
    [
        ("channel of another city", {"channel_code": "CH-SZ-1"}, "channel_other_city", "channel"),
        ("outlet of another city", {"outlet_code": "OU-SZ-1"}, "channel_other_city", "outlet"),
        (
            "outlet not of the channel",
            {"channel_code": "CH-GZ-1", "outlet_code": "OU-SZ-1"},
            "outlet_other_channel",
            "outlet",
        ),
        ("unknown channel", {"channel_code": "NOPE"}, "channel_unknown", "channel"),
        ("unknown outlet", {"outlet_code": "NOPE"}, "outlet_unknown", "outlet"),
        ("unknown city", {"city_code": "XX"}, "city_unknown", "city"),
        ("a county is no city", {"city_code": "GZ-TH"}, "city_unknown", "city"),
    ],
)
def test_channel_and_outlet_belong_to_the_city(world, _case, values, code, field):
    error = refused(lambda: internet(world, **values), code)

    assert error.details == {"field": field}


def test_an_inactive_channel_is_refused(world):
    world.channel_a.is_active = False
    world.channel_a.save()

    refused(lambda: internet(world, channel_code="CH-GZ-1"), "channel_unknown")


def test_an_outlet_alone_names_its_channel(world):
    promoter = internet(world, outlet_code="OU-GZ-1")

    assert (promoter.channel, promoter.outlet) == (world.channel_a, world.outlet_a)


@pytest.mark.parametrize(
    ("_case", "account", "stored"),
    [
        ("11 digits", "62220000123", None),
        ("12 digits", "622200001234", "622200001234"),
        ("30 digits", "6" * 30, "6" * 30),
        ("31 digits", "6" * 31, None),
        ("spaces typed", "6222 0000 1234 5678", "6222000012345678"),
        ("letters", "62220000123A", None),
        ("empty", "", None),
    ],
)
def test_bank_account_is_12_to_30_digits(world, _case, account, stored):
    if stored is None:
        refused(lambda: internet(world, bank_account=account), "bank_account_invalid")
    else:
        assert internet(world, bank_account=account).bank_account == stored


@pytest.mark.parametrize(
    ("_case", "values", "code"),
    [
        ("no name", {"name": "  "}, "name_required"),
        ("name of 101", {"name": "x" * 101}, "name_too_long"),
        ("no bank", {"bank_name": ""}, "bank_name_required"),
        ("bad e-mail", {"email": "li@"}, "email_invalid"),
    ],
)
def test_other_fields_are_checked(world, _case, values, code):
    refused(lambda: internet(world, **values), code)


def test_name_of_100_and_an_email_are_kept(world):
    promoter = internet(world, name="x" * 100, email="li@example.com")

    assert (len(promoter.name), promoter.email) == (100, "li@example.com")


def test_intranet_needs_the_add_permission(world):
    for actor in (world.finance_a, world.account_manager_a):
        refused(lambda actor=actor: intranet(world, actor=actor), "forbidden")


def test_intranet_registrant_registers_only_for_cities_they_reach(world):
    error = refused(lambda: intranet(world, actor=world.cm_b), "city_unknown")

    assert error.details == {"field": "city"}


def test_a_county_registrant_registers_for_their_city(world, make_user, orgs):
    clerk = make_user(org=orgs.county_a, roles=("channel_manager",))

    promoter = intranet(world, actor=clerk)

    assert (promoter.org, promoter.submitted_by, instance_of(promoter).submitted_by) == (
        world.city_a,
        clerk,
        clerk,
    )


def test_a_city_without_approver_refuses_the_registration(world, orgs):
    account_factories.org_unit(kind="city", parent=orgs.province, code="FS", name="Foshan")

    error = refused(lambda: internet(world, city_code="FS"), "no_approver")

    assert error.status == 409


# ---- Approval ---------------------------------------------------------------------------------


def test_approval_assigns_work_id_and_login_and_texts_the_password(
    world, django_capture_on_commit_callbacks
):
    promoter = internet(world)

    with django_capture_on_commit_callbacks(execute=True):
        approve(promoter, world.cm_a)

    assert (promoter.status, promoter.work_id) == ("active", "GZ-000001")
    assert promoter.decided_at is not None
    user = promoter.user
    assert (user.username, user.org, user.mobile, user.display_name) == (
        "GZ-000001",
        world.city_a,
        "13800138001",
        "Li Lei",
    )
    assert (user.role_codes, user.must_change_password, user.is_active) == (
        {"promoter"},
        True,
        True,
    )
    [sms] = sms_outbox()
    assert sms["mobile"] == "13800138001"
    assert "GZ-000001" in sms["text"]
    password = sms["text"].split("initial password: ")[1].split(".")[0]
    assert len(password) == PASSWORD_CHARS
    assert user.check_password(password)
    # Never stored in clear: not in the SMS record, not in the audit log, not on the row.
    [stored] = SmsMessage.objects.filter(event="incentives.promoter_approved")
    assert password not in stored.text and "******" in stored.text
    assert stored.status == "sent"
    audit = " ".join(str(event.changes) for event in AuditEvent.objects.all())
    assert password not in audit
    assert password not in user.password
    assert AuditEvent.objects.filter(action="promoter.approved", actor=world.cm_a).count() == 1


def test_work_ids_count_per_city(world):
    first = approve(internet(world), world.cm_a)
    second = approve(internet(world, msisdn="13800138002"), world.cm_a2)
    other_city = approve(internet(world, msisdn="13800138003", city_code="SZ"), world.cm_b)

    assert [first.work_id, second.work_id, other_city.work_id] == [
        "GZ-000001",
        "GZ-000002",
        "SZ-000001",
    ]


def test_work_id_skips_a_username_already_taken(world, make_user):
    make_user(org=world.city_a, username="GZ-000001")
    factories.promoter(org=world.city_a, with_user=False, work_id="W-OTHER-FORMAT")

    assert approve(internet(world), world.cm_a).work_id == "GZ-000002"


def test_the_registrant_cannot_approve_their_own_registration(world):
    promoter = intranet(world, actor=world.cm_a)

    assert [t.assignee for t in WorkflowTask.objects.all()] == [world.cm_a2]
    with pytest.raises(ApplicationError) as caught:
        workflow_approve(instance_id=instance_of(promoter).pk, actor=world.cm_a)

    assert caught.value.code == "not_your_task"
    promoter.refresh_from_db()
    assert (promoter.status, promoter.work_id, promoter.user) == ("submitted", None, None)
    assert approve(promoter, world.cm_a2).status == "active"


def test_the_only_channel_manager_cannot_register_for_approval_by_themself(world):
    world.cm_a2.is_active = False
    world.cm_a2.save()

    refused(lambda: intranet(world, actor=world.cm_a), "no_approver")


def test_an_approver_without_the_approve_permission_is_refused(world):
    promoter = internet(world)
    permission = Permission.objects.get(codename="approve_promoter")
    for group in permission.group_set.all():
        group.permissions.remove(permission)
    approver = User.objects.get(pk=world.cm_a.pk)  # fresh permission cache

    with pytest.raises(ApplicationError) as caught:
        workflow_approve(instance_id=instance_of(promoter).pk, actor=approver)

    assert caught.value.code == "forbidden"
    promoter.refresh_from_db()
    assert (promoter.status, promoter.user) == ("submitted", None)
    assert instance_of(promoter).status == "in_progress"


def test_an_other_citys_manager_cannot_approve(world):
    promoter = internet(world)

    with pytest.raises(ApplicationError) as caught:
        workflow_approve(instance_id=instance_of(promoter).pk, actor=world.cm_b)

    assert caught.value.code == "not_your_task"


# ---- Rejection --------------------------------------------------------------------------------


def test_rejection_records_the_reason_and_texts_it(world, django_capture_on_commit_callbacks):
    promoter = internet(world)

    with django_capture_on_commit_callbacks(execute=True):
        reject(promoter, world.cm_a, reason="Bank account name differs")

    assert (promoter.status, promoter.decision_reason) == ("rejected", "Bank account name differs")
    assert (promoter.work_id, promoter.user) == (None, None)
    [sms] = sms_outbox()
    assert sms["mobile"] == "13800138001"
    assert "Bank account name differs" in sms["text"]


def test_a_rejected_number_registers_again_as_a_new_registration(world):
    first = reject(internet(world), world.cm_a)

    second = internet(world)

    assert second.pk != first.pk
    assert (second.status, instance_of(second).status) == ("submitted", "in_progress")
    first.refresh_from_db()
    assert first.status == "rejected"


def test_the_intranet_registrant_may_resubmit_a_rejected_registration(world):
    promoter = reject(intranet(world), world.cm_a)

    workflow_resubmit(instance_id=instance_of(promoter).pk, actor=world.cm_province)

    promoter.refresh_from_db()
    assert (promoter.status, promoter.decision_reason) == ("submitted", "")
    assert instance_of(promoter).round == 2


def test_resubmission_is_refused_when_the_number_registered_again(world):
    promoter = reject(intranet(world), world.cm_a)
    internet(world)

    with pytest.raises(ApplicationError) as caught:
        workflow_resubmit(instance_id=instance_of(promoter).pk, actor=world.cm_province)

    assert caught.value.code == "msisdn_registered"
    promoter.refresh_from_db()
    assert promoter.status == "rejected"
    assert instance_of(promoter).status == "rejected"


def test_withdrawal_closes_the_registration(world):
    promoter = intranet(world)

    workflow_withdraw(instance_id=instance_of(promoter).pk, actor=world.cm_province)

    promoter.refresh_from_db()
    assert (promoter.status, promoter.decision_reason) == (
        "rejected",
        "Withdrawn by the registrant.",
    )
    assert internet(world).status == "submitted"  # the number is free again


# ---- Disable, enable, edit ------------------------------------------------------------------


@pytest.fixture
def active(world):
    return approve(internet(world, channel_code="CH-GZ-1"), world.cm_a)


def test_disable_and_enable_follow_the_login(world, active):
    promoter_disable(actor=world.cm_a, promoter=active, reason="Left the hall")

    active.refresh_from_db()
    active.user.refresh_from_db()
    assert (active.status, active.user.is_active) == ("disabled", False)
    event = AuditEvent.objects.get(action="promoter.disabled")
    assert event.changes == {"status": ["active", "disabled"], "reason": "Left the hall"}
    assert AuditEvent.objects.filter(action="user.disabled", actor=world.cm_a).count() == 1

    promoter_enable(actor=world.cm_a, promoter=active)

    active.refresh_from_db()
    active.user.refresh_from_db()
    assert (active.status, active.user.is_active) == ("active", True)
    assert AuditEvent.objects.filter(action="promoter.enabled").count() == 1


def test_disable_refusals_change_nothing(world, active):
    refused(lambda: promoter_disable(actor=world.cm_b, promoter=active), "not_found")
    refused(lambda: promoter_disable(actor=world.finance_a, promoter=active), "forbidden")
    refused(lambda: promoter_enable(actor=world.cm_a, promoter=active), "promoter_not_disabled")
    submitted = internet(world, msisdn="13800138009")
    refused(lambda: promoter_disable(actor=world.cm_a, promoter=submitted), "promoter_not_active")
    active.refresh_from_db()
    assert active.status == "active"


def test_staff_change_bank_account_and_channel(world, active, orgs):
    channel_city = factories.channel(org=orgs.city_a, code="CH-GZ-2")

    promoter_update(
        actor=world.cm_a,
        promoter=active,
        bank_name="CCB",
        bank_account="6227000011112222",
        channel_code=channel_city.code,
    )

    active.refresh_from_db()
    assert (active.bank_name, active.bank_account, active.channel, active.outlet) == (
        "CCB",
        "6227000011112222",
        channel_city,
        None,
    )
    event = AuditEvent.objects.get(action="promoter.updated")
    assert event.changes == {
        "bank_name": ["ICBC", "CCB"],
        "bank_account": ["622200001234", "6227000011112222"],
        "channel": ["CH-GZ-1", "CH-GZ-2"],
    }


def test_staff_edit_refusals_change_nothing(world, active):
    def update(actor=world.cm_a, **values):
        data = {"bank_name": "CCB", "bank_account": "6227000011112222", **values}
        return lambda: promoter_update(actor=actor, promoter=active, **data)

    refused(update(channel_code="CH-SZ-1"), "channel_other_city")
    refused(update(bank_account="12345"), "bank_account_invalid")
    refused(update(actor=world.cm_b), "not_found")
    refused(update(actor=world.finance_a), "forbidden")
    active.refresh_from_db()
    assert (active.bank_name, active.channel) == ("ICBC", world.channel_a)


def test_an_unchanged_edit_writes_no_event(world, active):
    promoter_update(
        actor=world.cm_a,
        promoter=active,
        bank_name=active.bank_name,
        bank_account=active.bank_account,
        channel_code="CH-GZ-1",
    )

    assert not AuditEvent.objects.filter(action="promoter.updated").exists()


# ---- Rate limit -------------------------------------------------------------------------------


def test_rate_limit_allows_exactly_the_limit_per_address(settings):
    settings.PRM_PROMOTER_REGISTRATION_LIMIT = 3
    for _attempt in range(3):
        promoter_registration_rate_limit(client_ip="10.0.0.1")

    with pytest.raises(ApplicationError) as caught:
        promoter_registration_rate_limit(client_ip="10.0.0.1")

    assert (caught.value.code, caught.value.status) == ("rate_limited", 429)
    promoter_registration_rate_limit(client_ip="10.0.0.2")  # another address counts apart
    cache.clear()
    promoter_registration_rate_limit(client_ip="10.0.0.1")  # a new window
