"""Quality labels from the app's listening tests and from uploaded label sets, on a real
SQLite file and clip store with espeak-ng speech."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from audio.io import Audio
from db.models import (
    Clip,
    ListeningTest,
    ListeningTestItem,
    PublicLabel,
    Rater,
    RatingSession,
    SessionItem,
    Vote,
)
from library.clips import LibraryError, add_clip, get_or_create_dataset
from library.quality_labels import (
    LabelUploadError,
    import_label_set,
    label_sources,
    ratings_table,
    training_labels,
)
from tests.library.quality_set import HEADER, degraded, need_espeak, write_label_set


def _count(sessions, model) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count(model.id))))


def _stored_files(store) -> int:
    return sum(1 for _ in store.root.rglob("*.flac")) if store.root.exists() else 0


def test_upload_stores_clips_and_labels(sessions, store, tmp_path):
    need_espeak()
    csv, archive = write_label_set(tmp_path / "set", samples=2)
    report = import_label_set(sessions.begin, store, csv, archive, "mini")
    assert (report.labels, report.clips, report.new_clips, report.listeners) == (16, 8, 8, 2)
    assert _count(sessions, PublicLabel) == 16 and _stored_files(store) == 8
    with sessions() as s:
        sources = label_sources(s)
        table = training_labels(s, store, label_sets=["mini"])
    assert [(x.key, x.ratings, x.clips) for x in sources["label_sets"]] == [("mini", 16, 8)]
    assert len(table) == 16 and set(table["dataset"]) == {"mini"}
    assert table["utterance_id"].str.fullmatch(r"clip\d+").all()
    assert set(table["listener_id"]) == {"mini:L1", "mini:L2"}
    assert all(path.endswith(".flac") for path in table["wav_path"])
    with pytest.raises(LabelUploadError, match="already imported"):
        import_label_set(sessions.begin, store, csv, archive, "mini")
    with pytest.raises(LabelUploadError, match="already has a dataset named 'demo'"):
        with sessions.begin() as s:
            get_or_create_dataset(s, "demo")
        import_label_set(sessions.begin, store, csv, archive, "demo")
    assert _count(sessions, PublicLabel) == 16


@pytest.mark.parametrize("case, expected", [
    ("missing_audio", r"line 4: audio not found: noise10/s0.wav \(used on 2 rows\)"),
    ("nan_score", r"line 3: score is empty or NaN"),
    ("malformed", r"line 2: "),
    ("out_of_scale", r"line 2: score 7 is outside the scale 1-5"),
])
def test_bad_uploads_store_nothing_and_name_the_line(sessions, store, tmp_path, case, expected):
    need_espeak()
    rows, leave_out = None, ()
    if case == "missing_audio":
        leave_out = ("noise10/s0.wav",)
    elif case == "nan_score":
        rows = ["clean/s0.wav,clean,s0,5,L1", "clean/s0.wav,clean,s0,NaN,L2"]
    elif case == "malformed":
        rows = ["clean/s0.wav,clean,s0"]
    else:
        rows = ["clean/s0.wav,clean,s0,7,L1"]
    csv, archive = write_label_set(tmp_path / case, samples=1, rows=rows, leave_out=leave_out)
    with pytest.raises(LabelUploadError, match=expected) as caught:
        import_label_set(sessions.begin, store, csv, archive, case)
    assert "/tmp" not in str(caught.value)  # paths as in the zip, not the server's
    assert _count(sessions, PublicLabel) == 0 and _count(sessions, Clip) == 0
    assert _stored_files(store) == 0


def test_every_problem_is_listed_at_once(sessions, store, tmp_path):
    need_espeak()
    rows = ["clean/s0.wav,clean,s0,abc,L1", "gone.wav,clean,s9,3,L1", "clean/s0.wav,,s0,3,L2"]
    csv, archive = write_label_set(tmp_path / "many", samples=1, rows=rows)
    with pytest.raises(LabelUploadError) as caught:
        import_label_set(sessions.begin, store, csv, archive, "many")
    text = "\n".join(caught.value.problems)
    assert "line 2:" in text and "line 3: audio not found: gone.wav" in text
    assert "line 4: system_id is empty" in text
    assert HEADER  # the header is line 1


def _acr_test(s, clips: list[int]) -> int:
    """An ACR test whose votes were given and judged: two accepted raters, one rejected
    rater, and a gold item that statistics leave out."""
    test = ListeningTest(name="acr one", method="acr", status="closed", spec={},
                         platform="generic", completion_code="DONE", seed=1)
    s.add(test)
    s.flush()
    items = [ListeningTestItem(test_id=test.id, clip_id=c, role="rating",
                               condition=f"cond{i % 2}", sample_id=f"s{i // 2}")
             for i, c in enumerate(clips)]
    gold = ListeningTestItem(test_id=test.id, clip_id=clips[0], role="gold", expected_score=5,
                             condition="cond0", sample_id="s0")
    s.add_all([*items, gold])
    s.flush()
    for who, qc, base in (("P1", "accepted", 2), ("P2", "accepted", 3), ("P3", "rejected", 1)):
        rater = Rater(test_id=test.id, external_id=who)
        s.add(rater)
        s.flush()
        session = RatingSession(test_id=test.id, rater_id=rater.id, token=f"tok-{who}",
                                state="submitted", qc_status=qc, setup={})
        s.add(session)
        s.flush()
        for position, item in enumerate([*items, gold]):
            si = SessionItem(session_id=session.id, test_item_id=item.id, position=position,
                             public_id=f"{who}-{position}")
            s.add(si)
            s.flush()
            s.add(Vote(session_id=session.id, session_item_id=si.id,
                       score=min(5, base + position % 3), played_to_end=True, elapsed_ms=900))
    s.flush()
    return test.id


def test_ratings_of_a_test_become_one_row_per_used_vote(sessions, store):
    need_espeak()
    with sessions.begin() as s:
        clips = [add_clip(s, store, Audio(degraded(i, c), 16_000), name=f"{c}{i}.wav",
                          origin="upload").clip_id
                 for i, c in enumerate(("clean", "noise0", "clean", "noise10"))]
        test_id = _acr_test(s, clips)
    with sessions() as s:
        table = ratings_table(s, store, [test_id])
        sources = label_sources(s)
    assert len(table) == 8  # 4 rating items x 2 accepted raters; gold and rejected left out
    assert set(table["listener_id"]) == {f"{test_id}:P1", f"{test_id}:P2"}
    assert set(table["system_id"]) == {"cond0", "cond1"} and set(table["dataset"]) == {"ratings"}
    assert [(x.key, x.ratings, x.clips) for x in sources["tests"]] == [(str(test_id), 8, 4)]
    with sessions() as s, pytest.raises(LibraryError, match="choose at least one"):
        training_labels(s, store)


def test_label_paths_outside_the_zip_are_refused(sessions, store, tmp_path):
    """An absolute wav_path, or one climbing out with '..', would make the server read a
    file of its own (here: real audio beside the upload); both are refused by line."""
    import os
    import tempfile

    need_espeak()
    csv, archive = write_label_set(tmp_path / "set", samples=2)
    server_file = tmp_path / "set" / "clean_s0.wav"
    climb = "../" + os.path.relpath(tmp_path / "set" / "clean_s1.wav", tempfile.gettempdir())
    csv.write_text(f"{HEADER}\n{server_file},clean,s0,5,L1\n{climb},clean,s1,4,L2\n",
                   encoding="utf-8")
    with pytest.raises(LabelUploadError) as caught:
        import_label_set(sessions.begin, store, csv, archive, "escape")
    assert caught.value.problems == [
        f"line {n}: wav_path must be a path inside the audio zip (absolute paths and '..' "
        "are refused)" for n in (2, 3)]
    assert _count(sessions, PublicLabel) == 0 and _stored_files(store) == 0
