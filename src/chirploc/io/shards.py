"""The shard-set format: many labelled scenes as a few large arrays and one table.

A shard set is a folder::

    manifest.json        what the folder holds, and how far its writing got
    shard_00000.npy      scenes [0, S)        float16 [count, freq, time]
    shard_00001.npy      scenes [S, 2S)
    ...
    labels.csv           one row per chirp slot present (or per chirp-free scene)

`manifest.json` (UTF-8 JSON) has these keys:

- ``format``: ``"chirploc-shards"``; ``version``: ``1``.
- ``scene``: the scene's ``config()`` (its name and parameters), and ``seed``:
  with these, ``chirploc generate`` makes the same files again, bit for bit.
- ``n``: number of scenes in the finished set; ``shard_size``: scenes per shard
  (a multiple of 256, the generator's block; the last shard may be shorter).
- ``label_slots``: chirp slots per scene (the width of the label table).
- ``grid``: ``times_s`` and ``freqs_hz``, the bin centres of every spectrogram's
  time and frequency axes, in seconds and hertz.
- ``values``: ``{"dtype": "float16", "axes": ["scene", "freq", "time"]}``.
- ``shards``: one entry per shard written so far, in order: ``file``,
  ``first_index`` (0-based index of its first scene), ``count``, ``sha256`` (of
  the whole ``.npy`` file), ``label_rows`` (its rows in labels.csv) and
  ``labels_end`` (the byte length of labels.csv once those rows were added).
- ``labels``: ``file``, ``columns``, and once complete ``rows`` and ``sha256``.
- ``complete``: ``true`` only when every shard and every label row is written.

Each shard is a standard NumPy ``.npy`` file (``numpy.load`` reads it, and can
memory-map it) of float16 values indexed [scene, freq, time], frequency rising
with the row index. A shard is written to a temporary name and renamed into
place, then its label rows are appended, then the manifest is rewritten (also
atomically): an interrupted run leaves a consistent prefix that a rerun of the
same command continues. Nothing in the folder depends on the time of writing,
so the same scene, seed and ``n`` give the same bytes in every file.

`labels.csv` has the header::

    index,slot,start_time_s,end_time_s,duration_s,start_freq_hz,end_freq_hz,sweep,present,noise_level

``index`` is the 0-based scene index (scene ``i`` is row ``i - first_index`` of
its shard), ``slot`` the chirp's slot within the scene (0-based), times in
seconds, frequencies in hertz, ``sweep`` one of linear, exponential, quadratic,
hyperbolic (scipy.signal.chirp's methods; exponential is scipy's
"logarithmic"), ``present`` 1 for a chirp. A scene with no chirp has one row
with slot 0, present 0 and the chirp columns empty. ``noise_level`` is the
scene's noise parameter (its meaning is the scene's own), repeated on each of
the scene's rows. Rows are ordered by index, then slot; floats are written in
the shortest form that reads back to the same double.
"""

from __future__ import annotations

import csv
import hashlib
import json
from functools import cached_property
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np

from chirploc.io.errors import ChirpLocIOError
from chirploc.types import SWEEP_TYPES, ChirpTable, SceneBatch, sweep_code

FORMAT_NAME = "chirploc-shards"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
LABELS = "labels.csv"
SHARD_SIZE = 4096
LABEL_COLUMNS: tuple[str, ...] = (
    "index", "slot", "start_time_s", "end_time_s", "duration_s",
    "start_freq_hz", "end_freq_hz", "sweep", "present", "noise_level",
)
VALUES_DTYPE = np.float16


class Grid(NamedTuple):
    """Bin centres of the time (s) and frequency (Hz) axes shared by every scene."""

    times_s: np.ndarray
    freqs_hz: np.ndarray


def shard_name(k: int) -> str:
    return f"shard_{k:05d}.npy"


def labels_header() -> str:
    return ",".join(LABEL_COLUMNS) + "\n"


def _num(x: float) -> str:
    return repr(float(x))


