"""Work shared between metrics and between the outputs of one input, done once.

Scoring five systems' outputs against one clean reference used to redo the reference's
share of the work (its mel-cepstra for MCD, its 16 kHz copy for PESQ) for every output, and
PESQ and DNSMOS each resampled the same estimate. :func:`by_content` remembers such results
by the bytes of the array they came from, so reuse needs no cooperation from the caller and
a different array can never get a stale answer.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from audio.resample import resample

R = TypeVar("R")

#: Results kept per function: a comparison scores one input's outputs together.
DEFAULT_ENTRIES = 16


def fingerprint(samples: np.ndarray) -> tuple[str, str, tuple[int, ...]]:
    """Identity of an array's content: a digest of its bytes, its dtype and shape."""
    data = np.ascontiguousarray(samples)
    return hashlib.blake2b(data.tobytes(), digest_size=16).hexdigest(), str(data.dtype), \
        data.shape


def by_content(entries: int = DEFAULT_ENTRIES
               ) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Decorate ``f(samples, *args)`` so that equal ``samples`` and ``args`` compute once.

    The result is shared, so callers must not modify it (arrays come back read-only).
    """
    def decorate(func: Callable[..., R]) -> Callable[..., R]:
        cache: OrderedDict[tuple, R] = OrderedDict()
        lock = threading.Lock()

        @functools.wraps(func)
        def wrapper(samples: np.ndarray, *args: object) -> R:
            key = (fingerprint(samples), args)
            with lock:
                if key in cache:
                    cache.move_to_end(key)
                    return cache[key]
            result = func(samples, *args)
            if isinstance(result, np.ndarray):
                result.setflags(write=False)
            with lock:
                cache[key] = result
                while len(cache) > entries:
                    cache.popitem(last=False)
            return result

        wrapper.cache_clear = cache.clear  # type: ignore[attr-defined]
        return wrapper
    return decorate


@by_content()
def at_rate(samples: np.ndarray, sample_rate: int, target_rate: int) -> np.ndarray:
    """``samples`` resampled to ``target_rate`` (soxr HQ), once per content: PESQ and
    DNSMOS both want the estimate at 16 kHz, and every output of an input shares its
    reference. Read-only: copy before changing it."""
    return resample(samples, sample_rate, target_rate)
