"""Who may see the run analysis, the promoter's statements and the reports, on every page
and API endpoint: anonymous, another city's staff, staff without the permission, a
partner user, a promoter (for another promoter's data), and the allowed users. Plus the
API's answers."""

# The ``world`` fixture comes from test_reports; its name is reused as the argument.
# ruff: noqa: F811

from __future__ import annotations

from decimal import Decimal

import pytest

from prm.accounts.services import api_token_create
from prm.incentives.tests.test_reports import world  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

GZ = "SR-2026-03-GZ"
SZ = "SR-2026-03-SZ"


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def _staff_pages(world):
    record = world.records["b1"].pk
    return [
        f"/incentives/settlement/runs/{GZ}/analysis/",
        f"/incentives/settlement/runs/{GZ}/analysis/records/?reason=in_arrears",
        f"/incentives/settlement/runs/{GZ}/analysis/records/{record}/",
        "/incentives/reports/",
        "/incentives/reports/volume/",
        "/incentives/reports/payouts/",
        "/incentives/reports/failure-reasons/",
        "/incentives/reports/volume/?format=csv",
    ]


def _run_pages(world):
    record = world.records["b1"].pk
    return [
        f"/incentives/settlement/runs/{GZ}/analysis/",
        f"/incentives/settlement/runs/{GZ}/analysis/records/",
        f"/incentives/settlement/runs/{GZ}/analysis/records/{record}/",
    ]


def test_anonymous_is_sent_to_sign_in_everywhere(client, world):
    pages = [*_staff_pages(world), "/incentives/my/statements/", f"/incentives/my/statements/{GZ}/"]

    for url in pages:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/login" in response["Location"], url


@pytest.mark.parametrize("who", ["gz_no_permission", "partner", "ann"])
def test_staff_pages_refuse_users_without_the_permission(client, world, who):
    client.force_login(world.users[who])

    for url in _staff_pages(world):
        assert client.get(url).status_code == 403, url


def test_another_citys_run_is_404_for_its_staff(client, world):
    client.force_login(world.users["sz_manager"])

    for url in _run_pages(world):
        assert client.get(url).status_code == 404, url
    # Their own run is fine.
    assert client.get(f"/incentives/settlement/runs/{SZ}/analysis/").status_code == 200


@pytest.mark.parametrize("who", ["gz_manager", "province", "gz_finance"])
def test_staff_of_the_city_or_above_may_analyse(client, world, who):
    client.force_login(world.users[who])

    for url in _staff_pages(world):
        assert client.get(url).status_code == 200, url


def test_a_run_without_results_is_404(client, world):
    run = world.runs["gz"]
    run.status = "queued"
    run.save(update_fields=["status"])
    client.force_login(world.users["gz_manager"])

    for url in _run_pages(world):
        assert client.get(url).status_code == 404, url


@pytest.mark.parametrize("who", ["gz_manager", "gz_no_permission", "partner"])
def test_promoter_pages_refuse_non_promoters(client, world, who):
    client.force_login(world.users[who])
    record = world.records["a1"].pk

    for url in (
        "/incentives/my/statements/",
        f"/incentives/my/statements/{GZ}/",
        f"/incentives/my/statements/{GZ}/records/{record}/",
    ):
        assert client.get(url).status_code == 403, url


def test_a_promoter_never_reaches_another_promoters_data(client, world):
    client.force_login(world.users["cy"])
    ann_record = world.records["a1"].pk

    assert client.get(f"/incentives/my/statements/{GZ}/").status_code == 404
    assert client.get(f"/incentives/my/statements/{GZ}/records/{ann_record}/").status_code == 404
    # Their own run, but Ann's record in it would still be 404: here, their own record.
    own = world.records["c1"].pk
    assert client.get(f"/incentives/my/statements/{SZ}/records/{own}/").status_code == 200
    assert client.get(f"/incentives/my/statements/{SZ}/records/{ann_record}/").status_code == 404


def test_a_disabled_promoter_sees_nothing(client, world):
    promoter = world.promoters["ann"]
    promoter.status = "disabled"
    promoter.save(update_fields=["status"])
    client.force_login(world.users["ann"])

    assert client.get("/incentives/my/statements/").status_code == 403


