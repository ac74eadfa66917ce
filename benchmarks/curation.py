"""Does curation find polluted "clean" speech, and does training on the curated share help?

    nice -n 10 python -m benchmarks.curation [--files 120] [--steps 300] [--workers 2]

1. Corpus: ``--files`` espeak-ng utterances at 16 kHz in three sources, each with its own
   secretly polluted share (audiobooks 15 %, podcasts 30 %, crowd 50 %): noise at 5-25 dB
   SNR, reverberation, a 4 kHz band limit, a lossy codec or clipping, alone or two at once,
   as crowd corpora labelled "clean" are. Clean files get the same 70 Hz high-pass and peak
   level, so neither gives them away. The truth is kept in ``truth.csv``.
2. Scoring with ``curation`` (all metric groups), timed: files and hours of audio per CPU
   second, and what 2,500 hours would take on 100 cores.
3. Each shipped rule set: precision and recall of its dropped files against the truth,
   overall and per pollution kind.
4. The SE model (``se.train``, a small config) trained for the same steps and seed on URGENT
   mixtures made from the full corpus and from the curated share, each scored on held-out
   voices and distortions (PESQ, ESTOI, DNSMOS OVRL, per distortion). ``--oracle`` adds a
   run on the truly clean files.

Writes ``benchmarks/results/curation.md`` and ``curation_throughput.csv``; work is cached
under ``runs/curation_bench/`` (delete it to start over).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # a shared 2-core machine: one thread per process

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402
from tqdm import tqdm  # noqa: E402

from audio.degrade import simulate  # noqa: E402
from audio.degrade_config import DegradationConfig  # noqa: E402
from audio.io import save_audio  # noqa: E402
from audio.metrics import score_clip  # noqa: E402
from audio.tts import SAMPLE_SENTENCES, Voice, espeak_available, speak  # noqa: E402
from curation.inputs import read_wav_scp  # noqa: E402
from curation.metrics import DEFAULT_GROUPS  # noqa: E402
from curation.rules import load_rules  # noqa: E402
from curation.scoring import ScoreOptions, score_corpus  # noqa: E402
from curation.selection import select, write_selection  # noqa: E402
from curation.store import read_scores  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "runs" / "curation_bench"
RESULTS = ROOT / "benchmarks" / "results" / "curation.md"
THROUGHPUT = ROOT / "benchmarks" / "results" / "curation_throughput.csv"
RATE = 16_000
#: Source name -> share of its files that are polluted.
SOURCES = {"audiobooks": 0.15, "podcasts": 0.30, "crowd": 0.50}
POLLUTIONS = ("noise", "reverb", "bandwidth", "codec", "clipping")
#: Training voices (the held-out set uses others, as benchmarks/se_model.py does).
TRAIN_VARIANTS = (None, "m1", "m2", "m3", "m5", "m7", "f1", "f2", "f4", "klatt", "klatt3")
HELD_OUT_VARIANTS = ("m4", "m6", "f3", "f5", "klatt2")
RULE_SETS = ("urgent2025", "workbench")
#: The pollution: noise 5-25 dB, rooms of RT60 0.3-1 s, clipping that really clips.
POLLUTION_CONFIG = DegradationConfig(snr_db=(5.0, 25.0), rt60_seconds=(0.3, 1.0),
                                     drr_db=(-3.0, 6.0), wind_probability=0.0,
                                     clip_low_quantile=(0.01, 0.08),
                                     clip_high_quantile=(0.92, 0.99))
EVAL_MIXES = (("noise",), ("reverb",), ("bandwidth",), ("codec",), ("clipping",),
              ("reverb", "noise"), ("noise", "codec"))


def _voice(index: int, variants: tuple, rng: np.random.Generator) -> tuple[Voice, str]:
    languages = list(SAMPLE_SENTENCES)
    language = languages[int(rng.integers(len(languages)))]
    voice = Voice(language, variants[int(rng.integers(len(variants)))],
                  pitch=int(rng.integers(20, 81)), speed_wpm=int(rng.integers(130, 211)))
    sentences = SAMPLE_SENTENCES[language]
    return voice, sentences[index % len(sentences)]


def build_corpus(files: int, folder: Path) -> pd.DataFrame:
    """The corpus under ``folder`` (wav.scp, utt2source, truth.csv); cached."""
    truth_file = folder / "truth.csv"
    if truth_file.is_file() and len(pd.read_csv(truth_file)) == files:
        return pd.read_csv(truth_file, keep_default_na=False)
    rng = np.random.default_rng(2026)
    rows = []
    names = list(SOURCES)
    for index in tqdm(range(files), desc="corpus"):
        source = names[index % len(names)]
        voice, text = _voice(index, TRAIN_VARIANTS, rng)
        clean, _ = speak(text, voice, sample_rate=RATE)
        polluted = rng.random() < SOURCES[source]
        kinds: tuple[str, ...] = ()
        if polluted:
            count = 2 if rng.random() < 0.3 else 1
            kinds = tuple(rng.choice(POLLUTIONS, size=count, replace=False).tolist())
        audio, _, _ = simulate(clean, RATE, np.random.default_rng([2026, index]),
                               POLLUTION_CONFIG, distortions=kinds)
        item = f"{source}_{index:04d}"
        path = folder / source / f"{item}.flac"
        save_audio(path, audio, RATE)
        rows.append({"id": item, "source": source, "path": str(path), "polluted": polluted,
                     "kinds": "+".join(kinds), "seconds": len(audio) / RATE})
    truth = pd.DataFrame(rows)
    (folder / "wav.scp").write_text("".join(f"{r.id} {r.path}\n" for r in truth.itertuples()))
    (folder / "utt2source").write_text("".join(f"{r.id} {r.source}\n"
                                               for r in truth.itertuples()))
    truth.to_csv(truth_file, index=False)
    return truth


def score(folder: Path, scores: Path, workers: int) -> dict:
    """Score the corpus (resumed if cached) and return the timing."""
    from concurrent.futures.process import BrokenProcessPool

    files = read_wav_scp(folder / "wav.scp")
    started = time.perf_counter()
    scored = 0
    for _ in range(3):  # a pool process killed from outside: resume with what was written
        try:
            report = score_corpus(files, scores, ScoreOptions(groups=DEFAULT_GROUPS),
                                  workers=workers)
            scored += report.scored
            break
        except BrokenProcessPool as exc:
            print(f"pool broken ({exc}); resuming", flush=True)
    return {"wall_seconds": time.perf_counter() - started, "scored_now": scored}


def group_costs(folder: Path, n: int = 12) -> pd.DataFrame:
    """CPU seconds per file of each metric group, on ``n`` files, in this process."""
    from audio.io import load_audio
    from curation.metrics import DEFAULT_SQA_MODEL, GROUPS

    torch.set_num_threads(1)
    files = read_wav_scp(folder / "wav.scp")[:n]
    rows = []
    for item in files:
        audio = load_audio(item.path)
        for name, group in GROUPS.items():
            group.compute(audio.samples, audio.sample_rate, sqa_model=DEFAULT_SQA_MODEL)
            start = time.process_time()
            group.compute(audio.samples, audio.sample_rate, sqa_model=DEFAULT_SQA_MODEL)
            rows.append({"group": name, "cpu_seconds": time.process_time() - start,
                         "audio_seconds": audio.duration_seconds})
    table = pd.DataFrame(rows).groupby("group", sort=False).sum()
    table["cpu_per_audio_second"] = table["cpu_seconds"] / table["audio_seconds"]
    return table


def detection(truth: pd.DataFrame, scores: pd.DataFrame, out: Path) -> pd.DataFrame:
    """Precision and recall of each rule set's dropped files, overall and per kind."""
    rows = []
    merged = truth.set_index("id")
    for name in RULE_SETS:
        selection = select(scores, load_rules(ROOT / "conf" / "curation" / f"{name}.yaml"))
        write_selection(selection, out / name)
        dropped = set(selection.dropped["id"])
        positive = set(merged.index[merged["polluted"]])
        hit = len(dropped & positive)
        row = {"rule set": name, "kept files": len(merged) - len(dropped),
               "precision": hit / len(dropped) if dropped else np.nan,
               "recall": hit / len(positive) if positive else np.nan,
               "clean dropped": len(dropped - positive)}
        for kind in POLLUTIONS:
            ids = set(merged.index[merged["kinds"].str.split("+").apply(lambda k, kd=kind:
                                                                        kd in k)])
            row[f"recall {kind}"] = len(dropped & ids) / len(ids) if ids else np.nan
        rows.append(row)
    clean = set(merged.index[~merged["polluted"]])
    rows.append({"rule set": "oracle (truth)", "kept files": len(clean), "precision": 1.0,
                 "recall": 1.0, "clean dropped": 0,
                 **{f"recall {k}": 1.0 for k in POLLUTIONS}})
    return pd.DataFrame(rows).set_index("rule set")


