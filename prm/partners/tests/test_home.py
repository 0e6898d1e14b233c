"""The partner and portal cards on the home pages: scoped figures, nothing for others."""

import pytest

from prm.core.dashboard import home_panels_for
from prm.partners.models import Partner
from prm.partners.tests import factories

pytestmark = pytest.mark.django_db


def _figures(user, view):
    return {
        label: value
        for panel in home_panels_for(user=user, view=view)
        for label, value, _url in panel["figures"]
    }


def test_staff_see_the_figures_of_their_subtree_only(orgs, make_user, settings):
    settings.LANGUAGE_CODE = "en"
    factories.partner(managing_org=orgs.city_a)
    factories.partner(managing_org=orgs.city_a, status=Partner.Status.SUBMITTED)
    factories.partner(managing_org=orgs.city_b)
    city_manager = make_user(org=orgs.city_a, roles=("partner_manager",))
    province_manager = make_user(org=orgs.province, roles=("partner_manager",))

    city = _figures(city_manager, "management")
    province = _figures(province_manager, "management")

    assert (city["Active partners"], city["Applications under review"]) == (1, 1)
    assert (province["Active partners"], province["Applications under review"]) == (2, 1)
    assert city["Breach cases awaiting the partner"] == 0


def test_a_partner_sees_its_own_cards_and_staff_without_permission_none(orgs, make_user, settings):
    settings.LANGUAGE_CODE = "en"
    partner = factories.partner(managing_org=orgs.city_a)
    no_permission = make_user(org=orgs.city_a, roles=("cs_agent",))
    applicant = factories.partner(managing_org=orgs.city_a, status=Partner.Status.DRAFT)

    own = _figures(partner.admin_user, "partner")

    assert own["Active business codes"] == 0
    assert own["Unread announcements"] == 0
    assert _figures(no_permission, "cs") == {}
    assert _figures(applicant.admin_user, "partner") == {}


def test_the_home_page_shows_the_cards(client, orgs, make_user):
    factories.partner(managing_org=orgs.city_a)
    client.force_login(make_user(org=orgs.city_a, roles=("partner_manager",)))

    response = client.get("/")

    assert b'data-testid="home-panels"' in response.content
