"""A crowd rater in a real browser: the rater page /rate/{test_id} against the real rating API.

The admin creates and opens a small ACR test on the demo set through the JSON API; the rater
gets through consent, the set-up checks and the clips, reloads half-way, resumes where they
left off, and finishes with a completion code. Everything the page shows comes from the
server, so these tests also hold the page to docs/rating-api.md.
"""

from __future__ import annotations

import io
import re
import uuid

import httpx
import pandas as pd
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser



def _spec(name: str, **overrides) -> dict:
    spec = {
        "name": name,
        "method": "acr",
        "clips": {"dataset": "demo"},
        "votes_per_clip": 5,
        "clips_per_session": 4,
        "gold": {"auto": True, "count": 1, "tolerance": 1},
        "trapping": {"enabled": False},
        "training": {"count": 2},
        "checks": {"qualification": True, "volume": True, "stereo": True, "environment": True},
        "sessions_per_rater": 3,
        "platform": "generic",
        "completion_code": "BROWSER42",
    }
    spec.update(overrides)
    return spec


def _create_test(app_server, spec: dict, *, open_it: bool = True) -> int:
    created = httpx.post(f"{app_server.url}/api/tests", json=spec, headers=app_server.headers(),
                         timeout=120)
    if created.status_code == 404:
        pytest.skip("POST /api/tests answered 404: the listening-test API of "
                    "docs/rating-api.md (webapp/rating_api.py) is not served yet")
    assert created.status_code == 201, created.text
    test_id = created.json()["id"]
    if open_it:
        opened = httpx.post(f"{app_server.url}/api/tests/{test_id}/open",
                            headers=app_server.headers(), timeout=60)
        assert opened.status_code == 200, opened.text
    return test_id


def _session(app_server, test_id: int, participant: str) -> dict:
    """The participant's session as the server holds it (200: the same unfinished one)."""
    reply = httpx.post(f"{app_server.url}/api/tests/{test_id}/sessions",
                       json={"participant_id": participant}, timeout=60)
    assert reply.status_code == 200, reply.text
    return reply.json()




def _heading(page):
    return page.locator("#step h1")


def _no_horizontal_scroll(page) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"page is wider than the phone: {width}"


def _answer_checks(page) -> None:
    """Consent, then whichever set-up checks the server lists, in its order."""
    page.get_by_role("button", name="I agree").click()
    while True:
        title = _heading(page)
        expect(title).not_to_have_text("Loading…")
        text = title.inner_text()
        if text.startswith("A few questions"):
            for fieldset in page.locator("#step fieldset").all():
                fieldset.get_by_role("radio").first.check()
            page.get_by_role("button", name="Continue").click()
        elif text.startswith("Set your volume"):
            done = page.get_by_role("button", name="I adjusted the volume")
            expect(done).to_be_disabled()
            page.get_by_role("button", name=re.compile("Play sample")).click()
            expect(done).to_be_enabled()
            done.click()
        elif text.startswith("Check your headphones"):
            page.get_by_role("button", name=re.compile("Play sample")).click()
            go = page.get_by_role("button", name="Continue")
            expect(go).to_be_enabled()
            page.get_by_label("Digit in the LEFT ear").fill("3")
            page.get_by_label("Digit in the RIGHT ear").fill("7")
            go.click()
        elif text.startswith("Listening check"):
            page.get_by_role("button", name=re.compile("Play A")).click()
            expect(page.get_by_role("button", name=re.compile("Play A again"))).to_be_visible()
            page.get_by_role("button", name=re.compile("Play B")).click()
            choice = page.locator("#step .choices button").first
            expect(choice).to_be_enabled()
            choice.click()
        else:
            return
        expect(title).not_to_have_text(text)


def _rate_current_clip(page, score: int, *, use_keyboard: bool = False) -> str:
    """Play the clip shown, wait until it ended, vote; returns the heading that was voted on."""
    title = _heading(page).inner_text()
    button = page.locator(f"#step .scale button[data-score='{score}']")
    expect(button).to_be_disabled()
    page.get_by_role("button", name=re.compile("Play clip")).click()
    expect(button).to_be_enabled()
    if use_keyboard:
        page.keyboard.press(str(score))
    else:
        button.click()
    expect(_heading(page)).not_to_have_text(title)
    return title


