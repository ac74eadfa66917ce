"""Where a rating worker's CPU goes over HTTP: py-spy samples of the workers under a crowd.

Deploys the admin app and ``python -m webapp.rating --workers N`` on a throwaway PostgreSQL
cluster (or SQLite with one worker), lets simulated raters work at a person's pace, and
samples the workers with py-spy while they hold the GIL (``--gil``: CPU, not waiting). Each
sample is charged to the package of its innermost frame; the table groups the packages by
layer. Also the CPU milliseconds per request of the workers, PostgreSQL and the load
generator. Writes ``benchmarks/results/rating_worker_profile.md``.

    python benchmarks/rating_worker_profile.py [--database postgresql] [--workers 1]
        [--raters 150] [--seconds 30] [--ramp-seconds 5]

Needs py-spy (requirements-dev.txt) and permission to read the workers' memory (the same
user, ptrace allowed).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.rating_load import postmaster_pid, tree_cpu_seconds  # noqa: E402
from listening_tests.simulate import (  # noqa: E402
    create_test,
    run_simulation,
    simulation_test_spec,
)

RESULTS = REPO / "benchmarks" / "results" / "rating_worker_profile.md"
#: (layer, pattern on the innermost frame's file), first match wins.
LAYERS = (
    ("HTTP server (uvicorn, httptools, h11)", r"[(/]uvicorn/|httptools|[(/]h11/"),
    ("event loop and threads (asyncio, uvloop, anyio, threading)",
     r"[(/]asyncio/|uvloop|libuv|[(/]anyio/|threading\.py|[(/]concurrent/|selectors\.py|"
     r"socket\.py|pthread|epoll"),
    ("web framework (FastAPI, Starlette, pydantic)", r"[(/]fastapi/|[(/]starlette/|pydantic"),
    ("request limits middleware (webapp/limits.py)", r"webapp/limits\.py"),
    ("SQLAlchemy", r"[(/]sqlalchemy/"),
    ("psycopg (driver, libpq)", r"psycopg|libpq"),
    ("listening-test services and handlers (listening_tests/, webapp/, db/)",
     r"[(/]listening_tests/|[(/]webapp/|[(/]db/"),
    ("audio (soundfile, numpy)", r"soundfile|numpy|[(/]audio/"),
    ("logging", r"[(/]logging/"),
    ("JSON", r"[(/]json/"),
)


def layer_of(frames: list[str]) -> str:
    """The layer of the innermost frame that belongs to one (the interpreter's own native
    frames belong to none: they are charged to the Python code they run)."""
    for frame in reversed(frames):
        for name, pattern in LAYERS:
            if re.search(pattern, frame):
                return name
    return "other (Python runtime, stdlib)"


def summarise(raw: Path) -> tuple[int, Counter[str]]:
    """Total samples and samples per layer from py-spy's raw (collapsed stacks) output."""
    total, layers = 0, Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        total += int(count)
        layers[layer_of(stack.split(";"))] += int(count)
    return total, layers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--raters", type=int, default=150)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--ramp-seconds", type=float, default=5.0)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--samples", type=Path, default=None,
                        help="keep py-spy's raw samples here (collapsed stacks)")
    args = parser.parse_args()
    spy = shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is not installed: pip install -r requirements-dev.txt")
    from tests import pg_cluster
    from tests.rating_server import deploy

    workers = args.workers if args.database == "postgresql" else 1
    with tempfile.TemporaryDirectory(prefix="rating-worker-profile-") as tmp:
        cluster = None
        try:
            if args.database == "postgresql":
                cluster = pg_cluster.init_cluster(fast=False)
                url = pg_cluster.create_database(cluster.url(), "worker_profile")
            else:
                url = f"sqlite:///{tmp}/data/workbench.db"
            data = Path(tmp) / "data"
            data.mkdir()
            running = deploy(data, url, workers)
            try:
                spec = simulation_test_spec("load test", votes_per_clip=1000,
                                            clips_per_session=10)
                test_id = create_test(running.rating.url, running.admin.password, spec)
                pid = running.rating.process.pid
                raw = Path(tmp) / "samples.txt"
                sampler = subprocess.Popen(
                    [spy, "record", "-p", str(pid), "--subprocesses", "--gil", "--native",
                     "-r", "200",
                     "-f", "raw", "-o", str(raw), "-d", str(int(args.seconds + 5))],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                postgres = postmaster_pid(cluster.data_dir) if cluster else None
                before = (tree_cpu_seconds(pid), tree_cpu_seconds(postgres),
                          time.process_time())
                report = run_simulation(running.rating.url, test_id, args.raters, args.raters,
                                        0, None, None, duration_seconds=args.seconds,
                                        think_scale=1, ramp_seconds=args.ramp_seconds,
                                        timeout_seconds=30.0)
                used = (tree_cpu_seconds(pid) - before[0],
                        tree_cpu_seconds(postgres) - before[1],
                        time.process_time() - before[2])
                sampler.wait(timeout=120)
            finally:
                running.stop()
        finally:
            if cluster is not None:
                cluster.destroy()
        total, layers = summarise(raw)
        if args.samples:
            shutil.copyfile(raw, args.samples)
    requests = max(sum(len(v) for v in report.latencies_ms.values()), 1)
    lines = ["# Where a rating worker's CPU goes over HTTP", "",
             f"`python benchmarks/rating_worker_profile.py --database {args.database} "
             f"--workers {workers} --raters {args.raters} --seconds {args.seconds:g} "
             f"--ramp-seconds {args.ramp_seconds:g}` on {datetime.now():%Y-%m-%d %H:%M}, "
             "load average {:.1f} / {:.1f} / {:.1f} at the end.".format(*os.getloadavg()), "",
             f"{args.raters} simulated raters (arriving over {args.ramp_seconds:g} s, a "
             f"person's pace) on `python -m webapp.rating --workers {workers}` "
             f"({args.database}); py-spy sampled the workers 200 times a second while they "
             f"held the GIL: {total} samples, each charged to the layer of its innermost frame "
             "that belongs to one, native frames (C extensions, uvloop, libpq) included; the "
             "interpreter's own frames count to the Python code they run.", "",
             "| layer | share of the workers' CPU samples |", "|---|---|"]
    lines += [f"| {name} | {100 * n / max(total, 1):.0f}% |" for name, n in layers.most_common()]
    lines += ["", f"{requests} rater calls; CPU ms per call: rating workers "
              f"{1000 * used[0] / requests:.1f}, PostgreSQL {1000 * used[1] / requests:.1f}, "
              f"load generator {1000 * used[2] / requests:.1f}.", ""]
    text = "\n".join(lines)
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
