"""The compact MOS predictor: log-mel -> conv front-end -> self-attention -> attention pooling.

Heads (LDNet / UTMOS style, trained from scratch):

- *mean listener*: the score an average listener would give; what prediction uses;
- *listener-conditioned*: the same pooled vector plus a listener embedding predicts one
  listener's single vote (row 0 of the table is the "unknown listener", used for rows that
  are already a MOS and for listeners never seen);
- *per-dataset bias*: a learnt offset per label corpus added before the squash, so corpora
  rated on different scales can be pooled; row 0 is the reference corpus, fixed at zero, and
  is what prediction uses;
- optional *auxiliary* heads for objective metrics (DNSMOS, PESQ, ESTOI, ...), predicting
  targets standardised with ``aux_mean``/``aux_std``.

Scores are squashed into ``[score_min, score_max]`` (default 1-5) by ``mid + half * tanh``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml
from torch import nn

from sqa.features import MODEL_SAMPLE_RATE, FeatureConfig

MODEL_NAME = "MosPredictor"


@dataclass
class MosPredictorConfig:
    """Constructor arguments of :class:`MosPredictor`; round-trips to YAML."""

    sample_rate: int = MODEL_SAMPLE_RATE
    n_mels: int = 64
    window_seconds: float = 0.032
    hop_seconds: float = 0.010
    conv_channels: int = 32
    d_model: int = 192
    n_layers: int = 3
    n_heads: int = 4
    ff_dim: int = 384
    dropout: float = 0.1
    n_listeners: int = 1
    listener_dim: int = 32
    n_datasets: int = 1
    aux_targets: list[str] = field(default_factory=list)
    aux_mean: list[float] = field(default_factory=list)
    aux_std: list[float] = field(default_factory=list)
    score_min: float = 1.0
    score_max: float = 5.0

    def to_yaml(self, path: str | Path | None = None) -> str:
        text = yaml.safe_dump(asdict(self), sort_keys=False)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_dict(cls, values: dict) -> MosPredictorConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown model settings: {', '.join(unknown)} "
                             f"(known: {', '.join(sorted(known))})")
        return cls(**values)

    @classmethod
    def from_yaml(cls, source: str | Path) -> MosPredictorConfig:
        """From a YAML file path or YAML text."""
        text = Path(source).read_text(encoding="utf-8") if Path(str(source)).suffix in (
            ".yaml", ".yml") else str(source)
        values = yaml.safe_load(text) or {}
        if not isinstance(values, dict):
            raise ValueError("a model config must be a YAML mapping")
        return cls.from_dict(values)


def _positions(length: int, dim: int, device: torch.device) -> torch.Tensor:
    """Sinusoidal position encodings, shape (length, dim)."""
    pos = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32)
                    * (-math.log(10_000.0) / dim))
    out = torch.zeros(length, dim, device=device)
    out[:, 0::2] = torch.sin(pos * div)
    out[:, 1::2] = torch.cos(pos * div)[:, : dim // 2]
    return out


class MosPredictor(nn.Module):
    """Predicts MOS from log-mel features (see the module docstring for the heads).

    Input features come from :func:`sqa.features.log_mel` with :meth:`feature_config`.
    """

    def __init__(self, *, sample_rate: int = MODEL_SAMPLE_RATE, n_mels: int = 64,
                 window_seconds: float = 0.032, hop_seconds: float = 0.010,
                 conv_channels: int = 32, d_model: int = 192, n_layers: int = 3,
                 n_heads: int = 4, ff_dim: int = 384, dropout: float = 0.1,
                 n_listeners: int = 1, listener_dim: int = 32, n_datasets: int = 1,
                 aux_targets: list[str] | tuple[str, ...] = (),
                 aux_mean: list[float] | tuple[float, ...] = (),
                 aux_std: list[float] | tuple[float, ...] = (),
                 score_min: float = 1.0, score_max: float = 5.0) -> None:
        super().__init__()
        if sample_rate != MODEL_SAMPLE_RATE:
            raise ValueError(f"the model works at {MODEL_SAMPLE_RATE} Hz; got {sample_rate}")
        if not score_min < score_max:
            raise ValueError(f"need score_min < score_max, got {score_min}, {score_max}")
        aux_mean = list(aux_mean) or [0.0] * len(aux_targets)
        aux_std = list(aux_std) or [1.0] * len(aux_targets)
        if not len(aux_targets) == len(aux_mean) == len(aux_std):
            raise ValueError("aux_targets, aux_mean and aux_std need one length")
        self.config = MosPredictorConfig(
            sample_rate=sample_rate, n_mels=n_mels, window_seconds=window_seconds,
            hop_seconds=hop_seconds, conv_channels=conv_channels, d_model=d_model,
            n_layers=n_layers, n_heads=n_heads, ff_dim=ff_dim, dropout=dropout,
            n_listeners=n_listeners, listener_dim=listener_dim, n_datasets=n_datasets,
            aux_targets=list(aux_targets), aux_mean=[float(v) for v in aux_mean],
            aux_std=[float(v) for v in aux_std], score_min=score_min, score_max=score_max)
        c = conv_channels
        # Three (2, 1)-strided blocks: frequency shrinks by 8, time resolution is kept.
        self.frontend = nn.Sequential(
            nn.Conv2d(1, c, 3, stride=(2, 1), padding=1), nn.GELU(),
            nn.Conv2d(c, c, 3, stride=(2, 1), padding=1), nn.GELU(),
            nn.Conv2d(c, c, 3, stride=(2, 1), padding=1), nn.GELU(),
        )
        freq = n_mels
        for _ in range(3):
            freq = (freq - 1) // 2 + 1
        self.project = nn.Linear(c * freq, d_model)
        layer = nn.TransformerEncoderLayer(d_model, n_heads, ff_dim, dropout,
                                           activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.pool_score = nn.Linear(d_model, 1)
        hidden = max(16, d_model // 2)
        self.mean_head = nn.Sequential(nn.Linear(d_model, hidden), nn.GELU(),
                                       nn.Linear(hidden, 1))
        self.listener_embedding = nn.Embedding(n_listeners + 1, listener_dim)
        self.listener_head = nn.Sequential(nn.Linear(d_model + listener_dim, hidden),
                                           nn.GELU(), nn.Linear(hidden, 1))
        self.dataset_bias = nn.Embedding(n_datasets + 1, 1, padding_idx=0)
        nn.init.zeros_(self.dataset_bias.weight)
        self.aux_head = nn.Linear(d_model, len(aux_targets)) if aux_targets else None
        self.register_buffer("aux_mean", torch.tensor(aux_mean, dtype=torch.float32))
        self.register_buffer("aux_std", torch.tensor(aux_std, dtype=torch.float32))

    def feature_config(self) -> FeatureConfig:
        cfg = self.config
        return FeatureConfig(sample_rate=cfg.sample_rate, n_mels=cfg.n_mels,
                             window_seconds=cfg.window_seconds, hop_seconds=cfg.hop_seconds)

    def squash(self, raw: torch.Tensor) -> torch.Tensor:
        low, high = self.config.score_min, self.config.score_max
        return (low + high) / 2 + (high - low) / 2 * torch.tanh(raw)

    def embed(self, feats: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Pooled utterance vectors, shape (batch, d_model), from features (batch, frames,
        n_mels); ``lengths`` (batch,) marks the valid frames of padded inputs."""
        batch, frames, _ = feats.shape
        x = self.frontend(feats.transpose(1, 2).unsqueeze(1))  # (B, C, F', T)
        x = self.project(x.permute(0, 3, 1, 2).reshape(batch, frames, -1))
        x = x + _positions(frames, x.shape[-1], x.device)
        pad = (None if lengths is None
               else torch.arange(frames, device=feats.device)[None, :] >= lengths[:, None])
        x = self.norm(self._encode(x, pad))
        weights = self.pool_score(x).squeeze(-1)
        if pad is not None:
            weights = weights.masked_fill(pad, float("-inf"))
        weights = torch.softmax(weights, dim=1)
        return torch.einsum("bt,btd->bd", weights, x)

    def _encode(self, x: torch.Tensor, pad: torch.Tensor | None) -> torch.Tensor:
        """The transformer encoder. Training (dropout) runs ``self.encoder``; evaluation runs
        the same pre-norm layers with ``scaled_dot_product_attention`` on their own weights,
        because ``nn.TransformerEncoder``'s eval "fast path" (its masked softmax) is about
        twice as slow on CPU. Both give the same scores (``tests/sqa``). Any module left in
        training mode (Monte-Carlo dropout switches on the dropouts alone) takes the first."""
        if any(module.training for module in self.encoder.modules()):
            return self.encoder(x, src_key_padding_mask=pad)
        batch, frames, width = x.shape
        mask = None if pad is None else ~pad[:, None, None, :]
        for layer in self.encoder.layers:
            attn = layer.self_attn
            qkv = F.linear(layer.norm1(x), attn.in_proj_weight, attn.in_proj_bias)
            q, k, v = qkv.view(batch, frames, 3, attn.num_heads, width // attn.num_heads
                               ).permute(2, 0, 3, 1, 4)
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            x = x + attn.out_proj(out.transpose(1, 2).reshape(batch, frames, width))
            x = x + layer.linear2(layer.activation(layer.linear1(layer.norm2(x))))
        return x

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor | None = None,
                listener: torch.Tensor | None = None, dataset: torch.Tensor | None = None
                ) -> dict[str, torch.Tensor]:
        """Scores for a batch of features.

        Args:
            feats: (batch, frames, n_mels) log-mel features.
            lengths: (batch,) valid frames; None when nothing is padded.
            listener: (batch,) listener indices (0 = unknown); None skips that head.
            dataset: (batch,) dataset indices (0 = reference, no bias); None = reference.

        Returns:
            ``mos`` (batch,) mean-listener score in [score_min, score_max]; with
            ``listener``, ``listener_mos`` (batch,); with auxiliary targets, ``aux``
            (batch, n_aux) standardised metric predictions.
        """
        pooled = self.embed(feats, lengths)
        bias = (self.dataset_bias(dataset).squeeze(-1) if dataset is not None
                else torch.zeros(pooled.shape[0], device=pooled.device))
        out = {"mos": self.squash(self.mean_head(pooled).squeeze(-1) + bias)}
        if listener is not None:
            emb = self.listener_embedding(listener)
            raw = self.listener_head(torch.cat([pooled, emb], dim=-1)).squeeze(-1)
            out["listener_mos"] = self.squash(raw + bias)
        if self.aux_head is not None:
            out["aux"] = self.aux_head(pooled)
        return out


#: The registry of model classes a checkpoint may name.
MODELS: dict[str, type[nn.Module]] = {MODEL_NAME: MosPredictor}


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
