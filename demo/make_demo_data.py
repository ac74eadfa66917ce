"""Regenerate the demo data set: synthetic speech, clean references and degraded versions.

Usage: ``python demo/make_demo_data.py [--out demo]``

Twelve espeak-ng utterances in nine languages, spread over every URGENT sampling rate, each
saved as a clean reference plus three degraded versions made with :func:`audio.degrade.simulate`
and fixed seeds, so the same espeak-ng version rebuilds identical files. Across the set each
distortion type (noise, reverb, codec, clipping, bandwidth, packet loss) appears at least eight
times, every noise kind and every codec at least once. Then one short 16 kHz utterance of each
speech category other than neutral (child, elderly, whispered, sung, happy, sad, angry,
accented: synthetic or transformed stand-ins made as ``conf/simulation/diverse.yaml`` makes
them), with one noisy version each: the ``demo_categories`` dataset (a row's ``dataset``;
without one, ``demo``). Every row carries its ``speech`` labels (category,
age_group, style, language, accent, source). ``manifest.jsonl`` describes each clip.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audio.degrade import DegradationConfig, highpass, peak_normalise, simulate
from audio.io import save_audio
from audio.tts import SAMPLE_SENTENCES, Voice, espeak_version, speak
from se.simulation import SimulationConfig, SpeechItem
from se.simulation.categories import CATEGORIES
from se.simulation.sources import diverse_speech_items, load_item

SEED = 2026

#: Three degraded versions per utterance; utterance i uses pattern i % 3.
PATTERNS: tuple[tuple[tuple[str, ...], ...], ...] = (
    (("noise",), ("reverb",), ("codec",)),
    (("clipping",), ("bandwidth",), ("packet_loss",)),
    (("reverb", "noise"), ("bandwidth", "codec"), ("clipping", "packet_loss")),
)
#: Cycled over the clips that get noise / a codec, so that each kind appears.
NOISE_CYCLE = ("white", "babble", "pink", "hum", "brown", "wind", "babble", "pink")
CODEC_CYCLE = ("mp3", "opus", "vorbis", "opus", "mp3", "vorbis", "opus", "mp3")


@dataclass(frozen=True)
class Utterance:
    voice: Voice
    sentence: int
    sample_rate: int


UTTERANCES = (
    Utterance(Voice("en-us", "m3", 45, 150), 0, 8_000),
    Utterance(Voice("de", "f3", 65, 155), 1, 16_000),
    Utterance(Voice("fr", "m1", 40, 125), 0, 22_050),
    Utterance(Voice("es", "f2", 60, 145), 0, 24_000),
    Utterance(Voice("it", "m5", 50, 140), 0, 32_000),
    Utterance(Voice("pt-br", "f4", 70, 145), 1, 44_100),
    Utterance(Voice("nl", "m2", 35, 140), 0, 48_000),
    Utterance(Voice("ru", "f1", 60, 130), 1, 16_000),
    Utterance(Voice("en-gb", "klatt", 50, 150), 1, 48_000),
    Utterance(Voice("de", "m7", 30, 135), 0, 24_000),
    Utterance(Voice("fr", "f5", 55, 125), 1, 44_100),
    Utterance(Voice("en-us", "f2", 75, 160), 2, 16_000),
)


#: The category clips: one utterance per category but neutral (the twelve above are
#: neutral), at one modest rate and length so that they cost the repository little.
CATEGORY_RATE = 16_000
CATEGORY_SECONDS = 2.5
CATEGORY_POOL_SEED = 2026
#: Sources tried in turn for the category clips (the first the category's pool has), so
#: that the set hears more than espeak-ng.
SOURCE_TURNS = ("festival", "flite", "espeak")
#: Degradation of category clip i: CATEGORY_PATTERNS[i % 3], noise kind NOISE_CYCLE[i].
CATEGORY_PATTERNS: tuple[tuple[str, ...], ...] = (("noise",), ("reverb", "noise"),
                                                   ("noise", "codec"))
DIVERSE = Path(__file__).resolve().parents[1] / "conf" / "simulation" / "diverse.yaml"
NEUTRAL_LABELS = {"category": "neutral", "age_group": "adult", "style": "neutral",
                  "accent": "native", "source": "espeak"}


def category_utterances() -> list[SpeechItem]:
    """One utterance of every category but neutral, from a pool of four per category made as
    ``conf/simulation/diverse.yaml`` makes it (seed :data:`CATEGORY_POOL_SEED`), the i-th
    category's taken from ``SOURCE_TURNS`` rotated by i where it has one."""
    base = SimulationConfig.from_yaml(DIVERSE)
    synthetic = replace(base.sources.synthetic, utterances=4 * len(CATEGORIES),
                        categories=dict.fromkeys(CATEGORIES, 1.0))
    pool = diverse_speech_items(replace(base, seed=CATEGORY_POOL_SEED,
                                        sources=replace(base.sources, synthetic=synthetic)))
    chosen = []
    for i, category in enumerate(c for c in CATEGORIES if c != "neutral"):
        items = [u for u in pool if u.category == category]
        turns = SOURCE_TURNS[i % len(SOURCE_TURNS):] + SOURCE_TURNS[:i % len(SOURCE_TURNS)]
        chosen.append(next((u for source in turns for u in items if u.source == source),
                           items[0]))
    return chosen


def _clip_name(utterance: str, voice: Voice, sample_rate: int, condition: dict) -> str:
    """``u03_fr_22k_reverb_noise-pink.flac``: what a listener needs to know at a glance."""
    return f"{utterance}_{voice.language}_{sample_rate // 1000}k_{_conditions(condition)}.flac"


