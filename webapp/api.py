"""The JSON API beside the Gradio app: health, clips, imports.

Errors are JSON objects ``{"error": "..."}`` with a 4xx status, so scripts and custom
front-ends get the same messages the UI shows. Everything but the health check needs the
admin password as a bearer token.
"""

from __future__ import annotations

import errno
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from db.session import current_revision, head_revision
from library.clips import ClipFilter, LibraryError, clip_details, count_clips, get_clip, list_clips
from library.importing import ImportPlan, ImportRejected, import_in_batches, plan_files, plan_path
from webapp.context import AppContext
from webapp.limits import too_many_message

API_VERSION = "0.1.0"


def error(status: int, message: str, **details: Any) -> JSONResponse:
    return JSONResponse({"error": message, **details}, status_code=status)


class ApiError(Exception):
    """Raised inside a route to answer with a JSON error."""

    def __init__(self, status: int, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.details = status, message, details


class ImportRequest(BaseModel):
    path: str
    dataset: str | None = None


def admin_guard(context: AppContext) -> list:
    """Route dependencies that answer 401 unless the request carries the admin password as
    a bearer token (``dependencies=admin_guard(context)``); shared by every admin router."""

    def require_admin(request: Request) -> None:
        key = request.client.host if request.client else "unknown"
        wait = context.failures.wait_seconds(key)
        if wait:
            raise ApiError(429, too_many_message(wait))
        if not context.failures.check(key, request.headers.get("authorization", ""),
                                      context.admin_password):
            raise ApiError(401, "admin password required as 'Authorization: Bearer <password>'")

    return [Depends(require_admin)]


def build_router(context: AppContext) -> APIRouter:
    router = APIRouter(prefix="/api")
    admin = admin_guard(context)

    @router.get("/health")
    def health() -> JSONResponse:
        try:
            with context.sessions() as session:
                session.execute(text("SELECT 1"))
                clips = count_clips(session)
            revision = current_revision(context.engine)
        except SQLAlchemyError as exc:
            return JSONResponse({"status": "error", "error": f"database: {exc}"},
                                status_code=503)
        free_mb = shutil.disk_usage(context.settings.data_dir).free // 1024 ** 2
        low = free_mb < context.settings.min_free_mb
        return JSONResponse({"status": "low_disk" if low else "ok", "version": API_VERSION,
                             "schema_revision": revision, "schema_head": head_revision(),
                             "clips": clips, "free_disk_mb": free_mb,
                             **({"warning": f"only {free_mb} MB free in the data folder "
                                            f"(below {context.settings.min_free_mb} MB): "
                                            "uploads and votes will fail when it is full"}
                                if low else {})})

    @router.get("/clips", dependencies=admin)
    def clips(dataset: str | None = None, system: str | None = None,
              sample_rate: int | None = None, origin: str | None = None,
              limit: Annotated[int, Query(ge=1, le=5000)] = 500,
              offset: Annotated[int, Query(ge=0)] = 0) -> dict:
        with context.sessions() as session:
            rows = list_clips(session, ClipFilter(dataset, system, sample_rate, origin,
                                                  limit, offset))
        return {"clips": [{"id": r.id, "name": r.name, "datasets": list(r.datasets),
                           "system": r.system, "sample_rate": r.sample_rate,
                           "duration_seconds": round(r.duration_seconds, 4),
                           "origin": r.origin, "condition": r.condition} for r in rows]}

    @router.get("/clips/{clip_id}", dependencies=admin)
    def clip(clip_id: int) -> dict:
        with context.sessions() as session:
            try:
                return clip_details(session, clip_id)
            except LibraryError as exc:
                raise ApiError(404, str(exc)) from exc

    @router.get("/clips/{clip_id}/audio", dependencies=admin)
    def clip_audio(clip_id: int) -> FileResponse:
        with context.sessions() as session:
            try:
                found = get_clip(session, clip_id)
            except LibraryError as exc:
                raise ApiError(404, str(exc)) from exc
            path = context.store.path_for(found.sha256)
            name = Path(found.name).stem + ".flac"
        return FileResponse(path, media_type="audio/flac", filename=name)

    @router.post("/clips", dependencies=admin)
    def upload(files: Annotated[list[UploadFile], File(description="audio files")],
               dataset: Annotated[str, Form()] = "uploads") -> JSONResponse:
        limit = context.settings.max_upload_mb * 1024 * 1024
        with tempfile.TemporaryDirectory(prefix="upload-") as tmp:
            saved: list[tuple[str, Path]] = []
            for index, upload_file in enumerate(files):
                name = Path(upload_file.filename or f"upload-{index}").name
                target = Path(tmp) / f"{index}-{name}"
                with target.open("wb") as out:
                    shutil.copyfileobj(upload_file.file, out, length=1024 * 1024)
                if target.stat().st_size > limit:
                    raise ApiError(413, f"{name}: larger than the upload limit of "
                                        f"{context.settings.max_upload_mb} MB")
                saved.append((name, target))
            return _report_response(lambda: plan_files(saved, dataset_name=dataset))

    @router.post("/imports", dependencies=admin)
    def import_source(request: ImportRequest) -> JSONResponse:
        """Import a folder, zip or wav.scp that is on the server's disk."""
        return _report_response(lambda: plan_path(Path(request.path),
                                                  dataset_name=request.dataset))

    def _report_response(plan: Callable[[], ImportPlan]) -> JSONResponse:
        """Check the import as a whole, run it in short batches (votes of a live test go on
        meanwhile), and answer 422 when nothing could be imported: then no dataset row was
        made either, since one appears only with its first clip."""
        try:
            report = import_in_batches(context.write, context.store, plan(),
                                       max_seconds=context.settings.max_seconds)
        except (ImportRejected, LibraryError) as exc:
            return error(422, str(exc))
        if not report.imported_any:
            reasons = "; ".join(reason for _, reason in report.skipped)
            return error(422, f"nothing imported: {reasons}", **report.to_dict())
        return JSONResponse(report.to_dict(), status_code=201 if report.added else 200)

    return router


def disk_full(exc: BaseException) -> bool:
    """Whether an error (or one it wraps) is a full disk: ENOSPC, SQLite's "database or disk
    is full", PostgreSQL's disk_full (53100)."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "database or disk is full" in str(e) or getattr(e, "sqlstate", None) == "53100" \
                or getattr(e, "pgcode", None) == "53100":
            return True
        stack += [e.__cause__, e.__context__, getattr(e, "orig", None)]
    return False


def install_error_handlers(app) -> None:
    """Answer ApiError and request-validation errors as ``{"error": ...}`` JSON."""
    from fastapi.exceptions import RequestValidationError

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error(exc.status, exc.message, **exc.details)

    @app.exception_handler(OverflowError)
    async def _overflow(_request: Request, _exc: OverflowError) -> JSONResponse:
        return error(422, "a number in the request is out of range (ids are below 2^63)")

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        """Anything else still answers JSON; a full disk says so (507)."""
        if disk_full(exc):
            return error(507, "the server's disk is full: nothing was stored; free some "
                              "space on the server and try again")
        return error(500, f"internal error ({type(exc).__name__}); see the server's log")

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}"
                    for e in exc.errors()]
        return error(422, "invalid request: " + "; ".join(problems))
