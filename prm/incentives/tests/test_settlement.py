"""The monthly settlement run (R4 item 7): start rules, export, engine, statements,
re-runs and idempotency, failures and the monthly schedule. See
``test_settlement_support`` for the world the tests share."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from prm.core.exceptions import ApplicationError, Forbidden, NotFound
from prm.core.models import AuditEvent, Notification
from prm.incentives import storage
from prm.incentives.engine import RULE_VERSION
from prm.incentives.models import BillingMonth, SettlementRun, SettlementStatement
from prm.incentives.services import settlement as services
from prm.incentives.tests import factories
from prm.incentives.tests.test_settlement_support import (  # noqa: F401  (fixtures)
    PERIOD,
    C,
    local,
    start,
    statements_by_work_id,
    subscriber,
    today_fixture,
    world_fixture,
)

pytestmark = pytest.mark.django_db

ZERO = Decimal("0.00")


def read_parquet(path: Path, query: str = "SELECT * FROM t") -> list[tuple]:
    con = duckdb.connect()
    try:
        con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{path}')")
        return con.execute(query).fetchall()
    finally:
        con.close()


# --- Periods ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "day", "expected"),
    [
        ("the 15th settles the previous month", date(2026, 4, 15), "2026-03"),
        ("first day of a month", date(2026, 4, 1), "2026-03"),
        ("last day of a month", date(2026, 4, 30), "2026-03"),
        ("January settles last year's December", date(2026, 1, 15), "2025-12"),
    ],
)
def test_default_period_is_the_previous_month(_case, day, expected):
    assert services.settlement_period_default(day) == expected


@pytest.mark.parametrize(
    ("_case", "period", "code"),
    [
        ("the current month is not over", "2026-04", "period_not_closed"),
        ("a future month", "2026-05", "period_not_closed"),
        ("not a month", "2026-13", "invalid_period"),
        ("not YYYY-MM", "2026/03", "invalid_period"),
    ],
)
def test_start_refuses_a_period_not_closed_or_invalid(world, _case, period, code):
    with pytest.raises(ApplicationError) as error:
        services.settlement_run_start(org=world.orgs.city_a, period=period, actor=world.starter)
    assert error.value.code == code
    assert SettlementRun.objects.count() == 0


def test_the_last_closed_month_can_be_started(world, django_capture_on_commit_callbacks):
    run = start(world, django_capture_on_commit_callbacks, period="2026-03")
    assert (run.number, run.period, run.status) == ("ST-2026-03-GZ", "2026-03", "computed")


def test_start_refuses_missing_billing_months_and_lists_them(
    world, django_capture_on_commit_callbacks
):
    BillingMonth.objects.filter(month__in=[date(2025, 10, 1), date(2026, 1, 1)]).delete()
    events = AuditEvent.objects.count()
    with pytest.raises(ApplicationError) as error, django_capture_on_commit_callbacks(execute=True):
        services.settlement_run_start(org=world.orgs.city_a, period=PERIOD, actor=world.starter)
    assert error.value.code == "billing_months_missing"
    assert str(error.value.message) == (
        "The settlement of 2026-03 needs the billing extracts of 2025-10 to 2026-03. "
        "Missing: 2025-10, 2026-01. Import them first."
    )
    assert SettlementRun.objects.count() == 0
    assert AuditEvent.objects.count() == events
    assert not (storage.incentives_root() / "runs").exists()


def test_the_month_after_the_period_is_not_needed(world, django_capture_on_commit_callbacks):
    """P−5 … P are needed; P−6 and P+1 are not."""
    BillingMonth.objects.filter(month__in=[date(2025, 9, 1), date(2026, 4, 1)]).delete()
    run = start(world, django_capture_on_commit_callbacks)
    assert run.status == "computed"


def test_start_refuses_a_county_or_partner_org(world):
    for org in (world.orgs.county_a, world.orgs.province):
        with pytest.raises(ApplicationError) as error:
            services.settlement_run_start(org=org, period=PERIOD, actor=world.province_manager)
        assert error.value.code == "not_a_city"
    assert SettlementRun.objects.count() == 0


def test_start_needs_the_permission_and_the_city_in_scope(world):
    with pytest.raises(Forbidden):
        services.settlement_run_start(org=world.orgs.city_a, period=PERIOD, actor=world.finance)
    with pytest.raises(NotFound):
        services.settlement_run_start(
            org=world.orgs.city_a, period=PERIOD, actor=world.other_city_manager
        )
    assert SettlementRun.objects.count() == 0


# --- A full run -------------------------------------------------------------------------------


def test_full_run_statements_and_totals_exact(world, django_capture_on_commit_callbacks):
    run = start(world, django_capture_on_commit_callbacks)

    assert run.status == "computed"
    assert (run.revision, run.progress, run.stage, run.message) == (1, 100, "done", "")
    assert run.started_by == world.starter
    assert run.rule_version == RULE_VERSION
    assert (run.records, run.qualified) == (4, 2)
    assert (run.gross_amount, run.clawback_amount) == (Decimal("6.00"), ZERO)
    assert (run.adjustment_amount, run.payable_amount) == (ZERO, Decimal("6.00"))
    assert run.summary["not_in_period"] == 1  # r5; r6 (another city) is not exported
    assert {code: n for code, n in run.summary["reasons"].items() if n} == {
        "unconfirmed": 1,
        "in_arrears": 1,
    }
    assert statements_by_work_id(run) == {
        "W0001": {
            "records": 2,
            "qualified": 1,
            "gross_amount": Decimal("4.00"),
            "clawback_amount": ZERO,
            "carried_in": ZERO,
            "adjustment_amount": ZERO,
            "net_amount": Decimal("4.00"),
            "payable_amount": Decimal("4.00"),
            "carry_forward": ZERO,
        },
        "W0002": {
            "records": 2,
            "qualified": 1,
            "gross_amount": Decimal("2.00"),
            "clawback_amount": ZERO,
            "carried_in": ZERO,
            "adjustment_amount": ZERO,
            "net_amount": Decimal("2.00"),
            "payable_amount": Decimal("2.00"),
            "carry_forward": ZERO,
        },
    }
    out = Path(run.artefact_dir)
    assert out == storage.run_dir(number=run.number, revision=1) / "out"
    assert sorted(run.artefacts) == [
        "clawbacks.parquet",
        "promoters.parquet",
        "statements.parquet",
        "summary.json",
        "verdicts.parquet",
    ]
    verdicts = read_parquet(
        out / "verdicts.parquet",
        "SELECT record_id, qualified, reasons, amount FROM t ORDER BY record_id",
    )
    r = world.records
    assert verdicts == [
        (r["r1"].pk, True, "", Decimal("4.00")),
        (r["r2"].pk, False, "unconfirmed", ZERO),
        (r["r3"].pk, False, "in_arrears", ZERO),
        (r["r4"].pk, True, "", Decimal("2.00")),
    ]
    promoters = read_parquet(out / "promoters.parquet", "SELECT * FROM t ORDER BY promoter_id")
    assert promoters == [
        (
            world.p1.pk,
            "W0001",
            "Li Lei",
            world.p1.channel_id,
            "CH-TH",
            "Tianhe hall",
            world.orgs.city_a.pk,
            "Guangzhou",
        ),
        (
            world.p2.pk,
            "W0002",
            "Han Meimei",
            world.p2.channel_id,
            "CH-TH",
            "Tianhe hall",
            world.orgs.city_a.pk,
            "Guangzhou",
        ),
    ]
    assert sorted(run.input_sha256) == [
        "app_inputs.json",
        "billing.parquet",
        "paid_records.parquet",
        "products.parquet",
        "rebate_history.parquet",
        "records.parquet",
        "subscribers.parquet",
        "usage_monthly.parquet",
    ]
    assert AuditEvent.objects.filter(action="settlement.computed", target_id=str(run.pk)).exists()
    assert Notification.objects.filter(recipient=world.starter).count() == 1


def test_records_exported_are_the_city_s_and_local_time(world, django_capture_on_commit_callbacks):
    """Recommended from the first day of P−5 (00:00 local) to the end of P−1."""
    p1, crbt = world.p1, world.crbt
    edges = {
        "first moment of P-5": (local(2025, 10, 1, 0, 0, 0), True),
        "just before P-5": (local(2025, 9, 30, 23, 59, 59), False),
        "last second of P-1": (local(2026, 2, 28, 23, 59, 59), True),
        "first moment of P": (local(2026, 3, 1, 0, 0, 0), False),
    }
    made = {
        name: factories.recommendation(
            promoter=p1, product=crbt, msisdn=f"1370000000{i}", recommended_at=moment
        )
        for i, (name, (moment, _inside)) in enumerate(edges.items())
    }
    run = start(world, django_capture_on_commit_callbacks)
    input_dir = storage.run_dir(number=run.number, revision=1) / "input"
    exported = dict(
        read_parquet(input_dir / "records.parquet", "SELECT record_id, recommended_at FROM t")
    )
    for name, (moment, inside) in edges.items():
        assert (made[name].pk in exported) is inside, name
        if inside:
            assert exported[made[name].pk] == moment.replace(tzinfo=None), name
    assert world.records["r6"].pk not in exported  # another city


def test_billing_rows_of_other_numbers_are_not_exported(world, django_capture_on_commit_callbacks):
    run = start(world, django_capture_on_commit_callbacks)
    input_dir = storage.run_dir(number=run.number, revision=1) / "input"
    numbers = {row[0] for row in read_parquet(input_dir / "subscribers.parquet")}
    assert numbers == {13900000001, 13900000002, 13900000003, 13900000004, 13900000005}
    months = read_parquet(input_dir / "billing.parquet", "SELECT DISTINCT month FROM t ORDER BY 1")
    assert [m[0] for m in months] == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    # The only complaint (in the store month 2026-04) is after P: no complaints input.
    assert not (input_dir / "complaints.parquet").exists()


# --- Re-runs ----------------------------------------------------------------------------------


def test_rerun_replaces_the_result_and_reports_changes(world, django_capture_on_commit_callbacks):
    first = start(world, django_capture_on_commit_callbacks)
    first_dir = storage.run_dir(number=first.number, revision=1)
    old_ids = set(first.statements.values_list("pk", flat=True))
    # The subscriber snapshot (of the latest month up to P+1) no longer shows C in arrears.
    world.store.subscribers = [
        subscriber(C) if row["msisdn"] == int(C) else row for row in world.store.subscribers
    ]
    world.store.write()

    run = start(world, django_capture_on_commit_callbacks, actor="city_manager")

    assert (run.status, run.revision, run.started_by) == ("computed", 2, world.city_manager)
    assert (run.records, run.qualified, run.gross_amount) == (4, 3, Decimal("6.00") + 4)
    assert run.payable_amount == Decimal("10.00")
    assert statements_by_work_id(run)["W0002"]["payable_amount"] == Decimal("6.00")
    assert not set(run.statements.values_list("pk", flat=True)) & old_ids
    assert SettlementStatement.objects.count() == 2
    assert run.changes == {
        "from_revision": 1,
        "to_revision": 2,
        "records": {"old": "4", "new": "4", "delta": "0"},
        "qualified": {"old": "2", "new": "3", "delta": "1"},
        "gross_amount": {"old": "6.00", "new": "10.00", "delta": "4.00"},
        "payable_amount": {"old": "6.00", "new": "10.00", "delta": "4.00"},
        "verdicts_changed": 1,
        "promoters_payable_changed": 1,
        "promoters": [
            {
                "promoter_id": world.p2.pk,
                "work_id": "W0002",
                "name": "Han Meimei",
                "old": "2.00",
                "new": "6.00",
            }
        ],
    }
    assert Path(run.artefact_dir) == storage.run_dir(number=run.number, revision=2) / "out"
    assert not first_dir.exists()  # the replaced revision's files are deleted


def test_rerun_with_the_same_inputs_changes_nothing(world, django_capture_on_commit_callbacks):
    first = start(world, django_capture_on_commit_callbacks)
    statements = list(first.statements.order_by("pk").values_list("pk", "payable_amount"))
    artefacts, hashes, directory = first.artefacts, first.input_sha256, first.artefact_dir

    run = start(world, django_capture_on_commit_callbacks, actor="city_manager")

    assert (run.status, run.revision) == ("computed", 1)
    assert (run.artefacts, run.input_sha256, run.artefact_dir) == (artefacts, hashes, directory)
    assert list(run.statements.order_by("pk").values_list("pk", "payable_amount")) == statements
    assert run.message == (
        "No change: the inputs are the same as those of revision 1, whose result stands."
    )
    assert run.changes == {"from_revision": 1, "to_revision": 1, "no_change": True}
    assert not storage.run_dir(number=run.number, revision=2).exists()
    assert [p.name for p in storage.run_dir(number=run.number, revision=1).parent.iterdir()] == [
        "r1"
    ]


def test_a_run_being_computed_cannot_be_started_again(world):
    run = SettlementRun.objects.create(
        number="ST-2026-03-GZ", period=PERIOD, org=world.orgs.city_a, status="queued"
    )
    with pytest.raises(ApplicationError) as error:
        services.settlement_run_start(org=world.orgs.city_a, period=PERIOD, actor=world.starter)
    assert error.value.code == "run_busy"
    run.refresh_from_db()
    assert run.status == "queued"


# --- Failures ---------------------------------------------------------------------------------


def test_a_failed_run_says_why_and_can_be_retried(world, django_capture_on_commit_callbacks):
    for month in world.store.months:
        (storage.billing_month_dir(month) / "usage_monthly.parquet").unlink()

    run = start(world, django_capture_on_commit_callbacks)

    assert (run.status, run.stage, run.revision) == ("failed", "failed", 0)
    assert run.message.startswith("The settlement input is not valid: ")
    assert "usage_monthly" in run.message
    assert run.statements.count() == 0
    assert not storage.run_dir(number=run.number, revision=1).exists()
    assert Notification.objects.filter(recipient=world.starter).count() == 1

    world.store.write()
    run = start(world, django_capture_on_commit_callbacks)
    assert (run.status, run.revision, run.message) == ("computed", 1, "")
    assert run.payable_amount == Decimal("6.00")


def test_compute_of_a_run_that_is_not_queued_does_nothing(
    world, django_capture_on_commit_callbacks
):
    run = start(world, django_capture_on_commit_callbacks)
    updated = run.updated_at
    services.settlement_run_compute(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.revision, run.updated_at) == ("computed", 1, updated)


# --- The monthly schedule ---------------------------------------------------------------------


def test_monthly_schedule_starts_every_city(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        counts = services.settlement_runs_monthly(today=date(2026, 4, 15))
    assert counts == {"started": 2, "skipped": 0, "not_started": 0}
    runs = {run.org.code: run for run in SettlementRun.objects.select_related("org")}
    assert sorted(runs) == ["GZ", "SZ"]
    assert runs["GZ"].status == "computed" and runs["GZ"].started_by is None
    assert runs["GZ"].payable_amount == Decimal("6.00")
    assert runs["SZ"].status == "computed" and runs["SZ"].payable_amount == Decimal("4.00")


def test_monthly_schedule_skips_runs_in_approval_and_tells_what_is_missing(
    world, django_capture_on_commit_callbacks
):
    SettlementRun.objects.create(
        number="ST-2026-03-GZ", period=PERIOD, org=world.orgs.city_a, status="submitted"
    )
    BillingMonth.objects.filter(month=date(2025, 11, 1)).delete()
    with django_capture_on_commit_callbacks(execute=True):
        counts = services.settlement_runs_monthly(today=date(2026, 4, 15))
    assert counts == {"started": 0, "skipped": 1, "not_started": 1}
    assert SettlementRun.objects.count() == 1
    told = Notification.objects.get(recipient=world.other_city_manager)
    assert "Missing: 2025-11" in told.body
    assert not Notification.objects.filter(recipient=world.city_manager).exists()


def test_summary_json_is_kept_with_the_hashes(world, django_capture_on_commit_callbacks):
    run = start(world, django_capture_on_commit_callbacks)
    summary = json.loads((Path(run.artefact_dir) / "summary.json").read_text())
    assert summary["records"] == 4 and summary["gross_amount"] == "6.00"
    assert run.summary["app"]["payable_amount"] == "6.00"


def test_run_page_shows_totals_reasons_changes_and_the_analysis_link(
    client, world, django_capture_on_commit_callbacks
):
    start(world, django_capture_on_commit_callbacks)
    world.store.subscribers = [
        subscriber(C) if row["msisdn"] == int(C) else row for row in world.store.subscribers
    ]
    world.store.write()
    run = start(world, django_capture_on_commit_callbacks, actor="city_manager")
    client.force_login(world.finance)

    page = client.get(f"/incentives/settlement/runs/{run.number}/").content.decode()

    assert 'data-testid="total-payable">10.00<' in page
    assert 'data-testid="total-qualified">3<' in page
    assert 'data-code="unconfirmed">Not confirmed: 1<' in page
    assert 'data-code="in_arrears"' not in page  # C is no longer in arrears
    assert 'data-testid="change-verdicts">1<' in page
    assert 'data-testid="change-promoters">1<' in page
    assert page.count('data-testid="statement-row"') == 2
    assert f'href="/incentives/settlement/runs/{run.number}/analysis/"' in page
    assert 'data-testid="run-payout-xlsx"' not in page  # not approved yet

    start(world, django_capture_on_commit_callbacks, actor="city_manager")
    page = client.get(f"/incentives/settlement/runs/{run.number}/").content.decode()
    assert 'data-testid="run-no-change"' in page
    assert "No change: the inputs are the same as those of revision 2" in page
