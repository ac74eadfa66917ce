"""Diverse speech in the simulation: the shipped diverse config makes every category with
its labels, pools follow the category weights, mixtures draw categories by them, the default
config is unchanged, and transformed utterances rebuild exactly."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio.degrade_config import ConfigError
from audio.speech_sources import SOURCES
from se import simulate
from se.simulation import SimulationConfig, build_pools, read_jsonl, rebuild
from se.simulation.categories import CATEGORIES, LABEL_KEYS, allocate, weighted_sequence
from se.simulation.mix import _pick_speech
from se.simulation.sources import diverse_speech_items, synthetic_speech_items

DIVERSE = Path("conf/simulation/diverse.yaml")
missing = [n for n in ("espeak", "flite", "festival", "alsa_recordings")
           if not SOURCES[n].available()]
needs_sources = pytest.mark.skipif(bool(missing), reason=f"not installed: {missing}")


def test_allocation_and_round_robin_follow_the_weights() -> None:
    weights = {"neutral": 2.0, "child": 1.0, "sung": 1.0, "sad": 0.0}
    assert allocate(weights, 8) == {"neutral": 4, "child": 2, "sung": 2}
    assert allocate(weights, 3) == {"neutral": 1, "child": 1, "sung": 1}  # each at least one
    sequence = weighted_sequence(weights, 8)
    assert set(sequence[:3]) == {"neutral", "child", "sung"}  # a short prefix has them all
    assert Counter(sequence) == {"neutral": 4, "child": 2, "sung": 2}


@pytest.mark.parametrize(("synthetic", "key"), [
    ({"categories": {"robotic": 1}}, "sources.synthetic.categories"),
    ({"categories": {"sung": 0}}, "sources.synthetic.categories"),
    ({"categories": {"sung": -1}}, "sources.synthetic.categories.sung"),
    ({"speech_sources": {"mbrola": 1}}, "sources.synthetic.speech_sources"),
    ({"speech_sources": ["espeak"]}, "sources.synthetic.speech_sources"),
])
def test_config_rejects_bad_weights_with_their_path(synthetic: dict, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        SimulationConfig.from_dict({"sources": {"synthetic": synthetic}})
    assert info.value.key == key


def test_diverse_yaml_reads_and_round_trips() -> None:
    config = SimulationConfig.from_yaml(DIVERSE)
    assert set(config.sources.synthetic.categories) == set(CATEGORIES)
    assert set(config.sources.synthetic.speech_sources) == set(SOURCES)
    assert SimulationConfig.from_dict(config.to_dict()) == config


def test_default_pool_is_unchanged_and_labelled() -> None:
    items = synthetic_speech_items(SimulationConfig())
    assert items[0].id == "espeak_00000" and len(items) == 64
    for item in items:
        assert item.labels() == {"category": "neutral", "age_group": "adult",
                                 "style": "neutral", "language": item.language,
                                 "accent": "native", "source": "espeak"}
        assert set(LABEL_KEYS) <= set(item.to_dict())


@needs_sources
def test_diverse_pool_splits_by_weight_and_labels_each_utterance() -> None:
    config = SimulationConfig.from_yaml(DIVERSE)
    items = diverse_speech_items(config)
    counts = Counter(i.category for i in items)
    assert counts == allocate(config.sources.synthetic.categories, len(items))
    by_category = {c: [i for i in items if i.category == c] for c in counts}
    assert all(i.age_group in ("child",) for i in by_category["child"])
    assert all(i.age_group == "elderly" and i.transform == "elderly"
               for i in by_category["elderly"])
    for style in ("whispered", "sung", "happy", "sad", "angry"):
        assert all(i.style == style and i.transform == style for i in by_category[style])
    for item in by_category["accented"]:
        assert item.language == "en" and item.accent != "native" and item.source == "espeak"
        assert item.voice_name != "en-us" and item.transform is None
    for item in items:  # real recordings are never transformed into a stand-in
        assert item.source != "alsa_recordings" or item.category == "neutral"
    assert len({i.source for i in items}) == len(SOURCES)


@needs_sources
def test_training_draws_categories_by_their_weights() -> None:
    config = SimulationConfig.from_yaml(DIVERSE)
    pools = build_pools(config)  # no audio is made
    weights = config.sources.synthetic.categories
    drawn = Counter(pools.speech[_pick_speech(pools, seed, None)].category
                    for seed in range(3000))
    total = sum(weights.values())
    for category, weight in weights.items():
        assert abs(drawn[category] / 3000 - weight / total) < 0.03, (category, drawn)


@needs_sources
def test_simulate_with_the_diverse_config_makes_every_category(tmp_path: Path) -> None:
    """The shipped config, as `python -m se.simulate` runs it, 10 mixtures (--limit)."""
    assert simulate.main(["--config", str(DIVERSE), "--out", str(tmp_path), "--limit", "10",
                          "--quiet"]) == 0
    categories = dict(line.split() for line in
                      (tmp_path / "utt2category").read_text().splitlines())
    assert set(categories.values()) == set(CATEGORIES)
    records = list(read_jsonl(tmp_path / "mixtures.jsonl"))
    assert len(records) == 10
    for record in records:
        line = json.loads(json.dumps(record.to_dict()))["speech"]
        assert set(LABEL_KEYS) <= set(line) and line["category"] == categories[record.id]
    transformed = next(r for r in records if r.speech.transform == "sung")
    noisy, clean = rebuild(transformed)
    written, _ = sf.read(tmp_path / "clean" / f"{transformed.id}.flac", dtype="float32")
    np.testing.assert_allclose(clean, written, atol=1.0 / 32768)
    assert np.sqrt(np.mean(clean**2)) > 0.005 and len(noisy) == len(clean)


def test_benchmark_breaks_results_down_by_category() -> None:
    import pandas as pd

    from benchmarks.speech_categories import category_breakdown, category_sections
    results = pd.DataFrame([
        {"system": "a", "category": "sung", "pesq": 2.0}, {"system": "a", "category": "sung",
                                                           "pesq": 3.0},
        {"system": "a", "category": "neutral", "pesq": 4.0},
        {"system": "b", "category": "sung", "pesq": 1.0},
        {"system": "b", "category": "neutral", "pesq": 1.5}])
    table = category_breakdown(results, "pesq")
    assert list(table.index) == ["neutral", "sung"] and list(table.columns) == ["a", "b"]
    assert table.loc["sung", "a"] == 2.5 and table.loc["neutral", "b"] == 1.5
    assert "| sung | 2.50 | 1.00 |" in category_sections(results, ("pesq",))
    with pytest.raises(KeyError, match="'style'"):
        category_breakdown(results, "pesq", by="style")


@needs_sources
def test_benchmark_test_set_has_every_category_from_an_unused_seed() -> None:
    from benchmarks.speech_categories import POOL_SEED, category_utterances
    items = category_utterances(2)
    assert Counter(i.category for i in items) == dict.fromkeys(CATEGORIES, 2)
    shipped = diverse_speech_items(SimulationConfig.from_yaml(DIVERSE))
    assert POOL_SEED != SimulationConfig.from_yaml(DIVERSE).seed
    assert not {(i.text, i.voice_name, i.transform_seed) for i in items if i.transform} & {
        (i.text, i.voice_name, i.transform_seed) for i in shipped if i.transform}


@needs_sources
def test_se_model_category_clips_use_held_out_voices_and_the_same_mix_in_every_category(
        ) -> None:
    from benchmarks.se_model import CATEGORY_RATES, HELD_OUT_VARIANTS, category_set, category_speech

    speech = category_speech(2)
    assert list(speech) == list(CATEGORIES) and all(len(v) == 6 for v in speech.values())
    espeak = [u for group in speech.values() for u in group if u.source == "espeak"]
    assert espeak and all(u.variant in HELD_OUT_VARIANTS for u in espeak)
    trained = {(u.text, u.voice_name, u.variant, u.pitch) for u in diverse_speech_items(
        SimulationConfig.from_yaml(Path("conf/simulation/se_train_diverse.yaml")))}
    assert not any((u.text, u.voice_name, u.variant, u.pitch) in trained for u in espeak)
    items = category_set(1)
    assert [i["category"] for i in items] == list(CATEGORIES)
    assert {(i["rate"], i["mix"], round(i["snr_db"], 3)) for i in items} == {
        (CATEGORY_RATES[0], items[0]["mix"], round(items[0]["snr_db"], 3))}
    assert all("noise" in i["mix"] and len(i["target"]) == len(i["degraded"]) for i in items)


def test_se_model_report_breaks_every_metric_down_by_category() -> None:
    import argparse

    import pandas as pd

    from benchmarks.se_model import CLEAN_TARGET, category_report
    rows = []
    for item, category in enumerate(("whispered", "neutral")):
        rows.append({"set": "categories", "system": CLEAN_TARGET, "item": item,
                     "category": category, "dnsmos_ovrl": 3.0})
        for system, pesq in (("unprocessed", 1.0), ("model_new", 2.0 + item),
                             ("model_old", 1.5)):
            rows.append({"set": "categories", "system": system, "item": item,
                         "category": category, "pesq": pesq, "estoi": 0.5,
                         "si_sdr": 1.0, "dnsmos_ovrl": 2.0})
    args = argparse.Namespace(models=["model_new", "model_old"])
    lines = category_report(pd.DataFrame(rows), [CLEAN_TARGET, "unprocessed", "model_new",
                                                 "model_old"], args)
    text = "\n".join(lines)
    assert "## Speech categories (2 items)" in text
    for metric in ("pesq", "estoi", "si_sdr", "dnsmos_ovrl"):
        assert f"### {metric} by speech category" in text
    # categories in registry order, systems in the given order
    assert "| category | unprocessed | model_new | model_old |" in text
    assert "| neutral | 1.00 | 3.00 | 1.50 |" in text
    assert f"| category | {CLEAN_TARGET} | unprocessed | model_new | model_old |" in text
    assert "`model_new` neutral +2.00, whispered +1.00" in text
