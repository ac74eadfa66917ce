"""Pretraining on synthetic pseudo-labels: config checks, conditions, a tiny run, and the
committed checkpoint."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from audio.degrade import bandwidth_limit
from audio.degrade_config import DegradationConfig
from audio.metrics.intrusive import pesq
from audio.resample import resample
from audio.speech_sources import SOURCES
from audio.tts import Voice, espeak_available, speak
from sqa.checkpoint import read_checkpoint
from sqa.conditions import Condition, draw_condition, render
from sqa.label_formats import read_labels
from sqa.labels import validate
from sqa.predict import load_predictor, predict
from sqa.pretrain import pretrain
from sqa.pretrain_config import PSEUDO_METRICS, config_from_dict
from sqa.pseudo_labels import pseudo_mos
from sqa.synthetic_data import draw_conditions, make_clips, speak_pool

ROOT = Path(__file__).resolve().parents[2]
PRETRAINED = ROOT / "checkpoints" / "sqa" / "pretrained"
needs_espeak = pytest.mark.skipif(not espeak_available(), reason="espeak-ng not installed")

TINY = {
    "seed": 3,
    "speech": {"utterances": 4, "seconds": 2.3, "languages": ["en-us", "de"]},
    "data": {"conditions": 3, "clean_conditions": 1, "clips_per_condition": 2,
             "sample_rates": [8000, 16000]},
    "train": {"max_steps": 3, "batch_size": 4, "max_seconds": 1.0, "val_fraction": 0.34,
              "model": {"n_mels": 32, "conv_channels": 8, "d_model": 32, "n_layers": 1,
                        "n_heads": 2, "ff_dim": 64, "listener_dim": 8}},
}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sqa.pretrain", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("text", "key"), [
    ("data: {conditions: 4, colour: red}\n", "data.colour"),
    ("speech: {seconds: 0.1}\n", "speech.seconds"),
    ("degradation: {snr_db: [30, 10]}\n", "degradation.snr_db"),
    ("train: {lr: 5.0}\n", "train.lr"),
    ("train: {model: {depth: 3}}\n", "train.model.depth"),
    ("pseudo_mos: {utmos: 1.0}\n", "pseudo_mos.utmos"),
    ("speech: {sources: {espeak: 1.0, larynx: 1.0}}\n", "speech.sources.larynx"),
    ("speech: {categories: {neutral: 0.0}}\n", "speech.categories"),
    ("data: {narrowband_probability: 1.5}\n", "data.narrowband_probability"),
    ("wideband_labels: maybe\n", "wideband_labels"),
])
def test_bad_config_is_one_line_before_any_work(tmp_path: Path, text: str, key: str) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(text, encoding="utf-8")
    done = _cli("--config", str(config), "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and key in lines[0], done.stderr
    assert not (tmp_path / "out").exists()


def test_pseudo_mos_skips_missing_metrics_and_clips() -> None:
    weights = {"dnsmos_ovrl": 1.0, "pesq": 1.0}
    assert pseudo_mos({"dnsmos_ovrl": 3.0, "pesq": 4.0}, weights) == pytest.approx(3.5)
    assert pseudo_mos({"dnsmos_ovrl": 3.0, "pesq": math.nan}, weights) == pytest.approx(3.0)
    assert pseudo_mos({"dnsmos_ovrl": 0.5, "pesq": 0.8}, weights) == 1.0
    assert math.isnan(pseudo_mos({"pesq": math.nan}, weights))


def test_conditions_are_reproducible_and_render_keeps_length() -> None:
    cfg = DegradationConfig(extra_count_probabilities=(0.0, 0.0, 0.0, 1.0))
    draw = [draw_condition(5, np.random.default_rng(9), cfg, sample_rates=(16_000,),
                           noise_probability=1.0) for _ in range(2)]
    assert draw[0] == draw[1]
    condition = draw[0]
    assert condition.name.startswith("c005_16k") and len(condition.extras) == 3
    assert Condition.from_dict(condition.to_dict()) == condition
    clean = np.sin(np.arange(16_000) * 0.05).astype(np.float32) * 0.5
    degraded, reference, params = render(clean, condition, np.random.default_rng(0),
                                         snr_jitter_db=2.0)
    assert degraded.shape == reference.shape == clean.shape
    assert abs(params["noise"]["snr_db"] - condition.noise["snr_db"]) <= 2.0
    assert np.max(np.abs(degraded)) == pytest.approx(0.9, abs=1e-4)
    same, ref, _ = render(clean, Condition("c000_16k_clean", 16_000), np.random.default_rng(0))
    np.testing.assert_allclose(same, ref)


@needs_espeak
def test_tiny_pretraining_run_gives_labels_and_a_loadable_model(tmp_path: Path) -> None:
    summary = pretrain(config_from_dict(TINY), tmp_path / "run", progress=False)
    labels = tmp_path / "run" / "data" / "labels.csv"
    table = read_labels(labels)
    validate(table, check_audio=True, decode_audio=True)
    assert len(table) == 6 and table["system_id"].nunique() == 3
    assert set(PSEUDO_METRICS) <= set(table.columns)
    assert table["score"].between(1, 5).all() and table["pesq"].notna().all()
    clean = table[table["system_id"].str.endswith("clean")]
    assert (clean["estoi"] > 0.99).all()
    assert summary["steps"] == 3 and summary["data"]["rows"] == 6
    ckpt = read_checkpoint(tmp_path / "run")
    assert ckpt["optimizer"] is None and ckpt["rng"] is None
    assert ckpt["model_args"]["aux_targets"] == list(PSEUDO_METRICS)
    for name in ("train_log.csv", "model.yaml", "pretrain.yaml"):
        assert (tmp_path / "run" / name).is_file()
    model = load_predictor(tmp_path / "run")
    assert 1.0 <= predict(model, np.zeros(8000, np.float32) + 0.01, 8000) <= 5.0
    # a second run reuses the data made from the same settings
    again = pretrain(config_from_dict(TINY), tmp_path / "run", progress=False)
    assert again["data"]["reused"]


def _fresh_clips() -> list[tuple[np.ndarray, np.ndarray]]:
    """(clean, heavily degraded) pairs of sentences and voices not in the recipe's pool."""
    texts = [("en-us", "m2", "Please call Stella and ask her to bring these things."),
             ("fr", "f3", "Les enfants jouent dans la cour de l'école."),
             ("de", "m5", "Morgen fahren wir mit dem Fahrrad in die Stadt.")]
    cfg = DegradationConfig()
    pairs = []
    for k, (language, variant, text) in enumerate(texts):
        speech, _ = speak(text, Voice(language, variant, pitch=45), 16_000)
        rng = np.random.default_rng(k)
        heavy = Condition("heavy", 16_000, {"rt60_seconds": 1.0, "drr_db": -3.0},
                          {"kind": "babble", "snr_db": -3.0},
                          (("codec", {"codec": "mp3", "quality": 9}),
                           ("packet_loss", {"loss_rate": 0.2, "max_burst": cfg.max_burst})))
        degraded, _, _ = render(speech, heavy, rng)
        clean, _, _ = render(speech, Condition("clean", 16_000), rng)
        pairs.append((clean, degraded))
    return pairs


