"""The platform foundation in a real browser (R0): sign-in per role, each role's home,
the language switch, the forced change of an initial password, the auditor reading their
own sign-in in the audit log, static assets, and the phone layout.

Pages and test ids follow ``docs/pages.md``.
"""

from __future__ import annotations

import re

import pytest
from django.utils import translation
from playwright.sync_api import expect

from prm.accounts.models import User
from prm.accounts.tests import factories
from prm.core.models import AuditEvent

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = factories.DEFAULT_PASSWORD
HOME_VIEWS = ("management", "operations", "account_manager", "cs", "partner", "audit", "admin")


def sign_in(browsing, username: str, password: str = PASSWORD, *, page=None) -> None:
    page = page or browsing.page
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("[data-testid=login-submit]")
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
    page.wait_for_load_state("load")


def open_user_menu(page) -> None:
    if page.locator("[data-testid=logout]").is_visible():
        return
    toggler = page.locator(".navbar-toggler")
    if toggler.is_visible() and not page.locator("[data-testid=user-menu]").is_visible():
        toggler.click()
        # Wait for Bootstrap's collapse animation to end before using the menu.
        expect(page.locator(".navbar-collapse")).to_have_class(re.compile(r"(^|\s)show(\s|$)"))
    page.click("[data-testid=user-menu]")
    expect(page.locator("[data-testid=logout]")).to_be_visible()


def sign_out(browsing, *, page=None) -> None:
    page = page or browsing.page
    open_user_menu(page)
    page.click("[data-testid=logout]")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def expect_home(browsing, view: str, *, page=None) -> None:
    page = page or browsing.page
    expect(page).to_have_url(browsing.url("/"))
    expect(page.locator(f"[data-testid=home-{view}]")).to_be_visible()
    for other in HOME_VIEWS:
        if other != view:
            expect(page.locator(f"[data-testid=home-{other}]")).to_have_count(0)


def test_roles_see_their_home_switch_language_and_auditor_finds_own_login(browsing, orgs):
    # given: three roles at different places of the trees, and a province auditor
    people = [
        (factories.user(org=orgs.city_a, roles=("system_admin",), username="gz_admin"), "admin"),
        (
            factories.user(org=orgs.city_a, roles=("channel_manager",), username="gz_channel"),
            "management",
        ),
        (
            factories.user(org=orgs.partner, roles=("partner_admin",), username="pa_admin"),
            "partner",
        ),
    ]
    auditor = factories.user(org=orgs.province, roles=("auditor",), username="gd_auditor")
    page = browsing.page

    # when/then: each role signs in and lands on its own home
    for step, (person, view) in enumerate(people, start=1):
        sign_in(browsing, person.username)
        expect_home(browsing, view)
        browsing.shot(f"{step:02d}-home-{view}")
        sign_out(browsing)

    # when: the auditor signs in (the browser asks for Chinese) and switches to English
    sign_in(browsing, auditor.username)
    expect_home(browsing, "audit")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    browsing.shot("04-home-audit-zh-hans")
    page.click("[data-testid=lang-en]")

    # then: the page is English, the user menu included
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect_home(browsing, "audit")
    expect(page.locator("[data-testid=lang-zh-hans]")).to_be_visible()
    open_user_menu(page)
    expect(page.locator("[data-testid=logout]")).to_have_text("Sign out")
    browsing.shot("05-home-audit-en")

    # when: the auditor looks for their own sign-in in the audit log
    login_event = (
        AuditEvent.objects.filter(actor=auditor, action__icontains="login").order_by("id").first()
    )
    assert login_event is not None, "the sign-in was not audited (no action containing 'login')"
    assert login_event.ip_address == "127.0.0.1"
    expected_rows = AuditEvent.objects.filter(
        actor_username__icontains=auditor.username, action__icontains=login_event.action
    ).count()
    page.goto(f"/audit/?actor={auditor.username}&action={login_event.action}")

    # then: the rows are exactly the auditor's sign-ins
    rows = page.locator("[data-testid=audit-row]")
    expect(rows).to_have_count(expected_rows)
    for index in range(expected_rows):
        expect(rows.nth(index)).to_contain_text(auditor.username)
    browsing.shot("06-audit-own-login")

    # when: the auditor switches back to Chinese
    page.click("[data-testid=lang-zh-hans]")

    # then: the page is Chinese again (the text too, once the catalogue holds it)
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    with translation.override("zh-hans"):
        sign_out_zh = translation.gettext("Sign out")
    open_user_menu(page)
    if sign_out_zh != "Sign out":
        expect(page.locator("[data-testid=logout]")).to_have_text(sign_out_zh)
    browsing.shot("07-audit-zh-hans")


