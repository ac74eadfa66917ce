"""The interface every speech source implements, and the labels its voices carry.

A source (espeak-ng, flite, festival, recordings shipped by a Debian package) is one module
with one :class:`SpeechSource`; :data:`audio.speech_sources.SOURCES` names them. Callers ask
the source for its voices and their labels and never branch on a source's name.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import soundfile as sf

from audio.resample import resample

#: Seconds a single synthesis call may take; a few sentences take well under one.
TIMEOUT_SECONDS = 60.0


class SpeechSourceError(RuntimeError):
    """A source ran but gave no speech (unknown voice, crash, timeout)."""


class SpeechSourceUnavailable(SpeechSourceError):
    """The program or package a source needs is not installed (skip, do not fail)."""


@dataclass(frozen=True)
class SourceVoice:
    """One voice of a source and what it is.

    Attributes:
        name: the source's own name for it (``slt``, ``czech_krb``, ``en-us`` ...).
        language: language it speaks natively (espeak-ng style code: ``en-us``, ``cs``).
        age_group: ``child``, ``adult`` or ``elderly`` (of the speaker the voice was made from).
        gender: ``female`` or ``male``.
        kind: ``rule`` (formant synthesis, no recordings), ``diphone`` (concatenated human
            diphones), ``hts`` (statistical model trained on one human speaker's recordings),
            ``recording`` (a human recording as is).
    """

    name: str
    language: str
    age_group: str = "adult"
    gender: str = "male"
    kind: str = "rule"


class SpeechSource(Protocol):
    """A named maker of clean speech."""

    name: str
    #: one line: what it is, where it comes from (Debian package) and its licence.
    description: str

    def available(self) -> bool:
        """Whether its program and data are installed here."""

    def voices(self) -> tuple[SourceVoice, ...]:
        """Every voice it offers (whether installed or not)."""

    def installed(self, voice: SourceVoice) -> bool:
        """Whether ``voice`` can speak here (a festival voice is a package of its own)."""

    def texts(self, voice: SourceVoice) -> tuple[str, ...]:
        """Sentences the voice can say (a recording only its own transcript)."""

    def speak(self, text: str, voice: SourceVoice, sample_rate: int | None = None
              ) -> tuple[np.ndarray, int]:
        """(float32 mono samples, rate): ``text`` said by ``voice``, silence trimmed to 50 ms,
        resampled to ``sample_rate`` unless None.

        Raises:
            ValueError: empty text, or text the voice cannot say.
            SpeechSourceUnavailable: not installed.
            SpeechSourceError: the program failed.
        """


def trim_silence(samples: np.ndarray, sample_rate: int, *, keep_seconds: float = 0.05,
                 threshold_db: float = -40.0) -> np.ndarray:
    """Cut leading and trailing near-silence, keeping ``keep_seconds`` of it."""
    level = np.max(np.abs(samples)) * 10.0 ** (threshold_db / 20.0)
    loud = np.flatnonzero(np.abs(samples) > level)
    keep = round(keep_seconds * sample_rate)
    start, stop = max(0, loud[0] - keep), min(len(samples), loud[-1] + 1 + keep)
    return samples[start:stop].copy()


def finish(samples: np.ndarray, rate: int, sample_rate: int | None, what: str
           ) -> tuple[np.ndarray, int]:
    """Check, trim and resample what a program produced."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim == 2:
        samples = samples[:, 0].copy()
    if not np.any(samples):
        raise ValueError(f"{what} produced no audio")
    samples = trim_silence(samples, rate)
    if sample_rate is not None and sample_rate != rate:
        return resample(samples, rate, sample_rate), sample_rate
    return samples, rate


def run_to_wav(command: list[str], stdin: bytes | None, what: str,
               wav_path: str | None = None) -> tuple[np.ndarray, int]:
    """Run a synthesiser without a shell; read its WAV from ``wav_path`` or stdout."""
    if shutil.which(command[0]) is None:
        raise SpeechSourceUnavailable(f"{command[0]} is not installed ({what})")
    try:
        done = subprocess.run(command, input=stdin, capture_output=True,
                              timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired as exc:
        raise SpeechSourceError(f"{what} took longer than {TIMEOUT_SECONDS:g} s") from exc
    data = done.stdout
    if wav_path is not None and done.returncode == 0:
        with open(wav_path, "rb") as f:
            data = f.read()
    if done.returncode != 0 or not data:
        message = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
        raise SpeechSourceError(f"{what} failed: {message}")
    samples, rate = sf.read(io.BytesIO(data), dtype="float32")
    return samples, int(rate)


def check_text(text: str) -> None:
    if not text.strip():
        raise ValueError("cannot speak empty text")
