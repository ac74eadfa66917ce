"""A researcher in a real browser: score the demo dataset from the Data curation tab, type a
threshold and see it on the histograms and in the counts, listen to a file near it (player
and spectrogram), then export the selection."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser


def test_score_threshold_listen_and_export(admin_page):
    page = admin_page
    page.get_by_role("tab", name="Data curation").click()
    page.get_by_text("Score a library dataset").click()
    expect(page.locator("#cur-dataset input")).to_have_value("demo", timeout=30_000)
    for group in ("dnsmos", "plcmos", "sqa"):  # the quick groups are enough here
        page.locator("#cur-groups").get_by_label(group).uncheck()
    page.locator("#cur-score").click()
    expect(page.locator("#cur-score-report")).to_contain_text(
        "Dataset 'demo': 48 files scored", timeout=240_000)
    status = page.locator("#cur-status")
    expect(status).to_contain_text("48 files", timeout=60_000)
    expect(status).to_contain_text("kept 48 files")
    counts = page.locator("#cur-counts")
    expect(counts).to_contain_text("all")

    box = page.locator("#cur-t-snr_db textarea, #cur-t-snr_db input").first
    box.fill("25")
    box.press("Enter")
    expect(status).not_to_contain_text("kept 48 files", timeout=60_000)
    hist = page.locator("#cur-hist .js-plotly-plot")
    expect(hist).to_be_visible()
    expect(hist).to_contain_text("snr_db")
    expect(hist.locator("path[style*='stroke: rgb(255, 0, 0)']")).not_to_have_count(0)
    expect(page.locator("#cur-scatter .js-plotly-plot")).to_be_visible()

    near = page.locator("#cur-near")
    expect(near).to_contain_text("snr_db")
    expect(near).to_contain_text("u10_de_24k_noise-babble")  # WADA-SNR 24 dB: just below
    near.get_by_text("u10_de_24k_noise-babble").filter(visible=True).first.click()
    expect(page.locator("#cur-spectrogram .js-plotly-plot")).to_be_visible(timeout=60_000)
    expect(page.locator("#cur-spectrogram")).to_contain_text("frequency (kHz)")
    expect(page.locator("#cur-audio audio, #cur-audio [data-testid='waveform-controls']")
           .first).to_be_attached(timeout=30_000)
    expect(page.locator("#cur-clip-caption")).to_contain_text("snr_db")

    page.locator("#cur-export").click()
    expect(page.locator("#cur-export-report")).to_contain_text("Selection written to",
                                                               timeout=60_000)
    expect(page.locator("#cur-export-files")).to_contain_text("wav .scp")
    expect(page.locator("#cur-export-files")).to_contain_text("utt2fs")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "curation_tab.png"), full_page=True)
