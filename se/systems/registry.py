"""Every system by name: the built-in ones, checkpoints found on disk, imported outputs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from se.systems.base import System
from se.systems.deepfilternet import DeepFilterNet3
from se.systems.external import ExternalSystem
from se.systems.identity import Unprocessed
from se.systems.mmse_lsa import MmseLsa
from se.systems.neural import discover_checkpoints
from se.systems.nsnet2 import NSNet2
from se.systems.rnnoise import RNNoise
from se.systems.spectral_gating import SpectralGating
from se.systems.wpe import Wpe, WpeMmseLsa

#: Systems that need nothing on disk, in the order they are listed. Constructing one is
#: cheap; heavy resources load on first use through cached loaders.
BUILTIN_SYSTEMS: dict[str, Callable[[], System]] = {
    "unprocessed": Unprocessed,
    "mmse_lsa": MmseLsa,
    "spectral_gating": SpectralGating,
    "wpe": Wpe,
    "wpe_mmse_lsa": WpeMmseLsa,
    "rnnoise": RNNoise,
    "deepfilternet3": DeepFilterNet3,
    "nsnet2": NSNet2,
}


def available_systems(checkpoints_dir: Path | None = None,
                      external_dirs: Sequence[Path] = ()) -> dict[str, System]:
    """All systems by name: built-in, then one per checkpoint, then one per outputs folder.

    Args:
        checkpoints_dir: folder whose ``*.pt`` files become neural systems.
        external_dirs: folders of another system's outputs, each named after its folder.

    Raises:
        ValueError: a folder does not exist, or two systems would share a name.
    """
    systems: dict[str, System] = {name: make() for name, make in BUILTIN_SYSTEMS.items()}
    extra: list[System] = []
    if checkpoints_dir is not None:
        extra.extend(discover_checkpoints(Path(checkpoints_dir)))
    for folder in external_dirs:
        if not Path(folder).is_dir():
            raise ValueError(f"outputs folder {folder} does not exist")
        extra.append(ExternalSystem(Path(folder)))
    for system in extra:
        if system.name in systems:
            raise ValueError(f"two systems are named '{system.name}' ({system.description}; "
                             f"{systems[system.name].description}); rename one")
        systems[system.name] = system
    return systems


def get_system(name: str, checkpoints_dir: Path | None = None,
               external_dirs: Sequence[Path] = ()) -> System:
    """The system called ``name``.

    Raises:
        ValueError: no system has that name (the message lists the ones there are).
    """
    if name in BUILTIN_SYSTEMS:
        return BUILTIN_SYSTEMS[name]()
    systems = available_systems(checkpoints_dir, external_dirs)
    if name not in systems:
        raise ValueError(f"unknown system '{name}'; available: {', '.join(systems)}")
    return systems[name]
