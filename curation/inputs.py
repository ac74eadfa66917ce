"""Which files to score: a Kaldi ``wav.scp``, a folder, and a share of them (``--shard``).

Every file gets an id and a *source* (the corpus it came from), since thresholds and
quantiles are judged per source. A ``wav.scp`` is checked as a whole before any work: a
pipe command, a malformed line or a repeated id refuses the list with one line per problem.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

from audio.io import is_audio_filename


class InputError(ValueError):
    """The input list cannot be used; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class CorpusFile:
    """One file to score: its id, where it is, and the source corpus it belongs to."""

    id: str
    path: str
    source: str


def _scp_lines(path: Path) -> list[tuple[int, list[str]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([f"{path}: cannot read the list ({exc})"]) from exc
    return [(n, line.split(maxsplit=1)) for n, line in enumerate(text.splitlines(), 1)
            if line.strip() and not line.lstrip().startswith("#")]


def read_wav_scp(path: Path, *, source: str | None = None) -> list[CorpusFile]:
    """Files of a ``wav.scp`` (``<id> <path>``; relative paths from the list's folder).

    The source of each file comes from a ``utt2source`` file beside the list (``<id>
    <source>``) when there is one, else from ``source``, else the list's folder name.

    Raises:
        InputError: one line per malformed line, pipe command or repeated id.
    """
    problems: list[str] = []
    files: list[CorpusFile] = []
    seen: set[str] = set()
    sources: dict[str, str] = {}
    utt2source = path.parent / "utt2source"
    if utt2source.is_file():
        for _, parts in _scp_lines(utt2source):
            if len(parts) == 2:
                sources[parts[0]] = parts[1].strip()
    default = source or path.resolve().parent.name or "corpus"
    for number, parts in _scp_lines(path):
        where = f"{path.name} line {number}"
        if len(parts) != 2:
            problems.append(f"{where}: expected '<id> <path>'")
            continue
        item, target = parts[0], parts[1].strip()
        if target.endswith("|") or target.startswith("|") or " | " in f" {target} ":
            problems.append(f"{where}: '{target[:60]}' is a pipe command; curation reads "
                            f"files only (decode to files first)")
            continue
        if item in seen:
            problems.append(f"{where}: id '{item}' appears twice")
            continue
        seen.add(item)
        file = Path(target).expanduser()
        file = file if file.is_absolute() else path.parent / file
        files.append(CorpusFile(item, str(file), sources.get(item, default)))
    if problems:
        raise InputError(problems)
    if not files:
        raise InputError([f"{path}: the list holds no files"])
    return files


def read_folder(folder: Path) -> list[CorpusFile]:
    """Every audio file under ``folder``: the id is the relative path without its ending
    (``/`` becomes ``-``), the source its first sub-folder (the folder's own name for files
    at its top)."""
    files = []
    for file in sorted(p for p in folder.rglob("*") if p.is_file() and is_audio_filename(p.name)):
        rel = file.relative_to(folder)
        item = "-".join(rel.with_suffix("").parts).replace(" ", "_")
        source = rel.parts[0] if len(rel.parts) > 1 else folder.resolve().name
        files.append(CorpusFile(item, str(file), source))
    if not files:
        raise InputError([f"{folder}: no audio files (.wav, .flac, .ogg, .opus, .mp3) in it"])
    return files


def read_input(source: str | Path, *, source_name: str | None = None) -> list[CorpusFile]:
    """Files of a folder or a ``wav.scp``.

    Raises:
        InputError: missing input, or problems of the list.
    """
    path = Path(source)
    if path.is_dir():
        files = read_folder(path)
        if source_name:
            files = [CorpusFile(f.id, f.path, source_name) for f in files]
        return files
    if path.is_file():
        return read_wav_scp(path, source=source_name)
    raise InputError([f"input not found: {path} (give a wav.scp or a folder; a library "
                      f"dataset is exported first: python -m library.curation export)"])


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` -> (K, N) with 1 <= K <= N.

    Raises:
        InputError: anything else.
    """
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise InputError([f"--shard '{text}': expected K/N, e.g. 3/10"]) from None
    if not 1 <= k <= n:
        raise InputError([f"--shard '{text}': K must be within 1..N"])
    return k, n


def in_shard(item_id: str, shard: tuple[int, int]) -> bool:
    """Whether a file belongs to shard K of N: a stable hash of its id (the same on every
    machine and run), so the N shards of a job array cover the list exactly once."""
    k, n = shard
    return zlib.crc32(item_id.encode("utf-8")) % n == k - 1
