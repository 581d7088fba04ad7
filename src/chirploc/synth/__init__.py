"""Synthetic scenes: seeded, vectorised sources of labelled spectrograms."""

from __future__ import annotations

import inspect
from typing import Any

from chirploc.synth.base import BLOCK, Scene
from chirploc.synth.chirploc100k import ChirpLoc100KScene
from chirploc.synth.signal import SignalScene, spectrogram_of_signal

SCENES: dict[str, type[Scene]] = {"chirploc100k": ChirpLoc100KScene, "signal": SignalScene}


def register_scene(cls: type[Scene]) -> type[Scene]:
    SCENES[cls.name] = cls
    return cls


def parse_scene_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """'name' or 'name:key=value,key=value'; a value is read as int, float or text, and
    'lo/hi' as a range, e.g. 'signal:snr_db=5/15,window_s=16,min_chirps=0'."""

    def value_of(text: str) -> Any:
        if "/" in text:
            return tuple(value_of(part) for part in text.split("/"))
        for cast in (int, float):
            try:
                return cast(text)
            except ValueError:
                continue
        return text.strip()

    name, _, rest = spec.partition(":")
    params: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ValueError(f"scene {spec!r}: parameters are key=value pairs separated by commas")
        params[key.strip()] = value_of(value.strip())
    return name.strip().lower(), params


def get_scene(name: str, **params) -> Scene:
    """The scene called `name`, built with `params` (e.g. min_chirps, max_chirps)."""
    if name not in SCENES:
        raise ValueError(f"unknown scene {name!r}: choose one of {', '.join(sorted(SCENES))}")
    known = [p for p in inspect.signature(SCENES[name]).parameters if p != "self"]
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r} for scene {name}: choose from {', '.join(known)}")
    return SCENES[name](**params)


__all__ = [
    "BLOCK", "SCENES", "Scene", "ChirpLoc100KScene", "SignalScene", "get_scene", "parse_scene_spec", "register_scene",
    "spectrogram_of_signal",
]
