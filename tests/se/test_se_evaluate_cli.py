"""``python -m se.evaluate``: one row per file plus a mean, failures NaN and explained."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import soundfile as sf

from se.evaluate import main
from tests.se.speech import add_white_noise, make_speech

REPO = Path(__file__).resolve().parents[2]
INTRUSIVE = ["pesq", "estoi", "si_sdr", "sdr", "lsd", "mcd"]
DNSMOS = ["dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak", "dnsmos_p808"]


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    est, ref = tmp_path / "est", tmp_path / "ref"
    est.mkdir()
    ref.mkdir()
    for index, snr in enumerate((0.0, 20.0)):
        clean = make_speech(16_000, 2.0)
        sf.write(ref / f"u{index}.wav", clean, 16_000)
        sf.write(est / f"u{index}.flac", add_white_noise(clean, snr, seed=index), 16_000)
    sf.write(ref / "short.wav", make_speech(16_000, 2.0), 16_000)
    sf.write(est / "short.flac", make_speech(16_000, 1.5), 16_000)
    return est, ref


def test_rows_columns_and_mean_with_references(folders: tuple[Path, Path],
                                               tmp_path: Path) -> None:
    est, ref = folders
    out = tmp_path / "scores.csv"
    done = subprocess.run([sys.executable, "-m", "se.evaluate", "--est", str(est), "--ref",
                           str(ref), "--out", str(out)], cwd=REPO, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out, keep_default_na=False, na_values=["nan", "NaN", ""])
    assert list(table.columns) == ["id", *INTRUSIVE, *DNSMOS, "errors"]
    assert list(table["id"]) == ["short", "u0", "u1", "mean"]
    rows = table.set_index("id")
    assert rows.loc["u1", "pesq"] > rows.loc["u0", "pesq"]
    assert rows.loc["u1", "si_sdr"] == pytest.approx(20.0, abs=0.5)
    assert rows.loc["short", INTRUSIVE].isna().all()
    assert rows.loc["short", DNSMOS].notna().all()
    assert "equally long" in rows.loc["short", "errors"]
    assert rows.loc["mean", "pesq"] == pytest.approx(rows.loc[["u0", "u1"], "pesq"].mean())
    assert "pesq: 1 of 3 failed" in rows.loc["mean", "errors"]
    assert "short: pesq:" in done.stderr


def test_without_references_only_non_intrusive_columns(folders: tuple[Path, Path],
                                                       tmp_path: Path) -> None:
    est, _ = folders
    out = tmp_path / "scores.csv"
    assert main(["--est", str(est / "u0.flac"), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == ["id", *DNSMOS, "errors"]
    assert ((table[DNSMOS] >= 1.0) & (table[DNSMOS] <= 5.0)).all().all()


def test_intrusive_metric_without_reference_is_refused(
        folders: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--est", str(folders[0]), "--out", str(tmp_path / "s.csv"),
                   "--metrics", "pesq"])
    assert status == 1
    assert capsys.readouterr().err.strip() == "se.evaluate: pesq need references: add --ref"
