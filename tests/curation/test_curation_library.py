"""The app's curation services on the real demo set in a real SQLite database and store."""

from __future__ import annotations

import pandas as pd
import pytest

from curation.inputs import read_wav_scp
from library.clips import LibraryError
from library.curation import (
    apply_thresholds,
    clip_audio,
    export_dataset,
    export_selection,
    main,
    near_threshold,
    score_dataset,
    scored_corpora,
)
from library.demo import seed_demo


@pytest.fixture
def demo(sessions, store):
    with sessions.begin() as session:
        seed_demo(session, store)
    return sessions, store


def test_export_a_dataset_as_wav_scp_with_sources(demo, tmp_path):
    sessions, store = demo
    with sessions() as session:
        scp = export_dataset(session, store, "demo", tmp_path / "demo")
        with pytest.raises(LibraryError, match="no dataset named 'nope'"):
            export_dataset(session, store, "nope", tmp_path / "x")
    files = read_wav_scp(scp)
    assert len(files) == 48
    assert all(store.root in __import__("pathlib").Path(f.path).parents for f in files)
    assert len({f.source for f in files}) > 1


def test_score_select_listen_and_export_a_library_dataset(demo, tmp_path):
    sessions, store = demo
    seen = []
    name, report = score_dataset(sessions, store, tmp_path, "demo", groups=("basic", "snr"),
                                 progress=lambda done, total, item: seen.append((done, total)))
    assert name == "demo" and report.scored == 48 and not report.failed
    assert seen[-1] == (48, 48)
    assert scored_corpora(tmp_path) == ["demo"]
    _, again = score_dataset(sessions, store, tmp_path, "demo", groups=("basic", "snr"))
    assert again.scored == 0 and again.skipped == 48

    from library.curation import load_corpus

    table = load_corpus(tmp_path, "demo")
    everything = apply_thresholds(table, {"snr_db": (None, None)})
    assert everything.per_source.iloc[-1]["files_kept"] == 48
    live = apply_thresholds(table, {"snr_db": (25.0, None), "clipping_ratio": (None, 0.01),
                                    "dnsmos_ovrl": (3.0, None)})  # not scored: ignored
    kept = live.per_source.iloc[-1]["files_kept"]
    assert 0 < kept < 48
    assert (table.loc[live.selection.table["kept"], "snr_db"] >= 25).all()
    near = near_threshold(live, limit=5)
    assert len(near) == 5 and set(near["metric"]) <= {"snr_db", "clipping_ratio"}
    samples, rate, _ = clip_audio(table, near.iloc[0]["id"])
    assert rate >= 8000 and samples.ndim == 1
    out = export_selection(tmp_path, table, {"snr_db": (25.0, None)}, "demo")
    assert len((out / "wav.scp").read_text().splitlines()) == \
        int((table["snr_db"] >= 25).sum())
    assert (out / "report.md").is_file()
    dropped = pd.read_csv(out / "dropped.tsv", sep="\t")
    assert (dropped["reason"] == "snr_db >= 25").all()


def test_export_command_line(tmp_path, capsys):
    assert main(["export", "--dataset", "demo", "--data-dir", str(tmp_path / "none"),
                 "--out", str(tmp_path / "o")]) == 2
    assert "no database at" in capsys.readouterr().err
