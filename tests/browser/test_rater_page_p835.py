"""A P.835 session in a real browser: three questions a clip (SIG and BAK in the test's
order, OVRL last), answered with the keyboard and the mouse, a reload that resumes at the
first open clip, and the finish, on a phone-sized and a desktop-sized page."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.test_rater_page import (
    _create_test,
    _heading,
    _no_horizontal_scroll,
    _session,
    _token,
)

pytestmark = pytest.mark.browser


def _p835_spec(name: str) -> dict:
    return {"name": name, "method": "p835", "clips": {"dataset": "demo"}, "votes_per_clip": 5,
            "clips_per_session": 3, "gold": {"auto": False, "count": 0},
            "trapping": {"enabled": False}, "training": {"count": 0},
            "checks": {"qualification": False, "volume": False, "stereo": False,
                       "environment": False},
            "scale_order": "background_first", "platform": "generic",
            "completion_code": "P835OK"}


def _answer_clip(page, scores: dict[str, int], *, keyboard: bool) -> None:
    title = _heading(page).inner_text()
    fieldsets = page.locator("#step fieldset")
    expect(fieldsets).to_have_count(3)
    assert [f.get_attribute("data-scale") for f in fieldsets.all()] == ["bak", "sig", "ovrl"]
    expect(fieldsets.nth(0).locator("legend")).to_contain_text("BACKGROUND")
    first = fieldsets.nth(0).locator("button[data-score='5']")
    expect(first).to_be_disabled()
    page.get_by_role("button", name=re.compile("Play clip")).click()
    expect(first).to_be_enabled()
    for k, scale in enumerate(("bak", "sig", "ovrl")):
        if keyboard:
            page.keyboard.press(str(scores[scale]))
        else:
            fieldsets.nth(k).locator(f"button[data-score='{scores[scale]}']").click()
    expect(_heading(page)).not_to_have_text(title)


@pytest.mark.parametrize("rater", ["phone", "desktop"], indirect=True)
def test_p835_session_keyboard_reload_resume_finish(rater, app_server):
    page = rater
    test_id = _create_test(app_server, _p835_spec(f"Browser P835 {uuid.uuid4().hex[:6]}"))
    participant = f"p835-{uuid.uuid4().hex[:8]}"
    page.goto(f"{app_server.url}/rate/{test_id}?participant={participant}")
    expect(_heading(page)).to_contain_text("Browser P835")
    page.get_by_role("button", name="I agree").click()
    items = _session(app_server, test_id, participant)["items"]
    total = len(items)
    answers = [{"sig": 1 + k % 5, "bak": 5 - k % 5, "ovrl": 2 + k % 4} for k in range(total)]
    _no_horizontal_scroll(page)
    _answer_clip(page, answers[0], keyboard=True)
    page.reload()  # resumes at clip 2: the first answer is stored
    expect(page.locator("#progress")).to_have_text(f"1 of {total} answered")
    expect(_heading(page)).to_have_text(f"Clip 2 of {total}")
    for k in range(1, total):
        _answer_clip(page, answers[k], keyboard=k % 2 == 0)
    expect(page.locator("#completion-code")).to_have_text("P835OK")
    token = _token(page, test_id, participant)
    done = httpx.get(f"{app_server.url}/api/sessions/{token}", timeout=60).json()
    assert [i["scores"] for i in done["items"]] == answers
    results = httpx.get(f"{app_server.url}/api/tests/{test_id}/results",
                        headers=app_server.headers(), timeout=60).json()
    assert set(results["scales"]) == {"sig", "bak", "ovrl"}
