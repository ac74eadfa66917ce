"""How long a person waits for the Enhance and Compare tabs, and where the time goes.

Runs the code the tabs run (``library.comparison.enhance_live`` and ``run_comparison``) on a
fresh data folder, as the app does once its scoring workers have started (it starts them
when an admin page opens: ``audio.metrics.workers.start_workers``):

- **Enhance**: a 3.0 s clip at 48 kHz (a demo utterance with its noise, and the clean
  reference, both repeated to 3 s) through 5 systems with every default metric
  (PESQ, ESTOI, SI-SDR, SDR, LSD, MCD, DNSMOS). Target: under 10 s.
- **Compare**: the 36 degraded demo clips x 4 systems x the Compare tab's 4 default metrics
  (PESQ, ESTOI, SI-SDR, DNSMOS OVRL), first run (nothing cached). Target: under 2 minutes
  on 2 cores.

The machine this runs on may be shared: the load average (1 min) is written next to every
figure. Writes ``benchmarks/results/evaluation_speed_<part>.md`` and the seconds of each metric
on each clip to ``benchmarks/results/evaluation_speed_<part>_metrics.csv``.

    python benchmarks/evaluation_speed.py [--part enhance|compare|both] [--repeats 1]
        [--clips 36]   # fewer demo inputs for Compare, on a machine too busy for all 36
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from audio.io import Audio, load_audio  # noqa: E402
from audio.metrics import DEFAULT_METRICS  # noqa: E402
from audio.metrics.workers import start_workers  # noqa: E402
from library.clips import add_clip, get_or_create_dataset  # noqa: E402
from library.comparison import comparison_inputs, enhance_live, run_comparison  # noqa: E402
from webapp.context import start  # noqa: E402
from webapp.settings import Settings  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
ENHANCE_SYSTEMS = ["unprocessed", "mmse_lsa", "wpe", "rnnoise", "bandsplit_demo"]
COMPARE_SYSTEMS = ["unprocessed", "mmse_lsa", "rnnoise", "bandsplit_demo"]
COMPARE_METRICS = ["pesq", "estoi", "si_sdr", "dnsmos_ovrl"]
ENHANCE_SECONDS = 3.0
DEMO_PAIR = ("u07_nl_48k_noise-brown.flac", "u07_nl_48k_clean.flac")


def load() -> float:
    return round(os.getloadavg()[0], 1)


def cpu_seconds() -> float:
    """CPU time of this process (all threads) and of its live child processes (the scoring
    workers): what the work costs whatever else runs."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime + _children_cpu_seconds()


def _children_cpu_seconds() -> float:
    """utime + stime of this process's live children, from /proc (Linux; 0 elsewhere)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():  # fields[1]: ppid; [11], [12]: utime, stime
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def three_second_pair(context) -> int:
    """Store the 3 s noisy clip and its clean reference; return the noisy clip's id."""
    noisy, clean = (load_audio(REPO / "demo" / "clips" / name) for name in DEMO_PAIR)
    frames = int(ENHANCE_SECONDS * noisy.sample_rate)

    def stretch(samples: np.ndarray) -> np.ndarray:
        return np.tile(samples, int(np.ceil(frames / samples.size)))[:frames]

    with context.sessions.begin() as session:
        dataset = get_or_create_dataset(session, "benchmark")
        reference = add_clip(session, context.store, Audio(stretch(clean.samples),
                                                           clean.sample_rate),
                             name="u07_3s_clean.flac", origin="import", dataset=dataset)
        return add_clip(session, context.store, Audio(stretch(noisy.samples),
                                                      noisy.sample_rate),
                        name="u07_3s_noise-brown.flac", origin="import", dataset=dataset,
                        reference_clip_id=reference.clip_id,
                        condition={"distortions": ["noise"]}).clip_id


def measure_enhance(context, rows: list[dict]) -> dict:
    clip_id = three_second_pair(context)
    catalog = context.systems()
    before, cpu = load(), cpu_seconds()
    started = time.perf_counter()
    first_output = all_outputs = None
    for update in enhance_live(context.sessions, context.store, clip_id,
                               [catalog[name] for name in ENHANCE_SYSTEMS], DEFAULT_METRICS):
        now = time.perf_counter() - started
        if update.output is not None:
            first_output = first_output or now
            all_outputs = now
        if update.error:
            raise RuntimeError(update.error)
        if update.scores is not None:
            rows += [{"part": "enhance", "clip_id": update.scores.clip_id, "system": "",
                      "metric": metric, "seconds": round(seconds, 4)}
                     for metric, seconds in update.scores.seconds.items()]
    total = time.perf_counter() - started
    return {"first_output": first_output, "all_outputs": all_outputs, "total": total,
            "cpu": cpu_seconds() - cpu, "load_before": before, "load_after": load()}


def measure_compare(context, rows: list[dict], clips: int) -> dict:
    catalog = context.systems()
    with context.sessions() as session:
        inputs = comparison_inputs(session, "demo")[:clips]
    before, cpu = load(), cpu_seconds()
    started = time.perf_counter()
    results = run_comparison(context.sessions, context.store, inputs,
                             [catalog[name] for name in COMPARE_SYSTEMS], COMPARE_METRICS)
    total = time.perf_counter() - started
    for row in results.to_dict("records"):
        rows += [{"part": "compare", "clip_id": row["output_clip_id"], "system": row["system"],
                  "metric": metric, "seconds": round(seconds, 4)}
                 for metric, seconds in (row.get("metric_seconds") or {}).items()]
    enhancing = float(np.nansum(results["processing_seconds"]))
    return {"total": total, "pairs": len(results), "inputs": len(inputs),
            "enhancing": enhancing,
            "cpu": cpu_seconds() - cpu, "load_before": before, "load_after": load()}


