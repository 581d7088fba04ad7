"""Files in, spectrograms out: what `chirploc predict` reads, one window at a time.

Supported inputs:

* images (.png, .jpg, .jpeg): a ChirpLoc100K figure is recognised and read on
  its own axes (0-60 s, 0-100 Hz); any other image is the spectrogram plane
  itself and needs its axes' outer edges (`time_range_s`, `freq_range_hz`);
* .npy arrays: 2-D is a spectrogram [freq, time] (needs both ranges), 1-D is a
  signal (needs `fs_hz`);
* .wav: every channel (named "ch0", "ch1", ...), or those picked;
* .edf / .bdf (EDF, EDF+, BDF): every signal channel, or those picked by label.

A signal longer than `window_s` is cut into windows `window_s` long, `hop_s`
apart (the last one aligned to the recording's end), each turned into a
spectrogram whose time axis starts at the window's offset, so estimates from it
are in recording time. `merge_window_estimates` then removes what the overlap of
the windows reports twice.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from chirploc.io.errors import ChirpLocIOError
from chirploc.types import ChirpEstimate, Spectrogram

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
ARRAY_EXTENSIONS = (".npy",)
AUDIO_EXTENSIONS = (".wav",)
EDF_EXTENSIONS = (".edf", ".bdf")
SUPPORTED_EXTENSIONS = IMAGE_EXTENSIONS + ARRAY_EXTENSIONS + AUDIO_EXTENSIONS + EDF_EXTENSIONS

#: What each kind of window is made from (a baseline may pick its settings by it).
KIND_FIGURE, KIND_IMAGE, KIND_SPECTROGRAM, KIND_SIGNAL = "figure", "image", "spectrogram", "signal"


_RANGES_HINT = (
    "its axes' outer edges: --time-range T0 T1 and --freq-range F0 F1 "
    "(time_range_s=(T0, T1), freq_range_hz=(F0, F1) in Python)"
)


@dataclass
class InputOptions:
    """How to read files that do not carry everything themselves.

    time_range_s, freq_range_hz: outer edges of a plain image's or 2-D array's axes.
    fs_hz: sampling rate of a 1-D .npy signal (WAV and EDF carry their own).
    channels: channels to read from WAV ("ch0", "ch1", ... or 0, 1, ...) or EDF
        (labels); None reads them all.
    window_s, hop_s: length and step of the windows a long signal is cut into.
    """

    time_range_s: tuple[float, float] | None = None
    freq_range_hz: tuple[float, float] | None = None
    fs_hz: float | None = None
    channels: list[str] | None = None
    window_s: float = 32.0
    hop_s: float = 16.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.window_s) and self.window_s > 0):
            raise ChirpLocIOError(f"window length must be a positive number of seconds, got {self.window_s}")
        if not (math.isfinite(self.hop_s) and 0 < self.hop_s <= self.window_s):
            raise ChirpLocIOError(
                f"window hop must be positive and at most the window length ({self.window_s:g} s), got {self.hop_s}"
            )
        for name, pair in (("--time-range", self.time_range_s), ("--freq-range", self.freq_range_hz)):
            if pair is not None:
                lo, hi = (float(v) for v in pair)
                if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
                    raise ChirpLocIOError(f"{name} must be two finite numbers, the second larger, got {lo:g} {hi:g}")
        if self.fs_hz is not None and not (math.isfinite(self.fs_hz) and self.fs_hz > 0):
            raise ChirpLocIOError(f"--fs must be a positive sampling rate in Hz, got {self.fs_hz}")


@dataclass
class Window:
    """One spectrogram to look for chirps in, and where it came from.

    The spectrogram's time axis is in recording time (it starts at `offset_s`),
    so estimates made on it need no shifting.
    """

    spectrogram: Spectrogram
    file: Path
    channel: str | None = None
    offset_s: float = 0.0
    kind: str = KIND_SIGNAL
    #: wall-clock time of the recording's t = 0, where the file says (EDF)
    start_datetime: datetime | None = None
    #: the highest frequency the source holds (half its sampling rate) when that lies
    #: inside the spectrogram: rows above it hold filler noise (`_fill_above_band`)
    band_limit_hz: float | None = None
    #: the signal the window was cut from, where it can be cut again elsewhere
    source: "SignalSource | None" = None

    @property
    def time_range_s(self) -> tuple[float, float]:
        return self.spectrogram.time_range_s


# --------------------------------------------------------------------------- finding files


def find_inputs(paths: Iterable[str | Path]) -> list[Path]:
    """The files to read: each file as given, and every supported file under each folder
    (recursively, sorted). A path that does not exist is an error naming it."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_EXTENSIONS
            )
            if not inside:
                raise ChirpLocIOError(
                    f"{path}: the folder holds no files chirploc reads ({', '.join(SUPPORTED_EXTENSIONS)})"
                )
            found += inside
        elif path.exists():
            found.append(path)
        else:
            raise ChirpLocIOError(f"{path}: no such file or folder: check the path")
    return list(dict.fromkeys(found))


