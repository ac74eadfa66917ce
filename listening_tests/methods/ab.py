"""A/B preference: which of two systems' outputs of one input sounds better."""

from __future__ import annotations

from listening_tests.methods.pair import ChoiceMethod


class Ab(ChoiceMethod):
    name = "ab"
    title = "A/B preference"


METHOD = Ab()
