"""The active quality model's predictions of library clips, and clips worth rating next.

Each clip is scored once per model and kept in ``sqa_predictions`` with its uncertainty:
the standard deviation of Monte-Carlo dropout samples (dropout left on at prediction, so
each pass is a different thinned network). Clips where that spread is largest are where a
human rating teaches the model most, so they are suggested for the next listening test.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from torch import nn

from db.models import Clip, SqaPrediction, System
from db.store import AudioStore
from library.quality_models import QualityModelError, active_model, get_model
from sqa.features import log_mel
from sqa.model import MosPredictor
from sqa.predict import load_predictor, predict_features

#: Monte-Carlo dropout passes per clip.
MC_SAMPLES = 8
#: Predictions written per transaction, so scoring never holds the write lock for long.
BATCH = 20
#: The longest stretch of a clip scored for the spread (the mean uses the whole clip).
SPREAD_SECONDS = 10.0

ProgressCallback = Callable[[int, int, str], None]


@dataclass
class ScoringReport:
    """What a scoring run did."""

    model: str
    scored: int = 0
    already_scored: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        text = (f"Model '{self.model}': {self.scored} clips scored, {self.already_scored} "
                f"already scored")
        return text + (f", {len(self.failed)} failed" if self.failed else "") + "."


@torch.no_grad()
def mc_dropout(model: MosPredictor, feats: np.ndarray, samples: int = MC_SAMPLES,
               seed: int = 0) -> np.ndarray:
    """MOS of ``samples`` passes with dropout on (shape (samples,)); the model is a copy
    the caller owns, left in eval mode afterwards."""
    size = model.feature_config().frames(SPREAD_SECONDS)
    batch = torch.from_numpy(np.ascontiguousarray(feats[:size]))[None].repeat(samples, 1, 1)
    model.eval()
    for module in model.modules():
        if isinstance(module, (nn.Dropout, nn.TransformerEncoderLayer, nn.MultiheadAttention)):
            module.train()  # dropout only: the model has no batch statistics to disturb
    torch.manual_seed(seed)
    try:
        return model(batch)["mos"].cpu().numpy().astype(float)
    finally:
        model.eval()


def _unscored(session: Session, model_id: int) -> tuple[list[tuple[int, str, str]], int]:
    done = select(SqaPrediction.clip_id).where(SqaPrediction.model_id == model_id)
    todo = session.execute(select(Clip.id, Clip.name, Clip.sha256)
                           .where(Clip.id.not_in(done)).order_by(Clip.id)).all()
    already = len(session.scalars(done).all())
    return [tuple(r) for r in todo], already


def score_library(sessions: sessionmaker[Session], store: AudioStore,
                  model_id: int | None = None, *, samples: int = MC_SAMPLES,
                  progress: ProgressCallback | None = None) -> ScoringReport:
    """Predict every clip the model has not scored yet (the active model by default).

    Raises:
        QualityModelError: no such model, no active model, or its folder is unusable.
    """
    with sessions() as session:
        info = get_model(session, model_id) if model_id is not None else active_model(session)
        if info is None:
            raise QualityModelError("no active quality model: train one or activate one")
        todo, already = _unscored(session, info.id)
    try:
        model = load_predictor(info.path)
    except ValueError as exc:
        raise QualityModelError(f"model '{info.name}': {exc}") from exc
    sampler = copy.deepcopy(model)
    report = ScoringReport(info.name, already_scored=already)
    pending: list[SqaPrediction] = []
    for index, (clip_id, name, sha) in enumerate(todo, 1):
        try:
            wave, rate = store.read(sha)
            feats = log_mel(wave, rate, model.feature_config())
            mos = predict_features(model, feats)
            spread = float(np.std(mc_dropout(sampler, feats, samples), ddof=1)) \
                if samples > 1 else None
            if not math.isfinite(mos):
                raise ValueError("the prediction is not finite")
        except (OSError, ValueError, RuntimeError) as exc:
            report.failed.append((clip_id, f"{name}: {exc}"))
        else:
            pending.append(SqaPrediction(model_id=info.id, clip_id=clip_id, mos=mos,
                                         spread=spread))
        if len(pending) >= BATCH or index == len(todo):
            report.scored += _save(sessions, pending)
            pending = []
        if progress is not None:
            progress(index, len(todo), name)
    return report


def _save(sessions: sessionmaker[Session], rows: list[SqaPrediction]) -> int:
    if not rows:
        return 0
    try:
        with sessions.begin() as session:
            session.add_all(rows)
        return len(rows)
    except IntegrityError:  # another run stored some of them first; keep theirs
        saved = 0
        for row in rows:
            try:
                with sessions.begin() as session:
                    session.add(SqaPrediction(model_id=row.model_id, clip_id=row.clip_id,
                                              mos=row.mos, spread=row.spread))
                saved += 1
            except IntegrityError:
                pass
        return saved


def suggest_clips(session: Session, limit: int = 20, model_id: int | None = None
                  ) -> pd.DataFrame:
    """The clips the model is least sure about (largest MC-dropout spread first).

    Returns:
        Columns ``clip_id, name, system, predicted_mos, spread`` (``system``: the system
        that made the clip, empty for inputs); empty when nothing is scored.
    """
    if model_id is None:
        info = active_model(session)
        if info is None:
            raise QualityModelError("no active quality model: train one or activate one")
        model_id = info.id
    rows = session.execute(
        select(Clip.id, Clip.name, func.coalesce(System.name, ""), SqaPrediction.mos,
               SqaPrediction.spread)
        .join(SqaPrediction, SqaPrediction.clip_id == Clip.id)
        .outerjoin(System, System.id == Clip.system_id)
        .where(SqaPrediction.model_id == model_id, SqaPrediction.spread.is_not(None))
        .order_by(SqaPrediction.spread.desc(), Clip.id).limit(int(limit))).all()
    return pd.DataFrame(rows, columns=["clip_id", "name", "system", "predicted_mos", "spread"])

