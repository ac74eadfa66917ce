"""Which pretrained checkpoint to ship: each fine-tuned with ``sqa.train``'s defaults on both
SQA benchmark sets, with several seeds.

    python -m benchmarks.sqa_pretrain_compare --init OLD_DIR --init NEW_DIR --seeds 0 1 2
    python -m benchmarks.sqa_pretrain_compare ... --sets tuning      # choose on this set
    python -m benchmarks.sqa_pretrain_compare ... --sets unseen      # then report this one

Tuning set: :mod:`benchmarks.sqa_tune`'s (the learning-curve pool, 1,000 votes as clip
means), fine-tuned in-process exactly as its ``default`` variant (:func:`sqa.train.schedule`)
with the given initial checkpoint and seed. Held-out set: :mod:`benchmarks.sqa_unseen`'s,
through the README's commands (``sqa.train --labels train.csv --init DIR --seed N``,
``sqa.predict``, ``sqa.evaluate``). One niced thread per training. Each run is cached under
``runs/sqa_pretrain_compare/`` (``--fresh`` reruns). Rows: each seed, the mean of the seeds'
correlations, and the ensemble of the seeds (mean prediction). Writes
``benchmarks/results/sqa_pretrain.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "runs" / "sqa_pretrain_compare"
RESULTS = ROOT / "benchmarks" / "results" / "sqa_pretrain.md"
METRICS = ("utt_LCC", "utt_SRCC", "sys_LCC", "sys_SRCC")


def _key(init: Path) -> str:
    """A folder name for a checkpoint: its name and a hash of its weights."""
    digest = hashlib.sha256((init / "model.pt").read_bytes()).hexdigest()[:10]
    return f"{init.name}-{digest}"


def _lr_tag(lr: float | None) -> str:
    return "" if lr is None else f"-lr{lr:g}"


def tuning_run(init: Path, seed: int, fresh: bool, lr: float | None = None
               ) -> tuple[dict, pd.Series]:
    """The tuning set's ``default`` fine-tuning from ``init`` with ``seed``: (scores, clip
    predictions)."""
    import torch

    from benchmarks.sqa_learning import predict_all, scores
    from benchmarks.sqa_tune import tuning_set
    from sqa.train import TrainConfig, schedule, train

    folder = WORK / "tuning" / f"{_key(init)}-s{seed}{_lr_tag(lr)}"
    done, pred_file = folder / "result.json", folder / "pred.csv"
    test, labels = tuning_set()
    if done.is_file() and not fresh:
        pred = pd.read_csv(pred_file, index_col=0).iloc[:, 0]
        return json.loads(done.read_text(encoding="utf-8")), pred
    torch.set_num_threads(1)
    shutil.rmtree(folder, ignore_errors=True)
    rows = sum(1 for _ in labels.open(encoding="utf-8")) - 1
    start, cpu = time.monotonic(), time.process_time()
    train(TrainConfig(labels=[str(labels)], out=str(folder / "model"), init=str(init),
                      seed=seed, tau=0.25, **schedule(True, rows),
                      **({} if lr is None else {"lr": lr})), progress=False)
    result = {"train_seconds": time.monotonic() - start,
              "train_cpu_seconds": time.process_time() - cpu}
    pred = predict_all(folder / "model", test)
    result.update(scores(pred, test))
    pred.rename("mos").to_csv(pred_file)
    done.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return result, pred


def unseen_run(init: Path, seed: int, fresh: bool, lr: float | None = None
               ) -> tuple[dict, pd.Series]:
    """The held-out set through the CLI (``sqa_unseen.model_row``) from ``init``."""
    from benchmarks.sqa_unseen import WORK as UNSEEN
    from benchmarks.sqa_unseen import make_pool, model_row, write_labels
    from sqa.metrics import read_mos_scp

    paths = write_labels(make_pool(UNSEEN), UNSEEN)
    name = f"{_key(init)}-s{seed}{_lr_tag(lr)}"
    spec = {"label": name, "args": ["--init", str(init), "--seed", str(seed),
                                    *([] if lr is None else ["--lr", str(lr)])]}
    result = model_row(name, spec, paths, WORK / "unseen", fresh)
    return result, read_mos_scp(WORK / "unseen" / "rows" / name / "mos.scp")


def zero_shot(init: Path, which: str) -> dict:
    """The checkpoint as shipped, no votes: its predictions on the set's test clips."""
    if which == "tuning":
        from benchmarks.sqa_learning import predict_all, scores
        from benchmarks.sqa_tune import tuning_set

        test, _ = tuning_set()
        return scores(predict_all(init, test), test)
    from benchmarks.sqa_unseen import WORK as UNSEEN
    from benchmarks.sqa_unseen import make_pool, model_row, write_labels

    paths = write_labels(make_pool(UNSEEN), UNSEEN)
    spec = {"label": "as shipped", "model": str(init)}
    return model_row(f"{_key(init)}-shipped", spec, paths, WORK / "unseen", False)


def ensemble(preds: list[pd.Series], which: str) -> dict:
    """Scores of the mean prediction of several models on one set."""
    from benchmarks.sqa_learning import scores
    from sqa.label_formats import read_labels
    from sqa.metrics import evaluate

    mean = sum(p for p in preds) / len(preds)
    if which == "tuning":
        from benchmarks.sqa_tune import tuning_set

        test, _ = tuning_set()
        return scores(mean.reindex(test["utterance_id"]), test)
    from benchmarks.sqa_unseen import WORK as UNSEEN

    test = read_labels(UNSEEN / "test.csv")
    result = evaluate(mean.reindex(test["utterance_id"]), test)
    return {f"{lvl[:3]}_{m}": float(result[lvl][m]) for lvl in ("utterance", "system")
            for m in ("LCC", "SRCC")}


