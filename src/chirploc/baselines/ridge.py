"""A classical chirp estimator with nothing to train: normalise, track, segment, fit.

1. Each frequency row is normalised by its own median and robust spread (MAD), so
   a 1/f background and per-row gain drop out, then each frame likewise; the plane
   is then in units of "noise standard deviations" (z).
2. A Viterbi path runs through the plane: one frequency bin per frame, maximising
   the summed z minus a penalty per bin jumped between adjacent frames (jumps of
   more than `max_jump_bins` are not allowed).
3. Kadane's max-subarray on (z along the path - an offset) picks the contiguous
   run of frames where the chirp is. The offset is fixed, or set per plane from
   the path that noise alone yields (the same plane with its frames shuffled).
   The run's edges are then settled where the energy along the fitted curve
   crosses half the ridge's level.
4. The path's frequencies (to a fraction of a bin) are fitted by each candidate
   sweep law (linear, exponential, quadratic, hyperbolic), each a straight line
   in a transformed space; the law with the smallest residual in hertz wins, and
   start and end frequencies are read off that curve.
5. Presence is a logistic function of the segment's SNR (summed z over the square
   root of its length); uncertainties come from the fit residuals and the frame step.

Times and frequencies are always taken from the spectrogram's own bin centres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from chirploc.synth.chirploc100k import MAX_BAND_HZ, MAX_FREQ_HZ, N_FREQ
from chirploc.types import SWEEP_TYPES, ChirpEstimate, Spectrogram, normalize_sweep

_MAD_TO_STD = 1.4826
_CHUNK = 256  # spectrograms tracked at once (bounds the Viterbi's back-pointer memory)
_NULL_FRAMES = 64  # frames in the shuffled plane that sets the adaptive threshold
_EDGE_SEARCH_FRAMES = 4  # how far past the segment (at least) one round of edge refinement may move
_EDGE_ROUNDS = 5
_MIN_FRAMES_TO_EXTRAPOLATE = 8
# where a ChirpLoc100K exponential sweep to 0 Hz may start: clear of the bottom ridge's
# blur, and at most its widest sweep up
_DROP_MIN_ROW = 4
_DROP_MAX_HZ = MAX_BAND_HZ


@dataclass(frozen=True)
class RidgeTracker:
    """Finds up to `max_chirps` sweeps in a spectrogram by ridge tracking.

    Energies are in z units: a value minus its row's median, over the row's robust
    standard deviation (1.4826 x MAD), then the same per frame.

    Parameters
    ----------
    max_jump_bins:
        Largest frequency step, in bins, the path may take between adjacent frames.
    jump_penalty_per_bin:
        Cost of each bin jumped between adjacent frames, in z units.
    segment_threshold:
        z a frame on the path must exceed to count towards the chirp (Kadane's offset);
        None sets it per spectrogram from a null path (below).
    threshold_sigmas:
        With `segment_threshold` None, the offset is the median z along a Viterbi path
        through the same plane with its frames shuffled (so no ridge is continuous)
        plus this many of that path's standard deviations.
    edge_fraction:
        The chirp's first and last frames are where the energy along the fitted
        curve crosses this fraction of the ridge's median level.
    sweep_types:
        Sweep laws to choose from (names as in `SWEEP_TYPES`).
    start_offset_frames:
        Reported start time = centre of the first detected frame + this many frame steps.
    end_offset_frames:
        Reported end time = centre of the last detected frame + this many frame steps.
    end_freq_offset_frames:
        Where the end frequency is read off the fitted curve, in frame steps after
        the last detected frame's centre; None reads it at the reported end time.
    log_origin_hz:
        Frequency (Hz) that exponential and hyperbolic laws are relative to:
        they are fitted to f - log_origin_hz.
    presence_midpoint_snr, presence_width_snr:
        Presence = logistic((snr - midpoint) / width), where snr is the summed z along
        the path over Kadane's segment divided by the square root of its length in
        frames. The defaults are fitted on ChirpLoc100K scenes with and without a
        chirp in equal numbers; pure noise gives snr of about 7 (99% below 10.5).
    max_chirps:
        How many chirps to look for; each found ridge is masked before the next search.
    min_presence:
        Estimates with a lower presence are dropped (0 keeps every candidate).
    mask_half_width_bins:
        Rows on each side of a found ridge that are masked before searching again.
    track_tolerance_bins:
        While the edges are settled, frames where the path runs within this many
        bins of the fitted curve (and above Kadane's offset) count with the path's
        energy too, so that a ridge
        whose law is only clear from its stronger part is still followed to its
        faint ends; negative turns this off.
    exponential_drops_to_zero:
        ChirpLoc100K paints an exponential sweep that ends at 0 Hz as one column at
        its start frequency followed by a ridge on the bottom row. When set, a ridge
        on the bottom row whose preceding frame has a strong peak higher up is read
        as such a sweep, starting at that peak.
    """

    max_jump_bins: int = 12
    jump_penalty_per_bin: float = 0.05
    segment_threshold: float | None = None
    threshold_sigmas: float = 1.0
    edge_fraction: float = 0.5
    sweep_types: tuple[str, ...] = SWEEP_TYPES
    start_offset_frames: float = 0.0
    end_offset_frames: float = 0.5
    end_freq_offset_frames: float | None = None
    log_origin_hz: float = 0.0
    presence_midpoint_snr: float = 10.0
    presence_width_snr: float = 1.2
    max_chirps: int = 1
    min_presence: float = 0.0
    mask_half_width_bins: int = 4
    track_tolerance_bins: float = 2.0
    exponential_drops_to_zero: bool = False

    def __post_init__(self) -> None:
        if self.max_jump_bins < 0:
            raise ValueError(f"max_jump_bins must be >= 0, got {self.max_jump_bins}")
        if self.jump_penalty_per_bin < 0:
            raise ValueError(f"jump_penalty_per_bin must be >= 0, got {self.jump_penalty_per_bin}")
        if not 0 < self.edge_fraction < 1:
            raise ValueError(f"edge_fraction must lie in (0, 1), got {self.edge_fraction}")
        if self.presence_width_snr <= 0:
            raise ValueError(f"presence_width_snr must be positive, got {self.presence_width_snr}")
        if self.max_chirps < 1:
            raise ValueError(f"max_chirps must be >= 1, got {self.max_chirps}")
        sweeps = tuple(dict.fromkeys(normalize_sweep(s) for s in self.sweep_types))
        if not sweeps:
            raise ValueError("sweep_types must name at least one sweep law")
        object.__setattr__(self, "sweep_types", sweeps)

    @classmethod
    def for_chirploc100k(cls, **overrides) -> "RidgeTracker":
        """Settings for ChirpLoc100K's painted geometry.

        Its ridges are painted on the grid: the first column is floor(t0 / dt),
        so t0 is on average that column's centre; the ridge stops one column
        before reaching f1 (f1 sits on the column after the last painted one), and
        t0 + duration lies on average 1.5 columns after the last painted centre.
        Only linear and exponential sweeps occur, exponential in row index, i.e.
        relative to half a bin below each row's centre (0.39 Hz), and one that
        ends at 0 Hz drops to the bottom row after its first column. Its planes are
        all alike once normalised, so a fixed Kadane offset (3 z) does as well as the
        adaptive one, and faster.
        """
        params = dict(
            sweep_types=("linear", "exponential"),
            start_offset_frames=0.0,
            end_offset_frames=1.5,
            end_freq_offset_frames=1.0,
            log_origin_hz=MAX_FREQ_HZ / N_FREQ / 2,
            exponential_drops_to_zero=True,
            segment_threshold=3.0,
        )
        return replace(cls(), **{**params, **overrides})

    def estimate(self, spec: Spectrogram) -> list[ChirpEstimate]:
        """The chirps found in one spectrogram, strongest first."""
        return self.estimate_batch(spec.values[None], spec.times_s, spec.freqs_hz)[0]

    def estimate_batch(
        self, values: np.ndarray, times_s: np.ndarray, freqs_hz: np.ndarray
    ) -> list[list[ChirpEstimate]]:
        """The chirps of each of N spectrograms values[N, freq, time] on one grid (bin centres)."""
        values = np.asarray(values, dtype=np.float32)
        if values.ndim != 3:
            raise ValueError(f"values must be [N, freq, time], got shape {values.shape}")
        grid = Spectrogram(np.zeros((len(freqs_hz), len(times_s)), np.float32), times_s, freqs_hz)
        if values.shape[1:] != grid.values.shape:
            raise ValueError(f"values are {values.shape[1:]} per scene but the axes give {grid.values.shape}")
        found: list[list[ChirpEstimate]] = []
        for start in range(0, len(values), _CHUNK):
            found += self._estimate_chunk(values[start : start + _CHUNK], grid)
        return found

    def _estimate_chunk(self, values: np.ndarray, grid: Spectrogram) -> list[list[ChirpEstimate]]:
        z = normalise_plane(values)
        found: list[list[ChirpEstimate]] = [[] for _ in range(len(values))]
        for _ in range(self.max_chirps):
            paths = viterbi_paths(z, self.max_jump_bins, self.jump_penalty_per_bin)
            path_z = np.take_along_axis(z, paths[:, None, :], axis=1)[:, 0, :]
            threshold = self._thresholds(z)
            first, last = max_subarrays(path_z - threshold[:, None])
            for i in range(len(values)):
                track = self._fit_one(z[i], paths[i], int(first[i]), int(last[i]), float(threshold[i]), grid)
                if track.estimate.presence >= self.min_presence:
                    found[i].append(track.estimate)
                mask_ridge(z[i], track.rows, track.first, track.last, self.mask_half_width_bins)
        return found

    def _thresholds(self, z: np.ndarray) -> np.ndarray:
        """Kadane's offset per scene [N], in z units: fixed, or from a path through the shuffled plane."""
        if self.segment_threshold is not None:
            return np.full(len(z), self.segment_threshold, dtype=np.float32)
        # With its frames shuffled the plane holds no ridge, only isolated bright pixels, so the
        # path's energy there is what noise alone gives; ridge pixels it still picks up only
        # inflate its upper half, hence the spread measured below the median.
        frames = np.random.default_rng(0).permutation(z.shape[2])[:_NULL_FRAMES]
        shuffled = z[:, :, frames]
        null_paths = viterbi_paths(shuffled, self.max_jump_bins, self.jump_penalty_per_bin)
        null_z = np.take_along_axis(shuffled, null_paths[:, None, :], axis=1)[:, 0, :]
        low, median = np.percentile(null_z, [15.87, 50], axis=1)
        return (median + self.threshold_sigmas * (median - low)).astype(np.float32)

    def _fit_one(
        self, z: np.ndarray, path: np.ndarray, first: int, last: int, threshold: float, grid: Spectrogram
    ) -> "_Track":
        """One chirp from the path and Kadane's segment [first, last] of a z plane [freq, time]."""
        path_rows = subbin_rows(z, path)
        path_z = z[path, np.arange(len(grid.times_s))]
        snr = float(path_z[first : last + 1].sum() / math.sqrt(last - first + 1))
        first, last, fit = self._settle_edges(z, path_rows, path_z, first, last, threshold, grid)
        return self._describe(z, fit, first, last, snr, threshold, grid)

    def _fit_frames(self, path_rows: np.ndarray, first: int, last: int, t_ref_s: float, grid: Spectrogram) -> SweepFit:
        frames = slice(first, last + 1)
        freqs_hz = grid.freqs_hz[0] + path_rows[frames] * grid.df_hz
        return fit_sweep(grid.times_s[frames], freqs_hz, t_ref_s, self, grid.df_hz)

    def _settle_edges(
        self, z: np.ndarray, path_rows: np.ndarray, path_z: np.ndarray, first: int, last: int,
        threshold: float, grid: Spectrogram,
    ) -> tuple[int, int, SweepFit]:
        """First and last frame of the chirp, and the sweep fitted between them.

        Kadane's segment can carry a few frames of noise at its ends or miss a faint
        stretch of the ridge: keep its strong core, fit it, then settle the edges
        where the energy along the fitted curve crosses `edge_fraction` of its level.
        """
        times = grid.times_s
        first, last = strongest_run(path_z, first, last, self.edge_fraction * _upper_level(path_z[first : last + 1]))
        fit = self._fit_frames(path_rows, first, last, times[first], grid)
        for _ in range(_EDGE_ROUNDS):
            # grow over frames where the path runs alongside the curve, above Kadane's offset, too:
            # a curve fitted on part of a ridge can drift off the rest of it when extrapolated,
            # the path does not (but a curve through a few frames says little about where it goes)
            curve = fit.rows(times, grid.freqs_hz)
            profile = ridge_profile(z, curve)
            on_track = (np.abs(path_rows - curve) <= self.track_tolerance_bins) & (path_z >= threshold)
            if last - first + 1 < _MIN_FRAMES_TO_EXTRAPOLATE:
                on_track[:] = False
            energy = np.where(on_track, np.maximum(profile, path_z), profile)
            threshold_z = self.edge_fraction * float(np.median(profile[first : last + 1]))
            edges = refine_edges(energy, first, last, threshold_z, max(_EDGE_SEARCH_FRAMES, (last - first + 1) // 2))
            if edges == (first, last):
                break
            first, last = edges
            fit = self._fit_frames(path_rows, first, last, times[first], grid)
        # the final edges from the curve alone, whose energy has no noise-peak bias
        profile = ridge_profile(z, fit.rows(times, grid.freqs_hz))
        threshold_z = self.edge_fraction * float(np.median(profile[first : last + 1]))
        edges = refine_edges(profile, first, last, threshold_z, _EDGE_SEARCH_FRAMES)
        start_s = times[edges[0]] + self.start_offset_frames * grid.dt_s
        if edges != (first, last) or fit.sweep == "quadratic":  # a quadratic's vertex is at the start
            first, last = edges
            fit = self._fit_frames(path_rows, first, last, start_s, grid)
        return first, last, fit

    def _describe(
        self, z: np.ndarray, fit: SweepFit, first: int, last: int, snr: float, threshold: float, grid: Spectrogram
    ) -> "_Track":
        """The estimate, in seconds and hertz, of the chirp fitted between frames first and last."""
        dt, df, times = grid.dt_s, grid.df_hz, grid.times_s
        curve_rows = fit.rows(times, grid.freqs_hz)
        level_z = float(np.mean(ridge_profile(z, curve_rows)[first : last + 1]))
        start_s = times[first] + self.start_offset_frames * dt
        end_freq_offset = self.end_offset_frames if self.end_freq_offset_frames is None else self.end_freq_offset_frames
        freq_times_s = np.array([start_s, times[last] + end_freq_offset * dt])
        f_start, f_end = np.clip(fit.predict(freq_times_s), *grid.freq_range_hz)
        sweep = fit.sweep
        drop = _drop_onset(z, curve_rows, first, last, threshold, df) if self.exponential_drops_to_zero else None
        if drop is not None:
            first, drop_row = drop
            start_s = times[first] + self.start_offset_frames * dt
            f_start, sweep = float(grid.freqs_hz[drop_row]), "exponential"
        end_s = times[last] + self.end_offset_frames * dt

        presence = 1.0 / (1.0 + math.exp(-(snr - self.presence_midpoint_snr) / self.presence_width_snr))
        # an edge is known to within its frame (uniform: 1/12) plus a jitter that shrinks with
        # the ridge's level; the end, measured from a frame-quantised start, carries both
        sigma_start_s = dt * math.sqrt(1 / 12 + 1 / max(level_z, 1.0))
        sigma_end_s = math.sqrt(sigma_start_s**2 + dt**2 / 12)
        sigma_f0, sigma_f1 = fit.std_at(freq_times_s, sigma_start_s, df)
        estimate = ChirpEstimate(
            start_time_s=float(start_s),
            duration_s=float(max(end_s - start_s, dt)),
            start_freq_hz=float(f_start),
            end_freq_hz=float(f_end),
            sweep=sweep,
            presence=float(presence),
            uncertainty={
                "start_time_s": sigma_start_s,
                "end_time_s": sigma_end_s,
                "duration_s": math.hypot(sigma_start_s, sigma_end_s),
                "start_freq_hz": float(sigma_f0),
                "end_freq_hz": float(sigma_f1),
            },
        )
        return _Track(estimate, curve_rows, first, last)


def estimate_ridge(spec: Spectrogram, **params) -> list[ChirpEstimate]:
    """`RidgeTracker(**params).estimate(spec)`."""
    return RidgeTracker(**params).estimate(spec)


@dataclass(frozen=True)
class _Track:
    estimate: ChirpEstimate
    rows: np.ndarray  # fitted curve, in rows, for every frame
    first: int
    last: int


def normalise_plane(values: np.ndarray) -> np.ndarray:
    """values[..., freq, time] in z units: each row, then each column, minus its median over its robust std.

    Rows take out the background spectrum (1/f, gain); columns then take out
    broadband changes over time, such as the extra variance that a blur with
    reflecting borders leaves in the first and last frames.
    """
    z = _robust_standardise(values.astype(np.float32), axis=-1)
    return _robust_standardise(z, axis=-2)


def _robust_standardise(values: np.ndarray, axis: int) -> np.ndarray:
    median = np.median(values, axis=axis, keepdims=True)
    spread = _MAD_TO_STD * np.median(np.abs(values - median), axis=axis, keepdims=True)
    typical = np.median(spread, axis=-1 if axis == -2 else -2, keepdims=True)
    # a plane whose lines are mostly constant (clipped images) falls back to its overall spread
    overall = np.maximum(np.std(values, axis=(-2, -1), keepdims=True), np.finfo(np.float32).tiny)
    typical = np.where(typical > 1e-6 * overall, typical, overall)
    # a constant line (MAD 0) would blow up; it borrows the plane's typical spread
    spread = np.where(spread > 1e-6 * typical, spread, typical)
    return ((values - median) / spread).astype(np.float32)


def viterbi_paths(z: np.ndarray, max_jump_bins: int, penalty_per_bin: float) -> np.ndarray:
    """Row index per frame [N, T] of the path maximising sum(z) - penalty x |jumps|."""
    n, n_freq, n_time = z.shape
    jump = min(max_jump_bins, n_freq - 1)
    offsets = np.arange(-jump, jump + 1)
    cost = (penalty_per_bin * np.abs(offsets)).astype(np.float32)
    padded = np.full((n, n_freq + 2 * jump), -np.inf, dtype=np.float32)
    back = np.empty((n_time, n, n_freq), dtype=np.int16)
    score = z[:, :, 0].astype(np.float32)
    for t in range(1, n_time):
        padded[:, jump : jump + n_freq] = score
        # candidates[s, f, j]: arrive at row f from row f + offsets[j]
        candidates = np.lib.stride_tricks.sliding_window_view(padded, 2 * jump + 1, axis=1) - cost
        choice = np.argmax(candidates, axis=2)
        back[t] = choice
        score = np.take_along_axis(candidates, choice[:, :, None], axis=2)[:, :, 0] + z[:, :, t]
    path = np.empty((n, n_time), dtype=np.int64)
    path[:, -1] = np.argmax(score, axis=1)
    scenes = np.arange(n)
    for t in range(n_time - 1, 0, -1):
        path[:, t - 1] = path[:, t] + offsets[back[t, scenes, path[:, t]]]
    return path


def max_subarrays(gain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last index (inclusive) of each row's contiguous run with the largest sum."""
    n, length = gain.shape
    prefix = np.concatenate([np.zeros((n, 1)), np.cumsum(gain, axis=1)], axis=1)
    lowest_before = np.minimum.accumulate(prefix[:, :-1], axis=1)
    last = np.argmax(prefix[:, 1:] - lowest_before, axis=1)
    before_end = np.arange(length)[None, :] <= last[:, None]
    first = np.argmin(np.where(before_end, prefix[:, :-1], np.inf), axis=1)
    return first, last


def subbin_rows(z: np.ndarray, path: np.ndarray) -> np.ndarray:
    """The path's row per frame to a fraction of a bin: the nearest local peak, parabola-refined."""
    n_freq, n_time = z.shape
    frames = np.arange(n_time)
    near = np.clip(path[None, :] + np.arange(-1, 2)[:, None], 0, n_freq - 1)
    peak = near[np.argmax(z[near, frames], axis=0), frames]
    below = z[np.clip(peak - 1, 0, n_freq - 1), frames]
    centre = z[peak, frames]
    above = z[np.clip(peak + 1, 0, n_freq - 1), frames]
    curvature = below - 2 * centre + above
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(curvature < 0, 0.5 * (below - above) / curvature, 0.0)
    inside = (peak > 0) & (peak < n_freq - 1)
    return peak + np.where(inside, np.clip(shift, -0.5, 0.5), 0.0)


def _upper_level(energy: np.ndarray) -> float:
    """The ridge's typical energy in a segment that may include a few frames of noise."""
    return float(np.percentile(energy, 90)) if energy.size else 0.0


def ridge_profile(z: np.ndarray, curve_rows: np.ndarray) -> np.ndarray:
    """Per frame, z on the curve (fractional rows), interpolated between the two nearest rows.

    Unlike the path's own energy, this carries no upward bias from picking maxima in noise.
    """
    n_freq, n_time = z.shape
    frames = np.arange(n_time)
    below = np.clip(np.floor(curve_rows).astype(np.int64), 0, n_freq - 2)
    above_weight = np.clip(curve_rows - below, 0.0, 1.0)
    return (1 - above_weight) * z[below, frames] + above_weight * z[below + 1, frames]


def strongest_run(energy: np.ndarray, first: int, last: int, threshold: float) -> tuple[int, int]:
    """Inside [first, last], the contiguous run with the largest sum of (energy - threshold)."""
    if threshold <= 0:
        return first, last
    run_first, run_last = max_subarrays(energy[None, first : last + 1] - threshold)
    return first + int(run_first[0]), first + int(run_last[0])


def refine_edges(profile: np.ndarray, first: int, last: int, threshold: float, margin: int) -> tuple[int, int]:
    """The strongest run of (energy - threshold) within `margin` frames of the segment.

    A threshold <= 0 means the curve misses the ridge (its median energy is noise's):
    the segment is then left as it is rather than spread over the whole window.
    """
    if threshold <= 0:
        return first, last
    lo, hi = max(first - margin, 0), min(last + margin, len(profile) - 1)
    return strongest_run(profile, lo, hi, threshold)


def _drop_onset(
    z: np.ndarray, curve_rows: np.ndarray, first: int, last: int, threshold: float, df_hz: float
) -> tuple[int, int] | None:
    """(onset frame, start row) of a ChirpLoc100K exponential sweep to 0 Hz, or None.

    Such a sweep is painted as one column at its start row followed by a ridge on
    the bottom row, so the ridge found lies on the bottom row and its start is the
    strongest peak well above it in the frame (or two) before.
    """
    if first == 0 or max(curve_rows[first], curve_rows[last]) >= 1.0:
        return None
    columns = np.arange(max(first - 2, 0), first)
    above = z[_DROP_MIN_ROW : int(_DROP_MAX_HZ / df_hz) + 2, columns]
    row, col = np.unravel_index(int(np.argmax(above)), above.shape)
    if above[row, col] < threshold:
        return None
    return int(columns[col]), int(row) + _DROP_MIN_ROW


def mask_ridge(z: np.ndarray, curve_rows: np.ndarray, first: int, last: int, half_width_bins: int) -> None:
    """Blank (z = 0) the found ridge in place, so that the next search finds another one."""
    n_freq = z.shape[0]
    for t in range(first, last + 1):
        centre = int(round(float(curve_rows[t])))
        lo, hi = max(centre - half_width_bins, 0), min(centre + half_width_bins + 1, n_freq)
        z[lo:hi, t] = 0.0


@dataclass(frozen=True)
class SweepFit:
    """A sweep law fitted as a straight line a + b x h(t) in a transformed frequency g(f)."""

    sweep: str
    coef: np.ndarray  # (a, b)
    t_ref_s: float
    log_origin_hz: float
    residual_std_hz: float
    n: int
    h_mean: float
    h_spread: float  # sum of squared deviations of h over the fitted frames

    def _h(self, times_s: np.ndarray) -> np.ndarray:
        t = np.asarray(times_s, dtype=np.float64) - self.t_ref_s
        return t**2 if self.sweep == "quadratic" else t

    def predict(self, times_s: np.ndarray) -> np.ndarray:
        g = self.coef[0] + self.coef[1] * self._h(times_s)
        return _from_space(self.sweep, g, self.log_origin_hz)

    def rows(self, times_s: np.ndarray, freqs_hz: np.ndarray) -> np.ndarray:
        """The curve at `times_s` as fractional row indices of the axis `freqs_hz`, clipped to it."""
        step = freqs_hz[1] - freqs_hz[0]
        rows = np.nan_to_num((self.predict(times_s) - freqs_hz[0]) / step, posinf=len(freqs_hz), neginf=-1.0)
        return np.clip(rows, 0, len(freqs_hz) - 1)

    def slope_hz_per_s(self, times_s: np.ndarray) -> np.ndarray:
        step = 1e-3
        return (self.predict(np.asarray(times_s) + step) - self.predict(np.asarray(times_s) - step)) / (2 * step)

    def std_at(self, times_s: np.ndarray, sigma_t_s: float, df_hz: float) -> np.ndarray:
        """Rough standard uncertainty (Hz) of the fitted frequency at `times_s`."""
        h = self._h(times_s)
        leverage = 1 / max(self.n, 1) + (h - self.h_mean) ** 2 / max(self.h_spread, 1e-12)
        from_fit = self.residual_std_hz**2 * leverage
        from_time = (self.slope_hz_per_s(times_s) * sigma_t_s) ** 2
        return np.sqrt(from_fit + from_time + df_hz**2 / 12)


def _to_space(sweep: str, freqs_hz: np.ndarray, origin_hz: float) -> np.ndarray:
    if sweep in ("linear", "quadratic"):
        return freqs_hz
    shifted = np.maximum(freqs_hz - origin_hz, 1e-3)
    return np.log(shifted) if sweep == "exponential" else 1.0 / shifted


def _from_space(sweep: str, g: np.ndarray, origin_hz: float) -> np.ndarray:
    if sweep in ("linear", "quadratic"):
        return g
    if sweep == "exponential":
        return np.exp(np.clip(g, -50, 50)) + origin_hz
    with np.errstate(divide="ignore"):
        return np.where(g > 0, 1.0 / np.maximum(g, 1e-12), np.inf) + origin_hz


def _fit_law(sweep: str, times_s: np.ndarray, freqs_hz: np.ndarray, t_ref_s: float, origin_hz: float) -> SweepFit:
    t = times_s - t_ref_s
    h = t**2 if sweep == "quadratic" else t
    g = _to_space(sweep, freqs_hz, origin_hz)
    if len(h) >= 2 and np.ptp(h) > 0:
        design = np.stack([np.ones_like(h), h], axis=1)
        coef = np.linalg.lstsq(design, g, rcond=None)[0]
    else:
        coef = np.array([float(np.mean(g)), 0.0])
    fit = SweepFit(sweep, coef, t_ref_s, origin_hz, 0.0, len(h), float(np.mean(h)), float(np.sum((h - h.mean()) ** 2)))
    residual = freqs_hz - fit.predict(times_s)
    dof = max(len(h) - 2, 1)
    return replace(fit, residual_std_hz=float(np.sqrt(np.sum(residual**2) / dof)))


def fit_sweep(
    times_s: np.ndarray, freqs_hz: np.ndarray, t_ref_s: float, tracker: RidgeTracker, resolution_hz: float
) -> SweepFit:
    """The candidate law with the smallest residual (Hz), fitted after dropping outlying frames."""
    origin = tracker.log_origin_hz
    candidates = [_fit_law(s, times_s, freqs_hz, t_ref_s, origin) for s in tracker.sweep_types]
    if len(times_s) > 4:
        # outliers relative to the best-matching law (the path strays off short or faint ridges)
        best = min(candidates, key=lambda f: np.median(np.abs(freqs_hz - f.predict(times_s))))
        residual = np.abs(freqs_hz - best.predict(times_s))
        scale = max(_MAD_TO_STD * float(np.median(residual)), resolution_hz)
        keep = residual <= 3 * scale + 1e-9
        if keep.sum() >= 3 and not keep.all():
            times_s, freqs_hz = times_s[keep], freqs_hz[keep]
            candidates = [_fit_law(s, times_s, freqs_hz, t_ref_s, origin) for s in tracker.sweep_types]
    return min(candidates, key=lambda f: f.residual_std_hz)
