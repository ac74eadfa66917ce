"""Sentences for sources other than espeak-ng (which uses :data:`audio.tts.SAMPLE_SENTENCES`)."""

from __future__ import annotations

from audio.tts import SAMPLE_SENTENCES

#: English sentences (Harvard sentences and the like), for English voices and accented
#: English read by voices of other languages.
ENGLISH_SENTENCES: tuple[str, ...] = (*SAMPLE_SENTENCES["en-us"], *SAMPLE_SENTENCES["en-gb"])

#: Czech sentences for festival's ``czech_krb`` (a child's voice).
CZECH_SENTENCES: tuple[str, ...] = ("Dnes je hezký den a svítí slunce.",
                                    "Pes běží po zelené louce.",
                                    "Máma vaří dobrou polévku.")
