"""A researcher in a real browser: upload a small label set, train a tiny quality model on it,
see its metrics beside DNSMOS and the predicted-vs-human scatter, then score the library."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.library.quality_set import need_espeak, write_label_set

pytestmark = pytest.mark.browser


def test_upload_train_and_see_metrics_and_scatter(admin_page, tmp_path):
    need_espeak()
    page = admin_page
    page.get_by_role("tab", name="Quality model").click()
    expect(page.locator("#sqa-status")).to_contain_text("model", timeout=30_000)

    # A broken upload first: nothing is imported and the line is named.
    bad_csv, bad_zip = write_label_set(tmp_path / "bad", samples=1,
                                       rows=["clean/s0.wav,clean,s0,NaN,L1"])
    page.get_by_text("Import a label set").click()
    page.locator("#sqa-csv input[type=file]").set_input_files(str(bad_csv))
    page.locator("#sqa-zip input[type=file]").set_input_files(str(bad_zip))
    page.locator("#sqa-set-name textarea, #sqa-set-name input").first.fill("browserbad")
    page.locator("#sqa-upload").click()
    report = page.locator("#sqa-upload-report")
    expect(report).to_contain_text("Nothing was imported", timeout=60_000)
    expect(report).to_contain_text("line 2: score is empty or NaN")

    csv, archive = write_label_set(tmp_path / "good", samples=3)
    for field in ("#sqa-csv", "#sqa-zip"):
        page.locator(field).get_by_role("button", name="Clear").click()
    page.locator("#sqa-csv input[type=file]").set_input_files(str(csv))
    page.locator("#sqa-zip input[type=file]").set_input_files(str(archive))
    page.locator("#sqa-set-name textarea, #sqa-set-name input").first.fill("browserset")
    page.locator("#sqa-upload").click()
    expect(report).to_contain_text("Label set 'browserset': 24 labels of 12 clips",
                                  timeout=60_000)

    page.locator("#sqa-sets").get_by_text("browserset", exact=False).click(timeout=30_000)
    page.locator("#sqa-split").get_by_text("held-out clips").click()
    page.locator("#sqa-size").get_by_text("tiny").click()
    page.locator("#sqa-steps input").fill("30")
    page.locator("#sqa-name textarea, #sqa-name input").first.fill("browser-tiny")
    page.locator("#sqa-train").click()

    metrics = page.locator("#sqa-metrics")
    expect(metrics).to_contain_text("DNSMOS P.808", timeout=180_000)
    expect(metrics).to_contain_text("this model")
    expect(metrics).to_contain_text("DNSMOS OVRL")
    expect(metrics).to_contain_text("utterance LCC")
    expect(page.locator("#sqa-loss .js-plotly-plot")).to_be_visible()
    scatter = page.locator("#sqa-scatter-utt .js-plotly-plot")
    expect(scatter).to_be_visible()
    expect(scatter).to_contain_text("human MOS")
    expect(scatter.locator(".scatterlayer .point")).not_to_have_count(0)
    expect(page.locator("#sqa-registry")).to_contain_text("browser-tiny", timeout=30_000)
    expect(page.locator("#sqa-registry")).to_contain_text("label set browserset")

    # The new model is offered as the active one; once active it scores the library, and
    # the least certain clips say which system made each.
    offer = page.locator("#sqa-activate-new")
    expect(offer).to_contain_text("browser-tiny")
    expect(page.locator("#sqa-train-status")).to_contain_text("not active yet")
    offer.click()
    expect(page.locator("#sqa-status")).to_contain_text("Active model: browser-tiny",
                                                       timeout=30_000)
    expect(offer).to_be_hidden()
    page.locator("#sqa-score").click()
    expect(page.locator("#sqa-score-report")).to_contain_text("clips scored", timeout=180_000)
    page.locator("#sqa-suggest").click()
    suggestions = page.locator("#sqa-suggestions")
    expect(suggestions).to_contain_text("system", timeout=30_000)
    # most scored clips are demo clips, whose system is "unprocessed" or "reference"
    expect(suggestions).to_contain_text(re.compile("unprocessed|reference"))
