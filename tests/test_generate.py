"""Writing data sets to disk: shard sets and the public PNG layout, resumable and bit-reproducible."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chirploc.generate as gen
from chirploc.generate import PROGRESS_FILE, generate_dataset
from chirploc.io.errors import ChirpLocIOError
from chirploc.io.shards import LABEL_COLUMNS, MANIFEST, ShardSet
from chirploc.synth import BLOCK, ChirpLoc100KScene
from chirploc.types import ChirpTable


def folder_bytes(path: Path) -> dict[str, bytes]:
    """Every file of a folder (hidden ones too) and its contents."""
    return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()}


def assert_same_labels(a: ChirpTable, b: ChirpTable) -> None:
    for name in ChirpTable.FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


@pytest.fixture(scope="module")
def varied_scene() -> ChirpLoc100KScene:
    """0 to 3 chirps a scene, so that chirp-free scenes and several slots occur."""
    return ChirpLoc100KScene(min_chirps=0, max_chirps=3)


@pytest.fixture(scope="module")
def shard_set(tmp_path_factory, varied_scene) -> Path:
    out = tmp_path_factory.mktemp("shards") / "set"
    assert generate_dataset(varied_scene, 700, out, seed=3, shard_size=256) == out
    return out


# ----------------------------------------------------------------------------- shards


def test_shards_round_trip(shard_set, varied_scene) -> None:
    ref = varied_scene.generate(700, seed=3)
    ss = ShardSet(shard_set, verify=True)
    assert len(ss) == 700
    np.testing.assert_array_equal(ss.grid.times_s, varied_scene.times_s)
    np.testing.assert_array_equal(ss.grid.freqs_hz, varied_scene.freqs_hz)
    batch = ss.load()
    assert batch.values.dtype == np.float32 and batch.values.shape == (700, 128, 128)
    # exactly the float16 rounding of the generated values
    np.testing.assert_array_equal(batch.values, ref.values.astype(np.float16).astype(np.float32))
    np.testing.assert_allclose(batch.values, ref.values, rtol=2**-10, atol=1e-4)
    assert_same_labels(ss.labels, ref.labels)
    np.testing.assert_array_equal(ss.noise_level, ref.noise_level)
    assert (~ref.labels.present.any(axis=1)).any(), "the test should include chirp-free scenes"

    part = ss.load(250, 530)  # across two shard boundaries
    np.testing.assert_array_equal(part.values, batch.values[250:530])
    assert_same_labels(part.labels, ref.labels.select(slice(250, 530)))
    assert [len(b) for b in ss] == [256, 256, 188]
    assert part.chirps(3) == ref.chirps(253)


def test_shard_files_follow_the_documented_layout(shard_set, varied_scene) -> None:
    manifest = json.loads((shard_set / MANIFEST).read_text())
    assert manifest["format"] == "chirploc-shards" and manifest["complete"] is True
    assert manifest["scene"] == varied_scene.config() and manifest["seed"] == 3 and manifest["n"] == 700
    assert [s["file"] for s in manifest["shards"]] == ["shard_00000.npy", "shard_00001.npy", "shard_00002.npy"]
    assert [s["first_index"] for s in manifest["shards"]] == [0, 256, 512]
    arr = np.load(shard_set / "shard_00001.npy")
    assert arr.dtype == np.float16 and arr.shape == (256, 128, 128)
    lines = (shard_set / "labels.csv").read_text().splitlines()
    assert tuple(lines[0].split(",")) == LABEL_COLUMNS
    ref = varied_scene.generate(700, seed=3)
    assert len(lines) - 1 == ref.labels.present.sum() + (~ref.labels.present.any(axis=1)).sum()
    empty = int(np.flatnonzero(~ref.labels.present.any(axis=1))[0])
    row = next(line for line in lines[1:] if line.startswith(f"{empty},"))
    assert row.split(",")[1] == "0" and row.split(",")[8] == "0"
    first = lines[1].split(",")
    assert first[7] in ("linear", "exponential") and float(first[3]) == pytest.approx(float(first[2]) + float(first[4]))


def test_shards_are_bit_identical_for_any_worker_count(tmp_path) -> None:
    scene = ChirpLoc100KScene()
    one = generate_dataset(scene, 1100, tmp_path / "one", seed=9, shard_size=256, workers=1)
    two = generate_dataset(scene, 1100, tmp_path / "two", seed=9, shard_size=256, workers=2)
    a, b = folder_bytes(one), folder_bytes(two)
    assert sorted(a) == ["labels.csv", "manifest.json"] + [f"shard_{k:05d}.npy" for k in range(5)]
    assert a == b


def test_resume_after_interruption_gives_the_same_files(tmp_path, monkeypatch, shard_set, varied_scene) -> None:
    out = tmp_path / "set"
    real = gen._make_shard
    calls = []

    def failing(*args):
        calls.append(args[2])
        if len(calls) == 2:
            raise KeyboardInterrupt  # as if stopped during the second shard
        return real(*args)

    monkeypatch.setattr(gen, "_make_shard", failing)
    with pytest.raises(KeyboardInterrupt):
        generate_dataset(varied_scene, 700, out, seed=3, shard_size=256)
    monkeypatch.setattr(gen, "_make_shard", real)
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["complete"] is False and len(manifest["shards"]) == 1
    with pytest.raises(ChirpLocIOError, match="incomplete"):
        ShardSet(out)
    # a crash after the labels were appended but before the manifest was updated
    with open(out / "labels.csv", "a") as f:
        f.write("256,0,1.0,2.0,1.0,3.0,4.0,linear,1,0.1\n")

    generate_dataset(varied_scene, 700, out, seed=3, shard_size=256)
    assert folder_bytes(out) == folder_bytes(shard_set)

    # a lost last shard in an otherwise finished set
    (out / "shard_00002.npy").unlink()
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["complete"] = False
    (out / MANIFEST).write_text(json.dumps(manifest))
    generate_dataset(varied_scene, 700, out, seed=3, shard_size=256)
    assert folder_bytes(out) == folder_bytes(shard_set)


def test_finished_set_is_left_alone(shard_set, varied_scene, capsys) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in shard_set.iterdir()}
    assert generate_dataset(varied_scene, 700, shard_set, seed=3, shard_size=256, progress=True) == shard_set
    assert "already complete" in capsys.readouterr().err
    assert {p.name: p.stat().st_mtime_ns for p in shard_set.iterdir()} == before


def test_a_folder_with_other_settings_is_refused(shard_set, varied_scene, tmp_path) -> None:
    with pytest.raises(ChirpLocIOError, match=r"--seed 3 there, 4 asked.*new --out"):
        generate_dataset(varied_scene, 700, shard_set, seed=4, shard_size=256)
    with pytest.raises(ChirpLocIOError, match="-n 700 there, 800 asked"):
        generate_dataset(varied_scene, 800, shard_set, seed=3, shard_size=256)
    with pytest.raises(ChirpLocIOError, match="scene"):
        generate_dataset(ChirpLoc100KScene(), 700, shard_set, seed=3, shard_size=256)
    with pytest.raises(ChirpLocIOError, match="already holds a shard set"):
        generate_dataset(ChirpLoc100KScene(), 700, shard_set, fmt="chirploc100k", seed=3)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ChirpLocIOError, match="not empty"):
        generate_dataset(varied_scene, 10, tmp_path, seed=3)


def test_bad_arguments_are_refused(tmp_path) -> None:
    scene = ChirpLoc100KScene()
    with pytest.raises(ValueError, match="-n must be a non-negative"):
        generate_dataset(scene, -1, tmp_path / "a")
    with pytest.raises(ValueError, match="--format"):
        generate_dataset(scene, 1, tmp_path / "a", fmt="hdf5")
    with pytest.raises(ValueError, match="--workers"):
        generate_dataset(scene, 1, tmp_path / "a", workers=0)
    with pytest.raises(ValueError, match="exactly one chirp"):
        generate_dataset(ChirpLoc100KScene(max_chirps=2), 1, tmp_path / "a", fmt="chirploc100k")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ChirpLocIOError, match="file"):
        generate_dataset(scene, 1, tmp_path / "file")
    with pytest.raises(ChirpLocIOError, match=str(tmp_path / "file" / "sub")):
        generate_dataset(scene, 1, tmp_path / "file" / "sub")
    assert not (tmp_path / "a").exists() or not any((tmp_path / "a").iterdir())


def test_empty_set(tmp_path) -> None:
    out = generate_dataset(ChirpLoc100KScene(), 0, tmp_path / "empty")
    ss = ShardSet(out)
    assert len(ss) == 0 and len(ss.load()) == 0 and list(ss) == []


def test_broken_sets_are_reported_by_file(shard_set, tmp_path) -> None:
    with pytest.raises(ChirpLocIOError, match="manifest.json not found"):
        ShardSet(tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    for name, data in folder_bytes(shard_set).items():
        (bad / name).write_bytes(data)
    (bad / MANIFEST).write_text("{not json")
    with pytest.raises(ChirpLocIOError, match=r"manifest\.json is unreadable or corrupt"):
        ShardSet(bad)
    (bad / MANIFEST).write_bytes((shard_set / MANIFEST).read_bytes())
    data = bytearray((bad / "shard_00001.npy").read_bytes())
    data[-1] ^= 0xFF
    (bad / "shard_00001.npy").write_bytes(bytes(data))
    ShardSet(bad)  # same size: only the checksum can tell
    with pytest.raises(ChirpLocIOError, match=r"shard_00001\.npy does not match its sha256"):
        ShardSet(bad, verify=True)
    (bad / "shard_00002.npy").write_bytes(data[:1000])
    with pytest.raises(ChirpLocIOError, match=r"shard_00002\.npy has 1000 bytes"):
        ShardSet(bad)


# ----------------------------------------------------------------------------- the public PNG layout


def fake_png(values: np.ndarray, index: int, sweep: str) -> bytes:
    """A stand-in figure that records what it was drawn from."""
    return f"{index} {sweep} {float(np.asarray(values, np.float64).sum())!r}".encode()


def test_png_layout_reads_back_paired(tmp_path, monkeypatch) -> None:
    import chirploc.generate
    from chirploc.io.chirploc100k import LABELS_HEADER, ChirpLoc100KFolder

    chunk = 8  # real figures are slow to draw: chunks of 8, which also start inside a block of scenes
    monkeypatch.setattr(chirploc.generate, "CHUNK", chunk)
    scene = ChirpLoc100KScene()
    n = chunk + 4  # two chunks, one to each worker
    out = generate_dataset(scene, n, tmp_path / "png", fmt="chirploc100k", seed=6, workers=2)
    names = {p.name for p in out.iterdir()}
    assert names == {f"spectrogram_{i}.png" for i in range(1, n + 1)} | {"labels.csv", PROGRESS_FILE}
    assert (out / "labels.csv").read_text().startswith(LABELS_HEADER)
    ref = scene.generate(n, seed=6)
    folder = ChirpLoc100KFolder(out)
    assert len(folder) == n
    assert_same_labels(folder.labels, ref.labels)  # exact: floats are written in full
    for k in (0, chunk - 1, chunk, n - 1):
        spec, chirp = folder[k]
        assert chirp == ref.chirps(k)[0]
        own = np.corrcoef(spec.values.ravel(), ref.values[k].ravel())[0, 1]
        other = np.corrcoef(spec.values.ravel(), ref.values[(k + 1) % n].ravel())[0, 1]
        assert own > 0.98 and other < 0.5, (k, own, other)


def test_png_layout_resumes_without_mispairing(tmp_path, monkeypatch) -> None:
    import chirploc.io.figure as figure

    scene = ChirpLoc100KScene()
    monkeypatch.setattr(figure, "render_figure_png", fake_png)
    n = 2 * BLOCK + 88
    whole = generate_dataset(scene, n, tmp_path / "whole", fmt="chirploc100k", seed=2)
    ref = scene.generate(n, seed=2)
    for i in (0, BLOCK - 1, BLOCK, n - 1):
        want = fake_png(ref.values[i], i + 1, ref.chirps(i)[0].sweep)
        assert (whole / f"spectrogram_{i + 1}.png").read_bytes() == want

    out = tmp_path / "resumed"
    calls = []

    def failing(values, index, sweep):
        calls.append(index)
        if index == BLOCK + 30:
            raise KeyboardInterrupt
        return fake_png(values, index, sweep)

    monkeypatch.setattr(figure, "render_figure_png", failing)
    with pytest.raises(KeyboardInterrupt):
        generate_dataset(scene, n, out, fmt="chirploc100k", seed=2)
    state = json.loads((out / PROGRESS_FILE).read_text())
    assert state["chunks_done"] == 1 and state["complete"] is False
    assert len((out / "labels.csv").read_text().splitlines()) == 1 + BLOCK
    with open(out / "labels.csv", "a") as f:  # rows appended just before a crash
        f.write("1.0,2.0,3.0,4.0,linear\n")
    monkeypatch.setattr(figure, "render_figure_png", fake_png)
    generate_dataset(scene, n, out, fmt="chirploc100k", seed=2)
    assert folder_bytes(out) == folder_bytes(whole)


def test_png_layout_needs_one_chirp_per_scene(tmp_path) -> None:
    with pytest.raises(ValueError, match="exactly one chirp"):
        generate_dataset(ChirpLoc100KScene(min_chirps=0, max_chirps=1), 5, tmp_path, fmt="chirploc100k")


# ----------------------------------------------------------------------------- the command line


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "chirploc.cli", "generate", *args], capture_output=True, text=True, timeout=120,
    )


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chirploc: error:"), result.stderr
    return lines[0]


def test_cli_usage_errors_are_one_line_and_version_is_printed(tmp_path) -> None:
    line = one_line_error(run_cli("--out", str(tmp_path / "x"), "--bogus", "1"))
    assert "No such option: --bogus" in line and "generate --help" in line
    version = subprocess.run([sys.executable, "-m", "chirploc.cli", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("chirploc "), version.stderr


def test_cli_unknown_scene(tmp_path) -> None:
    line = one_line_error(run_cli("--out", str(tmp_path / "x"), "--scene", "nosuchscene", "-n", "3"))
    assert "nosuchscene" in line


def test_cli_writes_a_scene_with_parameters(tmp_path) -> None:
    done = run_cli("--out", str(tmp_path / "x"), "--scene", "signal:window_s=16,hop=32", "-n", "3")
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "x" / "manifest.json").read_text())
    assert manifest["scene"]["window_s"] == 16 and manifest["scene"]["hop"] == 32
    line = one_line_error(run_cli("--out", str(tmp_path / "y"), "--scene", "signal:snr=5", "-n", "3"))
    assert "unknown parameter 'snr' for scene signal" in line


def test_cli_negative_count(tmp_path) -> None:
    line = one_line_error(run_cli("--out", str(tmp_path / "x"), "-n", "-5"))
    assert "-n" in line and "-5" in line


def test_cli_unwritable_folder(tmp_path) -> None:
    (tmp_path / "file").write_text("x")
    line = one_line_error(run_cli("--out", str(tmp_path / "file" / "sub"), "-n", "3"))
    assert str(tmp_path / "file" / "sub") in line
    if os.geteuid() == 0:
        pytest.skip("root can write into a read-only folder")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        line = one_line_error(run_cli("--out", str(locked), "-n", "3"))
        assert str(locked) in line and "not writable" in line
    finally:
        locked.chmod(0o700)


def test_cli_resume_with_another_seed(tmp_path) -> None:
    out = tmp_path / "set"
    done = run_cli("--out", str(out), "-n", "300", "--seed", "0")
    assert done.returncode == 0, done.stderr
    again = run_cli("--out", str(out), "-n", "300", "--seed", "0")
    assert again.returncode == 0 and "already complete" in again.stderr
    line = one_line_error(run_cli("--out", str(out), "-n", "300", "--seed", "1"))
    assert str(out) in line and "--seed" in line and "--out" in line


def test_public_layout_refuses_a_scene_on_other_axes(tmp_path):
    from chirploc.synth import get_scene

    with pytest.raises(ValueError, match="other axes: use --format shards"):
        generate_dataset(get_scene("signal"), 10, tmp_path / "png", fmt="chirploc100k")
    assert not (tmp_path / "png").exists()