# --------------------------------------------------------------------------- reading


def read_input(path: str | Path, options: InputOptions | None = None) -> list[Window]:
    """The windows of one file (see the module docstring); a ChirpLocIOError naming the
    file says what is wrong and what to do."""
    path = Path(path)
    options = options or InputOptions()
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise ChirpLocIOError(
            f"{path}: unknown file type {path.suffix or '(no extension)'!r}: "
            f"convert it to one chirploc reads ({', '.join(SUPPORTED_EXTENSIONS)})"
        )
    if not path.exists():
        raise ChirpLocIOError(f"{path}: no such file: check the path")
    if path.is_dir():
        raise ChirpLocIOError(f"{path}: is a folder, not a file: pass the folder to find_inputs")
    if path.stat().st_size == 0:
        raise ChirpLocIOError(f"{path}: the file is empty (0 bytes): check that it was written completely")
    if ext in IMAGE_EXTENSIONS:
        windows = [_read_image_file(path, options)]
    elif ext in ARRAY_EXTENSIONS:
        windows = _read_npy(path, options)
    elif ext in AUDIO_EXTENSIONS:
        windows = _read_wav(path, options)
    else:
        windows = _read_edf(path, options)
    _warn_unused_options(path, ext, windows[0].kind, options)
    return windows


def _warn_unused_options(path: Path, ext: str, kind: str, options: InputOptions) -> None:
    """One warning naming the options this file does not use (it carries that itself, or has no use for it)."""
    recording = ext in AUDIO_EXTENSIONS or ext in EDF_EXTENSIONS
    unused = [
        name for name, given, used in (
            ("--time-range/--freq-range", options.time_range_s is not None or options.freq_range_hz is not None,
             kind in (KIND_IMAGE, KIND_SPECTROGRAM)),
            (f"--fs {options.fs_hz:g}" if options.fs_hz else "--fs", options.fs_hz is not None,
             kind == KIND_SIGNAL and not recording),
            ("--channel", bool(options.channels), recording),
        ) if given and not used
    ]
    if unused:
        what = {KIND_FIGURE: "a ChirpLoc100K figure, on its own axes (0-60 s, 0-100 Hz), with no channels",
                KIND_SIGNAL: "a recording, which gives its own sampling rate and axes" if recording
                else "a 1-D signal of one channel, on axes from --fs",
                }.get(kind, "a spectrogram on the given axes, with no channels or sampling rate")
        warnings.warn(f"{path}: {' and '.join(unused)} ignored: the file is {what}", stacklevel=3)


