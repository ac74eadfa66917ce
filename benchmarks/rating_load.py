"""The rating API under a crowd: latency of every call and lost or doubled votes.

Starts the real app (``python -m webapp``, default SQLite, demo set) on a fresh data folder,
creates and opens an ACR test through the admin API, and lets simulated raters
(:mod:`listening_tests.simulate`) work on it for a fixed time, each finished rater replaced by
a new participant. Then it stops the server and reads the SQLite file directly: the votes
stored must be exactly the votes the server acknowledged, once each. Writes
``benchmarks/results/rating_load.md``. Target: p95 vote latency below 250 ms at 200 raters on
a 2-core machine, nothing lost.

    python benchmarks/rating_load.py [--raters 200] [--seconds 60] [--concurrency 200]
        [--think-scale 1.0] [--ramp-seconds 0] [--seed 0]

Scale mode (``--scale``): the admin app and the rating server (``python -m webapp.rating``)
on one database, at each of ``--scale-raters`` (default 200, 1000, 2000) concurrent raters, on
SQLite with one worker and on PostgreSQL with ``--workers`` (default 4; a throwaway cluster
unless ``--db-url`` names a server), in one run; writes ``benchmarks/results/rating_scale.md``.

    python benchmarks/rating_load.py --scale [--seconds 60] [--ramp-seconds 30] [--workers 4]
        [--capacity-steps 3] [--db-url postgresql+psycopg://user@host/postgres]

then bisects, per database, for the largest crowd at which every rater call's p95 stays under
250 ms (``--capacity-steps`` more runs each), and reports the CPU milliseconds per request of
each part (load generator, rating server, PostgreSQL, admin app).

Simulated raters and server share the machine's cores, so the latencies include the load
generator's own CPU use; they are an upper bound for a server that has the cores alone.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from listening_tests.methods import METHODS  # noqa: E402
from listening_tests.simulate import (  # noqa: E402
    comparison_test_spec,
    create_test,
    run_simulation,
    simulation_test_spec,
)
from listening_tests.simulate_behaviours import LatencySummary, SimulationReport  # noqa: E402
from tests.server import start_app  # noqa: E402  (after the path set-up)

RESULTS = REPO / "benchmarks" / "results" / "rating_load.md"
TARGET_P95_MS = 250.0
AB_SYSTEMS = ["reference", "unprocessed"]  # the demo set's two systems
PAIR_SYSTEMS = {"ab": AB_SYSTEMS, "ranking": AB_SYSTEMS, "ccr": ["unprocessed"],
                "mushra": ["unprocessed"]}  # MUSHRA: + hidden reference and two anchors
VOTES_TABLE, SESSION_COLUMN, ITEM_COLUMN = "votes", "session_id", "session_item_id"  # db.models


def method_flag(args: argparse.Namespace) -> str:
    """`` --method X`` for a run of another method than ACR (the command line as given)."""
    return f" --method {args.method}" if args.method != "acr" else ""


def describe_pair_test(spec: dict) -> str:
    """The test of a pair-family run in words, in the method's own size keys (pairs, or
    MUSHRA's listeners per page and pages)."""
    kind = METHODS[spec["method"]]
    per_item, per_session = kind.spec_keys()
    unit = per_session.split("_")[0]
    both = " (each answer fetches both sides)" if kind.two_stimuli else ""
    return (f"{unit} comparing {', '.join(spec['pairs']['systems'])}, {spec[per_item]} "
            f"{per_item.replace('_', ' ')}, {spec[per_session]} "
            f"{per_session.replace('_', ' ')}{both}, {spec['training']['count']} training "
            f"{unit}, {'gold on' if spec['gold']['count'] else 'no gold items'}, "
            "qualification and volume checks.")


@dataclass(frozen=True)
class StoredVotes:
    """What the database holds after the run."""

    rows: int  # one per answer: one per item, three for a P.835 item (one per scale)
    distinct_items: int  # distinct (session, item): the votes the server acknowledged
    distinct_answers: int  # distinct (session, item, stimulus, scale): rows when none doubled


