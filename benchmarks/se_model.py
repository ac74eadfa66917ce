"""The shipped universal SE model against every other system, on held-out data.

    python -m benchmarks.se_model [--checkpoint checkpoints/bandsplit_demo.pt]
                                  [--per-rate 6] [--per-mix 2]

Two test sets, both of espeak-ng utterances in voices training never used (variants m4, m6,
f3, f5 and klatt2; training used the others, ``conf/simulation/se_train.yaml``), scored with
PESQ, ESTOI, SI-SDR and DNSMOS OVRL against the URGENT target (clean speech with the early
reflections), with the DNSMOS OVRL of the targets themselves as the ceiling row:

* **Headline: URGENT-distributed mixtures** at every URGENT rate (8 to 48 kHz), drawn as
  URGENT's simulation draws them (``audio.degrade.simulate`` with the default config):
  noise in every mixture at -5..20 dB SNR (5 % of it wind at -10..15 dB), reverberation with
  probability 0.5, then 0-3 extra distortions (bandwidth limitation, clipping, codec, packet
  loss) with probabilities 0.25/0.40/0.20/0.15. Held out from training: the voices; the rooms
  (pyroomacoustics shoebox rooms, where training used decaying-noise RIRs); a third of the
  noises is babble of 3-5 held-out voices, the rest generated noise from seeds training
  never drew. Broken down by rate, by extra distortion present and by SNR.
* **Breakdown: one fixed distortion mix per item** (noise, wind, reverberation, bandwidth
  limitation, clipping, codec, packet loss, and three pairs) at 8, 16 and 48 kHz, so each
  type is seen alone; half of its items have no noise, unlike URGENT's data.
* **Speech categories** (URGENT 2026 focus 2): ``--per-category`` clips of each category of
  :mod:`se.simulation.categories` (child, elderly, whispered, sung, emotional, accented
  speech: synthetic or transformed stand-ins, README "Speech sources"), made as
  ``conf/simulation/diverse.yaml`` makes them but in the held-out espeak-ng variants and from
  a pool seed no config uses, degraded as the headline is; the k-th clip of every category
  gets the same rate and degradation seed, so categories differ by their speech only.

``--extra-checkpoint`` scores more checkpoints beside ``--checkpoint`` (an earlier model, to
compare old with new); ``--reuse`` takes scores of an earlier run instead of recomputing them.

Speed: real-time factor on one thread at 16 and 48 kHz of the neural systems (ours and the
pretrained ones) in the same run. Writes ``benchmarks/results/se_model.md`` and ``.csv``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy and torch load: one thread, as the issue asks

import argparse  # noqa: E402
import platform  # noqa: E402
from dataclasses import replace  # noqa: E402
from datetime import date  # noqa: E402
from itertools import pairwise  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from audio.degrade import simulate  # noqa: E402
from audio.degrade_config import DegradationConfig  # noqa: E402
from audio.metrics import score_clip  # noqa: E402
from audio.resample import URGENT_SAMPLE_RATES  # noqa: E402
from audio.rooms import shoebox_rir  # noqa: E402
from audio.tts import SAMPLE_SENTENCES, Voice, espeak_available, speak  # noqa: E402
from benchmarks.se_systems import system_real_time_factor  # noqa: E402
from benchmarks.speech_categories import category_breakdown  # noqa: E402
from benchmarks.speech_categories import markdown_table as _table  # noqa: E402
from se.models import count_parameters, macs_per_second  # noqa: E402
from se.simulation import SimulationConfig  # noqa: E402
from se.simulation.categories import CATEGORIES  # noqa: E402
from se.simulation.sources import diverse_speech_items, load_item  # noqa: E402
from se.systems import BUILTIN_SYSTEMS, NeuralSystem, get_system  # noqa: E402
from se.systems.neural import load_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "se_model.md"
DEFAULT_CHECKPOINT = ROOT / "checkpoints" / "bandsplit_demo.pt"
DIVERSE = ROOT / "conf" / "simulation" / "diverse.yaml"
METRICS = ("pesq", "estoi", "si_sdr", "dnsmos_ovrl")
#: Rates of the single-distortion breakdown.
BREAKDOWN_RATES = (8_000, 16_000, 48_000)
#: One fixed distortion mix per breakdown item, cycling, so every URGENT type is present.
MIXES: tuple[tuple[str, ...], ...] = (
    ("noise",), ("wind",), ("reverb",), ("bandwidth",), ("clipping",), ("codec",),
    ("packet_loss",), ("reverb", "noise"), ("noise", "codec"), ("noise", "packet_loss"))
#: espeak-ng variants held out of the training voices.
HELD_OUT_VARIANTS = ("m4", "m6", "f3", "f5", "klatt2")
#: Far from the 63-bit mixture seeds that training draws.
SEED_BASE = 777_000
URGENT_SEED_BASE = 888_000
CATEGORY_SEED_BASE = 989_000
#: Pool seed of the category clips (no simulation config uses it).
CATEGORY_POOL_SEED = 515_151
#: Rate of the k-th clip of every category (cycling): the rates of the headline, the
#: common ones first.
CATEGORY_RATES = (16_000, 48_000, 8_000, 24_000, 44_100, 32_000, 22_050)
#: Utterances of one category joined into one clip (to reach about CLIP_SECONDS).
CATEGORY_UTTERANCES_PER_CLIP = 3
SETS = ("urgent", "breakdown", "categories")
#: Length of the headline clips: DNSMOS scores 9.01 s windows a second apart and repeats a
#: shorter clip until it is longer, so 9.5 s gives it one window (a 4.5 s clip, repeated to
#: 18 s, costs nine).
CLIP_SECONDS = 9.5
#: Which headline items get held-out speech babble instead of generated noise (1 in N).
BABBLE_EVERY = 3
EXTRAS = ("bandwidth", "clipping", "codec", "packet_loss")
SNR_BINS = (-10.0, 0.0, 5.0, 10.0, 20.0)
#: The URGENT targets scored as if they were a system's output: only DNSMOS OVRL (the
#: intrusive metrics would compare them with themselves). The ceiling of a model that
#: reproduces its training target exactly; not a competitor in the targets.
CLEAN_TARGET = "clean_target"
#: The strongest peer: the model's targets are stated against it.
PEER = "deepfilternet3"
#: Systems whose one-thread speed is measured.
TIMED = ("rnnoise", "deepfilternet3", "nsnet2")


def held_out_voice(index: int) -> Voice:
    language = list(SAMPLE_SENTENCES)[index % len(SAMPLE_SENTENCES)]
    return Voice(language, HELD_OUT_VARIANTS[index % len(HELD_OUT_VARIANTS)],
                 pitch=25 + (index * 13) % 55, speed_wpm=140 + (index * 17) % 70)


def held_out_utterance(index: int, rate: int) -> tuple[np.ndarray, str]:
    voice = held_out_voice(index)
    sentences = SAMPLE_SENTENCES[voice.language]
    clean, _ = speak(sentences[index % len(sentences)], voice, sample_rate=rate)
    return clean, voice.espeak_name()


def held_out_babble(index: int, rate: int, frames: int, rng: np.random.Generator
                    ) -> np.ndarray:
    """3-5 overlapped utterances of held-out voices, each looped to ``frames`` from a random
    offset and brought to the same level."""
    talkers = int(rng.integers(3, 6))
    out = np.zeros(frames, dtype=np.float64)
    for talker in range(talkers):
        speech, _ = held_out_utterance(1_000 + 7 * index + talker, rate)
        looped = np.tile(speech, -(-frames // len(speech)) + 1)
        start = int(rng.integers(len(speech)))
        part = looped[start:start + frames].astype(np.float64)
        out += part / max(float(np.sqrt(np.mean(part**2))), 1e-9)
    return (out / np.sqrt(talkers)).astype(np.float32)


def held_out_clip(index: int, rate: int, seconds: float) -> tuple[np.ndarray, str]:
    """Utterances of one held-out language and variant joined by 0.3 s pauses, cut to
    ``seconds``."""
    clean, voice = held_out_utterance(index, rate)
    parts, turn = [clean], 1
    while sum(len(p) for p in parts) < seconds * rate:
        more, _ = held_out_utterance(index + len(SAMPLE_SENTENCES) * len(HELD_OUT_VARIANTS)
                                     * turn, rate)  # same language and variant
        parts += [np.zeros(round(0.3 * rate), dtype=np.float32), more]
        turn += 1
    return np.concatenate(parts)[: round(seconds * rate)], voice


def urgent_set(per_rate: int) -> list[dict]:
    """``per_rate`` URGENT-distributed mixtures at every URGENT rate, seeded, each
    :data:`CLIP_SECONDS` long."""
    items, index = [], 0
    for rate in URGENT_SAMPLE_RATES:
        for _ in range(per_rate):
            clean, voice = held_out_clip(index, rate, CLIP_SECONDS)
            rng = np.random.default_rng(URGENT_SEED_BASE + index)
            babble = index % BABBLE_EVERY == 0
            noise = held_out_babble(index, rate, len(clean), rng) if babble else None
            room_rng = np.random.default_rng(URGENT_SEED_BASE + 50_000 + index)
            degraded, target, params = simulate(
                clean, rate, rng, DegradationConfig(), noise=noise,
                rir=lambda rate=rate, room_rng=room_rng: shoebox_rir(rate, room_rng))
            names = params["distortions"]
            extras = [d for d in names if d in EXTRAS]
            kind = params["noise"]["kind"]
            items.append({"rate": rate, "voice": voice, "degraded": degraded,
                          "target": target, "reverb": "reverb" in names,
                          "extras": "+".join(extras) or "none", "n_extras": len(extras),
                          "noise": "held-out babble" if kind == "given" else kind,
                          "snr_db": params["noise"]["snr_db"],
                          "mix": "+".join(names)})
            index += 1
    return items


def category_speech(per_category: int) -> dict[str, list]:
    """``per_category * CATEGORY_UTTERANCES_PER_CLIP`` utterances of every category (not yet
    synthesised), made as ``conf/simulation/diverse.yaml`` makes them but in the held-out
    espeak-ng variants and from :data:`CATEGORY_POOL_SEED`."""
    base = SimulationConfig.from_yaml(DIVERSE)
    n = per_category * CATEGORY_UTTERANCES_PER_CLIP
    synthetic = replace(base.sources.synthetic, utterances=n * len(CATEGORIES),
                        categories=dict.fromkeys(CATEGORIES, 1.0),
                        variants=HELD_OUT_VARIANTS)
    config = replace(base, seed=CATEGORY_POOL_SEED,
                     sources=replace(base.sources, synthetic=synthetic))
    by_category: dict[str, list] = {c: [] for c in CATEGORIES}
    for item in diverse_speech_items(config):
        by_category[str(item.category)].append(item)
    return by_category


def category_set(per_category: int) -> list[dict]:
    """``per_category`` URGENT-distributed clips of every speech category: the k-th clip of
    each category joins utterances of that category (0.3 s pauses, at most
    :data:`CLIP_SECONDS`) and is degraded at ``CATEGORY_RATES[k]`` with seed ``k``, the
    same in every category."""
    items = []
    for utterances in category_speech(per_category).values():
        for k in range(per_category):
            rate = CATEGORY_RATES[k % len(CATEGORY_RATES)]
            group = utterances[k * CATEGORY_UTTERANCES_PER_CLIP:
                               (k + 1) * CATEGORY_UTTERANCES_PER_CLIP]
            pause = np.zeros(round(0.3 * rate), dtype=np.float32)
            parts = [part for u in group for part in (load_item(u, rate), pause)][:-1]
            clean = np.concatenate(parts)[: round(CLIP_SECONDS * rate)]
            rng = np.random.default_rng(CATEGORY_SEED_BASE + k)
            room_rng = np.random.default_rng(CATEGORY_SEED_BASE + 50_000 + k)
            degraded, target, params = simulate(
                clean, rate, rng, DegradationConfig(),
                rir=lambda rate=rate, room_rng=room_rng: shoebox_rir(rate, room_rng))
            items.append({"rate": rate, **group[0].labels(),
                          "source": "+".join(sorted({str(u.source) for u in group})),
                          "degraded": degraded, "target": target,
                          "snr_db": params["noise"]["snr_db"],
                          "mix": "+".join(params["distortions"])})
    return items


def breakdown_set(per_mix: int) -> list[dict]:
    """(degraded, target) pairs: ``per_mix`` items of every mix at every rate, seeded."""
    wind = replace(DegradationConfig(), wind_probability=1.0)
    items, index = [], 0
    for rate in BREAKDOWN_RATES:
        for mix in MIXES:
            if "bandwidth" in mix and rate == min(BREAKDOWN_RATES):
                continue  # no URGENT rate below 8 kHz to limit the band to
            for _ in range(per_mix):
                clean, voice = held_out_utterance(index, rate)
                is_wind = mix[0] == "wind"
                names = ("noise",) if is_wind else mix
                degraded, target, _ = simulate(
                    clean, rate, np.random.default_rng(SEED_BASE + index),
                    wind if is_wind else DegradationConfig(), distortions=names)
                items.append({"rate": rate, "mix": "+".join(mix), "voice": voice,
                              "degraded": degraded, "target": target})
                index += 1
    return items


def score_systems(items: list[dict], systems: dict, label: str, *, clean: bool = True,
                  metrics: tuple[str, ...] = METRICS) -> pd.DataFrame:
    """One row per (system, item), with the item's descriptive fields and ``metrics``;
    with ``clean``, also the DNSMOS OVRL of each target (the ceiling row)."""
    def fields(item: dict) -> dict:
        return {k: v for k, v in item.items() if k not in ("degraded", "target")}

    rows = [{"set": label, "system": CLEAN_TARGET, "item": i, **fields(item),
             **score_clip(item["target"], item["rate"], None, ("dnsmos_ovrl",)).values}
            for i, item in enumerate(tqdm(items if clean else [],
                                          desc=f"{label}: {CLEAN_TARGET}"))]
    for name, system in tqdm(systems.items(), desc=f"{label}: systems"):
        for i, item in enumerate(tqdm(items, desc=name, leave=False)):
            output = system.enhance(item["degraded"], item["rate"])
            scores = score_clip(output, item["rate"], item["target"], metrics)
            rows.append({"set": label, "system": name, "item": i, **fields(item),
                         **scores.values})
    return pd.DataFrame(rows)


def reusable_rows(reused: pd.DataFrame, items: list[dict], label: str) -> pd.DataFrame:
    """Rows of ``label`` from an earlier run's CSV, checked to be about the same items
    (count, rate and mix of each); scores of a system found there are not recomputed.

    Raises:
        SystemExit: the earlier rows are about other items (another seed or set size).
    """
    rows = reused[reused["set"] == label]
    expected = pd.DataFrame({"rate": [item["rate"] for item in items],
                             "mix": [item["mix"] for item in items]})
    for name, group in rows.groupby("system", sort=False):
        got = group.sort_values("item")[["rate", "mix"]].reset_index(drop=True)
        if len(got) != len(expected) or not (got.astype(str) == expected.astype(str)
                                             ).all(axis=None):
            raise SystemExit(f"reused scores of {name} on the {label} set are about other "
                             "items than this run's; rerun without --reuse")
    return rows


def _overall(results: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    frame = results.groupby("system", sort=False)[list(METRICS)].mean()
    frame = frame.loc[[n for n in order if n in frame.index]]
    return frame.rename(columns={"si_sdr": "si_sdr_db"})


def _pivot(results: pd.DataFrame, index: str, metric: str, columns: list[str]
           ) -> pd.DataFrame:
    table = results.pivot_table(index=index, columns="system", values=metric,
                                aggfunc="mean", dropna=False)
    return table[[c for c in columns if c in table.columns]]


def target_lines(overall: pd.DataFrame, model_name: str, speed: dict) -> list[str]:
    """The issue's targets for the model on the headline table, each met or not."""
    model = overall.loc[model_name]
    others = overall.drop(index=[model_name, CLEAN_TARGET])
    lines = []
    for metric in ("pesq", "estoi"):
        best = others[metric].idxmax()
        met = model[metric] > others[metric].max()
        lines.append(f"- mean {metric.upper()} above every other system: "
                     f"{model[metric]:.2f} against {others[metric].max():.2f} ({best}): "
                     f"{'met' if met else 'NOT met'}")
    ovrl = "dnsmos_ovrl"
    rest = others.drop(index=[PEER], errors="ignore")
    met = (model[ovrl] > rest[ovrl].max()
           and (PEER not in others.index or model[ovrl] >= others.loc[PEER, ovrl] - 0.1))
    peer = (f", {PEER} {others.loc[PEER, ovrl]:.2f}" if PEER in others.index else "")
    lines.append(f"- mean DNSMOS OVRL above every system but {PEER} and within 0.1 of it: "
                 f"{model[ovrl]:.2f} (best other but {PEER}: {rest[ovrl].max():.2f}, "
                 f"{rest[ovrl].idxmax()}{peer}): {'met' if met else 'NOT met'}")
    rtf = speed[model_name][48_000]
    lines.append(f"- one-thread RTF at 48 kHz at most 0.1: {rtf:.3f}: "
                 f"{'met' if rtf <= 0.1 else 'NOT met'}")
    return lines


