"""Seeded, composable degradations following the URGENT 2026 Track 1 simulation.

Each function takes a float32 mono waveform of shape (frames,) and its sampling rate and
returns a NEW array of the same length at the same rate, so degradations chain freely and a
clean reference stays untouched. Randomness only comes from an explicit
``np.random.Generator``; whatever is drawn is returned as a dict of plain JSON types, so a
mixture can be described in a manifest and rebuilt exactly.

:func:`simulate` chains them in the challenge's order: reverb -> noise -> 0..3 extra
distortions -> peak normalisation to 0.9.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import numpy as np
import soundfile as sf
from scipy import signal

from audio.degrade_config import (
    BANDWIDTH_METHODS,
    CODECS,
    DISTORTIONS,
    EXTRA_DISTORTIONS,
    DegradationConfig,
)
from audio.io import OPUS_SAMPLE_RATES, encode_audio
from audio.noise import generate_noise
from audio.resample import URGENT_SAMPLE_RATES, resample

_CODEC_SUFFIX = {"mp3": ".mp3", "vorbis": ".ogg", "opus": ".opus"}
#: Part of the RIR after the direct path that the URGENT clean target keeps.
EARLY_REFLECTION_SECONDS = 0.05


def _mono(x: np.ndarray) -> np.ndarray:
    data = np.asarray(x, dtype=np.float32)
    if data.ndim != 1 or data.size == 0:
        raise ValueError(f"expected a non-empty mono waveform of shape (frames,), got {data.shape}")
    return data


def _fit_length(y: np.ndarray, num_frames: int) -> np.ndarray:
    """Crop or zero-pad at the end; resampling round trips and codecs may change length by a few
    samples."""
    y = np.asarray(y, dtype=np.float32)[:num_frames]
    return np.pad(y, (0, num_frames - len(y))) if len(y) < num_frames else y.copy()


def highpass(x: np.ndarray, sample_rate: int, cutoff_hz: float = 70.0, order: int = 4
             ) -> np.ndarray:
    """Butterworth high-pass run forwards and backwards: zero phase, so the clean target is not
    delayed against what is derived from it (the magnitude is squared: -6 dB at the cutoff).

    URGENT high-passes clean speech to drop rumble no enhancement system should be asked to keep.
    """
    sos = signal.butter(order, cutoff_hz, btype="highpass", fs=sample_rate, output="sos")
    return signal.sosfiltfilt(sos, _mono(x)).astype(np.float32)


def speech_activity(x: np.ndarray, sample_rate: int, *, threshold_db: float = -40.0,
                    frame_seconds: float = 0.02) -> np.ndarray:
    """Per-sample mask of active frames: 20 ms frames whose mean power is within
    ``threshold_db`` of the loudest frame's (relative to the max, so gain does not matter).

    Pauses would otherwise dilute speech power and make a requested SNR too easy.
    """
    x = _mono(x)
    frame = max(1, round(frame_seconds * sample_rate))
    padded = np.pad(x.astype(np.float64), (0, -len(x) % frame))
    power = np.mean(padded.reshape(-1, frame) ** 2, axis=1)
    active = power > power.max() * 10.0 ** (threshold_db / 10.0)
    return np.repeat(active, frame)[: len(x)]


def add_noise(speech: np.ndarray, noise: np.ndarray, snr_db: float, sample_rate: int
              ) -> tuple[np.ndarray, np.ndarray]:
    """Mix ``noise`` into ``speech`` at ``snr_db``.

    Speech power is taken over :func:`speech_activity` frames only (as URGENT does); noise
    power over the whole tiled/cropped noise. Noise shorter than the speech is repeated.

    Returns:
        (mixture, scaled_noise), both of the speech's length.
    """
    speech, noise = _mono(speech), _mono(noise)
    noise = np.tile(noise, -(-len(speech) // len(noise)))[: len(speech)]
    speech_power = float(np.mean(speech[speech_activity(speech, sample_rate)] ** 2))
    noise_power = float(np.mean(noise.astype(np.float64) ** 2))
    if speech_power == 0.0 or noise_power == 0.0:
        raise ValueError("cannot set an SNR with silent speech or silent noise")
    gain = np.sqrt(speech_power / (noise_power * 10.0 ** (snr_db / 10.0)))
    scaled = (noise * gain).astype(np.float32)
    return speech + scaled, scaled


def synthetic_rir(sample_rate: int, rt60_seconds: float, rng: np.random.Generator, *,
                  drr_db: float = 3.0, delay_seconds: float = 0.0025) -> np.ndarray:
    """A room impulse response: a unit direct-path peak followed by exponentially decaying
    Gaussian noise that falls 60 dB in ``rt60_seconds`` (no room geometry; for simulated
    shoebox rooms see :mod:`audio.rooms`).

    Args:
        drr_db: direct-to-reverberant energy ratio; lower sounds farther away.
        delay_seconds: propagation delay before the direct path.

    Returns:
        float32 array of ``delay + rt60`` seconds.
    """
    if rt60_seconds <= 0:
        raise ValueError(f"rt60_seconds must be positive, got {rt60_seconds}")
    onset = round(delay_seconds * sample_rate)
    t = np.arange(1, round(rt60_seconds * sample_rate)) / sample_rate
    tail = rng.standard_normal(len(t)) * np.exp(-3.0 * np.log(10.0) * t / rt60_seconds)
    tail *= np.sqrt(1.0 / (10.0 ** (drr_db / 10.0) * np.sum(tail**2)))
    return np.concatenate([np.zeros(onset), [1.0], tail]).astype(np.float32)


def reverberate(x: np.ndarray, rir: np.ndarray, sample_rate: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Convolve with ``rir``; also return the URGENT target, ``x`` convolved with the RIR's
    first 50 ms after its onset (the strongest sample, taken as the direct path).

    Both outputs are shifted by the onset and cut to the input length, so they stay
    time-aligned with the dry input.
    """
    x, rir = _mono(x), _mono(rir)
    onset = int(np.argmax(np.abs(rir)))
    early = rir[: onset + round(EARLY_REFLECTION_SECONDS * sample_rate)]
    out = [signal.fftconvolve(x, h)[onset: onset + len(x)] for h in (rir, early)]
    return _fit_length(out[0], len(x)), _fit_length(out[1], len(x))


