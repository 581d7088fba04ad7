"""chirploc: find chirps (frequency sweeps) in spectrograms, in seconds and hertz.

    model = chirploc.load_model()          # the model shipped with the package
    for chirp in model.predict(spectrogram_or_file):
        print(chirploc.describe(chirp))
"""

# the function, not the module of the same name (imported here first, so the name stays the function's)
from chirploc.describe import describe
from chirploc.types import SWEEP_TYPES, Chirp, ChirpEstimate, ChirpTable, SceneBatch, Spectrogram, normalize_sweep

__version__ = "0.1.0"


def load_model(path=None):
    """The shipped model (no argument), a model folder from `chirploc train`, or a LoRA
    adapter folder from `chirploc finetune`; see `chirploc.predict.load_model`."""
    from chirploc.predict import load_model as _load

    return _load(path)


__all__ = [
    "SWEEP_TYPES",
    "Chirp",
    "ChirpEstimate",
    "ChirpTable",
    "SceneBatch",
    "Spectrogram",
    "describe",
    "load_model",
    "normalize_sweep",
    "__version__",
]
