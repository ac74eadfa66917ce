"""A MUSHRA test on the rater page: API-only so far, so the page says so plainly instead of
showing a one-clip scale it cannot apply (docs/rating-api.md, "MUSHRA")."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.test_rater_page import _create_test, _heading

pytestmark = pytest.mark.browser


def test_mushra_page_says_it_is_not_supported_yet(rater, app_server):
    test_id = _create_test(app_server, {
        "name": f"Browser mushra {uuid.uuid4().hex[:6]}", "method": "mushra",
        "pairs": {"dataset": "demo", "systems": ["unprocessed"], "reference": "clean"},
        "listeners_per_page": 1, "pages_per_session": 2, "gold": {"count": 0},
        "training": {"count": 0},
        "checks": {"qualification": False, "volume": False, "stereo": False,
                   "environment": False}})
    page = rater
    page.goto(f"{app_server.url}/rate/{test_id}?participant=m1")
    expect(_heading(page)).to_have_text("We are sorry")
    expect(page.get_by_role("alert")).to_contain_text("several samples side by side")
    expect(page.locator("#step input[type=range]")).to_have_count(0)
