"""The Listening tests tab (admin): design a test from a spec, open and close it, watch the
live dashboard, override quality-control decisions, download the exports."""

from __future__ import annotations

import html
import re
import tempfile
from datetime import datetime
from pathlib import Path

import gradio as gr
import pandas as pd
import plotly.graph_objects as go
import yaml

from listening_tests.design import close_test, create_test, get_test, list_tests, open_test
from listening_tests.downloads import EXPORTS, export_file
from listening_tests.errors import RatingError, SpecError
from listening_tests.methods import method_of
from listening_tests.results import (
    list_sessions,
    statistics_frame,
    test_overview,
    test_results,
    votes_frame,
)
from listening_tests.review import override_decision
from webapp.charts import bars_with_ci, scales_vs_metric_figure
from webapp.comparison_view import build_comparison_view, comparison_outputs
from webapp.context import AppContext
from webapp.score_view import build_score_view, score_outputs
from webapp.settings import loopback_warning, rater_base_url
from webapp.test_designer import build_designer

EXAMPLE_SPEC = """\
name: Demo ACR
method: acr
clips:
  dataset: demo
  systems: [unprocessed, mmse_lsa]
votes_per_clip: 5
clips_per_session: 10
gold: {auto: true, count: 2, tolerance: 1}
trapping: {enabled: true, per_session: 1}
training: {count: 3}
checks: {qualification: true, volume: true, stereo: true, environment: true}
sessions_per_rater: 3
abandon_after_minutes: 60
platform: generic
"""


def _votes_per_clip_figure(clips: list[dict]) -> go.Figure:
    frame = pd.DataFrame(clips).sort_values("votes") if clips else pd.DataFrame(
        columns=["name", "system", "votes", "assigned", "target"])
    # Outputs of different systems share their input's file name: label by both.
    labels = frame["name"].astype(str) + " · " + frame["system"].astype(str)
    fig = go.Figure()
    fig.add_bar(x=labels, y=frame["votes"], name="votes that count")
    fig.add_bar(x=labels, y=frame["assigned"], name="assigned, in progress")
    if len(frame):
        fig.add_hline(y=float(frame["target"].iloc[0]), line_dash="dash",
                      annotation_text="target")
    fig.update_layout(barmode="stack", height=320, margin=dict(l=50, r=20, t=30, b=80),
                      title=dict(text="Votes per clip"), xaxis=dict(showticklabels=False))
    return fig


def _reasons_figure(reasons: dict[str, int]) -> go.Figure:
    fig = go.Figure(go.Bar(x=list(reasons.values()), y=list(reasons), orientation="h"))
    fig.update_layout(height=260, margin=dict(l=200, r=20, t=30, b=40),
                      title=dict(text="Why sessions were rejected or left out"),
                      xaxis=dict(title=dict(text="sessions")))
    return fig


def used_rating_votes(votes: pd.DataFrame) -> pd.DataFrame:
    """The votes the MOS counts: rating items (no gold, trapping or training) of accepted
    sessions."""
    return votes[(votes["role"] == "rating") & votes["used"]]


def scale_range(method: str) -> tuple[int, int]:
    """The lowest and highest score of the method's scale (1..5 where it names none)."""
    values = [v for v, _ in getattr(method_of(method), "scale", ())] or [1, 5]
    return min(values), max(values)


def sessions_rows(sessions: list[dict]) -> pd.DataFrame | None:
    """The sessions table; a session not finished yet shows a blank, not NaT."""
    if not sessions:
        return None
    frame = pd.DataFrame([{**s, "qc_reasons": "; ".join(s["qc_reasons"])} for s in sessions])
    for column in ("created_at", "finished_at"):
        if column in frame:
            frame[column] = ["" if pd.isna(v) else v.strftime("%Y-%m-%d %H:%M:%S")
                             if isinstance(v, datetime) else str(v) for v in frame[column]]
    return frame


