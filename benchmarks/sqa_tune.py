"""Choosing the fine-tuning defaults of ``sqa.train`` on the learning-curve set.

    python -m benchmarks.sqa_tune VARIANT [VARIANT ...]   # run (results are kept)
    python -m benchmarks.sqa_tune --post-hoc --report      # levers after training, table

The tuning set is :mod:`benchmarks.sqa_learning`'s (its pool, listeners and held-out
conditions; the 1,000-vote budget as clip means), so that :mod:`benchmarks.sqa_unseen`'s
independent set stays untouched until the defaults are fixed. Each variant fine-tunes the
shipped checkpoint with :func:`sqa.train.train` in one niced single-thread process and is
scored on the held-out conditions. Writes ``benchmarks/results/sqa_tuning.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time

import numpy as np
import pandas as pd
import torch

from benchmarks.sqa_learning import FULL, ROOT, SEED, predict_all, scores
from benchmarks.sqa_listeners import ListenerPanel, latent_quality, vote_sequence
from benchmarks.sqa_pool import held_out, make_pool, pool_config, write_mos_labels
from sqa.train import FINETUNE, SHIPPED_CHECKPOINT, TrainConfig, schedule, train

WORK = ROOT / "runs" / "sqa_learning" / "full"
RESULTS = ROOT / "benchmarks" / "results" / "sqa_tuning.md"
BUDGET = 1000
#: name -> (what it is, TrainConfig settings over the old benchmark's 1.5 s crops, batch 16).
VARIANTS: dict[str, tuple[str, dict]] = {
    "default": ("the defaults (`sqa.train.schedule`; the same settings as the next row)", {}),
    "full_e5_nov": ("whole network, 5 epochs, 1.5 s crops, last weights (chosen)",
                    {"head_steps": 0, "epochs": 5, "val_fraction": 0.0}),
    "crops2": ("the same with crops of 2 s", {"head_steps": 0, "epochs": 5,
                                               "val_fraction": 0.0, "max_seconds": 2.0}),
    "full_e5": ("whole network, 5 epochs, 1.5 s crops, best on 10 % held-out systems",
                {"head_steps": 0, "epochs": 5, "val_fraction": 0.1}),
    "head": ("heads on the frozen encoder, 300 steps", {"head_steps": 300, "epochs": 0,
                                                         "val_fraction": 0.1}),
    "head_e2": ("heads, then 2 epochs of everything (lr 1e-3)",
                {"head_steps": 300, "epochs": 2, "val_fraction": 0.1}),
    "head_e2_lr3e4": ("heads, then 2 epochs of everything (lr 3e-4)",
                      {"head_steps": 300, "epochs": 2, "lr": 3e-4, "val_fraction": 0.1}),
    "seed1": ("the chosen settings, seed 1 (for the ensemble)",
              {"head_steps": 0, "epochs": 5, "val_fraction": 0.0, "seed": SEED + 1}),
    "seed2": ("the chosen settings, seed 2 (for the ensemble)",
              {"head_steps": 0, "epochs": 5, "val_fraction": 0.0, "seed": SEED + 2}),
}
#: Levers applied to the chosen variant's model after training (``--post-hoc``), as on
#: :mod:`benchmarks.sqa_unseen`'s set: ridge stacks fitted on the training clips' MOS.
POST_HOC: dict[str, str] = {
    "stacked_heads": "chosen + its own metric heads (ridge on the training clips)",
    "stacked_p808": "chosen + DNSMOS P.808 (ridge on the training clips)",
    "stacked_dnsmos": "chosen + DNSMOS SIG/BAK/OVRL/P.808 (ridge on the training clips)",
    "mc_dropout": "chosen, mean of 8 Monte-Carlo dropout passes",
    "ensemble3": "mean of the chosen settings with three seeds",
}
CHOSEN = "full_e5_nov"


def tuning_set() -> tuple[pd.DataFrame, object]:
    """(held-out clips with their MOS, the 1,000-vote label CSV) of the learning set."""
    s = FULL
    cfg = pool_config(s["conditions"], s["clips"], s["utterances"], SEED)
    records = {r["utterance_id"]: r for r in make_pool(cfg, WORK / "pool", progress=False)}
    quality = {k: latent_quality(r["params"]) for k, r in records.items()}
    rng = np.random.default_rng(SEED)
    panel = ListenerPanel.draw(s["listeners"], rng)
    train_ids = [k for k, r in records.items() if not held_out(r["system_id"])]
    test_ids = [k for k, r in records.items() if held_out(r["system_id"])]
    votes = vote_sequence(test_ids, quality, panel, s["test_votes"] * len(test_ids), rng)
    test = pd.DataFrame(votes, columns=["utterance_id", "listener", "vote"]).groupby(
        "utterance_id", sort=False)["vote"].mean().rename("mos").reset_index()
    test["system_id"] = [records[u]["system_id"] for u in test["utterance_id"]]
    test["wav_path"] = [records[u]["wav_path"] for u in test["utterance_id"]]
    votes = vote_sequence(train_ids, quality, panel, max(s["budgets"]), rng)
    return test, write_mos_labels(votes[:BUDGET], records, WORK / f"mos_{BUDGET}.csv")


def run(name: str) -> dict:
    torch.set_num_threads(1)
    test, labels = tuning_set()
    settings = dict(VARIANTS[name][1])
    if name == "default":
        rows = sum(1 for _ in labels.open(encoding="utf-8")) - 1
        settings = schedule(True, rows)
    else:
        settings = {"batch_size": FINETUNE["batch_size"], "max_seconds": 1.5, **settings}
    out = WORK / f"tune_{name}_{BUDGET}"
    shutil.rmtree(out, ignore_errors=True)
    start = time.monotonic()
    seed = settings.pop("seed", SEED)
    train(TrainConfig(labels=[str(labels)], out=str(out), init=str(SHIPPED_CHECKPOINT),
                      seed=seed, tau=0.25, **settings), progress=False)
    result = {"name": name, "budget": BUDGET, "seconds": time.monotonic() - start,
              **scores(predict_all(out, test), test)}
    with (WORK / "tune_results.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps(result) + "\n")
    return result


def _dnsmos_scores(ids: list[str], wav_paths: list[str]) -> pd.DataFrame:
    """DNSMOS SIG/BAK/OVRL/P.808 of the clips, cached in ``dnsmos4.json``."""
    from audio.io import load_audio
    from audio.metrics.nonintrusive import dnsmos

    cache = WORK / "dnsmos4.json"
    done = json.loads(cache.read_text(encoding="utf-8")) if cache.is_file() else {}
    for uid, path in zip(ids, wav_paths, strict=True):
        if uid not in done:
            audio = load_audio(path)
            d = dnsmos(audio.samples, sample_rate=audio.sample_rate)
            done[uid] = {"dnsmos_ovrl": d.ovrl, "dnsmos_sig": d.sig, "dnsmos_bak": d.bak,
                         "dnsmos_p808": d.p808}
            cache.write_text(json.dumps(done), encoding="utf-8")
    return pd.DataFrame.from_dict(done, orient="index").loc[ids]


def post_hoc() -> list[dict]:
    """The :data:`POST_HOC` rows for the chosen variant's model (train it first)."""
    from sklearn.linear_model import RidgeCV

    from benchmarks.sqa_unseen import _outputs
    from sqa.label_formats import read_labels
    from sqa.labels import mean_opinion

    torch.set_num_threads(1)
    test, labels = tuning_set()
    train_mos = mean_opinion(read_labels(labels))
    model = WORK / f"tune_{CHOSEN}_{BUDGET}"
    split = {"train": train_mos, "test": test}
    heads = {k: _outputs(model, list(t["wav_path"])) for k, t in split.items()}
    dns = {k: _dnsmos_scores(list(t["utterance_id"]), list(t["wav_path"]))
           for k, t in split.items()}
    columns = {"stacked_heads": {k: heads[k] for k in split},
               "stacked_p808": {k: np.column_stack([heads[k][:, 0],
                                                    dns[k]["dnsmos_p808"]]) for k in split},
               "stacked_dnsmos": {k: np.column_stack([heads[k][:, 0], dns[k].to_numpy()])
                                  for k in split}}
    rows = []
    for name, x in columns.items():
        ridge = RidgeCV(alphas=np.logspace(-2, 3, 12)).fit(x["train"], train_mos["mos"])
        rows.append((name, ridge.predict(x["test"])))
    rows.append(("mc_dropout", _outputs(model, list(test["wav_path"]), mc_passes=8)[:, 0]))
    seeds = [WORK / f"tune_{n}_{BUDGET}" for n in (CHOSEN, "seed1", "seed2")]
    if all((f / "model.pt").is_file() for f in seeds):
        rows.append(("ensemble3", np.mean([predict_all(f, test).reindex(
            test["utterance_id"]).to_numpy() for f in seeds], axis=0)))
    results = []
    for name, values in rows:
        pred = pd.Series(values, index=test["utterance_id"].to_numpy())
        results.append({"name": name, "budget": BUDGET, "seconds": 0.0,
                        **scores(pred, test)})
    with (WORK / "tune_results.jsonl").open("a", encoding="utf-8") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")
    return results


