"""se.simulate, se.simulation and se.data: strict config, bad input, a small synthetic run,
exact rebuilds and the dynamic-mixing dataset."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from torch.utils.data import DataLoader

from audio.degrade_config import ConfigError
from audio.tts import espeak_available
from se import simulate
from se.data import RateBatchSampler, SimulationDataset, collate
from se.simulation import (
    MixtureRecord,
    SimulationConfig,
    build_pools,
    make_mixture,
    read_jsonl,
    rebuild,
)

needs_espeak = pytest.mark.skipif(not espeak_available(), reason="espeak-ng not installed")

SMALL = {"seed": 3, "rates": [8000, 16000, 48000], "count_per_rate": 2, "max_seconds": 3.0,
         "sources": {"synthetic": {"utterances": 6, "languages": ["en-us", "de", "fr"]}}}


def _yaml(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data))  # JSON is YAML
    return path


@pytest.mark.parametrize(("data", "key"), [
    ({"sources": {"synthetic": {"pitchh": [1, 2]}}}, "sources.synthetic.pitchh"),
    ({"sources": {"speach": "x.scp"}}, "sources.speach"),
    ({"degradation": {"snr_db": [10, 0]}}, "degradation.snr_db"),
    ({"degradation": {"reverb_probability": 1.5}}, "degradation.reverb_probability"),
    ({"rates": [12345]}, "rates"),
    ({"sources": {"synthetic": {"pitch": [60, 40]}}}, "sources.synthetic.pitch"),
    ({"count_per_rate": -1}, "count_per_rate"),
    ({"extra": 1}, "extra"),
])
def test_config_rejects_bad_keys_and_values_with_their_path(data: dict, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        SimulationConfig.from_dict(data)
    assert info.value.key == key


def test_default_yaml_is_the_default_config() -> None:
    config = SimulationConfig.from_yaml("conf/simulation/default.yaml")
    assert config == SimulationConfig()
    assert SimulationConfig.from_dict(config.to_dict()) == config


def _bad_run(tmp_path: Path, data: dict, capsys) -> str:
    out = tmp_path / "out"
    code = simulate.main(["--config", str(_yaml(tmp_path / "c.yaml", data)), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    return err


def test_cli_rejects_a_wav_scp_with_a_missing_file(tmp_path: Path, capsys) -> None:
    scp = tmp_path / "noise.scp"
    scp.write_text(f"n1 {tmp_path / 'missing.wav'}\n")
    err = _bad_run(tmp_path, {**SMALL, "sources": {"noise": str(scp)}}, capsys)
    assert "missing.wav does not exist" in err


def test_cli_rejects_unknown_key_and_missing_config(tmp_path: Path, capsys) -> None:
    assert "degradation.snr" in _bad_run(tmp_path, {"degradation": {"snr": [0, 1]}}, capsys)
    out = tmp_path / "o"
    code = simulate.main(["--config", str(tmp_path / "nope.yaml"), "--out", str(out)])
    assert code == 2 and not out.exists() and "cannot read" in capsys.readouterr().err


def test_module_entry_point_exits_non_zero_with_one_line(tmp_path: Path) -> None:
    config = _yaml(tmp_path / "c.yaml", {"degradation": {"peak": 3}})
    done = subprocess.run([sys.executable, "-m", "se.simulate", "--config", str(config),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 2 and not (tmp_path / "out").exists()
    assert done.stderr.strip() == "error: degradation.peak: 3 is out of range [0.01, 1]"


@needs_espeak
def test_small_synthetic_run_writes_consistent_files(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    config_path = _yaml(tmp_path / "c.yaml", SMALL)
    assert simulate.main(["--config", str(config_path), "--out", str(out), "--limit", "5",
                          "--quiet"]) == 0
    records = list(read_jsonl(out / "mixtures.jsonl"))
    assert len(records) == 5 and {r.sample_rate for r in records} == {8000, 16000, 48000}
    scp = {k: dict(line.split(maxsplit=1) for line in (out / k).read_text().splitlines())
           for k in ("noisy.scp", "clean.scp", "utt2fs")}
    assert set(scp["noisy.scp"]) == set(scp["clean.scp"]) == {r.id for r in records}
    config = SimulationConfig.from_yaml(out / "simulation.yaml")
    assert config == SimulationConfig.from_dict(SMALL)
    lo, hi = config.degradation.snr_db
    for record in records:
        infos = [sf.info(scp[k][record.id]) for k in ("noisy.scp", "clean.scp")]
        assert all(i.samplerate == record.sample_rate and i.subtype == "PCM_16"
                   and i.format == "FLAC" and i.frames == record.num_frames for i in infos)
        assert int(scp["utt2fs"][record.id]) == record.sample_rate
        assert record.num_frames <= 3.0 * record.sample_rate
        p = record.params
        assert "noise" in p["distortions"] and p["distortions"][0] in ("reverb", "noise")
        wind = p["noise"].get("kind") == "wind"
        bounds = config.degradation.wind_snr_db if wind else (lo, hi)
        assert bounds[0] <= p["noise"]["snr_db"] <= bounds[1]
        if "reverb" in p:
            assert 0.2 <= p["reverb"]["rt60_seconds"] <= 1.0
        if "codec" in p:
            q = config.degradation.mp3_quality if p["codec"]["codec"] == "mp3" else \
                config.degradation.ogg_quality
            assert q[0] <= p["codec"]["quality"] <= q[1]
        if "packet_loss" in p:
            assert 0.05 <= p["packet_loss"]["loss_rate"] <= 0.25
        if "clipping" in p:
            assert 0.0 <= p["clipping"]["low_quantile"] <= 0.1
    # rebuilding from the JSONL gives the written audio (up to 16-bit rounding)
    record = records[-1]
    noisy, clean = rebuild(record)
    written, _ = sf.read(scp["noisy.scp"][record.id], dtype="float32")
    assert np.max(np.abs(noisy - written)) <= 1.0 / 32768 + 1e-7
    assert np.max(np.abs(clean - sf.read(scp["clean.scp"][record.id], dtype="float32")[0])) \
        <= 1.0 / 32768 + 1e-7


@needs_espeak
def test_rebuild_reproduces_a_mixture_exactly() -> None:
    config = SimulationConfig.from_dict(SMALL)
    pools = build_pools(config)
    for i, rate in enumerate((8000, 48000)):
        noisy, clean, record = make_mixture(config, pools, f"m{i}", rate, 1234 + i)
        again = MixtureRecord.from_dict(json.loads(json.dumps(record.to_dict())))
        assert again == record
        noisy2, clean2 = rebuild(again)
        assert np.array_equal(noisy, noisy2) and np.array_equal(clean, clean2)


def test_file_sources_from_wav_scp(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    lines = {"speech": [], "noise": [], "rir": []}
    for i in range(2):
        t = np.arange(24_000) / 24_000
        speech = 0.3 * np.sin(2 * np.pi * (150 + 50 * i) * t) * (1 + np.sin(2 * np.pi * 3 * t))
        sf.write(tmp_path / f"s{i}.wav", speech, 24_000)
        sf.write(tmp_path / f"n{i}.flac", 0.1 * rng.standard_normal(8_000), 16_000)
        rir = np.zeros(4_000)
        rir[10], rir[11:] = 1.0, 0.05 * rng.standard_normal(3_989) * np.exp(-np.arange(3_989)
                                                                             / 800)
        sf.write(tmp_path / f"r{i}.wav", rir, 16_000)
        lines["speech"].append(f"s{i} s{i}.wav")
        lines["noise"].append(f"n{i} n{i}.flac")
        lines["rir"].append(f"r{i} r{i}.wav")
    for kind, rows in lines.items():
        (tmp_path / f"{kind}.scp").write_text("\n".join(rows) + "\n")
    config = SimulationConfig.from_yaml(_yaml(tmp_path / "c.yaml", {
        "rates": [16000, 44100], "count_per_rate": 2,
        "degradation": {"reverb_probability": 1.0, "wind_probability": 0.0},
        "sources": {"speech": "speech.scp", "noise": "noise.scp", "rir": "rir.scp"}}))
    records = simulate.run(config, tmp_path / "out", progress=False)
    assert len(records) == 4
    for record in records:
        assert record.speech.path and record.noise.path and record.rir
        assert record.params["noise"]["source"] == {"kind": "file"}
        assert record.params["reverb"]["rir_id"] == record.rir.id
        assert sf.info(tmp_path / "out" / "noisy" / f"{record.id}.flac").frames == \
            record.num_frames == record.sample_rate
        noisy, _ = rebuild(record)
        assert len(noisy) == record.num_frames


@needs_espeak
def test_dataset_is_deterministic_per_epoch_and_index_and_batches_share_a_rate() -> None:
    config = SimulationConfig.from_dict(SMALL)
    dataset = SimulationDataset(config, length=12, segment_seconds=1.0)
    noisy, clean, rate = dataset[3]
    again = SimulationDataset(config, length=12, segment_seconds=1.0)[3]
    assert torch.equal(noisy, again[0]) and torch.equal(clean, again[1]) and rate == again[2]
    assert noisy.shape == (rate,) and rate in config.rates
    dataset.set_epoch(1)
    other = dataset[3]
    assert other[2] != rate or not torch.equal(other[0], noisy)
    sampler = RateBatchSampler(dataset, batch_size=3, seed=0)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(12))
    assert all(len({dataset.sample_rate(i) for i in b}) == 1 for b in batches)
    assert len({dataset.sample_rate(i) for i in range(12)}) > 1
    loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=collate)
    seen = 0
    for noisy_b, clean_b, rate_b, lengths in loader:
        assert noisy_b.shape == clean_b.shape == (len(lengths), rate_b)
        assert torch.all(lengths == rate_b)
        seen += 1
        if seen == 2:
            break
    with pytest.raises(ValueError, match="one sampling rate"):
        collate([(torch.zeros(3), torch.zeros(3), 8000), (torch.zeros(3), torch.zeros(3), 16000)])


@needs_espeak
def test_heavily_clipped_pairs_are_written_without_clipping_the_target(tmp_path: Path) -> None:
    # the pair is scaled so the clipped (degraded) peak is 0.9: the clean target peaks higher
    clipped = {**SMALL, "rates": [16000], "count_per_rate": 2, "degradation": {
        "reverb_probability": 0.0, "extra_distortions": ["clipping"],
        "extra_count_probabilities": [0.0, 1.0], "clip_low_quantile": [0.3, 0.35],
        "clip_high_quantile": [0.65, 0.7]}}
    out = tmp_path / "sim"
    assert simulate.main(["--config", str(_yaml(tmp_path / "c.yaml", clipped)), "--out",
                          str(out), "--quiet"]) == 0
    records = list(read_jsonl(out / "mixtures.jsonl"))
    assert all(r.params["file_gain"] < 1.0 for r in records)
    for record in records:
        noisy, clean = rebuild(record)  # with the recorded gain
        written_clean, _ = sf.read(out / "clean" / f"{record.id}.flac", dtype="float32")
        written_noisy, _ = sf.read(out / "noisy" / f"{record.id}.flac", dtype="float32")
        assert np.max(np.abs(written_clean)) < 1.0  # not pinned at full scale
        assert np.max(np.abs(clean - written_clean)) <= 1.0 / 32768 + 1e-7
        assert np.max(np.abs(noisy - written_noisy)) <= 1.0 / 32768 + 1e-7
