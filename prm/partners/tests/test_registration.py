"""Partner self-registration (R1 "Self-registration") at service level: categories and
their checklists, the applicant account, the application form, documents, submission.

Every refusal is shown to change nothing. Helpers here are shared by the other
``test_registration_*`` modules (import only names not starting with ``test``).
"""

from __future__ import annotations

import struct
import zlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from prm.accounts.models import OrgUnit, Role, User
from prm.core import workflow as workflow_module
from prm.core.exceptions import ApplicationError, NotFound
from prm.core.models import Attachment, AuditEvent, Notification, WorkflowInstance, WorkflowStep
from prm.core.workflow import (
    DefinitionSpec,
    StepSpec,
    workflow_definitions_sync,
    workflow_instance_for,
    workflow_reject,
    workflow_spec,
)
from prm.partners.constants import PARTNER_APPLICATION_WORKFLOW
from prm.partners.models import (
    BlacklistEntry,
    Partner,
    PartnerCategory,
    PartnerProfileVersion,
    Qualification,
    QualificationRequirement,
)
from prm.partners.services.registration import (
    applicant_signup,
    application_document_add,
    application_document_remove,
    application_submit,
    application_update,
    partner_categories_sync,
    partner_categories_sync_after_migrate,
)
from prm.partners.tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "Applicant-Passw0rd!"
# info_exchange: no capital threshold shipped, two category documents of which one expires.
CATEGORY = "info_exchange"


# --------------------------------------------------------------------------------------
# Helpers (shared with the other registration test modules)
# --------------------------------------------------------------------------------------


