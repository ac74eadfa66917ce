"""The quality-model registry, training with DNSMOS baselines, scoring the library and
suggestions, on a real SQLite file and clip store with espeak-ng speech."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from db.models import SqaPrediction
from library.clips import ClipFilter, list_clips
from library.comparison import comparison_inputs, run_comparison
from library.quality_labels import import_label_set, training_labels
from library.quality_models import (
    QualityModelError,
    TrainingRequest,
    activate_model,
    active_model,
    describe_data,
    list_models,
    register_model,
    register_pretrained,
    train_model,
)
from library.quality_scoring import score_library, suggest_clips
from se.systems.registry import get_system
from tests.library.quality_set import need_espeak, write_label_set

METRIC_KEYS = {f"{level}_{name}" for level in ("utt", "sys")
               for name in ("MSE", "LCC", "SRCC", "KTAU")}


@pytest.fixture
def labelled(sessions, store, tmp_path):
    """A library holding a 16-clip label set (4 conditions x 4 sentences, 2 listeners)."""
    need_espeak()
    csv, archive = write_label_set(tmp_path / "set", samples=4)
    import_label_set(sessions.begin, store, csv, archive, "mini")
    with sessions() as s:
        return training_labels(s, store, label_sets=["mini"])


def _train(sessions, store, tmp_path, table, name="m1", steps=40, split="clip", init=None):
    losses = []
    model_id, points = train_model(
        sessions, store, tmp_path / "models", table,
        TrainingRequest(name=name, split=split, steps=steps, size="tiny", batch_size=8,
                        init_model_id=init),
        describe_data(table, [], ["mini"]), on_step=lambda step, total, loss: losses.append(
            (step, total, loss)))
    return model_id, points, losses


def test_training_lowers_loss_and_stores_metrics_with_dnsmos_baselines(
        sessions, store, tmp_path, labelled):
    model_id, points, losses = _train(sessions, store, tmp_path, labelled)
    assert [s for s, _, _ in losses] == list(range(1, 41)) and losses[0][1] == 40
    values = np.array([loss for _, _, loss in losses])
    assert values[-10:].mean() < values[:10].mean()
    assert len(points) == 4 and points["clip_id"].is_unique  # 25 % of 16 clips held out
    assert points[["mos", "pred", "dnsmos_ovrl", "dnsmos_p808"]].notna().all().all()
    with sessions() as s:
        (info,) = list_models(s)
    assert info.id == model_id and info.kind == "trained" and info.split_mode == "clip"
    assert info.is_active  # the first model in an empty registry becomes the active one
    assert info.training_data["label_sets"] == ["mini"] and info.training_data["ratings"] == 32
    for who in ("model", "dnsmos_ovrl", "dnsmos_p808"):
        assert set(info.metrics[who]) == METRIC_KEYS
        assert info.metrics[who]["utt_MSE"] >= 0
    assert info.metrics["held_out_clips"] == 4 and len(info.metrics["points"]) == 4
    assert (tmp_path / "models").is_dir() and any((tmp_path / "models").rglob("model.pt"))
    with pytest.raises(QualityModelError, match="exists"):
        _train(sessions, store, tmp_path, labelled, steps=1)


def test_registry_activates_one_model_and_refuses_bad_folders(sessions, store, tmp_path,
                                                              labelled):
    first, _, _ = _train(sessions, store, tmp_path, labelled, steps=2)
    with sessions() as s:
        folder = active_model(s).path
    with sessions.begin() as s:
        second = register_model(s, "copy", "trained", folder)
        assert active_model(s).id == first
        activate_model(s, second)
    with sessions() as s:
        assert active_model(s).id == second
        assert [m.is_active for m in list_models(s)] == [True, False]
    tuned, _, losses = _train(sessions, store, tmp_path, labelled, name="tuned", steps=2,
                              split="system", init=first)  # fine-tunes the first model
    with sessions() as s:
        info = next(m for m in list_models(s) if m.id == tuned)
    assert len(losses) == 2 and not info.is_active and info.split_mode == "system"
    assert info.metrics["model"]["utt_MSE"] is not None
    with sessions.begin() as s, pytest.raises(QualityModelError, match="no model checkpoint"):
        register_model(s, "empty", "trained", tmp_path)
    with sessions.begin() as s:
        assert register_pretrained(s, tmp_path / "nothing-here") is None
        assert register_pretrained(s, folder) is None  # the registry is not empty


def test_pretrained_folder_is_registered_once_when_the_registry_is_empty(
        sessions, store, tmp_path, labelled):
    _train(sessions, store, tmp_path, labelled, steps=1)
    with sessions() as s:
        folder = active_model(s).path
    from db.session import create_db_engine, make_session_factory, sqlite_url, upgrade_database

    engine = create_db_engine(sqlite_url(tmp_path / "fresh.db"))
    upgrade_database(engine)
    fresh = make_session_factory(engine)
    with fresh.begin() as s:
        model_id = register_pretrained(s, folder)
    with fresh.begin() as s:
        assert register_pretrained(s, folder) is None
        info = active_model(s)
    assert info.id == model_id and info.kind == "pretrained" and info.name == "pretrained"
    engine.dispose()


def test_scoring_is_cached_and_suggestions_are_the_least_certain(sessions, store, tmp_path,
                                                                 labelled):
    with sessions() as s, pytest.raises(QualityModelError, match="no active quality model"):
        suggest_clips(s)
    _train(sessions, store, tmp_path, labelled, steps=5)
    seen = []
    report = score_library(sessions, store, samples=6,
                           progress=lambda done, total, name: seen.append((done, total)))
    assert (report.scored, report.already_scored, report.failed) == (16, 0, [])
    assert seen[-1] == (16, 16)
    again = score_library(sessions, store)
    assert (again.scored, again.already_scored) == (0, 16)
    with sessions() as s:
        rows = s.scalars(select(SqaPrediction)).all()
        suggested = suggest_clips(s, limit=5)
        table = list_clips(s, ClipFilter(dataset="mini"))
    assert all(1 <= r.mos <= 5 and r.spread is not None for r in rows)
    assert any(r.spread > 0 for r in rows)  # MC dropout samples differ
    spreads = sorted((r.spread for r in rows), reverse=True)[:5]
    assert suggested["spread"].tolist() == pytest.approx(spreads)
    top = max(rows, key=lambda r: r.spread)
    assert int(suggested["clip_id"].iloc[0]) == top.clip_id
    made_by = {r.id: r.system or "" for r in table}  # which system each suggested clip is
    assert dict(zip(suggested["clip_id"], suggested["system"], strict=True)) == {
        c: made_by[c] for c in suggested["clip_id"]}
    assert {r.id: r.predicted_mos for r in table} == pytest.approx(
        {r.clip_id: r.mos for r in rows})
    # The Compare tab's per-clip rows carry it too (the identity system's output is its input).
    with sessions() as s:
        inputs = comparison_inputs(s, "mini")[:2]
    compared = run_comparison(sessions, store, inputs, [get_system("unprocessed")], ["si_sdr"])
    by_clip = {r.clip_id: r.mos for r in rows}
    assert compared["predicted_mos"].tolist() == pytest.approx(
        [by_clip[int(c)] for c in compared["output_clip_id"]])


def test_bad_training_requests_are_refused_before_any_work(sessions, store, tmp_path,
                                                           labelled):
    for request, message in (
            (TrainingRequest(name=""), "name"),
            (TrainingRequest(name="x", split="random"), "split"),
            (TrainingRequest(name="x", size="huge"), "size"),
            (TrainingRequest(name="x", held_out_fraction=1.0), "fraction")):
        with pytest.raises(QualityModelError, match=message):
            train_model(sessions, store, tmp_path / "models", labelled, request, {})
    one_system = labelled[labelled["system_id"] == "clean"]
    with pytest.raises(QualityModelError, match="too few systems"):
        train_model(sessions, store, tmp_path / "models", one_system,
                    TrainingRequest(name="x", split="system"), {})
    assert not (tmp_path / "models").exists()
