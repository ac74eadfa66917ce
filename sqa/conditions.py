"""Degradation conditions for synthetic quality data: one condition is one ``system_id``.

A :class:`Condition` fixes a sampling rate and the parameters of every distortion it applies
(reverb, noise, bandwidth limit, clipping, codec, packet loss), so all clips of a condition
sound alike and system-level scores mean something. Conditions are drawn from the ranges of
an :class:`~audio.degrade_config.DegradationConfig` (the URGENT ranges, or wider ones for a
pretraining set that must span the whole quality range); :func:`render` then applies one to a
clean utterance in URGENT's order (reverb -> noise -> extras -> peak normalisation), with the
SNR jittered per clip so a condition still varies a little, as a real system does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from audio.degrade import (
    add_noise,
    bandwidth_limit,
    clip,
    codec,
    highpass,
    packet_loss,
    reverberate,
    synthetic_rir,
)
from audio.degrade_config import DegradationConfig
from audio.noise import generate_noise
from audio.resample import URGENT_SAMPLE_RATES


@dataclass(frozen=True)
class Condition:
    """A named degradation recipe with fixed parameters (plain JSON types).

    Attributes:
        name: the ``system_id``; says what the condition does (``c07-16k-pink5-mp3q7``).
        sample_rate: rate of every clip of the condition.
        reverb: ``{"rt60_seconds", "drr_db"}`` or None.
        noise: ``{"kind", "snr_db"}`` or None.
        extras: ``(name, params)`` pairs applied in order after the noise.
    """

    name: str
    sample_rate: int
    reverb: dict[str, float] | None = None
    noise: dict[str, Any] | None = None
    extras: tuple[tuple[str, dict[str, Any]], ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "sample_rate": self.sample_rate, "reverb": self.reverb,
                "noise": self.noise, "extras": [[n, p] for n, p in self.extras]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Condition:
        return cls(data["name"], int(data["sample_rate"]), data.get("reverb"),
                   data.get("noise"), tuple((n, dict(p)) for n, p in data.get("extras", [])))


def _tag(value: float) -> str:
    return f"{value:g}".replace("-", "m").replace(".", "p")


def _draw_extra(name: str, rate: int, rng: np.random.Generator,
                cfg: DegradationConfig) -> tuple[dict[str, Any], str]:
    """Parameters of one extra distortion and a short tag for the condition name."""
    if name == "bandwidth":
        cutoff = int(rng.choice([r for r in URGENT_SAMPLE_RATES if r < rate]))
        method = str(rng.choice(cfg.bandwidth_methods))
        return {"cutoff_rate": cutoff, "method": method}, f"bw{cutoff // 1000}k"
    if name == "clipping":
        low = float(rng.uniform(*cfg.clip_low_quantile))
        high = float(rng.uniform(*cfg.clip_high_quantile))
        return ({"low_quantile": low, "high_quantile": high},
                f"clip{_tag(round(low + 1 - high, 3))}")
    if name == "codec":
        kind = str(rng.choice(cfg.codecs))
        bounds = cfg.mp3_quality if kind == "mp3" else cfg.ogg_quality
        quality = int(rng.integers(bounds[0], bounds[1] + 1))
        return {"codec": kind, "quality": quality}, f"{kind}q{_tag(quality)}"
    if name == "packet_loss":
        loss = float(rng.uniform(*cfg.packet_loss_rate))
        return {"loss_rate": loss, "max_burst": cfg.max_burst}, f"plc{round(100 * loss)}"
    raise ValueError(f"unknown distortion {name!r}")


def draw_condition(index: int, rng: np.random.Generator, cfg: DegradationConfig, *,
                   sample_rates: tuple[int, ...], noise_probability: float,
                   clean: bool = False) -> Condition:
    """One condition: a rate, then reverb, noise and 0..3 extras drawn as URGENT draws them
    (noise only with ``noise_probability``, so mild conditions exist); ``clean`` gives the
    high-passed clean speech at a drawn rate."""
    rate = int(rng.choice(sample_rates))
    tags = [f"c{index:03d}", f"{rate // 1000}k"]
    if clean:
        return Condition("_".join([*tags, "clean"]), rate)
    reverb = noise = None
    if rng.random() < cfg.reverb_probability:
        reverb = {"rt60_seconds": float(rng.uniform(*cfg.rt60_seconds)),
                  "drr_db": float(rng.uniform(*cfg.drr_db))}
        tags.append(f"rev{_tag(round(reverb['rt60_seconds'], 1))}")
    if rng.random() < noise_probability:
        wind = rng.random() < cfg.wind_probability
        snr = float(rng.uniform(*(cfg.wind_snr_db if wind else cfg.snr_db)))
        kind = "wind" if wind else str(rng.choice(cfg.noise_kinds))
        noise = {"kind": kind, "snr_db": snr}
        tags.append(f"{kind}{_tag(round(snr))}")
    usable = [d for d in cfg.extra_distortions
              if d != "bandwidth" or rate > min(URGENT_SAMPLE_RATES)]
    count = int(rng.choice(len(cfg.extra_count_probabilities),
                           p=cfg.extra_count_probabilities))
    extras = []
    for name in rng.choice(usable, size=min(count, len(usable)), replace=False):
        params, tag = _draw_extra(str(name), rate, rng, cfg)
        extras.append((str(name), params))
        tags.append(tag)
    if reverb is None and noise is None and not extras:
        tags.append("hp")  # only the high-pass: as good as clean
    return Condition("_".join(tags), rate, reverb, noise, tuple(extras))


def render(clean: np.ndarray, condition: Condition, rng: np.random.Generator, *,
           snr_jitter_db: float = 0.0, highpass_hz: float | None = 70.0, peak: float = 0.9
           ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Apply ``condition`` to clean speech at ``condition.sample_rate``.

    Returns:
        (degraded, reference, params): the reference is the dry high-passed clean speech
        under the same gain (what intrusive metrics compare with, so reverb counts as a
        degradation); ``params`` is the condition with the clip's own drawn values
        (``noise.snr_db`` after jitter, lost packets).
    """
    rate = condition.sample_rate
    x = np.asarray(clean, dtype=np.float32)
    if highpass_hz is not None:
        x = highpass(x, rate, highpass_hz)
    reference = x.copy()
    params = condition.to_dict()
    if condition.reverb is not None:
        rir = synthetic_rir(rate, condition.reverb["rt60_seconds"], rng,
                            drr_db=condition.reverb["drr_db"])
        x, _ = reverberate(x, rir, rate)
    if condition.noise is not None:
        snr = condition.noise["snr_db"] + float(rng.uniform(-snr_jitter_db, snr_jitter_db))
        noise, _ = generate_noise(condition.noise["kind"], len(x), rate, rng)
        x, _ = add_noise(x, noise, snr, rate)
        params["noise"] = {**condition.noise, "snr_db": snr}
    extras = []
    for name, p in condition.extras:
        if name == "bandwidth":
            x = bandwidth_limit(x, rate, p["cutoff_rate"], p["method"])
        elif name == "clipping":
            x = clip(x, p["low_quantile"], p["high_quantile"])
        elif name == "codec":
            x = codec(x, rate, p["codec"], p["quality"])
        elif name == "packet_loss":
            x, drawn = packet_loss(x, rate, rng, p["loss_rate"], p["max_burst"])
            p = {**p, "lost_packets": len(drawn["lost_packets"])}
        extras.append([name, p])
    params["extras"] = extras
    scale = peak / max(float(np.max(np.abs(x))), 1e-12)
    return (x * scale).astype(np.float32), (reference * scale).astype(np.float32), params
