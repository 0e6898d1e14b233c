"""The payout file of an approved settlement (R4 payment): xlsx with a total row and csv,
only promoters with a payable amount, refused before approval, audited."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from prm.core.exceptions import ApplicationError, Forbidden, NotFound
from prm.core.models import AuditEvent
from prm.incentives.services import payouts
from prm.incentives.tests import factories
from prm.incentives.tests.test_settlement_support import (  # noqa: F401  (fixtures)
    approve_fully,
    local,
    start,
    today_fixture,
    world_fixture,
)

pytestmark = pytest.mark.django_db

HEADERS = ["Promoter", "Work ID", "Channel", "Bank", "Bank account", "Amount"]


@pytest.fixture
def approved(world, django_capture_on_commit_callbacks):
    # A third promoter whose only record fails: payable 0, not in the payout file.
    p4 = factories.promoter(org=world.orgs.city_a, name="Zhao Liu", work_id="W0004")
    factories.recommendation(
        promoter=p4,
        product=world.crbt,
        msisdn="13900000099",
        recommended_at=local(2026, 1, 11, 10),
        confirmed=False,
    )
    # A name that a spreadsheet would run as a formula stays text.
    world.p2.name = "=2+3"
    world.p2.save(update_fields=["name"])
    run = approve_fully(world, start(world, django_capture_on_commit_callbacks))
    assert run.statements.count() == 3
    return run


def test_payout_xlsx_content_exact(world, approved):
    export = payouts.payout_file_build(run=approved, actor=world.finance, fmt="xlsx")

    assert export.filename == "payout-ST-2026-03-GZ.xlsx"
    assert export.content_type == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = load_workbook(io.BytesIO(export.content)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows == [
        HEADERS,
        ["Li Lei", "W0001", "Tianhe hall", "ICBC", "6222000000000001", 4],
        ["=2+3", "W0002", "Tianhe hall", "CCB", "6217000000000002", 2],
        ["Total", None, None, None, None, 6],
    ]
    assert [row[1].data_type for row in sheet.iter_rows()][1:3] == ["s", "s"]
    assert sheet.cell(row=3, column=1).data_type == "s"  # never a formula
    assert [sheet.cell(row=n, column=6).number_format for n in (2, 3, 4)] == ["0.00"] * 3


def test_payout_csv_content_exact(world, approved):
    export = payouts.payout_file_build(run=approved, actor=world.city_manager, fmt="csv")

    assert export.filename == "payout-ST-2026-03-GZ.csv"
    text = export.content.decode("utf-8")
    assert text.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(text.lstrip("\ufeff")))) == [
        HEADERS,
        ["Li Lei", "W0001", "Tianhe hall", "ICBC", "6222000000000001", "4.00"],
        ["'=2+3", "W0002", "Tianhe hall", "CCB", "6217000000000002", "2.00"],
    ]


def test_payout_is_stamped_and_audited(world, approved):
    assert approved.payout_generated_at is None
    payouts.payout_file_build(run=approved, actor=world.finance, fmt="csv")
    approved.refresh_from_db()
    assert approved.payout_generated_at is not None
    event = AuditEvent.objects.get(action="settlement.payout_generated")
    assert event.actor == world.finance
    assert (event.changes["format"], event.changes["rows"], event.changes["total"]) == (
        "csv",
        2,
        "6.00",
    )


def test_payout_refused_before_approval(world, django_capture_on_commit_callbacks):
    run = start(world, django_capture_on_commit_callbacks)
    with pytest.raises(ApplicationError) as error:
        payouts.payout_file_build(run=run, actor=world.finance, fmt="xlsx")
    assert (error.value.code, error.value.status) == ("run_not_approved", 409)
    assert str(error.value.message) == (
        "A payout file is produced only for an approved settlement."
    )
    run.refresh_from_db()
    assert run.payout_generated_at is None
    assert not AuditEvent.objects.filter(action="settlement.payout_generated").exists()


def test_payout_needs_the_permission_and_the_run_in_scope(world, approved):
    with pytest.raises(Forbidden):
        payouts.payout_file_build(run=approved, actor=world.cs_agent, fmt="xlsx")
    with pytest.raises(Forbidden):
        payouts.payout_file_build(run=approved, actor=world.auditor, fmt="xlsx")
    with pytest.raises(NotFound):
        payouts.payout_file_build(run=approved, actor=world.other_city_manager, fmt="xlsx")
    with pytest.raises(NotFound):
        payouts.payout_file_build(run=approved, actor=world.finance, fmt="pdf")
    approved.refresh_from_db()
    assert approved.payout_generated_at is None


def test_an_approved_run_without_payable_amounts_gives_an_empty_file(
    world, today, django_capture_on_commit_callbacks
):
    from datetime import date

    approve_fully(world, start(world, django_capture_on_commit_callbacks))
    today.set(date(2026, 5, 15))
    april = approve_fully(world, start(world, django_capture_on_commit_callbacks, period="2026-04"))
    assert april.payable_amount == Decimal("0.00")
    export = payouts.payout_file_build(run=april, actor=world.finance, fmt="xlsx")
    rows = [[c.value for c in row] for row in load_workbook(io.BytesIO(export.content)).active]
    assert rows == [HEADERS, ["Total", None, None, None, None, 0]]
