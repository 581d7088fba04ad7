"""Write labelled synthetic data sets to disk, resumably and reproducibly.

`generate_dataset(scene, n, out, fmt=...)` writes scenes [0, n) of `scene` with
`seed` into the folder `out`, in one of two formats:

- ``"shards"``: chirploc's own compact format (float16 ``.npy`` shards, one
  labels.csv and a manifest; see `chirploc.io.shards`).
- ``"chirploc100k"``: the public ChirpLoc100K layout, ``spectrogram_{i}.png``
  (i from 1) with one labels.csv whose row k belongs to image k + 1. Only scenes
  with exactly one chirp each fit it.

Both are written piece by piece (a shard, or a chunk of 256 images), each file
to a temporary name and then renamed into place, and the folder records how
far it got (``manifest.json``, or ``.chirploc-progress.json`` for the PNG
layout). Rerunning the same call continues where it stopped; label rows are
only ever added for pieces whose files all exist, so a label is never paired
with the wrong image. The same scene, seed and n give the same bytes in every
file, whatever the number of workers and however often the run was resumed.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import sys
import tempfile
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from chirploc.io.errors import ChirpLocIOError
from chirploc.io.shards import (
    FORMAT_NAME as SHARDS_FORMAT,
    FORMAT_VERSION as SHARDS_VERSION,
    LABEL_COLUMNS as SHARD_LABEL_COLUMNS,
    LABELS,
    MANIFEST,
    SHARD_SIZE,
    file_sha256,
    label_rows,
    labels_header,
    npy_header_length,
    read_manifest,
    shard_name,
    to_float16,
    write_npy,
)
from chirploc.synth.base import BLOCK, Scene, check_count
from chirploc.synth.chirploc100k import on_chirploc100k_grid

log = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = ("shards", "chirploc100k")
PROGRESS_FILE = ".chirploc-progress.json"
PNG_FORMAT = "chirploc100k"
PNG_FORMAT_VERSION = 1
CHUNK = BLOCK  # images per chunk of the PNG layout


def generate_dataset(
    scene: Scene,
    n: int,
    out: str | os.PathLike,
    fmt: str = "shards",
    seed: int = 0,
    workers: int = 1,
    progress: bool = False,
    *,
    shard_size: int = SHARD_SIZE,
) -> Path:
    """Write scenes [0, n) of `scene` with `seed` to the folder `out` in format `fmt`; return the folder.

    An interrupted run into the same folder with the same arguments is resumed;
    a folder that holds something else is refused (ChirpLocIOError), and a
    finished one is left alone. `workers` > 1 makes pieces in that many
    processes; the files are the same for any number of workers.
    `shard_size` (scenes per shard, a multiple of 256) applies to ``"shards"``.
    """
    n = check_count(n, "-n")
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {seed}")
    seed = int(seed)
    if isinstance(workers, bool) or int(workers) != workers or workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    workers = int(workers)
    fmt_key = str(fmt).strip().lower()
    if fmt_key not in FORMATS:
        raise ValueError(f"unknown --format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if int(shard_size) != shard_size or shard_size < BLOCK or shard_size % BLOCK:
        raise ValueError(f"shard_size must be a positive multiple of {BLOCK}, got {shard_size}")
    config = _scene_config(scene)
    if fmt_key == PNG_FORMAT and (scene.min_chirps != 1 or scene.max_chirps != 1):
        raise ValueError(
            f"--format chirploc100k holds exactly one chirp per image, but this scene has "
            f"{scene.min_chirps} to {scene.max_chirps} chirps per scene: use --min-chirps 1 --max-chirps 1, "
            "or --format shards"
        )
    if fmt_key == PNG_FORMAT and not on_chirploc100k_grid(scene.times_s, scene.freqs_hz):
        raise ValueError(
            f"--format chirploc100k draws the public 0-60 s x 0-100 Hz figure, but scene {scene.name!r} "
            "has other axes: use --format shards"
        )
    out = Path(out)
    _prepare_folder(out)
    if fmt_key == "shards":
        return _write_shards(scene, config, n, out, seed, workers, progress, int(shard_size))
    return _write_png_layout(scene, config, n, out, seed, workers, progress)


# --------------------------------------------------------------------------- folders


def _scene_config(scene: Scene) -> dict:
    try:
        return json.loads(json.dumps(scene.config()))
    except (TypeError, ValueError) as err:
        raise ValueError(f"scene {scene.name!r} has a config() that is not JSON: {err}") from None


def _prepare_folder(out: Path) -> None:
    """Create `out` if needed and check that files can be written in it."""
    if out.exists() and not out.is_dir():
        raise ChirpLocIOError(f"output folder {out} is a file, not a folder: choose another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ChirpLocIOError(f"cannot create output folder {out}: {err.strerror or err}") from None
    try:
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as err:
        raise ChirpLocIOError(f"output folder {out} is not writable: {err.strerror or err}") from None


def _folder_kind(out: Path) -> str:
    """"shards", "chirploc100k" or "empty"; anything else is refused."""
    if (out / MANIFEST).exists():
        return "shards"
    if (out / PROGRESS_FILE).exists():
        return PNG_FORMAT
    if any(out.iterdir()):
        raise ChirpLocIOError(
            f"output folder {out} is not empty and holds no chirploc data set: "
            "choose a new --out (a new or empty folder)"
        )
    return "empty"


def _refuse_other(out: Path, found: str, wanted: str) -> None:
    what = {"shards": f"a shard set ({MANIFEST})", PNG_FORMAT: f"a chirploc100k PNG set ({PROGRESS_FILE})"}[found]
    raise ChirpLocIOError(
        f"output folder {out} already holds {what}, not --format {wanted}: choose a new --out"
    )


def _check_same(out: Path, file: str, stored: dict, wanted: dict) -> None:
    """Refuse to continue a folder made with other settings, naming them."""
    names = {"scene": "scene", "seed": "--seed", "n": "-n", "shard_size": "shard size",
             "label_slots": "chirp slots", "chunk_size": "chunk size", "version": "format version"}
    diffs = [
        f"{names.get(k, k)} {json.dumps(stored.get(k))} there, {json.dumps(v)} asked"
        for k, v in wanted.items()
        if stored.get(k) != v
    ]
    if diffs:
        raise ChirpLocIOError(
            f"output folder {out} holds a different data set ({'; '.join(diffs)}; see {out / file}): "
            "choose a new --out, or rerun with that folder's settings to resume it"
        )


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _write_json(path: Path, obj: dict) -> None:
    _atomic_write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode("utf-8"))


def _remove_temporaries(out: Path) -> None:
    for tmp in out.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)


def _truncate(path: Path, size: int) -> None:
    with open(path, "r+b") as f:
        f.truncate(size)


def _append(path: Path, text: str) -> int:
    """Append `text` to `path`; return the file's new length in bytes."""
    with open(path, "ab") as f:
        f.write(text.encode("utf-8"))
        f.flush()
        return f.tell()


