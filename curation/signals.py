"""Signal measurements of one clip that need no learnt model: effective bandwidth, speech
activity (WebRTC VAD), WADA-SNR, clipping and level.

Each is a pure function of a mono float waveform in [-1, 1] and its rate.
"""

from __future__ import annotations

import functools

import numpy as np

from audio.resample import URGENT_SAMPLE_RATES, resample

#: The URGENT scripts' bandwidth estimate (``utils/estimate_audio_bandwidth.py``): a Hann STFT
#: of 512 points with hop 256 at 16 kHz, scaled with the rate (32 ms / 16 ms), power averaged
#: over all frames, and the highest frequency bin whose mean power is above the peak bin's
#: minus 50 dB. One difference: see :func:`effective_bandwidth_hz`.
BANDWIDTH_THRESHOLD_DB = -50.0
BANDWIDTH_WINDOW_SECONDS = 512 / 16_000
BANDWIDTH_HOP_SECONDS = 256 / 16_000

#: WebRTC VAD as the URGENT 2025 filter runs it: aggressiveness 2, 30 ms frames at 16 kHz.
VAD_MODE = 2
VAD_RATE = 16_000
VAD_FRAME_SECONDS = 0.03

#: A sample within this share of the signal's range from its maximum (or minimum) counts as
#: sitting on a clipping plateau.
CLIP_TOLERANCE = 1e-3


def effective_bandwidth_hz(samples: np.ndarray, sample_rate: int, *,
                           threshold_db: float = BANDWIDTH_THRESHOLD_DB) -> float:
    """Highest frequency (Hz) where the long-term power spectrum is within ``threshold_db``
    of its peak (the URGENT challenge's estimate; see :data:`BANDWIDTH_THRESHOLD_DB`)."""
    n_fft = int(BANDWIDTH_WINDOW_SECONDS * sample_rate)
    hop = int(BANDWIDTH_HOP_SECONDS * sample_rate)
    x = np.asarray(samples, dtype=np.float64)
    # Frames lie inside the signal. (torch.stft's default, which the challenge script uses,
    # pads the ends by reflection; on a clip that starts or ends loud that adds broadband
    # leakage near -40 dB, enough to hide a 4 kHz band limit in a 2 s clip.)
    if x.shape[0] < n_fft:
        x = np.pad(x, (0, n_fft - x.shape[0]))
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop]
    power = np.abs(np.fft.rfft(frames * np.hanning(n_fft + 1)[:-1], axis=1)) ** 2
    mean_power = power.mean(axis=0)
    freqs = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
    above = np.nonzero(mean_power > mean_power.max() * 10 ** (threshold_db / 10))[0]
    return float(freqs[above[-1]]) if above.size else 0.0


def bandwidth_rate(bandwidth_hz: float, sample_rate: int) -> int:
    """The rate a file is resampled to, as the URGENT scripts do
    (``resample_to_estimated_bandwidth.py``): the lowest URGENT rate of at least twice the
    bandwidth (48 kHz if none), never above the file's own rate."""
    target = next((r for r in URGENT_SAMPLE_RATES if 2 * bandwidth_hz <= r),
                  URGENT_SAMPLE_RATES[-1])
    return int(min(target, sample_rate))


def speech_ratio(samples: np.ndarray, sample_rate: int, *, mode: int = VAD_MODE) -> float:
    """Share of 30 ms frames that WebRTC's VAD (``webrtcvad-wheels``) calls speech, at
    16 kHz."""
    import webrtcvad

    x = samples if sample_rate == VAD_RATE else resample(samples, sample_rate, VAD_RATE)
    pcm = (np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2")
    size = int(VAD_RATE * VAD_FRAME_SECONDS)
    count = pcm.shape[0] // size
    if count == 0:
        raise ValueError("shorter than one 30 ms VAD frame")
    vad = webrtcvad.Vad(mode)
    data = pcm[: count * size].reshape(count, size)
    voiced = sum(vad.is_speech(frame.tobytes(), VAD_RATE) for frame in data)
    return voiced / count


#: WADA-SNR's model (Kim & Stern, Interspeech 2008): speech amplitudes Gamma-distributed with
#: shape 0.4, noise Gaussian; the SNR is read off a curve of G = log E|x| - E log|x|.
WADA_SPEECH_SHAPE = 0.4
WADA_SNRS_DB = np.arange(-20.0, 101.0, 1.0)


@functools.cache
def _wada_curve() -> np.ndarray:
    """G at each SNR of :data:`WADA_SNRS_DB`, by simulation of the model (fixed seed, so the
    curve and every estimate are reproducible)."""
    rng = np.random.default_rng(20080922)
    n = 400_000
    speech = rng.gamma(WADA_SPEECH_SHAPE, 1.0, n) * rng.choice([-1.0, 1.0], n)
    speech /= np.sqrt(np.mean(speech ** 2))
    noise = rng.standard_normal(n)
    curve = []
    for snr in WADA_SNRS_DB:
        x = np.abs(speech + noise * 10 ** (-snr / 20))
        x = np.maximum(x, 1e-20)
        curve.append(np.log(x.mean()) - np.log(x).mean())
    return np.maximum.accumulate(np.asarray(curve))


def wada_snr_db(samples: np.ndarray) -> float:
    """Waveform-amplitude-distribution SNR estimate in dB (clipped to -20..100)."""
    x = np.abs(np.asarray(samples, dtype=np.float64))
    peak = x.max()
    if peak <= 0:
        raise ValueError("the audio is silent")
    x = np.maximum(x / peak, 1e-10)
    g = np.log(x.mean()) - np.log(x).mean()
    return float(np.interp(g, _wada_curve(), WADA_SNRS_DB))


def clipping_ratio(samples: np.ndarray) -> float:
    """Share of samples on the positive or negative plateau of the waveform (within
    :data:`CLIP_TOLERANCE` of its range from the maximum or minimum). Clean speech has a
    handful of such samples; clipped speech a few percent or more."""
    x = np.asarray(samples, dtype=np.float64)
    hi, lo = x.max(), x.min()
    tol = CLIP_TOLERANCE * (hi - lo)
    if tol <= 0:
        return 1.0
    return float((np.count_nonzero(x >= hi - tol) + np.count_nonzero(x <= lo + tol))
                 / x.shape[0])


def levels_dbfs(samples: np.ndarray) -> tuple[float, float]:
    """(RMS level, peak level) in dB relative to full scale."""
    x = np.asarray(samples, dtype=np.float64)
    rms = np.sqrt(np.mean(x ** 2))
    peak = np.max(np.abs(x))
    return (float(20 * np.log10(max(rms, 1e-12))), float(20 * np.log10(max(peak, 1e-12))))