def count_stored_votes(database: Path) -> StoredVotes:
    """Count vote rows and distinct (session, item) pairs in the app's SQLite file."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        rows = connection.execute(f"SELECT COUNT(*) FROM {VOTES_TABLE}").fetchone()[0]
        distinct = connection.execute(
            f"SELECT COUNT(*) FROM (SELECT DISTINCT {SESSION_COLUMN}, {ITEM_COLUMN} "
            f"FROM {VOTES_TABLE})").fetchone()[0]
        answers = connection.execute(
            f"SELECT COUNT(*) FROM (SELECT DISTINCT {SESSION_COLUMN}, {ITEM_COLUMN}, stimulus, "
            f"scale FROM {VOTES_TABLE})").fetchone()[0]
    return StoredVotes(int(rows), int(distinct), int(answers))


def count_votes_at(db_url: str) -> StoredVotes:
    """Count vote rows and distinct (session, item) pairs in any database."""
    from sqlalchemy import create_engine, func, select
    from sqlalchemy.pool import NullPool

    from db.models import Vote

    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            rows = connection.scalar(select(func.count(Vote.id)))
            distinct = connection.scalar(select(func.count()).select_from(
                select(Vote.session_id, Vote.session_item_id).distinct().subquery()))
            answers = connection.scalar(select(func.count()).select_from(
                select(Vote.session_id, Vote.session_item_id, Vote.stimulus, Vote.scale)
                .distinct().subquery()))
    finally:
        engine.dispose()
    return StoredVotes(int(rows or 0), int(distinct or 0), int(answers or 0))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = ", load average {:.1f} / {:.1f} / {:.1f} at the end".format(*os.getloadavg()) \
        if hasattr(os, "getloadavg") else ""
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}{load}"


def pace(args: argparse.Namespace) -> str:
    arrival = (f"arriving evenly over the first {args.ramp_seconds:g} s" if args.ramp_seconds
               else "all arriving at once")
    speed = ("voting flat out" if args.think_scale <= 0
             else f"at {1 / args.think_scale:.2g}x the pace of a person")
    return f"{arrival}, {speed}"


def render(args: argparse.Namespace, report: SimulationReport, stored: StoredVotes,
           test_spec: dict) -> str:
    """The results page: command, set-up, numbers and whether the target was met."""
    lat = report.latency
    lost = report.votes_acknowledged - stored.distinct_items
    doubled = stored.rows - stored.distinct_answers
    met_latency = lat.count > 0 and lat.p95 < TARGET_P95_MS
    intact = lost == 0 and doubled == 0
    errors = ", ".join(f"{k}: {n} ({report.error_examples[k]})"
                       for k, n in sorted(report.errors.items())) or "none"
    qc = ", ".join(f"{k.replace('_', ' ')} {n}" for k, n in
                   (report.server_results or {}).get("sessions", {}).items()) or "unknown"
    verdict = "met" if met_latency and intact and report.votes_acknowledged else "NOT met"
    return "\n".join([
        "# Rating API under load",
        "",
        f"`python benchmarks/rating_load.py{method_flag(args)} --raters {args.raters} "
        f"--seconds {args.seconds:g} "
        f"--concurrency {args.concurrency} --think-scale {args.think_scale:g} --ramp-seconds "
        f"{args.ramp_seconds:g} --seed {args.seed}` on {datetime.now():%Y-%m-%d %H:%M}, "
        f"{machine()}.",
        "",
        "One `python -m webapp` process (uvicorn, default SQLite in WAL mode, demo set) and the "
        "simulated raters (`listening_tests.simulate`, one asyncio process) on the same "
        f"machine, sharing its cores. The test ({test_spec['method'].upper()}): "
        + (f"{test_spec['votes_per_clip']} votes per clip, {test_spec['clips_per_session']} "
         f"clips per session, {test_spec['training']['count']} training clips, gold and "
         "trapping on, qualification and volume checks (stereo and environment off: "
         "simulated raters cannot hear)." if "votes_per_clip" in test_spec else
         describe_pair_test(test_spec)),
        f"{min(args.raters, args.concurrency)} raters work at once for {args.seconds:g} s "
        f"({pace(args)}); each finished rater is replaced by a new participant. Behaviour mix: "
        "the default (attentive 70%, straight-liner 10%, random 10%, trap-failer 5%, "
        "abandoning 5%). Each rater fetches every item's audio and answers every check like a "
        f"browser, then waits {args.think_scale:g} x (clip length + a decision time of ~2.5 s) "
        "before it votes. At 1 that is a fast, attentive person (P.808 crowd workers take "
        "longer); smaller values press harder.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| sessions started / finished / abandoned / cut off at the end / failed | "
        f"{report.sessions_started} / {report.sessions('finished')} / "
        f"{report.sessions('abandoned')} / {report.sessions('cut_off')} / "
        f"{report.sessions('failed')} |",
        f"| votes acknowledged (201 or 200) | {report.votes_acknowledged} "
        f"({report.votes_repeated} as 200 after a retry) |",
        f"| votes per second | {report.votes_per_second:.1f} |",
        f"| vote latency p50 / p95 / p99 / max (ms) | {lat.p50:.0f} / {lat.p95:.0f} / "
        f"{lat.p99:.0f} / {lat.max:.0f} (n={lat.count}) |",
        f"| retries after connection errors | {report.retries} |",
        f"| errors by status | {errors} |",
        f"| vote rows in the database / distinct (session, item, stimulus, scale) / distinct "
        f"(session, item) | {stored.rows} / {stored.distinct_answers} / "
        f"{stored.distinct_items} |",
        f"| acknowledged but not stored / stored twice / stored but never acknowledged "
        f"(the answer lost on the way) | {max(lost, 0)} / {doubled} / {max(-lost, 0)} |",
        f"| server's quality control of the sessions | {qc} |",
        "",
        "Latency of every kind of call (ms), for finding where the time goes:",
        "",
        "| call | n | p50 | p95 | p99 | max |",
        "|---|---|---|---|---|---|",
        *[f"| {what} | {c.count} | {c.p50:.0f} | {c.p95:.0f} | {c.p99:.0f} | {c.max:.0f} |"
          for what, c in ((w, LatencySummary.of(v))
                          for w, v in sorted(report.latencies_ms.items()))],
        "",
        "Quality control is not what this measures: simulated raters cannot hear a trapping "
        "clip's spoken request or tell a gold clip's quality, so most of their submitted "
        "sessions are rejected or not used, as they should be.",
        "",
        f"Target (p95 below {TARGET_P95_MS:.0f} ms at {args.raters} raters, no vote lost or "
        f"doubled): **{verdict}** (p95 {'met' if met_latency else 'missed'}; votes "
        f"{'intact' if intact else 'NOT intact'}).",
        "",
    ])


CALLS = ("start session", "check audio", "check answer", "item audio", "vote", "finish")


CPU_PARTS = ("load generator", "rating server", "PostgreSQL", "admin app")


@dataclass(frozen=True)
class ScaleRow:
    database: str
    workers: int
    raters: int
    report: SimulationReport
    stored: StoredVotes
    load: str
    cpu_seconds: dict[str, float]  # during the simulated crowd, per part (CPU_PARTS)


def _process_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds of the process and of its children it has reaped)."""
    tick = os.sysconf("SC_CLK_TCK")
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        # after the name: state, ppid, ... utime (14th field overall), stime, cutime, cstime
        table[int(entry.name)] = (int(fields[1]), sum(map(int, fields[11:15])) / tick)
    return table


