"""Loading, validating and saving audio files.

Every file that enters the project passes through :func:`load_audio`, so the rules about what
counts as usable audio (decodable, not empty, not silent, finite, a sane sampling rate, not
longer than the configured limit) live in one place and give the same message everywhere.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf

MIN_SAMPLE_RATE = 8_000
MAX_SAMPLE_RATE = 192_000
DEFAULT_MAX_SECONDS = 600.0
#: Most samples (frames x channels) a file may decode to: 10 minutes of 48 kHz stereo, or
#: 5.8 minutes at 192 kHz (256 MiB as float32). Checked from the header before decoding.
MAX_DECODED_SAMPLES = 64 * 1024 ** 2
#: Frames decoded at a time (about 1 s at 1 MHz; 16 MB for 4 float32 channels).
DECODE_BLOCK_FRAMES = 1 << 20

#: File endings the project reads, with the soundfile container they map to.
AUDIO_EXTENSIONS: dict[str, str] = {
    ".wav": "WAV",
    ".flac": "FLAC",
    ".ogg": "OGG",
    ".oga": "OGG",
    ".opus": "OGG",
    ".mp3": "MP3",
}

#: (container, subtype) used when saving, chosen by file ending.
_SAVE_FORMATS: dict[str, tuple[str, str]] = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
    ".oga": ("OGG", "VORBIS"),
    ".opus": ("OGG", "OPUS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
}

#: Rates the Opus codec accepts; libsndfile refuses the others.
OPUS_SAMPLE_RATES = (8_000, 12_000, 16_000, 24_000, 48_000)

AudioSource = str | os.PathLike | bytes | BinaryIO


class AudioError(ValueError):
    """Raised when audio cannot be used; the message is meant for the user as it is."""


@dataclass(frozen=True)
class Audio:
    """Decoded audio with what was learnt about its file.

    Attributes:
        samples: float32 waveform in [-1, 1], shape (frames,) for mono or
            (channels, frames) otherwise (time last).
        sample_rate: samples per second.
        source_channels: channel count of the file before any down-mix.
        source_format: container name as soundfile reports it (``WAV``, ``FLAC``, ...).
        source_subtype: encoding inside the container (``PCM_16``, ``VORBIS``, ...).
        notes: what was changed on the way in (down-mix, clipped float samples), to tell
            the user.
    """

    samples: np.ndarray
    sample_rate: int
    source_channels: int = 1
    source_format: str = ""
    source_subtype: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def channels(self) -> int:
        return 1 if self.samples.ndim == 1 else int(self.samples.shape[0])

    @property
    def num_frames(self) -> int:
        return int(self.samples.shape[-1])

    @property
    def duration_seconds(self) -> float:
        return self.num_frames / self.sample_rate


def _open(source: AudioSource) -> tuple[BinaryIO | str, str]:
    """Return something soundfile can read and a name to use in messages."""
    if isinstance(source, bytes):
        return io.BytesIO(source), "uploaded data"
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise AudioError(f"{path.name}: file not found")
        if path.stat().st_size == 0:
            raise AudioError(f"{path.name}: the file is empty (0 bytes)")
        return str(path), path.name
    return source, getattr(source, "name", None) or "uploaded data"


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Average channels of a (channels, frames) array; a 1-D array is returned as it is."""
    if samples.ndim == 1:
        return samples
    return samples.mean(axis=0).astype(np.float32)


def check_waveform(samples: np.ndarray, sample_rate: int, *, name: str = "audio",
                   max_seconds: float | None = DEFAULT_MAX_SECONDS) -> None:
    """Raise :class:`AudioError` unless ``samples`` is usable audio at ``sample_rate``.

    Used for files and for waveforms that arrive as arrays (microphone, API), so that both
    paths refuse the same things with the same words.
    """
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise AudioError(
            f"{name}: sampling rate {sample_rate} Hz is outside the supported range "
            f"{MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz"
        )
    frames = samples.shape[-1] if samples.ndim else 0
    if frames == 0:
        raise AudioError(f"{name}: the audio is empty (no samples)")
    if max_seconds is not None and frames / sample_rate > max_seconds:
        raise AudioError(
            f"{name}: {frames / sample_rate:.1f} s is longer than the limit of {max_seconds:g} s"
        )
    if not np.all(np.isfinite(samples)):
        raise AudioError(f"{name}: the audio contains NaN or infinite samples")
    if not np.any(samples):
        raise AudioError(f"{name}: the audio is silent (every sample is zero)")


