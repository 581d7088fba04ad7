"""The ChirpLoc100K folder: ``spectrogram_{i}.png`` (i from 1) and one ``labels.csv``.

Row k (0-based) of labels.csv belongs to ``spectrogram_{k+1}.png``. The header is
``Chirp_Start_Time,Chirp_Start_Freq,Chirp_End_Freq,Chirp_Duration,Chirp_Type``
(s, Hz, Hz, s, and the words linear/exponential); the public generator writes
each float as Python prints it (the shortest text that reads back to the same
double), which `format_label_row` does too.

`ChirpLoc100KFolder` pairs the two and refuses folders where that pairing is
unsafe: a missing labels.csv, fewer rows than images, or gaps in the image
numbers (the public generator resumes from its highest image number, and a
crash between writing an image and appending its row shifts every later row).
"""

from __future__ import annotations

import csv
import math
import os
import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from tqdm import tqdm

from chirploc.io.errors import ChirpLocIOError
from chirploc.io.figure import FREQ_RANGE_HZ, GRID, TIME_RANGE_S, read_figure, read_image
from chirploc.types import Chirp, ChirpTable, SceneBatch, Spectrogram, bin_centres, sweep_code

LABEL_COLUMNS: tuple[str, ...] = (
    "Chirp_Start_Time", "Chirp_Start_Freq", "Chirp_End_Freq", "Chirp_Duration", "Chirp_Type",
)
#: The first line of labels.csv, newline included.
LABELS_HEADER = ",".join(LABEL_COLUMNS) + "\n"
LABELS_FILE = "labels.csv"
IMAGE_PATTERN = re.compile(r"^spectrogram_(\d+)\.png$")
SCENE_NAME = "chirploc100k-folder"
READ_THREADS = 2


def image_name(number: int) -> str:
    """File name of image `number` (1-based), as the public generator names it."""
    return f"spectrogram_{int(number)}.png"


def _num(x: float) -> str:
    return repr(float(x))


def format_label_row(chirp: Chirp) -> str:
    """The labels.csv line of one chirp, newline included, as the public generator writes it.

    Floats are written in the shortest form that reads back to the same double
    (how the generator's f-string prints NumPy floats), the type as its word.
    """
    return (
        f"{_num(chirp.start_time_s)},{_num(chirp.start_freq_hz)},{_num(chirp.end_freq_hz)},"
        f"{_num(chirp.duration_s)},{chirp.sweep}\n"
    )


