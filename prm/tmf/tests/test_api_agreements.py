"""TMF651 agreement (issue 3 item 13): partners' agreements; drafts created and deleted
by other systems."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from prm.core.models import AuditEvent
from prm.partners.models import Agreement, Partner
from prm.partners.tests import factories

pytestmark = pytest.mark.django_db

BASE = "/tmf-api/agreementManagement/v4/agreement"


def agreement(partner, *, number, status=Agreement.Status.ACTIVE, **extra) -> Agreement:
    values = {
        "title": "SMS cooperation",
        "starts_on": date(2026, 1, 1),
        "ends_on": date(2026, 12, 31),
        "business_scope": "SMS services",
        "settlement_model": Agreement.SettlementModel.REVENUE_SHARE,
        "revenue_share_percent": Decimal("30.00"),
        **extra,
    }
    return Agreement.objects.create(
        partner=partner, number=number, status=status, created_by=partner.admin_user, **values
    )


def body(partner, **extra) -> dict:
    return {
        "name": "Ringback tones",
        "agreementType": "mixed",
        "description": "Ringback tone content",
        "agreementPeriod": {
            "startDateTime": "2026-03-01T00:00:00+08:00",
            "endDateTime": "2027-02-28T00:00:00+08:00",
        },
        "engagedParty": [{"id": partner.code, "@referredType": "Organization"}],
        "characteristic": [
            {"name": "revenueSharePercent", "value": "35.5"},
            {"name": "fixedFee", "value": 2000},
        ],
        **extra,
    }


def test_an_agreement_in_tmf_shape(api, partner_a):
    agreement(partner_a, number="AG-2026-000001", signed_on=date(2025, 12, 20))

    response = api.get(f"{BASE}/AG-2026-000001")

    assert response.status_code == 200
    data = response.json()
    assert data["id"] == "AG-2026-000001"
    assert data["href"] == f"http://testserver{BASE}/AG-2026-000001"
    assert data["@type"] == "Agreement"
    assert data["name"] == "SMS cooperation"
    assert data["status"] == "active"
    assert data["agreementType"] == "revenue_share"
    assert data["agreementPeriod"] == {
        "startDateTime": "2026-01-01T00:00:00+08:00",
        "endDateTime": "2026-12-31T23:59:59+08:00",
    }
    assert data["engagedParty"] == [
        {
            "id": partner_a.code,
            "href": f"http://testserver/tmf-api/party/v4/organization/{partner_a.code}",
            "name": "Alpha Media Ltd",
            "@referredType": "Organization",
            "role": "partner",
        }
    ]
    assert data["characteristic"] == [
        {"name": "revenueSharePercent", "value": "30.00", "valueType": "decimal"}
    ]
    assert data["completionDate"] == "2025-12-20T00:00:00+08:00"


def test_list_filters_fields_and_paging(api, partner_a):
    agreement(partner_a, number="AG-2026-000001")
    agreement(partner_a, number="AG-2026-000002", status=Agreement.Status.DRAFT, title="Other")
    agreement(
        partner_a,
        number="AG-2026-000003",
        settlement_model=Agreement.SettlementModel.FIXED_FEE,
        revenue_share_percent=None,
        fixed_fee=Decimal("100.00"),
    )

    by_status = api.get(BASE, {"status": "draft", "fields": "status"})
    by_type = api.get(BASE, {"agreementType": "fixed_fee", "fields": "id"})
    by_name = api.get(BASE, {"name": "Other", "fields": "name"})
    page = api.get(BASE, {"offset": 1, "limit": 1, "fields": "id"})

    assert [item["id"] for item in by_status.json()] == ["AG-2026-000002"]
    assert set(by_status.json()[0]) == {"id", "href", "@type", "status"}
    assert [item["id"] for item in by_type.json()] == ["AG-2026-000003"]
    assert [item["name"] for item in by_name.json()] == ["Other"]
    assert [item["id"] for item in page.json()] == ["AG-2026-000002"]
    assert (page["X-Total-Count"], page["X-Result-Count"]) == ("3", "1")


def test_post_creates_a_draft(api, manager, partner_a):
    response = api.post(BASE, body(partner_a))

    assert response.status_code == 201, response.content
    created = Agreement.objects.get()
    assert response.json()["id"] == created.number
    assert response["Location"] == response.json()["href"]
    assert created.status == Agreement.Status.DRAFT
    assert created.partner == partner_a
    assert (created.starts_on, created.ends_on) == (date(2026, 3, 1), date(2027, 2, 28))
    assert created.revenue_share_percent == Decimal("35.50")
    assert created.fixed_fee == Decimal("2000.00")
    assert created.created_by == manager
    assert AuditEvent.objects.filter(action="agreement.created", target_id=str(created.pk))


@pytest.mark.parametrize(
    "change",
    [
        {"agreementType": "barter"},
        {"name": ""},
        {"engagedParty": []},
        {"engagedParty": [{"id": "P-1999-000001"}]},
        {"engagedParty": [{"id": "X", "@referredType": "Individual"}]},
        {"characteristic": [{"name": "revenueSharePercent", "value": "101"}]},
        {"characteristic": [{"name": "revenueSharePercent", "value": "abc"}]},
        {"characteristic": [{"name": "fixedFee", "value": "5"}]},
        {"characteristic": [{"name": "revenueSharePercent", "value": "0"}]},
        {
            "agreementPeriod": {
                "startDateTime": "2027-01-01T00:00:00+08:00",
                "endDateTime": "2026-01-01T00:00:00+08:00",
            }
        },
        {"agreementPeriod": {"startDateTime": "2026-01-01T00:00:00+08:00"}},
        {"description": "nul \u0000"},
    ],
    ids=[
        "unknown_settlement_model",
        "empty_name",
        "no_engaged_party",
        "unknown_partner",
        "not_an_organisation",
        "share_above_100",
        "share_not_a_number",
        "mixed_without_share",
        "share_zero",
        "ends_before_start",
        "no_end",
        "nul_character",
    ],
)
def test_bad_post_is_a_400_and_writes_nothing(api, partner_a, change):
    audit_count = AuditEvent.objects.count()

    response = api.post(BASE, body(partner_a, **change))

    assert response.status_code == 400, response.content
    assert response.json()["@type"] == "Error"
    assert Agreement.objects.count() == 0
    assert AuditEvent.objects.count() == audit_count


def test_post_for_a_partner_outside_scope_is_refused(api, partner_b):
    response = api.post(BASE, body(partner_b))

    assert response.status_code == 400
    assert response.json()["code"] == "engaged_party_unknown"
    assert Agreement.objects.count() == 0


def test_post_for_an_exiting_partner_is_a_409(api, orgs):
    exiting = factories.partner(managing_org=orgs.city_a, status=Partner.Status.EXITING)

    response = api.post(BASE, body(exiting))

    assert response.status_code == 409
    assert Agreement.objects.count() == 0


def test_delete_only_drafts(api, partner_a):
    agreement(partner_a, number="AG-2026-000001", status=Agreement.Status.DRAFT)
    agreement(partner_a, number="AG-2026-000002", status=Agreement.Status.ACTIVE)

    draft = api.delete(f"{BASE}/AG-2026-000001")
    active = api.delete(f"{BASE}/AG-2026-000002")
    missing = api.delete(f"{BASE}/AG-2026-000001")

    assert draft.status_code == 204
    assert active.status_code == 409
    assert active.json()["code"] == "agreement_not_draft"
    assert missing.status_code == 404
    assert list(Agreement.objects.values_list("number", flat=True)) == ["AG-2026-000002"]
    assert AuditEvent.objects.filter(action="agreement.deleted").count() == 1


def test_patch_is_not_supported(api, partner_a):
    agreement(partner_a, number="AG-2026-000001")

    response = api.patch(f"{BASE}/AG-2026-000001", {"name": "x"})

    assert response.status_code == 405
    assert Agreement.objects.get().title == "SMS cooperation"


def test_access(client, orgs, make_user, token_client, partner_a, partner_b):
    agreement(partner_a, number="AG-2026-000001", status=Agreement.Status.DRAFT)
    agreement(partner_b, number="AG-2026-000002")
    auditor = token_client(make_user(org=orgs.city_a, roles=("auditor",)))
    no_permission = token_client(make_user(org=orgs.city_a, roles=("account_manager",)))
    shenzhen = token_client(make_user(org=orgs.city_b, roles=("partner_manager",)))

    assert client.get(BASE).status_code == 401
    assert no_permission.get(BASE).status_code == 403
    assert [item["id"] for item in auditor.get(BASE).json()] == ["AG-2026-000001"]
    assert auditor.post(BASE, body(partner_a)).status_code == 403
    assert auditor.delete(f"{BASE}/AG-2026-000001").status_code == 403
    assert shenzhen.get(f"{BASE}/AG-2026-000001").status_code == 404
    assert shenzhen.delete(f"{BASE}/AG-2026-000001").status_code == 404
    assert Agreement.objects.count() == 2
