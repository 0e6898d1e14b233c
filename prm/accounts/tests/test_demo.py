"""``prm demo``: the deterministic demo data set, loaded once, with a banner on every page."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from prm.accounts.demo import DEMO_ORGS, DEMO_PASSWORD, DEMO_USERS
from prm.accounts.models import OrgUnit, User
from prm.core.models import AuditEvent, SiteFlag
from prm.incentives.demo import DEMO_PROMOTERS, DEMO_STAFF
from prm.partners.demo import DEMO_APPLICATIONS, DEMO_EXPERTS, DEMO_PARTNERS
from prm.partners.models import Partner
from prm.portal.models import Announcement, BreachCase, KnowledgeArticle

# Users the partners demo adds: admins of the partners the accounts demo lacks, the
# second partner manager, experts and applicants.
PARTNER_DEMO_USERS = (
    [row[4] for row in DEMO_PARTNERS if row[4]]
    + ["p-demo-ch_admin", "p-demo-mc_admin", "partner_mgr2"]
    + [row[0] for row in DEMO_EXPERTS]
    + [row[0] for row in DEMO_APPLICATIONS]
)
# The incentives demo adds channel managers and promoter logins (the call-centre promoter
# signs in as the accounts demo's cs_agent).
INCENTIVES_DEMO_USERS = len(DEMO_STAFF) + sum(1 for row in DEMO_PROMOTERS if row.name)
ALL_DEMO_USERS = len(DEMO_USERS) + len(PARTNER_DEMO_USERS) + INCENTIVES_DEMO_USERS

pytestmark = pytest.mark.django_db


def demo(*args: str) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "orgs": OrgUnit.objects.count(),
        "users": User.objects.count(),
        "audit": AuditEvent.objects.count(),
        "flags": SiteFlag.objects.count(),
        "partners": Partner.objects.count(),
        "portal": Announcement.objects.count()
        + BreachCase.objects.count()
        + KnowledgeArticle.objects.count(),
    }


def test_demo_loads_once_and_prints_every_login(settings):
    settings.LANGUAGE_CODE = "en"  # the assertions read the English text
    first_output = demo()
    after_first = counts()

    second_output = demo()

    new_partner_orgs = {row[0] for row in DEMO_PARTNERS} - {row[0] for row in DEMO_ORGS}
    assert after_first == {
        "orgs": len(DEMO_ORGS) + len(new_partner_orgs) + len(DEMO_APPLICATIONS),
        # + the system account internet promoter registrations are submitted by (ADR 0014)
        "users": ALL_DEMO_USERS + 1,
        "audit": after_first["audit"],
        "flags": 4,  # accounts, partners, portal, incentives
        "partners": len(DEMO_PARTNERS) + len(DEMO_APPLICATIONS),
        "portal": 2 + 2 + 3,  # announcements, cases, articles
    }
    assert set(Partner.objects.values_list("category__code", flat=True)) >= {
        code for code in Partner._meta.get_field("category").related_model.Code.values
    }
    assert after_first["audit"] >= len(DEMO_ORGS) + len(DEMO_USERS)
    assert counts() == after_first
    assert first_output.startswith("Demo data loaded.\n")
    assert second_output.startswith("Demo data was already loaded.\n")
    for output in (first_output, second_output):
        for username, _name, _org, _roles in DEMO_USERS:
            assert f"  {username:<12} {DEMO_PASSWORD}  " in output


def test_demo_users_sign_in_without_a_forced_password_change():
    demo()

    users = User.objects.filter(username__in=[row[0] for row in DEMO_USERS])

    assert users.count() == len(DEMO_USERS)
    assert list(users.filter(must_change_password=True)) == []
    assert list(users.filter(is_demo=False)) == []
    for username, _name, org_code, role_codes in DEMO_USERS:
        user = users.get(username=username)
        assert user.org.code == org_code
        assert user.role_codes == set(role_codes)
        assert user.check_password(DEMO_PASSWORD)


def test_demo_reuses_an_org_made_by_hand_with_a_demo_code(orgs):
    # given: an install whose HQ already has the demo code
    hq = OrgUnit.objects.get(code="HQ")

    demo()

    assert OrgUnit.objects.get(code="GD").parent == hq
    assert User.objects.filter(username="admin").exists()


def test_demo_refuses_production_mode_and_changes_nothing(settings):
    settings.PRM_MODE = "production"
    before = counts()

    with pytest.raises(CommandError, match="--allow-production"):
        demo()

    assert counts() == before


def test_demo_may_be_forced_in_production_mode(settings):
    settings.LANGUAGE_CODE = "en"  # the assertions read the English text
    settings.PRM_MODE = "production"

    output = demo("--allow-production")

    assert output.startswith("Demo data loaded.\n")
    assert User.objects.filter(is_demo=True).count() == ALL_DEMO_USERS


def test_demo_banner_shows_once_demo_data_is_loaded(client, settings):
    settings.PRM_DEMO_MODE = False
    demo()
    client.force_login(User.objects.get(username="channel_mgr"))

    response = client.get("/")

    assert response.status_code == 200
    assert b'data-testid="demo-banner"' in response.content


def test_no_demo_banner_without_demo_data(client, settings, orgs, make_user):
    settings.PRM_DEMO_MODE = False
    client.force_login(make_user(org=orgs.city_a, roles=("channel_manager",)))

    response = client.get("/")

    assert response.status_code == 200
    assert b'data-testid="demo-banner"' not in response.content


def test_demo_mode_shows_the_banner_even_before_loading(client, settings, orgs, make_user):
    settings.PRM_DEMO_MODE = True
    client.force_login(make_user(org=orgs.city_a, roles=("channel_manager",)))

    response = client.get("/")

    assert response.status_code == 200
    assert b'data-testid="demo-banner"' in response.content
