"""Score enhanced files with the URGENT metrics that run offline.

    python -m se.evaluate --est enhanced/ --ref clean/ --out scores.csv

One row per estimate and a final ``mean`` row. Intrusive columns (pesq, estoi, si_sdr, sdr,
lsd, mcd) appear only with ``--ref``; estimates and references are matched by file name
(or wav.scp id). A metric that cannot score a file leaves NaN, is reported on stderr and in
the ``errors`` column, and is left out of the mean.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from audio.io import Audio, AudioError, load_audio
from audio.metrics import DEFAULT_METRICS, METRICS, ClipScores, score_clip
from se.manifest import read_inputs

PROGRAM = "se.evaluate"
MEAN_ROW = "mean"


def _load_mono(path: Path, role: str) -> Audio:
    audio = load_audio(path, mono=False, name=f"{role} {path.name}")
    if audio.channels != 1:
        raise AudioError(f"{role} {path.name}: {audio.channels} channels; the metrics take "
                         "mono audio")
    return audio


def _failed(metrics: Sequence[str], reason: str) -> ClipScores:
    return ClipScores(values={name: math.nan for name in metrics},
                      errors={name: reason for name in metrics})


def score_file(estimate: Path, reference: Path | None, metrics: Sequence[str]) -> ClipScores:
    """Scores of one estimate file, NaN with a reason wherever a metric cannot run."""
    try:
        est = _load_mono(estimate, "estimate")
    except AudioError as exc:
        return _failed(metrics, str(exc))
    intrusive = [name for name in metrics if METRICS[name].intrusive]
    ref_samples, problem = None, None
    if reference is None and intrusive:
        problem = f"no reference named {estimate.stem}"
    elif reference is not None:
        try:
            ref = _load_mono(reference, "reference")
            if ref.sample_rate != est.sample_rate:
                problem = (f"reference is {ref.sample_rate} Hz but estimate is "
                           f"{est.sample_rate} Hz")
            ref_samples = ref.samples
        except AudioError as exc:
            problem = str(exc)
    if problem is not None:
        scores = score_clip(est.samples, est.sample_rate, None,
                            [name for name in metrics if name not in intrusive])
        failed = _failed(intrusive, problem)
        return ClipScores(values={**failed.values, **scores.values},
                          errors={**failed.errors, **scores.errors})
    return score_clip(est.samples, est.sample_rate, ref_samples, metrics)


def evaluate_files(estimates: dict[str, Path], references: dict[str, Path] | None,
                   metrics: Sequence[str] = DEFAULT_METRICS, *,
                   progress: bool | None = None) -> pd.DataFrame:
    """A table with one row per estimate (``id``, the metrics, ``errors``) and a mean row.

    Args:
        estimates: id -> enhanced file.
        references: id -> clean file, or None when there are none (then pass only
            non-intrusive ``metrics``).
        progress: show a progress bar; None shows it only on a terminal.
    """
    rows = []
    for item_id, path in tqdm(estimates.items(), desc="scoring", unit="file",
                              disable=None if progress is None else not progress):
        reference = None if references is None else references.get(item_id)
        scores = score_file(path, reference, metrics)
        for name, reason in scores.errors.items():
            tqdm.write(f"{PROGRAM}: {item_id}: {name}: {reason}", file=sys.stderr)
        errors = "; ".join(f"{name}: {reason}" for name, reason in scores.errors.items())
        rows.append({"id": item_id, **scores.values, "errors": errors})
    table = pd.DataFrame(rows, columns=["id", *metrics, "errors"])
    failed = {name: int(table[name].isna().sum()) for name in metrics}
    mean = {name: float(np.nanmean(table[name])) if failed[name] < len(table) else math.nan
            for name in metrics}
    note = "; ".join(f"{name}: {count} of {len(table)} failed"
                     for name, count in failed.items() if count)
    return pd.concat([table, pd.DataFrame([{"id": MEAN_ROW, **mean, "errors": note}])],
                     ignore_index=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m {PROGRAM}", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--est", type=Path, required=True,
                        help="enhanced audio: file, folder or wav.scp")
    parser.add_argument("--ref", type=Path, help="clean references: file, folder or wav.scp")
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    parser.add_argument("--metrics", help="comma-separated subset of "
                        f"{','.join(METRICS)} (default: {','.join(DEFAULT_METRICS)}; "
                        "intrusive ones only with --ref)")
    return parser


def _choose_metrics(requested: str | None, have_reference: bool) -> list[str]:
    if requested is None:
        return [m for m in DEFAULT_METRICS if have_reference or not METRICS[m].intrusive]
    names = [name.strip() for name in requested.split(",") if name.strip()]
    unknown = [name for name in names if name not in METRICS]
    if unknown:
        raise ValueError(f"unknown metrics {', '.join(unknown)}; known: {', '.join(METRICS)}")
    intrusive = [name for name in names if METRICS[name].intrusive]
    if intrusive and not have_reference:
        raise ValueError(f"{', '.join(intrusive)} need references: add --ref")
    return names


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (0 written, 1 bad input, 2 bad usage)."""
    args = _parser().parse_args(argv)
    try:
        metrics = _choose_metrics(args.metrics, args.ref is not None)
        estimates = read_inputs(args.est)
        references = read_inputs(args.ref) if args.ref is not None else None
    except ValueError as exc:
        print(f"{PROGRAM}: {exc}", file=sys.stderr)
        return 1
    if references is not None:
        if not estimates.keys() & references.keys():
            print(f"{PROGRAM}: no estimate is named like a reference", file=sys.stderr)
            return 1
        unused = [item for item in references if item not in estimates]
        if unused:
            print(f"{PROGRAM}: {len(unused)} references have no estimate", file=sys.stderr)
    table = evaluate_files(estimates, references, metrics)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
