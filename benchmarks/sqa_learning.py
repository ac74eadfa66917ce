"""Learning curves of the quality model from simulated votes, against DNSMOS, and its speed.

    python -m benchmarks.sqa_learning [--quick] [--init checkpoints/sqa/pretrained]
    python -m benchmarks.sqa_learning --speed-only   # remeasure speed, keep the curves

Simulated listeners (:mod:`benchmarks.sqa_listeners`: a latent quality from each clip's
degradation parameters, per-listener slope and bias, vote noise, votes rounded to 1..5)
rate clips of synthetic conditions (:mod:`benchmarks.sqa_pool`). The model is fine-tuned by
:func:`sqa.train.train` on the first 250, 1,000 and 4,000 votes on the training conditions
(averaged per clip), from the pretrained checkpoint and from scratch, two runs at a time in
single-thread processes, and scored on the held-out conditions
(MOS of ``TEST_VOTES`` votes per clip) beside DNSMOS OVRL and P.808 zero-shot. Speed: clips
of 4 s at 16 kHz per second on CPU with 2 threads, features included, in batches
(:func:`sqa.predict.predict_batch`) and one by one. Writes
``benchmarks/results/sqa_learning.md`` and ``sqa_learning.png``; ``--speed-only`` measures
the speed again and rewrites only its lines there (and in the ``.json``).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "2"  # before numpy and torch load: two threads, as the issue asks

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import multiprocessing  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from benchmarks.sqa_listeners import ListenerPanel, latent_quality, vote_sequence  # noqa: E402
from benchmarks.sqa_pool import (  # noqa: E402
    held_out,
    make_pool,
    pool_config,
    write_mos_labels,
)
from benchmarks.sqa_report import update_speed, write_report  # noqa: E402
from sqa.checkpoint import load_model  # noqa: E402
from sqa.features import FeatureCache  # noqa: E402
from sqa.metrics import evaluate  # noqa: E402
from sqa.predict import predict, predict_batch, predict_features  # noqa: E402
from sqa.pretrain_config import read_config  # noqa: E402
from sqa.train import TrainConfig, train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "sqa_learning.md"
FULL = {"conditions": 48, "clips": 5, "utterances": 100, "budgets": (250, 1000, 4000),
        "epochs": 5, "test_votes": 20, "listeners": 50, "speed_clips": 256, "jobs": 2}
QUICK = {"conditions": 8, "clips": 3, "utterances": 12, "budgets": (20, 40), "epochs": 1,
         "test_votes": 4, "listeners": 10, "speed_clips": 32, "jobs": 2}
#: Clips per batch in the speed measurement.
SPEED_BATCH = 32
TUNE = {"batch_size": 16, "lr": 1e-3, "max_seconds": 1.5, "val_fraction": 0.0,
        "epochs": 10_000, "tau": 0.25}
SEED = 7


def scores(pred: pd.Series, test: pd.DataFrame) -> dict[str, float]:
    result = evaluate(pred, test)
    return {f"{lvl[:3]}_{m}": float(result[lvl][m])
            for lvl in ("utterance", "system") for m in ("LCC", "SRCC")}


def predict_all(model_dir: Path, test: pd.DataFrame) -> pd.Series:
    model, _ = load_model(model_dir)
    cache = FeatureCache(model.feature_config())
    return pd.Series({row.utterance_id: predict_features(model, cache.get(row.wav_path))
                      for row in test.itertuples()}, dtype=float)


def finetune(labels: Path, out: Path, init: Path | None, steps: int, model: dict) -> float:
    cfg = TrainConfig(labels=[str(labels)], out=str(out), init=str(init) if init else None,
                      max_steps=steps, model=dict(model), seed=SEED, **TUNE)
    start = time.monotonic()
    train(cfg, progress=False)
    return time.monotonic() - start


def job(name: str, budget: int, labels: Path | None, out: Path, init: Path | None,
        epochs: int, model: dict, test: pd.DataFrame) -> dict:
    """One row of the table: fine-tune (unless ``labels`` is None) and score; one thread."""
    torch.set_num_threads(1)
    steps, seconds = 0, 0.0
    if labels is not None:
        rows = sum(1 for _ in labels.open(encoding="utf-8")) - 1
        steps = epochs * math.ceil(rows / TUNE["batch_size"])
        shutil.rmtree(out, ignore_errors=True)
        seconds = finetune(labels, out, init, steps, model)
    pred = predict_all(out if labels is not None else init, test)
    return {"init": name, "votes": budget, "steps": steps, "seconds": seconds,
            **scores(pred, test)}


def speed(model_dir: Path, clips: int) -> dict[str, float]:
    """Clips of 4 s per second of wall time and per CPU-second (the share this process got
    of a busy machine does not count there): log-mel features and model, by
    :func:`sqa.predict.predict_batch` in batches of ``SPEED_BATCH`` (16 kHz input, and
    48 kHz input, resampled), and one by one with :func:`sqa.predict.predict`. The load
    average before and after is kept, since a busy machine makes the wall-time figures
    pessimistic."""
    torch.set_num_threads(2)
    model, _ = load_model(model_dir)
    rng = np.random.default_rng(0)
    waves = [(0.1 * rng.standard_normal(64_000)).astype(np.float32) for _ in range(clips)]
    waves_48k = [(0.1 * rng.standard_normal(192_000)).astype(np.float32)
                 for _ in range(max(SPEED_BATCH, clips // 4))]
    single = waves[:max(8, clips // 8)]
    out: dict[str, float] = {"batch": SPEED_BATCH, "clips": len(waves),
                             "clips_48k": len(waves_48k), "clips_single": len(single),
                             "load_before": os.getloadavg()[0]}
    for name, data, rate in (("batched", waves, 16_000), ("batched_48k", waves_48k, 48_000)):
        predict_batch(model, data[:SPEED_BATCH], rate, batch_size=SPEED_BATCH)  # warm-up
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(0, len(data), SPEED_BATCH):
            predict_batch(model, data[i:i + SPEED_BATCH], rate, batch_size=SPEED_BATCH)
        out[name] = len(data) / (time.perf_counter() - start)
        out[f"{name}_per_cpu_second"] = len(data) / (time.process_time() - cpu)
    start, cpu = time.perf_counter(), time.process_time()
    for w in single:
        predict(model, w, 16_000)
    out["single"] = len(single) / (time.perf_counter() - start)
    out["single_per_cpu_second"] = len(single) / (time.process_time() - cpu)
    out["load_after"] = os.getloadavg()[0]
    return out


def speed_only(settings: dict, init: Path, out: Path) -> str:
    """Measure the speed again and rewrite only its lines of the report and the JSON."""
    start = time.monotonic()
    speeds = speed(init, settings["speed_clips"])
    seconds = time.monotonic() - start
    data = out.with_suffix(".json")
    result = json.loads(data.read_text(encoding="utf-8")) if data.is_file() else {}
    result["speed"] = speeds
    result.setdefault("times", {})["speed"] = seconds
    data.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    return update_speed(out, result, date.today().isoformat())


def run(settings: dict, init: Path, work: Path) -> dict:
    times: dict[str, float] = {}
    start = time.monotonic()
    cfg = pool_config(settings["conditions"], settings["clips"], settings["utterances"], SEED)
    records = {r["utterance_id"]: r for r in make_pool(cfg, work / "pool")}
    times["pool (synthesis, DNSMOS on test clips)"] = time.monotonic() - start
    quality = {k: latent_quality(r["params"]) for k, r in records.items()}
    rng = np.random.default_rng(SEED)
    panel = ListenerPanel.draw(settings["listeners"], rng)
    train_ids = [k for k, r in records.items() if not held_out(r["system_id"])]
    test_ids = [k for k, r in records.items() if held_out(r["system_id"])]
    test_votes = vote_sequence(test_ids, quality, panel,
                               settings["test_votes"] * len(test_ids), rng)
    test = pd.DataFrame(test_votes, columns=["utterance_id", "listener", "vote"]).groupby(
        "utterance_id", sort=False)["vote"].mean().rename("mos").reset_index()
    test["system_id"] = [records[u]["system_id"] for u in test["utterance_id"]]
    test["wav_path"] = [records[u]["wav_path"] for u in test["utterance_id"]]
    votes = vote_sequence(train_ids, quality, panel, max(settings["budgets"]), rng)
    start = time.monotonic()
    model_cfg = read_config(ROOT / "conf" / "sqa" / "pretrain.yaml").train.get("model", {})
    jobs = [("pretrained", 0, None, init, init)]
    for budget in settings["budgets"]:
        labels = write_mos_labels(votes[:budget], records, work / f"mos_{budget}.csv")
        jobs += [(name, budget, labels, work / f"{name}_{budget}", start_from)
                 for name, start_from in (("pretrained", init), ("scratch", None))]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(settings["jobs"], mp_context=context) as pool:
        futures = [pool.submit(job, *j, settings["epochs"], model_cfg, test) for j in jobs]
        rows = [f.result() for f in futures]
    times["fine-tuning and scoring (2 processes)"] = time.monotonic() - start
    times["training, summed over runs"] = sum(r["seconds"] for r in rows)
    baselines = {m: scores(pd.Series({u: records[u][m] for u in test["utterance_id"]}),
                           test) for m in ("dnsmos_ovrl", "dnsmos_p808")}
    start = time.monotonic()
    speeds = speed(init, settings["speed_clips"])
    times["speed"] = time.monotonic() - start
    return {"rows": rows, "baselines": baselines, "speed": speeds, "times": times,
            "train_clips": len(train_ids), "test_clips": len(test_ids),
            "train_conditions": len({records[u]["system_id"] for u in train_ids}),
            "test_conditions": int(test["system_id"].nunique()),
            "latent_range": (min(quality.values()), max(quality.values()))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sqa_learning",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run (a few minutes)")
    parser.add_argument("--init", type=Path, default=ROOT / "checkpoints" / "sqa" /
                        "pretrained", help="pretrained model folder")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "sqa_learning",
                        help="folder for the clip pool and the fine-tuned models")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"results file (default {RESULTS.relative_to(ROOT)}; "
                             "--quick writes none unless given)")
    parser.add_argument("--speed-only", action="store_true",
                        help="only measure the speed and rewrite its lines of the results "
                             "(the learning curves are kept)")
    args = parser.parse_args(argv)
    if not (args.init / "model.pt").is_file():
        parser.error(f"no pretrained model at {args.init} (python -m sqa.pretrain ...)")
    settings = QUICK if args.quick else FULL
    if args.speed_only:
        print(speed_only(settings, args.init, args.out or RESULTS))
        return 0
    work = args.work / ("quick" if args.quick else "full")
    start = time.monotonic()
    result = run(settings, args.init, work)
    result["wall_minutes"] = (time.monotonic() - start) / 60
    out = args.out or (None if args.quick else RESULTS)
    init = args.init.resolve()
    shown = init.relative_to(ROOT) if init.is_relative_to(ROOT) else init
    context = {"settings": settings, "tune": TUNE, "seed": SEED, "init": shown,
               "date": date.today().isoformat(), "cpu": platform.processor() or
               platform.machine(), "torch": torch.__version__}
    report = write_report(result, context, out)
    if out is not None:  # the numbers, for other reports and plots
        out.with_suffix(".json").write_text(json.dumps(result, indent=1, default=str),
                                            encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
