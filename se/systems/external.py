"""Another system's outputs, imported from a folder and matched to our inputs by file name.

URGENT submissions are folders of enhanced files named like the inputs, and the same rule
matches them here: the output for input ``fileid_12`` is ``fileid_12`` with any audio ending.
Outputs are checked, never repaired: a different rate, length or channel count than the
input is refused, as the URGENT rules require the input's rate and length.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from audio.io import is_audio_filename, load_audio
from se.systems.base import System, check_input

#: How many names a message lists before saying "and N more".
_NAMES_SHOWN = 5


class ExternalOutputsError(ValueError):
    """An outputs folder or one of its files cannot be used; the message says why."""


def _names(names: Iterable[str]) -> str:
    names = list(names)
    shown = ", ".join(names[:_NAMES_SHOWN])
    return shown if len(names) <= _NAMES_SHOWN else f"{shown} and {len(names) - _NAMES_SHOWN} more"


@dataclass(frozen=True)
class OutputMatch:
    """How a folder of outputs lines up with a set of inputs.

    Attributes:
        matched: input id -> output file.
        unmatched_inputs: input ids without an output (not enhanced by that system).
        unmatched_outputs: output names that match no input (ignored).
    """

    matched: dict[str, Path]
    unmatched_inputs: tuple[str, ...]
    unmatched_outputs: tuple[str, ...]

    def summary(self) -> str:
        """One line for the user, naming what did not match in either direction."""
        total = len(self.matched) + len(self.unmatched_inputs)
        parts = [f"{len(self.matched)} of {total} inputs have an output"]
        if self.unmatched_inputs:
            parts.append(f"no output for: {_names(self.unmatched_inputs)}")
        if self.unmatched_outputs:
            parts.append(f"outputs matching no input: {_names(self.unmatched_outputs)}")
        return "; ".join(parts)


def index_outputs(folder: Path) -> dict[str, Path]:
    """Audio files directly in ``folder``, by file name without ending.

    Raises:
        ExternalOutputsError: no such folder, no audio files in it, or two files with the
            same name and different endings (which one is the output would be a guess).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ExternalOutputsError(f"outputs folder {folder} does not exist")
    index: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if not (path.is_file() and is_audio_filename(path.name)):
            continue
        if path.stem in index:
            raise ExternalOutputsError(f"{folder}: two outputs named {path.stem} "
                                       f"({index[path.stem].name} and {path.name})")
        index[path.stem] = path
    if not index:
        raise ExternalOutputsError(f"outputs folder {folder} holds no audio files")
    return index


def match_outputs(folder: Path, input_ids: Iterable[str]) -> OutputMatch:
    """Match the outputs in ``folder`` to ``input_ids`` by name.

    Raises:
        ExternalOutputsError: see :func:`index_outputs`, or no output matches any input.
    """
    index = index_outputs(folder)
    ids = list(dict.fromkeys(input_ids))
    matched = {item: index[item] for item in ids if item in index}
    if not matched:
        raise ExternalOutputsError(
            f"none of the {len(index)} files in {folder} is named like one of the "
            f"{len(ids)} inputs (outputs: {_names(index)}; inputs: {_names(ids)})")
    return OutputMatch(matched=matched,
                       unmatched_inputs=tuple(i for i in ids if i not in index),
                       unmatched_outputs=tuple(n for n in index if n not in matched))


class ExternalSystem(System):
    """Outputs that another system produced elsewhere; "enhancing" an input looks up its
    output by name, so only :meth:`enhance_item` works, not :meth:`enhance`."""

    kind = "external"
    chunk_seconds = None

    def __init__(self, folder: Path, *, name: str | None = None,
                 description: str | None = None) -> None:
        self.folder = Path(folder)
        self.name = name or self.folder.name
        self.description = description or f"outputs imported from {self.folder}"
        self._index: dict[str, Path] | None = None

    def outputs(self) -> dict[str, Path]:
        """The folder's outputs by name, read once (see :func:`index_outputs`)."""
        if self._index is None:
            self._index = index_outputs(self.folder)
        return self._index

    def match(self, input_ids: Iterable[str]) -> OutputMatch:
        """See :func:`match_outputs`."""
        return match_outputs(self.folder, input_ids)

    def enhance_item(self, item_id: str, waveform: np.ndarray, sample_rate: int
                     ) -> np.ndarray:
        """The imported output for input ``item_id``, checked against that input.

        Raises:
            AudioError: the input or the output file is unusable.
            ExternalOutputsError: no output of that name, or its rate, length or channel
                count differs from the input's.
        """
        x = check_input(waveform, sample_rate, name=item_id)
        path = self.outputs().get(item_id)
        if path is None:
            raise ExternalOutputsError(f"{self.folder} has no output named {item_id}")
        out = load_audio(path, mono=False, max_seconds=None)
        if out.channels != 1:
            raise ExternalOutputsError(f"{path.name}: output has {out.channels} channels, "
                                       "expected mono")
        if out.sample_rate != sample_rate:
            raise ExternalOutputsError(f"{path.name}: output is {out.sample_rate} Hz but its "
                                       f"input is {sample_rate} Hz")
        if out.num_frames != x.shape[0]:
            raise ExternalOutputsError(f"{path.name}: output has {out.num_frames} samples but "
                                       f"its input has {x.shape[0]}")
        return np.ascontiguousarray(out.samples, dtype=np.float32)

    def _process(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        raise ExternalOutputsError(f"{self.name} holds another system's outputs, found by "
                                   "input name: use enhance_item(name, waveform, rate)")
