"""Manifests of simulation: speech, noise and RIR items and the mixtures made from them.

Small dataclasses with ``to_dict`` / ``from_dict`` (plain JSON types), stored one per line in
JSONL (lhotse's habit). A :class:`MixtureRecord` holds its sources, rate, length, seed, the
degradation config and every drawn parameter, so :func:`se.simulation.mix.rebuild` can make the
same samples again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from audio.tts import Voice
from se.simulation.categories import LABEL_KEYS


@dataclass(frozen=True)
class SpeechItem:
    """One clean utterance: a file (``path``) or synthesis (``text`` said by a voice of a named
    source, then optionally transformed), with the labels every utterance carries.

    Attributes:
        id: utterance id.
        path: a file (from a ``wav.scp``); None for synthesis.
        text: what a synthetic utterance says.
        language: the spoken language (espeak-ng code such as ``en-us``; ``unknown`` for
            files).
        variant, pitch, speed_wpm: espeak-ng voice settings (espeak items only).
        source: a name in :data:`audio.speech_sources.SOURCES`, or ``file``.
        voice_name: the source's voice (for espeak-ng the voice language, which differs from
            ``language`` for accented English); None: ``language``.
        transform: a name in :data:`audio.voice_transforms.TRANSFORMS`, seeded by
            ``transform_seed``; None: the voice as it is.
        category, age_group, style, accent: labels (``unknown`` for files, whose content the
            list does not say).
    """

    id: str
    path: str | None = None
    text: str | None = None
    language: str | None = None
    variant: str | None = None
    pitch: int | None = None
    speed_wpm: int | None = None
    source: str | None = None
    voice_name: str | None = None
    transform: str | None = None
    transform_seed: int | None = None
    category: str | None = None
    age_group: str | None = None
    style: str | None = None
    accent: str | None = None

    def __post_init__(self) -> None:
        known = self.path is None
        defaults = {"source": "espeak" if known else "file",
                    "language": "en-us" if known else "unknown",
                    "category": "neutral" if known else "unknown",
                    "age_group": "adult" if known else "unknown",
                    "style": "neutral" if known else "unknown",
                    "accent": "native" if known else "unknown"}
        for key, value in defaults.items():
            if getattr(self, key) is None:
                object.__setattr__(self, key, value)

    @property
    def synthetic(self) -> bool:
        return self.path is None

    def labels(self) -> dict[str, str]:
        """category, age_group, style, language, accent and source."""
        return {k: str(getattr(self, k)) for k in LABEL_KEYS}

    def voice(self) -> Voice:
        """The espeak-ng voice of a synthetic espeak item."""
        return Voice(language=self.voice_name or self.language or "en-us",
                     variant=self.variant,
                     pitch=50 if self.pitch is None else self.pitch,
                     speed_wpm=175 if self.speed_wpm is None else self.speed_wpm)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpeechItem:
        return cls(**data)


@dataclass(frozen=True)
class NoiseItem:
    """One noise: a file (``path``) or a generated ``kind``; ``speech_babble`` also names the
    utterances it overlaps (``talkers``)."""

    id: str
    path: str | None = None
    kind: str | None = None
    talkers: tuple[SpeechItem, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        if self.path is not None:
            out["path"] = self.path
        if self.kind is not None:
            out["kind"] = self.kind
        if self.talkers:
            out["talkers"] = [t.to_dict() for t in self.talkers]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NoiseItem:
        talkers = tuple(SpeechItem.from_dict(t) for t in data.get("talkers", ()))
        return cls(id=data["id"], path=data.get("path"), kind=data.get("kind"),
                   talkers=talkers)


@dataclass(frozen=True)
class RirItem:
    """One room impulse response: a file (``path``, first channel used) or a simulated
    shoebox ``room`` (:meth:`audio.rooms.Room.to_dict`), computed at the mixture's rate."""

    id: str
    path: str | None = None
    room: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RirItem:
        return cls(id=data["id"], path=data.get("path"), room=data.get("room"))


@dataclass(frozen=True)
class MixtureRecord:
    """Everything needed to rebuild one noisy/clean pair exactly.

    Attributes:
        id: mixture id (file names, ``*.scp`` keys).
        sample_rate: output rate in Hz.
        num_frames: length of both signals.
        seed: root of the mixture's generators (noise synthesis: ``[seed, 1]``,
            degradation: ``[seed, 2]``).
        speech: the clean source; ``speech_offset_frames`` where the clip starts in it
            (at ``sample_rate``).
        noise: the noise source offered to the mixture, or None (then :func:`simulate`
            generates one); ``noise_offset_frames`` where it starts (file noise only).
        rir: the RIR offered (a file or a drawn pyroomacoustics room), or None (then a
            synthetic RIR is drawn if reverb is).
        params: what :func:`audio.degrade.simulate` drew (distortions, SNR, codec, ...) plus
            ``noise_source``, what generating a synthetic noise drew.
        degradation: the :class:`audio.degrade_config.DegradationConfig` as a dict.
    """

    id: str
    sample_rate: int
    num_frames: int
    seed: int
    speech: SpeechItem
    speech_offset_frames: int = 0
    noise: NoiseItem | None = None
    noise_offset_frames: int = 0
    rir: RirItem | None = None
    params: dict[str, Any] = field(default_factory=dict)
    degradation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "sample_rate": self.sample_rate, "num_frames": self.num_frames,
                "seed": self.seed, "speech": self.speech.to_dict(),
                "speech_offset_frames": self.speech_offset_frames,
                "noise": None if self.noise is None else self.noise.to_dict(),
                "noise_offset_frames": self.noise_offset_frames,
                "rir": None if self.rir is None else self.rir.to_dict(),
                "params": self.params, "degradation": self.degradation}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MixtureRecord:
        return cls(id=data["id"], sample_rate=int(data["sample_rate"]),
                   num_frames=int(data["num_frames"]), seed=int(data["seed"]),
                   speech=SpeechItem.from_dict(data["speech"]),
                   speech_offset_frames=int(data.get("speech_offset_frames", 0)),
                   noise=None if data.get("noise") is None
                   else NoiseItem.from_dict(data["noise"]),
                   noise_offset_frames=int(data.get("noise_offset_frames", 0)),
                   rir=None if data.get("rir") is None else RirItem.from_dict(data["rir"]),
                   params=dict(data.get("params", {})),
                   degradation=dict(data.get("degradation", {})))


def write_jsonl(path: Path, records: Iterable[MixtureRecord]) -> None:
    """One ``to_dict`` per line, UTF-8."""
    with open(path, "w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")


def read_jsonl(path: Path) -> Iterator[MixtureRecord]:
    """The records :func:`write_jsonl` wrote."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield MixtureRecord.from_dict(json.loads(line))
