"""TMF632 organization (issue 3 item 13): approved partners as organisations, read-only."""

from __future__ import annotations

import pytest

from prm.partners.models import Partner
from prm.partners.tests import factories

pytestmark = pytest.mark.django_db

BASE = "/tmf-api/party/v4/organization"


def test_a_partner_as_an_organisation(api, partner_a):
    response = api.get(f"{BASE}/{partner_a.code}")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == partner_a.code
    assert body["href"] == f"http://testserver{BASE}/{partner_a.code}"
    assert body["@type"] == "Organization"
    assert body["name"] == body["tradingName"] == "Alpha Media Ltd"
    assert body["status"] == "validated"
    assert body["organizationType"] == "sp"
    assert body["organizationIdentification"] == [
        {
            "identificationType": "USCC",
            "identificationId": partner_a.uscc,
            "@type": "OrganizationIdentification",
        }
    ]
    assert {medium["mediumType"] for medium in body["contactMedium"]} == {
        "phone",
        "email",
        "postalAddress",
    }
    assert {"name": "partnerStatus", "value": "active"} in body["partyCharacteristic"]
    assert "bank_account" not in response.content.decode()


def test_applications_are_not_organisations(api, orgs, partner_a):
    application = factories.partner(managing_org=orgs.city_a, status=Partner.Status.SUBMITTED)

    listed = api.get(BASE)

    assert [org["id"] for org in listed.json()] == [partner_a.code]
    assert application.code is None


@pytest.mark.parametrize(
    ("status", "tmf_status"),
    [
        (Partner.Status.ACTIVE, "validated"),
        (Partner.Status.EXITING, "validated"),
        (Partner.Status.EXITED, "closed"),
    ],
    ids=["active", "exiting", "exited"],
)
def test_status_follows_the_lifecycle_and_filters(api, orgs, status, tmf_status):
    partner = factories.partner(managing_org=orgs.city_a, status=status)

    single = api.get(f"{BASE}/{partner.code}")
    matching = api.get(BASE, {"status": tmf_status})
    other = api.get(BASE, {"status": "closed" if tmf_status == "validated" else "validated"})

    assert single.json()["status"] == tmf_status
    assert [org["id"] for org in matching.json()] == [partner.code]
    assert other.json() == []


def test_filters_fields_and_paging(api, orgs):
    partners = [
        factories.partner(managing_org=orgs.city_a, company_name=f"Company {n}") for n in range(3)
    ]
    factories.partner(managing_org=orgs.city_a, company_name="Other", category_code="cp")

    by_name = api.get(BASE, {"name": "Company 1", "fields": "name"})
    by_type = api.get(BASE, {"organizationType": "cp", "fields": "organizationType"})
    page = api.get(BASE, {"offset": 1, "limit": 2, "organizationType": "sp", "fields": "id"})

    assert by_name.json() == [
        {
            "id": partners[1].code,
            "href": f"http://testserver{BASE}/{partners[1].code}",
            "name": "Company 1",
            "@type": "Organization",
        }
    ]
    assert [org["organizationType"] for org in by_type.json()] == ["cp"]
    assert [org["id"] for org in page.json()] == [partners[1].code, partners[2].code]
    assert (page["X-Total-Count"], page["X-Result-Count"]) == ("3", "2")


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", BASE), ("patch", f"{BASE}/P-2026-000001"), ("delete", f"{BASE}/P-2026-000001")],
    ids=["post", "patch", "delete"],
)
def test_writes_are_not_supported(api, method, path):
    response = getattr(api, method)(path, {}) if method != "delete" else api.delete(path)

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert response.json()["@type"] == "Error"


def test_unknown_code_is_404(api):
    response = api.get(f"{BASE}/P-1999-999999")

    assert response.status_code == 404
    assert response.json()["@type"] == "Error"


def test_access(client, orgs, make_user, token_client, partner_a, partner_b):
    anonymous = client.get(BASE)
    no_permission = token_client(make_user(org=orgs.city_a, roles=("account_manager",)))
    shenzhen = token_client(make_user(org=orgs.city_b, roles=("channel_manager",)))
    own_partner_user = token_client(factories.partner_user(partner_a, roles=("partner_admin",)))

    assert anonymous.status_code == 401
    assert no_permission.get(BASE).status_code == 403
    assert [org["id"] for org in shenzhen.get(BASE).json()] == [partner_b.code]
    assert shenzhen.get(f"{BASE}/{partner_a.code}").status_code == 404
    # A partner's user sees its own organisation only.
    assert [org["id"] for org in own_partner_user.get(BASE).json()] == [partner_a.code]
    assert own_partner_user.get(f"{BASE}/{partner_b.code}").status_code == 404
