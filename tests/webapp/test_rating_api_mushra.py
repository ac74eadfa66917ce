"""A MUSHRA test over HTTP (docs/rating-api.md, "MUSHRA"): 4 systems, the hidden reference
and two low-pass anchors on 6 demo inputs, scored by two assessors through the JSON API;
BS.1534-3 post-screening excludes the one who scores the hidden reference at 60."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from sqlalchemy import select

from tests.mushra_library import INPUTS, SYSTEMS, mushra_library
from tests.webapp.test_rating_api import Api, expect

pytestmark = pytest.mark.integration

STIMULI = {"hidden_reference", "anchor_3500", "anchor_7000", *SYSTEMS}
CHECKS = {"qualification": False, "volume": True, "stereo": False, "environment": False}


@pytest.fixture(scope="module")
def api(app_server):
    return Api(app_server)


@pytest.fixture(scope="module")
def library(app_server):
    """The app's own database, with the mushra-demo dataset (tests/mushra_library.py)."""
    sessions, engine = mushra_library(app_server)
    yield sessions
    engine.dispose()


def spec(name: str, **extra) -> dict:
    return {"name": name, "method": "mushra",
            "pairs": {"dataset": "mushra-demo", "systems": SYSTEMS, "reference": "clean"},
            "listeners_per_page": 2, "pages_per_session": 6, "gold": {"count": 0},
            "training": {"count": 0}, "checks": CHECKS, **extra}


def role_of(sessions, public_id: str) -> str:
    """What the item is (looked up in the database: the API never says)."""
    from db.models import ListeningTestItem, SessionItem

    with sessions() as session:
        return session.scalar(select(ListeningTestItem.condition).join(
            SessionItem, SessionItem.test_item_id == ListeningTestItem.id).where(
            SessionItem.public_id == public_id))


def honest(role: str) -> int:
    return {"hidden_reference": 100, "anchor_3500": 10, "anchor_7000": 35,
            "unprocessed": 40, "mmse_lsa": 60, "spectral_gating": 55, "wpe": 50}[role]


def vote(api, token: str, item: str, **answer):
    return api("PUT", f"/sessions/{token}/votes/{item}",
               json={"played_to_end": True, "elapsed_ms": 5000, **answer})


def take_session(api, sessions, test_id: int, participant: str, score) -> dict:
    body = expect(api("POST", f"/tests/{test_id}/sessions",
                      json={"participant_id": participant}), 201)
    token = body["session"]
    expect(api("PUT", f"/sessions/{token}/checks/volume", json={"answer": "done"}), 201)
    for item in body["items"]:
        assert api("GET", item["audio_url"][4:]).status_code == 200
        expect(vote(api, token, item["item"], score=score(role_of(sessions, item["item"]))),
               201)
    expect(api("POST", f"/sessions/{token}/finish"), 200)
    return body


def test_spec_refusals(api, library):
    body = expect(api.admin("POST", "/tests", json=spec("bad", mushra={"anchors_hz": [7000]})),
                  422)
    assert "3500" in body["error"]
    bad = spec("bad")
    bad["pairs"] = {**bad["pairs"], "reference": "nope", "systems": SYSTEMS[1:]}
    body = expect(api.admin("POST", "/tests", json=bad), 422)
    assert "nope" in body["error"]
    body = expect(api.admin("POST", "/tests", json={**spec("bad"), "scale_order": "x"}), 422)
    assert "scale_order" in body["error"]


