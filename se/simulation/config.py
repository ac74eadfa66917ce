"""What ``se.simulate`` and the dynamic-mixing dataset read: sources, rates, counts, seed and
the degradation ranges, as one strict YAML config (see ``conf/simulation/default.yaml``).

An unknown key, a wrong type, an out-of-range value or a ``[min, max]`` with min > max raises
:class:`audio.degrade_config.ConfigError` naming the key's path, before any audio is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from audio.degrade_config import (
    ConfigError,
    DegradationConfig,
    as_choices,
    as_number,
    as_range,
    check_keys,
    join,
    read_yaml,
)
from audio.noise import ALL_NOISE_KINDS
from audio.resample import URGENT_SAMPLE_RATES
from audio.rooms import RoomConfig
from audio.speech_sources import SOURCES
from audio.tts import SAMPLE_SENTENCES
from se.simulation.categories import CATEGORIES

#: Synthetic noise kinds: :data:`audio.noise.ALL_NOISE_KINDS` plus ``speech_babble``
#: (several synthetic or corpus utterances overlapped).
SYNTHETIC_NOISE_KINDS = (*ALL_NOISE_KINDS, "speech_babble")
#: espeak-ng voice variants (``+m3`` ...) the synthetic source may use; None is the default.
ESPEAK_VARIANTS = (None, "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4",
                   "f5", "klatt", "klatt2", "klatt3", "croak", "whisper", "female_whisper",
                   "grandpa", "female2", "female3")
#: Where synthetic RIRs come from: :func:`audio.degrade.synthetic_rir` (decaying noise, drawn
#: from ``degradation.rt60_seconds`` / ``drr_db``) or :mod:`audio.rooms` (shoebox rooms
#: simulated with pyroomacoustics, drawn from ``room``).
ROOM_SOURCES = ("synthetic", "pyroomacoustics")


def as_weights(value: Any, path: str, allowed: Mapping[str, Any]) -> dict[str, float]:
    """A mapping of names (each one of ``allowed``) to weights >= 0, at least one positive."""
    if not isinstance(value, Mapping) or not value:
        raise ConfigError(path, f"expected a mapping of name: weight, got {value!r}")
    out = {}
    for name, weight in value.items():
        if name not in allowed:
            raise ConfigError(path, f"unknown value {name!r} (allowed: "
                              f"{', '.join(allowed)})")
        out[str(name)] = as_number(weight, join(path, str(name)), 0.0, 1e6)
    if not any(w > 0 for w in out.values()):
        raise ConfigError(path, "at least one weight must be positive")
    return out


@dataclass(frozen=True)
class SyntheticConfig:
    """The built-in source used for whatever the config gives no ``wav.scp`` for.

    Attributes:
        utterances: size of the synthetic speech pool (espeak-ng, made lazily and cached).
        languages: espeak-ng voices with sentences in :data:`audio.tts.SAMPLE_SENTENCES`.
        variants: espeak-ng voice variants (None: the language's default voice).
        pitch: espeak-ng base pitch range (0..99).
        speed_wpm: speaking rate range in words per minute.
        noise_kinds: generated noises to draw from when no noise ``wav.scp`` is given.
        babble_talkers: how many utterances a ``speech_babble`` noise overlaps.
        rooms: one of :data:`ROOM_SOURCES`, the RIRs used when no RIR ``wav.scp`` is given.
        room: the ranges of pyroomacoustics rooms (used when ``rooms`` is
            ``pyroomacoustics``).
        speech_sources: weight of each named source (:data:`audio.speech_sources.SOURCES`)
            in the speech pool; ``languages``, ``variants``, ``pitch`` and ``speed_wpm``
            apply to espeak-ng, the other sources speak with all their voices.
        categories: weight of each kind of speech (:data:`se.simulation.categories.
            CATEGORIES`): the pool is split by these weights, and each mixture draws a
            category by them first (``se.simulate`` in an order that keeps every prefix in
            proportion; training at random).
    """

    utterances: int = 64
    languages: tuple[str, ...] = tuple(SAMPLE_SENTENCES)
    variants: tuple[str | None, ...] = (None, "m1", "m3", "m7", "f1", "f3", "f4", "klatt")
    pitch: tuple[int, int] = (20, 80)
    speed_wpm: tuple[int, int] = (130, 220)
    noise_kinds: tuple[str, ...] = ("white", "pink", "brown", "babble", "speech_babble",
                                    "hum", "transients")
    babble_talkers: tuple[int, int] = (3, 6)
    rooms: str = "synthetic"
    room: RoomConfig = field(default_factory=RoomConfig)
    speech_sources: dict[str, float] = field(default_factory=lambda: {"espeak": 1.0})
    categories: dict[str, float] = field(default_factory=lambda: {"neutral": 1.0})

    def __post_init__(self) -> None:
        checked = {
            "speech_sources": as_weights(self.speech_sources, "speech_sources", SOURCES),
            "categories": as_weights(self.categories, "categories", CATEGORIES),
            "utterances": as_number(self.utterances, "utterances", 1, 100_000, integer=True),
            "languages": as_choices(self.languages, "languages", tuple(SAMPLE_SENTENCES)),
            "variants": as_choices(self.variants, "variants", ESPEAK_VARIANTS),
            "pitch": as_range(self.pitch, "pitch", 0, 99, integer=True),
            "speed_wpm": as_range(self.speed_wpm, "speed_wpm", 80, 450, integer=True),
            "noise_kinds": as_choices(self.noise_kinds, "noise_kinds", SYNTHETIC_NOISE_KINDS),
            "babble_talkers": as_range(self.babble_talkers, "babble_talkers", 1, 32,
                                       integer=True),
        }
        if self.rooms not in ROOM_SOURCES:
            raise ConfigError("rooms", f"unknown value {self.rooms!r} (allowed: "
                              f"{', '.join(ROOM_SOURCES)})")
        if not isinstance(self.room, RoomConfig):
            checked["room"] = RoomConfig.from_dict(self.room, "room")
        for key, value in checked.items():
            object.__setattr__(self, key, value)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = (value.to_dict() if isinstance(value, RoomConfig)
                           else list(value) if isinstance(value, tuple)
                           else dict(value) if isinstance(value, dict) else value)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, path: str = "") -> SyntheticConfig:
        data = {} if data is None else check_keys(data, [f.name for f in fields(cls)], path)
        room = RoomConfig.from_dict(data.get("room"), join(path, "room"))
        try:
            return cls(**{**data, "room": room})
        except ConfigError as exc:
            raise exc.under(path) from None


@dataclass(frozen=True)
class SourcesConfig:
    """Kaldi ``wav.scp`` lists of speech, noise and RIRs; None uses the synthetic source
    (espeak-ng speech, generated noise, and rooms from ``synthetic.rooms``: decaying noise
    from :func:`audio.degrade.synthetic_rir`, or shoebox rooms simulated with pyroomacoustics
    by :mod:`audio.rooms`, each drawn per mixture and kept in its record).
    """

    speech: str | None = None
    noise: str | None = None
    rir: str | None = None
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)

    def to_dict(self) -> dict[str, Any]:
        return {"speech": self.speech, "noise": self.noise, "rir": self.rir,
                "synthetic": self.synthetic.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, path: str = "sources",
                  base: Path | None = None) -> SourcesConfig:
        """Args: base: folder that relative list paths are also looked up in (the config's)."""
        data = {} if data is None else check_keys(data, [f.name for f in fields(cls)], path)
        lists: dict[str, str | None] = {}
        for key in ("speech", "noise", "rir"):
            value = data.get(key)
            if value is not None and (not isinstance(value, str) or not value):
                raise ConfigError(join(path, key), f"expected a wav.scp path or null, "
                                  f"got {value!r}")
            if value is not None and base is not None and not Path(value).is_absolute() \
                    and not Path(value).exists() and (base / value).exists():
                value = str(base / value)
            lists[key] = value
        synthetic = SyntheticConfig.from_dict(data.get("synthetic"), join(path, "synthetic"))
        return cls(**lists, synthetic=synthetic)


@dataclass(frozen=True)
class SimulationConfig:
    """Everything that decides a simulated set (or a dynamic-mixing stream).

    Attributes:
        seed: root of every per-mixture seed.
        rates: output sampling rates in Hz, each one of the URGENT rates.
        count_per_rate: mixtures per rate that ``se.simulate`` writes.
        max_seconds: longer speech is cut to this, at a random offset.
        sources: where speech, noise and RIRs come from.
        degradation: ranges and probabilities of the URGENT distortions.
    """

    seed: int = 0
    rates: tuple[int, ...] = URGENT_SAMPLE_RATES
    count_per_rate: int = 10
    max_seconds: float = 10.0
    sources: SourcesConfig = field(default_factory=SourcesConfig)
    degradation: DegradationConfig = field(default_factory=DegradationConfig)

    def __post_init__(self) -> None:
        object.__setattr__(self, "seed", as_number(self.seed, "seed", 0, 2**63 - 1,
                                                   integer=True))
        object.__setattr__(self, "rates", as_choices(self.rates, "rates", URGENT_SAMPLE_RATES))
        object.__setattr__(self, "count_per_rate", as_number(
            self.count_per_rate, "count_per_rate", 0, 10_000_000, integer=True))
        object.__setattr__(self, "max_seconds", as_number(self.max_seconds, "max_seconds",
                                                          0.5, 3_600.0))

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "rates": list(self.rates),
                "count_per_rate": self.count_per_rate, "max_seconds": self.max_seconds,
                "sources": self.sources.to_dict(), "degradation": self.degradation.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, base: Path | None = None
                  ) -> SimulationConfig:
        """Build from a mapping (missing keys keep defaults).

        Raises:
            ConfigError: unknown key, wrong type or out-of-range value, with its key path.
        """
        data = {} if data is None else check_keys(data, [f.name for f in fields(cls)], "")
        sources = SourcesConfig.from_dict(data.get("sources"), "sources", base)
        degradation = DegradationConfig.from_dict(data.get("degradation"), "degradation")
        rest = {k: v for k, v in data.items() if k not in ("sources", "degradation")}
        return cls(**rest, sources=sources, degradation=degradation)

    @classmethod
    def from_yaml(cls, path: str | Path) -> SimulationConfig:
        """Read a YAML config; relative ``wav.scp`` paths may be relative to its folder."""
        return cls.from_dict(read_yaml(path), base=Path(path).parent)