def system_means(preds: dict[str, pd.Series]) -> list[str]:
    """Markdown lines: the held-out set's truth and each run's mean per system, systems in
    the order of the truth (which pairs a run swaps)."""
    from benchmarks.sqa_unseen import WORK as UNSEEN
    from sqa.label_formats import read_labels

    test = read_labels(UNSEEN / "test.csv")
    systems = test.set_index("utterance_id")["system_id"]
    truth = test.groupby("system_id")["score"].mean().sort_values()
    lines = ["| run | " + " | ".join(truth.index) + " |",
             "|---|" + "---|" * len(truth),
             "| truth (mean of 8 votes) | " + " | ".join(f"{v:.2f}" for v in truth) + " |"]
    for name, pred in preds.items():
        means = pred.groupby(systems.reindex(pred.index)).mean().reindex(truth.index)
        lines.append(f"| {name} | " + " | ".join(f"{v:.2f}" for v in means) + " |")
    return lines


def report(rows: list[dict], inits: list[Path], unseen_preds: dict[str, pd.Series]
           ) -> str:
    lines = ["# Pretrained checkpoints compared (fine-tuned with `sqa.train`'s defaults)", "",
             "`python -m benchmarks.sqa_pretrain_compare "
             + " ".join(f"--init {i.relative_to(ROOT) if i.is_relative_to(ROOT) else i}"
                        for i in inits)
             + f" --seeds {' '.join(sorted({str(r['seed']) for r in rows if 'seed' in r}))}`"
             f", {date.today().isoformat()}, {platform.machine()}, one thread per training, "
             f"niced 10; load average {os.getloadavg()[0]:.1f} at the end (machine shared, "
             "so seconds are pessimistic; CPU seconds, on the tuning set only, are the "
             "training process's own).", "",
             "Tuning set: `benchmarks/sqa_tune.py`'s (36 training conditions, 1,000 votes as "
             "clip means; 12 held-out conditions). Held-out set: `benchmarks/sqa_unseen.py`'s "
             "(14 training systems, 1,000 single votes; 6 unseen systems x 30 clips). The "
             "checkpoint was chosen on the tuning set before the held-out rows were run.", "",
             "| set | checkpoint | run | utt LCC | utt SRCC | sys LCC | sys SRCC | train s "
             "| train CPU s |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cpu = r.get("train_cpu_seconds")
        lines.append(f"| {r['set']} | {r['checkpoint']} | {r['run']} | "
                     + " | ".join(f"{r[m]:.3f}" for m in METRICS)
                     + f" | {r.get('train_seconds', 0):.0f} | "
                     + (f"{cpu:.0f}" if cpu is not None else "") + " |")
    if unseen_preds:
        lines += ["", "Held-out set, mean prediction per system (systems in the order of the "
                  "truth; a run ranks them right when its row rises left to right):", "",
                  *system_means(unseen_preds)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sqa_pretrain_compare",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--init", action="append", type=Path, required=True,
                        help="a pretrained model folder (repeat)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sets", nargs="+", default=["tuning", "unseen"],
                        choices=["tuning", "unseen"])
    parser.add_argument("--fresh", action="store_true", help="rerun cached runs")
    parser.add_argument("--lr", type=float, help="fine-tuning learning rate (default: "
                                                 "sqa.train's)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    inits = [p.resolve() for p in args.init]
    for init in inits:
        if not (init / "model.pt").is_file():
            parser.error(f"{init} holds no model.pt")
    rows: list[dict] = []
    unseen_preds: dict[str, pd.Series] = {}
    for which in args.sets:
        for init in inits:
            preds = []
            label = str(init.relative_to(ROOT)) if init.is_relative_to(ROOT) else str(init)
            per_seed = []
            shipped = zero_shot(init, which)
            if which == "unseen":
                from sqa.metrics import read_mos_scp

                unseen_preds[f"{label}, as shipped"] = read_mos_scp(
                    WORK / "unseen" / "rows" / f"{_key(init)}-shipped" / "mos.scp")
            rows.append({"set": which, "checkpoint": label, "run": "as shipped, no votes",
                         **{m: shipped[m] for m in METRICS}, "train_seconds": 0.0})
            for seed in args.seeds:
                run = tuning_run if which == "tuning" else unseen_run
                result, pred = run(init, seed, args.fresh, args.lr)
                preds.append(pred)
                if which == "unseen":
                    unseen_preds[f"{label}, seed {seed}"] = pred
                row = {"set": which, "checkpoint": label, "seed": seed,
                       "run": f"seed {seed}" + ("" if args.lr is None else f", lr {args.lr:g}"),
                       **{k: result[k] for k in (*METRICS, "train_seconds")},
                       "train_cpu_seconds": result.get("train_cpu_seconds")}
                per_seed.append(row)
                print(json.dumps(row), file=sys.stderr)
            rows += per_seed
            if len(per_seed) > 1:
                rows.append({"set": which, "checkpoint": label, "run": "mean of the seeds",
                             **{m: float(np.mean([r[m] for r in per_seed])) for m in METRICS},
                             "train_seconds": float(np.mean([r["train_seconds"]
                                                             for r in per_seed]))})
                rows.append({"set": which, "checkpoint": label,
                             "run": f"ensemble of {len(per_seed)} seeds",
                             **ensemble(preds, which), "train_seconds": 0.0})
    text = report(rows, inits, unseen_preds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
