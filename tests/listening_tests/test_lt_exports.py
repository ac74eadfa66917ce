"""P.808-format and URGENT label exports: columns, values, formula escaping, CSV round trip."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from listening_tests.exports import (
    accept_reject,
    accept_reject_p808,
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
    # P.808's header (file_url, n, MOS, std, 95%CI, short_file_name, condition keys, votes),
    # ours (95%CI_t) after it
    assert list(out.columns) == [
        "file_url",
        "n",
        "MOS",
        "std",
        "95%CI",
        "short_file_name",
        "condition",
        "vote_1",
        "vote_2",
        "vote_3",
        "95%CI_t",
    ]
    a = out.set_index("file_url").loc["a"]
    # [1, 2, 3]: MOS 2, std 1; P.808's CI 1.96 * 1 / sqrt(3), ours t(0.975, 2) / sqrt(3)
    assert (a["n"], a["MOS"], a["std"], a["condition"]) == (3, 2.0, 1.0, "X")
    assert a["95%CI"] == pytest.approx(1.96 / math.sqrt(3), abs=1e-12)
    assert a["95%CI_t"] == pytest.approx(stats.t.ppf(0.975, 2) / math.sqrt(3))
    assert [a["vote_1"], a["vote_2"], a["vote_3"]] == [1, 2, 3]  # gold/trap/unused left out
    b = out.set_index("file_url").loc["b"]
    assert (b["n"], b["MOS"], b["vote_1"]) == (1, 5.0, 5)
    assert pd.isna(b["std"]) and pd.isna(b["95%CI"]) and pd.isna(b["95%CI_t"])
    assert pd.isna(b["vote_2"]) and pd.isna(b["vote_3"])
    assert pd.api.types.is_integer_dtype(out["n"])


def test_short_file_name_and_mos_name() -> None:
    rows = [vote("sysA/utt1.flac", "sysA", "r1", -1), vote("sysA/utt1.flac", "sysA", "r2", 2)]
    out = votes_per_clip(frame(rows), mos_name="CMOS")
    assert out["short_file_name"].tolist() == ["utt1.flac"]
    assert out["CMOS"].tolist() == [0.5] and "MOS" not in out.columns


def test_votes_per_cond_pools_votes() -> None:
    out = votes_per_cond(votes())
    assert list(out.columns) == ["condition_name", "condition", "n", "MOS", "std", "95%CI",
                                 "95%CI_t"]
    out = out.set_index("condition_name")
    # X: [1, 2, 3, 5], n = 4, MOS 2.75, variance 8.75 / 3
    std = math.sqrt(8.75 / 3)
    assert out.loc["X", "n"] == 4 and out.loc["X", "MOS"] == pytest.approx(2.75, abs=1e-12)
    assert out.loc["X", "std"] == pytest.approx(std, abs=1e-12)
    assert out.loc["X", "95%CI"] == pytest.approx(1.96 * std / 2, abs=1e-12)
    assert out.loc["X", "95%CI_t"] == pytest.approx(stats.t.ppf(0.975, 3) * std / 2)


def test_votes_per_worker_lists_rating_votes_only() -> None:
    table = votes()
    table["session_id"] = [10, 11, 12, 10, 11, 12, 13, 14, 15, 16, 17]
    out = votes_per_worker(table)
    assert list(out.columns) == ["HITId", "workerid", "assignment_id", "assignmentstatus",
                                 "file", "short_file_name", "vote", "question_type",
                                 "condition"]
    # P.808 lists rating answers of used sessions only: no gold, trapping, unused, rejected
    assert out["workerid"].tolist() == ["r1", "r1", "r2", "r2", "r3", "r3"]
    assert out["vote"].tolist() == [1, 5, 2, 4, 3, 5]
    assert set(out["question_type"]) == {"MOS"} and set(out["assignmentstatus"]) == {"Submitted"}
    assert out["HITId"].tolist() == ["10", "10", "11", "11", "12", "12"]
    assert (out["HITId"] == out["assignment_id"]).all()


def test_accept_reject_report_and_p808_layout() -> None:
    out = accept_reject(
        [
            ("w1", "s1", QcDecision("accepted")),
            ("w2", "s2", QcDecision("rejected", ("first reason", "second reason"))),
            ("w3", "s3", QcDecision("not_used", ("rating variance 0 < 0.1",))),
        ]
    )
    assert list(out.columns) == ["worker", "session", "status", "reasons"]
    assert out["status"].tolist() == ["accepted", "rejected", "not_used"]
    assert out["reasons"].tolist() == ["", "first reason; second reason",
                                       "rating variance 0 < 0.1"]
    gui = accept_reject_p808(out)
    assert list(gui.columns) == ["WorkerId", "assignmentId", "HITId", "Approve", "Reject",
                                 "n_duplicate"]
    # P.808 approves (pays) accepted and not-used sessions; only a rejected one has a text
    assert gui["Approve"].tolist() == ["x", "", "x"]
    assert gui["Reject"].tolist() == ["", "first reason; second reason", ""]
    assert gui["assignmentId"].tolist() == ["s1", "s2", "s3"]


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
    assert out["file_url"].tolist() == ["'\tclip", '\'=HYPERLINK("http://x")']
    assert pd.api.types.is_numeric_dtype(out["MOS"]) and out["MOS"].iloc[1] == -2.5
    assert out["vote_1"].iloc[1] == -2  # a negative vote is a number, not text
    workers = votes_per_worker(frame(rows))["workerid"].tolist()
    assert workers == ["'\rr3", "'-r1", "'@r2"]
    cond = votes_per_cond(frame(rows))["condition_name"].tolist()
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
    raw = pd.read_csv(path, dtype=str, keep_default_na=False).set_index("file_url")
    assert (
        raw.loc["b", "std"] == "" and raw.loc["b", "95%CI"] == "" and raw.loc["b", "vote_2"] == ""
    )
    assert raw.loc["a", "vote_1"] == "1"  # integer votes stay integers


def test_csv_of_escaped_text_reads_back_escaped(tmp_path: Path) -> None:
    df = pd.DataFrame({"worker": ["=cmd", "ok"], "score": [-1, 2]})
    back = pd.read_csv(write_csv(df, tmp_path / "w.csv"))
    assert back["worker"].tolist() == ["'=cmd", "ok"]
    assert back["score"].tolist() == [-1, 2]