@needs_espeak
def test_committed_checkpoint_ranks_clean_above_degraded() -> None:
    assert (PRETRAINED / "model.pt").stat().st_size <= 10 * 2**20
    ckpt = read_checkpoint(PRETRAINED)
    assert ckpt["optimizer"] is None
    torch.set_num_threads(1)
    model = load_predictor(PRETRAINED)
    for clean, degraded in _fresh_clips():
        good, bad = predict(model, clean, 16_000), predict(model, degraded, 16_000)
        assert good > bad + 0.5, (good, bad)


def test_narrowband_conditions_leave_4_khz_wide_speech_at_every_rate() -> None:
    cfg = config_from_dict({"data": {"conditions": 12, "clean_conditions": 2,
                                     "sample_rates": [8000, 16000, 22050, 48000],
                                     "narrowband_probability": 1.0}})
    conditions = draw_conditions(cfg, np.random.default_rng(1))
    assert all(c.name.endswith("clean") for c in conditions[:2])
    limited = [c for c in conditions[2:] if c.sample_rate > 8000]
    assert limited and all(c.name.endswith("_nb4k") and c.extras[-1][0] == "bandwidth"
                           and c.extras[-1][1]["cutoff_rate"] == 8000 for c in limited)
    condition = next(c for c in limited if c.sample_rate == 48000 or c is limited[-1])
    rate = condition.sample_rate
    noise = np.random.default_rng(0).standard_normal(rate).astype(np.float32) * 0.1
    out, _, _ = render(noise, condition, np.random.default_rng(0))
    spectrum = np.abs(np.fft.rfft(out)) ** 2
    freqs = np.fft.rfftfreq(len(out), 1 / rate)
    assert spectrum[freqs > 4500].sum() < 1e-3 * spectrum[freqs < 3500].sum()


