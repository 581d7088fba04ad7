"""Forward-model refinement of chirp estimates on the signal scene's grid.

On the default grid of `chirploc.synth.signal` (1 s periodic Hann STFT at
256 Hz, hop 64 samples = 0.25 s, 128 frames centred at t0 + (k + 0.5) * 0.25 s,
rows 0..127 Hz, dB PSD) a chirp's expected STFT power is an exact, cheap
function of its start time, duration, end frequencies and sweep law: the STFT
of the Tukey-tapered complex sweep (phase averaged, positive and negative
frequency images added, mirror reflection at the window's ends) - see
`template`. The noise in each row is (locally) stationary, so a cell's power
is Rician: noise power ``s2[row]`` times a non-central chi-square with two
degrees of freedom and non-centrality ``a * T[cell] / s2[row]``.

Fit (`fit_chirp`). The per-row noise power is the row's median over time / ln 2
(the median of an exponential). The chirp's amplitude ``a`` is profiled out (a
few Newton steps on sqrt(a) per shape), so the optimiser searches the four shape
parameters (start time, end time, start and end frequency) only; the objective
is the Rician negative log-likelihood relative to "no chirp" (0 when a = 0),
summed over the cells where the template is above `KEEP_LEVEL` (1e-4) of its peak.

1. Coarse start (linear law): from the network's estimate, line scans of one
   quantity at a time - start and end frequency over +-2 network stds (3..20 Hz,
   1 Hz steps: the ridge is ~2 Hz wide, so a start a few hertz off has no
   gradient), start and end time, then both frequencies again, finely.
2. Every sweep law: Nelder-Mead from the better (under that law) of the linear
   fit and the network's estimate.
3. Escapes, for every law: wide line scans of each quantity around its fit, and
   moves of the end (or start) along the fitted frequency path, up to 6 s (`END_MOVES_S`: a
   tapered end of a fast sweep is faint, so the end point slides along the path, and a fit can
   stop seconds short of a faint sweep's end); the fit is re-polished when a move gains more
   than 1 nat.
4. Every other law again, Nelder-Mead from the best law's fit: a law started from the linear
   fit can stop far from the sweep (a quadratic sweep's slow start read seconds late, its law
   lost to a hyperbolic or exponential fit 19-64 nats less likely than its own).
5. The best law wins; the row noise is re-estimated without the cells where the
   fitted chirp adds more than 5 % of the noise power, and it is polished once more, and
   its ends moved along its path once more (and re-polished where that gains more than 1 nat).
6. The envelope: the scene's Tukey taper (0.2) against an abrupt start and stop (0), polished
   from the fit with its ends moved to keep the half-amplitude points; the abrupt one wins
   only by `TAPER_MARGIN` nats. Read with the taper, an abrupt sweep comes out ~0.05 *
   duration too long at each end. Measured once while choosing the margin (ad hoc runs, not
   a script kept here): clear abrupt sweeps (the README's WAV example, scene chirps at
   17-20 dB) favoured the abrupt envelope by 23-62 nats, fainter ones by 5-15 or not at all
   (then the two are not told apart), and on 2,000 of the scene's own tapered chirps it
   fitted better by more than 15 nats twice (by more than 9 about 8 times). The tests
   check the clear cases.
   That is the default envelope, "auto"; told "abrupt" or "tapered" (`ENVELOPES`), the fit
   takes that envelope throughout, which reads the fainter sweeps' ends where they are.

About 1300 likelihood evaluations a fit (~1000 from a ridge), 0.3 to 0.8 ms each on one core of
this project's shared machine, by the day.

Search (`refine_signal`, `search`). A network can point at the wrong place altogether (faint,
short chirps), and a fit from its answer can stop beside a better optimum (a curved sweep's ends).
So fits also start from the spectrogram's strongest straight ridges (`ridge_starts`: every line of
every slope and length scored at once on sheared cumulative sums, ~30 ms): the 2 strongest, or 3
where the fit from the answer finds no clear chirp; the best replaces that fit if it is clear
(`SEARCH_MIN_LR`) and better by more than `SEARCH_GAIN_NATS`.
Every fit is a job for a pool of worker processes (`chirploc.parallel.fit_pool`, one per core):
each scene's ridges are fitted once for all its estimates, and the third ridge only once a fit from
an estimate turns out unclear. The answers are the same for any number of workers.

The ends (`path_median`). A fast sweep's tapered end is faint: the likelihood along its path is
flat over a second or more, and where the fit happens to stop within it is a poorer guess than its
middle. So each end of an accepted fit moves along the fitted path to the median of the likelihood
there, tempered by `cell_overlap` (the likelihood counts overlapping STFT cells as independent).

Acceptance (`refine_signal`). The fit replaces the estimate only when the chirp
explains the data clearly (likelihood-ratio statistic ``2 * gain`` over "no
chirp" at least `min_lr` (`MIN_LR` = 130), or `SEARCH_MIN_LR` for a fit the search found) and
better than the estimate itself does; otherwise the estimate is returned unchanged.
What pure noise reaches (`python benchmarks/bench_search_noise.py`, 550 chirp-free windows,
seed 101): from the shipped network's answer median 44, 99 % 114, at most 126; by the search,
median 79, 99 % 128, at most 141. So neither moves an estimate in those windows (before the
fits were kept out of rows 0 and 1 and `MIN_LR` was raised from 100, 11 of them, 2 %, moved
the network's unlikely chirp onto a feature of the noise, up to 246). The thresholds are the most
that noise reached there, not a bound on all it can reach: in 507 other chirp-free windows (seed
2024) a fit was accepted in 4. An accepted fit is more often a chirp than not, so the estimate's
presence is raised to `FIT_PRESENCE` (0.75) where the network's is lower.

A second chirp (`second_chirp`). The shipped network has one chirp slot, so of two chirps in a
window it answers one. Where a window's fits are accepted, their cells (where a fitted chirp adds
more than 5 % of the noise power) are replaced by noise of the row's level, and a fit from the
strongest ridge left is a further estimate where its statistic reaches `SECOND_MIN_LR` (250) and it
is not a chirp the window has already (`chirploc.inputs.same_chirp`).
`python benchmarks/bench_second_chirp.py` measures what it finds and costs. While choosing the
threshold (ad hoc, the same windows): in 119 windows holding one chirp, what the masked search
found reached at most 148; in 120 holding two, it found the other chirp in 105, 101 of them from
336 up (the other 4 at 125-156), and in 4 more a piece of it (301-1416: crossing chirps, where the
first fit took cells of both).

Placing (`placing_fit`). Below those thresholds a fit does not say that a chirp is there, but where
there is one it is more often on it than the network's answer is: the network places short, faint
sweeps that it doubts seconds and tens of hertz off. So from `PLACE_MIN_LR` (90) a fit still moves the estimate,
if it is more probable than the estimate with the estimate's stated stds as a prior, and leaves its
presence as it was.
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np
from scipy.optimize import minimize
from scipy.special import i0e, i1e

from chirploc.inputs import same_chirp
from chirploc.parallel import fit_pool
from chirploc.refine import likely_keys
from chirploc.synth.signal import FS_HZ, HOP, NPERSEG, _chirp_phase, _path_frequency, _tukey
from chirploc.types import SWEEP_TYPES, ChirpEstimate

N_ROWS = 128
N_FRAMES = 128
N_SAMPLES = N_FRAMES * HOP  # 8192: a 32 s window at 256 Hz
DT_S = HOP / FS_HZ  # 0.25 s
TAPER = 0.2  # the signal scene's Tukey taper fraction
#: The envelopes a fit can be told to take (`chirploc predict --envelope`): the Tukey taper fraction
#: it fits with, and the fractions tried after that fit, each kept only where it fits better by
#: `TAPER_MARGIN` nats. "auto" tries an abrupt start and stop (0, as in most recorded or synthesised
#: sweeps outside the scene) after the scene's taper; "tapered" and "abrupt" fit with the one.
ENVELOPES: dict[str, tuple[float, tuple[float, ...]]] = {"auto": (TAPER, (0.0,)), "tapered": (TAPER, ()), "abrupt": (0.0, ())}
TAPER_MARGIN = 15.0
#: The lowest end frequency a fit may take: rows 0 and 1 hold DC and the drift of 1/f noise (the
#: ridge scan leaves them out too); a fit reaching into them from a wandering estimate found
#: "chirps" at 1 Hz in pure noise.
MIN_FREQ_HZ = 1.5
#: The likelihood sums the cells where the template is above this share of its peak. Low, so that
#: cells entering or leaving the sum as the chirp moves change it by little: at 1e-2 a clear chirp's
#: cells at the edge carried about a nat each, and fits from different starts stopped nats apart.
KEEP_LEVEL = 1e-4
_LEFT = NPERSEG // 2 - HOP // 2  # frame k spans samples [k*HOP - LEFT, k*HOP - LEFT + NPERSEG)
_WIN = np.hanning(NPERSEG + 1)[:-1]  # periodic Hann
_M = np.arange(N_FRAMES)[:, None] * HOP - _LEFT + np.arange(NPERSEG)[None, :]
_M = np.where(_M < 0, -_M, _M)
_M = np.where(_M > N_SAMPLES - 1, 2 * (N_SAMPLES - 1) - _M, _M)  # mirror reflection, no repeated sample

#: Measured error (RMS, per quantity) of accepted fits by their likelihood-ratio statistic over
#: "no chirp" (2 * gain): (lowest statistic of the band, std). The refined estimate's uncertainty
#: is its band's std (widened by the other envelope's fit under "auto": `stated_std`). From
#: `python benchmarks/bench_fit_std.py --n 1000` (1,000 signal scenes of
#: seed 7, 985 fits accepted; the band below MIN_LR, of fits that only place an answer, from the 8 such
#: fits of 996 in its run of 2026-12-03, whose other bands came out within 0.1 s and 1.5 Hz of these;
#: run again with the network's answers given their ridges' sweep laws, as `predict` gives them: within
#: 0.04 s and 1.4 Hz). The end time's, of start time plus duration, from the same fits (their errors
#: correlate, -0.56 to -0.93 by band: `--tables-from benchmarks/results/fit_std_seed7.json`).
#: The errors are heavy-tailed (a few fits end on the wrong end of a faint
#: sweep; the strongest band's start-time std is one exponential sweep's start, read 2.2 s early in
#: the lowest rows): 76-97 % of them lie within one std per band, and 68 % within a fifth to seven
#: tenths of it.
FIT_STD_BY_LR: tuple[tuple[float, dict[str, float]], ...] = (
    (0.0, dict(start_time_s=5.8, duration_s=0.82, start_freq_hz=15.0, end_freq_hz=11.5, end_time_s=5.9)),
    (130.0, dict(start_time_s=0.58, duration_s=0.85, start_freq_hz=8.9, end_freq_hz=14.0, end_time_s=0.58)),
    (300.0, dict(start_time_s=0.32, duration_s=0.45, start_freq_hz=1.9, end_freq_hz=3.2, end_time_s=0.28)),
    (800.0, dict(start_time_s=0.21, duration_s=0.42, start_freq_hz=1.7, end_freq_hz=1.9, end_time_s=0.35)),
    (1600.0, dict(start_time_s=0.10, duration_s=0.19, start_freq_hz=0.89, end_freq_hz=1.6, end_time_s=0.14)),
    (6400.0, dict(start_time_s=0.17, duration_s=0.19, start_freq_hz=0.33, end_freq_hz=0.51, end_time_s=0.07)),
)


#: A fit replaces the estimate only from this likelihood-ratio statistic over "no chirp" (`min_lr`):
#: above what the fit from the shipped network's answer reaches in chirp-free windows (at most 126
#: in 550, `benchmarks/bench_search_noise.py`).
MIN_LR = 130.0
#: Fits also start from the strongest straight ridges of the whole spectrogram (`ridge_starts`):
#: SEARCH_STARTS of them where the fit from the estimate finds no clear chirp (a likelihood-ratio
#: statistic below SEARCH_BELOW_LR), SEARCH_STARTS_CLEAR where it does (a fit from a ridge often
#: reaches a better optimum of a curved sweep than the estimate's fit). The best fit from a ridge
#: replaces the estimate's fit when it gains more than SEARCH_GAIN_NATS and reaches SEARCH_MIN_LR,
#: for searching everywhere finds more in noise: at most 141 in the same 550 windows. Like MIN_LR, the
#: threshold sits just above that maximum (it was 170, which left faint chirps that the search had
#: found, at 150-160, at the network's answer, tens of hertz off).
SEARCH_BELOW_LR = 200.0
SEARCH_MIN_LR = 150.0
SEARCH_STARTS = 3
SEARCH_STARTS_CLEAR = 2
SEARCH_GAIN_NATS = 1.0
SEARCH_SPREAD = (0.5, 0.7, 3.0, 3.0)
#: Where no fit clears those thresholds, a fit still places the estimate (its ends, frequencies and
#: law) from this likelihood-ratio statistic on, if it is more probable than the estimate itself with
#: the estimate's own stds as a Gaussian prior (`placing_fit`), but leaves its presence as it was:
#: noise reaches this level, so a window the network doubts still reads "no chirp", while its
#: estimate, which says where a chirp would be, is the likeliest chirp near the network's guess (short,
#: faint sweeps, where that guess can be seconds and tens of hertz off). Chosen on stored fits of 800
#: signal scenes of seed 7 and 800 of seed 11 (ad hoc; 14 estimates placed, 12 closer to the truth).
PLACE_MIN_LR = 90.0
#: The presence an estimate takes, at least, when a fit replaces it: a fit that clears MIN_LR or
#: SEARCH_MIN_LR is more often a chirp than not, even where the network doubted it (short chirps at
#: 10-12 dB, which it gives a presence of 0.01-0.45), but the thresholds sit at the most that noise
#: reached in 550 windows, so noise passes them now and then. Where the network's presence was below
#: 0.5, accepted fits were chirps in 6 of 600 windows holding one (benchmark scenes, seed 2024; ad hoc) and 9
#: of 493 (`chirploc evaluate --data signal:min_chirps=0,max_chirps=1 -n 1000 --seed 2024`), and noise
#: in 0 of 550 chirp-free windows (`benchmarks/bench_search_noise.py`) and 4 of 507 (the same
#: evaluation): about three times in four a chirp, where chirps and their absence are equally likely.
FIT_PRESENCE = 0.75
#: The search for a chirp past the network's answers (`second_chirp`, "A second chirp" above): the
#: cells masked where an accepted fit adds more than this share of the noise power, and the
#: likelihood-ratio statistic from which the chirp found so is reported (with presence `FIT_PRESENCE`
#: and the stds `fit_std` gives a first fit of its statistic).
SECOND_MASK_LEVEL = 0.05
SECOND_MIN_LR = 250.0
#: The spread (std of start time, duration, start and end frequency) assumed for an estimate that states none.
DEFAULT_SPREAD = (0.3, 0.5, 2.0, 2.0)


def fit_std(lr: float) -> dict[str, float]:
    """The measured std per quantity of a fit whose likelihood-ratio statistic is `lr`."""
    std = FIT_STD_BY_LR[0][1]
    for lowest, band in FIT_STD_BY_LR:
        if lr >= lowest:
            std = band
    return dict(std)


def stated_std(fit: SignalFit) -> dict[str, float]:
    """The std per quantity a refined answer states: the measured std of fits of its strength
    (`fit_std`, measured on the scene's tapered sweeps) and, where the fit tried another envelope
    ("auto"), the distance to that envelope's fit weighted by how likely it is against the one kept
    (`SignalFit.envelope_shift`), added in quadrature. Faint abrupt sweeps under "auto" keep the taper
    (`TAPER_MARGIN`) with their ends read about 5 % of the duration out; the stds of `fit_std` alone held
    for 23-58 % of their start times and durations at statistics 300-6,400
    (`python benchmarks/bench_fit_std.py --taper 0 --envelope auto`)."""
    std = fit_std(2 * fit.gain)
    return {q: float(np.hypot(v, fit.envelope_shift.get(q, 0.0))) for q, v in std.items()}


def on_signal_grid(times_s: np.ndarray, freqs_hz: np.ndarray) -> bool:
    """True when the axes are the signal scene's default grid: rows 0, 1, ..., 127 Hz
    and 128 frames 0.25 s apart (starting anywhere: windows of long recordings have offsets)."""
    t = np.asarray(times_s, dtype=np.float64)
    f = np.asarray(freqs_hz, dtype=np.float64)
    if t.shape != (N_FRAMES,) or f.shape != (N_ROWS,):
        return False
    if not (np.isfinite(t).all() and np.isfinite(f).all()):
        return False
    rows_ok = np.allclose(f, np.arange(N_ROWS), rtol=0, atol=1e-6)
    return bool(rows_ok and np.allclose(np.diff(t), DT_S, rtol=0, atol=1e-6))


def template(
    t0: float, d: float, f0: float, f1: float, code: int, taper: float = TAPER
) -> tuple[np.ndarray | None, int]:
    """Expected STFT power of a unit-amplitude chirp under a Tukey envelope of `taper`
    (phase averaged, arbitrary scale), [frames k0..k1, rows] (C order), and k0; (None, 0)
    when the chirp holds no sample."""
    first = int(np.ceil(t0 * FS_HZ))
    last = min(int(np.floor((t0 + d) * FS_HZ)), N_SAMPLES - 1)
    first = max(first, 0)
    if last < first:
        return None, 0
    k0 = max(0, int(np.ceil((first - (NPERSEG - _LEFT - 1)) / HOP)))
    k1 = min(N_FRAMES, int(np.floor((last + _LEFT) / HOP)) + 1)
    if first < _LEFT + HOP:  # frames that see the chirp's reflection at the edges
        k0 = 0
    if last > N_SAMPLES - 1 - (NPERSEG - _LEFT):
        k1 = N_FRAMES
    # the chirp once per sample, then gathered into the frames (mirror reflection included)
    tau = np.arange(first, last + 1) / FS_HZ - t0
    np.clip(tau, 0.0, d, out=tau)
    ph = _chirp_phase(tau[None, :], np.array([[d]]), np.array([[f0]]), np.array([[f1]]), code)[0]
    wave = np.zeros(tau.size + 1, dtype=np.complex128)
    wave[:-1] = np.exp(1j * ph) * _tukey(tau / d, taper)
    idx = _M[k0:k1] - first
    idx = np.where((idx >= 0) & (idx < tau.size), idx, tau.size)
    z = wave[idx] * _WIN
    spec = np.fft.fft(z, axis=1)
    power = spec.real**2
    power += spec.imag**2
    out = power[:, :N_ROWS].copy()
    out[:, 0] *= 2  # DC: its own mirror image
    out[:, 1:] += power[:, NPERSEG - 1 : NPERSEG - N_ROWS : -1]  # the -f image of row f
    out *= 0.25
    return out, k0


def noise_floor(power: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Per-row noise power: the median over time / ln 2, of the cells not in `mask`
    (rows with too few such cells keep their plain median)."""
    if mask is None:
        return np.median(power, axis=1) / np.log(2)
    masked = np.where(mask, np.nan, power)
    with np.errstate(all="ignore"):
        med = np.nanmedian(masked, axis=1)
    few = (~mask).sum(axis=1) < 16
    med[few] = np.median(power[few], axis=1)
    return np.maximum(med, 1e-300) / np.log(2)


def _noise_units(power: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """Power over the row noise, [frames, rows] (C order): the layout the fit and the scan read."""
    return np.ascontiguousarray((power / s2[:, None]).T)


def _profile(tn: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(NLL relative to no chirp, amplitude) of template tn (noise units) on data y, amplitude
    profiled out: minimise u^2 S - sum log I0(2 u q), q = sqrt(tn * y), over u = sqrt(a) >= 0."""
    S = float(tn.sum())
    if S <= 0:
        return 0.0, 0.0
    q = np.sqrt(tn * y)
    a = float(np.dot(y - 1.0, tn)) / max(float(np.dot(tn, tn)), 1e-300)
    if a <= 0:
        # slope at u = 0 is 0; curvature 2S - 2 sum q^2: a chirp helps only if sum q^2 > S
        if float(np.dot(q, q)) <= S:
            return 0.0, 0.0
        a = (float(np.dot(q, q)) - S) / max(float(np.dot(tn, tn)), 1e-300)
    u = np.sqrt(a)
    for _ in range(3):
        x = 2 * u * q
        r = i1e(x) / i0e(x)
        g = 2 * u * S - 2 * float(np.dot(q, r))
        rx = np.where(x > 1e-8, r / np.maximum(x, 1e-8), 0.5)
        h = 2 * S - 4 * float(np.dot(q * q, 1.0 - rx - r * r))
        step = g / h if h > 0 else g / (2 * S)
        u_new = u - step
        u = u_new if u_new > 0 else u / 4
    x = 2 * u * q
    f = u * u * S - float(np.sum(np.log(i0e(x)) + x))
    if f > 0:
        return 0.0, 0.0
    return f, u * u


@dataclass
class _Problem:
    """The data of one scene in noise units, and the bounds of the search."""

    y: np.ndarray  # power / row noise [frames, rows]
    inv_s2: np.ndarray  # 1 / row noise [rows]
    taper: float = TAPER
    evals: int = 0

    def nll(self, p: Sequence[float], code: int) -> tuple[float, float]:
        """(profile NLL, amplitude) of chirp p = (t0, t_end, f0, f1) with law `code`."""
        t0, te, f0, f1 = (float(v) for v in p)
        d = te - t0
        if not (d >= 0.5 and t0 >= -0.25 and te <= N_SAMPLES / FS_HZ + 0.25 and MIN_FREQ_HZ <= min(f0, f1)
                and max(f0, f1) <= 127.5):
            return 1e9, 0.0
        self.evals += 1
        T, k0 = template(t0, d, f0, f1, code, self.taper)
        if T is None:
            return 1e9, 0.0
        T *= self.inv_s2
        keep = T > KEEP_LEVEL * T.max()
        return _profile(T[keep], self.y[k0 : k0 + T.shape[0]][keep])

    def mask(self, p: Sequence[float], code: int, amp: float, level: float = 0.05) -> np.ndarray:
        """Cells where the fitted chirp adds more than `level` of the noise power."""
        out = np.zeros_like(self.y, dtype=bool)
        T, k0 = template(p[0], p[1] - p[0], p[2], p[3], code, self.taper)
        if T is not None:
            out[k0 : k0 + T.shape[0]] = amp * T * self.inv_s2 > level
        return out

    def refloor(self, power: np.ndarray, p: Sequence[float], code: int, amp: float) -> None:
        """Re-estimate the row noise of `power` [rows, frames] without the cells of chirp p (`mask`)."""
        s2 = noise_floor(power, self.mask(p, code, amp).T)
        self.y, self.inv_s2 = _noise_units(power, s2), 1 / s2


@dataclass(frozen=True)
class SignalFit:
    """The best-fitting chirp in local time (frame k centred at (k + 0.5) * 0.25 s)."""

    start_time_s: float
    duration_s: float
    start_freq_hz: float
    end_freq_hz: float
    law: int
    taper: float  # the Tukey taper fraction of the envelope that fits best
    amplitude: float
    gain: float  # log-likelihood gain over "no chirp" (>= 0)
    start_gain: float  # the same for the starting estimate, its own law (profiled amplitude)
    evals: int
    #: where another envelope was tried: |this fit - that envelope's fit| per quantity (start_time_s,
    #: duration_s, start_freq_hz, end_freq_hz, end_time_s) times min(1, exp(-(its NLL - this fit's NLL) /
    #: PATH_TEMPERATURE)), its likelihood against this fit's, tempered as the path medians are; else empty
    envelope_shift: dict[str, float] = field(default_factory=dict)


def _nelder_mead(prob: _Problem, x: np.ndarray, code: int, steps: np.ndarray, maxfev: int) -> tuple[np.ndarray, float]:
    simplex = np.array([x] + [x + s for s in np.diag(steps)])
    r = minimize(lambda p: prob.nll(p, code)[0], x, method="Nelder-Mead",
                 options=dict(initial_simplex=simplex, maxfev=maxfev, xatol=1e-2, fatol=1e-2))
    return np.asarray(r.x), float(r.fun)


def _scan(
    prob: _Problem, x: np.ndarray, f: float, code: int, dim: int, half: float, step: float
) -> tuple[np.ndarray, float]:
    """Best of x and x moved along `dim` by multiples of `step` up to +-`half`."""
    best_x, best_f = x, f
    for delta in np.arange(-half, half + 1e-9, step):
        if delta == 0:
            continue
        y = x.copy()
        y[dim] += delta
        fy = prob.nll(y, code)[0]
        if fy < best_f:
            best_x, best_f = y, fy
    return best_x, best_f


def _frequency_at(u: float, f0: float, f1: float, code: int) -> float:
    """Instantaneous frequency at normalised time u (may exceed 1) of law `code` (the scene's own
    formulas; a hyperbolic path past its pole gives a value `_Problem.nll` rejects)."""
    with np.errstate(all="ignore"):
        return float(_path_frequency(np.asarray(u), np.asarray(f0), np.asarray(f1), np.asarray(code)))


def _moved_end(x: np.ndarray, code: int, delta: float, start: bool) -> np.ndarray:
    """x = (t0, t_end, f0, f1) with its end (or its start) moved by `delta` s along its own
    frequency path (exactly, except at the start of a quadratic sweep, whose vertex moves with it)."""
    d = x[1] - x[0]
    y = x.copy()
    if start:
        y[0] += delta
        y[2] = _frequency_at(delta / d, x[2], x[3], code)
    else:
        y[1] += delta
        y[3] = _frequency_at((d + delta) / d, x[2], x[3], code)
    return y


#: The moves (s) of each end along its path that the escapes try: fine near the fit, coarser out to
#: 6 s, for a fit can stop seconds short of a faint sweep's end and still be on its path.
END_MOVES_S = np.concatenate([np.arange(-6.0, -1.5, 0.5), np.arange(-1.5, 1.6, 0.25), np.arange(2.0, 6.1, 0.5)])


def _scan_end(prob: _Problem, x: np.ndarray, f: float, code: int, moves: np.ndarray = END_MOVES_S) -> tuple[np.ndarray, float]:
    """Best of x and x with its end (or start) moved along its own frequency path by each of `moves` (s)."""
    best_x, best_f = x, f
    d = x[1] - x[0]
    for delta in moves:
        if delta == 0 or d - abs(delta) < 0.5:
            continue
        for start in (False, True):
            y = _moved_end(x, code, float(delta), start)
            fy = prob.nll(y, code)[0]
            if fy < best_f:
                best_x, best_f = y, fy
    return best_x, best_f


def cell_overlap() -> float:
    """How many times the likelihood counts each independent piece of the data: it sums cells as if
    independent, but 1 s Hann windows 0.25 s apart overlap, so a cell's noise power is correlated
    with its neighbours' in time and in frequency (squared correlations of the windowed noise at
    each lag, summed over lags: about 1.92 in time times 1.94 in frequency = 3.74)."""
    energy = float(np.dot(_WIN, _WIN))
    in_time = [float(np.dot(_WIN[: NPERSEG - lag], _WIN[lag:])) / energy for lag in range(HOP, NPERSEG, HOP)]
    in_freq = np.abs(np.fft.fft(_WIN**2))[1 : NPERSEG // 2] / energy
    return (1 + 2 * sum(r * r for r in in_time)) * (1 + 2 * float(np.sum(in_freq**2)))


#: Each end of an accepted fit moves to the median of its place along the fitted path, sampled
#: every PATH_STEP_S within +-PATH_HALF_S and weighted by the likelihood tempered by the cells'
#: overlap, exp(-NLL / PATH_TEMPERATURE) (`path_median`): a faint, tapered end of a fast sweep is
#: spread along its path, and where the fit stops within that spread is a poorer guess than its middle.
PATH_STEP_S = 0.125
PATH_HALF_S = 2.0
PATH_TEMPERATURE = cell_overlap()


def _weighted_median(deltas: np.ndarray, nll: np.ndarray, temperature: float) -> float:
    """The median of the distribution with density exp(-nll / temperature) at the (evenly spaced)
    `deltas`, each point's mass spread evenly over its step."""
    w = np.exp(-(nll - nll.min()) / temperature)
    cum = np.concatenate([[0.0], np.cumsum(w)]) / w.sum()
    step = deltas[1] - deltas[0]
    edges = np.concatenate([deltas - step / 2, [deltas[-1] + step / 2]])
    return float(np.interp(0.5, cum, edges))


def _path_median(prob: _Problem, x: np.ndarray, code: int, temperature: float) -> np.ndarray:
    """x = (t0, t_end, f0, f1) with its start and its end each moved along x's frequency path to
    the median of its place (`PATH_STEP_S` steps within +-`PATH_HALF_S`, the other end held)."""
    d = x[1] - x[0]
    deltas = np.arange(-PATH_HALF_S, PATH_HALF_S + 1e-9, PATH_STEP_S)
    out = x.copy()
    for start in (False, True):
        nll = np.full(deltas.size, np.inf)
        for j, delta in enumerate(deltas):
            if d - abs(delta) < 0.5:
                continue
            nll[j] = prob.nll(_moved_end(x, code, float(delta), start), code)[0]
        if not np.isfinite(nll).any():
            continue
        moved = _moved_end(x, code, _weighted_median(deltas, nll, temperature), start)
        if start:
            out[0], out[2] = moved[0], moved[2]
        else:
            out[1], out[3] = moved[1], moved[3]
    return out


def path_median(values_db: np.ndarray, fit: SignalFit, temperature: float = PATH_TEMPERATURE) -> SignalFit:
    """`fit` (of the [128, 128] dB spectrogram `values_db`) with each end moved along its path to
    the median of its place (`_path_median`), under the fit's noise floor (the rows' noise without
    the fitted chirp's cells) and envelope."""
    power = 10 ** (np.asarray(values_db, dtype=np.float64) / 10)
    x = np.array([fit.start_time_s, fit.start_time_s + fit.duration_s, fit.start_freq_hz, fit.end_freq_hz])
    s2 = noise_floor(power)
    prob = _Problem(_noise_units(power, s2), 1 / s2, taper=fit.taper)
    if fit.amplitude > 0:
        prob.refloor(power, x, fit.law, fit.amplitude)
    x = _path_median(prob, x, fit.law, temperature)
    return replace(fit, start_time_s=float(x[0]), duration_s=float(x[1] - x[0]), start_freq_hz=float(x[2]),
                   end_freq_hz=float(x[3]), evals=fit.evals + prob.evals)


def _retapered(x: np.ndarray, code: int, old: float, new: float) -> np.ndarray:
    """Chirp x = (t0, t_end, f0, f1) under a Tukey envelope of taper `new` whose half-amplitude
    points (a quarter of the taper in from each end) match those of x under `old`, its ends
    moved along x's frequency path."""
    d = x[1] - x[0]
    half_amplitude = d * (1 - old / 2)
    d_new = half_amplitude / (1 - new / 2)
    shift = (d_new - d) / 2
    u0, u1 = -shift / d, (d + shift) / d
    return np.array([x[0] - shift, x[1] + shift, _frequency_at(u0, x[2], x[3], code), _frequency_at(u1, x[2], x[3], code)])


def _ridge_slopes(max_rows_per_frame: float = 12.5) -> np.ndarray:
    """Slopes (rows per frame) of the straight-ridge scan: finer where slow, coarser where fast
    (a fast sweep's ridge is wide: a 1 s window spans 4 frames)."""
    s, out = 0.0, [0.0]
    while s < max_rows_per_frame:
        s += 0.12 + 0.15 * s
        out += [s, -s]
    return np.array(sorted(out))


RIDGE_SLOPES = _ridge_slopes()  # 43 slopes, up to 57 Hz/s: past the scene's fastest sweep (98 Hz in 2 s)
RIDGE_LENGTHS = (8, 12, 16, 24, 32, 44)  # frames: 2 to 11 s
_RIDGE_PAD = 64


def ridge_starts(values_db: np.ndarray, count: int = 3) -> list[np.ndarray]:
    """The `count` strongest distinct straight ridges of a [128, 128] dB spectrogram as fit starts
    (t0, duration, f0, f1) in local time.

    Each line (slope, length, first frame, row) scores the sum of ``min(y, 12) - 1`` (y = power /
    row noise; clipped so that no single hot cell makes a ridge) over a band of ``2 + 4 |slope|``
    rows along it, over sqrt(cells): sheared rows and cumulative sums, every line at once. Rows
    0 and 1 (DC, and the drift of 1/f noise) are left out.
    """
    power = 10 ** (np.asarray(values_db, dtype=np.float64) / 10)
    z = np.minimum(_noise_units(power, noise_floor(power)), 12.0) - 1.0  # [frames, rows]
    z[:, :2] = 0.0
    n_frames, n_rows = z.shape
    padded = np.zeros((n_frames, n_rows + 2 * _RIDGE_PAD))
    padded[:, _RIDGE_PAD : _RIDGE_PAD + n_rows] = z
    frames = np.arange(n_frames)
    lines = []  # (score, slope, band, length, first frame, first band row)
    for slope in RIDGE_SLOPES:
        band = int(np.ceil(2 + 4 * abs(slope)))
        idx = np.arange(n_rows + 2 * _RIDGE_PAD)[None, :] + np.rint(slope * frames).astype(int)[:, None]
        sheared = np.where((idx >= 0) & (idx < padded.shape[1]), padded[frames[:, None], np.clip(idx, 0, padded.shape[1] - 1)], 0.0)
        rows_cum = np.concatenate([np.zeros((n_frames, 1)), np.cumsum(sheared, 1)], 1)
        band_sum = rows_cum[:, band:] - rows_cum[:, :-band]
        frames_cum = np.concatenate([np.zeros((1, band_sum.shape[1])), np.cumsum(band_sum, 0)], 0)
        for length in RIDGE_LENGTHS:
            score = (frames_cum[length:] - frames_cum[:-length]) / np.sqrt(band * length)
            k0, row = divmod(int(np.argmax(score)), score.shape[1])
            lines.append((float(score[k0, row]), slope, band, length, k0, row - _RIDGE_PAD))
    starts: list[np.ndarray] = []
    for _, slope, band, length, k0, row in sorted(lines, key=lambda line: -line[0]):
        f0 = row + (band - 1) / 2 + slope * k0
        start = np.array([k0 * DT_S, length * DT_S, f0, f0 + slope * (length - 1)])
        if all(abs(start[0] - o[0]) > 1.0 or abs(start[2] - o[2]) > 4 or abs(start[3] - o[3]) > 4 for o in starts):
            starts.append(start)
        if len(starts) == count:
            break
    return starts


def without_chirps(values_db: np.ndarray, fits: Sequence[SignalFit], level: float = SECOND_MASK_LEVEL) -> np.ndarray:
    """A [128, 128] dB spectrogram with the cells where `fits` add more than `level` of the row noise
    replaced by noise of that row's level (exponential power, drawn from a fixed seed; the row noise
    measured without those cells)."""
    power = 10 ** (np.asarray(values_db, dtype=np.float64) / 10)
    s2 = noise_floor(power)
    prob = _Problem(np.zeros((N_FRAMES, N_ROWS)), 1 / s2)
    mask = np.zeros((N_FRAMES, N_ROWS), dtype=bool)
    for fit in fits:
        prob.taper = fit.taper
        end = fit.start_time_s + fit.duration_s
        mask |= prob.mask((fit.start_time_s, end, fit.start_freq_hz, fit.end_freq_hz), fit.law, fit.amplitude, level)
    mask = mask.T  # [rows, frames], as `power`
    noise = np.random.default_rng(0).exponential(size=power.shape) * noise_floor(power, mask)[:, None]
    return 10 * np.log10(np.where(mask, noise, power))


def second_chirp(
    values_db: np.ndarray, fits: Sequence[SignalFit], min_lr: float = SECOND_MIN_LR, envelope: str = "auto"
) -> SignalFit | None:
    """The likeliest chirp of a [128, 128] dB spectrogram besides the chirps `fits` found: the fit
    from the strongest straight ridge of the spectrogram `without_chirps` of them, its ends moved
    by `path_median` there, if its likelihood-ratio statistic reaches `min_lr`; else None."""
    masked = without_chirps(values_db, fits)
    ridges = ridge_starts(masked, 1)
    if not ridges:
        return None
    fit = ridge_fit(masked, ridges[0], envelope)
    if 2 * fit.gain < min_lr:
        return None
    return path_median(masked, fit)


def fit_estimate(values_db: np.ndarray, est: ChirpEstimate, offset_s: float, envelope: str = "auto") -> SignalFit:
    """The fit of a [128, 128] dB spectrogram started from an estimate (its times are local time +
    `offset_s`), its law and its stated stds (`DEFAULT_SPREAD` where it states none)."""
    start, spread = _start_and_spread(est, offset_s)
    return fit_chirp(values_db, start, SWEEP_TYPES.index(est.sweep), spread, envelope=envelope)


def _start_and_spread(est: ChirpEstimate, offset_s: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(start time in local time, duration, start and end frequency) of an estimate, and its stated
    stds of the same (`DEFAULT_SPREAD` where it states none)."""
    keys = ("start_time_s", "duration_s", "start_freq_hz", "end_freq_hz")
    spread = tuple(float(est.uncertainty.get(q, dflt)) for q, dflt in zip(keys, DEFAULT_SPREAD))
    return (est.start_time_s - offset_s, est.duration_s, est.start_freq_hz, est.end_freq_hz), spread


def search(values_db: np.ndarray, count: int = SEARCH_STARTS, envelope: str = "auto") -> list[SignalFit]:
    """Fits of a [128, 128] dB spectrogram started from its `count` strongest straight ridges."""
    return [ridge_fit(values_db, ridge, envelope) for ridge in ridge_starts(values_db, count)]


def ridge_fit(values_db: np.ndarray, ridge: np.ndarray, envelope: str = "auto") -> SignalFit:
    """The fit started from a straight ridge (`ridge_starts`), its escapes only for the laws near the
    best (as accurate from a ridge, measured, and 30 % cheaper)."""
    return fit_chirp(values_db, ridge, 0, SEARCH_SPREAD, law_margin=0.0, envelope=envelope)


def fit_chirp(
    values_db: np.ndarray,
    start: Sequence[float],
    law: int = 0,
    spread: Sequence[float] = DEFAULT_SPREAD,
    maxfev: int = 120,
    law_margin: float = 1.0,
    envelope: str = "auto",
) -> SignalFit:
    """Fit one chirp to a [128, 128] dB spectrogram in local time.

    `start` = (start_time_s, duration_s, start_freq_hz, end_freq_hz), the network's
    estimate; `law` its sweep law code; `spread` its std per quantity (sets the
    width of the coarse search and of the escape scans); `maxfev` evaluations per
    Nelder-Mead run; `law_margin` the relative gain below the best law's within
    which a law gets the escape moves (1.0: every law); `envelope` one of `ENVELOPES`.
    """
    taper, other_tapers = envelope_tapers(envelope)
    power = 10 ** (np.asarray(values_db, dtype=np.float64) / 10)
    s2 = noise_floor(power)
    prob = _Problem(_noise_units(power, s2), 1 / s2, taper=taper)
    t0, d, f0, f1 = (float(v) for v in start)
    t0 = min(max(t0, -0.25), N_SAMPLES / FS_HZ - 0.75)
    x0 = np.array([t0, min(t0 + max(d, 0.5), N_SAMPLES / FS_HZ + 0.25), *np.clip([f0, f1], MIN_FREQ_HZ, 127.0)])
    st, sd, sf0, sf1 = (float(v) for v in spread)
    start_gain = -prob.nll(x0, law)[0]

    # coarse search (linear law): one quantity at a time, wide where the network is unsure
    x, f = x0.copy(), prob.nll(x0, 0)[0]
    wide = (np.clip(2 * sf0, 3.0, 20.0), np.clip(2 * sf1, 3.0, 20.0))
    for dim, half, step in ((2, wide[0], 1.0), (3, wide[1], 1.0), (0, np.clip(2 * st, 0.5, 3.0), 0.25),
                            (1, np.clip(2 * np.hypot(st, sd), 0.5, 3.0), 0.25), (2, 1.5, 0.5), (3, 1.5, 0.5)):
        x, f = _scan(prob, x, f, 0, dim, half, step)
    best_x = x

    steps = np.array([0.25, 0.25, 0.7, 0.7])
    escapes = ((2, wide[0], max(1.0, wide[0] / 8)), (3, wide[1], max(1.0, wide[1] / 8)), (0, 1.5, 0.25), (1, 1.5, 0.25))

    def escape(code: int, x: np.ndarray, f: float) -> tuple[np.ndarray, float]:
        """Escape local minima: wide scans of each quantity and moves of the ends along
        the path, re-polished when they help."""
        moved = False
        for dim, half, step in escapes:
            x2, f2 = _scan(prob, x, f, code, dim, half, step)
            if f2 < f - 1.0:
                x, f, moved = x2, f2, True
        x2, f2 = _scan_end(prob, x, f, code)
        if f2 < f - 1.0:
            x, f, moved = x2, f2, True
        if moved:
            x, f = _nelder_mead(prob, x, code, steps, maxfev)
        return x, f

    # every law: Nelder-Mead from the better of the linear fit and the estimate
    results = {0: _nelder_mead(prob, best_x, 0, steps, maxfev)}
    lin_x = results[0][0]
    for code in range(1, len(SWEEP_TYPES)):
        xs = lin_x if prob.nll(lin_x, code)[0] <= prob.nll(x0, code)[0] else x0
        results[code] = _nelder_mead(prob, xs, code, steps, 2 * maxfev // 3)
    # escapes for the laws whose fit is within `law_margin` of the best (relative gain; 1.0: all laws)
    best_f = min(f for _, f in results.values())
    for code in sorted(results, key=lambda c: results[c][1]):
        if results[code][1] <= best_f * (1 - law_margin) + 10.0:
            results[code] = escape(code, *results[code])
    code = min(results, key=lambda c: results[c][1])
    # every other law also from the best law's fit: a law started from the linear fit or the estimate can
    # stop in an optimum far from the sweep (a quadratic sweep's slow start read seconds late)
    for other in results:
        if other != code:
            xo, fo = _nelder_mead(prob, results[code][0], other, steps, 2 * maxfev // 3)
            if fo < results[other][1]:
                results[other] = (xo, fo)
    code = min(results, key=lambda c: results[c][1])
    x, f = results[code]

    # noise floor without the chirp's cells, then polish the winner
    amp = prob.nll(x, code)[1]
    if amp > 0:
        prob.refloor(power, x, code, amp)
        x, f = _nelder_mead(prob, x, code, steps / 3, maxfev)
        start_gain = -prob.nll(x0, law)[0]
        x2, f2 = _scan_end(prob, x, f, code)
        if f2 < f - 1.0:
            x, f = _nelder_mead(prob, x2, code, steps, maxfev)

    # the envelope: other tapers, each polished from the fit (its ends move with the taper); another
    # is kept only where it fits better by TAPER_MARGIN (the first of equals: the fit's own taper)
    tried = [(taper, x, f)]
    for other in other_tapers:
        prob.taper = other
        tried.append((other, *_nelder_mead(prob, _retapered(x, code, taper, other), code, steps / 3, maxfev // 2)))
    prob.taper, x, _ = min(tried, key=lambda item: item[2] - (TAPER_MARGIN if item[0] == taper else 0.0))
    f, amp = prob.nll(x, code)
    return SignalFit(float(x[0]), float(x[1] - x[0]), float(x[2]), float(x[3]), code, prob.taper, amp, -f,
                     start_gain, prob.evals, _envelope_shift(x, f, [(xt, ft) for t, xt, ft in tried if t != prob.taper]))


def _envelope_shift(x: np.ndarray, f: float, others: list[tuple[np.ndarray, float]]) -> dict[str, float]:
    """|x - the likeliest of `others`| per quantity, weighted by that one's likelihood against x's
    (NLL `f`), tempered by PATH_TEMPERATURE and at most 1 (`SignalFit.envelope_shift`); empty
    without others. x = (t0, t_end, f0, f1)."""
    if not others:
        return {}
    xo, fo = min(others, key=lambda item: item[1])
    w = float(np.exp(-max(fo - f, 0.0) / PATH_TEMPERATURE))
    d = w * np.abs(np.asarray(xo) - x)
    return dict(start_time_s=float(d[0]), duration_s=w * abs(float((xo[1] - xo[0]) - (x[1] - x[0]))),
                start_freq_hz=float(d[2]), end_freq_hz=float(d[3]), end_time_s=float(d[1]))


def envelope_tapers(envelope: str) -> tuple[float, tuple[float, ...]]:
    """The taper fraction a fit told `envelope` fits with, and those it tries after (`ENVELOPES`)."""
    if envelope not in ENVELOPES:
        raise ValueError(f"unknown envelope {envelope!r}: use one of {', '.join(ENVELOPES)}")
    return ENVELOPES[envelope]


def refine_signal(
    values_db: np.ndarray,
    times_s: np.ndarray,
    freqs_hz: np.ndarray,
    estimates: Sequence[Sequence[ChirpEstimate]],
    min_presence: float = 0.5,
    min_lr: float = MIN_LR,
    place_lr: float = PLACE_MIN_LR,
    workers: int | None = None,
    envelope: str = "auto",
    search_starts: int = SEARCH_STARTS,
) -> list[list[ChirpEstimate]]:
    """Estimates refined by fitting the signal scene's forward model, [N, 128, 128] dB spectrograms.

    Mirrors `chirploc.refine.refine_chirploc100k`: the likeliest estimate of each scene
    and every other with presence >= `min_presence` is refined on its own, from the estimate
    and from the strongest straight ridges (`search`; a fit found so must reach `SEARCH_MIN_LR`); it is
    replaced (dataclasses.replace) by the best fit's start time, duration, end frequencies
    (in the spectrogram's own time axis; each end at the median of its place along the fitted
    path, `path_median`) and sweep law, presence raised to `FIT_PRESENCE` if lower, uncertainty
    the measured std of fits of its strength (`stated_std`: `FIT_STD_BY_LR`'s, widened by the other
    envelope's fit as far as that one is likely), unless the fit's
    likelihood-ratio statistic over "no chirp" is below `min_lr` or the fit explains the data no
    better than the estimate itself. Then a fit from `place_lr` on may still place it, its presence
    unchanged (`placing_fit`); otherwise (as for the others) the estimate is returned unchanged. The
    fits run in `workers` processes (`chirploc.parallel.fit_pool`; None: one per available core);
    the answers do not depend on how many. `envelope` (`ENVELOPES`): "auto" fits the scene's taper
    and keeps an abrupt start and stop where that fits clearly better; "tapered" or "abrupt" where
    the sweeps are known to be so. `search_starts`: the ridges searched where the estimate's fit
    finds no clear chirp (`fit_all`).
    """
    envelope_tapers(envelope)
    values_db = np.asarray(values_db)
    if values_db.ndim != 3 or values_db.shape[1:] != (N_ROWS, N_FRAMES):
        raise ValueError(f"values must be [N, {N_ROWS}, {N_FRAMES}], got {values_db.shape}")
    if not on_signal_grid(times_s, freqs_hz):
        raise ValueError("the axes are not the signal scene's grid (rows 0..127 Hz, 128 frames 0.25 s apart)")
    offset = float(np.asarray(times_s, dtype=np.float64)[0]) - DT_S / 2
    keys = likely_keys(values_db, estimates, min_presence)
    with fit_pool(workers, jobs=len(keys) + search_starts * len({i for i, _ in keys})) as pool:
        local, found = fit_all(pool, values_db, estimates, keys, offset, envelope, search_starts)
        chosen = {key: chosen_fit(local[key], found.get(key), estimates[key[0]][key[1]], offset, min_lr, place_lr)
                  for key in keys}
        ends = {key: pool.submit(path_median, values_db[key[0]], fit)
                for key, (fit, _) in chosen.items() if fit is not None}
        accepted: dict[int, list[SignalFit]] = {}
        for key, (fit, sure) in chosen.items():
            if fit is not None and sure:
                accepted.setdefault(key[0], []).append(fit)
        seconds = {i: pool.submit(second_chirp, values_db[i], scene_fits, envelope=envelope)
                   for i, scene_fits in accepted.items()}
        fits = {key: job.result() for key, job in ends.items()}
        further = {i: fit for i, job in seconds.items() if (fit := job.result()) is not None}
    out = [list(found_i) for found_i in estimates]
    for key, fit in fits.items():
        est = estimates[key[0]][key[1]]
        out[key[0]][key[1]] = replace(
            est, start_time_s=fit.start_time_s + offset, duration_s=fit.duration_s,
            start_freq_hz=fit.start_freq_hz, end_freq_hz=fit.end_freq_hz, sweep=SWEEP_TYPES[fit.law],
            presence=max(est.presence, FIT_PRESENCE) if chosen[key][1] else est.presence,
            uncertainty={**est.uncertainty, **stated_std(fit)},
        )
    for i, fit in further.items():
        extra = ChirpEstimate(
            fit.start_time_s + offset, fit.duration_s, fit.start_freq_hz, fit.end_freq_hz, SWEEP_TYPES[fit.law],
            presence=FIT_PRESENCE, uncertainty=stated_std(fit),
        )
        if not any(same_chirp(extra, e) for e in out[i] if e.presence >= min_presence):
            out[i].append(extra)
    return out


def accepted_fit(local: SignalFit, found: SignalFit | None, min_lr: float = MIN_LR) -> SignalFit | None:
    """The fit that replaces an estimate: the best fit from the ridges (`found`) where it reaches
    `SEARCH_MIN_LR` and beats the fit from the estimate (`local`) by `SEARCH_GAIN_NATS`, else
    `local`; None (keep the estimate) below `min_lr` or where it explains the data no better
    than the estimate itself."""
    fit = local
    if found is not None and 2 * found.gain >= SEARCH_MIN_LR and found.gain > local.gain + SEARCH_GAIN_NATS:
        fit = found
    if 2 * fit.gain < min_lr or fit.gain <= local.start_gain:
        return None
    return fit


def chosen_fit(
    local: SignalFit, found: SignalFit | None, est: ChirpEstimate, offset_s: float,
    min_lr: float = MIN_LR, place_lr: float = PLACE_MIN_LR,
) -> tuple[SignalFit | None, bool]:
    """(the fit that replaces the estimate, or None; whether it says that a chirp is there): the
    `accepted_fit` (True), else the `placing_fit` from `place_lr` on (False)."""
    fit = accepted_fit(local, found, min_lr)
    if fit is not None:
        return fit, True
    return placing_fit(local, found, est, offset_s, place_lr), False


def placing_fit(
    local: SignalFit, found: SignalFit | None, est: ChirpEstimate, offset_s: float, min_lr: float = PLACE_MIN_LR
) -> SignalFit | None:
    """Of the fit from the estimate (`local`) and the best from the ridges (`found`), those reaching
    `min_lr`, the one most probable with the estimate's stated stds as a Gaussian prior on its start
    time, duration and frequencies (the fit's log-likelihood gain less half its squared distance from
    the estimate in those stds), if more probable than the estimate itself (`local.start_gain`); else None."""
    start, spread = _start_and_spread(est, offset_s)
    best, best_score = None, local.start_gain
    for fit in (local, found):
        if fit is None or 2 * fit.gain < min_lr:
            continue
        at = (fit.start_time_s, fit.duration_s, fit.start_freq_hz, fit.end_freq_hz)
        score = fit.gain - 0.5 * sum(((a - b) / s) ** 2 for a, b, s in zip(at, start, spread))
        if score > best_score:
            best, best_score = fit, score
    return best


def fit_all(
    pool: Executor, values_db: np.ndarray, estimates: Sequence[Sequence[ChirpEstimate]], keys: list[tuple[int, int]],
    offset_s: float, envelope: str = "auto", search_starts: int = SEARCH_STARTS,
) -> tuple[dict[tuple[int, int], SignalFit], dict[tuple[int, int], SignalFit]]:
    """For each (scene, estimate) key: the fit from the estimate, and the best fit from its scene's
    `SEARCH_STARTS_CLEAR` strongest ridges (`search_starts` where the estimate's fit finds no
    clear chirp), every fit a job of `pool`; each scene's ridges are fitted once for all its keys."""
    local_jobs = {key: pool.submit(fit_estimate, values_db[key[0]], estimates[key[0]][key[1]], offset_s, envelope)
                  for key in keys}
    scenes = sorted({i for i, _ in keys})
    ridges = {i: ridge_starts(values_db[i], search_starts) for i in scenes}
    ridge_jobs = {i: [pool.submit(ridge_fit, values_db[i], r, envelope) for r in ridges[i][:SEARCH_STARTS_CLEAR]]
                  for i in scenes}

    def clear(key: tuple[int, int]) -> bool:
        return 2 * local_jobs[key].result().gain >= SEARCH_BELOW_LR

    # the further ridges of a scene are fitted as soon as one of its estimates' fits turns out unclear
    waiting = set(keys)
    pending: set[Future] = set(local_jobs.values()) | {job for jobs in ridge_jobs.values() for job in jobs}
    while pending:
        _, pending = wait(pending, return_when=FIRST_COMPLETED)
        for key in [key for key in waiting if local_jobs[key].done()]:
            waiting.discard(key)
            i = key[0]
            if not clear(key) and len(ridge_jobs[i]) == SEARCH_STARTS_CLEAR:
                further = [pool.submit(ridge_fit, values_db[i], r, envelope) for r in ridges[i][SEARCH_STARTS_CLEAR:]]
                ridge_jobs[i] += further
                pending |= set(further)
    local = {key: job.result() for key, job in local_jobs.items()}
    found: dict[tuple[int, int], SignalFit] = {}
    for key in keys:
        count = SEARCH_STARTS_CLEAR if clear(key) else search_starts
        fits = [job.result() for job in ridge_jobs[key[0]][:count]]
        if fits:
            found[key] = max(fits, key=lambda f: f.gain)
    return local, found
