"""Which audio files a command works on: one file, a folder, or a Kaldi ``wav.scp``.

Every input gets an id: the file name without its ending, or the utterance id of a
``wav.scp`` line. Outputs are named by id, and outputs of other systems are matched by it,
as URGENT submissions are.
"""

from __future__ import annotations

from pathlib import Path

from audio.io import is_audio_filename


class ManifestError(ValueError):
    """The list of inputs cannot be read; the message says why, for the user as it is."""


def _check_id(item_id: str, where: str) -> None:
    """Ids become file names, so they may not climb out of the output folder."""
    if not item_id or item_id.startswith(".") or "/" in item_id or "\\" in item_id:
        raise ManifestError(f"{where}: '{item_id}' cannot be a file name")


def read_wav_scp(path: Path) -> dict[str, Path]:
    """Read ``<id> <path>`` lines; relative paths are taken from the current folder, or
    else from the ``wav.scp``'s own folder.

    Raises:
        ManifestError: a line without a path, a repeated id, a Kaldi pipe command
            (``... |``), or a path that does not exist.
    """
    items: dict[str, Path] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{Path(path).name} line {number}"
        parts = line.split(maxsplit=1)
        if len(parts) != 2:
            raise ManifestError(f"{where}: expected '<id> <path>', got '{line.strip()}'")
        item_id, location = parts[0], parts[1].strip()
        if location.endswith("|"):
            raise ManifestError(f"{where}: pipe commands are not supported, give a file path")
        _check_id(item_id, where)
        if item_id in items:
            raise ManifestError(f"{where}: id '{item_id}' appears twice")
        file = Path(location)
        if not file.is_absolute() and not file.exists():
            file = Path(path).parent / file
        if not file.is_file():
            raise ManifestError(f"{where}: {location} does not exist")
        items[item_id] = file
    if not items:
        raise ManifestError(f"{Path(path).name}: no entries")
    return items


def read_folder(folder: Path) -> dict[str, Path]:
    """Audio files directly in ``folder`` by name without ending, sorted.

    Raises:
        ManifestError: no audio files, or two with the same name and different endings.
    """
    items: dict[str, Path] = {}
    for path in sorted(Path(folder).iterdir()):
        if path.is_file() and is_audio_filename(path.name):
            if path.stem in items:
                raise ManifestError(f"{folder}: two inputs named {path.stem} "
                                    f"({items[path.stem].name} and {path.name})")
            _check_id(path.stem, str(folder))
            items[path.stem] = path
    if not items:
        raise ManifestError(f"{folder}: no audio files (.wav, .flac, .ogg, .opus, .mp3)")
    return items


def read_inputs(source: Path) -> dict[str, Path]:
    """Inputs from an audio file, a folder of them, or a ``wav.scp`` (any other file).

    Raises:
        ManifestError: ``source`` does not exist or lists nothing usable.
    """
    source = Path(source)
    if source.is_dir():
        return read_folder(source)
    if not source.is_file():
        raise ManifestError(f"{source} does not exist")
    if is_audio_filename(source.name):
        return {source.stem: source}
    return read_wav_scp(source)
