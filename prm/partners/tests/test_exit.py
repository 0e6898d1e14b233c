"""Partner exit (R1 "Exit"): the close-down checklist, the blacklist for violations and
illegal content, the voluntary application on the workflow, exits started by staff and
by other modules (``partner_exit_start``), and the refusals."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from prm.accounts.models import User
from prm.accounts.tests import factories as account_factories
from prm.core.exceptions import ApplicationError
from prm.core.models import AuditEvent, Notification, WorkflowInstance, WorkflowTask
from prm.core.workflow import (
    workflow_approve,
    workflow_instance_for,
    workflow_reject,
    workflow_resubmit,
    workflow_withdraw,
)
from prm.partners.constants import AGREEMENT_WORKFLOW, EXIT_WORKFLOW
from prm.partners.models import (
    Agreement,
    BlacklistEntry,
    BusinessCode,
    ChangeRequest,
    ExitCase,
    Partner,
)
from prm.partners.services.agreements import (
    agreement_create,
    agreement_submit,
    partner_exit_start,
)
from prm.partners.services.codes import business_code_assign, business_code_release
from prm.partners.services.exit import exit_case_apply, exit_case_start
from prm.partners.tests import factories
from prm.partners.tests.test_agreements_fixtures import (  # noqa: F401  (fixture)
    AGREEMENT_VALUES,
    agreement_row,
    world_fixture,
)

pytestmark = pytest.mark.django_db

CHECKLIST_ITEMS = [item for item, _label in ExitCase.CHECKLIST]


def _partner_users(partner) -> list[User]:
    return list(User.objects.filter(org__path__startswith=partner.org.path).order_by("pk"))


@pytest.fixture
def busy(world):
    """Partner A with a sub-office user, codes, agreements in every state and open
    change requests."""
    office = account_factories.org_unit(kind="office", parent=world.partner_a.org)
    office_user = account_factories.user(org=office, roles=("partner_staff",))
    for code in ("1065801", "1065802"):
        business_code_assign(actor=world.pm1, partner=world.partner_a, code=code, name=code)
    released = business_code_assign(
        actor=world.pm1, partner=world.partner_a, code="1065803", name="old"
    )
    business_code_release(actor=world.pm1, business_code=released, reason="Ended")
    values = {**AGREEMENT_VALUES, "ends_on": date(2099, 12, 31)}
    agreements = {
        "draft": agreement_create(actor=world.pm1, partner=world.partner_a, **values),
        "countersigning": agreement_create(actor=world.pm1, partner=world.partner_a, **values),
        "active": agreement_row(world.partner_a, created_by=world.pm1, status="active"),
        "expiring": agreement_row(world.partner_a, created_by=world.pm1, status="expiring"),
        "terminated": agreement_row(
            world.partner_a,
            created_by=world.pm1,
            status="terminated",
            termination_reason="Old",
        ),
    }
    agreement_submit(actor=world.pm1, agreement=agreements["countersigning"])
    change_requests = {
        status: ChangeRequest.objects.create(
            partner=world.partner_a,
            number=f"CR-2026-{n:06d}",
            status=status,
            changes={"address": ["A", "B"]},
            reason="Moved",
            submitted_by=world.admin_a,
        )
        for n, status in enumerate(("submitted", "rejected", "approved"), start=1)
    }
    return {"office_user": office_user, "agreements": agreements, "crs": change_requests}


def _snapshot():
    return (
        ExitCase.objects.count(),
        BlacklistEntry.objects.count(),
        list(Partner.objects.values_list("status", "settlement_stopped").order_by("pk")),
        User.objects.filter(is_active=False).count(),
        BusinessCode.objects.filter(status="active").count(),
        list(Agreement.objects.values_list("status", flat=True).order_by("pk")),
        AuditEvent.objects.count(),
    )


# ---- The close-down --------------------------------------------------------------------


def test_exit_runs_every_checklist_item(world, busy):
    other_users = _partner_users(world.partner_b)

    case = exit_case_start(
        actor=world.pm1, partner=world.partner_a, kind="violation", reason="Fraudulent billing"
    )

    case.refresh_from_db()
    assert case.number.startswith("EX-") and len(case.number) == len("EX-2026-000001")
    assert (case.status, case.kind, case.requested_by, case.source) == (
        "completed",
        "violation",
        world.pm1,
        "staff",
    )
    assert sorted(case.checklist) == sorted(CHECKLIST_ITEMS)  # jsonb keeps no key order
    for item in CHECKLIST_ITEMS:
        assert datetime.fromisoformat(case.checklist[item]) <= case.completed_at
    # accounts_disabled: every user of the partner's tree, not the other partner's.
    users = _partner_users(world.partner_a)
    assert {world.admin_a, world.staff_a, busy["office_user"]} <= set(users)
    assert [user.is_active for user in users] == [False] * len(users)
    assert all(user.is_active for user in User.objects.filter(pk__in=[u.pk for u in other_users]))
    # business_codes_released
    codes = BusinessCode.objects.filter(partner=world.partner_a)
    assert set(codes.values_list("status", flat=True)) == {"released"}
    assert codes.get(code="1065801").release_reason == f"{case.number}: Fraudulent billing"
    assert codes.get(code="1065803").release_reason == "Ended"
    # open_documents_closed
    for name, agreement in busy["agreements"].items():
        agreement.refresh_from_db()
        assert agreement.status == "terminated", name
        expected = "Old" if name == "terminated" else f"{case.number}: Fraudulent billing"
        assert agreement.termination_reason == expected, name
    instance = workflow_instance_for(
        target=busy["agreements"]["countersigning"], definition_code=AGREEMENT_WORKFLOW
    )
    assert instance.status == WorkflowInstance.Status.WITHDRAWN  # pm1 submitted it
    statuses = {key: ChangeRequest.objects.get(pk=cr.pk).status for key, cr in busy["crs"].items()}
    assert statuses == {"submitted": "withdrawn", "rejected": "withdrawn", "approved": "approved"}
    # settlement_stopped, archived, exited
    partner = Partner.objects.get(pk=world.partner_a.pk)
    assert (partner.status, partner.settlement_stopped) == ("exited", True)
    assert partner.archived_at is not None and partner.exited_at is not None
    # blacklisted
    assert case.blacklisted is True
    entry = BlacklistEntry.objects.get(uscc=partner.uscc)
    assert (entry.partner, entry.company_name, entry.created_by) == (
        partner,
        "Alpha Tech Ltd",
        world.pm1,
    )
    # told and audited
    told = Notification.objects.filter(event="partners.exit_completed")
    assert set(told.values_list("recipient__username", flat=True)) == {
        world.admin_a.username,
        "gz_pm1",
    }
    completed = AuditEvent.objects.get(action="exit_case.completed")
    assert completed.changes["users_disabled"] == len(users)
    assert completed.changes["business_codes_released"] == 2
    assert AuditEvent.objects.filter(action="user.disabled").count() == len(users)
    assert AuditEvent.objects.filter(action="partner.exited").count() == 1


@pytest.mark.parametrize(
    ("_case", "kind", "blacklisted"),
    [
        ("voluntary", "voluntary", False),
        ("assessment", "assessment", False),
        ("violation", "violation", True),
        ("illegal_content", "illegal_content", True),
    ],
)
def test_blacklist_on_violation_and_illegal_content_only(world, _case, kind, blacklisted):
    case = partner_exit_start(
        partner=world.partner_a, kind=kind, reason="Rule", source="credit", actor=None
    )

    assert case.blacklisted is blacklisted
    assert BlacklistEntry.objects.filter(uscc=world.partner_a.uscc).exists() is blacklisted
    assert Partner.objects.get(pk=world.partner_a.pk).status == "exited"


def test_a_system_exit_is_audited_as_the_system(world):
    case = partner_exit_start(
        partner=world.partner_a,
        kind="illegal_content",
        reason="Gambling content",
        source="portal",
        actor=None,
    )

    assert (case.requested_by, case.source, case.status) == (None, "portal", "completed")
    event = AuditEvent.objects.get(action="exit_case.completed")
    assert (event.actor, event.actor_username) == (None, "system")
    assert event.org_path == world.partner_a.managing_org.path
    assert not User.objects.filter(org=world.partner_a.org, is_active=True).exists()


def test_a_uscc_already_blacklisted_is_not_added_twice(world):
    BlacklistEntry.objects.create(
        uscc=world.partner_a.uscc, company_name="Alpha", reason="Earlier case"
    )

    case = partner_exit_start(
        partner=world.partner_a, kind="violation", reason="Again", source="portal", actor=None
    )

    assert case.blacklisted is True
    assert BlacklistEntry.objects.get(uscc=world.partner_a.uscc).reason == "Earlier case"


def test_a_second_exit_is_refused_and_changes_nothing(world):
    partner_exit_start(
        partner=world.partner_a, kind="assessment", reason="Revenue", source="credit", actor=None
    )
    before = _snapshot()

    with pytest.raises(ApplicationError) as refused:
        partner_exit_start(
            partner=world.partner_a, kind="violation", reason="Again", source="portal", actor=None
        )

    assert refused.value.code == "partner_exited"
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("_case", "kind", "reason", "code"),
    [
        ("no_reason", "violation", "  ", "reason_required"),
        ("unknown_kind", "bankruptcy", "Gone", "exit_kind_invalid"),
    ],
)
def test_bad_exit_input_changes_nothing(world, _case, kind, reason, code):
    before = _snapshot()

    with pytest.raises(ApplicationError) as refused:
        partner_exit_start(
            partner=world.partner_a, kind=kind, reason=reason, source="credit", actor=None
        )

    assert refused.value.code == code
    assert _snapshot() == before


def test_an_application_that_is_not_a_partner_yet_cannot_exit(world, orgs):
    applicant = factories.partner(managing_org=orgs.city_a, status=Partner.Status.SUBMITTED)
    before = _snapshot()

    with pytest.raises(ApplicationError) as refused:
        partner_exit_start(
            partner=applicant, kind="violation", reason="x", source="portal", actor=None
        )

    assert refused.value.code == "partner_not_active"
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("_case", "who", "code"),
    [("other_city", "pm_b", "not_found"), ("no_permission", "channel_a", "forbidden")],
)
def test_staff_exit_needs_the_permission_and_the_partner_in_scope(world, _case, who, code):
    before = _snapshot()

    with pytest.raises(ApplicationError) as refused:
        exit_case_start(
            actor=getattr(world, who), partner=world.partner_a, kind="violation", reason="x"
        )

    assert refused.value.code == code
    assert _snapshot() == before


def test_an_exit_closes_the_open_approvals_of_the_partners_documents(world):
    values = {**AGREEMENT_VALUES, "ends_on": date(2099, 12, 31)}
    agreement = agreement_create(actor=world.pm1, partner=world.partner_a, **values)
    agreement_submit(actor=world.pm1, agreement=agreement)

    case = exit_case_start(actor=world.pm2, partner=world.partner_a, kind="assessment", reason="x")

    instance = workflow_instance_for(target=agreement, definition_code=AGREEMENT_WORKFLOW)
    assert instance.status == WorkflowInstance.Status.WITHDRAWN  # cancelled by pm2's exit
    assert not instance.tasks.filter(status="pending").exists()
    assert AuditEvent.objects.get(action="exit_case.completed").changes["agreements"] == {
        "terminated": 1,
        "approvals_withdrawn": 1,
    }
    with pytest.raises(ApplicationError):
        workflow_approve(instance_id=instance.pk, actor=world.pm3)
    agreement.refresh_from_db()
    assert agreement.status == "terminated"
    assert agreement.termination_reason == f"{case.number}: x"


# ---- Voluntary application --------------------------------------------------------------


def _exit_instance(case) -> WorkflowInstance:
    return workflow_instance_for(target=case, definition_code=EXIT_WORKFLOW)


def test_voluntary_application_is_approved_and_closes_the_partner_down(world):
    case = exit_case_apply(actor=world.admin_a, reason="We stop the SMS business")

    assert (case.kind, case.status, case.source) == ("voluntary", "submitted", "partner")
    assert Partner.objects.get(pk=world.partner_a.pk).status == "exiting"
    instance = _exit_instance(case)
    # Routed from the managing org: its partner managers decide.
    assert set(
        WorkflowTask.objects.filter(instance=instance).values_list("assignee__username", flat=True)
    ) == {"gz_pm1", "gz_pm2", "gz_pm3"}

    workflow_approve(instance_id=instance.pk, actor=world.pm2)

    case.refresh_from_db()
    assert (case.status, case.blacklisted) == ("completed", False)
    assert sorted(case.checklist) == sorted(CHECKLIST_ITEMS)  # jsonb keeps no key order
    partner = Partner.objects.get(pk=world.partner_a.pk)
    assert (partner.status, partner.settlement_stopped) == ("exited", True)
    assert not User.objects.get(pk=world.admin_a.pk).is_active
    assert not BlacklistEntry.objects.exists()


def test_a_rejected_application_leaves_the_partner_active_until_resubmitted(world):
    case = exit_case_apply(actor=world.admin_a, reason="Leaving")
    instance = _exit_instance(case)

    workflow_reject(instance_id=instance.pk, actor=world.pm1, reason="Settle the dues first")

    assert ExitCase.objects.get(pk=case.pk).status == "rejected"
    assert Partner.objects.get(pk=world.partner_a.pk).status == "active"

    workflow_resubmit(instance_id=instance.pk, actor=world.admin_a)
    assert ExitCase.objects.get(pk=case.pk).status == "submitted"
    assert Partner.objects.get(pk=world.partner_a.pk).status == "exiting"

    workflow_withdraw(instance_id=instance.pk, actor=world.admin_a)
    assert ExitCase.objects.get(pk=case.pk).status == "withdrawn"
    assert Partner.objects.get(pk=world.partner_a.pk).status == "active"


def test_a_second_application_is_refused(world):
    exit_case_apply(actor=world.admin_a, reason="Leaving")
    before = _snapshot()

    with pytest.raises(ApplicationError) as refused:
        exit_case_apply(actor=world.admin_a, reason="Leaving again")

    assert refused.value.code == "partner_exiting"
    assert _snapshot() == before


@pytest.mark.parametrize(("_case", "who"), [("partner_staff", "staff_a"), ("staff", "pm1")])
def test_only_the_partner_admin_applies(world, _case, who):
    with pytest.raises(ApplicationError) as refused:
        exit_case_apply(actor=getattr(world, who), reason="Leaving")

    assert refused.value.code in ("forbidden", "not_found")
    assert ExitCase.objects.count() == 0


def test_a_termination_supersedes_a_pending_voluntary_application(world):
    """A partner cannot dodge the blacklist by applying to leave first."""
    application = exit_case_apply(actor=world.admin_a, reason="Leaving")

    case = partner_exit_start(
        partner=world.partner_a,
        kind="illegal_content",
        reason="Pornographic content",
        source="portal",
        actor=None,
    )

    assert ExitCase.objects.get(pk=application.pk).status == "withdrawn"
    assert (case.status, case.blacklisted) == ("completed", True)
    assert Partner.objects.get(pk=world.partner_a.pk).status == "exited"
    # The approval the partner admin submitted is closed with the exit.
    instance = _exit_instance(application)
    assert instance.status == WorkflowInstance.Status.WITHDRAWN
    with pytest.raises(ApplicationError):
        workflow_approve(instance_id=instance.pk, actor=world.pm1)


def test_staff_cannot_start_a_second_voluntary_exit_while_one_is_reviewed(world):
    exit_case_apply(actor=world.admin_a, reason="Leaving")

    with pytest.raises(ApplicationError) as refused:
        exit_case_start(actor=world.pm1, partner=world.partner_a, kind="voluntary", reason="x")

    assert refused.value.code == "partner_exiting"
    assert ExitCase.objects.count() == 1
