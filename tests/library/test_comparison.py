"""Enhancing library clips, caching scores, comparing systems, importing outputs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from audio.io import Audio, save_audio
from db.models import Clip, EnhancementRun, ObjectiveScore, SystemKind
from library.clips import LibraryError, add_clip, get_or_create_dataset, get_or_create_system
from library.comparison import (
    clip_set_note,
    comparison_inputs,
    enhance_clip,
    mean_ci95,
    run_comparison,
    summarize,
)
from library.scores import NO_REFERENCE, ensure_scores
from library.systems import import_outputs, system_catalog
from se.systems import get_system
from tests.se.speech import add_white_noise, make_speech

RATE = 16_000


@pytest.fixture
def mini(sessions, store):
    """A dataset with a clean reference, a noisy version of it, and an input without one."""
    clean = make_speech(RATE, seconds=2.0)
    noisy = add_white_noise(clean, 5.0, seed=1)
    other = add_white_noise(make_speech(RATE, seconds=1.0), 10.0, seed=2)
    with sessions.begin() as s:
        dataset = get_or_create_dataset(s, "mini")
        ref_system = get_or_create_system(s, "reference", SystemKind.REFERENCE)
        ref = add_clip(s, store, Audio(clean, RATE), name="utt1.flac", origin="import",
                       dataset=dataset, system=ref_system)
        noisy_id = add_clip(s, store, Audio(noisy, RATE), name="utt1_noisy.flac",
                            origin="import", dataset=dataset, reference_clip_id=ref.clip_id,
                            condition={"distortions": ["noise"], "snr_db": 5.0}).clip_id
        other_id = add_clip(s, store, Audio(other, RATE), name="utt2_noisy.flac",
                            origin="import", dataset=dataset).clip_id
    return {"reference": ref.clip_id, "noisy": noisy_id, "other": other_id}


def _count(sessions, model) -> int:
    with sessions() as s:
        return s.scalar(select(func.count(model.id)))


def test_inputs_leave_out_clean_references(sessions, mini):
    with sessions() as s:
        inputs = comparison_inputs(s, "mini")
        assert [i.id for i in inputs] == [mini["noisy"], mini["other"]]
        assert inputs[0].distortions == ("noise",) and inputs[1].distortions == ("unknown",)
        with pytest.raises(LibraryError, match="no dataset named"):
            comparison_inputs(s, "nope")


def test_an_output_is_stored_once_linked_to_its_input(sessions, store, mini):
    system = get_system("mmse_lsa")
    first = enhance_clip(sessions, store, mini["noisy"], system)
    clips_after_first = _count(sessions, Clip)
    again = enhance_clip(sessions, store, mini["noisy"], system)
    assert not first.cached and again.cached
    assert again.output_clip_id == first.output_clip_id
    assert _count(sessions, Clip) == clips_after_first
    assert first.real_time_factor == pytest.approx(first.processing_seconds / 2.0)
    with sessions() as s:
        output = s.get(Clip, first.output_clip_id)
        source = s.get(Clip, mini["noisy"])
        assert (output.name, output.sample_rate, output.num_frames) == (
            source.name, source.sample_rate, source.num_frames)
        assert output.parent_clip_id == source.id and output.origin == "enhanced"
        assert output.reference_clip_id == mini["reference"]
        assert output.system.name == "mmse_lsa" and output.condition == source.condition
    unprocessed = enhance_clip(sessions, store, mini["noisy"], get_system("unprocessed"))
    assert unprocessed.output_clip_id == mini["noisy"]


def test_scores_are_computed_once_and_gaps_explained(sessions, store, mini):
    scores = ensure_scores(sessions, store, mini["noisy"], ["si_sdr", "dnsmos_ovrl"])
    assert scores.values["si_sdr"] == pytest.approx(5.0, abs=0.6)  # mixed at 5 dB SNR
    assert 1.0 <= scores.values["dnsmos_ovrl"] <= 5.0
    stored = _count(sessions, ObjectiveScore)
    assert stored == 2
    assert ensure_scores(sessions, store, mini["noisy"], ["si_sdr"]).values == {
        "si_sdr": scores.values["si_sdr"]}
    assert _count(sessions, ObjectiveScore) == stored
    without = ensure_scores(sessions, store, mini["other"], ["pesq", "dnsmos_ovrl"])
    assert math.isnan(without.values["pesq"]) and without.errors["pesq"] == NO_REFERENCE
    assert _count(sessions, ObjectiveScore) == stored + 1  # only DNSMOS was stored
    with pytest.raises(ValueError, match="unknown metrics"):
        ensure_scores(sessions, store, mini["noisy"], ["loudness"])


def test_comparison_rows_summaries_and_caching(sessions, store, mini):
    systems = [get_system("unprocessed"), get_system("mmse_lsa")]
    with sessions() as s:
        inputs = comparison_inputs(s, "mini")
    progress = []
    results = run_comparison(sessions, store, inputs, systems, ["si_sdr", "pesq"],
                             progress=lambda d, t, _w: progress.append((d, t)))
    assert len(results) == 4 and progress[-1] == (8, 8)  # each output made, then scored
    by_pair = results.set_index(["input_clip_id", "system"])
    gain = (by_pair.loc[(mini["noisy"], "mmse_lsa"), "si_sdr"]
            - by_pair.loc[(mini["noisy"], "unprocessed"), "si_sdr"])
    assert gain > 1.0  # the MMSE enhancer removes noise
    assert math.isnan(by_pair.loc[(mini["other"], "mmse_lsa"), "pesq"])
    runs = _count(sessions, EnhancementRun)
    run_comparison(sessions, store, inputs, systems, ["si_sdr", "pesq"])
    assert _count(sessions, EnhancementRun) == runs == 4

    summary = summarize(results, ["si_sdr"]).set_index("system")
    mmse = results[results["system"] == "mmse_lsa"]["si_sdr"].dropna()
    assert summary.loc["mmse_lsa", "si_sdr_n"] == len(mmse) == 1  # one clip has a reference
    assert summary.loc["mmse_lsa", "clips"] == 2
    assert summary.loc["mmse_lsa", "si_sdr_mean"] == pytest.approx(mmse.mean())
    by_distortion = summarize(results, ["si_sdr"], by=("system", "distortions"))
    assert set(by_distortion["distortions"]) == {"noise", "unknown"}


def test_a_clip_a_system_cannot_take_gives_a_row_with_its_reason(sessions, store, mini):
    with sessions.begin() as s:
        short = add_clip(s, store, Audio(make_speech(RATE, seconds=0.05), RATE),
                         name="blip.flac", origin="upload",
                         dataset=get_or_create_dataset(s, "mini")).clip_id
    with sessions() as s:
        inputs = [i for i in comparison_inputs(s, "mini") if i.id in (short, mini["other"])]
    results = run_comparison(sessions, store, inputs, [get_system("mmse_lsa")], ["si_sdr"])
    failed = results[results["input_clip_id"] == short].iloc[0]
    assert "shorter than the minimum" in failed["error"]
    assert pd.isna(failed["output_clip_id"])
    assert results[results["input_clip_id"] == mini["other"]].iloc[0]["error"].startswith(
        "si_sdr: no clean reference")


def test_mean_ci95_matches_the_t_interval():
    mean, half, n = mean_ci95([1.0, 2.0, 3.0, float("nan")])
    # mean 2, sample std 1, t(0.975, 2) = 4.302653
    assert (mean, n) == (2.0, 3) and half == pytest.approx(4.302653 / np.sqrt(3), rel=1e-5)
    assert math.isnan(mean_ci95([5.0])[1])


def test_outputs_folder_imports_as_a_system(tmp_path, sessions, store, mini):
    folder = tmp_path / "team_x"
    noisy = store.read(_sha(sessions, mini["noisy"]))[0]
    save_audio(folder / "utt1_noisy.flac", noisy * 0.5, RATE)
    save_audio(folder / "unrelated.flac", noisy, RATE)
    save_audio(folder / "utt2_noisy.wav", make_speech(RATE, seconds=0.5), RATE)  # wrong length
    with sessions() as s:
        inputs = comparison_inputs(s, "mini")
    report = import_outputs(sessions, store, folder, inputs)
    assert report.system == "team_x" and report.imported == ["utt1_noisy"]
    assert report.outputs_without_input == ["unrelated"]
    assert "samples but its input has" in report.refused[0][1]
    with sessions() as s:
        catalog = system_catalog(s)
    assert catalog["team_x"].kind == "external"
    results = run_comparison(sessions, store, inputs, [catalog["team_x"]], ["si_sdr"])
    assert results.iloc[0]["si_sdr"] == pytest.approx(
        ensure_scores(sessions, store, mini["noisy"], ["si_sdr"]).values["si_sdr"], abs=0.01)
    assert "no output of team_x was imported" in results.iloc[1]["error"]
    with pytest.raises(LibraryError, match="exists already"):
        import_outputs(sessions, store, folder, inputs, name="rnnoise")
    empty = tmp_path / "nothing_matches"
    save_audio(empty / "zzz.flac", noisy, RATE)
    clips = _count(sessions, Clip)
    with pytest.raises(LibraryError, match="is named like one of"):
        import_outputs(sessions, store, empty, inputs)
    assert _count(sessions, Clip) == clips


def _sha(sessions, clip_id: int) -> str:
    with sessions() as s:
        return s.get(Clip, clip_id).sha256


def test_every_system_enhances_a_demo_clip_at_every_rate(sessions, store):
    from library.demo import seed_demo
    from se.systems import BUILTIN_SYSTEMS

    with sessions.begin() as s:
        seed_demo(s, store)
    with sessions() as s:
        inputs = comparison_inputs(s, "demo")
    one_per_rate = list({clip.sample_rate: clip for clip in inputs}.values())
    assert sorted(c.sample_rate for c in one_per_rate) == [
        8000, 16000, 22050, 24000, 32000, 44100, 48000]
    systems = [get_system(name) for name in BUILTIN_SYSTEMS]
    results = run_comparison(sessions, store, one_per_rate, systems, metrics=[])
    assert len(results) == 7 * len(systems)
    assert (results["error"] == "").all(), results.loc[results["error"] != "", "error"].tolist()
    with sessions() as s:
        for row in results.itertuples():
            output, source = s.get(Clip, int(row.output_clip_id)), s.get(Clip,
                                                                          row.input_clip_id)
            assert (output.sample_rate, output.num_frames) == (source.sample_rate,
                                                               source.num_frames)


def test_means_are_over_one_clip_set_for_every_system():
    """A system that failed on a clip must not get a mean over other clips than its rivals:
    system b has no value on clip 3, so both means use clips 1 and 2 only."""
    results = pd.DataFrame({
        "input_clip_id": [1, 1, 2, 2, 3, 3], "system": ["a", "b"] * 3,
        "distortions": [["noise"]] * 6, "real_time_factor": [0.1] * 6,
        "pesq": [1.0, 2.0, 2.0, 3.0, 4.5, math.nan],
        "si_sdr": [5.0, 6.0, 7.0, 8.0, 9.0, 10.0]})
    summary = summarize(results, ["pesq", "si_sdr"]).set_index("system")
    assert summary.loc["a", "pesq_mean"] == pytest.approx(1.5)  # not (1 + 2 + 4.5) / 3
    assert summary.loc["b", "pesq_mean"] == pytest.approx(2.5)
    assert list(summary["pesq_n"]) == [2, 2] and list(summary["si_sdr_n"]) == [3, 3]
    note = clip_set_note(results, ["pesq", "si_sdr"])
    assert "same clips for all 2 systems" in note and "pesq 2" in note
    assert "every metric scored" in clip_set_note(results, ["si_sdr"])


def test_demo_seeding_adds_the_category_clips_as_their_own_labelled_dataset(sessions, store):
    from library.demo import CATEGORY_DATASET, DEMO_DATASET, seed_demo
    from se.simulation.categories import CATEGORIES

    with sessions.begin() as s:
        assert seed_demo(s, store) == 64
    with sessions.begin() as s:
        assert seed_demo(s, store) == 64  # a second call adds nothing
    with sessions() as s:
        demo, extra = comparison_inputs(s, DEMO_DATASET), comparison_inputs(s, CATEGORY_DATASET)
    assert len(demo) == 36 and {c.speech_category for c in demo} == {"neutral"}
    assert sorted(c.speech_category for c in extra) == sorted(set(CATEGORIES) - {"neutral"})
    assert all(c.sample_rate == 16_000 and "noise" in c.distortions for c in extra)