def report(results: pd.DataFrame, speed: dict, checkpoint: Path, args: argparse.Namespace
           ) -> list[str]:
    model_name = checkpoint.stem
    headline = results[results["set"] == "urgent"]
    breakdown = results[results["set"] == "breakdown"]
    order = list(dict.fromkeys([CLEAN_TARGET, *args.order]))
    order = [n for n in order if n in set(results["system"])]
    systems_only = [n for n in order if n != CLEAN_TARGET]
    overall = _overall(headline, order)
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=True)
    net = load_model(checkpoint)
    shown = checkpoint.relative_to(ROOT) if checkpoint.is_relative_to(ROOT) else checkpoint
    n_urgent = headline["item"].nunique()
    n_breakdown = breakdown["item"].nunique()
    lines = [
        "# Universal SE model against every system, on held-out data",
        "",
        f"`python -m benchmarks.se_model --per-rate {args.per_rate} --per-mix {args.per_mix}"
        f" --per-category {args.per_category}"
        + "".join(f" --extra-checkpoint {p}" for p in args.extra_checkpoint) + "`"
        f" on {date.today()}, {platform.machine()}, one thread, torch {torch.__version__}"
        " (2-core machine shared with other jobs: speeds are upper bounds).",
        *([f"Scores partly taken from earlier runs on the same items (`--reuse`)"
           f"{': ' + args.note if args.note else ''}."] if args.reuse else []),
        "",
        f"Model: `{shown}` (step {ckpt.get('step')}, "
        f"{count_parameters(net) / 1e6:.2f} M weights, "
        f"{macs_per_second(net) / 1e9:.2f} GMAC per second at 48 kHz).",
        "",
        f"## Headline: URGENT-distributed mixtures ({n_urgent} items)",
        "",
        f"{args.per_rate} mixtures at each URGENT rate "
        f"({', '.join(f'{r / 1000:g}' for r in URGENT_SAMPLE_RATES)} kHz), drawn as URGENT "
        "draws them: noise always (-5..20 dB SNR; wind 5 % of the time), reverberation with "
        "probability 0.5, 0-3 extra distortions with probabilities 0.25/0.40/0.20/0.15. "
        f"Held out: voices ({', '.join(HELD_OUT_VARIANTS)}), rooms (pyroomacoustics shoebox "
        f"rooms; training used decaying-noise RIRs), one noise in {BABBLE_EVERY} (babble of "
        "3-5 held-out voices); the other noises are generated from unused seeds. Metrics "
        f"against the URGENT target; `{CLEAN_TARGET}` is the target itself scored by DNSMOS "
        "(the ceiling of a system that reproduced its target exactly).",
        "",
        *_table(overall, "system"),
        "",
        f"Targets for `{model_name}` (issue 16):",
        "",
        *target_lines(overall, model_name, speed),
        "",
        "### Real-time factor, one thread (best of 3 on a 10 s clip; lower is faster)",
        "",
        "| system | 16 kHz | 48 kHz |",
        "|---|---|---|",
        *(f"| {name} | {v[16_000]:.4f} | {v[48_000]:.4f} |" for name, v in speed.items()),
        "",
    ]
    for metric in ("pesq", "estoi", "dnsmos_ovrl"):
        columns = order if metric == "dnsmos_ovrl" else systems_only
        lines += [f"### Headline {metric} by sampling rate", "",
                  *_table(_pivot(headline, "rate", metric, columns), "rate (Hz)"), ""]
    counts = headline[headline["system"] == CLEAN_TARGET]
    for extra in EXTRAS:
        headline = headline.assign(**{extra: headline["extras"].str.contains(extra)})
    by_extra = []
    for metric in ("pesq", "estoi"):
        rows = {f"{extra} ({int(counts['extras'].str.contains(extra).sum())})":
                headline[headline[extra]].groupby("system", sort=False)[metric].mean()
                for extra in EXTRAS}
        rows[f"no extra ({int((counts['n_extras'] == 0).sum())})"] = headline[
            headline["n_extras"] == 0].groupby("system", sort=False)[metric].mean()
        rows[f"reverb ({int(counts['reverb'].sum())})"] = headline[
            headline["reverb"]].groupby("system", sort=False)[metric].mean()
        by_extra = pd.DataFrame(rows).T
        by_extra = by_extra[[n for n in systems_only if n in by_extra.columns]]
        lines += [f"### Headline {metric} by distortion present (items in brackets)", "",
                  *_table(by_extra, "distortion"), ""]
    labels = [f"{lo:g}..{hi:g}" for lo, hi in pairwise(SNR_BINS)]
    snr = headline.assign(snr=pd.cut(headline["snr_db"], SNR_BINS, labels=labels))
    snr["snr"] = pd.Categorical(snr["snr"].astype(str), categories=labels, ordered=True)
    lines += ["### Headline pesq by SNR (dB)", "",
              *_table(_pivot(snr, "snr", "pesq", systems_only), "SNR (dB)"), ""]
    lines += [f"## Breakdown: one fixed distortion mix per item ({n_breakdown} items)", "",
              f"{args.per_mix} items per mix at each of "
              f"{', '.join(f'{r // 1000} kHz' for r in BREAKDOWN_RATES)} (bandwidth "
              f"limitation not at {min(BREAKDOWN_RATES) // 1000} kHz), same held-out voices, "
              "noise and rooms from unused seeds (decaying-noise RIRs). Half the mixes have no "
              "noise, so this set rewards leaving clean-ish speech alone more than URGENT's "
              "distribution does.", "",
              *_table(_overall(breakdown, order), "system"), ""]
    for metric in METRICS:
        columns = order if metric == "dnsmos_ovrl" else systems_only
        table = _pivot(breakdown, "mix", metric, columns)
        table = table.loc[[m for m in map("+".join, MIXES) if m in table.index]]
        lines += [f"### Breakdown {metric} by distortion", "", *_table(table, "mix"), ""]
    lines += ["### Breakdown pesq by sampling rate", "",
              *_table(_pivot(breakdown, "rate", "pesq", systems_only), "rate (Hz)"), ""]
    return lines + category_report(results[results["set"] == "categories"], order, args)