def bandwidth_limit(x: np.ndarray, sample_rate: int, cutoff_rate: int,
                    method: str = "soxr_hq") -> np.ndarray:
    """Resample down to ``cutoff_rate`` and back, removing content above ``cutoff_rate / 2``.

    Args:
        method: one of :data:`BANDWIDTH_METHODS`: soxr at a quality (``soxr_lq`` has the
            widest transition band), scipy ``polyphase`` (Kaiser FIR, gentle roll-off) or
            ``fft`` (brick wall).
    """
    x = _mono(x)
    if not 0 < cutoff_rate < sample_rate:
        raise ValueError(f"cutoff_rate must be below {sample_rate} Hz, got {cutoff_rate}")
    if method.startswith("soxr_") and method in BANDWIDTH_METHODS:
        quality = method.removeprefix("soxr_").upper()
        low = resample(x, sample_rate, cutoff_rate, quality=quality)
        return _fit_length(resample(low, cutoff_rate, sample_rate, quality=quality), len(x))
    if method == "polyphase":
        g = np.gcd(sample_rate, cutoff_rate)
        low = signal.resample_poly(x, cutoff_rate // g, sample_rate // g)
        return _fit_length(signal.resample_poly(low, sample_rate // g, cutoff_rate // g), len(x))
    if method == "fft":
        low = signal.resample(x, round(len(x) * cutoff_rate / sample_rate))
        return _fit_length(signal.resample(low, len(x)), len(x))
    raise ValueError(f"unknown bandwidth method {method!r}; use one of {BANDWIDTH_METHODS}")


def clip(x: np.ndarray, low_quantile: float, high_quantile: float) -> np.ndarray:
    """Clip to the signal's own ``low_quantile`` and ``high_quantile`` values (URGENT draws
    them from 0..0.1 and 0.9..1.0), so the severity does not depend on the level."""
    x = _mono(x)
    if not 0.0 <= low_quantile < high_quantile <= 1.0:
        raise ValueError(f"need 0 <= low < high <= 1, got {low_quantile}, {high_quantile}")
    low, high = np.quantile(x, [low_quantile, high_quantile])
    return np.clip(x, low, high).astype(np.float32)


def _compression_level(codec_name: str, quality: int) -> float:
    """Map the encoders' own quality scales to libsndfile's compression level (0 best, 1 worst).

    MP3 quality is LAME's VBR ``-V`` (0 best .. 9 worst; libsndfile refuses level 1.0).
    Vorbis and Opus quality follow oggenc's ``-q`` (-1 worst .. 9 here best), spread linearly.
    """
    if codec_name == "mp3" and 0 <= quality <= 9:
        return quality / 10.0
    if codec_name in ("vorbis", "opus") and -1 <= quality <= 9:
        return (9 - quality) / 10.0
    raise ValueError(f"quality {quality} is out of range for {codec_name!r} "
                     "(mp3: 0..9, vorbis/opus: -1..9)")


def codec(x: np.ndarray, sample_rate: int, codec: str, quality: int) -> np.ndarray:
    """Encode and decode with MP3, Ogg Vorbis or Opus (libsndfile, through soundfile).

    Opus only runs at 8/12/16/24/48 kHz, so other rates go to the next higher one and back,
    which adds no band limitation of its own. Louder-than-full-scale input is scaled into
    [-1, 1] and back, so the codec adds no clipping. libsndfile removes the encoders' delay
    and padding (tests check the alignment), so only the length is fixed here.
    """
    x = _mono(x)
    if codec not in CODECS:
        raise ValueError(f"unknown codec {codec!r}; use one of {CODECS}")
    level = _compression_level(codec, quality)
    rate = sample_rate
    if codec == "opus" and sample_rate not in OPUS_SAMPLE_RATES:
        rate = min((r for r in OPUS_SAMPLE_RATES if r >= sample_rate), default=48_000)
    gain = max(1.0, float(np.max(np.abs(x))))
    data = encode_audio(resample(x / gain, sample_rate, rate), rate, _CODEC_SUFFIX[codec],
                        compression_level=level)
    decoded, _ = sf.read(io.BytesIO(data), dtype="float32")
    return _fit_length(resample(decoded, rate, sample_rate) * gain, len(x))


def packet_loss(x: np.ndarray, sample_rate: int, rng: np.random.Generator, loss_rate: float,
                max_burst: int = 9, packet_seconds: float = 0.02) -> tuple[np.ndarray, dict]:
    """Zero out ``round(loss_rate * packets)`` packets, in bursts of 1..``max_burst`` packets,
    as a VoIP link without concealment would.

    Returns:
        (output, params) with ``lost_packets``, the sorted indices of the zeroed packets.
    """
    x = _mono(x)
    if not 0.0 <= loss_rate <= 1.0 or max_burst < 1:
        raise ValueError(f"need 0 <= loss_rate <= 1 and max_burst >= 1, got {loss_rate}, "
                         f"{max_burst}")
    packet = max(1, round(packet_seconds * sample_rate))
    n_packets = -(-len(x) // packet)
    target = round(loss_rate * n_packets)
    lost = np.zeros(n_packets, dtype=bool)
    while lost.sum() < target:
        start = int(rng.choice(np.flatnonzero(~lost)))
        burst = min(int(rng.integers(1, max_burst + 1)), target - int(lost.sum()))
        lost[start: start + burst] = True
    y = x.copy()
    y[np.repeat(lost, packet)[: len(x)]] = 0.0
    return y, {"loss_rate": float(loss_rate), "max_burst": int(max_burst),
               "packet_seconds": float(packet_seconds),
               "lost_packets": [int(i) for i in np.flatnonzero(lost)]}


def peak_normalise(x: np.ndarray, peak: float = 0.9) -> np.ndarray:
    """Scale so the largest magnitude is ``peak``; silence is returned unchanged."""
    x = _mono(x)
    top = float(np.max(np.abs(x)))
    return x.copy() if top == 0.0 else (x * (peak / top)).astype(np.float32)


#: URGENT 2026 Track 1 settings, the default of :func:`simulate`.
DEFAULT_CONFIG = DegradationConfig()


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def _draw_distortions(sample_rate: int, rng: np.random.Generator,
                      config: DegradationConfig) -> list[str]:
    """URGENT's draw: reverb with its probability, noise (always, unless the config's
    ``noise_probability`` is below 1), then 0..3 distinct extras (bandwidth limitation only
    where a lower URGENT rate exists)."""
    chosen = ["reverb"] if rng.random() < config.reverb_probability else []
    # no draw at probability 1: URGENT-default streams stay as they were
    if config.noise_probability >= 1.0 or rng.random() < config.noise_probability:
        chosen.append("noise")
    extras = [d for d in config.extra_distortions
              if d != "bandwidth" or sample_rate > min(URGENT_SAMPLE_RATES)]
    count = int(rng.choice(len(config.extra_count_probabilities),
                           p=config.extra_count_probabilities))
    picked = rng.choice(extras, size=min(count, len(extras)), replace=False)
    return [*chosen, *(str(d) for d in picked)]


def _extra(name: str, x: np.ndarray, sample_rate: int, rng: np.random.Generator,
           config: DegradationConfig) -> tuple[np.ndarray, dict]:
    """Apply one extra distortion with parameters drawn from ``config``."""
    if name == "bandwidth":
        lower = [r for r in URGENT_SAMPLE_RATES if r < sample_rate]
        if not lower:
            raise ValueError(f"no URGENT rate below {sample_rate} Hz to limit the bandwidth to")
        rate, method = int(rng.choice(lower)), str(rng.choice(config.bandwidth_methods))
        return bandwidth_limit(x, sample_rate, rate, method), {"cutoff_rate": rate,
                                                               "method": method}
    if name == "clipping":
        low = _uniform(rng, config.clip_low_quantile)
        high = _uniform(rng, config.clip_high_quantile)
        return clip(x, low, high), {"low_quantile": low, "high_quantile": high}
    if name == "codec":
        kind = str(rng.choice(config.codecs))
        bounds = config.mp3_quality if kind == "mp3" else config.ogg_quality
        quality = int(rng.integers(bounds[0], bounds[1] + 1))
        return codec(x, sample_rate, kind, quality), {"codec": kind, "quality": quality}
    if name == "packet_loss":
        return packet_loss(x, sample_rate, rng, _uniform(rng, config.packet_loss_rate),
                           config.max_burst, config.packet_seconds)
    raise ValueError(f"unknown distortion {name!r}; use one of {DISTORTIONS}")


def simulate(clean: np.ndarray, sample_rate: int, rng: np.random.Generator,
             config: DegradationConfig = DEFAULT_CONFIG, noise: np.ndarray | None = None,
             rir: np.ndarray | Callable[[], tuple[np.ndarray, dict]] | None = None, *,
             distortions: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """Make one URGENT-style training pair from clean speech.

    Order: 70 Hz high-pass -> reverb -> noise -> extra distortions (in drawn order) -> both
    signals scaled by the one factor that brings the degraded peak to ``config.peak``.

    Args:
        clean: clean speech, shape (frames,).
        noise, rir: recorded noise / RIR to use when noise / reverb is applied; synthetic
            ones are generated otherwise. They do not force the step to happen. ``rir`` may
            also be a function returning ``(rir, params)`` (a simulated room, see
            :mod:`audio.rooms`), called only when reverb is applied; its params are recorded.
        distortions: names from :data:`DISTORTIONS` to apply instead of drawing them
            (for controlled test sets); reverb and noise still come first.

    Returns:
        (degraded, target, params): the target is the high-passed clean speech (convolved
        with the early RIR when reverberant); ``params`` holds ``distortions`` (applied
        order) and, per applied distortion, every drawn value, as plain JSON types.
    """
    x = _mono(clean)
    if config.highpass_hz is not None:
        x = highpass(x, sample_rate, config.highpass_hz)
    if distortions is None:
        names = _draw_distortions(sample_rate, rng, config)
    elif set(distortions) <= set(DISTORTIONS) and len(set(distortions)) == len(distortions):
        names = [*(d for d in ("reverb", "noise") if d in distortions),
                 *(d for d in distortions if d in EXTRA_DISTORTIONS)]
    else:
        raise ValueError(f"distortions must be distinct names from {DISTORTIONS}, "
                         f"got {list(distortions)}")
    params: dict = {"distortions": names, "highpass_hz": config.highpass_hz}
    target = x.copy()
    if "reverb" in names:
        if rir is None:
            rt60, drr = _uniform(rng, config.rt60_seconds), _uniform(rng, config.drr_db)
            rir = synthetic_rir(sample_rate, rt60, rng, drr_db=drr)
            params["reverb"] = {"rir": "synthetic", "rt60_seconds": rt60, "drr_db": drr}
        elif callable(rir):
            rir, params["reverb"] = rir()
        else:
            params["reverb"] = {"rir": "given"}
        x, target = reverberate(x, rir, sample_rate)
    if "noise" in names:
        wind = rng.random() < config.wind_probability
        snr = _uniform(rng, config.wind_snr_db if wind else config.snr_db)
        if wind or noise is None:
            kind = "wind" if wind else str(rng.choice(config.noise_kinds))
            chosen, noise_params = generate_noise(kind, len(x), sample_rate, rng)
        else:
            chosen, noise_params = noise, {"kind": "given"}
        x, _ = add_noise(x, chosen, snr, sample_rate)
        params["noise"] = {**noise_params, "snr_db": snr}
    for name in names[names.count("reverb") + names.count("noise"):]:
        x, params[name] = _extra(name, x, sample_rate, rng, config)
    scale = config.peak / max(float(np.max(np.abs(x))), 1e-12)
    params["scale"] = scale
    return (x * scale).astype(np.float32), (target * scale).astype(np.float32), params
