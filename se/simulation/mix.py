"""One URGENT-style mixture from the pools, and its exact rebuild from a record.

Each mixture has one integer seed. ``[seed, 0]`` picks its sources (speech item and offset,
noise item or kind and offset, RIR), ``[seed, 1]`` generates a synthetic noise,
``[seed, 2]`` drives :func:`audio.degrade.simulate`, ``[seed, 3]`` draws a pyroomacoustics
room (``sources.synthetic.rooms``) and ``[seed, 4]`` the speech category and utterance when
the pool is split into categories. The record keeps the picks and the room, so
:func:`rebuild` needs neither the pools nor the ``[seed, 0]`` / ``[seed, 3]`` draws.
"""

from __future__ import annotations

import functools

import numpy as np

from audio.degrade import simulate
from audio.degrade_config import DegradationConfig
from audio.rooms import Room, draw_room, room_rir
from se.simulation.categories import draw_name
from se.simulation.config import SimulationConfig
from se.simulation.manifest import MixtureRecord, NoiseItem, RirItem
from se.simulation.sources import Pools, load_item, make_noise, native_frames


def mixture_seed(*parts: int) -> int:
    """A 63-bit seed from integers (root seed, purpose, rate or epoch, index)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1, np.uint64)[0]
               >> np.uint64(1))


def _pick_speech(pools: Pools, seed: int, category: str | None) -> int | None:
    """Index of the utterance of a categorised pool: ``category`` (else one drawn by the
    weights), then one of its utterances; None for a pool without categories."""
    if pools.category_weights is None:
        return None
    rng = np.random.default_rng([seed, 4])
    if category is None:
        category = draw_name(pools.category_weights, rng)
    choices = pools.category_items(category)
    if not choices:
        raise ValueError(f"the speech pool has no utterance of category {category!r}")
    return choices[int(rng.integers(len(choices)))]


def _pick(config: SimulationConfig, pools: Pools, mixture_id: str, sample_rate: int,
          seed: int, category: str | None = None) -> MixtureRecord:
    """Draw the sources of one mixture (no audio processing beyond reading lengths)."""
    rng = np.random.default_rng([seed, 0])
    speech = pools.speech[int(rng.integers(len(pools.speech)))]
    picked = _pick_speech(pools, seed, category)
    if picked is not None:
        speech = pools.speech[picked]
    total = native_frames(speech, sample_rate)
    num_frames = min(total, round(config.max_seconds * sample_rate))
    speech_offset = int(rng.integers(total - num_frames + 1))
    noise_offset = 0
    if pools.noise is not None:
        noise = pools.noise[int(rng.integers(len(pools.noise)))]
        noise_offset = int(rng.integers(max(1, native_frames(noise, sample_rate))))
    else:
        syn = config.sources.synthetic
        kind = str(syn.noise_kinds[int(rng.integers(len(syn.noise_kinds)))])
        talkers = ()
        if kind == "speech_babble":
            count = int(rng.integers(syn.babble_talkers[0], syn.babble_talkers[1] + 1))
            picks = rng.choice(len(pools.speech), size=min(count, len(pools.speech)),
                               replace=False)
            talkers = tuple(pools.speech[int(i)] for i in picks)
        noise = NoiseItem(id=f"synthetic_{kind}", kind=kind, talkers=talkers)
    rir = None if pools.rir is None else pools.rir[int(rng.integers(len(pools.rir)))]
    if rir is None and config.sources.synthetic.rooms == "pyroomacoustics":
        room = draw_room(np.random.default_rng([seed, 3]), config.sources.synthetic.room)
        rir = RirItem(id="shoebox", room=room.to_dict())
    return MixtureRecord(id=mixture_id, sample_rate=sample_rate, num_frames=num_frames,
                         seed=seed, speech=speech, speech_offset_frames=speech_offset,
                         noise=noise, noise_offset_frames=noise_offset, rir=rir,
                         degradation=config.degradation.to_dict())


def render(record: MixtureRecord) -> tuple[np.ndarray, np.ndarray, MixtureRecord]:
    """Make the audio of a record whose sources are picked; fill in its ``params``.

    Returns:
        (noisy, clean, record): float32 arrays of shape (record.num_frames,).
    """
    rate, n = record.sample_rate, record.num_frames
    speech = load_item(record.speech, rate)[
        record.speech_offset_frames: record.speech_offset_frames + n]
    noise, noise_params = None, None
    if record.noise is not None:
        noise, noise_params = make_noise(record.noise, n, rate, record.noise_offset_frames,
                                         np.random.default_rng([record.seed, 1]))
    rir = None
    if record.rir is not None and record.rir.room is not None:
        # simulated only if reverb is drawn
        rir = functools.partial(room_rir, Room.from_dict(record.rir.room), rate)
    elif record.rir is not None:
        rir = load_item(record.rir, rate)
    config = DegradationConfig.from_dict(record.degradation, "degradation")
    noisy, clean, params = simulate(speech, rate, np.random.default_rng([record.seed, 2]),
                                    config, noise, rir)
    if "reverb" in params and record.rir is not None:
        params["reverb"]["rir_id"] = record.rir.id
    if "noise" in params and params["noise"].get("kind") == "given":
        params["noise"] = {**params["noise"], "source": noise_params}
    done = MixtureRecord(**{**record.__dict__, "params": params})
    return noisy, clean, done


def make_mixture(config: SimulationConfig, pools: Pools, mixture_id: str, sample_rate: int,
                 seed: int, category: str | None = None
                 ) -> tuple[np.ndarray, np.ndarray, MixtureRecord]:
    """Draw and render one mixture: (noisy, clean, record), same length, at ``sample_rate``.

    Args:
        category: the speech category to use (a categorised pool only); None draws one by
            the config's weights.
    """
    return render(_pick(config, pools, mixture_id, sample_rate, seed, category))


#: ``params`` key of the gain ``se.simulate`` applied to both files of a pair (absent: 1).
FILE_GAIN = "file_gain"


def rebuild(record: MixtureRecord) -> tuple[np.ndarray, np.ndarray]:
    """The (noisy, clean) pair of a record, sample for sample as first made (same software
    versions: numpy's generators, soxr, libsndfile codecs and espeak-ng), with the file gain
    ``se.simulate`` recorded applied.

    Raises:
        RuntimeError: the drawn parameters differ from the record's (a version changed).
    """
    noisy, clean, again = render(record)
    drawn = {k: v for k, v in record.params.items() if k != FILE_GAIN}
    if drawn and again.params != drawn:
        raise RuntimeError(f"{record.id}: rebuilt parameters differ from the record's")
    gain = float(record.params.get(FILE_GAIN, 1.0))
    return noisy * np.float32(gain), clean * np.float32(gain)


def file_gain(noisy: np.ndarray, clean: np.ndarray, peak: float) -> float:
    """The gain that keeps both signals of a pair inside 16-bit full scale.

    The pair is scaled to bring the degraded peak to ``peak``; after clipping or a codec
    the clean target can peak higher than the degraded signal (up to several times), and
    writing it as is would clip it. 1.0 whenever both already fit.
    """
    highest = max(float(np.max(np.abs(noisy), initial=0.0)),
                  float(np.max(np.abs(clean), initial=0.0)))
    return 1.0 if highest <= 1.0 else peak / highest
