"""What `chirploc predict` does, as a function: files in, records (and pictures) out.

`run_predict` reads every input (see `chirploc.inputs`), finds the chirps in each
window with the trained model or the ridge-tracking baseline, merges what
overlapping windows report twice (and checks, in a window centred on it, a chirp
reported where other chirps cut both edges of a window: `chirploc.locate`), and
writes one record per chirp (or one "no chirp" record per file and channel) as
JSON or CSV, optionally with an overlay picture per window and an MNE annotation
file. A file that fails is reported on one line and the others are still processed.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence, TextIO

from chirploc.describe import PRESENCE_THRESHOLD
from chirploc.inputs import (
    KIND_FIGURE,
    InputOptions,
    Window,
    find_inputs,
    read_input,
    safe_name,
)
from chirploc.io.errors import ChirpLocIOError
from chirploc.locate import Estimator, locate
from chirploc.records import estimate_record, no_chirp_record, write_mne_annotations, write_records
from chirploc.types import ChirpEstimate, Spectrogram

METHODS = ("model", "network", "ridge")
RUNTIMES = ("torch", "onnx")
#: more files than this get a progress bar
PROGRESS_MIN_FILES = 3
#: chirps the ridge tracker looks for per window
RIDGE_MAX_CHIRPS = 3
#: the ridge tracker looks below this fraction of a source's Nyquist frequency (above it
#: lies the resampling filter's roll-off)
BAND_EDGE = 0.9


@dataclass
class FileResult:
    file: Path
    records: list[dict[str, Any]] = field(default_factory=list)
    windows: int = 0
    error: str | None = None


@dataclass
class PredictResult:
    """What a run found: every record, and the files that failed with why."""

    files: list[FileResult]
    outputs: list[Path] = field(default_factory=list)

    @property
    def records(self) -> list[dict[str, Any]]:
        return [r for f in self.files for r in f.records]

    @property
    def failures(self) -> list[FileResult]:
        return [f for f in self.files if f.error is not None]

    def summary(self) -> str:
        failed = len(self.failures)
        return f"{failed} of {len(self.files)} files failed"


# --------------------------------------------------------------------------- estimators


def model_estimator(
    model: str | Path | None = None,
    runtime: str = "torch",
    network_only: bool = False,
    workers: int | None = None,
    envelope: str = "auto",
) -> Estimator:
    """Estimates from a trained model: the shipped one (None), a model or adapter folder, or
    (runtime 'onnx', or a path ending in .onnx) an ONNX file written by `chirploc export`;
    `network_only`: its network's answers as they are (`ChirpLocModel.estimate_windows`);
    `workers`: processes for the signal fit (None: one per available core); `envelope`: the
    sweeps' envelope there (`chirploc.refine_signal.ENVELOPES`)."""
    from chirploc.model import ModelError, default_model_dir
    from chirploc.predict import load_model

    if runtime not in RUNTIMES:
        raise ChirpLocIOError(f"unknown --runtime {runtime!r}: use one of {', '.join(RUNTIMES)}")
    if runtime == "onnx" or str(model).endswith(".onnx"):
        if model is None or not str(model).endswith(".onnx"):
            raise ChirpLocIOError("--runtime onnx needs --model FILE.onnx, written by `chirploc export --onnx FILE.onnx`")
        from chirploc.export import load_onnx_model

        loaded = load_onnx_model(Path(model))
    elif model is None and not (default_model_dir() / "config.json").is_file():
        raise ModelError(
            "no trained model is shipped with this installation: pass --model FOLDER "
            "(written by `chirploc train`) or use --method ridge"
        )
    else:
        loaded = load_model(model)

    return lambda windows: loaded.estimate_windows(windows, network_only=network_only, workers=workers, envelope=envelope)


def ridge_estimator(max_chirps: int = RIDGE_MAX_CHIRPS) -> Estimator:
    """Estimates from the ridge-tracking baseline (nothing to train), with the settings
    for ChirpLoc100K's painted figures on those (which hold one chirp each: a second
    search there finds mostly the first chirp's remains) and the general ones, looking
    for up to `max_chirps` per window, elsewhere."""
    from chirploc.baselines.ridge import RidgeTracker

    figure = RidgeTracker.for_chirploc100k(max_chirps=1)
    general = RidgeTracker(max_chirps=max_chirps)

    def estimate(windows: list[Window]) -> list[list[ChirpEstimate]]:
        return [(figure if w.kind == KIND_FIGURE else general).estimate(_in_band(w)) for w in windows]

    return estimate


