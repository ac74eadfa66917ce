"""Speed and quality of every built-in enhancement system.

    python -m benchmarks.se_systems [--utterances 8] [--rtf-seconds 10]

Speed: real-time factor (processing time / audio duration, best of 3) of one call on a
10-second noisy clip at 16 and 48 kHz, with every library limited to one thread.
Quality: PESQ, ESTOI, SI-SDR and DNSMOS OVRL on a simulated test set: espeak-ng utterances
in several languages at 16 and 48 kHz, each degraded by one fixed mix of URGENT distortions
(``audio.degrade.simulate``), scored against the URGENT target (clean speech with the early
reflections). Writes ``benchmarks/results/se_systems.md``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy and torch load: one thread, as the issue asks

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from audio.degrade import simulate  # noqa: E402
from audio.metrics import score_clip  # noqa: E402
from audio.tts import SAMPLE_SENTENCES, Voice, espeak_available, speak  # noqa: E402
from se.systems import BUILTIN_SYSTEMS, System, get_system  # noqa: E402
from tests.signals import speech_like  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "se_systems.md"
METRICS = ("pesq", "estoi", "si_sdr", "dnsmos_ovrl")
RATES = (16_000, 48_000)
#: One fixed distortion mix per utterance, cycling, so every type is present.
MIXES = (("noise",), ("reverb",), ("reverb", "noise"), ("noise", "codec"),
         ("noise", "bandwidth"), ("clipping",), ("packet_loss",), ("noise", "packet_loss"))
VOICES = (("en-us", "m3"), ("de", "f2"), ("fr", "m1"), ("es", "f4"), ("it", "m5"),
          ("nl", "f1"), ("pt-br", "m2"), ("en-gb", "f3"))


def test_set(utterances: int) -> list[dict]:
    """Degraded/target pairs at each rate; seeds fixed, so every run scores the same set."""
    items = []
    for rate in RATES:
        for index in range(utterances):
            language, variant = VOICES[index % len(VOICES)]
            sentence = SAMPLE_SENTENCES[language][index % len(SAMPLE_SENTENCES[language])]
            clean, _ = speak(sentence, Voice(language, variant, pitch=40 + 5 * index),
                             sample_rate=rate)
            mix = MIXES[index % len(MIXES)]
            degraded, target, _ = simulate(clean, rate, np.random.default_rng(1000 + index),
                                           distortions=mix)
            items.append({"rate": rate, "mix": "+".join(mix), "degraded": degraded,
                          "target": target})
    return items


def real_time_factor(name: str, rate: int, seconds: float) -> float:
    return system_real_time_factor(get_system(name), rate, seconds)


def system_real_time_factor(system: System, rate: int, seconds: float) -> float:
    """Processing seconds per second of a noisy ``seconds`` clip, best of 3 calls, with
    loading and first-call caches kept out of the timing."""
    rng = np.random.default_rng(0)
    x = speech_like(seconds, rate, level=0.4) + 0.05 * rng.standard_normal(
        round(seconds * rate)).astype(np.float32)
    system.enhance(x[: rate // 2], rate)  # load models and caches outside the timing
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        system.enhance(x, rate)
        best = min(best, time.perf_counter() - start)
    return best / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=8, help="per sampling rate")
    parser.add_argument("--rtf-seconds", type=float, default=10.0)
    args = parser.parse_args()
    if not espeak_available():
        raise SystemExit("espeak-ng is needed for the test set (apt-get install espeak-ng)")
    torch.set_num_threads(1)
    items = test_set(args.utterances)
    rows, speed = [], []
    for name in tqdm(list(BUILTIN_SYSTEMS), desc="systems"):
        system = get_system(name)
        speed.append({"system": name, "kind": system.kind,
                      **{f"rtf_{r // 1000}k": real_time_factor(name, r, args.rtf_seconds)
                         for r in RATES}})
        for item in tqdm(items, desc=name, leave=False):
            output = system.enhance(item["degraded"], item["rate"])
            scores = score_clip(output, item["rate"], item["target"], METRICS)
            rows.append({"system": name, "rate": item["rate"], "mix": item["mix"],
                         **scores.values})
    results = pd.DataFrame(rows)
    overall = results.groupby("system", sort=False)[list(METRICS)].mean()
    table = pd.DataFrame(speed).set_index("system").join(overall)
    per_mix = results.pivot_table(index="mix", columns="system", values="pesq",
                                  aggfunc="mean")[list(BUILTIN_SYSTEMS)]
    lines = [
        "# Enhancement systems: speed and quality",
        "",
        f"`python -m benchmarks.se_systems --utterances {args.utterances}` on {date.today()}, "
        f"{platform.machine()}, one thread, torch {torch.__version__}.",
        "",
        f"Test set: {len(items)} espeak-ng utterances ({args.utterances} per rate at "
        f"{', '.join(str(r) for r in RATES)} Hz), each degraded by a fixed URGENT distortion "
        "mix; metrics against the URGENT target. RTF: best of 3 calls on a "
        f"{args.rtf_seconds:g} s clip (lower is faster; below 1 is faster than real time).",
        "",
        "| system | kind | RTF 16 kHz | RTF 48 kHz | PESQ | ESTOI | SI-SDR (dB) | DNSMOS OVRL |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in table.iterrows():
        lines.append(f"| {name} | {row['kind']} | {row['rtf_16k']:.4f} | {row['rtf_48k']:.4f} "
                     f"| {row['pesq']:.2f} | {row['estoi']:.3f} | {row['si_sdr']:.2f} "
                     f"| {row['dnsmos_ovrl']:.2f} |")
    lines += ["", "PESQ by distortion mix:", "",
              "| mix | " + " | ".join(per_mix.columns) + " |",
              "|---|" + "---|" * len(per_mix.columns)]
    for mix, row in per_mix.iterrows():
        lines.append(f"| {mix} | " + " | ".join(f"{v:.2f}" for v in row) + " |")
    lines += ["", "The speech is synthetic and the DSP systems are classical baselines: they "
              "address stationary noise (WPE: late reverberation); none of them repairs "
              "clipping, codec artefacts, bandwidth limits or packet loss, which is what the "
              "URGENT neural model is for.", ""]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
