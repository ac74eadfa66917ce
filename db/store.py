"""Content-addressed audio store: ``<data>/audio/<sha256[:2]>/<sha256>.flac``.

Audio is quantised to 24-bit PCM before hashing, so the same sound arriving as a 16-bit WAV,
a 24-bit FLAC or a float file hashes to the same address and is stored once. 16-bit values
map exactly into 24 bits, so nothing is lost for the usual inputs; FLAC stores the unused low
bits for free.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import soundfile as sf

_FULL_SCALE_24 = 2 ** 23


#: How far a writer that finds its file already stored moves the file's mtime: the claim
#: that tells a failing first writer to leave the file alone (a whole second, so the change
#: survives file systems with coarse timestamps, shared storage included).
_CLAIM_NS = 1_000_000_000


@dataclass(frozen=True)
class StoredAudio:
    """Where a waveform lives and whether this call wrote it.

    ``token`` is the file's inode and mtime (ns) as this call left them, set only when this
    call wrote the file: :meth:`AudioStore.discard` removes the file only while both still
    match, i.e. no other writer has stored the same audio since. (The inode tells apart two
    writers whose files got the same mtime: file times tick in milliseconds.)
    """

    sha256: str
    path: Path
    created: bool
    token: tuple[int, int] | None = None


class WrittenFile(Protocol):
    """Anything that names a stored file and the write token of the call that wrote it."""

    @property
    def sha256(self) -> str: ...

    @property
    def token(self) -> tuple[int, int] | None: ...


#: Frames quantised at a time, so a long clip never needs a float64 copy of itself.
_BLOCK = 1 << 20


def quantise_pcm24(samples: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] (time last) to int32 values on the 24-bit grid."""
    x = np.asarray(samples)
    out = np.empty(x.shape, dtype=np.int32)
    for start in range(0, x.shape[-1], _BLOCK):
        part = np.clip(np.asarray(x[..., start:start + _BLOCK], np.float64), -1.0, 1.0)
        scaled = np.round(part * _FULL_SCALE_24)
        out[..., start:start + _BLOCK] = np.clip(scaled, -_FULL_SCALE_24, _FULL_SCALE_24 - 1)
    return out


def _pcm_sha256(pcm: np.ndarray, sample_rate: int) -> str:
    channels = 1 if pcm.ndim == 1 else pcm.shape[0]
    digest = hashlib.sha256(f"rate={sample_rate};channels={channels};".encode())
    digest.update(memoryview(np.ascontiguousarray(pcm, dtype="<i4")).cast("B"))
    return digest.hexdigest()


def _link_if_absent(tmp: str, path: Path) -> bool:
    """Give the written file its address unless one is there already (False then)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: a plain rename (last one wins)
        os.replace(tmp, path)
    return True


def _claim(path: Path) -> bool:
    """Mark an already stored file as wanted by one more writer; False if it is absent
    (never written, or just discarded: the caller then writes it again)."""
    try:
        st = os.stat(path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + _CLAIM_NS))
    except FileNotFoundError:
        return False
    return True


def audio_sha256(samples: np.ndarray, sample_rate: int) -> str:
    """The address of a waveform: SHA-256 of its rate, channel count and 24-bit samples."""
    return _pcm_sha256(quantise_pcm24(samples), sample_rate)


class AudioStore:
    """Reads and writes waveforms by content hash under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / f"{sha256}.flac"

    def put(self, samples: np.ndarray, sample_rate: int) -> StoredAudio:
        """Store a waveform unless the same one is already there.

        The file appears atomically (written to a temporary name, then linked to its
        address), so a crash never leaves a half-written clip under a valid address; the
        link never replaces a file, so of two writers racing to store the same audio one
        writes it and the other claims it.
        """
        pcm = quantise_pcm24(samples)
        sha = _pcm_sha256(pcm, sample_rate)
        path = self.path_for(sha)
        if _claim(path):
            return StoredAudio(sha, path, created=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        pcm *= 256  # int32 input to a PCM_24 file: libsndfile keeps the top 24 bits
        data = pcm.T if pcm.ndim == 2 else pcm
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".flac")
        try:
            with os.fdopen(fd, "wb") as handle:
                sf.write(handle, data, sample_rate, format="FLAC", subtype="PCM_24")
            written = os.stat(tmp)
            created = _link_if_absent(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        if not created:
            if _claim(path):
                return StoredAudio(sha, path, created=False)
            return self.put(samples, sample_rate)  # discarded in between: write it again
        return StoredAudio(sha, path, created=True,
                           token=(written.st_ino, written.st_mtime_ns))

    def read(self, sha256: str) -> tuple[np.ndarray, int]:
        """The stored waveform as float32 (time last) and its rate."""
        data, rate = sf.read(str(self.path_for(sha256)), dtype="float32", always_2d=True)
        samples = data[:, 0] if data.shape[1] == 1 else np.ascontiguousarray(data.T)
        return samples, int(rate)

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()

    def discard(self, written: WrittenFile) -> bool:
        """Remove a file written by a transaction that then failed, unless another writer
        stored the same audio meanwhile (its row may be committed); True if removed.

        The file is first renamed out of its address, so a writer that comes after finds
        no file and writes its own; the token is checked on the renamed file, and a file
        claimed before the rename goes back. Safe across processes sharing the store.
        """
        if written.token is None:
            return False
        path = self.path_for(written.sha256)
        aside = path.with_name(f".discard-{uuid.uuid4().hex}-{path.name}")
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            return False
        found = os.stat(aside)
        if (found.st_ino, found.st_mtime_ns) == written.token:
            aside.unlink()
            return True
        # Claimed: put it back, over any file a new writer made meanwhile (same content), so
        # that writer's own discard, finding our file, keeps it too.
        os.replace(aside, path)
        return False

    def count(self) -> int:
        """Number of stored files (for tests and the health page)."""
        return sum(1 for _ in self.root.glob("??/*.flac")) if self.root.exists() else 0
