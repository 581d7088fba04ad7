"""Template refinement of chirp estimates on ChirpLoc100K scenes.

On a ChirpLoc100K scene the picture is a known function of five integers
(start column ``sb``, column count ``ncol``, start and end rows ``fb0``/``fb1``
and the sweep law; see `chirploc.synth.chirploc100k`): the ridge is painted
from them, white noise is added and the plane is blurred by a Gaussian of one
cell (scipy 'reflect'). Given a network's estimate we search those integers for
the painted ridge that explains the data best and report the centre of the label
interval the winning integers imply.

Scoring. The blur is undone (a Wiener-regularised inverse of the exact
reflect-mode blur matrix, in its eigenbasis), which turns the noise white, so
the least-squares fit ``D ~ a*P + b`` of the painted ridge P (sparse: 5 rows a
column) is the maximum-likelihood fit and costs a gather of a few hundred
cells per candidate. The offset b is the median of D (the ridge covers < 1 %
of the plane) and a > 0 is fitted per candidate, so per-image min-max rescaled
figures read back from PNG work as well as raw arrays; a candidate's score is
its residual reduction ``(sum w*D)**2 / sum w**2``. The regularisation
(`kappa`, relative to the data range) keeps the quantisation of PNG figures
from being amplified; on raw arrays it costs little.

Search. Hill climbing over all 3**4 moves of (sb, ncol, fb0, fb1) by -1/0/+1
and both laws, alternated with exhaustive line scans of one integer at a time
(and of the length and start column along the ridge, slope kept), from the
network's estimate and from a climb of it on the *blurred* data (a smooth score
with a wide basin); the final climbs use the deblurred score. When the network
is unsure (any standard deviation above `wide_search_bins` cells) or the local
fit is weak (statistic below `scan_below_z`), the search also starts from a
whole-plane matched-filter scan for short straight ridges (2..8 columns, every
start cell, slopes in steps that keep the drift under one row): running sums
of row-filtered deblurred data along each slope, whose strongest local maxima
seed further climbs. A last scan moves each end row over its whole range
jointly with the start column and length (`_end_rows`). The best deblurred
score wins.

Answer. Where the winning ridge stands clearly out of the noise, the answer is
the centre of the label interval its integers imply. Where it may be a peak of
the noise (a detection statistic below 40: such a ridge is the chirp about one
time in three below 33), the answer is the mean of 'it is the chirp' and 'the
chirp is anywhere the generator puts one', weighted by how often each is so
(`hedged_centres`): the estimate with the least expected squared error, with
the standard deviation of that mixture as its uncertainty. The presence is the
network's except where the statistic decides (`fitted_presence`): from 60, more
than chirp-free scenes reach, it is at least 0.99; below 36, where most chirp-free
scenes end and almost no chirp does, at most 0.05.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np
from scipy.ndimage import correlate1d, gaussian_filter1d, maximum_filter

from chirploc.synth.chirploc100k import (
    DURATION_S, MAX_BAND_HZ, MAX_CHIRP_S, MAX_FREQ_HZ, MIN_CHIRP_S, N_FREQ, N_TIME, RIDGE_HALF_WIDTH,
    ridge_bins, ridge_rows,
)
from chirploc.synth.chirploc100k import ridge_centres as chirploc100k_ridge_centres
from chirploc.types import SWEEP_TYPES, ChirpEstimate, ChirpTable, end_time_std

DT_S = DURATION_S / N_TIME  # 0.46875 s per column
DF_HZ = MAX_FREQ_HZ / N_FREQ  # 0.78125 Hz per row
BLUR_SIGMA = 1.0
LINEAR, EXPONENTIAL = SWEEP_TYPES.index("linear"), SWEEP_TYPES.index("exponential")

# The generator's label ranges, as limits on the integers.
SB_MAX = int(np.floor((DURATION_S - MAX_CHIRP_S) * N_TIME / DURATION_S))  # 96
NCOL_MIN = int(np.floor(MIN_CHIRP_S * N_TIME / DURATION_S))  # 2
NCOL_MAX = int(np.floor(MAX_CHIRP_S * N_TIME / DURATION_S))  # 32
FB_MAX = N_FREQ  # fb1 = 128 means f1 = 100 Hz exactly
BAND_MAX = int(np.ceil(MAX_BAND_HZ * N_FREQ / MAX_FREQ_HZ))  # 39 rows

#: Quantisation noise of a figure read back from PNG, as a fraction of the value range.
DEFAULT_KAPPA = 0.002
_BLURRED_NOISE = 1.0 / (2.0 * np.sqrt(np.pi) * BLUR_SIGMA)  # std of blurred unit white noise
_OFFSETS = np.arange(-RIDGE_HALF_WIDTH, RIDGE_HALF_WIDTH + 1)
_STEPS = np.stack(np.meshgrid(*[np.arange(-1, 2)] * 4, indexing="ij"), -1).reshape(-1, 4)


def _blur_matrix(n: int) -> np.ndarray:
    """B with B @ x == gaussian_filter1d(x, 1, mode='reflect') (B[out, in]); B is symmetric."""
    return gaussian_filter1d(np.eye(n), BLUR_SIGMA, axis=0, mode="reflect")


_LAM, _U = np.linalg.eigh(_blur_matrix(N_TIME))  # N_TIME == N_FREQ
_L2 = np.outer(_LAM, _LAM)


@dataclass(frozen=True)
class Fit:
    """The best ridge of one chirp: its integers, law code and fit quality."""

    sb: int
    ncol: int
    fb0: int
    fb1: int
    law: int
    gain: float  # residual reduction of the best ridge (deblurred data)
    z: float  # gain / noise variance per cell: the ridge's detection statistic


def ridge_centres(cands: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ridge centre row fb [K, W] and inside mask for candidates [K, 5] (sb, ncol, fb0, fb1, law),
    drawn as `chirploc.synth.chirploc100k` paints them."""
    exponential = cands[:, 4] == EXPONENTIAL
    fb0 = np.where(exponential & (cands[:, 2] == 0), 1, cands[:, 2])
    return chirploc100k_ridge_centres(cands[:, 0], cands[:, 1], fb0, cands[:, 3], exponential)


