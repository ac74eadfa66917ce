"""``python -m listening_tests``: create, open, close and list listening tests, and write
their exports, from the command line.

    python -m listening_tests create --spec test.yaml [--data-dir DIR | --db-url URL]
    python -m listening_tests open 3
    python -m listening_tests export 3 votes_per_clip.csv --out results/

``create`` prints the new test's id (and nothing else on success); any refusal is one line
on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from db.session import (
    DatabaseError,
    create_db_engine,
    make_session_factory,
    sqlite_url,
    upgrade_database,
)
from db.store import AudioStore
from listening_tests.design import close_test, create_test, list_tests, open_test
from listening_tests.downloads import EXPORTS, export_file
from listening_tests.errors import RatingError
from listening_tests.spec import load_spec_file


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m listening_tests",
                                     description="Create and manage crowd listening tests.")
    parser.add_argument("--data-dir", type=Path,
                        default=Path(os.environ.get("APP_DATA_DIR", "data")),
                        help="the app's data folder (database and audio store; default "
                             "./data or APP_DATA_DIR)")
    parser.add_argument("--db-url", default=os.environ.get("APP_DB_URL"),
                        help="SQLAlchemy URL (default: SQLite in the data folder)")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a draft test from a YAML spec; "
                                                "prints its id")
    create.add_argument("--spec", type=Path, required=True)
    create.add_argument("--open", action="store_true", help="open it to raters at once")
    for name in ("open", "close"):
        commands.add_parser(name, help=f"{name} a test").add_argument("test_id", type=int)
    commands.add_parser("list", help="list the tests")
    export = commands.add_parser("export", help="write an export file")
    export.add_argument("test_id", type=int)
    export.add_argument("name", choices=sorted(EXPORTS))
    export.add_argument("--out", type=Path, default=Path("."), help="folder to write into")
    # Options also after the sub-command: `create --spec f --data-dir d` reads naturally.
    for sub in commands.choices.values():
        sub.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS)
        sub.add_argument("--db-url", default=argparse.SUPPRESS)
    return parser


def run(args: argparse.Namespace) -> str:
    """Carry out one command; the text to print."""
    spec = load_spec_file(args.spec) if args.command == "create" else None
    data_dir = args.data_dir.expanduser()
    if args.db_url is None and not data_dir.is_dir():
        raise DatabaseError(f"data folder {data_dir} does not exist; start the app once "
                            "or give --db-url")
    engine = create_db_engine(args.db_url or sqlite_url(data_dir / "workbench.db"))
    try:
        upgrade_database(engine)
        sessions = make_session_factory(engine)
        store = AudioStore(data_dir / "audio")
        with sessions.begin() as db:
            if args.command == "create":
                info = create_test(db, store, spec)
                if args.open:
                    info = open_test(db, info.id)
                return str(info.id)
            if args.command == "open":
                return open_test(db, args.test_id).status
            if args.command == "close":
                return close_test(db, args.test_id).status
            if args.command == "list":
                return "\n".join(f"{t.id}\t{t.status}\t{t.rating_clips} clips\t{t.name}"
                                 for t in list_tests(db))
            exported = export_file(db, store, args.test_id, args.name)
        args.out.mkdir(parents=True, exist_ok=True)
        target = args.out / exported.name
        target.write_bytes(exported.content)
        return str(target)
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        output = run(args)
    except (RatingError, DatabaseError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    if output:
        print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
