"""The data that flows between chirploc's stages, always with its physical units.

`Spectrogram` is a 2-D array [freq, time] with the centres of its bins in hertz
and seconds. `Chirp` is one true (or asserted) sweep; `ChirpEstimate` is a
model's or estimator's answer about one sweep, with its confidence. A batch of
scenes is a `SceneBatch`: many spectrograms on one grid with a `ChirpTable` of
labels, kept as arrays so that generation and training stay vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

#: Sweep types in scipy.signal.chirp's vocabulary, in code order (the codes are
#: stored in label tables and checkpoints, so never reorder this tuple).
SWEEP_TYPES: tuple[str, ...] = ("linear", "exponential", "quadratic", "hyperbolic")

_SWEEP_ALIASES = {
    "linear": "linear",
    "lin": "linear",
    "li": "linear",
    "exponential": "exponential",
    "logarithmic": "exponential",
    "log": "exponential",
    "lo": "exponential",
    "exp": "exponential",
    "quadratic": "quadratic",
    "quad": "quadratic",
    "q": "quadratic",
    "hyperbolic": "hyperbolic",
    "hyp": "hyperbolic",
}


def normalize_sweep(name: str) -> str:
    """Return the canonical sweep name; 'logarithmic' (scipy's word) is 'exponential'."""
    key = str(name).strip().lower()
    if key not in _SWEEP_ALIASES:
        raise ValueError(
            f"unknown sweep type {name!r}: use one of {', '.join(SWEEP_TYPES)} "
            "(or 'logarithmic', scipy's word for 'exponential')"
        )
    return _SWEEP_ALIASES[key]


def sweep_code(name: str) -> int:
    return SWEEP_TYPES.index(normalize_sweep(name))


def _uniform_step(centres: np.ndarray, what: str) -> float:
    if centres.ndim != 1 or centres.size < 2:
        raise ValueError(f"{what} axis needs at least 2 bin centres, got shape {centres.shape}")
    steps = np.diff(centres)
    step = float(np.median(steps))
    if step <= 0 or not np.allclose(steps, step, rtol=1e-4, atol=1e-9):
        raise ValueError(f"{what} axis must be strictly increasing and evenly spaced")
    return step


@dataclass(frozen=True)
class Spectrogram:
    """values[freq, time] on evenly spaced bins whose centres are `freqs_hz` and `times_s`."""

    values: np.ndarray
    times_s: np.ndarray
    freqs_hz: np.ndarray

    def __post_init__(self) -> None:
        values = np.asarray(self.values)
        times = np.asarray(self.times_s, dtype=np.float64)
        freqs = np.asarray(self.freqs_hz, dtype=np.float64)
        if values.ndim != 2:
            raise ValueError(f"spectrogram values must be 2-D [freq, time], got shape {values.shape}")
        if values.shape != (freqs.size, times.size):
            raise ValueError(
                f"spectrogram values have shape {values.shape} but the axes give "
                f"({freqs.size} freqs, {times.size} times)"
            )
        _uniform_step(times, "time")
        _uniform_step(freqs, "frequency")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "times_s", times)
        object.__setattr__(self, "freqs_hz", freqs)

    @classmethod
    def from_ranges(
        cls, values: np.ndarray, time_range_s: tuple[float, float], freq_range_hz: tuple[float, float]
    ) -> "Spectrogram":
        """Build from the outer edges of the plane (what imshow calls `extent`)."""
        values = np.asarray(values)
        if values.ndim != 2:
            raise ValueError(f"spectrogram values must be 2-D [freq, time], got shape {values.shape}")
        return cls(values, bin_centres(*time_range_s, values.shape[1]), bin_centres(*freq_range_hz, values.shape[0]))

    @property
    def dt_s(self) -> float:
        return _uniform_step(self.times_s, "time")

    @property
    def df_hz(self) -> float:
        return _uniform_step(self.freqs_hz, "frequency")

    @property
    def time_range_s(self) -> tuple[float, float]:
        """Outer edges of the time axis, in seconds."""
        half = self.dt_s / 2
        return float(self.times_s[0] - half), float(self.times_s[-1] + half)

    @property
    def freq_range_hz(self) -> tuple[float, float]:
        """Outer edges of the frequency axis, in hertz."""
        half = self.df_hz / 2
        return float(self.freqs_hz[0] - half), float(self.freqs_hz[-1] + half)

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """(t0, t1, f0, f1) for matplotlib's imshow(origin='lower')."""
        return (*self.time_range_s, *self.freq_range_hz)


def bin_centres(lo: float, hi: float, n: int) -> np.ndarray:
    """Centres of n equal bins that tile [lo, hi]."""
    if not hi > lo:
        raise ValueError(f"axis range must increase, got {lo} to {hi}")
    step = (hi - lo) / n
    return lo + step * (np.arange(n) + 0.5)


