"""Validate a MOS label file and write it as a normalised label table.

    python -m sqa.import --labels FILE [--format auto|urgent|bvcc|nisqa] [--audio-root DIR]
        --out labels.parquet|labels.csv [--decode-audio] [--no-audio-check]

Everything is checked first (:func:`sqa.labels.validate`); the output is written only when
no problem was found. Otherwise the command prints one line per problem (the first 20 and a
count of the rest) and exits with status 1, writing nothing. The output holds one row per
rating, with the columns of :data:`sqa.labels.LABEL_COLUMNS` (less ``line``) and any metric
columns; it reads back as an URGENT CSV.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sqa.label_formats import FORMATS, read_labels
from sqa.labels import LabelError, mean_opinion, to_output, validate

OUTPUT_SUFFIXES = (".parquet", ".csv")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sqa.import", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labels", required=True, type=Path, help="label file to import")
    parser.add_argument("--format", default="auto", choices=("auto", *FORMATS),
                        help="label format (default: detect from the first line)")
    parser.add_argument("--audio-root", type=Path, default=None,
                        help="folder that relative audio paths start from")
    parser.add_argument("--out", required=True, type=Path,
                        help="normalised table to write (.parquet or .csv)")
    parser.add_argument("--decode-audio", action="store_true",
                        help="decode every audio file, not only its header (slower)")
    parser.add_argument("--no-audio-check", action="store_true",
                        help="do not look at the audio files at all")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.out.suffix.lower() not in OUTPUT_SUFFIXES:
        print(f"error: --out must end in .parquet or .csv, got {args.out.name}",
              file=sys.stderr)
        return 1
    try:
        table = read_labels(args.labels, args.format, args.audio_root)
        validate(table, check_audio=not args.no_audio_check, decode_audio=args.decode_audio)
    except LabelError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return 1
    out = to_output(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_name(args.out.name + ".partial")
    if args.out.suffix.lower() == ".parquet":
        out.to_parquet(partial, index=False)
    else:
        out.to_csv(partial, index=False)
    os.replace(partial, args.out)
    mos = mean_opinion(table)
    print(f"{args.out}: {len(out)} ratings of {len(mos)} utterances from "
          f"{mos['system_id'].nunique()} systems")
    return 0


if __name__ == "__main__":
    sys.exit(main())
