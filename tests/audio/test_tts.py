"""espeak-ng speech: usable audio in every listed language, deterministic, safe with any text."""

from __future__ import annotations

import numpy as np
import pytest

from audio import tts
from audio.tts import SAMPLE_SENTENCES, TtsError, TtsUnavailable, Voice, speak

needs_espeak = pytest.mark.skipif(not tts.espeak_available(), reason="espeak-ng not installed")


@needs_espeak
def test_speak_gives_trimmed_mono_float32_at_espeak_rate() -> None:
    samples, rate = speak("The birch canoe slid on the smooth planks.", Voice("en-us", "f3"))
    assert rate == tts.ESPEAK_SAMPLE_RATE and samples.dtype == np.float32 and samples.ndim == 1
    assert 1.0 < len(samples) / rate < 4.0
    assert 0.1 < np.max(np.abs(samples)) <= 1.0
    loud = np.flatnonzero(np.abs(samples) > 0.01 * np.max(np.abs(samples)))
    assert loud[0] / rate < 0.06 and (len(samples) - loud[-1]) / rate < 0.06  # ~50 ms kept


@needs_espeak
@pytest.mark.parametrize("sample_rate", [8_000, 48_000])
def test_speak_resamples_to_the_requested_rate(sample_rate: int) -> None:
    native, rate = speak("Hello there.", Voice())
    samples, got = speak("Hello there.", Voice(), sample_rate)
    assert got == sample_rate
    assert len(samples) == round(len(native) * sample_rate / rate)


@needs_espeak
def test_speech_is_deterministic_and_voices_differ() -> None:
    text = "Der Zug fährt um acht Uhr ab."
    a, _ = speak(text, Voice("de", "m3", 40, 150))
    b, _ = speak(text, Voice("de", "m3", 40, 150))
    np.testing.assert_array_equal(a, b)
    c, _ = speak(text, Voice("de", "f3", 70, 150))
    fast, _ = speak(text, Voice("de", "m3", 40, 250))
    assert not np.array_equal(a[: len(c)], c[: len(a)])
    assert len(fast) < 0.8 * len(a)


@needs_espeak
@pytest.mark.parametrize("language", sorted(SAMPLE_SENTENCES))
def test_every_sample_language_speaks(language: str) -> None:
    for sentence in SAMPLE_SENTENCES[language]:
        samples, rate = speak(sentence, Voice(language))
        assert 0.8 < len(samples) / rate < 3.5, sentence


def test_there_are_sentences_in_at_least_six_languages() -> None:
    assert len(SAMPLE_SENTENCES) >= 6
    assert all(len(s) >= 2 and all(t.strip() for t in s) for s in SAMPLE_SENTENCES.values())


@needs_espeak
def test_text_is_spoken_not_interpreted() -> None:
    # Leading dashes, quotes and shell characters must reach espeak as text, not options.
    samples, _ = speak('-v xx --help "; rm -rf / $(echo hi)', Voice())
    assert np.any(samples)


@needs_espeak
def test_unknown_voice_is_an_error_not_a_missing_program() -> None:
    with pytest.raises(TtsError, match="xx-nowhere") as caught:
        speak("hello", Voice("xx-nowhere"))
    assert not isinstance(caught.value, TtsUnavailable)


def test_missing_espeak_raises_tts_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    assert not tts.espeak_available() and tts.espeak_version() is None
    with pytest.raises(TtsUnavailable, match="not installed"):
        speak("hello", Voice())


def test_empty_text_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        speak("  \n", Voice())


def test_voice_argument_and_validation() -> None:
    assert Voice("en-us", "f3").espeak_name() == "en-us+f3"
    assert Voice("de").espeak_name() == "de"
    for bad in ({"pitch": 100}, {"speed_wpm": 20}, {"variant": "f3;ls"}, {"language": ""}):
        with pytest.raises(ValueError):
            Voice(**bad)


@needs_espeak
def test_version_is_reported() -> None:
    version = tts.espeak_version()
    assert version is not None and version[0].isdigit()