@dataclass(frozen=True)
class Chirp:
    """One sweep: it starts at `start_time_s` at `start_freq_hz` and reaches
    `end_freq_hz` after `duration_s`, following `sweep` (scipy.signal.chirp's `method`)."""

    start_time_s: float
    duration_s: float
    start_freq_hz: float
    end_freq_hz: float
    sweep: str = "linear"

    def __post_init__(self) -> None:
        object.__setattr__(self, "sweep", normalize_sweep(self.sweep))
        if not self.duration_s > 0:
            raise ValueError(f"chirp duration must be positive, got {self.duration_s} s")

    @property
    def end_time_s(self) -> float:
        return self.start_time_s + self.duration_s

    @property
    def sweep_rate_hz_per_s(self) -> float:
        """Mean rate of frequency change over the chirp, in Hz/s."""
        return (self.end_freq_hz - self.start_freq_hz) / self.duration_s

    def frequency_at(self, times_s: np.ndarray) -> np.ndarray:
        """Instantaneous frequency (Hz) at absolute times (s), as scipy.signal.chirp defines
        each method; NaN outside the chirp."""
        times_s = np.asarray(times_s, dtype=np.float64)
        t = times_s - self.start_time_s
        t1, f0, f1 = self.duration_s, self.start_freq_hz, self.end_freq_hz
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.sweep == "linear":
                f = f0 + (f1 - f0) * t / t1
            elif self.sweep == "quadratic":
                f = f0 + (f1 - f0) * (t / t1) ** 2
            elif self.sweep == "exponential":
                f = f0 * (f1 / f0) ** (t / t1) if f0 > 0 and f1 > 0 else f0 + (f1 - f0) * t / t1
            else:  # hyperbolic
                f = f0 * f1 * t1 / ((f0 - f1) * t + f1 * t1)
        return np.where((t >= 0) & (t <= t1), f, np.nan)


@dataclass(frozen=True)
class ChirpEstimate(Chirp):
    """An estimated chirp, with the probability that it is there at all and,
    where the estimator gives one, a standard uncertainty per quantity (same units)."""

    presence: float = 1.0
    uncertainty: dict[str, float] = field(default_factory=dict)
    #: the channel of the recording it was found in, where the source has channels (WAV, EDF)
    channel: str | None = None


def end_time_std(start_time_std: float, duration_std: float, corr: float) -> float:
    """Std of an end time read as start + duration, whose errors have these stds and this correlation."""
    return float(np.sqrt(max(start_time_std**2 + duration_std**2 + 2 * corr * start_time_std * duration_std, 0.0)))


@dataclass
class ChirpTable:
    """Labels of N scenes with up to K chirps each, as arrays [N, K].

    Slots with `present == False` are padding: their other values are 0 and mean nothing.
    """

    start_time_s: np.ndarray
    duration_s: np.ndarray
    start_freq_hz: np.ndarray
    end_freq_hz: np.ndarray
    sweep: np.ndarray  # int8 codes into SWEEP_TYPES
    present: np.ndarray  # bool

    def __post_init__(self) -> None:
        shape = np.shape(self.present)
        for name in ("start_time_s", "duration_s", "start_freq_hz", "end_freq_hz", "sweep"):
            if np.shape(getattr(self, name)) != shape:
                raise ValueError(f"ChirpTable.{name} has shape {np.shape(getattr(self, name))}, expected {shape}")

    FIELDS = ("start_time_s", "duration_s", "start_freq_hz", "end_freq_hz", "sweep", "present")

    def __len__(self) -> int:
        return int(self.present.shape[0])

    @property
    def max_chirps(self) -> int:
        return int(self.present.shape[1])

    def chirps(self, i: int) -> list[Chirp]:
        """The chirps of scene i, in slot order."""
        return [
            Chirp(
                start_time_s=float(self.start_time_s[i, k]),
                duration_s=float(self.duration_s[i, k]),
                start_freq_hz=float(self.start_freq_hz[i, k]),
                end_freq_hz=float(self.end_freq_hz[i, k]),
                sweep=SWEEP_TYPES[int(self.sweep[i, k])],
            )
            for k in range(self.max_chirps)
            if self.present[i, k]
        ]

    def select(self, index: slice | np.ndarray) -> "ChirpTable":
        return ChirpTable(**{name: getattr(self, name)[index] for name in self.FIELDS})

    @classmethod
    def concat(cls, tables: list["ChirpTable"]) -> "ChirpTable":
        k = max(t.max_chirps for t in tables)
        parts: dict[str, list[np.ndarray]] = {name: [] for name in cls.FIELDS}
        for t in tables:
            pad = ((0, 0), (0, k - t.max_chirps))
            for name in cls.FIELDS:
                parts[name].append(np.pad(getattr(t, name), pad))
        return cls(**{name: np.concatenate(arrs) for name, arrs in parts.items()})


@dataclass
class SceneBatch:
    """N spectrograms on one shared grid, with their labels.

    `values` is float32 [N, freq, time]; `noise_level` is the per-scene noise
    parameter of the scene that made it (its meaning is the scene's own).
    """

    values: np.ndarray
    times_s: np.ndarray
    freqs_hz: np.ndarray
    labels: ChirpTable
    noise_level: np.ndarray
    scene: str = ""

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def spectrogram(self, i: int) -> Spectrogram:
        return Spectrogram(self.values[i], self.times_s, self.freqs_hz)

    def chirps(self, i: int) -> list[Chirp]:
        return self.labels.chirps(i)

    def __iter__(self) -> Iterator[tuple[Spectrogram, list[Chirp]]]:
        for i in range(len(self)):
            yield self.spectrogram(i), self.chirps(i)

    def select(self, index: slice | np.ndarray) -> "SceneBatch":
        return SceneBatch(
            self.values[index], self.times_s, self.freqs_hz, self.labels.select(index),
            self.noise_level[index], self.scene,
        )
