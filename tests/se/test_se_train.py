"""se.train: overfits a tiny batch, resumes exactly, refuses bad configs in one line, and
runs under torchrun with two gloo processes."""

from __future__ import annotations

import os
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest
import torch
import yaml

from audio.tts import espeak_available
from se.systems import NeuralSystem
from se.train import (
    LAST_FILE,
    MODEL_FILE,
    CheckpointError,
    DataConfig,
    SyntheticPairs,
    TrainConfig,
    learning_rate,
    make_datasets,
    rate_batches,
    train,
)

ROOT = Path(__file__).resolve().parents[2]
TINY_MODEL = {"feature_dim": 16, "n_layers": 1, "decoder_hidden": 16}


def _tiny(**changes: object) -> TrainConfig:
    data = DataConfig(train_items=4, val_items=0, seconds=0.5, sample_rates=[8000, 16000],
                      extra_distortions=False, snr_db=[0.0, 10.0])
    values = {"max_steps": 4, "batch_size": 2, "validate_every": 2, "data": data,
              "model": dict(TINY_MODEL), **changes}
    return TrainConfig(**values)


def test_overfits_a_tiny_batch(tmp_path: Path) -> None:
    cfg = _tiny(max_steps=80, batch_size=2, lr=0.005, validate_every=80,
                model={"feature_dim": 32, "n_layers": 1, "decoder_hidden": 64},
                data=DataConfig(train_items=2, val_items=1, seconds=0.5, val_seconds=1.0,
                                sample_rates=[16000], extra_distortions=False,
                                snr_db=[0.0, 0.0]))
    fixed = SyntheticPairs(2, 0.5, [16000], seed=0, snr_db=(0.0, 0.0),
                           extra_distortions=False, dynamic=False)
    result = train(cfg, tmp_path / "run", progress=False, dataset=fixed, val_dataset=fixed)
    losses = [row["loss"] for row in result["history"]]
    assert min(losses[-5:]) < 0.5 * losses[0]
    assert result["history"][-1]["si_sdr"] > result["history"][0]["si_sdr"]
    log = (tmp_path / "run" / "train_log.csv").read_text().splitlines()
    assert log[0].startswith("step,epoch,loss") and "val_pesq" in log[0] and len(log) == 2


def test_resume_continues_at_the_same_step_with_the_same_weights(tmp_path: Path) -> None:
    straight = train(_tiny(), tmp_path / "a", progress=False)
    assert straight["step"] == 4
    first = train(_tiny(max_steps=2), tmp_path / "b", progress=False)
    ckpt = torch.load(tmp_path / "b" / LAST_FILE, weights_only=True)
    assert first["step"] == ckpt["step"] == 2 and ckpt["train_config"]["max_steps"] == 2
    resumed = train(_tiny(), tmp_path / "b", progress=False)
    assert resumed["step"] == 4 and [r["step"] for r in resumed["history"]] == [3, 4]
    a = torch.load(tmp_path / "a" / LAST_FILE, weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b" / LAST_FILE, weights_only=True)["state_dict"]
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6)
    system = NeuralSystem(tmp_path / "b" / MODEL_FILE)
    assert system.problem is None
    x = SyntheticPairs(1, 0.5, [16000], seed=1)[0][0].numpy()
    assert system.enhance(x, 16_000).shape == x.shape


