"""The committed demo set matches its manifest, covers what it promises and is reproducible."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio import tts
from audio.degrade import DISTORTIONS
from audio.noise import NOISE_KINDS
from audio.resample import URGENT_SAMPLE_RATES

DEMO = Path(__file__).resolve().parents[2] / "demo"


def manifest(folder: Path = DEMO) -> list[dict]:
    with open(folder / "manifest.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def test_every_clip_matches_its_manifest_row() -> None:
    rows = manifest()
    assert len({r["file"] for r in rows}) == len(rows) == 64
    assert sum(r.get("dataset", "demo") == "demo" for r in rows) == 48
    for row in rows:
        info = sf.info(str(DEMO / row["file"]))
        assert (info.samplerate, info.frames, info.channels) == (
            row["sample_rate"], row["num_frames"], 1), row["file"]
        assert (info.format, info.subtype) == ("FLAC", "PCM_16")
        json.dumps(row["condition"])


def test_references_exist_and_match_their_degraded_versions() -> None:
    rows = manifest()
    by_file = {r["file"]: r for r in rows}
    per_utterance = Counter((r["utterance"], r["role"]) for r in rows)
    for row in rows:
        if row["role"] == "reference":
            assert row["system"] == "reference" and row["condition"]["distortions"] == []
            assert per_utterance[row["utterance"], "degraded"] == (
                3 if row.get("dataset", "demo") == "demo" else 1)
            continue
        assert row["role"] == "degraded" and row["system"] == "unprocessed"
        reference = by_file[row["reference"]]
        assert reference["role"] == "reference"
        for key in ("utterance", "sample_rate", "num_frames", "text", "language", "voice",
                    "speech"):
            assert reference[key] == row[key], (row["file"], key)


def test_demo_set_covers_rates_languages_and_distortions() -> None:
    rows = [r for r in manifest() if r.get("dataset", "demo") == "demo"]
    assert {r["sample_rate"] for r in rows} == set(URGENT_SAMPLE_RATES)
    assert len({r["language"] for r in rows}) >= 5
    assert len({(r["voice"]["variant"], r["voice"]["pitch"]) for r in rows}) >= 6
    degraded = [r["condition"] for r in rows if r["role"] == "degraded"]
    counts = Counter(name for c in degraded for name in c["distortions"])
    assert set(counts) == set(DISTORTIONS) and min(counts.values()) >= 5
    assert {c["noise"]["kind"] for c in degraded if "noise" in c} == set(NOISE_KINDS)
    assert {c["codec"]["codec"] for c in degraded if "codec" in c} == {"mp3", "vorbis", "opus"}
    assert all(2.0 <= r["duration_seconds"] <= 2.6 for r in rows)


def test_every_speech_category_has_a_short_labelled_clip_and_a_noisy_version() -> None:
    from se.simulation.categories import CATEGORIES, LABEL_KEYS

    rows = manifest()
    assert all(set(r["speech"]) == set(LABEL_KEYS) for r in rows)
    neutral = [r for r in rows if r.get("dataset", "demo") == "demo"]
    assert {r["speech"]["category"] for r in neutral} == {"neutral"}
    extra = [r for r in rows if r.get("dataset") == "demo_categories"]
    assert {r["speech"]["category"] for r in extra} == set(CATEGORIES) - {"neutral"}
    assert len(extra) == 2 * (len(CATEGORIES) - 1)
    assert len({r["speech"]["source"] for r in extra}) >= 3  # not only espeak-ng
    for row in extra:
        assert row["sample_rate"] == 16_000 and 1.0 <= row["duration_seconds"] <= 2.5
        assert row["file"].startswith(f"clips/{row['utterance']}_{row['speech']['category']}")
        if row["role"] == "degraded":
            assert "noise" in row["condition"]["distortions"]
    child = next(r for r in extra if r["speech"]["category"] == "child")
    assert child["speech"]["age_group"] == "child"
    accented = next(r for r in extra if r["speech"]["category"] == "accented")
    assert accented["speech"]["accent"] != "native" and accented["language"] == "en"


def test_demo_folder_stays_small() -> None:
    size = sum(p.stat().st_size for p in DEMO.rglob("*")
               if p.is_file() and "__pycache__" not in p.parts)
    assert size < 4 * 1024 * 1024


@pytest.mark.skipif(not tts.espeak_available(), reason="espeak-ng not installed")
def test_script_regenerates_the_committed_files(tmp_path: Path) -> None:
    committed = manifest()
    if committed[0]["tts"] != f"espeak-ng {tts.espeak_version()}":
        pytest.skip(f"demo was made with {committed[0]['tts']}; identical only for that version")
    from demo.make_demo_data import make_demo_data

    assert make_demo_data(tmp_path) == committed
    for row in committed:
        new, _ = sf.read(str(tmp_path / row["file"]), dtype="int16")
        old, _ = sf.read(str(DEMO / row["file"]), dtype="int16")
        if "codec" in row["condition"]:
            # float encoders (Vorbis seen here) round differently on other CPUs: 1 LSB apart
            assert new.shape == old.shape, row["file"]
            assert np.max(np.abs(new.astype(np.int32) - old)) <= 2, row["file"]
        else:
            np.testing.assert_array_equal(new, old, err_msg=row["file"])
