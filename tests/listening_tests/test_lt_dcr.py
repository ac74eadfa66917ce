"""DCR end to end through the services: clips without a reference are a spec problem, the
reference plays first, both stimuli must be played, P.808's DCR trapping answer (4 or 5 on
the reference against itself), DMOS per system by hand and P.808's DCR files."""

from __future__ import annotations

import io
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import select

from db.models import Clip, ListeningTestItem, SessionItem
from listening_tests.answers import cast_vote
from listening_tests.downloads import export_file
from listening_tests.errors import Invalid, SpecError
from listening_tests.results import test_results
from listening_tests.sessions import item_audio
from tests.listening_tests.rating_lab import Rater, make_lab, plain_spec


def dcr_spec(**overrides):
    return plain_spec(**{"method": "dcr", "votes_per_clip": 3, "clips_per_session": 6,
                         **overrides})


class DcrRater(Rater):
    def roles(self):
        with self.lab.sessions() as db:
            rows = db.execute(select(SessionItem.public_id, ListeningTestItem.role,
                                     ListeningTestItem.condition)
                              .join(ListeningTestItem)
                              .where(SessionItem.public_id.in_(
                                  [i["item"] for i in self.body["items"]]))).all()
        return {pid: (role, condition) for pid, role, condition in rows}

    def answer(self, item: str, score: int, sides=("a", "b")) -> bool:
        with self.lab.sessions.begin() as db:
            for side in sides:
                item_audio(db, self.lab.store, self.token, item, side=side, now=self.now)
        self.now += timedelta(seconds=30)
        with self.lab.sessions.begin() as db:
            return cast_vote(db, self.token, item, score=score, played_to_end=True,
                             elapsed_ms=60_000, now=self.now)


def test_clips_without_a_reference_are_a_spec_problem(tmp_path):
    lab = make_lab(tmp_path, "mini")
    with lab.sessions() as db:
        clean = db.scalars(select(Clip.id).where(Clip.name.like("%_clean.wav"))).all()
        noisy = db.scalars(select(Clip.id).where(Clip.reference_clip_id.is_not(None))).all()
    assert len(clean) == 8
    with pytest.raises(SpecError, match=r"clips: 2 clips have no clean reference to play "
                                        r"first \(s\d_clean.wav, s\d_clean.wav\)"):
        lab.create(dcr_spec(clips={"ids": [*clean[:2], *noisy[:3]]}))


def test_reference_first_both_played_trap_4_or_5_dmos_and_files(tmp_path):
    lab = make_lab(tmp_path, "mini")
    test_id = lab.create(dcr_spec(trapping={"enabled": True, "per_session": 1}))
    rater = DcrRater(lab, test_id, "P1").start()
    body = rater.body
    assert body["test"]["method"] == "dcr"
    assert [s["label"] for s in body["test"]["scale"]][::4] == [
        "Degradation is very annoying", "Degradation is inaudible"]
    roles = rater.roles()
    first = next(i for i in body["items"] if roles[i["item"]][0] == "rating")
    assert "audio_url_a" in first and "audio_url_b" in first and "audio_url" not in first
    with lab.sessions.begin() as db:  # A is the reference of the clip played as B
        a = item_audio(db, lab.store, rater.token, first["item"], side="a", now=rater.now)
        b = item_audio(db, lab.store, rater.token, first["item"], side="b", now=rater.now)
        clip = db.scalar(select(Clip).where(Clip.sha256 == b.stem))
        assert a.stem == db.get(Clip, clip.reference_clip_id).sha256
    second = next(i["item"] for i in body["items"] if i["item"] != first["item"])
    with pytest.raises(Invalid, match="play both samples"):
        rater.answer(second, 4, sides=("b",))
    given = {}
    for entry in body["items"]:
        role, condition = roles[entry["item"]]
        score = 4 if role == "trap" else {"unprocessed": 2, "a": 3, "b": 5}[condition]
        rater.answer(entry["item"], score)
        given.setdefault(condition, []).append(score)
    rater.finish()
    assert rater.decision() == ("accepted", [])  # 4 on the reference against itself is right
    wrong = DcrRater(lab, test_id, "P2").start()
    for entry in wrong.body["items"]:
        role, condition = wrong.roles()[entry["item"]]
        wrong.answer(entry["item"], 3 if role == "trap" else 1 + len(entry["item"]) % 5)
    wrong.finish()
    status, reasons = wrong.decision()
    assert status == "rejected" and reasons[0].endswith("answered 3, expected 4 or 5")
    with lab.sessions() as db:
        results = test_results(db, test_id)
        per_clip = pd.read_csv(io.BytesIO(export_file(db, lab.store, test_id,
                                                      "votes_per_clip.csv").content))
        per_cond = pd.read_csv(io.BytesIO(export_file(db, lab.store, test_id,
                                                      "votes_per_cond.csv").content))
    for system in results["systems"]:
        values = given[system["system"]]
        assert system["n"] == len(values) and system["mos"] == pytest.approx(
            sum(values) / len(values), abs=1e-12)
    assert list(per_clip.columns)[:7] == ["file_url", "n", "DMOS", "std", "95%CI",
                                          "short_file_name", "condition"]
    assert list(per_cond.columns) == ["condition_name", "condition", "n", "DMOS", "std",
                                      "95%CI", "95%CI_t"]
    assert "trap" not in set(per_cond["condition_name"])
