"""Partner self-registration through the pages (R1): signup → application form →
documents → submit; the applicant's confinement to the registration pages; access to
every registration page for anonymous users, other applicants, staff and the applicant."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from prm.core.models import Attachment, AuditEvent
from prm.partners.models import Partner, Qualification
from prm.partners.services.registration import application_submit, application_update
from prm.partners.tests import factories
from prm.partners.tests.test_registration import (
    CATEGORY,
    PASSWORD,
    applicant_permission_grant,
    complete_application,
    counts,
    form_data,
    partner_state,
    pdf_file,
    png_file,
    review_reviewer,
    signup,
    stored_files,
    upload_all,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path, db):
    settings.MEDIA_ROOT = tmp_path
    applicant_permission_grant()
    return tmp_path


@pytest.fixture
def reviewer(orgs, make_user, monkeypatch):
    return review_reviewer(orgs, make_user, monkeypatch)


APPLICATION = "/partners/registration/"


def _nav_keys(response) -> list[str]:
    return [link.key for link in response.context["nav_items"]]


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def _form_post(data: dict) -> dict:
    return {key: "" if value is None else str(value) for key, value in data.items()}


# --------------------------------------------------------------------------------------
# The whole path
# --------------------------------------------------------------------------------------


def test_a_company_registers_fills_in_uploads_and_submits_through_the_pages(
    client, orgs, reviewer, settings
):
    settings.LANGUAGE_CODE = "en"
    page = client.get("/partners/register/")
    assert page.status_code == 200
    assert f'value="{CATEGORY}"' in page.content.decode()

    response = client.post(
        "/partners/register/",
        {
            "username": "acme_admin",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "email": "admin@acme.example.com",
            "category": CATEGORY,
            "managing_org": orgs.city_a.pk,
        },
    )

    assert (response.status_code, response["Location"]) == (302, APPLICATION)
    partner = Partner.objects.get(admin_user__username="acme_admin")
    assert int(client.session["_auth_user_id"]) == partner.admin_user.pk
    assert AuditEvent.objects.filter(action="auth.login", actor=partner.admin_user).exists()

    page = client.get(APPLICATION)
    assert page.status_code == 200
    assert _nav_keys(page) == ["partner_registration"]
    assert [row.requirement.code for row in page.context["checklist"]] == [
        "business_licence",
        "confidentiality_agreement",
        "company_introduction",
        "data_security_commitment",
        "mlps_filing",
    ]
    assert page.context["problems"]

    assert client.get("/partners/registration/edit/").status_code == 200
    response = client.post("/partners/registration/edit/", _form_post(form_data()))
    assert (response.status_code, response["Location"]) == (302, APPLICATION)

    for row in page.context["checklist"]:
        prefix = f"doc{row.requirement.pk}"
        data = {f"{prefix}-file": pdf_file(f"{row.requirement.code}.pdf"), f"{prefix}-number": "1"}
        if row.requirement.has_expiry:
            expires = timezone.localdate() + timedelta(days=365)
            data[f"{prefix}-expires_on"] = expires.isoformat()
        response = client.post(f"/partners/registration/documents/{row.requirement.pk}/", data)
        assert response.status_code == 302
    page = client.get(APPLICATION)
    assert page.context["problems"] == []
    assert all(row.is_done for row in page.context["checklist"])

    response = client.post("/partners/registration/submit/", follow=True)

    partner.refresh_from_db()
    assert partner.status == Partner.Status.SUBMITTED
    assert "The application has been submitted for review." in _messages(response)
    assert response.context["editable"] is False
    assert response.context["workflow_instance"] is not None
    content = response.content.decode()
    assert 'data-testid="workflow-trail"' in content
    assert 'data-testid="application-under-review"' in content
    assert 'data-testid="document-form"' not in content
    # Still confined while under review.
    assert client.get("/")["Location"] == APPLICATION


def test_signup_form_errors_create_nothing(client, orgs, settings):
    settings.LANGUAGE_CODE = "en"
    before = counts()

    response = client.post(
        "/partners/register/",
        {
            "username": "acme_admin",
            "password": "weak",
            "password_confirm": "different",
            "email": "admin@acme.example.com",
            "category": CATEGORY,
            "managing_org": orgs.county_a.pk,
        },
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"password_confirm", "managing_org"}
    assert counts() == before


def test_signup_refused_by_the_password_policy_shows_each_rule(client, orgs, settings):
    settings.LANGUAGE_CODE = "en"
    before = counts()

    response = client.post(
        "/partners/register/",
        {
            "username": "acme_admin",
            "password": "12345678",
            "password_confirm": "12345678",
            "email": "admin@acme.example.com",
            "category": CATEGORY,
            "managing_org": orgs.city_a.pk,
        },
    )

    assert response.status_code == 200
    errors = response.context["form"].errors["password"]
    assert len(errors) >= 2
    assert counts() == before
    assert "_auth_user_id" not in client.session


def test_the_application_form_shows_uscc_refusals_on_the_field(client, orgs, settings):
    settings.LANGUAGE_CODE = "en"
    partner = signup(orgs)
    client.force_login(partner.admin_user)
    taken = factories.partner(managing_org=orgs.city_b).uscc
    before_state = partner_state(partner)

    response = client.post("/partners/registration/edit/", _form_post(form_data(uscc=taken)))

    assert response.status_code == 200
    assert "already exists" in response.context["form"].errors["uscc"][0]
    assert partner_state(partner) == before_state


def test_the_uscc_override_through_the_form_is_recorded(client, orgs):
    partner = signup(orgs)
    client.force_login(partner.admin_user)
    valid = factories.uscc()
    failing = valid[:17] + ("0" if valid[-1] != "0" else "1")
    data = _form_post(form_data(uscc=failing))
    data.update({"uscc_override": "on", "uscc_override_reason": "Licence issued this way"})

    response = client.post("/partners/registration/edit/", data)

    assert response.status_code == 302
    partner.refresh_from_db()
    assert (partner.uscc, partner.uscc_override_reason) == (failing, "Licence issued this way")
    assert AuditEvent.objects.filter(action="partner.uscc_override").count() == 1
    assert client.get("/partners/registration/edit/").context["form"].initial["uscc_override"]


def test_a_document_of_a_disallowed_type_is_refused_on_the_page(client, orgs, media, settings):
    settings.LANGUAGE_CODE = "en"
    partner = signup(orgs)
    client.force_login(partner.admin_user)
    requirement = partner.category.requirements.get(code="confidentiality_agreement")
    before = counts()

    response = client.post(
        f"/partners/registration/documents/{requirement.pk}/",
        {f"doc{requirement.pk}-file": png_file()},
        follow=True,
    )

    assert response.status_code == 200
    assert _messages(response) == [
        "“Signed confidentiality agreement” must be a file of type: PDF."
    ]
    assert counts() == before
    assert stored_files(media) == []


def test_submitting_an_incomplete_application_on_the_page_lists_the_problems(
    client, orgs, settings, reviewer
):
    settings.LANGUAGE_CODE = "en"
    partner = signup(orgs)
    client.force_login(partner.admin_user)
    before = counts()

    response = client.post("/partners/registration/submit/", follow=True)

    shown = _messages(response)
    assert shown[0] == "The application cannot be submitted yet."
    assert len(shown) == 1 + 1 + 5  # the heading, the missing fields, five documents
    assert counts() == before
    assert Partner.objects.get(pk=partner.pk).status == Partner.Status.DRAFT


def test_a_submitted_application_cannot_be_edited_through_the_page(client, orgs, reviewer):
    partner = complete_application(orgs)
    application_submit(partner_id=partner.pk, actor=partner.admin_user)
    client.force_login(partner.admin_user)
    before_state = partner_state(partner)

    get = client.get("/partners/registration/edit/")
    post = client.post("/partners/registration/edit/", _form_post(form_data(company_name="X")))

    assert (get.status_code, get["Location"]) == (302, APPLICATION)
    assert (post.status_code, post["Location"]) == (302, APPLICATION)
    assert partner_state(partner) == before_state


def test_a_rejected_application_shows_its_reasons_and_can_be_resubmitted(
    client, orgs, reviewer, settings
):
    from prm.partners.tests.test_registration import reject

    settings.LANGUAGE_CODE = "en"
    partner = complete_application(orgs)
    application_submit(partner_id=partner.pk, actor=partner.admin_user)
    reject(partner, reviewer, reason="The business licence scan is unreadable")
    client.force_login(partner.admin_user)

    page = client.get(APPLICATION)

    assert page.context["reasons"] == ["The business licence scan is unreadable"]
    assert page.context["editable"] is True
    assert 'data-testid="application-rejection"' in page.content.decode()
    assert "The business licence scan is unreadable" in page.content.decode()
    assert page.context["workflow_actions"] == []

    client.post("/partners/registration/submit/")
    assert Partner.objects.get(pk=partner.pk).status == Partner.Status.SUBMITTED


# --------------------------------------------------------------------------------------
# Confinement of applicants (ApplicantGuardMiddleware)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "confined"),
    [
        pytest.param("/", True, id="home"),
        pytest.param("/approvals/", True, id="approvals"),
        pytest.param("/console/users/", True, id="console"),
        pytest.param("/audit/", True, id="audit"),
        pytest.param("/partners/", True, id="partner_pages"),
        pytest.param("/portal/", True, id="portal"),
        pytest.param("/accounts/requests/", True, id="account_requests"),
        pytest.param("/attachments/upload/partners.qualification/1/", True, id="generic_upload"),
        pytest.param(APPLICATION, False, id="application"),
        pytest.param("/partners/registration/edit/", False, id="application_form"),
        pytest.param("/partners/registration-status/", False, id="progress_query"),
        pytest.param("/accounts/password/", False, id="password_change"),
        pytest.param("/inbox/", False, id="inbox"),
        pytest.param("/healthz", False, id="healthz"),
        pytest.param("/api/v1/partners/registration-status", False, id="api"),
    ],
)
def test_an_applicant_only_reaches_the_registration_pages(client, orgs, path, confined):
    partner = signup(orgs)
    client.force_login(partner.admin_user)

    response = client.get(path)

    if confined:
        assert (response.status_code, response["Location"]) == (302, APPLICATION)
    else:
        assert response.status_code in (200, 404)
        assert response.get("Location") != APPLICATION


def test_an_applicant_signs_out_and_switches_language(client, orgs):
    partner = signup(orgs)
    client.force_login(partner.admin_user)

    language = client.post("/i18n/setlang/", {"language": "en", "next": APPLICATION})
    logout = client.post("/accounts/logout/")

    assert (language.status_code, language["Location"]) == (302, APPLICATION)
    assert logout.status_code == 302 and logout["Location"] != APPLICATION
    assert "_auth_user_id" not in client.session


def test_an_applicant_downloads_only_the_files_of_their_own_application(client, orgs):
    mine = signup(orgs, username="mine_admin")
    theirs = signup(orgs, username="theirs_admin")
    upload_all(mine, skip=("mlps_filing",))
    upload_all(theirs, skip=("mlps_filing",))
    own_file = Attachment.objects.filter(
        owner_id__in=[str(q.pk) for q in Qualification.objects.filter(partner=mine)]
    ).first()
    their_file = Attachment.objects.filter(
        owner_id__in=[str(q.pk) for q in Qualification.objects.filter(partner=theirs)]
    ).first()
    client.force_login(mine.admin_user)

    assert client.get(f"/attachments/{own_file.public_id}/").status_code == 200
    assert client.get(f"/attachments/{their_file.public_id}/").status_code == 404


def test_an_approved_partner_is_not_confined(client, orgs):
    partner = factories.partner(managing_org=orgs.city_a, status=Partner.Status.ACTIVE)
    client.force_login(partner.admin_user)

    assert client.get("/").status_code == 200


def test_operator_staff_are_not_confined(client, orgs, make_user):
    client.force_login(make_user(org=orgs.city_a, roles=("partner_manager",)))

    assert client.get("/").status_code == 200


def test_the_applicant_menu_holds_only_the_registration_entry(client, orgs):
    partner = signup(orgs)
    client.force_login(partner.admin_user)

    for path in (APPLICATION, "/partners/registration/edit/", "/partners/registration-status/"):
        assert _nav_keys(client.get(path)) == ["partner_registration"], path


# --------------------------------------------------------------------------------------
# Access to every page
# --------------------------------------------------------------------------------------


@pytest.fixture
def people(orgs, make_user):
    applicant = signup(orgs, username="mine_admin")
    other = signup(orgs, username="theirs_admin")
    upload_all(applicant, skip=("mlps_filing",))
    upload_all(other, skip=("mlps_filing",))
    return {
        "applicant": applicant,
        "other": other,
        "staff_without_permission": make_user(org=orgs.city_a, roles=("channel_manager",)),
        "partner_manager": make_user(org=orgs.city_a, roles=("partner_manager",)),
        "active_partner_admin": factories.partner(managing_org=orgs.city_a).admin_user,
    }


def _own_document(partner: Partner) -> Qualification:
    return Qualification.objects.filter(partner=partner, is_current=True).first()


@pytest.mark.parametrize("who", ["staff_without_permission", "partner_manager"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("get", APPLICATION, id="application"),
        pytest.param("get", "/partners/registration/edit/", id="edit"),
        pytest.param("post", "/partners/registration/submit/", id="submit"),
        pytest.param("post", "/partners/registration/documents/{requirement}/", id="upload"),
        pytest.param("post", "/partners/registration/documents/{document}/remove/", id="remove"),
    ],
)
def test_operator_staff_get_403_on_applicant_pages(client, people, who, method, path):
    applicant = people["applicant"]
    path = path.format(
        requirement=applicant.category.requirements.first().pk,
        document=_own_document(applicant).pk,
    )
    before = counts()
    client.force_login(people[who])

    assert getattr(client, method)(path).status_code == 403
    assert counts() == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("get", APPLICATION, id="application"),
        pytest.param("get", "/partners/registration/edit/", id="edit"),
        pytest.param("post", "/partners/registration/submit/", id="submit"),
        pytest.param("post", "/partners/registration/documents/1/", id="upload"),
        pytest.param("post", "/partners/registration/documents/1/remove/", id="remove"),
    ],
)
def test_anonymous_users_are_sent_to_sign_in(client, people, method, path):
    response = getattr(client, method)(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("get", APPLICATION, id="application"),
        pytest.param("get", "/partners/registration/edit/", id="edit"),
    ],
)
def test_an_approved_partner_without_the_permission_gets_403(client, people, method, path):
    client.force_login(people["active_partner_admin"])

    assert getattr(client, method)(path).status_code == 403


def test_another_applicants_documents_are_not_found(client, people):
    applicant, other = people["applicant"], people["other"]
    other_sp_line = factories.category("sp").requirements.first()
    client.force_login(applicant.admin_user)
    before = counts()

    removed = client.post(f"/partners/registration/documents/{_own_document(other).pk}/remove/")
    uploaded = client.post(
        f"/partners/registration/documents/{other_sp_line.pk}/",
        {f"doc{other_sp_line.pk}-file": pdf_file()},
    )

    assert (removed.status_code, uploaded.status_code) == (404, 404)
    assert counts() == before


def test_the_applicant_sees_only_their_own_application(client, people):
    applicant, other = people["applicant"], people["other"]
    application_update(
        partner_id=other.pk, actor=other.admin_user, data={"company_name": "Their Co"}
    )
    client.force_login(applicant.admin_user)

    page = client.get(APPLICATION)

    assert page.status_code == 200
    assert page.context["partner"] == applicant
    assert "Their Co" not in page.content.decode()


def test_the_applicant_removes_their_own_document(client, people):
    applicant = people["applicant"]
    document = _own_document(applicant)
    client.force_login(applicant.admin_user)

    response = client.post(f"/partners/registration/documents/{document.pk}/remove/")

    assert (response.status_code, response["Location"]) == (302, APPLICATION)
    document.refresh_from_db()
    assert document.is_current is False


@pytest.mark.parametrize(
    "path", ["/partners/register/", "/partners/registration-status/"], ids=["signup", "query"]
)
def test_the_public_pages_are_open_to_anonymous_users(client, db, path):
    assert client.get(path).status_code == 200


def test_a_signed_in_user_is_sent_away_from_the_signup_page(client, people):
    client.force_login(people["partner_manager"])
    assert client.get("/partners/register/")["Location"] == "/"

    client.force_login(people["applicant"].admin_user)
    assert client.get("/partners/register/")["Location"] == APPLICATION
