"""The MOS predictor: model, losses, training, checkpoints, and ``python -m sqa.predict``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from sqa.checkpoint import LAST_FILE, MODEL_FILE, CheckpointError, load_model, read_checkpoint
from sqa.losses import clipped_mse, masked_mse, pairwise_ranking
from sqa.metrics import read_mos_scp
from sqa.model import MosPredictor, MosPredictorConfig, count_parameters
from sqa.predict import predict
from sqa.train import TrainConfig, train
from tests.signals import speech_like

ROOT = Path(__file__).resolve().parents[2]
TINY = {"n_mels": 32, "conv_channels": 8, "d_model": 32, "n_layers": 1, "n_heads": 2,
        "ff_dim": 64, "listener_dim": 8, "dropout": 0.0}


def labelled_set(folder: Path, clips: int = 12) -> Path:
    """``clips`` short clips whose MOS falls with added noise; two listeners each, with a
    DNSMOS column missing on every third clip."""
    rng = np.random.default_rng(0)
    rows = ["wav_path,system_id,sample_id,score,listener_id,dnsmos_ovrl"]
    for i in range(clips):
        level = i / (clips - 1)
        rate = (16_000, 8_000, 48_000)[i % 3]
        x = speech_like(0.5, rate, seed=i) + 0.3 * level * rng.standard_normal(rate // 2)
        sf.write(folder / f"c{i}.wav", np.clip(x, -1, 1).astype(np.float32), rate)
        mos = 4.5 - 3.0 * level
        dns = "" if i % 3 == 0 else f"{mos - 0.2:.2f}"
        for listener, shift in (("L1", 0.3), ("L2", -0.3)):
            vote = min(5.0, max(1.0, mos + shift))
            rows.append(f"c{i}.wav,sys{i % 4},s{i},{vote:.2f},{listener},{dns}")
    path = folder / "labels.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def config(tmp_path: Path, labels: Path, **kw) -> TrainConfig:
    values = {"labels": [str(labels)], "out": str(tmp_path / "model"), "model": dict(TINY),
              "batch_size": 8, "epochs": 100, "max_steps": 40, "lr": 3e-3, "max_seconds": 0.5,
              "val_fraction": 0.25, "aux": ["dnsmos_ovrl"], "tau": 0.0}
    values.update(kw)
    return TrainConfig(**values)


def test_default_model_is_compact() -> None:
    count = count_parameters(MosPredictor())
    assert count < 5_000_000
    assert 500_000 < count < 2_000_000


@pytest.mark.parametrize("frames", [1, 37, 400])
def test_scores_stay_in_range(frames: int) -> None:
    torch.manual_seed(0)
    model = MosPredictor(**TINY, n_listeners=3, n_datasets=2, aux_targets=["pesq"]).eval()
    feats = 10 * torch.randn(3, frames, 32)
    out = model(feats, torch.tensor([frames, max(1, frames // 2), 1]),
                torch.tensor([0, 1, 3]), torch.tensor([0, 1, 2]))
    for key in ("mos", "listener_mos"):
        assert out[key].shape == (3,)
        assert torch.all((out[key] >= 1) & (out[key] <= 5))
    assert out["aux"].shape == (3, 1)


def test_config_round_trips_through_yaml(tmp_path: Path) -> None:
    cfg = MosPredictorConfig(**TINY, aux_targets=["pesq"], aux_mean=[2.0], aux_std=[0.5])
    cfg.to_yaml(tmp_path / "m.yaml")
    assert MosPredictorConfig.from_yaml(tmp_path / "m.yaml") == cfg
    with pytest.raises(ValueError, match="unknown model settings: width"):
        MosPredictorConfig.from_dict({"width": 3})


def test_losses() -> None:
    pred, true = torch.tensor([3.0, 3.1, 4.0]), torch.tensor([3.0, 3.0, 2.0])
    assert float(clipped_mse(pred, true, tau=0.25)) == pytest.approx(4.0 / 3)
    assert float(pairwise_ranking(true, true, margin=0.1)) == 0.0
    assert float(pairwise_ranking(pred, true, margin=0.1)) > 0.0
    aux = torch.tensor([[1.0, float("nan")], [float("nan"), float("nan")]])
    assert float(masked_mse(torch.zeros(2, 2), aux)) == 1.0
    assert float(masked_mse(torch.zeros(1, 1), torch.tensor([[float("nan")]]))) == 0.0


def test_training_lowers_loss_and_checkpoint_round_trips(tmp_path: Path) -> None:
    labels = labelled_set(tmp_path)
    result = train(config(tmp_path, labels, max_steps=60), progress=False)
    losses = result["losses"]
    assert result["step"] == 60
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    out = tmp_path / "model"
    assert {MODEL_FILE, LAST_FILE, "train_log.csv", "model.yaml"} <= {
        p.name for p in out.iterdir()}
    log = (out / "train_log.csv").read_text().splitlines()
    assert log[0].startswith("step,epoch,train_loss,utt_MSE") and len(log) > 2
    ckpt = read_checkpoint(out / LAST_FILE)
    assert ckpt["step"] == 60 and ckpt["model_name"] == "MosPredictor"
    assert ckpt["infos"]["vocab"]["listeners"] == ["L1", "L2"]
    assert ckpt["model_args"]["aux_targets"] == ["dnsmos_ovrl"]

    model, _ = load_model(out / LAST_FILE)
    again, _ = load_model(out / LAST_FILE)
    wave = speech_like(0.7, 22_050, seed=5)
    assert predict(model, wave, 22_050) == predict(again, wave, 22_050)
    assert 1.0 <= predict(model, wave, 22_050) <= 5.0

    # Resume: the same folder continues at the saved step and RNG state.
    resumed = train(config(tmp_path, labels, max_steps=64), progress=False)
    assert resumed["step"] == 64 and len(resumed["losses"]) == 4


def test_resume_matches_uninterrupted_run(tmp_path: Path) -> None:
    labels = labelled_set(tmp_path, clips=8)
    whole = train(config(tmp_path / "a", labels, max_steps=6, batch_size=4, save_every=1,
                         val_fraction=0.0), progress=False)
    train(config(tmp_path / "b", labels, max_steps=3, batch_size=4, save_every=1,
                 val_fraction=0.0), progress=False)
    rest = train(config(tmp_path / "b", labels, max_steps=6, batch_size=4, save_every=1,
                        val_fraction=0.0), progress=False)
    assert rest["step"] == 6
    assert rest["losses"] == pytest.approx(whole["losses"][3:], rel=1e-4)


def test_other_version_refused_and_untouched(tmp_path: Path) -> None:
    labels = labelled_set(tmp_path, clips=6)
    train(config(tmp_path, labels, max_steps=2), progress=False)
    out = tmp_path / "model"
    for name in (MODEL_FILE, LAST_FILE):
        ckpt = torch.load(out / name, weights_only=True)
        ckpt["format_version"] = 99
        torch.save(ckpt, out / name)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    done = subprocess.run([sys.executable, "-m", "sqa.train", "--labels", str(labels),
                           "--out", str(out), "--max-steps", "2"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "format version 99" in done.stderr and "nothing was changed" in done.stderr
    assert "Traceback" not in done.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    with pytest.raises(CheckpointError, match="another version"):
        load_model(out)
    pred = subprocess.run([sys.executable, "-m", "sqa.predict", "--model", str(out),
                           "--input", str(tmp_path), "--out", str(tmp_path / "mos.scp")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert pred.returncode == 1 and "format version 99" in pred.stderr
    assert not (tmp_path / "mos.scp").exists()


def test_predict_cli_writes_every_input(tmp_path: Path) -> None:
    labels = labelled_set(tmp_path, clips=6)
    train(config(tmp_path, labels, max_steps=2), progress=False)
    audio = tmp_path / "in"
    (audio / "sub").mkdir(parents=True)
    for i, rate in enumerate((8_000, 16_000, 44_100)):
        sf.write(audio / ("sub" if i == 2 else "") / f"x{i}.flac",
                 speech_like(0.4, rate, seed=i), rate)
    out = tmp_path / "mos.scp"
    done = subprocess.run([sys.executable, "-m", "sqa.predict", "--model",
                           str(tmp_path / "model"), "--input", str(audio), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    scores = read_mos_scp(out)
    assert sorted(scores.index) == ["sub-x2", "x0", "x1"]
    assert ((scores >= 1) & (scores <= 5)).all()

    (audio / "bad.wav").write_bytes(b"not audio")
    scp = tmp_path / "wav.scp"
    scp.write_text(f"a {audio / 'x0.flac'}\nb {audio / 'bad.wav'}\nc {audio / 'gone.wav'}\n")
    done = subprocess.run([sys.executable, "-m", "sqa.predict", "--model",
                           str(tmp_path / "model"), "--input", str(scp), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "b: " in done.stderr and "c: " in done.stderr and "Traceback" not in done.stderr
    assert list(read_mos_scp(out).index) == ["a"]


def test_system_ranking_targets_are_system_means_and_train(tmp_path: Path) -> None:
    """Each vote carries its system's mean clip MOS (the target of ``--system-rank-weight``),
    and training with that term runs and lowers the loss."""
    from sqa.data import Vocab, VoteDataset, collate
    from sqa.features import FeatureCache, FeatureConfig
    from sqa.label_formats import read_labels
    from sqa.labels import mean_opinion

    labels = labelled_set(tmp_path)
    table = read_labels(labels)
    dataset = VoteDataset(table, FeatureCache(FeatureConfig(n_mels=32)), Vocab(),
                          max_frames=50)
    clips = mean_opinion(table)
    expected = clips.groupby("system_id")["mos"].mean()
    got = collate([dataset[i] for i in range(len(dataset))])["system_mos"].numpy()
    assert got == pytest.approx(expected.loc[table["system_id"]].to_numpy(), abs=1e-5)
    assert len(set(np.round(got, 4))) == 4  # four systems, four targets
    result = train(config(tmp_path, labels, max_steps=40, system_rank_weight=1.0),
                   progress=False)
    assert np.mean(result["losses"][-5:]) < np.mean(result["losses"][:5])


def test_predict_cli_averages_several_models(tmp_path: Path) -> None:
    """``--model A --model B`` writes the mean of A's and B's scores per file."""
    labels = labelled_set(tmp_path, clips=6)
    train(config(tmp_path, labels, max_steps=2, out=str(tmp_path / "a")), progress=False)
    train(config(tmp_path, labels, max_steps=6, seed=1, out=str(tmp_path / "b")),
          progress=False)
    audio = tmp_path / "in"
    audio.mkdir()
    for i, rate in enumerate((8_000, 16_000)):
        sf.write(audio / f"x{i}.flac", speech_like(0.4, rate, seed=i), rate)

    def scores(*models: str) -> pd.Series:
        out = tmp_path / f"{'-'.join(models)}.scp"
        args = [a for m in models for a in ("--model", str(tmp_path / m))]
        done = subprocess.run([sys.executable, "-m", "sqa.predict", *args, "--input",
                               str(audio), "--out", str(out)],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return read_mos_scp(out)

    a, b, both = scores("a"), scores("b"), scores("a", "b")
    assert not np.allclose(a, b)
    assert both.to_numpy() == pytest.approx(((a + b) / 2).reindex(both.index).to_numpy(),
                                            abs=1e-5)
