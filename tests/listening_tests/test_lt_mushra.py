"""MUSHRA's own rules (ITU-R BS.1534-3): the spec section, post-screening, the per-system
statistics, the URGENT label mapping and the low-pass anchors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import signal

from listening_tests.errors import SpecError
from listening_tests.methods.mushra import lowpass_anchor, urgent_label
from listening_tests.mushra_results import screening_reasons, system_summary
from listening_tests.spec import ListeningTestSpec, MushraSpec

SYSTEMS = ("hidden_reference", "anchor_3500", "anchor_7000", "a", "b")


def spec_dict(**extra) -> dict:
    return {"name": "m", "method": "mushra",
            "pairs": {"dataset": "demo", "systems": ["a", "b"], "reference": "clean"},
            "listeners_per_page": 3, "pages_per_session": 4, **extra}


def listener(pages: int, hidden: int, mid: int = 40) -> pd.DataFrame:
    """One assessor's scores: every page scores the hidden reference ``hidden`` and the mid
    anchor ``mid``."""
    rows = []
    for page in range(pages):
        for system, score in zip(SYSTEMS, (hidden, 10, mid, 60, 70), strict=True):
            rows.append({"page": f"p{page}", "system": system, "score": float(score)})
    return pd.DataFrame(rows)


def test_spec_round_trip_and_defaults():
    spec = ListeningTestSpec.from_dict(spec_dict())
    assert spec.votes_per_clip == 3 and spec.clips_per_session == 4
    assert spec.mushra == MushraSpec()  # 3.5 and 7 kHz anchors, 90 / 90 / 15 %
    stored = spec.to_dict()
    assert stored["listeners_per_page"] == 3 and stored["pages_per_session"] == 4
    assert ListeningTestSpec.from_dict(stored) == spec


@pytest.mark.parametrize(("section", "word"), [
    ({"anchors_hz": [7000]}, "3500"),
    ({"anchors_hz": [3500], "mid_anchor_hz": 7000}, "not one of the anchors"),
    ({"reference_min": 120}, "reference_min"),
    ({"nope": 1}, "unknown key"),
])
def test_spec_refuses_bad_mushra_sections(section, word):
    with pytest.raises(SpecError) as raised:
        ListeningTestSpec.from_dict(spec_dict(mushra=section))
    assert word in str(raised.value)


def test_mushra_section_only_for_mushra():
    data = {"name": "x", "method": "acr", "clips": {"dataset": "demo"},
            "mushra": {"anchor_max": 80}}
    with pytest.raises(SpecError, match="only mushra tests"):
        ListeningTestSpec.from_dict(data)


def test_post_screening_excludes_a_listener_who_scores_the_hidden_reference_at_60():
    reasons = screening_reasons(listener(10, hidden=60), MushraSpec())
    assert reasons == ["rated the hidden reference below 90 on 10 of 10 pages (100%; at most "
                       "15% allowed)"]
    assert screening_reasons(listener(10, hidden=95), MushraSpec()) == []


def test_post_screening_fraction_and_mid_anchor():
    frame = listener(20, hidden=100)
    # 3 of 20 pages (15 %) below 90 is allowed; a 4th (20 %) is not
    low = frame.index[(frame["system"] == "hidden_reference")]
    frame.loc[low[:3], "score"] = 70
    assert screening_reasons(frame, MushraSpec()) == []
    frame.loc[low[3], "score"] = 70
    assert "4 of 20 pages" in screening_reasons(frame, MushraSpec())[0]
    high = listener(10, hidden=100, mid=95)
    assert "mid anchor (7000 Hz low-pass) above 90 on 10 of 10" in \
        screening_reasons(high, MushraSpec())[0]
    assert screening_reasons(high, MushraSpec(anchor_max=96)) == []  # configurable
    assert screening_reasons(high, MushraSpec(mid_anchor_hz=None)) == []


def test_system_summary_mean_t_interval_and_quartiles():
    rng = np.random.default_rng(1)
    scores = rng.integers(30, 90, 12).astype(float)
    frame = pd.DataFrame({"system": ["b"] * 12 + ["hidden_reference"] * 2 + ["anchor_3500"],
                          "score": [*scores, 100.0, 90.0, 20.0]})
    table = system_summary(frame).set_index("system")
    assert list(table.index) == ["hidden_reference", "anchor_3500", "b"]
    row = table.loc["b"]
    half = 2.200985 * scores.std(ddof=1) / np.sqrt(12)  # t(0.975, 11)
    assert row["mean"] == pytest.approx(scores.mean()) and row["ci95"] == pytest.approx(half)
    assert (row["q1"], row["median"], row["q3"]) == tuple(np.percentile(scores, [25, 50, 75]))
    assert np.isnan(table.loc["anchor_3500", "ci95"])  # one score: no interval


def test_urgent_label_rule():
    assert [urgent_label(s) for s in (0, 25, 50, 100)] == [1.0, 2.0, 3.0, 5.0]


def test_lowpass_anchor_removes_the_band_above_its_cutoff():
    rate = 48_000
    t = np.arange(rate) / rate
    x = (np.sin(2 * np.pi * 1000 * t) + np.sin(2 * np.pi * 6000 * t)).astype(np.float32)
    y = lowpass_anchor(x, rate, 3500)
    f, p = signal.welch(y, rate, nperseg=4096)
    keep, cut = p[np.argmin(abs(f - 1000))], p[np.argmin(abs(f - 6000))]
    assert 10 * np.log10(keep / cut) > 60 and len(y) == len(x)
    z = lowpass_anchor(x, rate, 7000)
    f, p = signal.welch(z, rate, nperseg=4096)
    assert abs(10 * np.log10(p[np.argmin(abs(f - 6000))] / p[np.argmin(abs(f - 1000))])) < 3


def test_paired_comparisons_wilcoxon_with_holm():
    from scipy import stats

    from listening_tests.mushra_results import paired_comparisons

    rng = np.random.default_rng(3)
    rows = []
    for page in range(12):
        base = rng.normal(50, 5)
        for system, shift in (("good", 20), ("same1", 0), ("same2", 0),
                              ("hidden_reference", 50), ("anchor_3500", -40)):
            rows.append({"session": "s", "page": f"p{page}", "system": system,
                         "score": float(np.rint(base + shift + rng.normal(0, 3)))})
    table = paired_comparisons(pd.DataFrame(rows))
    assert [(r.system_a, r.system_b) for r in table.itertuples()] == [
        ("good", "same1"), ("good", "same2"), ("same1", "same2")]
    good = table.iloc[0]
    frame = pd.DataFrame(rows).pivot(index="page", columns="system", values="score")
    assert good["p"] == pytest.approx(stats.wilcoxon(frame["good"] - frame["same1"]).pvalue)
    assert good["n"] == 12 and good["median_diff"] > 10 and good["significant"]
    smallest = table["p"].idxmin()  # Holm: the smallest of 3 p-values times 3
    assert table.loc[smallest, "p_holm"] == pytest.approx(min(1.0, 3 * table["p"].min()))
    assert (table["p_holm"] >= table["p"]).all()
    assert not table.iloc[2]["significant"]


def test_simulated_listener_hears_the_anchors_as_worse():
    import io

    import soundfile as sf

    from listening_tests.methods.mushra import spectral_distance_db

    x, rate = sf.read("demo/clips/u07_nl_48k_clean.flac", dtype="float32")

    def flac(y) -> bytes:
        buffer = io.BytesIO()
        sf.write(buffer, y, rate, format="FLAC")
        return buffer.getvalue()

    ref = flac(x)
    d35, d70 = (spectral_distance_db(flac(lowpass_anchor(x, rate, c)), ref)
                for c in (3500, 7000))
    assert spectral_distance_db(ref, ref) == 0.0 and d35 > d70 > 0.5


def _pages(scores: dict[str, list[float]], session: str = "s") -> pd.DataFrame:
    """Rows of one session: ``scores[system][k]`` is the score on page k."""
    return pd.DataFrame([{"session": session, "page": f"p{k}", "system": system,
                          "score": float(v)}
                         for system, values in scores.items() for k, v in enumerate(values)])


def test_differences_from_the_hidden_reference_are_paired_by_page():
    from listening_tests.mushra_results import reference_differences

    frame = _pages({"hidden_reference": [100, 90, 95], "anchor_3500": [20, 10, 30],
                    "b": [70, 80, 60]})
    table = reference_differences(frame).set_index("system")
    assert list(table.index) == ["anchor_3500", "b"]  # anchors first, the reference not
    d = np.array([70 - 100, 80 - 90, 60 - 95], dtype=float)
    assert table.loc["b", "mean_diff"] == pytest.approx(d.mean())
    assert table.loc["b", "ci95"] == pytest.approx(4.302653 * d.std(ddof=1) / np.sqrt(3))
    assert table.loc["b", "median_diff"] == -30 and table.loc["b", "n"] == 3
    assert table.loc["anchor_3500", "kind"] == "anchor"


def test_implied_ranking_shares_a_rank_where_no_test_separates():
    from listening_tests.mushra_results import (
        implied_ranking,
        paired_comparisons,
        system_summary,
    )

    rng = np.random.default_rng(7)
    base = rng.normal(50, 5, 14)
    frame = _pages({"hidden_reference": [100] * 14, "anchor_3500": [10] * 14,
                    "good": np.rint(base + 30 + rng.normal(0, 2, 14)),
                    "mid1": np.rint(base + rng.normal(0, 2, 14)),
                    "mid2": np.rint(base + rng.normal(0, 2, 14))})
    ranking = implied_ranking(system_summary(frame), paired_comparisons(frame))
    assert ranking["system"].iloc[0] == "good"  # compared systems only, best first
    assert set(ranking["system"]) == {"good", "mid1", "mid2"}
    ranks = dict(zip(ranking["system"], ranking["rank"], strict=True))
    assert ranks == {"good": 1, "mid1": 2, "mid2": 2}
    assert ranking.set_index("system").loc["good", "better_than"] == "mid1, mid2"


def test_assessor_screening_shares_match_the_decision():
    from listening_tests.mushra_results import assessor_screening, screening_rules

    frame = pd.concat([listener(10, hidden=95).assign(assessor="ok"),
                       listener(10, hidden=60).assign(assessor="bad")])
    table = assessor_screening(frame, MushraSpec()).set_index("assessor")
    assert table.loc["bad", "reference_low_share"] == 1.0 and table.loc["bad", "excluded"]
    assert table.loc["ok", "reference_low_share"] == 0.0 and not table.loc["ok", "excluded"]
    assert table.loc["ok", "pages"] == 10 and table.loc["ok", "anchor_high"] == 0
    rules = screening_rules(MushraSpec(mid_anchor_hz=None, max_page_fraction=0.2))
    assert [r["column"] for r in rules] == ["reference_low_share"]
    assert rules[0]["limit"] == 0.2 and "below 90" in rules[0]["label"]


@pytest.mark.parametrize("rate", [16_000, 22_050, 48_000])
def test_degraded_anchors_keep_the_length_and_degrade(rate):
    import soundfile as sf

    from audio.resample import resample
    from listening_tests.methods.mushra import DEGRADED_ANCHORS
    from listening_tests.mushra_results import system_summary

    x, source_rate = sf.read("demo/clips/u07_nl_48k_clean.flac", dtype="float32")
    x = resample(x, source_rate, rate)
    for name, make in DEGRADED_ANCHORS.items():
        y, params = make(x, rate, np.random.default_rng(0))
        assert len(y) == len(x), name  # same size on the wire as the other stimuli
        error = float(np.mean((y - x) ** 2) / np.mean(x**2))
        assert error > 1e-3, (name, error)
        assert isinstance(params, dict)
    order = system_summary(pd.DataFrame({"system": ["b", "anchor_mp3", "anchor_3500",
                                                    "hidden_reference"],
                                         "score": [50.0, 20.0, 10.0, 100.0]}))["system"]
    assert list(order) == ["hidden_reference", "anchor_3500", "anchor_mp3", "b"]


def test_degraded_anchors_in_the_spec():
    spec = ListeningTestSpec.from_dict(spec_dict(mushra={"degraded_anchors": ["mp3"]}))
    assert spec.mushra.degraded_anchors == ("mp3",)
    assert ListeningTestSpec.from_dict(spec.to_dict()) == spec
    for bad in (["nope"], "mp3", ["mp3", "mp3"]):
        with pytest.raises(SpecError, match="degraded_anchors"):
            ListeningTestSpec.from_dict(spec_dict(mushra={"degraded_anchors": bad}))
