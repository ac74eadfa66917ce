"""MUSHRA's own rules (ITU-R BS.1534-3): the spec section, post-screening, the per-system
statistics, the URGENT label mapping and the low-pass anchors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import signal

from listening_tests.errors import SpecError
from listening_tests.methods.mushra import (
    lowpass_anchor,
    screening_reasons,
    system_summary,
    urgent_label,
)
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

    from listening_tests.methods.mushra import paired_comparisons

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