def report() -> str:
    found: dict[str, dict] = {}
    for line in (WORK / "tune_results.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        found[row["name"]] = row  # the newest run of each variant
    lines = ["# Tuning the fine-tuning defaults (learning-curve set, 1,000 votes)", "",
             "`python -m benchmarks.sqa_tune VARIANT`: the shipped checkpoint fine-tuned on "
             "`benchmarks/sqa_learning.py`'s 36 training conditions (1,000 votes as clip "
             "means), scored on its 12 held-out conditions; one niced thread each on the "
             "shared 2-core machine (load average 10-23), so the seconds are pessimistic.",
             "", "| variant | utt LCC | utt SRCC | sys LCC | sys SRCC | train s |",
             "|---|---|---|---|---|---|"]
    for name, label in [*((n, v[0]) for n, v in VARIANTS.items()), *POST_HOC.items()]:
        if name in found:
            r = found[name]
            lines.append(f"| {label} | {r['utt_LCC']:.3f} | {r['utt_SRCC']:.3f} | "
                         f"{r['sys_LCC']:.3f} | {r['sys_SRCC']:.3f} | {r['seconds']:.0f} |")
    text = "\n".join(lines) + "\n"
    RESULTS.write_text(text, encoding="utf-8")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sqa_tune",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="*", help=", ".join(VARIANTS))
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--post-hoc", action="store_true",
                        help="score the levers applied after training (POST_HOC)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.variants if n not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}")
    for name in args.variants:
        print(json.dumps(run(name)), file=sys.stderr)
    if args.post_hoc:
        for row in post_hoc():
            print(json.dumps(row), file=sys.stderr)
    if args.report:
        print(report())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
