"""Label readers, validation with line numbers, and MOS averaging."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sqa.label_formats import (
    detect_format,
    read_bvcc,
    read_labels,
    read_nisqa_csv,
    read_urgent_csv,
)
from sqa.labels import LABEL_COLUMNS, LabelError, mean_opinion, validate
from tests.sqa.label_files import urgent_csv, write_audio, write_text


def problems_of(path: Path, **kwargs) -> list[str]:
    with pytest.raises(LabelError) as info:
        validate(read_labels(path), **kwargs)
    return [str(p) for p in info.value.problems]


def test_urgent_csv_reads_into_the_schema(tmp_path: Path) -> None:
    path = urgent_csv(tmp_path)
    table = read_urgent_csv(path)
    validate(table)
    assert list(table.columns[:len(LABEL_COLUMNS)]) == list(LABEL_COLUMNS)
    assert table["utterance_id"].tolist()[:2] == ["sysA-s1", "sysA-s1"]
    assert all(Path(p).is_absolute() for p in table["wav_path"])
    assert table["wav_path"][0] == str((tmp_path / "a.flac").resolve())
    assert table["line"].tolist() == [2, 3, 4, 5, 6, 7]
    assert table["dataset"].unique().tolist() == ["urgent"]


def test_urgent_csv_metric_columns_and_missing_listener(tmp_path: Path) -> None:
    path = urgent_csv(tmp_path, ["a.flac,sysA,s1,3.5,,2.9", "b.wav,sysA,s2,2.25,,"],
                      header="wav_path,system_id,sample_id,score,listener_id,dnsmos_ovrl")
    table = read_urgent_csv(path)
    validate(table)
    assert table["listener_id"].isna().all()
    assert table["dnsmos_ovrl"][0] == 2.9 and np.isnan(table["dnsmos_ovrl"][1])


def test_audio_root_resolves_relative_paths(tmp_path: Path) -> None:
    write_audio(tmp_path / "audio" / "x.wav")
    path = write_text(tmp_path / "l.csv", ["wav_path,system_id,sample_id,score",
                                           "x.wav,s,x,3"])
    validate(read_urgent_csv(path, audio_root=tmp_path / "audio"))
    assert "audio not found" in problems_of(path)[0]


def test_missing_column_is_line_1(tmp_path: Path) -> None:
    path = write_text(tmp_path / "l.csv", ["wav_path,system_id,score", "a.wav,s,3"])
    with pytest.raises(LabelError) as info:
        read_urgent_csv(path)
    assert [str(p) for p in info.value.problems] == [
        "line 1: missing column: sample_id (header: wav_path, system_id, score)"]


@pytest.mark.parametrize(("row", "expected"), [
    ("a.flac,sysA,s9,7,L1", "line 3: score 7 is outside the scale 1-5"),
    ("a.flac,sysA,s9,0.5,L1", "line 3: score 0.5 is outside the scale 1-5"),
    ("a.flac,sysA,s9,,L1", "line 3: score is empty or NaN"),
    ("a.flac,sysA,s9,nan,L1", "line 3: score is empty or NaN"),
    ("a.flac,sysA,s9,good,L1", "line 3: score 'good' is not a number"),
    ("missing.wav,sysA,s9,3,L1", "line 3: audio not found: "),
    ("a.flac,sysA,s9,3", "line 3: expected 5 fields as in the header, got 4"),
    ("a.flac,,s9,3,L1", "line 3: system_id is empty"),
    ("a.flac,sysA,s1,3,L1", "line 3: duplicate rating of utterance 'sysA-s1' by listener "
                            "'L1' (first on line 2)"),
])
def test_each_malformed_row_is_reported_with_its_line(tmp_path: Path, row: str,
                                                      expected: str) -> None:
    path = urgent_csv(tmp_path, ["a.flac,sysA,s1,4,L1", row])
    found = problems_of(path)
    assert len(found) == 1, found
    assert found[0].startswith(expected)


def test_unknown_column_is_named(tmp_path: Path) -> None:
    path = urgent_csv(tmp_path, ["a.flac,sysA,s1,4,L1,x,1"],
                      header="wav_path,system_id,sample_id,score,listener_id,comment,pesq")
    assert problems_of(path) == ["line 1: unknown column: comment"]


def test_odd_rate_unreadable_and_empty_audio(tmp_path: Path) -> None:
    write_audio(tmp_path / "hi.wav", 96_000)
    (tmp_path / "junk.wav").write_bytes(b"RIFF this is not audio at all")
    (tmp_path / "empty.flac").write_bytes(b"")
    path = write_text(tmp_path / "l.csv", [
        "wav_path,system_id,sample_id,score",
        "hi.wav,s,1,3", "junk.wav,s,2,3", "empty.flac,s,3,3"])
    found = problems_of(path)
    assert found[0].startswith("line 2: audio at 96000 Hz")
    assert found[1].startswith("line 3: audio unreadable")
    assert found[2].startswith("line 4: audio unreadable")


def test_silent_audio_only_fails_when_decoded(tmp_path: Path) -> None:
    import soundfile as sf

    sf.write(tmp_path / "quiet.wav", np.zeros(1600, np.float32), 16_000)
    path = write_text(tmp_path / "l.csv", ["wav_path,system_id,sample_id,score",
                                           "quiet.wav,s,1,3"])
    validate(read_labels(path))
    assert "silent" in problems_of(path, decode_audio=True)[0]


def test_missing_audio_reported_once_per_file(tmp_path: Path) -> None:
    path = urgent_csv(tmp_path, ["gone.wav,sysA,s1,4,L1", "gone.wav,sysA,s1,3,L2"])
    assert problems_of(path) == [
        f"line 2: audio not found: {(tmp_path / 'gone.wav').resolve()} (used on 2 rows)"]


def test_every_problem_is_collected_and_message_is_capped(tmp_path: Path) -> None:
    rows = [f"a.flac,sysA,s{i},9,L1" for i in range(25)]
    path = urgent_csv(tmp_path, rows)
    with pytest.raises(LabelError) as info:
        validate(read_labels(path))
    assert len(info.value.problems) == 25
    message = str(info.value).splitlines()
    assert len(message) == 21
    assert message[0] == "labels.csv: line 2: score 9 is outside the scale 1-5"
    assert message[-1] == "labels.csv: ... and 5 more problems"


def test_mixed_listener_rows_and_two_paths_for_one_utterance(tmp_path: Path) -> None:
    path = urgent_csv(tmp_path, ["a.flac,sysA,s1,4,L1", "a.flac,sysA,s1,4,",
                                 "b.wav,sysA,s1,3,L2"])
    assert problems_of(path) == [
        "line 3: utterance 'sysA-s1' mixes per-listener rows and a row without listener_id "
        "(line 2)",
        f"line 4: utterance 'sysA-s1' is {(tmp_path / 'b.wav').resolve()} here but "
        f"{(tmp_path / 'a.flac').resolve()} on line 2",
    ]


def test_mean_opinion_averages_listeners(tmp_path: Path) -> None:
    mos = mean_opinion(read_urgent_csv(urgent_csv(tmp_path)))
    assert mos["utterance_id"].tolist() == ["sysA-s1", "sysA-s2", "sysB-s1"]
    assert mos["mos"].tolist() == [4.5, 2.5, 1.5]
    assert mos["n"].tolist() == [2, 2, 2]
    assert mos["std"][0] == pytest.approx(np.std([4, 5], ddof=1))


BVCC_LINE = "sys64e2f,sys64e2f-utt9c183cd.wav,{score},VDP1ovyrBzg8_1,{listener}"


def test_bvcc_per_listener_file(tmp_path: Path) -> None:
    write_audio(tmp_path / "DATA" / "wav" / "sys64e2f-utt9c183cd.wav")
    sets = tmp_path / "DATA" / "sets"
    sets.mkdir(parents=True)
    path = write_text(sets / "TRAINSET", [
        BVCC_LINE.format(score=4, listener="{}_30-39_bZPQE7w4Zl3g_Female_Valid_1_No"),
        "",
        BVCC_LINE.format(score=2, listener="{}_18-29_aaaa_Male_Valid_1_No")])
    assert detect_format(path) == "bvcc"
    table = read_bvcc(path)
    validate(table)
    assert table["utterance_id"].unique().tolist() == ["sys64e2f-utt9c183cd"]
    assert table["system_id"][0] == "sys64e2f" and table["sample_id"][0] == "utt9c183cd"
    assert table["listener_id"][0] == "{}_30-39_bZPQE7w4Zl3g_Female_Valid_1_No"
    assert table["line"].tolist() == [1, 3]
    assert mean_opinion(table)["mos"].tolist() == [3.0]


def test_bvcc_mos_list_and_bad_lines(tmp_path: Path) -> None:
    write_audio(tmp_path / "sysA-u1.wav")
    path = write_text(tmp_path / "train_mos_list.txt", [
        "sysA-u1.wav,3.625", "sysA-u2.wav,3,extra", "notes.txt,4"])
    assert detect_format(path) == "bvcc"
    table = read_bvcc(path, audio_root=tmp_path)
    assert table["system_id"][0] == "sysA" and table["score"][0] == 3.625
    with pytest.raises(LabelError) as info:
        validate(table)
    assert [p.line for p in info.value.problems] == [2, 3]
    assert "expected 5 fields" in info.value.problems[0].message
    assert "not an audio file name" in info.value.problems[1].message


def test_nisqa_csv(tmp_path: Path) -> None:
    write_audio(tmp_path / "NISQA_TRAIN_SIM" / "deg" / "c00001_a.wav")
    write_audio(tmp_path / "NISQA_TRAIN_SIM" / "deg" / "c00002_b.wav", 48_000)
    path = write_text(tmp_path / "NISQA_corpus_file.csv", [
        "db,con,filepath_deg,mos,mos_std,votes",
        "NISQA_TRAIN_SIM,1,NISQA_TRAIN_SIM/deg/c00001_a.wav,3.2,0.8,5",
        "NISQA_TRAIN_SIM,2,NISQA_TRAIN_SIM\\deg\\c00002_b.wav,1.4,0.5,5"])
    assert detect_format(path) == "nisqa"
    table = read_nisqa_csv(path, tmp_path)
    validate(table)
    assert table["system_id"].tolist() == ["NISQA_TRAIN_SIM/1", "NISQA_TRAIN_SIM/2"]
    assert table["utterance_id"].tolist() == ["c00001_a", "c00002_b"]
    assert table["dataset"][0] == "NISQA_TRAIN_SIM"
    assert table["listener_id"].isna().all()


def test_nisqa_unknown_and_out_of_range(tmp_path: Path) -> None:
    write_audio(tmp_path / "x.wav")
    path = write_text(tmp_path / "n.csv", ["filepath_deg,mos,rating_app", "x.wav,5.5,web"])
    assert problems_of(path) == ["line 1: unknown column: rating_app",
                                 "line 2: score 5.5 is outside the scale 1-5"]


def test_unknown_format_and_empty_file(tmp_path: Path) -> None:
    path = write_text(tmp_path / "x.csv", ["name;value", "a;1"])
    with pytest.raises(LabelError, match="line 1: unknown label format"):
        detect_format(path)
    with pytest.raises(LabelError, match="the file is empty"):
        detect_format(write_text(tmp_path / "e.csv", [""]))
    with pytest.raises(ValueError, match="unknown label format 'mos'"):
        read_labels(path, "mos")


def test_normalised_parquet_reads_back(tmp_path: Path) -> None:
    from sqa.labels import to_output

    table = read_urgent_csv(urgent_csv(tmp_path))
    to_output(table).to_parquet(tmp_path / "t.parquet", index=False)
    again = read_labels(tmp_path / "t.parquet")
    validate(again)
    pd.testing.assert_frame_equal(again.drop(columns="line"), table.drop(columns="line"))
