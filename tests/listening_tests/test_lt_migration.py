"""Migration 0006 (answers keyed by session item, stimulus and scale) on a database that
holds ACR, CCR and A/B votes in the schema before it: every vote is kept, and results and
exports are identical before and after."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pandas as pd
from alembic import command
from sqlalchemy import inspect, select, text

from db.models import ListeningTest, RatingSession, Vote
from db.session import alembic_config, current_revision, head_revision, upgrade_database
from listening_tests.downloads import export_file
from listening_tests.methods import method_of
from listening_tests.results import test_overview, test_results
from tests.listening_tests.rating_lab import T0, Rater, make_lab, plain_spec
from tests.listening_tests.test_lt_pairs import PairRater
from tests.listening_tests.test_lt_pairs import spec as pair_spec

LATER = T0 + timedelta(days=1)


def _files(lab, test_id: int) -> dict[str, object]:
    """Every export of a test in a comparable form (a zip by its members' bytes: zip
    headers carry the time of writing; a parquet as its table)."""
    out: dict[str, object] = {}
    with lab.sessions() as db:
        method = method_of(db.get(ListeningTest, test_id).method)
        for name in method.exports:
            content = export_file(db, lab.store, test_id, name).content
            if name.endswith(".zip"):
                with zipfile.ZipFile(io.BytesIO(content)) as archive:
                    out[name] = {n: archive.read(n) for n in sorted(archive.namelist())}
            elif name.endswith(".parquet"):
                table = pd.read_parquet(io.BytesIO(content))
                out[name] = table.to_json(date_format="iso")  # NaN as null: comparable
            else:
                out[name] = content
    return out


def _state(lab, tests: list[int]) -> dict[int, dict]:
    with lab.sessions() as db:
        views = {t: {"results": test_results(db, t, now=LATER),
                     "overview": test_overview(db, t, now=LATER, n_splits=5)} for t in tests}
    return {t: {**views[t], "files": _files(lab, t)} for t in tests}


def test_upgrade_moves_every_vote_and_changes_no_number_or_file(tmp_path):
    lab = make_lab(tmp_path, "mini")
    acr = lab.create(plain_spec(votes_per_clip=2, clips_per_session=8))
    for k, scores in enumerate(([1, 2, 3, 4, 5], [2, 3, 4], [5, 4, 4, 3])):
        Rater(lab, acr, f"acr{k}").full_session(scores=scores)
    ccr = lab.create(pair_spec("ccr", votes_per_pair=2, pairs_per_session=6))
    ab = lab.create(pair_spec("ab", votes_per_pair=2, pairs_per_session=6))
    for k in range(2):
        rater = PairRater(lab, ccr, f"ccr{k}")
        rater.answer_all(lambda sides, k=k: {"score": 2 - k if sides[0] in ("a", "b") else -1})
        rater.finish()
        rater = PairRater(lab, ab, f"ab{k}")
        rater.answer_all(lambda sides, k=k: {"choice": "A" if k else "B"})
        rater.finish()
    with lab.sessions() as db:
        votes = {(v.session_id, v.session_item_id, v.score, v.choice, v.played_to_end,
                  v.elapsed_ms, v.created_at) for v in db.scalars(select(Vote))}
        assert db.scalar(select(RatingSession.qc_status).where(RatingSession.test_id == ccr))
    before = _state(lab, [acr, ccr, ab])
    engine = lab.sessions.kw["bind"]
    # the database as today's schema holds it: one vote per (session, item), no scale
    command.downgrade(alembic_config(engine), "0005_sqa")
    assert current_revision(engine) == "0005_sqa"
    columns = {c["name"] for c in inspect(engine).get_columns("votes")}
    assert "scale" not in columns and "stimulus" not in columns
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM votes")).scalar() == len(votes)

    assert upgrade_database(engine) == head_revision()
    with lab.sessions() as db:
        moved = db.scalars(select(Vote)).all()
        assert {(v.session_id, v.session_item_id, v.score, v.choice, v.played_to_end,
                 v.elapsed_ms, v.created_at) for v in moved} == votes
        scales = {}
        for v in moved:
            test_id = db.get(RatingSession, v.session_id).test_id
            scales.setdefault(test_id, set()).add((v.stimulus, v.scale))
    # every vote is the answer on its method's one scale, about the item as a whole
    assert scales == {acr: {("", "acr")}, ccr: {("", "ccr")}, ab: {("", "preference")}}
    after = _state(lab, [acr, ccr, ab])
    for test_id in (acr, ccr, ab):
        assert after[test_id]["results"] == before[test_id]["results"]
        assert after[test_id]["overview"] == before[test_id]["overview"]
        assert after[test_id]["files"] == before[test_id]["files"]
    assert sum(c["n"] for c in after[acr]["results"]["clips"]) > 0
    assert sum(s["n"] for s in after[ccr]["results"]["systems"]) > 0
    assert after[ab]["results"]["pairs"]
