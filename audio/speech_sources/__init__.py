"""Named sources of clean speech, one module each behind :class:`SpeechSource`.

``SOURCES`` is the registry: espeak-ng (rule-based), flite and festival (voices built from
human recordings, a child among them) and the ALSA prompts (real recordings). Every voice says
its language, age group and gender; transformations (:mod:`audio.voice_transforms`) make
other ages and styles from them.
"""

from __future__ import annotations

from audio.speech_sources.base import (
    SourceVoice,
    SpeechSource,
    SpeechSourceError,
    SpeechSourceUnavailable,
)
from audio.speech_sources.espeak import EspeakSource
from audio.speech_sources.festival import FestivalSource
from audio.speech_sources.flite import FliteSource
from audio.speech_sources.recordings import RecordingsSource

SOURCES: dict[str, SpeechSource] = {s.name: s for s in (
    EspeakSource(), FliteSource(), FestivalSource(), RecordingsSource())}


def get_source(name: str) -> SpeechSource:
    """The source called ``name``; ValueError names the known ones."""
    try:
        return SOURCES[name]
    except KeyError:
        raise ValueError(f"unknown speech source {name!r} (known: "
                         f"{', '.join(SOURCES)})") from None


def find_voice(source: str, name: str) -> SourceVoice:
    """A source's voice by name; ValueError if it has none of that name."""
    for voice in get_source(source).voices():
        if voice.name == name:
            return voice
    raise ValueError(f"speech source {source!r} has no voice {name!r}")


__all__ = ["SOURCES", "SourceVoice", "SpeechSource", "SpeechSourceError",
           "SpeechSourceUnavailable", "find_voice", "get_source"]