def category_report(results: pd.DataFrame, order: list[str], args: argparse.Namespace
                    ) -> list[str]:
    """The speech-category section: every metric by category, and the model's PESQ gain
    over the unprocessed input by category."""
    if results.empty:
        return []
    per_category = results.groupby("category")["item"].nunique().min()
    lines = [f"## Speech categories ({results['item'].nunique()} items)", "",
             f"{per_category} clips of each speech category, made as "
             "`conf/simulation/diverse.yaml` makes them (its sources; the held-out espeak-ng "
             f"variants; pool seed {CATEGORY_POOL_SEED}), {CATEGORY_UTTERANCES_PER_CLIP} "
             f"utterances of a category joined into a clip of at most {CLIP_SECONDS:g} s, "
             "degraded as the headline is; the k-th clip of every category has the same rate "
             f"({', '.join(f'{r / 1000:g}' for r in CATEGORY_RATES[:per_category])} kHz) and "
             "degradation seed. Every category but neutral is a synthetic or transformed "
             "stand-in for real speech of that kind (README, \"Speech sources\").", ""]
    systems = [n for n in order if n in set(results["system"])]
    ranked = results.assign(system=pd.Categorical(results["system"], categories=systems,
                                                  ordered=True)).sort_values("system")
    ranked["system"] = ranked["system"].astype(str)
    models = [n for n in systems if n in args.models]
    if "unprocessed" in systems and models:
        gain = category_breakdown(ranked.dropna(subset=["pesq"]), "pesq")
        lines += ["PESQ gain over the unprocessed input by category: " + "; ".join(
            f"`{m}` " + ", ".join(f"{c} {v:+.2f}" for c, v in
                                  (gain[m] - gain["unprocessed"]).items())
            for m in models) + ".", ""]
    for metric in ("pesq", "estoi", "si_sdr", "dnsmos_ovrl"):
        frame = ranked if metric == "dnsmos_ovrl" else ranked[ranked["system"] != CLEAN_TARGET]
        if frame[metric].notna().any():
            lines += [f"### {metric} by speech category", "",
                      *_table(category_breakdown(frame.dropna(subset=[metric]), metric),
                              "category"), ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--per-rate", type=int, default=4,
                        help="URGENT-distributed mixtures per rate (headline)")
    parser.add_argument("--per-mix", type=int, default=2,
                        help="breakdown items per mix and rate")
    parser.add_argument("--per-category", type=int, default=2,
                        help="clips per speech category")
    parser.add_argument("--extra-checkpoint", type=Path, action="append", default=[],
                        help="another checkpoint to score beside --checkpoint (an earlier "
                             "model); repeatable")
    parser.add_argument("--rtf-seconds", type=float, default=10.0,
                        help="clip length for the speed measurement; 0 skips it")
    parser.add_argument("--systems", default="",
                        help="comma-separated systems to score (default: all)")
    parser.add_argument("--reuse", type=Path, action="append", default=[],
                        help="CSV of an earlier run on the same sets: systems scored there "
                             "are not scored again (repeatable)")
    parser.add_argument("--sets", default=",".join(SETS),
                        help="which test sets to score (a report needs urgent and "
                             "breakdown)")
    parser.add_argument("--metrics", default=",".join(METRICS),
                        help="metrics to compute (the others stay empty): DNSMOS of a clip "
                             "under 9 s costs nine model runs")
    parser.add_argument("--note", default="", help="a sentence for the report (how it ran)")
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
    for path in args.extra_checkpoint:
        extra = NeuralSystem(path)
        if extra.problem:
            raise SystemExit(extra.problem)
        if extra.name in systems:
            raise SystemExit(f"{path}: a system named {extra.name} is already scored "
                             "(rename the file)")
        systems[extra.name] = extra
    args.models = [n for n, s in systems.items() if isinstance(s, NeuralSystem)]
    args.order = list(systems)
    if args.systems:
        chosen = args.systems.split(",")
        unknown = [n for n in chosen if n not in systems]
        if unknown:
            raise SystemExit(f"unknown systems {', '.join(unknown)}; known: "
                             f"{', '.join(systems)}")
        systems = {n: systems[n] for n in chosen}
    reused = (pd.concat([pd.read_csv(p) for p in args.reuse], ignore_index=True)
              .drop_duplicates(["set", "system", "item"])  # runs that shared reused rows
              if args.reuse else pd.DataFrame(columns=["set", "system", "item"]))
    frames = [reused[~reused["set"].isin(args.sets.split(","))]] if len(reused) else []
    args.out.parent.mkdir(parents=True, exist_ok=True)

    def save() -> pd.DataFrame:  # after every system: a stopped run keeps what it scored
        results = pd.concat([f for f in frames if len(f)], ignore_index=True)
        results.to_csv(args.out.with_suffix(".csv"), index=False, float_format="%.4f")
        return results

    for label, make in (("urgent", lambda: urgent_set(args.per_rate)),
                        ("breakdown", lambda: breakdown_set(args.per_mix)),
                        ("categories", lambda: category_set(args.per_category))):
        if label not in args.sets.split(","):
            continue
        items = make()
        done = reusable_rows(reused, items, label)
        frames.append(done)
        clean = CLEAN_TARGET not in set(done["system"])
        for name, system in systems.items():
            if name in set(done["system"]):
                continue
            frames.append(score_systems(items, {name: system}, label, clean=clean,
                                        metrics=tuple(args.metrics.split(","))))
            clean = False
            save()
    results = save()
    if args.rtf_seconds <= 0:
        print(f"scores written to {args.out.with_suffix('.csv')}; no report without speeds")
        return
    timed = [n for n in (*TIMED, model.name) if n in systems]
    speed = {name: {rate: system_real_time_factor(systems[name], rate, args.rtf_seconds)
                    for rate in (16_000, 48_000)} for name in timed}
    lines = report(results, speed, args.checkpoint.resolve(), args)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