def test_menu_entries(client, world):
    client.force_login(world.users["gz_manager"])
    staff_home = client.get("/").content.decode()
    client.force_login(world.users["ann"])
    promoter_home = client.get("/").content.decode()

    assert 'data-nav="incentives_reports"' in staff_home
    assert 'data-nav="incentives_my_statements"' not in staff_home
    assert 'data-nav="incentives_my_statements"' in promoter_home
    assert 'data-nav="incentives_reports"' not in promoter_home


# --- API ---------------------------------------------------------------------------------------


def _api_endpoints(world):
    record = world.records["b1"].pk
    return [
        f"/api/v1/incentives/runs/{GZ}/analysis",
        f"/api/v1/incentives/runs/{GZ}/verdicts",
        f"/api/v1/incentives/runs/{GZ}/verdicts/{record}",
        "/api/v1/incentives/reports/volume",
        "/api/v1/incentives/reports/payouts",
        "/api/v1/incentives/reports/failure-reasons",
    ]


def test_api_anonymous_is_401(client, world):
    for url in [*_api_endpoints(world), "/api/v1/incentives/my/statements"]:
        response = client.get(url)
        assert response.status_code == 401, url
        assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("who", ["gz_no_permission", "partner", "ann"])
def test_api_refuses_users_without_the_permission(client, world, who):
    client.force_login(world.users[who])

    for url in _api_endpoints(world):
        assert client.get(url).status_code == 403, url


def test_api_another_citys_run_is_404(client, world):
    client.force_login(world.users["sz_manager"])

    for url in _api_endpoints(world)[:3]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json()["code"] == "not_found"


def test_api_token_needs_the_read_scope(client, world):
    user = world.users["gz_manager"]
    _token, narrow = api_token_create(actor=user, user=user, label="bi", scopes=["partners.read"])
    _token, wide = api_token_create(actor=user, user=user, label="bi", scopes=["incentives.read"])
    url = f"/api/v1/incentives/runs/{GZ}/analysis"

    refused = client.get(url, HTTP_AUTHORIZATION=f"Bearer {narrow}")
    allowed = client.get(url, HTTP_AUTHORIZATION=f"Bearer {wide}")

    assert (refused.status_code, refused.json()["code"]) == (403, "token_scope")
    assert allowed.status_code == 200


def test_api_analysis(client, world):
    client.force_login(world.users["province"])

    body = client.get(f"/api/v1/incentives/runs/{GZ}/analysis").json()

    assert (body["records"], body["qualified"], body["failed"]) == (4, 2, 2)
    assert (body["amount"], body["clawback_amount"]) == ("6.00", "-4.00")
    assert body["city"] == "Guangzhou" and body["status"] == "approved"
    assert body["reasons"][0] == {"code": "qualified", "label": "Qualified", "count": 2}
    assert {r["code"]: r["count"] for r in body["reasons"]}["in_arrears"] == 1
    assert [(c["code"], c["records"], c["qualified"]) for c in body["channels"]] == [
        ("GZ-H1", 3, 2),
        ("GZ-S2", 1, 0),
    ]


def test_api_verdict_pages_and_detail(client, world):
    client.force_login(world.users["gz_manager"])
    base = f"/api/v1/incentives/runs/{GZ}/verdicts"

    everything = client.get(base).json()
    arrears = client.get(f"{base}?reason=in_arrears").json()
    channel = client.get(f"{base}?channel=GZ-H1&qualified=false").json()
    promoter = client.get(f"{base}?promoter=GZ0002").json()
    after = client.get(f"{base}?after={world.records['a2'].pk}").json()
    bad = client.get(f"{base}?reason=nope")
    detail = client.get(f"{base}/{world.records['b1'].pk}").json()
    missing = client.get(f"{base}/{world.records['c1'].pk}")

    assert [item["number"] for item in everything["items"]] == ["R-a1", "R-a2", "R-a3", "R-b1"]
    assert everything["next_after"] is None
    assert [item["number"] for item in arrears["items"]] == ["R-b1"]
    assert arrears["items"][0]["reasons"] == ["not_billed", "in_arrears"]
    assert arrears["items"][0]["msisdn"] == "13900000004"
    assert [item["number"] for item in channel["items"]] == ["R-a2"]
    assert [item["number"] for item in promoter["items"]] == ["R-b1"]
    assert [item["number"] for item in after["items"]] == ["R-a3", "R-b1"]
    assert bad.status_code == 422
    assert [e["text"] for e in detail["explanations"]] == [
        "The product (monthly fee 5.00) was not billed in 2026-01 … 2026-03.",
        "The subscriber was in arrears at settlement time.",
    ]
    assert detail["window_end"].startswith("2026-03-10T10:00:00")
    assert missing.status_code == 404


