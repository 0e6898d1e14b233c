"""Approval of a settlement run city → province (four-eyes), rejection, the lock of an
approved run, and what approval writes for later runs: paid records, clawbacks of a
later upheld complaint, negative balances carried forward, adjustments paid once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from prm.core.exceptions import ApplicationError, Forbidden
from prm.core.models import AuditEvent, Notification, WorkflowInstance, WorkflowTask
from prm.incentives.models import (
    BillingMonth,
    Clawback,
    PaidRecord,
    SettlementAdjustment,
    SettlementRun,
    SettlementStatement,
)
from prm.incentives.services import settlement as services
from prm.incentives.tests import factories
from prm.incentives.tests.test_settlement_support import (  # noqa: F401  (fixtures)
    PERIOD,
    A,
    G,
    H,
    approve_fully,
    complaint,
    local,
    start,
    statements_by_work_id,
    today_fixture,
    world_fixture,
)

pytestmark = pytest.mark.django_db

ZERO = Decimal("0.00")


def run_state(run: SettlementRun) -> tuple:
    run.refresh_from_db()
    return (run.status, run.revision, run.approved_at, run.updated_at)


def test_submit_then_city_then_province_approves(world, django_capture_on_commit_callbacks):
    run = start(world, django_capture_on_commit_callbacks)

    services.settlement_run_submit(run=run, actor=world.starter)
    run.refresh_from_db()
    assert run.status == "submitted"
    instance = WorkflowInstance.objects.get(target_id=str(run.pk))
    pending = WorkflowTask.objects.filter(instance=instance, status="pending")
    # Step 1: the city's channel managers, the submitter excluded.
    assert sorted(pending.values_list("assignee__username", flat=True)) == [
        "citymgr",
        "citymgr2",
    ]

    services.settlement_run_approve(run=run, actor=world.city_manager)
    run.refresh_from_db()
    assert run.status == "submitted"
    assert sorted(pending.values_list("assignee__username", flat=True)) == [
        "provmgr",
        "provmgr2",
    ]
    assert PaidRecord.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        services.settlement_run_approve(run=run, actor=world.province_manager)
    run.refresh_from_db()
    assert run.status == "approved" and run.approved_at is not None
    assert run.is_locked
    r = world.records
    assert sorted(PaidRecord.objects.values_list("recommendation_id", "amount", "run_id")) == [
        (r["r1"].pk, Decimal("4.00"), run.pk),
        (r["r4"].pk, Decimal("2.00"), run.pk),
    ]
    month = BillingMonth.objects.get(month=date(2026, 3, 1))
    assert month.locked_by_run == run and month.locked_at == run.approved_at
    assert BillingMonth.objects.filter(locked_at__isnull=False).count() == 1
    assert AuditEvent.objects.filter(action="settlement.approved", target_id=str(run.pk)).exists()
    told = Notification.objects.filter(event="incentives.run_approved")
    assert set(told.values_list("recipient__username", flat=True)) == {
        "starter",
        "citymgr",
        "citymgr2",
        "finance",
    }


def test_the_starter_cannot_approve(world, django_capture_on_commit_callbacks):
    run = start(world, django_capture_on_commit_callbacks)  # started by "starter"
    services.settlement_run_submit(run=run, actor=world.city_manager)
    before = run_state(run)
    tasks = list(WorkflowTask.objects.order_by("pk").values_list("pk", "status"))

    with pytest.raises(ApplicationError) as error:
        services.settlement_run_approve(run=run, actor=world.starter)

    assert error.value.code == "four_eyes"
    assert str(error.value.message) == (
        "You started this settlement run, so someone else must approve it."
    )
    assert run_state(run) == before
    assert list(WorkflowTask.objects.order_by("pk").values_list("pk", "status")) == tasks
    assert PaidRecord.objects.count() == 0
    # Another city manager may.
    services.settlement_run_approve(run=run, actor=world.city_manager_2)
    assert WorkflowInstance.objects.get().current_step == 2


def test_the_starter_cannot_approve_at_the_province_either(
    world, django_capture_on_commit_callbacks
):
    run = start(world, django_capture_on_commit_callbacks, actor="province_manager")
    services.settlement_run_submit(run=run, actor=world.city_manager)
    services.settlement_run_approve(run=run, actor=world.city_manager_2)
    with pytest.raises(ApplicationError) as error:
        services.settlement_run_approve(run=run, actor=world.province_manager)
    assert error.value.code == "four_eyes"
    run.refresh_from_db()
    assert run.status == "submitted"
    services.settlement_run_approve(run=run, actor=world.province_manager_2)
    run.refresh_from_db()
    assert run.status == "approved"


def test_finance_cannot_approve(world, django_capture_on_commit_callbacks):
    run = start(world, django_capture_on_commit_callbacks)
    services.settlement_run_submit(run=run, actor=world.starter)
    before = run_state(run)
    with pytest.raises(Forbidden):
        services.settlement_run_approve(run=run, actor=world.finance)
    assert run_state(run) == before


def test_rejection_returns_the_run_to_computed(world, django_capture_on_commit_callbacks):
    run = start(world, django_capture_on_commit_callbacks)
    services.settlement_run_submit(run=run, actor=world.starter)
    services.settlement_run_approve(run=run, actor=world.city_manager)

    services.settlement_run_reject(run=run, actor=world.province_manager, reason="Check C")

    run.refresh_from_db()
    assert run.status == "computed"
    assert PaidRecord.objects.count() == 0
    # It may be run again and submitted again (a new round, by its submitter).
    run = start(world, django_capture_on_commit_callbacks, actor="city_manager")
    assert run.status == "computed"
    services.settlement_run_submit(run=run, actor=world.starter)
    run.refresh_from_db()
    assert run.status == "submitted"
    assert WorkflowInstance.objects.get().round == 2


def test_reject_needs_a_reason(world, django_capture_on_commit_callbacks):
    run = start(world, django_capture_on_commit_callbacks)
    services.settlement_run_submit(run=run, actor=world.starter)
    before = run_state(run)
    with pytest.raises(ApplicationError) as error:
        services.settlement_run_reject(run=run, actor=world.city_manager, reason="  ")
    assert error.value.code == "reason_required"
    assert run_state(run) == before


def test_only_a_computed_run_can_be_submitted(world):
    run = SettlementRun.objects.create(
        number="ST-2026-03-GZ", period=PERIOD, org=world.orgs.city_a, status="failed"
    )
    with pytest.raises(ApplicationError) as error:
        services.settlement_run_submit(run=run, actor=world.starter)
    assert error.value.code == "run_not_computed"
    assert WorkflowInstance.objects.count() == 0


def test_a_run_in_approval_cannot_be_run_again(world, django_capture_on_commit_callbacks):
    run = start(world, django_capture_on_commit_callbacks)
    services.settlement_run_submit(run=run, actor=world.starter)
    before = run_state(run)
    with pytest.raises(ApplicationError) as error:
        services.settlement_run_rerun(run=run, actor=world.city_manager)
    assert error.value.code == "run_in_approval"
    assert run_state(run) == before


def test_an_approved_run_refuses_every_change(world, django_capture_on_commit_callbacks):
    run = approve_fully(world, start(world, django_capture_on_commit_callbacks))
    before = run_state(run)
    statements = list(SettlementStatement.objects.values_list("pk", "payable_amount"))
    paid = PaidRecord.objects.count()

    with pytest.raises(ApplicationError) as error:
        services.settlement_run_rerun(run=run, actor=world.city_manager)
    assert error.value.code == "run_approved"
    assert str(error.value.message) == (
        "The settlement ST-2026-03-GZ is approved and can no longer be changed; corrections "
        "are adjustments paid in a later run."
    )
    with pytest.raises(ApplicationError) as error:
        services.settlement_run_submit(run=run, actor=world.city_manager)
    assert error.value.code == "run_approved"
    with pytest.raises(ApplicationError) as error:
        services.settlement_run_start(
            org=world.orgs.city_a, period=PERIOD, actor=world.province_manager
        )
    assert error.value.code == "run_approved"
    counts = services.settlement_runs_monthly(today=date(2026, 4, 15))
    assert counts["skipped"] == 1  # Guangzhou's; Shenzhen's is started
    services.settlement_run_compute(run_id=run.pk)  # a redelivered task: nothing happens

    assert run_state(run) == before
    assert list(SettlementStatement.objects.values_list("pk", "payable_amount")) == statements
    assert PaidRecord.objects.count() == paid


def test_a_run_with_stale_inputs_cannot_be_approved(
    world, today, django_capture_on_commit_callbacks
):
    """A run computed before an earlier period of its city was approved is refused."""
    march = start(world, django_capture_on_commit_callbacks)
    today.set(date(2026, 5, 15))
    april = start(world, django_capture_on_commit_callbacks, period="2026-04")
    approve_fully(world, march)
    services.settlement_run_submit(run=april, actor=world.starter)
    with pytest.raises(ApplicationError) as error:
        services.settlement_run_approve(run=april, actor=world.city_manager)
    assert error.value.code == "run_stale"
    april.refresh_from_db()
    assert april.status == "submitted"


# --- Later periods: clawbacks, carried balances, adjustments -----------------------------


def test_clawback_carry_forward_and_adjustment_across_periods(
    world, today, django_capture_on_commit_callbacks
):
    r = world.records
    march = approve_fully(world, start(world, django_capture_on_commit_callbacks))
    paid_r1 = PaidRecord.objects.get(recommendation=r["r1"])

    # An adjustment for p2, paid in the next computed and approved run of the city.
    adjustment = services.settlement_adjustment_create(
        actor=world.city_manager,
        promoter=world.p2,
        amount=Decimal("3.00"),
        reason="Record of 2026-01 settled late",
        corrects_run=march,
    )

    # 2026-04: r5 fails (no voice); A's upheld complaint of 2026-04-05 claws r1 back.
    today.set(date(2026, 5, 15))
    april = start(world, django_capture_on_commit_callbacks, period="2026-04")
    assert (april.records, april.qualified, april.gross_amount) == (1, 0, ZERO)
    assert april.clawback_amount == Decimal("-4.00")
    assert april.adjustment_amount == Decimal("3.00")
    assert april.payable_amount == Decimal("3.00")
    assert statements_by_work_id(april) == {
        "W0001": {
            "records": 1,
            "qualified": 0,
            "gross_amount": ZERO,
            "clawback_amount": Decimal("-4.00"),
            "carried_in": ZERO,
            "adjustment_amount": ZERO,
            "net_amount": Decimal("-4.00"),
            "payable_amount": ZERO,
            "carry_forward": Decimal("-4.00"),
        },
        "W0002": {
            "records": 0,
            "qualified": 0,
            "gross_amount": ZERO,
            "clawback_amount": ZERO,
            "carried_in": ZERO,
            "adjustment_amount": Decimal("3.00"),
            "net_amount": Decimal("3.00"),
            "payable_amount": Decimal("3.00"),
            "carry_forward": ZERO,
        },
    }
    adjustment.refresh_from_db()
    assert adjustment.applied_run is None  # only an approval pays it

    approve_fully(world, april)
    clawback = Clawback.objects.get()
    assert (clawback.paid_record, clawback.run, clawback.amount) == (
        paid_r1,
        april,
        Decimal("-4.00"),
    )
    assert clawback.complained_at == local(2026, 4, 5, 9)
    adjustment.refresh_from_db()
    assert adjustment.applied_run == april

    # 2026-05: two qualifying records of p1 (8.00) less the -4.00 carried in. A second
    # complaint about A does not claw r1 back twice; the adjustment is not paid again.
    factories.recommendation(
        promoter=world.p1, product=world.crbt, msisdn=G, recommended_at=local(2026, 3, 5, 10)
    )
    factories.recommendation(
        promoter=world.p1, product=world.crbt, msisdn=H, recommended_at=local(2026, 3, 6, 10)
    )
    may_month = date(2026, 5, 1)
    world.store.complaints[may_month] = [complaint(A, local(2026, 5, 3, 9))]
    world.store.write()
    today.set(date(2026, 6, 15))
    may = start(world, django_capture_on_commit_callbacks, period="2026-05")
    assert (may.records, may.qualified, may.gross_amount) == (2, 2, Decimal("8.00"))
    assert (may.clawback_amount, may.adjustment_amount) == (ZERO, ZERO)
    assert may.payable_amount == Decimal("4.00")
    assert statements_by_work_id(may) == {
        "W0001": {
            "records": 2,
            "qualified": 2,
            "gross_amount": Decimal("8.00"),
            "clawback_amount": ZERO,
            "carried_in": Decimal("-4.00"),
            "adjustment_amount": ZERO,
            "net_amount": Decimal("4.00"),
            "payable_amount": Decimal("4.00"),
            "carry_forward": ZERO,
        },
    }
    approve_fully(world, may)
    assert Clawback.objects.count() == 1
    assert SettlementAdjustment.objects.get().applied_run == april


def test_a_new_adjustment_makes_a_rerun_change(world, today, django_capture_on_commit_callbacks):
    """The app's inputs (adjustments, carried balances) count for idempotency too."""
    march = approve_fully(world, start(world, django_capture_on_commit_callbacks))
    today.set(date(2026, 5, 15))
    april = start(world, django_capture_on_commit_callbacks, period="2026-04")
    assert april.payable_amount == ZERO
    services.settlement_adjustment_create(
        actor=world.city_manager,
        promoter=world.p1,
        amount=Decimal("-1.50"),
        reason="Overpaid in 2026-03",
        corrects_run=march,
    )
    april = start(world, django_capture_on_commit_callbacks, period="2026-04")
    assert april.revision == 2
    assert statements_by_work_id(april)["W0001"]["carry_forward"] == Decimal("-5.50")
    assert april.changes["promoters_payable_changed"] == 0
    assert april.changes["verdicts_changed"] == 0