def _conditions(condition: dict) -> str:
    """``reverb_noise-pink``, ``codec-mp3``, ``clean``: the distortions of a clip name."""
    parts = []
    for name in condition.get("distortions", []) or ["clean"]:
        if name == "noise":
            parts.append(f"noise-{condition['noise']['kind']}")
        elif name == "codec":
            parts.append(f"codec-{condition['codec']['codec']}")
        elif name == "bandwidth":
            parts.append(f"bandwidth-{condition['bandwidth']['cutoff_rate'] // 1000}k")
        else:
            parts.append(name.replace("_", "-"))
    return "_".join(parts)


def _record(out: Path, file: str, samples: np.ndarray, sample_rate: int, **fields: object
            ) -> dict:
    save_audio(out / file, samples, sample_rate)
    return {"file": file, "sample_rate": sample_rate, "num_frames": len(samples),
            "duration_seconds": round(len(samples) / sample_rate, 3), **fields}


def make_demo_data(out: Path) -> list[dict]:
    """Write every clip under ``out/clips`` and ``out/manifest.jsonl``; return the rows."""
    clips = out / "clips"
    clips.mkdir(parents=True, exist_ok=True)
    for stale in clips.glob("*.flac"):
        stale.unlink()
    base = DegradationConfig()
    tts = f"espeak-ng {espeak_version()}"
    rows: list[dict] = []
    noise_kinds, codecs = iter(NOISE_CYCLE), iter(CODEC_CYCLE)
    for index, utt in enumerate(UTTERANCES):
        uid = f"u{index + 1:02d}"
        text = SAMPLE_SENTENCES[utt.voice.language][utt.sentence]
        speech, sr = speak(text, utt.voice, utt.sample_rate)
        common = {"utterance": uid, "language": utt.voice.language,
                  "voice": asdict(utt.voice), "text": text, "tts": tts,
                  "speech": {**NEUTRAL_LABELS, "language": utt.voice.language}}
        reference = _clip_name(uid, utt.voice, sr, {})
        clean = peak_normalise(highpass(speech, sr, base.highpass_hz), base.peak)
        rows.append(_record(out, f"clips/{reference}", clean, sr, role="reference",
                            system="reference", reference=None,
                            condition={"distortions": [], "highpass_hz": base.highpass_hz},
                            **common))
        for version, plan in enumerate(PATTERNS[index % len(PATTERNS)]):
            config = base
            if "noise" in plan:
                kind = next(noise_kinds)
                config = replace(config, noise_kinds=(kind,),
                                 wind_probability=float(kind == "wind"))
            if "codec" in plan:
                config = replace(config, codecs=(next(codecs),))
            seed = [SEED, index, version]
            degraded, _, condition = simulate(speech, sr, np.random.default_rng(seed), config,
                                              distortions=plan)
            rows.append(_record(out, f"clips/{_clip_name(uid, utt.voice, sr, condition)}",
                                degraded, sr, role="degraded", system="unprocessed",
                                reference=f"clips/{reference}",
                                condition={**condition, "seed": seed}, **common))
    rows += _category_clips(out, base)
    with open(out / "manifest.jsonl", "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return rows


def _category_clips(out: Path, base: DegradationConfig) -> list[dict]:
    """A clean reference and one degraded version of each :func:`category_utterances`."""
    rows: list[dict] = []
    for index, item in enumerate(category_utterances()):
        uid = f"c{index + 1:02d}"
        speech = load_item(item, CATEGORY_RATE)[: round(CATEGORY_SECONDS * CATEGORY_RATE)]
        sr = CATEGORY_RATE
        labels = item.labels()
        voice = {"source": item.source, "voice": item.voice_name or item.language,
                 "variant": item.variant, "pitch": item.pitch, "speed_wpm": item.speed_wpm,
                 "transform": item.transform, "transform_seed": item.transform_seed}
        common = {"dataset": "demo_categories", "utterance": uid,
                  "language": labels["language"], "voice": voice,
                  "text": item.text, "tts": f"{item.source} (conf/simulation/diverse.yaml)",
                  "speech": labels}
        stem = f"{uid}_{labels['category']}_{sr // 1000}k"
        clean = peak_normalise(highpass(speech, sr, base.highpass_hz), base.peak)
        reference = f"clips/{stem}_clean.flac"
        rows.append(_record(out, reference, clean, sr, role="reference", system="reference",
                            reference=None,
                            condition={"distortions": [], "highpass_hz": base.highpass_hz},
                            **common))
        plan = CATEGORY_PATTERNS[index % len(CATEGORY_PATTERNS)]
        kind = NOISE_CYCLE[index % len(NOISE_CYCLE)]
        config = replace(base, noise_kinds=(kind,), wind_probability=float(kind == "wind"),
                         codecs=(CODEC_CYCLE[index % len(CODEC_CYCLE)],))
        seed = [SEED, 100 + index, 0]
        degraded, _, condition = simulate(speech, sr, np.random.default_rng(seed), config,
                                          distortions=plan)
        rows.append(_record(out, f"clips/{stem}_{_conditions(condition)}.flac", degraded, sr,
                            role="degraded", system="unprocessed", reference=reference,
                            condition={**condition, "seed": seed}, **common))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="folder for clips/ and manifest.jsonl (default: this script's)")
    rows = make_demo_data(parser.parse_args().out)
    seconds = sum(r["duration_seconds"] for r in rows)
    print(f"wrote {len(rows)} clips, {seconds:.1f} s of audio")


if __name__ == "__main__":
    main()
