"""A compact sampling-frequency-independent band-split network (BSRNN in miniature).

Why it serves every rate with one set of weights: the STFT window and hop are fixed in
seconds (:class:`audio.spectral.StftConfig`, 20 ms / 10 ms), and the FFT size equals the
window, so bins are ``1 / window_seconds`` = 50 Hz apart at all seven URGENT rates. Band
edges are fixed in Hz up to 24 kHz; a lower rate simply uses the bands below its Nyquist
frequency (8 kHz: 25 bands, 48 kHz: 45). The few bins between the last full band and
Nyquist (at most one or two, where resamplers leave no energy) are set to zero.

Each band has its own linear encoder to ``feature_dim`` features; ``n_layers`` blocks model
time (a bidirectional GRU along frames, shared by all bands) and frequency (a bidirectional
GRU along bands, shared by all frames); each band has its own decoder predicting a complex
mask and a complex residual, so the output spectrum ``mask * noisy + residual`` can hold
what the input lacks (bandwidth extension, packet-loss concealment), not only less of it.
The waveform is scaled to unit RMS on the way in and back on the way out.

Shapes: ``forward(waveform (batch, frames), sample_rate=None) -> (batch, frames)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from itertools import pairwise

import torch
from torch import nn

from audio.spectral import StftConfig

MODEL_NAME = "bandsplit"
#: The seven URGENT 2026 rates.
URGENT_SAMPLE_RATES: tuple[int, ...] = (8_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000)

#: Band edges in Hz: 100 Hz bands to 1 kHz, 200 Hz to 4 kHz, 500 Hz to 8 kHz, 1 kHz to
#: 16 kHz, 2 kHz to 24 kHz (45 bands), as BSRNN's split, coarser.
BAND_EDGES_HZ: tuple[float, ...] = tuple(
    [float(f) for f in range(0, 1000, 100)] + [float(f) for f in range(1000, 4000, 200)]
    + [float(f) for f in range(4000, 8000, 500)] + [float(f) for f in range(8000, 16000, 1000)]
    + [float(f) for f in range(16000, 24001, 2000)])


@dataclass
class BandSplitConfig:
    """Constructor arguments of :class:`BandSplitNet`; round-trips through YAML/dicts."""

    sample_rate: int = 48_000
    sample_rates: list[int] = field(default_factory=lambda: list(URGENT_SAMPLE_RATES))
    window_seconds: float = 0.020
    hop_seconds: float = 0.010
    band_edges_hz: list[float] = field(default_factory=lambda: list(BAND_EDGES_HZ))
    feature_dim: int = 64
    n_layers: int = 3
    decoder_hidden: int = 128

    def __post_init__(self) -> None:
        problems = []
        if not self.sample_rates or any(r not in URGENT_SAMPLE_RATES for r in self.sample_rates):
            problems.append(f"sample_rates must be URGENT rates {list(URGENT_SAMPLE_RATES)}")
        if self.sample_rate not in self.sample_rates:
            problems.append(f"sample_rate {self.sample_rate} is not among sample_rates")
        if not 0.004 <= self.window_seconds <= 0.128:
            problems.append("window_seconds must be within 0.004..0.128")
        if not 0 < self.hop_seconds <= self.window_seconds / 2:
            problems.append("hop_seconds must be positive and at most half the window")
        edges = list(self.band_edges_hz)
        if len(edges) < 2 or edges[0] != 0 or any(b <= a for a, b in pairwise(edges)):
            problems.append("band_edges_hz must start at 0 and increase")
        if not 8 <= self.feature_dim <= 512 or self.feature_dim % 2:
            problems.append("feature_dim must be an even number within 8..512")
        if not 1 <= self.n_layers <= 12:
            problems.append("n_layers must be within 1..12")
        if not 8 <= self.decoder_hidden <= 2048:
            problems.append("decoder_hidden must be within 8..2048")
        if problems:
            raise ValueError("model config: " + "; ".join(problems))

    @classmethod
    def from_dict(cls, values: dict) -> BandSplitConfig:
        """Strict: an unknown key is an error, not silently ignored."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"model config: unknown key(s) {', '.join(unknown)} "
                             f"(known: {', '.join(sorted(known))})")
        return cls(**values)


