"""Score MOS predictions against human labels.

    python -m sqa.evaluate --pred mos.scp --labels FILE [--format auto|urgent|bvcc|nisqa]
        [--json out.json]

Prints MSE, LCC, SRCC and KTAU at utterance and system level (:func:`sqa.metrics.evaluate`)
and writes them as JSON when ``--json`` is given (NaN written as null). The labels may be
any supported label file or a table written by ``python -m sqa.import``; their audio is not
opened. Exit status 1 with one line per problem when the inputs do not fit.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from sqa.label_formats import FORMATS, read_labels
from sqa.labels import LabelError, validate
from sqa.metrics import METRICS, EvaluationError, MosScpError, evaluate, read_mos_scp


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sqa.evaluate", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pred", required=True, type=Path, help="predictions, mos.scp")
    parser.add_argument("--labels", required=True, type=Path, help="human label file")
    parser.add_argument("--format", default="auto", choices=("auto", *FORMATS),
                        help="label format (default: detect from the first line)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    return parser


def format_table(results: dict[str, dict]) -> str:
    """The results as a small fixed-width table, one row per level."""
    head = f"{'level':<10} {'n':>6}" + "".join(f" {name:>7}" for name in METRICS)
    rows = [head]
    for level, values in results.items():
        cells = "".join(f" {values[name]:>7.4f}" for name in METRICS)
        rows.append(f"{level:<10} {values['n']:>6}{cells}")
    return "\n".join(rows)


def _json_ready(results: dict[str, dict]) -> dict[str, dict]:
    return {level: {k: (None if isinstance(v, float) and math.isnan(v) else v)
                    for k, v in values.items()} for level, values in results.items()}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        pred = read_mos_scp(args.pred)
        labels = read_labels(args.labels, args.format)
        validate(labels, check_audio=False)
        results = evaluate(pred, labels)
    except LabelError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return 1
    except MosScpError as exc:
        print(exc, file=sys.stderr)
        return 1
    except EvaluationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(format_table(results))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(_json_ready(results), indent=2) + "\n",
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
