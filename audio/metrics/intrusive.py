"""Intrusive metrics: the estimate is compared with the clean reference, sample for sample.

Definitions follow the URGENT challenge's evaluation scripts (2024-2026), so numbers here
can be set beside published ones: PESQ and ESTOI call the reference packages; SDR is
BSS-eval's with a 512-tap distortion filter (as ``fast_bss_eval`` computes it, whose numpy
path fails under numpy 2); LSD and MCD follow the URGENT 2025 definitions (MCD's SPTK
mel-cepstral analysis written on arrays of frames, :mod:`audio.metrics.mel_cepstrum`).
"""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pesq as pesq_package
from pystoi import stoi
from scipy import linalg, signal

from audio.metrics.inputs import check_pair
from audio.metrics.mel_cepstrum import mel_cepstrum
from audio.metrics.reuse import at_rate, by_content

#: PESQ's C code keeps state in static variables; its wrapper holds the GIL today, and this
#: lock keeps concurrent scoring threads safe should that change.
_PESQ_LOCK = threading.Lock()

#: Mel-cepstrum order and all-pass constant per rate, as in the URGENT/ESPnet MCD script.
MCEP_PARAMS: dict[int, tuple[int, float]] = {
    8_000: (13, 0.41), 16_000: (23, 0.42), 22_050: (34, 0.45), 24_000: (34, 0.46),
    32_000: (36, 0.49), 44_100: (39, 0.53), 48_000: (39, 0.55),
}


def pesq(estimate: np.ndarray, reference: np.ndarray, *, sample_rate: int) -> float:
    """ITU-T P.862 PESQ (MOS-LQO, -0.5..4.5, higher is better).

    Wide-band (P.862.2) at 16 kHz, higher rates resampled to 16 kHz (soxr HQ, as URGENT);
    narrow-band at 8 kHz.

    Raises:
        ValueError: bad inputs, a rate between 8 and 16 kHz, or no speech found.
    """
    est, ref = check_pair(estimate, reference, sample_rate)
    if sample_rate == 8_000:
        mode, rate = "nb", 8_000
    elif sample_rate >= 16_000:
        mode, rate = "wb", 16_000
        est, ref = at_rate(est, sample_rate, rate), at_rate(ref, sample_rate, rate)
    else:
        raise ValueError(f"PESQ needs 8000 Hz (narrow-band) or at least 16000 Hz "
                         f"(wide-band), got {sample_rate} Hz")
    try:
        with _PESQ_LOCK:
            return float(pesq_package.pesq(rate, ref, est, mode))
    except pesq_package.PesqError as exc:
        message = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(f"PESQ: {message}") from exc


def estoi(estimate: np.ndarray, reference: np.ndarray, *, sample_rate: int) -> float:
    """Extended STOI (0..1, higher is better) through ``pystoi``.

    Raises:
        ValueError: bad inputs, or too little speech left after pystoi removes silent
            frames (pystoi would return 1e-5 with a warning, a fake score).
    """
    est, ref = check_pair(estimate, reference, sample_rate)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = float(stoi(ref, est, sample_rate, extended=True))
    if any("Not enough STFT frames" in str(w.message) for w in caught):
        raise ValueError("ESTOI: too little speech in the reference (fewer than 30 frames "
                         "after silent frames are removed)")
    return value


def si_sdr(estimate: np.ndarray, reference: np.ndarray, *, sample_rate: int) -> float:
    """Scale-invariant SDR in dB (Le Roux et al. 2019; zero-mean signals), higher is better.

    Bounded to ±100 dB so that an exact scaled copy gives a number, not infinity.
    """
    est, ref = (x.astype(np.float64) for x in check_pair(estimate, reference, sample_rate))
    est, ref = est - est.mean(), ref - ref.mean()
    target = (np.dot(est, ref) / np.dot(ref, ref)) * ref
    noise = est - target
    t_energy, n_energy = float(np.dot(target, target)), float(np.dot(noise, noise))
    return float(10.0 * np.log10(max(t_energy, 1e-10 * n_energy)
                                 / max(n_energy, 1e-10 * t_energy)))


def sdr(estimate: np.ndarray, reference: np.ndarray, *, sample_rate: int,
        filter_length: int = 512, clamp_db: float = 50.0) -> float:
    """BSS-eval SDR in dB: the reference may pass a ``filter_length``-tap filter before
    what remains of the estimate counts as distortion. Higher is better.

    Computed like ``fast_bss_eval.bss_eval_sources`` (URGENT 2025/2026: clamped to
    ±``clamp_db``): unit-norm signals, correlations by FFT, the Toeplitz normal equations
    solved exactly, SDR = 10 log10(c / (1 - c)) of the coherence c.
    """
    est, ref = (x.astype(np.float64) for x in check_pair(estimate, reference, sample_rate))
    est, ref = est / max(np.linalg.norm(est), 1e-6), ref / max(np.linalg.norm(ref), 1e-6)
    n_fft = 2 ** int(np.ceil(np.log2(2 * ref.shape[0] - 1)))
    ref_spec, est_spec = np.fft.rfft(ref, n_fft), np.fft.rfft(est, n_fft)
    acf = np.fft.irfft(np.abs(ref_spec) ** 2, n_fft)[:filter_length]
    xcorr = np.fft.irfft(np.conj(ref_spec) * est_spec, n_fft)[:filter_length]
    coherence = float(xcorr @ np.linalg.solve(linalg.toeplitz(acf), xcorr))
    limit = 10.0 ** (-clamp_db / 10.0)
    eps = limit / (1.0 + limit)
    coherence = min(max(coherence, eps), 1.0 - eps)
    return float(10.0 * np.log10(coherence / (1.0 - coherence)))


