"""P.835 end to end through the services: the page's three questions in P.835's wording and
order, answers stored one row per scale, P.808's quality control per scale, results per scale
checked by hand, and the P.808 P.835 files and per-scale URGENT labels."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import select

from db.models import ListeningTestItem, SessionItem, Vote
from listening_tests.answers import cast_vote
from listening_tests.downloads import export_file
from listening_tests.errors import Conflict, Invalid
from listening_tests.methods.p835 import question_order
from listening_tests.results import test_results
from listening_tests.sessions import get_session, item_audio
from tests.listening_tests.rating_lab import Rater, make_lab, plain_spec


def p835_spec(**overrides):
    return plain_spec(**{"method": "p835", "votes_per_clip": 3, "clips_per_session": 6,
                         **overrides})


class P835Rater(Rater):
    def roles(self) -> dict[str, tuple[str, str, int | None]]:
        with self.lab.sessions() as db:
            rows = db.execute(select(SessionItem.public_id, ListeningTestItem.role,
                                     ListeningTestItem.condition,
                                     ListeningTestItem.expected_score)
                              .join(ListeningTestItem)
                              .where(SessionItem.public_id.in_(
                                  [i["item"] for i in self.body["items"]]))).all()
        return {pid: (role, condition, expected) for pid, role, condition, expected in rows}

    def answer(self, item: str, scores) -> bool:
        with self.lab.sessions.begin() as db:
            item_audio(db, self.lab.store, self.token, item, now=self.now)
        self.now += timedelta(seconds=30)
        with self.lab.sessions.begin() as db:
            return cast_vote(db, self.token, item, score=None, scores=scores,
                             played_to_end=True, elapsed_ms=60_000, now=self.now)

    def answer_all(self, rule) -> None:
        roles = self.roles()
        for entry in self.body["items"]:
            self.answer(entry["item"], rule(*roles[entry["item"]]))


def test_page_asks_sig_and_bak_in_the_spec_order_then_ovrl(tmp_path):
    lab = make_lab(tmp_path, "mini")
    test_id = lab.create(p835_spec(scale_order="background_first"))
    body = Rater(lab, test_id, "P1").start().body
    questions = body["test"]["questions"]
    assert [q["scale"] for q in questions] == ["bak", "sig", "ovrl"]
    assert questions[1]["question"].startswith("Attending ONLY to the SPEECH SIGNAL")
    assert [o["label"] for o in questions[0]["options"]] == [
        "Very intrusive", "Somewhat intrusive", "Noticeable but not intrusive",
        "Slightly noticeable", "Not noticeable"]
    assert [o["label"] for o in questions[1]["options"]][::4] == ["Very distorted",
                                                                  "Not distorted"]
    assert [o["label"] for o in questions[2]["options"]][::4] == ["Bad", "Excellent"]
    # "random": drawn once per rater, repeatably; both orders occur
    orders = {question_order("random", 7, rater)[:2] for rater in range(20)}
    assert orders == {("sig", "bak"), ("bak", "sig")}
    assert question_order("random", 7, 3) == question_order("random", 7, 3)


def test_answers_are_one_row_per_scale_and_idempotent(tmp_path):
    lab = make_lab(tmp_path, "mini")
    test_id = lab.create(p835_spec())
    rater = P835Rater(lab, test_id, "P1").start()
    item = rater.body["items"][0]["item"]
    with pytest.raises(Invalid, match="three questions"):
        rater.answer(item, None)
    with pytest.raises(Invalid, match="answer each of sig, bak and ovrl once; got bak, sig"):
        rater.answer(item, {"sig": 3, "bak": 4})
    with pytest.raises(Invalid, match="whole number from 1 to 5"):
        rater.answer(item, {"sig": 3, "bak": 4, "ovrl": 6})
    assert lab.count(Vote) == 0  # a refused answer stores nothing
    assert rater.answer(item, {"sig": 3, "bak": 4, "ovrl": 2}) is True
    assert rater.answer(item, {"ovrl": 2, "sig": 3, "bak": 4}) is False  # same: counted once
    with pytest.raises(Conflict, match=r"already rated \(bak 4, ovrl 2, sig 3\)"):
        rater.answer(item, {"sig": 3, "bak": 4, "ovrl": 3})
    with lab.sessions() as db:
        rows = db.execute(select(Vote.scale, Vote.score).order_by(Vote.scale)).all()
        assert rows == [("bak", 4), ("ovrl", 2), ("sig", 3)]
        body = get_session(db, rater.token, now=rater.now)
    first = body["items"][0]
    assert first["answered"] and first["scores"] == {"sig": 3, "bak": 4, "ovrl": 2}
    assert body["progress"]["answered"] == 1  # items, not rows


def test_quality_control_per_scale_as_p808(tmp_path):
    lab = make_lab(tmp_path, "mini")
    spec = p835_spec(gold={"auto": True, "count": 2, "per_session": 1},
                     trapping={"enabled": True, "per_session": 1}, votes_per_clip=4)
    test_id = lab.create(spec)

    def honest(role, condition, expected):
        if role in ("gold", "trap"):  # judged on OVRL only: SIG and BAK far off is fine
            return {"sig": 6 - expected, "bak": 6 - expected, "ovrl": expected}
        base = {"unprocessed": 2, "a": 3, "b": 4}[condition]
        return {"sig": base, "bak": 5, "ovrl": base}

    def flat_ovrl(role, condition, expected):
        if role in ("gold", "trap"):
            return {"sig": 3, "bak": 3, "ovrl": expected}
        # OVRL never varies, but pooled with SIG and BAK the variance is well above 0.1
        return {"sig": {"unprocessed": 1, "a": 3, "b": 5}[condition], "bak": 2, "ovrl": 3}

    def wrong_trap(role, condition, expected):
        if role == "trap":
            return {"sig": expected, "bak": expected, "ovrl": 6 - expected if expected != 3
                    else 1}
        return honest(role, condition, expected)

    decisions = {}
    for name, rule in (("honest", honest), ("flat", flat_ovrl), ("trap", wrong_trap)):
        rater = P835Rater(lab, test_id, name).start()
        rater.answer_all(rule)
        rater.finish()
        decisions[name] = rater.decision()
    assert decisions["honest"] == ("accepted", [])
    assert decisions["flat"] == ("accepted", [])
    assert decisions["trap"][0] == "rejected" and "trapping question" in decisions["trap"][1][0]


def test_results_and_p808_p835_files_by_hand(tmp_path):
    lab = make_lab(tmp_path, "mini")
    test_id = lab.create(p835_spec(votes_per_clip=2, clips_per_session=8))
    given = {}
    for k, shift in enumerate((0, 1, 1)):
        rater = P835Rater(lab, test_id, f"r{k}").start()

        def rule(role, condition, expected, shift=shift):
            base = {"unprocessed": 1, "a": 2, "b": 3}[condition]
            return {"sig": base + shift, "bak": 5 - shift, "ovrl": base + 1}

        roles = rater.roles()
        for entry in rater.body["items"]:
            scores = rule(*roles[entry["item"]])
            rater.answer(entry["item"], scores)
            given.setdefault(roles[entry["item"]][1], []).append(scores)
        rater.finish()
    with lab.sessions() as db:
        results = test_results(db, test_id)
        files = {n: export_file(db, lab.store, test_id, n).content
                 for n in ("votes_per_clip_sig.csv", "votes_per_cond_bak.csv",
                           "votes_per_worker_ovrl.csv", "votes_per_cond_all.csv",
                           "urgent_labels.zip")}
    for system, answers in given.items():
        for scale in ("sig", "bak", "ovrl"):
            values = [a[scale] for a in answers]
            row = next(r for r in results["scales"][scale]["systems"] if r["system"] == system)
            assert row["n"] == len(values)
            assert row["mos"] == pytest.approx(sum(values) / len(values), abs=1e-12)
    assert results["systems"] == results["scales"]["ovrl"]["systems"]
    per_clip = pd.read_csv(io.BytesIO(files["votes_per_clip_sig.csv"]))
    assert list(per_clip.columns)[:9] == ["file_url", "n", "MOS_SIG", "std_sig", "95%CI_sig",
                                          "short_file_name", "n_silent",
                                          "is_silent_percentage", "condition"]
    per_cond = pd.read_csv(io.BytesIO(files["votes_per_cond_bak.csv"]))
    assert list(per_cond.columns) == ["condition_name", "condition", "n", "MOS_BAK", "std_bak",
                                      "95%CI_bak", "95%CI_t_bak"]
    worker = pd.read_csv(io.BytesIO(files["votes_per_worker_ovrl.csv"]))
    assert set(worker["question_type"]) == {"MOS_OVRL"}
    all_cond = pd.read_csv(io.BytesIO(files["votes_per_cond_all.csv"]))
    assert list(all_cond.columns) == ["condition_name", "n", "MOS_BAK", "MOS_SIG", "MOS_OVRL",
                                      "std_bak", "std_sig", "std_ovrl", "95%CI_bak",
                                      "95%CI_sig", "95%CI_ovrl"]
    with zipfile.ZipFile(io.BytesIO(files["urgent_labels.zip"])) as archive:
        labels = pd.read_csv(archive.open("labels.csv"))
        assert set(labels["wav_path"]) == set(archive.namelist()) - {"labels.csv"}
    assert list(labels.columns) == ["wav_path", "system_id", "sample_id", "score", "sig",
                                    "bak", "ovrl", "listener_id"]
    assert len(labels) == sum(len(v) for v in given.values())  # one row per rated clip
    assert (labels["score"] == labels["ovrl"]).all()
    assert (labels["ovrl"] == labels["system_id"].map({"unprocessed": 2, "a": 3, "b": 4})).all()


def test_dashboard_scales_against_dnsmos_with_lcc_and_srcc(tmp_path):
    from scipy import stats

    from db.models import ObjectiveScore
    from listening_tests.results import test_overview
    from webapp.charts import scales_vs_metric_figure

    lab = make_lab(tmp_path, "mini")
    test_id = lab.create(p835_spec(votes_per_clip=1, clips_per_session=24))
    rater = P835Rater(lab, test_id, "r0").start()
    roles = rater.roles()
    for k, entry in enumerate(rater.body["items"]):
        base = {"unprocessed": 1, "a": 3, "b": 5}[roles[entry["item"]][1]]
        rater.answer(entry["item"], {"sig": base, "bak": 1 + k % 5, "ovrl": base})
    rater.finish()
    with lab.sessions.begin() as db:
        items = db.scalars(select(ListeningTestItem).where(
            ListeningTestItem.test_id == test_id, ListeningTestItem.role == "rating")).all()
        for item in items:  # DNSMOS SIG rises with the system; BAK is unknown for some clips
            db.add(ObjectiveScore(clip_id=item.clip_id, metric="dnsmos_sig",
                                  value={"unprocessed": 2.0, "a": 2.5, "b": 3.5}[item.condition]
                                  + item.clip_id / 1000))
    with lab.sessions() as db:
        overview = test_overview(db, test_id, n_splits=5)
    sig = overview["dnsmos"]["sig"]
    assert sig["n"] == 24 and overview["dnsmos"]["bak"]["n"] == 0
    x = [p["mos"] for p in sig["points"]]
    y = [p["dnsmos"] for p in sig["points"]]
    assert sig["lcc"] == pytest.approx(stats.pearsonr(x, y)[0], abs=1e-12)
    assert sig["srcc"] == pytest.approx(stats.spearmanr(x, y)[0], abs=1e-12)
    assert sig["lcc"] > 0.9 and overview["dnsmos"]["bak"]["lcc"] is None
    assert [s["system"] for s in overview["scales"]["bak"]["systems"]] == ["a", "b",
                                                                          "unprocessed"]
    figure = scales_vs_metric_figure(overview["dnsmos"])
    assert len(figure.data) == 3 and figure.layout.annotations[0].text.startswith("SIG: LCC")
