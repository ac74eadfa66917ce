"""``python -m sqa.import`` and ``python -m sqa.evaluate`` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sqa.metrics import write_mos_scp
from tests.sqa.label_files import urgent_csv, write_text

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_import_writes_normalised_table(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / "out" / f"labels{suffix}"
    done = run("sqa.import", "--labels", urgent_csv(tmp_path), "--out", out)
    assert done.returncode == 0, done.stderr
    assert "6 ratings of 3 utterances from 2 systems" in done.stdout
    table = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out)
    assert table.columns[:7].tolist() == ["utterance_id", "wav_path", "system_id",
                                          "sample_id", "listener_id", "score", "dataset"]
    assert len(table) == 6
    assert not list(out.parent.glob("*.partial"))


def test_import_refuses_bad_file_and_writes_nothing(tmp_path: Path) -> None:
    rows = ["a.flac,sysA,s1,4,L1", "gone.wav,sysA,s2,3,L1", "b.wav,sysB,s1,nan,L1",
            *[f"a.flac,sysC,s{i},6,L1" for i in range(25)]]
    out = tmp_path / "labels.parquet"
    done = run("sqa.import", "--labels", urgent_csv(tmp_path, rows), "--out", out)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("labels.csv: line 3: audio not found")
    assert lines[1] == "labels.csv: line 4: score is empty or NaN"
    assert len(lines) == 21 and lines[-1] == "labels.csv: ... and 7 more problems"
    assert "Traceback" not in done.stderr
    assert not out.exists()


def test_import_unknown_format_is_one_line(tmp_path: Path) -> None:
    path = write_text(tmp_path / "x.txt", ["hello world"])
    done = run("sqa.import", "--labels", path, "--out", tmp_path / "o.csv")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "unknown label format" in done.stderr
    assert not (tmp_path / "o.csv").exists()


def test_evaluate_prints_and_writes_json(tmp_path: Path) -> None:
    labels = urgent_csv(tmp_path)
    pred = tmp_path / "mos.scp"
    write_mos_scp(pd.Series({"sysA-s1": 4.2, "sysA-s2": 2.9, "sysB-s1": 1.1}), pred)
    done = run("sqa.evaluate", "--pred", pred, "--labels", labels, "--json",
               tmp_path / "r.json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].split() == ["level", "n", "MSE", "LCC", "SRCC", "KTAU"]
    assert done.stdout.splitlines()[1].split()[:2] == ["utterance", "3"]
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["system"]["n"] == 2
    assert result["utterance"]["MSE"] == pytest.approx((0.3**2 + 0.4**2 + 0.4**2) / 3)


def test_evaluate_reports_missing_ids(tmp_path: Path) -> None:
    labels = urgent_csv(tmp_path)
    pred = tmp_path / "mos.scp"
    write_mos_scp(pd.Series({"sysA-s1": 4.2, "other": 2.9}), pred)
    done = run("sqa.evaluate", "--pred", pred, "--labels", labels, "--json",
               tmp_path / "r.json")
    assert done.returncode == 1
    assert done.stderr.strip() == ("error: 2 labelled utterances have no prediction: sysA-s2, "
                                   "sysB-s1; 1 predictions have no label: other")
    assert not (tmp_path / "r.json").exists()
