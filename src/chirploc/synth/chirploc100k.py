"""The ChirpLoc100K scene: the public benchmark's generator, quirks included.

A 60 s x 100 Hz plane on a 128 x 128 grid. Each chirp is painted straight onto
the grid as a Gaussian ridge (no waveform, no STFT), then noise is added and the
whole plane smoothed, exactly as `chirp-spectrogram-generator` 0.1.6 does:
floor-truncated bin positions, an exponential chirp from bin 0 moved to bin 1,
the ridge stopping one column short of its end frequency. Only the random
numbers differ: ours are seeded and drawn a block of scenes at a time.
"""

from __future__ import annotations

import numpy as np

from chirploc.synth.base import BLOCK, Scene, block_rng, draw_chirp_counts
from chirploc.synth.blur import PLANES_PER_PASS, gaussian_blur_planes
from chirploc.types import SWEEP_TYPES, ChirpTable, SceneBatch, bin_centres

DURATION_S = 60.0
MAX_FREQ_HZ = 100.0
N_TIME = 128
N_FREQ = 128
MAX_CHIRP_S = 15.0
MIN_CHIRP_S = 1.0
MAX_BAND_HZ = 30.0
NOISE_RANGE = (0.09, 0.3)
RIDGE_HALF_WIDTH = 2  # rows painted on each side of the ridge centre
_LINEAR = SWEEP_TYPES.index("linear")
_EXPONENTIAL = SWEEP_TYPES.index("exponential")


class ChirpLoc100KScene(Scene):
    name = "chirploc100k"

    @property
    def times_s(self) -> np.ndarray:
        return bin_centres(0.0, DURATION_S, N_TIME)

    @property
    def freqs_hz(self) -> np.ndarray:
        return bin_centres(0.0, MAX_FREQ_HZ, N_FREQ)

    def draw_labels(self, rng: np.random.Generator, n: int) -> ChirpTable:
        present = draw_chirp_counts(rng, n, self.min_chirps, self.max_chirps)
        shape = present.shape
        start = rng.uniform(0.0, DURATION_S - MAX_CHIRP_S, shape)
        duration = rng.uniform(MIN_CHIRP_S, MAX_CHIRP_S, shape)
        f0 = rng.uniform(0.0, MAX_FREQ_HZ, shape)
        f1 = np.clip(f0 + rng.uniform(-MAX_BAND_HZ, MAX_BAND_HZ, shape), 0.0, MAX_FREQ_HZ)
        sweep = np.where(rng.random(shape) < 0.5, _LINEAR, _EXPONENTIAL).astype(np.int8)
        zero = ~present
        return ChirpTable(
            np.where(zero, 0.0, start), np.where(zero, 0.0, duration), np.where(zero, 0.0, f0),
            np.where(zero, 0.0, f1), np.where(zero, 0, sweep).astype(np.int8), present,
        )

    def block(self, seed: int, block_index: int) -> SceneBatch:
        values = np.empty((BLOCK, N_FREQ, N_TIME), dtype=np.float32)
        labels, noise = self.block_into(seed, block_index, values)
        return SceneBatch(values, self.times_s, self.freqs_hz, labels, noise, self.name)

    def block_into(self, seed: int, block_index: int, out: np.ndarray) -> tuple[ChirpTable, np.ndarray]:
        rng = block_rng(seed, block_index)
        labels = self.draw_labels(rng, BLOCK)
        noise = rng.uniform(*NOISE_RANGE, BLOCK)
        scale = noise.astype(np.float32)[:, None, None]
        cells, weights = ridge_cells(labels)
        # A few planes at a time, each step while the planes are still in the CPU cache; the
        # normals come from the one generator in order, so the draws do not depend on the split.
        bounds = np.searchsorted(cells, np.arange(0, BLOCK + 1, PLANES_PER_PASS) * N_FREQ * N_TIME)
        for part, lo in enumerate(range(0, BLOCK, PLANES_PER_PASS)):
            planes = out[lo : lo + PLANES_PER_PASS]
            rng.standard_normal(planes.shape, dtype=np.float32, out=planes)
            planes *= scale[lo : lo + PLANES_PER_PASS]
            mine = slice(bounds[part], bounds[part + 1])
            np.add.at(planes.reshape(-1), cells[mine] - lo * N_FREQ * N_TIME, weights[mine])
            gaussian_blur_planes(planes)
        return labels, noise