def _train(scp: Path, out: Path, steps: int, seed: int) -> Path:
    """Train the small SE model on URGENT mixtures whose speech comes from ``scp``."""
    from se.train import DataConfig, TrainConfig, train

    if (out / "model.pt").is_file() or (out / "last.pt").is_file():
        done = out / "last.pt"
        checkpoint = torch.load(done, map_location="cpu", weights_only=False)
        if checkpoint.get("step", 0) >= steps:
            return done
    sim = {"seed": 5, "max_seconds": 6.0, "rates": [RATE],
           "sources": {"speech": str(scp), "synthetic": {
               "noise_kinds": ["white", "pink", "brown", "babble", "hum", "transients"]}},
           "degradation": {"wind_probability": 0.0}}
    out.mkdir(parents=True, exist_ok=True)
    sim_file = out / "simulation.yaml"
    sim_file.write_text(yaml.safe_dump(sim))
    cfg = TrainConfig(seed=seed, max_steps=steps, batch_size=4, lr=0.002,
                      warmup_steps=min(20, steps - 1),
                      validate_every=10 * steps, dnsmos=False,
                      data=DataConfig(kind="simulation", simulation=str(sim_file),
                                      train_items=4000, val_items=0, seconds=1.5,
                                      sample_rates=[RATE], snr_db=[-5.0, 20.0],
                                      noise_probability=0.8, extra_distortions=True),
                      model={"feature_dim": 32, "n_layers": 2, "decoder_hidden": 64})
    train(cfg, out, progress=True)
    return out / "last.pt"


