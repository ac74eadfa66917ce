"""espeak-ng (Debian ``espeak-ng``, GPL-3+): rule-based formant synthesis, 100+ languages,
deterministic; :mod:`audio.tts` does the synthesis. Robotic, stops near 11 kHz."""

from __future__ import annotations

import numpy as np

from audio.speech_sources.base import SourceVoice, SpeechSourceError, SpeechSourceUnavailable
from audio.tts import SAMPLE_SENTENCES, TtsError, TtsUnavailable, Voice, espeak_available, speak


class EspeakSource:
    """espeak-ng's default voice of each language in :data:`audio.tts.SAMPLE_SENTENCES`."""

    name = "espeak"
    description = ("espeak-ng (Debian espeak-ng, GPL-3+): rule-based formant synthesis, "
                   "no human recordings")

    def available(self) -> bool:
        return espeak_available()

    def installed(self, voice: SourceVoice) -> bool:
        return self.available()

    def voices(self) -> tuple[SourceVoice, ...]:
        return tuple(SourceVoice(name=lang, language=lang) for lang in SAMPLE_SENTENCES)

    def texts(self, voice: SourceVoice) -> tuple[str, ...]:
        return tuple(SAMPLE_SENTENCES.get(voice.language, ()))

    def speak(self, text: str, voice: SourceVoice, sample_rate: int | None = None
              ) -> tuple[np.ndarray, int]:
        try:
            return speak(text, Voice(language=voice.name), sample_rate)
        except TtsUnavailable as exc:
            raise SpeechSourceUnavailable(str(exc)) from exc
        except TtsError as exc:
            raise SpeechSourceError(str(exc)) from exc