def check_mono(samples: np.ndarray, sample_rate: int, *, name: str, min_seconds: float,
               max_rate: int, user: str) -> np.ndarray:
    """Return ``samples`` as contiguous float32 if they are mono audio that ``user`` (e.g.
    "the systems", "the metrics") can process: 1-D, a rate from 8 kHz to ``max_rate``, at
    least ``min_seconds`` long, and passing :func:`check_waveform`.

    Raises:
        AudioError: saying which rule failed, with the numbers.
    """
    x = np.asarray(samples)
    if x.ndim == 2 and 1 in x.shape:
        x = x.reshape(-1)
    if x.ndim != 1:
        raise AudioError(f"{name}: expected mono audio of shape (frames,), got shape "
                         f"{x.shape}; down-mix multi-channel audio first")
    if not MIN_SAMPLE_RATE <= sample_rate <= max_rate:
        raise AudioError(f"{name}: sampling rate {sample_rate} Hz is outside the "
                         f"{MIN_SAMPLE_RATE}-{max_rate} Hz that {user} take")
    check_waveform(x, sample_rate, name=name, max_seconds=None)
    if x.shape[0] < min_seconds * sample_rate:
        raise AudioError(f"{name}: {x.shape[0] / sample_rate:.3f} s is shorter than the "
                         f"minimum of {min_seconds:g} s that {user} need")
    return np.ascontiguousarray(x, dtype=np.float32)


def load_audio(source: AudioSource, *, mono: bool = True,
               max_seconds: float | None = DEFAULT_MAX_SECONDS,
               name: str | None = None) -> Audio:
    """Decode a WAV, FLAC, Ogg (Vorbis or Opus) or MP3 file and check that it is usable.

    The length is checked from the header before decoding, so a two-hour upload is refused
    without being read into memory.

    Args:
        source: a path, the file's bytes, or a binary file object.
        mono: average the channels into one (the fact is recorded in ``notes``).
        max_seconds: longest accepted duration; None for no limit.
        name: how to call the file in messages (defaults to its file name).

    Raises:
        AudioError: the file is missing, empty, does not decode, or fails
            :func:`check_waveform`.
    """
    handle, default_name = _open(source)
    name = name or default_name
    try:
        with sf.SoundFile(handle) as f:
            sample_rate, channels = int(f.samplerate), int(f.channels)
            fmt, subtype, frames = f.format, f.subtype, int(f.frames)
            if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
                check_waveform(np.zeros(1, np.float32), sample_rate, name=name)
            if max_seconds is not None and frames / sample_rate > max_seconds:
                raise AudioError(
                    f"{name}: {frames / sample_rate:.1f} s is longer than the limit of "
                    f"{max_seconds:g} s"
                )
            check_decoded_size(frames, channels, sample_rate, name=name)
            samples, peak = _read_blocks(f, frames, channels, mono=mono)
    except AudioError:
        raise
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioError(f"{name}: not a readable audio file ({_short(exc)})") from exc

    notes: list[str] = []
    if np.isfinite(peak) and peak > 1.0:  # clipped block by block while decoding
        notes.append(f"float samples up to {peak:.2f} were clipped to [-1, 1]")
    if mono and channels > 1:
        notes.append(f"down-mixed from {channels} channels to mono")
    check_waveform(samples, sample_rate, name=name, max_seconds=max_seconds)
    return Audio(samples=samples, sample_rate=sample_rate, source_channels=channels,
                 source_format=fmt, source_subtype=subtype, notes=tuple(notes))


def check_decoded_size(frames: int, channels: int, sample_rate: int, *, name: str) -> None:
    """Refuse a file whose header promises more samples than :data:`MAX_DECODED_SAMPLES`
    (frames x channels), before anything is decoded: a few hundred KB of FLAC can hold
    minutes of multi-channel DC that would decode to gigabytes."""
    if frames * channels > MAX_DECODED_SAMPLES:
        raise AudioError(
            f"{name}: {frames / sample_rate:.1f} s x {channels} channels at {sample_rate} Hz "
            f"would decode to {frames * channels / 1e6:.1f} million samples, more than the "
            f"limit of {MAX_DECODED_SAMPLES / 1e6:.1f} million (frames x channels)")


