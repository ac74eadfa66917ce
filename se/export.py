"""Turn a training checkpoint into a shippable one:
``python -m se.export runs/demo/model.pt checkpoints/NAME.pt [--note TEXT]``.

A training checkpoint carries the optimizer's moments and the RNG state so that a run can
resume; a model that is only used for enhancement needs neither, and without them it is a
third of the size. The exported file keeps what :mod:`se.systems.neural` and a reader need:
``model_name``, ``model_args``, ``state_dict``, the training config, the step and ``infos``
(software, training data, licence, plus ``note``). It cannot be resumed from.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import torch

from se.train import CheckpointError, read_checkpoint, save_checkpoint

#: Keys of a training checkpoint that an exported model keeps.
KEPT_KEYS = ("format_version", "model_name", "model_args", "state_dict", "train_config",
             "step", "epoch", "infos")


def export_checkpoint(source: Path, target: Path, note: str = "") -> dict[str, Any]:
    """Write ``source`` without optimizer and RNG state to ``target``; returns what was
    written.

    Raises:
        CheckpointError: ``source`` is not a checkpoint of this model and version, or
            ``target`` would overwrite it.
    """
    source, target = Path(source), Path(target)
    if target.resolve() == source.resolve():
        raise CheckpointError(f"{target}: would overwrite the training checkpoint")
    ckpt = read_checkpoint(source)
    exported = {key: ckpt[key] for key in KEPT_KEYS if key in ckpt}
    exported["state_dict"] = {k: v.to(torch.float32) if v.is_floating_point() else v
                              for k, v in ckpt["state_dict"].items()}
    exported["infos"] = {**ckpt.get("infos", {}), "exported_from": source.name,
                         **({"note": note} if note else {})}
    target.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(exported, target)
    return exported


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m se.export",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="training checkpoint (model.pt or last.pt)")
    parser.add_argument("target", type=Path, help="file to write, e.g. checkpoints/NAME.pt")
    parser.add_argument("--note", default="", help="how it was trained (kept in infos)")
    args = parser.parse_args(argv)
    try:
        exported = export_checkpoint(args.source, args.target, args.note)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    size_mb = args.target.stat().st_size / 1e6
    print(f"wrote {args.target} ({size_mb:.1f} MB, step {exported['step']})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
