"""A small URGENT-style label set with real audio: espeak-ng sentences, clean and degraded
(noise at two SNRs, clipping with noise), rated by two listeners on the ACR scale, written as
``labels.csv`` plus ``audio.zip`` the way a researcher uploads one."""

from __future__ import annotations

import functools
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio.degrade import add_noise, clip
from audio.noise import generate_noise
from audio.resample import resample
from audio.tts import Voice, espeak_available, speak

RATE = 16_000
SENTENCES = ("Open the door.", "The sun is warm.", "Bring me the book.", "It rained today.",
             "Call me later.", "Green apples fall.")
#: condition -> (human MOS it gets, how it is made)
CONDITIONS = {"clean": 4.6, "noise10": 3.4, "noise0": 2.3, "clipnoise": 1.4}
HEADER = "wav_path,system_id,sample_id,score,listener_id"


def need_espeak() -> None:
    if not espeak_available():
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")


@functools.cache
def _sentence(index: int) -> np.ndarray:
    voice = Voice("en-us", ("m3", "f3", "m1", "f2", "m5", "f4")[index % 6])
    samples, rate = speak(SENTENCES[index % len(SENTENCES)], voice)
    x = resample(samples, rate, RATE)
    return (0.5 * x / np.max(np.abs(x))).astype(np.float32)


def degraded(index: int, condition: str) -> np.ndarray:
    """Sentence ``index`` under ``condition`` (deterministic)."""
    rng = np.random.default_rng(index)
    x = _sentence(index)
    noise = generate_noise("white", len(x), RATE, rng)[0]
    if condition == "noise10":
        x = add_noise(x, noise, 10.0, RATE)[0]
    elif condition == "noise0":
        x = add_noise(x, noise, 0.0, RATE)[0]
    elif condition == "clipnoise":
        x = add_noise(clip(x, 0.2, 0.8), noise, -5.0, RATE)[0]
    return (0.9 * x / np.max(np.abs(x))).astype(np.float32)


def write_label_set(folder: Path, samples: int = 3, *, rows: list[str] | None = None,
                    leave_out: tuple[str, ...] = ()) -> tuple[Path, Path]:
    """``labels.csv`` and ``audio.zip`` (files ``<condition>/<sample>.wav``) in ``folder``.

    ``rows`` replaces the generated label lines; ``leave_out`` names files kept out of the zip.
    """
    folder.mkdir(parents=True, exist_ok=True)
    lines = [HEADER]
    archive = folder / "audio.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(samples):
            for condition, mos in CONDITIONS.items():
                name = f"{condition}/s{i}.wav"
                wav = folder / f"{condition}_s{i}.wav"
                sf.write(wav, degraded(i, condition), RATE)
                if name not in leave_out:
                    zf.write(wav, name)
                for listener, shift in (("L1", 0.4), ("L2", -0.4)):
                    score = int(np.clip(round(mos + shift), 1, 5))
                    lines.append(f"{name},{condition},s{i},{score},{listener}")
    csv = folder / "labels.csv"
    csv.write_text("\n".join([HEADER, *rows] if rows is not None else lines) + "\n",
                   encoding="utf-8")
    return csv, archive