def label_rows(batch: SceneBatch, first_index: int) -> str:
    """labels.csv rows (newline-terminated) of a batch whose first scene is `first_index`."""
    lab = batch.labels
    out: list[str] = []
    for i in range(len(batch)):
        index = first_index + i
        noise = _num(batch.noise_level[i])
        present = np.flatnonzero(lab.present[i])
        if present.size == 0:
            out.append(f"{index},0,,,,,,,0,{noise}\n")
            continue
        for k in present:
            t0 = float(lab.start_time_s[i, k])
            d = float(lab.duration_s[i, k])
            out.append(
                f"{index},{k},{_num(t0)},{_num(t0 + d)},{_num(d)},{_num(lab.start_freq_hz[i, k])},"
                f"{_num(lab.end_freq_hz[i, k])},{SWEEP_TYPES[int(lab.sweep[i, k])]},1,{noise}\n"
            )
    return "".join(out)


def to_float16(values: np.ndarray, where: str = "") -> np.ndarray:
    """values as float16, refusing finite values that float16 cannot hold (|x| > 65504)."""
    half = np.asarray(values).astype(VALUES_DTYPE)
    if not np.isfinite(half).all():
        bad = ~np.isfinite(half) & np.isfinite(values)
        if bad.any():
            raise ChirpLocIOError(
                f"{where or 'values'}: {int(bad.sum())} values exceed float16's range (|x| > 65504); "
                "the shard format stores float16, so rescale the scene's values"
            )
    return half


class _HashingWriter:
    """A binary file that hashes what is written to it."""

    def __init__(self, f) -> None:
        self.f = f
        self.sha = hashlib.sha256()

    def write(self, data) -> int:
        self.sha.update(data)
        return self.f.write(data)


def write_npy(path: Path, values: np.ndarray) -> str:
    """Write `values` as a .npy file at `path`; return the file's sha256 (hex)."""
    with open(path, "wb") as f:
        w = _HashingWriter(f)
        np.lib.format.write_array(w, np.ascontiguousarray(values), allow_pickle=False)
    return w.sha.hexdigest()


def file_sha256(path: Path, chunk: int = 1 << 22) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            sha.update(block)
    return sha.hexdigest()