def tree_cpu_seconds(root: int | None) -> float:
    """CPU seconds used so far by process ``root`` and all its descendants, living or ended
    (an ended one counts in its parent's reaped-children time); 0 when unknown."""
    if root is None:
        return 0.0
    table = _process_table()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            total += table[pid][1]
            todo.extend(children.get(pid, []))
    return total


def postmaster_pid(data_dir: Path | None) -> int | None:
    try:
        return int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, TypeError, ValueError, IndexError):
        return None


def run_one(data_root: Path, database: str, db_url: str, workers: int, raters: int,
            args: argparse.Namespace, pg_data: Path | None = None) -> ScaleRow:
    """One deployment (admin app + rating server) on a fresh database, one simulated crowd."""
    from tests.rating_server import deploy

    data = data_root / f"{database}-{raters}" / "data"
    data.mkdir(parents=True)
    running = deploy(data, db_url, workers)
    try:
        spec = simulation_test_spec("load test", votes_per_clip=1000, clips_per_session=10)
        test_id = create_test(running.rating.url, running.admin.password, spec)
        load = "load average {:.1f} / {:.1f} / {:.1f} at the start".format(*os.getloadavg())
        pids = {"rating server": running.rating.process.pid,
                "PostgreSQL": postmaster_pid(pg_data) if database == "postgresql" else None,
                "admin app": running.admin.process.pid}
        before = {part: tree_cpu_seconds(pid) for part, pid in pids.items()}
        client = time.process_time()
        # No admin password: the closing fetch of the server's QC results is not needed here
        # and, on an overloaded server, timed out and ended the whole run.
        report = run_simulation(running.rating.url, test_id, raters, raters, args.seed, None,
                                None, duration_seconds=args.seconds,
                                think_scale=args.think_scale, ramp_seconds=args.ramp_seconds,
                                timeout_seconds=30.0)
        cpu = {"load generator": time.process_time() - client}
        cpu.update({part: tree_cpu_seconds(pid) - before[part] for part, pid in pids.items()})
        load += f", {os.getloadavg()[0]:.1f} at the end"
    finally:
        running.stop()
    return ScaleRow(database, workers, raters, report, count_votes_at(db_url), load, cpu)


