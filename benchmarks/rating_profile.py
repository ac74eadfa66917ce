"""Where a rater-facing call's time goes: statements, time in the database, time in Python.

Calls the rating services in-process (no HTTP, no server) on a seeded database, SQLite and
PostgreSQL (a throwaway cluster unless ``--db-url`` names a server), after ``--before``
sessions have already been started (a campaign in full swing: the counts a start reads grow
with the sessions). For each kind of call: statements per call, and milliseconds per call in
all, inside the database driver, and the rest (Python: ORM, JSON, WAV). Writes
``benchmarks/results/rating_profile.md``.

    python benchmarks/rating_profile.py [--before 300] [--calls 40]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import event  # noqa: E402

from db.session import (  # noqa: E402
    create_db_engine,
    make_read_session_factory,
    make_session_factory,
    sqlite_url,
    upgrade_database,
)
from db.store import AudioStore  # noqa: E402
from library.demo import seed_demo  # noqa: E402
from listening_tests.answers import answer_check, cast_vote  # noqa: E402
from listening_tests.design import create_test, open_test  # noqa: E402
from listening_tests.review import finish_session  # noqa: E402
from listening_tests.session_state import note_fetch  # noqa: E402
from listening_tests.sessions import (  # noqa: E402
    StartedSession,
    locate_item_audio,
    place_session,
    plan_session,
    start_session,
)
from listening_tests.simulate import simulation_test_spec  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "rating_profile.md"
CALLS = ("start session", "check answer", "item audio (first)", "item audio (again)", "vote",
         "finish")


class Meter:
    """Counts statements and the time spent executing them, per labelled call."""

    def __init__(self, engine) -> None:
        self.label: str | None = None
        self.statements: dict[str, int] = defaultdict(int)
        self.db_seconds: dict[str, float] = defaultdict(float)
        self.total_seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._started = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "commit", self._commit_before)

    def _before(self, *_args) -> None:
        self._started = time.perf_counter()

    def _after(self, *_args) -> None:
        if self.label:
            self.statements[self.label] += 1
            self.db_seconds[self.label] += time.perf_counter() - self._started

    def _commit_before(self, *_args) -> None:
        if self.label:
            self.statements[self.label] += 1  # the COMMIT itself

    @contextmanager
    def measure(self, label: str):
        self.label = label
        started = time.perf_counter()
        try:
            yield
        finally:
            self.total_seconds[label] += time.perf_counter() - started
            self.calls[label] += 1
            self.label = None


def profile(db_url: str, store_dir: Path, before: int, calls: int) -> Meter:
    engine = create_db_engine(db_url)
    upgrade_database(engine)
    sessions = make_session_factory(engine)
    store = AudioStore(store_dir)
    with sessions.begin() as db:
        seed_demo(db, store)
    spec = simulation_test_spec("profile", votes_per_clip=1000, clips_per_session=10)
    now = datetime(2026, 3, 1, 12, 0, 0)
    with sessions.begin() as db:
        test_id = create_test(db, store, spec, now=now).id
        open_test(db, test_id, now=now)
    for k in range(before):
        with sessions.begin() as db:
            start_session(db, test_id, f"early-{k}", now=now)
    meter = Meter(engine)
    reads = make_read_session_factory(engine)
    for k in range(calls):
        # The transactions as the rating API makes them (webapp/rating_api.py): reads in
        # autocommit, then a write transaction where something is written.
        with meter.measure("start session"):
            with reads() as db:
                started = plan_session(db, test_id, f"p-{k}", now=now)
            if not isinstance(started, StartedSession):
                with sessions.begin() as db:
                    started = place_session(db, started)
        body = started.body
        token = body["session"]
        for check in body["checks"]:
            answer = ({"hearing": "yes", "headphones": "yes", "quiet": "yes"}
                      if check["kind"] == "qualification" else "done")
            with meter.measure("check answer"), sessions.begin() as db:
                answer_check(db, token, check["id"], answer, now=now)
        for item in body["items"]:
            for call in ("item audio (first)", "item audio (again)"):
                with meter.measure(call):
                    with reads() as db:
                        _, fetch = locate_item_audio(db, store, token, item["item"], now=now)
                    if fetch is not None:
                        with sessions.begin() as db:
                            note_fetch(db, fetch, now)
            with meter.measure("vote"), sessions.begin() as db:
                cast_vote(db, token, item["item"], score=3, played_to_end=True,
                          elapsed_ms=6000, now=now + timedelta(seconds=5))
        with meter.measure("finish"), sessions.begin() as db:
            finish_session(db, token, now=now + timedelta(seconds=6))
    engine.dispose()
    return meter


def render(args: argparse.Namespace, meters: dict[str, Meter]) -> str:
    lines = ["# Where a rater-facing call's time goes", "",
             f"`python benchmarks/rating_profile.py --before {args.before} --calls {args.calls}` "
             f"on {datetime.now():%Y-%m-%d %H:%M}, load average "
             "{:.1f} / {:.1f} / {:.1f}.".format(*os.getloadavg()), "",
             "The rating services called in-process (no HTTP) on the demo set's ACR load-test "
             f"design, after {args.before} sessions were started; {args.calls} raters then "
             "each start, answer the checks, fetch every item's audio twice, vote on it and "
             "finish, in the transactions the rating API makes (reads in autocommit, then a "
             "write transaction where something is written). Milliseconds per call (wall): "
             "all, inside the database driver, the rest (Python: ORM, JSON); statements per "
             "call including COMMIT (a write transaction on PostgreSQL also sends a BEGIN).",
             "",
             "| database | call | statements | ms | in the database | in Python |",
             "|---|---|---|---|---|---|"]
    for name, meter in meters.items():
        for call in CALLS:
            n = meter.calls.get(call, 0)
            if not n:
                continue
            total = 1000 * meter.total_seconds[call] / n
            in_db = 1000 * meter.db_seconds[call] / n
            lines.append(f"| {name} | {call} | {meter.statements[call] / n:.1f} | {total:.1f} "
                         f"| {in_db:.1f} | {total - in_db:.1f} |")
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=int, default=300)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--db-url", default=None, help="a PostgreSQL server URL (default: a "
                                                       "throwaway cluster)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    from tests import pg_cluster

    meters: dict[str, Meter] = {}
    with tempfile.TemporaryDirectory(prefix="rating-profile-") as tmp:
        root = Path(tmp)
        meters["sqlite"] = profile(sqlite_url(root / "workbench.db"), root / "audio-sqlite",
                                   args.before, args.calls)
        cluster = None
        try:
            server = args.db_url
            if not server:
                cluster = pg_cluster.init_cluster(fast=False)
                server = cluster.url()
            url = pg_cluster.create_database(server, "rating_profile")
            meters["postgresql"] = profile(url, root / "audio-pg", args.before, args.calls)
        finally:
            if cluster is not None:
                cluster.destroy()
    text = render(args, meters)
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
