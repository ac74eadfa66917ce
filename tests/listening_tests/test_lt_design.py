"""Test specs (validation, every problem at once) and test designs stored from them."""

from __future__ import annotations

import textwrap

import pytest
import yaml
from sqlalchemy import select

from db.models import Clip, EnhancementRun, ListeningTest, ListeningTestItem, System
from listening_tests.design import close_test, create_test, get_test, list_tests, open_test
from listening_tests.errors import Conflict, NotFound, SpecError
from listening_tests.results import export_names
from listening_tests.spec import ListeningTestSpec, load_spec_file
from tests.listening_tests.rating_lab import T0, make_lab, plain_spec

DOC_SPEC = textwrap.dedent("""\
    name: URGENT demo ACR
    method: acr
    clips:
      dataset: demo
      systems: [unprocessed, reference]
    votes_per_clip: 5
    clips_per_session: 10
    gold:
      auto: true
      count: 2
      tolerance: 1
    trapping: {enabled: true, per_session: 1}
    training: {count: 4}
    checks: {qualification: true, volume: true, stereo: true, environment: true}
    sessions_per_rater: 3
    abandon_after_minutes: 60
    platform: prolific
    completion_code: C1A2B3
    redirect_url: https://app.prolific.com/submissions/complete?cc={code}
    quality_control:
      min_rating_variance: 0.1
      gold_tolerance: 1
      min_environment_pairs_right: 2
    """)