def test_mushra_end_to_end(api, library):
    created = expect(api.admin("POST", "/tests", json=spec("mushra e2e")), 201)
    test_id = created["id"]
    stored = expect(api.admin("GET", f"/tests/{test_id}"), 200)
    assert stored["test"]["votes_per_clip"] == 2 and stored["test"]["clips_per_session"] == 6
    assert stored["test"]["rating_clips"] == 6 * 7
    expect(api.admin("POST", f"/tests/{test_id}/open"), 200)

    # the first assessor: every page, its 7 stimuli, their roles hidden; answers checked
    body = expect(api("POST", f"/tests/{test_id}/sessions", json={"participant_id": "A1"}),
                  201)
    token, items = body["session"], body["items"]
    assert body["test"]["method"] == "mushra" and body["test"]["scale"]["max"] == 100
    pages: dict[int, list[dict]] = {}
    for item in items:
        pages.setdefault(item["page"], []).append(item)
        assert set(item) >= {"item", "page", "audio_url", "reference_url"}
        assert not any(word in str(item) for word in ("anchor", "hidden", "mmse", "wpe"))
    assert sorted(pages) == [1, 2, 3, 4, 5, 6]
    roles = {p: [role_of(library, i["item"]) for i in page] for p, page in pages.items()}
    assert all(set(r) == STIMULI and len(r) == 7 for r in roles.values()), roles
    first = items[0]
    expect(api("PUT", f"/sessions/{token}/checks/volume", json={"answer": "done"}), 201)
    expect(vote(api, token, first["item"], score=50), 422, "never fetched")
    assert api("GET", first["reference_url"][4:]).status_code == 200
    expect(vote(api, token, first["item"], score=50), 422, "never fetched")
    audio = api("GET", first["audio_url"][4:])
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"  # blind WAV (main)
    # the page fetches every stimulus up front: the time it was heard proves the playing
    expect(vote(api, token, first["item"], score=50, elapsed_ms=0), 422, "play this sample")
    for wrong in (101, -1, 50.5, "80"):
        expect(vote(api, token, first["item"], score=wrong), 422)
    expect(vote(api, token, first["item"], choice="A"), 422)
    score = honest(role_of(library, first["item"]))
    expect(vote(api, token, first["item"], score=score), 201)
    expect(vote(api, token, first["item"], score=score), 200)
    expect(vote(api, token, first["item"], score=score - 1), 409)
    resumed = expect(api("POST", f"/tests/{test_id}/sessions", json={"participant_id": "A1"}),
                     200)
    assert [i["item"] for i in resumed["items"]] == [i["item"] for i in items]
    assert resumed["items"][0]["answered"] and resumed["items"][0]["score"] == score
    for item in items[1:]:
        assert api("GET", item["audio_url"][4:]).status_code == 200
        expect(vote(api, token, item["item"], score=honest(role_of(library, item["item"]))),
               201)
    # blind: on a page, the open reference and every stimulus have the same size and no
    # validators, so neither bytes on the wire nor headers tell the hidden reference
    page_one = [i for i in items if i["page"] == 1]
    replies = [api("GET", url[4:]) for url in
               [page_one[0]["reference_url"], *(i["audio_url"] for i in page_one)]]
    assert len({len(r.content) for r in replies}) == 1
    assert not any(h in r.headers for r in replies for h in ("etag", "last-modified"))
    expect(api("POST", f"/sessions/{token}/finish"), 200)

    # the second assessor hears the pages in another order, and fails post-screening
    bad = take_session(api, library, test_id, "B2",
                       lambda role: 60 if role == "hidden_reference" else honest(role))
    order_a = [role_of(library, i["item"]) for i in items if i["page"] == 1]
    order_b = [role_of(library, i["item"]) for i in bad["items"] if i["page"] == 1]
    assert order_a != order_b or [i["page"] for i in items] != [i["page"] for i in bad["items"]]
    # the excluded assessor's pages do not count towards listeners_per_page: open again
    again = expect(api("POST", f"/tests/{test_id}/sessions", json={"participant_id": "C3"}),
                   201)
    assert len(again["items"]) == 6 * 7
    expect(api("POST", f"/tests/{test_id}/sessions", json={"participant_id": "D4"}), 409)

    listed = expect(api.admin("GET", f"/tests/{test_id}/sessions"), 200)
    sessions = listed["sessions"] if isinstance(listed, dict) else listed
    by_rater = {s["rater"]: s for s in sessions}
    excluded, kept = by_rater["B2"], by_rater["A1"]
    assert kept["qc_status"] == "accepted" and kept["qc_reasons"] == []
    assert excluded["qc_status"] == "not_used"
    assert "hidden reference below 90 on 6 of 6 pages" in " ".join(excluded["qc_reasons"])

    results = expect(api.admin("GET", f"/tests/{test_id}/results"), 200)
    assert results["method"] == "mushra"
    systems = {r["system"]: r for r in results["systems"]}
    assert list(systems)[:3] == ["hidden_reference", "anchor_3500", "anchor_7000"]
    assert set(systems) == STIMULI
    assert all(r["n"] == 6 for r in systems.values())  # only the accepted assessor
    assert systems["hidden_reference"]["mean"] == 100 and systems["wpe"]["mean"] == 50

    scores = pd.read_csv(io.StringIO(api.admin("GET",
                                               f"/tests/{test_id}/export/scores.csv").text))
    assert list(scores.columns[:7]) == ["assessor", "session", "page", "stimulus", "system",
                                        "score", "time"]
    assert len(scores) == 2 * 6 * 7 and set(scores["assessor"]) == {"A1", "B2"}
    summary = pd.read_csv(io.StringIO(api.admin("GET",
                                                f"/tests/{test_id}/export/systems.csv").text))
    assert set(summary["system"]) == STIMULI
    labels = pd.read_csv(io.StringIO(api.admin(
        "GET", f"/tests/{test_id}/export/urgent_labels.csv").text))
    assert set(labels["system_id"]) == set(SYSTEMS) and len(labels) == 6 * 4
    assert sorted(labels[labels["system_id"] == "mmse_lsa"]["score"].unique()) == [3.4]
    pairs = pd.read_csv(io.StringIO(api.admin("GET", f"/tests/{test_id}/export/pairs.csv").text))
    assert len(pairs) == 6 and set(pairs["n"]) == {6}  # 4 systems: 6 pairs, 6 pages each
    screening = api.admin("GET", f"/tests/{test_id}/export/screening.csv").text
    assert "B2" in screening and "not_used" in screening
    frame = pd.read_parquet(io.BytesIO(
        api.admin("GET", f"/tests/{test_id}/export/scores.parquet").content))
    assert len(frame) == len(scores)

    # the implied ranking, the differences from the hidden reference, the screening shares
    ranking = {r["system"]: r for r in results["ranking"]}
    assert list(ranking) == ["mmse_lsa", "spectral_gating", "wpe", "unprocessed"]
    differences = {r["system"]: r["mean_diff"] for r in results["differences"]}
    assert differences["wpe"] == -50 and differences["anchor_3500"] == -90
    assessors = pd.read_csv(io.StringIO(api.admin(
        "GET", f"/tests/{test_id}/export/assessors.csv").text)).set_index("assessor")
    assert assessors.loc["B2", "reference_low_share"] == 1 and assessors.loc["B2", "excluded"]
    assert not assessors.loc["A1", "excluded"]
    for name in ("ranking.csv", "differences.csv"):
        assert api.admin("GET", f"/tests/{test_id}/export/{name}").status_code == 200

    # the dashboard's MUSHRA figure: reference and anchors first, on the method's 0..100
    from listening_tests.methods import method_of
    from webapp.charts import score_boxes

    method = method_of("mushra")
    with library() as session:
        frames = method.score_view(session, test_id)
    figure = score_boxes(frames["scores"], frames["systems"], value_range=method.score_range)
    assert list(figure.layout.xaxis.categoryarray)[:3] == ["hidden_reference", "anchor_3500",
                                                           "anchor_7000"]
    assert len(frames["scores"]) == 6 * 7 and set(frames["screening"]["assessor"]) == {
        "A1", "B2"}


