"""Importing many files at once: uploads, a folder, a zip, or a Kaldi ``wav.scp``.

Two kinds of problem are told apart. A problem with the request as a whole (a zip entry
that climbs out of the archive, a wav.scp line naming a missing file, nothing to import)
refuses the whole import before anything is stored: :class:`ImportRejected`. A problem with
one file's content (does not decode, empty, silent, too long, odd rate) skips that file,
imports the rest, and is listed in the :class:`ImportReport` with its reason.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sqlalchemy.orm import Session

from audio.io import DEFAULT_MAX_SECONDS, Audio, AudioError, is_audio_filename, load_audio
from db.models import ClipOrigin
from db.store import AudioStore
from library.clips import LibraryError, StoredClip, get_or_create_dataset, insert_clip, store_clip

#: Called after each file with (files done, files in all, name of the file).
ProgressCallback = Callable[[int, int, str], None]

MAX_ZIP_MEMBERS = 20_000
MAX_ZIP_UNCOMPRESSED_BYTES = 4 * 1024 ** 3
#: Largest entry of a zip (10 minutes of 192 kHz stereo 24-bit PCM is 415 MB).
MAX_ZIP_MEMBER_BYTES = 512 * 1024 ** 2
#: Highest compression ratio of an entry above 1 MB: audio deflates by a few times at most;
#: far more means long silence or DC, a zip bomb.
MAX_ZIP_RATIO = 100


class ImportRejected(ValueError):
    """The import as a whole is refused; nothing was stored."""


@dataclass
class ImportReport:
    """What an import did, file by file."""

    dataset: str
    added: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    clip_ids: list[int] = field(default_factory=list)
    #: store files this import wrote, to remove if the caller's commit fails
    written: list[str] = field(default_factory=list, repr=False)

    @property
    def imported_any(self) -> bool:
        return bool(self.clip_ids)

    def summary(self) -> str:
        return (f"Dataset '{self.dataset}': {len(self.added)} added, "
                f"{len(self.duplicates)} already in the library, {len(self.skipped)} skipped.")

    def to_dict(self) -> dict:
        return {
            "dataset": self.dataset, "added": self.added, "duplicates": self.duplicates,
            "skipped": [{"file": n, "reason": r} for n, r in self.skipped],
            "notes": [{"file": n, "note": r} for n, r in self.notes],
            "clip_ids": self.clip_ids, "summary": self.summary(),
        }


@dataclass(frozen=True)
class _Item:
    """One file to import: the name it gets in the dataset and how to read it."""

    name: str
    read: Callable[[], bytes | Path]
    #: ``read`` makes a temporary file, removed once decoded
    temporary: bool = False


@dataclass(frozen=True)
class ImportPlan:
    """What an import will read, checked as a whole before anything is stored."""

    dataset_name: str
    source: str
    origin: ClipOrigin
    items: list[_Item]
    skipped: list[tuple[str, str]] = field(default_factory=list)


def run_plan(session: Session, store: AudioStore, plan: ImportPlan, *,
             max_seconds: float | None = DEFAULT_MAX_SECONDS,
             progress: ProgressCallback | None = None) -> ImportReport:
    """Decode and store every item of ``plan`` in the caller's transaction; files written
    before a failure are removed again (``report.written`` lists the others, for a caller
    whose commit fails)."""
    return import_in_batches(lambda: nullcontext(session), store, plan,
                             batch_files=max(1, len(plan.items)), max_seconds=max_seconds,
                             progress=progress)


@dataclass(frozen=True)
class _Ready:
    """A decoded file already in the store, waiting for its row."""

    name: str
    stored: StoredClip
    notes: tuple[str, ...]


def import_in_batches(begin: Callable[[], AbstractContextManager[Session]],
                      store: AudioStore, plan: ImportPlan, *, batch_files: int = 10,
                      max_seconds: float | None = DEFAULT_MAX_SECONDS,
                      progress: ProgressCallback | None = None) -> ImportReport:
    """Decode, check and store files outside any transaction, then write their rows
    ``batch_files`` at a time in short transactions opened by ``begin``.

    The database's write lock (``AppContext.write``) is then held only for row writes,
    never while a file decodes, so votes of a running listening test go on meanwhile. A
    failure keeps the batches committed before it (each is whole: its rows and files, or
    neither); a refused file leaves neither a row nor a file.
    """
    report = ImportReport(dataset=plan.dataset_name, skipped=list(plan.skipped))
    ready: list[_Ready] = []
    try:
        for done, item in enumerate(plan.items, start=1):
            try:
                audio = _load(item, max_seconds)
                ready.append(_Ready(item.name, store_clip(store, audio, name=item.name),
                                    audio.notes))
            except (AudioError, LibraryError) as exc:
                report.skipped.append((item.name, str(exc)))
            if progress is not None:
                progress(done, len(plan.items), item.name)
            if len(ready) >= batch_files or (ready and done == len(plan.items)):
                _write_rows(begin, store, plan, ready, report)
                ready = []
    except BaseException:
        for entry in ready:
            store.discard(entry.stored)
        raise
    return report


def _load(item: _Item, max_seconds: float | None) -> Audio:
    source = item.read()
    try:
        return load_audio(source, max_seconds=max_seconds, name=PurePosixPath(item.name).name)
    finally:
        if item.temporary and isinstance(source, Path):
            source.unlink(missing_ok=True)


def _write_rows(begin: Callable[[], AbstractContextManager[Session]], store: AudioStore,
                plan: ImportPlan, ready: list[_Ready], report: ImportReport) -> None:
    """One short transaction: the rows of files already stored. Files whose row is refused
    (a name the dataset has for other audio) are removed again."""
    refused: list[_Ready] = []
    added: list[tuple[_Ready, int, bool]] = []
    with begin() as session:
        dataset = get_or_create_dataset(session, plan.dataset_name, source=plan.source)
        for entry in ready:
            try:
                result = insert_clip(session, entry.stored, name=entry.name,
                                     origin=plan.origin, dataset=dataset)
            except LibraryError as exc:
                report.skipped.append((entry.name, str(exc)))
                refused.append(entry)
            else:
                added.append((entry, result.clip_id, result.created))
    # committed (or, in a caller's transaction, handed to it): account and clean up
    kept = {entry.stored.sha256 for entry, _, _ in added}
    for entry in refused:
        if entry.stored.created and entry.stored.sha256 not in kept:
            store.discard(entry.stored)
    for entry, clip_id, created in added:
        (report.added if created else report.duplicates).append(entry.name)
        report.clip_ids.append(clip_id)
        report.notes.extend((entry.name, note) for note in entry.notes)
        if entry.stored.created or (entry.stored.sha256 in {r.stored.sha256 for r in refused
                                                             if r.stored.created}):
            report.written.append(entry.stored.sha256)


def plan_files(files: list[tuple[str, Path]], *, dataset_name: str = "uploads",
               origin: ClipOrigin = ClipOrigin.UPLOAD) -> ImportPlan:
    """Uploaded files, given as (original file name, path of the uploaded copy)."""
    if not files:
        raise ImportRejected("no files to import")
    items = [_Item(name, lambda p=path: Path(p)) for name, path in files]
    return ImportPlan(dataset_name or "uploads", "upload", origin, items)


def import_files(session: Session, store: AudioStore, files: list[tuple[str, Path]], *,
                 dataset_name: str = "uploads", origin: ClipOrigin = ClipOrigin.UPLOAD,
                 max_seconds: float | None = DEFAULT_MAX_SECONDS,
                 progress: ProgressCallback | None = None) -> ImportReport:
    """Import uploaded files in the caller's transaction (see :func:`plan_files`)."""
    return run_plan(session, store, plan_files(files, dataset_name=dataset_name,
                                               origin=origin),
                    max_seconds=max_seconds, progress=progress)


