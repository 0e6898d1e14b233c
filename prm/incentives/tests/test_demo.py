"""The incentives demo (``prm demo``): loaded on the accounts and partners demos, it leaves
a computed run of the latest closed period, an approved one before it, promoters who
sign in to their statements, the call-centre assist and a registration to approve; a
second load changes nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from prm.accounts.demo import DEMO_PASSWORD, demo_data_load
from prm.accounts.models import User
from prm.core.models import AuditEvent, SiteFlag, WorkflowAction, WorkflowTask
from prm.incentives import demo as incentives_demo
from prm.incentives.constants import PROMOTER_WORKFLOW, SETTLEMENT_WORKFLOW
from prm.incentives.models import (
    BillingMonth,
    Channel,
    Clawback,
    DevelopmentTarget,
    PaidRecord,
    Product,
    Promoter,
    RebateVersion,
    Recommendation,
    SettlementRun,
    SettlementStatement,
)
from prm.incentives.selectors import promoter_of_user
from prm.incentives.services.settlement import month_add, settlement_period_default
from prm.partners import demo as partners_demo

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings):
    settings.LANGUAGE_CODE = "en"  # the assertions read the English pages
    demo_data_load()
    partners_demo.demo_load()
    assert incentives_demo.demo_load() is True


def _period() -> date:
    return date.fromisoformat(settlement_period_default() + "-01")


def _counts() -> dict[str, int]:
    models = (
        User,
        AuditEvent,
        SiteFlag,
        WorkflowTask,
        Channel,
        Product,
        RebateVersion,
        Promoter,
        Recommendation,
        DevelopmentTarget,
        BillingMonth,
        SettlementRun,
        SettlementStatement,
        PaidRecord,
        Clawback,
    )
    return {model.__name__: model.objects.count() for model in models}


def _files() -> dict[str, int]:
    root = Path(django_settings.PRM_INCENTIVES_DIR)
    return {str(path.relative_to(root)): path.stat().st_size for path in root.rglob("*")}


def test_the_demo_settles_guangzhou_with_many_reasons_and_an_approved_period(demo):
    period = _period()
    run = SettlementRun.objects.get(org__code="GD-GZ", period=settlement_period_default())
    previous = SettlementRun.objects.get(
        org__code="GD-GZ", period=month_add(period, -1).strftime("%Y-%m")
    )

    # The latest closed period: computed by the schedule, about 70 % qualify.
    failing = {code for code, count in run.summary["reasons"].items() if count}
    assert run.status == SettlementRun.Status.COMPUTED
    assert run.started_by is None  # any channel manager may submit it
    assert run.records > 50
    assert 0.6 <= run.qualified / run.records <= 0.8
    assert len(failing) >= 8
    assert {"unconfirmed", "not_active_before", "upheld_complaint", "in_arrears"} <= failing
    # A rebate paid by the approved period before is clawed back (upheld complaint).
    assert run.clawback_amount == Decimal("-4.00")
    assert run.payable_amount == sum(
        (statement.payable_amount for statement in run.statements.all()), Decimal("0.00")
    )
    assert run.payable_amount > 0
    # The period before: started by channel_mgr2, approved by the city then the province.
    approvals = WorkflowAction.objects.filter(
        instance__definition__code=SETTLEMENT_WORKFLOW,
        instance__target_id=str(previous.pk),
        kind=WorkflowAction.Kind.APPROVE,
    ).order_by("pk")
    assert previous.status == SettlementRun.Status.APPROVED
    assert previous.started_by.username == "channel_mgr2"
    assert [action.actor.username for action in approvals] == ["channel_mgr", "channel_mgr_gd"]
    assert previous.qualified > 0
    assert PaidRecord.objects.filter(run=previous).count() == previous.qualified
    assert BillingMonth.objects.get(month=month_add(period, -1)).is_locked
    # The billing months P−6 … P came through the import service.
    assert sorted(BillingMonth.objects.values_list("month", flat=True)) == [
        month_add(period, offset) for offset in range(-6, 1)
    ]


def test_the_demo_logins_see_their_pages(client, demo):
    number = f"ST-{settlement_period_default()}-GD-GZ"
    for username, what in incentives_demo.demo_logins():
        user = User.objects.get(username=username)
        assert what
        assert user.is_demo
        assert not user.must_change_password

    # The promoter signs in with the demo password and reads their statements.
    assert client.login(username="promoter", password=DEMO_PASSWORD)
    listing = client.get(reverse("incentives:my_statements"))
    statement = client.get(reverse("incentives:my_statement", kwargs={"number": number}))
    assert listing.status_code == 200
    # The approved period and the computed (provisional) one.
    assert listing.content.decode().count('data-testid="statement-row"') == 2
    assert statement.status_code == 200
    assert statement.content.decode().count('data-testid="record-row"') > 5
    assert 'data-testid="clawback-table"' in statement.content.decode()

    # The channel manager analyses the run and has a registration to approve.
    manager = User.objects.get(username="channel_mgr")
    client.force_login(manager)
    analysis = client.get(reverse("incentives:run_analysis", kwargs={"number": number}))
    assert analysis.status_code == 200
    assert analysis.content.decode().count('data-testid="reason-row"') >= 8
    pending = WorkflowTask.objects.filter(
        assignee=manager,
        status=WorkflowTask.Status.PENDING,
        instance__definition__code=PROMOTER_WORKFLOW,
    )
    assert pending.count() == 1
    assert Promoter.objects.get(pk=pending.get().instance.target_id).name == "何嘉欣"

    # The call-centre agent looks up a caller and may record for them.
    agent = User.objects.get(username="cs_agent")
    client.force_login(agent)
    prefix, base = incentives_demo.CITY_PREFIX["GD-SZ"], incentives_demo.BACKGROUND_NUMBER_BASE
    assist = client.get(reverse("incentives:assist"), {"msisdn": f"{prefix}{base + 2}"})
    assert promoter_of_user(user=agent).kind == Promoter.Kind.CALL_CENTRE_AGENT
    assert assist.status_code == 200
    assert 'data-known="true"' in assist.content.decode()
    assert 'data-testid="assist-record"' in assist.content.decode()
    # Today's recommendation through the assist awaits the subscriber's reply.
    recorded = Recommendation.objects.get(msisdn=f"{prefix}{base + 1}")
    assert recorded.source == Recommendation.Source.ASSIST
    assert recorded.status == Recommendation.Status.AWAITING_CONFIRMATION
    assert recorded.seat_work_id == promoter_of_user(user=agent).work_id


def test_a_second_load_changes_nothing(demo):
    before, files = _counts(), _files()

    assert incentives_demo.demo_load() is False

    assert _counts() == before
    assert _files() == files


def test_a_failed_load_leaves_no_rows_and_can_be_run_again(settings, monkeypatch):
    settings.LANGUAGE_CODE = "en"
    demo_data_load()
    partners_demo.demo_load()
    before = _counts()

    def broken(*args, **kwargs):
        raise RuntimeError("the machine stopped")

    # given: a load that fails after the billing months and runs were written to disk
    monkeypatch.setattr(incentives_demo, "_today", broken)
    with pytest.raises(RuntimeError):
        incentives_demo.demo_load()

    assert _counts() == before
    monkeypatch.undo()
    assert incentives_demo.demo_load() is True
    assert SettlementRun.objects.filter(status=SettlementRun.Status.COMPUTED).count() == 2
