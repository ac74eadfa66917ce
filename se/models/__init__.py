"""SE model classes and their registry (model name -> class), which the checkpoint loader
in :mod:`se.systems.neural` uses."""

from se.models.bandsplit import (
    MODEL_NAME,
    URGENT_SAMPLE_RATES,
    BandSplitConfig,
    BandSplitNet,
    count_parameters,
    macs_per_second,
)

MODELS = {MODEL_NAME: BandSplitNet}

__all__ = ["MODELS", "MODEL_NAME", "URGENT_SAMPLE_RATES", "BandSplitConfig", "BandSplitNet",
           "count_parameters", "macs_per_second"]
