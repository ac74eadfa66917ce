"""Accented English: espeak-ng voices of other languages reading English text with their own
phonemes and letter-to-sound rules (a German voice says "birch" as [bIrC]). A rule-based
stand-in for non-native speakers, not a recording of one.

Russian is left out: espeak-ng reads whole English sentences with its English rules there.
"""

from __future__ import annotations

#: espeak-ng languages whose voices read English text with their own rules -> accent label.
ACCENT_LANGUAGES: dict[str, str] = {"de": "german", "fr": "french", "es": "spanish",
                                    "it": "italian", "pt-br": "brazilian_portuguese",
                                    "nl": "dutch"}
