"""The registry of quality (MOS) models, and training one from the app's labels.

A model is a folder holding ``model.pt`` (what :func:`sqa.predict.load_predictor` loads) and
a row in ``sqa_models`` saying what it learnt from, how its held-out part was chosen and how
it scored there, beside DNSMOS OVRL and DNSMOS P.808 on the very same held-out clips, so a
trained model is always judged against the objective baselines. One model is active: the
one whose predictions the app shows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from db.models import Clip, SqaModel, SqaModelKind
from db.store import AudioStore
from library.quality_labels import clip_id_of
from library.scores import ensure_scores
from sqa.checkpoint import CheckpointError, read_checkpoint
from sqa.data import SPLITS, split_labels
from sqa.labels import LabelTable, mean_opinion
from sqa.metrics import METRICS, EvaluationError, evaluate
from sqa.predict import load_predictor, predict
from sqa.train import (
    PRETRAINED,
    StepCallback,
    TrainConfig,
    TrainError,
    resolve_init,
    train,
)

#: The objective baselines every trained model is compared with, as scored in the library.
BASELINES: tuple[str, ...] = ("dnsmos_ovrl", "dnsmos_p808")

#: A small model for quick trials in the app (the default is the compact 1.0 M model).
TINY_MODEL: dict[str, Any] = {"n_mels": 32, "conv_channels": 8, "d_model": 32, "n_layers": 1,
                              "n_heads": 2, "ff_dim": 64, "listener_dim": 8, "dropout": 0.1}
MODEL_SIZES: dict[str, dict[str, Any]] = {"compact": {}, "tiny": TINY_MODEL}

PRETRAINED_NAME = "pretrained"


class QualityModelError(ValueError):
    """A registry or training request is refused; the message is for the user as it is."""


@dataclass(frozen=True)
class ModelInfo:
    """A registered model as plain values."""

    id: int
    name: str
    kind: str
    path: str
    created_at: datetime
    training_data: dict[str, Any] | None
    split_mode: str | None
    metrics: dict[str, Any] | None
    is_active: bool


@dataclass(frozen=True)
class TrainingRequest:
    """What to train: a name, the split, its size and the length of training. A compact
    model starts from ``init_model_id``'s model, else from the shipped checkpoint unless
    ``from_scratch``; a tiny one is always new."""

    name: str
    split: str = "system"
    held_out_fraction: float = 0.25
    steps: int = 200
    size: str = "compact"
    init_model_id: int | None = None
    from_scratch: bool = False
    batch_size: int = 16
    seed: int = 0


def _info(row: SqaModel) -> ModelInfo:
    return ModelInfo(row.id, row.name, row.kind, row.path, row.created_at, row.training_data,
                     row.split_mode, row.metrics, row.is_active)


def list_models(session: Session) -> list[ModelInfo]:
    """Every registered model, newest first."""
    return [_info(r) for r in session.scalars(select(SqaModel).order_by(SqaModel.id.desc()))]


def active_model(session: Session) -> ModelInfo | None:
    row = session.scalar(select(SqaModel).where(SqaModel.is_active.is_(True)))
    return _info(row) if row is not None else None


def get_model(session: Session, model_id: int) -> ModelInfo:
    row = session.get(SqaModel, model_id)
    if row is None:
        raise QualityModelError(f"no quality model with id {model_id}")
    return _info(row)


def register_model(session: Session, name: str, kind: SqaModelKind | str, folder: Path, *,
                   training_data: dict | None = None, split_mode: str | None = None,
                   metrics: dict | None = None, activate: bool = False) -> int:
    """Add a model folder to the registry; the first model registered becomes active.

    Raises:
        QualityModelError: the name is taken or the folder holds no usable checkpoint.
    """
    if session.scalar(select(SqaModel.id).where(SqaModel.name == name)) is not None:
        raise QualityModelError(f"a quality model named '{name}' exists; choose another name")
    try:
        read_checkpoint(folder)
    except CheckpointError as exc:
        raise QualityModelError(str(exc)) from exc
    first = session.scalar(select(SqaModel.id).limit(1)) is None
    row = SqaModel(name=name, kind=SqaModelKind(kind).value, path=str(Path(folder).resolve()),
                   training_data=training_data, split_mode=split_mode, metrics=metrics)
    session.add(row)
    session.flush()
    if activate or first:
        activate_model(session, row.id)
    return row.id


def activate_model(session: Session, model_id: int) -> None:
    """Make one model the active one (the others stop being so)."""
    get_model(session, model_id)
    session.execute(update(SqaModel).values(is_active=SqaModel.id == model_id))
    session.flush()


def register_pretrained(session: Session, folder: Path) -> int | None:
    """At start: register the shipped pretrained model as active when the registry is empty
    and the folder holds ``model.pt``; otherwise do nothing (returns None)."""
    if not (Path(folder) / "model.pt").is_file():
        return None
    if session.scalar(select(SqaModel.id).limit(1)) is not None:
        return None
    try:
        return register_model(session, PRETRAINED_NAME, SqaModelKind.PRETRAINED, Path(folder),
                              training_data={"sources": ["shipped pretrained checkpoint"]},
                              activate=True)
    except QualityModelError:
        return None  # an unreadable checkpoint: the app works without a model


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "model"


def _json_number(value: float) -> float | None:
    return None if value is None or not math.isfinite(float(value)) else float(value)


def flat_metrics(result: dict[str, dict]) -> dict[str, float | None]:
    """``utt_MSE .. sys_KTAU`` of an :func:`sqa.metrics.evaluate` result (NaN as None)."""
    return {f"{prefix}_{name}": _json_number(result[level][name])
            for level, prefix in (("utterance", "utt"), ("system", "sys")) for name in METRICS}


def held_out_points(sessions: sessionmaker[Session], store: AudioStore, folder: Path,
                    held: LabelTable) -> pd.DataFrame:
    """Per held-out clip: human MOS, the model's prediction and both DNSMOS baselines
    (scored once per clip and cached in ``objective_scores``)."""
    model = load_predictor(folder)
    utts = mean_opinion(held)
    rows = []
    for row in utts.itertuples(index=False):
        clip_id = clip_id_of(row.utterance_id)
        with sessions() as session:
            clip = session.get(Clip, clip_id)
            name, sha = clip.name, clip.sha256
        samples, rate = store.read(sha)
        baselines = ensure_scores(sessions, store, clip_id, BASELINES).values
        rows.append({"clip_id": clip_id, "utterance_id": row.utterance_id, "name": name,
                     "system_id": row.system_id, "dataset": row.dataset, "mos": row.mos,
                     "pred": predict(model, samples, rate), **baselines})
    return pd.DataFrame(rows)


def score_points(points: pd.DataFrame) -> dict[str, dict[str, float | None]]:
    """The eight metrics of the model and of each baseline on the same clips (a baseline
    that failed on a clip is judged on the clips it scored)."""
    out = {}
    for column, label in (("pred", "model"), *((b, b) for b in BASELINES)):
        scored = points[points[column].notna()]
        try:
            result = evaluate(pd.Series(scored[column].to_numpy(), index=scored["utterance_id"]),
                              scored[["utterance_id", "system_id", "mos"]])
        except (EvaluationError, ValueError):
            out[label] = {f"{p}_{n}": None for p in ("utt", "sys") for n in METRICS}
            continue
        out[label] = flat_metrics(result)
    return out


def describe_data(table: LabelTable, test_ids: Sequence[int], label_sets: Sequence[str]
                  ) -> dict[str, Any]:
    """What a model learnt from, as stored with it."""
    return {"sources": [f"test {t}" for t in test_ids] + [f"label set {s}" for s in label_sets],
            "test_ids": [int(t) for t in test_ids], "label_sets": list(label_sets),
            "ratings": len(table), "clips": int(table["utterance_id"].nunique()),
            "systems": int(table["system_id"].nunique()),
            "listeners": int(table["listener_id"].dropna().nunique())}


def train_model(sessions: sessionmaker[Session], store: AudioStore, models_dir: Path,
                table: LabelTable, request: TrainingRequest, data: dict[str, Any], *,
                on_step: StepCallback | None = None) -> tuple[int, pd.DataFrame]:
    """Train on ``table`` minus the held-out part, evaluate there with the DNSMOS baselines,
    and register the model (not activated).

    Returns:
        (model id, per held-out clip frame of :func:`held_out_points`).

    Raises:
        QualityModelError: a bad request (name taken, unknown split or size, too little data).
    """
    name = request.name.strip()
    if not name:
        raise QualityModelError("give the model a name")
    if request.split not in SPLITS:
        raise QualityModelError(f"split must be one of {', '.join(SPLITS)}")
    if request.size not in MODEL_SIZES:
        raise QualityModelError(f"model size must be one of {', '.join(MODEL_SIZES)}")
    if not 0 < request.held_out_fraction < 1 or request.steps < 1:
        raise QualityModelError("the held-out fraction must be in (0, 1) and steps >= 1")
    init = None
    with sessions() as session:
        if session.scalar(select(SqaModel.id).where(SqaModel.name == name)) is not None:
            raise QualityModelError(f"a quality model named '{name}' exists; choose another")
        if request.init_model_id is not None:
            init = get_model(session, request.init_model_id).path
    if init is None and not request.from_scratch and request.size == "compact":
        init = resolve_init(PRETRAINED)  # the shipped checkpoint; a tiny model is a new one
    train_part, held = split_labels(table, request.split, request.held_out_fraction,
                                    request.seed)
    if held.empty or train_part.empty:
        unit = "systems" if request.split == "system" else "clips"
        raise QualityModelError(f"the chosen labels have too few {unit} to hold some out")
    folder = Path(models_dir) / f"{_slug(name)}-{datetime.now():%Y%m%d%H%M%S}"
    cfg = TrainConfig(out=str(folder), init=init, val_split=request.split,
                      val_fraction=request.held_out_fraction, seed=request.seed,
                      epochs=10 ** 6, max_steps=request.steps, batch_size=request.batch_size,
                      model=dict(MODEL_SIZES[request.size]), max_seconds=4.0)
    try:
        result = train(cfg, progress=False, table=table, on_step=on_step)
    except (TrainError, CheckpointError) as exc:
        raise QualityModelError(str(exc)) from exc
    points = held_out_points(sessions, store, folder, held)
    metrics = {**score_points(points), "steps": result["step"],
               "final_loss": _json_number(result["losses"][-1]) if result["losses"] else None,
               "held_out_clips": len(points), "points": points.to_dict("records")}
    with sessions.begin() as session:
        model_id = register_model(session, name, SqaModelKind.TRAINED, folder,
                                  training_data={**data, "size": request.size},
                                  split_mode=request.split,
                                  metrics=_json_ready(metrics))
    return model_id, points


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    if isinstance(value, float):
        return _json_number(value)
    if hasattr(value, "item"):  # numpy scalars
        return _json_ready(value.item())
    return value