def test_rater_rates_reloads_resumes_and_finishes(rater, admin_page, app_server):
    test_id = _create_test(app_server, _spec(f"Browser ACR {uuid.uuid4().hex[:6]}"))
    participant = f"browser-{uuid.uuid4().hex[:8]}"
    page = rater
    page.goto(f"{app_server.url}/rate/{test_id}?participant={participant}")
    expect(_heading(page)).to_contain_text("Browser ACR")
    _no_horizontal_scroll(page)
    _answer_checks(page)

    items = _session(app_server, test_id, participant)["items"]
    total = len(items)
    training = [i for i in items if i["phase"] == "training"]
    rating = [i for i in items if i["phase"] == "rating"]
    assert training and rating and total >= 4
    progress = page.locator("#progress")
    expect(progress).to_have_text(f"0 of {total} answered")
    expect(_heading(page)).to_have_text(f"Training clip 1 of {len(training)}")
    expect(page.locator("#step")).to_contain_text("Training")
    _no_horizontal_scroll(page)

    # Rate a little more than half, with the mouse and with the keyboard.
    half = total // 2 + 1
    scores = [(k % 5) + 1 for k in range(total)]
    for k in range(half):
        _rate_current_clip(page, scores[k], use_keyboard=k % 2 == 1)
        expect(progress).to_have_text(f"{k + 1} of {total} answered")

    # Reload: no consent or checks again, straight to the first unanswered clip.
    page.reload()
    expect(progress).to_have_text(f"{half} of {total} answered")
    first_open = half - len(training) + 1
    expect(_heading(page)).to_have_text(f"Clip {first_open} of {len(rating)}")
    kept = _session(app_server, test_id, participant)["items"]
    assert [i["item"] for i in kept] == [i["item"] for i in items]
    assert [i.get("score") for i in kept[:half]] == scores[:half]
    assert not any(i["answered"] for i in kept[half:])

    for k in range(half, total):
        _rate_current_clip(page, scores[k])
    code = page.locator("#completion-code")
    expect(code).to_have_text("BROWSER42")
    expect(_heading(page)).to_have_text("Thank you!")
    expect(progress).to_have_text(f"{total} of {total} answered")

    token = _token(page, test_id, participant)
    done = httpx.get(f"{app_server.url}/api/sessions/{token}", timeout=60).json()
    assert done["status"] == "submitted"
    assert [i.get("score") for i in done["items"]] == scores

    # A reload after finishing shows the code again rather than starting another session.
    page.reload()
    expect(code).to_have_text("BROWSER42")

    _admin_reviews_the_test(admin_page, app_server, test_id, scores[len(training):])


def _admin_reviews_the_test(page, app_server, test_id: int, rating_scores: list[int]) -> None:
    """The admin sees the session and its decision, accepts it (the 16x playback made it
    look unheard), then sees the MOS and downloads the per-clip votes."""
    page.get_by_role("tab", name="Listening tests").click()
    page.locator("#test-id input").fill(str(test_id))
    page.locator("#test-id input").press("Enter")
    summary = page.locator("#test-summary")
    expect(summary).to_contain_text("submitted 1", timeout=30_000)
    (session,) = httpx.get(f"{app_server.url}/api/tests/{test_id}/sessions",
                           headers=app_server.headers(), timeout=60).json()["sessions"]
    if session["qc_status"] != "accepted":
        page.get_by_text("Override a decision (logged)").click()
        page.locator("#override-session input").fill(str(session["session_id"]))
        page.locator("#override-reason textarea, #override-reason input").first.fill(
            "played at 16x speed by the browser test")
        page.locator("#override-button").click()
        expect(page.locator("#override-result")).to_contain_text("-> accepted, logged")
    expect(summary).to_contain_text("accepted 1")
    expect(page.locator("#test-mos-plot .js-plotly-plot")).to_be_visible()
    page.locator("#test-export").click()
    link = page.locator("#test-export-file a[href$='votes_per_clip.csv']").first
    expect(link).to_be_attached(timeout=30_000)
    table = pd.read_csv(io.StringIO(page.request.get(link.get_attribute("href")).text()))
    rated = table[table["n"] > 0]
    # Gold votes are left out of the statistics; every other rating vote is there.
    assert 1 <= len(rated) <= len(rating_scores)
    assert set(rated["n"]) == {1}


def _token(page, test_id: int, participant: str) -> str:
    """The finished session's token, which the page remembers for showing the code again."""
    key = f"rate:done:{test_id}:{participant}"
    token = page.evaluate("key => localStorage.getItem(key)", key)
    assert token, f"the page kept no finished session under {key}"
    return token