def _in_band(window: Window) -> Spectrogram:
    """The window's spectrogram without the rows above what its source holds: they hold
    only filler noise, in which the ridge tracker has nothing to find."""
    spec = window.spectrogram
    if window.band_limit_hz is None:
        return spec
    keep = spec.freqs_hz < BAND_EDGE * window.band_limit_hz
    if keep.sum() < 8 or keep.all():
        return spec
    return Spectrogram(spec.values[keep], spec.times_s, spec.freqs_hz[keep])


def make_estimator(
    method: str = "model", model: str | Path | None = None, runtime: str = "torch", workers: int | None = None,
    envelope: str = "auto",
) -> Estimator:
    from chirploc.refine_signal import ENVELOPES

    method = method.lower()
    if workers is not None and workers < 1:
        raise ChirpLocIOError(f"--workers must be at least 1, got {workers}")
    if envelope not in ENVELOPES:
        raise ChirpLocIOError(f"unknown --envelope {envelope!r}: use one of {', '.join(ENVELOPES)}")
    if envelope != "auto" and method in ("network", "ridge"):
        warnings.warn(f"--envelope {envelope} ignored: --method {method} does not fit the sweeps (--method model does)",
                      stacklevel=2)
    if method in ("model", "network"):
        return model_estimator(model, runtime=runtime, network_only=method == "network", workers=workers, envelope=envelope)
    if method == "ridge":
        if model is not None:
            raise ChirpLocIOError("--model applies to --method model or network, not ridge: drop it, or choose one of those")
        return ridge_estimator()
    raise ChirpLocIOError(f"unknown method {method!r}: use one of {', '.join(METHODS)}")


# --------------------------------------------------------------------------- one file


def predict_file(
    path: Path,
    estimator: Estimator,
    options: InputOptions,
    presence_threshold: float = PRESENCE_THRESHOLD,
    plot_dir: Path | None = None,
    plot_names: set[str] | None = None,
) -> tuple[list[dict[str, Any]], list[Window]]:
    """Records of one file and the windows read from it."""
    windows = read_input(path, options)
    found, merged = locate(windows, estimator, presence_threshold)
    channels = list(dict.fromkeys(w.channel for w in windows))
    records: list[dict[str, Any]] = []
    for channel in channels:
        mine = [e for ch, e in merged if ch == channel]
        if mine:
            records += [estimate_record(e, path, channel, presence_threshold) for e in mine]
        else:
            candidates = [e for w, ests in zip(windows, found) if w.channel == channel for e in ests]
            best = max(candidates, key=lambda e: e.presence, default=None)
            records.append(no_chirp_record(path, channel, best, presence_threshold))
    if plot_dir is not None:
        _plot_windows(path, windows, merged, plot_dir, plot_names if plot_names is not None else set())
    return records, windows


def _plot_windows(
    path: Path, windows: list[Window], merged: list[tuple[str | None, ChirpEstimate]], plot_dir: Path, used: set[str]
) -> list[Path]:
    from chirploc.plot import plot_overlay

    try:
        plot_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ChirpLocIOError(f"{plot_dir}: cannot make the picture folder ({err.strerror or err})") from err
    per_channel: dict[str | None, int] = {}
    for w in windows:
        per_channel[w.channel] = per_channel.get(w.channel, 0) + 1
    written = []
    for w in windows:
        lo, hi = w.time_range_s
        shown = [e for ch, e in merged if ch == w.channel and e.end_time_s > lo and e.start_time_s < hi]
        stem = safe_name(path.stem)
        if w.channel is not None:
            stem += "_" + safe_name(w.channel)
        if per_channel[w.channel] > 1:
            stem += f"_{w.offset_s:07.1f}s"
        name, k = stem, 1
        while name in used:
            k += 1
            name = f"{stem}-{k}"
        used.add(name)
        title = f"{path.name}" + (f", {w.channel}" if w.channel else "") + f", {lo:.1f}-{hi:.1f} s"
        written.append(plot_overlay(w.spectrogram, plot_dir / f"{name}.png", estimates=shown, title=title, source=w.kind,
                                    band_limit_hz=w.band_limit_hz))
    return written


# --------------------------------------------------------------------------- many files


