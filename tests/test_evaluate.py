"""Evaluation and its report: the numbers, the strata, the files, the command line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chirploc.evaluate import (
    estimate_batch,
    evaluate,
    load_eval_data,
    match_estimates,
    measure_estimation,
    run_evaluation,
    to_json_ready,
)
from chirploc.metrics import TARGETS
from chirploc.report import write_report
from chirploc.synth import get_scene
from chirploc.types import SWEEP_TYPES, ChirpEstimate, SceneBatch

N_CLI = 200
SEED = 7


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "chirploc.cli", "evaluate", *args],
        capture_output=True, text=True, timeout=300, cwd=cwd,
    )


def images_of(report: Path) -> list[str]:
    return re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report.read_text(encoding="utf-8"))


def truth_as_estimates(batch: SceneBatch, rng: np.random.Generator | None = None) -> list[list[ChirpEstimate]]:
    """Every true chirp as an estimate with presence 1 (shuffled within each scene, if rng)."""
    out = []
    for i in range(len(batch)):
        found = [
            ChirpEstimate(c.start_time_s, c.duration_s, c.start_freq_hz, c.end_freq_hz, c.sweep, presence=1.0)
            for c in batch.chirps(i)
        ]
        if rng is not None:
            found = [found[j] for j in rng.permutation(len(found))]
        out.append(found)
    return out


@pytest.fixture(scope="module")
def ridge_report(tmp_path_factory) -> tuple[Path, dict, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("ridge") / "report"
    proc = run_cli("--method", "ridge", "--data", "chirploc100k", "-n", str(N_CLI), "--seed", str(SEED),
                   "--out", str(out), "--batch-size", "100")
    assert proc.returncode == 0, proc.stderr
    return out, json.loads((out / "metrics.json").read_text(encoding="utf-8")), proc


def test_cli_ridge_writes_metrics_with_plausible_values(ridge_report) -> None:
    out, m, proc = ridge_report
    assert m["data"]["n_scenes"] == N_CLI and m["data"]["scene"] == "chirploc100k" and m["data"]["seed"] == SEED
    assert m["n_matched"] == N_CLI and m["n_unmatched_chirps"] == 0
    assert set(m["targets"]) == set(TARGETS)
    for name, unit in TARGETS.items():
        t = m["targets"][name]
        assert t["unit"] == unit and t["n"] == N_CLI
        assert set(t) >= {"pearson_r", "mae", "rmse", "bias"}
        assert 0 <= t["mae"] <= t["rmse"] and abs(t["bias"]) <= t["mae"] + 1e-12
    assert m["targets"]["start_time_s"]["pearson_r"] > 0.8
    assert m["targets"]["start_time_s"]["mae"] < 5.0  # s, on a 60 s plane
    assert m["targets"]["start_freq_hz"]["mae"] < 10.0  # Hz, on a 100 Hz plane
    assert 0.4 < m["sweep"]["accuracy"] <= 1.0
    assert np.sum(m["sweep"]["confusion"]) == N_CLI
    assert m["reference"]["start_time_s_pearson_r"] == pytest.approx(0.9841)
    assert m["reference"]["this_start_time_s_pearson_r"] == m["targets"]["start_time_s"]["pearson_r"]
    thr = m["throughput"]
    assert thr["method"] == "ridge" and thr["n_spectrograms"] == N_CLI and thr["spectrograms_per_s"] > 0
    assert "presence" not in m  # every scene holds a chirp
    # the printed summary: r and MAE per target, with units
    assert "start time" in proc.stdout and re.search(r"MAE = [0-9.]+ s", proc.stdout)
    assert re.search(r"MAE = [0-9.]+ Hz", proc.stdout)


def test_report_references_only_existing_images(ridge_report) -> None:
    out, _, _ = ridge_report
    report = out / "report.md"
    assert report.is_file()
    images = images_of(report)
    assert len(images) >= 5 * 2 + 3 + 1  # scatter + histogram per target, strata, confusion, worst cases
    for rel in images:
        assert not Path(rel).is_absolute()
        assert (out / rel).is_file(), rel
    text = report.read_text(encoding="utf-8")
    for name in ("scatter_start_time_s", "errors_end_freq_hz", "mae_by_duration", "mae_by_noise",
                 "sweep_confusion", "worst_1"):
        assert f"figures/{name}.png" in text
    assert "MAE (s)" in text and "MAE (Hz)" in text and "0.9841" in text
    # every table header cell names its unit (or what it counts), but for name columns
    lines = text.splitlines()
    headers = [line for line, below in zip(lines, lines[1:]) if below.startswith("|---")]
    assert len(headers) >= 6
    for header in headers:
        for cell in (c.strip() for c in header.strip("|").split("|")):
            assert "(" in cell or cell in ("Target", "System", "Rank"), f"no unit in header cell {cell!r}"


def test_strata_cover_every_matched_chirp(ridge_report) -> None:
    _, m, _ = ridge_report
    strata = m["strata"]
    assert [b["label"] for b in strata["duration"]["bins"]] == ["<3 s", "3-7 s", "7-11 s", ">=11 s"]
    for kind in ("duration", "noise", "sweep"):
        assert sum(b["n"] for b in strata[kind]["bins"]) == m["n_matched"], kind
    noise = strata["noise"]
    assert len(noise["edges"]) == 5 and noise["edges"] == sorted(noise["edges"])
    assert noise["meaning"] and "noise" in noise["variable"] and noise["higher_is_noisier"] is True
    assert all(b["n"] > 0 for b in noise["bins"])  # quartiles
    assert {b["label"] for b in strata["sweep"]["bins"]} <= set(SWEEP_TYPES)
    for b in strata["duration"]["bins"]:
        if b["n"]:
            assert b["targets"]["start_time_s"]["n"] == b["n"]


def test_perfect_estimates_score_perfectly_with_presence_only_where_chirp_free_scenes_exist() -> None:
    batch = get_scene("chirploc100k", min_chirps=0, max_chirps=2).generate(120, seed=3)
    has = batch.labels.present.any(axis=1)
    assert has.any() and (~has).any()
    result = evaluate(truth_as_estimates(batch, np.random.default_rng(0)), batch)
    assert result["n_matched"] == int(batch.labels.present.sum())
    for name in TARGETS:
        t = result["targets"][name]
        assert t["pearson_r"] == pytest.approx(1.0)
        assert t["mae"] == pytest.approx(0.0, abs=1e-9) and t["rmse"] == pytest.approx(0.0, abs=1e-9)
    assert result["sweep"]["accuracy"] == 1.0
    assert result["presence"]["auc"] == 1.0 and result["presence"]["accuracy"] == 1.0
    assert result["presence"]["count_accuracy"] == 1.0
    for kind in ("duration", "noise", "sweep"):
        assert sum(b["n"] for b in result["strata"][kind]["bins"]) == result["n_matched"]

    with_chirps = batch.select(np.flatnonzero(has))
    result = evaluate(truth_as_estimates(with_chirps), with_chirps)
    assert "presence" not in result
    json.dumps(to_json_ready(result), allow_nan=False)


def test_matching_pairs_by_start_time_and_counts_missing_estimates() -> None:
    batch = get_scene("chirploc100k", min_chirps=2, max_chirps=2).generate(8, seed=5)
    estimates = truth_as_estimates(batch)
    estimates = [found[::-1] for found in estimates]  # the second chirp listed first
    matches = match_estimates(estimates, batch)
    assert np.allclose(matches.errors()["start_time_s"], 0.0)
    estimates[0] = estimates[0][:1]
    assert match_estimates(estimates, batch).n_unmatched == 1
    with pytest.raises(ValueError, match="one list per scene"):
        match_estimates(estimates[:-1], batch)


def test_tiny_model_through_the_api_and_a_deterministic_report(tmp_path) -> None:
    from chirploc.model import ChirpLocNet, ModelConfig, save_model

    folder = save_model(ChirpLocNet(ModelConfig(depth=1, img_size=64)), tmp_path / "m")
    batch = get_scene("signal", min_chirps=0, max_chirps=1).generate(8, seed=2)
    estimates, timing = measure_estimation("model", batch, model=str(folder), batch_size=4)
    assert len(estimates) == len(batch) and all(estimates)
    assert timing["method"] == "model" and timing["spectrograms_per_s"] > 0
    assert estimate_batch("ridge", batch.select(slice(0, 4)))[0]
    result = evaluate(estimates, batch, timing)
    assert result["data"]["noise_level"]["unit"] == "dB"
    assert ("presence" in result) == bool((~batch.labels.present.any(axis=1)).any())
    report = write_report(result, estimates, batch, tmp_path / "a", title="tiny model")
    for rel in images_of(report):
        assert (report.parent / rel).is_file(), rel
    json.loads((report.parent / "metrics.json").read_text())
    # the same figure twice gives the same bytes
    from chirploc.report import _scatter

    m = match_estimates(estimates, batch)
    args = ("start_time_s", m.truth["start_time_s"], m.estimate["start_time_s"], m.noise_level, "SNR (dB)",
            "plasma_r", result["targets"]["start_time_s"])
    assert _scatter(tmp_path / "x.png", *args).read_bytes() == _scatter(tmp_path / "y.png", *args).read_bytes()


def test_load_eval_data_reads_a_shard_set(tmp_path) -> None:
    from chirploc.generate import generate_dataset

    scene = get_scene("chirploc100k")
    folder = generate_dataset(scene, 40, tmp_path / "shards", fmt="shards", seed=4)
    batch = load_eval_data(str(folder), n=25)
    fresh = scene.generate(25, seed=4)
    assert len(batch) == 25
    assert np.allclose(batch.values, fresh.values, atol=2e-3)  # float16 on disk
    assert np.allclose(batch.labels.start_time_s, fresh.labels.start_time_s)
    assert len(load_eval_data("chirploc100k", n=10, seed=1)) == 10


def test_bad_data_and_bad_model_give_one_line_errors(tmp_path) -> None:
    with pytest.raises(ValueError, match="shard-set folder"):
        load_eval_data(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="neither a shard set nor a ChirpLoc100K folder"):
        load_eval_data(str(tmp_path / "empty"))
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "spectrogram_1.png").write_bytes(b"")
    with pytest.raises(ValueError, match="spectrogram_\\*.png but no labels.csv"):
        load_eval_data(str(tmp_path / "images"))

    proc = run_cli("--method", "ridge", "--data", "no-such-data", "--out", str(tmp_path / "r"))
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chirploc: error:") and "no-such-data" in lines[0]
    assert "Traceback" not in proc.stderr

    # an unreadable model is a ValueError too, which the command prints as one line
    with pytest.raises(ValueError, match="not a chirploc model"):
        run_evaluation("chirploc100k", method="model", model=str(tmp_path / "empty"), n=4)
    with pytest.raises(ValueError, match="only with --method model"):
        run_evaluation("chirploc100k", method="ridge", model=str(tmp_path / "empty"), n=4)


def test_a_chirploc100k_folder_is_evaluated_without_noise_levels(tmp_path) -> None:
    from chirploc.generate import generate_dataset

    folder = generate_dataset(get_scene("chirploc100k"), 12, tmp_path / "cl100k", fmt="chirploc100k", seed=6)
    batch = load_eval_data(str(folder), n=10)
    assert len(batch) == 10
    assert np.allclose(batch.labels.start_time_s, get_scene("chirploc100k").generate(10, seed=6).labels.start_time_s)
    estimates, timing = measure_estimation("ridge", batch)
    result = evaluate(estimates, batch, timing)
    assert "reference" in result and result["strata"]["noise"]["bins"] == []
    assert "not recorded" in result["data"]["noise_level"]["meaning"]
    report = write_report(result, estimates, batch, tmp_path / "report", title="folder")
    for rel in images_of(report):
        assert (report.parent / rel).is_file(), rel
    assert "mae_by_noise" not in report.read_text()
    # a folder's scenes are what they are: a seed for generating scenes is said to be ignored
    proc = run_cli("--method", "ridge", "--data", str(folder), "-n", "1", "--seed", "3", "--out", str(tmp_path / "cli"))
    assert proc.returncode == 0, proc.stderr
    assert f"chirploc: warning: --seed 3 ignored: {folder} is a folder of scenes" in proc.stderr
    assert " on 1 scene (1 matched chirp): " in proc.stdout


def test_report_names_the_noise_level_or_says_it_is_not_recorded() -> None:
    from chirploc.evaluate import noise_meaning
    from chirploc.report import _noise_line

    batch = get_scene("signal").generate(2, seed=0)
    assert _noise_line(noise_meaning(batch)).startswith("- Noise level: SNR in dB — local SNR")
    batch.noise_level = np.full(2, np.nan)
    assert _noise_line(noise_meaning(batch)) == (
        "- Noise level: not recorded in this data (ChirpLoc100K figures, for one, do not keep it).")
