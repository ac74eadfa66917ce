"""The shipped universal SE model against every other system, on held-out data.

    python -m benchmarks.se_model [--checkpoint checkpoints/bandsplit_demo.pt] [--per-mix 2]

Test set: espeak-ng utterances in voices the model never heard in training (variants m4,
m6, f3, f5 and klatt2; training used the others, ``conf/simulation/se_train.yaml``), at 8, 16
and 48 kHz, each degraded by one fixed URGENT distortion mix so that every type is present
(noise, wind, reverberation, bandwidth limitation, clipping, codec, packet loss, and three
pairs), with noise and rooms drawn from seeds that training never used. Every system scores
PESQ, ESTOI, SI-SDR and DNSMOS OVRL against the URGENT target (clean speech with the early
reflections). Speed: real-time factor on one thread at 16 and 48 kHz of the model and of
RNNoise, in the same run. Writes ``benchmarks/results/se_model.md``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy and torch load: one thread, as the issue asks

import argparse  # noqa: E402
import platform  # noqa: E402
from dataclasses import replace  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from audio.degrade import simulate  # noqa: E402
from audio.degrade_config import DegradationConfig  # noqa: E402
from audio.metrics import score_clip  # noqa: E402
from audio.tts import SAMPLE_SENTENCES, Voice, espeak_available, speak  # noqa: E402
from benchmarks.se_systems import system_real_time_factor  # noqa: E402
from se.models import count_parameters, macs_per_second  # noqa: E402
from se.systems import BUILTIN_SYSTEMS, NeuralSystem, get_system  # noqa: E402
from se.systems.neural import load_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "se_model.md"
DEFAULT_CHECKPOINT = ROOT / "checkpoints" / "bandsplit_demo.pt"
METRICS = ("pesq", "estoi", "si_sdr", "dnsmos_ovrl")
RATES = (8_000, 16_000, 48_000)
#: One fixed distortion mix per item, cycling, so every URGENT type is present.
MIXES: tuple[tuple[str, ...], ...] = (
    ("noise",), ("wind",), ("reverb",), ("bandwidth",), ("clipping",), ("codec",),
    ("packet_loss",), ("reverb", "noise"), ("noise", "codec"), ("noise", "packet_loss"))
#: espeak-ng variants held out of the training voices.
HELD_OUT_VARIANTS = ("m4", "m6", "f3", "f5", "klatt2")
#: Far from the 63-bit mixture seeds that training draws.
SEED_BASE = 777_000


def test_set(per_mix: int) -> list[dict]:
    """(degraded, target) pairs: ``per_mix`` items of every mix at every rate, seeded."""
    languages = list(SAMPLE_SENTENCES)
    wind = replace(DegradationConfig(), wind_probability=1.0)
    items, index = [], 0
    for rate in RATES:
        for mix in MIXES:
            if "bandwidth" in mix and rate == min(RATES):
                continue  # no URGENT rate below 8 kHz to limit the band to
            for _ in range(per_mix):
                language = languages[index % len(languages)]
                sentences = SAMPLE_SENTENCES[language]
                variant = HELD_OUT_VARIANTS[index % len(HELD_OUT_VARIANTS)]
                voice = Voice(language, variant, pitch=25 + (index * 13) % 55,
                              speed_wpm=140 + (index * 17) % 70)
                clean, _ = speak(sentences[index % len(sentences)], voice, sample_rate=rate)
                is_wind = mix[0] == "wind"
                names = ("noise",) if is_wind else mix
                degraded, target, _ = simulate(
                    clean, rate, np.random.default_rng(SEED_BASE + index),
                    wind if is_wind else DegradationConfig(), distortions=names)
                items.append({"rate": rate, "mix": "+".join(mix), "voice": voice.espeak_name(),
                              "degraded": degraded, "target": target})
                index += 1
    return items


#: The URGENT targets scored as if they were a system's output: only DNSMOS OVRL (the
#: intrusive metrics would compare them with themselves). The ceiling of a model that
#: reproduces its training target exactly; not a competitor in the targets.
CLEAN_TARGET = "clean_target"


def score_systems(items: list[dict], systems: dict) -> pd.DataFrame:
    rows = [{"system": CLEAN_TARGET, "rate": item["rate"], "mix": item["mix"],
             **score_clip(item["target"], item["rate"], None, ("dnsmos_ovrl",)).values}
            for item in tqdm(items, desc=CLEAN_TARGET)]
    for name, system in tqdm(systems.items(), desc="systems"):
        for item in tqdm(items, desc=name, leave=False):
            output = system.enhance(item["degraded"], item["rate"])
            scores = score_clip(output, item["rate"], item["target"], METRICS)
            rows.append({"system": name, "rate": item["rate"], "mix": item["mix"],
                         **scores.values})
    return pd.DataFrame(rows)


def _table(frame: pd.DataFrame, index_name: str, digits: int = 2) -> list[str]:
    lines = [f"| {index_name} | " + " | ".join(str(c) for c in frame.columns) + " |",
             "|---|" + "---|" * len(frame.columns)]
    for key, row in frame.iterrows():
        lines.append(f"| {key} | " + " | ".join("–" if pd.isna(v) else f"{v:.{digits}f}"
                                                 for v in row) + " |")
    return lines


def report(results: pd.DataFrame, speed: dict, checkpoint: Path, per_mix: int,
           n_items: int) -> list[str]:
    model_name = checkpoint.stem
    order = list(dict.fromkeys(results["system"]))
    overall = results.groupby("system", sort=False)[list(METRICS)].mean().loc[order]
    others = overall.drop(index=[model_name, CLEAN_TARGET])
    best_pesq, best_ovrl = others["pesq"].idxmax(), others["dnsmos_ovrl"].idxmax()
    model = overall.loc[model_name]
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=True)
    net = load_model(checkpoint)
    shown = checkpoint.relative_to(ROOT) if checkpoint.is_relative_to(ROOT) else checkpoint
    lines = [
        "# Universal SE model on held-out data",
        "",
        f"`python -m benchmarks.se_model --per-mix {per_mix}` on {date.today()}, "
        f"{platform.machine()}, one thread, torch {torch.__version__}.",
        "",
        f"Model: `{shown}`"
        f" (step {ckpt.get('step')}, {count_parameters(net) / 1e6:.2f} M weights, "
        f"{macs_per_second(net) / 1e9:.2f} GMAC per second at 48 kHz).",
        "",
        f"Test set: {n_items} espeak-ng utterances in held-out voices "
        f"({', '.join(HELD_OUT_VARIANTS)}), {per_mix} per distortion mix at each of "
        f"{', '.join(f'{r // 1000} kHz' for r in RATES)} (bandwidth limitation not at "
        f"{min(RATES) // 1000} kHz: no lower URGENT rate); noise and rooms from unused seeds; "
        "metrics against the URGENT target.",
        "",
        "## Overall (mean over the set)",
        "",
        *_table(overall.rename(columns={"si_sdr": "si_sdr_db"}), "system"),
        "",
        f"Targets: mean PESQ {model['pesq']:.2f} against the best other system's "
        f"{others['pesq'].max():.2f} ({best_pesq}): "
        f"{'met' if model['pesq'] > others['pesq'].max() else 'NOT met'}; mean DNSMOS OVRL "
        f"{model['dnsmos_ovrl']:.2f} against {others['dnsmos_ovrl'].max():.2f} ({best_ovrl}): "
        f"{'met' if model['dnsmos_ovrl'] > others['dnsmos_ovrl'].max() else 'NOT met'}.",
        "",
        f"`{CLEAN_TARGET}` is the URGENT target itself, scored by DNSMOS only: "
        f"{overall.loc[CLEAN_TARGET, 'dnsmos_ovrl']:.2f}, the DNSMOS OVRL of a model that "
        "reproduced its target exactly. A system above it scores better than the clean "
        "speech (DNSMOS judging espeak-ng speech), not closer to it.",
        "",
        "## Real-time factor, one thread (best of 3 on a 10 s clip; lower is faster)",
        "",
        "| system | 16 kHz | 48 kHz |",
        "|---|---|---|",
        *(f"| {name} | {v[16_000]:.4f} | {v[48_000]:.4f} |" for name, v in speed.items()),
        "",
        f"Target: the model's RTF at 48 kHz at most 0.1: "
        f"{'met' if speed[model_name][48_000] <= 0.1 else 'NOT met'} "
        f"({speed[model_name][48_000]:.3f}).",
        "",
    ]
    for metric in METRICS:
        columns = [n for n in order if metric == "dnsmos_ovrl" or n != CLEAN_TARGET]
        per_mix_table = results.pivot_table(index="mix", columns="system", values=metric,
                                            aggfunc="mean")[columns]
        per_mix_table = per_mix_table.loc[[m for m in map("+".join, MIXES)
                                           if m in per_mix_table.index]]
        lines += [f"## {metric} by distortion", "", *_table(per_mix_table, "mix"), ""]
    per_rate = results.pivot_table(index="rate", columns="system", values="pesq",
                                   aggfunc="mean")[[n for n in order if n != CLEAN_TARGET]]
    lines += ["## PESQ by sampling rate", "", *_table(per_rate, "rate (Hz)"), ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--per-mix", type=int, default=2, help="items per mix and rate")
    parser.add_argument("--rtf-seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not espeak_available():
        raise SystemExit("espeak-ng is needed for the test set (apt-get install espeak-ng)")
    if not args.checkpoint.is_file():
        raise SystemExit(f"no checkpoint at {args.checkpoint} (train one: README, Track 1)")
    torch.set_num_threads(1)
    model = NeuralSystem(args.checkpoint)
    if model.problem:
        raise SystemExit(model.problem)
    systems = {name: get_system(name) for name in BUILTIN_SYSTEMS}
    systems[model.name] = model
    speed = {name: {rate: system_real_time_factor(systems[name], rate, args.rtf_seconds)
                    for rate in (16_000, 48_000)} for name in ("rnnoise", model.name)}
    items = test_set(args.per_mix)
    results = score_systems(items, systems)
    lines = report(results, speed, args.checkpoint.resolve(), args.per_mix, len(items))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    results.to_csv(args.out.with_suffix(".csv"), index=False, float_format="%.4f")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