def run_predict(
    paths: Sequence[str | Path],
    *,
    model: str | Path | None = None,
    method: str = "model",
    runtime: str = "torch",
    fmt: str = "json",
    out: str | Path | None = None,
    plot_dir: str | Path | None = None,
    time_range_s: tuple[float, float] | None = None,
    freq_range_hz: tuple[float, float] | None = None,
    fs_hz: float | None = None,
    channels: Sequence[str] | None = None,
    annotations: str | Path | None = None,
    presence_threshold: float = PRESENCE_THRESHOLD,
    workers: int | None = None,
    envelope: str = "auto",
    progress: bool | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    estimator: Estimator | None = None,
) -> PredictResult:
    """Find the chirps in files and folders and write them out; see `chirploc predict --help`.

    Records go to `out` (or `stdout` when None) as `fmt` ("json" or "csv"). `plot_dir`
    gets one picture per window, `annotations` an MNE annotation CSV (with several
    input files, a folder of them, one per file: `<name>-annotations.csv`). A file
    that fails is reported on `stderr` (one line naming it) and skipped; the returned
    result lists the failures. Arguments that make every file fail (a bad model or
    option) raise at once.
    """
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    fmt = fmt.lower()
    if fmt not in ("json", "csv"):
        raise ChirpLocIOError(f"unknown --format {fmt!r}: use json or csv")
    if not 0.0 <= presence_threshold <= 1.0:
        raise ChirpLocIOError(f"--presence-threshold must lie in [0, 1], got {presence_threshold}")
    options = InputOptions(
        time_range_s=tuple(time_range_s) if time_range_s else None,
        freq_range_hz=tuple(freq_range_hz) if freq_range_hz else None,
        fs_hz=fs_hz,
        channels=list(channels) if channels else None,
    )
    files = find_inputs(paths)
    if not files:
        raise ChirpLocIOError("no input files given: pass files or folders to read")
    estimator = estimator or make_estimator(method, model, runtime, workers, envelope)
    plot_path = Path(plot_dir) if plot_dir is not None else None
    plot_names: set[str] = set()
    if progress is None:  # a bar only where a person watches
        progress = len(files) > PROGRESS_MIN_FILES and getattr(stderr, "isatty", lambda: False)()
    show = bool(progress)
    from tqdm import tqdm

    results: list[FileResult] = []
    starts: dict[Path, Any] = {}
    bar = tqdm(files, desc="predict", unit="file", file=stderr, disable=not show, leave=False)
    for path in bar:
        result = FileResult(path)
        try:
            records, windows = predict_file(path, estimator, options, presence_threshold, plot_path, plot_names)
            result.records, result.windows = records, len(windows)
            starts[path] = windows[0].start_datetime if windows else None
        except Exception as err:  # one bad file must not stop the others
            text = str(err) if isinstance(err, (ValueError, OSError)) else f"unexpected {type(err).__name__}: {err}"
            message = text if str(path) in text else f"{path}: {text}"
            result.error = " ".join(message.split())
            line = f"chirploc: error: {result.error}"
            if show:
                tqdm.write(line, file=stderr)
            else:
                print(line, file=stderr)
        results.append(result)
    bar.close()
    run = PredictResult(results)
    good = [r for r in results if r.error is None]
    if good:
        written = write_records(run.records, out, fmt, stream=stdout)
        if written is not None:
            run.outputs.append(written)
        if annotations is not None:
            run.outputs += _write_annotations(good, Path(annotations), multiple=len(files) > 1, starts=starts)
    return run


def _write_annotations(good: list[FileResult], target: Path, multiple: bool, starts: dict[Path, Any]) -> list[Path]:
    if not multiple:
        return [write_mne_annotations(good[0].records, target, starts.get(good[0].file))]
    if target.exists() and not target.is_dir():
        raise ChirpLocIOError(
            f"{target}: with several input files --annotations names a folder (one CSV per file), but this is a file"
        )
    written, used = [], set()
    for result in good:
        name, k = safe_name(result.file.stem), 1
        while name in used:
            k += 1
            name = f"{safe_name(result.file.stem)}-{k}"
        used.add(name)
        written.append(write_mne_annotations(result.records, target / f"{name}-annotations.csv", starts.get(result.file)))
    return written


__all__ = ["METHODS", "PredictResult", "make_estimator", "predict_file", "run_predict"]
