"""Cooperation agreements (R1 "Agreements"): drafting, the settlement-model rules, the
countersign (会签) of the partner managers then finance, the daily check (start,
expiring, renewal reminders, end of term), early termination and renewal."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import translation

from prm.core.exceptions import ApplicationError
from prm.core.models import AuditEvent, Notification, WorkflowInstance, WorkflowTask
from prm.core.workflow import (
    workflow_approve,
    workflow_instance_for,
    workflow_reject,
    workflow_withdraw,
)
from prm.partners.constants import AGREEMENT_WORKFLOW
from prm.partners.models import Agreement, Partner
from prm.partners.services.agreements import (
    agreement_create,
    agreement_renew,
    agreement_submit,
    agreement_terminate,
    agreement_update,
    agreements_check,
)
from prm.partners.tests.test_agreements_fixtures import (  # noqa: F401  (fixtures)
    AGREEMENT_VALUES,
    agreement_row,
    world_fixture,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 5, 11, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TODAY = T0.date()


@pytest.fixture(autouse=True)
def frozen():
    # English: stored texts such as the termination reason are asserted below.
    with time_machine.travel(T0, tick=False), translation.override("en"):
        yield


def _values(**overrides):
    values = {
        **AGREEMENT_VALUES,
        "starts_on": TODAY - timedelta(days=10),
        "ends_on": TODAY + timedelta(days=365),
    }
    values.update(overrides)
    return values


def _draft(world, **overrides) -> Agreement:
    return agreement_create(actor=world.pm1, partner=world.partner_a, **_values(**overrides))


def _instance(agreement) -> WorkflowInstance:
    return workflow_instance_for(target=agreement, definition_code=AGREEMENT_WORKFLOW)


def _pending(agreement) -> set[str]:
    return set(
        WorkflowTask.objects.filter(
            instance=_instance(agreement), status=WorkflowTask.Status.PENDING
        ).values_list("assignee__username", flat=True)
    )


def _snapshot():
    return (
        Agreement.objects.count(),
        WorkflowInstance.objects.count(),
        AuditEvent.objects.count(),
        list(Agreement.objects.values_list("status", flat=True).order_by("pk")),
    )


# ---- Drafting ------------------------------------------------------------------------------


def test_staff_draft_an_agreement_with_a_number_and_an_audit_event(world):
    agreement = _draft(world)

    assert agreement.number == "AG-2026-000001"
    assert agreement.status == Agreement.Status.DRAFT
    assert (agreement.partner, agreement.created_by) == (world.partner_a, world.pm1)
    assert agreement.revenue_share_percent == Decimal("60.00")
    assert agreement.fixed_fee is None
    event = AuditEvent.objects.get(action="agreement.created")
    assert (event.actor, event.target_id) == (world.pm1, str(agreement.pk))
    assert _draft(world).number == "AG-2026-000002"


@pytest.mark.parametrize(
    ("_case", "model", "percent", "fee", "code"),
    [
        ("share_missing", "revenue_share", None, None, "revenue_share_invalid"),
        ("share_zero", "revenue_share", "0", None, "revenue_share_invalid"),
        ("share_negative", "revenue_share", "-1", None, "revenue_share_invalid"),
        ("share_just_above_zero", "revenue_share", "0.01", None, None),
        ("share_hundred", "revenue_share", "100", None, None),
        ("share_above_hundred", "revenue_share", "100.01", None, "revenue_share_invalid"),
        ("fee_missing", "fixed_fee", None, None, "fixed_fee_invalid"),
        ("fee_zero", "fixed_fee", None, "0", "fixed_fee_invalid"),
        ("fee_positive", "fixed_fee", None, "0.01", None),
        ("fee_largest", "fixed_fee", None, "999999999999.99", None),
        ("fee_too_large", "fixed_fee", None, "1000000000000", "fixed_fee_invalid"),
        ("mixed_without_fee", "mixed", "50", None, "fixed_fee_invalid"),
        ("mixed_without_share", "mixed", None, "1000", "revenue_share_invalid"),
        ("mixed_both", "mixed", "50", "1000", None),
        ("unknown_model", "barter", "50", "1000", "settlement_model_invalid"),
    ],
)
def test_settlement_model_rules(world, _case, model, percent, fee, code):
    before = _snapshot()

    def create():
        return _draft(
            world,
            settlement_model=model,
            revenue_share_percent=percent and Decimal(percent),
            fixed_fee=fee and Decimal(fee),
        )

    if code is None:
        agreement = create()
        assert agreement.settlement_model == model
    else:
        with pytest.raises(ApplicationError) as refused:
            create()
        assert refused.value.code == code
        assert _snapshot() == before


def test_a_fixed_fee_agreement_keeps_no_revenue_share(world):
    agreement = _draft(
        world, settlement_model="fixed_fee", revenue_share_percent=Decimal("5"), fixed_fee=100
    )

    assert (agreement.revenue_share_percent, agreement.fixed_fee) == (None, Decimal("100.00"))


@pytest.mark.parametrize(
    ("_case", "ends_after_start", "code"),
    [("ends_before", -1, "term_invalid"), ("same_day", 0, "term_invalid"), ("next_day", 1, None)],
)
def test_the_term_must_end_after_it_starts(world, _case, ends_after_start, code):
    starts_on = date(2026, 7, 1)
    ends_on = starts_on + timedelta(days=ends_after_start)
    before = _snapshot()

    if code is None:
        assert _draft(world, starts_on=starts_on, ends_on=ends_on).ends_on == ends_on
    else:
        with pytest.raises(ApplicationError) as refused:
            _draft(world, starts_on=starts_on, ends_on=ends_on)
        assert (refused.value.code, refused.value.details["field"]) == (code, "ends_on")
        assert _snapshot() == before


@pytest.mark.parametrize(
    ("_case", "starts_on", "ends_on", "code"),
    [
        ("before_1990", date(1989, 12, 31), date(2026, 1, 1), "term_invalid"),
        ("from_1990", date(1990, 1, 1), date(2026, 1, 1), None),
        ("until_2199", date(2026, 1, 1), date(2199, 12, 31), None),
        ("after_2199", date(2026, 1, 1), date(2200, 1, 1), "term_invalid"),
    ],
)
def test_dates_outside_any_real_term_are_refused(world, _case, starts_on, ends_on, code):
    if code is None:
        assert _draft(world, starts_on=starts_on, ends_on=ends_on).starts_on == starts_on
    else:
        with pytest.raises(ApplicationError) as refused:
            _draft(world, starts_on=starts_on, ends_on=ends_on)
        assert refused.value.code == code
        assert Agreement.objects.count() == 0


@pytest.mark.parametrize(
    "status", [Partner.Status.SUBMITTED, Partner.Status.EXITING, Partner.Status.EXITED]
)
def test_agreements_are_made_only_with_an_active_partner(world, status):
    Partner.objects.filter(pk=world.partner_a.pk).update(status=status)
    world.partner_a.refresh_from_db()
    before = _snapshot()

    with pytest.raises(ApplicationError) as refused:
        _draft(world)

    assert refused.value.code == "partner_not_active"
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("_case", "who", "code"),
    [("other_city", "pm_b", "not_found"), ("no_permission", "channel_a", "forbidden")],
)
def test_drafting_needs_the_permission_and_the_partner_in_scope(world, _case, who, code):
    before = _snapshot()

    with pytest.raises(ApplicationError) as refused:
        agreement_create(actor=getattr(world, who), partner=world.partner_a, **_values())

    assert refused.value.code == code
    assert _snapshot() == before


def test_a_draft_is_changed_with_an_audit_of_the_differences(world):
    agreement = _draft(world)

    agreement_update(actor=world.pm2, agreement=agreement, **_values(title="SMS 2026 (v2)"))

    agreement.refresh_from_db()
    assert agreement.title == "SMS 2026 (v2)"
    event = AuditEvent.objects.get(action="agreement.updated")
    assert event.changes == {"title": ["SMS cooperation 2026", "SMS 2026 (v2)"]}


# ---- Countersign ------------------------------------------------------------------------


def test_countersign_by_every_partner_manager_then_finance_signs_and_activates(world):
    agreement = _draft(world)

    agreement_submit(actor=world.pm1, agreement=agreement)

    agreement.refresh_from_db()
    assert agreement.status == Agreement.Status.COUNTERSIGNING
    assert _pending(agreement) == {"gz_pm2", "gz_pm3"}  # never the submitter

    workflow_approve(instance_id=_instance(agreement).pk, actor=world.pm2)
    agreement.refresh_from_db()
    assert agreement.status == Agreement.Status.COUNTERSIGNING
    assert _pending(agreement) == {"gz_pm3"}

    workflow_approve(instance_id=_instance(agreement).pk, actor=world.pm3)
    assert _pending(agreement) == {"gz_finance"}
    assert Agreement.objects.get(pk=agreement.pk).status == Agreement.Status.COUNTERSIGNING

    workflow_approve(instance_id=_instance(agreement).pk, actor=world.finance_a)

    agreement.refresh_from_db()
    # Signed today, and the term started ten days ago: active at once.
    assert (agreement.status, agreement.signed_on) == (Agreement.Status.ACTIVE, TODAY)
    assert list(
        AuditEvent.objects.filter(target_id=str(agreement.pk), target_type="partners.agreement")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == [
        "agreement.created",
        "agreement.submitted",
        "agreement.signed",
        "agreement.activated",
    ]
    told = Notification.objects.filter(event="partners.agreement_signed")
    assert set(told.values_list("recipient__username", flat=True)) == {
        world.admin_a.username,
        "gz_pm1",
    }


def test_an_agreement_signed_before_its_start_waits_signed(world):
    agreement = _draft(world, starts_on=TODAY + timedelta(days=10))
    agreement_submit(actor=world.pm1, agreement=agreement)
    for approver in (world.pm2, world.pm3, world.finance_a):
        workflow_approve(instance_id=_instance(agreement).pk, actor=approver)

    agreement.refresh_from_db()
    assert (agreement.status, agreement.signed_on) == (Agreement.Status.SIGNED, TODAY)


def test_a_rejection_returns_the_draft_which_is_changed_and_sent_again(world):
    agreement = _draft(world)
    agreement_submit(actor=world.pm1, agreement=agreement)
    workflow_approve(instance_id=_instance(agreement).pk, actor=world.pm2)

    workflow_reject(instance_id=_instance(agreement).pk, actor=world.pm3, reason="Share too high")

    agreement.refresh_from_db()
    assert agreement.status == Agreement.Status.DRAFT
    agreement_update(
        actor=world.pm1, agreement=agreement, **_values(revenue_share_percent=Decimal("50"))
    )
    agreement_submit(actor=world.pm1, agreement=agreement)
    agreement.refresh_from_db()
    assert agreement.status == Agreement.Status.COUNTERSIGNING
    assert _instance(agreement).round == 2
    assert _pending(agreement) == {"gz_pm2", "gz_pm3"}


def test_only_the_submitter_sends_a_rejected_draft_again(world):
    agreement = _draft(world)
    agreement_submit(actor=world.pm1, agreement=agreement)
    workflow_reject(instance_id=_instance(agreement).pk, actor=world.pm2, reason="No")

    with pytest.raises(ApplicationError) as refused:
        agreement_submit(actor=world.pm2, agreement=agreement)

    assert refused.value.code == "not_submitter"
    assert Agreement.objects.get(pk=agreement.pk).status == Agreement.Status.DRAFT


def test_withdrawing_from_approval_ends_the_agreement(world):
    agreement = _draft(world)
    agreement_submit(actor=world.pm1, agreement=agreement)

    workflow_withdraw(instance_id=_instance(agreement).pk, actor=world.pm1)

    agreement.refresh_from_db()
    assert agreement.status == Agreement.Status.TERMINATED
    assert agreement.termination_reason == "Withdrawn from approval."


def test_submission_without_countersigners_is_refused_and_changes_nothing(world, orgs, make_user):
    lone = make_user(org=orgs.city_b, roles=("partner_manager",), username="sz_lone")
    world.pm_b.is_active = False
    world.pm_b.save()
    agreement = agreement_create(actor=lone, partner=world.partner_b, **_values())
    before = _snapshot()

    with pytest.raises(ApplicationError) as refused:
        agreement_submit(actor=lone, agreement=agreement)

    assert refused.value.code == "no_approver"
    assert _snapshot() == before


def test_submission_of_a_term_already_over_is_refused(world):
    agreement = agreement_row(
        world.partner_a,
        created_by=world.pm1,
        starts_on=TODAY - timedelta(days=30),
        ends_on=TODAY - timedelta(days=1),
    )

    with pytest.raises(ApplicationError) as refused:
        agreement_submit(actor=world.pm1, agreement=agreement)

    assert refused.value.code == "agreement_term_over"
    assert _instance(agreement) is None


# ---- The daily check -----------------------------------------------------------------------


END = date(2026, 12, 31)


@pytest.mark.parametrize(
    ("_case", "days_before_end", "status", "reminders"),
    [
        ("61_days_before", 61, Agreement.Status.ACTIVE, []),
        ("60_days_before", 60, Agreement.Status.EXPIRING, [60]),
        ("31_days_before", 31, Agreement.Status.EXPIRING, [60]),
        ("30_days_before", 30, Agreement.Status.EXPIRING, [60, 30]),
        ("end_date", 0, Agreement.Status.EXPIRING, [60, 30]),
        ("day_after_end", -1, Agreement.Status.TERMINATED, []),
    ],
)
def test_check_of_a_fresh_active_agreement(world, _case, days_before_end, status, reminders):
    agreement = agreement_row(
        world.partner_a, created_by=world.pm1, status=Agreement.Status.ACTIVE, ends_on=END
    )

    agreements_check(today=END - timedelta(days=days_before_end))

    agreement.refresh_from_db()
    assert (agreement.status, agreement.reminders_sent) == (status, reminders)
    # A late first run crossing both thresholds sends one reminder, not two.
    expected = 1 if reminders else 0
    assert (
        Notification.objects.filter(
            event="partners.agreement_renewal_reminder", recipient=world.admin_a
        ).count()
        == expected
    )


def test_check_walks_an_agreement_through_its_term_one_reminder_per_threshold(world):
    agreement = agreement_row(
        world.partner_a,
        created_by=world.pm1,
        status=Agreement.Status.SIGNED,
        starts_on=date(2026, 1, 1),
        ends_on=END,
    )
    steps = [
        (date(2025, 12, 31), Agreement.Status.SIGNED, [], {}),
        (date(2026, 1, 1), Agreement.Status.ACTIVE, [], {"activated": 1}),
        (END - timedelta(days=61), Agreement.Status.ACTIVE, [], {}),
        (END - timedelta(days=60), Agreement.Status.EXPIRING, [60], {"expiring": 1, "reminded": 1}),
        (END - timedelta(days=31), Agreement.Status.EXPIRING, [60], {}),
        (END - timedelta(days=30), Agreement.Status.EXPIRING, [60, 30], {"reminded": 1}),
        (END, Agreement.Status.EXPIRING, [60, 30], {}),
        (END + timedelta(days=1), Agreement.Status.TERMINATED, [60, 30], {"terminated": 1}),
    ]
    zero = {"activated": 0, "expiring": 0, "reminded": 0, "terminated": 0}

    for today, status, reminders, counts in steps:
        assert agreements_check(today=today) == {**zero, **counts}, today
        assert agreements_check(today=today) == zero, f"second run on {today}"
        agreement.refresh_from_db()
        assert (agreement.status, agreement.reminders_sent) == (status, reminders), today

    assert agreement.termination_reason == "The term ended."
    reminders_sent = Notification.objects.filter(event="partners.agreement_renewal_reminder")
    assert sorted(reminders_sent.values_list("recipient__username", flat=True)) == sorted(
        [world.admin_a.username, "gz_pm1"] * 2
    )


def test_check_leaves_drafts_and_agreements_in_countersign_alone(world):
    draft = agreement_row(world.partner_a, created_by=world.pm1, ends_on=END)
    countersigning = agreement_row(
        world.partner_a, created_by=world.pm1, ends_on=END, status="countersigning"
    )

    assert agreements_check(today=END + timedelta(days=5))["terminated"] == 0

    assert Agreement.objects.get(pk=draft.pk).status == "draft"
    assert Agreement.objects.get(pk=countersigning.pk).status == "countersigning"


# ---- Termination and renewal ---------------------------------------------------------------


def test_early_termination_needs_a_reason_and_tells_the_partner(world):
    agreement = agreement_row(world.partner_a, created_by=world.pm1, status="active", ends_on=END)

    with pytest.raises(ApplicationError) as refused:
        agreement_terminate(actor=world.pm1, agreement=agreement, reason="  ")
    assert refused.value.code == "reason_required"
    assert Agreement.objects.get(pk=agreement.pk).status == "active"

    agreement_terminate(actor=world.pm1, agreement=agreement, reason="Business stopped")

    agreement.refresh_from_db()
    assert (agreement.status, agreement.termination_reason) == ("terminated", "Business stopped")
    assert agreement.terminated_at is not None
    assert Notification.objects.filter(
        event="partners.agreement_terminated", recipient=world.admin_a
    ).exists()


def test_an_agreement_in_countersign_is_not_terminated(world):
    agreement = _draft(world)
    agreement_submit(actor=world.pm1, agreement=agreement)

    with pytest.raises(ApplicationError) as refused:
        agreement_terminate(actor=world.pm1, agreement=agreement, reason="Stop")

    assert refused.value.code == "agreement_in_approval"
    assert Agreement.objects.get(pk=agreement.pk).status == "countersigning"


def test_renewal_drafts_the_next_term_once(world):
    agreement = agreement_row(
        world.partner_a,
        created_by=world.pm1,
        status="expiring",
        starts_on=date(2026, 1, 1),
        ends_on=END,
        settlement_model="mixed",
        fixed_fee=Decimal("500.00"),
    )

    renewal = agreement_renew(actor=world.pm2, agreement=agreement)

    assert (renewal.status, renewal.renews, renewal.created_by) == ("draft", agreement, world.pm2)
    assert (renewal.starts_on, renewal.ends_on) == (date(2027, 1, 1), date(2027, 12, 31))
    assert (renewal.title, renewal.business_scope) == (agreement.title, agreement.business_scope)
    assert (renewal.revenue_share_percent, renewal.fixed_fee) == (
        Decimal("60.00"),
        Decimal("500.00"),
    )
    with pytest.raises(ApplicationError) as refused:
        agreement_renew(actor=world.pm2, agreement=agreement)
    assert refused.value.code == "renewal_exists"
    assert agreement.renewals.count() == 1


def test_a_draft_is_not_renewed(world):
    with pytest.raises(ApplicationError) as refused:
        agreement_renew(actor=world.pm1, agreement=_draft(world))

    assert refused.value.code == "agreement_not_renewable"
