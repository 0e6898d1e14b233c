"""Issue 3's whole partner path in a real browser (R1 + R2): a company registers,
uploads its documents and submits; the anonymous progress query says "under review";
the province reviewer checks it and draws the expert panel; the three drawn experts
score; the approver decides and the partner code appears; staff publish an announcement
needing acknowledgement and open a breach case; the partner acknowledges and answers
with evidence; staff uphold the case and the public notice appears.

Only the operator's people (reviewers, experts) are made in Python; everything the
company and the staff do goes through the pages. Screenshots:
``test-artifacts/e2e/<test>/issue3-NN-<step>.png``.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from prm.accounts.services import roles_sync
from prm.accounts.tests import factories
from prm.core.validators import uscc_check_char
from prm.core.workflow import workflow_definitions_sync
from prm.partners.models import ExpertPanel, Partner
from prm.partners.services.registration import partner_categories_sync
from prm.partners.services.review import expert_create
from prm.portal.models import Announcement, BreachCase, PublicNotice

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = factories.DEFAULT_PASSWORD
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
COMPANY = "Lingxi Mobile Content Co., Ltd."
ADMIN_USERNAME = "lingxi_admin"
ADMIN_EMAIL = "admin@lingxi.example.com"
ANNOUNCEMENT_TITLE = "SP content compliance rules 2026"
PARTNER_CODE_RE = re.compile(r"^P-\d{4}-\d{6}$")


def _uscc() -> str:
    first17 = "91440101MA0E2E301"
    return first17 + uscc_check_char(first17)


def _pdf(name: str) -> dict:
    return {"name": name, "mimeType": "application/pdf", "buffer": PDF}


def _new_page(browsing, **options):
    return browsing.new_context(**options).new_page()


def _sign_in(browsing, username: str, **options):
    """A fresh browser (its own cookies) in which ``username`` signs in."""
    page = _new_page(browsing, **options)
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("[data-testid=login-submit]")
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
    page.wait_for_load_state("load")
    return page


def _no_error_alert(page) -> None:
    """Pages report refusals as flash messages: none may be showing."""
    expect(page.locator("main .alert-danger")).to_have_count(0)


def _staff(orgs):
    """The province's reviewer (also staff for the portal), the approver, and four
    experts of the SP domain at the province's cities."""
    roles_sync()
    partner_categories_sync()
    workflow_definitions_sync()
    reviewer = factories.user(org=orgs.province, roles=("partner_manager",), username="gd_reviewer")
    approver = factories.user(org=orgs.province, roles=("partner_manager",), username="gd_approver")
    experts = {}
    for number, org in enumerate((orgs.city_a, orgs.city_a, orgs.city_b, orgs.county_b), 1):
        user = factories.user(org=org, roles=("expert",), username=f"expert{number}")
        expert = expert_create(
            actor=reviewer,
            username=user.username,
            domains=["sp"],
            organisation=f"Telecom Research Institute {number}",
            title="Senior engineer",
        )
        experts[expert.pk] = user
    return reviewer, approver, experts


