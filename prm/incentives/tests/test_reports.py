"""The run analysis, the promoter's statements and the reports (R4 commission query and
statistics): exact figures, explanations, promoter isolation, exports, query counts.

Runs are built by writing their artefact files (``write_artefacts``) and a
``SettlementRun`` row pointing at them; the engine is not involved."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from prm.incentives.models import (
    DevelopmentTarget,
    Promoter,
    Recommendation,
    SettlementRun,
    SettlementStatement,
)
from prm.incentives.selectors_reports import (
    ReportFilters,
    failure_reason_report,
    msisdn_display,
    payout_report,
    run_analysis,
    volume_report,
)
from prm.incentives.storage import run_dir
from prm.incentives.tests import factories
from prm.incentives.tests.test_artefacts import write_artefacts

RECORDS = "/incentives/settlement/runs/SR-2026-03-GZ/analysis/records/"

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
JANUARY = datetime(2026, 1, 10, 10, 0, tzinfo=SHANGHAI)
FEBRUARY = datetime(2026, 2, 3, 9, 0, tzinfo=SHANGHAI)


@dataclass
class World:
    orgs: object
    channels: dict
    products: dict
    promoters: dict
    records: dict
    runs: dict
    users: dict


def _promoter_row(promoter: Promoter) -> dict:
    return {
        "promoter_id": promoter.pk,
        "work_id": promoter.work_id,
        "name": promoter.name,
        "channel_id": promoter.channel_id,
        "channel_code": promoter.channel.code if promoter.channel else None,
        "channel_name": promoter.channel.name if promoter.channel else None,
        "city_id": promoter.org_id,
        "city_name": promoter.org.name,
    }


def make_run(
    *,
    number: str,
    org,
    period: str = "2026-03",
    status: str = SettlementRun.Status.APPROVED,
    verdicts: list[dict],
    promoters: list[Promoter],
    clawbacks: list[dict] = (),
    statements: bool = True,
) -> SettlementRun:
    """A run row pointing at freshly written artefacts; with ``statements``, the DB
    statements of its promoters as the settlement run writes them."""
    directory = run_dir(number=number, revision=1) / "out"
    summary = write_artefacts(
        directory,
        verdicts=verdicts,
        promoters=[_promoter_row(p) for p in promoters],
        clawbacks=clawbacks,
        period=period,
    )
    run = SettlementRun.objects.create(
        number=number,
        period=period,
        org=org,
        status=status,
        revision=1,
        artefact_dir=str(directory),
        summary=summary,
        rule_version="test-1",
        records=summary["records"],
        qualified=summary["qualified"],
        gross_amount=Decimal(summary["gross_amount"]),
        clawback_amount=Decimal(summary["clawback_amount"]),
        payable_amount=max(Decimal(summary["net_amount"]), Decimal("0.00")),
    )
    if statements:
        for promoter in promoters:
            own = [v for v in verdicts if v["promoter_id"] == promoter.pk]
            gross = sum(
                (Decimal(v.get("amount", "4.00" if not v["reasons"] else "0")) for v in own),
                Decimal("0.00"),
            )
            clawback = sum(
                (Decimal(c["amount"]) for c in clawbacks if c["promoter_id"] == promoter.pk),
                Decimal("0.00"),
            )
            net = gross + clawback
            SettlementStatement.objects.create(
                run=run,
                promoter=promoter,
                records=len(own),
                qualified=sum(1 for v in own if not v["reasons"]),
                gross_amount=gross,
                clawback_amount=clawback,
                net_amount=net,
                payable_amount=max(net, Decimal("0.00")),
                carry_forward=min(net, Decimal("0.00")),
            )
    return run


def verdict(record: Recommendation, reasons: str = "", amount: str | None = None) -> dict:
    row = {
        "record_id": record.pk,
        "promoter_id": record.promoter_id,
        "msisdn": record.msisdn,
        "product_code": record.product.code,
        "reasons": reasons,
    }
    if amount is not None:
        row["amount"] = amount
    return row


@pytest.fixture
def world(orgs, make_user) -> World:
    channels = {
        "gz1": factories.channel(org=orgs.city_a, code="GZ-H1", name="Tianhe hall"),
        "gz2": factories.channel(org=orgs.county_a, code="GZ-S2", name="Tianhe store"),
        "sz": factories.channel(org=orgs.city_b, code="SZ-H1", name="Nanshan hall"),
    }
    products = {
        "crbt": factories.product("CRBT", monthly_fee="5.00", rebate="4.00", name="Colour RBT"),
        "wbr": factories.product("WBR", monthly_fee="2.00", rebate="2.00", name="Weekly bill"),
    }
    promoters = {
        "ann": factories.promoter(org=orgs.city_a, channel=channels["gz1"], name="Ann",
                                  work_id="GZ0001"),
        "bo": factories.promoter(org=orgs.city_a, channel=channels["gz2"], name="Bo",
                                 work_id="GZ0002"),
        "cy": factories.promoter(org=orgs.city_b, channel=channels["sz"], name="Cy",
                                 work_id="SZ0001"),
    }  # fmt: skip

    def record(name, who, product, when, confirmed=True, msisdn=None):
        return factories.recommendation(
            promoter=promoters[who],
            product=products[product],
            recommended_at=when,
            confirmed=confirmed,
            msisdn=msisdn,
            number=f"R-{name}",
        )

    records = {
        "a1": record("a1", "ann", "crbt", JANUARY, msisdn="13900000001"),
        "a2": record("a2", "ann", "crbt", JANUARY, confirmed=False, msisdn="13900000002"),
        "a3": record("a3", "ann", "wbr", JANUARY, msisdn="13900000003"),
        "b1": record("b1", "bo", "crbt", JANUARY, msisdn="13900000004"),
        "b2": record("b2", "bo", "wbr", FEBRUARY, msisdn="13900000005"),
        "c1": record("c1", "cy", "crbt", JANUARY, msisdn="13900000006"),
    }
    runs = {
        "gz": make_run(
            number="SR-2026-03-GZ",
            org=orgs.city_a,
            verdicts=[
                verdict(records["a1"]),
                verdict(records["a2"], "unconfirmed"),
                verdict(records["a3"], "", "2.00"),
                verdict(records["b1"], "not_billed,in_arrears"),
            ],
            promoters=[promoters["ann"], promoters["bo"]],
            clawbacks=[
                {
                    "record_id": 999,
                    "promoter_id": promoters["bo"].pk,
                    "msisdn": "13900000099",
                    "product_code": "CRBT",
                    "amount": "-4.00",
                }
            ],
        ),  # fmt: skip
        "sz": make_run(
            number="SR-2026-03-SZ",
            org=orgs.city_b,
            status=SettlementRun.Status.COMPUTED,
            verdicts=[verdict(records["c1"], "no_voice_in_window")],
            promoters=[promoters["cy"]],
        ),
    }
    users = {
        "gz_manager": make_user(org=orgs.city_a, roles=("channel_manager",)),
        "province": make_user(org=orgs.province, roles=("channel_manager",)),
        "sz_manager": make_user(org=orgs.city_b, roles=("channel_manager",)),
        "gz_finance": make_user(org=orgs.city_a, roles=("finance",)),
        "gz_no_permission": make_user(org=orgs.city_a, roles=("cs_agent",)),
        "partner": make_user(org=orgs.partner, roles=("partner_admin",)),
        "ann": promoters["ann"].user,
        "bo": promoters["bo"].user,
        "cy": promoters["cy"].user,
    }
    return World(orgs, channels, products, promoters, records, runs, users)


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


# --- Analysis -------------------------------------------------------------------------------


def test_run_analysis_totals(world):
    analysis = run_analysis(run=world.runs["gz"])

    totals = analysis.totals
    assert (totals.records, totals.qualified, totals.failed) == (4, 2, 2)
    assert (totals.amount, totals.clawback_amount) == (Decimal("6.00"), Decimal("-4.00"))
    counts = {row["code"]: row["count"] for row in analysis.reasons}
    assert analysis.reasons[0]["code"] == "qualified"
    assert len(analysis.reasons) == 13
    assert (counts["qualified"], counts["unconfirmed"], counts["not_billed"]) == (2, 1, 1)
    assert (counts["in_arrears"], counts["duplicate"]) == (1, 0)
    channels = {row["code"]: (row["records"], row["qualified"], row["failed"], row["amount"])
                for row in analysis.channels}  # fmt: skip
    assert channels == {
        "GZ-H1": (3, 2, 1, Decimal("6.00")),
        "GZ-S2": (1, 0, 1, Decimal("0.00")),
    }
    assert [(row["name"], row["records"]) for row in analysis.cities] == [("Guangzhou", 4)]


def test_analysis_page_shows_the_figures_and_charts(client, world):
    client.force_login(world.users["gz_manager"])

    response = client.get("/incentives/settlement/runs/SR-2026-03-GZ/analysis/")

    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-testid="total-records">4<' in content
    assert 'data-testid="total-qualified">2<' in content
    assert response.context["reasons_chart"]["series"][0]["data"][:3] == [2, 0, 1]
    assert response.context["reason_codes"][0] == "qualified"
    assert "Tianhe hall" in content and "Tianhe store" in content
    assert 'id="reasons-chart"' in content and "vendor/echarts/echarts.min.js" in content
    # No records listed until a reason is chosen.
    assert "records_loaded" not in response.context


def test_a_reasons_records_by_htmx_with_explanations(client, world):
    client.force_login(world.users["gz_manager"])

    response = client.get(f"{RECORDS}?reason=in_arrears", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "incentives/reports/_records.html"
    rows = response.context["rows"]
    assert [row["record_id"] for row in rows] == [world.records["b1"].pk]
    row = rows[0]
    assert (row["number"], row["product_name"], row["msisdn"]) == (
        "R-b1", "Colour RBT", "13900000004"
    )  # fmt: skip
    assert row["reason_labels"] == ["Not billed", "In arrears"]
    assert response.context["reason_title"] == "In arrears"
    assert response.context["next_after"] is None


def test_records_page_without_htmx_is_a_full_page(client, world):
    client.force_login(world.users["gz_manager"])
    channel = world.channels["gz1"].pk

    response = client.get(f"{RECORDS}?channel={channel}")

    assert response.status_code == 200
    assert "incentives/reports/run_records.html" in [t.name for t in response.templates]
    assert [row["number"] for row in response.context["rows"]] == ["R-a1", "R-a2", "R-a3"]


@pytest.mark.parametrize(
    ("_case", "query"),
    [("unknown_reason", "reason=nope"), ("bad_after", "after=-1"), ("bad_channel", "channel=x")],
)
def test_bad_record_filters_are_refused(client, world, _case, query):
    client.force_login(world.users["gz_manager"])

    response = client.get(f"{RECORDS}?{query}")

    assert response.status_code == 400
    assert response.context["rows"] == []
    assert 'data-testid="filter-error"' in response.content.decode()


def test_record_explanation_page(client, world):
    client.force_login(world.users["gz_manager"])
    record = world.records["b1"]

    response = client.get(f"{RECORDS}{record.pk}/")

    assert response.status_code == 200
    facts = response.context["record"]
    assert facts["msisdn"] == "13900000004"  # staff with view_recommendation: in full
    assert facts["window_start"] == JANUARY
    assert facts["window_end"] == datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI)
    assert [item["text"] for item in facts["explanations"]] == [
        "The product (monthly fee 5.00) was not billed in 2026-01 … 2026-03.",
        "The subscriber was in arrears at settlement time.",
    ]
    content = response.content.decode()
    assert "2026-01-10 10:00 – 2026-03-10 10:00" in content
    assert "Not qualified" in content and "Tianhe store" in content


def test_a_qualified_records_explanation(client, world):
    client.force_login(world.users["gz_manager"])
    record = world.records["a1"]

    response = client.get(f"{RECORDS}{record.pk}/")

    assert response.context["record"]["explanations"] == [
        {
            "code": "qualified",
            "label": "Qualified",
            "text": "All rules were met: the record earned its rebate.",
        }
    ]
    assert response.context["record"]["amount"] == Decimal("4.00")


def test_numbers_are_masked_for_staff_without_view_recommendation(client, world):
    client.force_login(world.users["gz_finance"])
    record = world.records["b1"]

    page = client.get(f"{RECORDS}{record.pk}/")
    listing = client.get(f"{RECORDS}?reason=in_arrears")

    assert page.context["record"]["msisdn"] == "*******0004"
    assert "13900000004" not in page.content.decode()
    assert listing.context["rows"][0]["msisdn"] == "*******0004"


@pytest.mark.parametrize(
    ("_case", "value", "full", "expected"),
    [
        ("masked", "13900000004", False, "*******0004"),
        ("full", "13900000004", True, "13900000004"),
        ("four_digits", "1234", False, "1234"),
        ("five_digits", "12345", False, "*2345"),
        ("empty", "", False, ""),
    ],
)
def test_msisdn_display(_case, value, full, expected):
    assert msisdn_display(value, full=full) == expected


def test_a_record_not_in_the_run_is_404(client, world):
    client.force_login(world.users["gz_manager"])
    other_city_record = world.records["c1"]

    response = client.get(f"{RECORDS}{other_city_record.pk}/")

    assert response.status_code == 404


def test_missing_artefacts_are_explained(client, world):
    run = world.runs["gz"]
    (Path(run.artefact_dir) / "verdicts.parquet").unlink()
    client.force_login(world.users["gz_manager"])

    response = client.get("/incentives/settlement/runs/SR-2026-03-GZ/analysis/")

    assert response.status_code == 409
    assert "The result files of this settlement run are not available." in (
        response.content.decode()
    )


def test_records_list_keyset_pages_with_constant_queries(client, orgs, make_user, world):
    promoter = world.promoters["ann"]
    many = [
        factories.recommendation(promoter=promoter, product=world.products["crbt"],
                                 recommended_at=JANUARY)
        for _ in range(55)
    ]  # fmt: skip
    make_run(
        number="SR-BIG",
        org=orgs.city_a,
        period="2026-04",
        verdicts=[verdict(record, "in_arrears") for record in many],
        promoters=[promoter],
    )
    client.force_login(world.users["gz_manager"])
    url = "/incentives/settlement/runs/{}/analysis/records/?reason=in_arrears"
    client.get(url.format("SR-2026-03-GZ"))  # warm the permission caches

    with CaptureQueriesContext(connection) as small:
        one = client.get(url.format("SR-2026-03-GZ"))
    with CaptureQueriesContext(connection) as large:
        first = client.get(url.format("SR-BIG"))

    assert (len(one.context["rows"]), len(first.context["rows"])) == (1, 50)
    assert len(small.captured_queries) == len(large.captured_queries)
    second = client.get(url.format("SR-BIG") + f"&after={first.context['next_after']}")
    assert [row["record_id"] for row in second.context["rows"]] == [r.pk for r in many[50:]]
    assert second.context["next_after"] is None
    assert 'data-testid="records-next"' in first.content.decode()


# --- The promoter's own statements ---------------------------------------------------------


def test_a_promoter_sees_only_their_statements(client, world):
    make_run(
        number="SR-2026-04-GZ",
        org=world.orgs.city_a,
        period="2026-04",
        status=SettlementRun.Status.COMPUTED,
        verdicts=[verdict(world.records["b2"])],
        promoters=[world.promoters["bo"]],
    )
    queued = make_run(
        number="SR-2026-05-GZ",
        org=world.orgs.city_a,
        period="2026-05",
        status=SettlementRun.Status.QUEUED,
        verdicts=[verdict(world.records["b2"])],
        promoters=[world.promoters["bo"]],
    )
    client.force_login(world.users["bo"])

    response = client.get("/incentives/my/statements/")

    assert response.status_code == 200
    shown = [(s.run.number, provisional) for s, provisional in response.context["statements"]]
    # Newest period first; the computed run provisional; a queued run's statement not shown.
    assert shown == [("SR-2026-04-GZ", True), ("SR-2026-03-GZ", False)]
    assert queued.number not in response.content.decode()
    assert "SR-2026-03-SZ" not in response.content.decode()


def test_a_promoters_statement_page_lists_their_records_and_reasons(client, world):
    client.force_login(world.users["ann"])

    response = client.get("/incentives/my/statements/SR-2026-03-GZ/")

    assert response.status_code == 200
    assert response.context["statement"].promoter == world.promoters["ann"]
    rows = response.context["rows"]
    assert [row["number"] for row in rows] == ["R-a1", "R-a2", "R-a3"]
    assert {row["promoter_id"] for row in rows} == {world.promoters["ann"].pk}
    unconfirmed = rows[1]
    assert unconfirmed["msisdn"] == "*******0002"  # promoters see masked numbers
    assert [item["text"] for item in unconfirmed["explanations"]] == [
        "The subscriber never confirmed the recommendation (window 2026-01-10 to 2026-03-10)."
    ]
    content = response.content.decode()
    assert "The subscriber never confirmed the recommendation" in content
    assert "R-b1" not in content  # Bo's record
    unpaid = client.get("/incentives/my/statements/SR-2026-03-GZ/?unpaid=on")
    assert [row["number"] for row in unpaid.context["rows"]] == ["R-a2"]


def test_a_promoters_clawbacks_are_listed(client, world):
    client.force_login(world.users["bo"])

    response = client.get("/incentives/my/statements/SR-2026-03-GZ/")

    assert [(c["record_id"], c["amount"]) for c in response.context["clawbacks"]] == [
        (999, Decimal("-4.00"))
    ]


def test_another_promoters_run_and_record_are_404(client, world):
    client.force_login(world.users["ann"])
    bos_record = world.records["b1"]
    own_record = world.records["a2"]

    other_run = client.get("/incentives/my/statements/SR-2026-03-SZ/")
    other_record = client.get(f"/incentives/my/statements/SR-2026-03-GZ/records/{bos_record.pk}/")
    own = client.get(f"/incentives/my/statements/SR-2026-03-GZ/records/{own_record.pk}/")

    assert other_run.status_code == 404
    assert other_record.status_code == 404
    assert own.status_code == 200
    assert own.context["record"]["number"] == "R-a2"
    assert own.context["record"]["msisdn"] == "*******0002"


def test_my_statements_query_count_is_constant(client, world):
    client.force_login(world.users["bo"])
    client.get("/incentives/my/statements/")
    with CaptureQueriesContext(connection) as one:
        client.get("/incentives/my/statements/")
    for month in ("2026-04", "2026-05", "2026-06"):
        make_run(
            number=f"SR-{month}-GZ",
            org=world.orgs.city_a,
            period=month,
            verdicts=[verdict(world.records["b2"])],
            promoters=[world.promoters["bo"]],
        )
    with CaptureQueriesContext(connection) as four:
        response = client.get("/incentives/my/statements/")

    assert len(response.context["statements"]) == 4
    assert len(one.captured_queries) == len(four.captured_queries)


# --- Reports --------------------------------------------------------------------------------


def _targets(world):
    DevelopmentTarget.objects.create(
        month=date(2026, 3, 1), channel=world.channels["gz1"], target=4
    )
    DevelopmentTarget.objects.create(
        month=date(2026, 1, 1), channel=world.channels["gz1"], target=3
    )
    DevelopmentTarget.objects.create(
        month=date(2026, 3, 1), channel=world.channels["gz1"], product=world.products["crbt"],
        target=2,
    )  # fmt: skip
    DevelopmentTarget.objects.create(month=date(2026, 3, 1), channel=world.channels["sz"], target=9)


def _rows(report):
    return {
        row.code: (row.recorded, row.confirmed, row.qualified, row.target) for row in report.rows
    }


def test_volume_by_channel_against_targets(world):
    _targets(world)
    filters = ReportFilters(month_from=date(2026, 1, 1), month_to=date(2026, 3, 1))

    report = volume_report(user=world.users["gz_manager"], filters=filters, group="channel")

    # Recorded by the month of recommendation, qualified from the approved GZ run's
    # statements (Ann 2, Bo 0), targets without product summed over the months.
    assert _rows(report) == {"GZ-H1": (3, 2, 2, 7), "GZ-S2": (2, 2, 0, 0)}
    assert report.rows[0].achieved_percent == Decimal("28.6")
    assert report.rows[1].achieved_percent is None


@pytest.mark.parametrize(
    ("_case", "month_from", "month_to", "expected"),
    [
        # January only: Bo's February record out; the March run out (period 2026-03).
        ("january", date(2026, 1, 1), date(2026, 1, 1),
         {"GZ-H1": (3, 2, 0, 3), "GZ-S2": (1, 1, 0, 0)}),
        # February only: Bo's second record.
        ("february", date(2026, 2, 1), date(2026, 2, 1), {"GZ-S2": (1, 1, 0, 0)}),
        # March only: no records, the run's qualified and the March target.
        ("march", date(2026, 3, 1), date(2026, 3, 1),
         {"GZ-H1": (0, 0, 2, 4), "GZ-S2": (0, 0, 0, 0)}),
    ],
)  # fmt: skip
def test_volume_month_boundaries(world, _case, month_from, month_to, expected):
    _targets(world)

    report = volume_report(
        user=world.users["gz_manager"],
        filters=ReportFilters(month_from=month_from, month_to=month_to),
        group="channel",
    )

    assert _rows(report) == expected


def test_a_record_at_midnight_belongs_to_its_local_month(world):
    factories.recommendation(
        promoter=world.promoters["ann"],
        product=world.products["crbt"],
        recommended_at=datetime(2026, 2, 1, 0, 0, tzinfo=SHANGHAI),
    )
    factories.recommendation(
        promoter=world.promoters["ann"],
        product=world.products["crbt"],
        recommended_at=datetime(2026, 1, 31, 23, 59, 59, tzinfo=SHANGHAI),
    )

    report = volume_report(
        user=world.users["gz_manager"],
        filters=ReportFilters(month_from=date(2026, 2, 1), month_to=date(2026, 2, 1)),
        group="promoter",
    )

    assert _rows(report) == {"GZ0001": (1, 1, 0, None), "GZ0002": (1, 1, 0, None)}


def test_volume_by_promoter_product_and_month(world):
    _targets(world)
    user = world.users["gz_manager"]
    filters = ReportFilters(month_from=date(2026, 1, 1), month_to=date(2026, 3, 1))

    by_promoter = volume_report(user=user, filters=filters, group="promoter")
    by_product = volume_report(user=user, filters=filters, group="product")
    by_month = volume_report(user=user, filters=filters, group="month")

    assert _rows(by_promoter) == {"GZ0001": (3, 2, 2, None), "GZ0002": (2, 2, 0, None)}
    # Qualified per product from the approved run's verdicts: a1 (CRBT), a3 (WBR).
    assert _rows(by_product) == {"CRBT": (3, 2, 1, 2), "WBR": (2, 2, 1, 0)}
    assert _rows(by_month) == {
        "2026-01": (4, 3, 0, 3),
        "2026-02": (1, 1, 0, 0),
        "2026-03": (0, 0, 2, 4),
    }
    assert by_month.total("recorded") == 5 and by_month.total("target") == 7


def test_volume_filters_city_and_channel_and_scope(world):
    user = world.users["province"]
    everything = volume_report(user=user, filters=ReportFilters(), group="channel")
    city_b = volume_report(
        user=user, filters=ReportFilters(city_id=world.orgs.city_b.pk), group="channel"
    )
    one_channel = volume_report(
        user=user, filters=ReportFilters(channel_id=world.channels["gz2"].pk), group="product"
    )
    sz_view = volume_report(user=world.users["sz_manager"], filters=ReportFilters())

    # The SZ run is not approved: no qualified for SZ yet.
    assert _rows(everything) == {
        "GZ-H1": (3, 2, 2, 0),
        "GZ-S2": (2, 2, 0, 0),
        "SZ-H1": (1, 1, 0, 0),
    }
    assert _rows(city_b) == {"SZ-H1": (1, 1, 0, 0)}
    assert _rows(one_channel) == {"CRBT": (1, 1, 0, 0), "WBR": (1, 1, 0, 0)}
    assert _rows(sz_view) == {"SZ-H1": (1, 1, 0, 0)}


def test_payout_history(world):
    make_run(
        number="SR-2026-02-GZ",
        org=world.orgs.city_a,
        period="2026-02",
        verdicts=[verdict(world.records["b2"], "in_arrears")],
        promoters=[world.promoters["bo"]],
    )
    user = world.users["province"]

    rows = payout_report(user=user, filters=ReportFilters())
    march = payout_report(
        user=user, filters=ReportFilters(month_from=date(2026, 3, 1), month_to=date(2026, 3, 1))
    )
    channel = payout_report(user=user, filters=ReportFilters(channel_id=world.channels["gz1"].pk))

    assert [(r.number, r.period, r.city) for r in rows] == [
        ("SR-2026-03-GZ", "2026-03", "Guangzhou"),
        ("SR-2026-02-GZ", "2026-02", "Guangzhou"),
    ]
    top = rows[0]
    # Ann: gross 6.00, payable 6.00; Bo: gross 0, clawback -4.00, payable 0.
    figures = (top.statements, top.gross_amount, top.clawback_amount, top.payable_amount)
    assert figures == (2, Decimal("6.00"), Decimal("-4.00"), Decimal("6.00"))
    assert top.promoters_paid == 1
    assert (rows[1].payable_amount, rows[1].promoters_paid) == (Decimal("0.00"), 0)
    assert [r.number for r in march] == ["SR-2026-03-GZ"]
    assert [(r.number, r.statements, r.clawback_amount) for r in channel] == [
        ("SR-2026-03-GZ", 1, Decimal("0.00"))
    ]
    # The computed SZ run is not paid yet; SZ staff see no GZ payouts.
    assert payout_report(user=world.users["sz_manager"], filters=ReportFilters()) == []


def test_failure_reasons_over_approved_runs(world):
    make_run(
        number="SR-2026-02-GZ",
        org=world.orgs.city_a,
        period="2026-02",
        verdicts=[verdict(world.records["b2"], "in_arrears,upheld_complaint")],
        promoters=[world.promoters["bo"]],
    )
    user = world.users["province"]

    report = failure_reason_report(user=user, filters=ReportFilters())
    by_channel = failure_reason_report(
        user=user, filters=ReportFilters(channel_id=world.channels["gz2"].pk)
    )

    assert report.records == 5
    top = [(row.code, row.count, row.percent) for row in report.rows[:4]]
    assert top == [
        ("in_arrears", 2, Decimal("40.0")),
        ("unconfirmed", 1, Decimal("20.0")),
        ("not_billed", 1, Decimal("20.0")),
        ("upheld_complaint", 1, Decimal("20.0")),
    ]
    assert len(report.rows) == 12 and report.rows[-1].count == 0
    # Bo's channel: b1 (not_billed, in_arrears) and b2 (in_arrears, upheld_complaint).
    assert by_channel.records == 2
    counts = {row.code: row.count for row in by_channel.rows}
    assert (counts["in_arrears"], counts["not_billed"], counts["unconfirmed"]) == (2, 1, 0)


def test_report_pages_and_exports_parse_back(client, world):
    _targets(world)
    client.force_login(world.users["gz_manager"])
    query = "month_from=2026-01&month_to=2026-03&group=channel"

    page = client.get(f"/incentives/reports/volume/?{query}")
    csv_response = client.get(f"/incentives/reports/volume/?{query}&format=csv")
    xlsx_response = client.get(f"/incentives/reports/payouts/?{query}&format=xlsx")
    reasons_csv = client.get("/incentives/reports/failure-reasons/?format=csv")

    assert page.status_code == 200
    assert page.context["chart"]["series"][0]["data"] == [3, 2]
    assert page.context["chart"]["series"][-1]["type"] == "line"
    table = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    assert table == [
        ["Channel", "Name", "Recorded", "Confirmed", "Qualified", "Target", "Achieved (%)"],
        ["GZ-H1", "Tianhe hall", "3", "2", "2", "7", "28.6"],
        ["GZ-S2", "Tianhe store", "2", "2", "0", "0", ""],
    ]
    assert xlsx_response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(xlsx_response.content)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0][:3] == ["Run", "Period", "City"]
    assert values[1] == ["SR-2026-03-GZ", "2026-03", "Guangzhou", "2", "6.00", "-4.00", "6.00", "1"]
    reasons = list(csv.reader(io.StringIO(reasons_csv.content.decode("utf-8-sig"))))
    assert reasons[0] == ["Reason code", "Reason", "Records", "Share of records (%)"]
    assert reasons[1][:3] == ["unconfirmed", "Not confirmed", "1"]
    assert reasons[1][3] == "25.0"


def test_a_bad_month_range_is_shown_not_exported(client, world):
    client.force_login(world.users["gz_manager"])

    page = client.get("/incentives/reports/payouts/?month_from=2026-04&month_to=2026-03")
    export = client.get("/incentives/reports/payouts/?month_from=2026-13&format=csv")

    assert page.status_code == 200
    assert page.context["form"].errors["month_to"] == ["The end month is before the start month."]
    assert export["Content-Type"].startswith("text/html")
    assert export.context["form"].errors["month_from"] == ["Enter a month as YYYY-MM."]


@pytest.mark.parametrize(
    "url",
    [
        "/incentives/reports/volume/?group=promoter",
        "/incentives/reports/volume/?group=month",
        "/incentives/reports/volume/?group=product",
        "/incentives/reports/payouts/",
        "/incentives/reports/failure-reasons/",
    ],
)
def test_report_pages_have_constant_query_counts(client, world, url):
    client.force_login(world.users["province"])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for month in ("2026-04", "2026-05", "2026-06"):
        for city, who, record in (("GZ", "bo", "b2"), ("SZ", "cy", "c1")):
            make_run(
                number=f"SR-{month}-{city}",
                org=world.promoters[who].org,
                period=month,
                verdicts=[verdict(world.records[record], "in_arrears")],
                promoters=[world.promoters[who]],
            )
        factories.recommendation(
            promoter=world.promoters["cy"], product=world.products["wbr"], recommended_at=FEBRUARY
        )
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)

    assert response.status_code == 200
    assert len(few.captured_queries) == len(many.captured_queries)


def test_reports_index(client, world):
    client.force_login(world.users["gz_finance"])

    response = client.get("/incentives/reports/")

    assert response.status_code == 200
    assert "/incentives/reports/volume/" in response.content.decode()