def _frame_log_spectral_distance(ref: np.ndarray, est: np.ndarray, n_fft: int, hop: int,
                                 eps: float, block: int = 1024) -> np.ndarray:
    """Per-frame RMS over bins of log(|R|² / (|E| + eps)² + eps), with |STFT| as librosa
    computes it by default (centred, zero-padded, periodic Hann); frames go through in
    blocks so that memory stays small on long files."""
    window = signal.get_window("hann", n_fft)
    ref_frames = np.lib.stride_tricks.sliding_window_view(np.pad(ref, n_fft // 2), n_fft)[::hop]
    est_frames = np.lib.stride_tricks.sliding_window_view(np.pad(est, n_fft // 2), n_fft)[::hop]
    distances = []
    for start in range(0, ref_frames.shape[0], block):
        ref_mag = np.abs(np.fft.rfft(ref_frames[start:start + block] * window, axis=1))
        est_mag = np.abs(np.fft.rfft(est_frames[start:start + block] * window, axis=1))
        log_ratio = np.log(ref_mag**2 / (est_mag + eps) ** 2 + eps)
        distances.append(np.sqrt(np.mean(log_ratio**2, axis=1)))
    return np.concatenate(distances)


def lsd(estimate: np.ndarray, reference: np.ndarray, *, sample_rate: int,
        eps: float = 1e-8) -> float:
    """Log-spectral distance (lower is better), as URGENT 2025 defines it.

    The estimate is first scaled by the least-squares gain onto the reference; 32 ms
    windows, 16 ms hop; per frame the root mean square over bins of the natural-log power
    ratio, averaged over frames.
    """
    est, ref = (x.astype(np.float64) for x in check_pair(estimate, reference, sample_rate))
    est = est * (np.sum(ref * est) / (np.sum(est**2) + eps))
    n_fft, hop = int(sample_rate * 0.032), int(sample_rate * 0.016)
    return float(np.mean(_frame_log_spectral_distance(ref, est, n_fft, hop, eps)))


@by_content()
def _mel_cepstrum(x: np.ndarray, order: int, alpha: float, n_fft: int = 1024,
                  hop: int = 256) -> np.ndarray:
    """Mel-cepstra of SPTK-style Hamming-windowed frames (power-normalised, no padding),
    shape (frames, order+1), as the URGENT script gets them from ``pysptk.mcep``.

    Remembered by content: the reference's mel-cepstra serve every output scored against it."""
    window = np.hamming(n_fft)
    window /= np.sqrt(np.sum(window**2))  # SPTK's hamming(n) normalises to unit power
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop] * window
    return mel_cepstrum(frames, order, alpha, eps=1e-6)


#: BLAS's scaled 2-norm, which ``scipy.spatial.distance.euclidean`` ends in for float vectors
_nrm2 = linalg.get_blas_funcs("nrm2", dtype=np.float64, ilp64="preferred")


def _euclidean(a: np.ndarray, b: np.ndarray) -> float:
    """``scipy.spatial.distance.euclidean`` of two float64 frames, bit for bit (the same
    BLAS call), without its input checks: they were most of DTW's cost."""
    return float(_nrm2(a - b))


def mcd(estimate: np.ndarray, reference: np.ndarray, *, sample_rate: int,
        eps: float = 1e-8) -> float:
    """Mel-cepstral distortion in dB (lower is better), as URGENT 2025 computes it.

    The estimate is scaled by the least-squares gain onto the reference, SPTK's mel-cepstra
    (1024-sample frames, 256 hop, order and warping from :data:`MCEP_PARAMS`; computed by
    :func:`audio.metrics.mel_cepstrum.mel_cepstrum`, equal to ``pysptk.mcep`` to rounding)
    are aligned by fastdtw, and the frame distances averaged.

    Raises:
        ValueError: bad inputs, or a rate without URGENT's mel-cepstrum settings.
    """
    from fastdtw import fastdtw

    est, ref = check_pair(estimate, reference, sample_rate)
    if sample_rate not in MCEP_PARAMS:
        raise ValueError(f"MCD has settings for {', '.join(map(str, MCEP_PARAMS))} Hz only, "
                         f"got {sample_rate} Hz")
    order, alpha = MCEP_PARAMS[sample_rate]
    est = est * (np.sum(ref * est) / (np.sum(est**2) + eps))
    # URGENT passes (reference, scaled estimate) in this order; fastdtw's path depends on it.
    ref_mcep = _mel_cepstrum(ref.astype(np.float64), order, alpha)
    est_mcep = _mel_cepstrum(est.astype(np.float64), order, alpha)
    _, path = fastdtw(ref_mcep, est_mcep, dist=_euclidean)
    pairs = np.asarray(path).T
    diff2 = np.sum((ref_mcep[pairs[0]] - est_mcep[pairs[1]]) ** 2, axis=1)
    return float(np.mean(10.0 / np.log(10.0) * np.sqrt(2.0 * diff2)))
