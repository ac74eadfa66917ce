"""A DCR session in a real browser: the reference (A) and the processed sample (B) both
played before the five degradation grades unlock, answered with the keyboard and the mouse,
a reload that resumes at the first open item, and the finish, on a phone and a desktop."""

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


def _dcr_spec(name: str) -> dict:
    return {"name": name, "method": "dcr",
            "clips": {"dataset": "demo", "systems": ["unprocessed"]}, "votes_per_clip": 5,
            "clips_per_session": 3, "gold": {"auto": False, "count": 0},
            "trapping": {"enabled": False}, "training": {"count": 0},
            "checks": {"qualification": False, "volume": False, "stereo": False,
                       "environment": False},
            "platform": "generic", "completion_code": "DCR0K"}


def _grade(page, score: int, *, keyboard: bool) -> None:
    title = _heading(page).inner_text()
    grade = page.locator(f"#step button[data-value='{score}']")
    expect(page.locator("#step legend")).to_contain_text("degradation of B")
    expect(grade).to_be_disabled()
    page.get_by_role("button", name=re.compile("Play A")).click()
    expect(page.get_by_role("button", name=re.compile("Play A again"))).to_be_visible()
    expect(grade).to_be_disabled()  # the processed sample is still unheard
    page.get_by_role("button", name=re.compile("Play B")).click()
    expect(grade).to_be_enabled()
    if keyboard:
        page.keyboard.press(str(score))
    else:
        grade.click()
    expect(_heading(page)).not_to_have_text(title)


@pytest.mark.parametrize("rater", ["phone", "desktop"], indirect=True)
def test_dcr_session_keyboard_reload_resume_finish(rater, app_server):
    page = rater
    test_id = _create_test(app_server, _dcr_spec(f"Browser DCR {uuid.uuid4().hex[:6]}"))
    participant = f"dcr-{uuid.uuid4().hex[:8]}"
    page.goto(f"{app_server.url}/rate/{test_id}?participant={participant}")
    expect(_heading(page)).to_contain_text("Browser DCR")
    page.get_by_role("button", name="I agree").click()
    total = len(_session(app_server, test_id, participant)["items"])
    grades = [5 - k % 5 for k in range(total)]
    _no_horizontal_scroll(page)
    _grade(page, grades[0], keyboard=True)
    page.reload()
    expect(page.locator("#progress")).to_have_text(f"1 of {total} answered")
    expect(_heading(page)).to_have_text(f"Pair 2 of {total}")
    for k in range(1, total):
        _grade(page, grades[k], keyboard=k % 2 == 0)
    expect(page.locator("#completion-code")).to_have_text("DCR0K")
    token = _token(page, test_id, participant)
    done = httpx.get(f"{app_server.url}/api/sessions/{token}", timeout=60).json()
    assert [i["score"] for i in done["items"]] == grades
    results = httpx.get(f"{app_server.url}/api/tests/{test_id}/results",
                        headers=app_server.headers(), timeout=60).json()
    assert sum(s["n"] for s in results["systems"]) in (0, total)  # counted once decided