def _histogram_figure(votes: pd.DataFrame, low: int = 1, high: int = 5) -> go.Figure:
    fig = go.Figure()
    for system, frame in votes.groupby("condition", sort=True):
        fig.add_histogram(x=frame["score"], name=str(system),
                          xbins=dict(start=low - 0.5, end=high + 0.5, size=1))
    fig.update_layout(barmode="group", height=300, margin=dict(l=50, r=20, t=30, b=40),
                      title=dict(text="Votes per score (ratings used)"),
                      xaxis=dict(title=dict(text="score"), dtick=1,
                                 range=[low - 0.5, high + 0.5]))
    return fig


def _raters_figure(raters: list[dict]) -> go.Figure:
    frame = pd.DataFrame(raters)
    fig = go.Figure()
    if len(frame):
        fig.add_scatter(x=frame["n_votes"], y=frame["r"], mode="markers", text=frame["rater"],
                        name="leave-one-out r",
                        hovertemplate="%{text}: r=%{y:.2f}, %{x} votes<extra></extra>")
        if "irr_p808" in frame:
            fig.add_scatter(x=frame["n_votes"], y=frame["irr_p808"], mode="markers",
                            text=frame["rater"], name="P.808 IRR (self included)",
                            marker=dict(symbol="x"),
                            hovertemplate="%{text}: P.808 IRR=%{y:.2f}<extra></extra>")
    fig.update_layout(height=300, margin=dict(l=50, r=20, t=30, b=40),
                      title=dict(text="Rater agreement with the clip MOS"),
                      xaxis=dict(title=dict(text="votes")),
                      yaxis=dict(title=dict(text="Pearson r"), range=[-1.05, 1.05]))
    return fig


def category_rows(categories: list[dict]) -> pd.DataFrame | None:
    """MOS by speech category (rows) and system (columns) as ``mos ± ci95 (n)``; None when
    no rated clip names a category (the table would say nothing)."""
    if not categories or {c["category"] for c in categories} == {"unknown"}:
        return None
    frame = pd.DataFrame(categories)

    def cell(row: pd.Series) -> str:
        if row["mos"] is None or pd.isna(row["mos"]):
            return f"- (n={int(row['n'])})"
        ci = "" if row["ci95"] is None or pd.isna(row["ci95"]) else f" ± {row['ci95']:.2f}"
        return f"{row['mos']:.2f}{ci} (n={int(row['n'])})"

    frame["cell"] = frame.apply(cell, axis=1)
    order = list(dict.fromkeys(frame["category"]))
    table = frame.pivot(index="category", columns="system", values="cell").loc[order]
    return table.reset_index().rename(columns={"category": "speech category"}).fillna("")


def spec_problems_markdown(problems: list[str]) -> str:
    """Every problem of a refused spec as a list the researcher can work through."""
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    return f"**Not created: the spec has {count}.**\n\n" + "\n".join(
        f"- {p}" for p in problems)


def _markdown_text(text: str) -> str:
    """Plain text for Markdown: options and variables (``--public-url``,
    ``APP_PUBLIC_URL``) as code, so their underscores stay underscores."""
    return re.sub(r"(--[a-z][\w-]*|\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b)", r"`\1`", text)


def _table(frame: pd.DataFrame | None) -> gr.Dataframe:
    """A table that is on the page only while it has rows."""
    return gr.Dataframe(value=frame, visible=frame is not None and len(frame) > 0)


def _shown(figure: go.Figure | None) -> gr.Plot:
    """A plot that is on the page only while it has something to show."""
    return gr.Plot(value=figure, visible=figure is not None)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _reliability(value: float | None) -> str:
    return _number(value) if value is not None else (
        "undefined (fewer than two raters or systems, or the two halves of the raters rank "
        "the systems in opposite orders)")


def _selected_id(event: gr.SelectData) -> int | None:
    return int(event.row_value[0]) if event.row_value else None