@pytest.mark.parametrize(
    ("_case", "amount", "code"),
    [
        ("zero", "0", "amount_zero"),
        ("zero with decimals", "0.00", "amount_zero"),
        ("three decimals", "1.005", "invalid_amount"),
        ("more than the column holds", "1000000000000.00", "invalid_amount"),
    ],
)
def test_adjustment_amount_rules(world, django_capture_on_commit_callbacks, _case, amount, code):
    march = approve_fully(world, start(world, django_capture_on_commit_callbacks))
    with pytest.raises(ApplicationError) as error:
        services.settlement_adjustment_create(
            actor=world.city_manager,
            promoter=world.p1,
            amount=Decimal(amount),
            reason="x",
            corrects_run=march,
        )
    assert error.value.code == code
    assert SettlementAdjustment.objects.count() == 0


@pytest.mark.parametrize("amount", ["0.01", "-0.01", "999999999999.99"])
def test_adjustment_amounts_at_the_edges_are_accepted(
    world, django_capture_on_commit_callbacks, amount
):
    march = approve_fully(world, start(world, django_capture_on_commit_callbacks))
    adjustment = services.settlement_adjustment_create(
        actor=world.city_manager,
        promoter=world.p1,
        amount=Decimal(amount),
        reason="Edge",
        corrects_run=march,
    )
    assert adjustment.amount == Decimal(amount)
    assert AuditEvent.objects.filter(action="settlement.adjustment_created").count() == 1


