"""A MUSHRA test (ITU-R BS.1534-3) on the rater page in a real browser: 4 systems, the hidden
reference and two low-pass anchors on 6 demo inputs, every page decoded up front and played by
one Web Audio transport. The rater switches samples (the position is kept), scores one page
with the mouse and the others with the keyboard, reloads half-way through a page, resumes with
what was done kept, and finishes; the scores the server stored are the ones given, and
post-screening accepts the session (the hidden reference was scored high); the admin's
Listening tests tab draws the MUSHRA figure, the per-input breakdown and the screening."""

from __future__ import annotations

import itertools
import uuid

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, PHONE, keep_screenshot_if_failed
from tests.browser.test_rater_page import _create_test, _heading, _no_horizontal_scroll
from tests.mushra_library import DATASET, SYSTEMS, mushra_library

pytestmark = pytest.mark.browser

HONEST = {"hidden_reference": 100, "anchor_3500": 12, "anchor_7000": 35, "unprocessed": 41,
          "mmse_lsa": 63, "spectral_gating": 57, "wpe": 48}
ROLE_WORDS = ("anchor", "hidden_ref", "mmse", "wpe", "unprocessed", "gating")


@pytest.fixture(scope="module")
def library(app_server):
    sessions, engine = mushra_library(app_server)
    yield sessions
    engine.dispose()


@pytest.fixture
def desktop(browser, request):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    keep_screenshot_if_failed(page, request)
    context.close()


def _roles(sessions, items: list[dict]) -> dict[str, str]:
    """Item id -> what it is (from the database: the page and the API never say)."""
    from sqlalchemy import select

    from db.models import ListeningTestItem, SessionItem

    with sessions() as session:
        rows = session.execute(select(SessionItem.public_id, ListeningTestItem.condition).join(
            ListeningTestItem, SessionItem.test_item_id == ListeningTestItem.id).where(
            SessionItem.public_id.in_([i["item"] for i in items]))).all()
    return dict(rows)


def _body(app_server, test_id: int, participant: str) -> dict:
    reply = httpx.post(f"{app_server.url}/api/tests/{test_id}/sessions",
                       json={"participant_id": participant}, timeout=60)
    assert reply.status_code == 200, reply.text
    return reply.json()


def _state(page) -> dict:
    return page.evaluate("() => window.ratePlayer.state()")


def _wait_loaded(page, title: str) -> None:
    expect(_heading(page)).to_have_text(title)
    expect(page.locator("#step .mushra-grid")).to_be_visible()


def _slider(page, k: int):
    return page.locator(f"#step .column[data-column='{k}'] input[type=range]")


def _value(page, k: int):
    return page.locator(f"#step .column[data-column='{k}'] .value")


def _listen(page, k: int, *, key: bool) -> None:
    """Select sample k (key or button) and play until its slider unlocks."""
    if key:
        page.keyboard.press(str(k))
    else:
        page.locator(f"#step .stimulus[data-stimulus='{k}']").click()
    expect(_slider(page, k)).to_be_enabled(timeout=20_000)


