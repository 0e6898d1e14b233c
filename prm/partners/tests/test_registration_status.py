"""The anonymous registration progress query (R1; seed 000 TSP 注册进度查询): company name
+ admin account + admin e-mail, the same 404 for every other triple, rate-limited per IP,
on the API and on the page (one selector)."""

from __future__ import annotations

import pytest

from prm.partners.models import Partner
from prm.partners.services.registration import application_submit
from prm.partners.tests.test_registration import (
    applicant_permission_grant,
    complete_application,
    reject,
    review_reviewer,
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


API = "/api/v1/partners/registration-status"
PAGE = "/partners/registration-status/"
TRIPLE = {
    "company_name": "Acme Data Ltd",
    "admin_username": "acme_admin",
    "admin_email": "admin@acme.example.com",
}


@pytest.fixture
def submitted(orgs, reviewer):
    partner = complete_application(orgs)
    application_submit(partner_id=partner.pk, actor=partner.admin_user)
    partner.refresh_from_db()
    return partner


def test_the_matching_triple_answers_the_status_without_signing_in(client, submitted):
    response = client.get(API, TRIPLE)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "under_review"
    assert body["decided_at"] is None
    assert body["reasons"] == []
    assert body["submitted_at"].startswith(submitted.submitted_at.isoformat()[:19])


def test_the_e_mail_matches_in_any_case(client, submitted):
    response = client.get(API, {**TRIPLE, "admin_email": "ADMIN@Acme.Example.COM"})

    assert (response.status_code, response.json()["status"]) == (200, "under_review")


def test_a_draft_answers_draft(client, orgs):
    complete_application(orgs)

    assert client.get(API, TRIPLE).json()["status"] == "draft"


def test_a_rejected_application_answers_its_reasons_and_decision_time(client, submitted, reviewer):
    reject(submitted, reviewer, reason="资质文件不全")

    body = client.get(API, TRIPLE).json()

    submitted.refresh_from_db()
    assert (body["status"], body["reasons"]) == ("rejected", ["资质文件不全"])
    assert body["decided_at"] is not None


def test_an_approved_registration_answers_approved(client, submitted):
    Partner.objects.filter(pk=submitted.pk).update(status=Partner.Status.ACTIVE)

    assert client.get(API, TRIPLE).json()["status"] == "approved"


@pytest.mark.parametrize(
    "query",
    [
        pytest.param({**TRIPLE, "company_name": "Acme Data Ltd."}, id="company_name"),
        pytest.param({**TRIPLE, "company_name": "acme data ltd"}, id="company_name_case"),
        pytest.param({**TRIPLE, "admin_username": "acme_admin2"}, id="admin_username"),
        pytest.param({**TRIPLE, "admin_email": "other@acme.example.com"}, id="admin_email"),
        pytest.param({"company_name": "Acme Data Ltd"}, id="only_company"),
        pytest.param({}, id="nothing"),
        pytest.param({**TRIPLE, "company_name": "x" * 5000}, id="very_long"),
        pytest.param(
            {
                "company_name": "Unknown Co",
                "admin_username": "nobody",
                "admin_email": "nobody@example.com",
            },
            id="no_such_company",
        ),
    ],
)
def test_every_other_triple_answers_the_same_404(client, submitted, query):
    reference = client.get(
        API, {"company_name": "Z", "admin_username": "z", "admin_email": "z@example.com"}
    )

    response = client.get(API, query)

    assert response.status_code == reference.status_code == 404
    assert response.content == reference.content
    assert response.json()["code"] == "registration_not_found"
    assert set(response.json()) == {"code", "message", "details"}


def test_a_nul_character_is_refused_before_the_lookup_whatever_the_triple(client, submitted):
    existing = client.get(API, {**TRIPLE, "admin_username": "acme_admin\x00"})
    unknown = client.get(API, {**TRIPLE, "admin_username": "nobody\x00"})

    assert existing.status_code == unknown.status_code == 400
    assert existing.content == unknown.content
    assert existing.json()["code"] == "invalid_characters"


def test_queries_are_limited_per_client_address(client, submitted, settings):
    settings.PRM_REGISTRATION_STATUS_LIMIT = 3

    answers = [client.get(API, TRIPLE, REMOTE_ADDR="198.51.100.7").status_code for _ in range(3)]
    over = client.get(API, TRIPLE, REMOTE_ADDR="198.51.100.7")
    elsewhere = client.get(API, TRIPLE, REMOTE_ADDR="198.51.100.8")

    assert answers == [200, 200, 200]
    assert over.status_code == 429
    assert over.json()["code"] == "rate_limited"
    assert set(over.json()) == {"code", "message", "details"}
    assert over["Retry-After"] == "600"
    assert elsewhere.status_code == 200


def test_failed_queries_count_against_the_limit_too(client, submitted, settings):
    settings.PRM_REGISTRATION_STATUS_LIMIT = 2

    statuses = [
        client.get(API, {**TRIPLE, "admin_username": f"guess{n}"}).status_code for n in range(3)
    ]

    assert statuses == [404, 404, 429]


def test_the_page_and_the_api_share_the_limit(client, submitted, settings):
    settings.PRM_REGISTRATION_STATUS_LIMIT = 2
    client.get(API, TRIPLE)
    client.post(PAGE, TRIPLE)

    page = client.post(PAGE, TRIPLE)

    assert page.status_code == 429
    assert page.context["result"] is None
    assert page.context["error"]


def test_the_page_shows_the_status_of_the_matching_triple(client, submitted, settings):
    settings.LANGUAGE_CODE = "en"

    page = client.post(PAGE, TRIPLE)

    assert page.status_code == 200
    assert page.context["result"].status == "under_review"
    assert 'data-testid="status-label">Under review<' in page.content.decode()


def test_the_page_answers_the_same_for_any_non_matching_triple(client, submitted):
    first = client.post(PAGE, {**TRIPLE, "admin_username": "someone"})
    second = client.post(PAGE, {**TRIPLE, "company_name": "Other Co"})

    assert first.status_code == second.status_code == 404
    assert first.context["error"] == second.context["error"]
    assert first.context["result"] is None


def test_the_query_is_open_to_signed_in_users_as_well(client, submitted, make_user, orgs):
    client.force_login(make_user(org=orgs.city_b, roles=("channel_manager",)))

    assert client.get(API, TRIPLE).status_code == 200
    assert client.post(PAGE, TRIPLE).status_code == 200
