"""``python -m curation score|select``: score a corpus, then select from it by rules.

    python -m curation score --input wav.scp|DIR --out scores/ [--metrics vad,dnsmos]
        [--workers 2 | --scheduler tcp://host:8786] [--shard K/N] [--retry-failed]
    python -m curation select --scores scores/ --rules conf/curation/urgent2025.yaml
        --out curated/

Bad input (a missing or malformed list, a pipe in a wav.scp, a malformed rule file) is one
line per problem on stderr and exit status 2, before anything is written. Files that fail
to score get their reason in the table (``error``), are listed on stderr, and the exit
status is 1; everything scored is kept.
"""

from __future__ import annotations

import argparse
import sys

from curation.inputs import InputError, parse_shard, read_input
from curation.metrics import DEFAULT_SQA_MODEL, GROUPS, parse_groups
from curation.rules import RuleError, load_rules
from curation.scoring import ScoreOptions, score_corpus
from curation.selection import select, summary, write_selection
from curation.store import read_scores


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m curation", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    score = sub.add_parser("score", help="score every file of a corpus into a Parquet table")
    score.add_argument("--input", required=True,
                       help="a wav.scp (<id> <path>; a utt2source beside it names sources) or "
                            "a folder (sources: its sub-folders); a library dataset: "
                            "python -m library.curation export first")
    score.add_argument("--out", required=True, help="scores folder (resumed if it exists)")
    score.add_argument("--metrics", default="all",
                       help=f"comma-separated groups among {', '.join(GROUPS)} (basic is "
                            f"always computed); default all")
    score.add_argument("--source", default=None, help="source name for every file")
    score.add_argument("--workers", type=int, default=1, help="processes on this machine")
    score.add_argument("--scheduler", default=None,
                       help="Dask distributed scheduler address, e.g. tcp://host:8786")
    score.add_argument("--shard", default=None, help="K/N: score only shard K of N")
    score.add_argument("--sqa-model", default=DEFAULT_SQA_MODEL,
                       help="quality model folder (default: the shipped checkpoint)")
    score.add_argument("--max-seconds", type=float, default=600.0,
                       help="longer files are refused (default 600)")
    score.add_argument("--retry-failed", action="store_true",
                       help="score again the groups that failed before")
    score.add_argument("--quiet", action="store_true", help="no progress bar")
    sel = sub.add_parser("select", help="select files of a scored corpus by a rule file")
    sel.add_argument("--scores", required=True, help="scores folder of `curation score`")
    sel.add_argument("--rules", required=True, help="rule file (conf/curation/NAME.yaml)")
    sel.add_argument("--out", required=True, help="folder for wav.scp, utt2fs, lists, report")
    sel.add_argument("--no-report", action="store_true", help="skip report.md and its PNG")
    return parser


def _fail(lines: list[str]) -> int:
    for line in lines:
        print(f"error: {line}", file=sys.stderr)
    return 2


def _score(args: argparse.Namespace) -> int:
    try:
        groups = parse_groups(args.metrics)
        shard = parse_shard(args.shard) if args.shard else None
        files = read_input(args.input, source_name=args.source)
    except InputError as exc:
        return _fail(exc.problems)
    except ValueError as exc:
        return _fail([str(exc)])
    if args.workers < 1:
        return _fail(["--workers must be at least 1"])
    options = ScoreOptions(groups=groups, sqa_model=args.sqa_model, max_seconds=args.max_seconds)
    report = score_corpus(files, args.out, options, workers=args.workers,
                          scheduler=args.scheduler, shard=shard,
                          retry_failed=args.retry_failed, progress=not args.quiet)
    for line in report.failed:
        print(f"failed: {line}", file=sys.stderr)
    print(f"{report.summary()} Scores: {args.out} ({report.seconds:.1f} s)")
    return 1 if report.failed else 0


def _select(args: argparse.Namespace) -> int:
    try:
        rules = load_rules(args.rules)
    except RuleError as exc:
        return _fail(exc.problems)
    try:
        table = read_scores(args.scores)
    except FileNotFoundError as exc:
        return _fail([str(exc)])
    selection = select(table, rules)
    out = write_selection(selection, args.out, report=not args.no_report)
    total = summary(selection).iloc[-1]
    print(f"rule set {rules.name}: kept {total.files_kept} of {total.files_in} files, "
          f"{total.hours_kept:.2f} of {total.hours_in:.2f} hours -> {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return _score(args) if args.command == "score" else _select(args)


if __name__ == "__main__":
    sys.exit(main())
