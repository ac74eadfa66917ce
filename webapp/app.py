"""Assembles the FastAPI server: the JSON API under /api and the Gradio admin app at /.

Rater pages (listening tests) will be mounted beside the admin app without its password.
"""

from __future__ import annotations

import secrets

import gradio as gr
from fastapi import FastAPI

from webapp.api import API_VERSION, build_router, install_error_handlers
from webapp.compare_tab import build_compare_tab
from webapp.context import AppContext
from webapp.curation_tab import build_curation_tab
from webapp.enhance_tab import build_enhance_tab
from webapp.library_tab import build_library_tab
from webapp.limits import RequestLimits
from webapp.rater_page import mount_rater_page
from webapp.rating_api import build_rating_router
from webapp.sqa_tab import build_sqa_tab
from webapp.tests_tab import build_tests_tab

TITLE = "Speech enhancement & quality workbench"
#: Gradio 6's status tracker announces `common.complete` to screen readers when an event
#: ends, a key its English translations lack; this supplies the words.
TRANSLATIONS = gr.I18n(en={"common.complete": "Done"})


def build_admin_blocks(context: AppContext) -> gr.Blocks:
    with gr.Blocks(title=TITLE) as blocks:
        gr.Markdown(f"## {TITLE}")
        with gr.Tabs():
            with gr.Tab("Library", id="library"):
                build_library_tab(context, blocks)
            with gr.Tab("Enhance", id="enhance"):
                build_enhance_tab(context, blocks)
            with gr.Tab("Compare", id="compare"):
                build_compare_tab(context, blocks)
            with gr.Tab("Listening tests", id="tests"):
                build_tests_tab(context, blocks)
            with gr.Tab("Quality model", id="sqa"):
                build_sqa_tab(context, blocks)
            with gr.Tab("Data curation", id="curation"):
                build_curation_tab(context, blocks)
    return blocks


def build_app(context: AppContext) -> FastAPI:
    app = FastAPI(title=TITLE, version=API_VERSION, docs_url="/api/docs",
                  openapi_url="/api/openapi.json", redoc_url=None)
    install_error_handlers(app)
    app.include_router(build_router(context))
    app.include_router(build_rating_router(context))
    mount_rater_page(app)  # before Gradio: its mount at "/" would swallow /rate/...

    def check_admin(_username: str, password: str) -> bool:
        return secrets.compare_digest(password.encode(), context.admin_password.encode())

    app = gr.mount_gradio_app(
        app, build_admin_blocks(context), path="/", auth=check_admin,
        auth_message="Admin pages: log in with any user name and the admin password.",
        allowed_paths=[str(context.store.root)],
        max_file_size=f"{context.settings.max_upload_mb}mb",
        footer_links=["api"],
        i18n=TRANSLATIONS,
    )
    app.add_middleware(RequestLimits, upload_bytes=context.settings.max_upload_mb * 1024 * 1024,
                       password=context.admin_password, failures=context.failures)
    return app