@needs_espeak
def test_wideband_labels_score_8_khz_speech_like_16_khz_speech_limited_to_4_khz(
        tmp_path: Path) -> None:
    """PESQ of clean 8 kHz speech: narrow-band it is about 4.5, above the same speech at
    16 kHz band-limited to 4 kHz; with wideband_labels both get the same value."""
    base = {"seed": 2, "speech": {"utterances": 1, "seconds": 3.0, "languages": ["en-us"]},
            "data": {"conditions": 1, "clean_conditions": 1, "clips_per_condition": 1,
                     "sample_rates": [8000]}}
    seen = {}

    def capture(name: str):
        def score(condition: Condition, degraded: np.ndarray, reference: np.ndarray) -> dict:
            seen[name] = (condition.sample_rate,
                          pesq(degraded, reference, sample_rate=condition.sample_rate))
            return {"score": 3.0}
        return score

    for name, wide in (("narrow", False), ("wide", True)):
        make_clips(config_from_dict({**base, "wideband_labels": wide}), tmp_path / name,
                   capture(name), progress=False)
    speech = speak_pool(config_from_dict(base).speech, np.random.default_rng(2),
                        progress=False)[0]
    clean16 = render(resample(speech[1], speech[2], 16_000), Condition("c", 16_000),
                     np.random.default_rng(0))[0]
    limited = bandwidth_limit(clean16, 16_000, 8_000, "soxr_hq")
    limited_pesq = pesq(limited, clean16, sample_rate=16_000)
    assert seen["narrow"][0] == 8000 and seen["narrow"][1] > 4.2
    assert seen["wide"][0] == 16_000
    assert seen["wide"][1] == pytest.approx(limited_pesq, abs=0.25)
    assert seen["wide"][1] < seen["narrow"][1] - 0.5


@needs_espeak
@pytest.mark.skipif(not all(SOURCES[n].available() for n in ("flite", "festival")),
                    reason="flite or festival not installed")
def test_diverse_pool_draws_every_category_and_source() -> None:
    cfg = config_from_dict({"speech": {
        "utterances": 14, "seconds": 2.0,
        "sources": {"espeak": 1.0, "flite": 1.0, "festival": 1.0},
        "categories": {"neutral": 1.0, "whispered": 1.0, "sung": 1.0, "accented": 1.0}}})
    pool = speak_pool(cfg.speech, np.random.default_rng(4), progress=False)
    assert len(pool) == 14
    assert all(len(x) == round(2.0 * rate) for _, x, rate, _ in pool)
    assert all(np.max(np.abs(x)) > 0.01 for _, x, _, _ in pool)
    meta = [m for *_, m in pool]
    assert {m["category"] for m in meta} == {"neutral", "whispered", "sung", "accented"}
    assert {m["source"] for m in meta} == {"espeak", "flite", "festival"}
    assert all(m["source"] == "espeak" and m["accent"] != "native"
               for m in meta if m["category"] == "accented")
    assert all(m["transform"] == m["category"] for m in meta
               if m["category"] in ("whispered", "sung"))
    again = speak_pool(cfg.speech, np.random.default_rng(4), progress=False)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(pool, again, strict=True))
