"""Smoke test of the benchmark command: `benchmarks/run.py --fast` on a tiny random model
writes its JSON files and the README table.

It takes a few minutes, so it is skipped unless CHIRPLOC_BENCH_SMOKE=1. CI can run it
as a separate step after the main suite:

    CHIRPLOC_BENCH_SMOKE=1 .venv/bin/python -m pytest tests/test_benchmarks.py -q

The figures of a --fast run are smoke figures, not results; only their presence is checked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.skipif(os.environ.get("CHIRPLOC_BENCH_SMOKE") != "1", reason="set CHIRPLOC_BENCH_SMOKE=1 to run the benchmark smoke test"),
    pytest.mark.timeout(1500),
]

ROOT = Path(__file__).resolve().parents[1]
MACHINE_KEYS = {"cpu", "cores", "torch", "date"}


def test_fast_run_writes_results(tmp_path):
    import torch

    from chirploc.model import ChirpLocNet, ModelConfig, save_model

    torch.manual_seed(0)
    model = save_model(ChirpLocNet(ModelConfig(depth=1, img_size=64)), tmp_path / "tiny")
    out = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--fast", "--model", str(model), "--out", str(out)],
        capture_output=True, text=True, timeout=1400, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    accuracy = json.loads((out / "accuracy.json").read_text())
    assert MACHINE_KEYS <= set(accuracy["machine"]) and accuracy["fast"] is True
    acc = accuracy["accuracy"]
    assert set(acc["scenes"]) == {"chirploc100k", "signal"} and acc["seed"] == 2024
    assert acc["reference"]["start_time_s_pearson_r"] == 0.9841 and acc["reference"]["measured_here"] is False
    for scene in acc["scenes"].values():
        for method in ("model", "network", "ridge"):
            res = scene[method]
            assert {"start_time_s", "start_freq_hz", "end_freq_hz"} <= set(res["overall"])
            assert set(res["overall"]["start_time_s"]) >= {"pearson_r", "mae", "rmse"}
            assert any(label.startswith("duration <") for label in res["halves"])
            assert any("half" in label for label in res["halves"])

    inference = json.loads((out / "inference.json").read_text())["inference"]
    assert {"chirploc eager fp32, network alone", "chirploc eager bf16 autocast, network alone",
            "chirploc eager fp32, chirploc100k scene, refined by the forward-model fit (the default)",
            "chirploc eager fp32, signal scene, refined by the signal fit (the default: one worker process a core)",
            "chirploc eager fp32, signal scene, refined by the signal fit in one process (--workers 1)"} <= set(inference["engines"])
    for row in inference["engines"].values():
        assert row["batch1_ms"] > 0 and row["batch64_per_s"] > 0 and len(row["goals"]) == 3
    assert inference["reference"]["batch1_ms"] > 0

    training = json.loads((out / "training.json").read_text())["training"]
    assert training["smoke"] is True and "SMOKE" in training["label"]
    assert set(training["reached"]) == {"start_time_s", "start_freq_hz", "end_freq_hz"}
    assert set(training["eval"]["refined_targets"]) == set(training["reached"])

    run = json.loads((out / "run.json").read_text())
    assert MACHINE_KEYS <= set(run["machine"]) and run["seconds"]["total"] > 0 and "status" in run["data"]

    table = (out / "README_table.md").read_text()
    assert "SMOKE RUN" in table
    for heading in ("### Accuracy: chirploc100k scene", "### Accuracy: signal scene", "### Inference on this CPU",
                    "### Data generation", "### Training"):
        assert heading in table
    assert "(ms/spectrogram)" in table and "(spectrograms/s)" in table and "0.9841" in table