def _score_by_keys(page, k: int, score: int) -> None:
    """From unscored: Page Up adds 10 (the first one gives 10), arrow up 1."""
    for _ in range(score // 10):
        page.keyboard.press("PageUp")
    for _ in range(score % 10):
        page.keyboard.press("ArrowUp")
    expect(_value(page, k)).to_have_text(str(score))


def _score_by_mouse(page, k: int, score: int) -> int:
    """Click the slider where ``score`` lies (bottom 0, top 100); returns what it took."""
    box = _slider(page, k).bounding_box()
    inset = 8  # half the thumb: the track's ends are the scale's ends
    y = box["y"] + inset + (1 - score / 100) * (box["height"] - 2 * inset)
    page.mouse.click(box["x"] + box["width"] / 2, y)
    expect(_value(page, k)).not_to_have_text("–")
    return int(_value(page, k).inner_text())


def test_mushra_page_in_the_browser(desktop, browser, app_server, library, request,
                                    admin_page):
    test_id = _create_test(app_server, {
        "name": f"Browser MUSHRA {uuid.uuid4().hex[:6]}", "method": "mushra",
        "pairs": {"dataset": DATASET, "systems": SYSTEMS, "reference": "clean"},
        "listeners_per_page": 1, "pages_per_session": 6, "gold": {"count": 0},
        "training": {"count": 0}, "platform": "generic", "completion_code": "MUSHRA7",
        "checks": {"qualification": False, "volume": False, "stereo": False,
                   "environment": False}})
    participant = f"mushra-{uuid.uuid4().hex[:8]}"
    link = f"{app_server.url}/rate/{test_id}?participant={participant}"
    page = desktop
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(link)
    page.get_by_role("button", name="I agree").click()
    _wait_loaded(page, "Page 1 of 6")
    expect(page.locator("#progress")).to_have_text("0 of 6 pages done")

    body = _body(app_server, test_id, participant)
    pages: dict[int, list[dict]] = {}
    for item in body["items"]:
        pages.setdefault(item["page"], []).append(item)
    roles = _roles(library, body["items"])
    assert sorted(pages) == [1, 2, 3, 4, 5, 6]
    assert all(sorted(roles[i["item"]] for i in p) == sorted(HONEST) for p in pages.values())

    # Blind: seven numbered samples and the reference; no role in the page or its requests.
    stimuli = page.locator("#step .stimulus")
    expect(stimuli).to_have_count(8)
    seen = page.content() + " ".join(requested)
    assert not any(w in seen for w in ROLE_WORDS)
    # the open reference is fetched last, so the server's warm copy of its sound cannot make
    # the hidden reference answer faster than the other samples
    audio = [u for u in requested if "/audio" in u]
    assert len(audio) == 8 and audio[-1].endswith("side=b")
    assert not any(u.endswith("side=b") for u in audio[:-1])
    for k in range(1, 8):
        expect(_slider(page, k)).to_be_disabled()  # nothing played yet
    next_button = page.get_by_role("button", name="Save and go to the next page")
    expect(next_button).to_be_disabled()
    expect(page.locator("#step details.keys li").first).to_be_visible()  # keys listed

    # One transport: switching keeps the position (within 50 ms) and playback goes on.
    page.locator("#step .stimulus[data-stimulus='1']").click()
    page.wait_for_function("() => window.ratePlayer.state().position > 0.4")
    for target in ("2", "R", "5", "1"):
        before, after = page.evaluate("""target => {
            const before = window.ratePlayer.state();
            document.querySelector(`#step .stimulus[data-stimulus='${target}']`).click();
            return [before, window.ratePlayer.state()];
        }""", target)
        assert after["selected"] == (0 if target == "R" else int(target))
        assert before["playing"] and after["playing"]
        assert abs(after["position"] - before["position"]) < 0.05, (before, after)
        page.wait_for_function("p => { const s = window.ratePlayer.state(); "
                               "return !s.playing || s.position > p + 0.05; }",
                               arg=after["position"])

    # A loop over a marked region: [ at one point, ] 0.4 s later; playback then stays inside
    # it and wraps around; L plays the whole sample again.
    page.wait_for_function("() => { const p = window.ratePlayer.state().position; "
                           "return p > 0.2 && p < 0.8; }")
    page.keyboard.press("[")
    start = _state(page)["loop"]["start"]
    page.wait_for_function("s => window.ratePlayer.state().position > s + 0.4", arg=start)
    page.keyboard.press("]")
    loop = _state(page)["loop"]
    assert loop["start"] == start and 0.4 <= loop["end"] - start < 1.0
    seen = page.evaluate("""async () => {
        const positions = [];
        for (let k = 0; k < 60; k += 1) {
            positions.push(window.ratePlayer.state().position);
            await new Promise((resolve) => setTimeout(resolve, 25));
        }
        return positions;
    }""")
    assert all(loop["start"] - 0.01 <= p <= loop["end"] + 0.01 for p in seen), seen
    assert any(b < a for a, b in itertools.pairwise(seen))  # it wrapped around
    page.keyboard.press("l")
    assert _state(page)["loop"] is None

    # Page 1 with the mouse: play each sample, click its slider where the score lies.
    given: dict[str, int] = {}
    for k, item in enumerate(pages[1], start=1):
        _listen(page, k, key=False)
        given[item["item"]] = _score_by_mouse(page, k, HONEST[roles[item["item"]]] - 3
                                              if roles[item["item"]] == "hidden_reference"
                                              else HONEST[roles[item["item"]]])
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "mushra-desktop.png"), full_page=True)
    expect(next_button).to_be_enabled()
    next_button.click()
    _wait_loaded(page, "Page 2 of 6")
    expect(page.locator("#progress")).to_have_text("1 of 6 pages done")

    # Page 2 with the keyboard only: number keys select and play, Page Up / arrows score,
    # space pauses and plays, N saves the page. Focus starts on the Play button, which must
    # not take the same Space press as a click too (that would stop it again).
    expect(page.locator("#step .transport .play")).to_be_focused()
    page.keyboard.press(" ")
    assert _state(page)["playing"]
    page.keyboard.press(" ")
    assert not _state(page)["playing"]
    for k, item in enumerate(pages[2], start=1):
        _listen(page, k, key=True)
        _score_by_keys(page, k, HONEST[roles[item["item"]]])
        given[item["item"]] = HONEST[roles[item["item"]]]
    page.keyboard.press(" ")
    expect(page.locator("#step .transport .play")).to_have_text("▶ Play")
    assert not _state(page)["playing"]
    page.keyboard.press(" ")
    expect(page.locator("#step .transport .play")).to_have_text("❚❚ Pause")
    page.keyboard.press("n")
    _wait_loaded(page, "Page 3 of 6")

    # Page 3: three samples scored, then a reload; the scores and what was played stay.
    half = pages[3][:3]
    for k, item in enumerate(half, start=1):
        _listen(page, k, key=True)
        _score_by_keys(page, k, HONEST[roles[item["item"]]])
    page.reload()
    _wait_loaded(page, "Page 3 of 6")
    expect(page.locator("#progress")).to_have_text("2 of 6 pages done")
    for k, item in enumerate(half, start=1):
        expect(_value(page, k)).to_have_text(str(HONEST[roles[item["item"]]]))
        expect(_slider(page, k)).to_be_enabled()  # heard before the reload
    expect(_value(page, 4)).to_have_text("–")
    stored = _body(app_server, test_id, participant)["items"]
    assert not any(i["answered"] for i in stored if i["page"] == 3)  # sent on moving on

    # The same link on a phone: the same page (the scores not sent yet stay in the first
    # browser), which fits the screen.
    phone = browser.new_context(viewport=PHONE)
    small = phone.new_page()
    try:
        small.goto(link)
        small.get_by_role("button", name="I agree").click()  # consent is per browser
        _wait_loaded(small, "Page 3 of 6")
        _no_horizontal_scroll(small)
        small.locator("#step details.keys summary").click()  # the keys, listed on the page
        expect(small.locator("#step details.keys li")).to_have_count(6)
        small.screenshot(path=str(ARTIFACTS / "mushra-phone.png"), full_page=True)
    finally:
        keep_screenshot_if_failed(small, request)
        phone.close()

    for k, item in enumerate(pages[3], start=1):
        if k > len(half):
            _listen(page, k, key=True)
            _score_by_keys(page, k, HONEST[roles[item["item"]]])
        given[item["item"]] = HONEST[roles[item["item"]]]
    page.keyboard.press("n")
    for number in (4, 5, 6):
        _wait_loaded(page, f"Page {number} of 6")
        for k, item in enumerate(pages[number], start=1):
            _listen(page, k, key=True)
            _score_by_keys(page, k, HONEST[roles[item["item"]]])
            given[item["item"]] = HONEST[roles[item["item"]]]
        page.keyboard.press("n")
    expect(_heading(page)).to_have_text("Thank you!")
    expect(page.locator("#completion-code")).to_have_text("MUSHRA7")
    drafts = page.evaluate("() => Object.keys(localStorage)"
                           ".filter(k => k.startsWith('rate:page:'))")
    assert drafts == []  # each page's draft went once its scores were stored

    # What the server stored is what was given, each stimulus once; the session passed
    # post-screening, and the hidden reference leads the results.
    done = httpx.get(f"{app_server.url}/api/sessions/{body['session']}", timeout=60).json()
    assert done["status"] == "submitted"
    assert {i["item"]: i["score"] for i in done["items"]} == given
    results = httpx.get(f"{app_server.url}/api/tests/{test_id}/results",
                        headers=app_server.headers(), timeout=60).json()
    assert results["sessions"]["accepted"] == 1
    systems = {r["system"]: r for r in results["systems"]}
    assert all(r["n"] == 6 for r in systems.values())
    assert systems["hidden_reference"]["mean"] > 90 > systems["anchor_7000"]["mean"]

    # The admin's dashboard: the MUSHRA figure, per input, the listeners' screening.
    admin = admin_page
    admin.get_by_role("tab", name="Listening tests").click()
    admin.locator("#test-id input").fill(str(test_id))
    admin.locator("#test-id input").press("Enter")
    for plot in ("score-boxes", "score-inputs", "score-screening"):
        expect(admin.locator(f"#{plot} .js-plotly-plot")).to_be_visible(timeout=60_000)
    expect(admin.locator("#score-summary")).to_contain_text("MUSHRA")
    expect(admin.locator("#test-summary")).to_contain_text("42 stimuli")
    admin.locator("#score-view").screenshot(path=str(ARTIFACTS / "mushra-dashboard.png"))