def test_the_documented_spec_reads_and_round_trips(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(DOC_SPEC)
    spec = load_spec_file(path)
    assert spec.clips.systems == ("unprocessed", "reference")
    assert spec.platform == "prolific" and spec.sessions_per_rater == 3
    assert spec.qc_settings.max_sessions_per_rater == 3
    assert spec.qc_settings.min_environment_pairs_right == 2
    assert ListeningTestSpec.from_dict(spec.to_dict()) == spec


def test_every_problem_is_listed_with_its_key_path():
    data = yaml.safe_load(DOC_SPEC)
    data.update(votes_per_clip=0, method="mos9", vote_per_clip=3, platform="generic")
    data["gold"]["count"] = "two"
    data["checks"]["stero"] = True
    data["quality_control"]["gold_tolerance"] = 2
    with pytest.raises(SpecError) as raised:
        ListeningTestSpec.from_dict(data)
    problems = raised.value.problems
    expected = ["method: must be one of acr", "gold.count: must be an integer",
                "checks.stero: unknown key", "quality_control.gold_tolerance: 2 disagrees",
                "redirect_url: only the prolific platform redirects",
                "votes_per_clip: must be an integer from 1 to 1000, got 0",
                "vote_per_clip: unknown key"]
    for text in expected:
        assert any(p.startswith(text) for p in problems), (text, problems)
    assert len(problems) == len(expected)
    assert str(raised.value).startswith(f"the test spec has {len(expected)} problems: ")


@pytest.mark.parametrize("data, problem", [
    (None, "name: is required"),
    ({"name": "x", "clips": {"dataset": "d", "ids": [1]}}, "clips: give either a dataset"),
    ({"name": "x", "clips": {"ids": [1, 1]}}, "clips.ids[1]: clip 1 is listed twice"),
    ({"name": "x", "clips": {"ids": [1]}, "gold": {"auto": True, "ids": [{"clip": 1}]}},
     "gold.ids[0]: needs both clip and expected"),
    ({"name": "x", "clips": {"ids": [1]}, "quality_control": {"outlier_z": 0.5}},
     "quality_control.outlier_z: must be a number from 1 to 10"),
])
def test_malformed_specs(data, problem):
    with pytest.raises(SpecError) as raised:
        ListeningTestSpec.from_dict(data)
    assert any(p.startswith(problem) for p in raised.value.problems), raised.value.problems


def test_a_spec_naming_unknown_clips_stores_nothing(tmp_path):
    lab = make_lab(tmp_path)
    files = lab.store.count()
    spec = {"name": "bad", "clips": {"dataset": "demo", "systems": ["nope", "mmse_lsa"]},
            "gold": {"ids": [{"clip": 999, "expected": 5}]}}
    with pytest.raises(SpecError) as raised, lab.sessions.begin() as db:
        create_test(db, lab.store, spec)
    assert raised.value.problems[0].startswith(
        "clips.systems: the library has no outputs of nope, mmse_lsa (systems it knows: "
        "reference, unprocessed)")
    assert raised.value.problems[1] == "gold.ids[0].clip: no clip with id 999 in the library"
    for clips, message in [({"dataset": "nope"}, "clips.dataset: no dataset named 'nope'"),
                           ({"ids": [1, 998, 999]}, "clips.ids: no clip with id 998, 999")]:
        with pytest.raises(SpecError, match=message), lab.sessions.begin() as db:
            create_test(db, lab.store, {"name": "bad", "clips": clips})
    assert lab.count(ListeningTest) == 0 and lab.count(ListeningTestItem) == 0
    assert lab.store.count() == files


def test_missing_system_outputs_are_named(tmp_path):
    lab = make_lab(tmp_path, "mini")
    with lab.sessions.begin() as db:
        run = db.scalars(select(EnhancementRun).join(System).where(System.name == "b")).first()
        db.delete(run)
    with pytest.raises(SpecError, match="'b' has no output for 1 of the 8 inputs of 'mini' "
                                        r"\(s0.wav\); enhance them first"), \
            lab.sessions.begin() as db:
        create_test(db, lab.store, plain_spec())


def test_the_demo_design_has_gold_traps_and_training(tmp_path):
    lab = make_lab(tmp_path)
    spec = yaml.safe_load(DOC_SPEC)
    with lab.sessions.begin() as db:
        info = create_test(db, lab.store, spec, now=T0)
    assert (info.status, info.completion_code, info.rating_clips) == ("draft", "C1A2B3", 48)
    assert info.redirect_url == "https://app.prolific.com/submissions/complete?cc=C1A2B3"
    assert (info.gold_clips, info.trap_clips, info.training_clips) == (2, 5, 4)
    with lab.sessions() as db:
        items = db.scalars(select(ListeningTestItem)).all()
        by_role = {r: [i for i in items if i.role == r] for r in ("gold", "trap", "training")}
        assert sorted(i.expected_score for i in by_role["gold"]) == [1, 5]
        assert sorted(i.expected_score for i in by_role["trap"]) == [1, 2, 3, 4, 5]
        generated = {i.clip_id: db.get(Clip, i.clip_id) for i in items if i.role != "rating"}
        traps = [generated[i.clip_id] for i in by_role["trap"]]
        assert all(c.origin == "generated" and c.parent_clip_id for c in traps)
        assert all(c.condition["requested_score"] == i.expected_score
                   for c, i in zip(traps, by_role["trap"], strict=True))
        # The trapping clip is the rating clip's start followed by the spoken request.
        parent = db.get(Clip, traps[0].parent_clip_id)
        assert traps[0].duration_seconds > min(parent.duration_seconds, 2.0) + 3.0
        rating_clips = {i.clip_id for i in items if i.role == "rating"}
        assert not rating_clips & {i.clip_id for i in by_role["training"]}
        # gold and training apart: a rater never hears a gold clip in training
        assert not {i.clip_id for i in by_role["gold"]} & {i.clip_id for i in by_role["training"]}
        # a degraded gold clip is not named after the clean clip it was made from
        bad = [i for i in by_role["gold"] if i.expected_score == 1]
        assert bad and all(not i.sample_id.endswith("_clean") for i in bad)
        names = export_names(items)
        assert all(not names[i.id].removesuffix(".flac").endswith("_clean") for i in bad)
        stored = db.get(ListeningTest, info.id).spec
    assert stored["seed"] == db.get(ListeningTest, info.id).seed
    assert ListeningTestSpec.from_dict(stored).completion_code == "C1A2B3"


def test_draft_open_closed(tmp_path):
    lab = make_lab(tmp_path, "mini")
    test_id = lab.create(plain_spec(), open_it=False)
    with lab.sessions.begin() as db:
        assert open_test(db, test_id).status == "open"
        assert open_test(db, test_id).status == "open"
        assert close_test(db, test_id).status == "closed"
        assert close_test(db, test_id).closed_at is not None
        with pytest.raises(Conflict, match="cannot be opened again"):
            open_test(db, test_id)
        with pytest.raises(NotFound, match="no listening test with id 99"):
            get_test(db, 99)
        assert [t.id for t in list_tests(db)] == [test_id]


def test_a_comparison_spec_lists_shape_and_library_problems_at_once(tmp_path):
    """A wrong key and a misspelt system: both in one refusal, with "an ab test"."""
    lab = make_lab(tmp_path, "mini")
    spec = {"name": "bad", "method": "ab", "votes_per_pair": 3, "colour": "blue",
            "pairs": {"dataset": "mini", "systems": ["a", "bb"]}}
    with pytest.raises(SpecError) as raised, lab.sessions.begin() as db:
        create_test(db, lab.store, spec)
    problems = raised.value.problems
    assert any(p.startswith("colour") for p in problems), problems
    assert any(p.startswith("pairs.systems") and "bb" in p for p in problems), problems
    with pytest.raises(SpecError, match="an ab test takes pairs"), lab.sessions.begin() as db:
        create_test(db, lab.store, {**spec, "clips": {"dataset": "mini"}})
    assert lab.count(ListeningTest) == 0
