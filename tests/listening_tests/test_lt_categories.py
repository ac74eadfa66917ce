"""Listening tests by speech category: a test designed for chosen categories rates only their
clips, and results break MOS down by category (demo_categories: one clip per category)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from db.models import Clip, ListeningTestItem, RatingSession, SessionItem
from listening_tests.design import create_test
from listening_tests.errors import SpecError
from listening_tests.results import test_overview, test_results, votes_frame
from listening_tests.spec import ListeningTestSpec
from tests.listening_tests.rating_lab import Rater, make_lab, plain_spec


def _spec(**clips) -> dict:
    return plain_spec(name="categories", clips={"dataset": "demo_categories", **clips},
                      votes_per_clip=2, clips_per_session=4)


def test_categories_are_read_and_refused_with_their_key() -> None:
    spec = ListeningTestSpec.from_dict(_spec(categories=["child", " sung"]))
    assert spec.clips.categories == ("child", "sung")
    assert spec.to_dict()["clips"]["categories"] == ["child", "sung"]
    assert ListeningTestSpec.from_dict(_spec(categories=[])).clips.categories == ()  # all
    for bad, words in ((["child", "child"], "categories[1]: category 'child' is listed twice"),
                       ("child", "categories: must be a non-empty list"),
                       ([3], "categories[0]: must be a speech category")):
        with pytest.raises(SpecError, match=re.escape(words)):
            ListeningTestSpec.from_dict(_spec(categories=bad))
    with pytest.raises(SpecError, match="categories select among a dataset's clips"):
        ListeningTestSpec.from_dict(plain_spec(clips={"ids": [1], "categories": ["child"]}))


def test_a_test_for_chosen_categories_rates_only_their_clips(tmp_path) -> None:
    lab = make_lab(tmp_path)
    test_id = lab.create(_spec(systems=["unprocessed", "reference"],
                               categories=["child", "sung"]))
    with lab.sessions() as db:
        names = sorted(db.scalars(select(Clip.name).join(
            ListeningTestItem, ListeningTestItem.clip_id == Clip.id).where(
            ListeningTestItem.test_id == test_id, ListeningTestItem.role == "rating")))
    assert names == ["c01_child_16k_clean.flac", "c01_child_16k_noise-white.flac",
                     "c04_sung_16k_clean.flac", "c04_sung_16k_noise-hum.flac"]
    with pytest.raises(SpecError, match=r"clips.categories: 'demo_categories' has no clip of "
                                        r"neutral \(its categories: accented, angry, child"), \
            lab.sessions.begin() as db:
        create_test(db, lab.store, _spec(categories=["neutral"]))


def test_results_break_mos_down_by_speech_category(tmp_path) -> None:
    lab = make_lab(tmp_path)
    test_id = lab.create(_spec(systems=["unprocessed", "reference"],
                               categories=["whispered", "angry"]))
    with lab.sessions() as db:
        items = db.scalars(select(ListeningTestItem).where(
            ListeningTestItem.test_id == test_id)).all()
        clip_names = {i.clip_id: db.get(Clip, i.clip_id).name for i in items}
    wanted = {"whispered": {"unprocessed": 2, "reference": 4},
              "angry": {"unprocessed": 3, "reference": 5}}
    for rater_name in ("r1", "r2"):
        rater = Rater(lab, test_id, rater_name).start()
        for item in rater.body["items"]:
            with lab.sessions() as db:
                row = db.execute(select(ListeningTestItem.clip_id, ListeningTestItem.condition)
                                 .join(SessionItem).join(RatingSession).where(
                    SessionItem.public_id == item["item"],
                    RatingSession.token == rater.token)).one()
            category = "whispered" if "whispered" in clip_names[row[0]] else "angry"
            rater.vote(item["item"], wanted[category][row[1]])
        rater.finish()
    with lab.sessions() as db:
        results = test_results(db, test_id)
        frame = votes_frame(db, test_id)
        overview = test_overview(db, test_id, n_splits=5)
    assert set(frame["speech_category"]) == {"whispered", "angry"}
    cells = {(r["category"], r["system"]): (r["mos"], r["n"]) for r in results["categories"]}
    assert cells == {("whispered", "unprocessed"): (2.0, 2), ("whispered", "reference"): (4.0, 2),
                     ("angry", "unprocessed"): (3.0, 2), ("angry", "reference"): (5.0, 2)}
    assert overview["categories"] == results["categories"]
