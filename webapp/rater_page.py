"""The rater page of a listening test: ``GET /rate/{test_id}`` and its static assets.

No admin password: raters arrive by link (``?PROLIFIC_PID=...`` or ``?participant=...``).
The page is plain HTML + JavaScript that talks to the rating API (docs/rating-api.md); it
fetches nothing from outside this server, so it works offline.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static"

# The page loads only its own script, style and the API's audio: say so to the browser.
# No referrer: the URL holds the participant id, which should not leak to other sites.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex",
    "Cache-Control": "no-cache",
}


def mount_rater_page(app: FastAPI) -> None:
    """Add the rater page routes; call before the Gradio app is mounted at ``/``."""

    @app.get("/rate/{test_id}", include_in_schema=False)
    def rate_page(test_id: str) -> FileResponse:
        # The test id is checked by the API the page calls, which answers in a sentence.
        return FileResponse(STATIC_DIR / "rate.html", media_type="text/html; charset=utf-8",
                            headers=PAGE_HEADERS)

    app.mount("/static/rate", StaticFiles(directory=STATIC_DIR), name="rate-static")