def test_company_registers_is_admitted_and_answers_a_breach_case(
    browsing, orgs, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    reviewer, approver, experts = _staff(orgs)
    page = browsing.page

    # --- 1. the company registers, fills the application, uploads, submits -------------
    page.goto("/partners/register/")
    page.fill("#id_username", ADMIN_USERNAME)
    page.fill("#id_password", PASSWORD)
    page.fill("#id_password_confirm", PASSWORD)
    page.fill("#id_email", ADMIN_EMAIL)
    page.select_option("#id_category", "sp")
    page.select_option("#id_managing_org", str(orgs.province.pk))
    browsing.shot("issue3-01-register")
    page.click("[data-testid=register-submit]")
    expect(page).to_have_url(browsing.url("/partners/registration/"))
    expect(page.locator("[data-testid=application-status]")).to_have_attribute(
        "data-status", "draft"
    )

    page.click("[data-testid=application-edit]")
    page.fill("#id_company_name", COMPANY)
    page.fill("#id_uscc", _uscc())
    page.fill("#id_legal_representative", "王五")
    page.fill("#id_registered_capital", "20000000")  # the SP minimum is 10 000 000 yuan
    page.fill("#id_address", "广州市天河区体育西路 1 号")
    page.fill("#id_contact_name", "赵六")
    page.fill("#id_contact_phone", "13900139000")
    page.fill("#id_admin_email", ADMIN_EMAIL)
    page.fill("#id_bank_name", "中国工商银行广州分行")
    page.fill("#id_bank_account", "6222020200001234567")
    page.fill("#id_business_scope", "短信、彩信、彩铃等移动增值业务")
    browsing.shot("issue3-02-application-form")
    page.click("[data-testid=application-save]")
    expect(page).to_have_url(browsing.url("/partners/registration/"))
    expect(page.locator("[data-testid=application-title]")).to_have_text(COMPANY)

    codes = page.locator("[data-testid=document-row]").evaluate_all(
        "rows => rows.map(row => row.dataset.requirement)"
    )
    assert len(codes) >= 3, codes
    expires = (timezone.localdate() + timedelta(days=730)).isoformat()
    for code in codes:
        row = page.locator(f"[data-testid=document-row][data-requirement='{code}']")
        form = row.locator("[data-testid=document-form]")
        form.locator("input[type=file]").set_input_files(_pdf(f"{code}.pdf"))
        form.locator("input[name$='number']").fill(f"NO-{code[:20]}")
        expiry = form.locator("input[type=date]")
        if expiry.count():
            expiry.fill(expires)
        form.locator("[data-testid=document-upload]").click()
        expect(page).to_have_url(browsing.url("/partners/registration/"))
        _no_error_alert(page)
        expect(
            page.locator(f"[data-testid=document-row][data-requirement='{code}']")
        ).to_have_attribute("data-done", "1")
    expect(page.locator("[data-testid=application-problems]")).to_have_count(0)
    browsing.shot("issue3-03-documents-uploaded")
    page.click("[data-testid=application-submit]")
    expect(page.locator("[data-testid=application-status]")).to_have_attribute(
        "data-status", "submitted"
    )
    expect(page.locator("[data-testid=application-under-review]")).to_be_visible()
    browsing.shot("issue3-04-submitted")
    partner = Partner.objects.get(company_name=COMPANY)

    # --- 2. anyone asks for the progress (in English) and reads "under review" ----------
    anonymous = _new_page(browsing)
    anonymous.goto("/partners/registration-status/")
    anonymous.click("[data-testid=lang-en]")
    expect(anonymous.locator("html")).to_have_attribute("lang", "en")
    anonymous.fill("#id_company_name", COMPANY)
    anonymous.fill("#id_admin_username", ADMIN_USERNAME)
    anonymous.fill("#id_admin_email", ADMIN_EMAIL)
    anonymous.click("[data-testid=status-submit]")
    result = anonymous.locator("[data-testid=status-result]")
    expect(result).to_have_attribute("data-status", "under_review")
    expect(anonymous.locator("[data-testid=status-label]")).to_have_text("Under review")
    browsing.shot("issue3-05-progress-under-review", page=anonymous)

    # --- 3. the province reviewer checks the application and draws the panel -----------
    staff = _sign_in(browsing, reviewer.username)
    staff.goto("/partners/reviews/")
    row = staff.locator(f"[data-testid=review-row][data-partner='{partner.pk}']")
    expect(row.locator("[data-testid=review-my-task]")).to_be_visible()
    browsing.shot("issue3-06-review-queue", page=staff)
    row.locator("a").first.click()
    expect(staff.locator("[data-testid=review-company]")).to_have_text(COMPANY)
    expect(staff.locator("[data-testid=review-current-step]")).to_contain_text("1.")
    staff.click("[data-testid=review-approve]")
    expect(staff.locator("[data-testid=review-current-step]")).to_contain_text("2.")
    _no_error_alert(staff)
    expect(staff.locator("[data-testid=panel-eligible]")).to_contain_text("4")
    staff.click("[data-testid=panel-draw]")
    _no_error_alert(staff)
    expect(staff.locator("[data-testid=panel-score-row]")).to_have_count(3)
    expect(staff.locator("[data-testid=panel-reproducible]")).to_be_visible()
    browsing.shot("issue3-07-panel-drawn", page=staff)
    panel = ExpertPanel.objects.get(partner=partner)
    drawn = list(panel.scores.order_by("pk").values_list("expert_id", flat=True))
    assert len(drawn) == 3 and set(drawn) <= set(experts)

    # --- 3b. each drawn expert scores on "My reviews" ---------------------------------
    for index, expert_id in enumerate(drawn, start=1):
        expert_page = _sign_in(browsing, experts[expert_id].username)
        expert_page.goto("/partners/reviews/mine/")
        review = expert_page.locator(f"[data-testid=my-review-row][data-panel='{panel.pk}']")
        expect(review.locator("[data-testid=my-review-todo]")).to_be_visible()
        review.locator("a").first.click()
        form = expert_page.locator("[data-testid=score-form]")
        for criterion in panel.criteria:
            maximum = int(criterion["max_score"])
            form.locator(f"#id_score_{criterion['code']}").fill(str(maximum - index))
        form.locator("#id_comment").fill(f"Solid application (expert {index}).")
        if index == 1:
            browsing.shot("issue3-08-expert-scoring", page=expert_page)
        expert_page.click("[data-testid=score-submit]")
        expect(expert_page.locator("[data-testid=score-submitted]")).to_be_visible()
        expert_page.context.close()
    panel.refresh_from_db()
    assert panel.completed_at is not None

    # --- 3c. the reviewer passes the panel step, the approver decides ------------------
    staff.reload()
    expect(staff.locator("[data-testid=panel-mean]")).to_be_visible()
    expect(staff.locator("[data-testid=panel-spread]")).to_be_visible()
    staff.click("[data-testid=review-approve]")
    _no_error_alert(staff)
    expect(staff.locator("[data-testid=review-current-step]")).to_contain_text("3.")
    browsing.shot("issue3-09-panel-step-approved", page=staff)

    deciding = _sign_in(browsing, approver.username)
    deciding.goto(f"/partners/reviews/{partner.pk}/")
    expect(deciding.locator("[data-testid=review-current-step]")).to_contain_text("3.")
    deciding.click("[data-testid=review-approve]")
    _no_error_alert(deciding)
    code = deciding.locator("[data-testid=partner-code]")
    expect(code).to_have_text(PARTNER_CODE_RE)
    browsing.shot("issue3-10-approved-partner-code", page=deciding)
    partner.refresh_from_db()
    assert partner.status == Partner.Status.ACTIVE
    assert PARTNER_CODE_RE.match(partner.code)
    assert code.inner_text().strip() == partner.code
    deciding.context.close()

    # --- 4. staff publish an announcement to all partners, and open a breach case ------
    staff.goto("/portal/announcements/new/")
    staff.fill("#id_title", ANNOUNCEMENT_TITLE)
    staff.fill("#id_body", "所有 SP 合作伙伴须于月底前完成内容自查，并确认已阅读本公告。")
    staff.select_option("#id_org", orgs.province.code)
    expect(staff.locator("#id_audience_all")).to_be_checked()
    staff.check("#id_requires_ack")
    staff.click("[data-testid=announcement-save]")
    _no_error_alert(staff)
    staff.click("[data-testid=announcement-publish]")
    _no_error_alert(staff)
    expect(staff.locator("[data-testid=announcement-publish]")).to_have_count(0)
    browsing.shot("issue3-11-announcement-published", page=staff)
    announcement = Announcement.objects.get(title=ANNOUNCEMENT_TITLE)
    assert announcement.status == Announcement.Status.PUBLISHED
    assert announcement.requires_ack and announcement.audience_all

    staff.goto("/portal/cases/new/")
    staff.select_option("#id_partner", partner.code)
    staff.fill("#id_business", "彩铃包月业务")
    staff.select_option("#id_violation_type", BreachCase.ViolationType.UNSOLICITED_SUBSCRIPTION)
    staff.select_option("#id_impact", BreachCase.Impact.ORDINARY)
    staff.fill("#id_affected_users", "120")
    staff.fill("#id_description", "用户投诉未经确认即被订购彩铃包月业务。")
    staff.set_input_files("#id_evidence", _pdf("complaints.pdf"))
    browsing.shot("issue3-12-case-form", page=staff)
    staff.click("[data-testid=case-submit]")
    expect(staff.locator("[data-testid=case-status]")).to_have_attribute(
        "data-status", "awaiting_response"
    )
    case_number = staff.locator("[data-testid=case-number]").inner_text().strip()
    case = BreachCase.objects.get(number=case_number)
    assert case.partner_id == partner.pk

    # --- 5. the partner signs in, acknowledges the announcement, answers the case ------
    company = _sign_in(browsing, ADMIN_USERNAME)
    company.goto("/portal/announcements/")
    item = company.locator(f"[data-testid=announcement-row][data-id='{announcement.pk}']")
    expect(item.locator("[data-testid=announcement-unread]")).to_be_visible()
    browsing.shot("issue3-13-partner-announcements", page=company)
    item.locator("a").first.click()
    expect(company.locator("[data-testid=announcement-title]")).to_have_text(ANNOUNCEMENT_TITLE)
    company.click("[data-testid=acknowledge]")
    expect(company.locator("[data-testid=acknowledged]")).to_be_visible()
    browsing.shot("issue3-14-announcement-acknowledged", page=company)

    company.goto(f"/portal/cases/{case_number}/")
    expect(company.locator("[data-testid=case-partner]")).to_contain_text(partner.code)
    form = company.locator("[data-testid=case-response-form]")
    form.locator("#id_body").fill("已核查：系渠道误操作，已全额退费并下线该推广渠道。")
    form.locator("#id_evidence").set_input_files(_pdf("refund-records.pdf"))
    company.click("[data-testid=case-response-submit]")
    _no_error_alert(company)
    expect(company.locator("[data-testid=case-response]")).to_have_count(1)
    expect(company.locator("[data-testid=case-status]")).to_have_attribute(
        "data-status", "responded"
    )
    browsing.shot("issue3-15-case-answered", page=company)

    # --- 6. staff uphold the case with penalties; the public notice appears ------------
    staff.goto(f"/portal/cases/{case_number}/")
    expect(staff.locator("[data-testid=case-response]")).to_have_count(1)
    staff.click("[data-testid=case-decide]")
    staff.check("#id_decision_0")  # upheld
    staff.fill("#id_reason", "投诉属实，违反《移动梦网业务管理办法》订购确认要求。")
    staff.check("#id_credit_deduction")
    staff.fill("#id_fine_amount", "50000")
    staff.fill(
        "#id_suspend_business_until", (timezone.localdate() + timedelta(days=30)).isoformat()
    )
    browsing.shot("issue3-16-case-decide", page=staff)
    staff.click("[data-testid=case-decide-submit]")
    expect(staff.locator("[data-testid=case-status]")).to_have_attribute("data-status", "upheld")
    expect(staff.locator("[data-testid=case-penalties] li")).to_have_count(3)
    expect(staff.locator("[data-testid=case-notice]")).to_have_count(1)
    browsing.shot("issue3-17-case-upheld", page=staff)
    notice = PublicNotice.objects.get(breach_case__number=case_number)

    staff.goto("/portal/notices/")
    expect(staff.locator(f"[data-testid=notice-row][data-id='{notice.pk}']")).to_be_visible()

    company.goto("/portal/notices/")
    row = company.locator(f"[data-testid=notice-row][data-id='{notice.pk}']")
    expect(row).to_be_visible()
    expect(row).to_contain_text(case_number)
    browsing.shot("issue3-18-partner-sees-notice", page=company)
    company.goto(f"/portal/cases/{case_number}/")
    expect(company.locator("[data-testid=case-decision]")).to_be_visible()
    expect(company.locator("[data-testid=case-responses-closed]")).to_be_visible()
    browsing.shot("issue3-19-partner-sees-decision", page=company)
