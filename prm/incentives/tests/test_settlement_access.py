"""Access to every settlement page and endpoint (STYLE 19): anonymous, a user of another
city, a user without the permission, and the allowed users; plus what the pages show.

Runs are made directly here (their computation has its own tests): Guangzhou's approved
2026-03 run, its computed 2026-04 run and Shenzhen's computed 2026-03 run.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from prm.core.models import WorkflowInstance
from prm.incentives.models import SettlementAdjustment, SettlementRun, SettlementStatement
from prm.incentives.tests import factories
from prm.incentives.tests.test_settlement_support import (  # noqa: F401  (fixtures)
    store_month,
    today_fixture,
    world_fixture,
)

pytestmark = pytest.mark.django_db


def _run(world, number: str, period: str, org, status: str, statements: dict) -> SettlementRun:
    payable = sum((Decimal(v) for v in statements.values()), Decimal("0.00"))
    run = SettlementRun.objects.create(
        number=number,
        period=period,
        org=org,
        status=status,
        revision=1,
        started_by=world.starter,
        started_at=timezone.now(),
        finished_at=timezone.now(),
        progress=100,
        stage="done",
        records=len(statements),
        qualified=len(statements),
        gross_amount=payable,
        payable_amount=payable,
        approved_at=timezone.now() if status == "approved" else None,
    )
    for promoter, amount in statements.items():
        SettlementStatement.objects.create(
            run=run,
            promoter=promoter,
            records=1,
            qualified=1,
            gross_amount=Decimal(amount),
            net_amount=Decimal(amount),
            payable_amount=Decimal(amount),
        )
    return run


@pytest.fixture
def runs(world, today):
    today.set(date(2026, 5, 15))
    store_month(date(2025, 9, 1), {"subscribers": [], "usage_monthly": []})
    march = _run(
        world,
        "ST-2026-03-GZ",
        "2026-03",
        world.orgs.city_a,
        "approved",
        {world.p1: "4.00", world.p2: "2.00"},
    )
    april = _run(
        world,
        "ST-2026-04-GZ",
        "2026-04",
        world.orgs.city_a,
        "computed",
        {world.p1: "0.00", world.p2: "3.00"},
    )
    shenzhen = _run(
        world, "ST-2026-03-SZ", "2026-03", world.orgs.city_b, "computed", {world.p3: "4.00"}
    )
    SettlementAdjustment.objects.create(
        promoter=world.p2,
        amount=Decimal("3.00"),
        reason="Late record",
        corrects_run=march,
        created_by=world.city_manager,
    )
    return {"march": march, "april": april, "shenzhen": shenzhen}


def _get(client, user, url):
    if user is not None:
        client.force_login(user)
    return client.get(url)


def _post(client, user, url, data=None, **extra):
    if user is not None:
        client.force_login(user)
    return client.post(url, data or {}, **extra)


# --- Pages ------------------------------------------------------------------------------------

PAGES = {
    "list": "/incentives/settlement/runs/",
    "start": "/incentives/settlement/runs/new/",
    "detail": "/incentives/settlement/runs/ST-2026-04-GZ/",
    "progress": "/incentives/settlement/runs/ST-2026-04-GZ/progress/",
    "payout_xlsx": "/incentives/settlement/runs/ST-2026-03-GZ/payout.xlsx",
    "payout_csv": "/incentives/settlement/runs/ST-2026-03-GZ/payout.csv",
    "adjustments": "/incentives/settlement/adjustments/",
    "adjustment_new": "/incentives/settlement/adjustments/new/",
}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_pages_send_anonymous_users_to_sign_in(client, runs, page):
    response = client.get(PAGES[page])
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize(
    ("page", "who", "status"),
    [
        # Without the permission: 403.
        ("list", "cs_agent", 403),
        ("detail", "cs_agent", 403),
        ("progress", "cs_agent", 403),
        ("start", "finance", 403),
        ("start", "auditor", 403),
        ("payout_xlsx", "cs_agent", 403),
        ("payout_xlsx", "auditor", 403),
        ("payout_csv", "auditor", 403),
        ("adjustments", "cs_agent", 403),
        ("adjustment_new", "finance", 403),
        ("adjustment_new", "auditor", 403),
        # Another city's staff: the run does not exist for them.
        ("detail", "other_city_manager", 404),
        ("progress", "other_city_manager", 404),
        ("payout_xlsx", "other_city_manager", 404),
        ("payout_csv", "other_city_manager", 404),
        # Allowed.
        ("list", "city_manager", 200),
        ("list", "finance", 200),
        ("list", "auditor", 200),
        ("start", "city_manager", 200),
        ("detail", "city_manager", 200),
        ("detail", "finance", 200),
        ("detail", "province_manager", 200),
        ("progress", "city_manager", 200),
        ("payout_xlsx", "finance", 200),
        ("payout_csv", "city_manager", 200),
        ("adjustments", "city_manager", 200),
        ("adjustments", "finance", 200),
        ("adjustment_new", "city_manager", 200),
    ],
)
def test_page_access(client, world, runs, page, who, status):
    response = _get(client, getattr(world, who), PAGES[page])
    assert response.status_code == status


def test_list_shows_only_the_user_s_cities(client, world, runs):
    page = _get(client, world.other_city_manager, PAGES["list"]).content.decode()
    assert "ST-2026-03-SZ" in page and "ST-2026-04-GZ" not in page
    page = _get(client, world.province_manager, PAGES["list"]).content.decode()
    assert "ST-2026-03-SZ" in page and "ST-2026-04-GZ" in page
    filtered = client.get(PAGES["list"] + "?status=approved").content.decode()
    assert "ST-2026-03-GZ" in filtered and "ST-2026-04-GZ" not in filtered


def test_adjustments_list_shows_only_the_user_s_promoters(client, world, runs):
    assert (
        "Late record"
        not in _get(client, world.other_city_manager, PAGES["adjustments"]).content.decode()
    )
    assert "Late record" in _get(client, world.city_manager, PAGES["adjustments"]).content.decode()


def test_detail_shows_buttons_by_permission(client, world, runs, settings):
    settings.LANGUAGE_CODE = "en"
    page = _get(client, world.city_manager, PAGES["detail"]).content.decode()
    assert 'data-testid="run-rerun"' in page and 'data-testid="run-submit"' in page
    assert 'data-testid="run-payout-xlsx"' not in page  # not approved
    page = _get(client, world.finance, PAGES["detail"]).content.decode()
    assert 'data-testid="run-rerun"' not in page and 'data-testid="run-submit"' not in page
    page = _get(
        client, world.finance, "/incentives/settlement/runs/ST-2026-03-GZ/"
    ).content.decode()
    assert 'data-testid="run-payout-xlsx"' in page


def test_detail_page_query_count_does_not_grow_with_statements(client, world, runs):
    client.force_login(world.city_manager)
    client.get(PAGES["detail"])  # warm caches (permissions, session)
    with CaptureQueriesContext(connection) as few:
        assert client.get(PAGES["detail"]).status_code == 200
    for n in range(12):
        promoter = factories.promoter(org=world.orgs.city_a, with_user=False)
        SettlementStatement.objects.create(run=runs["april"], promoter=promoter)
    with CaptureQueriesContext(connection) as many:
        page = client.get(PAGES["detail"])
    assert page.content.decode().count('data-testid="statement-row"') == 14
    assert len(many) == len(few)


def test_progress_polling_reloads_the_page_when_done(client, world, runs):
    client.force_login(world.city_manager)
    done = client.get(PAGES["progress"], HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"
    SettlementRun.objects.filter(pk=runs["april"].pk).update(status="running", progress=40)
    running = client.get(PAGES["progress"], HTTP_HX_REQUEST="true")
    assert "HX-Refresh" not in running
    assert 'hx-trigger="every 2s"' in running.content.decode()


# Writes through the pages ------------------------------------------------------------------

POSTS = {
    "rerun": "/incentives/settlement/runs/ST-2026-04-GZ/rerun/",
    "submit": "/incentives/settlement/runs/ST-2026-04-GZ/submit/",
}


@pytest.mark.parametrize("action", sorted(POSTS))
@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 302), ("finance", 403), ("auditor", 403), ("other_city_manager", 404)],
)
def test_refused_posts_change_nothing(client, world, runs, action, who, status):
    before = SettlementRun.objects.values_list("status", "updated_at").get(number="ST-2026-04-GZ")
    response = _post(client, getattr(world, who) if who else None, POSTS[action])
    assert response.status_code == status
    after = SettlementRun.objects.values_list("status", "updated_at").get(number="ST-2026-04-GZ")
    assert after == before
    assert WorkflowInstance.objects.count() == 0


def test_rerun_from_the_page_queues_the_run(client, world, runs):
    response = _post(client, world.city_manager, POSTS["rerun"])
    assert response.status_code == 302
    runs["april"].refresh_from_db()
    assert (runs["april"].status, runs["april"].started_by) == ("queued", world.city_manager)


def test_submit_from_the_page(client, world, runs):
    response = _post(client, world.city_manager, POSTS["submit"])
    assert response.status_code == 302
    runs["april"].refresh_from_db()
    assert runs["april"].status == "submitted"


def test_rerun_of_an_approved_run_shows_the_refusal(client, world, runs, settings):
    settings.LANGUAGE_CODE = "en"
    response = _post(
        client, world.city_manager, "/incentives/settlement/runs/ST-2026-03-GZ/rerun/", follow=True
    )
    assert "is approved and can no longer be changed" in response.content.decode()
    runs["march"].refresh_from_db()
    assert runs["march"].status == "approved"


def test_start_form(client, world, runs, settings):
    settings.LANGUAGE_CODE = "en"
    city = world.orgs.city_a
    # Another city's staff cannot choose Guangzhou.
    response = _post(
        client, world.other_city_manager, PAGES["start"], {"city": city.pk, "period": "2026-03"}
    )
    assert response.status_code == 200
    assert 'data-testid="field-error-city"' in response.content.decode()
    # A period not over is refused on the form.
    response = _post(
        client, world.city_manager, PAGES["start"], {"city": city.pk, "period": "2026-05"}
    )
    assert "is not over yet" in response.content.decode()
    assert SettlementRun.objects.count() == 3
    # Allowed: a new run (2026-02) is queued.
    response = _post(
        client, world.city_manager, PAGES["start"], {"city": city.pk, "period": "2026-02"}
    )
    assert response.status_code == 302
    assert SettlementRun.objects.get(period="2026-02", org=city).status == "queued"


def test_adjustment_form(client, world, runs, settings):
    settings.LANGUAGE_CODE = "en"
    data = {
        "work_id": "W0001",
        "amount": "2.50",
        "reason": "Missed",
        "corrects_run": runs["march"].pk,
    }
    response = _post(client, world.other_city_manager, PAGES["adjustment_new"], data)
    assert response.status_code == 200  # W0001 and the run are not theirs
    assert SettlementAdjustment.objects.count() == 1
    response = _post(client, world.city_manager, PAGES["adjustment_new"], {**data, "amount": "0"})
    assert "cannot be zero" in response.content.decode()
    assert SettlementAdjustment.objects.count() == 1
    response = _post(client, world.city_manager, PAGES["adjustment_new"], data)
    assert response.status_code == 302
    assert SettlementAdjustment.objects.filter(promoter=world.p1, amount=Decimal("2.50")).exists()


def test_payout_page_downloads_the_file(client, world, runs):
    response = _get(client, world.finance, PAGES["payout_xlsx"])
    assert response["Content-Disposition"] == 'attachment; filename="payout-ST-2026-03-GZ.xlsx"'
    rows = [[c.value for c in row] for row in load_workbook(io.BytesIO(response.content)).active]
    assert [row[1] for row in rows[1:-1]] == ["W0001", "W0002"]


def test_payout_of_a_computed_run_is_refused_on_the_page(client, world, runs):
    response = _get(client, world.finance, "/incentives/settlement/runs/ST-2026-04-GZ/payout.csv")
    assert response.status_code == 302
    runs["april"].refresh_from_db()
    assert runs["april"].payout_generated_at is None


# --- API --------------------------------------------------------------------------------------

API = "/api/v1/incentives"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/runs", None),
        ("get", "/runs/ST-2026-04-GZ", None),
        ("post", "/runs", {"city": "GZ", "period": "2026-02"}),
        ("post", "/runs/ST-2026-04-GZ/rerun", None),
        ("post", "/runs/ST-2026-04-GZ/submit", None),
        ("post", "/runs/ST-2026-04-GZ/approve", {"comment": ""}),
        ("post", "/runs/ST-2026-04-GZ/reject", {"reason": "No"}),
        ("get", "/runs/ST-2026-04-GZ/statements", None),
        ("get", "/runs/ST-2026-03-GZ/payout.xlsx", None),
        ("get", "/runs/ST-2026-03-GZ/payout.csv", None),
    ],
)
@pytest.mark.parametrize(
    ("who", "status"), [(None, 401), ("cs_agent", 403), ("other_city_manager", "other")]
)
def test_api_refusals(client, world, runs, method, path, body, who, status):
    if who:
        client.force_login(getattr(world, who))
    before = list(SettlementRun.objects.order_by("pk").values_list("status", "updated_at"))
    if method == "get":
        response = client.get(API + path)
    else:
        response = client.post(API + path, body or {}, content_type="application/json")
    if status == "other":
        # Another city's manager: the list holds only their city's runs; Guangzhou's runs
        # and city do not exist for them.
        expected = 200 if path == "/runs" and method == "get" else 404
        assert response.status_code == expected, response.content
        if expected == 200:
            assert [row["number"] for row in response.json()] == ["ST-2026-03-SZ"]
    else:
        assert response.status_code == status, response.content
    assert list(SettlementRun.objects.order_by("pk").values_list("status", "updated_at")) == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/runs", {"city": "GZ", "period": "2026-02"}),
        ("post", "/runs/ST-2026-04-GZ/rerun", None),
        ("post", "/runs/ST-2026-04-GZ/submit", None),
        ("post", "/runs/ST-2026-04-GZ/approve", {"comment": ""}),
        ("post", "/runs/ST-2026-04-GZ/reject", {"reason": "No"}),
    ],
)
def test_api_finance_may_not_start_or_approve(client, world, runs, method, path, body):
    client.force_login(world.finance)
    response = client.post(API + path, body or {}, content_type="application/json")
    assert response.status_code == 403
    assert SettlementRun.objects.count() == 3


def test_api_read(client, world, runs):
    client.force_login(world.finance)
    listing = client.get(API + "/runs?status=computed")
    assert [row["number"] for row in listing.json()] == ["ST-2026-04-GZ"]
    assert listing["X-Total-Count"] == "1"
    detail = client.get(API + "/runs/ST-2026-03-GZ").json()
    assert (detail["status"], detail["city"], detail["payable_amount"]) == (
        "approved",
        "GZ",
        "6.00",
    )
    statements = client.get(API + "/runs/ST-2026-03-GZ/statements")
    assert [(s["promoter_work_id"], s["payable_amount"]) for s in statements.json()] == [
        ("W0001", "4.00"),
        ("W0002", "2.00"),
    ]
    payout = client.get(API + "/runs/ST-2026-03-GZ/payout.csv")
    assert payout.status_code == 200
    assert "W0002" in payout.content.decode("utf-8")
    refused = client.get(API + "/runs/ST-2026-04-GZ/payout.csv")
    assert (refused.status_code, refused.json()["code"]) == (409, "run_not_approved")


def test_api_start_submit_approve_reject(client, world, runs, settings):
    settings.LANGUAGE_CODE = "en"
    client.force_login(world.city_manager)
    started = client.post(
        API + "/runs", {"city": "GZ", "period": "2026-02"}, content_type="application/json"
    )
    assert started.status_code == 202, started.content
    assert (started.json()["number"], started.json()["status"]) == ("ST-2026-02-GZ", "queued")
    closed = client.post(
        API + "/runs", {"city": "GZ", "period": "2026-05"}, content_type="application/json"
    )
    assert (closed.status_code, closed.json()["code"]) == (400, "period_not_closed")

    submitted = client.post(API + "/runs/ST-2026-04-GZ/submit")
    assert (submitted.status_code, submitted.json()["status"]) == (200, "submitted")

    client.force_login(world.starter)  # started it: four-eyes
    refused = client.post(API + "/runs/ST-2026-04-GZ/approve", {}, content_type="application/json")
    assert (refused.status_code, refused.json()["code"]) == (403, "four_eyes")

    client.force_login(world.city_manager_2)
    approved = client.post(API + "/runs/ST-2026-04-GZ/approve", {}, content_type="application/json")
    assert (approved.status_code, approved.json()["status"]) == (200, "submitted")
    assert WorkflowInstance.objects.get().current_step == 2

    client.force_login(world.province_manager)
    no_reason = client.post(API + "/runs/ST-2026-04-GZ/reject", {}, content_type="application/json")
    assert no_reason.status_code == 422
    rejected = client.post(
        API + "/runs/ST-2026-04-GZ/reject", {"reason": "Recheck"}, content_type="application/json"
    )
    assert (rejected.status_code, rejected.json()["status"]) == (200, "computed")


def test_api_rerun_queues(client, world, runs):
    client.force_login(world.city_manager)
    response = client.post(API + "/runs/ST-2026-04-GZ/rerun")
    assert (response.status_code, response.json()["status"]) == (202, "queued")
    response = client.post(API + "/runs/ST-2026-03-GZ/rerun")
    assert (response.status_code, response.json()["code"]) == (409, "run_approved")