def requests_made(row: ScaleRow) -> int:
    return sum(len(v) for v in row.report.latencies_ms.values())


def meets_target(row: ScaleRow) -> bool:
    """Every kind of rater call under the p95 target, no error, every acknowledged vote
    stored once."""
    r = row.report
    latencies = [v for call, v in r.latencies_ms.items() if call in CALLS and v]
    return (bool(latencies) and not r.errors and r.votes_acknowledged > 0
            and row.stored.rows == row.stored.distinct_items
            and r.votes_acknowledged <= row.stored.rows
            and all(LatencySummary.of(v).p95 < TARGET_P95_MS for v in latencies))


def slowest_p95(row: ScaleRow) -> tuple[str, float]:
    """The kind of call with the highest p95, and that p95 in ms."""
    return max(((call, LatencySummary.of(v).p95) for call, v in row.report.latencies_ms.items()
                if call in CALLS and v), key=lambda cp: cp[1], default=("-", float("nan")))


def cpu_ms_per_request(row: ScaleRow) -> str:
    n = max(requests_made(row), 1)
    parts = [f"{1000 * row.cpu_seconds.get(p, 0.0) / n:.1f}" for p in CPU_PARTS]
    return " | ".join(parts) + f" | {1000 * sum(row.cpu_seconds.values()) / n:.1f}"


@dataclass
class Capacity:
    """The largest crowd found to meet the target (``met``; 0: none) and the smallest found
    to miss it (``missed``; None: none), with the extra runs the search made."""

    database: str
    met: int
    missed: int | None
    trials: list[ScaleRow]


