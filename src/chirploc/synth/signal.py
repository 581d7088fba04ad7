"""The signal scene: real waveforms, a real STFT, labels in seconds and hertz.

Each scene is a sampled waveform (default 32 s at 256 Hz) made of

* background noise with an EEG-like 1/f^alpha power spectrum (alpha drawn per
  scene, flat below `NOISE_KNEE_HZ`, no DC), scaled to unit variance;
* optionally, line noise: one 50 or 60 Hz sinusoid;
* 0..K chirps, each `scipy.signal.chirp` (linear, exponential = scipy's
  'logarithmic', quadratic, hyperbolic) with a random phase, under a Tukey
  envelope that is zero at the labelled start and end;

and its spectrogram is the short-time Fourier transform of that waveform
(`spectrogram_of_signal`, the same function users call on their own
recordings), so the labels are the true parameters of the sweeps in the data.

The default grid is 128 x 128: a 1 s periodic Hann window (256 samples), a hop
of 64 samples (0.25 s), frame k centred at (k + 0.5) * 0.25 s, rows 0..127 Hz
(the Nyquist row dropped), values 10*log10(PSD + EPS) in dB re 1 unit^2/Hz,
float32 (saturating at 380 dB). The waveform is extended past its ends by mirror reflection (no
repeated edge sample) for the frames that overhang them.

SNR. `SceneBatch.noise_level` holds each scene's SNR in dB, a *local* SNR
along the ridge: the chirp's power at full envelope, A^2/2, over the noise
power in a 1 Hz band at the chirp's instantaneous frequency, the latter
averaged in dB (geometric mean of the noise PSD) over the chirp's duration:

    SNR_dB = 10*log10(A^2/2 / 1 Hz) - mean over t in the chirp of 10*log10(S_noise(f(t)))

where S_noise is the expected one-sided PSD of the 1/f^alpha noise (line noise
excluded). Every chirp of a scene has that scene's SNR, whatever band it
sweeps, so SNR measures how visible a ridge is: with the default STFT a slow
sweep stands about SNR - 2 dB (up to 1.4 dB less between bins, and less for
fast sweeps, whose power spreads over several rows) above the mean noise level
around it. Scenes without chirps still draw an SNR; it then means nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Sequence

import numpy as np
from scipy.signal import ShortTimeFFT, resample_poly
from scipy.signal.windows import hann

from chirploc.synth.base import BLOCK, Scene, block_rng, draw_chirp_counts
from chirploc.types import SWEEP_TYPES, ChirpTable, SceneBatch, Spectrogram, normalize_sweep

FS_HZ = 256.0
WINDOW_S = 32.0
NPERSEG = 256
HOP = 64
#: The noise spectrum is 1/f^alpha above this frequency and flat below it (DC is zero).
NOISE_KNEE_HZ = 1.0
#: Added to the PSD (units^2/Hz) before taking dB, so silence gives -300 dB, not -inf.
EPS = 1e-30
#: The PSD saturates here (about 380 dB), within float32's range.
_POWER_MAX = 1e38
#: Scenes per STFT call, and the size (bytes) of the complex STFT output per call:
#: small blocks keep the work in cache (about 1.5x faster than one big call).
_STFT_CHUNK = 32
_STFT_BYTES = 1 << 20
#: Points per chirp at which its frequency is sampled to set its amplitude from the SNR.
_SNR_POINTS = 64

_LINEAR, _EXPONENTIAL, _QUADRATIC, _HYPERBOLIC = (SWEEP_TYPES.index(s) for s in SWEEP_TYPES)


# --------------------------------------------------------------------------- STFT


def pink_noise(rng: np.random.Generator, n: int, fs: float) -> np.ndarray:
    """`n` samples at `fs` Hz of unit-variance noise with a 1/f power spectrum (no DC): a plain
    background for hand-made recordings (the scene draws its own, with a random exponent)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / fs)
    spectrum[1:] /= np.sqrt(freqs[1:])
    spectrum[0] = 0
    x = np.fft.irfft(spectrum, n)
    return x / x.std()


