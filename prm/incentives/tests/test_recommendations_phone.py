"""The promoter's pages on a 360 px phone (Debian's chromium through Playwright): the
form fits the screen, records a recommendation, and "My recommendations" shows it."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from prm.incentives.models import Recommendation
from prm.incentives.tests.test_recommendations import SUBSCRIBER, build_world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("PRM_CHROMIUM", "/usr/bin/chromium")
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture
def phone(live_server):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian's chromium is missing at {CHROMIUM}: `apt-get install chromium`.")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--no-first-run"],
            )
            context = browser.new_context(
                base_url=live_server.url,
                viewport={"width": 360, "height": 740},
                is_mobile=True,
                locale="zh-CN",
            )
            context.set_default_timeout(15_000)
            yield context
            context.close()
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def test_promoter_records_on_a_360px_phone(phone, orgs, make_user, live_server):
    from playwright.sync_api import expect

    world = build_world(orgs, make_user)
    client = Client()
    client.force_login(world.promoter_a.user)
    phone.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = phone.new_page()

    page.goto("/incentives/recommendations/new/")

    assert page.evaluate(OVERFLOW) <= 0
    number_box = page.locator("#id_msisdn").bounding_box()
    assert number_box["width"] >= 300  # the input spans the phone's width
    assert number_box["height"] >= 44  # a finger-sized target
    submit_box = page.locator("[data-testid=recommendation-submit]").bounding_box()
    assert submit_box["x"] + submit_box["width"] <= 360

    page.fill("#id_msisdn", "139 0013 9000")
    page.select_option("#id_product_code", "CRBT")
    page.click("[data-testid=recommendation-submit]")

    expect(page.locator(".alert-success")).to_contain_text(SUBSCRIBER)
    recommendation = Recommendation.objects.get()
    assert recommendation.promoter == world.promoter_a

    page.click("[data-testid=recommendation-mine-link]")
    expect(page).to_have_url(re.compile(r"/incentives/recommendations/mine/"))
    expect(page.locator("[data-testid=recommendation-row]")).to_have_count(1)
    assert page.evaluate(OVERFLOW) <= 0

    page.click("[data-testid=recommendation-row]")
    expect(page.locator("[data-testid=recommendation-number]")).to_have_text(recommendation.number)
    assert page.evaluate(OVERFLOW) <= 0
