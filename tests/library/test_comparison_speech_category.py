"""Comparisons carry each input's speech category (from its condition, as se.simulate
records it) so results break down by kind of speech."""

from __future__ import annotations

from audio.io import Audio
from db.models import SystemKind
from library.clips import add_clip, get_or_create_dataset, get_or_create_system
from library.comparison import comparison_inputs, run_comparison, speech_category_of, summarize
from se.systems import get_system
from tests.se.speech import add_white_noise, make_speech

RATE = 16_000


def test_speech_category_comes_from_the_condition() -> None:
    assert speech_category_of({"speech": {"category": "sung", "style": "sung"}}) == "sung"
    assert speech_category_of({"speech_category": "child"}) == "child"
    assert speech_category_of({"distortions": ["noise"]}) == "unknown"
    assert speech_category_of(None) == "unknown"


def test_comparison_breaks_down_by_speech_category(sessions, store) -> None:
    clean = make_speech(RATE, seconds=1.0)
    with sessions.begin() as s:
        dataset = get_or_create_dataset(s, "kinds")
        reference = get_or_create_system(s, "reference", SystemKind.REFERENCE)
        ref = add_clip(s, store, Audio(clean, RATE), name="ref.flac", origin="import",
                       dataset=dataset, system=reference).clip_id
        for i, category in enumerate(("sung", "sung", "child")):
            add_clip(s, store, Audio(add_white_noise(clean, 5.0 + i, seed=i), RATE),
                     name=f"{category}{i}.flac", origin="import", dataset=dataset,
                     reference_clip_id=ref, condition={"distortions": ["noise"],
                                                       "speech": {"category": category}})
    with sessions() as s:
        inputs = comparison_inputs(s, "kinds")
    assert [i.speech_category for i in inputs] == ["sung", "sung", "child"]
    results = run_comparison(sessions, store, inputs, [get_system("unprocessed")], ["si_sdr"])
    table = summarize(results, ["si_sdr"], by=("system", "speech_category"))
    assert dict(zip(table["speech_category"], table["clips"], strict=True)) == {
        "child": 1, "sung": 2}
    sung = results[results["speech_category"] == "sung"]["si_sdr"].mean()
    assert table.set_index("speech_category").loc["sung", "si_sdr_mean"] == sung
