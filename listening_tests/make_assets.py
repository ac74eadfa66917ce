"""Regenerate the small spoken assets that the rating pages play (``listening_tests/assets/``).

    python -m listening_tests.make_assets

The app never runs espeak-ng: these files are committed. They hold the digits "zero" to
"nine" (the stereo check plays one in each ear), the two halves of the trapping request
("This is an interruption. Please select the answer" + the score's digit + "to confirm your
attention."; :func:`listening_tests.stimuli.trap_prompt` joins them, which keeps the five
prompts in a third of the space five whole sentences take) and a sentence that the volume
adjustment plays and the environment check mixes with soft noise. espeak-ng 1.51 makes the
same samples for the same text and voice, so a rerun reproduces the files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from audio.tts import Voice, espeak_version, speak

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
#: Rate of every asset; wide-band speech, small files.
ASSET_SAMPLE_RATE = 16_000
#: Peak level of every asset (about -3 dBFS), so prompts sound as loud as one another.
ASSET_PEAK = 0.7

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
VOICE = Voice(language="en-us", variant="m3", pitch=45, speed_wpm=160)
TRAP_PREFIX_TEXT = "This is an interruption. Please select the answer"
TRAP_SUFFIX_TEXT = "to confirm your attention."
SPEECH_TEXT = "The birch canoe slid on the smooth planks."


def assets_wanted() -> dict[str, str]:
    """File name (without .flac) -> the text spoken in it."""
    wanted = {f"digit-{d}": word for d, word in enumerate(DIGIT_WORDS)}
    wanted |= {"trap-prefix": TRAP_PREFIX_TEXT, "trap-suffix": TRAP_SUFFIX_TEXT,
               "speech": SPEECH_TEXT}
    return wanted


def centred(samples: np.ndarray, frames: int) -> np.ndarray:
    """``samples`` in the middle of ``frames`` of silence."""
    before = (frames - len(samples)) // 2
    return np.pad(samples, (before, frames - len(samples) - before))


def make_assets(folder: Path = ASSETS_DIR) -> list[Path]:
    """Speak every asset and write it as mono 16-bit FLAC at 16 kHz.

    The digits are padded with silence to one length, so a stereo check or a trapping
    clip lasts (and its file weighs) the same whichever digits it says.
    """
    folder.mkdir(parents=True, exist_ok=True)
    spoken = {}
    for name, text in assets_wanted().items():
        samples, _ = speak(text, VOICE, sample_rate=ASSET_SAMPLE_RATE)
        spoken[name] = samples * (ASSET_PEAK / float(np.max(np.abs(samples))))
    longest = max(len(x) for name, x in spoken.items() if name.startswith("digit-"))
    written = []
    for name, samples in spoken.items():
        samples = centred(samples, longest) if name.startswith("digit-") else samples
        path = folder / f"{name}.flac"
        sf.write(str(path), samples.astype(np.float32), ASSET_SAMPLE_RATE, format="FLAC",
                 subtype="PCM_16")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m listening_tests.make_assets",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ASSETS_DIR, help="folder to write")
    args = parser.parse_args(argv)
    version = espeak_version()
    if version is None:
        print("error: espeak-ng is not installed", file=sys.stderr)
        return 2
    paths = make_assets(args.out)
    total = sum(p.stat().st_size for p in paths)
    print(f"wrote {len(paths)} files, {total / 1024:.0f} KiB, with espeak-ng {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
