"""The Listening tests tab as a researcher meets it: no empty plots on open, a refused spec
lists every problem without breaking the table, the rater link warns while only this
computer can reach it, and the export list offers the selected test's own files."""

from __future__ import annotations

import json
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser


def _replace_spec(page, spec: dict) -> None:
    page.locator("#test-spec .cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(json.dumps(spec))
    page.locator("#test-create").click()


def test_tab_designs_and_offers_the_tests_own_exports(admin_page):
    page = admin_page
    page.get_by_role("tab", name="Listening tests").click()
    expect(page.locator("#tests-table")).to_be_visible()
    for plot in ("#test-votes-plot", "#test-mos-plot", "#test-histogram"):
        expect(page.locator(plot)).to_be_hidden()

    page.get_by_text("New test from a spec").click()
    bad = {"name": "bad", "method": "ab", "colour": "blue", "votes_per_pair": 3,
           "pairs": {"dataset": "demo", "systems": ["reference", "unprocesed"]}}
    _replace_spec(page, bad)
    message = page.locator("#test-create-message")
    expect(message).to_contain_text("colour", timeout=60_000)
    expect(message).to_contain_text("unprocesed")
    expect(page.locator("#tests-table")).not_to_contain_text("Error")
    expect(page.locator("#test-id")).not_to_contain_text("Error")

    name = f"ab tab {uuid.uuid4().hex[:6]}"
    _replace_spec(page, {"name": name, "method": "ab", "training": {"count": 0},
                         "gold": {"auto": False, "count": 0}, "votes_per_pair": 3,
                         "pairs_per_session": 4,
                         "pairs": {"dataset": "demo", "systems": ["reference", "unprocessed"]}})
    expect(message).to_contain_text("created", timeout=60_000)
    expect(page.locator("#test-summary")).to_contain_text(name, timeout=60_000)
    # the app listens on 127.0.0.1 and no --public-url is set in the tests
    expect(page.locator("#test-summary")).to_contain_text("only this computer can reach",
                                                         timeout=30_000)
    page.locator("#test-export-name input").click()
    options = page.get_by_role("option")
    expect(options.filter(has_text="pairs.csv")).to_have_count(1, timeout=30_000)
    expect(options.filter(has_text="votes_per_clip.csv")).to_have_count(0)
    page.keyboard.press("Escape")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "tests_tab_ab.png"), full_page=True)


def test_designer_form_writes_the_spec_and_creates_the_test(admin_page):
    page = admin_page
    page.get_by_role("tab", name="Listening tests").click()
    page.get_by_text("New test from a spec").click()
    name = f"designed {uuid.uuid4().hex[:6]}"
    page.locator("#designer-name input, #designer-name textarea").first.fill(name)
    page.locator("#designer-dataset input, #designer-dataset textarea").first.fill(
        "demo_categories")
    page.locator("#designer-systems input, #designer-systems textarea").first.fill(
        "unprocessed")
    page.locator("#designer-categories input, #designer-categories textarea").first.fill(
        "child, sung")
    votes = page.locator("#designer-votes input")
    votes.fill("3")
    votes.press("Tab")  # a number box commits its value when it loses focus
    expect(votes).to_have_value("3")
    page.locator("#designer-write").click()
    editor = page.locator("#test-spec")
    expect(editor).to_contain_text(f"name: {name}", timeout=30_000)
    expect(editor).to_contain_text("votes_per_clip: 3", timeout=30_000)
    expect(editor).to_contain_text("categories:", timeout=30_000)
    expect(editor).to_contain_text("- sung")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "tests_tab_designer.png"), full_page=True)
    page.locator("#test-create").click()
    expect(page.locator("#tests-table")).to_contain_text(name, timeout=60_000)
    expect(page.locator("#test-create-message")).to_contain_text("created")
    # two categories' clips: each category's noisy input, output of "unprocessed"
    expect(page.locator("#test-summary")).to_contain_text("2 clips x 3 votes", timeout=60_000)
