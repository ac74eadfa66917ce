"""Enhancing a clip with two systems and comparing systems over the demo set, in a browser."""

from __future__ import annotations

import io
import re

import httpx
import pandas as pd
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _demo_clip_id(app_server, name: str) -> int:
    clips = httpx.get(f"{app_server.url}/api/clips", params={"dataset": "demo"},
                      headers=app_server.headers(), timeout=60).json()["clips"]
    return next(c["id"] for c in clips if c["name"] == name)


def _choose_systems(group, wanted: set[str]) -> None:
    for box in group.get_by_role("checkbox").all():
        label = box.evaluate("b => b.closest('label').textContent.trim()")
        box.set_checked(label in wanted)


def test_enhance_one_clip_picked_by_name_with_two_systems(admin_page, app_server):
    clip_id = _demo_clip_id(app_server, "u02_de_16k_clipping.flac")
    page = admin_page
    page.get_by_role("tab", name="Enhance").click()
    # Search the library by name, then pick the clip from what was found.
    page.locator("#enhance-search textarea, #enhance-search input").first.fill("u02_de_16k_clip")
    page.locator("#enhance-search-button").click()
    expect(page.locator("#enhance-clip")).to_contain_text("1 found", timeout=30_000)
    page.locator("#enhance-clip input").click()
    option = page.get_by_role("option", name=re.compile(r"u02_de_16k_clipping\.flac"))
    expect(option).to_contain_text(f"id {clip_id}")
    expect(option).to_contain_text("demo")
    option.click()
    systems = page.locator("#enhance-systems")
    expect(systems).to_contain_text("mmse_lsa")
    _choose_systems(systems, {"unprocessed", "mmse_lsa"})
    page.locator("#enhance-run").click()
    table = page.locator("#enhance-metrics")
    expect(table).to_contain_text("mmse_lsa", timeout=90_000)
    expect(table).to_contain_text("(input)")
    expect(table).not_to_contain_text("rnnoise")
    expect(page.locator("#enhance-status")).to_contain_text("Done", timeout=90_000)
    expect(table.get_by_role("gridcell", name="…", exact=True)).to_have_count(0)
    # Input, clean reference and two outputs side by side, with 16-bit downloads.
    expect(page.locator(".js-plotly-plot")).to_have_count(4, timeout=30_000)
    expect(page.locator("a[href$='/u02_de_16k_clipping_mmse_lsa.flac']")).not_to_have_count(0)


def test_compare_systems_over_the_demo_set(admin_page):
    page = admin_page
    page.get_by_role("tab", name="Compare").click()
    expect(page.locator("#compare-dataset input")).to_have_value("demo")
    _choose_systems(page.locator("#compare-systems"), {"unprocessed", "mmse_lsa"})
    _choose_systems(page.locator("#compare-metrics"), {"si_sdr"})
    page.locator("#compare-run").click()
    summary = page.locator("#compare-summary")
    # the row "mmse_lsa | 36 | ..." appears only when the batch is done (while it runs, the
    # progress text names systems and step counts, and the table is empty)
    expect(summary).to_contain_text(re.compile(r"mmse_lsa\s*36"), timeout=240_000)
    expect(summary).to_contain_text("±")
    expect(summary).to_contain_text("mmse_lsa")
    expect(summary).to_contain_text("36")  # every degraded demo clip was compared
    # the means are over one stated clip set, the same for both systems
    expect(page.locator("#compare-clip-set")).to_contain_text(
        "same clips for all 2 systems: the 36 input clips")
    expect(page.locator("#compare-bars .js-plotly-plot")).to_be_visible()
    expect(page.locator("#compare-boxes .js-plotly-plot")).to_be_visible()
    expect(page.locator("#compare-by-category")).to_contain_text("unknown")  # no labels
    expect(page.locator("#compare-csv")).to_contain_text("comparison_per_clip")
    link = page.locator("#compare-csv a[href$='comparison_per_clip.csv']").first
    table = pd.read_csv(io.StringIO(page.request.get(link.get_attribute("href")).text()))
    assert len(table) == 72 and set(table["system"]) == {"unprocessed", "mmse_lsa"}
    assert table["si_sdr"].notna().all()
    # Selecting a clip plays the input, its clean reference and both outputs side by side.
    page.locator("#compare-clips").get_by_text("u01_en-us_8k_noise-white.flac").filter(
        visible=True).first.click()
    expect(page.get_by_text("clean reference", exact=True).first).to_be_visible()
    expect(page.locator(".js-plotly-plot")).to_have_count(2 + 4, timeout=30_000)
    # ...just below the table, scrolled to where the person is looking
    expect(page.locator("#compare-clip-title")).to_contain_text("u01_en-us_8k_noise-white")
    expect(page.locator("#compare-clip-view")).to_be_in_viewport()


@pytest.mark.parametrize("name, seconds, rate, silent, message", [
    ("silence.wav", 1.0, 16000, True, "silent"),
    ("blip.wav", 0.05, 16000, False, "shorter than the minimum of 0.1 s"),
    ("hi-res.wav", 1.0, 96000, False, "96000 Hz is outside the 8000-48000 Hz"),
])
def test_unusable_uploads_are_refused_and_not_stored(admin_page, app_server, tmp_path, name,
                                                     seconds, rate, silent, message):
    import soundfile as sf

    from tests.signals import speech_like

    samples = speech_like(seconds, rate) * (0 if silent else 1)
    sf.write(tmp_path / name, samples, rate)
    before = httpx.get(f"{app_server.url}/api/health").json()["clips"]
    page = admin_page
    page.get_by_role("tab", name="Enhance").click()
    page.locator("#enhance-upload input[type=file]").set_input_files(str(tmp_path / name))
    expect(page.locator("#enhance-upload audio, #enhance-upload .waveform-container")
           ).not_to_have_count(0)
    page.locator("#enhance-run").click()
    expect(page.get_by_text(message)).to_be_visible(timeout=30_000)
    assert httpx.get(f"{app_server.url}/api/health").json()["clips"] == before
