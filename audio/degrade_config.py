"""Ranges, probabilities and choices of the URGENT degradations, as a strict config.

:class:`DegradationConfig` is what :func:`audio.degrade.simulate` draws from. It round-trips
to a plain dict (``to_dict`` / ``from_dict``) and YAML (``from_yaml``), and it validates
itself: an unknown key, a wrong type, a range whose minimum exceeds its maximum or a value
outside what the distortion functions accept raises :class:`ConfigError` naming the key's
path (``degradation.snr_db``), so a bad config fails before any audio is made.

The small validators here (:func:`check_keys`, :func:`as_range`, ...) serve other configs
built on this one (``se.simulate``'s :class:`SimulationConfig`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from audio.noise import ALL_NOISE_KINDS

#: Distortions drawn 0..3 at a time after reverb and noise.
EXTRA_DISTORTIONS = ("bandwidth", "clipping", "codec", "packet_loss")
#: Every distortion name :func:`audio.degrade.simulate` knows, in the order it applies them.
DISTORTIONS = ("reverb", "noise", *EXTRA_DISTORTIONS)
#: Resamplers for :func:`audio.degrade.bandwidth_limit`; their different transition bands and
#: stop-band depths stand for the varied anti-aliasing filters of real recording chains.
BANDWIDTH_METHODS = ("soxr_vhq", "soxr_hq", "soxr_mq", "soxr_lq", "polyphase", "fft")
CODECS = ("mp3", "vorbis", "opus")


class ConfigError(ValueError):
    """A config value is unknown, of the wrong type or out of range.

    Attributes:
        key: dotted path of the offending key (``degradation.snr_db``), "" for the root.
        reason: what is wrong with it.
    """

    def __init__(self, key: str, reason: str) -> None:
        self.key, self.reason = key, reason
        super().__init__(f"{key}: {reason}" if key else reason)

    def under(self, prefix: str) -> ConfigError:
        """The same error with ``prefix`` put in front of its key path."""
        if not prefix:
            return self
        return ConfigError(f"{prefix}.{self.key}" if self.key else prefix, self.reason)


def join(path: str, key: str) -> str:
    """``path.key``, or ``key`` at the root."""
    return f"{path}.{key}" if path else key


def check_keys(data: Any, known: Sequence[str], path: str) -> Mapping[str, Any]:
    """Require a mapping whose keys are all in ``known``; name the first unknown one."""
    if not isinstance(data, Mapping):
        raise ConfigError(path, f"expected a mapping, got {type(data).__name__}")
    for key in data:
        if key not in known:
            raise ConfigError(join(path, str(key)),
                              f"unknown key (known: {', '.join(known)})")
    return data


def as_number(value: Any, path: str, low: float, high: float, *, integer: bool = False
              ) -> float | int:
    """A finite number (an integer when ``integer``) within ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(path, f"expected a number, got {value!r}")
    if integer and not float(value).is_integer():
        raise ConfigError(path, f"expected an integer, got {value!r}")
    if not math.isfinite(value) or not low <= value <= high:
        raise ConfigError(path, f"{value!r} is out of range [{low:g}, {high:g}]")
    return int(value) if integer else float(value)


def as_probability(value: Any, path: str) -> float:
    """A probability in ``[0, 1]``."""
    return float(as_number(value, path, 0.0, 1.0))


def as_range(value: Any, path: str, low: float, high: float, *, integer: bool = False
             ) -> tuple:
    """An inclusive ``[min, max]`` pair within ``[low, high]`` with ``min <= max``."""
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != 2:
        raise ConfigError(path, f"expected [min, max], got {value!r}")
    lo = as_number(value[0], path, low, high, integer=integer)
    hi = as_number(value[1], path, low, high, integer=integer)
    if lo > hi:
        raise ConfigError(path, f"min {lo!r} is greater than max {hi!r}")
    return (lo, hi)