def test_simulated_mushra_crowd_is_counted(api, app_server, library):
    from listening_tests.simulate import comparison_test_spec, run_simulation

    # the spec the load benchmark uses (benchmarks/rating_load.py --method mushra)
    created = expect(api.admin("POST", "/tests", json=comparison_test_spec(
        "sim mushra", "mushra", SYSTEMS, dataset="mushra-demo", votes_per_pair=1,
        pairs_per_session=3, training=0)), 201)
    test_id = created["id"]
    expect(api.admin("POST", f"/tests/{test_id}/open"), 200)
    report = run_simulation(app_server.url, test_id, raters=2, concurrency=2, seed=5,
                            mix="attentive=1.0", admin_password=app_server.password)
    assert not report.errors, report.error_examples
    assert report.sessions("finished") == 2
    assert report.votes_acknowledged == 2 * 3 * 7
    results = report.server_results
    assert results["method"] == "mushra"
    assert results["sessions"]["accepted"] == 2  # attentive raters pass post-screening
    systems = {r["system"]: r["mean"] for r in results["systems"]}
    assert systems["hidden_reference"] > 90 > systems["anchor_7000"] > systems["anchor_3500"]
    counted = sum(r["n"] for r in results["systems"])
    assert counted == results["sessions"]["accepted"] * 3 * 7


