"""Small label files with real audio for the SQA tests."""

from __future__ import annotations

from pathlib import Path

import soundfile as sf

from tests.signals import speech_like


def write_audio(path: Path, sample_rate: int = 16_000, seconds: float = 0.2,
                seed: int = 0) -> Path:
    """A short speech-like file (WAV or FLAC, by ending) at ``sample_rate``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, speech_like(seconds, sample_rate, seed=seed), sample_rate)
    return path


def write_text(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def urgent_csv(folder: Path, rows: list[str] | None = None,
               header: str = "wav_path,system_id,sample_id,score,listener_id") -> Path:
    """An URGENT CSV in ``folder`` with audio a.flac, b.wav, c.flac beside it; by default
    two listeners rate three utterances of two systems."""
    write_audio(folder / "a.flac", 16_000, seed=1)
    write_audio(folder / "b.wav", 48_000, seed=2)
    write_audio(folder / "c.flac", 8_000, seed=3)
    if rows is None:
        rows = ["a.flac,sysA,s1,4,L1", "a.flac,sysA,s1,5,L2",
                "b.wav,sysA,s2,2,L1", "b.wav,sysA,s2,3,L2",
                "c.flac,sysB,s1,1,L1", "c.flac,sysB,s1,2,L2"]
    return write_text(folder / "labels.csv", [header, *rows])
