"""A partner's party role (its engagement in its category) follows the partner, whatever
partners service changed it; the backfill command creates the missing ones."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from prm.partners.models import Partner
from prm.partners.tests import factories
from prm.tmf.models import PartyRole
from prm.tmf.services import party_role_sync_partner

pytestmark = pytest.mark.django_db


def test_an_approved_partner_has_its_role(orgs):
    partner = factories.partner(managing_org=orgs.county_a, company_name="Alpha Media Ltd")

    role = PartyRole.objects.get(partner=partner)
    assert role.name == partner.category.name
    assert role.status == "active"
    assert role.org == orgs.county_a
    assert role.attributes["roleType"] == {
        "id": "sp",
        "name": partner.category.name,
        "@type": "RoleType",
    }
    assert role.attributes["engagedParty"] == {
        "id": partner.code,
        "name": "Alpha Media Ltd",
        "@referredType": "Organization",
    }
    assert "startDateTime" in role.attributes["validFor"]


@pytest.mark.parametrize(
    "status",
    [Partner.Status.DRAFT, Partner.Status.SUBMITTED, Partner.Status.REJECTED],
    ids=["draft", "submitted", "rejected"],
)
def test_applications_have_no_role(orgs, status):
    factories.partner(managing_org=orgs.city_a, status=status)

    assert PartyRole.objects.count() == 0


def test_the_role_follows_approval_changes_and_exit(orgs):
    partner = factories.partner(managing_org=orgs.city_a, status=Partner.Status.SUBMITTED)

    partner.status, partner.code = Partner.Status.ACTIVE, "P-2026-000042"
    partner.approved_at = timezone.now()
    partner.save()
    role = PartyRole.objects.get(partner=partner)
    role.attributes["contactMedium"] = [{"mediumType": "email"}]  # set through the API
    role.save()

    partner.company_name = "Renamed Ltd"
    partner.managing_org = orgs.city_b
    partner.business_suspended, partner.business_suspended_reason = True, "Licence expired"
    partner.save()
    role.refresh_from_db()
    assert role.attributes["engagedParty"]["name"] == "Renamed Ltd"
    assert role.org == orgs.city_b
    assert role.status_reason == "Licence expired"
    assert role.attributes["contactMedium"] == [{"mediumType": "email"}]

    partner.status, partner.exited_at = Partner.Status.EXITED, timezone.now()
    partner.save()
    role.refresh_from_db()
    assert role.status == "exited"
    assert "endDateTime" in role.attributes["validFor"]


def test_a_save_of_unrelated_fields_skips_the_sync(orgs):
    partner = factories.partner(managing_org=orgs.city_a)
    partner.refresh_from_db()
    partner.bank_account = "6222000000000000001"

    with CaptureQueriesContext(connection) as queries:
        partner.save(update_fields=["bank_account", "updated_at"])

    assert not [q for q in queries.captured_queries if "tmf_partyrole" in q["sql"]]


def test_sync_writes_nothing_when_nothing_changed(orgs):
    partner = factories.partner(managing_org=orgs.city_a)
    before = PartyRole.objects.get(partner=partner).updated_at

    party_role_sync_partner(partner=partner)

    assert PartyRole.objects.get(partner=partner).updated_at == before


def test_backfill_creates_missing_roles_and_is_idempotent(orgs):
    partners = [factories.partner(managing_org=orgs.city_a) for _ in range(2)]
    factories.partner(managing_org=orgs.city_a, status=Partner.Status.SUBMITTED)
    PartyRole.objects.all().delete()

    first, second = StringIO(), StringIO()
    call_command("tmf_party_roles_backfill", stdout=first)
    ids = set(PartyRole.objects.values_list("pk", flat=True))
    call_command("tmf_party_roles_backfill", stdout=second)

    assert sorted(PartyRole.objects.values_list("partner_id", flat=True)) == sorted(
        p.pk for p in partners
    )
    assert set(PartyRole.objects.values_list("pk", flat=True)) == ids
    assert first.getvalue().strip() == "Party roles in step with 2 partners."