def test_adjustment_refusals(world, django_capture_on_commit_callbacks):
    run = start(world, django_capture_on_commit_callbacks)  # computed, not approved
    with pytest.raises(ApplicationError) as error:
        services.settlement_adjustment_create(
            actor=world.city_manager,
            promoter=world.p1,
            amount=Decimal("1"),
            reason="x",
            corrects_run=run,
        )
    assert error.value.code == "run_not_approved"
    with pytest.raises(ApplicationError) as error:
        services.settlement_adjustment_create(
            actor=world.city_manager,
            promoter=world.p1,
            amount=Decimal("1"),
            reason=" ",
            corrects_run=run,
        )
    assert error.value.code == "reason_required"
    with pytest.raises(Forbidden):
        services.settlement_adjustment_create(
            actor=world.finance,
            promoter=world.p1,
            amount=Decimal("1"),
            reason="x",
            corrects_run=run,
        )
    with pytest.raises(ApplicationError) as error:  # p1 is Guangzhou's
        services.settlement_adjustment_create(
            actor=world.other_city_manager,
            promoter=world.p1,
            amount=Decimal("1"),
            reason="x",
            corrects_run=run,
        )
    assert error.value.code == "not_found"
    assert SettlementAdjustment.objects.count() == 0


def test_withdrawal_returns_the_run_to_computed(world, django_capture_on_commit_callbacks):
    from prm.core.workflow import workflow_withdraw

    run = start(world, django_capture_on_commit_callbacks)
    services.settlement_run_submit(run=run, actor=world.starter)
    workflow_withdraw(instance_id=WorkflowInstance.objects.get().pk, actor=world.starter)
    run.refresh_from_db()
    assert run.status == "computed"
    services.settlement_run_submit(run=run, actor=world.starter)
    run.refresh_from_db()
    assert run.status == "submitted"


def test_run_page_offers_approval_to_the_assigned_approver_only(
    client, world, django_capture_on_commit_callbacks
):
    run = start(world, django_capture_on_commit_callbacks)
    services.settlement_run_submit(run=run, actor=world.city_manager)
    url = f"/incentives/settlement/runs/{run.number}/"

    client.force_login(world.city_manager_2)
    assert 'data-testid="workflow-approve"' in client.get(url).content.decode()
    client.force_login(world.finance)
    assert 'data-testid="workflow-approve"' not in client.get(url).content.decode()
    client.force_login(world.province_manager)  # not yet: step 1 is the city's
    assert 'data-testid="workflow-approve"' not in client.get(url).content.decode()

    # The starter holds a task (a city channel manager) but is refused on approval.
    instance = WorkflowInstance.objects.get()
    client.force_login(world.starter)
    approve = reverse("core:workflow_act", args=[instance.pk, "approve"])
    response = client.post(approve, {"next": url}, follow=True)
    assert "someone else must approve it" in response.content.decode()
    run.refresh_from_db()
    assert run.status == "submitted"
    assert WorkflowInstance.objects.get().current_step == 1