def plan_folder(folder: Path, *, dataset_name: str | None = None) -> ImportPlan:
    """Every audio file below ``folder``; names are paths relative to it."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ImportRejected(f"folder {folder} does not exist or is not a folder")
    items: list[_Item] = []
    skipped: list[tuple[str, str]] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        if path.is_symlink() and not path.resolve().is_relative_to(folder.resolve()):
            skipped.append((relative, "a link that points outside the folder"))
        elif is_audio_filename(path.name):
            items.append(_Item(relative, lambda p=path: p))
        else:
            skipped.append((relative, f"not an audio file (ending '{path.suffix}')"))
    if not items:
        raise ImportRejected(f"folder {folder} holds no audio files "
                             f"(.wav, .flac, .ogg, .opus, .mp3)")
    return ImportPlan(dataset_name or folder.name, str(folder.resolve()), ClipOrigin.IMPORT,
                      items, skipped)


def import_folder(session: Session, store: AudioStore, folder: Path, *,
                  dataset_name: str | None = None,
                  max_seconds: float | None = DEFAULT_MAX_SECONDS,
                  progress: ProgressCallback | None = None) -> ImportReport:
    """Import a folder in the caller's transaction (see :func:`plan_folder`)."""
    return run_plan(session, store, plan_folder(folder, dataset_name=dataset_name),
                    max_seconds=max_seconds, progress=progress)