def test_api_masks_numbers_without_view_recommendation(client, world):
    client.force_login(world.users["gz_finance"])

    body = client.get(f"/api/v1/incentives/runs/{GZ}/verdicts?reason=in_arrears").json()

    assert body["items"][0]["msisdn"] == "*******0004"


def test_api_my_statements_are_the_promoters_own(client, world):
    client.force_login(world.users["ann"])
    own = client.get("/api/v1/incentives/my/statements")
    client.force_login(world.users["cy"])
    other = client.get("/api/v1/incentives/my/statements")
    client.force_login(world.users["gz_manager"])
    staff = client.get("/api/v1/incentives/my/statements")

    assert own.status_code == 200
    assert [(s["run"], s["provisional"], s["payable_amount"]) for s in own.json()] == [
        (GZ, False, "6.00")
    ]
    assert [(s["run"], s["provisional"]) for s in other.json()] == [(SZ, True)]
    assert (staff.status_code, staff.json()["code"]) == (403, "not_a_promoter")


def test_api_reports(client, world):
    client.force_login(world.users["province"])
    base = "/api/v1/incentives/reports"

    volume = client.get(f"{base}/volume?group=promoter&month_from=2026-01&month_to=2026-03")
    by_city = client.get(f"{base}/volume?city=SZ")
    payouts = client.get(f"{base}/payouts?channel=GZ-H1")
    reasons = client.get(f"{base}/failure-reasons?city=GZ")
    bad_month = client.get(f"{base}/payouts?month_from=2026-13")
    bad_range = client.get(f"{base}/payouts?month_from=2026-04&month_to=2026-03")
    unknown_channel = client.get(f"{base}/payouts?channel=NOPE")

    assert [(r["code"], r["recorded"], r["qualified"], r["target"]) for r in volume.json()] == [
        ("GZ0001", 3, 2, None),
        ("GZ0002", 2, 0, None),
        ("SZ0001", 1, 0, None),  # the SZ run is computed, not approved
    ]
    assert [r["code"] for r in by_city.json()] == ["SZ-H1"]
    assert payouts.json() == [
        {
            "run": GZ,
            "period": "2026-03",
            "city": "Guangzhou",
            "statements": 1,
            "gross_amount": "6.00",
            "clawback_amount": "0.00",
            "payable_amount": "6.00",
            "promoters_paid": 1,
        }
    ]
    body = reasons.json()
    assert body["records"] == 4
    assert body["reasons"][0] == {
        "code": "unconfirmed",
        "label": "Not confirmed",
        "count": 1,
        "percent": "25.0",
    }
    assert bad_month.status_code == 422
    assert (bad_range.status_code, bad_range.json()["code"]) == (400, "month_range")
    assert unknown_channel.status_code == 404


def test_api_report_filters_stay_in_scope(client, world):
    client.force_login(world.users["sz_manager"])

    other_city = client.get("/api/v1/incentives/reports/payouts?city=GZ")
    other_channel = client.get("/api/v1/incentives/reports/volume?channel=GZ-H1")
    own = client.get("/api/v1/incentives/reports/volume")

    assert other_city.status_code == 404
    assert other_channel.status_code == 404
    assert [(r["code"], r["recorded"]) for r in own.json()] == [("SZ-H1", 1)]
    assert Decimal(client.get("/api/v1/incentives/reports/failure-reasons").json()["records"]) == 0