def paint_sparse(cands: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Painted cells of candidates [K, 5]: rows, cols and weights, each [K, W, 5] (weight 0 = no cell)."""
    fb, inside = ridge_centres(cands)
    rows, w, painted = ridge_rows(fb, inside)
    w *= painted
    cols = np.minimum(cands[:, :1] + np.arange(fb.shape[1]), N_TIME - 1)[..., None]
    return np.clip(rows, 0, N_FREQ - 1), np.broadcast_to(cols, rows.shape), w


def scores(data: np.ndarray, cands: np.ndarray) -> np.ndarray:
    """Residual reduction of the LS fit data ~ a*P (a > 0, else no reduction) of each candidate.

    `data` is one offset-free plane [128, 128] (blurred or deblurred).
    """
    rows, cols, w = paint_sparse(cands)
    cov = np.einsum("kwo,kwo->k", w, data[rows, cols])
    var = np.maximum(np.einsum("kwo,kwo->k", w, w), 1e-12)
    return np.where(cov > 0, cov * cov / var, 0.0)


def deblur(values: np.ndarray, kappa: float = DEFAULT_KAPPA) -> tuple[np.ndarray, float]:
    """Wiener-deblurred plane (offset removed) and the std of its noise, for one scene [128, 128].

    The regulariser is (kappa * value range / noise std)**2, the noise std being
    estimated from the median absolute deviation of the blurred plane.
    """
    s = values.astype(np.float64)
    s = s - np.median(s)
    sigma = max(1.4826 * float(np.median(np.abs(s))) / _BLURRED_NOISE, 1e-12)
    rho = (kappa * float(s.max() - s.min()) / sigma) ** 2
    d = _U @ ((_L2 / (_L2**2 + rho)) * (_U.T @ s @ _U)) @ _U.T
    d -= np.median(d)
    noise = 1.4826 * float(np.median(np.abs(d)))
    return d, max(noise, 1e-12)


def clip_candidates(cands: np.ndarray) -> np.ndarray:
    """Candidates moved into the generator's ranges, duplicates dropped."""
    c = np.array(cands, dtype=np.int64, copy=True)
    c[:, 0] = np.clip(c[:, 0], 0, SB_MAX)
    c[:, 1] = np.clip(c[:, 1], NCOL_MIN, NCOL_MAX)
    c[:, 2] = np.clip(c[:, 2], 0, N_FREQ - 1)
    c[:, 3] = np.clip(c[:, 3], np.maximum(c[:, 2] - BAND_MAX, 0), np.minimum(c[:, 2] + BAND_MAX, FB_MAX))
    c[:, 4] = np.where(c[:, 4] == EXPONENTIAL, EXPONENTIAL, LINEAR)
    c[:, 2] = np.where(c[:, 4] == EXPONENTIAL, np.maximum(c[:, 2], 1), c[:, 2])
    key = (((c[:, 0] * 64 + c[:, 1]) * 256 + c[:, 2]) * 256 + c[:, 3]) * 2 + c[:, 4]
    return c[np.unique(key, return_index=True)[1]]


def _neighbours(best: np.ndarray) -> np.ndarray:
    """The 3**4 moves of (sb, ncol, fb0, fb1), both laws (162 candidates)."""
    m = np.empty((2 * len(_STEPS), 5), np.int64)
    m[:, :4] = np.tile(best[:4] + _STEPS, (2, 1))
    m[: len(_STEPS), 4] = LINEAR
    m[len(_STEPS):, 4] = EXPONENTIAL
    return clip_candidates(m)


def _row_at(best: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Row of the ridge of `best` extended to column offsets `k` from its start (its own law)."""
    sb, ncol, fb0, fb1, law = (int(v) for v in best)
    if law == EXPONENTIAL:
        rows = max(fb0, 1) * (max(fb1, 1) / max(fb0, 1)) ** (k / ncol)
    else:
        rows = fb0 + (fb1 - fb0) * k / ncol
    return np.rint(np.clip(rows, 0, FB_MAX))  # far extensions of a steep sweep stay in range


def _lines(best: np.ndarray, sb_reach: int = 8) -> np.ndarray:
    """One integer at a time over its whole allowed range (start row, end row, length, start
    column with the end kept), length and start column also along the ridge (the other end
    and the slope kept), both laws."""
    sb, ncol, fb0, fb1, _ = best
    parts = []
    f = np.arange(N_FREQ)
    c = np.repeat(best[None], N_FREQ, 0)
    c[:, 2] = f
    parts.append(c[np.abs(f - fb1) <= BAND_MAX])
    f = np.arange(FB_MAX + 1)
    c = np.repeat(best[None], FB_MAX + 1, 0)
    c[:, 3] = f
    parts.append(c[np.abs(f - fb0) <= BAND_MAX])
    n = np.arange(NCOL_MIN, NCOL_MAX + 1)
    c = np.repeat(best[None], len(n), 0)
    c[:, 1] = n
    parts.append(c.copy())
    c[:, 3] = _row_at(best, n)
    parts.append(c)
    s = np.arange(sb - sb_reach, sb + sb_reach + 1)
    c = np.repeat(best[None], len(s), 0)
    c[:, 0] = s
    c[:, 1] = sb + ncol - s
    parts.append(c.copy())
    c[:, 2] = _row_at(best, s - sb)
    parts.append(c)
    m = np.concatenate(parts)
    other = m.copy()
    other[:, 4] = EXPONENTIAL + LINEAR - other[:, 4]
    return clip_candidates(np.concatenate([m, other]))


def _end_rows(best: np.ndarray) -> np.ndarray:
    """Each end row over its whole allowed range jointly with every start column and column count
    one step away, both laws: a ridge whose first column alone leaves its row (an exponential
    sweep to 0 Hz is painted at row 0 after its first column) is found only by moving all three."""
    shifts = np.stack(np.meshgrid(np.arange(-1, 2), np.arange(-1, 2), indexing="ij"), -1).reshape(-1, 2)
    parts = []
    for j, other in ((2, 3), (3, 2)):
        rows = np.arange(FB_MAX + 1)
        rows = rows[np.abs(rows - best[other]) <= BAND_MAX]
        c = np.repeat(best[None], len(shifts) * len(rows), 0)
        c[:, :2] += np.repeat(shifts, len(rows), 0)
        c[:, j] = np.tile(rows, len(shifts))
        parts.append(c)
    m = np.concatenate(parts)
    other = m.copy()
    other[:, 4] = EXPONENTIAL + LINEAR - other[:, 4]
    return clip_candidates(np.concatenate([m, other]))


def _climb(data: np.ndarray, best: np.ndarray, lines: bool, max_steps: int = 40) -> tuple[np.ndarray, float]:
    g = scores(data, best[None])
    best_gain = float(g[0])
    scanned = not lines
    for _ in range(max_steps):
        moves = _neighbours(best)
        g = scores(data, moves)
        k = int(np.argmax(g))
        if g[k] > best_gain:
            best, best_gain, scanned = moves[k], float(g[k]), not lines
            continue
        if scanned:
            break
        moves = _lines(best)
        g = scores(data, moves)
        k = int(np.argmax(g))
        scanned = True
        if g[k] > best_gain:
            best, best_gain = moves[k], float(g[k])
        else:
            break
    return best, best_gain


def _scan_slopes(ncol_max: int, tol: float) -> list[tuple[float, int]]:
    """(slope in rows per column, longest ncol searched at that slope) for the short-ridge scan:
    steps of tol/(n-1) rows per column, so that over n columns the drift error stays below tol."""
    grid: list[tuple[float, int]] = []
    s = 0.0
    while True:
        n = ncol_max if s == 0 else min(ncol_max, int(BAND_MAX // s))
        if n < NCOL_MIN:
            break
        grid.append((s, n))
        s += tol / (n - 1)
    return grid + [(-s, n) for s, n in grid if s > 0]


SCAN_NCOL_MAX = 8
_SCAN_SLOPES = _scan_slopes(SCAN_NCOL_MAX, tol=1.0)
#: every (slope, ncol) the scan looks at, as the end-row offset and ncol of a candidate
_SCAN_NCOL = np.array([n for _, n_max in _SCAN_SLOPES for n in range(NCOL_MIN, n_max + 1)], np.int64)
_SCAN_DFB = np.rint([s * n for s, n_max in _SCAN_SLOPES for n in range(NCOL_MIN, n_max + 1)]).astype(np.int64)
_ROW_KERNEL = np.exp(-_OFFSETS.astype(np.float64) ** 2)


def _scan_starts(sharp: np.ndarray, keep: int) -> list[np.ndarray]:
    """Starting candidates from a matched-filter scan for short straight ridges (2..SCAN_NCOL_MAX
    columns, every start cell, slopes as `_SCAN_SLOPES`) on the deblurred plane: the `keep`
    strongest local maxima of the best normalised line sum, each with its best (ncol, fb1)."""
    g = correlate1d(sharp, _ROW_KERNEL, axis=0, mode="constant").astype(np.float32)
    pad = int(np.ceil(max(abs(s) for s, _ in _SCAN_SLOPES) * SCAN_NCOL_MAX))
    gp = np.zeros((N_FREQ + 2 * pad, N_TIME + SCAN_NCOL_MAX), np.float32)
    gp[pad:pad + N_FREQ, :N_TIME] = g
    best = np.zeros((N_FREQ, SB_MAX + 1), np.float32)
    tmp = np.empty_like(best)
    for s, n in _SCAN_SLOPES:
        acc = gp[pad:pad + N_FREQ, :SB_MAX + 1].copy()
        for j in range(1, n):
            o = pad + int(round(s * j))
            acc += gp[o:o + N_FREQ, j:j + SB_MAX + 1]
            np.maximum(best, np.multiply(acc, np.float32(1 / np.sqrt(j + 1)), out=tmp), out=best)
    peak = (best == maximum_filter(best, size=5)) & (best > 0)
    f, t = np.nonzero(peak)
    order = np.argsort(best[f, t])[::-1][:keep]
    starts = []
    for fb0, sb in zip(f[order], t[order]):
        c = np.stack([np.full_like(_SCAN_NCOL, sb), _SCAN_NCOL, np.full_like(_SCAN_NCOL, fb0),
                      fb0 + _SCAN_DFB, np.full_like(_SCAN_NCOL, LINEAR)], 1)
        c = clip_candidates(c)
        gain = scores(sharp, c)
        starts.append(c[int(np.argmax(gain))])
    return starts


def fit_scene(
    values: np.ndarray, start: np.ndarray, wide: bool = False, kappa: float = DEFAULT_KAPPA,
    scan_below_z: float = 0.0,
) -> Fit:
    """Best ridge for one chirp of one scene [128, 128], searched from integers `start`
    (sb, ncol, fb0, fb1, law); `wide` adds starts from a whole-plane scan for short ridges,
    which is also run when the local search ends below detection statistic `scan_below_z`."""
    smooth = values.astype(np.float64)
    smooth = smooth - np.median(smooth)
    sharp, noise = deblur(values, kappa)
    first = clip_candidates(np.asarray(start, np.int64)[None])[0]
    coarse, _ = _climb(smooth, first, lines=False)
    best, best_gain = first, -1.0
    seen: set[tuple[int, ...]] = set()

    def search(starts: list[np.ndarray]) -> None:
        nonlocal best, best_gain
        for s in starts:
            key = tuple(int(v) for v in s)
            if key in seen:
                continue
            seen.add(key)
            fine, gain = _climb(sharp, s, lines=True)
            if gain > best_gain:
                best, best_gain = fine, gain

    search([first, coarse])
    if wide or best_gain < scan_below_z * noise**2:
        search(_scan_starts(sharp, keep=4))
    moves = _end_rows(best)
    g = scores(sharp, moves)
    k = int(np.argmax(g))
    if g[k] > best_gain:
        best, best_gain = _climb(sharp, moves[k], lines=True)
    return Fit(*(int(v) for v in best), gain=best_gain, z=best_gain / noise**2)


def integers_of(est: ChirpEstimate | None = None, **labels: float) -> np.ndarray:
    """(sb, ncol, fb0, fb1, law) of an estimate (or of labels given by keyword, sweep as a code),
    floor-truncated as the generator paints labels (`ridge_bins`)."""
    if est is not None:
        labels = dict(
            start_time_s=est.start_time_s, duration_s=est.duration_s, start_freq_hz=est.start_freq_hz,
            end_freq_hz=est.end_freq_hz, sweep=SWEEP_TYPES.index(est.sweep),
        )
    sweep = int(labels["sweep"])
    table = ChirpTable(
        *(np.array([[float(labels[k])]]) for k in ("start_time_s", "duration_s", "start_freq_hz", "end_freq_hz")),
        np.array([[sweep if sweep in (LINEAR, EXPONENTIAL) else LINEAR]], np.int8), np.array([[True]]),
    )
    sb, eb, (fb0, fb1) = ridge_bins(table)
    return np.array([sb[0, 0], eb[0, 0] - sb[0, 0], fb0[0, 0], fb1[0, 0], table.sweep[0, 0]], np.int64)


def label_centres(fit: Fit) -> dict[str, float]:
    """Point estimates of the labels that the integers of `fit` imply (centre of each label interval).

    Start time: centre of [sb, sb+1) columns. Duration: ncol = floor(d/dt) (the
    end column is sb + floor(d/dt), not floor((t0+d)/dt)), so the centre of
    [ncol, ncol+1) columns cut to the generator's 1..15 s. Start frequency:
    centre of its row, except that an exponential chirp drawn from row 1 started
    anywhere in rows [0, 2). End frequency: row 0 is almost always (about 95 %)
    a label clipped to exactly 0 Hz, row 128 always exactly 100 Hz, so those
    give 0 and 100 Hz.
    """
    lo_d = max(fit.ncol * DT_S, MIN_CHIRP_S)
    hi_d = min((fit.ncol + 1) * DT_S, MAX_CHIRP_S)
    duration = 0.5 * (lo_d + hi_d) if hi_d > lo_d else fit.ncol * DT_S
    f0 = DF_HZ if fit.law == EXPONENTIAL and fit.fb0 <= 1 else (fit.fb0 + 0.5) * DF_HZ
    if fit.fb1 <= 0:
        f1 = 0.0
    elif fit.fb1 >= N_FREQ:
        f1 = MAX_FREQ_HZ
    else:
        f1 = (fit.fb1 + 0.5) * DF_HZ
    return dict(start_time_s=(fit.sb + 0.5) * DT_S, duration_s=duration, start_freq_hz=f0, end_freq_hz=f1)


#: Standard deviation of a label uniform over one bin: the error floor of a fit with the right integers.
QUANTISATION_STD: dict[str, float] = dict(
    start_time_s=DT_S / 12**0.5, duration_s=DT_S / 12**0.5,
    start_freq_hz=DF_HZ / 12**0.5, end_freq_hz=DF_HZ / 12**0.5,
)


#: The end time's std from those of start time and duration, taken as uncorrelated: on 1,000 ChirpLoc100K
#: windows (seeds 7 and 2024) 65-66 % of the refined end times lie within it (57-58 % of start times
#: within theirs).
END_TIME_ERROR_CORR = 0.0


#: How often the best ridge is the chirp (found within 3 s and 15 Hz of its start) by its detection
#: statistic z, measured on 6,000 ChirpLoc100K scenes (seed 1; the benchmarks score seed 2024):
#: 6 of 15 below z = 33, 4 of 8 at 33-36, 8 of 8 at 36-40, 17 of 18 at 40-45 and every one of
#: 5,951 above 45; the table below is a smoothed reading of those counts. A ridge that weak is as
#: likely a peak of the noise as the chirp, which is then too faint to find at all.
LOCATED_Z = (30.0, 33.0, 36.0, 40.0)
LOCATED_P = (0.3, 0.4, 0.75, 1.0)


def located_probability(z: float) -> float:
    """Probability that a best fit with detection statistic `z` is the chirp (`LOCATED_Z`/`LOCATED_P`)."""
    return float(np.interp(z, LOCATED_Z, LOCATED_P))


#: Presence from the fit where its statistic decides. In 1,000 chirp-free ChirpLoc100K scenes (seed 11;
#: fits from the shipped network's answers) the best ridge reached z 29.9 at the median, 40.9 at the 99th
#: percentile and 48.7 at most, and 922 ended below 36; of 1,000 scenes holding a chirp, 981 reached 60
#: and 3 ended below 36. So a fit from `CLEAR_Z` is a chirp (presence raised to `CLEAR_PRESENCE` if lower)
#: and one below `FAINT_Z` found nothing the noise does not make (presence lowered to `FAINT_PRESENCE` if
#: higher). In those scenes the network had said "chirp" in 36 chirp-free ones (28 of them below z 36)
#: and missed 31 chirps (16 of them from z 60).
CLEAR_Z, CLEAR_PRESENCE = 60.0, 0.99
FAINT_Z, FAINT_PRESENCE = 36.0, 0.05


def fitted_presence(presence: float, z: float) -> float:
    """The network's `presence`, overruled where the fit's statistic `z` decides (`CLEAR_Z`, `FAINT_Z`)."""
    if z >= CLEAR_Z:
        return max(presence, CLEAR_PRESENCE)
    if z < FAINT_Z:
        return min(presence, FAINT_PRESENCE)
    return presence


@lru_cache(maxsize=1)
def label_prior() -> dict[str, tuple[float, float]]:
    """Mean and standard deviation of each label under the generator's own distribution
    (200,000 draws of `ChirpLoc100KScene.draw_labels`, fixed seed): the best answer, in squared
    error, about a chirp the data do not locate."""
    from chirploc.synth.chirploc100k import ChirpLoc100KScene

    labels = ChirpLoc100KScene().draw_labels(np.random.default_rng(0), 200_000)
    return {k: (float(np.mean(v)), float(np.std(v))) for k in QUANTISATION_STD for v in [getattr(labels, k)[:, 0]]}


def hedged_centres(fit: Fit) -> tuple[dict[str, float], dict[str, float]]:
    """Point estimates and standard deviations of the labels given the best fit: its label centres
    where it surely is the chirp, else the mean of the mixture 'the fit is the chirp' (probability
    `located_probability(fit.z)`) / 'the chirp is anywhere the generator puts one' (`label_prior`),
    the estimate with the least expected squared error, and that mixture's spread."""
    centres = label_centres(fit)
    p = located_probability(fit.z)
    if p >= 1.0:
        return centres, dict(QUANTISATION_STD)
    values, stds = {}, {}
    for k, c in centres.items():
        mean, std = label_prior()[k]
        values[k] = p * c + (1 - p) * mean
        stds[k] = float(np.sqrt(p * QUANTISATION_STD[k] ** 2 + (1 - p) * std**2 + p * (1 - p) * (c - mean) ** 2))
    return values, stds


def _unsure(est: ChirpEstimate, bins: float) -> bool:
    steps = dict(start_time_s=DT_S, duration_s=DT_S, start_freq_hz=DF_HZ, end_freq_hz=DF_HZ)
    return any(est.uncertainty.get(k, np.inf) > bins * step for k, step in steps.items())


WIDE_SEARCH_BINS = 3.0
SCAN_BELOW_Z = 150.0


def fit_estimate(
    scene: np.ndarray, est: ChirpEstimate, wide_search_bins: float = WIDE_SEARCH_BINS,
    scan_below_z: float = SCAN_BELOW_Z, kappa: float = DEFAULT_KAPPA,
) -> Fit:
    """`fit_scene` of one scene [128, 128] from an estimate, as `refine_chirploc100k` fits it."""
    return fit_scene(scene, integers_of(est), wide=_unsure(est, wide_search_bins), kappa=kappa,
                     scan_below_z=scan_below_z)


def refine_chirploc100k(
    values: np.ndarray,
    estimates: Sequence[Sequence[ChirpEstimate]],
    confident_z: float = 60.0,
    min_presence: float = 0.5,
    wide_search_bins: float = WIDE_SEARCH_BINS,
    scan_below_z: float = SCAN_BELOW_Z,
    kappa: float = DEFAULT_KAPPA,
) -> list[list[ChirpEstimate]]:
    """Estimates refined by ridge fitting on ChirpLoc100K scenes `values` [N, 128, 128].

    The most likely estimate of each scene, and every other with presence >=
    `min_presence`, is refined on its own (a scene with several estimates gets one
    independent search per estimate, each from its own starting point; they may
    land on the same ridge). The most likely one is refined whatever its presence:
    where the network doubts a chirp is there, its position is still its best
    guess, and the fit makes it better. It is replaced (dataclasses.replace) by
    `hedged_centres` of its best-fitting ridge, the fitted sweep law and
    `fitted_presence` (the network's, overruled where the fit finds a ridge that noise
    does not make, or nothing but what noise makes): the label centres of the
    fitted bins where the ridge stands clearly out of the noise, drawn towards the generator's mean labels
    where it may be a peak of the noise (detection statistic below 40), with the
    uncertainty to match. The other estimates below `min_presence`, and scenes
    without estimates, are returned unchanged. The uncertainty of a located
    estimate is the quantisation std (`QUANTISATION_STD`: 0.135 s, 0.226 Hz) when its
    statistic reaches `confident_z`, else the larger of that and the network's own
    std, key by key.

    `wide_search_bins`: network std (in bins) above which the whole-plane scan
    for short ridges is added; `scan_below_z`: it is also added when the local
    search ends below this statistic. Values may be raw arrays or figures read
    back from PNG (any affine rescaling).
    """
    values = np.asarray(values)
    if values.ndim != 3 or values.shape[1:] != (N_FREQ, N_TIME):
        raise ValueError(f"values must be [N, {N_FREQ}, {N_TIME}], got {values.shape}")

    def refine_one(scene: np.ndarray, est: ChirpEstimate) -> ChirpEstimate:
        fit = fit_estimate(scene, est, wide_search_bins, scan_below_z, kappa)
        labels, std = hedged_centres(fit)
        if located_probability(fit.z) >= 1.0 and fit.z < confident_z:
            std = {k: max(v, float(est.uncertainty.get(k, v))) for k, v in std.items()}
        std["end_time_s"] = end_time_std(std["start_time_s"], std["duration_s"], corr=END_TIME_ERROR_CORR)
        return replace(est, sweep=SWEEP_TYPES[fit.law], presence=fitted_presence(est.presence, fit.z),
                       uncertainty={**est.uncertainty, **std}, **labels)

    return refine_likely(values, estimates, refine_one, min_presence)


def likely_keys(
    values: np.ndarray, estimates: Sequence[Sequence[ChirpEstimate]], min_presence: float
) -> list[tuple[int, int]]:
    """(scene, estimate) indices of the likeliest estimate of each scene (whatever its presence: it
    is the network's best guess of where a chirp would be) and of every other with presence >=
    `min_presence`: the estimates a fit refines. `estimates` holds one list per scene of `values`."""
    if len(estimates) != len(values):
        raise ValueError(f"{len(estimates)} estimate lists for {len(values)} scenes")
    keys: list[tuple[int, int]] = []
    for i, found in enumerate(estimates):
        likeliest = max(range(len(found)), key=lambda k: found[k].presence, default=-1)
        keys += [(i, k) for k, est in enumerate(found) if k == likeliest or est.presence >= min_presence]
    return keys


def refine_likely(
    values: np.ndarray,
    estimates: Sequence[Sequence[ChirpEstimate]],
    refine_one: Callable[[np.ndarray, ChirpEstimate], ChirpEstimate],
    min_presence: float,
) -> list[list[ChirpEstimate]]:
    """`refine_one(scene, estimate)` of the estimates `likely_keys` names; the other estimates,
    and scenes without any, as they are."""
    keys = set(likely_keys(values, estimates, min_presence))
    return [[refine_one(scene, est) if (i, k) in keys else est for k, est in enumerate(found)]
            for i, (scene, found) in enumerate(zip(values, estimates))]