def on_chirploc100k_grid(times_s: np.ndarray, freqs_hz: np.ndarray) -> bool:
    """Whether bin centres lie on ChirpLoc100K's 128 x 128 grid over 0-60 s and 0-100 Hz."""
    times_s, freqs_hz = np.asarray(times_s), np.asarray(freqs_hz)
    return (
        times_s.shape == (N_TIME,) and freqs_hz.shape == (N_FREQ,)
        and np.allclose(times_s, bin_centres(0.0, DURATION_S, N_TIME))
        and np.allclose(freqs_hz, bin_centres(0.0, MAX_FREQ_HZ, N_FREQ))
    )


def ridge_bins(labels: ChirpTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start column, end column (exclusive) and start/end frequency rows, floor-truncated as the public generator."""
    sb = np.floor(labels.start_time_s * N_TIME / DURATION_S).astype(np.int64)
    eb = sb + np.floor(labels.duration_s * N_TIME / DURATION_S).astype(np.int64)
    fb0 = np.floor(labels.start_freq_hz * N_FREQ / MAX_FREQ_HZ)
    fb1 = np.floor(labels.end_freq_hz * N_FREQ / MAX_FREQ_HZ)
    fb0 = np.where((labels.sweep == _EXPONENTIAL) & (fb0 == 0), 1.0, fb0)
    return sb, eb, np.stack([fb0, fb1])


def ridge_centres(
    sb: np.ndarray, ncol: np.ndarray, fb0: np.ndarray, fb1: np.ndarray, exponential: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The ridge's centre row in each column of K chirps: fb [K, W] (clipped to the grid) and
    which of the W columns are drawn [K, W], from `ridge_bins`' integers (fb0 already moved
    off row 0 for an exponential chirp) and the law (True: exponential)."""
    fb0, fb1 = np.asarray(fb0, dtype=np.float64), np.asarray(fb1, dtype=np.float64)
    width = int(ncol.max(initial=1))
    j = np.arange(width)[None, :]
    inside = (j < ncol[:, None]) & (sb[:, None] + j < N_TIME)
    tn = j / np.maximum(ncol, 1)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        fb_lin = fb0[:, None] + (fb1 - fb0)[:, None] * tn
        fb_exp = fb0[:, None] * (fb1 / np.where(fb0 == 0, 1.0, fb0))[:, None] ** tn
    return np.clip(np.where(exponential[:, None], fb_exp, fb_lin), 0, N_FREQ - 1), inside


def ridge_rows(fb: np.ndarray, inside: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows painted around ridge centres `fb` [K, W] (`ridge_centres`): rows and their
    Gaussian weights [K, W, 5], and which of them are painted (a drawn column, on the grid)."""
    rows = np.floor(fb)[..., None].astype(np.int64) + np.arange(-RIDGE_HALF_WIDTH, RIDGE_HALF_WIDTH + 1)
    weight = np.exp(-((rows - fb[..., None]) ** 2))
    return rows, weight, inside[..., None] & (rows >= 0) & (rows < N_FREQ)


def ridge_cells(labels: ChirpTable) -> tuple[np.ndarray, np.ndarray]:
    """Every present chirp's painted cells: flat indices into planes [N, 128, 128], in
    ascending scene order, and their float32 weights (a cell two chirps cross appears twice)."""
    sb, eb, (fb0, fb1) = ridge_bins(labels)
    scene, slot = np.nonzero(labels.present)
    sb, eb, fb0, fb1 = sb[scene, slot], eb[scene, slot], fb0[scene, slot], fb1[scene, slot]
    fb, inside = ridge_centres(sb, eb - sb, fb0, fb1, labels.sweep[scene, slot] == _EXPONENTIAL)
    rows, weight, keep = ridge_rows(fb, inside)  # [chirp, col, 5]
    cols = np.broadcast_to((sb[:, None] + np.arange(fb.shape[1]))[..., None], rows.shape)
    which = np.broadcast_to(scene[:, None, None], rows.shape)
    flat = (which[keep] * N_FREQ + rows[keep]) * N_TIME + cols[keep]
    return flat, weight[keep].astype(np.float32)


def paint_ridges(labels: ChirpTable) -> np.ndarray:
    """Zero planes [N, 128, 128] (float32) with every present chirp's ridge added."""
    planes = np.zeros((len(labels), N_FREQ, N_TIME), dtype=np.float32)
    cells, weights = ridge_cells(labels)
    np.add.at(planes.reshape(-1), cells, weights)
    return planes
