"""Our neural checkpoints as systems: every ``*.pt`` file in the checkpoints folder is one.

A checkpoint is one file holding ``model_name``, ``model_args`` and ``state_dict`` (plus the
training config, step and ``infos``), as in asteroid's ``serialize()``. The model class comes
from :data:`MODEL_CLASSES`, a small explicit registry that the SE model code fills in; a
checkpoint naming a class that is not there is listed, and refused with a clear message when
used. torch is imported only when a checkpoint is actually read.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from se.systems.base import System

if TYPE_CHECKING:
    import torch

#: Model name (as stored in a checkpoint's ``model_name``) -> nn.Module class. The class
#: is built as ``cls(**model_args)``; its forward maps (batch, frames) to (batch, frames)
#: at ``model_args["sample_rate"]``. A model whose ``model_args`` also list
#: ``sample_rates`` serves each of them and is called as ``forward(x, sample_rate=rate)``.
MODEL_CLASSES: dict[str, Callable[..., torch.nn.Module]] = {}


def _register_builtin_models() -> None:
    """Our own SE models (imported lazily: torch loads only when a checkpoint is used)."""
    from se.models import MODELS

    MODEL_CLASSES.update(MODELS)

CHECKPOINT_SUFFIX = ".pt"
REQUIRED_KEYS = ("model_name", "model_args", "state_dict")


class CheckpointError(ValueError):
    """A checkpoint cannot be used; the message says why, for the user as it is."""


@dataclass(frozen=True)
class CheckpointInfo:
    """What a checkpoint says about itself, without building the model."""

    path: Path
    model_name: str
    model_args: dict[str, Any]
    step: int | None = None


def _read_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint's dict, memory-mapped and without running pickled code."""
    import torch

    try:
        data = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # torch raises many types for a bad file; all mean "unreadable"
        text = str(exc).strip()
        reason = text.splitlines()[0][:200] if text else type(exc).__name__
        raise CheckpointError(f"{path.name}: not a readable checkpoint ({reason})") from exc
    missing = [key for key in REQUIRED_KEYS if not isinstance(data, dict) or key not in data]
    if missing:
        raise CheckpointError(f"{path.name}: checkpoint lacks {', '.join(missing)}")
    return data


def checkpoint_info(path: Path) -> CheckpointInfo:
    """Read a checkpoint's model name, arguments and step.

    Raises:
        CheckpointError: unreadable, lacking a required key, or ``model_args`` has no
            ``sample_rate``.
    """
    data = _read_checkpoint(path)
    args = dict(data["model_args"])
    if "sample_rate" not in args:
        raise CheckpointError(f"{path.name}: model_args has no sample_rate")
    step = data.get("step")
    return CheckpointInfo(path=path, model_name=str(data["model_name"]), model_args=args,
                          step=int(step) if step is not None else None)


@functools.lru_cache(maxsize=4)
def _load_model(path: Path, modified_ns: int) -> torch.nn.Module:
    """Build and load a model once per file version (``modified_ns`` keys the cache)."""
    del modified_ns
    data = _read_checkpoint(path)
    name = str(data["model_name"])
    _register_builtin_models()
    if name not in MODEL_CLASSES:
        known = ", ".join(sorted(MODEL_CLASSES)) or "none yet"
        raise CheckpointError(f"{path.name}: unknown model '{name}' (known models: {known})")
    model = MODEL_CLASSES[name](**dict(data["model_args"]))
    model.load_state_dict(data["state_dict"])
    return model.eval()


def load_model(path: Path) -> torch.nn.Module:
    """The model of a checkpoint, built once and cached while the file is unchanged."""
    path = Path(path).resolve()
    return _load_model(path, path.stat().st_mtime_ns)


def enhance_with_model(model: torch.nn.Module, waveform: np.ndarray,
                       sample_rate: int | None = None) -> np.ndarray:
    """Run a model on one mono waveform (frames,) without gradients: at its own rate, or
    at ``sample_rate`` (passed on to a multi-rate model's forward) when given."""
    import torch

    x = torch.from_numpy(np.ascontiguousarray(waveform, dtype=np.float32))[None]
    with torch.inference_mode():
        out = model(x) if sample_rate is None else model(x, sample_rate=sample_rate)
    return out[0].detach().cpu().numpy().astype(np.float32)


class NeuralSystem(System):
    """One checkpoint file. An unusable file is still listed, with the reason as its
    description, so that a bad checkpoint is seen rather than silently skipped."""

    kind = "neural"
    chunk_seconds = 10.0
    overlap_seconds = 0.5

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.name = self.path.stem
        try:
            info = checkpoint_info(self.path)
        except CheckpointError as exc:
            self.problem: str | None = str(exc)
            self.description = f"unusable checkpoint: {exc}"
            return
        self.problem = None
        rates = info.model_args.get("sample_rates")
        self.multi_rate = bool(rates)
        self.sample_rates = (tuple(sorted(int(r) for r in rates)) if rates
                             else (int(info.model_args["sample_rate"]),))
        step = f", step {info.step}" if info.step is not None else ""
        _register_builtin_models()
        known = "" if info.model_name in MODEL_CLASSES else " (model class not registered)"
        self.description = f"{info.model_name} checkpoint {self.path.name}{step}{known}"

    def _process(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        if self.problem is not None:
            raise CheckpointError(self.problem)
        return enhance_with_model(load_model(self.path), waveform,
                                  sample_rate if self.multi_rate else None)


def discover_checkpoints(folder: Path) -> list[NeuralSystem]:
    """One system per ``*.pt`` file directly in ``folder``, sorted by name.

    Raises:
        CheckpointError: ``folder`` is not a directory.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"checkpoints folder {folder} does not exist")
    return [NeuralSystem(path) for path in sorted(folder.glob(f"*{CHECKPOINT_SUFFIX}"))
            if path.is_file()]