def test_training_page_comes_first_and_counts_nowhere(api, library):
    """One training page (the last input, held out of the rating pages) opens every session;
    its scores are stored but neither screened nor counted: an assessor who scores its
    hidden reference 60 is still accepted."""
    body = expect(api.admin("POST", "/tests", json=spec("too much training",
                                                        training={"count": 6})), 422)
    assert "training.count" in body["error"]
    created = expect(api.admin("POST", "/tests", json=spec("mushra training",
                                                           training={"count": 1})), 201)
    assert created["rating_clips"] == 5 * 7 and created["training_clips"] == 7
    test_id = created["id"]
    expect(api.admin("POST", f"/tests/{test_id}/open"), 200)
    body = expect(api("POST", f"/tests/{test_id}/sessions", json={"participant_id": "T1"}),
                  201)
    token, items = body["session"], body["items"]
    phases = [i["phase"] for i in items]
    assert phases == ["training"] * 7 + ["rating"] * 5 * 7
    assert {i["page"] for i in items[:7]} == {1} and len({i["page"] for i in items}) == 6
    expect(api("PUT", f"/sessions/{token}/checks/volume", json={"answer": "done"}), 201)
    for item in items:
        role = role_of(library, item["item"])
        score = 60 if item["phase"] == "training" and role == "hidden_reference" \
            else honest(role)
        assert api("GET", item["audio_url"][4:]).status_code == 200
        expect(vote(api, token, item["item"], score=score), 201)
    expect(api("POST", f"/sessions/{token}/finish"), 200)
    results = expect(api.admin("GET", f"/tests/{test_id}/results"), 200)
    assert results["sessions"]["accepted"] == 1
    systems = {r["system"]: r for r in results["systems"]}
    assert all(r["n"] == 5 for r in systems.values())  # the rating pages only
    assert systems["hidden_reference"]["mean"] == 100


def test_a_named_system_as_the_reference(api, library):
    """``reference: unprocessed``: each page's open and hidden reference is the input itself,
    and the anchors (two low-pass, one packet-loss) are made from it."""
    from db.models import Clip, ListeningTestItem

    named = spec("mushra named reference")
    named["pairs"] = {**named["pairs"], "reference": "unprocessed", "systems": SYSTEMS[1:]}
    named["mushra"] = {"degraded_anchors": ["packet_loss"]}  # a third anchor, URGENT-style
    created = expect(api.admin("POST", "/tests", json=named), 201)
    assert created["rating_clips"] == 6 * (3 + 1 + 2 + 1)
    with library() as session:
        rows = session.execute(select(ListeningTestItem.condition, Clip.name)
                               .join(Clip, ListeningTestItem.clip_id == Clip.id)
                               .where(ListeningTestItem.test_id == created["id"])).all()
    hidden = sorted(name for condition, name in rows if condition == "hidden_reference")
    assert hidden == sorted(INPUTS)
    anchors = [name for condition, name in rows if condition.startswith("anchor_")]
    stems = [name.removesuffix(".flac") for name in INPUTS]
    assert len(anchors) == 18 and all(any(s in a for s in stems) for a in anchors)
    assert sum("packet_loss" in a for a in anchors) == 6
