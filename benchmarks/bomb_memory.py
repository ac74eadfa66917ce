"""Peak memory of an import fed a decompression bomb, and of the largest file accepted.

    python benchmarks/bomb_memory.py

Builds, in a temporary folder: a zip of about 1 MB holding one 1 GiB WAV of silence; a FLAC
of about 450 KB holding 10 minutes of 2-channel 192 kHz DC; and the largest file the import
accepts (10 minutes of 48 kHz stereo noise, 57.6 million samples, and 5.8 minutes of
192 kHz mono noise, 67.1 million, the most). Each is imported by
``library.importing`` (the path of uploads, folders and zips) in a fresh child process, on a
fresh SQLite file and store; the child reports its resident memory before the import and at
its peak (``ru_maxrss``), and what the import said. Writes
``benchmarks/results/bomb_memory.md``.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import wave
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "bomb_memory.md"

CHILD = r"""
import json, resource, sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from db.session import create_db_engine, make_session_factory, sqlite_url, upgrade_database
from db.store import AudioStore
from library.importing import ImportRejected, import_in_batches, plan_files, plan_path

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

work = Path(sys.argv[2])
engine = create_db_engine(sqlite_url(work / "bench.db"))
upgrade_database(engine)
sessions = make_session_factory(engine)
store = AudioStore(work / "audio")
before = rss_mb()
try:
    source = Path(sys.argv[1])
    plan = (plan_path(source) if source.suffix == ".zip"
            else plan_files([(source.name, source)]))  # a zip, or an uploaded file
    report = import_in_batches(sessions.begin, store, plan)
    said = report.summary() + " " + "; ".join(r for _, r in report.skipped)
except ImportRejected as exc:
    said = str(exc)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"before_mb": before, "peak_mb": peak, "said": said}))
"""


def zip_bomb(folder: Path) -> Path:
    """One WAV entry: a header for 1 GiB of 16-bit mono 16 kHz samples, then zeros."""
    path = folder / "bomb.zip"
    frames = 1024 ** 3 // 2
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("silence.wav", "w", force_zip64=True) as member:
            with wave.open(member, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(16000)
                w.setnframes(frames)
                block = b"\0" * (1 << 22)
                for _ in range(frames * 2 // len(block)):
                    w.writeframesraw(block)
    return path


def flac_bomb(folder: Path) -> Path:
    """10 minutes of 2-channel 192 kHz DC, written block by block."""
    path = folder / "dc.flac"
    block = np.full((192_000, 2), 0.5, dtype=np.float32)
    with sf.SoundFile(path, "w", samplerate=192_000, channels=2, format="FLAC",
                      subtype="PCM_16") as f:
        for _ in range(600):
            f.write(block)
    return path


def largest_accepted(folder: Path) -> Path:
    """10 minutes of 48 kHz stereo noise (the most a file may decode to is 67.1 million
    samples; this is 57.6 million)."""
    path = folder / "long.flac"
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", samplerate=48_000, channels=2, format="FLAC",
                      subtype="PCM_16") as f:
        for _ in range(600):
            f.write((0.1 * rng.standard_normal((48_000, 2))).astype(np.float32))
    return path


def worst_mono(folder: Path) -> Path:
    """The most samples a file may decode to, all in one channel: 5.8 minutes of 192 kHz
    mono noise (67.1 million samples): the largest arrays an import ever holds."""
    path = folder / "worst.flac"
    rng = np.random.default_rng(1)
    total = 64 * 1024 ** 2
    with sf.SoundFile(path, "w", samplerate=192_000, channels=1, format="FLAC",
                      subtype="PCM_16") as f:
        for start in range(0, total, 1 << 20):
            n = min(1 << 20, total - start)
            f.write((0.1 * rng.standard_normal(n)).astype(np.float32))
    return path


def measure(source: Path, repo: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="bomb-run-") as work:
        done = subprocess.run([sys.executable, "-c", CHILD, str(source), work, str(repo)],
                              capture_output=True, text=True, timeout=1800,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
    if done.returncode != 0:
        return {"before_mb": float("nan"), "peak_mb": float("nan"),
                "said": f"the import process failed: {done.stderr.strip()[-300:]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    repo = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO
    rows = []
    with tempfile.TemporaryDirectory(prefix="bombs-") as tmp:
        folder = Path(tmp)
        for label, make in (("zip with one 1 GiB entry", zip_bomb),
                            ("FLAC, 2 ch x 192 kHz x 10 min of DC", flac_bomb),
                            ("largest accepted: FLAC, 2 ch x 48 kHz x 10 min of noise",
                             largest_accepted),
                            ("most samples accepted: FLAC, 1 ch x 192 kHz x 5.8 min of noise",
                             worst_mono)):
            path = make(folder)
            result = measure(path, repo)
            rows.append(f"| {label} | {path.stat().st_size / 1024:.0f} KB | "
                        f"{result['before_mb']:.0f} | {result['peak_mb']:.0f} | "
                        f"{result['peak_mb'] - result['before_mb']:.0f} | "
                        f"{result['said'].strip()} |")
            path.unlink()
            print(rows[-1], flush=True)
    text = "\n".join([
        "# Memory of an import fed a decompression bomb",
        "",
        f"`python benchmarks/bomb_memory.py` on {datetime.now():%Y-%m-%d %H:%M}, "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.",
        "",
        "Each file is imported through `library.importing` (the path of uploads, folders "
        "and zips) in a fresh process; resident memory in MB before the import and at the "
        "process's peak.",
        "",
        "| file | size | RSS before (MB) | peak RSS (MB) | growth (MB) | what the import said |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
    ])
    if repo == REPO:
        RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
