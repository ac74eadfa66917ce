"""One-file checkpoints of the quality model (``model.pt`` in a model folder).

A checkpoint is a dict of plain types and tensors, loaded with ``weights_only=True``:
``format_version``, ``model_name``, ``model_args`` (the :class:`~sqa.model.MosPredictorConfig`
as a dict), ``state_dict``, ``optimizer`` (state dict or None), ``train_config`` (dict),
``step``, ``epoch``, ``batch_in_epoch``, ``rng`` (torch RNG state or None) and ``infos``
(software versions, label files, listener and dataset vocabularies, auxiliary targets).
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any

import torch

from sqa.model import MODEL_NAME, MODELS, MosPredictorConfig

#: Bumped whenever the checkpoint layout or the model's meaning changes.
FORMAT_VERSION = 1

#: The checkpoint prediction uses (the best on validation).
MODEL_FILE = "model.pt"
#: The checkpoint training resumes from (the newest).
LAST_FILE = "last.pt"


class CheckpointError(ValueError):
    """A model folder or checkpoint cannot be used; the message says why, for the user."""


def software_versions() -> dict[str, str]:
    import numpy

    return {"python": platform.python_version(), "torch": torch.__version__,
            "numpy": numpy.__version__, "platform": sys.platform}


def make_checkpoint(model: torch.nn.Module, *, optimizer: torch.optim.Optimizer | None = None,
                    train_config: dict | None = None, step: int = 0, epoch: int = 0,
                    batch_in_epoch: int = 0, infos: dict | None = None,
                    rng: torch.Tensor | None = None) -> dict[str, Any]:
    cfg: MosPredictorConfig = model.config
    return {
        "format_version": FORMAT_VERSION,
        "model_name": MODEL_NAME,
        "model_args": _plain(vars(cfg)),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "train_config": _plain(train_config or {}),
        "step": int(step),
        "epoch": int(epoch),
        "batch_in_epoch": int(batch_in_epoch),
        "rng": rng,
        "infos": _plain({"software": software_versions(), **(infos or {})}),
    }


def _plain(value: Any) -> Any:
    """Only types that ``weights_only`` loading accepts (tuples become lists)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, os.PathLike):
        return str(value)
    if value is None:
        return None
    for kind in (bool, int, float, str):  # subclasses (numpy scalars, TorchVersion) unpickle
        if isinstance(value, kind):       # as their own class, which weights_only refuses
            return kind(value)
    raise TypeError(f"cannot store {type(value).__name__} in a checkpoint")


def save_checkpoint(checkpoint: dict[str, Any], path: str | Path) -> None:
    """Write atomically (a temporary file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    torch.save(checkpoint, tmp)
    os.replace(tmp, path)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load and check a checkpoint file (not the model).

    Raises:
        CheckpointError: the file is missing or unreadable, or holds another format version
            or model.
    """
    path = Path(path)
    if path.is_dir():
        path = path / MODEL_FILE
    if not path.is_file():
        raise CheckpointError(f"no model checkpoint at {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and torch errors of several types
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable checkpoint ({reason[:200]})") from exc
    if not isinstance(ckpt, dict) or "format_version" not in ckpt:
        raise CheckpointError(f"{path}: not a checkpoint of this SQA model (no format_version)")
    version = ckpt["format_version"]
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {version} is not the version {FORMAT_VERSION} "
            "this code reads; it comes from another version of the software (retrain, or use "
            "the matching version)")
    name = ckpt.get("model_name")
    if name not in MODELS:
        raise CheckpointError(f"{path}: model '{name}' is unknown here "
                              f"(known: {', '.join(MODELS)})")
    for key in ("model_args", "state_dict", "infos"):
        if key not in ckpt:
            raise CheckpointError(f"{path}: checkpoint lacks '{key}'")
    return ckpt


def build_model(ckpt: dict[str, Any]) -> torch.nn.Module:
    """The model a checkpoint describes, with its weights loaded.

    Raises:
        CheckpointError: the arguments or weights do not fit the model class.
    """
    try:
        cfg = MosPredictorConfig.from_dict(dict(ckpt["model_args"]))
        model = MODELS[ckpt["model_name"]](**vars(cfg))
        model.load_state_dict(ckpt["state_dict"])
    except (TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"checkpoint does not fit the model code: {exc}") from exc
    return model


def load_model(path: str | Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """(model in eval mode, checkpoint dict) from a model folder or checkpoint file."""
    ckpt = read_checkpoint(path)
    model = build_model(ckpt)
    model.eval()
    return model, ckpt