def _already_complete(out: Path, progress: bool) -> Path:
    msg = f"{out}: already complete, nothing to do"
    log.info(msg)
    if progress:
        print(msg, file=sys.stderr)
    return out


def _progress_bar(progress: bool, total: int, initial: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="scene", desc=desc, disable=not progress, dynamic_ncols=True)


# --------------------------------------------------------------------------- workers


def _mp_context():
    """Process start method that is safe with threads in the parent; workers preload our modules."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["chirploc.generate", "chirploc.io.figure"])
        return ctx
    return multiprocessing.get_context("spawn")


def _run_ordered(
    fn: Callable[..., Any], tasks: Sequence[tuple], workers: int, commit: Callable[[tuple, Any], None]
) -> None:
    """fn(*task) for every task, in `workers` processes; commit(task, result) strictly in task order."""
    if workers == 1 or len(tasks) <= 1:
        for task in tasks:
            commit(task, fn(*task))
        return
    pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=_mp_context())
    try:
        queue = iter(tasks)
        pending: deque = deque()
        for task in queue:
            pending.append((task, pool.submit(fn, *task)))
            if len(pending) >= 2 * workers:
                break
        while pending:
            task, future = pending.popleft()
            commit(task, future.result())
            following = next(queue, None)
            if following is not None:
                pending.append((following, pool.submit(fn, *following)))
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


# --------------------------------------------------------------------------- shards


def _make_shard(scene: Scene, seed: int, first: int, count: int, slots: int, tmp: str) -> tuple[str, str]:
    """Write scenes [first, first+count) to the .npy file `tmp`; return its sha256 and label rows.

    The scenes are made a block at a time (the same values as one
    scene.generate(count, seed, start=first), without holding them all in float32).
    """
    shape = (len(scene.freqs_hz), len(scene.times_s))
    half = np.empty((count, *shape), np.float16)
    rows = []
    for lo in range(0, count, BLOCK):
        m = min(BLOCK, count - lo)
        batch = scene.generate(m, seed, start=first + lo)
        if batch.values.shape != (m, *shape):
            raise ValueError(f"scene {scene.name!r} made values of shape {batch.values.shape[1:]}, expected {shape}")
        if batch.labels.max_chirps > slots:
            raise ValueError(
                f"scene {scene.name!r} made {batch.labels.max_chirps} chirp slots, expected at most {slots}"
            )
        half[lo : lo + m] = to_float16(batch.values, f"scenes {first + lo}..{first + lo + m - 1}")
        rows.append(label_rows(batch, first + lo))
    sha = write_npy(Path(tmp), half)
    return sha, "".join(rows)


def _shard_temp(out: Path, k: int) -> Path:
    return out / f".{shard_name(k)}.tmp"


def _valid_shard_prefix(out: Path, shards: list[dict], shape: tuple[int, int]) -> list[dict]:
    """The listed shards whose files are there with the right size and whose labels are in labels.csv."""
    labels = out / LABELS
    labels_size = labels.stat().st_size if labels.is_file() else -1
    kept: list[dict] = []
    for entry in shards:
        file = out / entry["file"]
        try:
            expected = npy_header_length(file) + int(entry["count"]) * shape[0] * shape[1] * 2
            if file.stat().st_size != expected or int(entry["labels_end"]) > labels_size:
                break
        except (OSError, ChirpLocIOError):
            break
        kept.append(entry)
    return kept


def _write_shards(
    scene: Scene, config: dict, n: int, out: Path, seed: int, workers: int, progress: bool, shard_size: int
) -> Path:
    times, freqs = [float(t) for t in scene.times_s], [float(f) for f in scene.freqs_hz]
    identity = {
        "format": SHARDS_FORMAT,
        "version": SHARDS_VERSION,
        "scene": config,
        "seed": seed,
        "n": n,
        "shard_size": shard_size,
        "label_slots": max(int(scene.max_chirps), 1),
    }
    kind = _folder_kind(out)
    if kind == PNG_FORMAT:
        _refuse_other(out, kind, "shards")
    header = labels_header()
    if kind == "shards":
        manifest = read_manifest(out)
        _check_same(out, MANIFEST, manifest, identity)
        if manifest["complete"]:
            return _already_complete(out, progress)
        manifest["shards"] = _valid_shard_prefix(out, manifest["shards"], (len(freqs), len(times)))
    else:
        manifest = {
            **identity,
            "grid": {"times_s": times, "freqs_hz": freqs},
            "values": {"dtype": "float16", "axes": ["scene", "freq", "time"]},
            "shards": [],
            "labels": {"file": LABELS, "columns": list(SHARD_LABEL_COLUMNS)},
            "complete": False,
        }
    manifest["grid"] = {"times_s": times, "freqs_hz": freqs}
    _remove_temporaries(out)
    labels = out / LABELS
    if manifest["shards"]:
        _truncate(labels, int(manifest["shards"][-1]["labels_end"]))
    else:
        _atomic_write_bytes(labels, header.encode("utf-8"))
    _write_json(out / MANIFEST, manifest)

    done = sum(int(s["count"]) for s in manifest["shards"])
    slots = identity["label_slots"]
    tasks = []
    for k in range(len(manifest["shards"]), -(-n // shard_size)):
        first = k * shard_size
        tasks.append((scene, seed, first, min(shard_size, n - first), slots, str(_shard_temp(out, k))))

    with _progress_bar(progress, n, done, f"{config.get('scene', scene.name)} shards") as bar:

        def commit(task: tuple, result: tuple[str, str]) -> None:
            first, count = task[2], task[3]
            sha, rows = result
            k = first // shard_size
            os.replace(_shard_temp(out, k), out / shard_name(k))
            end = _append(labels, rows)
            manifest["shards"].append({
                "file": shard_name(k), "first_index": first, "count": count, "sha256": sha,
                "label_rows": rows.count("\n"), "labels_end": end,
            })
            _write_json(out / MANIFEST, manifest)
            bar.update(count)

        try:
            _run_ordered(_make_shard, tasks, workers, commit)
        except BaseException:
            _remove_temporaries(out)
            raise

    manifest["labels"] = {
        "file": LABELS,
        "columns": list(SHARD_LABEL_COLUMNS),
        "rows": sum(int(s["label_rows"]) for s in manifest["shards"]),
        "sha256": file_sha256(labels),
    }
    manifest["complete"] = True
    _write_json(out / MANIFEST, manifest)
    return out


# --------------------------------------------------------------------------- the public PNG layout


def png_name(i: int) -> str:
    """File name of image i (1-based) in the ChirpLoc100K layout."""
    return f"spectrogram_{i}.png"


def _make_png_chunk(scene: Scene, seed: int, first: int, count: int, out: str) -> str:
    """Write images first+1 .. first+count of the layout into `out`; return their label rows."""
    from chirploc.io.chirploc100k import format_label_row
    from chirploc.io.figure import render_figure_png

    folder = Path(out)
    batch = scene.generate(count, seed, start=first)
    rows = []
    for j in range(count):
        chirps = batch.chirps(j)
        if len(chirps) != 1:
            raise ValueError(f"scene {first + j} has {len(chirps)} chirps; the chirploc100k layout needs exactly 1")
        chirp = chirps[0]
        index = first + j + 1
        _atomic_write_bytes(folder / png_name(index), render_figure_png(batch.values[j], index, chirp.sweep))
        row = format_label_row(chirp)
        rows.append(row if row.endswith("\n") else row + "\n")
    return "".join(rows)


def _write_png_layout(
    scene: Scene, config: dict, n: int, out: Path, seed: int, workers: int, progress: bool
) -> Path:
    identity = {
        "format": PNG_FORMAT,
        "version": PNG_FORMAT_VERSION,
        "scene": config,
        "seed": seed,
        "n": n,
        "chunk_size": CHUNK,
    }
    kind = _folder_kind(out)
    if kind == "shards":
        _refuse_other(out, kind, PNG_FORMAT)
    from chirploc.io.chirploc100k import LABEL_COLUMNS

    header = (",".join(LABEL_COLUMNS) + "\n").encode("utf-8")
    labels = out / "labels.csv"
    state_file = out / PROGRESS_FILE
    state: dict = {**identity, "chunks_done": 0, "labels_bytes": len(header), "complete": False}
    if kind == PNG_FORMAT:
        try:
            stored = json.loads(state_file.read_text(encoding="utf-8"))
            int(stored["chunks_done"]), int(stored["labels_bytes"]), bool(stored["complete"])
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise ChirpLocIOError(
                f"{state_file} is unreadable or corrupt ({err}): choose a new --out, or delete the folder"
            ) from None
        _check_same(out, PROGRESS_FILE, stored, identity)
        if stored["complete"]:
            return _already_complete(out, progress)
        labels_size = labels.stat().st_size if labels.is_file() else -1
        if int(stored["labels_bytes"]) <= labels_size:
            state.update(chunks_done=int(stored["chunks_done"]), labels_bytes=int(stored["labels_bytes"]))
    _remove_temporaries(out)
    if state["chunks_done"]:
        # Rows past the last finished chunk may belong to images not (all) written: drop them.
        _truncate(labels, state["labels_bytes"])
    else:
        _atomic_write_bytes(labels, header)
    _write_json(state_file, state)

    done = min(state["chunks_done"] * CHUNK, n)
    tasks = [
        (scene, seed, c * CHUNK, min(CHUNK, n - c * CHUNK), str(out))
        for c in range(state["chunks_done"], -(-n // CHUNK))
    ]
    with _progress_bar(progress, n, done, f"{config.get('scene', scene.name)} PNG") as bar:

        def commit(task: tuple, rows: str) -> None:
            first, count = task[2], task[3]
            state["labels_bytes"] = _append(labels, rows)  # every image of the chunk exists by now
            state["chunks_done"] = first // CHUNK + 1
            _write_json(state_file, state)
            bar.update(count)

        try:
            _run_ordered(_make_png_chunk, tasks, workers, commit)
        except BaseException:
            _remove_temporaries(out)
            raise

    state["labels_sha256"] = file_sha256(labels)
    state["complete"] = True
    _write_json(state_file, state)
    return out


__all__ = ["FORMATS", "PROGRESS_FILE", "generate_dataset", "png_name"]

