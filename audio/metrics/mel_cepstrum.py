"""Mel-cepstral analysis (SPTK's ``mcep``), all frames of a signal at once.

MCD compares mel-cepstra; the URGENT scripts get them from SPTK (``pysptk.mcep``), which
analyses one frame per call in C and took about a CPU-second per 3 s clip at 48 kHz, more
than every other intrusive metric together. This is the same algorithm (Tokuda et al.,
"Mel-generalized cepstral analysis", 1994; SPTK 3's ``_mcep.c``: unbiased log-spectral
estimate, Newton-Raphson from the warped cepstrum, SPTK's convergence test) written on
arrays of frames: SPTK's two frequency warpings (``freqt``, ``frqtr``) are linear maps, built
once per order and all-pass constant as matrices, and the Toeplitz-plus-Hankel systems of all
frames are solved together. Values equal SPTK's to rounding (tests compare with pysptk).
"""

from __future__ import annotations

import functools

import numpy as np


def _warp(columns: int, out_order: int, alpha: float, *, inverse_filter: bool) -> np.ndarray:
    """Matrix of SPTK's recursive frequency transformation from ``columns - 1`` to
    ``out_order``: ``freqt`` (the cepstrum's all-pass warping) or, with ``inverse_filter``,
    ``frqtr`` (the warping of the autocorrelation-like sequence in the Newton step).

    Both recursions are linear, so running them on the identity gives their matrix."""
    identity = np.eye(columns)
    g = np.zeros((out_order + 1, columns))
    beta = 1.0 - alpha * alpha
    for i in range(columns - 1, -1, -1):  # SPTK feeds c1[m1], ..., c1[0]
        d = g.copy()
        if inverse_filter:
            g[0] = identity[i]
            if out_order >= 1:
                g[1] = d[0] + alpha * (d[1] - g[0])
        else:
            g[0] = identity[i] + alpha * d[0]
            if out_order >= 1:
                g[1] = beta * d[0] + alpha * d[1]
        for j in range(2, out_order + 1):
            g[j] = d[j - 1] + alpha * (d[j] - g[j - 1])
    return g


@functools.cache
def _analysis_matrices(n_fft: int, order: int, alpha: float
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cepstrum -> mel-cepstrum, mel-cepstrum -> half log-amplitude spectrum, half
    spectrum -> warped autocorrelation of order 2M) for one analysis setting."""
    half = n_fft // 2
    to_mel = _warp(half + 1, order, alpha, inverse_filter=False)           # (M+1, N/2+1)
    from_mel = _warp(order + 1, half, -alpha, inverse_filter=False)        # (N/2+1, M+1)
    # Re FFT_k of a sequence held in samples 0..N/2 (zeros after): sum_n c_n cos(2 pi k n/N)
    bins = np.arange(half + 1)
    cosines = np.cos(2.0 * np.pi * np.outer(bins, bins) / n_fft)           # (k, n)
    log_amplitude = cosines @ from_mel                                     # (N/2+1, M+1)
    # inverse real FFT of a symmetric real spectrum given by its half, samples 0..N/2
    weights = np.full(half + 1, 2.0)
    weights[0] = weights[-1] = 1.0
    inverse = cosines.T * weights / n_fft                                  # (n, k)
    autocorrelation = _warp(half + 1, 2 * order, alpha, inverse_filter=True) @ inverse
    return to_mel, log_amplitude, autocorrelation


def mel_cepstrum(frames: np.ndarray, order: int, alpha: float, *, eps: float = 1e-6,
                 min_iterations: int = 2, max_iterations: int = 30, threshold: float = 1e-3
                 ) -> np.ndarray:
    """Mel-cepstra of windowed frames, shape (frames, order + 1), as
    ``pysptk.mcep(frame, order, alpha, miniter, maxiter, threshold, etype=1, eps)``
    gives them frame by frame (``eps`` is added to the periodogram before its log).

    Raises:
        ValueError: frames not 2-D with a power-of-two length, or a frame whose normal
            equations are singular (SPTK stops the program there).
    """
    frames = np.asarray(frames, dtype=np.float64)
    n_fft = frames.shape[-1] if frames.ndim == 2 else 0
    if n_fft < 4 or n_fft & (n_fft - 1):
        raise ValueError(f"mel_cepstrum takes (frames, 2**k) windowed frames, got shape "
                         f"{frames.shape}")
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    to_mel, log_amplitude, autocorrelation = _analysis_matrices(n_fft, order, float(alpha))
    half = n_fft // 2
    periodogram = np.abs(np.fft.rfft(frames, axis=1)) ** 2 + eps           # (F, N/2+1)
    if np.any(periodogram <= 0.0):
        raise ValueError("mel_cepstrum: a frame's periodogram has a zero; pass eps > 0")
    cepstrum = np.fft.irfft(np.log(periodogram), n_fft, axis=1)[:, :half + 1]
    cepstrum[:, 0] /= 2.0
    cepstrum[:, half] /= 2.0
    mc = cepstrum @ to_mel.T                                               # (F, M+1)
    previous = cepstrum[:, 0].copy()
    powers = (-alpha) ** np.arange(order + 1)                              # 1, -a, a^2 ...
    even = np.arange(0, 2 * order + 1, 2)
    toeplitz = np.abs(np.subtract.outer(np.arange(order + 1), np.arange(order + 1)))
    hankel = np.add.outer(np.arange(order + 1), np.arange(order + 1))
    active = np.arange(frames.shape[0])
    for iteration in range(1, max_iterations + 1):
        if active.size == 0:
            break
        ratio = periodogram[active] / np.exp(2.0 * (mc[active] @ log_amplitude.T))
        r = ratio @ autocorrelation.T                                      # (A, 2M+1)
        if iteration >= min_iterations:
            done = np.abs((r[:, 0] - previous[active]) / r[:, 0]) < threshold
            previous[active] = r[:, 0]
            active, r = active[~done], r[~done]
            if active.size == 0:
                break
        b = r[:, :order + 1] - powers
        h = r.copy()
        h[:, even] -= r[:, :1]
        t = r[:, :order + 1].copy()
        t[:, 2::2] += r[:, :1]
        t[:, 0] *= 2.0
        system = t[:, toeplitz] + h[:, hankel]                             # (A, M+1, M+1)
        try:
            step = np.linalg.solve(system, b[..., np.newaxis])[..., 0]
        except np.linalg.LinAlgError as exc:
            raise ValueError(f"mel_cepstrum: singular normal equations at iteration "
                             f"{iteration}") from exc
        mc[active] += step
    return mc
