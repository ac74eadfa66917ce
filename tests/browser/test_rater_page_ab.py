"""A crowd rater in a real browser on a comparison test: pair items of docs/rating-api.md
("Comparison methods: CCR, A/B and ranking").

The admin creates and opens a small A/B test on the demo set through the JSON API; the rater
hears both sides of a pair to their end, answers, reloads, resumes at the second pair and
finishes with the completion code; the server holds every answer. A CCR test checks the seven
comparison answers and the keyboard.
"""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.test_rater_page import (
    _heading,
    _no_horizontal_scroll,
    _session,
)

pytestmark = pytest.mark.browser

NO_CHECKS = {"qualification": False, "volume": False, "stereo": False, "environment": False}




def _pair_spec(name: str, method: str, **overrides) -> dict:
    # Systems every fresh demo library has (no enhancement run needed): the clean reference
    # against the degraded input.
    spec = {
        "name": name,
        "method": method,
        "pairs": {"dataset": "demo", "systems": ["reference", "unprocessed"]},
        "votes_per_pair": 5,
        "pairs_per_session": 3,
        "training": {"count": 0},
        "trapping": {"enabled": False},
        "checks": {**NO_CHECKS, "volume": True},
        "sessions_per_rater": 3,
        "platform": "generic",
        "completion_code": "PAIRS42",
    }
    if method == "ab":
        spec["pairs"]["no_preference"] = True
    else:
        spec["pairs"] = {"dataset": "demo", "systems": ["unprocessed"], "reference": "clean"}
    spec.update(overrides)
    return spec


def _create_comparison_test(app_server, spec: dict) -> int:
    """Create and open the test; skip only while the server refuses the method itself."""
    created = httpx.post(f"{app_server.url}/api/tests", json=spec, headers=app_server.headers(),
                         timeout=120)
    method = spec["method"]
    refused = rf"\bmethod\b.*\b{method}\b|\b{method}\b.*\bmethod\b"
    if created.status_code == 422 and re.search(refused, created.text, re.I | re.S):
        pytest.skip(f"POST /api/tests refuses method '{method}' "
                    f"(422: {created.json().get('error')}): the server side of the "
                    "comparison methods (docs/rating-api.md) is not there yet")
    assert created.status_code == 201, created.text
    test_id = created.json()["id"]
    opened = httpx.post(f"{app_server.url}/api/tests/{test_id}/open",
                        headers=app_server.headers(), timeout=60)
    assert opened.status_code == 200, opened.text
    return test_id


def _volume_check(page) -> None:
    page.get_by_role("button", name="I agree").click()
    expect(_heading(page)).to_have_text("Set your volume")
    page.get_by_role("button", name=re.compile("Play sample")).click()
    page.get_by_role("button", name="I adjusted the volume").click()


def _play_sides(page, answers) -> None:
    """Play every side shown; the answers stay locked until the last one ended."""
    sides = page.locator("#step .player .play")
    count = sides.count()
    assert count in (2, 3), f"a pair shows {count} players"
    for k in range(count):
        for answer in answers.all():
            expect(answer).to_be_disabled()
        sides.nth(k).click()
        expect(sides.nth(k)).to_contain_text("again")
    for answer in answers.all():
        expect(answer).to_be_enabled()


def _answer_pair(page, label: str) -> str:
    title = _heading(page).inner_text()
    answers = page.locator("#step .choices button")
    _play_sides(page, answers)
    page.get_by_role("button", name=re.compile(re.escape(label))).click()
    expect(_heading(page)).not_to_have_text(title)
    return title


def test_ab_rater_answers_reloads_resumes_and_finishes(rater, admin_page, app_server):
    spec = _pair_spec(f"Browser A/B {uuid.uuid4().hex[:6]}", "ab")
    spec["pairs"]["show_original"] = True  # a third player, which must be heard too
    test_id = _create_comparison_test(app_server, spec)
    participant = f"ab-{uuid.uuid4().hex[:8]}"
    page = rater
    page.goto(f"{app_server.url}/rate/{test_id}?participant={participant}")
    expect(_heading(page)).to_contain_text("Browser A/B")
    _volume_check(page)

    body = _session(app_server, test_id, participant)
    assert body["test"]["method"] == "ab"
    labels = {c["value"]: c["label"] for c in body["test"]["choices"]}
    assert set(labels) == {"A", "B", "none"}, labels
    items = body["items"]
    total = len(items)
    assert total >= 3 and all("audio_url_a" in i and "audio_url_b" in i for i in items)
    progress = page.locator("#progress")
    expect(progress).to_have_text(f"0 of {total} answered")
    expect(_heading(page)).to_have_text(f"Pair 1 of {total}")
    expect(page.locator("#step legend")).to_have_text(body["test"]["question"])
    expect(page.locator("#step .choices button")).to_have_count(3)
    _no_horizontal_scroll(page)

    choices = [("A", "B", "none")[k % 3] for k in range(total)]
    _answer_pair(page, labels[choices[0]])
    expect(progress).to_have_text(f"1 of {total} answered")
    expect(page.locator("#status")).to_contain_text(labels[choices[0]])

    # Reload: no consent or volume check again, the second pair, and its sides must be
    # heard again on this page load.
    page.reload()
    expect(_heading(page)).to_have_text(f"Pair 2 of {total}")
    expect(progress).to_have_text(f"1 of {total} answered")
    kept = _session(app_server, test_id, participant)["items"]
    assert [i["item"] for i in kept] == [i["item"] for i in items]
    assert kept[0]["answered"] and not any(i["answered"] for i in kept[1:])

    # The keyboard: "N" for no preference, "A" / "B" for the sides.
    title = _heading(page).inner_text()
    _play_sides(page, page.locator("#step .choices button"))
    page.keyboard.press({"A": "a", "B": "b", "none": "n"}[choices[1]])
    expect(_heading(page)).not_to_have_text(title)
    expect(page.locator("#status")).to_contain_text(labels[choices[1]])
    for k in range(2, total):
        _answer_pair(page, labels[choices[k]])
    expect(page.locator("#completion-code")).to_have_text("PAIRS42")
    expect(progress).to_have_text(f"{total} of {total} answered")

    token = page.evaluate("key => localStorage.getItem(key)",
                          f"rate:done:{test_id}:{participant}")
    done = httpx.get(f"{app_server.url}/api/sessions/{token}", timeout=60).json()
    assert done["status"] == "submitted"
    assert all(i["answered"] for i in done["items"])
    stored = [i.get("choice") for i in done["items"]]
    if any(c is not None for c in stored):  # the contract does not say the body echoes them
        assert stored == choices

    _admin_sees_the_comparison_view(admin_page, app_server, test_id)