def as_choices(value: Any, path: str, allowed: Sequence[str | None]) -> tuple:
    """A non-empty list of distinct names, each one of ``allowed``."""
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise ConfigError(path, f"expected a non-empty list, got {value!r}")
    for item in value:
        if item not in allowed:
            raise ConfigError(path, f"unknown value {item!r} (allowed: "
                              f"{', '.join(str(a) for a in allowed)})")
    if len(set(value)) != len(value):
        raise ConfigError(path, f"repeated values in {list(value)}")
    return tuple(value)


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file; a missing file or a syntax error becomes a :class:`ConfigError`."""
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError("", f"cannot read config {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError("", f"{path} is not valid YAML: {first}") from exc


@dataclass(frozen=True)
class DegradationConfig:
    """Ranges (inclusive ``(low, high)``) and probabilities of :func:`audio.degrade.simulate`.

    Defaults are the URGENT 2026 Track 1 settings; the room (RT60, DRR) and noise-kind
    choices are ours, as the challenge uses recorded RIRs and noise. Values are validated on
    construction (lists become tuples); see the module docstring.
    """

    highpass_hz: float | None = 70.0
    snr_db: tuple[float, float] = (-5.0, 20.0)
    #: URGENT always adds noise (1.0); below 1, some pairs have none, so that a model also
    #: learns to leave nearly clean input (only a codec, only band-limited) alone.
    noise_probability: float = 1.0
    noise_kinds: tuple[str, ...] = ("white", "pink", "brown", "babble", "hum")
    wind_probability: float = 0.05
    wind_snr_db: tuple[float, float] = (-10.0, 15.0)
    reverb_probability: float = 0.5
    rt60_seconds: tuple[float, float] = (0.2, 1.0)
    drr_db: tuple[float, float] = (-3.0, 10.0)
    extra_count_probabilities: tuple[float, ...] = (0.25, 0.40, 0.20, 0.15)
    extra_distortions: tuple[str, ...] = EXTRA_DISTORTIONS
    bandwidth_methods: tuple[str, ...] = BANDWIDTH_METHODS
    clip_low_quantile: tuple[float, float] = (0.0, 0.1)
    clip_high_quantile: tuple[float, float] = (0.9, 1.0)
    codecs: tuple[str, ...] = CODECS
    mp3_quality: tuple[int, int] = (1, 9)
    ogg_quality: tuple[int, int] = (-1, 9)
    packet_loss_rate: tuple[float, float] = (0.05, 0.25)
    max_burst: int = 9
    packet_seconds: float = 0.02
    peak: float = 0.9

    def __post_init__(self) -> None:
        for key, value in self._validated().items():
            object.__setattr__(self, key, value)

    def _validated(self) -> dict[str, Any]:
        """Every field checked and normalised (tuples, floats); raises :class:`ConfigError`."""
        out: dict[str, Any] = {}
        out["highpass_hz"] = (None if self.highpass_hz is None
                              else as_number(self.highpass_hz, "highpass_hz", 1.0, 1_000.0))
        out["snr_db"] = as_range(self.snr_db, "snr_db", -50.0, 80.0)
        out["noise_probability"] = as_probability(self.noise_probability, "noise_probability")
        out["noise_kinds"] = as_choices(self.noise_kinds, "noise_kinds", ALL_NOISE_KINDS)
        out["wind_probability"] = as_probability(self.wind_probability, "wind_probability")
        out["wind_snr_db"] = as_range(self.wind_snr_db, "wind_snr_db", -50.0, 80.0)
        out["reverb_probability"] = as_probability(self.reverb_probability,
                                                   "reverb_probability")
        out["rt60_seconds"] = as_range(self.rt60_seconds, "rt60_seconds", 0.01, 10.0)
        out["drr_db"] = as_range(self.drr_db, "drr_db", -30.0, 40.0)
        probs = self.extra_count_probabilities
        key = "extra_count_probabilities"
        if isinstance(probs, str) or not isinstance(probs, Sequence) or not probs:
            raise ConfigError(key, f"expected a non-empty list, got {probs!r}")
        if len(probs) > len(EXTRA_DISTORTIONS) + 1:
            raise ConfigError(key, f"at most {len(EXTRA_DISTORTIONS) + 1} entries (0.."
                              f"{len(EXTRA_DISTORTIONS)} extra distortions)")
        out[key] = tuple(as_probability(p, key) for p in probs)
        if abs(sum(out[key]) - 1.0) > 1e-6:
            raise ConfigError(key, f"probabilities must sum to 1, got {sum(out[key]):g}")
        out["extra_distortions"] = (
            () if not self.extra_distortions
            else as_choices(self.extra_distortions, "extra_distortions", EXTRA_DISTORTIONS))
        out["bandwidth_methods"] = as_choices(self.bandwidth_methods, "bandwidth_methods",
                                              BANDWIDTH_METHODS)
        out["clip_low_quantile"] = as_range(self.clip_low_quantile, "clip_low_quantile",
                                            0.0, 0.5)
        out["clip_high_quantile"] = as_range(self.clip_high_quantile, "clip_high_quantile",
                                             0.5, 1.0)
        if out["clip_low_quantile"][1] >= out["clip_high_quantile"][0]:
            raise ConfigError("clip_low_quantile", "max must be below clip_high_quantile's min")
        out["codecs"] = as_choices(self.codecs, "codecs", CODECS)
        out["mp3_quality"] = as_range(self.mp3_quality, "mp3_quality", 0, 9, integer=True)
        out["ogg_quality"] = as_range(self.ogg_quality, "ogg_quality", -1, 9, integer=True)
        out["packet_loss_rate"] = as_range(self.packet_loss_rate, "packet_loss_rate", 0.0, 1.0)
        out["max_burst"] = as_number(self.max_burst, "max_burst", 1, 10_000, integer=True)
        out["packet_seconds"] = as_number(self.packet_seconds, "packet_seconds", 0.001, 1.0)
        out["peak"] = as_number(self.peak, "peak", 0.01, 1.0)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/YAML types: tuples become lists."""
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
                for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, path: str = "") -> DegradationConfig:
        """Build from a (possibly partial) mapping; missing keys keep their defaults.

        Args:
            path: where the mapping sits in a larger config, put in front of error keys.

        Raises:
            ConfigError: unknown key, wrong type or out-of-range value, with its key path.
        """
        data = {} if data is None else check_keys(data, [f.name for f in fields(cls)], path)
        try:
            return cls(**data)
        except ConfigError as exc:
            raise exc.under(path) from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> DegradationConfig:
        """Read a YAML file holding the mapping :meth:`from_dict` takes."""
        return cls.from_dict(read_yaml(path))