def build_tests_tab(context: AppContext, blocks: gr.Blocks) -> None:
    """Lay out the tab inside the current Blocks and wire its events."""

    def tests_table() -> pd.DataFrame:
        with context.sessions() as session:
            tests = list_tests(session)
        return pd.DataFrame([{"id": t.id, "name": t.name, "status": t.status,
                              "clips": t.rating_clips, "votes per clip": t.votes_per_clip,
                              "sessions": t.sessions, "platform": t.platform}
                             for t in tests],
                            columns=["id", "name", "status", "clips", "votes per clip",
                                     "sessions", "platform"])

    def create(spec_text: str):
        """The new draft in the table and the id box; a refused spec leaves both as they
        were and lists every problem below the button."""
        try:
            spec = yaml.safe_load(spec_text)
        except yaml.YAMLError as exc:
            return gr.skip(), gr.skip(), f"**The spec is not valid YAML:** {exc}"
        try:
            with context.sessions.begin() as session:
                info = create_test(session, context.store, spec)
        except SpecError as exc:
            return gr.skip(), gr.skip(), spec_problems_markdown(exc.problems)
        except RatingError as exc:
            return gr.skip(), gr.skip(), f"**Not created:** {exc.message}"
        return tests_table(), info.id, f"Draft {info.id} created: {info.name}."

    def change_status(test_id: float | None, action: str) -> pd.DataFrame:
        if not test_id:
            raise gr.Error("select a test first")
        try:
            with context.sessions.begin() as session:
                (open_test if action == "open" else close_test)(session, int(test_id))
        except RatingError as exc:
            raise gr.Error(exc.message) from exc
        return tests_table()

    def rater_link(info: dict, request: gr.Request | None) -> str:
        """The rater link line, with the loopback warning while no crowd worker can reach
        it."""
        base = rater_base_url(context.settings, request.base_url if request else None)
        id_param = "PROLIFIC_PID={{%PROLIFIC_PID%}}" if info["platform"] == "prolific" \
            else "participant=<rater id>"
        warning = loopback_warning(base)
        return (f"Rater link: `{base}/rate/{info['id']}?{id_param}`" +
                (f"  \n**{_markdown_text(warning)}**" if warning else ""))

    def dashboard(test_id: float | None, request: gr.Request):
        """The ACR dashboard, or the view the method asks for: the comparison view (CCR,
        A/B, ranking) or the score view (MUSHRA)."""
        method = "acr"
        if test_id:
            try:
                with context.sessions() as session:
                    method = get_test(session, int(test_id)).method
            except RatingError as exc:
                raise gr.Error(exc.message) from exc
        kind = method_of(method)
        exports = list(kind.exports)
        export_choice = gr.Dropdown(choices=exports, value=exports[0] if exports else None)
        views = (*comparison_outputs(context, int(test_id or 0), method),
                 *score_outputs(context, int(test_id or 0), method))
        if kind.dashboard == "mos":
            return (*acr_dashboard(test_id, request), gr.Column(visible=True), *views,
                    export_choice)
        return (*comparison_dashboard(int(test_id), request), gr.Column(visible=False),
                *views, export_choice)

    def comparison_dashboard(test_id: int, request: gr.Request):
        """What the ACR dashboard shows that a comparison test has too: the summary and the
        sessions; its MOS figures stay empty (the comparison view replaces them)."""
        try:
            with context.sessions() as session:
                info = get_test(session, test_id).to_dict()
                counts = test_results(session, test_id)["sessions"]
                sessions = list_sessions(session, test_id)
        except RatingError as exc:
            raise gr.Error(exc.message) from exc
        text = (f"### {html.escape(info['name'])} ({info['status']}, {info['method'].upper()})\n"
                f"{rater_link(info, request)}  \n"
                f"Completion code: `{info['completion_code']}`  \n"
                f"{method_of(info['method']).describe_size(info)}; "
                f"gold {info['gold_clips']}, training {info['training_clips']}.  \n"
                "Sessions: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + ".")
        session_rows = sessions_rows(sessions)
        return (text, _shown(None), _shown(None), _shown(None), _shown(None), _shown(None),
                _table(None), _table(None), _table(session_rows))

    def acr_dashboard(test_id: float | None, request: gr.Request):
        if not test_id:
            return ("Select a test in the table.", _shown(None), _shown(None), _shown(None),
                    _shown(None), _shown(None), _table(None), _table(None), _table(None))
        try:
            with context.sessions() as session:
                overview = test_overview(session, int(test_id))
                used = statistics_frame(votes_frame(session, int(test_id)))
                sessions = list_sessions(session, int(test_id))
        except RatingError as exc:
            raise gr.Error(exc.message) from exc
        info, counts = overview["test"], overview["sessions"]
        share = overview["clean_vote_share"]
        text = (f"### {html.escape(info['name'])} ({info['status']})\n"  # a name is text
                f"{rater_link(info, request)}  \n"
                f"Completion code: `{info['completion_code']}`  \n"
                f"{info['rating_clips']} clips x {info['votes_per_clip']} votes, "
                f"{info['clips_per_session']} clips a session; gold {info['gold_clips']}, "
                f"trapping {info['trap_clips']}, training {info['training_clips']}.  \n"
                f"Sessions: " + ", ".join(f"{k} {v}" for k, v in counts.items()) +
                f".  \nShare of clean votes: "
                f"{'-' if share is None else f'{100 * share:.0f}%'}; split-half "
                f"reliability of system MOS: {_reliability(overview['split_half'])}")
        # objective means over one input set per metric, its size in the column name
        objective_n = overview.get("objective_n") or {}
        systems = pd.DataFrame([{k: v for k, v in s.items() if k != "objective"}
                                | {f"{m} (n={objective_n.get(m, '?')})": v
                                   for m, v in (s.get("objective") or {}).items()}
                                for s in overview["systems"]])
        figure = None
        scale_span = scale_range(info["method"])
        counted = used_rating_votes(used)
        if overview.get("scales"):  # several scales (P.835): their MOS side by side
            long = pd.DataFrame([{**row, "scale": scale.upper()}
                                 for scale, table in overview["scales"].items()
                                 for row in table["systems"]])
            figure = bars_with_ci(long.rename(columns={"mos": "mos_mean", "ci95": "mos_ci95",
                                                       "n": "mos_n"}), "mos", color="scale",
                                  title="MOS per system and scale, 95% CI (t)",
                                  value_range=scale_span)
        elif len(systems):
            figure = bars_with_ci(systems.rename(columns={"mos": "mos_mean", "ci95": "mos_ci95",
                                                          "n": "mos_n"}),
                                  "mos", title="MOS per system, 95% CI (t)",
                                  value_range=scale_span)
        # P.835: the scales against DNSMOS SIG/BAK/OVRL where the vote histogram goes
        votes_figure = scales_vs_metric_figure(overview["dnsmos"]) if overview.get("dnsmos") \
            else _histogram_figure(counted, *scale_span) if len(counted) else None
        session_rows = sessions_rows(sessions)
        return (text, _shown(_votes_per_clip_figure(overview["clips"])
                             if overview["clips"] else None),
                _shown(figure), _shown(votes_figure),
                _shown(_raters_figure(overview["raters"]) if overview["raters"] else None),
                _shown(_reasons_figure(overview["reasons"]) if overview["reasons"] else None),
                _table(systems.round(3) if len(systems) else None),
                _table(category_rows(overview.get("categories") or [])), _table(session_rows))

    def override(test_id: float | None, session_id: float | None, status: str, reason: str,
                 request: gr.Request) -> str:
        if not test_id or not session_id:
            raise gr.Error("select a test and give the session id")
        try:
            with context.sessions.begin() as session:
                record = override_decision(session, int(session_id), status, reason=reason,
                                           admin=getattr(request, "username", None) or "admin",
                                           test_id=int(test_id))
        except RatingError as exc:
            raise gr.Error(exc.message) from exc
        return f"Session {record.session_id}: {record.old_status} -> {record.new_status}, logged."

    def download(test_id: float | None, name: str | None) -> str:
        if not test_id:
            raise gr.Error("select a test first")
        if not name:
            raise gr.Error("choose an export")
        try:
            with context.sessions() as session:
                exported = export_file(session, context.store, int(test_id), name)
        except RatingError as exc:
            raise gr.Error(exc.message) from exc
        path = Path(tempfile.mkdtemp(prefix="export-")) / f"test{int(test_id)}_{exported.name}"
        path.write_bytes(exported.content)
        return str(path)

    with gr.Accordion("New test from a spec: designer or YAML", open=False,
                      elem_id="test-new"):
        with gr.Accordion("Designer", open=True):
            designer = gr.Column()
        with gr.Accordion("Advanced: the spec as YAML (see docs/rating-api.md)", open=True):
            spec = gr.Code(EXAMPLE_SPEC, language="yaml", label="Spec", elem_id="test-spec")
        with designer:
            build_designer(spec)
        create_button = gr.Button("Create draft", elem_id="test-create")
        create_message = gr.Markdown(elem_id="test-create-message")
    tests = gr.Dataframe(label="Tests (select a row)", interactive=False, elem_id="tests-table")
    with gr.Row():
        test_id = gr.Number(label="Test id", precision=0, elem_id="test-id")
        open_button = gr.Button("Open for raters", elem_id="test-open")
        close_button = gr.Button("Close", elem_id="test-close")
        refresh = gr.Button("Refresh")
    summary = gr.Markdown(elem_id="test-summary")
    with gr.Column(elem_id="acr-view") as acr_view:  # hidden for comparison tests
        with gr.Row():
            votes_plot = gr.Plot(elem_id="test-votes-plot", visible=False)
            mos_plot = gr.Plot(elem_id="test-mos-plot", visible=False)
        with gr.Row():
            histogram = gr.Plot(elem_id="test-histogram", visible=False)
            raters_plot = gr.Plot(elem_id="test-raters-plot", visible=False)
            reasons_plot = gr.Plot(elem_id="test-reasons-plot", visible=False)
        systems_table = gr.Dataframe(label="Systems: MOS beside objective metrics (each metric "
                                           "over the inputs every system has it for; n in "
                                           "its name)",
                                     interactive=False, elem_id="test-systems", visible=False)
        categories_table = gr.Dataframe(label="MOS by speech category (the rated clip's, or its "
                                              "input's, speech.category): mean ± 95% CI (votes)",
                                        interactive=False, elem_id="test-categories",
                                        visible=False)
    comparison = build_comparison_view(context, test_id)
    scores_view = build_score_view()
    sessions_table = gr.Dataframe(label="Sessions and quality-control decisions",
                                  interactive=False, max_height=300, visible=False)
    with gr.Accordion("Override a decision (logged)", open=False):
        with gr.Row():
            session_id = gr.Number(label="Session id", precision=0, elem_id="override-session")
            status = gr.Dropdown(["accepted", "not_used", "rejected"], value="accepted",
                                 label="New decision")
            reason = gr.Textbox(label="Reason", elem_id="override-reason")
            override_button = gr.Button("Override", elem_id="override-button")
        override_result = gr.Markdown(elem_id="override-result")
    with gr.Row():
        # the selected test's method offers its own exports (filled in on selection)
        export_name = gr.Dropdown(list(EXPORTS), value=None, label="Export",
                                  elem_id="test-export-name")
        export_button = gr.Button("Download", elem_id="test-export")
        export_file_out = gr.File(label="Export file", interactive=False,
                                  elem_id="test-export-file")
    timer = gr.Timer(15)

    outputs = [summary, votes_plot, mos_plot, histogram, raters_plot, reasons_plot,
               systems_table, categories_table, sessions_table, acr_view, *comparison.outputs,
               *scores_view.outputs, export_name]
    create_button.click(create, spec, [tests, test_id, create_message])
    tests.select(_selected_id, None, test_id)
    test_id.change(dashboard, test_id, outputs)
    refresh.click(tests_table, None, tests).then(dashboard, test_id, outputs)
    timer.tick(dashboard, test_id, outputs, show_progress="hidden")
    open_button.click(change_status, [test_id, gr.State("open")], tests).then(
        dashboard, test_id, outputs)
    close_button.click(change_status, [test_id, gr.State("close")], tests).then(
        dashboard, test_id, outputs)
    override_button.click(override, [test_id, session_id, status, reason], override_result
                          ).then(dashboard, test_id, outputs)
    export_button.click(download, [test_id, export_name], export_file_out)
    blocks.load(tests_table, None, tests)