def _safe_member_name(name: str) -> str:
    """The member's path, or ImportRejected when it would leave the archive's folder."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise ImportRejected(f"zip entry '{name}' points outside the archive's folder; "
                             f"nothing was imported")
    return path.as_posix()


def read_member(archive: Path, name: str) -> Path:
    """Unpack one entry to a temporary file in 1 MB steps (never whole into memory); the
    caller removes it. zipfile stops at the entry's declared size, which was checked."""
    with zipfile.ZipFile(archive) as zf, zf.open(name) as member, tempfile.NamedTemporaryFile(
            prefix="zip-entry-", suffix=PurePosixPath(name).suffix, delete=False) as out:
        shutil.copyfileobj(member, out, 1024 * 1024)
    return Path(out.name)


def _check_member_size(archive: Path, member: zipfile.ZipInfo) -> None:
    """Refuse an entry whose declared size or compression ratio marks a zip bomb."""
    mb = member.file_size / 1024 ** 2
    if member.file_size > MAX_ZIP_MEMBER_BYTES:
        raise ImportRejected(f"{archive.name}: entry '{member.filename}' unpacks to "
                             f"{mb:.0f} MB, more than the limit of "
                             f"{MAX_ZIP_MEMBER_BYTES // 1024 ** 2} MB per file; nothing "
                             f"was imported")
    ratio = member.file_size / max(member.compress_size, 1)
    if member.file_size > 1024 ** 2 and ratio > MAX_ZIP_RATIO:
        raise ImportRejected(f"{archive.name}: entry '{member.filename}' is compressed "
                             f"{ratio:.0f}:1 ({mb:.0f} MB from "
                             f"{member.compress_size / 1024 ** 2:.1f} MB), more than the "
                             f"{MAX_ZIP_RATIO}:1 audio allows: a zip bomb? Nothing was "
                             f"imported")


def plan_zip(archive: Path, *, dataset_name: str | None = None) -> ImportPlan:
    """The audio files inside a zip archive, every entry's path checked first."""
    archive = Path(archive)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportRejected(f"{archive.name}: not a readable zip archive ({exc})") from exc
    with zf:
        members = [m for m in zf.infolist() if not m.is_dir()]
    names = [_safe_member_name(m.filename) for m in members]
    if len(members) > MAX_ZIP_MEMBERS:
        raise ImportRejected(f"{archive.name}: {len(members)} entries, more than the "
                             f"limit of {MAX_ZIP_MEMBERS}")
    for member in members:
        _check_member_size(archive, member)
    if sum(m.file_size for m in members) > MAX_ZIP_UNCOMPRESSED_BYTES:
        raise ImportRejected(f"{archive.name}: unpacks to more than "
                             f"{MAX_ZIP_UNCOMPRESSED_BYTES // 1024 ** 3} GiB")
    items: list[_Item] = []
    skipped: list[tuple[str, str]] = []
    for member, name in zip(members, names, strict=True):
        if any(part.startswith(".") or part == "__MACOSX"
               for part in PurePosixPath(name).parts):
            continue
        if is_audio_filename(name):
            items.append(_Item(name, lambda m=member.filename: read_member(archive, m),
                               temporary=True))
        else:
            skipped.append((name, f"not an audio file (ending "
                                  f"'{PurePosixPath(name).suffix}')"))
    if not items:
        raise ImportRejected(f"{archive.name} holds no audio files")
    return ImportPlan(dataset_name or archive.stem, f"zip:{archive.name}", ClipOrigin.IMPORT,
                      items, skipped)


