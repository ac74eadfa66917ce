"""Enhance files with one system from the command line.

    python -m se.enhance --list
    python -m se.enhance --system mmse_lsa --input noisy/ --output enhanced/

Outputs are mono 16-bit FLAC named like the inputs, at the input's rate and length (the
URGENT submission format). Bad inputs are reported one line each and make the exit status
1; the other files are still written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from audio.io import AudioError, load_audio, save_audio
from se.manifest import read_inputs
from se.systems import ExternalSystem, System, SystemOutputError, available_systems, get_system

PROGRAM = "se.enhance"
DEFAULT_CHECKPOINTS = Path("checkpoints")


@dataclass
class EnhanceReport:
    """What a run did: files written, and the reason for each input that failed."""

    written: dict[str, Path] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def enhance_one(system: System, item_id: str, source: Path, output_dir: Path) -> Path:
    """Enhance one file into ``output_dir/<item_id>.flac``.

    Raises:
        AudioError: the input is unusable (multi-channel audio included: the systems are
            single-channel and a silent down-mix would hide what was scored).
        ValueError: the system refuses the input (e.g. an external output that differs).
        SystemOutputError: the system produced NaN or infinite samples.
    """
    target = output_dir / f"{item_id}.flac"
    if target.resolve() == source.resolve():
        raise AudioError(f"{source.name}: the output would overwrite the input")
    audio = load_audio(source, mono=False)
    if audio.channels != 1:
        raise AudioError(f"{source.name}: {audio.channels} channels; the systems take mono "
                         "audio, down-mix it first")
    enhanced = system.enhance_item(item_id, audio.samples, audio.sample_rate)
    return save_audio(target, enhanced, audio.sample_rate)


def enhance_files(system: System, items: dict[str, Path], output_dir: Path, *,
                  progress: bool | None = None) -> EnhanceReport:
    """Enhance every input, reporting failures instead of stopping at the first.

    Args:
        items: id -> input file (see :mod:`se.manifest`).
        progress: show a progress bar; None shows it only on a terminal.
    """
    report = EnhanceReport()
    output_dir.mkdir(parents=True, exist_ok=True)
    for item_id, source in tqdm(items.items(), desc=system.name, unit="file",
                                disable=None if progress is None else not progress):
        try:
            report.written[item_id] = enhance_one(system, item_id, source, output_dir)
        except (ValueError, SystemOutputError) as exc:
            report.failed[item_id] = str(exc)
            tqdm.write(f"{PROGRAM}: {exc}", file=sys.stderr)
    return report


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m {PROGRAM}", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--list", action="store_true",
                        help="print the systems, one a line: name<TAB>kind<TAB>description")
    action.add_argument("--system", help="name of the system to run")
    parser.add_argument("--input", type=Path, help="audio file, folder or wav.scp")
    parser.add_argument("--output", type=Path, help="folder for the enhanced FLAC files")
    parser.add_argument("--checkpoints", type=Path, default=None,
                        help=f"folder of neural checkpoints (default: ./{DEFAULT_CHECKPOINTS} "
                             "when it exists)")
    parser.add_argument("--external", type=Path, action="append", default=[],
                        help="folder of another system's outputs, a system named after the "
                             "folder (repeatable)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (0 done, 1 bad input, 2 bad usage)."""
    parser = _parser()
    args = parser.parse_args(argv)
    checkpoints = args.checkpoints
    if checkpoints is None and DEFAULT_CHECKPOINTS.is_dir():
        checkpoints = DEFAULT_CHECKPOINTS
    try:
        if args.list:
            for system in available_systems(checkpoints, args.external).values():
                print(f"{system.name}\t{system.kind}\t{system.description}")
            return 0
        if args.input is None or args.output is None:
            parser.error("--system needs --input and --output")
        system = get_system(args.system, checkpoints, args.external)
        items = read_inputs(args.input)
        if isinstance(system, ExternalSystem):
            match = system.match(items)
            if match.unmatched_inputs or match.unmatched_outputs:
                print(f"{PROGRAM}: {match.summary()}", file=sys.stderr)
            items = {item_id: items[item_id] for item_id in match.matched}
        report = enhance_files(system, items, args.output)
    except ValueError as exc:
        print(f"{PROGRAM}: {exc}", file=sys.stderr)
        return 1
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