def _read_image_file(path: Path, options: InputOptions) -> Window:
    from chirploc.io.figure import is_chirploc100k_figure, read_figure, read_image

    try:
        if is_chirploc100k_figure(path):
            return Window(read_figure(path), path, kind=KIND_FIGURE)
        if options.time_range_s is None or options.freq_range_hz is None:
            raise ChirpLocIOError(f"{path}: a plain image needs {_RANGES_HINT}")
        spec = read_image(path, tuple(options.time_range_s), tuple(options.freq_range_hz))
    except ChirpLocIOError:
        raise
    except (OSError, ValueError, SyntaxError) as err:  # what PIL and the readers raise on a bad file
        raise ChirpLocIOError(f"{path}: cannot read it as an image ({_reason(err)}): check that it is a whole PNG or JPEG") from err
    margins = _white_margins(spec.values)
    if margins:
        warnings.warn(
            f"{path}: the image has white margins ({margins}): chirploc reads the whole image as the plane, so crop a "
            "plotted figure to its plot area (no axes, labels or colour bar) and give that area's --time-range and --freq-range",
            stacklevel=3,
        )
    return Window(spec, path, offset_s=spec.time_range_s[0], kind=KIND_IMAGE)


def _white_margins(values: np.ndarray, level: float = 0.97, min_share: float = 0.02) -> str:
    """'12 px at the left, 30 px at the bottom' for the sides of an image whose outer rows or
    columns are white (a plotted figure's margins), '' when there are none to speak of."""

    def run(lines: np.ndarray) -> int:
        white = (lines >= level).all(axis=1)
        return int(np.argmin(white)) if not white.all() else len(white)

    sides = {"left": run(values.T), "right": run(values.T[::-1]), "top": run(values[::-1]), "bottom": run(values)}
    sizes = {"left": values.shape[1], "right": values.shape[1], "top": values.shape[0], "bottom": values.shape[0]}
    wide = [f"{n} px at the {side}" for side, n in sides.items() if n >= max(2, min_share * sizes[side])]
    return ", ".join(wide)


def _read_npy(path: Path, options: InputOptions) -> list[Window]:
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise ChirpLocIOError(
            f"{path}: cannot read it as a NumPy array ({_reason(err)}): save it with numpy.save (no object arrays)"
        ) from err
    if not isinstance(data, np.ndarray) or not np.issubdtype(data.dtype, np.number) or np.iscomplexobj(data):
        raise ChirpLocIOError(f"{path}: holds {getattr(data, 'dtype', type(data).__name__)} values: save real numbers")
    if data.ndim == 1:
        if options.fs_hz is None:
            raise ChirpLocIOError(f"{path}: a 1-D .npy signal needs its sampling rate in Hz: --fs (fs_hz= in Python)")
        return signal_windows(path, data, float(options.fs_hz), None, options)
    if data.ndim == 2:
        if options.time_range_s is None or options.freq_range_hz is None:
            raise ChirpLocIOError(
                f"{path}: a 2-D .npy spectrogram [freq, time] needs {_RANGES_HINT}"
            )
        _check_finite(path, data, "spectrogram values")
        try:
            spec = Spectrogram.from_ranges(data, tuple(options.time_range_s), tuple(options.freq_range_hz))
        except ValueError as err:
            raise ChirpLocIOError(f"{path}: {err}") from err
        if min(data.shape) < 2:
            raise ChirpLocIOError(f"{path}: a spectrogram needs at least 2 rows and 2 columns, got shape {data.shape}")
        return [Window(spec, path, offset_s=spec.time_range_s[0], kind=KIND_SPECTROGRAM)]
    hint = (
        f"; a 3-D array holds {data.shape[0]} spectrograms (a `chirploc generate` shard, for one): evaluate their "
        "folder with `chirploc evaluate --data FOLDER`, or save the one you want (array[i]) on its own"
        if data.ndim == 3 else ""
    )
    raise ChirpLocIOError(
        f"{path}: an array of shape {data.shape} is neither a 1-D signal nor a 2-D spectrogram [freq, time]{hint}"
    )


