"""What stacking the quality model with DNSMOS (and PLCMOS) costs at inference, per clip.

    python -m benchmarks.sqa_stack_cost [--clips 40]

Scores the first ``--clips`` held-out clips of :mod:`benchmarks.sqa_unseen` (4.8 s each,
at 8, 16 and 48 kHz) three ways, in one process of one thread, and counts CPU seconds
(``time.process_time``, robust to a shared machine) and wall seconds:

- the quality model alone (``sqa.predict.predict_batch``, batches of 32: the default path);
- DNSMOS SIG/BAK/OVRL/P.808 (``audio.metrics.nonintrusive.dnsmos``, one call a clip);
- PLCMOS (``audio.metrics.nonintrusive.plcmos``).

The stacked path runs the model and DNSMOS (and PLCMOS) on every clip, so its cost is the
sum; clips/s on 2 cores assumes two such processes (the clips are independent). Writes
``benchmarks/results/sqa_stack_cost.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import date
from pathlib import Path

import pandas as pd
import torch

from audio.io import load_audio
from benchmarks.sqa_unseen import ROOT, WORK

RESULTS = ROOT / "benchmarks" / "results" / "sqa_stack_cost.md"
#: The issue's inference target, clips per second on 2 cores.
TARGET_CLIPS_PER_S = 100.0


def _timed(fn) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def measure(clips: int, model_dir: Path) -> dict:
    from audio.metrics.nonintrusive import dnsmos, plcmos
    from sqa.predict import load_predictor, predict_batch

    torch.set_num_threads(1)
    test = pd.read_csv(WORK / "test.csv").head(clips)
    audio = [load_audio(p) for p in test["wav_path"]]
    waves, rates = [a.samples for a in audio], [a.sample_rate for a in audio]
    seconds = float(sum(len(w) / r for w, r in zip(waves, rates, strict=True)))
    model = load_predictor(model_dir)
    # warm-up: load every model once (their loading is not a per-clip cost)
    predict_batch(model, waves[:2], rates[:2])
    dnsmos(waves[0], sample_rate=rates[0])
    plcmos(waves[0], sample_rate=rates[0])
    costs = {
        "model": _timed(lambda: predict_batch(model, waves, rates)),
        "dnsmos": _timed(lambda: [dnsmos(w, sample_rate=r) for w, r in zip(waves, rates,
                                                                             strict=True)]),
        "plcmos": _timed(lambda: [plcmos(w, sample_rate=r) for w, r in zip(waves, rates,
                                                                           strict=True)]),
    }
    per_clip = {k: {"cpu_s": c / clips, "wall_s": w / clips} for k, (c, w) in costs.items()}
    paths = {"model alone (default)": ["model"],
             "model + DNSMOS x4 (stacked_dnsmos)": ["model", "dnsmos"],
             "model + DNSMOS x4 + PLCMOS (stacked)": ["model", "dnsmos", "plcmos"]}
    out = {"clips": clips, "audio_seconds": seconds, "per_clip": per_clip, "paths": {}}
    for name, parts in paths.items():
        cpu = sum(per_clip[p]["cpu_s"] for p in parts)
        out["paths"][name] = {"cpu_s_per_clip": cpu, "cpu_s_per_1000": 1000 * cpu,
                              "clips_per_s_2_cores": 2.0 / cpu}
    return out


def report(result: dict, context: str) -> str:
    pc = result["per_clip"]
    lines = ["# Cost of stacking the quality model with DNSMOS / PLCMOS at inference", "",
             f"`python -m benchmarks.sqa_stack_cost --clips "
             f"{result['clips']}`, {context}.", "",
             f"{result['clips']} held-out clips of the unseen-systems set "
             f"({result['audio_seconds'] / result['clips']:.1f} s each), one thread.", "",
             "| scorer | CPU s per clip | wall s per clip |", "|---|---|---|"]
    for name, label in (("model", "quality model (`predict_batch`)"),
                        ("dnsmos", "DNSMOS SIG/BAK/OVRL/P.808"), ("plcmos", "PLCMOS")):
        lines.append(f"| {label} | {pc[name]['cpu_s']:.4f} | {pc[name]['wall_s']:.4f} |")
    lines += ["", "| path | CPU s per clip | CPU min per 1,000 clips | clips/s on 2 cores | "
              f"issue target {TARGET_CLIPS_PER_S:.0f} clips/s |", "|---|---|---|---|---|"]
    for name, p in result["paths"].items():
        met = "met" if p["clips_per_s_2_cores"] >= TARGET_CLIPS_PER_S else (
            f"missed ({TARGET_CLIPS_PER_S / p['clips_per_s_2_cores']:.1f}x too slow)")
        lines.append(f"| {name} | {p['cpu_s_per_clip']:.4f} | {p['cpu_s_per_1000'] / 60:.1f} "
                     f"| {p['clips_per_s_2_cores']:.1f} | {met} |")
    lines += ["", "CPU seconds grow on a loaded machine too (shared caches and memory "
              "bandwidth), so compare the paths with each other: the model alone reached "
              "139 clips/s of 4 s at 16 kHz on nearly idle cores "
              "(`python -m benchmarks.sqa_learning --speed-only`); these clips are 8-48 kHz "
              "and resampled first."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sqa_stack_cost",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--model", type=Path, default=WORK / "rows" / "default" / "model")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    before = os.getloadavg()[0]
    result = measure(args.clips, args.model)
    after = os.getloadavg()[0]
    context = (f"{date.today().isoformat()}, {platform.machine()}, "
               f"{os.cpu_count()} cores, load average {before:.1f} before and {after:.1f} "
               "after (machine shared: CPU seconds are the measure)")
    result["load"] = [before, after]
    text = report(result, context)
    args.out.write_text(text, encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