def test_vote_buttons_wait_for_the_clip_to_end(rater, app_server):
    test_id = _create_test(app_server, _spec(
        f"Browser no checks {uuid.uuid4().hex[:6]}", training={"count": 1},
        checks={"qualification": False, "volume": False, "stereo": False,
                "environment": False}))
    page = rater
    # No participant id in the link: the page asks for one.
    page.goto(f"{app_server.url}/rate/{test_id}")
    page.get_by_label("Your participant ID").fill(f"typed-{uuid.uuid4().hex[:8]}")
    page.get_by_role("button", name="Start").click()
    page.get_by_role("button", name="I agree").click()
    expect(_heading(page)).to_have_text("Training clip 1 of 1")
    expect(page).to_have_url(re.compile(r"participant=typed-"))

    buttons = page.locator("#step .scale button")
    expect(buttons).to_have_count(5)
    expect(buttons.first).to_contain_text("Excellent")
    for k in range(5):
        expect(buttons.nth(k)).to_be_disabled()
    page.keyboard.press("5")  # ignored: the clip has not been heard
    page.wait_for_timeout(300)
    expect(page.locator("#progress")).to_have_text(re.compile(r"^0 of \d+ answered$"))
    expect(_heading(page)).to_have_text("Training clip 1 of 1")

    # The first try of the vote is lost on the way: the page says so and sends it again.
    sent: list[dict] = []

    def lose_first(route):
        sent.append(route.request.post_data_json)
        if len(sent) == 1:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(re.compile(r"/api/sessions/[^/]+/votes/"), lose_first)
    page.get_by_role("button", name=re.compile("Play clip")).click()
    expect(page.get_by_role("button", name="Excellent")).to_be_enabled()
    page.get_by_role("button", name="Excellent").click()
    expect(page.locator("#status")).to_contain_text("Connection problem")
    expect(_heading(page)).to_have_text(re.compile(r"^Clip 1 of \d+$"))
    assert len(sent) == 2 and sent[0] == sent[1], sent
    assert sent[0]["score"] == 5 and sent[0]["played_to_end"] is True
    assert sent[0]["elapsed_ms"] > 0
    expect(page.locator("#progress")).to_have_text(re.compile(r"^1 of \d+ answered$"))


def test_closed_and_unknown_tests_show_the_servers_sentence(rater, app_server):
    test_id = _create_test(app_server, _spec(f"Browser closed {uuid.uuid4().hex[:6]}"))
    closed = httpx.post(f"{app_server.url}/api/tests/{test_id}/close",
                        headers=app_server.headers(), timeout=60)
    assert closed.status_code == 200, closed.text
    page = rater
    for target in (test_id, 987654):
        expected = httpx.post(f"{app_server.url}/api/tests/{target}/sessions",
                              json={"participant_id": "someone"}, timeout=60)
        assert expected.status_code in (404, 409), expected.text
        page.goto(f"{app_server.url}/rate/{target}?PROLIFIC_PID=someone")
        message = expected.json()["error"]
        expect(page.get_by_role("alert")).to_have_text(re.compile(re.escape(message), re.I))
        expect(_heading(page)).to_have_text("We are sorry")
        expect(page.locator("#step button")).to_have_count(0)


def test_prolific_rater_sees_the_code_then_goes_back_to_prolific(rater, app_server):
    # A local address stands in for Prolific: nothing may leave this machine.
    back = f"{app_server.url}/api/health?cc={{code}}"
    test_id = _create_test(app_server, _spec(
        f"Browser Prolific {uuid.uuid4().hex[:6]}", platform="prolific", redirect_url=back,
        completion_code="PROLIFIC7", clips_per_session=1, training={"count": 0},
        gold={"auto": True, "count": 1, "per_session": 0}, trapping={"enabled": False},
        checks={"qualification": False, "volume": False, "stereo": False,
                "environment": False}))
    page = rater
    page.goto(f"{app_server.url}/rate/{test_id}?PROLIFIC_PID={uuid.uuid4().hex}"
              "&STUDY_ID=s1&SESSION_ID=x1")
    page.get_by_role("button", name="I agree").click()
    expect(_heading(page)).to_have_text("Clip 1 of 1")
    _rate_current_clip(page, 4)
    expect(page.locator("#completion-code")).to_have_text("PROLIFIC7")
    link = page.get_by_role("link", name="Return to Prolific now")
    expect(link).to_have_attribute("href", back.replace("{code}", "PROLIFIC7"))
    page.wait_for_url(re.compile(r"/api/health\?cc=PROLIFIC7$"), timeout=15_000)
