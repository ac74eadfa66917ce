"""Speech enhancement systems behind one interface: ``enhance(waveform, sample_rate)``."""

from se.systems.base import SYSTEM_KINDS, System, SystemKind, SystemOutputError, check_input
from se.systems.external import ExternalOutputsError, ExternalSystem, OutputMatch
from se.systems.neural import MODEL_CLASSES, CheckpointError, NeuralSystem
from se.systems.registry import BUILTIN_SYSTEMS, available_systems, get_system

__all__ = [
    "BUILTIN_SYSTEMS",
    "MODEL_CLASSES",
    "SYSTEM_KINDS",
    "CheckpointError",
    "ExternalOutputsError",
    "ExternalSystem",
    "NeuralSystem",
    "OutputMatch",
    "System",
    "SystemKind",
    "SystemOutputError",
    "available_systems",
    "check_input",
    "get_system",
]
