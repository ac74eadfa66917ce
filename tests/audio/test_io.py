"""Audio files in and out: every URGENT rate through every format the project reads."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest
import soundfile as sf

from audio.io import AudioError, encode_audio, load_audio, save_audio
from audio.resample import URGENT_SAMPLE_RATES, nearest_rate, resample
from tests.signals import speech_like

LOSSLESS = [".wav", ".flac"]
LOSSY = [".mp3", ".ogg", ".opus"]


def _snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    n = min(len(reference), len(estimate))
    noise = reference[:n] - estimate[:n]
    return 10 * np.log10(np.sum(reference[:n] ** 2) / max(np.sum(noise ** 2), 1e-20))


@pytest.mark.parametrize("rate", URGENT_SAMPLE_RATES)
@pytest.mark.parametrize("suffix", LOSSLESS)
def test_lossless_round_trip_keeps_rate_length_and_samples(tmp_path, rate, suffix):
    x = speech_like(0.5, rate)
    path = save_audio(tmp_path / f"clip{suffix}", x, rate)
    audio = load_audio(path)
    assert audio.sample_rate == rate
    assert audio.num_frames == len(x)
    assert np.max(np.abs(audio.samples - x)) <= 1 / 32768 + 1e-7  # 16-bit quantisation


@pytest.mark.parametrize("rate", URGENT_SAMPLE_RATES)
@pytest.mark.parametrize("suffix", LOSSY)
def test_lossy_round_trip_keeps_rate_and_sound(tmp_path, rate, suffix):
    x = speech_like(1.0, rate)
    if suffix == ".opus" and rate not in (8000, 16000, 24000, 48000):
        with pytest.raises(AudioError, match="Opus supports"):
            save_audio(tmp_path / f"clip{suffix}", x, rate)
        return
    path = save_audio(tmp_path / f"clip{suffix}", x, rate)
    audio = load_audio(path)
    assert audio.sample_rate == rate
    # Codecs pad a little at the ends; the length stays within 100 ms.
    assert abs(audio.num_frames - len(x)) < 0.1 * rate
    # The decoded sound is the same sound: same level, and highly correlated once aligned.
    assert np.std(audio.samples) == pytest.approx(np.std(x), rel=0.3)
    corr = np.correlate(audio.samples, x, mode="full")
    lag = int(np.argmax(corr)) - (len(x) - 1)
    aligned = audio.samples[max(lag, 0):][: len(x) - max(-lag, 0)]
    assert np.corrcoef(aligned, x[max(-lag, 0):][: len(aligned)])[0, 1] > 0.9


def test_bytes_and_file_objects_decode_like_paths(tmp_path):
    x = speech_like(0.3, 16000)
    data = encode_audio(x, 16000, ".flac")
    from_bytes = load_audio(data)
    from_handle = load_audio(io.BytesIO(data))
    assert np.array_equal(from_bytes.samples, from_handle.samples)
    assert from_bytes.source_format == "FLAC"


def test_stereo_is_downmixed_and_the_user_is_told(tmp_path):
    left, right = speech_like(0.3, 16000, seed=1), speech_like(0.3, 16000, seed=2)
    sf.write(tmp_path / "stereo.wav", np.stack([left, right], axis=1), 16000)
    audio = load_audio(tmp_path / "stereo.wav")
    assert audio.samples.ndim == 1 and audio.source_channels == 2
    assert np.allclose(audio.samples, (left + right) / 2, atol=1e-4)
    assert any("down-mixed from 2 channels" in note for note in audio.notes)
    kept = load_audio(tmp_path / "stereo.wav", mono=False)
    assert kept.samples.shape == (2, len(left))


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"RIFF\x00\x00\x00\x00WAVEgarbage", "not a readable audio file"),
    (b"this is a text file, not audio" * 10, "not a readable audio file"),
])
def test_unreadable_files_are_refused_with_a_reason(tmp_path, content, message):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError, match=message) as info:
        load_audio(path)
    assert str(tmp_path) not in str(info.value)  # no temporary paths in user messages


def test_silence_and_nonfinite_samples_are_refused(tmp_path):
    save_audio(tmp_path / "silent.wav", np.zeros(16000, np.float32), 16000)
    with pytest.raises(AudioError, match="silent"):
        load_audio(tmp_path / "silent.wav")
    x = speech_like(0.2, 16000)
    x[100] = np.nan
    sf.write(tmp_path / "nan.wav", x, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN or infinite"):
        load_audio(tmp_path / "nan.wav")


@pytest.mark.parametrize("rate", [4000, 384000])
def test_rates_outside_8_to_192_khz_are_refused(tmp_path, rate):
    path = tmp_path / "odd.wav"
    with wave.open(str(path), "wb") as w:  # the wave module writes any rate
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((speech_like(0.1, 16000) * 32767).astype("<i2").tobytes())
    with pytest.raises(AudioError, match=f"{rate} Hz is outside the supported range"):
        load_audio(path)


def test_overlong_file_is_refused_from_its_header(tmp_path):
    path = tmp_path / "long.flac"
    save_audio(path, speech_like(3.0, 8000), 8000)
    with pytest.raises(AudioError, match="longer than the limit of 2 s"):
        load_audio(path, max_seconds=2)
    assert load_audio(path, max_seconds=None).duration_seconds == pytest.approx(3.0)


def test_unknown_output_format_is_refused(tmp_path):
    with pytest.raises(AudioError, match=r"cannot write '\.aac'"):
        save_audio(tmp_path / "x.aac", speech_like(0.1), 16000)


@pytest.mark.parametrize("source, target", [(48000, 16000), (8000, 44100), (22050, 24000)])
def test_resampling_keeps_duration_and_content(source, target):
    x = speech_like(1.0, source)
    y = resample(x, source, target)
    assert len(y) == round(len(x) * target / source)
    back = resample(y, target, source)
    if target > source:  # up and down again loses nothing inside the band
        assert _snr_db(x, back) > 30


def test_nearest_rate():
    assert nearest_rate(96000) == 48000
    assert nearest_rate(11025) == 8000
    assert nearest_rate(12000) == 16000  # tie between 8 and 16 kHz goes up


def test_a_flac_whose_header_promises_too_many_samples_is_refused_before_decoding(tmp_path):
    """A FLAC header says 10 minutes of 2 x 192 kHz (230 million samples: a 447 KB file of
    DC decodes to 0.9 GB of float32): refused from the header, with the numbers."""
    buffer = io.BytesIO()
    sf.write(buffer, np.full((192_000, 2), 0.5, np.float32), 192_000, format="FLAC")
    data = bytearray(buffer.getvalue())
    assert data[:4] == b"fLaC"
    field = int.from_bytes(data[18:26], "big")  # rate 20 bits, channels 3, bits 5, frames 36
    field = (field & ~((1 << 36) - 1)) | (600 * 192_000)
    data[18:26] = field.to_bytes(8, "big")
    path = tmp_path / "dc.flac"
    path.write_bytes(bytes(data))
    with pytest.raises(AudioError, match=r"dc.flac: 600.0 s x 2 channels at 192000 Hz would "
                                         r"decode to 230.4 million samples, more than the "
                                         r"limit of 67.1 million"):
        load_audio(path)
