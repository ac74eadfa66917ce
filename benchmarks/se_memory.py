"""Peak memory and speed of each enhancement system on a long file (default: 10 min, 48 kHz).

    python -m benchmarks.se_memory [--systems mmse_lsa,rnnoise] [--minutes 10] [--rate 48000]

Each system runs in its own process, through the same path as ``python -m se.enhance``
(load, enhance, save 16-bit FLAC), and reports its peak resident memory, so one system's
peak cannot hide another's. The target is under 2 GB for every system.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

from audio.io import save_audio
from se.enhance import enhance_files
from se.systems import BUILTIN_SYSTEMS, get_system
from tests.signals import speech_like

REPO = Path(__file__).resolve().parents[1]
LIMIT_MB = 2048.0
RESULTS = REPO / "benchmarks" / "results" / "se_memory.md"


def _peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB.

    Linux's ``VmHWM`` counts this program only; ``getrusage``'s ``ru_maxrss`` also keeps
    the parent's peak from before ``exec`` (here: the parent that wrote the long input).
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def write_long_input(path: Path, minutes: float, rate: int) -> None:
    """Speech-like signal (a 10 s pattern repeated) plus white noise at about 5 dB SNR."""
    piece = speech_like(10.0, rate, level=0.5)
    frames = round(minutes * 60 * rate)
    speech = np.tile(piece, -(-frames // len(piece)))[:frames]
    noise = np.random.default_rng(0).standard_normal(frames, dtype=np.float32)
    noise *= np.float32(np.sqrt(np.mean(piece.astype(np.float64) ** 2) / 10**0.5))
    save_audio(path, speech + noise, rate)


def run_child(name: str, source: Path, output: Path) -> dict[str, float | str]:
    """Enhance one file with one system in this process; report time and peak memory."""
    system = get_system(name)
    before = _peak_rss_mb()
    start = time.perf_counter()
    report = enhance_files(system, {"long": source}, output, progress=False)
    seconds = time.perf_counter() - start
    if report.failed:
        raise SystemExit(f"{name} failed: {report.failed}")
    return {"system": name, "seconds": seconds, "peak_rss_mb": _peak_rss_mb(),
            "rss_after_imports_mb": before}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--systems", default=",".join(BUILTIN_SYSTEMS))
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=48_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child, args.input, args.output)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "long.flac"
        write_long_input(source, args.minutes, args.rate)
        audio_seconds = args.minutes * 60
        lines = ["# Enhancement systems on a long file: memory and speed", "",
                 f"`python -m benchmarks.se_memory --minutes {args.minutes:g} --rate "
                 f"{args.rate}` on {date.today()}: one {args.minutes:g}-minute mono file at "
                 f"{args.rate} Hz, loaded, enhanced and saved as 16-bit FLAC, one process per "
                 "system. Peak RSS is Linux's VmHWM of that process.", "",
                 "| system | seconds | x real time | peak RSS MB | after imports MB |",
                 "|---|---|---|---|---|"]
        worst = 0.0
        for name in args.systems.split(","):
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.se_memory", "--child", name, "--input",
                 str(source), "--output", str(Path(tmp) / name)],
                cwd=REPO, capture_output=True, text=True, check=True)
            row = json.loads(done.stdout.strip().splitlines()[-1])
            worst = max(worst, row["peak_rss_mb"])
            lines.append(f"| {name} | {row['seconds']:.1f} | "
                         f"{audio_seconds / row['seconds']:.1f} | {row['peak_rss_mb']:.0f} | "
                         f"{row['rss_after_imports_mb']:.0f} |")
            print(lines[-1], flush=True)
    lines += ["", f"Largest peak: {worst:.0f} MB (limit {LIMIT_MB:.0f} MB).", ""]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0 if worst < LIMIT_MB else 1


if __name__ == "__main__":
    sys.exit(main())
