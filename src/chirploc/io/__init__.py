"""Reading and writing chirploc's files, and the public ChirpLoc100K layout.

- `chirploc.io.figure`: ChirpLoc100K figures (PNG) written and read back, bare
  spectrogram images read.
- `chirploc.io.chirploc100k`: the public data set's folder (spectrogram_{i}.png
  with one labels.csv).
- `chirploc.io.errors`: `ChirpLocIOError`, raised for any file chirploc cannot use.

Names are imported on first use, so `import chirploc.io` stays light.
"""

from __future__ import annotations

from importlib import import_module

from chirploc.io.errors import ChirpLocIOError

_LAZY = {
    "render_figure_png": "chirploc.io.figure",
    "read_figure": "chirploc.io.figure",
    "read_image": "chirploc.io.figure",
    "is_chirploc100k_figure": "chirploc.io.figure",
    "ChirpLoc100KFolder": "chirploc.io.chirploc100k",
    "format_label_row": "chirploc.io.chirploc100k",
    "read_labels_csv": "chirploc.io.chirploc100k",
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'chirploc.io' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["ChirpLocIOError", *_LAZY]
