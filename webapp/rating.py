"""``python -m webapp.rating``: the rating side alone, as a stateless server with N workers.

The rater page, the rating API (docs/rating-api.md) and ``/api/health``, without the Gradio
admin app. Nothing is kept between requests: every answer is a row in the database, locked
per row (see :mod:`listening_tests.session_state`), so any worker can serve any request and
workers can be added or killed at will. The admin app (``python -m webapp``) stays one
process on the same database and audio store; it upgrades the schema, and a rating worker
refuses to start on a schema that is not at head.

    python -m webapp.rating --workers 4 --db-url postgresql+psycopg://user@host/db \
        --data-dir /shared/data --port 8000

SQLite admits one writer process, so on SQLite the server runs one worker.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from db.session import (
    DatabaseError,
    create_db_engine,
    current_revision,
    head_revision,
    make_session_factory,
)
from db.store import AudioStore
from webapp.api import API_VERSION, disk_full, error, install_error_handlers
from webapp.context import AppContext
from webapp.limits import RequestLimits
from webapp.settings import Settings, StartupError, admin_password

TITLE = "Speech quality rating"
WORKER_START_SECONDS = 120
ENV_DATA_DIR, ENV_DB_URL = "APP_DATA_DIR", "APP_DB_URL"  # also python -m webapp's


def connect(settings: Settings) -> AppContext:
    """The worker's context: its own engine on the shared database, the shared audio store.

    Raises:
        StartupError: the database is unreachable or its schema is not at head (the admin
            app, ``python -m webapp``, upgrades it), or the audio store is missing.
    """
    try:
        engine = create_db_engine(settings.database_url)
        revision = current_revision(engine)
    except (DatabaseError, SQLAlchemyError) as exc:
        raise StartupError(str(exc)) from exc
    head = head_revision()
    if revision != head:
        engine.dispose()
        raise StartupError(f"the database schema is at {revision or 'no revision'}, this code "
                           f"needs {head}: start the admin app (python -m webapp) on this "
                           "database once to upgrade it, then the rating workers")
    store_root = settings.audio_dir
    if not store_root.is_dir():
        engine.dispose()
        raise StartupError(f"no audio store at {store_root.resolve()}: give the data folder "
                           "the admin app uses (--data-dir)")
    password, _ = admin_password(settings.data_dir)
    return AppContext(settings=settings, engine=engine, sessions=make_session_factory(engine),
                      store=AudioStore(store_root), admin_password=password,
                      schema_revision=revision)


def build_rating_app(context: AppContext) -> FastAPI:
    """The rater page, the rating API and health, on ``context``'s database."""
    from webapp.rater_page import mount_rater_page
    from webapp.rating_api import build_rating_router

    app = FastAPI(title=TITLE, version=API_VERSION, docs_url=None, redoc_url=None,
                  openapi_url=None)
    install_error_handlers(app)

    @app.exception_handler(OperationalError)
    async def _database_down(_request: Request, _exc: DBAPIError) -> JSONResponse:
        if disk_full(_exc):
            return error(507, "the server's disk is full: nothing was stored; free some "
                              "space on the server and try again")
        # The server restarting or a connection cut: nothing was stored, the rater resends.
        # A dead connection drops the pool's connections, so the worker recovers by itself.
        return JSONResponse({"error": "the database is not answering; your last answer was "
                                      "not saved, please send it again"}, status_code=503)

    @app.get("/api/health")
    def health() -> JSONResponse:
        try:
            with context.sessions() as session:
                session.execute(text("SELECT 1"))
            revision = current_revision(context.engine)
        except SQLAlchemyError as exc:
            return JSONResponse({"status": "error", "error": f"database: {exc}"},
                                status_code=503)
        return JSONResponse({"status": "ok", "version": API_VERSION, "role": "rating",
                             "schema_revision": revision, "schema_head": head_revision(),
                             "pid": os.getpid()})

    app.include_router(build_rating_router(context))
    mount_rater_page(app)
    app.add_middleware(RequestLimits, upload_bytes=context.settings.max_upload_mb * 1024 * 1024,
                       password=context.admin_password, failures=context.failures)
    return app


def _settings_from_env() -> Settings:
    return Settings(data_dir=Path(os.environ.get(ENV_DATA_DIR, "data")),
                    db_url=os.environ.get(ENV_DB_URL) or None, seed_demo=False)


def worker_app() -> FastAPI:
    """The ASGI app of one worker process (uvicorn's factory), configured by environment."""
    try:
        context = connect(_settings_from_env())
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from exc
    return build_rating_app(context)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m webapp.rating",
        description="The rating side (rater page, rating API, health) with several workers.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes (PostgreSQL: one or two per core; SQLite: 1)")
    parser.add_argument("--data-dir", type=Path,
                        default=Path(os.environ.get(ENV_DATA_DIR, "data")),
                        help="the admin app's data folder: audio store and admin password "
                             "(default ./data, or APP_DATA_DIR)")
    parser.add_argument("--access-log", action="store_true",
                        help="log every request (uvicorn's access log, at log level info); "
                             "off by default: at a crowd's rate it cost a worker about a "
                             "twentieth of its CPU, and a load balancer in front logs anyway")
    parser.add_argument("--db-url", default=os.environ.get(ENV_DB_URL),
                        help="SQLAlchemy URL of the admin app's database (default: SQLite "
                             "in the data folder; or APP_DB_URL)")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    args = parse_args(argv)
    settings = Settings(host=args.host, port=args.port, data_dir=args.data_dir.expanduser(),
                        db_url=args.db_url or None, seed_demo=False)
    if make_url(settings.database_url).get_backend_name() == "sqlite" and args.workers > 1:
        print("error: SQLite admits one writer process; run one worker on SQLite, or "
              "several on PostgreSQL (--db-url postgresql+psycopg://...)", file=sys.stderr)
        return 2
    try:  # check once here, so a wrong set-up is one line, not one per worker
        connect(settings).engine.dispose()
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    os.environ[ENV_DATA_DIR] = str(settings.data_dir.resolve())
    os.environ[ENV_DB_URL] = settings.database_url
    print(f"Rating server on http://{args.host}:{args.port}/rate/<test id> with "
          f"{args.workers} worker{'s' if args.workers > 1 else ''} (schema "
          f"{head_revision()})", flush=True)
    uvicorn.run("webapp.rating:worker_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level=os.environ.get("RATING_LOG_LEVEL", "warning"),
                access_log=args.access_log, timeout_graceful_shutdown=5,
                # A worker imports the audio stack (a few seconds, more on a busy machine)
                # before it answers the supervisor's health check.
                timeout_worker_healthcheck=WORKER_START_SECONDS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
