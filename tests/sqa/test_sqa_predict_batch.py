"""Batched prediction (``sqa.predict.predict_batch``) and the torch log-mel features give the
numbers of one-by-one prediction on the reference (numpy) features."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from audio.resample import resample
from audio.spectral import mel_spectrogram_db
from sqa.features import DB_OFFSET, DB_SCALE, FeatureConfig, log_mel, log_mel_batch
from sqa.metrics import read_mos_scp
from sqa.model import MosPredictor
from sqa.predict import load_predictor, predict, predict_batch, predict_features
from tests.signals import speech_like

ROOT = Path(__file__).resolve().parents[2]
PRETRAINED = ROOT / "checkpoints" / "sqa" / "pretrained"
TINY = {"n_mels": 32, "conv_channels": 8, "d_model": 32, "n_layers": 2, "n_heads": 2,
        "ff_dim": 64, "listener_dim": 8}


def reference_log_mel(samples: np.ndarray, rate: int, config: FeatureConfig) -> np.ndarray:
    """The features as computed before batching: numpy STFT of :mod:`audio.spectral`."""
    x = np.asarray(samples, dtype=np.float32)
    if rate != config.sample_rate:
        x = resample(x, rate, config.sample_rate)
    db = mel_spectrogram_db(x, config.sample_rate, config.n_mels, config=config.stft)
    return np.ascontiguousarray(((np.maximum(db, -100.0) - DB_OFFSET) / DB_SCALE).T)


@torch.no_grad()
def reference_predict(model: MosPredictor, feats: np.ndarray, chunk_seconds: float) -> float:
    """One utterance's chunks padded into one batch, as prediction did before batching
    (with its merge of a short last chunk corrected: it replaced the chunk before the one
    it extended, or failed with IndexError for two chunks)."""
    size = model.feature_config().frames(chunk_seconds)
    chunks = [feats[i:i + size] for i in range(0, max(1, feats.shape[0]), size)]
    if len(chunks) > 1 and chunks[-1].shape[0] < size // 4:
        last = chunks.pop()
        chunks[-1] = np.concatenate([chunks[-1], last])
    lengths = torch.tensor([c.shape[0] for c in chunks])
    batch = torch.zeros(len(chunks), int(lengths.max()), feats.shape[1])
    for i, chunk in enumerate(chunks):
        batch[i, : chunk.shape[0]] = torch.from_numpy(chunk)
    scores = model.eval()(batch, lengths)["mos"]
    return float((scores * lengths).sum() / lengths.sum())


def clips() -> list[tuple[np.ndarray, int]]:
    """Speech-like clips of several lengths and rates, two of each (length, rate) pair."""
    out = []
    for seconds, rate in ((0.4, 16_000), (1.0, 48_000), (0.7, 8_000), (2.6, 22_050),
                          (0.01, 16_000)):
        for seed in range(2):
            out.append((speech_like(seconds, rate, seed=seed).astype(np.float32), rate))
    return out


@pytest.mark.parametrize("rate", [16_000, 48_000, 8_000, 44_100])
def test_log_mel_matches_numpy_reference(rate: int) -> None:
    config = FeatureConfig()
    wave = speech_like(0.8, rate, seed=3).astype(np.float32)
    wave[: rate // 10] *= 1e-4  # a quiet stretch: low levels must agree too
    feats = log_mel(wave, rate, config)
    ref = reference_log_mel(wave, rate, config)
    assert feats.dtype == np.float32 and feats.shape == ref.shape
    # float32 FFT rounding: mel bands emptied by upsampling (8 kHz input) hold only rounding
    # noise, which differs between FFT libraries by up to about 0.1 dB; elsewhere 1e-6
    assert np.abs(feats - ref).max() < 1e-2
    assert np.abs(feats - ref).mean() < 1e-4
    silent = log_mel(np.zeros(1600, np.float32), 16_000, config)
    assert np.allclose(silent, reference_log_mel(np.zeros(1600), 16_000, config))


def test_log_mel_batch_rows_equal_single_clips() -> None:
    config = FeatureConfig(n_mels=40, window_seconds=0.025)  # window shorter than n_fft
    waves = np.stack([speech_like(0.5, 16_000, seed=s) for s in range(3)]).astype(np.float32)
    batch = log_mel_batch(waves, 16_000, config)
    assert batch.shape == (3, 51, 40)
    for row, wave in zip(batch, waves, strict=True):
        assert np.abs(row.numpy() - log_mel(wave, 16_000, config)).max() < 1e-5
        assert np.abs(row.numpy() - reference_log_mel(wave, 16_000, config)).max() < 1e-4
    with pytest.raises(ValueError, match="batch, samples"):
        log_mel_batch(waves[0], 16_000, config)


def test_predict_batch_equals_one_by_one_and_reference() -> None:
    torch.manual_seed(0)
    model = MosPredictor(**TINY).eval()
    data = clips()
    chunk = 0.5  # several chunks per clip, with a short last one joined or padded
    batched = predict_batch(model, [w for w, _ in data], [r for _, r in data], chunk,
                            batch_size=3)
    for (wave, rate), value in zip(data, batched, strict=True):
        single = predict(model, wave, rate, chunk)
        ref = reference_predict(model, reference_log_mel(wave, rate, model.feature_config()),
                                chunk)
        assert abs(value - single) < 1e-5
        assert abs(value - ref) < 1e-4
        assert abs(predict_features(model, log_mel(wave, rate, model.feature_config()),
                                    chunk) - single) < 1e-5
    # one rate for all, and the default chunk length
    same = [w for w, r in data if r == 16_000]
    assert np.allclose(predict_batch(model, same, 16_000),
                       [predict(model, w, 16_000) for w in same], atol=1e-5)
    assert predict_batch(model, [], []) == []
    with pytest.raises(ValueError, match="sample rates"):
        predict_batch(model, same, [16_000])
    assert not model.training


def test_short_last_chunk_joins_the_one_before() -> None:
    """10.2 s in chunks of 10 s: one chunk of 1,020 frames (this used to raise IndexError);
    2.6 s in chunks of 0.5 s: five chunks, the last of 61 frames."""
    torch.manual_seed(0)
    model = MosPredictor(**TINY).eval()
    config = model.feature_config()
    for seconds, chunk in ((10.2, 10.0), (2.6, 0.5)):
        wave = speech_like(seconds, 16_000, seed=1).astype(np.float32)
        feats = log_mel(wave, 16_000, config)
        value = predict(model, wave, 16_000, chunk)
        assert abs(value - reference_predict(model, feats, chunk)) < 1e-5


@pytest.mark.skipif(not (PRETRAINED / "model.pt").is_file(), reason="no shipped model")
def test_shipped_model_batched_equals_reference() -> None:
    model = load_predictor(PRETRAINED)
    rng = np.random.default_rng(0)
    waves = [(0.1 * rng.standard_normal(64_000) + speech_like(4.0, 16_000, seed=s))
             .astype(np.float32) for s in range(3)]
    waves.append(speech_like(4.0, 48_000, seed=5).astype(np.float32))
    rates = [16_000, 16_000, 16_000, 48_000]
    batched = predict_batch(model, waves, rates)
    for wave, rate, value in zip(waves, rates, batched, strict=True):
        ref = reference_predict(model, reference_log_mel(wave, rate, model.feature_config()),
                                10.0)
        assert abs(value - ref) < 1e-4


@pytest.mark.skipif(not (PRETRAINED / "model.pt").is_file(), reason="no shipped model")
def test_predict_cli_in_small_batches(tmp_path: Path) -> None:
    audio = tmp_path / "in"
    audio.mkdir()
    for i, rate in enumerate((16_000, 16_000, 48_000, 16_000, 8_000)):
        sf.write(audio / f"x{i}.flac", speech_like(0.3 + 0.1 * (i % 2), rate, seed=i), rate)
    (audio / "x5.wav").write_bytes(b"not audio")
    out = tmp_path / "mos.scp"
    done = subprocess.run([sys.executable, "-m", "sqa.predict", "--model", str(PRETRAINED),
                           "--input", str(audio), "--out", str(out), "--batch-size", "2"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1  # the bad file
    assert "x5: " in done.stderr and "Traceback" not in done.stderr
    scores = read_mos_scp(out)
    assert list(scores.index) == [f"x{i}" for i in range(5)]
    model = load_predictor(PRETRAINED)
    for i in range(5):
        wave, rate = sf.read(audio / f"x{i}.flac", dtype="float32")
        assert abs(scores[f"x{i}"] - predict(model, wave, rate)) < 1e-4


@pytest.mark.parametrize("n_layers", [1, 2])
def test_layerwise_forward_equals_model_forward(n_layers: int) -> None:
    torch.manual_seed(n_layers)
    model = MosPredictor(**{**TINY, "n_layers": n_layers, "dropout": 0.0})
    feats = torch.randn(4, 37, 32)
    with torch.no_grad():
        for lengths in (None, torch.full((4,), 37), torch.tensor([37, 20, 1, 36])):
            ref = model.train()(feats, lengths)["mos"]  # nn.TransformerEncoder (no dropout)
            assert torch.allclose(model.eval()(feats, lengths)["mos"], ref, atol=1e-6)