def _read_wav(path: Path, options: InputOptions) -> list[Window]:
    from scipy.io import wavfile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unknown chunks are skipped, which is what we want
            fs, data = wavfile.read(path)
    except (OSError, ValueError, EOFError) as err:
        raise ChirpLocIOError(f"{path}: cannot read it as a WAV file ({_reason(err)}): write it as PCM or float WAV") from err
    samples = _wav_to_float(np.asarray(data))
    if samples.ndim == 1:
        samples = samples[:, None]
    names = [f"ch{i}" for i in range(samples.shape[1])]
    picked = _pick_channels(path, names, options.channels, numbers_allowed=True)
    windows: list[Window] = []
    for i in picked:
        windows += signal_windows(path, samples[:, i], float(fs), names[i] if len(names) > 1 or options.channels else None, options)
    return windows


def _wav_to_float(data: np.ndarray) -> np.ndarray:
    """WAV samples as float64 in [-1, 1) for integer formats; floats as they are."""
    if data.dtype == np.uint8:
        return (data.astype(np.float64) - 128.0) / 128.0
    if np.issubdtype(data.dtype, np.integer):
        return data.astype(np.float64) / float(-np.iinfo(data.dtype).min)
    return data.astype(np.float64)


def _read_edf(path: Path, options: InputOptions) -> list[Window]:
    import edfio

    reader = edfio.read_bdf if path.suffix.lower() == ".bdf" else edfio.read_edf
    kind = "BDF" if path.suffix.lower() == ".bdf" else "EDF"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            edf = reader(path)
            signals = list(edf.signals)
    except Exception as err:  # the reader raises many kinds on a damaged header
        raise ChirpLocIOError(f"{path}: cannot read it as an {kind} file ({_reason(err)}): check that the file is whole") from err
    if not signals:
        raise ChirpLocIOError(f"{path}: the {kind} file holds no signal channels")
    for note in caught:
        if "data records" in str(note.message):  # edfio's word for a file cut short
            said = str(note.message).replace("Updating header.", "").strip().rstrip(".")
            warnings.warn(f"{path}: {said}: the file is cut short; reading the records it holds", stacklevel=3)
    names = [s.label.strip() for s in signals]
    picked = _pick_channels(path, names, options.channels, numbers_allowed=False)
    start = _edf_start(edf)
    windows: list[Window] = []
    for i in picked:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                data = np.asarray(signals[i].data, dtype=np.float64)
                fs = float(signals[i].sampling_frequency)
        except Exception as err:
            raise ChirpLocIOError(f"{path}: cannot read channel {names[i]!r} ({_reason(err)}): check that the file is whole") from err
        windows += signal_windows(path, data, fs, names[i], options, start_datetime=start)
    return windows


def _edf_start(edf) -> datetime | None:
    try:
        return datetime.combine(edf.startdate, edf.starttime)
    except Exception:  # anonymised or unreadable start date: times stay relative
        return None


def _pick_channels(path: Path, names: list[str], wanted: Sequence[str] | None, numbers_allowed: bool) -> list[int]:
    if not wanted:
        return list(range(len(names)))
    picked: list[int] = []
    lowered = [n.lower() for n in names]
    for want in wanted:
        key = str(want).strip()
        if key in names:
            picked.append(names.index(key))
        elif key.lower() in lowered:
            picked.append(lowered.index(key.lower()))
        elif numbers_allowed and key.isdigit() and int(key) < len(names):
            picked.append(int(key))
        else:
            raise ChirpLocIOError(
                f"{path}: has no channel {key!r}: pick one of its channels with --channel: {', '.join(names)}"
            )
    return list(dict.fromkeys(picked))


