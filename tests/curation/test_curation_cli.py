"""``python -m curation score`` and ``select`` on real files: resume, shards, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audio.io import save_audio
from curation.__main__ import main
from curation.store import read_scores
from tests.curation.corpus import write_corpus
from tests.se.speech import make_speech

CHEAP = "vad,snr"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    write_corpus(tmp_path / "corpus")
    return tmp_path / "corpus"


def _parts(folder: Path) -> list[Path]:
    return sorted(folder.glob("part-*.parquet"))


def test_score_a_folder_then_resume_and_add_a_metric_group(corpus, tmp_path, capsys):
    out = tmp_path / "scores"
    assert main(["score", "--input", str(corpus), "--out", str(out), "--metrics", CHEAP,
                 "--quiet"]) == 0
    assert "6 files scored, 0 already scored" in capsys.readouterr().out
    table = read_scores(out).set_index("id")
    assert sorted(table.index) == ["crowd-clean_c", "crowd-clipped", "crowd-noisy",
                                   "studio-clean_a", "studio-clean_b", "studio-narrow"]
    assert set(table["source"]) == {"studio", "crowd"}
    assert (table["error"] == "").all()
    assert table.loc["crowd-noisy", "snr_db"] < table.loc["studio-clean_a", "snr_db"] - 10
    assert table.loc["crowd-clipped", "clipping_ratio"] > 0.02
    assert table.loc["studio-clean_a", "clipping_ratio"] < 0.001
    assert table.loc["studio-narrow", "bandwidth_rate"] == 8000
    assert table.loc["studio-clean_a", "bandwidth_rate"] == 16000
    assert table["duration_s"].round(3).eq(2.0).all()
    assert "dnsmos_ovrl" not in table

    parts = _parts(out)
    assert main(["score", "--input", str(corpus), "--out", str(out), "--metrics", CHEAP,
                 "--quiet"]) == 0
    assert "0 files scored, 6 already scored" in capsys.readouterr().out
    assert _parts(out) == parts

    assert main(["score", "--input", str(corpus), "--out", str(out), "--metrics", "sqa",
                 "--quiet"]) == 0
    again = read_scores(out).set_index("id")
    assert again["sqa_mos"].between(1, 5).all() and (again["sqa_spread"] >= 0).all()
    pd.testing.assert_series_equal(again["snr_db"], table["snr_db"])  # kept, not recomputed


def test_bad_files_get_their_reason_and_nothing_scored_is_lost(corpus, tmp_path, capsys):
    out = tmp_path / "scores"
    assert main(["score", "--input", str(corpus), "--out", str(out), "--metrics", CHEAP,
                 "--quiet"]) == 0
    before = read_scores(out)
    (corpus / "crowd" / "broken.wav").write_bytes(b"RIFF not really a wav file at all")
    save_audio(corpus / "crowd" / "hires.wav", make_speech(96_000, seconds=1.0), 96_000)
    capsys.readouterr()
    assert main(["score", "--input", str(corpus), "--out", str(out), "--metrics", CHEAP,
                 "--quiet"]) == 1
    captured = capsys.readouterr()
    failed = [line for line in captured.err.splitlines() if line.startswith("failed:")]
    assert len(failed) == 2
    assert any("broken.wav: not a readable audio file" in line for line in failed)
    assert any("96000 Hz is outside the 8-48 kHz" in line for line in failed)
    table = read_scores(out).set_index("id")
    assert len(table) == 8
    assert table.loc["crowd-broken", "error"].startswith("not decoded:")
    assert np.isnan(table.loc["crowd-broken", "snr_db"])
    assert "96000 Hz" in table.loc["crowd-hires", "error"]
    pd.testing.assert_frame_equal(table.loc[before["id"]].reset_index()[before.columns],
                                  before)


def test_wav_scp_with_pipes_is_refused_line_by_line_and_writes_nothing(corpus, tmp_path,
                                                                       capsys):
    scp = tmp_path / "wav.scp"
    scp.write_text(f"a {corpus / 'studio' / 'clean_a.flac'}\n"
                   "b sox in.wav -t wav - |\n"
                   "c\n"
                   f"a {corpus / 'studio' / 'clean_b.flac'}\n")
    out = tmp_path / "scores"
    assert main(["score", "--input", str(scp), "--out", str(out), "--quiet"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["error: wav.scp line 2: 'sox in.wav -t wav - |' is a pipe command; "
                     "curation reads files only (decode to files first)",
                     "error: wav.scp line 3: expected '<id> <path>'",
                     "error: wav.scp line 4: id 'a' appears twice"]
    assert not out.exists()


def test_shards_cover_the_corpus_once(corpus, tmp_path, capsys):
    out = tmp_path / "scores"
    for k in (1, 2, 3):
        assert main(["score", "--input", str(corpus), "--out", str(out), "--metrics", "snr",
                     "--shard", f"{k}/3", "--quiet"]) == 0
    counts = [int(line.split()[0]) for line in capsys.readouterr().out.splitlines()]
    assert sum(counts) == 6
    assert len(read_scores(out)) == 6
    assert main(["score", "--input", str(corpus), "--out", str(out), "--metrics", "snr",
                 "--quiet"]) == 0
    assert "0 files scored, 6 already scored" in capsys.readouterr().out


def test_select_writes_lists_rates_and_a_report(corpus, tmp_path, capsys):
    scores, out = tmp_path / "scores", tmp_path / "curated"
    assert main(["score", "--input", str(corpus), "--out", str(scores), "--metrics", CHEAP,
                 "--quiet"]) == 0
    rules = tmp_path / "rules.yaml"
    rules.write_text("name: mine\nrules:\n  - {metric: snr_db, min: 15}\n"
                     "  - {metric: clipping_ratio, max: 0.01}\n")
    assert main(["select", "--scores", str(scores), "--rules", str(rules), "--out",
                 str(out)]) == 0
    assert "kept 4 of 6 files" in capsys.readouterr().out
    scp = dict(line.split(maxsplit=1) for line in (out / "wav.scp").read_text().splitlines())
    assert set(scp) == {"studio-clean_a", "studio-clean_b", "studio-narrow", "crowd-clean_c"}
    assert Path(scp["studio-clean_a"]).is_file()
    fs = dict(line.split() for line in (out / "utt2fs").read_text().splitlines())
    assert fs["studio-narrow"] == "8000" and fs["studio-clean_a"] == "16000"
    dropped = pd.read_csv(out / "dropped.tsv", sep="\t").set_index("id")
    assert dropped.loc["crowd-noisy", "reason"] == "snr_db >= 15"
    assert dropped.loc["crowd-clipped", "reason"].endswith("clipping_ratio <= 0.01")
    report = (out / "report.md").read_text()
    assert "| crowd | 3 | 0.002 | 1 | 0.001 | 33 % |" in report
    assert (out / "histograms.png").stat().st_size > 10_000


def test_malformed_rule_file_is_refused_and_writes_nothing(corpus, tmp_path, capsys):
    scores, out = tmp_path / "scores", tmp_path / "curated"
    main(["score", "--input", str(corpus), "--out", str(scores), "--metrics", "snr", "--quiet"])
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {metric: snr_db, min: '15'}\n  - {metric: nope, max: 1}\n")
    capsys.readouterr()
    assert main(["select", "--scores", str(scores), "--rules", str(rules), "--out",
                 str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2
    assert err[0] == "error: rules.yaml: rules[0].min: expected a number, got str '15'"
    assert err[1].startswith("error: rules.yaml: rules[1].metric: unknown metric 'nope'")
    assert not out.exists()


def test_every_metric_group_on_real_speech(tmp_path):
    folder = tmp_path / "two"
    speech = make_speech(16_000, seconds=3.0)
    save_audio(folder / "clean.flac", speech, 16_000)
    save_audio(folder / "noisy.flac", speech + 0.2 * np.random.default_rng(0)
               .standard_normal(len(speech)).astype(np.float32), 16_000)
    assert main(["score", "--input", str(folder), "--out", str(tmp_path / "s"),
                 "--quiet"]) == 0
    table = read_scores(tmp_path / "s").set_index("id")
    for column in ("dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808", "plcmos",
                   "sqa_mos"):
        assert table[column].between(1, 5).all(), column
    assert table.loc["noisy", "dnsmos_bak"] < table.loc["clean", "dnsmos_bak"]
    assert table.loc["noisy", "sqa_mos"] < table.loc["clean", "sqa_mos"]
    assert (table["sqa_spread"] > 0).all()
    assert (table["score_seconds"] > 0).all()
