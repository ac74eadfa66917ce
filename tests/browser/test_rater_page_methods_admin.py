"""The admin creates a test of every method from the Listening tests tab (the spec pasted as
one line of JSON, which is YAML too) and sees it listed with its method."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

CLIP_METHODS = {"acr": {}, "dcr": {"systems": ["unprocessed"]},  # DCR: clips with a reference
                "p835": {"scale_order": "random"}}
PAIR_METHODS = {"ccr": {"systems": ["unprocessed"], "reference": "clean"},
                "ab": {"systems": ["reference", "unprocessed"]},
                "ranking": {"systems": ["reference", "unprocessed"]}}


def _spec(method: str, name: str) -> dict:
    spec = {"name": name, "method": method, "platform": "generic", "training": {"count": 0},
            "gold": {"auto": False, "count": 0}}
    if method in PAIR_METHODS:
        return {**spec, "pairs": {"dataset": "demo", **PAIR_METHODS[method]},
                "votes_per_pair": 3, "pairs_per_session": 4}
    extra = dict(CLIP_METHODS[method])
    clips = {"dataset": "demo", **({"systems": extra.pop("systems")} if "systems" in extra
                                   else {})}
    return {**spec, "clips": clips, "votes_per_clip": 3, "clips_per_session": 4, **extra}


def test_admin_creates_every_method_from_the_tab(admin_page, app_server):
    page = admin_page
    page.get_by_role("tab", name="Listening tests").click()
    page.get_by_text("New test from a spec").click()
    editor = page.locator("#test-spec .cm-content")
    for method in (*CLIP_METHODS, *PAIR_METHODS):
        name = f"tab {method} {uuid.uuid4().hex[:6]}"
        editor.click()
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        page.keyboard.insert_text(json.dumps(_spec(method, name)))
        page.locator("#test-create").click()
        expect(page.locator("#tests-table")).to_contain_text(name, timeout=60_000)
        listed = httpx.get(f"{app_server.url}/api/tests", headers=app_server.headers(),
                           timeout=60).json()
        found = [t for t in (listed.get("tests", listed) if isinstance(listed, dict)
                             else listed) if t["name"] == name]
        assert found and found[0]["method"] == method and found[0]["status"] == "draft"
