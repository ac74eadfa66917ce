"""``sources.synthetic.rooms: pyroomacoustics``: simulated shoebox rooms in se.simulate and
se.data, kept in each record so rebuilds are exact; bad room settings are one clear error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio.degrade_config import ConfigError
from audio.rooms import Room, room_rir
from audio.tts import espeak_available
from se import simulate
from se.data import SimulationDataset
from se.simulation import MixtureRecord, SimulationConfig, build_pools, make_mixture, rebuild

needs_espeak = pytest.mark.skipif(not espeak_available(), reason="espeak-ng not installed")

ROOMS = {"seed": 5, "rates": [8000, 22050, 48000], "count_per_rate": 2, "max_seconds": 2.0,
         "sources": {"synthetic": {
             "utterances": 4, "languages": ["en-us", "de"], "rooms": "pyroomacoustics",
             "room": {"length_m": [4.0, 6.0], "rt60_seconds": [0.3, 0.6]}}},
         "degradation": {"reverb_probability": 1.0}}


def test_default_configs_keep_the_synthetic_rooms() -> None:
    for config in (SimulationConfig(), SimulationConfig.from_yaml(
            "conf/simulation/default.yaml")):
        assert config.sources.synthetic.rooms == "synthetic"
    config = SimulationConfig.from_dict(ROOMS)
    assert config.sources.synthetic.room.length_m == (4.0, 6.0)
    assert SimulationConfig.from_dict(config.to_dict()) == config


@needs_espeak
def test_room_mixtures_are_written_and_rebuilt_exactly(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    config_path = tmp_path / "rooms.yaml"
    config_path.write_text(json.dumps(ROOMS))  # JSON is YAML
    assert simulate.main(["--config", str(config_path), "--out", str(out), "--quiet"]) == 0
    lines = (out / "mixtures.jsonl").read_text().splitlines()
    assert len(lines) == 6
    for line in lines:
        record = MixtureRecord.from_dict(json.loads(line))
        room = Room.from_dict(record.rir.room)
        reverb = record.params["reverb"]
        assert reverb["rir"] == "pyroomacoustics" and reverb["rir_id"] == record.rir.id
        assert 4.0 <= room.size_m[0] <= 6.0 and 0.3 <= reverb["rt60_seconds"] <= 0.6
        assert reverb["rt60_seconds"] == room.rt60_seconds
        assert reverb["drr_db"] == room_rir(room, record.sample_rate)[1]["drr_db"]
        noisy, clean = rebuild(record)
        for kind, made in (("noisy", noisy), ("clean", clean)):
            written, rate = sf.read(out / kind / f"{record.id}.flac", dtype="float32")
            assert rate == record.sample_rate and len(written) == record.num_frames
            # 16-bit FLAC, which clips (a target can peak above 1 after clipping distortion)
            assert np.max(np.abs(np.clip(made, -1, 1) - written)) <= 1.0 / 32768 + 1e-7
    # in memory the rebuild is sample-exact, also after a trip through JSON
    config = SimulationConfig.from_dict(ROOMS)
    noisy, clean, record = make_mixture(config, build_pools(config), "m", 44100, 77)
    again = MixtureRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again == record
    noisy2, clean2 = rebuild(again)
    assert np.array_equal(noisy, noisy2) and np.array_equal(clean, clean2)


@needs_espeak
def test_dynamic_mixing_draws_rooms_deterministically() -> None:
    dataset = SimulationDataset(SimulationConfig.from_dict(ROOMS), length=4,
                                segment_seconds=1.0)
    noisy, clean, rate = dataset[1]
    again = SimulationDataset(SimulationConfig.from_dict(ROOMS), length=4,
                              segment_seconds=1.0)[1]
    assert np.array_equal(noisy, again[0]) and np.array_equal(clean, again[1])
    assert rate == again[2] and noisy.shape == (rate,)


@pytest.mark.parametrize(("synthetic", "key", "words"), [
    ({"rooms": "gpurir"}, "sources.synthetic.rooms", "allowed: synthetic, pyroomacoustics"),
    ({"room": {"rt60_seconds": [0.9, 0.3]}}, "sources.synthetic.room.rt60_seconds",
     "greater than max"),
    ({"room": {"height_m": [2.4, 400.0]}}, "sources.synthetic.room.height_m", "out of range"),
    ({"room": {"rt60": [0.2, 0.5]}}, "sources.synthetic.room.rt60", "unknown key"),
    ({"room": {"min_distance_m": 5.0}}, "sources.synthetic.room.min_distance_m",
     "does not fit the smallest room"),
    ({"room": [3, 4]}, "sources.synthetic.room", "expected a mapping"),
])
def test_bad_rooms_config_is_one_error_naming_the_key(synthetic: dict, key: str, words: str
                                                      ) -> None:
    with pytest.raises(ConfigError, match=words) as info:
        SimulationConfig.from_dict({"sources": {"synthetic": synthetic}})
    assert info.value.key == key


def test_cli_refuses_a_bad_rooms_config_with_one_line(tmp_path: Path, capsys) -> None:
    config_path = tmp_path / "bad.yaml"
    config_path.write_text("sources:\n  synthetic:\n    rooms: pyroomacoustics\n"
                           "    room:\n      rt60_seconds: [0.2, 9.0]\n")
    out = tmp_path / "out"
    assert simulate.main(["--config", str(config_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert not out.exists() and len(err.strip().splitlines()) == 1
    assert err.startswith("error: sources.synthetic.room.rt60_seconds: ")