def held_out(per_mix: int) -> list[dict]:
    """Held-out voices, each with one fixed distortion mix, at 16 kHz."""
    rng = np.random.default_rng(99)
    items, index = [], 0
    for mix in EVAL_MIXES:
        for _ in range(per_mix):
            voice, text = _voice(index, HELD_OUT_VARIANTS, rng)
            clean, _ = speak(text, voice, sample_rate=RATE)
            degraded, target, _ = simulate(clean, RATE, np.random.default_rng([555, index]),
                                           DegradationConfig(wind_probability=0.0),
                                           distortions=mix)
            items.append({"mix": "+".join(mix), "degraded": degraded, "target": target})
            index += 1
    return items


def evaluate_models(models: dict[str, Path], items: list[dict]) -> pd.DataFrame:
    from se.systems.neural import enhance_with_model, load_model

    rows = []
    for item in items:
        rows.append({"model": "unprocessed", "mix": item["mix"],
                     **score_clip(item["degraded"], RATE, item["target"],
                                  ("pesq", "estoi", "dnsmos_ovrl")).values})
    for name, path in models.items():
        net = load_model(path)
        for item in tqdm(items, desc=f"evaluating {name}"):
            out = enhance_with_model(net, item["degraded"], RATE)
            rows.append({"model": name, "mix": item["mix"],
                         **score_clip(out, RATE, item["target"],
                                      ("pesq", "estoi", "dnsmos_ovrl")).values})
    return pd.DataFrame(rows)


