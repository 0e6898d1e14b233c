import pytest
from prm.accounts.tests import factories
from prm.core.audit import audit_event_create
from tests.e2e.test_foundation import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_shots(browsing, orgs):
    admin = factories.user(org=orgs.province, roles=("system_admin",), username="gd_admin")
    for i in range(8):
        factories.user(org=orgs.county_a, roles=("channel_manager",), username=f"staff{i}")
    audit_event_create(actor=admin, action="auth.login", target=admin)
    page = browsing.page
    sign_in(browsing, "gd_admin")
    page.wait_for_timeout(800)
    browsing.shot("01-admin-home")
    page.click("[data-testid=lang-en]")
    page.wait_for_timeout(800)
    browsing.shot("02-admin-home-en")
    page.click("[data-nav-section]")
    browsing.shot("03-menu-open")
    for name, path in [("orgs", "/console/orgs/"), ("users", "/console/users/"), ("user", "/console/users/staff1/"),
                       ("user-edit", "/console/users/staff1/edit/"), ("roles", "/console/roles/"),
                       ("role", "/console/roles/auditor/"), ("audit", "/audit/"), ("org", "/console/orgs/GZ/")]:
        page.goto(path)
        browsing.shot(f"10-{name}")
    phone = browsing.new_context(viewport={"width": 375, "height": 812}, is_mobile=True)
    p = phone.new_page()
    sign_in(browsing, "gd_admin", page=p)
    p.wait_for_timeout(800)
    browsing.shot("20-phone-home", page=p)
    for name, path in [("users", "/console/users/"), ("audit", "/audit/"), ("user", "/console/users/staff1/")]:
        p.goto(path)
        ov = p.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        print(name, "overflow", ov)
        browsing.shot(f"21-phone-{name}", page=p)
