"""Predict MOS with a trained model: ``python -m sqa.predict --model DIR --input DIR|wav.scp
--out mos.scp``.

The input is a folder (every audio file in it and below; the id is the path relative to the
folder without its ending, ``/`` replaced by ``-``) or a Kaldi ``wav.scp`` (``<id> <path>``
lines). Files that cannot be scored are reported on stderr one per line and left out of
``mos.scp``; the exit status is then 1. Long inputs are scored in chunks of
``--chunk-seconds`` whose scores are averaged, weighted by length. Files are read and scored
``--batch-size`` at a time (:func:`predict_batch`). ``--model`` given several times scores
with each model and writes the mean (an ensemble, e.g. of trainings with other seeds; it
costs each model's time).
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from audio.io import AudioError, is_audio_filename, load_audio
from sqa.checkpoint import MODEL_FILE, CheckpointError, load_model
from sqa.features import log_mel_batch
from sqa.metrics import write_mos_scp
from sqa.model import MosPredictor

#: Inputs longer than this are scored in chunks of this length.
CHUNK_SECONDS = 10.0
#: Chunks per forward pass (and waveforms per feature batch) in :func:`predict_batch`.
BATCH_SIZE = 32


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


def _chunks(feats: np.ndarray | torch.Tensor, size: int) -> list:
    """``feats`` cut into chunks of ``size`` frames; a last chunk under a quarter of that is
    joined to the one before."""
    chunks = [feats[i:i + size] for i in range(0, max(1, feats.shape[0]), size)]
    if len(chunks) > 1 and chunks[-1].shape[0] < size // 4:
        last = chunks.pop()
        chunks[-1] = (torch.cat([chunks[-1], last]) if isinstance(last, torch.Tensor)
                      else np.concatenate([chunks[-1], last]))
    return chunks


def _score_features(model: MosPredictor, feats: Sequence[np.ndarray | torch.Tensor],
                    chunk_seconds: float, batch_size: int) -> list[float]:
    """Mean-listener MOS of each utterance's features (frames, n_mels).

    Each utterance is cut into chunks (:func:`_chunks`) padded to its longest chunk, as one
    utterance alone would be; chunks of equal padded length, from any utterances, share
    forward passes of up to ``batch_size``. Scores are chunk means weighted by length.
    """
    model.eval()
    size = model.feature_config().frames(chunk_seconds)
    device = next(model.parameters()).device
    groups: dict[int, list[tuple[int, torch.Tensor, int]]] = defaultdict(list)
    for index, utterance in enumerate(feats):
        chunks = [torch.as_tensor(c) for c in _chunks(utterance, size)]
        width = max(c.shape[0] for c in chunks)
        for chunk in chunks:
            groups[width].append((index, chunk, chunk.shape[0]))
    total = np.zeros(len(feats))
    frames = np.zeros(len(feats))
    with torch.inference_mode():
        for width, items in groups.items():
            for start in range(0, len(items), max(1, batch_size)):
                part = items[start:start + max(1, batch_size)]
                lengths = torch.tensor([n for _, _, n in part])
                if int(lengths.min()) == width:
                    batch = torch.stack([c for _, c, _ in part])
                else:
                    batch = torch.zeros(len(part), width, part[0][1].shape[1])
                    for row, (_, chunk, n) in enumerate(part):
                        batch[row, :n] = chunk
                padded = int(lengths.min()) < width  # no mask when nothing is padded
                scores = model(batch.to(device), lengths.to(device) if padded else None
                               )["mos"].cpu().double()
                for (index, _, n), score in zip(part, scores.tolist(), strict=True):
                    total[index] += score * n
                    frames[index] += n
    return [float(t / n) for t, n in zip(total, frames, strict=True)]


def predict_features(model: MosPredictor, feats: np.ndarray,
                     chunk_seconds: float = CHUNK_SECONDS) -> float:
    """Mean-listener MOS of one utterance's features (frames, n_mels), in chunks."""
    return _score_features(model, [feats], chunk_seconds, BATCH_SIZE)[0]


