"""Synthetic speech from Debian's ``espeak-ng``.

Model weights and speech corpora cannot be downloaded here, but espeak-ng speaks 100+
languages offline and deterministically (same version, same text, same voice: same samples).
That makes it the source of speech for the demo data set, tests, trapping clips in listening
tests and synthetic training data. It sounds robotic, so it never stands in for real speech
when a result about quality is reported.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from audio.resample import resample

ESPEAK = "espeak-ng"

#: Rate of espeak-ng's WAV output.
ESPEAK_SAMPLE_RATE = 22_050

#: Seconds a single call may take; a few sentences take well under one.
TIMEOUT_SECONDS = 30.0

#: Short sentences (about 2 s spoken) per espeak-ng voice name; Latin or Cyrillic script only,
#: because espeak-ng 1.51 without extra dictionaries spells Chinese characters out by name.
SAMPLE_SENTENCES: dict[str, list[str]] = {
    "en-us": ["The birch canoe slid on the smooth planks.",
              "Glue the sheet to the dark blue background.",
              "A rod is used to catch pink salmon."],
    "en-gb": ["The boy was there when the sun rose.",
              "Rice is often served in round bowls."],
    "de": ["Der Zug fährt um acht Uhr ab.",
           "Heute scheint die Sonne über dem See.",
           "Ich trinke gern einen warmen Tee."],
    "fr": ["Le chat dort sur le canapé rouge.",
           "Nous partons demain matin à la mer.",
           "Il fait beau dans le jardin."],
    "es": ["El perro corre por el parque verde.",
           "Mañana vamos al mercado temprano.",
           "La casa tiene una puerta azul."],
    "it": ["Il treno parte alle nove di sera.",
           "La pizza è calda e molto buona."],
    "pt-br": ["O menino gosta de ler livros novos.",
              "A praia está cheia neste verão."],
    "nl": ["De fiets staat naast het oude huis.",
           "We eten vanavond soep met brood."],
    "ru": ["Сегодня на улице очень тепло.",
           "Мы пьём чай на кухне вечером."],
}


class TtsError(RuntimeError):
    """espeak-ng ran but gave no speech (unknown voice, crash, timeout)."""


class TtsUnavailable(TtsError):
    """espeak-ng is not installed, so no synthetic speech can be made (skip, do not fail)."""


def espeak_available() -> bool:
    """Whether the ``espeak-ng`` program is on the PATH (tests skip when it is not)."""
    return shutil.which(ESPEAK) is not None


def espeak_version() -> str | None:
    """espeak-ng's version (``1.51``), or None when it is missing.

    Output is identical only for the same version, so generated data sets record it.
    """
    if not espeak_available():
        return None
    done = subprocess.run([ESPEAK, "--version"], capture_output=True, text=True,
                          timeout=TIMEOUT_SECONDS, check=False)
    found = re.search(r"text-to-speech:\s*(\S+)", done.stdout)
    return found.group(1) if done.returncode == 0 and found else None


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice: language, optional variant, pitch and speaking rate.

    Attributes:
        language: espeak-ng voice name such as ``en-us``, ``de`` or ``fr``
            (``espeak-ng --voices`` lists them).
        variant: voice variant appended as ``+variant`` (``f3``, ``m3``, ``klatt``,
            ``female_whisper``, ``grandpa`` ...), which changes timbre, sex or age; None for
            the language's default.
        pitch: base pitch 0-99 (espeak ``-p``, default 50).
        speed_wpm: speaking rate in words per minute (espeak ``-s``, default 175).
    """

    language: str = "en-us"
    variant: str | None = None
    pitch: int = 50
    speed_wpm: int = 175

    def __post_init__(self) -> None:
        if not self.language or not all(c.isalnum() or c in "-_" for c in self.language):
            raise ValueError(f"invalid espeak-ng language {self.language!r}")
        if self.variant is not None and not self.variant.replace("_", "").isalnum():
            raise ValueError(f"invalid espeak-ng variant {self.variant!r}")
        if not 0 <= self.pitch <= 99:
            raise ValueError(f"pitch must be in 0..99, got {self.pitch}")
        if not 80 <= self.speed_wpm <= 450:
            raise ValueError(f"speed_wpm must be in 80..450 (espeak's range), got {self.speed_wpm}")

    def espeak_name(self) -> str:
        """The ``-v`` argument: ``language`` or ``language+variant``."""
        return self.language if self.variant is None else f"{self.language}+{self.variant}"