def read_manifest(path: Path) -> dict:
    """The manifest of the shard set in folder `path`, checked for shape; errors name the file."""
    file = Path(path) / MANIFEST
    if not Path(path).is_dir():
        raise ChirpLocIOError(f"{path}: no such folder (a shard set is a folder with {MANIFEST})")
    if not file.is_file():
        raise ChirpLocIOError(
            f"{file} not found: {path} is not a chirploc shard set "
            "(write one with `chirploc generate --format shards`)"
        )
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ChirpLocIOError(f"{file} is unreadable or corrupt: {err}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ChirpLocIOError(f"{file} is not a chirploc shard-set manifest (no \"format\": \"{FORMAT_NAME}\")")
    if manifest.get("version") != FORMAT_VERSION:
        raise ChirpLocIOError(
            f"{file} has format version {manifest.get('version')!r}; this chirploc reads version {FORMAT_VERSION}"
        )
    required = ("scene", "seed", "n", "shard_size", "label_slots", "grid", "shards", "labels", "complete")
    missing = [k for k in required if k not in manifest]
    if missing:
        raise ChirpLocIOError(f"{file} is corrupt: missing {', '.join(missing)}")
    try:
        expected = 0
        for entry in manifest["shards"]:
            if int(entry["first_index"]) != expected or int(entry["count"]) < 1:
                raise ValueError(f"shard {entry.get('file')!r} does not follow on from the one before")
            expected += int(entry["count"])
            str(entry["file"]), str(entry["sha256"]), int(entry["labels_end"]), int(entry["label_rows"])
        if expected > int(manifest["n"]):
            raise ValueError(f"its shards hold {expected} scenes but n is {manifest['n']}")
        Grid(np.asarray(manifest["grid"]["times_s"], float), np.asarray(manifest["grid"]["freqs_hz"], float))
    except (KeyError, TypeError, ValueError) as err:
        raise ChirpLocIOError(f"{file} is corrupt: {err}") from None
    return manifest


class ShardSet:
    """A finished shard set on disk (see this module's description of the format).

    `ShardSet(path)` checks the manifest and that every shard file is there with
    the right size; `verify=True` (or `.verify()`) also checks their sha256.
    `load(start, stop)` gives scenes as a float32 `SceneBatch`; iterating gives
    one `SceneBatch` per shard.
    """

    def __init__(self, path: str | Path, verify: bool = False) -> None:
        self.path = Path(path)
        self.manifest = read_manifest(self.path)
        m = self.manifest
        if not m["complete"]:
            done = sum(int(s["count"]) for s in m["shards"])
            raise ChirpLocIOError(
                f"{self.path / MANIFEST} says the set is incomplete ({done} of {m['n']} scenes written): "
                "rerun the same `chirploc generate` command to finish it"
            )
        if sum(int(s["count"]) for s in m["shards"]) != int(m["n"]):
            raise ChirpLocIOError(f"{self.path / MANIFEST} is corrupt: its shards do not add up to n = {m['n']}")
        self._grid = Grid(np.asarray(m["grid"]["times_s"], np.float64), np.asarray(m["grid"]["freqs_hz"], np.float64))
        self._shape = (self._grid.freqs_hz.size, self._grid.times_s.size)
        header_bytes = None
        for entry in m["shards"]:
            file = self.path / entry["file"]
            if not file.is_file():
                raise ChirpLocIOError(f"{file} is missing (listed in {self.path / MANIFEST})")
            if header_bytes is None:
                header_bytes = npy_header_length(file)
            expected = header_bytes + int(entry["count"]) * self._shape[0] * self._shape[1] * 2
            if file.stat().st_size != expected:
                raise ChirpLocIOError(
                    f"{file} has {file.stat().st_size} bytes, expected {expected}: it is truncated or corrupt"
                )
        labels = self.path / m["labels"]["file"]
        if not labels.is_file():
            raise ChirpLocIOError(f"{labels} is missing (listed in {self.path / MANIFEST})")
        if verify:
            self.verify()

    # -- what the set is -------------------------------------------------
    def __len__(self) -> int:
        return int(self.manifest["n"])

    def __repr__(self) -> str:
        return f"ShardSet({str(self.path)!r}: {len(self)} {self.scene_name} scenes, seed {self.seed})"

    @property
    def grid(self) -> Grid:
        return self._grid

    @property
    def scene_config(self) -> dict:
        return dict(self.manifest["scene"])

    @property
    def scene_name(self) -> str:
        return str(self.manifest["scene"].get("scene", ""))

    @property
    def seed(self) -> int:
        return int(self.manifest["seed"])

    @property
    def shards(self) -> list[dict]:
        return list(self.manifest["shards"])

    # -- integrity ---------------------------------------------------------
    def verify(self) -> None:
        """Check every shard's and labels.csv's sha256 against the manifest."""
        for entry in self.manifest["shards"]:
            file = self.path / entry["file"]
            if file_sha256(file) != entry["sha256"]:
                raise ChirpLocIOError(f"{file} does not match its sha256 in {self.path / MANIFEST}: it is corrupt")
        labels = self.path / self.manifest["labels"]["file"]
        want = self.manifest["labels"].get("sha256")
        if want and file_sha256(labels) != want:
            raise ChirpLocIOError(f"{labels} does not match its sha256 in {self.path / MANIFEST}: it is corrupt")

    # -- labels --------------------------------------------------------------
    @cached_property
    def _label_arrays(self) -> tuple[ChirpTable, np.ndarray]:
        return read_labels(self.path / self.manifest["labels"]["file"], len(self), int(self.manifest["label_slots"]))

    @property
    def labels(self) -> ChirpTable:
        """Labels of all scenes, [n, label_slots]."""
        return self._label_arrays[0]

    @property
    def noise_level(self) -> np.ndarray:
        return self._label_arrays[1]

    # -- values --------------------------------------------------------------
    def _shard_values(self, entry: dict) -> np.ndarray:
        file = self.path / entry["file"]
        try:
            arr = np.load(file, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as err:
            raise ChirpLocIOError(f"{file} is not a readable .npy file: {err}") from None
        if arr.dtype != VALUES_DTYPE or arr.shape != (int(entry["count"]), *self._shape):
            raise ChirpLocIOError(
                f"{file} holds {arr.dtype} {arr.shape}, expected float16 {(int(entry['count']), *self._shape)}"
            )
        return arr

    def load(self, start: int = 0, stop: int | None = None) -> SceneBatch:
        """Scenes [start, stop) as a SceneBatch of float32 values (stop defaults to the end)."""
        n = len(self)
        stop = n if stop is None else int(stop)
        start = int(start)
        if not 0 <= start <= stop <= n:
            raise ValueError(f"scene range [{start}, {stop}) is outside this set's {n} scenes")
        values = np.empty((stop - start, *self._shape), np.float32)
        for entry in self.manifest["shards"]:
            lo, count = int(entry["first_index"]), int(entry["count"])
            a, b = max(start, lo), min(stop, lo + count)
            if a < b:
                values[a - start : b - start] = self._shard_values(entry)[a - lo : b - lo]
        return self._batch(values, start, stop)

    def _batch(self, values: np.ndarray, start: int, stop: int) -> SceneBatch:
        return SceneBatch(
            values, self._grid.times_s.copy(), self._grid.freqs_hz.copy(),
            self.labels.select(slice(start, stop)), self.noise_level[start:stop].copy(), self.scene_name,
        )

    def __iter__(self) -> Iterator[SceneBatch]:
        """One SceneBatch per shard, in order."""
        for entry in self.manifest["shards"]:
            lo, count = int(entry["first_index"]), int(entry["count"])
            yield self._batch(np.asarray(self._shard_values(entry), dtype=np.float32), lo, lo + count)


def npy_header_length(file: Path) -> int:
    """Bytes before the data in the .npy file `file`."""
    try:
        with open(file, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                np.lib.format.read_array_header_1_0(f)
            else:
                np.lib.format.read_array_header_2_0(f)
            return f.tell()
    except (OSError, ValueError) as err:
        raise ChirpLocIOError(f"{file} is not a readable .npy file: {err}") from None


def read_labels(file: Path, n: int, slots: int) -> tuple[ChirpTable, np.ndarray]:
    """labels.csv of a shard set as a ChirpTable [n, slots] and the noise level per scene."""
    start = np.zeros((n, slots))
    duration = np.zeros((n, slots))
    f0 = np.zeros((n, slots))
    f1 = np.zeros((n, slots))
    sweep = np.zeros((n, slots), np.int8)
    present = np.zeros((n, slots), bool)
    noise = np.full(n, np.nan)
    seen = np.zeros(n, bool)
    try:
        with open(file, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if tuple(header or ()) != LABEL_COLUMNS:
                raise ValueError(f"header is {header}, expected {','.join(LABEL_COLUMNS)}")
            for line, row in enumerate(reader, start=2):
                try:
                    i, k = int(row[0]), int(row[1])
                    if not (0 <= i < n and 0 <= k < slots):
                        raise ValueError(f"scene {i} slot {k} is outside {n} scenes x {slots} slots")
                    seen[i] = True
                    noise[i] = float(row[9])
                    if row[8] == "1":
                        present[i, k] = True
                        start[i, k], duration[i, k] = float(row[2]), float(row[4])
                        f0[i, k], f1[i, k] = float(row[5]), float(row[6])
                        sweep[i, k] = sweep_code(row[7])
                    elif row[8] != "0":
                        raise ValueError(f"present must be 0 or 1, got {row[8]!r}")
                except (IndexError, ValueError) as err:
                    raise ValueError(f"line {line}: {err}") from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ChirpLocIOError(f"{file} is unreadable or corrupt: {err}") from None
    if not seen.all():
        raise ChirpLocIOError(f"{file} has no row for scene {int(np.flatnonzero(~seen)[0])}: it is truncated or corrupt")
    return ChirpTable(start, duration, f0, f1, sweep, present), noise


__all__ = [
    "FORMAT_NAME", "FORMAT_VERSION", "Grid", "LABELS", "LABEL_COLUMNS", "MANIFEST", "SHARD_SIZE",
    "ShardSet", "label_rows", "npy_header_length", "read_labels", "read_manifest", "shard_name", "write_npy",
]
