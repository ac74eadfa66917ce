"""URGENT-style simulation of noisy/clean pairs: config, manifests, sources, mixing.

``python -m se.simulate`` writes a data set with it; :mod:`se.data` draws mixtures on the fly.
"""

from se.simulation.config import SimulationConfig, SourcesConfig, SyntheticConfig
from se.simulation.manifest import (
    MixtureRecord,
    NoiseItem,
    RirItem,
    SpeechItem,
    read_jsonl,
    write_jsonl,
)
from se.simulation.mix import (
    FILE_GAIN,
    file_gain,
    make_mixture,
    mixture_seed,
    rebuild,
    render,
)
from se.simulation.sources import Pools, build_pools

__all__ = ["FILE_GAIN", "MixtureRecord", "NoiseItem", "Pools", "RirItem", "SimulationConfig",
           "SourcesConfig", "SpeechItem", "SyntheticConfig", "build_pools", "file_gain",
           "make_mixture", "mixture_seed", "read_jsonl", "rebuild", "render", "write_jsonl"]
