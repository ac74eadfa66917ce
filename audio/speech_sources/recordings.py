"""Real human speech that a Debian package ships: the ALSA channel-test prompts
(``alsa-utils``, GPL-2: ``/usr/share/sounds/alsa/Front_Left.wav`` ...), one adult speaker
(median F0 about 200 Hz, so labelled female), 48 kHz, about 1.4 s each. Few and short, but
the only human recordings here."""

from __future__ import annotations

import os

import numpy as np
import soundfile as sf

from audio.speech_sources.base import (
    SourceVoice,
    SpeechSourceUnavailable,
    check_text,
    finish,
)

FOLDER = "/usr/share/sounds/alsa"
#: transcript -> file name (Noise.wav is noise, not speech).
PROMPTS = {"Front Center": "Front_Center.wav", "Front Left": "Front_Left.wav",
           "Front Right": "Front_Right.wav", "Rear Center": "Rear_Center.wav",
           "Rear Left": "Rear_Left.wav", "Rear Right": "Rear_Right.wav",
           "Side Left": "Side_Left.wav", "Side Right": "Side_Right.wav"}


class RecordingsSource:
    name = "alsa_recordings"
    description = ("ALSA channel-test prompts (Debian alsa-utils, GPL-2): real recordings "
                   "of one adult speaker")

    def available(self) -> bool:
        return all(os.path.exists(os.path.join(FOLDER, f)) for f in PROMPTS.values())

    def installed(self, voice: SourceVoice) -> bool:
        return self.available()

    def voices(self) -> tuple[SourceVoice, ...]:
        return (SourceVoice("alsa", "en-us", gender="female", kind="recording"),)

    def texts(self, voice: SourceVoice) -> tuple[str, ...]:
        return tuple(PROMPTS)

    def speak(self, text: str, voice: SourceVoice, sample_rate: int | None = None
              ) -> tuple[np.ndarray, int]:
        check_text(text)
        if text not in PROMPTS:
            raise ValueError(f"the ALSA recordings say only {', '.join(PROMPTS)}; "
                             f"not {text!r}")
        path = os.path.join(FOLDER, PROMPTS[text])
        if not os.path.exists(path):
            raise SpeechSourceUnavailable(f"{path} is missing (apt-get install alsa-utils)")
        x, rate = sf.read(path, dtype="float32", always_2d=True)
        return finish(x[:, 0], int(rate), sample_rate, path)