def _ranges(numbers: Iterable[int], limit: int = 8) -> str:
    """'3, 7-9, 12' for [3, 7, 8, 9, 12], cut after `limit` runs."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    text = [str(a) if a == b else f"{a}-{b}" for a, b in runs[:limit]]
    if len(runs) > limit:
        text.append(f"and {len(runs) - limit} more runs")
    return ", ".join(text)


def _numbered(noun: str, numbers: Sequence[int], singular: str, plural: str) -> str:
    """'image 40 has' or 'images 40-42 have'."""
    if len(numbers) == 1:
        return f"{noun} {numbers[0]} {singular}"
    return f"{noun}s {_ranges(numbers)} {plural}"


def read_labels_csv(path: str | Path) -> ChirpTable:
    """The labels of a ChirpLoc100K labels.csv as a ChirpTable [rows, 1] (one chirp per row).

    Other columns (e.g. an index column) are ignored; Chirp_Type accepts
    linear, exponential and logarithmic (scipy's word for exponential).
    """
    path = Path(path)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "no such file"
        raise ChirpLocIOError(f"{path}: {what}; pass the labels.csv of a ChirpLoc100K folder")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError:
        raise ChirpLocIOError(f"{path}: not a text CSV file; pass the labels.csv of a ChirpLoc100K folder") from None
    except OSError as err:
        raise ChirpLocIOError(f"{path}: cannot be read ({err.strerror or err}); check the file and its permissions") from None
    if not rows:
        raise ChirpLocIOError(f"{path}: empty file; expected the header {','.join(LABEL_COLUMNS)} and one row per image")
    header = [name.strip() for name in rows[0]]
    missing = [name for name in LABEL_COLUMNS if name not in header]
    if missing:
        raise ChirpLocIOError(
            f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
            f"the header must name {','.join(LABEL_COLUMNS)}"
        )
    col = [header.index(name) for name in LABEL_COLUMNS]
    numbers: list[list[float]] = []
    sweeps: list[int] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(col):
            raise ChirpLocIOError(f"{path}: line {line} has {len(row)} fields, expected {len(header)}; fix or remove that line")
        values = []
        for name, k in zip(LABEL_COLUMNS[:4], col[:4]):
            try:
                x = float(row[k])
            except ValueError:
                x = math.nan
            if not math.isfinite(x):
                raise ChirpLocIOError(f"{path}: line {line}: {name} is {row[k]!r}, not a finite number; fix that line")
            values.append(x)
        if not values[3] > 0:
            raise ChirpLocIOError(f"{path}: line {line}: Chirp_Duration is {values[3]}, must be positive; fix that line")
        try:
            sweeps.append(sweep_code(row[col[4]]))
        except ValueError:
            raise ChirpLocIOError(
                f"{path}: line {line}: Chirp_Type is {row[col[4]]!r}; use linear or exponential (or logarithmic)"
            ) from None
        numbers.append(values)
    table = np.asarray(numbers, dtype=np.float64).reshape(-1, 4)
    n = table.shape[0]
    return ChirpTable(
        start_time_s=table[:, 0:1].copy(),
        duration_s=table[:, 3:4].copy(),
        start_freq_hz=table[:, 1:2].copy(),
        end_freq_hz=table[:, 2:3].copy(),
        sweep=np.asarray(sweeps, dtype=np.int8).reshape(n, 1),
        present=np.ones((n, 1), dtype=bool),
    )


class ChirpLoc100KFolder:
    """A folder of ChirpLoc100K figures and their labels, item k = (figure k+1, row k).

    Figures are read with `read_figure`: intensities in [0, 1] on the
    60 s x 100 Hz, 128 x 128 grid. With `axes` = (time_range_s, freq_range_hz), the images are
    instead bare spectrogram planes with those outer edges (`read_image`: the whole image is the
    plane, top row the highest frequency), averaged onto the same 128 x 128 grid; the labels are
    then in those axes' seconds and hertz.
    """

    def __init__(self, path: str | Path, axes: tuple[tuple[float, float], tuple[float, float]] | None = None) -> None:
        self.path = Path(path)
        self.axes = axes
        if not self.path.is_dir():
            what = "is a file, not a folder" if self.path.exists() else "no such folder"
            raise ChirpLocIOError(f"{self.path}: {what}; pass the folder holding spectrogram_{{i}}.png and labels.csv")
        by_number: dict[int, str] = {}
        with os.scandir(self.path) as entries:
            for entry in entries:
                match = IMAGE_PATTERN.match(entry.name)
                if not match:
                    continue
                number = int(match.group(1))
                if number in by_number:
                    raise ChirpLocIOError(
                        f"{self.path}: {by_number[number]} and {entry.name} both claim image number {number}; "
                        "remove one of them"
                    )
                by_number[number] = entry.name
        if not by_number:
            raise ChirpLocIOError(f"{self.path}: no spectrogram_{{i}}.png files; pass a ChirpLoc100K folder")
        labels_path = self.path / LABELS_FILE
        if not labels_path.is_file():
            raise ChirpLocIOError(
                f"{labels_path}: missing; a ChirpLoc100K folder needs labels.csv, whose row k belongs to "
                "spectrogram_{k+1}.png"
            )
        n = max(by_number)
        gaps = sorted(set(range(1, n + 1)) - set(by_number))
        if gaps:
            raise ChirpLocIOError(
                f"{self.path}: image numbers have gaps (no spectrogram_{{i}}.png for i = {_ranges(gaps)}; "
                f"{len(by_number)} images numbered up to {n}); rows of labels.csv pair with images by number, "
                "so restore the missing images or renumber the images and their rows together"
            )
        labels = read_labels_csv(labels_path)
        if len(labels) < n:
            raise ChirpLocIOError(
                f"{labels_path}: has {len(labels)} rows but the folder has {n} images, so "
                f"{_numbered('image', range(len(labels) + 1, n + 1), 'has', 'have')} no row; the generator may have stopped between "
                "writing an image and its row: delete those images or add their rows"
            )
        if len(labels) > n:
            warnings.warn(
                f"{labels_path}: has {len(labels)} rows but the folder has {n} images; "
                f"{_numbered('row', range(n + 1, len(labels) + 1), 'is', 'are')} ignored",
                stacklevel=2,
            )
            labels = labels.select(slice(0, n))
        self._names = [by_number[i] for i in range(1, n + 1)]
        self._labels = labels

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"ChirpLoc100KFolder({str(self.path)!r}, {len(self)} images)"

    def _index(self, k: int) -> int:
        if isinstance(k, bool) or int(k) != k:
            raise TypeError(f"image index must be a whole number, got {k!r}")
        k = int(k)
        if not -len(self) <= k < len(self):
            raise IndexError(f"image index {k} out of range for {len(self)} images")
        return k % len(self)

    def image_path(self, k: int) -> Path:
        """Path of item k's figure (spectrogram_{k+1}.png)."""
        return self.path / self._names[self._index(k)]

    @property
    def labels(self) -> ChirpTable:
        """Labels [images, 1], row k for item k."""
        return self._labels

    def chirp(self, k: int) -> Chirp:
        return self._labels.chirps(self._index(k))[0]

    def __getitem__(self, k: int) -> tuple[Spectrogram, Chirp]:
        k = self._index(k)
        return self._read(self.path / self._names[k]), self.chirp(k)

    def _read(self, path: Path) -> Spectrogram:
        return read_figure(path, GRID) if self.axes is None else read_image(path, *self.axes, grid=GRID)

    def __iter__(self):
        for k in range(len(self)):
            yield self[k]

    def load(self, indices: Sequence[int] | np.ndarray | None = None, progress: bool = False) -> SceneBatch:
        """The figures `indices` (0-based; all if None) and their labels as one SceneBatch.

        Values are read intensities in [0, 1] on the 60 s x 100 Hz, 128 x 128
        grid; noise levels are NaN (a figure does not record them).
        """
        if indices is None:
            order = np.arange(len(self))
        else:
            order = np.asarray([self._index(k) for k in np.asarray(indices).reshape(-1).tolist()], dtype=np.int64)
        paths = [self.path / self._names[k] for k in order.tolist()]
        values = np.empty((len(paths), GRID[0], GRID[1]), dtype=np.float32)

        def read(item: tuple[int, Path]) -> None:
            i, p = item
            values[i] = self._read(p).values

        # the bar is closed (its line ended) before an error in a figure is reported
        with tqdm(total=len(paths), desc=f"reading {self.path.name}", unit="image", disable=not progress) as bar, \
                ThreadPoolExecutor(READ_THREADS) as pool:
            for _ in pool.map(read, enumerate(paths)):
                bar.update(1)
        return SceneBatch(
            values=values,
            times_s=bin_centres(*(self.axes[0] if self.axes else TIME_RANGE_S), GRID[1]),
            freqs_hz=bin_centres(*(self.axes[1] if self.axes else FREQ_RANGE_HZ), GRID[0]),
            labels=self._labels.select(order),
            noise_level=np.full(len(paths), np.nan),
            scene=SCENE_NAME if self.axes is None else "image-folder",
        )


__all__ = [
    "IMAGE_PATTERN", "LABELS_FILE", "LABELS_HEADER", "LABEL_COLUMNS", "SCENE_NAME", "ChirpLoc100KFolder",
    "format_label_row", "image_name", "read_labels_csv",
]
