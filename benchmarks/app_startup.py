"""Time from ``python -m webapp`` to the first answer of ``/api/health``.

Measures a first start (empty data folder: schema creation and demo seeding) and a restart
(data already there), several times each, and writes ``benchmarks/results/app_startup.md``.
The issue's target is an app ready within 20 s on a 2-core machine.

    python benchmarks/app_startup.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.server import start_app  # noqa: E402  (after the path set-up)

RESULTS = REPO / "benchmarks" / "results" / "app_startup.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    first, again = [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data"
            data.mkdir()
            for timings in (first, again):
                app = start_app(data)
                timings.append(app.startup_seconds)
                app.stop()
    lines = [
        "# App start-up time",
        "",
        f"`python benchmarks/app_startup.py --runs {args.runs}` on {date.today()}, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}.",
        "Seconds from process start until `GET /api/health` answers 200.",
        "",
        "| start | median s | max s | runs |",
        "|---|---|---|---|",
        f"| first (empty data folder: migrations + demo seeding) | "
        f"{statistics.median(first):.1f} | {max(first):.1f} | {len(first)} |",
        f"| restart (existing data folder) | {statistics.median(again):.1f} | "
        f"{max(again):.1f} | {len(again)} |",
        "",
        "Target: ready within 20 s.",
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