def _trim_silence(samples: np.ndarray, sample_rate: int, *, keep_seconds: float = 0.05,
                  threshold_db: float = -40.0) -> np.ndarray:
    """Cut espeak's leading and trailing near-silence, keeping ``keep_seconds`` of it.

    espeak pads ~15 ms before and ~350 ms after each utterance; a short margin keeps onsets
    and the final decay intact while clips stay short.
    """
    level = np.max(np.abs(samples)) * 10.0 ** (threshold_db / 20.0)
    loud = np.flatnonzero(np.abs(samples) > level)
    keep = round(keep_seconds * sample_rate)
    start, stop = max(0, loud[0] - keep), min(len(samples), loud[-1] + 1 + keep)
    return samples[start:stop].copy()


def speak(text: str, voice: Voice, sample_rate: int | None = None
          ) -> tuple[np.ndarray, int]:
    """Synthesise ``text`` with espeak-ng.

    The text goes to espeak-ng on stdin (never through a shell or as an argument, so quotes,
    leading dashes and any other characters are spoken, not interpreted).

    Args:
        text: what to say (UTF-8; plain text, no SSML).
        voice: language, variant, pitch and rate.
        sample_rate: resample to this rate (soxr HQ); None keeps espeak's 22050 Hz.

    Returns:
        (samples, sample_rate): float32 mono of shape (frames,), leading and trailing silence
        trimmed to 50 ms.

    Raises:
        ValueError: empty text, or espeak-ng produced only silence for it.
        TtsUnavailable: espeak-ng is not installed.
        TtsError: espeak-ng refuses the voice, fails or times out.
    """
    if not text.strip():
        raise ValueError("cannot speak empty text")
    if not espeak_available():
        raise TtsUnavailable("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    command = [ESPEAK, "--stdout", "--stdin", "-v", voice.espeak_name(),
               "-p", str(voice.pitch), "-s", str(voice.speed_wpm)]
    try:
        done = subprocess.run(command, input=text.encode("utf-8"), capture_output=True,
                              timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired as exc:
        raise TtsError(f"espeak-ng took longer than {TIMEOUT_SECONDS:g} s") from exc
    if done.returncode != 0 or not done.stdout:
        message = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
        raise TtsError(f"espeak-ng failed for voice {voice.espeak_name()!r}: {message}")
    # espeak streams its WAV, so the header's sizes are placeholders; libsndfile copes.
    samples, rate = sf.read(io.BytesIO(done.stdout), dtype="float32")  # mono
    if not np.any(samples):
        raise ValueError(f"espeak-ng produced no audio for {text!r}")
    samples = _trim_silence(samples, int(rate))
    if sample_rate is not None and sample_rate != rate:
        return resample(samples, int(rate), sample_rate), sample_rate
    return samples, int(rate)


def phonemes(text: str, voice: Voice) -> str:
    """The phonemes espeak-ng would say for ``text`` with ``voice`` (its ``-x`` output).

    A German voice reading English text uses German phonemes and rules: this is what makes
    espeak-ng's voices of other languages a source of accented English.

    Raises:
        ValueError: empty text. TtsUnavailable / TtsError: as :func:`speak`.
    """
    if not text.strip():
        raise ValueError("cannot transcribe empty text")
    if not espeak_available():
        raise TtsUnavailable("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    done = subprocess.run([ESPEAK, "-q", "-x", "--stdin", "-v", voice.espeak_name()],
                          input=text.encode("utf-8"), capture_output=True,
                          timeout=TIMEOUT_SECONDS, check=False)
    if done.returncode != 0:
        raise TtsError(done.stderr.decode("utf-8", "replace").strip() or "espeak-ng failed")
    return " ".join(done.stdout.decode("utf-8", "replace").split())
