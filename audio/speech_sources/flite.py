"""flite (Debian ``flite``, CMU's BSD-style licence): Festival-lite with its built-in voices.

``slt`` is a statistical parametric voice trained on the CMU ARCTIC recordings of one US
female speaker; ``rms`` and ``awb`` (US and Scottish male) likewise; ``kal16`` is a diphone
voice. 16 kHz output, deterministic.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import numpy as np

from audio.speech_sources.base import SourceVoice, check_text, finish, run_to_wav
from audio.speech_sources.sentences import ENGLISH_SENTENCES

FLITE = "flite"


class FliteSource:
    name = "flite"
    description = ("flite 2.2 (Debian flite, BSD-style CMU licence): voices built from CMU "
                   "ARCTIC recordings of single human speakers")

    def available(self) -> bool:
        return shutil.which(FLITE) is not None

    def installed(self, voice: SourceVoice) -> bool:
        return self.available()

    def voices(self) -> tuple[SourceVoice, ...]:
        return (SourceVoice("slt", "en-us", gender="female", kind="hts"),
                SourceVoice("rms", "en-us", gender="male", kind="hts"),
                SourceVoice("awb", "en-gb", gender="male", kind="hts"))

    def texts(self, voice: SourceVoice) -> tuple[str, ...]:
        return ENGLISH_SENTENCES

    def speak(self, text: str, voice: SourceVoice, sample_rate: int | None = None
              ) -> tuple[np.ndarray, int]:
        check_text(text)
        with tempfile.TemporaryDirectory() as tmp:
            wav = os.path.join(tmp, "out.wav")
            text_file = os.path.join(tmp, "in.txt")
            with open(text_file, "w", encoding="utf-8") as f:
                f.write(text)
            x, rate = run_to_wav([FLITE, "-voice", voice.name, "-f", text_file, "-o", wav],
                                 None, f"flite voice {voice.name!r}", wav)
        return finish(x, rate, sample_rate, f"flite voice {voice.name!r}")
