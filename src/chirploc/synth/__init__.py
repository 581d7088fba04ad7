"""Synthetic scenes: seeded, vectorised sources of labelled spectrograms."""

from __future__ import annotations

from chirploc.synth.base import BLOCK, Scene
from chirploc.synth.chirploc100k import ChirpLoc100KScene
from chirploc.synth.signal import SignalScene, spectrogram_of_signal

SCENES: dict[str, type[Scene]] = {"chirploc100k": ChirpLoc100KScene, "signal": SignalScene}


def register_scene(cls: type[Scene]) -> type[Scene]:
    SCENES[cls.name] = cls
    return cls


def get_scene(name: str, **params) -> Scene:
    """The scene called `name`, built with `params` (e.g. min_chirps, max_chirps)."""
    if name not in SCENES:
        raise ValueError(f"unknown scene {name!r}: choose one of {', '.join(sorted(SCENES))}")
    return SCENES[name](**params)


__all__ = [
    "BLOCK", "SCENES", "Scene", "ChirpLoc100KScene", "SignalScene", "get_scene", "register_scene",
    "spectrogram_of_signal",
]
