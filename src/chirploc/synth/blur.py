"""The Gaussian blur of ChirpLoc100K planes (sigma 1 cell, 9 taps, 'reflect' edges), fast.

The same filter as `scipy.ndimage.gaussian_filter(values, sigma=(0, 1, 1))` (agreeing to
within 1e-6 of the planes' range), computed as a symmetric sum of shifted copies in
float32, a few planes at a time so that they stay in the CPU cache (faster than scipy's
here; the data-engine benchmark, benchmarks/bench_data.py, measures the whole scene). Only element-wise IEEE float32 operations in a
fixed order, so the bits depend on the inputs alone, not on the machine's vector width
or thread count.
"""

from __future__ import annotations

import numpy as np

RADIUS = 4  # scipy's truncate=4.0 at sigma 1
PLANES_PER_PASS = 8  # 8 planes of 128 x 128 float32 (0.5 MB) and their buffers fit in L2


def _taps() -> list[np.float32]:
    x = np.arange(-RADIUS, RADIUS + 1, dtype=np.float64)
    w = np.exp(-0.5 * x**2)
    w /= w.sum()
    return [np.float32(v) for v in w[RADIUS:]]  # centre tap first, then each symmetric pair's


_TAPS = _taps()


class _AxisPass:
    """Blur along one axis (1: rows, 2: columns) of [planes, n, m], through reused buffers."""

    def __init__(self, axis: int, shape: tuple[int, int, int]) -> None:
        self.axis = axis
        padded = list(shape)
        padded[axis] += 2 * RADIUS
        self.pad = np.empty(padded, dtype=np.float32)
        self.acc = np.empty(shape, dtype=np.float32)
        self.tmp = np.empty(shape, dtype=np.float32)

    def _span(self, lo: int, hi: int) -> tuple[slice, ...]:
        return (slice(None),) * self.axis + (slice(lo, hi),)

    def __call__(self, planes: np.ndarray) -> None:
        n = planes.shape[self.axis]
        count = planes.shape[0]
        pad, acc, tmp = self.pad[:count], self.acc[:count], self.tmp[:count]
        span = self._span
        # 'reflect' (d c b a | a b c d | d c b a): the edge sample repeats
        pad[span(RADIUS, n + RADIUS)] = planes
        pad[span(0, RADIUS)] = np.flip(planes[span(0, RADIUS)], axis=self.axis)
        pad[span(n + RADIUS, n + 2 * RADIUS)] = np.flip(planes[span(n - RADIUS, n)], axis=self.axis)
        np.multiply(pad[span(RADIUS, n + RADIUS)], _TAPS[0], out=acc)
        for k in range(1, RADIUS + 1):
            np.add(pad[span(RADIUS - k, n + RADIUS - k)], pad[span(RADIUS + k, n + RADIUS + k)], out=tmp)
            tmp *= _TAPS[k]
            acc += tmp
        planes[...] = acc


def gaussian_blur_planes(values: np.ndarray) -> None:
    """Blur each plane of float32 `values` [N, n, m] in place by a Gaussian of sigma 1 cell."""
    if values.dtype != np.float32 or values.ndim != 3:
        raise ValueError(f"expected float32 planes [N, n, m], got {values.dtype} {values.shape}")
    if min(values.shape[1:]) < RADIUS:
        raise ValueError(f"planes must be at least {RADIUS} cells on each side, got {values.shape[1:]}")
    shape = (min(PLANES_PER_PASS, len(values)),) + values.shape[1:]
    passes = (_AxisPass(1, shape), _AxisPass(2, shape))
    for lo in range(0, len(values), PLANES_PER_PASS):
        chunk = values[lo : lo + PLANES_PER_PASS]
        for blur_along in passes:
            blur_along(chunk)