def _check_stft(nperseg: int, hop: int) -> tuple[int, int]:
    if int(nperseg) != nperseg or nperseg < 4 or nperseg % 2:
        raise ValueError(f"nperseg must be an even number of samples >= 4, got {nperseg}")
    if int(hop) != hop or hop < 2 or hop % 2 or hop > nperseg:
        raise ValueError(
            f"hop must be an even number of samples from 2 to nperseg ({nperseg}) "
            f"(frames are centred at (k + 0.5) * hop), got {hop}"
        )
    return int(nperseg), int(hop)


def _stft_db(x: np.ndarray, fs_hz: float, nperseg: int, hop: int, n_rows: int) -> np.ndarray:
    """dB PSD [..., n_rows, n_frames] (float32) of waveforms x [..., n] sampled at fs_hz.

    Frame k is centred on sample (k + 0.5) * hop, i.e. at time (k + 0.5) * hop / fs,
    and there are n // hop frames. Rows are the first n_rows FFT bins, k * fs / nperseg.
    The one function behind both the scene and `spectrogram_of_signal`.
    """
    x = np.asarray(x, dtype=np.float64)
    lead, n = x.shape[:-1], x.shape[-1]
    n_frames = n // hop
    # Frame k spans samples [k*hop - left, k*hop - left + nperseg): its window's centre
    # (index nperseg/2 of a periodic Hann window) falls on sample k*hop + hop/2.
    left = nperseg // 2 - hop // 2
    right = max(0, (n_frames - 1) * hop - left + nperseg - n)
    # ShortTimeFFT's slice p starts at sample p*hop - nperseg/2; start slice p0 at `skip`.
    p0 = -(-(nperseg // 2) // hop)
    skip = p0 * hop - nperseg // 2
    stft = ShortTimeFFT(
        hann(nperseg, sym=False), hop=hop, fs=fs_hz, fft_mode="onesided2X", scale_to="psd", phase_shift=None
    )
    flat = x.reshape(-1, n)
    out = np.empty((flat.shape[0], n_rows, n_frames), dtype=np.float32)
    for i in range(0, flat.shape[0], _STFT_CHUNK):
        padded = np.pad(flat[i : i + _STFT_CHUNK], ((0, 0), (left + skip, right)), mode="reflect")
        # A few frames per call keep ShortTimeFFT's output (written one frame at a time) in cache.
        group = max(8, _STFT_BYTES // (padded.shape[0] * stft.f_pts * 16))
        for k in range(0, n_frames, group):
            z = stft.stft(padded, p0=p0 + k, p1=p0 + min(k + group, n_frames), axis=-1)[:, :n_rows, :]
            power = z.real**2
            power += z.imag**2
            power += EPS
            np.minimum(power, _POWER_MAX, out=power)  # so float32 holds it, for a faster logarithm
            out[i : i + _STFT_CHUNK, :, k : k + group] = np.log10(power.astype(np.float32)) * 10
    return out.reshape(*lead, n_rows, n_frames)


def _rows_below(max_freq_hz: float | None, fs_hz: float, nperseg: int) -> int:
    """How many STFT rows lie below max_freq_hz (and always below Nyquist)."""
    nyquist = fs_hz / 2
    df = fs_hz / nperseg
    if max_freq_hz is None:
        return nperseg // 2
    if not math.isfinite(max_freq_hz) or max_freq_hz > nyquist * (1 + 1e-12):
        raise ValueError(
            f"max_freq_hz ({max_freq_hz}) must be at most the Nyquist frequency target_fs_hz/2 = {nyquist:g} Hz"
        )
    rows = min(nperseg // 2, int(math.ceil(max_freq_hz / df - 1e-9)))
    if rows < 2:
        raise ValueError(f"max_freq_hz ({max_freq_hz}) must leave at least 2 rows of {df:g} Hz")
    return rows


def spectrogram_of_signal(
    samples: np.ndarray,
    fs_hz: float,
    *,
    target_fs_hz: float = FS_HZ,
    nperseg: int = NPERSEG,
    hop: int = HOP,
    max_freq_hz: float | None = 128.0,
    t0_s: float = 0.0,
) -> Spectrogram:
    """The spectrogram of a 1-D recording on the grid the signal scene uses.

    `samples` (any units) taken at `fs_hz` are resampled to `target_fs_hz` when the
    rates differ (polyphase, with the ratio rounded to a fraction with denominator
    <= 1000; the axes use the rate actually reached). Then the same STFT as
    `SignalScene`: periodic Hann window of `nperseg` samples, `hop` samples apart,
    frame k centred at t0_s + (k + 0.5) * hop / fs for the len // hop frames that
    tile the recording, ends extended by mirror reflection; values are
    10*log10(PSD + EPS), the one-sided PSD in dB re 1 unit^2/Hz, float32; rows are the
    FFT bins below `max_freq_hz` (None: below Nyquist; the Nyquist row is always dropped).
    """
    x = np.asarray(samples)
    if x.ndim != 1:
        raise ValueError(f"samples must be a 1-D array of one channel, got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise ValueError(f"samples must be real numbers, got dtype {x.dtype}")
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise ValueError(f"samples must all be finite, got {int((~np.isfinite(x)).sum())} NaN or infinite values")
    try:
        fs = float(fs_hz)
    except (TypeError, ValueError):
        fs = math.nan
    if not (math.isfinite(fs) and fs > 0):
        raise ValueError(f"fs_hz must be a positive sampling rate in Hz, got {fs_hz}")
    if not (math.isfinite(target_fs_hz) and target_fs_hz > 0):
        raise ValueError(f"target_fs_hz must be a positive sampling rate in Hz, got {target_fs_hz}")
    nperseg, hop = _check_stft(nperseg, hop)
    if not math.isfinite(t0_s):
        raise ValueError(f"t0_s must be a finite time in seconds, got {t0_s}")
    up = down = 1
    if fs != float(target_fs_hz):
        ratio = Fraction(float(target_fs_hz) / fs).limit_denominator(1000)
        if ratio.numerator == 0:
            raise ValueError(f"fs_hz ({fs_hz}) is too high to resample to target_fs_hz ({target_fs_hz})")
        up, down = ratio.numerator, ratio.denominator
    if -(-x.size * up // down) < nperseg:
        rate = fs * up / down
        raise ValueError(
            f"samples must span at least one window of {nperseg} samples at {rate:g} Hz "
            f"({nperseg / rate:g} s), got {x.size} samples at {fs:g} Hz"
        )
    if (up, down) != (1, 1):
        x = resample_poly(x, up, down)
        fs = fs * up / down
    n_rows = _rows_below(max_freq_hz, fs, nperseg)
    values = _stft_db(x, fs, nperseg, hop, n_rows)
    n_frames = values.shape[1]
    if n_frames < 2:
        raise ValueError(f"samples give only {n_frames} frame of hop {hop}; a spectrogram needs at least 2")
    times = t0_s + (np.arange(n_frames) + 0.5) * hop / fs
    freqs = np.arange(n_rows) * fs / nperseg
    return Spectrogram(values, times, freqs)


# --------------------------------------------------------------------------- chirps


def _chirp_phase(tau: np.ndarray, t1: np.ndarray, f0: np.ndarray, f1: np.ndarray, code: int) -> np.ndarray:
    """2*pi * integral of the instantaneous frequency from 0 to tau, as scipy.signal.chirp
    (vertex_zero=True); tau [m, L], the other arguments [m, 1]."""
    if code == _LINEAR:
        cycles = tau * (f0 + (f1 - f0) * tau / (2 * t1))
    elif code == _QUADRATIC:
        cycles = tau * (f0 + (f1 - f0) * tau**2 / (3 * t1**2))
    elif code == _EXPONENTIAL:  # f0 * (f1/f0)**(tau/t1)
        rate = np.log(f1 / f0) / t1
        flat = np.abs(rate * t1) < 1e-12
        safe = np.where(flat, 1.0, rate)
        cycles = f0 * np.where(flat, tau, np.expm1(safe * tau) / safe)
    else:  # hyperbolic: f0 * f1 * t1 / ((f0 - f1) * tau + f1 * t1) = f0 / (1 + rate * tau)
        rate = (f0 - f1) / (f1 * t1)
        flat = np.abs(rate * t1) < 1e-12
        safe = np.where(flat, 1.0, rate)
        cycles = f0 * np.where(flat, tau, np.log1p(safe * tau) / safe)
    return 2 * np.pi * cycles


def _path_frequency(u: np.ndarray, f0: np.ndarray, f1: np.ndarray, code: np.ndarray) -> np.ndarray:
    """Instantaneous frequency at normalised times u in [0, 1] (each sweep's formula)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lin = f0 + (f1 - f0) * u
        quad = f0 + (f1 - f0) * u**2
        expo = f0 * (f1 / f0) ** u
        hyp = f0 * f1 / ((f0 - f1) * u + f1)
    return np.select([code == _LINEAR, code == _QUADRATIC, code == _EXPONENTIAL], [lin, quad, expo], hyp)


def _tukey(u: np.ndarray, taper: float) -> np.ndarray:
    """Tukey window of taper fraction `taper` at normalised times u in [0, 1]
    (scipy.signal.windows.tukey's shape, continuous in u)."""
    if taper <= 0:
        return np.ones_like(u)
    edge = np.minimum(u, 1.0 - u)
    np.clip(edge, 0.0, taper / 2, out=edge)  # cos(pi) = -1 exactly: 1.0 on the flat top
    return 0.5 - 0.5 * np.cos(edge * (2 * np.pi / taper))


# --------------------------------------------------------------------------- scene


@dataclass(frozen=True)
class SignalBlock:
    """The waveforms of one block of signal scenes, with everything drawn for them.

    `samples` [N, n] (float64, rows contiguous) at `fs_hz`, sample j at time j / fs_hz; `snr_db` [N] the
    SNR of each scene's chirps (see the module docstring); `alpha` [N] the noise's
    spectral exponent; `line_hz` [N] the line-noise frequency, 0 where there is none.
    """

    samples: np.ndarray
    fs_hz: float
    labels: ChirpTable
    snr_db: np.ndarray
    alpha: np.ndarray
    line_hz: np.ndarray

    @property
    def times_s(self) -> np.ndarray:
        return np.arange(self.samples.shape[-1]) / self.fs_hz


def _pair(name: str, value: Sequence[float], unit: str = "") -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (min, max) pair of numbers, got {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"{name} must be finite, got ({lo}, {hi})")
    if lo > hi:
        raise ValueError(f"{name} must be a (min, max) range with min <= max, got ({lo:g}, {hi:g}){unit}")
    return lo, hi


class SignalScene(Scene):
    """Physically real scenes: chirps in 1/f^alpha noise, sampled, then STFT'd.

    Ranges are (min, max) pairs drawn uniformly (min == max fixes the value):
    `duration_s` of each chirp, its `freq_hz` at start and at end (drawn
    independently, so it may rise or fall), the scene's `snr_db` (see the module
    docstring) and noise exponent `noise_alpha`. Each chirp starts at
    U(0, window_s - duration). `sweeps` are drawn with equal probability.
    With probability `line_noise_prob` a scene has a sinusoid at one of
    `line_freqs_hz`, `line_noise_db` above the noise PSD in a 1 Hz band there.
    `taper` is the Tukey envelope's taper fraction (0: rectangular, 1: Hann).
    The grid: `window_s` of samples at `fs_hz`, STFT with `nperseg` and `hop`
    (see `spectrogram_of_signal`), every row below Nyquist.

    `block` stores each scene's SNR in dB as `SceneBatch.noise_level` (higher is
    cleaner); `waveforms` gives the samples behind a block.
    """

    name = "signal"

    def __init__(
        self,
        min_chirps: int = 1,
        max_chirps: int = 1,
        *,
        fs_hz: float = FS_HZ,
        window_s: float = WINDOW_S,
        nperseg: int = NPERSEG,
        hop: int = HOP,
        duration_s: Sequence[float] = (2.0, 12.0),
        freq_hz: Sequence[float] = (2.0, 100.0),
        sweeps: Sequence[str] = SWEEP_TYPES,
        snr_db: Sequence[float] = (10.0, 25.0),
        noise_alpha: Sequence[float] = (1.0, 2.0),
        line_noise_prob: float = 0.3,
        line_noise_db: Sequence[float] = (0.0, 20.0),
        line_freqs_hz: Sequence[float] = (50.0, 60.0),
        taper: float = 0.2,
    ) -> None:
        super().__init__(min_chirps, max_chirps)
        fs_hz, window_s = float(fs_hz), float(window_s)
        if not (math.isfinite(fs_hz) and fs_hz > 0):
            raise ValueError(f"fs_hz must be a positive sampling rate in Hz, got {fs_hz}")
        if not (math.isfinite(window_s) and window_s > 0):
            raise ValueError(f"window_s must be a positive length in seconds, got {window_s}")
        self.nperseg, self.hop = _check_stft(nperseg, hop)
        n = window_s * fs_hz
        if abs(n - round(n)) > 1e-6 or round(n) % self.hop:
            raise ValueError(
                f"window_s * fs_hz ({n:g} samples) must be a whole multiple of hop ({self.hop} samples) "
                "so that the frames tile the window"
            )
        if round(n) < self.nperseg:
            raise ValueError(
                f"window_s ({window_s:g} s) must hold at least one STFT window of nperseg ({self.nperseg}) samples"
            )
        self.fs_hz, self.window_s, self.n_samples = fs_hz, window_s, int(round(n))
        nyquist = fs_hz / 2

        self.duration_s = _pair("duration_s", duration_s, " s")
        if self.duration_s[0] <= 0:
            raise ValueError(f"duration_s must be positive, got min {self.duration_s[0]:g} s")
        if self.duration_s[1] > window_s:
            raise ValueError(
                f"duration_s max ({self.duration_s[1]:g} s) must fit in the window, window_s = {window_s:g} s"
            )
        try:
            names = [normalize_sweep(s) for s in ([sweeps] if isinstance(sweeps, str) else sweeps)]
        except ValueError as err:
            raise ValueError(f"sweeps: {err}") from None
        if not names:
            raise ValueError("sweeps must name at least one sweep type")
        self.sweeps = tuple(dict.fromkeys(names))
        self.freq_hz = _pair("freq_hz", freq_hz, " Hz")
        positive = {"exponential", "hyperbolic"} & set(self.sweeps)
        if self.freq_hz[0] < 0 or (positive and self.freq_hz[0] <= 0):
            need = f"> 0 for {' and '.join(sorted(positive))} sweeps" if positive else ">= 0"
            raise ValueError(f"freq_hz min must be {need}, got {self.freq_hz[0]:g} Hz")
        if self.freq_hz[1] >= nyquist:
            raise ValueError(
                f"freq_hz max ({self.freq_hz[1]:g} Hz) must be below the Nyquist frequency fs_hz/2 = {nyquist:g} Hz"
            )
        self.snr_db = _pair("snr_db", snr_db, " dB")
        self.noise_alpha = _pair("noise_alpha", noise_alpha)
        if self.noise_alpha[0] < 0 or self.noise_alpha[1] > 4:
            raise ValueError(f"noise_alpha must lie in [0, 4], got {self.noise_alpha}")
        if not 0.0 <= float(line_noise_prob) <= 1.0:
            raise ValueError(f"line_noise_prob must be a probability in [0, 1], got {line_noise_prob}")
        self.line_noise_prob = float(line_noise_prob)
        self.line_noise_db = _pair("line_noise_db", line_noise_db, " dB")
        self.line_freqs_hz = tuple(float(f) for f in line_freqs_hz)
        if not self.line_freqs_hz or not all(0 < f < nyquist for f in self.line_freqs_hz):
            raise ValueError(
                f"line_freqs_hz must be one or more frequencies in (0, {nyquist:g}) Hz, got {tuple(line_freqs_hz)}"
            )
        if not 0.0 <= float(taper) <= 1.0:
            raise ValueError(f"taper must be a fraction in [0, 1], got {taper}")
        self.taper = float(taper)

    # ------------------------------------------------------------------ grid

    @property
    def times_s(self) -> np.ndarray:
        return (np.arange(self.n_samples // self.hop) + 0.5) * self.hop / self.fs_hz

    @property
    def freqs_hz(self) -> np.ndarray:
        return np.arange(self.nperseg // 2) * self.fs_hz / self.nperseg

    def config(self) -> dict:
        return {
            **super().config(),
            "fs_hz": self.fs_hz,
            "window_s": self.window_s,
            "nperseg": self.nperseg,
            "hop": self.hop,
            "duration_s": list(self.duration_s),
            "freq_hz": list(self.freq_hz),
            "sweeps": list(self.sweeps),
            "snr_db": list(self.snr_db),
            "noise_alpha": list(self.noise_alpha),
            "line_noise_prob": self.line_noise_prob,
            "line_noise_db": list(self.line_noise_db),
            "line_freqs_hz": list(self.line_freqs_hz),
            "taper": self.taper,
        }

    # ------------------------------------------------------------------ drawing

    def draw_labels(self, rng: np.random.Generator, n: int) -> ChirpTable:
        present = draw_chirp_counts(rng, n, self.min_chirps, self.max_chirps)
        shape = present.shape
        duration = rng.uniform(*self.duration_s, shape)
        start = rng.random(shape) * (self.window_s - duration)
        f0 = rng.uniform(*self.freq_hz, shape)
        f1 = rng.uniform(*self.freq_hz, shape)
        codes = np.array([SWEEP_TYPES.index(s) for s in self.sweeps], dtype=np.int8)
        sweep = codes[rng.integers(0, codes.size, shape)]
        zero = ~present
        return ChirpTable(
            np.where(zero, 0.0, start), np.where(zero, 0.0, duration), np.where(zero, 0.0, f0),
            np.where(zero, 0.0, f1), np.where(zero, 0, sweep).astype(np.int8), present,
        )

    def waveforms(self, seed: int, block_index: int) -> SignalBlock:
        """The waveforms of scenes [block_index*BLOCK, (block_index+1)*BLOCK) of this seed;
        `block` is exactly their spectrograms."""
        rng = block_rng(seed, block_index)
        n, size, fs = BLOCK, self.n_samples, self.fs_hz
        labels = self.draw_labels(rng, n)
        snr = rng.uniform(*self.snr_db, n)
        alpha = rng.uniform(*self.noise_alpha, n)
        chirp_phase = rng.uniform(0.0, 2 * np.pi, labels.present.shape)
        has_line = rng.random(n) < self.line_noise_prob
        line_hz = np.where(has_line, np.asarray(self.line_freqs_hz)[rng.integers(0, len(self.line_freqs_hz), n)], 0.0)
        line_db = rng.uniform(*self.line_noise_db, n)
        line_phase = rng.uniform(0.0, 2 * np.pi, n)

        # Noise: complex Gaussian spectrum shaped to PSD c * max(f, knee)^-alpha, unit variance.
        nbins = size // 2 + 1
        df = fs / size
        log_f = np.log(np.maximum(np.arange(nbins) * df, NOISE_KNEE_HZ))
        shape = np.exp(-0.5 * alpha[:, None] * log_f[None, :])  # sqrt of PSD / c
        shape[:, 0] = 0.0  # no DC
        if size % 2 == 0:
            shape[:, -1] = 0.0  # no Nyquist term
        psd_scale = 1.0 / (df * np.einsum("ij,ij->i", shape, shape))  # c: unit variance
        spectrum = rng.standard_normal((n, nbins, 2)).view(np.complex128)[..., 0]
        spectrum *= shape * (np.sqrt(psd_scale * size * fs) / 2)[:, None]
        del shape

        def log_noise_psd(f: np.ndarray, rows: np.ndarray) -> np.ndarray:
            return np.log(psd_scale[rows]) - alpha[rows] * np.log(np.maximum(f, NOISE_KNEE_HZ))

        scene, slot = np.nonzero(labels.present)
        chirps = self._chirps(labels, scene, slot, chirp_phase[scene, slot], snr[scene], log_noise_psd)
        longest = 0 if chirps is None else chirps[1].shape[1]
        buffer = np.zeros((n, size + longest))
        np.fft.irfft(spectrum, n=size, axis=-1, out=buffer[:, :size])
        del spectrum
        if chirps is not None:
            first, values = chirps
            cols = first[:, None] + np.arange(longest)
            for k in range(labels.max_chirps):  # one chirp per scene per slot: no repeated cells
                mine = slot == k
                buffer[scene[mine, None], cols[mine]] += values[mine]
        lines = np.nonzero(has_line)[0]
        if lines.size:
            amp = np.sqrt(2 * 10 ** (line_db[lines] / 10) * np.exp(log_noise_psd(line_hz[lines], lines)))
            t = np.arange(size) / fs
            hum = np.cos(2 * np.pi * line_hz[lines, None] * t + line_phase[lines, None])
            buffer[lines, :size] += amp[:, None] * hum
        return SignalBlock(buffer[:, :size], fs, labels, snr, alpha, line_hz)

    def _chirps(
        self,
        labels: ChirpTable,
        scene: np.ndarray,
        slot: np.ndarray,
        phase: np.ndarray,
        snr: np.ndarray,
        log_noise_psd: Callable[[np.ndarray, np.ndarray], np.ndarray],
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """(first sample [m], values [m, L]) of the m present chirps (scene, slot), each zero
        past its own end; None if there are none."""
        if scene.size == 0:
            return None
        fs, size = self.fs_hz, self.n_samples
        t0 = labels.start_time_s[scene, slot][:, None]
        t1 = labels.duration_s[scene, slot][:, None]
        f0 = labels.start_freq_hz[scene, slot][:, None]
        f1 = labels.end_freq_hz[scene, slot][:, None]
        code = labels.sweep[scene, slot].astype(np.int64)[:, None]

        # Amplitude from the local SNR: noise PSD averaged in dB along the frequency path.
        u = (np.arange(_SNR_POINTS) + 0.5) / _SNR_POINTS
        path = _path_frequency(u[None, :], f0, f1, code)
        mean_log_psd = log_noise_psd(path, scene[:, None]).mean(axis=1)
        amp = np.sqrt(2 * 10 ** (snr / 10) * np.exp(mean_log_psd))

        first = np.ceil(t0[:, 0] * fs).astype(np.int64)
        last = np.minimum(np.floor((t0 + t1)[:, 0] * fs).astype(np.int64), size - 1)
        length = np.maximum(last - first + 1, 0)
        j = np.arange(int(length.max(initial=1)))[None, :]
        tau = np.minimum((first[:, None] + j) / fs - t0, t1)  # past the end: zeroed below
        values = np.zeros(tau.shape)
        for c in np.unique(code):
            rows = code[:, 0] == c
            values[rows] = np.cos(_chirp_phase(tau[rows], t1[rows], f0[rows], f1[rows], int(c)) + phase[rows, None])
        values *= _tukey(tau / t1, self.taper)
        values *= amp[:, None]
        values[j >= length[:, None]] = 0.0
        return first, values

    def block(self, seed: int, block_index: int) -> SceneBatch:
        waves = self.waveforms(seed, block_index)
        values = _stft_db(waves.samples, self.fs_hz, self.nperseg, self.hop, self.nperseg // 2)
        return SceneBatch(values, self.times_s, self.freqs_hz, waves.labels, waves.snr_db, self.name)
