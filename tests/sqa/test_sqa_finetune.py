"""Fine-tuning by default: ``sqa.train`` starts from the shipped checkpoint, fits the heads on
its frozen encoder first, and ``--init none`` trains from scratch."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sqa.checkpoint import MODEL_FILE, load_model, read_checkpoint
from sqa.features import FeatureCache
from sqa.head_fit import HEAD_MODULES
from sqa.label_formats import read_labels
from sqa.labels import mean_opinion
from sqa.predict import predict_features
from sqa.train import SHIPPED_CHECKPOINT, TrainConfig, train
from tests.sqa.test_sqa_model import labelled_set

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not (SHIPPED_CHECKPOINT / MODEL_FILE).is_file(),
                                reason="the shipped checkpoint is absent")


def _train_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sqa.train", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_cli_starts_from_the_shipped_checkpoint_unless_told(tmp_path: Path) -> None:
    labels = labelled_set(tmp_path, clips=6)
    shipped = read_checkpoint(SHIPPED_CHECKPOINT / MODEL_FILE)
    done = _train_cli("--labels", str(labels), "--out", str(tmp_path / "tuned"))
    assert done.returncode == 0, done.stderr
    tuned = read_checkpoint(tmp_path / "tuned" / MODEL_FILE)
    assert tuned["model_args"]["d_model"] == shipped["model_args"]["d_model"]
    config = tuned["train_config"]
    assert config["init"] == str(SHIPPED_CHECKPOINT)
    # 12 ratings: 5 epochs of one batch of 16, every rating trained on, the last weights
    assert (config["batch_size"], config["max_steps"], config["val_fraction"]) == (16, 5, 0.0)
    assert tuned["step"] == 5

    heads = _train_cli("--labels", str(labels), "--out", str(tmp_path / "heads"),
                       "--head-steps", "20", "--epochs", "0")
    assert heads.returncode == 0, heads.stderr
    with (tmp_path / "heads" / "train_log.csv").open() as f:
        log = list(csv.DictReader(f))
    assert [row["step"] for row in log] == ["0"]  # the head stage, then no epoch

    scratch = _train_cli("--labels", str(labels), "--out", str(tmp_path / "scratch"),
                         "--init", "none", "--epochs", "1", "--max-steps", "1")
    assert scratch.returncode == 0, scratch.stderr
    fresh = read_checkpoint(tmp_path / "scratch" / MODEL_FILE)
    assert fresh["train_config"]["init"] is None
    assert fresh["train_config"]["head_steps"] == 0


def test_head_stage_changes_only_the_heads_and_fits_the_votes(tmp_path: Path) -> None:
    labels = labelled_set(tmp_path, clips=9)
    cfg = TrainConfig(labels=[str(labels)], out=str(tmp_path / "m"),
                      init=str(SHIPPED_CHECKPOINT), epochs=0, head_steps=150,
                      val_fraction=0.0, tau=0.0, rank_weight=0.0)
    train(cfg, progress=False)
    before = read_checkpoint(SHIPPED_CHECKPOINT / MODEL_FILE)["state_dict"]
    after = read_checkpoint(tmp_path / "m" / MODEL_FILE)["state_dict"]
    for key, value in after.items():
        if key.split(".")[0] in HEAD_MODULES:
            continue
        assert torch.equal(value, before[key]), f"{key} changed in the head stage"
    assert not torch.equal(after["mean_head.2.weight"], before["mean_head.2.weight"])

    table = mean_opinion(read_labels(labels))
    errors = {}
    for name, folder in (("shipped", SHIPPED_CHECKPOINT), ("tuned", tmp_path / "m")):
        model, _ = load_model(folder)
        cache = FeatureCache(model.feature_config())
        pred = [predict_features(model, cache.get(p)) for p in table["wav_path"]]
        errors[name] = float(((table["mos"] - pred) ** 2).mean())
    assert errors["tuned"] < 0.5 * errors["shipped"]
