"""chirploc: find chirps (frequency sweeps) in spectrograms, in seconds and hertz."""

from chirploc.types import SWEEP_TYPES, Chirp, ChirpEstimate, ChirpTable, SceneBatch, Spectrogram, normalize_sweep

__version__ = "0.1.0"

__all__ = [
    "SWEEP_TYPES",
    "Chirp",
    "ChirpEstimate",
    "ChirpTable",
    "SceneBatch",
    "Spectrogram",
    "normalize_sweep",
    "__version__",
]
