"""R4 in a real browser: a computed settlement run read by the city's channel manager
(run list → run → analysis → the records of a reason → one record and the reason in
words) and by a promoter ("My statements": their own statement and records, never
another promoter's).

The run is set up through the services with the data of the end-to-end scenario
(``prm/incentives/tests/test_end_to_end.py``): the billing extracts 2025-10 … 2026-03
imported by the import service, Zhang Wei's and Li Na's January recommendations recorded
and answered by SMS, the run of 2026-03 started by a channel manager and computed.
Screenshots: ``test-artifacts/e2e/<test>/incentives-NN-<step>.png``.
"""

from __future__ import annotations

import re

import pytest
from django.utils import translation
from playwright.sync_api import expect

from prm.accounts.tests import factories as account_factories
from prm.incentives.models import SettlementRun
from prm.incentives.reasons import reason_label, verdict_explain
from prm.incentives.services.settlement import settlement_run_start
from prm.incentives.tests import factories
from prm.incentives.tests.test_end_to_end import (
    LI,
    LI_NUMBER,
    PLAN,
    STORE_MONTHS,
    ZHANG,
    ZHANG_NUMBER,
    billing_store_import,
    products,
    recommendations_record,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = account_factories.DEFAULT_PASSWORD
RUN = "ST-2026-03-GZ"
# The January records (period 2026-03); r8 of February belongs to 2026-04.
JANUARY = tuple(planned for planned in PLAN if planned.key != "r8")


def _sign_in(browsing, username: str):
    """A fresh browser (its own cookies) in which ``username`` signs in."""
    page = browsing.new_context().new_page()
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("[data-testid=login-submit]")
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
    page.wait_for_load_state("load")
    return page


def _menu(page, key: str) -> None:
    """Follow a menu entry, opening its section's dropdown first when it has one."""
    entry = page.locator(f"[data-nav={key}]")
    if not entry.is_visible():
        page.locator("li.dropdown", has=entry).locator("[data-nav-section]").click()
    entry.click()
    page.wait_for_load_state("load")


def reason_label_in(language: str) -> str:
    with translation.override(language):
        return reason_label("unconfirmed")


def _unconfirmed_sentence(recommendation, language: str) -> str:
    with translation.override(language):
        [sentence] = verdict_explain(
            "unconfirmed",
            {"recommended_at": recommendation.recommended_at, "confirmed_at": None},
        )
        return sentence


@pytest.fixture
def computed_run(orgs, tmp_path):
    """Guangzhou's run of 2026-03, computed: Zhang (GZ-000001) r1 qualifies, r2 declined,
    r6 not billed; Li (GZ-000002) r3 never answered, r4 no voice, r5 qualifies."""
    manager = account_factories.user(
        org=orgs.city_a, roles=("channel_manager",), username="gz_manager"
    )
    starter = account_factories.user(
        org=orgs.city_a, roles=("channel_manager",), username="gz_starter"
    )
    products()
    hall = factories.channel(org=orgs.county_a, code="GZ-TH-HALL", name="Tianhe business hall")
    online = factories.channel(
        org=orgs.city_a, code="GZ-ONLINE", name="Guangzhou online", kind="online"
    )
    promoters = {
        ZHANG: factories.promoter(
            org=orgs.city_a,
            channel=online,
            kind="ordinary",
            name="Zhang Wei",
            work_id="GZ-000001",
            username="GZ-000001",
            msisdn=ZHANG_NUMBER,
        ),
        LI: factories.promoter(
            org=orgs.city_a,
            channel=hall,
            name="Li Na",
            work_id="GZ-000002",
            username="GZ-000002",
            msisdn=LI_NUMBER,
        ),
    }
    billing_store_import(actor=manager, months=STORE_MONTHS, directory=tmp_path)
    records = recommendations_record(promoters, JANUARY)
    # The computation runs after the commit (eagerly, without a broker).
    settlement_run_start(org=orgs.city_a, period="2026-03", actor=starter)
    run = SettlementRun.objects.get(number=RUN)
    assert (run.status, run.records, run.qualified, str(run.payable_amount)) == (
        "computed",
        6,
        2,
        "6.00",
    ), run.message
    return run, records, manager


def test_a_manager_reads_why_and_a_promoter_reads_only_their_own(browsing, computed_run):
    run, records, manager = computed_run
    reason_zh = reason_label_in("zh-hans")
    sentence_zh = _unconfirmed_sentence(records["r3"], "zh-hans")
    sentence_en = _unconfirmed_sentence(records["r3"], "en")
    assert sentence_en == (
        "The subscriber never confirmed the recommendation (window 2026-01-15 to 2026-03-15)."
    )
    # The UI is Chinese by default: the pages first show the zh-hans catalogue's text.

    # --- 1. the channel manager: run list → run → analysis ---------------------------
    staff = _sign_in(browsing, manager.username)
    browsing.shot("incentives-01-manager-home", page=staff)
    _menu(staff, "incentives_settlement_runs")
    row = staff.locator("[data-testid=run-row]", has_text=RUN)
    expect(row).to_have_count(1)
    browsing.shot("incentives-02-run-list", page=staff)
    row.get_by_role("link", name=RUN).click()
    expect(staff.locator("[data-testid=run-number]")).to_have_text(RUN)
    expect(staff.locator("[data-testid=total-payable]")).to_have_text("6.00")
    browsing.shot("incentives-03-run", page=staff)
    staff.click("[data-testid=run-analysis]")
    expect(staff.locator("[data-testid=run-analysis]")).to_be_visible()
    expect(staff.locator("[data-testid=total-records]")).to_have_text("6")
    expect(staff.locator("[data-testid=total-qualified]")).to_have_text("2")
    expect(staff.locator("[data-testid=total-failed]")).to_have_text("4")
    reason = staff.locator("[data-testid=reason-row][data-code=unconfirmed]")
    expect(reason.locator("[data-testid=reason-count]")).to_have_text("2")
    browsing.shot("incentives-04-analysis", page=staff)

    # --- 2. the records of a reason (the table's link), then one record --------------
    reason.get_by_role("link").click()
    expect(staff.locator("[data-testid=records-title]")).to_have_text(reason_zh)
    rows = staff.locator("[data-testid=record-row]")
    expect(rows).to_have_count(2)
    assert rows.evaluate_all("rows => rows.map(row => Number(row.dataset.record))") == [
        records["r2"].pk,
        records["r3"].pk,
    ]
    browsing.shot("incentives-05-reason-records", page=staff)
    staff.locator(f"[data-testid=record-row][data-record='{records['r3'].pk}'] a").click()
    expect(staff).to_have_url(
        browsing.url(f"/incentives/settlement/runs/{RUN}/analysis/records/{records['r3'].pk}/")
    )
    expect(staff.locator("[data-testid=record-heading]")).to_contain_text(records["r3"].number)
    explanation = staff.locator("[data-testid=record-reasons] li[data-code=unconfirmed]")
    expect(explanation.locator("[data-testid=reason-text]")).to_have_text(sentence_zh)
    expect(staff.locator("[data-testid=record-reasons] li")).to_have_count(1)
    browsing.shot("incentives-06-record-zh", page=staff)
    staff.click("[data-testid=lang-en]")
    expect(staff.locator("html")).to_have_attribute("lang", "en")
    expect(explanation.locator("[data-testid=reason-text]")).to_have_text(sentence_en)
    expect(explanation.locator("strong")).to_have_text("Not confirmed")
    expect(staff.locator("[data-testid=record-verdict]")).to_have_text("Not qualified")
    browsing.shot("incentives-07-record-en", page=staff)

    # --- 3. a promoter: "My statements" → their statement → their record -------------
    zhang = records["r1"].promoter
    own = [records[key] for key in ("r1", "r2", "r6")]
    others = [records[key] for key in ("r3", "r4", "r5")]
    promoter = _sign_in(browsing, zhang.work_id)
    promoter.click("[data-testid=lang-en]")
    expect(promoter.locator("html")).to_have_attribute("lang", "en")
    _menu(promoter, "incentives_my_statements")
    expect(promoter.locator("[data-testid=my-statements]")).to_be_visible()
    statements = promoter.locator("[data-testid=statement-row]")
    expect(statements).to_have_count(1)
    expect(statements).to_have_attribute("data-run", RUN)
    expect(statements.locator("td").nth(8)).to_have_text("4.00")
    browsing.shot("incentives-08-my-statements", page=promoter)
    statements.get_by_role("link", name=RUN).click()
    expect(promoter.locator("[data-testid=statement-payable]")).to_have_text("4.00")
    own_rows = promoter.locator("[data-testid=record-row]")
    expect(own_rows).to_have_count(3)
    assert own_rows.evaluate_all("rows => rows.map(row => Number(row.dataset.record))") == [
        record.pk for record in own
    ]
    content = promoter.content()
    for record in own:
        assert record.number in content
    for record in others:
        assert record.number not in content
    browsing.shot("incentives-09-my-statement", page=promoter)
    promoter.locator(f"[data-testid=record-row][data-record='{records['r2'].pk}'] a").click()
    expect(promoter.locator("[data-testid=record-heading]")).to_contain_text(records["r2"].number)
    expect(
        promoter.locator(
            "[data-testid=record-reasons] li[data-code=unconfirmed] [data-testid=reason-text]"
        )
    ).to_have_text(_unconfirmed_sentence(records["r2"], "en"))
    expect(promoter.locator("[data-testid=record-reasons] li")).to_have_count(2)
    browsing.shot("incentives-10-my-record", page=promoter)

    # --- 4. another promoter's record is not found; the staff analysis is closed -------
    response = promoter.goto(f"/incentives/my/statements/{RUN}/records/{records['r3'].pk}/")
    assert response.status == 404
    assert records["r3"].number not in promoter.content()
    browsing.shot("incentives-11-other-promoters-record-404", page=promoter)
    other_record = records["r3"].pk
    response = promoter.goto(f"/incentives/settlement/runs/{RUN}/analysis/records/{other_record}/")
    assert response.status == 403
    browsing.shot("incentives-12-staff-analysis-403", page=promoter)
