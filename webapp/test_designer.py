"""The test designer: a form for the common choices of a listening test that writes the same
YAML spec the advanced view edits (docs/rating-api.md), so the form and the YAML never
disagree: the form only ever produces YAML, and the spec is validated in one place."""

from __future__ import annotations

from typing import Any

import gradio as gr
import yaml

from listening_tests.methods import METHODS, method_of
from listening_tests.spec import PLATFORMS

CHECKS = ("qualification", "volume", "stereo", "environment")


def spec_from_form(name: str, method: str, dataset: str, systems: str, reference: str,
                   votes: float, per_session: float, gold: float, trapping: float,
                   training: float, checks: list[str], platform: str,
                   min_rating_variance: float, gold_tolerance: float,
                   categories: str = "") -> dict[str, Any]:
    """The spec mapping the form describes (validated later, with the YAML path).
    ``categories``: comma-separated speech categories to rate (empty: all)."""
    kind = method_of(method)
    names = [s.strip() for s in systems.split(",") if s.strip()]
    votes_key, session_key = kind.spec_keys()
    selection: dict[str, Any] = {"dataset": dataset.strip()}
    if names:
        selection["systems"] = names
    if kind.takes_reference() and reference.strip():
        selection["reference"] = reference.strip()
    chosen = [c.strip() for c in categories.split(",") if c.strip()]
    if chosen:  # a comparison test refuses it with the spec's message (clip tests only)
        selection["categories"] = chosen
    spec: dict[str, Any] = {
        "name": name.strip(), "method": method, "pairs" if kind.pairs else "clips": selection,
        votes_key: int(votes), session_key: int(per_session),
        "training": {"count": int(training)},
        "checks": {c: c in checks for c in CHECKS},
        "platform": platform,
        "quality_control": {"min_rating_variance": float(min_rating_variance),
                            "gold_tolerance": float(gold_tolerance)},
    }
    if kind.makes_gold:  # MUSHRA screens with its hidden reference and anchors instead
        spec["gold"] = {"auto": int(gold) > 0, "count": int(gold)}
    if not kind.pairs:
        spec["trapping"] = {"enabled": int(trapping) > 0,
                            "per_session": max(int(trapping), 1)}
    return spec


def form_yaml(*values: Any) -> str:
    """The form's spec as YAML, in the form's order."""
    return yaml.safe_dump(spec_from_form(*values), sort_keys=False, allow_unicode=True)


def method_defaults(method: str) -> tuple[Any, Any]:
    """The gold and training fields for a newly chosen method: its own defaults, and no gold
    field to fill where the method has no gold items."""
    kind = method_of(method)
    gold = gr.update(value=2 if kind.makes_gold else 0, interactive=kind.makes_gold)
    return gold, gr.update(value=kind.training_default)


def build_designer(spec_box: gr.Code) -> None:
    """Lay out the form; "Write spec" fills ``spec_box`` (the advanced YAML view)."""
    with gr.Row():
        name = gr.Textbox("My listening test", label="Name", elem_id="designer-name")
        method = gr.Dropdown([(m.title or m.name, m.name) for m in METHODS.values()],
                             value="acr", label="Method", elem_id="designer-method")
        platform = gr.Dropdown(list(PLATFORMS), value="generic", label="Platform",
                               elem_id="designer-platform")
    with gr.Row():
        dataset = gr.Textbox("demo", label="Dataset", elem_id="designer-dataset")
        systems = gr.Textbox("unprocessed, mmse_lsa", label="Systems (comma-separated)",
                             elem_id="designer-systems")
        reference = gr.Textbox("clean", label="Reference (" + ", ".join(
            m.name.upper() for m in METHODS.values() if m.takes_reference()) + ")",
                               elem_id="designer-reference")
        categories = gr.Textbox("", label="Speech categories (comma-separated; empty: all)",
                                placeholder="child, elderly, sung",
                                elem_id="designer-categories")
    with gr.Row():
        votes = gr.Number(5, precision=0, minimum=1, label="Votes per item",
                          elem_id="designer-votes")
        per_session = gr.Number(10, precision=0, minimum=1, label="Items per session",
                                elem_id="designer-per-session")
        gold = gr.Number(2, precision=0, minimum=0, label="Gold items",
                         elem_id="designer-gold")
        trapping = gr.Number(1, precision=0, minimum=0, label="Traps per session (clip methods)",
                             elem_id="designer-trapping")
        training = gr.Number(3, precision=0, minimum=0, label="Training items",
                             elem_id="designer-training")
    with gr.Row():
        checks = gr.CheckboxGroup(list(CHECKS), value=list(CHECKS), label="Checks",
                                  elem_id="designer-checks")
        variance = gr.Number(0.1, minimum=0, label="QC: minimum rating variance",
                             elem_id="designer-variance")
        tolerance = gr.Number(1.0, minimum=0, label="QC: gold tolerance",
                              elem_id="designer-tolerance")
    method.change(method_defaults, method, [gold, training])
    write = gr.Button("Write spec (then Create draft)", elem_id="designer-write")
    write.click(form_yaml, [name, method, dataset, systems, reference, votes, per_session,
                            gold, trapping, training, checks, platform, variance, tolerance,
                            categories],
                spec_box)