def test_initial_password_must_be_changed_before_anything_else(browsing, orgs):
    # given: a new account manager with an initial password
    newcomer = factories.user(
        org=orgs.county_a,
        roles=("account_manager",),
        username="th_newcomer",
        must_change_password=True,
    )
    new_password = "Nxt-Passw0rd-2026!"
    page = browsing.page

    # when: they sign in and try to go home
    sign_in(browsing, newcomer.username)
    expect(page).to_have_url(browsing.url("/accounts/password/"))
    page.goto("/")

    # then: they are sent back to the password page
    expect(page).to_have_url(browsing.url("/accounts/password/"))
    browsing.shot("01-forced-password-change")

    # when: they change the password
    page.fill("#id_old_password", PASSWORD)
    page.fill("#id_new_password1", new_password)
    page.fill("#id_new_password2", new_password)
    page.click("[data-testid=password-submit]")

    # then: they land on their home, and only the new password works
    expect_home(browsing, "account_manager")
    browsing.shot("02-home-after-change")
    newcomer.refresh_from_db()
    assert newcomer.must_change_password is False
    assert newcomer.check_password(new_password) is True
    assert newcomer.check_password(PASSWORD) is False
    sign_out(browsing)

    page.goto("/accounts/login/")
    page.fill("#id_username", newcomer.username)
    page.fill("#id_password", PASSWORD)
    page.click("[data-testid=login-submit]")
    expect(page.locator("[data-testid=login-error]")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    browsing.shot("03-old-password-refused")

    sign_in(browsing, newcomer.username, new_password)
    expect_home(browsing, "account_manager")


def test_static_assets_load_and_home_fits_a_phone(browsing, orgs):
    # given: a channel manager, and a record of every static file the browser fetches
    person = factories.user(org=orgs.city_a, roles=("channel_manager",), username="gz_channel")
    static_statuses: dict[str, int] = {}
    page = browsing.page
    page.on(
        "response",
        lambda response: (
            static_statuses.__setitem__(response.url, response.status)
            if "/static/" in response.url
            else None
        ),
    )

    # when: they sign in on a desktop browser
    sign_in(browsing, person.username)
    expect_home(browsing, "management")

    # then: every stylesheet and script loaded, and Bootstrap styles the navbar
    expected_assets = (
        "vendor/bootstrap/bootstrap.min.css",
        "vendor/bootstrap-icons/bootstrap-icons.min.css",
        "vendor/htmx/htmx.min.js",
        "vendor/bootstrap/bootstrap.bundle.min.js",
        "prm/prm.css",
    )
    for asset in expected_assets:
        assert any(url.endswith(asset) for url in static_statuses), asset
    assert {url: status for url, status in static_statuses.items() if status != 200} == {}
    navbar = page.locator("nav.navbar")
    assert navbar.evaluate("element => getComputedStyle(element).display") == "flex"
    assert navbar.evaluate("element => getComputedStyle(element).backgroundColor") not in (
        "rgba(0, 0, 0, 0)",
        "transparent",
    )
    assert page.evaluate("() => typeof window.htmx") == "object"
    browsing.shot("01-desktop-home")

    # when: the same person opens PRM on a phone
    phone = browsing.new_context(viewport={"width": 375, "height": 812}, is_mobile=True)
    phone_page = phone.new_page()
    sign_in(browsing, person.username, page=phone_page)
    expect_home(browsing, "management", page=phone_page)

    # then: nothing is wider than the screen, and the menu folds behind the toggler
    overflow = phone_page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    expect(phone_page.locator(".navbar-toggler")).to_be_visible()
    expect(phone_page.locator("[data-testid=user-menu]")).to_be_hidden()
    browsing.shot("02-phone-home", page=phone_page)
    open_user_menu(phone_page)
    browsing.shot("03-phone-menu-open", page=phone_page)
    sign_out(browsing, page=phone_page)


def test_wrong_password_is_refused_and_nobody_is_signed_in(browsing, orgs):
    # given: a partner administrator
    person = factories.user(org=orgs.partner, roles=("partner_admin",), username="pa_admin")
    page = browsing.page

    # when: someone signs in with a wrong password
    page.goto("/accounts/login/")
    page.fill("#id_username", person.username)
    page.fill("#id_password", "Not-the-Passw0rd!")
    page.click("[data-testid=login-submit]")

    # then: the login page says so and home still needs a sign-in
    expect(page.locator("[data-testid=login-error]")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    browsing.shot("01-login-error")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    assert User.objects.get(pk=person.pk).last_login is None
