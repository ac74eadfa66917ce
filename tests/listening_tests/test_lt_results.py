"""Results from stored votes: MOS per clip and system, the dashboard, and every export."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pandas as pd
import pytest
import soundfile as sf
from sqlalchemy import delete, select

from db.models import Clip, ListeningTestItem, ObjectiveScore
from listening_tests.downloads import export_file
from listening_tests.errors import NotFound
from listening_tests.methods import method_of
from listening_tests.results import common_clip_means, test_overview, test_results, votes_frame
from tests.listening_tests.rating_lab import T0, Rater, make_lab, plain_spec

EVIL = '=HYPERLINK("http://x","y")'
SOON = T0 + timedelta(minutes=10)  # the unfinished session is still live


@pytest.fixture(scope="module")
def rated(tmp_path_factory):
    """Six accepted sessions with scores by system (unprocessed 2, a 3, b 4, +-1 by rater),
    one not-used (flat) and one rejected (trap) session, and one unfinished session."""
    lab = make_lab(tmp_path_factory.mktemp("results"), "mini")
    test_id = lab.create(plain_spec(votes_per_clip=5, clips_per_session=12,
                                    trapping={"enabled": True}, training={"count": 1},
                                    gold={"auto": True, "count": 2}))
    with lab.sessions() as db:
        condition = {i.clip_id: i.condition for i in db.scalars(select(ListeningTestItem))}
    base = {"unprocessed": 2, "a": 3, "b": 4}
    for n, name in enumerate(["r0", "r1", "r2", "r3", "r4", EVIL]):
        rater = Rater(lab, test_id, name).start()
        expected = rater.expected()
        for item in rater.body["items"]:
            score, role = expected[item["item"]]
            if role == "rating":
                clip = _clip_of(lab, rater.token, item["item"])
                score = base[condition[clip]] + (n % 3) - 1
            rater.vote(item["item"], score if score is not None else 3)
        rater.finish()
        assert rater.decision()[0] == "accepted", rater.decision()
    flat = Rater(lab, test_id, "flat").start()
    flat.rate_all(scores=[5])
    flat.finish()
    trapped = Rater(lab, test_id, "trapped").start()
    trapped.rate_all(overrides={"trap": lambda e: e % 5 + 1})
    trapped.finish()
    unfinished = Rater(lab, test_id, "unfinished").start()
    unfinished.vote(unfinished.body["items"][0]["item"], 3)
    assert flat.decision()[0] == "not_used" and trapped.decision()[0] == "rejected"
    return lab, test_id


def _clip_of(lab, token: str, public_id: str) -> int:
    from db.models import RatingSession, SessionItem

    with lab.sessions() as db:
        return db.scalar(select(ListeningTestItem.clip_id).join(SessionItem).join(RatingSession)
                         .where(SessionItem.public_id == public_id,
                                RatingSession.token == token))


def test_mos_per_clip_and_system_from_accepted_votes_only(rated):
    lab, test_id = rated
    with lab.sessions() as db:
        results = test_results(db, test_id, now=SOON)
        frame = votes_frame(db, test_id)
    kept = frame[frame["used"] & (frame["role"] == "rating")]
    assert set(kept["rater"]) == {"r0", "r1", "r2", "r3", "r4", EVIL}
    by_system = {s["system"]: s for s in results["systems"]}
    for system, group in kept.groupby("condition"):
        assert by_system[system]["n"] == len(group)
        assert by_system[system]["mos"] == pytest.approx(group["score"].mean())
        assert by_system[system]["std"] == pytest.approx(group["score"].std(ddof=1))
    assert by_system["unprocessed"]["mos"] < by_system["a"]["mos"] < by_system["b"]["mos"]
    assert sum(c["n"] for c in results["clips"]) == len(kept)
    assert {c["n"] for c in results["clips"]} == {3}  # 6 x 12 accepted votes, spread evenly
    assert results["sessions"] == {"accepted": 6, "not_used": 1, "rejected": 1,
                                   "in_progress": 1, "expired": 0, "submitted": 8}
    # every vote is in the table once, training and unfinished sessions included
    assert frame["vote_id"].is_unique and "training" in set(frame["role"])
    assert "in_progress" in set(frame["session_state"])


def test_the_dashboard(rated):
    lab, test_id = rated
    with lab.sessions.begin() as db:
        clip_id = db.scalar(select(ListeningTestItem.clip_id).where(
            ListeningTestItem.condition == "b"))
        db.add(ObjectiveScore(clip_id=clip_id, metric="pesq", reference_clip_id=0, value=3.5))
    with lab.sessions() as db:
        overview = test_overview(db, test_id, now=SOON, n_splits=20)
    assert overview["test"]["id"] == test_id and overview["sessions"]["accepted"] == 6
    assert overview["reasons"] == {"low rating variance": 1, "wrong trapping answer": 1}
    assert 0 < overview["clean_vote_share"] < 1
    systems = {s["system"]: s for s in overview["systems"]}
    assert systems["b"]["objective"] == {"pesq": 3.5} and systems["a"]["objective"] == {}
    assert {p["a"] for p in overview["pairwise"]} == {"a", "b"}
    assert all(p["significant"] in (True, False) for p in overview["pairwise"])
    assert len(overview["raters"]) == 6 and overview["split_half"] is not None
    assert all(c["target"] == 5 for c in overview["clips"])
    assert sum(c["assigned"] for c in overview["clips"]) == 12  # the unfinished session


def test_p808_exports_match_the_results(rated):
    lab, test_id = rated
    with lab.sessions() as db:
        results = test_results(db, test_id)
        files = {name: export_file(db, lab.store, test_id, name)
                 for name in method_of("acr").exports}
        with pytest.raises(NotFound, match=r"no export named 'x\.csv'"):
            export_file(db, lab.store, test_id, "x.csv")
    # counts are integers in the JSON ("n": 3, never 3.0)
    assert all(type(row["n"]) is int for row in results["clips"] + results["systems"])
    assert json.dumps(results["systems"][0]).count('"n": ') == 1
    assert '"n": ' + str(results["systems"][0]["n"]) + "," in json.dumps(results["systems"][0])
    per_cond = pd.read_csv(io.BytesIO(files["votes_per_cond.csv"].content))
    # P.808's columns in P.808's order, ours after them
    assert list(per_cond.columns) == ["condition_name", "condition", "n", "MOS", "std",
                                      "95%CI", "95%CI_t"]
    for system in results["systems"]:
        row = per_cond[per_cond["condition_name"] == system["system"]].iloc[0]
        assert row["n"] == system["n"] and row["MOS"] == pytest.approx(system["mos"])
    per_clip = pd.read_csv(io.BytesIO(files["votes_per_clip.csv"].content))
    width = per_clip["n"].max()
    assert list(per_clip.columns) == ["file_url", "n", "MOS", "std", "95%CI",
                                      "short_file_name", "condition",
                                      *[f"vote_{i}" for i in range(1, width + 1)], "95%CI_t"]
    assert per_clip["n"].sum() == sum(c["n"] for c in results["clips"])
    assert (per_clip["short_file_name"] == per_clip["file_url"].str.split("/").str[-1]).all()
    worker_text = files["votes_per_worker.csv"].content.decode()
    assert "'=HYPERLINK" in worker_text and "\n=HYPERLINK" not in worker_text
    worker = pd.read_csv(io.StringIO(worker_text))
    assert list(worker.columns) == ["HITId", "workerid", "assignment_id", "assignmentstatus",
                                    "file", "short_file_name", "vote", "question_type",
                                    "condition"]
    # rating answers only, as P.808 lists them: one row per vote counted in votes_per_clip
    assert set(worker["question_type"]) == {"MOS"} and len(worker) == per_clip["n"].sum()
    assert not worker["condition"].isin(["gold", "trap"]).any()
    report = pd.read_csv(io.BytesIO(files["accept_reject.csv"].content))
    assert sorted(report["status"]) == ["accepted"] * 6 + ["not_used", "rejected"]
    assert report.loc[report["status"] == "rejected", "reasons"].str.contains("trapping").all()
    gui = pd.read_csv(io.BytesIO(files["accept_reject_gui.csv"].content), keep_default_na=False)
    assert list(gui.columns) == ["WorkerId", "assignmentId", "HITId", "Approve", "Reject",
                                 "n_duplicate"]
    assert gui["assignmentId"].tolist() == report["session"].tolist()
    assert sorted(gui["Approve"]) == [""] + ["x"] * 7  # not used is paid, so approved
    rejected = gui[gui["Approve"] == ""].iloc[0]
    assert "trapping" in rejected["Reject"] and (gui["n_duplicate"] == 0).all()
    assert (gui.loc[gui["Approve"] == "x", "Reject"] == "").all()


def test_urgent_labels_zip_and_parquet(rated):
    lab, test_id = rated
    with lab.sessions() as db:
        labels_zip = export_file(db, lab.store, test_id, "urgent_labels.zip").content
        parquet = export_file(db, lab.store, test_id, "votes.parquet").content
        frame = votes_frame(db, test_id)
        rates = dict(db.execute(select(Clip.id, Clip.sample_rate)).all())
    with zipfile.ZipFile(io.BytesIO(labels_zip)) as archive:
        labels = pd.read_csv(archive.open("labels.csv"))
        assert list(labels.columns) == ["wav_path", "system_id", "sample_id", "score",
                                        "listener_id"]
        assert len(labels) == int((frame["used"] & (frame["role"] == "rating")).sum())
        assert set(labels["system_id"]) == {"unprocessed", "a", "b"}
        assert "'" + EVIL in set(labels["listener_id"])
        names = set(archive.namelist()) - {"labels.csv"}
        assert names == set(labels["wav_path"])
        first = labels.iloc[0]
        audio, rate = sf.read(io.BytesIO(archive.read(first["wav_path"])))
        assert first["wav_path"].startswith(f"audio/{first['system_id']}/")
    clip_id = frame.loc[frame["wav_path"] == first["wav_path"], "clip_id"].iloc[0]
    assert rate == rates[clip_id] and len(audio) > 0
    table = pd.read_parquet(io.BytesIO(parquet))
    assert len(table) == len(frame) and table["vote_id"].is_unique
    assert {"clip", "condition", "rater", "score", "role", "session", "qc_status"} <= set(table)


def test_optional_checks_leave_out_outliers_and_unreliable_raters(tmp_path):
    lab = make_lab(tmp_path, "mini")
    spec = plain_spec(votes_per_clip=4, clips_per_session=24,
                      quality_control={"min_rater_correlation": 0.0, "outlier_z": 3.29})
    test_id = lab.create(spec)
    with lab.sessions() as db:
        condition = {i.clip_id: i.condition for i in db.scalars(select(ListeningTestItem))}
    base = {"unprocessed": 1, "a": 3, "b": 5}
    for name, invert in (("p1", False), ("p2", False), ("p3", False), ("inverted", True)):
        rater = Rater(lab, test_id, name).start()
        for item in rater.body["items"]:
            score = base[condition[_clip_of(lab, rater.token, item["item"])]]
            rater.vote(item["item"], 6 - score if invert else score)
        rater.finish()
    with lab.sessions() as db:
        frame = votes_frame(db, test_id)
        plain = votes_frame(db, test_id, apply_optional_checks=False)
    assert plain["used"].all()
    assert not frame.loc[frame["rater"] == "inverted", "used"].any()
    assert frame.loc[frame["rater"] != "inverted", "used"].all()


def test_p808_irr_floor_leaves_out_unreliable_raters(tmp_path):
    # rater_min_irr from a P.808 configuration, on P.808's own reliability
    lab = make_lab(tmp_path, "mini")
    spec = plain_spec(votes_per_clip=4, clips_per_session=24,
                      quality_control={"min_rater_irr": 0.7})
    test_id = lab.create(spec)
    with lab.sessions() as db:
        condition = {i.clip_id: i.condition for i in db.scalars(select(ListeningTestItem))}
    base = {"unprocessed": 1, "a": 3, "b": 5}
    for name, invert in (("p1", False), ("p2", False), ("p3", False), ("inverted", True)):
        rater = Rater(lab, test_id, name).start()
        for item in rater.body["items"]:
            score = base[condition[_clip_of(lab, rater.token, item["item"])]]
            rater.vote(item["item"], 6 - score if invert else score)
        rater.finish()
    with lab.sessions() as db:
        frame = votes_frame(db, test_id)
        overview = test_overview(db, test_id, n_splits=5)
    assert not frame.loc[frame["rater"] == "inverted", "used"].any()
    assert frame.loc[frame["rater"] != "inverted", "used"].all()
    raters = {r["rater"]: r for r in overview["raters"]}
    # dashboard: P.808's number beside the leave-one-out r, over the raters still used; the
    # three who agree vote the clip MOS exactly
    assert set(raters) == {"p1", "p2", "p3"}
    assert raters["p1"]["irr_p808"] == pytest.approx(1.0)
    assert raters["p1"]["n_irr_clips"] > 2 and type(raters["p1"]["n_irr_clips"]) is int


def test_objective_means_share_one_input_set(rated):
    """SDR stored for every output of "a" but only one output of "b" (as when one clip was
    enhanced in the Enhance tab): both systems' SDR is the mean over that one input, and the
    dashboard says n=1; PESQ stored everywhere is over every input."""
    lab, test_id = rated
    with lab.sessions.begin() as db:
        db.execute(delete(ObjectiveScore))  # only the scores this test stores
        items = db.scalars(select(ListeningTestItem).where(
            ListeningTestItem.test_id == test_id, ListeningTestItem.role == "rating",
            ListeningTestItem.condition.in_(["a", "b"]))).all()
        inputs = sorted({i.sample_id for i in items})
        only = inputs[0]
        for item in {i.clip_id: i for i in items}.values():  # a clip may be several items
            db.add(ObjectiveScore(clip_id=item.clip_id, metric="pesq", reference_clip_id=0,
                                  value=2.0 if item.condition == "a" else 3.0))
            if item.condition == "a" or item.sample_id == only:
                db.add(ObjectiveScore(clip_id=item.clip_id, metric="sdr", reference_clip_id=0,
                                      value=float(inputs.index(item.sample_id))))
    with lab.sessions() as db:
        overview = test_overview(db, test_id, now=SOON, n_splits=5)
    systems = {s["system"]: s["objective"] for s in overview["systems"]}
    assert overview["objective_n"] == {"pesq": len(inputs), "sdr": 1}
    assert systems["a"] == {"pesq": 2.0, "sdr": 0.0}  # not the mean over every input of a
    assert systems["b"] == {"pesq": 3.0, "sdr": 0.0}
    assert systems["unprocessed"] == {}


def test_common_clip_means_drops_inputs_a_system_lacks():
    scores = pd.DataFrame({"system": ["a", "a", "a", "b", "b"],
                           "input": ["x", "y", "z", "x", "y"],
                           "metric": ["m"] * 5, "value": [1.0, 2.0, 9.0, 3.0, 5.0]})
    means, counts = common_clip_means(scores)
    assert counts == {"m": 2}
    assert means.loc["a", "m"] == 1.5 and means.loc["b", "m"] == 4.0
