"""Pretrain the quality model on synthetic pseudo-labelled data: ``python -m sqa.pretrain
--config conf/sqa/pretrain.yaml --out DIR``.

So that predictions make sense on a fresh install, before any human rating exists:
synthetic utterances (espeak-ng; with the recipe's ``speech.sources`` and ``categories`` also
flite, festival and transformed voices) are degraded under many conditions
(:mod:`sqa.synthetic_data`), scored with DNSMOS, PESQ and ESTOI into an URGENT Track 2 label
CSV with a pseudo-MOS (:mod:`sqa.pseudo_labels`; ``--workers`` scores on one single-threaded
process per core), and the predictor is trained on it by :func:`sqa.train.train`, the
metrics as extra targets.

``DIR`` receives ``data/`` (clips, ``labels.csv``, ``conditions.jsonl``), ``train/`` (the
training run; running again resumes it, and reuses data made from the same settings), and
the model folder itself: ``model.pt`` without optimizer state, ``train_log.csv``,
``model.yaml`` and ``pretrain.yaml``, loadable by :func:`sqa.predict.load_predictor`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import yaml

from audio.degrade_config import ConfigError
from audio.metrics.workers import worker_count
from audio.tts import espeak_available, espeak_version
from sqa.checkpoint import LAST_FILE, MODEL_FILE, CheckpointError, read_checkpoint, save_checkpoint
from sqa.pretrain_config import PSEUDO_METRICS, PretrainConfig, read_config
from sqa.pseudo_labels import metric_scorer, write_label_csv
from sqa.synthetic_data import make_clips
from sqa.train import LOG_FILE, TrainConfig, TrainError, train

LABELS_FILE = "labels.csv"
CONFIG_FILE = "pretrain.yaml"
#: The data settings the clips were made from; data is reused only when they match.
DATA_STAMP = "data_config.yaml"
#: Clips, rows and seconds of making the data, reported again when it is reused.
DATA_SUMMARY = "summary.json"


def _data_settings(cfg: PretrainConfig) -> dict:
    settings = cfg.to_dict()
    settings.pop("train")
    return settings


def make_data(cfg: PretrainConfig, folder: Path, *, progress: bool = True,
              workers: bool = False) -> tuple[Path, dict]:
    """The pseudo-labelled CSV of ``cfg`` in ``folder`` (made unless already there from the
    same settings) and a summary: clips, rows written, seconds taken. With ``workers`` the
    clips are scored on one single-threaded worker process per core."""
    labels, stamp, made = folder / LABELS_FILE, folder / DATA_STAMP, folder / DATA_SUMMARY
    settings = _data_settings(cfg)
    if labels.is_file() and stamp.is_file() and made.is_file() and yaml.safe_load(
            stamp.read_text(encoding="utf-8")) == settings:
        return labels, {**json.loads(made.read_text(encoding="utf-8")), "reused": True}
    if folder.exists() and any(folder.iterdir()) and not stamp.is_file():
        raise ValueError(f"{folder} holds files that sqa.pretrain did not make; nothing was "
                         "changed (choose another --out)")
    if folder.exists():  # data of other settings: made anew
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    start = time.monotonic()
    records = make_clips(cfg, folder, metric_scorer(cfg.pseudo_mos, workers=workers),
                         progress=progress, in_flight=2 * worker_count() if workers else 1)
    write_label_csv(records, labels)
    stamp.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    summary = {"clips": len(records),
               "rows": sum(1 for _ in labels.open(encoding="utf-8")) - 1,
               "seconds": round(time.monotonic() - start, 1)}
    made.write_text(json.dumps(summary), encoding="utf-8")
    return labels, {**summary, "reused": False}


def train_config(cfg: PretrainConfig, labels: Path, out: Path) -> TrainConfig:
    """The :class:`TrainConfig` of the recipe's ``train`` section (all metrics as extra
    targets unless ``aux`` says otherwise)."""
    settings = dict(cfg.train)
    settings.setdefault("aux", list(PSEUDO_METRICS))
    return TrainConfig(labels=[str(labels)], out=str(out), **settings)


def export(run: Path, target: Path, cfg: PretrainConfig, summary: dict) -> Path:
    """Copy the best checkpoint of ``run`` into ``target`` without optimizer and RNG state,
    with the recipe and data summary in its ``infos``, beside its log and configs."""
    ckpt = read_checkpoint(run / MODEL_FILE)
    ckpt["optimizer"], ckpt["rng"] = None, None
    ckpt["infos"] = {**ckpt["infos"], "pretraining": summary,
                     "licence": "synthetic data made here (espeak-ng speech, generated "
                                "noise); no third-party recordings"}
    target.mkdir(parents=True, exist_ok=True)
    save_checkpoint(ckpt, target / MODEL_FILE)
    for name in (LOG_FILE, "model.yaml"):
        shutil.copyfile(run / name, target / name)
    (target / CONFIG_FILE).write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False),
                                      encoding="utf-8")
    return target / MODEL_FILE


def pretrain(cfg: PretrainConfig, out: str | Path, *, progress: bool = True,
             workers: bool = False) -> dict:
    """Make the data (scored on worker processes with ``workers``), train, export into
    ``out``; returns the summary stored in the model."""
    out = Path(out)
    labels, data = make_data(cfg, out / "data", progress=progress, workers=workers)
    resumed = (out / "train" / LAST_FILE).is_file()
    start = time.monotonic()
    result = train(train_config(cfg, labels, out / "train"), progress=progress)
    summary = {"data": data, "train_seconds": round(time.monotonic() - start, 1),
               "train_resumed": resumed,
               "steps": result["step"], "best_val_utt_lcc": result["best"],
               "espeak_ng": espeak_version() or ""}
    export(out / "train", out, cfg, summary)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sqa.pretrain",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="recipe YAML (conf/sqa/pretrain.yaml)")
    parser.add_argument("--out", required=True, help="folder for data, run and model")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--workers", action="store_true",
                        help="score the clips on one single-threaded process per core "
                             "(audio.metrics.workers) while this one renders")
    args = parser.parse_args(argv)
    try:
        cfg = read_config(args.config)
    except ConfigError as exc:
        print(f"error: {args.config}: {exc}", file=sys.stderr)
        return 2
    if not espeak_available():
        print("error: espeak-ng is not installed (Debian: apt-get install espeak-ng)",
              file=sys.stderr)
        return 2
    try:
        summary = pretrain(cfg, args.out, progress=not args.quiet, workers=args.workers)
    except (TrainError, CheckpointError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    data = summary["data"]
    print(f"pretrained on {data['rows']} clips ({'reused, ' if data['reused'] else ''}made in"
          f" {data['seconds']:g} s), {summary['steps']} steps in {summary['train_seconds']:g}"
          f" s; model in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
