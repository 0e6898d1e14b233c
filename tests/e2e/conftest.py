"""Browser tests: Playwright's sync API driving Debian's chromium against pytest-django's
``live_server`` (static files are served by it and by WhiteNoise's finders).

Never ``playwright install``: the browser is the system's ``chromium`` (``PRM_CHROMIUM``
overrides the path). Screenshots go to ``test-artifacts/e2e/<test>/<step>.png``; a
failing test also leaves ``failure.png`` there.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("PRM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    # Remember each phase's outcome so that the page fixture can save a failure screenshot.
    report = yield
    setattr(item, f"prm_report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def playwright_instance():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Debian's chromium is missing at {CHROMIUM}: `apt-get install chromium` "
            "(or run `python3 dev.py test`, which installs it)."
        )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop on this thread; the test's own ORM calls
    # (creating users, reading the audit log) would otherwise be refused as async-unsafe.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            yield playwright
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser(playwright_instance):
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def artifacts_dir(request) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    folder = Path(request.config.rootpath) / "test-artifacts" / "e2e" / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@dataclass
class Browsing:
    """What a browser test drives: a page in a fresh context, and a screenshot saver."""

    page: object
    base_url: str
    artifacts: Path
    new_context: Callable

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def shot(self, step: str, page=None) -> Path:
        path = self.artifacts / f"{step}.png"
        (page or self.page).screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def browsing(request, browser, live_server, artifacts_dir) -> Iterator[Browsing]:
    """A page in a new browser context (Chinese browser locale, desktop size).

    ``browsing.new_context(**options)`` opens further contexts (e.g. a phone viewport);
    all are closed after the test.
    """
    contexts = []

    def new_context(**options):
        options.setdefault("locale", "zh-CN")
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    page = new_context().new_page()
    yield Browsing(
        page=page, base_url=live_server.url, artifacts=artifacts_dir, new_context=new_context
    )
    report = getattr(request.node, "prm_report_call", None)
    if report is not None and report.failed:
        for index, context in enumerate(contexts):
            for number, open_page in enumerate(context.pages):
                # A failing screenshot must not hide the test's own failure.
                with contextlib.suppress(Exception):
                    open_page.screenshot(
                        path=str(artifacts_dir / f"failure-{index}-{number}.png"), full_page=True
                    )
    for context in contexts:
        context.close()
