"""The systems the app offers, and importing another team's outputs as a system.

Built-in systems and checkpoints come from ``se.systems``. An outputs folder is imported
once: each output matched by file name becomes an enhanced clip of its input, so the folder
is not needed afterwards and the system stays in the catalogue across restarts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db.models import System as SystemRow
from db.models import SystemKind
from db.store import AudioStore
from library.clips import LibraryError
from library.comparison import InputClip, ProgressCallback, enhance_clip
from library.enhancement import EnhancementError, item_id
from se.systems import System, available_systems
from se.systems.external import ExternalOutputsError, ExternalSystem


class ImportedOutputs(System):
    """An external system whose outputs are already in the library; it can serve cached
    results only, and says so for an input it has no output for."""

    kind = "external"
    chunk_seconds = None

    def __init__(self, name: str, description: str) -> None:
        self.name, self.description = name, description

    def enhance_item(self, item_id: str, waveform: np.ndarray, sample_rate: int
                     ) -> np.ndarray:
        raise ExternalOutputsError(f"no output of {self.name} was imported for {item_id}")

    def _process(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        raise ExternalOutputsError(f"{self.name} only has imported outputs")


def system_catalog(session: Session, checkpoints_dir: Path | None = None) -> dict[str, System]:
    """Every system by name: built-in, checkpoints, and imported outputs in the database."""
    folder = checkpoints_dir if checkpoints_dir is not None and checkpoints_dir.is_dir() \
        else None
    systems = available_systems(folder)
    for row in session.scalars(select(SystemRow).where(
            SystemRow.kind == SystemKind.EXTERNAL.value).order_by(SystemRow.name)):
        systems.setdefault(row.name, ImportedOutputs(row.name, row.description))
    return systems


@dataclass
class OutputsImport:
    """What importing an outputs folder did."""

    system: str
    imported: list[str] = field(default_factory=list)
    inputs_without_output: list[str] = field(default_factory=list)
    outputs_without_input: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (f"System '{self.system}': {len(self.imported)} outputs imported, "
                f"{len(self.inputs_without_output)} inputs without an output, "
                f"{len(self.outputs_without_input)} files matching no input, "
                f"{len(self.refused)} refused.")


def import_outputs(sessions: sessionmaker[Session], store: AudioStore, folder: Path,
                   inputs: list[InputClip], *, name: str | None = None,
                   progress: ProgressCallback | None = None) -> OutputsImport:
    """Import the outputs in ``folder`` as system ``name`` (default: the folder's name),
    matched to ``inputs`` by file name without ending, as URGENT submissions are.

    Raises:
        LibraryError: the folder is missing or empty, or no file matches any input; nothing
            is stored then.
    """
    system = ExternalSystem(Path(folder), name=(name or "").strip() or None)
    with sessions() as session:
        taken = session.scalar(select(SystemRow).where(SystemRow.name == system.name))
        if system.name in available_systems() or (
                taken is not None and taken.kind != SystemKind.EXTERNAL.value):
            raise LibraryError(f"a system named '{system.name}' exists already; "
                               f"give the imported outputs another name")
    by_item = {item_id(clip.name): clip for clip in inputs}
    try:
        match = system.match(by_item)
    except ExternalOutputsError as exc:
        raise LibraryError(str(exc)) from exc
    report = OutputsImport(system.name, inputs_without_output=list(match.unmatched_inputs),
                           outputs_without_input=list(match.unmatched_outputs))
    for done, key in enumerate(match.matched, 1):
        try:
            enhance_clip(sessions, store, by_item[key].id, system)
        except EnhancementError as exc:
            report.refused.append((key, str(exc)))
        else:
            report.imported.append(key)
        if progress is not None:
            progress(done, len(match.matched), key)
    return report
