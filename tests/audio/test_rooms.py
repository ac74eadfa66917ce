"""Simulated shoebox rooms: the RT60 a user measures is the one drawn, rooms are seeded and
stay inside their ranges, every URGENT rate works, and the reverb step keeps 50 ms."""

from __future__ import annotations

import json
import math

import numpy as np
import pyroomacoustics as pra
import pytest

from audio import degrade, rooms
from audio.degrade_config import ConfigError
from audio.resample import URGENT_SAMPLE_RATES
from tests.signals import speech_like

RNG = np.random.default_rng


def test_measured_rt60_lands_near_the_drawn_value() -> None:
    sr = 16_000
    drawn, measured = [], []
    for seed in range(8):
        room = rooms.draw_room(RNG(seed))
        rir, params = rooms.room_rir(room, sr)
        # Schroeder backward integration, T30 extrapolated to 60 dB (pyroomacoustics' own)
        drawn.append(params["rt60_seconds"])
        measured.append(pra.experimental.measure_rt60(rir, sr, decay_db=30))
    np.testing.assert_allclose(measured, drawn, rtol=0.1)
    assert max(drawn) - min(drawn) > 0.3  # the check spans short and long rooms


def test_wall_absorption_is_eyrings_for_the_drawn_rt60() -> None:
    size, rt60 = (6.0, 4.0, 3.0), 0.5
    a = rooms.eyring_absorption(size, rt60)
    volume, surface = 72.0, 2 * (24.0 + 18.0 + 12.0)
    assert pra.rt60_eyring(surface, volume, a, 0.0, rooms.SPEED_OF_SOUND) == \
        pytest.approx(rt60)


def test_same_seed_gives_the_same_room_and_rir() -> None:
    room = rooms.draw_room(RNG(3))
    assert rooms.draw_room(RNG(3)) == room and rooms.draw_room(RNG(4)) != room
    again = rooms.Room.from_dict(json.loads(json.dumps(room.to_dict())))
    a, params_a = rooms.room_rir(room, 24_000)
    b, params_b = rooms.room_rir(again, 24_000)
    np.testing.assert_array_equal(a, b)
    assert params_a == params_b == json.loads(json.dumps(params_a))
    other, _ = rooms.shoebox_rir(24_000, RNG(4))
    assert len(other) != len(a) or not np.array_equal(other, a)


@pytest.mark.parametrize("sample_rate", URGENT_SAMPLE_RATES)
def test_every_urgent_rate_gives_a_room_rir(sample_rate: int) -> None:
    room = rooms.Room(size_m=(5.0, 4.0, 3.0), rt60_seconds=0.5, microphone_m=(1.5, 2.0, 1.2),
                      source_m=(3.5, 2.5, 1.6), seed=1)
    rir, params = rooms.room_rir(room, sample_rate)
    # pyroomacoustics delays everything by half its fractional-delay filter
    delay = pra.constants.get("frac_delay_length") // 2 / sample_rate
    direct = room.distance_m / rooms.SPEED_OF_SOUND
    assert rir.dtype == np.float32 and np.all(np.isfinite(rir))
    assert np.max(np.abs(rir)) == pytest.approx(1.0)
    assert len(rir) / sample_rate == pytest.approx(delay + direct + 0.5, abs=0.01)
    # the first arrival is the direct path, 2.10 m away (6.1 ms)
    first = np.argmax(np.abs(rir) > 0.1 * np.max(np.abs(rir))) / sample_rate
    assert first == pytest.approx(delay + direct, abs=0.001)
    assert pra.experimental.measure_rt60(rir, sample_rate, decay_db=30) == \
        pytest.approx(0.5, rel=0.1)
    assert params["distance_m"] == pytest.approx(math.dist(room.source_m, room.microphone_m))
    # diffuse-field theory: DRR = 20 log10(critical distance / distance), about -10.6 dB here
    critical_m = 0.057 * math.sqrt(5.0 * 4.0 * 3.0 / 0.5)
    assert params["drr_db"] == pytest.approx(20 * math.log10(critical_m / room.distance_m),
                                             abs=3.0)
    assert params["max_order"] <= rooms.MAX_ORDER


def test_drawn_rooms_stay_inside_their_ranges() -> None:
    config = rooms.RoomConfig(length_m=(3.0, 4.0), width_m=(3.0, 3.5), height_m=(2.4, 2.6),
                              rt60_seconds=(0.3, 0.4), wall_margin_m=0.5, min_distance_m=1.5)
    for seed in range(200):
        room = rooms.draw_room(RNG(seed), config)
        size = np.array(room.size_m)
        assert 3.0 <= size[0] <= 4.0 and 3.0 <= size[1] <= 3.5 and 2.4 <= size[2] <= 2.6
        assert 0.3 <= room.rt60_seconds <= 0.4 and room.distance_m >= 1.5
        for position in (room.microphone_m, room.source_m):
            assert np.all(np.array(position) >= 0.5 - 1e-9)
            assert np.all(np.array(position) <= size - 0.5 + 1e-9)


@pytest.mark.parametrize(("data", "key", "words"), [
    ({"rt60_seconds": [1.0, 0.5]}, "rooms.rt60_seconds", "greater than max"),
    ({"length_m": [3.0, 500.0]}, "rooms.length_m", "out of range"),
    ({"size_m": [3.0, 5.0]}, "rooms.size_m", "unknown key"),
    ({"min_distance_m": 3.0}, "rooms.min_distance_m", "does not fit the smallest room"),
    ({"wall_margin_m": 1.5}, "rooms.min_distance_m", "does not fit the smallest room"),
])
def test_bad_room_config_is_one_error_naming_the_key(data: dict, key: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words) as info:
        rooms.RoomConfig.from_dict(data, "rooms")
    assert info.value.key == key and "\n" not in str(info.value)


def test_simulate_reverberates_with_a_room_and_keeps_50_ms_in_the_target() -> None:
    sr = 16_000
    x = speech_like(1.0, sr, seed=4)
    room = rooms.draw_room(RNG(9), rooms.RoomConfig(rt60_seconds=(0.8, 0.9)))
    computed: list[int] = []

    def simulated() -> tuple[np.ndarray, dict]:
        computed.append(sr)
        return rooms.room_rir(room, sr)

    wet, target, params = degrade.simulate(x, sr, RNG(0), rir=simulated,
                                           distortions=["reverb"])
    rir, room_params = rooms.room_rir(room, sr)
    assert params["reverb"] == room_params and params["reverb"]["rir"] == "pyroomacoustics"
    dry = degrade.highpass(x, sr)
    expected_wet, expected_target = degrade.reverberate(dry, rir, sr)
    np.testing.assert_allclose(wet, expected_wet * params["scale"], atol=1e-5)
    np.testing.assert_allclose(target, expected_target * params["scale"], atol=1e-5)
    onset = int(np.argmax(np.abs(rir)))
    early = np.convolve(dry, rir[: onset + round(0.05 * sr)])[onset: onset + len(x)]
    np.testing.assert_allclose(target, early * params["scale"], atol=1e-5)
    # a room is simulated only when reverb is applied
    degrade.simulate(x, sr, RNG(0), rir=simulated, distortions=["noise"])
    assert computed == [sr]
