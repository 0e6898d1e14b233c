"""The approval engine (R0 workflow): definitions, actions, countersign, deadlines, pages, API.

Test-only definitions put an org unit (any model will do) through the engine; the people
sit in the conftest tree (HQ → Guangdong → Guangzhou/Shenzhen → counties).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from prm.accounts.models import User
from prm.core import workflow
from prm.core.exceptions import ApplicationError
from prm.core.models import AuditEvent, WorkflowAction, WorkflowInstance, WorkflowTask
from prm.core.workflow import (
    DefinitionSpec,
    StepSpec,
    workflow_approve,
    workflow_cancel,
    workflow_deadlines_check,
    workflow_definitions_sync,
    workflow_delegate,
    workflow_register,
    workflow_reject,
    workflow_resubmit,
    workflow_submit,
    workflow_task_list,
    workflow_trail,
    workflow_withdraw,
)

pytestmark = pytest.mark.django_db

SINGLE = "test.single"
TWO_STEP = "test.two_step"
COUNTERSIGN = "test.countersign"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def callbacks():
    """Register the test definitions; the list records each callback the engine runs."""
    calls: list[tuple[str, str, str]] = []

    def record(name):
        def callback(*, instance, actor):
            calls.append((name, instance.definition.code, actor.username if actor else None))

        return callback

    hooks = {
        "on_submitted": record("submitted"),
        "on_approved": record("approved"),
        "on_rejected": record("rejected"),
        "on_withdrawn": record("withdrawn"),
        "document_url": lambda target: f"/test-documents/{target.pk}/",
    }
    specs = (
        DefinitionSpec(
            code=SINGLE,
            name="Single step",
            steps=(StepSpec("City admin", "system_admin", org_scope="submitter_org"),),
            **hooks,
        ),
        DefinitionSpec(
            code=TWO_STEP,
            name="Two steps",
            steps=(
                StepSpec("City admin", "system_admin", org_scope="submitter_org"),
                StepSpec("Province admin", "system_admin", org_scope="level", org_level="province"),
            ),
            **hooks,
        ),
        DefinitionSpec(
            code=COUNTERSIGN,
            name="Countersign",
            steps=(StepSpec("Finance", "finance", org_scope="parent", mode="countersign"),),
            **hooks,
        ),
    )
    for spec in specs:
        workflow_register(spec)
    workflow_definitions_sync()
    yield calls
    for spec in specs:
        workflow._registry.pop(spec.code)


@dataclass
class People:
    submitter: User
    city_admin: User
    province_admin: User
    hq_admin: User
    other_city_admin: User
    county_staff: User


@pytest.fixture
def people(orgs, make_user) -> People:
    return People(
        submitter=make_user(org=orgs.city_a, roles=("channel_manager",), username="submitter"),
        city_admin=make_user(org=orgs.city_a, roles=("system_admin",), username="city_admin"),
        province_admin=make_user(
            org=orgs.province, roles=("system_admin",), username="province_admin"
        ),
        hq_admin=make_user(org=orgs.hq, roles=("system_admin",), username="hq_admin"),
        other_city_admin=make_user(org=orgs.city_b, roles=("system_admin",), username="sz_admin"),
        county_staff=make_user(org=orgs.county_a, roles=("channel_manager",), username="county"),
    )


@pytest.fixture
def notified(monkeypatch):
    """Record what the engine hands to the notifications module (the outside world here)."""
    sent: list[dict] = []

    def notify(*, recipients, event, context, link="", channels=("inbox", "email")):
        sent.append(
            {
                "to": sorted(user.username for user in recipients),
                "event": event,
                "context": context,
                "link": link,
            }
        )

    monkeypatch.setattr("prm.core.notifications.notify", notify, raising=False)
    return sent


def _submit(definition_code, people, orgs):
    return workflow_submit(
        target=orgs.county_a, definition_code=definition_code, actor=people.submitter
    )


def _tasks(instance):
    return [
        (task.assignee.username, task.step.order, task.round, task.status)
        for task in WorkflowTask.objects.filter(instance=instance).order_by("pk")
    ]


def _kinds(instance):
    return [(action.kind, action.round) for action in workflow_trail(instance=instance)]


def _snapshot(instance):
    instance.refresh_from_db()
    return (
        instance.status,
        instance.current_step,
        instance.round,
        _tasks(instance),
        WorkflowAction.objects.count(),
        AuditEvent.objects.count(),
    )


# ---- submit and approve ----------------------------------------------------------------


def test_submit_assigns_the_step_approvers_and_records_the_trail(
    callbacks, people, orgs, notified, django_capture_on_commit_callbacks
):
    with (
        time_machine.travel(T0, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        instance = _submit(SINGLE, people, orgs)

    assert instance.status == WorkflowInstance.Status.IN_PROGRESS
    assert (instance.current_step, instance.round, instance.submitted_at) == (1, 1, T0)
    assert instance.submitter_org_path == orgs.city_a.path
    assert _tasks(instance) == [("city_admin", 1, 1, "pending")]
    assert WorkflowTask.objects.get(instance=instance).due_at == T0 + timedelta(hours=48)
    assert _kinds(instance) == [("submit", 1)]
    assert (
        AuditEvent.objects.filter(action="workflow.submit", target_id=str(instance.pk)).count() == 1
    )
    assert callbacks == [("submitted", SINGLE, "submitter")]
    assert [(n["to"], n["event"], n["link"]) for n in notified] == [
        (["city_admin"], "workflow.task_assigned", f"/test-documents/{orgs.county_a.pk}/")
    ]
    assert notified[0]["context"]["due_at"] == "2026-03-04 09:00"


def test_approve_single_step_approves_the_document(callbacks, people, orgs):
    instance = _submit(SINGLE, people, orgs)

    with time_machine.travel(T0, tick=False):
        workflow_approve(instance_id=instance.pk, actor=people.city_admin, comment="Fine")

    instance.refresh_from_db()
    assert instance.status == WorkflowInstance.Status.APPROVED
    assert instance.decided_at == T0
    assert _tasks(instance) == [("city_admin", 1, 1, "approved")]
    assert WorkflowTask.objects.get(instance=instance).comment == "Fine"
    assert _kinds(instance) == [("submit", 1), ("approve", 1), ("complete", 1)]
    assert callbacks == [("submitted", SINGLE, "submitter"), ("approved", SINGLE, "city_admin")]
    event = AuditEvent.objects.get(action="workflow.approve")
    assert event.changes["status"] == ["in_progress", "approved"]


def test_approve_two_steps_moves_to_the_province_then_approves(callbacks, people, orgs):
    instance = _submit(TWO_STEP, people, orgs)

    workflow_approve(instance_id=instance.pk, actor=people.city_admin)

    instance.refresh_from_db()
    assert (instance.status, instance.current_step) == ("in_progress", 2)
    assert _tasks(instance) == [
        ("city_admin", 1, 1, "approved"),
        ("province_admin", 2, 1, "pending"),
    ]
    assert callbacks == [("submitted", TWO_STEP, "submitter")]

    workflow_approve(instance_id=instance.pk, actor=people.province_admin)

    instance.refresh_from_db()
    assert instance.status == "approved"
    assert _kinds(instance) == [("submit", 1), ("approve", 1), ("approve", 1), ("complete", 1)]
    assert callbacks[-1] == ("approved", TWO_STEP, "province_admin")


def test_any_mode_first_approval_cancels_the_other_tasks(callbacks, people, orgs, make_user):
    make_user(org=orgs.city_a, roles=("system_admin",), username="city_admin_2")
    instance = _submit(SINGLE, people, orgs)

    workflow_approve(instance_id=instance.pk, actor=people.city_admin)

    instance.refresh_from_db()
    assert instance.status == "approved"
    assert _tasks(instance) == [
        ("city_admin", 1, 1, "approved"),
        ("city_admin_2", 1, 1, "cancelled"),
    ]


def test_level_scope_finds_the_nearest_ancestor_of_that_kind(callbacks, people, orgs, make_user):
    county_submitter = make_user(org=orgs.county_a, roles=("channel_manager",))
    county_admin = make_user(org=orgs.county_a, roles=("system_admin",), username="county_admin")
    instance = workflow_submit(
        target=orgs.county_a, definition_code=TWO_STEP, actor=county_submitter
    )

    workflow_approve(instance_id=instance.pk, actor=county_admin)

    assert _tasks(instance) == [
        ("county_admin", 1, 1, "approved"),
        ("province_admin", 2, 1, "pending"),
    ]


# ---- reject, resubmit ------------------------------------------------------------------


def test_reject_requires_a_reason_and_changes_nothing(callbacks, people, orgs):
    instance = _submit(SINGLE, people, orgs)
    before = _snapshot(instance)

    with pytest.raises(ApplicationError) as refused:
        workflow_reject(instance_id=instance.pk, actor=people.city_admin, reason="   ")

    assert refused.value.code == "reason_required"
    assert _snapshot(instance) == before


def test_reject_then_resubmit_then_approve_keeps_both_rounds(
    callbacks, people, orgs, notified, django_capture_on_commit_callbacks
):
    instance = _submit(TWO_STEP, people, orgs)
    workflow_approve(instance_id=instance.pk, actor=people.city_admin)

    with django_capture_on_commit_callbacks(execute=True):
        workflow_reject(instance_id=instance.pk, actor=people.province_admin, reason="Wrong county")

    instance.refresh_from_db()
    assert (instance.status, instance.round) == ("rejected", 1)
    assert instance.decided_at is not None
    assert notified[-1]["event"] == "workflow.rejected"
    assert notified[-1]["to"] == ["submitter"]
    assert notified[-1]["context"]["reason"] == "Wrong county"

    workflow_resubmit(instance_id=instance.pk, actor=people.submitter)

    instance.refresh_from_db()
    assert (instance.status, instance.round, instance.current_step) == ("in_progress", 2, 1)
    assert instance.decided_at is None
    assert _tasks(instance)[-1] == ("city_admin", 1, 2, "pending")

    workflow_approve(instance_id=instance.pk, actor=people.city_admin)
    workflow_approve(instance_id=instance.pk, actor=people.province_admin)

    instance.refresh_from_db()
    assert instance.status == "approved"
    assert _kinds(instance) == [
        ("submit", 1),
        ("approve", 1),
        ("reject", 1),
        ("resubmit", 2),
        ("approve", 2),
        ("approve", 2),
        ("complete", 2),
    ]
    assert [a.comment for a in workflow_trail(instance=instance) if a.kind == "reject"] == [
        "Wrong county"
    ]
    assert [name for name, _code, _actor in callbacks] == [
        "submitted",
        "rejected",
        "submitted",
        "approved",
    ]


def test_only_the_submitter_resubmits(callbacks, people, orgs):
    instance = _submit(SINGLE, people, orgs)
    workflow_reject(instance_id=instance.pk, actor=people.city_admin, reason="No")
    before = _snapshot(instance)

    with pytest.raises(ApplicationError) as refused:
        workflow_resubmit(instance_id=instance.pk, actor=people.city_admin)

    assert (refused.value.code, refused.value.status) == ("not_submitter", 403)
    assert _snapshot(instance) == before


def test_resubmit_refused_while_in_approval(callbacks, people, orgs):
    instance = _submit(SINGLE, people, orgs)
    before = _snapshot(instance)

    with pytest.raises(ApplicationError) as refused:
        workflow_resubmit(instance_id=instance.pk, actor=people.submitter)

    assert refused.value.code == "invalid_transition"
    assert _snapshot(instance) == before


# ---- countersign -----------------------------------------------------------------------


def test_countersign_needs_every_approver(callbacks, people, orgs, make_user):
    finance_1 = make_user(org=orgs.province, roles=("finance",), username="finance_1")
    finance_2 = make_user(org=orgs.province, roles=("finance",), username="finance_2")
    instance = _submit(COUNTERSIGN, people, orgs)

    workflow_approve(instance_id=instance.pk, actor=finance_1)

    instance.refresh_from_db()
    assert instance.status == "in_progress"
    assert _tasks(instance) == [
        ("finance_1", 1, 1, "approved"),
        ("finance_2", 1, 1, "pending"),
    ]
    assert [name for name, _code, _actor in callbacks] == ["submitted"]

    workflow_approve(instance_id=instance.pk, actor=finance_2)

    instance.refresh_from_db()
    assert instance.status == "approved"
    assert [name for name, _code, _actor in callbacks] == ["submitted", "approved"]


def test_countersign_one_rejection_rejects_the_whole_document(callbacks, people, orgs, make_user):
    finance_1 = make_user(org=orgs.province, roles=("finance",), username="finance_1")
    finance_2 = make_user(org=orgs.province, roles=("finance",), username="finance_2")
    make_user(org=orgs.province, roles=("finance",), username="finance_3")
    instance = _submit(COUNTERSIGN, people, orgs)
    workflow_approve(instance_id=instance.pk, actor=finance_1)

    workflow_reject(instance_id=instance.pk, actor=finance_2, reason="Budget")

    instance.refresh_from_db()
    assert instance.status == "rejected"
    assert _tasks(instance) == [
        ("finance_1", 1, 1, "approved"),
        ("finance_2", 1, 1, "rejected"),
        ("finance_3", 1, 1, "cancelled"),
    ]


# ---- withdraw, delegate ----------------------------------------------------------------


def test_withdraw_cancels_the_pending_tasks(
    callbacks, people, orgs, notified, django_capture_on_commit_callbacks
):
    instance = _submit(SINGLE, people, orgs)

    with django_capture_on_commit_callbacks(execute=True):
        workflow_withdraw(instance_id=instance.pk, actor=people.submitter)

    instance.refresh_from_db()
    assert instance.status == "withdrawn"
    assert _tasks(instance) == [("city_admin", 1, 1, "cancelled")]
    assert _kinds(instance) == [("submit", 1), ("withdraw", 1)]
    assert callbacks[-1] == ("withdrawn", SINGLE, "submitter")
    assert (notified[-1]["event"], notified[-1]["to"]) == ("workflow.withdrawn", ["city_admin"])
    assert list(workflow_task_list(user=people.city_admin)) == []


def test_withdraw_a_rejected_document(callbacks, people, orgs):
    instance = _submit(SINGLE, people, orgs)
    workflow_reject(instance_id=instance.pk, actor=people.city_admin, reason="No")

    workflow_withdraw(instance_id=instance.pk, actor=people.submitter)

    instance.refresh_from_db()
    assert instance.status == "withdrawn"


def test_a_withdrawn_document_can_be_sent_again_as_a_new_round(callbacks, people, orgs):
    instance = _submit(SINGLE, people, orgs)
    workflow_withdraw(instance_id=instance.pk, actor=people.submitter)

    workflow_resubmit(instance_id=instance.pk, actor=people.submitter)

    instance.refresh_from_db()
    assert (instance.status, instance.round) == ("in_progress", 2)
    assert _tasks(instance)[-1] == ("city_admin", 1, 2, "pending")


@pytest.mark.parametrize("actor_case", ["approver", "other_city_admin"])
def test_withdraw_by_someone_else_changes_nothing(callbacks, people, orgs, actor_case):
    instance = _submit(SINGLE, people, orgs)
    actor = people.city_admin if actor_case == "approver" else people.other_city_admin
    before = _snapshot(instance)

    with pytest.raises(ApplicationError) as refused:
        workflow_withdraw(instance_id=instance.pk, actor=actor)

    assert refused.value.code == "not_submitter"
    assert _snapshot(instance) == before


def test_withdrawn_document_cannot_be_approved(callbacks, people, orgs):
    instance = _submit(SINGLE, people, orgs)
    workflow_withdraw(instance_id=instance.pk, actor=people.submitter)
    before = _snapshot(instance)

    with pytest.raises(ApplicationError) as refused:
        workflow_approve(instance_id=instance.pk, actor=people.city_admin)

    assert refused.value.code == "not_in_progress"
    assert _snapshot(instance) == before


def test_delegate_moves_the_task_to_another_user(callbacks, people, orgs, make_user):
    deputy = make_user(org=orgs.county_a, roles=("system_admin",), username="deputy")
    instance = _submit(SINGLE, people, orgs)

    workflow_delegate(instance_id=instance.pk, actor=people.city_admin, to_user=deputy)

    assert _tasks(instance) == [("city_admin", 1, 1, "delegated"), ("deputy", 1, 1, "pending")]
    delegated = WorkflowTask.objects.get(assignee=deputy)
    assert delegated.delegated_from.assignee == people.city_admin
    assert delegated.due_at == delegated.delegated_from.due_at
    with pytest.raises(ApplicationError) as refused:
        workflow_approve(instance_id=instance.pk, actor=people.city_admin)
    assert refused.value.code == "not_your_task"

    workflow_approve(instance_id=instance.pk, actor=deputy)

    instance.refresh_from_db()
    assert instance.status == "approved"
    assert _kinds(instance) == [("submit", 1), ("delegate", 1), ("approve", 1), ("complete", 1)]


@pytest.mark.parametrize("to_case", ["submitter", "self", "outside_subtree"])
def test_delegate_refused_changes_nothing(callbacks, people, orgs, to_case):
    instance = _submit(SINGLE, people, orgs)
    to_user = {
        "submitter": people.submitter,
        "self": people.city_admin,
        "outside_subtree": people.other_city_admin,
    }[to_case]
    before = _snapshot(instance)

    with pytest.raises(ApplicationError) as refused:
        workflow_delegate(instance_id=instance.pk, actor=people.city_admin, to_user=to_user)

    assert refused.value.code == "delegate_invalid"
    assert _snapshot(instance) == before


# ---- refusals --------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["approve", "reject", "delegate"])
@pytest.mark.parametrize("actor_case", ["submitter", "other_city_admin", "province_admin"])
def test_not_your_task_changes_nothing(callbacks, people, orgs, action, actor_case):
    instance = _submit(SINGLE, people, orgs)
    actor = getattr(people, actor_case)
    before = _snapshot(instance)

    with pytest.raises(ApplicationError) as refused:
        if action == "approve":
            workflow_approve(instance_id=instance.pk, actor=actor)
        elif action == "reject":
            workflow_reject(instance_id=instance.pk, actor=actor, reason="No")
        else:
            workflow_delegate(instance_id=instance.pk, actor=actor, to_user=people.county_staff)

    assert (refused.value.code, refused.value.status) == ("not_your_task", 403)
    assert _snapshot(instance) == before


def test_no_approver_writes_nothing(callbacks, people, orgs):
    audit_before = AuditEvent.objects.count()

    with pytest.raises(ApplicationError) as refused:
        _submit(COUNTERSIGN, people, orgs)  # no finance user at the province

    assert refused.value.code == "no_approver"
    assert WorkflowInstance.objects.count() == 0
    assert WorkflowTask.objects.count() == 0
    assert WorkflowAction.objects.count() == 0
    assert AuditEvent.objects.count() == audit_before
    assert callbacks == []


def test_the_submitter_never_approves_their_own_document(callbacks, people, orgs):
    """Four-eyes: the city admin is the only system admin of the city, so nobody is left."""
    with pytest.raises(ApplicationError) as refused:
        workflow_submit(target=orgs.county_a, definition_code=SINGLE, actor=people.city_admin)

    assert refused.value.code == "no_approver"
    assert WorkflowInstance.objects.count() == 0


def test_no_approver_at_the_next_step_refuses_the_approval(callbacks, people, orgs):
    people.province_admin.is_active = False
    people.province_admin.save()
    instance = _submit(TWO_STEP, people, orgs)
    before = _snapshot(instance)

    with pytest.raises(ApplicationError) as refused:
        workflow_approve(instance_id=instance.pk, actor=people.city_admin)

    assert refused.value.code == "no_approver"
    assert _snapshot(instance) == before


def test_a_document_is_submitted_once(callbacks, people, orgs):
    _submit(SINGLE, people, orgs)

    with pytest.raises(ApplicationError) as refused:
        _submit(SINGLE, people, orgs)

    assert refused.value.code == "already_submitted"
    assert WorkflowInstance.objects.count() == 1


# ---- deadlines -------------------------------------------------------------------------


def test_deadline_reminder_then_escalation_each_once(
    callbacks, people, orgs, notified, django_capture_on_commit_callbacks
):
    with time_machine.travel(T0, tick=False):
        instance = _submit(SINGLE, people, orgs)  # due T0 + 48 h, reminder 8 h before

    with time_machine.travel(T0 + timedelta(hours=39), tick=False):
        assert workflow_deadlines_check() == {"reminded": 0, "escalated": 0}

    with (
        time_machine.travel(T0 + timedelta(hours=41), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert workflow_deadlines_check() == {"reminded": 1, "escalated": 0}
        assert workflow_deadlines_check() == {"reminded": 0, "escalated": 0}

    assert (notified[-1]["event"], notified[-1]["to"]) == ("workflow.reminder", ["city_admin"])
    task = WorkflowTask.objects.get(instance=instance)
    assert task.reminded_at == T0 + timedelta(hours=41)

    with (
        time_machine.travel(T0 + timedelta(hours=49), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert workflow_deadlines_check() == {"reminded": 0, "escalated": 1}
        assert workflow_deadlines_check() == {"reminded": 0, "escalated": 0}

    assert _tasks(instance) == [
        ("city_admin", 1, 1, "pending"),
        ("province_admin", 1, 1, "pending"),
    ]
    escalation = WorkflowTask.objects.get(assignee=people.province_admin)
    assert escalation.is_escalation is True
    assert escalation.due_at == T0 + timedelta(hours=49 + 48)
    assert WorkflowTask.objects.get(assignee=people.city_admin).escalated_at == T0 + timedelta(
        hours=49
    )
    assert (notified[-1]["event"], notified[-1]["to"]) == (
        "workflow.escalated",
        ["city_admin", "province_admin"],
    )
    assert _kinds(instance) == [("submit", 1), ("remind", 1), ("escalate", 1)]
    assert AuditEvent.objects.filter(action="workflow.escalate").count() == 1

    # Long after, the overdue escalation task is not escalated again (to HQ).
    with time_machine.travel(T0 + timedelta(days=30), tick=False):
        assert workflow_deadlines_check() == {"reminded": 0, "escalated": 0}

    workflow_approve(instance_id=instance.pk, actor=people.province_admin)

    instance.refresh_from_db()
    assert instance.status == "approved"
    assert _tasks(instance) == [
        ("city_admin", 1, 1, "cancelled"),
        ("province_admin", 1, 1, "approved"),
    ]


def test_countersign_escalation_stands_in_for_the_overdue_approver(
    callbacks, people, orgs, make_user
):
    finance_1 = make_user(org=orgs.province, roles=("finance",), username="finance_1")
    make_user(org=orgs.province, roles=("finance",), username="finance_2")
    make_user(org=orgs.hq, roles=("finance",), username="hq_finance")
    with time_machine.travel(T0, tick=False):
        instance = _submit(COUNTERSIGN, people, orgs)
    workflow_approve(instance_id=instance.pk, actor=finance_1)

    with time_machine.travel(T0 + timedelta(hours=49), tick=False):
        assert workflow_deadlines_check() == {"reminded": 0, "escalated": 1}
    workflow_approve(instance_id=instance.pk, actor=User.objects.get(username="hq_finance"))

    instance.refresh_from_db()
    assert instance.status == "approved"
    assert _tasks(instance) == [
        ("finance_1", 1, 1, "approved"),
        ("finance_2", 1, 1, "cancelled"),
        ("hq_finance", 1, 1, "approved"),
    ]


def test_decided_documents_get_no_reminders(callbacks, people, orgs):
    with time_machine.travel(T0, tick=False):
        instance = _submit(SINGLE, people, orgs)
    workflow_withdraw(instance_id=instance.pk, actor=people.submitter)

    with time_machine.travel(T0 + timedelta(days=5), tick=False):
        assert workflow_deadlines_check() == {"reminded": 0, "escalated": 0}


def test_celery_beat_task_runs_the_check(callbacks, people, orgs):
    from prm.core.tasks import workflow_deadlines_check as beat_task

    with time_machine.travel(T0, tick=False):
        _submit(SINGLE, people, orgs)

    with time_machine.travel(T0 + timedelta(hours=50), tick=False):
        assert beat_task.delay().get() == {"reminded": 0, "escalated": 1}


# ---- pages -----------------------------------------------------------------------------


def test_tasks_page_anonymous_goes_to_sign_in(client, callbacks, people, orgs):
    response = client.get("/approvals/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_tasks_page_lists_my_pending_tasks_with_document_links(client, callbacks, people, orgs):
    instance = _submit(SINGLE, people, orgs)
    client.force_login(people.city_admin)

    response = client.get("/approvals/")

    assert response.status_code == 200
    assert [row["task"].instance_id for row in response.context["rows"]] == [instance.pk]
    assert response.context["rows"][0]["url"] == f"/test-documents/{orgs.county_a.pk}/"
    assert f'href="/test-documents/{orgs.county_a.pk}/"' in response.content.decode()
    assert f'action="/approvals/{instance.pk}/approve/"' in response.content.decode()


def test_tasks_page_of_another_user_shows_nothing(client, callbacks, people, orgs):
    _submit(SINGLE, people, orgs)
    client.force_login(people.other_city_admin)

    response = client.get("/approvals/")

    assert response.status_code == 200
    assert response.context["rows"] == []
    assert 'data-testid="workflow-tasks-empty"' in response.content.decode()


def test_act_anonymous_goes_to_sign_in_and_changes_nothing(client, callbacks, people, orgs):
    instance = _submit(SINGLE, people, orgs)
    before = _snapshot(instance)

    response = client.post(f"/approvals/{instance.pk}/approve/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert _snapshot(instance) == before


def test_act_by_another_org_is_not_found_and_changes_nothing(client, callbacks, people, orgs):
    instance = _submit(SINGLE, people, orgs)
    before = _snapshot(instance)
    client.force_login(people.other_city_admin)

    response = client.post(f"/approvals/{instance.pk}/approve/")

    assert response.status_code == 404
    assert _snapshot(instance) == before


def test_act_without_a_task_shows_the_error_and_changes_nothing(
    client, callbacks, people, orgs, settings
):
    settings.LANGUAGE_CODE = "en"  # the assertions read the English text
    instance = _submit(SINGLE, people, orgs)
    before = _snapshot(instance)
    client.force_login(people.province_admin)  # sees the city's documents, holds no task

    response = client.post(
        f"/approvals/{instance.pk}/approve/", {"next": "/approvals/"}, follow=True
    )

    assert response.redirect_chain == [("/approvals/", 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "You have no pending approval on this document."
    ]
    assert _snapshot(instance) == before


def test_act_approve_redirects_to_next(client, callbacks, people, orgs):
    instance = _submit(SINGLE, people, orgs)
    client.force_login(people.city_admin)

    response = client.post(
        f"/approvals/{instance.pk}/approve/", {"next": "/approvals/", "comment": "OK"}
    )

    assert (response.status_code, response["Location"]) == (302, "/approvals/")
    instance.refresh_from_db()
    assert instance.status == "approved"


def test_act_reject_needs_a_reason_and_ignores_an_unsafe_next(client, callbacks, people, orgs):
    instance = _submit(SINGLE, people, orgs)
    client.force_login(people.city_admin)

    response = client.post(
        f"/approvals/{instance.pk}/reject/", {"reason": "", "next": "https://evil.example/"}
    )

    assert (response.status_code, response["Location"]) == (
        302,
        f"/test-documents/{orgs.county_a.pk}/",
    )
    instance.refresh_from_db()
    assert instance.status == "in_progress"


def test_act_delegate_by_username(client, callbacks, people, orgs):
    instance = _submit(SINGLE, people, orgs)
    client.force_login(people.city_admin)

    client.post(f"/approvals/{instance.pk}/delegate/", {"to_user": "county"})

    assert _tasks(instance) == [("city_admin", 1, 1, "delegated"), ("county", 1, 1, "pending")]


def test_act_unknown_action_and_get_are_refused(client, callbacks, people, orgs):
    instance = _submit(SINGLE, people, orgs)
    client.force_login(people.city_admin)

    assert client.post(f"/approvals/{instance.pk}/explode/").status_code == 404
    assert client.get(f"/approvals/{instance.pk}/approve/").status_code == 405


# ---- API -------------------------------------------------------------------------------


def test_api_tasks_anonymous_is_401(client, callbacks, people, orgs):
    response = client.get("/api/v1/core/workflow/tasks")

    assert response.status_code == 401


def test_api_tasks_lists_my_pending_tasks(client, callbacks, people, orgs):
    instance = _submit(SINGLE, people, orgs)
    client.force_login(people.city_admin)

    response = client.get("/api/v1/core/workflow/tasks")

    assert response.status_code == 200
    [task] = response.json()
    assert task["instance_id"] == instance.pk
    assert (task["definition"], task["step"], task["round"]) == (SINGLE, "City admin", 1)
    assert task["document"] == "Tianhe"
    assert task["document_url"] == f"/test-documents/{orgs.county_a.pk}/"
    assert task["submitted_by"] == "submitter"


def test_api_act_anonymous_is_401(client, callbacks, people, orgs):
    instance = _submit(SINGLE, people, orgs)

    response = client.post(f"/api/v1/core/workflow/instances/{instance.pk}/approve")

    assert response.status_code == 401


def test_api_act_other_org_is_404_and_changes_nothing(client, callbacks, people, orgs):
    instance = _submit(SINGLE, people, orgs)
    before = _snapshot(instance)
    client.force_login(people.other_city_admin)

    response = client.post(
        f"/api/v1/core/workflow/instances/{instance.pk}/approve",
        {},
        content_type="application/json",
    )

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert _snapshot(instance) == before


def test_api_act_without_task_is_403_and_changes_nothing(client, callbacks, people, orgs):
    instance = _submit(SINGLE, people, orgs)
    before = _snapshot(instance)
    client.force_login(people.province_admin)

    response = client.post(
        f"/api/v1/core/workflow/instances/{instance.pk}/approve",
        {},
        content_type="application/json",
    )

    assert (response.status_code, response.json()["code"]) == (403, "not_your_task")
    assert _snapshot(instance) == before


def test_api_approve_without_a_body(client, callbacks, people, orgs):
    instance = _submit(SINGLE, people, orgs)
    client.force_login(people.city_admin)

    response = client.generic("POST", f"/api/v1/core/workflow/instances/{instance.pk}/approve")

    assert (response.status_code, response.json()["status"]) == (200, "approved")


def test_api_reject_then_approve(client, callbacks, people, orgs):
    instance = _submit(SINGLE, people, orgs)
    client.force_login(people.city_admin)
    url = f"/api/v1/core/workflow/instances/{instance.pk}"

    missing = client.post(f"{url}/reject", {}, content_type="application/json")
    rejected = client.post(f"{url}/reject", {"reason": "No"}, content_type="application/json")

    assert (missing.status_code, missing.json()["code"]) == (400, "reason_required")
    assert rejected.status_code == 200
    assert rejected.json() == {
        "id": instance.pk,
        "definition": SINGLE,
        "status": "rejected",
        "current_step": 1,
        "round": 1,
        "decided_at": rejected.json()["decided_at"],
    }


def test_the_owning_app_cancels_an_open_approval_with_a_reason(callbacks, people, orgs):
    instance = _submit(SINGLE, people, orgs)

    with pytest.raises(ApplicationError):
        workflow_cancel(instance_id=instance.pk, actor=None, reason=" ")
    workflow_cancel(instance_id=instance.pk, actor=None, reason="Partner exited")

    instance.refresh_from_db()
    assert instance.status == "withdrawn"
    assert _tasks(instance) == [("city_admin", 1, 1, "cancelled")]
    assert callbacks[-1][0] == "withdrawn"
    assert instance.actions.last().comment == "Partner exited"