def _read_blocks(f: sf.SoundFile, frames: int, channels: int, *, mono: bool
                 ) -> tuple[np.ndarray, float]:
    """Decode ``f`` block by block into one preallocated float32 array ((frames,) when
    ``mono`` or a single channel, else (channels, frames)), down-mixing each block as it
    comes (float samples beyond [-1, 1] clipped first), so memory stays at the result plus
    one block. Also returns the peak before clipping (NaN when a sample is not finite)."""
    out_channels = 1 if mono or channels == 1 else channels
    out = np.empty((out_channels, frames), dtype=np.float32)
    done, peak = 0, 0.0
    for block in f.blocks(blocksize=DECODE_BLOCK_FRAMES, dtype="float32", always_2d=True):
        n = min(len(block), frames - done)
        if n <= 0:
            break
        block = block[:n]
        block_peak = float(np.max(np.abs(block)))
        if np.isfinite(block_peak) and block_peak > 1.0:
            np.clip(block, -1.0, 1.0, out=block)  # each channel, before any down-mix
        peak = max(peak, block_peak) if np.isfinite(block_peak) else float("nan")
        if out_channels == 1:
            out[0, done:done + n] = block.mean(axis=1) if channels > 1 else block[:, 0]
        else:
            out[:, done:done + n] = block.T
        done += n
    out = out[:, :done]
    return (out[0] if out_channels == 1 else out), peak


def _short(exc: Exception) -> str:
    """The library's reason without the temporary path it names."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return re.sub(r"^Error opening .*?: ", "", text)[:200]


def save_audio(path: str | os.PathLike, samples: np.ndarray, sample_rate: int, *,
               subtype: str | None = None) -> Path:
    """Write ``samples`` (time last) to ``path``; the container follows the file ending.

    WAV and FLAC default to 16-bit PCM (the URGENT submission format); Ogg files use
    Vorbis except ``.opus``; Opus only exists at 8, 12, 16, 24 and 48 kHz.

    Raises:
        AudioError: unknown file ending, or a rate the codec does not support.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _SAVE_FORMATS:
        raise AudioError(f"{path.name}: cannot write '{suffix}' files; use one of "
                         f"{', '.join(sorted(_SAVE_FORMATS))}")
    fmt, default_subtype = _SAVE_FORMATS[suffix]
    if default_subtype == "OPUS" and sample_rate not in OPUS_SAMPLE_RATES:
        raise AudioError(f"{path.name}: Opus supports {OPUS_SAMPLE_RATES} Hz only, "
                         f"not {sample_rate} Hz")
    data = np.asarray(samples, dtype=np.float32)
    data = data.T if data.ndim == 2 else data
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.clip(data, -1.0, 1.0), sample_rate, format=fmt,
             subtype=subtype or default_subtype)
    return path


def encode_audio(samples: np.ndarray, sample_rate: int, suffix: str, *,
                 subtype: str | None = None, compression_level: float | None = None) -> bytes:
    """Encode to the bytes of a file with the given ending (``.flac``, ``.mp3``, ...).

    ``compression_level`` (0 best quality .. 1 smallest) reaches libsndfile's codec
    quality setting for MP3, Vorbis and Opus.
    """
    suffix = suffix.lower()
    if suffix not in _SAVE_FORMATS:
        raise AudioError(f"cannot encode '{suffix}' audio")
    fmt, default_subtype = _SAVE_FORMATS[suffix]
    if default_subtype == "OPUS" and sample_rate not in OPUS_SAMPLE_RATES:
        raise AudioError(f"Opus supports {OPUS_SAMPLE_RATES} Hz only, not {sample_rate} Hz")
    data = np.asarray(samples, dtype=np.float32)
    data = data.T if data.ndim == 2 else data
    buffer = io.BytesIO()
    kwargs = {} if compression_level is None else {"compression_level": compression_level}
    sf.write(buffer, np.clip(data, -1.0, 1.0), sample_rate, format=fmt,
             subtype=subtype or default_subtype, **kwargs)
    return buffer.getvalue()


def is_audio_filename(name: str) -> bool:
    """Whether a file name has an ending the project reads."""
    return Path(name).suffix.lower() in AUDIO_EXTENSIONS


def pcm_wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """16-bit PCM WAV file contents (time last, mono or (channels, frames)).

    Its size follows from frames, channels and rate alone, never from the content (FLAC's
    size does: noise compresses worse than speech), so two sounds of equal length give
    files of equal size: what a rater's browser receives tells nothing about which is
    which.
    """
    return encode_audio(samples, sample_rate, ".wav", subtype="PCM_16")


def file_as_pcm_wav(path: str | os.PathLike) -> bytes:
    """A stored audio file re-encoded by :func:`pcm_wav_bytes`."""
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return pcm_wav_bytes(data[:, 0] if data.shape[1] == 1 else data.T, int(rate))