def search_capacity(database: str, rows: list[ScaleRow], steps: int, resolution: int,
                    run) -> Capacity:
    """Bisect between the largest crowd of ``rows`` that met the target and the smallest
    larger one that missed it, ``steps`` runs at most, to ``resolution`` raters."""
    met = max((r.raters for r in rows if meets_target(r)), default=0)
    missed = min((r.raters for r in rows if not meets_target(r) and r.raters > met),
                 default=None)
    trials: list[ScaleRow] = []
    for _ in range(steps):
        if missed is None or missed - met <= resolution:
            break
        middle = max(round((met + missed) / 2 / 25) * 25, 1)
        if middle in (met, missed):
            break
        row = run(middle)
        trials.append(row)
        print(f"capacity {database} {middle}: {'met' if meets_target(row) else 'missed'} "
              f"(slowest p95 {slowest_p95(row)[1]:.0f} ms)", flush=True)
        if meets_target(row):
            met = middle
        else:
            missed = middle
    return Capacity(database, met, missed, trials)


def render_scale(args: argparse.Namespace, rows: list[ScaleRow],
                 capacities: list[Capacity] | None = None) -> str:
    def cell(row: ScaleRow, call: str) -> str:
        values = row.report.latencies_ms.get(call, [])
        if not values:
            return "-"
        c = LatencySummary.of(values)
        return f"{c.p50:.0f} / {c.p95:.0f} / {c.p99:.0f}"

    lines = [
        "# Rating side at scale: SQLite with one process, PostgreSQL with several workers",
        "",
        f"`python benchmarks/rating_load.py --scale --seconds {args.seconds:g} --ramp-seconds "
        f"{args.ramp_seconds:g} --think-scale {args.think_scale:g} --workers {args.workers} "
        f"--scale-raters {','.join(map(str, args.scale_raters))} --capacity-steps "
        f"{args.capacity_steps} --capacity-resolution {args.capacity_resolution}` on "
        f"{datetime.now():%Y-%m-%d %H:%M}, {machine()}.",
        "",
        "Each row: a fresh data folder and database, the admin app (`python -m webapp`, which "
        "migrates and seeds the demo set) and the rating server (`python -m webapp.rating "
        "--workers N`) on it; an ACR test (10 clips per session, 4 training clips, gold and "
        "trapping, qualification and volume checks) and N simulated raters "
        f"(`listening_tests.simulate`, one asyncio process on uvloop, httpx) arriving over "
        f"{args.ramp_seconds:g} s "
        f"and working for {args.seconds:g} s at {1 / args.think_scale:.2g}x a person's pace, "
        "each finished rater replaced by a new one. Server, PostgreSQL and load generator share "
        "the machine's 2 cores (load averages below), so the figures are upper bounds.",
        "",
        "Latency p50 / p95 / p99 in ms per kind of call:",
        "",
        "| database | workers | raters | " + " | ".join(CALLS) + " |",
        "|---|---|---|" + "---|" * len(CALLS),
    ]
    for row in rows:
        lines.append(f"| {row.database} | {row.workers} | {row.raters} | "
                     + " | ".join(cell(row, c) for c in CALLS) + " |")
    lines += ["", "Throughput, errors and votes:", "",
              "| database | workers | raters | sessions started | votes/s | requests/s | "
              "errors | votes acknowledged | stored | duplicates | acknowledged, not stored |"
              " machine load |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        r = row.report
        requests = sum(len(v) for v in r.latencies_ms.values())
        errors = ", ".join(f"{k}: {n}" for k, n in sorted(r.errors.items())) or "0"
        lost = max(r.votes_acknowledged - row.stored.rows, 0)
        lines.append(
            f"| {row.database} | {row.workers} | {row.raters} | {r.sessions_started} | "
            f"{r.votes_per_second:.1f} | {requests / max(r.wall_seconds, 1e-9):.0f} | {errors} | "
            f"{r.votes_acknowledged} | {row.stored.rows} | "
            f"{row.stored.rows - row.stored.distinct_items} | {lost} | {row.load} |")
    lines += ["", "CPU seconds used while the crowd ran, per part, and in all as a share of the "
              "machine's 2 cores over the run (the load generator runs in the benchmark's "
              "process, one asyncio loop; PostgreSQL counts its server processes):", "",
              "| database | workers | raters | " + " | ".join(CPU_PARTS) + " | all, of 2 cores |",
              "|---|---|---|" + "---|" * (len(CPU_PARTS) + 1)]
    for row in rows:
        used = sum(row.cpu_seconds.values())
        share = used / (2 * max(row.report.wall_seconds, 1e-9))
        lines.append(f"| {row.database} | {row.workers} | {row.raters} | "
                     + " | ".join(f"{row.cpu_seconds.get(p, 0.0):.0f}" for p in CPU_PARTS)
                     + f" | {100 * share:.0f}% |")
    every = rows + [t for c in capacities or [] for t in c.trials]
    lines += ["", "CPU milliseconds per request, per part (all CPU seconds of the part while the "
              "crowd ran, over every rater call made):", "",
              "| database | workers | raters | requests | " + " | ".join(CPU_PARTS)
              + " | all |", "|---|---|---|---|" + "---|" * (len(CPU_PARTS) + 1)]
    for row in every:
        lines.append(f"| {row.database} | {row.workers} | {row.raters} | {requests_made(row)} | "
                     f"{cpu_ms_per_request(row)} |")
    if capacities:
        lines += ["", f"Capacity: the largest crowd at which every rater call's p95 stays under "
                  f"{TARGET_P95_MS:.0f} ms with no error, found by bisecting between the rows "
                  f"above (at most {args.capacity_steps} more runs per database, to "
                  f"{args.capacity_resolution} raters):", "",
                  "| database | workers | raters | met | slowest call: p95 ms | p50 / p95 / p99 "
                  "per call (start, check audio, check answer, item audio, vote) | machine "
                  "load |", "|---|---|---|---|---|---|---|"]
        for c in capacities:
            for row in c.trials:
                call, p95 = slowest_p95(row)
                lines.append(f"| {row.database} | {row.workers} | {row.raters} | "
                             f"{'yes' if meets_target(row) else 'no'} | {call}: {p95:.0f} | "
                             + ", ".join(cell(row, k) for k in CALLS[:5]) + f" | {row.load} |")
        lines.append("")
        for c in capacities:
            missed = f", missed at {c.missed}" if c.missed is not None else \
                " (no crowd tried missed it)"
            lines.append(f"- **{c.database}**: met at {c.met} raters{missed}.")
    examples = {k: v for row in every for k, v in row.report.error_examples.items()}
    if examples:
        lines += ["", "Error examples: " + "; ".join(f"{k}: {v}" for k, v in
                                                     sorted(examples.items()))]
    lines.append("")
    return "\n".join(lines)


def run_scale(args: argparse.Namespace) -> None:
    from tests import pg_cluster

    rows: list[ScaleRow] = []
    capacities: list[Capacity] = []
    cluster = None
    server = args.db_url
    results = RESULTS.with_name("rating_scale.md")
    with tempfile.TemporaryDirectory(prefix="rating-scale-") as tmp:
        try:
            if not server:
                cluster = pg_cluster.init_cluster(fast=False)
                server = cluster.url()
            pg_data = cluster.data_dir if cluster is not None else None
            runs = itertools.count()

            def on_sqlite(raters: int) -> ScaleRow:
                root = Path(tmp) / f"run{next(runs)}"
                row = run_one(root, "sqlite", sqlite_url_for(root, raters), 1, raters, args)
                print(row.report.summary(), flush=True)
                time.sleep(2)
                return row

            def on_postgresql(raters: int) -> ScaleRow:
                run = next(runs)
                url = pg_cluster.create_database(server, f"rating_scale_{run}")
                row = run_one(Path(tmp) / f"run{run}", "postgresql", url, args.workers, raters,
                              args, pg_data)
                print(row.report.summary(), flush=True)
                time.sleep(2)
                return row

            for raters in args.scale_raters:
                rows += [on_sqlite(raters), on_postgresql(raters)]
                results.write_text(render_scale(args, rows))  # partial results survive
            for database, run in (("sqlite", on_sqlite), ("postgresql", on_postgresql)):
                capacities.append(search_capacity(
                    database, [r for r in rows if r.database == database],
                    args.capacity_steps, args.capacity_resolution, run))
                results.write_text(render_scale(args, rows, capacities))
        finally:
            if cluster is not None:
                cluster.destroy()
    text = render_scale(args, rows, capacities)
    results.write_text(text)
    print(text)


def sqlite_url_for(root: Path, raters: int) -> str:
    from db.session import sqlite_url

    return sqlite_url(root / f"sqlite-{raters}" / "data" / "workbench.db")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raters", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--think-scale", type=float, default=1.0,
                        help="share of a person's listening+decision time waited per vote")
    parser.add_argument("--ramp-seconds", type=float, default=0.0,
                        help="the raters arrive evenly over this time (0: all at once)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--method", choices=tuple(METHODS), default="acr",
                        help="the test's method (results in rating_load.md for acr, "
                             "rating_load_<method>.md otherwise)")
    parser.add_argument("--scale", action="store_true",
                        help="SQLite (1 worker) and PostgreSQL (--workers) at each of "
                             "--scale-raters; results in rating_scale.md")
    parser.add_argument("--scale-raters", type=lambda v: [int(x) for x in v.split(",")],
                        default=[200, 1000, 2000])
    parser.add_argument("--capacity-steps", type=int, default=3,
                        help="--scale: runs per database bisecting for the largest crowd "
                             "that meets the p95 target (0: none)")
    parser.add_argument("--capacity-resolution", type=int, default=100,
                        help="--scale: stop bisecting when met and missed are this close")
    parser.add_argument("--workers", type=int, default=4,
                        help="rating workers on PostgreSQL in --scale")
    parser.add_argument("--db-url", default=None,
                        help="--scale: a PostgreSQL server URL (default: a throwaway cluster)")
    parser.add_argument("--import-files", type=int, default=0,
                        help="run twice, without and with an import of this many files "
                             "during the load (results in rating_load_import.md)")
    args = parser.parse_args()
    if args.import_files:
        from benchmarks.rating_load_import import compare
        print(compare(args))
        return
    if args.scale:
        import uvloop  # the load generator's own CPU shares the cores: a cheaper event loop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        run_scale(args)
        return
    results = RESULTS if args.method == "acr" else RESULTS.with_name(
        f"rating_load_{args.method}.md")
    with tempfile.TemporaryDirectory(prefix="rating-load-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        app = start_app(data, timeout=300)  # a shared, loaded machine starts slowly
        try:
            # Enough room that no clip fills up within the run, even at the fastest pace.
            if METHODS[args.method].pairs:
                spec = comparison_test_spec(f"load test {args.method}", args.method,
                                            PAIR_SYSTEMS[args.method], votes_per_pair=1000,
                                            pairs_per_session=10)
            else:
                spec = {**simulation_test_spec(f"load test {args.method}",
                                               votes_per_clip=1000, clips_per_session=10),
                        "method": args.method}
                if METHODS[args.method].two_stimuli:  # DCR: clips that have a reference
                    spec["clips"] = {"dataset": "demo", "systems": ["unprocessed"]}
            if args.think_scale < 1:
                # Raters vote before a clip could have played; the server's listening-time
                # check would reject them (QC work, not load).
                spec["quality_control"] = {"min_listening_fraction": None}
            test_id = create_test(app.url, app.password, spec)
            report = run_simulation(app.url, test_id, args.raters, args.concurrency,
                                    args.seed, None, app.password,
                                    duration_seconds=args.seconds,
                                    think_scale=args.think_scale,
                                    ramp_seconds=args.ramp_seconds, timeout_seconds=30.0)
        finally:
            app.stop()
        stored = count_stored_votes(data / "workbench.db")
    print(report.summary())
    text = render(args, report, stored, spec)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