@dataclass
class SignalSource:
    """One channel of a recording at the spectrogram's sampling rate, from which windows of
    one length can be cut anywhere (so a chirp can be looked at again in a window centred
    on it)."""

    file: Path
    channel: str | None
    samples: np.ndarray
    fs_hz: float
    window_samples: int
    band_limit_hz: float | None = None
    start_datetime: datetime | None = None

    @property
    def n_samples(self) -> int:
        return int(self.samples.size)

    def window_at(self, start: int) -> Window:
        """The window starting at sample `start` (at most `window_samples` long)."""
        from chirploc.synth.signal import FS_HZ, HOP, spectrogram_of_signal

        n, a = self.n_samples, int(start)
        b = min(n, a + self.window_samples)
        # The window's frames are computed with the recording on either side of it (where
        # there is some), so that they equal the frames of the whole recording's STFT: no
        # mirrored edges in the middle of a recording.
        context = 2 * HOP if self.fs_hz == FS_HZ and self.window_samples % HOP == 0 else 0
        lo = a - context if a >= context else a  # too close to an end: mirrored there
        hi = b + context if b + context <= n else b
        where = f"channel {self.channel!r}" if self.channel else "the signal"
        try:
            spec = spectrogram_of_signal(self.samples[lo:hi], self.fs_hz, t0_s=lo / self.fs_hz)
        except ValueError as err:
            raise ChirpLocIOError(f"{self.file}: {where}: {err}") from err
        if (lo, hi) != (a, b):
            first = (a - lo) // HOP
            cols = slice(first, first + (b - a) // HOP)
            spec = Spectrogram(spec.values[:, cols], spec.times_s[cols], spec.freqs_hz)
        return Window(
            spec, self.file, self.channel, a / self.fs_hz, KIND_SIGNAL, self.start_datetime,
            band_limit_hz=self.band_limit_hz, source=self,
        )

    def window_centred_on(self, time_s: float) -> Window:
        """The window whose middle is nearest `time_s` (s, recording time), on the frame grid
        and inside the recording."""
        from chirploc.synth.signal import HOP

        start = (time_s * self.fs_hz - self.window_samples / 2) / HOP
        start = int(round(start)) * HOP
        return self.window_at(min(max(start, 0), max(self.n_samples - self.window_samples, 0)))


def signal_windows(
    path: Path,
    samples: np.ndarray,
    fs: float,
    channel: str | None,
    options: InputOptions,
    start_datetime: datetime | None = None,
) -> list[Window]:
    """A 1-D signal cut into windows, each as a spectrogram in recording time (`path` names
    the signal's source in messages)."""
    from chirploc.synth.signal import FS_HZ, NPERSEG

    where = f"channel {channel!r}" if channel else "the signal"
    if not (math.isfinite(fs) and fs > 0):
        raise ChirpLocIOError(f"{path}: {where} has sampling rate {fs:g} Hz: it must be positive")
    _check_finite(path, samples, f"{where}")
    n = samples.size
    min_s = NPERSEG / FS_HZ  # one STFT window at the spectrogram rate
    if n / fs < min_s:
        raise ChirpLocIOError(
            f"{path}: {where} lasts {n / fs:g} s ({n} samples at {fs:g} Hz); "
            f"chirploc needs at least {min_s:g} s (one analysis window)"
        )
    if n / fs < options.window_s:
        warnings.warn(
            f"{path}: {where} lasts {n / fs:g} s, less than the {options.window_s:g} s window chirploc reads: "
            "its spectrogram is stretched to the window, so its answers are less sure than on longer recordings",
            stacklevel=3,
        )
    _warn_above_band(path, where, samples, fs, FS_HZ / 2)
    band_limit = fs / 2 if fs / 2 < FS_HZ / 2 else None
    original, original_fs = samples, fs
    samples, fs = _resample_once(samples, fs, FS_HZ)
    if band_limit is not None:
        samples = _fill_above_band(samples, fs, original, original_fs)
    n = samples.size
    win = int(round(options.window_s * fs))
    hop = max(1, int(round(options.hop_s * fs)))
    if n <= win:
        starts = [0]
    else:
        starts = list(range(0, n - win + 1, hop))
        if starts[-1] + win < n:
            starts.append(n - win)  # the last window ends with the recording
    source = SignalSource(path, channel, samples, fs, win, band_limit, start_datetime)
    return [source.window_at(a) for a in starts]


def _resample_once(samples: np.ndarray, fs: float, target_fs: float) -> tuple[np.ndarray, float]:
    """The whole recording at the spectrogram's rate, so that windows cut from it carry
    no resampling transients at their edges (as the spectrogram's own resampling would)."""
    from fractions import Fraction

    from scipy.signal import resample_poly

    samples = np.asarray(samples, dtype=np.float64)
    if fs == target_fs:
        return samples, fs
    ratio = Fraction(target_fs / fs).limit_denominator(1000)
    if ratio.numerator == 0:
        return samples, fs  # the spectrogram function says why it cannot be done
    return resample_poly(samples, ratio.numerator, ratio.denominator), fs * ratio.numerator / ratio.denominator


def _warn_above_band(path: Path, where: str, samples: np.ndarray, fs: float, top_hz: float) -> None:
    """A warning when most of a recording's power lies above `top_hz`, which the spectrogram drops."""
    if fs / 2 <= top_hz:
        return
    from scipy.signal import welch

    freqs, psd = welch(samples, fs=fs, nperseg=min(samples.size, 1024))
    total = float(psd.sum())
    share = float(psd[freqs > top_hz].sum()) / total if total > 0 else 0.0
    if share > 0.5:
        warnings.warn(
            f"{path}: {where}: {share:.0%} of its power lies above {top_hz:g} Hz, which chirploc's spectrograms of "
            f"signals leave out (they cover 0-{top_hz:g} Hz, made for EEG); for sweeps at higher frequencies pass "
            "your own spectrogram as a 2-D .npy [freq, time] with --time-range and --freq-range",
            stacklevel=3,
        )


def _fill_above_band(samples: np.ndarray, fs: float, original: np.ndarray, original_fs: float) -> np.ndarray:
    """`samples` (resampled up to `fs`) plus white noise above the original Nyquist frequency,
    at the level of the recording's own upper band (the median PSD from half to nine tenths
    of that frequency). The network and the fit know spectrograms whose noise covers every
    row: an empty band above a 32 or 64 Hz limit, with the resampling filter's faint images
    of the chirps in it, read as chirps (white noise at 64 Hz gave one at presence 0.99).
    The noise is seeded, so the same recording gives the same answer."""
    from scipy.signal import butter, sosfiltfilt, welch

    nyquist = original_fs / 2
    freqs, psd = welch(np.asarray(original, dtype=np.float64), fs=original_fs, nperseg=min(original.size, 256))
    upper = (freqs >= 0.5 * nyquist) & (freqs <= 0.9 * nyquist)
    level = float(np.median(psd[upper])) if upper.any() else float(np.median(psd))  # units^2 / Hz, one-sided
    if not (math.isfinite(level) and level > 0):
        return samples
    noise = np.random.default_rng(0).standard_normal(samples.size) * math.sqrt(level * fs / 2)
    return samples + sosfiltfilt(butter(8, nyquist, btype="highpass", fs=fs, output="sos"), noise)


def _check_finite(path: Path, values: np.ndarray, what: str) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        first = int(np.flatnonzero(bad.ravel())[0])
        raise ChirpLocIOError(
            f"{path}: {what} holds {int(bad.sum())} NaN or infinite values (the first at index {first}): "
            "interpolate or remove them first"
        )


def _reason(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 160 else text[:157] + "..."


# --------------------------------------------------------------------------- merging windows


def _overlap_s(a: ChirpEstimate, b: ChirpEstimate) -> float:
    return max(0.0, min(a.end_time_s, b.end_time_s) - max(a.start_time_s, b.start_time_s))


def same_chirp(a: ChirpEstimate, b: ChirpEstimate, min_overlap: float = 0.5, freq_tol_hz: float = 10.0) -> bool:
    """Whether two estimates overlap by more than `min_overlap` of the shorter one and run
    within `freq_tol_hz` of each other (on average) where they overlap."""
    overlap = _overlap_s(a, b)
    if overlap <= min_overlap * min(a.duration_s, b.duration_s):
        return False
    lo = max(a.start_time_s, b.start_time_s)
    times = np.linspace(lo, lo + overlap, 16)
    gap = np.abs(a.frequency_at(times) - b.frequency_at(times))
    gap = gap[np.isfinite(gap)]
    return gap.size == 0 or float(gap.mean()) <= freq_tol_hz


def merge_window_estimates(
    results: Sequence[tuple[Window, Sequence[ChirpEstimate]]],
    *,
    min_overlap: float = 0.5,
    freq_tol_hz: float = 10.0,
    edge_frames: float = 2.0,
    presence_threshold: float = 0.0,
) -> list[tuple[str | None, ChirpEstimate]]:
    """One answer per chirp from estimates made on overlapping windows, as (channel, estimate).

    Only estimates at least `presence_threshold` likely take part. Per file and channel:

    * an estimate that touches an edge of its window (within `edge_frames` frames) is
      dropped when another window holds its whole span away from that window's edges
      and reports a chirp there too: that window saw the chirp whole, this one cut it;
    * of estimates of the same chirp (overlapping in time by more than `min_overlap`
      of the shorter one, and within `freq_tol_hz` of each other where they overlap)
      the one with the higher presence is kept.

    The result is ordered by channel (as first met), then start time.
    """
    groups: dict[tuple[Path, str | None], list[tuple[int, ChirpEstimate]]] = {}
    windows = [w for w, _ in results]
    for index, (window, estimates) in enumerate(results):
        for est in estimates:
            if est.presence >= presence_threshold:
                groups.setdefault((window.file, window.channel), []).append((index, est))
        groups.setdefault((window.file, window.channel), [])
    merged: list[tuple[str | None, ChirpEstimate]] = []
    for (_, channel), items in groups.items():
        kept = [
            (i, e) for i, e in items
            if not _cut_by_edge(i, e, items, windows, edge_frames)
        ]
        merged += [(channel, e) for e in unique_chirps([e for _, e in kept], min_overlap, freq_tol_hz)]
    return merged


def unique_chirps(
    estimates: Sequence[ChirpEstimate], min_overlap: float = 0.5, freq_tol_hz: float = 10.0
) -> list[ChirpEstimate]:
    """One estimate per chirp (see `same_chirp`): the most likely of each, ties to the
    longer one; ordered by start time."""
    unique: list[ChirpEstimate] = []
    for est in sorted(estimates, key=lambda e: (-e.presence, -e.duration_s)):
        if not any(same_chirp(est, other, min_overlap, freq_tol_hz) for other in unique):
            unique.append(est)
    return sorted(unique, key=lambda e: (e.start_time_s, -e.presence))


def _cut_by_edge(
    index: int, est: ChirpEstimate, items: list[tuple[int, ChirpEstimate]], windows: list[Window], edge_frames: float
) -> bool:
    window = windows[index]
    lo, hi = window.time_range_s
    margin = edge_frames * window.spectrogram.dt_s
    if not (est.start_time_s <= lo + margin or est.end_time_s >= hi - margin):
        return False
    for other_index, other in items:
        if other_index == index:
            continue
        w = windows[other_index]
        o_lo, o_hi = w.time_range_s
        o_margin = edge_frames * w.spectrogram.dt_s
        covers = o_lo + o_margin < est.start_time_s and est.end_time_s < o_hi - o_margin
        if covers and _overlap_s(est, other) > 0:
            return True
    return False


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str) -> str:
    """`text` made fit for a file name (runs of other characters become '-')."""
    return _SAFE.sub("-", text).strip("-") or "x"


__all__ = [
    "InputOptions",
    "SUPPORTED_EXTENSIONS",
    "SignalSource",
    "Window",
    "find_inputs",
    "merge_window_estimates",
    "read_input",
    "same_chirp",
    "signal_windows",
    "unique_chirps",
]
