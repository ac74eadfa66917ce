"""Predict MOS with a trained model: ``python -m sqa.predict --model DIR --input DIR|wav.scp
--out mos.scp``.

The input is a folder (every audio file in it and below; the id is the path relative to the
folder without its ending, ``/`` replaced by ``-``) or a Kaldi ``wav.scp`` (``<id> <path>``
lines). Files that cannot be scored are reported on stderr one per line and left out of
``mos.scp``; the exit status is then 1. Long inputs are scored in chunks of
``--chunk-seconds`` whose scores are averaged, weighted by length.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from audio.io import AudioError, is_audio_filename, load_audio
from sqa.checkpoint import MODEL_FILE, CheckpointError, load_model
from sqa.features import log_mel
from sqa.metrics import write_mos_scp
from sqa.model import MosPredictor

#: Inputs longer than this are scored in chunks of this length.
CHUNK_SECONDS = 10.0


@functools.lru_cache(maxsize=4)
def _cached(path: str, mtime_ns: int) -> MosPredictor:
    model, _ = load_model(path)
    return model


def load_predictor(model_dir: str | os.PathLike) -> MosPredictor:
    """The model of a folder (or checkpoint file), loaded once per file version.

    Raises:
        CheckpointError: no usable checkpoint there.
    """
    path = Path(model_dir)
    file = path / MODEL_FILE if path.is_dir() else path
    if not file.is_file():
        raise CheckpointError(f"no model checkpoint at {file}")
    return _cached(str(file.resolve()), file.stat().st_mtime_ns)


@torch.no_grad()
def predict_features(model: MosPredictor, feats: np.ndarray,
                     chunk_seconds: float = CHUNK_SECONDS) -> float:
    """Mean-listener MOS of one utterance's features (frames, n_mels), in chunks."""
    model.eval()
    size = model.feature_config().frames(chunk_seconds)
    chunks = [feats[i:i + size] for i in range(0, max(1, feats.shape[0]), size)]
    if len(chunks) > 1 and chunks[-1].shape[0] < size // 4:
        chunks[-2] = np.concatenate([chunks[-2], chunks.pop()])
    lengths = torch.tensor([c.shape[0] for c in chunks])
    batch = torch.zeros(len(chunks), int(lengths.max()), feats.shape[1])
    for i, chunk in enumerate(chunks):
        batch[i, : chunk.shape[0]] = torch.from_numpy(chunk)
    device = next(model.parameters()).device
    scores = model(batch.to(device), lengths.to(device))["mos"].cpu()
    return float((scores * lengths).sum() / lengths.sum())


@torch.no_grad()
def predict(model: MosPredictor, waveform: np.ndarray, sample_rate: int,
            chunk_seconds: float = CHUNK_SECONDS) -> float:
    """Predicted MOS (mean listener, reference dataset scale) of a mono waveform at any
    rate."""
    return predict_features(model, log_mel(waveform, sample_rate, model.feature_config()),
                            chunk_seconds)


def read_inputs(source: Path) -> list[tuple[str, str]]:
    """(id, path) pairs of a folder or a wav.scp.

    Raises:
        ValueError: nothing to score, repeated ids, or malformed wav.scp lines (all listed).
    """
    pairs: list[tuple[str, str]] = []
    problems: list[str] = []
    if source.is_dir():
        for file in sorted(p for p in source.rglob("*") if p.is_file()
                           and is_audio_filename(p.name)):
            rel = file.relative_to(source).with_suffix("")
            pairs.append(("-".join(rel.parts).replace(" ", "_"), str(file)))
    elif source.is_file():
        root = source.parent
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            parts = line.split(maxsplit=1)
            if len(parts) != 2 or parts[1].rstrip().endswith("|"):
                problems.append(f"{source.name}: line {number}: expected '<id> <path>'")
                continue
            file = Path(parts[1].strip()).expanduser()
            pairs.append((parts[0], str(file if file.is_absolute() else root / file)))
    else:
        raise ValueError(f"input not found: {source}")
    seen: set[str] = set()
    for item, _ in pairs:
        if item in seen:
            problems.append(f"id '{item}' appears twice")
        seen.add(item)
    if problems:
        raise ValueError("\n".join(problems[:20]))
    if not pairs:
        raise ValueError(f"no audio files in {source}")
    return pairs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sqa.predict",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="model folder (holding model.pt)")
    parser.add_argument("--input", required=True, help="audio folder or wav.scp")
    parser.add_argument("--out", required=True, help="mos.scp to write")
    parser.add_argument("--chunk-seconds", type=float, default=CHUNK_SECONDS)
    parser.add_argument("--max-seconds", type=float, default=600.0,
                        help="longest input accepted (default 600)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        model = load_predictor(args.model)
        pairs = read_inputs(Path(args.input))
    except (CheckpointError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    scores: dict[str, float] = {}
    failed = 0
    for item, path in tqdm(pairs, desc="predict", unit="file", file=sys.stderr,
                           disable=None):
        try:
            audio = load_audio(path, max_seconds=args.max_seconds, name=path)
            value = predict(model, audio.samples, audio.sample_rate, args.chunk_seconds)
            if not math.isfinite(value):
                raise AudioError(f"{path}: the prediction is not finite")
        except (AudioError, ValueError, OSError) as exc:
            failed += 1
            tqdm.write(f"{item}: {exc}", file=sys.stderr)
            continue
        scores[item] = value
    out = Path(args.out)
    if scores:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".partial")
        write_mos_scp(pd.Series(scores, dtype=float), tmp)
        os.replace(tmp, out)
    print(f"scored {len(scores)} of {len(pairs)} files -> {out}"
          + (f"; {failed} failed" if failed else ""), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
