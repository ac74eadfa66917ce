"""MSE/LCC/SRCC/KTAU against scipy, system-level aggregation by hand, and mos.scp."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sqa.metrics import (
    EvaluationError,
    MosScpError,
    evaluate,
    ktau,
    lcc,
    mse,
    read_mos_scp,
    srcc,
    write_mos_scp,
)

PRED = np.array([3.1, 2.0, 4.4, 1.2, 3.9, 2.8, 4.9, 1.7])
TRUE = np.array([3.0, 2.5, 4.0, 1.0, 4.5, 2.5, 4.5, 2.0])


def test_metrics_equal_scipy() -> None:
    assert mse(PRED, TRUE) == pytest.approx(np.mean((PRED - TRUE) ** 2))
    assert lcc(PRED, TRUE) == pytest.approx(stats.pearsonr(PRED, TRUE)[0])
    assert srcc(PRED, TRUE) == pytest.approx(stats.spearmanr(PRED, TRUE)[0])
    assert ktau(PRED, TRUE) == pytest.approx(stats.kendalltau(PRED, TRUE)[0])
    assert mse([1, 2], [2, 4]) == 2.5


def test_metrics_refuse_bad_input_and_nan_when_undefined() -> None:
    with pytest.raises(ValueError, match="one length"):
        mse([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="NaN"):
        lcc([1, np.nan], [1, 2])
    with pytest.raises(ValueError, match="no values"):
        srcc([], [])
    assert math.isnan(lcc([3.0], [2.0]))
    assert math.isnan(ktau([3.0, 3.0, 3.0], [1.0, 2.0, 3.0]))


def two_systems() -> tuple[pd.Series, pd.DataFrame]:
    labels = pd.DataFrame({
        "utterance_id": ["a1", "a1", "a2", "b1", "b2", "b2"],
        "system_id": ["A", "A", "A", "B", "B", "B"],
        "wav_path": ["/a1", "/a1", "/a2", "/b1", "/b2", "/b2"],
        "sample_id": ["1", "1", "2", "1", "2", "2"],
        "dataset": ["t"] * 6,
        "listener_id": ["x", "y", "x", "x", "x", "y"],
        "score": [4.0, 5.0, 3.0, 2.0, 1.0, 2.0],
    })
    pred = pd.Series({"b2": 1.0, "a1": 4.0, "a2": 3.5, "b1": 2.5})
    return pred, labels


def test_system_level_by_hand() -> None:
    pred, labels = two_systems()
    result = evaluate(pred, labels)
    # MOS: a1 4.5, a2 3, b1 2, b2 1.5; system A: mos 3.75, pred 3.75; B: mos 1.75, pred 1.75
    assert result["utterance"]["n"] == 4
    assert result["utterance"]["MSE"] == pytest.approx((0.25 + 0.25 + 0.25 + 0.25) / 4)
    mos = np.array([4.5, 3.0, 2.0, 1.5])
    guess = np.array([4.0, 3.5, 2.5, 1.0])
    assert result["utterance"]["LCC"] == pytest.approx(stats.pearsonr(guess, mos)[0])
    assert result["system"]["n"] == 2
    assert result["system"]["MSE"] == pytest.approx(0.0)
    assert result["system"]["LCC"] == pytest.approx(1.0)
    assert result["system"]["SRCC"] == pytest.approx(1.0)
    assert result["system"]["KTAU"] == pytest.approx(1.0)


def test_system_level_means_differ() -> None:
    pred, labels = two_systems()
    pred["a2"] = 2.0  # system A prediction mean (4 + 2) / 2 = 3, human 3.75
    result = evaluate(pred, labels)
    assert result["system"]["MSE"] == pytest.approx(((3.0 - 3.75) ** 2 + 0.0) / 2)


def test_ids_must_match() -> None:
    pred, labels = two_systems()
    with pytest.raises(EvaluationError, match=r"1 labelled utterances have no prediction: b1"):
        evaluate(pred.drop("b1"), labels)
    with pytest.raises(EvaluationError, match=r"1 predictions have no label: zz"):
        evaluate(pd.concat([pred, pd.Series({"zz": 3.0})]), labels)
    bad = pred.copy()
    bad["a1"] = np.nan
    with pytest.raises(EvaluationError, match="predictions are NaN or infinite: a1"):
        evaluate(bad, labels)


def test_mos_scp_round_trip(tmp_path: Path) -> None:
    series = pd.Series({"sysA-u1": 3.141592653589793, "sysB-u2": 1.0, "x": 4.25})
    write_mos_scp(series, tmp_path / "mos.scp")
    back = read_mos_scp(tmp_path / "mos.scp")
    assert back.index.tolist() == series.index.tolist()
    assert back.tolist() == series.tolist()
    with pytest.raises(ValueError, match="not finite"):
        write_mos_scp(pd.Series({"a": np.nan}), tmp_path / "x.scp")
    with pytest.raises(ValueError, match="whitespace"):
        write_mos_scp(pd.Series({"a b": 1.0}), tmp_path / "x.scp")


def test_mos_scp_malformed_lines(tmp_path: Path) -> None:
    path = tmp_path / "mos.scp"
    path.write_text("a 3.0\n\nb\nc high\nd nan\na 2.0\ne 1 2\n", encoding="utf-8")
    with pytest.raises(MosScpError) as info:
        read_mos_scp(path)
    assert info.value.problems == [
        "line 3: expected '<id> <score>', got 'b'",
        "line 4: score 'high' is not a number",
        "line 5: score 'nan' is not finite",
        "line 6: id 'a' already on line 1",
        "line 7: expected '<id> <score>', got 'e 1 2'",
    ]
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(MosScpError, match="no entries"):
        read_mos_scp(path)
