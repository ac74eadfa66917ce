"""Listening-test methods, one module each behind one interface (:class:`Method`).

Adding a method is one new module here (subclassing :class:`ClipMethod` or
:class:`PairMethod`), its entry in :data:`METHODS`, its tests and a section of
``docs/rating-api.md``; the engine finds it with :func:`method_of`.
"""

from __future__ import annotations

from listening_tests.methods import ab, acr, ccr, dcr, p835, ranking
from listening_tests.methods.base import Answer, Method

METHODS: dict[str, Method] = {m.name: m for m in (acr.METHOD, dcr.METHOD, p835.METHOD,
                                                  ccr.METHOD, ab.METHOD, ranking.METHOD)}

__all__ = ["METHODS", "Answer", "Method", "method_of", "mos_label_methods"]


def method_of(name: str) -> Method:
    """The method called ``name``.

    Raises:
        KeyError: no such method (a stored test's method always exists; specs are checked
            against :data:`METHODS` first).
    """
    return METHODS[name]


def mos_label_methods() -> tuple[str, ...]:
    """Methods whose votes are MOS labels the quality model learns from."""
    return tuple(m.name for m in METHODS.values() if m.gives_mos_labels)