def _md(frame: pd.DataFrame, digits: int = 3) -> list[str]:
    cols = list(frame.columns)
    lines = [f"| {frame.index.name or ''} | " + " | ".join(map(str, cols)) + " |",
             "|---|" + "---|" * len(cols)]
    for key, *row in frame.itertuples(name=None):  # keeps each column's type (ints stay)
        cells = []
        for v in row:
            if isinstance(v, (float, np.floating)):
                cells.append("–" if pd.isna(v) else f"{v:.{digits}f}")
            else:
                cells.append(str(v))
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=120)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--per-mix", type=int, default=4)
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--oracle", action="store_true",
                        help="also train on the truly clean files (a ceiling; a third run)")
    args = parser.parse_args()
    if not espeak_available():
        raise SystemExit("espeak-ng is needed (apt-get install espeak-ng)")
    torch.set_num_threads(1)
    corpus = WORK / "corpus"
    truth = build_corpus(args.files, corpus)
    timing_file = WORK / "timing.json"
    timing = score(corpus, WORK / "scores", args.workers)
    if timing["scored_now"] == len(truth) or not timing_file.is_file():
        timing_file.write_text(json.dumps(timing))
    timing = json.loads(timing_file.read_text())
    scores = read_scores(WORK / "scores")
    costs = group_costs(corpus)
    cpu = float(scores["score_seconds"].sum())
    audio_hours = float(scores["duration_s"].sum()) / 3600.0
    files_per_core_s = len(scores) / cpu
    hours_per_core_s = audio_hours / cpu
    core_seconds_2500 = 2500.0 / hours_per_core_s
    throughput = pd.DataFrame([{
        "files": len(scores), "audio_hours": audio_hours, "cpu_seconds": cpu,
        "wall_seconds": timing["wall_seconds"], "workers": args.workers,
        "files_per_core_second": files_per_core_s,
        "audio_hours_per_core_second": hours_per_core_s,
        "hours_for_2500h_on_100_cores": core_seconds_2500 / 100 / 3600}])
    THROUGHPUT.parent.mkdir(parents=True, exist_ok=True)
    throughput.to_csv(THROUGHPUT, index=False, float_format="%.6g")
    found = detection(truth, scores, WORK / "selections")

    lines = [
        "# Curation benchmark: finding polluted \"clean\" speech, and training on the rest",
        "",
        f"`nice -n 10 python -m benchmarks.curation --files {args.files} --steps {args.steps} "
        f"--workers {args.workers}` on {date.today()}, {platform.machine()}, 2 cores shared "
        "with several other jobs (load average 12-30 during the run), one thread per process.",
        "",
        f"Corpus: {len(truth)} espeak-ng utterances at 16 kHz "
        f"({truth['seconds'].sum() / 60:.1f} min), sources "
        + ", ".join(f"{s} ({int(p * 100)} % polluted)" for s, p in SOURCES.items())
        + f"; {int(truth['polluted'].sum())} polluted in all "
        f"({100 * truth['polluted'].mean():.0f} %): noise 5-25 dB, reverberation, "
        "4 kHz band limit, codec, clipping, one or two at once.",
        "",
        "## Throughput (all metric groups, each file decoded once)",
        "",
        f"{len(scores)} files, {audio_hours * 60:.1f} min of audio, {cpu:.0f} CPU seconds "
        f"({timing['wall_seconds']:.0f} s of wall time with {args.workers} worker processes "
        "on the shared machine): "
        f"**{files_per_core_s:.3f} files and {hours_per_core_s * 3600:.3f} s of audio "
        f"({hours_per_core_s:.2e} hours) per core-second**. A 2,500-hour corpus would take "
        f"{core_seconds_2500 / 3600:.0f} core-hours: **{core_seconds_2500 / 100 / 3600:.1f} "
        "hours on 100 cores** (files of this length; DNSMOS's cost grows with length).",
        "",
        "CPU seconds per second of audio, per metric group (12 files, one thread):",
        "",
        *_md(costs[["cpu_per_audio_second"]].rename_axis("group"), 4),
        "",
        "## Finding the polluted files (dropped = found)",
        "",
        *_md(found.rename_axis("rule set"), 2),
        "",
    ]
    results: pd.DataFrame | None = None
    if not args.skip_training:
        sel = WORK / "selections"
        clean_scp = WORK / "clean.scp"
        clean_ids = truth[~truth["polluted"]]
        clean_scp.write_text("".join(f"{r.id} {r.path}\n" for r in clean_ids.itertuples()))
        scps = {"full corpus": corpus / "wav.scp", "curated (workbench)": sel / "workbench" /
                "wav.scp"}
        if args.oracle:
            scps["truly clean (oracle)"] = clean_scp
        models = {}
        timings = {}
        for name, scp in scps.items():
            started = time.perf_counter()
            slug = name.split(" ")[0]
            models[name] = _train(scp, WORK / "train" / slug, args.steps, seed=0)
            timings[name] = time.perf_counter() - started
        items = held_out(args.per_mix)
        results = evaluate_models(models, items)
        results.to_csv(WORK / "held_out.csv", index=False)
        overall = results.groupby("model", sort=False)[["pesq", "estoi", "dnsmos_ovrl"]].mean()
        lines += [
            "## SE model trained on each corpus (same steps, seed and mixtures recipe)",
            "",
            f"{args.steps} steps of 4 mixtures of 1.5 s at 16 kHz, a band-split model of "
            "feature_dim 32 (conf like `conf/se/smoke.yaml`), URGENT mixtures made on the fly "
            "from each speech list with generated noise and rooms; held out: "
            f"{len(items)} utterances in unseen voices ({', '.join(HELD_OUT_VARIANTS)}), "
            f"{args.per_mix} per distortion mix, scored against the URGENT target.",
            "",
            "Speech files per run: "
            + ", ".join(f"{n} {sum(1 for _ in open(s))}" for n, s in scps.items()) + ".",
            "",
            *_md(overall.rename_axis("model")),
            "",
        ]
        for metric in ("pesq", "estoi", "dnsmos_ovrl"):
            table = results.pivot_table(index="mix", columns="model", values=metric,
                                        aggfunc="mean")[list(overall.index)]
            lines += [f"### {metric} by distortion", "", *_md(table.rename_axis("mix")), ""]
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
