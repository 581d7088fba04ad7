"""The sweep law of each estimated chirp, from a curve fitted to its ridge.

The network locates chirps well, but its sweep-type head has not learnt to tell the
laws apart (on held-out scenes it is no better than chance; README, "The shipped
model"): which law a ridge follows is its curvature, a detail of a few bins. The
ridge-tracking baseline sees it: it follows the ridge to a fraction of a bin and fits
each law (linear, exponential, quadratic, hyperbolic) to it, keeping the one with the
smallest residual. `with_ridge_sweeps` runs it on the same spectrograms and gives each
estimate the law of the ridge that is the same chirp (`chirploc.inputs.same_chirp`);
an estimate no ridge matches keeps the network's answer.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from chirploc.describe import PRESENCE_THRESHOLD
from chirploc.types import ChirpEstimate


def with_ridge_sweeps(
    values: np.ndarray, times_s: np.ndarray, freqs_hz: np.ndarray, estimates: Sequence[Sequence[ChirpEstimate]]
) -> list[list[ChirpEstimate]]:
    """`estimates` (one list per spectrogram of values [N, freq, time], on the axes
    `times_s` and `freqs_hz`) with each sweep law taken from the matching ridge, where
    there is one. As many ridges are looked for per spectrogram as the most chirps any of
    them is estimated to hold (presence >= 0.5)."""
    from chirploc.baselines.ridge import RidgeTracker
    from chirploc.inputs import same_chirp
    from chirploc.synth.chirploc100k import on_chirploc100k_grid

    present = max((sum(e.presence >= PRESENCE_THRESHOLD for e in found) for found in estimates), default=0)
    if present == 0:
        return [list(found) for found in estimates]
    if on_chirploc100k_grid(times_s, freqs_hz):
        tracker = RidgeTracker.for_chirploc100k(max_chirps=present)
    else:
        tracker = RidgeTracker(max_chirps=present)
    ridges = tracker.estimate_batch(values, times_s, freqs_hz)
    out: list[list[ChirpEstimate]] = []
    for found, ridge in zip(estimates, ridges):
        mine = []
        for est in found:
            match = next((r for r in ridge if same_chirp(est, r)), None)
            mine.append(est if match is None else dataclasses.replace(est, sweep=match.sweep))
        out.append(mine)
    return out