def test_worker_processes_make_the_same_batches_as_the_training_process(tmp_path: Path
                                                                         ) -> None:
    inline = train(_tiny(), tmp_path / "a", progress=False)
    ahead = train(_tiny(data=DataConfig(**{**vars(_tiny().data), "workers": 2})),
                  tmp_path / "b", progress=False)
    assert [r["loss"] for r in ahead["history"]] == [r["loss"] for r in inline["history"]]
    a = torch.load(tmp_path / "a" / LAST_FILE, weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b" / LAST_FILE, weights_only=True)["state_dict"]
    for key in a:
        torch.testing.assert_close(a[key], b[key])


def test_max_seconds_stops_early_and_saves_where_it_stopped(tmp_path: Path) -> None:
    result = train(_tiny(max_steps=10_000, max_seconds=0.01), tmp_path / "run",
                   progress=False)
    assert 1 <= result["step"] < 10_000
    saved = torch.load(tmp_path / "run" / LAST_FILE, weights_only=True)
    assert saved["step"] == result["step"]
    log = (tmp_path / "run" / "train_log.csv").read_text().splitlines()
    assert log[-1].startswith(f"{result['step']},")


def test_the_logs_clock_runs_on_across_a_resume(tmp_path: Path) -> None:
    train(_tiny(max_steps=2), tmp_path / "run", progress=False)
    ckpt = torch.load(tmp_path / "run" / LAST_FILE, weights_only=True)
    assert ckpt["elapsed_seconds"] > 0
    ckpt["elapsed_seconds"] = 1000.0  # as if the first part had taken that long
    torch.save(ckpt, tmp_path / "run" / LAST_FILE)
    train(_tiny(), tmp_path / "run", progress=False)
    rows = (tmp_path / "run" / "train_log.csv").read_text().splitlines()
    elapsed = [float(line.split(",")[-1]) for line in rows[1:]]
    assert len(elapsed) == 2 and elapsed[0] < 100 and elapsed[1] >= 1000.0


def test_init_from_starts_a_new_run_from_a_checkpoints_weights(tmp_path: Path) -> None:
    train(_tiny(max_steps=2), tmp_path / "first", progress=False)
    start = torch.load(tmp_path / "first" / MODEL_FILE, weights_only=True)["state_dict"]
    second = _tiny(max_steps=1, lr=1e-9, init_from=str(tmp_path / "first" / MODEL_FILE),
                   data=DataConfig(train_items=2, val_items=0, seconds=0.5,
                                   sample_rates=[16000], noise_probability=0.0))
    result = train(second, tmp_path / "second", progress=False)
    assert result["step"] == 1  # a fresh run: its own step count and log
    ckpt = torch.load(tmp_path / "second" / LAST_FILE, weights_only=True)
    assert ckpt["infos"]["initialised_from"] == str(tmp_path / "first" / MODEL_FILE)
    for key, value in start.items():  # a tiny learning rate: the weights barely move
        torch.testing.assert_close(ckpt["state_dict"][key], value, rtol=1e-4, atol=1e-5)
    other = _tiny(init_from=str(tmp_path / "first" / MODEL_FILE),
                  model={**TINY_MODEL, "feature_dim": 32})
    with pytest.raises(CheckpointError, match="feature_dim"):
        train(other, tmp_path / "third", progress=False)
    assert not (tmp_path / "third").exists()


def test_batches_hold_one_rate_and_ranks_share_evenly() -> None:
    rates = [8000, 16000, 48000] * 7
    for rank in (0, 1):
        batches = rate_batches(rates, 4, seed=0, epoch=0, rank=rank, world=2)
        assert all(len({rates[i] for i in b}) == 1 for b in batches)
    assert len(rate_batches(rates, 4, seed=0, epoch=0, rank=0, world=2)) == len(
        rate_batches(rates, 4, seed=0, epoch=0, rank=1, world=2))


def _run(*args: str, env: dict | None = None, timeout: float = 120
         ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


@pytest.mark.parametrize(("change", "words"), [
    ({"batch_sise": 4}, "unknown key 'batch_sise'"),
    ({"model": {"layers": 2}}, "unknown key 'model.layers'"),
    ({"lr": -1.0}, "lr must be"),
    ({"data": {"sample_rates": [11025]}}, "data.sample_rates must be"),
    ({"data": {"noise_probability": 2}}, "data.noise_probability must be"),
    ({"log_range_db": 5}, "log_range_db must be"),
    ({"init_from": "no/such.pt"}, "init_from no/such.pt is not a file"),
])
def test_bad_config_is_one_line_and_nonzero(tmp_path: Path, change: dict, words: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(change))
    proc = _run("-m", "se.train", "--config", str(path), "--out", str(tmp_path / "out"))
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], proc.stderr
    assert not (tmp_path / "out").exists()


def test_checkpoint_of_another_version_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    torch.save({"format_version": 99, "model_name": "bandsplit", "model_args": {},
                "state_dict": {}}, out / LAST_FILE)
    cfg = tmp_path / "ok.yaml"
    cfg.write_text(yaml.safe_dump({"max_steps": 1}))
    proc = _run("-m", "se.train", "--config", str(cfg), "--out", str(out))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0 and len(lines) == 1 and "format version 99" in lines[0]
    assert sorted(p.name for p in out.iterdir()) == [LAST_FILE]


def test_two_process_ddp_on_cpu(tmp_path: Path) -> None:
    cfg = _tiny(max_steps=2, batch_size=1).to_dict()
    path = tmp_path / "ddp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = _run("-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                "-m", "se.train", "--config", str(path), "--out", str(tmp_path / "out"),
                "--no-progress", env={"CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"},
                timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert torch.load(tmp_path / "out" / LAST_FILE, weights_only=True)["step"] == 2


@pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed")
def test_trains_on_simulated_espeak_mixtures_and_exports_a_small_model(tmp_path: Path) -> None:
    sim = tmp_path / "sim.yaml"
    sim.write_text(yaml.safe_dump({"seed": 3, "max_seconds": 2.0, "sources": {
        "synthetic": {"utterances": 4, "languages": ["en-us"], "variants": [None]}}}))
    cfg = _tiny(max_steps=3, validate_every=3, data=DataConfig(
        kind="simulation", simulation=str(sim), train_items=6, val_items=2, seconds=0.5,
        val_seconds=1.0, sample_rates=[8000, 16000]))
    result = train(cfg, tmp_path / "run", progress=False)
    assert result["step"] == 3
    dataset, val = make_datasets(cfg)
    noisy, clean, rate = dataset[0]
    assert rate in (8000, 16000) and noisy.shape == clean.shape == (rate // 2,)
    assert not torch.equal(noisy, clean)  # degraded, not a copy of the target
    assert set(val.item_sample_rates) <= {8000, 16000}
    ckpt = torch.load(tmp_path / "run" / MODEL_FILE, weights_only=True)
    assert "simulation" in ckpt["infos"]["training_data"]
    assert "no licence restrictions" in ckpt["infos"]["licence"]

    target = tmp_path / "ship" / "demo.pt"
    proc = _run("-m", "se.export", str(tmp_path / "run" / MODEL_FILE), str(target),
                "--note", "tiny test run")
    assert proc.returncode == 0, proc.stderr
    shipped = torch.load(target, weights_only=True)
    assert "optimizer" not in shipped and shipped["infos"]["note"] == "tiny test run"
    assert target.stat().st_size < (tmp_path / "run" / MODEL_FILE).stat().st_size / 2
    system = NeuralSystem(target)
    x = noisy.numpy()
    assert system.problem is None and system.enhance(x, rate).shape == x.shape


def test_export_refuses_what_is_not_a_training_checkpoint(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    proc = _run("-m", "se.export", str(bad), str(tmp_path / "out.pt"))
    assert proc.returncode == 2 and "not a readable checkpoint" in proc.stderr
    assert not (tmp_path / "out.pt").exists()


def test_cosine_schedule_warms_up_then_decays_to_five_percent() -> None:
    cfg = _tiny(max_steps=100, lr=0.01, lr_schedule="cosine", warmup_steps=10)
    rates = [learning_rate(cfg, step) for step in range(100)]
    assert rates[0] < rates[5] < rates[9] <= 0.01
    assert all(a >= b for a, b in pairwise(rates[10:]))
    assert rates[-1] == pytest.approx(0.0005, rel=0.05)
    assert learning_rate(_tiny(max_steps=100, lr=0.01), 99) == 0.01


@pytest.mark.parametrize(("change", "words"), [
    ({"data": {"kind": "simulation"}}, "data.simulation must name"),
    ({"data": {"kind": "simulation", "simulation": "missing.yaml"}}, "missing.yaml"),
    ({"lr_schedule": "linear"}, "lr_schedule must be"),
])
def test_bad_simulation_settings_are_one_line(tmp_path: Path, change: dict, words: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(change))
    proc = _run("-m", "se.train", "--config", str(path), "--out", str(tmp_path / "out"))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0 and len(lines) == 1 and words in lines[0], proc.stderr
    assert not (tmp_path / "out").exists()
