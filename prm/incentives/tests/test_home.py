"""The incentive cards on the home pages: settlement runs for staff reading them, this
month's recommendations and the last statement for a promoter."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from prm.core.dashboard import home_panels_for
from prm.incentives.models import SettlementRun
from prm.incentives.tests import factories
from prm.incentives.tests.test_reports import make_run, verdict, world  # noqa: F401

# The ``world`` fixture comes from test_reports; its name is reused as the argument.
# ruff: noqa: F811

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def _panel(user, view: str, title: str) -> dict | None:
    for panel in home_panels_for(user=user, view=view):
        if str(panel["title"]) == title:
            return panel
    return None


def test_staff_card_counts_runs_and_shows_the_last_one(world):
    make_run(
        number="SR-2026-04-GZ",
        org=world.orgs.city_a,
        period="2026-04",
        status=SettlementRun.Status.SUBMITTED,
        verdicts=[verdict(world.records["b2"])],
        promoters=[world.promoters["bo"]],
    )
    make_run(
        number="SR-2026-02-GZ",
        org=world.orgs.city_a,
        period="2026-02",
        status=SettlementRun.Status.COMPUTED,
        verdicts=[verdict(world.records["a1"], "in_arrears")],
        promoters=[world.promoters["ann"]],
    )

    panel = _panel(world.users["gz_manager"], "management", "Incentive settlements")

    figures = [(label, value) for label, value, _url in panel["figures"]]
    assert figures == [
        ("Settlement runs awaiting approval", 1),
        ("Settlement runs computed, not submitted", 1),
        ("Last run 2026-04 Guangzhou: records", 1),
        ("Last run 2026-04 Guangzhou: qualified", 1),
        ("Last run 2026-04 Guangzhou: payable (yuan)", Decimal("4.00")),
    ]
    assert panel["figures"][2][2] == "/incentives/settlement/runs/SR-2026-04-GZ/analysis/"


def test_staff_card_is_scoped_to_the_subtree(world):
    panel = _panel(world.users["sz_manager"], "management", "Incentive settlements")

    figures = [(label, value) for label, value, _url in panel["figures"]]
    # Only the SZ run (computed); the GZ runs are another city's.
    assert figures[1] == ("Settlement runs computed, not submitted", 1)
    assert figures[2] == ("Last run 2026-03 Shenzhen: records", 1)


def test_no_staff_card_without_the_permission(world):
    assert _panel(world.users["gz_no_permission"], "management", "Incentive settlements") is None
    assert _panel(world.users["partner"], "partner", "Incentive settlements") is None


def test_staff_card_without_runs_has_only_the_counts(orgs, make_user, db):
    user = make_user(org=orgs.city_a, roles=("channel_manager",))

    panel = _panel(user, "management", "Incentive settlements")

    assert [value for _label, value, _url in panel["figures"]] == [0, 0]


def test_promoter_card_this_months_recommendations_and_last_statement(world):
    now = timezone.localtime()
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    ann = world.promoters["ann"]
    crbt = world.products["crbt"]
    factories.recommendation(promoter=ann, product=crbt, recommended_at=month_start)
    factories.recommendation(promoter=ann, product=crbt, recommended_at=now, confirmed=False)
    # Just before the month: not counted; another promoter's: not counted.
    factories.recommendation(
        promoter=ann, product=crbt, recommended_at=month_start - timedelta(seconds=1)
    )
    factories.recommendation(promoter=world.promoters["bo"], product=crbt, recommended_at=now)

    panel = _panel(world.users["ann"], "promoter", "My rebates")

    figures = [(label, value) for label, value, _url in panel["figures"]]
    assert figures == [
        ("My recommendations this month", 2),
        ("Confirmed by the subscriber this month", 1),
        ("Last statement 2026-03: payable (yuan)", Decimal("6.00")),
    ]
    assert panel["figures"][2][2] == "/incentives/my/statements/SR-2026-03-GZ/"


def test_promoter_card_marks_a_provisional_statement(world):
    panel = _panel(world.users["cy"], "promoter", "My rebates")

    assert panel["figures"][2][:2] == (
        "Last statement 2026-03 (provisional): payable (yuan)",
        Decimal("0.00"),
    )


def test_no_promoter_card_for_staff(world):
    assert _panel(world.users["gz_manager"], "promoter", "My rebates") is None


def test_the_promoter_home_page_shows_the_card(client, world):
    client.cookies["django_language"] = "en"
    client.force_login(world.users["ann"])

    response = client.get("/")

    assert response.status_code == 200
    content = response.content.decode()
    assert "My rebates" in content and "Last statement 2026-03: payable (yuan)" in content
