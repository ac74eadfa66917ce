"""A researcher in a real browser: log in, see the demo library, upload, play, look."""

from __future__ import annotations

import re

import pytest
import soundfile as sf
from playwright.sync_api import expect

from tests.signals import speech_like

pytestmark = pytest.mark.browser


# Records every text Gradio's hidden status regions announce to screen readers.
WATCH_ANNOUNCEMENTS = """() => {
  window.__announced = [];
  new MutationObserver(() => {
    document.querySelectorAll('.sr-only[role=status]').forEach(el => {
      const text = el.textContent.trim();
      if (text) window.__announced.push(text);
    });
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def _open_clip(page, name: str) -> None:
    page.locator("#clip-table").get_by_text(name, exact=True).filter(visible=True).first.click()
    expect(page.locator("#clip-metadata")).to_contain_text(name)


def test_demo_library_is_listed_after_login(admin_page):
    table = admin_page.locator("#clip-table")
    expect(table).to_contain_text("unprocessed")
    expect(table).to_contain_text("reverb + noise")
    # the last column, predicted MOS, is inside the table's frame, not cut off
    header = table.get_by_role("columnheader", name=re.compile("predicted MOS"))
    column, frame = header.bounding_box(), table.bounding_box()
    assert column["x"] + column["width"] <= frame["x"] + frame["width"] + 1
    admin_page.locator("#filter-system input").click()
    admin_page.get_by_role("option", name="reference", exact=True).click()
    expect(table).to_contain_text("_clean.flac")
    expect(table).not_to_contain_text("unprocessed")


def test_upload_then_find_play_and_see_the_spectrogram(admin_page, tmp_path):
    path = tmp_path / "browser-upload.wav"
    sf.write(path, speech_like(2.0, 24000, seed=7), 24000)
    page = admin_page
    page.evaluate(WATCH_ANNOUNCEMENTS)
    page.get_by_text("Add clips").click()
    page.locator("#upload-files input[type=file]").set_input_files(str(path))
    expect(page.locator("#upload-files")).to_contain_text("browser-upload.wav")
    page.locator("#upload-dataset textarea, #upload-dataset input").first.fill("browser")
    page.locator("#upload-button").click()
    expect(page.locator("#import-report")).to_contain_text("Dataset 'browser': 1 added")
    # the box is empty again, so the next "Add to library" cannot add the same files
    expect(page.locator("#upload-files")).not_to_contain_text("browser-upload.wav")
    page.wait_for_function("window.__announced.length > 0", timeout=15_000)
    announced = page.evaluate("window.__announced")
    assert not [a for a in announced if "common." in a], announced  # words, not i18n keys

    _open_clip(page, "browser-upload.wav")
    metadata = page.locator("#clip-metadata")
    expect(metadata).to_contain_text("24000")
    expect(metadata).to_contain_text("browser")

    # The spectrogram is a drawn plotly heatmap with the axes the issue asks for.
    figure = page.locator("#clip-spectrogram .js-plotly-plot")
    expect(figure).to_be_visible()
    expect(figure.locator(".heatmaplayer image, .heatmaplayer")).not_to_have_count(0)
    expect(figure).to_contain_text("frequency (kHz)")
    expect(figure).to_contain_text("time (s)")

    # Play: the button turns into Pause and the position moves past 0:00.
    player = page.locator("#clip-player")
    player.get_by_role("button", name="Play", exact=True).click()
    expect(player.get_by_role("button", name="Pause", exact=True)).to_be_visible()
    expect(player).to_contain_text(re.compile(r"0:0[1-9]"), timeout=10_000)


def test_filters_narrow_the_table(admin_page):
    page = admin_page
    page.locator("#filter-rate input").click()
    page.get_by_role("option", name="8000", exact=True).click()
    table = page.locator("#clip-table")
    expect(table).to_contain_text("_8k_")
    expect(table).not_to_contain_text("_48k_")
