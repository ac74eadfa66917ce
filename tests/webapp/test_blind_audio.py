"""A bot that reads only HTTP metadata must score at chance (issue 13, item 1).

The scripted rater fetches every sound of its sessions over HTTP the way the rater page
does, but never listens: it answers from what a response carries besides the sound
(headers such as ``Last-Modified`` and ``ETag``, the body's size, the item ids and their
order). It is scored on the questions whose answer the server knows: the
gold and trapping clips of an ACR test, the environment check's pairs and the gold pairs
of an A/B test. The right answers come from the app's database file, as an auditor would
read them; the bot never sees them.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import pytest
from scipy.stats import binomtest

from listening_tests.simulate import comparison_test_spec
from tests.webapp.test_rating_api import Api, expect

pytestmark = pytest.mark.integration

ACR = {"name": "blind ACR", "method": "acr", "clips": {"dataset": "demo"},
       "votes_per_clip": 20, "clips_per_session": 3, "training": {"count": 0},
       "gold": {"auto": True, "count": 8, "per_session": 4},
       "trapping": {"enabled": True, "per_session": 2},
       "checks": {"qualification": False, "volume": False, "stereo": True,
                  "environment": True}, "seed": 13}
SESSIONS = 6
#: Metadata a server may send with rater audio: nothing that comes from the stored file.
ALLOWED_HEADERS = {"content-type", "content-length", "cache-control", "date", "server"}


@dataclass(frozen=True)
class Seen:
    """What the bot learns from one audio response without listening to it."""

    url: str
    headers: dict[str, str]
    size: int
    seconds: float

    @property
    def modified(self) -> float:
        value = self.headers.get("last-modified")
        return parsedate_to_datetime(value).timestamp() if value else 0.0

    def signature(self) -> tuple:
        """Everything but the moment it was sent and how long it took."""
        return (tuple(sorted((k, v) for k, v in self.headers.items() if k != "date")),
                self.size)


def fetch(api: Api, url: str) -> Seen:
    started = time.perf_counter()
    response = api.client.get(url)
    seconds = time.perf_counter() - started
    assert response.status_code == 200, response.text
    return Seen(url, {k.lower(): v for k, v in response.headers.items()},
                len(response.content), seconds)


def louder(a: Seen, b: Seen) -> str | None:
    """The bot's pick between two sides: newer file, else bigger, else the greater ETag;
    None when the metadata are identical. (Response times are too noisy for a rule a test
    can rely on; the server makes both sides of a pair the same way.)"""
    for key in (lambda s: s.modified, lambda s: s.size, lambda s: s.headers.get("etag", "")):
        if key(a) != key(b):
            return "a" if key(a) > key(b) else "b"
    return None


def truth(app, token: str) -> dict[str, dict]:
    """Public item id -> role, expected score, swapped (from the app's database)."""
    with sqlite3.connect(f"file:{app.data_dir / 'workbench.db'}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT si.public_id, ti.role, ti.expected_score, si.swapped FROM session_items si "
            "JOIN test_items ti ON si.test_item_id = ti.id JOIN rating_sessions rs "
            "ON si.session_id = rs.id WHERE rs.token = ?", (token,)).fetchall()
        setup = db.execute("SELECT setup FROM rating_sessions WHERE token = ?",
                           (token,)).fetchone()[0]
    return {"items": {pid: {"role": role, "expected": expected, "swapped": bool(swapped)}
                      for pid, role, expected, swapped in rows},
            "setup": json.loads(setup)}


def open_test(api: Api, spec: dict) -> int:
    created = expect(api.admin("POST", "/tests", json=spec), 201)
    expect(api.admin("POST", f"/tests/{created['id']}/open"), 200)
    return created["id"]


def not_above_chance(right: int, total: int, chance: float) -> bool:
    return total > 0 and binomtest(right, total, chance, alternative="greater").pvalue > 0.01


@pytest.fixture(scope="module")
def api(app_server):
    return Api(app_server)


def test_a_bot_reading_only_metadata_scores_at_chance(api, app_server):
    acr_id = open_test(api, ACR)
    ab_spec = {**comparison_test_spec("blind A/B", "ab", ["reference", "unprocessed"],
                                      pairs_per_session=4, training=0),
               "gold": {"auto": True, "count": 4, "per_session": 4}, "seed": 13}
    ab_id = open_test(api, ab_spec)
    score = {"gold": [0, 0], "trap": [0, 0], "environment": [0, 0], "ab gold": [0, 0]}
    every: list[Seen] = []
    unequal = 0  # pairs whose two sides differ in their metadata

    def mark(kind: str, right: bool) -> None:
        score[kind][0] += int(right)
        score[kind][1] += 1

    for n in range(SESSIONS):
        body = expect(api("POST", f"/tests/{acr_id}/sessions",
                          json={"participant_id": f"bot-{n}"}), 201)
        known = truth(app_server, body["session"])
        for check in body["checks"]:
            if check["kind"] == "environment":
                a, b = fetch(api, check["audio_url_a"]), fetch(api, check["audio_url_b"])
                every += [a, b]
                unequal += a.signature() != b.signature()
                guess = {"a": "A", "b": "B", None: "same"}[louder(a, b)]
                pair = known["setup"]["environment"][int(check["id"].split("-")[1]) - 1]
                mark("environment", guess == pair["expected"])
            elif check["kind"] == "stereo":
                every.append(fetch(api, check["audio_url"]))
        seen = {item["item"]: fetch(api, item["audio_url"]) for item in body["items"]}
        every += seen.values()
        newest = max(s.modified for s in seen.values())
        sizes = sorted(s.size for s in seen.values())
        for position, (item, s) in enumerate(seen.items()):
            role, expected = known["items"][item]["role"], known["items"][item]["expected"]
            if role == "gold":  # made for the test (newer, noisier: bigger) -> "Bad"
                made = (s.modified == newest and s.modified > 0) or s.size > sizes[len(sizes) // 2]
                mark("gold", (1 if made else 5) == expected)
            elif role == "trap":  # a digit from the size and the position
                guess = 1 + (s.size // 2 + position) % 5
                mark("trap", guess == expected)

    for n in range(SESSIONS):
        body = expect(api("POST", f"/tests/{ab_id}/sessions",
                          json={"participant_id": f"bot-ab-{n}"}), 201)
        known = truth(app_server, body["session"])
        for item in body["items"]:
            a, b = fetch(api, item["audio_url_a"]), fetch(api, item["audio_url_b"])
            every += [a, b]
            facts = known["items"][item["item"]]
            if facts["role"] != "gold":
                continue
            unequal += a.signature() != b.signature()
            older = {"a": "B", "b": "A", None: "A"}[louder(a, b)]  # the clean side is older
            mark("ab gold", older == ("A" if facts["swapped"] else "B"))

    chance = {"gold": 0.5, "trap": 0.2, "environment": 1 / 3, "ab gold": 0.5}
    for kind, (right, total) in score.items():
        assert total >= 8, (kind, total)
        assert not_above_chance(right, total, chance[kind]), \
            f"{kind}: the bot got {right} of {total} right without listening ({score})"
    leaked = {k for s in every for k in s.headers} - ALLOWED_HEADERS
    assert not leaked, f"rater audio carries {leaked}"
    assert unequal == 0, f"{unequal} pairs differ in their headers or size"
