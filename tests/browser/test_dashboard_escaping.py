"""A test name is text on the admin dashboard, never markup (issue 13)."""

from __future__ import annotations

import uuid

import httpx
import pytest

pytestmark = pytest.mark.integration

EVIL = '<img src="x" id="injected" onerror="window.__injected = 1">Evil <b>bold</b>'


def test_a_test_name_with_html_shows_as_text(admin_page, app_server):
    from playwright.sync_api import expect

    spec = {"name": f"{EVIL} {uuid.uuid4().hex[:6]}", "method": "acr",
            "clips": {"dataset": "demo"}, "votes_per_clip": 2, "clips_per_session": 3,
            "training": {"count": 0}, "gold": {"auto": False, "count": 0},
            "trapping": {"enabled": False}}
    created = httpx.post(f"{app_server.url}/api/tests", json=spec,
                         headers=app_server.headers(), timeout=60)
    assert created.status_code == 201, created.text
    page = admin_page
    page.get_by_role("tab", name="Listening tests").click()
    page.locator("#test-id input").fill(str(created.json()["id"]))
    page.locator("#test-id input").press("Enter")
    summary = page.locator("#test-summary")
    expect(summary).to_contain_text('<img src="x"', timeout=30_000)
    expect(summary).to_contain_text("<b>bold</b>")
    assert summary.locator("img, b").count() == 0
    assert page.evaluate("window.__injected") is None