def import_zip(session: Session, store: AudioStore, archive: Path, *,
               dataset_name: str | None = None,
               max_seconds: float | None = DEFAULT_MAX_SECONDS,
               progress: ProgressCallback | None = None) -> ImportReport:
    """Import a zip archive in the caller's transaction (see :func:`plan_zip`)."""
    return run_plan(session, store, plan_zip(archive, dataset_name=dataset_name),
                    max_seconds=max_seconds, progress=progress)


def parse_wav_scp(scp: Path) -> list[tuple[str, Path]]:
    """Read a Kaldi ``wav.scp`` (``<id> <path>`` a line; relative paths are relative to
    the file's folder) and check that every listed file exists.

    Raises:
        ImportRejected: with the line numbers of every malformed line, duplicate id, pipe
            command or missing file, and the problem; never the line's text (a wav.scp that
            is a link to a system file must not be read back through the message).
    """
    scp = Path(scp)
    if not scp.is_file():
        raise ImportRejected(f"{scp} does not exist")
    try:
        lines = scp.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise ImportRejected(f"{scp.name} is not a UTF-8 text file") from exc
    entries: list[tuple[str, Path]] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.strip().split(maxsplit=1)
        if len(parts) != 2:
            problems.append(f"line {number}: expected '<id> <path>' (two fields), found one")
            continue
        utt_id, target = parts
        if target.rstrip().endswith("|"):
            problems.append(f"line {number}: pipe commands are not supported")
            continue
        if utt_id in seen:
            problems.append(f"line {number}: its id repeats line {seen[utt_id]}")
            continue
        seen[utt_id] = number
        path = Path(target.strip()).expanduser()
        path = path if path.is_absolute() else scp.parent / path
        if not path.is_file():
            problems.append(f"line {number}: the file it names does not exist")
            continue
        entries.append((utt_id, path))
    if problems:
        shown = "; ".join(problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise ImportRejected(f"{scp.name}: {len(problems)} problem(s), nothing imported: "
                             f"{shown}{more}")
    if not entries:
        raise ImportRejected(f"{scp.name} lists no files")
    return entries


def plan_wav_scp(scp: Path, *, dataset_name: str | None = None) -> ImportPlan:
    """The files a ``wav.scp`` lists; each clip is named by its utterance id."""
    entries = parse_wav_scp(Path(scp))
    items = [_Item(utt_id, lambda p=path: p) for utt_id, path in entries]
    return ImportPlan(dataset_name or Path(scp).resolve().parent.name,
                      str(Path(scp).resolve()), ClipOrigin.IMPORT, items)


def import_wav_scp(session: Session, store: AudioStore, scp: Path, *,
                   dataset_name: str | None = None,
                   max_seconds: float | None = DEFAULT_MAX_SECONDS,
                   progress: ProgressCallback | None = None) -> ImportReport:
    """Import a ``wav.scp`` in the caller's transaction (see :func:`plan_wav_scp`)."""
    return run_plan(session, store, plan_wav_scp(scp, dataset_name=dataset_name),
                    max_seconds=max_seconds, progress=progress)


def plan_path(source: Path, *, dataset_name: str | None = None) -> ImportPlan:
    """A folder, a ``.zip`` or a ``wav.scp``, whichever ``source`` is."""
    source = Path(source).expanduser()
    name = dataset_name or None
    if source.is_dir():
        return plan_folder(source, dataset_name=name)
    if source.suffix.lower() == ".zip":
        return plan_zip(source, dataset_name=name)
    if source.suffix.lower() == ".scp" or source.name.endswith("wav.scp"):
        return plan_wav_scp(source, dataset_name=name)
    if not source.exists():
        raise ImportRejected(f"{source} does not exist")
    raise ImportRejected(f"{source.name}: import takes a folder, a .zip or a wav.scp")


def import_path(session: Session, store: AudioStore, source: Path, *,
                dataset_name: str | None = None,
                max_seconds: float | None = DEFAULT_MAX_SECONDS,
                progress: ProgressCallback | None = None) -> ImportReport:
    """Import a folder, zip or wav.scp in the caller's transaction (see :func:`plan_path`)."""
    return run_plan(session, store, plan_path(source, dataset_name=dataset_name),
                    max_seconds=max_seconds, progress=progress)