def pdf_bytes() -> bytes:
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def pdf_file(name: str = "document.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pdf_bytes(), content_type="application/pdf")


def png_file(name: str = "scan.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(), content_type="image/png")


def stored_files(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()]


def signup(orgs, *, username: str = "acme_admin", category: str = CATEGORY, **extra) -> Partner:
    return applicant_signup(
        username=username,
        password=extra.pop("password", PASSWORD),
        email=extra.pop("email", f"{username}@acme.example.com"),
        category_code=category,
        managing_org_id=extra.pop("managing_org_id", orgs.city_a.pk),
        **extra,
    )


def form_data(**overrides) -> dict:
    data = {
        "company_name": "Acme Data Ltd",
        "uscc": factories.uscc(),
        "legal_representative": "张三",
        "registered_capital": Decimal("2000000.00"),
        "address": "广州市天河区体育西路 1 号",
        "contact_name": "李四",
        "contact_phone": "020-12345678",
        "admin_email": "admin@acme.example.com",
        "bank_name": "中国工商银行广州分行",
        "bank_account": "3602000109000000001",
        "business_scope": "数据交换服务",
    }
    data.update(overrides)
    return data


def upload_all(partner: Partner, *, mandatory_only: bool = True, skip: tuple = ()) -> None:
    """A document for every (mandatory) line of the partner's checklist."""
    for requirement in partner.category.requirements.all():
        if (mandatory_only and not requirement.mandatory) or requirement.code in skip:
            continue
        extension = requirement.allowed_types[0] if requirement.allowed_types else "pdf"
        uploaded = (
            pdf_file(f"{requirement.code}.pdf")
            if extension == "pdf"
            else png_file(f"{requirement.code}.png")
        )
        application_document_add(
            partner_id=partner.pk,
            actor=partner.admin_user,
            requirement_id=requirement.pk,
            uploaded_file=uploaded,
            number=f"No-{requirement.code}",
            expires_on=timezone.localdate() + timedelta(days=365)
            if requirement.has_expiry
            else None,
        )


def complete_application(orgs, **signup_extra) -> Partner:
    partner = signup(orgs, **signup_extra)
    application_update(partner_id=partner.pk, actor=partner.admin_user, data=form_data())
    upload_all(partner)
    partner.refresh_from_db()
    return partner


def partner_state(partner: Partner) -> dict:
    partner.refresh_from_db()
    return {field: getattr(partner, field) for field in (*Partner.PROFILE_FIELDS, "status")}


def counts() -> dict:
    return {
        "partners": Partner.objects.count(),
        "users": User.objects.count(),
        "orgs": OrgUnit.objects.count(),
        "qualifications": Qualification.objects.count(),
        "current": Qualification.objects.filter(is_current=True).count(),
        "attachments": Attachment.objects.count(),
        "versions": PartnerProfileVersion.objects.count(),
        "instances": WorkflowInstance.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def applicant_permission_grant() -> None:
    """Give applicants their declared permission. (After ``migrate`` the role sync runs
    when the accounts app is migrated, before the permissions of the partners app exist.)"""
    Role.objects.get(code="partner_applicant").group.permissions.add(
        Permission.objects.get(content_type__app_label="partners", codename="register_partner")
    )


def review_reviewer(orgs, make_user, monkeypatch) -> User:
    """The province's partner manager, who gets the first review step. Without the review
    concern's definition (not installed), a one-step stand-in with the same first step."""
    if workflow_spec(PARTNER_APPLICATION_WORKFLOW) is None:
        monkeypatch.setitem(
            workflow_module._registry,
            PARTNER_APPLICATION_WORKFLOW,
            DefinitionSpec(
                code=PARTNER_APPLICATION_WORKFLOW,
                name="Partner application",
                steps=(
                    StepSpec(
                        name="Province check",
                        approver_role="partner_manager",
                        org_scope=WorkflowStep.OrgScope.LEVEL,
                        org_level="province",
                    ),
                ),
            ),
        )
    workflow_definitions_sync()
    return make_user(org=orgs.province, roles=("partner_manager",), username="gd_pm")


@pytest.fixture(autouse=True)
def media(settings, tmp_path, db):
    settings.MEDIA_ROOT = tmp_path
    applicant_permission_grant()
    return tmp_path


@pytest.fixture
def reviewer(orgs, make_user, monkeypatch):
    return review_reviewer(orgs, make_user, monkeypatch)


# --------------------------------------------------------------------------------------
# Categories
# --------------------------------------------------------------------------------------


def test_migrate_ships_every_r1_category_with_its_checklist_and_criteria():
    categories = {category.code: category for category in PartnerCategory.objects.all()}

    assert set(categories) >= set(PartnerCategory.Code.values)
    for code in PartnerCategory.Code.values:
        category = categories[code]
        assert category.name and category.name_en
        assert category.expert_domain == code
        assert category.panel_size == 3
        assert 3 <= len(category.review_criteria) <= 5
        assert sum(criterion["max_score"] for criterion in category.review_criteria) == 100
        requirement_codes = list(category.requirements.values_list("code", flat=True))
        assert requirement_codes[:3] == [
            "business_licence",
            "confidentiality_agreement",
            "company_introduction",
        ]
        assert len(requirement_codes) > 3, code
        assert all(requirement.allowed_types for requirement in category.requirements.all()), code
    sp = categories["sp"]
    assert sp.min_registered_capital == Decimal("10000000.00")
    vas = sp.requirements.get(code="vas_licence")
    assert (vas.name, vas.mandatory, vas.has_expiry) == (
        "增值电信业务经营许可证（跨地区）",
        True,
        True,
    )
    assert categories["terminal_vendor"].requirements.filter(code="network_access_licence").exists()
    assert (
        categories["maintenance"]
        .requirements.filter(code="construction_qualification", has_expiry=True)
        .exists()
    )


def test_category_sync_adds_what_is_missing_and_never_overwrites_staff_edits():
    sp = PartnerCategory.objects.get(code="sp")
    sp.name = "梦网 SP（省内）"
    sp.min_registered_capital = Decimal("1000000.00")
    sp.review_criteria = [{"code": "all", "name": "综合", "name_en": "All", "max_score": 100}]
    sp.save()
    QualificationRequirement.objects.filter(category=sp, code="icp_licence").update(
        mandatory=False, allowed_types=["pdf"]
    )
    QualificationRequirement.objects.filter(
        category=sp, code="customer_service_commitment"
    ).delete()

    assert partner_categories_sync() == {"categories": 0, "requirements": 1}

    sp.refresh_from_db()
    assert (sp.name, sp.min_registered_capital) == ("梦网 SP（省内）", Decimal("1000000.00"))
    assert sp.review_criteria == [
        {"code": "all", "name": "综合", "name_en": "All", "max_score": 100}
    ]
    icp = sp.requirements.get(code="icp_licence")
    assert (icp.mandatory, icp.allowed_types) == (False, ["pdf"])
    assert sp.requirements.filter(code="customer_service_commitment").exists()
    assert partner_categories_sync() == {"categories": 0, "requirements": 0}


def test_category_sync_runs_after_migrating_the_partners_app_only():
    QualificationRequirement.objects.all().delete()
    PartnerCategory.objects.all().delete()

    partner_categories_sync_after_migrate(sender=apps.get_app_config("accounts"))
    assert PartnerCategory.objects.count() == 0

    partner_categories_sync_after_migrate(sender=apps.get_app_config("partners"))
    assert PartnerCategory.objects.count() == 11
    assert QualificationRequirement.objects.filter(code="business_licence").count() == 11


# --------------------------------------------------------------------------------------
# Signup
# --------------------------------------------------------------------------------------


def test_signup_creates_a_partner_org_an_applicant_and_a_draft_self_application(orgs):
    partner = signup(orgs, ip_address="203.0.113.9")

    user = partner.admin_user
    assert (partner.status, partner.source) == (Partner.Status.DRAFT, Partner.Source.SELF)
    assert (partner.category.code, partner.managing_org) == (CATEGORY, orgs.city_a)
    assert partner.admin_email == "acme_admin@acme.example.com"
    assert partner.uscc is None and partner.code is None
    assert (partner.org.kind, partner.org.parent) == (OrgUnit.Kind.PARTNER, None)
    assert partner.org.code.startswith("REG-") and len(partner.org.code) == 12
    assert (user.username, user.org, user.email) == (
        "acme_admin",
        partner.org,
        "acme_admin@acme.example.com",
    )
    assert user.role_codes == {"partner_applicant"}
    assert user.must_change_password is False
    assert user.check_password(PASSWORD)
    assert user.has_perm("partners.register_partner")
    assert partner.is_application
    event = AuditEvent.objects.get(action="partner.applicant_signed_up")
    assert (event.target_id, event.ip_address, event.actor) == (
        str(partner.pk),
        "203.0.113.9",
        user,
    )
    assert event.changes["category"] == CATEGORY


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        pytest.param({"username": "Taken_User"}, "username_taken", id="username_taken_any_case"),
        pytest.param({"username": "acme admin"}, "username_invalid", id="username_with_space"),
        pytest.param({"username": "ab"}, "username_invalid", id="username_too_short"),
        pytest.param({"email": "not-an-address"}, "email_invalid", id="bad_email"),
        pytest.param({"category": "nonsense"}, "category_unknown", id="unknown_category"),
        pytest.param({"category": "retired"}, "category_unknown", id="inactive_category"),
        pytest.param({"managing_org": "county_a"}, "managing_org_invalid", id="county"),
        pytest.param({"managing_org": "hq"}, "managing_org_invalid", id="hq"),
        pytest.param({"managing_org": "partner"}, "managing_org_invalid", id="partner_org"),
        pytest.param({"managing_org": "inactive"}, "managing_org_invalid", id="inactive_city"),
        pytest.param({"password": "short"}, "password_invalid", id="short_password"),
        pytest.param({"password": "acme_admin2024!"}, "password_invalid", id="like_username"),
    ],
)
def test_signup_refusals_write_nothing(orgs, make_user, overrides, code):
    make_user(org=orgs.city_a, username="taken_user")
    factories.category("retired", is_active=False)
    inactive = factories.account_factories.org_unit(kind="city", parent=orgs.province)
    OrgUnit.objects.filter(pk=inactive.pk).update(is_active=False)
    org_by_name = {
        "county_a": orgs.county_a,
        "hq": orgs.hq,
        "partner": orgs.partner,
        "inactive": inactive,
    }
    before = counts()

    with pytest.raises(ApplicationError) as refused:
        applicant_signup(
            username=overrides.get("username", "acme_admin"),
            password=overrides.get("password", PASSWORD),
            email=overrides.get("email", "admin@acme.example.com"),
            category_code=overrides.get("category", CATEGORY),
            managing_org_id=org_by_name.get(overrides.get("managing_org"), orgs.city_a).pk,
        )

    assert refused.value.code == code
    assert counts() == before


# --------------------------------------------------------------------------------------
# Application form and the USCC rules
# --------------------------------------------------------------------------------------


def test_application_update_saves_the_form_renames_the_org_and_audits(orgs):
    partner = signup(orgs)
    data = form_data()

    application_update(partner_id=partner.pk, actor=partner.admin_user, data=data)

    partner.refresh_from_db()
    assert {field: getattr(partner, field) for field in Partner.PROFILE_FIELDS} == {
        field: data[field] for field in Partner.PROFILE_FIELDS
    }
    assert partner.org.name == "Acme Data Ltd"
    event = AuditEvent.objects.get(action="partner.application_updated")
    assert event.changes["company_name"] == ["", "Acme Data Ltd"]
    assert event.changes["registered_capital"] == [None, "2000000.00"]
    assert not AuditEvent.objects.filter(action="partner.uscc_override").exists()


def test_application_update_keeps_fields_not_sent_and_allows_a_partial_draft(orgs):
    partner = signup(orgs)
    application_update(partner_id=partner.pk, actor=partner.admin_user, data=form_data())

    application_update(
        partner_id=partner.pk,
        actor=partner.admin_user,
        data={"company_name": "Acme Data Co", "uscc": "", "address": ""},
    )

    partner.refresh_from_db()
    assert (partner.company_name, partner.uscc, partner.address) == ("Acme Data Co", None, "")
    assert partner.legal_representative == "张三"


def _invalid_uscc() -> str:
    valid = factories.uscc()
    wrong = "0" if valid[-1] != "0" else "1"
    return valid[:17] + wrong


@pytest.mark.parametrize(
    ("case", "code"),
    [
        pytest.param("invalid", "uscc_invalid", id="check_character_fails"),
        pytest.param("garbage", "uscc_invalid", id="not_a_code"),
        pytest.param("override_without_reason", "uscc_override_reason_required", id="no_reason"),
        pytest.param("duplicate_draft", "uscc_duplicate", id="duplicate_of_an_application"),
        pytest.param("duplicate_active", "uscc_duplicate", id="duplicate_of_a_partner"),
        pytest.param("blacklisted", "uscc_blacklisted", id="blacklisted"),
    ],
)
def test_uscc_refusals_change_nothing(orgs, case, code):
    partner = signup(orgs)
    application_update(
        partner_id=partner.pk,
        actor=partner.admin_user,
        data=form_data(company_name="Before Ltd", uscc=factories.uscc()),
    )
    if case.startswith("duplicate"):
        status = Partner.Status.DRAFT if case == "duplicate_draft" else Partner.Status.ACTIVE
        uscc = factories.partner(managing_org=orgs.city_b, status=status).uscc
    elif case == "blacklisted":
        uscc = factories.uscc()
        BlacklistEntry.objects.create(uscc=uscc, company_name="Bad Co", reason="illegal content")
    elif case == "garbage":
        uscc = "NOT-A-CODE"
    else:
        uscc = _invalid_uscc()
    data = form_data(company_name="After Ltd", uscc=uscc)
    if case == "override_without_reason":
        data["uscc_override"] = True
    before_state, before = partner_state(partner), counts()

    with pytest.raises(ApplicationError) as refused:
        application_update(partner_id=partner.pk, actor=partner.admin_user, data=data)

    assert refused.value.code == code
    assert partner_state(partner) == before_state
    assert counts() == before


def test_blacklisted_uscc_is_refused_with_a_message_saying_the_company_is_barred(orgs, settings):
    settings.LANGUAGE_CODE = "en"
    partner = signup(orgs)
    uscc = factories.uscc()
    BlacklistEntry.objects.create(uscc=uscc, company_name="Bad Co", reason="violations")

    with pytest.raises(ApplicationError) as refused:
        application_update(
            partner_id=partner.pk, actor=partner.admin_user, data=form_data(uscc=uscc)
        )

    assert refused.value.details["field"] == "uscc"
    assert "barred from registering" in str(refused.value.message)
    assert uscc in str(refused.value.message)


def test_a_uscc_of_an_exited_partner_may_register_again(orgs):
    exited = factories.partner(managing_org=orgs.city_b, status=Partner.Status.EXITED)
    partner = signup(orgs)

    application_update(
        partner_id=partner.pk, actor=partner.admin_user, data=form_data(uscc=exited.uscc)
    )

    partner.refresh_from_db()
    assert partner.uscc == exited.uscc


def test_uscc_override_accepts_a_failing_code_with_a_reason_and_audits_it(orgs):
    partner = signup(orgs)
    uscc = _invalid_uscc()

    application_update(
        partner_id=partner.pk,
        actor=partner.admin_user,
        data=form_data(
            uscc=uscc.lower(),
            uscc_override=True,
            uscc_override_reason="Issued in 2016 before the check was enforced",
        ),
    )

    partner.refresh_from_db()
    assert (partner.uscc, partner.uscc_override_reason) == (
        uscc,
        "Issued in 2016 before the check was enforced",
    )
    event = AuditEvent.objects.get(action="partner.uscc_override")
    assert event.changes == {
        "uscc": uscc,
        "reason": "Issued in 2016 before the check was enforced",
    }
    assert event.actor == partner.admin_user


def test_a_valid_uscc_clears_an_earlier_override(orgs):
    partner = signup(orgs)
    application_update(
        partner_id=partner.pk,
        actor=partner.admin_user,
        data=form_data(uscc=_invalid_uscc(), uscc_override=True, uscc_override_reason="Old"),
    )

    application_update(
        partner_id=partner.pk,
        actor=partner.admin_user,
        data=form_data(uscc=factories.uscc(), uscc_override=True, uscc_override_reason="Old"),
    )

    partner.refresh_from_db()
    assert partner.uscc_override_reason == ""
    assert AuditEvent.objects.filter(action="partner.uscc_override").count() == 1


@pytest.mark.parametrize(
    ("status", "code"),
    [
        pytest.param(Partner.Status.SUBMITTED, "application_under_review", id="submitted"),
        pytest.param(Partner.Status.ACTIVE, "application_closed", id="active"),
    ],
)
def test_only_draft_or_rejected_applications_change(orgs, status, code):
    partner = signup(orgs)
    Partner.objects.filter(pk=partner.pk).update(status=status)
    before_state, before = partner_state(partner), counts()

    with pytest.raises(ApplicationError) as refused:
        application_update(
            partner_id=partner.pk, actor=partner.admin_user, data=form_data(company_name="X")
        )

    assert refused.value.code == code
    assert (partner_state(partner), counts()) == (before_state, before)


def test_an_applicant_cannot_touch_another_application(orgs, make_user):
    mine = signup(orgs, username="mine_admin")
    theirs = signup(orgs, username="theirs_admin")
    staff = make_user(org=orgs.city_a, roles=("partner_manager",))
    before_state, before = partner_state(theirs), counts()

    for actor in (mine.admin_user, staff):
        with pytest.raises(NotFound):
            application_update(partner_id=theirs.pk, actor=actor, data=form_data())
        with pytest.raises(NotFound):
            application_submit(partner_id=theirs.pk, actor=actor)
        with pytest.raises(NotFound):
            application_document_add(
                partner_id=theirs.pk,
                actor=actor,
                requirement_id=theirs.category.requirements.first().pk,
                uploaded_file=pdf_file(),
            )

    assert (partner_state(theirs), counts()) == (before_state, before)


# --------------------------------------------------------------------------------------
# Documents
# --------------------------------------------------------------------------------------


def _requirement(partner: Partner, code: str) -> QualificationRequirement:
    return partner.category.requirements.get(code=code)


def test_document_upload_creates_a_qualification_with_its_file(orgs, media):
    partner = signup(orgs)
    requirement = _requirement(partner, "mlps_filing")
    expires = timezone.localdate() + timedelta(days=400)

    qualification = application_document_add(
        partner_id=partner.pk,
        actor=partner.admin_user,
        requirement_id=requirement.pk,
        uploaded_file=png_file("filing.png"),
        number="44010199999-00001",
        expires_on=expires,
    )

    assert (qualification.partner, qualification.requirement) == (partner, requirement)
    assert (qualification.name, qualification.number, qualification.expires_on) == (
        "网络安全等级保护备案证明",
        "44010199999-00001",
        expires,
    )
    assert (qualification.mandatory, qualification.is_current) == (True, True)
    [attachment] = Attachment.objects.all()
    assert (attachment.owner_id, attachment.original_name, attachment.content_type) == (
        str(qualification.pk),
        "filing.png",
        "image/png",
    )
    assert len(stored_files(media)) == 1
    assert AuditEvent.objects.filter(action="partner.application_document_added").count() == 1


def test_a_new_document_supersedes_the_current_one_of_its_line(orgs):
    partner = signup(orgs)
    requirement = _requirement(partner, "business_licence")
    first = application_document_add(
        partner_id=partner.pk,
        actor=partner.admin_user,
        requirement_id=requirement.pk,
        uploaded_file=pdf_file("old.pdf"),
    )

    second = application_document_add(
        partner_id=partner.pk,
        actor=partner.admin_user,
        requirement_id=requirement.pk,
        uploaded_file=png_file("new.png"),
    )

    first.refresh_from_db()
    assert (first.is_current, first.replaced_by) == (False, second)
    assert second.is_current is True
    assert Attachment.objects.count() == 2


@pytest.mark.parametrize(
    ("requirement_code", "make_file", "code"),
    [
        pytest.param(
            "confidentiality_agreement",
            lambda: png_file("agreement.png"),
            "document_type_not_allowed",
            id="png_where_only_pdf",
        ),
        pytest.param(
            "business_licence",
            lambda: SimpleUploadedFile("licence.txt", b"plain text", content_type="text/plain"),
            "document_type_not_allowed",
            id="txt_where_pdf_jpg_png",
        ),
        pytest.param(
            "business_licence",
            lambda: SimpleUploadedFile("licence.pdf", png_bytes(), content_type="application/pdf"),
            "attachment_type_mismatch",
            id="png_content_named_pdf",
        ),
        pytest.param(
            "business_licence",
            lambda: SimpleUploadedFile("licence.pdf", b"", content_type="application/pdf"),
            "attachment_empty",
            id="empty_file",
        ),
    ],
)
def test_refused_documents_write_neither_row_nor_file(
    orgs, media, requirement_code, make_file, code
):
    partner = signup(orgs)
    before = counts()

    with pytest.raises(ApplicationError) as refused:
        application_document_add(
            partner_id=partner.pk,
            actor=partner.admin_user,
            requirement_id=_requirement(partner, requirement_code).pk,
            uploaded_file=make_file(),
        )

    assert refused.value.code == code
    assert counts() == before
    assert stored_files(media) == []


def test_a_disallowed_type_is_refused_with_the_allowed_types_named(orgs, settings):
    settings.LANGUAGE_CODE = "en"
    partner = signup(orgs)

    with pytest.raises(ApplicationError) as refused:
        application_document_add(
            partner_id=partner.pk,
            actor=partner.admin_user,
            requirement_id=_requirement(partner, "confidentiality_agreement").pk,
            uploaded_file=png_file(),
        )

    assert str(refused.value.message) == (
        "“Signed confidentiality agreement” must be a file of type: PDF."
    )


@pytest.mark.parametrize(
    ("days", "code"),
    [
        pytest.param(None, "expiry_required", id="no_date"),
        pytest.param(-1, "document_expired", id="expired_yesterday"),
        pytest.param(0, "document_expired", id="expires_today"),
        pytest.param(1, None, id="expires_tomorrow"),
    ],
)
def test_a_line_with_an_expiry_needs_a_future_expiry_date(orgs, days, code):
    partner = signup(orgs)
    before = counts()
    expires = None if days is None else timezone.localdate() + timedelta(days=days)

    def add():
        return application_document_add(
            partner_id=partner.pk,
            actor=partner.admin_user,
            requirement_id=_requirement(partner, "mlps_filing").pk,
            uploaded_file=pdf_file(),
            expires_on=expires,
        )

    if code is None:
        assert add().expires_on == expires
        return
    with pytest.raises(ApplicationError) as refused:
        add()
    assert refused.value.code == code
    assert counts() == before


def test_a_line_of_another_category_is_not_found(orgs):
    partner = signup(orgs)
    other_line = PartnerCategory.objects.get(code="sp").requirements.get(code="vas_licence")
    before = counts()

    with pytest.raises(NotFound):
        application_document_add(
            partner_id=partner.pk,
            actor=partner.admin_user,
            requirement_id=other_line.pk,
            uploaded_file=pdf_file(),
        )

    assert counts() == before


def test_removing_a_document_keeps_it_but_not_as_current(orgs):
    partner = signup(orgs)
    qualification = application_document_add(
        partner_id=partner.pk,
        actor=partner.admin_user,
        requirement_id=_requirement(partner, "business_licence").pk,
        uploaded_file=pdf_file(),
    )

    application_document_remove(
        partner_id=partner.pk, actor=partner.admin_user, qualification_id=qualification.pk
    )

    qualification.refresh_from_db()
    assert qualification.is_current is False
    assert Attachment.objects.count() == 1
    assert AuditEvent.objects.filter(action="partner.application_document_removed").count() == 1


def test_documents_of_a_submitted_application_do_not_change(orgs, reviewer):
    partner = complete_application(orgs)
    application_submit(partner_id=partner.pk, actor=partner.admin_user)
    qualification = Qualification.objects.filter(partner=partner).first()
    before = counts()

    with pytest.raises(ApplicationError) as added:
        application_document_add(
            partner_id=partner.pk,
            actor=partner.admin_user,
            requirement_id=qualification.requirement_id,
            uploaded_file=pdf_file(),
        )
    with pytest.raises(ApplicationError) as removed:
        application_document_remove(
            partner_id=partner.pk, actor=partner.admin_user, qualification_id=qualification.pk
        )

    assert (added.value.code, removed.value.code) == (
        "application_under_review",
        "application_under_review",
    )
    assert counts() == before


# --------------------------------------------------------------------------------------
# Submission
# --------------------------------------------------------------------------------------


def test_submitting_a_complete_application_starts_the_review(orgs, reviewer):
    partner = complete_application(orgs)

    application_submit(partner_id=partner.pk, actor=partner.admin_user)

    partner.refresh_from_db()
    assert partner.status == Partner.Status.SUBMITTED
    assert partner.submitted_at is not None
    instance = workflow_instance_for(target=partner, definition_code=PARTNER_APPLICATION_WORKFLOW)
    assert (instance.status, instance.round, instance.submitted_by) == (
        WorkflowInstance.Status.IN_PROGRESS,
        1,
        partner.admin_user,
    )
    assert instance.submitter_org_path == orgs.city_a.path
    assert list(instance.tasks.values_list("assignee__username", flat=True)) == ["gd_pm"]
    [version] = PartnerProfileVersion.objects.filter(partner=partner)
    assert (version.number, version.reason, version.created_by) == (
        1,
        PartnerProfileVersion.Reason.SUBMITTED,
        partner.admin_user,
    )
    assert version.data["registered_capital"] == "2000000.00"
    assert version.data["company_name"] == "Acme Data Ltd"
    assert version.data["category"] == CATEGORY
    assert [document["requirement"] for document in version.data["documents"]] == [
        "business_licence",
        "confidentiality_agreement",
        "company_introduction",
        "data_security_commitment",
        "mlps_filing",
    ]
    assert all(len(document["files"]) == 1 for document in version.data["documents"])
    event = AuditEvent.objects.get(action="partner.application_submitted")
    assert event.changes["status"] == ["draft", "submitted"]
    assert Notification.objects.filter(
        recipient=partner.admin_user, event="partners.application_received"
    ).exists()


def test_an_incomplete_application_lists_every_problem_and_changes_nothing(orgs, reviewer):
    partner = signup(orgs)
    before_state, before = partner_state(partner), counts()

    with pytest.raises(ApplicationError) as refused:
        application_submit(partner_id=partner.pk, actor=partner.admin_user)

    problems = refused.value.details["problems"]
    assert [problem["code"] for problem in problems] == [
        "fields_missing",
        "document_missing",
        "document_missing",
        "document_missing",
        "document_missing",
        "document_missing",
    ]
    assert (partner_state(partner), counts()) == (before_state, before)


def test_problems_name_the_missing_fields_and_documents(orgs, settings, reviewer):
    settings.LANGUAGE_CODE = "en"
    partner = signup(orgs)
    application_update(
        partner_id=partner.pk,
        actor=partner.admin_user,
        data=form_data(bank_account="", business_scope=""),
    )
    upload_all(partner, skip=("mlps_filing",))

    with pytest.raises(ApplicationError) as refused:
        application_submit(partner_id=partner.pk, actor=partner.admin_user)

    assert [problem["message"] for problem in refused.value.details["problems"]] == [
        "Fill in: bank account, business scope.",
        "Upload “Cybersecurity classified protection filing certificate”.",
    ]


def test_an_optional_document_does_not_block_submission(orgs, reviewer):
    partner = signup(orgs, category="ap")
    application_update(partner_id=partner.pk, actor=partner.admin_user, data=form_data())
    upload_all(partner, mandatory_only=True)

    application_submit(partner_id=partner.pk, actor=partner.admin_user)

    assert Partner.objects.get(pk=partner.pk).status == Partner.Status.SUBMITTED
    assert not Qualification.objects.filter(partner=partner, requirement__code="vas_licence")


@pytest.mark.parametrize(
    ("capital", "accepted"),
    [
        pytest.param("999999.99", False, id="one_cent_below"),
        pytest.param("1000000.00", True, id="exactly_the_minimum"),
        pytest.param("1000000.01", True, id="one_cent_above"),
    ],
)
def test_registered_capital_must_reach_the_category_minimum(orgs, reviewer, capital, accepted):
    PartnerCategory.objects.filter(code=CATEGORY).update(
        min_registered_capital=Decimal("1000000.00")
    )
    partner = complete_application(orgs)
    application_update(
        partner_id=partner.pk,
        actor=partner.admin_user,
        data={"registered_capital": Decimal(capital)},
    )
    before_state, before = partner_state(partner), counts()

    if accepted:
        application_submit(partner_id=partner.pk, actor=partner.admin_user)
        assert Partner.objects.get(pk=partner.pk).status == Partner.Status.SUBMITTED
        return
    with pytest.raises(ApplicationError) as refused:
        application_submit(partner_id=partner.pk, actor=partner.admin_user)
    assert [problem["code"] for problem in refused.value.details["problems"]] == [
        "capital_below_minimum"
    ]
    assert (partner_state(partner), counts()) == (before_state, before)


@pytest.mark.parametrize(
    "case",
    [
        pytest.param("blacklisted", id="blacklisted_after_saving"),
        pytest.param("expired", id="a_document_expired_since"),
    ],
)
def test_submission_checks_the_rules_again(orgs, reviewer, case):
    partner = complete_application(orgs)
    if case == "blacklisted":
        BlacklistEntry.objects.create(uscc=partner.uscc, company_name="x", reason="violations")
    else:
        Qualification.objects.filter(partner=partner, requirement__code="mlps_filing").update(
            expires_on=timezone.localdate()
        )
    expected = {
        "blacklisted": "uscc_blacklisted",
        "expired": "document_expired",
    }[case]
    before_state, before = partner_state(partner), counts()

    with pytest.raises(ApplicationError) as refused:
        application_submit(partner_id=partner.pk, actor=partner.admin_user)

    assert [problem["code"] for problem in refused.value.details["problems"]] == [expected]
    assert (partner_state(partner), counts()) == (before_state, before)


def test_an_invalid_uscc_without_override_blocks_submission(orgs, reviewer):
    partner = complete_application(orgs)
    Partner.objects.filter(pk=partner.pk).update(uscc=_invalid_uscc())

    with pytest.raises(ApplicationError) as refused:
        application_submit(partner_id=partner.pk, actor=partner.admin_user)

    assert [problem["code"] for problem in refused.value.details["problems"]] == ["uscc_invalid"]


def test_an_overridden_uscc_may_be_submitted(orgs, reviewer):
    partner = complete_application(orgs)
    application_update(
        partner_id=partner.pk,
        actor=partner.admin_user,
        data={"uscc": _invalid_uscc(), "uscc_override": True, "uscc_override_reason": "Real"},
    )

    application_submit(partner_id=partner.pk, actor=partner.admin_user)

    assert Partner.objects.get(pk=partner.pk).status == Partner.Status.SUBMITTED


def test_a_submitted_application_cannot_be_submitted_again(orgs, reviewer):
    partner = complete_application(orgs)
    application_submit(partner_id=partner.pk, actor=partner.admin_user)
    before = counts()

    with pytest.raises(ApplicationError) as refused:
        application_submit(partner_id=partner.pk, actor=partner.admin_user)

    assert refused.value.code == "application_under_review"
    assert counts() == before


def reject(partner: Partner, reviewer, reason: str = "营业执照模糊，请重新上传") -> Partner:
    """The reviewer rejects the application on the engine; the review concern's callback
    returns it to the applicant (done here when that concern is not installed)."""
    instance = workflow_instance_for(target=partner, definition_code=PARTNER_APPLICATION_WORKFLOW)
    workflow_reject(instance_id=instance.pk, actor=reviewer, reason=reason)
    partner.refresh_from_db()
    if partner.status == Partner.Status.SUBMITTED:
        Partner.objects.filter(pk=partner.pk).update(
            status=Partner.Status.REJECTED, rejection_reasons=reason, decided_at=timezone.now()
        )
        partner.refresh_from_db()
    return partner


def test_a_rejected_application_is_changed_and_resubmitted_as_a_new_round(orgs, reviewer):
    partner = complete_application(orgs)
    application_submit(partner_id=partner.pk, actor=partner.admin_user)
    partner = reject(partner, reviewer)
    assert partner.status == Partner.Status.REJECTED

    application_document_add(
        partner_id=partner.pk,
        actor=partner.admin_user,
        requirement_id=_requirement(partner, "business_licence").pk,
        uploaded_file=png_file("clear-licence.png"),
    )
    application_update(
        partner_id=partner.pk, actor=partner.admin_user, data={"address": "广州市黄埔区 2 号"}
    )
    application_submit(partner_id=partner.pk, actor=partner.admin_user)

    partner.refresh_from_db()
    assert partner.status == Partner.Status.SUBMITTED
    instance = workflow_instance_for(target=partner, definition_code=PARTNER_APPLICATION_WORKFLOW)
    assert (instance.status, instance.round) == (WorkflowInstance.Status.IN_PROGRESS, 2)
    versions = list(PartnerProfileVersion.objects.filter(partner=partner).order_by("number"))
    assert [(v.number, v.reason) for v in versions] == [
        (1, PartnerProfileVersion.Reason.SUBMITTED),
        (2, PartnerProfileVersion.Reason.RESUBMITTED),
    ]
    assert versions[0].data["address"] == "广州市天河区体育西路 1 号"
    assert versions[1].data["address"] == "广州市黄埔区 2 号"
    licence = [d for d in versions[1].data["documents"] if d["requirement"] == "business_licence"]
    assert licence[0]["files"][0]["name"] == "clear-licence.png"
    assert AuditEvent.objects.filter(action="partner.application_resubmitted").count() == 1