def _admin_sees_the_comparison_view(page, app_server, test_id: int) -> None:
    """The Listening tests tab shows the ranking, the win matrix and the pairs; selecting a
    pair puts both systems' clips of one input in the players."""
    (session,) = httpx.get(f"{app_server.url}/api/tests/{test_id}/sessions",
                           headers=app_server.headers(), timeout=60).json()["sessions"]
    if session["qc_status"] != "accepted":  # 16x playback looks unheard to quality control
        decided = httpx.post(
            f"{app_server.url}/api/tests/{test_id}/sessions/{session['session_id']}/decision",
            json={"status": "accepted", "reason": "played at 16x by the browser test",
                  "admin": "browser test"}, headers=app_server.headers(), timeout=60)
        assert decided.status_code == 200, decided.text
    page.get_by_role("tab", name="Listening tests").click()
    page.locator("#test-id input").fill(str(test_id))
    page.locator("#test-id input").press("Enter")
    expect(page.locator("#test-summary")).to_contain_text("AB", timeout=30_000)
    view = page.locator("#comparison-view")
    expect(view).to_be_visible()
    expect(page.locator("#comparison-ranking .js-plotly-plot")).to_be_visible()
    expect(page.locator("#comparison-win-matrix .js-plotly-plot")).to_be_visible()
    expect(page.locator("#acr-view")).to_be_hidden()  # no MOS figures for a comparison
    pairs = page.locator("#comparison-pairs")
    expect(pairs).to_contain_text("unprocessed")
    pairs.get_by_text("unprocessed", exact=True).filter(visible=True).first.click()
    expect(page.locator("#comparison-pair-note")).to_contain_text("inputs")
    for side in ("a", "b"):
        expect(page.locator(f"#comparison-audio-{side} audio, "
                            f"#comparison-audio-{side} [data-testid=waveform-controls]"
                            ).first).to_be_attached(timeout=30_000)


def test_ccr_rater_sees_seven_answers_and_uses_the_keyboard(rater, app_server):
    test_id = _create_comparison_test(app_server, _pair_spec(
        f"Browser CCR {uuid.uuid4().hex[:6]}", "ccr", pairs_per_session=2,
        checks=NO_CHECKS))
    participant = f"ccr-{uuid.uuid4().hex[:8]}"
    page = rater
    sent: list[dict] = []
    page.on("request", lambda r: sent.append(r.post_data_json)
            if r.method == "PUT" and "/votes/" in r.url else None)
    page.goto(f"{app_server.url}/rate/{test_id}?participant={participant}")
    page.get_by_role("button", name="I agree").click()
    body = _session(app_server, test_id, participant)
    scale = sorted(body["test"]["scale"], key=lambda s: s["value"])
    assert [s["value"] for s in scale] == list(range(-3, 4))
    total = len(body["items"])
    expect(_heading(page)).to_have_text(f"Pair 1 of {total}")
    buttons = page.locator("#step .scale button")
    expect(buttons).to_have_count(7)
    expect(buttons.first).to_contain_text(scale[-1]["label"])  # "Much better" first
    page.keyboard.press("7")  # ignored: nothing heard yet
    page.wait_for_timeout(300)
    expect(page.locator("#progress")).to_have_text(f"0 of {total} answered")
    _play_sides(page, buttons)
    page.keyboard.press("6")  # the sixth answer from the worst: "Better", +2
    expect(_heading(page)).to_have_text(f"Pair 2 of {total}")
    expect(page.locator("#status")).to_contain_text(scale[5]["label"])
    _play_sides(page, buttons)
    page.keyboard.press("ArrowUp")  # from nothing focused: the last answer, "Much worse"
    page.keyboard.press("Enter")
    expect(page.locator("#completion-code" if total == 2 else "#progress")).to_be_visible()
    votes = [v for v in sent if v]
    assert [v["score"] for v in votes[:2]] == [2, -3], votes
    assert all(v["played_to_end"] is True and v["elapsed_ms"] >= 0 for v in votes)