def _band_bins(edges_hz: Sequence[float], bin_hz: float) -> list[tuple[int, int]]:
    """(first bin, bin count) of every band; widths depend only on Hz, not on the rate."""
    out = []
    for lo, hi in pairwise(edges_hz):
        first, stop = round(lo / bin_hz), round(hi / bin_hz)
        out.append((first, stop - first))
    return out


class _BiGruBlock(nn.Module):
    """Pre-norm bidirectional GRU with a residual connection, along dim 1 of (N, L, D)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.gru = nn.GRU(dim, dim // 2, batch_first=True, bidirectional=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.gru(self.norm(x))[0]


class BandSplitNet(nn.Module):
    """Band-split GRU enhancer; see the module docstring. One instance serves every rate in
    ``sample_rates``; ``sample_rate`` is the rate assumed when ``forward`` is given none."""

    def __init__(self, *, sample_rate: int = 48_000,
                 sample_rates: Sequence[int] = URGENT_SAMPLE_RATES,
                 window_seconds: float = 0.020, hop_seconds: float = 0.010,
                 band_edges_hz: Sequence[float] = BAND_EDGES_HZ, feature_dim: int = 64,
                 n_layers: int = 3, decoder_hidden: int = 128) -> None:
        super().__init__()
        self.config = BandSplitConfig(
            sample_rate=int(sample_rate), sample_rates=[int(r) for r in sample_rates],
            window_seconds=float(window_seconds), hop_seconds=float(hop_seconds),
            band_edges_hz=[float(e) for e in band_edges_hz], feature_dim=int(feature_dim),
            n_layers=int(n_layers), decoder_hidden=int(decoder_hidden))
        self.sample_rate = self.config.sample_rate
        self.sample_rates = tuple(self.config.sample_rates)
        self.stft_config = StftConfig(window_seconds=window_seconds, hop_seconds=hop_seconds)
        self.bands = _band_bins(self.config.band_edges_hz, 1.0 / window_seconds)
        self.encoders = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(2 * width), nn.Linear(2 * width, feature_dim))
            for _, width in self.bands)
        self.time_blocks = nn.ModuleList(_BiGruBlock(feature_dim) for _ in range(n_layers))
        self.band_blocks = nn.ModuleList(_BiGruBlock(feature_dim) for _ in range(n_layers))
        self.decoders = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(feature_dim), nn.Linear(feature_dim, decoder_hidden),
                          nn.Tanh(), nn.Linear(decoder_hidden, 4 * width))
            for _, width in self.bands)

    def model_args(self) -> dict:
        """Constructor arguments as plain types (what a checkpoint stores)."""
        return asdict(self.config)

    def n_bands(self, sample_rate: int) -> int:
        """Bands wholly below Nyquist at ``sample_rate``."""
        n_bins = self.stft_config.window_length(sample_rate) // 2 + 1
        return sum(1 for first, width in self.bands if first + width <= n_bins)

    def _check_rate(self, sample_rate: int) -> None:
        if sample_rate not in self.sample_rates:
            raise ValueError(f"{MODEL_NAME} model serves {list(self.sample_rates)} Hz, "
                             f"not {sample_rate} Hz")

    def forward(self, waveform: torch.Tensor, sample_rate: int | None = None) -> torch.Tensor:
        """Enhance (batch, frames) at ``sample_rate`` (default: ``self.sample_rate``)."""
        rate = self.sample_rate if sample_rate is None else int(sample_rate)
        self._check_rate(rate)
        if waveform.dim() != 2:
            raise ValueError(f"expected (batch, frames), got {tuple(waveform.shape)}")
        length = waveform.shape[-1]
        win = self.stft_config.window_length(rate)
        hop = self.stft_config.hop_length(rate)
        window = torch.hann_window(win, device=waveform.device, dtype=waveform.dtype)
        rms = waveform.pow(2).mean(dim=-1, keepdim=True).clamp_min(1e-10).sqrt()
        x = waveform / rms
        spec = torch.stft(x, n_fft=win, hop_length=hop, window=window, center=True,
                          return_complex=True)  # (B, F, T)
        spec_ri = torch.view_as_real(spec).permute(0, 2, 1, 3)  # (B, T, F, 2)
        batch, frames = spec_ri.shape[:2]
        n_bands = self.n_bands(rate)
        feats = torch.stack([
            self.encoders[k](spec_ri[:, :, first:first + width].reshape(batch, frames, -1))
            for k, (first, width) in enumerate(self.bands[:n_bands])], dim=2)  # (B, T, K, D)
        dim = feats.shape[-1]
        for time_block, band_block in zip(self.time_blocks, self.band_blocks, strict=True):
            feats = feats.permute(0, 2, 1, 3).reshape(batch * n_bands, frames, dim)
            feats = time_block(feats).reshape(batch, n_bands, frames, dim).permute(0, 2, 1, 3)
            feats = band_block(feats.reshape(batch * frames, n_bands, dim))
            feats = feats.reshape(batch, frames, n_bands, dim)
        out = torch.zeros_like(spec_ri)
        pieces = []
        for k, (first, width) in enumerate(self.bands[:n_bands]):
            dec = self.decoders[k](feats[:, :, k]).reshape(batch, frames, width, 4)
            noisy = spec_ri[:, :, first:first + width]
            mask_re, mask_im = dec[..., 0] + 1.0, dec[..., 1]  # starts near the identity
            re = mask_re * noisy[..., 0] - mask_im * noisy[..., 1] + dec[..., 2]
            im = mask_re * noisy[..., 1] + mask_im * noisy[..., 0] + dec[..., 3]
            pieces.append(torch.stack([re, im], dim=-1))
        covered = self.bands[n_bands - 1][0] + self.bands[n_bands - 1][1]
        out = torch.cat([torch.cat(pieces, dim=2), out[:, :, covered:]], dim=2)
        est = torch.view_as_complex(out.permute(0, 2, 1, 3).contiguous())
        y = torch.istft(est, n_fft=win, hop_length=hop, window=window, center=True,
                        length=length)
        return y * rms


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def macs_per_second(model: BandSplitNet, sample_rate: int = 48_000, seconds: float = 1.0
                    ) -> float:
    """Multiply-accumulates per second of audio, counted on a real forward pass.

    Counts every ``nn.Linear`` (in x out per row) and ``nn.GRU`` (3 gates x (in + hidden) x
    hidden per step and direction); norms, activations, the mask product and the FFTs are
    a few per cent more and are left out.
    """
    total = 0

    def linear_hook(module: nn.Linear, inputs: tuple, _out: torch.Tensor) -> None:
        nonlocal total
        rows = inputs[0].numel() // module.in_features
        total += rows * module.in_features * module.out_features

    def gru_hook(module: nn.GRU, inputs: tuple, _out: object) -> None:
        nonlocal total
        n, steps = inputs[0].shape[:2]
        dirs = 2 if module.bidirectional else 1
        per_step = 3 * (module.input_size + module.hidden_size) * module.hidden_size
        total += n * steps * dirs * per_step * module.num_layers

    handles = []
    for m in model.modules():
        if isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
        elif isinstance(m, nn.GRU):
            handles.append(m.register_forward_hook(gru_hook))
    try:
        with torch.no_grad():
            model(torch.randn(1, round(seconds * sample_rate)) * 0.1, sample_rate)
    finally:
        for h in handles:
            h.remove()
    return total / seconds