def predict_batch(model: MosPredictor, waveforms: Sequence[np.ndarray],
                  sample_rates: int | Sequence[int], chunk_seconds: float = CHUNK_SECONDS,
                  batch_size: int = BATCH_SIZE) -> list[float]:
    """Predicted MOS of each mono waveform (each at its own rate, or all at one), the same
    numbers as :func:`predict` one by one up to float rounding.

    Waveforms of equal length and rate get their log-mel features in one batch (after one
    resampling call), and chunks of equal length share forward passes of up to
    ``batch_size``.

    Raises:
        ValueError: lengths of ``waveforms`` and ``sample_rates`` differ, or a waveform is
            not mono.
    """
    rates = ([int(sample_rates)] * len(waveforms) if isinstance(sample_rates, (int, np.integer))
             else [int(r) for r in sample_rates])
    if len(rates) != len(waveforms):
        raise ValueError(f"{len(waveforms)} waveforms but {len(rates)} sample rates")
    config = model.feature_config()
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    waves = [np.asarray(w, dtype=np.float32) for w in waveforms]
    for index, (wave, rate) in enumerate(zip(waves, rates, strict=True)):
        if wave.ndim != 1:
            raise ValueError(f"expected mono audio of shape (frames,), got {wave.shape}")
        groups[(wave.shape[0], rate)].append(index)
    feats: list[torch.Tensor | None] = [None] * len(waves)
    step = max(1, batch_size)
    for (_, rate), indices in groups.items():
        for start in range(0, len(indices), step):
            part = indices[start:start + step]
            for index, f in zip(part, log_mel_batch(np.stack([waves[i] for i in part]), rate,
                                                    config), strict=True):
                feats[index] = f
    return _score_features(model, feats, chunk_seconds, batch_size)


def predict(model: MosPredictor, waveform: np.ndarray, sample_rate: int,
            chunk_seconds: float = CHUNK_SECONDS) -> float:
    """Predicted MOS (mean listener, reference dataset scale) of a mono waveform at any
    rate."""
    return predict_batch(model, [waveform], [sample_rate], chunk_seconds)[0]


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


def _score_files(model: MosPredictor, pairs: list[tuple[str, str]], max_seconds: float,
                 chunk_seconds: float, batch_size: int) -> dict[str, float | Exception]:
    """Score (id, path) pairs in one :func:`predict_batch` call: id -> MOS, or the error
    that kept that file from being scored (files are then tried one by one, so one bad
    file does not sink the batch)."""
    results: dict[str, float | Exception] = {}
    loaded = []
    for item, path in pairs:
        try:
            loaded.append((item, path, load_audio(path, max_seconds=max_seconds, name=path)))
        except (AudioError, ValueError, OSError) as exc:
            results[item] = exc
    try:
        values = predict_batch(model, [a.samples for _, _, a in loaded],
                               [a.sample_rate for _, _, a in loaded], chunk_seconds,
                               batch_size)
    except (ValueError, RuntimeError):
        values = []
        for _, _, audio in loaded:
            try:
                values.append(predict(model, audio.samples, audio.sample_rate, chunk_seconds))
            except (ValueError, RuntimeError) as exc:
                values.append(exc)
    for (item, path, _), value in zip(loaded, values, strict=True):
        if isinstance(value, Exception):
            results[item] = AudioError(f"{path}: {value}")
        elif not math.isfinite(value):
            results[item] = AudioError(f"{path}: the prediction is not finite")
        else:
            results[item] = float(value)
    return {item: results[item] for item, _ in pairs}


def _ensemble(runs: list[dict[str, float | Exception]]) -> dict[str, float | Exception]:
    """Per id, the mean of the models' scores, or the first model's error for that file."""
    out: dict[str, float | Exception] = {}
    for item in runs[0]:
        values = [run[item] for run in runs]
        failed = [v for v in values if not isinstance(v, float)]
        out[item] = failed[0] if failed else float(np.mean(values))
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sqa.predict",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, action="append",
                        help="model folder (holding model.pt); repeat for the mean of several")
    parser.add_argument("--input", required=True, help="audio folder or wav.scp")
    parser.add_argument("--out", required=True, help="mos.scp to write")
    parser.add_argument("--chunk-seconds", type=float, default=CHUNK_SECONDS)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE,
                        help=f"files read and scored together (default {BATCH_SIZE})")
    parser.add_argument("--max-seconds", type=float, default=600.0,
                        help="longest input accepted (default 600)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        models = [load_predictor(m) for m in args.model]
        pairs = read_inputs(Path(args.input))
    except (CheckpointError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    scores: dict[str, float] = {}
    failed = 0
    step = max(1, args.batch_size)
    with tqdm(total=len(pairs), desc="predict", unit="file", file=sys.stderr,
              disable=None) as bar:
        for start in range(0, len(pairs), step):
            part = pairs[start:start + step]
            results = _ensemble([_score_files(model, part, args.max_seconds,
                                              args.chunk_seconds, step) for model in models])
            for item, value in results.items():
                if isinstance(value, float):
                    scores[item] = value
                else:
                    failed += 1
                    tqdm.write(f"{item}: {value}", file=sys.stderr)
            bar.update(len(part))
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
