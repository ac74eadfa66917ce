"""Shared signal code: audio I/O and validation, resampling, spectra, figures, degradations.

Imports nothing else of this project, so SE and SQA jobs can use it on a cluster where no
web app runs.
"""

from audio.io import Audio, AudioError, load_audio, save_audio
from audio.resample import resample

__all__ = ["Audio", "AudioError", "load_audio", "resample", "save_audio"]
