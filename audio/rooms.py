"""Shoebox room impulse responses simulated with pyroomacoustics, drawn from a seeded generator.

A room (size, RT60, microphone and source positions, a seed for its diffuse tail) is drawn by
:func:`draw_room` as plain numbers, so a mixture's manifest can keep it; :func:`room_rir`
turns it into the same RIR every time, at any rate. The RIR is a hybrid, as in gpuRIR's
diffuse model: image sources (pyroomacoustics, walls absorbing what Eyring's formula needs
for the drawn RT60) up to :data:`IMAGE_SOURCE_SECONDS` after the direct path, so the early
part the URGENT clean target keeps is geometric, then Gaussian noise decaying at the drawn
RT60, matched in energy to the image sources where they stop. A full image-source model
would need orders above 100 for a 1 s RT60 in a small room (seconds per RIR); this takes
5-15 ms per RIR at any URGENT rate on one core, and its T30 is within 1 % of the drawn RT60
on average (at most 11 %, for RT60s near 0.2 s).

pyroomacoustics is imported only when an RIR is computed (it takes over a second to import).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from audio.degrade_config import ConfigError, as_number, as_range, check_keys

#: Speed of sound in m/s (pyroomacoustics' default, 20 degrees C in dry air).
SPEED_OF_SOUND = 343.0
#: Image sources cover this long after the direct path; more than the 50 ms the URGENT clean
#: target keeps, so the target's reflections are all geometric.
IMAGE_SOURCE_SECONDS = 0.08
#: Cap of the image-source order (about 38k images; bounds compute time in odd rooms).
MAX_ORDER = 30
#: Direct-path window of the measured DRR: +-2.5 ms around the strongest sample.
DIRECT_SECONDS = 0.0025
#: Window before the end of the image sources whose energy the diffuse tail continues.
_MATCH_SECONDS = 0.02


def eyring_absorption(size_m: Sequence[float], rt60_seconds: float) -> float:
    """Energy absorption coefficient of every wall that gives ``rt60_seconds`` by Eyring's
    formula (``pyroomacoustics.rt60_eyring`` inverted).

    Eyring, not Sabine (``pyroomacoustics.inverse_sabine``): an image-source shoebox loses
    the share ``absorption`` of its energy at each reflection, which is Eyring's decay;
    Sabine's walls make short RT60s up to 15 % shorter than drawn, and cannot reach some.
    """
    x, y, z = (float(d) for d in size_m)
    volume, surface = x * y * z, 2.0 * (x * y + x * z + y * z)
    return -math.expm1(-24.0 * math.log(10.0) * volume
                       / (SPEED_OF_SOUND * surface * rt60_seconds))


@dataclass(frozen=True)
class RoomConfig:
    """Ranges of the shoebox rooms :func:`draw_room` draws (inclusive ``(min, max)``).

    Attributes:
        length_m, width_m, height_m: room size.
        rt60_seconds: reverberation time.
        wall_margin_m: microphone and source stay this far from every wall.
        min_distance_m: microphone and source stay this far apart.
    """

    length_m: tuple[float, float] = (3.0, 10.0)
    width_m: tuple[float, float] = (3.0, 8.0)
    height_m: tuple[float, float] = (2.4, 4.0)
    rt60_seconds: tuple[float, float] = (0.2, 1.0)
    wall_margin_m: float = 0.5
    min_distance_m: float = 0.5

    def __post_init__(self) -> None:
        checked: dict[str, Any] = {
            key: as_range(getattr(self, key), key, 2.0, 50.0)
            for key in ("length_m", "width_m", "height_m")}
        checked["rt60_seconds"] = as_range(self.rt60_seconds, "rt60_seconds", 0.05, 3.0)
        checked["wall_margin_m"] = as_number(self.wall_margin_m, "wall_margin_m", 0.0, 5.0)
        checked["min_distance_m"] = as_number(self.min_distance_m, "min_distance_m", 0.1, 20.0)
        for key, value in checked.items():
            object.__setattr__(self, key, value)
        smallest = [self.length_m[0], self.width_m[0], self.height_m[0]]
        inner = [d - 2.0 * self.wall_margin_m for d in smallest]
        if min(inner) <= 0.0 or math.hypot(*inner) / 2.0 < self.min_distance_m:
            raise ConfigError("min_distance_m", f"{self.min_distance_m:g} m apart and "
                              f"{self.wall_margin_m:g} m from the walls does not fit the "
                              f"smallest room ({' x '.join(f'{d:g}' for d in smallest)} m)")

    def to_dict(self) -> dict[str, Any]:
        """Plain YAML types: tuples become lists."""
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
                for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, path: str = "") -> RoomConfig:
        """Build from a partial mapping (missing keys keep defaults).

        Raises:
            ConfigError: unknown key, wrong type, out-of-range value or a smallest room that
                cannot hold the margins, with the key path under ``path``.
        """
        data = {} if data is None else check_keys(data, [f.name for f in fields(cls)], path)
        try:
            return cls(**data)
        except ConfigError as exc:
            raise exc.under(path) from None


@dataclass(frozen=True)
class Room:
    """One drawn shoebox room: everything :func:`room_rir` needs, as plain numbers.

    Attributes:
        size_m: (length, width, height).
        rt60_seconds: the reverberation time the walls and the tail are set for.
        microphone_m, source_m: positions (x, y, z) inside the room.
        seed: seed of the diffuse tail's noise.
    """

    size_m: tuple[float, float, float]
    rt60_seconds: float
    microphone_m: tuple[float, float, float]
    source_m: tuple[float, float, float]
    seed: int

    @property
    def distance_m(self) -> float:
        """Source-to-microphone distance."""
        return float(np.linalg.norm(np.subtract(self.source_m, self.microphone_m)))

    def to_dict(self) -> dict[str, Any]:
        return {"size_m": list(self.size_m), "rt60_seconds": self.rt60_seconds,
                "microphone_m": list(self.microphone_m), "source_m": list(self.source_m),
                "seed": self.seed}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Room:
        return cls(size_m=tuple(float(v) for v in data["size_m"]),
                   rt60_seconds=float(data["rt60_seconds"]),
                   microphone_m=tuple(float(v) for v in data["microphone_m"]),
                   source_m=tuple(float(v) for v in data["source_m"]),
                   seed=int(data["seed"]))


def draw_room(rng: np.random.Generator, config: RoomConfig | None = None) -> Room:
    """Draw size and RT60 uniformly in ``config``'s ranges, then the microphone and the source
    uniformly inside the wall margins, redrawing the source while it is too close (after 100
    tries: the inner corner farthest from the microphone, which the config check guarantees
    is far enough)."""
    config = RoomConfig() if config is None else config
    size = np.array([rng.uniform(*config.length_m), rng.uniform(*config.width_m),
                     rng.uniform(*config.height_m)])
    rt60 = float(rng.uniform(*config.rt60_seconds))
    low, high = np.full(3, config.wall_margin_m), size - config.wall_margin_m
    microphone = rng.uniform(low, high)
    for _ in range(100):
        source = rng.uniform(low, high)
        if np.linalg.norm(source - microphone) >= config.min_distance_m:
            break
    else:
        source = np.where(microphone - low > high - microphone, low, high)
    return Room(size_m=tuple(float(v) for v in size), rt60_seconds=rt60,
                microphone_m=tuple(float(v) for v in microphone),
                source_m=tuple(float(v) for v in source), seed=int(rng.integers(2**32)))


def direct_to_reverberant_db(rir: np.ndarray, sample_rate: int,
                             direct_frame: float | None = None) -> float:
    """Energy within :data:`DIRECT_SECONDS` of the direct path over the rest, in dB.

    Args:
        direct_frame: where the direct path arrives (fractional frames); default the
            strongest sample. A simulated room knows it: a direct path between two samples
            can peak lower than a reflection that lands on one.
    """
    h = np.asarray(rir, dtype=np.float64) ** 2
    centre = int(np.argmax(h)) if direct_frame is None else round(direct_frame)
    half = max(1, round(DIRECT_SECONDS * sample_rate))
    direct = float(np.sum(h[max(0, centre - half): centre + half + 1]))
    return 10.0 * math.log10(direct / max(float(np.sum(h)) - direct, 1e-30))


def room_rir(room: Room, sample_rate: int) -> tuple[np.ndarray, dict[str, Any]]:
    """The RIR of ``room`` at ``sample_rate``: image sources, then a seeded diffuse tail (see
    the module docstring), scaled to a peak of 1.

    Returns:
        (rir, params): float32 RIR lasting pyroomacoustics' filter delay (40 samples), the
        direct-path delay and the RT60; what describes it as plain JSON types: ``rir``
        ("pyroomacoustics"), the room's fields, ``distance_m``, wall ``absorption``,
        image-source ``max_order`` and the measured ``drr_db``.
    """
    import pyroomacoustics as pra

    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    absorption = eyring_absorption(room.size_m, room.rt60_seconds)
    direct = room.distance_m / SPEED_OF_SOUND
    # Any image of order n lies at least min(size) * (n - 2) / sqrt(3) away.
    reach = SPEED_OF_SOUND * (direct + IMAGE_SOURCE_SECONDS)
    order = min(MAX_ORDER, math.ceil(math.sqrt(3.0) * reach / min(room.size_m)) + 2)
    split_seconds = min(direct + IMAGE_SOURCE_SECONDS,
                        min(room.size_m) * (order - 2) / (math.sqrt(3.0) * SPEED_OF_SOUND))
    shoebox = pra.ShoeBox(list(room.size_m), fs=sample_rate,
                          materials=pra.Material(absorption), max_order=order,
                          air_absorption=False, ray_tracing=False)
    shoebox.add_source(list(room.source_m))
    shoebox.add_microphone(np.array(room.microphone_m, dtype=float)[:, None])
    shoebox.compute_rir()
    delay = pra.constants.get("frac_delay_length") // 2  # pyroomacoustics' filter delay
    split = delay + round(split_seconds * sample_rate)
    early = np.asarray(shoebox.rir[0][0], dtype=np.float64)[:split]
    early = np.pad(early, (0, split - len(early)))
    total = max(split + 1, delay + round((direct + room.rt60_seconds) * sample_rate))
    decay = 3.0 * math.log(10.0) / room.rt60_seconds  # amplitude falls 60 dB per RT60
    window = max(1, round(_MATCH_SECONDS * sample_rate))
    growth = np.exp(2.0 * decay * np.arange(1, window + 1) / sample_rate)
    level = math.sqrt(float(np.sum(early[-window:] ** 2)) / float(np.sum(growth)))
    noise = np.random.default_rng(room.seed).standard_normal(total - split)
    tail = level * noise * np.exp(-decay * np.arange(total - split) / sample_rate)
    rir = np.concatenate([early, tail])
    rir /= np.max(np.abs(rir))
    params = {"rir": "pyroomacoustics", **room.to_dict(), "distance_m": room.distance_m,
              "absorption": absorption, "max_order": order,
              "drr_db": direct_to_reverberant_db(rir, sample_rate,
                                                 delay + direct * sample_rate)}
    return rir.astype(np.float32), params


def shoebox_rir(sample_rate: int, rng: np.random.Generator, config: RoomConfig | None = None
                ) -> tuple[np.ndarray, dict[str, Any]]:
    """Draw a room from ``rng`` and simulate its RIR: :func:`draw_room` then
    :func:`room_rir`."""
    return room_rir(draw_room(rng, config), sample_rate)


__all__ = ["IMAGE_SOURCE_SECONDS", "MAX_ORDER", "SPEED_OF_SOUND", "Room", "RoomConfig",
           "direct_to_reverberant_db", "draw_room", "eyring_absorption", "room_rir",
           "shoebox_rir"]
