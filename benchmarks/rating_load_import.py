"""Votes while an admin imports: the rating load run twice, without and with a 500-file
import running on the same server (``python benchmarks/rating_load.py --import-files 500``).

An import decodes, checks and stores every file; only the short row writes may take the
app's write lock, so a vote's latency must not follow the import's. The import is the
admin API's ``POST /api/imports`` of a folder of ``--import-files`` WAV files (8 s each,
48 kHz, all different), made before the clock starts; it is repeated into a new dataset
until the load ends, so every vote of the second run meets a running import (repeats find
the audio stored and still decode and hash every file). Writes
``benchmarks/results/rating_load_import.md``.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import numpy as np
import soundfile as sf

from benchmarks.rating_load import REPO, count_stored_votes, machine, pace
from listening_tests.simulate import create_test, run_simulation, simulation_test_spec
from listening_tests.simulate_behaviours import LatencySummary, SimulationReport
from tests.server import start_app

RESULTS = REPO / "benchmarks" / "results" / "rating_load_import.md"
FILE_SECONDS, FILE_RATE = 8.0, 48_000


def make_files(folder: Path, count: int) -> None:
    """``count`` different WAV files of noise-excited tones (cheap to make)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    t = np.arange(int(FILE_SECONDS * FILE_RATE)) / FILE_RATE
    for i in range(count):
        x = 0.2 * np.sin(2 * np.pi * (100 + i) * t) + 0.02 * rng.standard_normal(len(t))
        sf.write(folder / f"file{i:04d}.wav", x.astype(np.float32), FILE_RATE,
                 subtype="PCM_16")


@dataclass
class ImportLoop:
    """Imports the folder again and again on a thread until stopped."""

    url: str
    password: str
    folder: Path
    seconds: list[float] = field(default_factory=list)
    files_done: int = 0
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=600, trust_env=False,
                          headers={"Authorization": f"Bearer {self.password}"}) as client:
            round_ = 0
            while not self._stop.is_set():
                round_ += 1
                started = time.monotonic()
                r = client.post("/api/imports", json={"path": str(self.folder),
                                                      "dataset": f"import-{round_}"})
                if r.status_code >= 400:
                    self.errors.append(f"{r.status_code}: {r.text[:200]}")
                    return
                body = r.json()
                self.files_done += len(body["added"]) + len(body["duplicates"])
                self.seconds.append(time.monotonic() - started)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()


def load_once(args: argparse.Namespace, folder: Path | None
              ) -> tuple[SimulationReport, ImportLoop | None, tuple[int, int]]:
    """One run of the rating load on a fresh app; with ``folder``, imports run meanwhile."""
    with tempfile.TemporaryDirectory(prefix="rating-load-import-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        app = start_app(data, timeout=300)  # a shared machine starts slowly
        loop = None
        try:
            spec = simulation_test_spec("load test", votes_per_clip=1000, clips_per_session=10)
            if args.think_scale < 1:
                spec["quality_control"] = {"min_listening_fraction": None}
            test_id = create_test(app.url, app.password, spec)
            if folder is not None:
                loop = ImportLoop(app.url, app.password, folder)
                thread = loop.start()
            report = run_simulation(app.url, test_id, args.raters, args.concurrency,
                                    args.seed, None, app.password,
                                    duration_seconds=args.seconds,
                                    think_scale=args.think_scale,
                                    ramp_seconds=args.ramp_seconds, timeout_seconds=30.0)
            if loop is not None:
                loop.stop()
                thread.join(timeout=600)
        finally:
            app.stop()
        stored = count_stored_votes(data / "workbench.db")
    return report, loop, (stored.rows, stored.distinct_items)


def compare(args: argparse.Namespace) -> str:
    """Both runs, and the page that compares them."""
    with tempfile.TemporaryDirectory(prefix="import-files-") as tmp:
        folder = Path(tmp) / "to-import"
        make_files(folder, args.import_files)
        quiet, _, quiet_rows = load_once(args, None)
        busy, loop, busy_rows = load_once(args, folder)
    rows = []
    for label, report, stored in (("without import", quiet, quiet_rows),
                                  ("with import running", busy, busy_rows)):
        vote = report.latency
        audio = LatencySummary.of(report.latencies_ms.get("item audio", []))
        lost = report.votes_acknowledged - stored[0]
        start = LatencySummary.of(report.latencies_ms.get("start session", []))
        errors = ", ".join(f"{k}: {n}" for k, n in sorted(report.errors.items())) or "none"
        rows.append(f"| {label} | {report.sessions_started} | {start.p50:.0f} / "
                    f"{start.p95:.0f} | {report.votes_acknowledged} | {vote.p50:.0f} / "
                    f"{vote.p95:.0f} / {vote.max:.0f} | {audio.p50:.0f} / {audio.p95:.0f} / "
                    f"{audio.max:.0f} | {max(lost, 0)} / {stored[0] - stored[1]} | {errors} |")
    rounds = (f"median {np.median(loop.seconds):.1f} s, longest {max(loop.seconds):.1f} s"
              if loop.seconds else "none finished")
    text = "\n".join([
        "# Votes while an import runs",
        "",
        f"`python benchmarks/rating_load.py --import-files {args.import_files} --raters "
        f"{args.raters} --seconds {args.seconds:g} --concurrency {args.concurrency} "
        f"--think-scale {args.think_scale:g} --ramp-seconds {args.ramp_seconds:g} --seed "
        f"{args.seed}` on {datetime.now():%Y-%m-%d %H:%M}, {machine()}.",
        "",
        "The rating load of `rating_load.md` (ACR test on the demo set, "
        f"{min(args.raters, args.concurrency)} simulated raters at once for {args.seconds:g} s, "
        f"{pace(args)}) on a fresh app, twice: alone, then with the admin API importing a "
        f"folder of {args.import_files} WAV files ({FILE_SECONDS:g} s, {FILE_RATE} Hz, all "
        "different) over and over into new datasets for the whole run. Server, raters and "
        "import share the machine's cores (and the machine was shared with other work), so "
        "the import's decoding takes CPU from the server either way; what must not happen is "
        "a vote waiting for the import's write lock.",
        "",
        "| run | sessions started | session start p50 / p95 (ms) | votes acknowledged | vote "
        "latency p50 / p95 / max (ms) | item audio p50 / p95 / max (ms) | votes lost / doubled "
        "| errors |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Imports during the second run: {len(loop.seconds)} finished ({loop.files_done} files "
        f"imported or found stored), {rounds} each."
        + (f" Import errors: {'; '.join(loop.errors)}." if loop.errors else ""),
        "",
    ])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    return text