def fresh_context(folder: Path):
    return start(Settings(data_dir=folder))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["enhance", "compare", "both"], default="both")
    parser.add_argument("--repeats", type=int, default=1,
                        help="fresh data folders per part (each a first run)")
    parser.add_argument("--clips", type=int, default=36,
                        help="demo inputs the Compare part uses (default: all 36)")
    args = parser.parse_args()
    started = time.perf_counter()
    start_workers(wait=True)  # as the app does when an admin page opens
    warm_seconds = time.perf_counter() - started
    metric_rows: list[dict] = []
    enhance, compare = [], []
    for _ in range(args.repeats):
        if args.part in ("enhance", "both"):
            with tempfile.TemporaryDirectory() as tmp:
                enhance.append(measure_enhance(fresh_context(Path(tmp)), metric_rows))
                print("enhance", enhance[-1], flush=True)
        if args.part in ("compare", "both"):
            with tempfile.TemporaryDirectory() as tmp:
                compare.append(measure_compare(fresh_context(Path(tmp)), metric_rows,
                                               args.clips))
                print("compare", compare[-1], flush=True)
    write(args, warm_seconds, enhance, compare, metric_rows)


def write(args, warm_seconds: float, enhance: list[dict], compare: list[dict],
          metric_rows: list[dict]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = f"evaluation_speed_{args.part}"
    with open(RESULTS / f"{stem}_metrics.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, ["part", "clip_id", "system", "metric", "seconds"])
        writer.writeheader()
        writer.writerows(metric_rows)
    lines = ["# Enhance and Compare: time a person waits", "",
             f"`python benchmarks/evaluation_speed.py --part {args.part} --repeats "
             f"{args.repeats} --clips {args.clips}` on {date.today()}, {platform.machine()}, "
             f"{os.cpu_count()} cores, Python {platform.python_version()}. Load average "
             f"(1 min) before and after each run beside it: the machine is shared, and a "
             f"load above the core count means other jobs took part of the CPU.", "",
             f"Start of the scoring worker processes, one per core, each building its "
             f"DNSMOS sessions (done by the app in the background when an admin page "
             f"opens): {warm_seconds:.1f} s.", ""]
    if enhance:
        lines += [f"## Enhance: a {ENHANCE_SECONDS:.0f} s 48 kHz clip, systems "
                  f"{', '.join(ENHANCE_SYSTEMS)}, metrics {', '.join(DEFAULT_METRICS)}", "",
                  "| run | first output s | all outputs s | everything scored s | CPU s "
                  "(all threads and workers) | load |", "|---|---|---|---|---|---|"]
        lines += [f"| {i} | {r['first_output']:.1f} | {r['all_outputs']:.1f} | "
                  f"{r['total']:.1f} | {r['cpu']:.1f} | {r['load_before']} -> "
                  f"{r['load_after']} |" for i, r in enumerate(enhance, 1)]
        lines += ["", "Target: everything within 10 s on an otherwise idle machine. CPU seconds "
                  "over 2 cores bound what the run needs when the cores are free.", ""]
    if compare:
        lines += [f"## Compare: {compare[0]['pairs']} outputs ({compare[0]['inputs']} demo "
                  f"clips x "
                  f"{', '.join(COMPARE_SYSTEMS)}), metrics {', '.join(COMPARE_METRICS)}, "
                  f"first run", "",
                  "| run | total s | enhancing s (sum) | CPU s (all threads and workers) | load |",
                  "|---|---|---|---|---|"]
        lines += [f"| {i} | {r['total']:.1f} | {r['enhancing']:.1f} | {r['cpu']:.1f} | "
                  f"{r['load_before']} -> {r['load_after']} |" for i, r in enumerate(compare, 1)]
        lines += ["", "Target: under 120 s on 2 cores for all 36 clips (144 outputs).", ""]
    by_metric: dict[tuple[str, str], list[float]] = {}
    for row in metric_rows:
        by_metric.setdefault((row["part"], row["metric"]), []).append(row["seconds"])
    lines += ["## Seconds per metric per clip (wall time inside the scoring worker)", "",
              "| part | metric | clips | median s | max s | total s |", "|---|---|---|---|---|---|"]
    lines += [f"| {part} | {metric} | {len(v)} | {statistics.median(v):.3f} | {max(v):.3f} | "
              f"{sum(v):.1f} |" for (part, metric), v in sorted(by_metric.items())]
    lines += ["", f"Every value per clip: `{stem}_metrics.csv`. The DNSMOS time covers "
              "every DNSMOS column asked for (one run of the P.835 model, plus the P.808 "
              "model where its column is asked for: Enhance yes, Compare no); as DNSMOS "
              "defines it (Microsoft's dnsmos_local.py, speechmos), a clip shorter than 9 s "
              "is doubled until it fills a 9.01 s window, and each window 1 s apart is "
              "scored (a 2.2 s clip: 17.6 s, 8 windows; a 2.45 s clip: 9.8 s, 1 window; "
              "a 3 s clip: 12 s, 3 windows).", ""]
    (RESULTS / f"{stem}.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
