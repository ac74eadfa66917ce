"""P.808-format and URGENT label exports: columns, values, formula escaping, CSV round trip."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from listening_tests.exports import (
    accept_reject,
    csv_text,
    escape_formulas,
    urgent_labels,
    votes_per_clip,
    votes_per_cond,
    votes_per_worker,
    write_csv,
)
from listening_tests.quality_control import QcDecision
from tests.listening_tests.frames import frame, noise_rows, vote


def votes() -> pd.DataFrame:
    rows = [
        vote("a", "X", "r1", 1),
        vote("a", "X", "r2", 2),
        vote("a", "X", "r3", 3),
        vote("b", "X", "r1", 5),  # one vote: empty std and CI
        vote("c", "Y", "r2", 4),
        vote("c", "Y", "r3", 5),
        *noise_rows(),
    ]
    out = frame(rows)
    out["wav_path"] = "audio/" + out["clip"] + ".flac"
    out["sample_id"] = out["clip"].map({"a": "s1", "b": "s2", "c": "s1"})
    return out


def test_votes_per_clip_columns_and_p808_values() -> None:
    out = votes_per_clip(votes())
    assert list(out.columns) == [
        "file",
        "n",
        "MOS",
        "std",
        "95%CI",
        "95%CI_t",
        "vote_1",
        "vote_2",
        "vote_3",
    ]
    a = out.set_index("file").loc["a"]
    # [1, 2, 3]: MOS 2, std 1; P.808's CI 1.96 * 1 / sqrt(3), ours t(0.975, 2) / sqrt(3)
    assert (a["n"], a["MOS"], a["std"]) == (3, 2.0, 1.0)
    assert a["95%CI"] == pytest.approx(1.96 / math.sqrt(3))
    assert a["95%CI_t"] == pytest.approx(stats.t.ppf(0.975, 2) / math.sqrt(3))
    assert [a["vote_1"], a["vote_2"], a["vote_3"]] == [1, 2, 3]  # gold/trap/unused left out
    b = out.set_index("file").loc["b"]
    assert (b["n"], b["MOS"], b["vote_1"]) == (1, 5.0, 5)
    assert pd.isna(b["std"]) and pd.isna(b["95%CI"]) and pd.isna(b["95%CI_t"])
    assert pd.isna(b["vote_2"]) and pd.isna(b["vote_3"])


def test_votes_per_cond_pools_votes() -> None:
    out = votes_per_cond(votes()).set_index("condition")
    assert list(out.columns) == ["n", "MOS", "std", "95%CI", "95%CI_t"]
    # X: [1, 2, 3, 5], n = 4, MOS 2.75, variance 8.75 / 3
    std = math.sqrt(8.75 / 3)
    assert out.loc["X", "n"] == 4 and out.loc["X", "MOS"] == pytest.approx(2.75)
    assert out.loc["X", "95%CI"] == pytest.approx(1.96 * std / 2)
    assert out.loc["X", "95%CI_t"] == pytest.approx(stats.t.ppf(0.975, 3) * std / 2)


def test_votes_per_worker_lists_control_answers_of_used_sessions() -> None:
    out = votes_per_worker(votes())
    assert list(out.columns) == ["worker", "file", "vote", "question_type"]
    assert out["worker"].tolist() == ["g", "r1", "r1", "r2", "r2", "r3", "r3", "t"]
    kinds = dict(zip(out["worker"], out["question_type"], strict=False))
    assert (kinds["g"], kinds["t"], kinds["r1"]) == ("gold", "trap", "rating")
    assert not out["worker"].isin(["u", "x"]).any()  # not-used and rejected sessions


def test_accept_reject_report() -> None:
    out = accept_reject(
        [
            ("w1", "s1", QcDecision("accepted")),
            ("w2", "s2", QcDecision("rejected", ("first reason", "second reason"))),
        ]
    )
    assert list(out.columns) == ["worker", "session", "status", "reasons"]
    assert out["status"].tolist() == ["accepted", "rejected"]
    assert out["reasons"].tolist() == ["", "first reason; second reason"]


def test_urgent_labels_one_row_per_used_rating_vote() -> None:
    out = urgent_labels(votes())
    assert list(out.columns) == ["wav_path", "system_id", "sample_id", "score", "listener_id"]
    assert len(out) == 6
    first = out.iloc[0]
    assert (first["wav_path"], first["system_id"], first["sample_id"]) == (
        "audio/a.flac",
        "X",
        "s1",
    )
    assert (first["score"], first["listener_id"]) == (1, "r1")
    with pytest.raises(ValueError, match="wav_path"):
        urgent_labels(votes().drop(columns="wav_path"))


def test_formula_injection_escaped_on_text_only() -> None:
    rows = [
        vote('=HYPERLINK("http://x")', "+X", "-r1", -2),
        vote('=HYPERLINK("http://x")', "+X", "@r2", -3),
        vote("\tclip", "a-b", "\rr3", 1),
    ]
    out = votes_per_clip(frame(rows))
    assert out["file"].tolist() == ["'\tclip", '\'=HYPERLINK("http://x")']
    assert pd.api.types.is_numeric_dtype(out["MOS"]) and out["MOS"].iloc[1] == -2.5
    assert out["vote_1"].iloc[1] == -2  # a negative vote is a number, not text
    workers = votes_per_worker(frame(rows))["worker"].tolist()
    assert workers == ["'\rr3", "'-r1", "'@r2"]
    cond = votes_per_cond(frame(rows))["condition"].tolist()
    assert cond == ["'+X", "a-b"]  # a dash inside the text is harmless
    assert escape_formulas(escape_formulas(out)).equals(out)  # idempotent


def test_escape_leaves_numeric_columns_alone() -> None:
    df = pd.DataFrame(
        {"x": [-1.5, 2.0], "n": [-3, 4], "text": ["-1.5", "ok"], "flag": [True, False]}
    )
    out = escape_formulas(df)
    pd.testing.assert_series_equal(out["x"], df["x"])
    pd.testing.assert_series_equal(out["n"], df["n"])
    pd.testing.assert_series_equal(out["flag"], df["flag"])
    assert out["text"].tolist() == ["-1.5", "ok"]  # a number as text is not a formula


def test_csv_round_trip(tmp_path: Path) -> None:
    table = votes_per_clip(votes())
    path = write_csv(table, tmp_path / "votes_per_clip.csv")
    assert path.read_text(encoding="utf-8") == csv_text(table)
    back = pd.read_csv(path)
    pd.testing.assert_frame_equal(back, table, check_dtype=False)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False).set_index("file")
    assert (
        raw.loc["b", "std"] == "" and raw.loc["b", "95%CI"] == "" and raw.loc["b", "vote_2"] == ""
    )
    assert raw.loc["a", "vote_1"] == "1"  # integer votes stay integers


def test_csv_of_escaped_text_reads_back_escaped(tmp_path: Path) -> None:
    df = pd.DataFrame({"worker": ["=cmd", "ok"], "score": [-1, 2]})
    back = pd.read_csv(write_csv(df, tmp_path / "w.csv"))
    assert back["worker"].tolist() == ["'=cmd", "ok"]
    assert back["score"].tolist() == [-1, 2]
