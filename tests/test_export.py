"""ONNX export: the file ONNX Runtime runs answers as torch does, at any batch size, and
`OnnxChirpLocModel` gives the same chirps as `ChirpLocModel`. Uses a tiny random model
(one block, 64 px), so it runs in seconds; skipped without the `onnx` extra."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxscript")
ort = pytest.importorskip("onnxruntime")

from chirploc.export import (  # noqa: E402
    OUTPUT_NAMES,
    TOLERANCE,
    OnnxChirpLocModel,
    OnnxMissing,
    compare_with_torch,
    export_onnx,
    load_onnx_model,
    random_images,
    read_sidecar,
    sidecar_path,
)
from chirploc.model import ChirpLocNet, ModelConfig, ModelError, save_model  # noqa: E402
from chirploc.predict import load_model  # noqa: E402
from chirploc.synth import get_scene  # noqa: E402

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    import torch

    torch.manual_seed(0)
    return save_model(ChirpLocNet(ModelConfig(depth=1, img_size=64, stem="conv")), tmp_path_factory.mktemp("tiny") / "m")


@pytest.fixture(scope="module")
def exported(tiny, tmp_path_factory) -> Path:
    return export_onnx(tiny, tmp_path_factory.mktemp("onnx") / "tiny.onnx")


def test_file_and_sidecar(exported, tiny):
    assert exported.is_file() and exported.stat().st_size > 0
    assert not exported.with_name(exported.name + ".data").exists()  # self-contained
    meta = read_sidecar(exported)
    original = json.loads((tiny / "config.json").read_text())
    assert meta["model"] == original["model"] and meta["format"] == original["format"]
    info = meta["onnx"]
    assert info["input"]["shape"] == ["batch", 1, 64, 64]
    assert info["outputs"] == list(OUTPUT_NAMES)
    assert 0 <= info["max_abs_diff_vs_torch"] <= TOLERANCE
    assert isinstance(info["opset"], int)


def test_graph_names_and_dynamic_batch(exported):
    session = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    assert inp.name == "images" and inp.type == "tensor(float)"
    assert not isinstance(inp.shape[0], int) and inp.shape[1:] == [1, 64, 64]
    assert [o.name for o in session.get_outputs()] == list(OUTPUT_NAMES)


@pytest.mark.parametrize("batch", [1, 5])
def test_onnxruntime_equals_torch(exported, tiny, batch):
    model = load_model(tiny)
    onnx_model = load_onnx_model(exported)
    images = random_images(model.config, batch, seed=10 + batch)
    assert compare_with_torch(onnx_model.session, model.net, images) <= TOLERANCE
    got = onnx_model.session.run(None, {"images": images.numpy()})
    assert [g.shape[0] for g in got] == [batch] * len(OUTPUT_NAMES)


def test_predictions_match_torch_model(exported, tiny):
    batch = get_scene("chirploc100k").generate(7, seed=5)
    specs = [batch.spectrogram(i) for i in range(len(batch))]
    torch_model, onnx_model = load_model(tiny), load_onnx_model(exported)
    assert isinstance(onnx_model, OnnxChirpLocModel) and onnx_model.config == torch_model.config
    want = torch_model.predict_spectrograms(specs, batch_size=3)
    got = onnx_model.predict_spectrograms(specs, batch_size=3)
    assert len(got) == len(want)
    for a, b in zip(want, got):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert abs(x.start_time_s - y.start_time_s) < 0.01
            assert abs(x.duration_s - y.duration_s) < 0.01
            assert abs(x.start_freq_hz - y.start_freq_hz) < 0.01
            assert abs(x.end_freq_hz - y.end_freq_hz) < 0.01
            assert abs(x.presence - y.presence) < 1e-3
    # `predict` is ChirpLocModel's, through the ONNX network
    single = onnx_model.predict(specs[0])
    assert abs(single[0].start_time_s - want[0][0].start_time_s) < 0.01
    arr = onnx_model.predict(specs[0].values, time_range_s=specs[0].time_range_s, freq_range_hz=specs[0].freq_range_hz)
    assert abs(arr[0].start_time_s - want[0][0].start_time_s) < 0.01
    with pytest.raises(ValueError, match="fp32"):
        onnx_model.predict_spectrograms(specs, precision="bf16")


def test_loading_errors(exported, tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load_onnx_model(tmp_path / "none.onnx")
    lone = tmp_path / "lone.onnx"
    lone.write_bytes(exported.read_bytes())
    with pytest.raises(ModelError, match="sidecar"):
        load_onnx_model(lone)
    sidecar_path(lone).write_text(sidecar_path(exported).read_text().replace('"img_size": 64', '"img_size": 96'))
    with pytest.raises(ModelError, match="different exports"):
        load_onnx_model(lone)


def test_missing_onnxruntime_gives_install_advice(tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    with pytest.raises(OnnxMissing, match=r"pip install 'chirploc\[onnx\]'"):
        export_onnx(tiny, tmp_path / "x.onnx")
    from chirploc import cli

    monkeypatch.setattr(sys, "argv", ["chirploc", "export", "--model", str(tiny), "--onnx", str(tmp_path / "x.onnx")])
    with pytest.raises(SystemExit) as stop:
        cli.main()
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'chirploc[onnx]'" in err[0]
    assert not (tmp_path / "x.onnx").exists()


def test_cli_export_writes_the_file(tiny, tmp_path):
    out = tmp_path / "sub" / "model.onnx"
    result = subprocess.run(
        [sys.executable, "-m", "chirploc.cli", "export", "--model", str(tiny), "--onnx", str(out)],
        capture_output=True, text=True, timeout=110,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and str(out) in lines[0] and "MB" in lines[0] and "vs torch" in lines[0]
    assert out.is_file() and sidecar_path(out).is_file()
    scores = load_onnx_model(out).session.run(None, {"images": np.zeros((2, 1, 64, 64), np.float32)})
    assert scores[0].shape == (2, 1, 4)


def test_cli_export_error_is_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "chirploc.cli", "export", "--model", str(tmp_path / "nope"), "--onnx", str(tmp_path / "m.onnx")],
        capture_output=True, text=True, timeout=110,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "not found" in result.stderr


def test_cli_predict_with_the_onnx_runtime_matches_torch(exported, tiny, tmp_path):
    values = get_scene("chirploc100k").generate(1, seed=11).values[0]
    np.save(tmp_path / "s.npy", values)
    records = {}
    for runtime, model in (("torch", tiny), ("onnx", exported)):
        out = tmp_path / f"{runtime}.json"
        done = subprocess.run(
            [sys.executable, "-m", "chirploc.cli", "predict", str(tmp_path / "s.npy"), "--model", str(model),
             "--runtime", runtime, "--time-range", "0", "60", "--freq-range", "0", "100",
             "--presence-threshold", "0", "--out", str(out)],
            capture_output=True, text=True, timeout=300,
        )
        assert done.returncode == 0, done.stderr
        records[runtime] = json.loads(out.read_text())[0]
    for key in ("start_time_s", "end_time_s", "start_freq_hz", "end_freq_hz"):
        assert abs(records["torch"][key] - records["onnx"][key]) < 0.01
