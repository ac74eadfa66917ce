"""Festival 2.5 voices from Debian (``festival`` plus one package per voice).

- ``cmu_us_slt_arctic_hts`` (festvox-us-slt-hts; EST/BSD-style licences): HTS voice trained
  on the CMU ARCTIC recordings of a US female speaker, 32 kHz output; the most natural here.
- ``kal_diphone`` (festvox-kallpc16k; free CMU/OGI licence): diphones of a US male, 16 kHz.
- ``czech_krb`` (festvox-czech-krb; GPL): diphones recorded from a Czech boy: the only child
  speaker in Debian; speaks Czech.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import numpy as np

from audio.speech_sources.base import SourceVoice, check_text, finish, run_to_wav
from audio.speech_sources.sentences import CZECH_SENTENCES, ENGLISH_SENTENCES

TEXT2WAVE = "text2wave"
VOICE_ROOT = "/usr/share/festival/voices"
#: voice name -> folder under VOICE_ROOT (installed when the folder exists).
VOICE_FOLDERS = {"cmu_us_slt_arctic_hts": "us/cmu_us_slt_arctic_hts",
                 "kal_diphone": "english/kal_diphone",
                 "czech_krb": "czech/czech_krb"}


class FestivalSource:
    name = "festival"
    description = ("Festival 2.5 (Debian festival + festvox-us-slt-hts, festvox-kallpc16k, "
                   "festvox-czech-krb): voices made from human recordings, free licences")

    def available(self) -> bool:
        return shutil.which(TEXT2WAVE) is not None and any(
            self.installed(v) for v in self.voices())

    def installed(self, voice: SourceVoice) -> bool:
        return shutil.which(TEXT2WAVE) is not None and os.path.isdir(
            os.path.join(VOICE_ROOT, VOICE_FOLDERS[voice.name]))

    def voices(self) -> tuple[SourceVoice, ...]:
        return (SourceVoice("cmu_us_slt_arctic_hts", "en-us", gender="female", kind="hts"),
                SourceVoice("kal_diphone", "en-us", gender="male", kind="diphone"),
                SourceVoice("czech_krb", "cs", age_group="child", gender="male",
                            kind="diphone"))

    def texts(self, voice: SourceVoice) -> tuple[str, ...]:
        return CZECH_SENTENCES if voice.language == "cs" else ENGLISH_SENTENCES

    def speak(self, text: str, voice: SourceVoice, sample_rate: int | None = None
              ) -> tuple[np.ndarray, int]:
        check_text(text)
        if voice.name not in VOICE_FOLDERS:
            raise ValueError(f"unknown festival voice {voice.name!r}")
        encoding = "iso-8859-2" if voice.language == "cs" else "latin-1"
        with tempfile.TemporaryDirectory() as tmp:
            text_file, wav = os.path.join(tmp, "in.txt"), os.path.join(tmp, "out.wav")
            with open(text_file, "w", encoding=encoding, errors="replace") as f:
                f.write(text)
            x, rate = run_to_wav([TEXT2WAVE, "-eval", f"(voice_{voice.name})", text_file,
                                  "-o", wav], None, f"festival voice {voice.name!r}", wav)
        return finish(x, rate, sample_rate, f"festival voice {voice.name!r}")
