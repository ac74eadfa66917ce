"""Playwright driving Debian's Chromium against the real app; skipped where either is absent."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"width": 390, "height": 844}

# Chromium plays at most 16x; the demo clips (about 2.5 s) then end in a fraction of a second.
FAST_AUDIO = """
(() => {
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () {
    this.defaultPlaybackRate = 16;
    this.playbackRate = 16;
    return play.call(this);
  };
})();
"""


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed (requirements-dev.txt)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def admin_page(browser, app_server, request):
    """A logged-in admin page; a screenshot is kept under test-artifacts/ if the test fails."""
    context = browser.new_context(viewport={"width": 1400, "height": 1500})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(app_server.url + "/")
    page.get_by_label("username").fill("admin")
    page.get_by_label("password").fill(app_server.password)
    page.get_by_role("button", name="Login").click()
    page.wait_for_selector("#clip-table")
    yield page
    keep_screenshot_if_failed(page, request)
    context.close()


def keep_screenshot_if_failed(page, request) -> None:
    """Save what the page showed when the test failed, under test-artifacts/."""
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


DESKTOP = {"width": 1400, "height": 1000}


@pytest.fixture
def rater(browser, request):
    """A phone-sized browser context whose audio plays 16x fast; screenshot on failure.
    Parametrise it indirectly with "phone" or "desktop" to choose the viewport."""
    size = getattr(request, "param", "phone")
    context = browser.new_context(viewport=DESKTOP if size == "desktop" else PHONE)
    context.add_init_script(FAST_AUDIO)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    keep_screenshot_if_failed(page, request)
    context.close()
