"""The ChirpLoc100K forward-model fit (`chirploc.refine`): from rough estimates to the
bins the generator painted, on raw arrays and on rescaled (figure-like) values alike."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from chirploc.model import default_model_dir
from chirploc.refine import (
    CLEAR_PRESENCE, FAINT_PRESENCE, QUANTISATION_STD, Fit, hedged_centres, label_centres, label_prior,
    located_probability, refine_chirploc100k,
)
from chirploc.synth import get_scene
from chirploc.types import ChirpEstimate

SHIPPED = (default_model_dir() / "config.json").is_file()
DT_S, DF_HZ = 60 / 128, 100 / 128


@pytest.fixture(scope="module")
def scenes():
    return get_scene("chirploc100k").generate(48, seed=31)


def rough(batch, rng: np.random.Generator) -> list[list[ChirpEstimate]]:
    """Each true chirp moved by up to two bins in every position, its law swapped at random."""
    out = []
    for i in range(len(batch)):
        c = batch.chirps(i)[0]
        jitter = rng.uniform(-2, 2, 4) * np.array([DT_S, DT_S, DF_HZ, DF_HZ])
        out.append([ChirpEstimate(
            start_time_s=max(c.start_time_s + jitter[0], 0.0), duration_s=max(c.duration_s + jitter[1], 1.0),
            start_freq_hz=float(np.clip(c.start_freq_hz + jitter[2], 0, 100)),
            end_freq_hz=float(np.clip(c.end_freq_hz + jitter[3], 0, 100)),
            sweep=str(rng.choice(["linear", "exponential"])), presence=0.99,
            uncertainty={"start_time_s": 1.0, "duration_s": 1.0, "start_freq_hz": 1.5, "end_freq_hz": 1.5, "end_time_s": 9.9},
        )])
    return out


def errors(batch, found) -> np.ndarray:
    """|error| per scene of start time (s), duration (s), start and end frequency (Hz)."""
    keys = ("start_time_s", "duration_s", "start_freq_hz", "end_freq_hz")
    truth = np.array([[getattr(batch.chirps(i)[0], k) for k in keys] for i in range(len(batch))])
    got = np.array([[getattr(f[0], k) for k in keys] for f in found])
    return np.abs(got - truth)


def test_rough_estimates_are_brought_to_the_painted_bins(scenes) -> None:
    start = rough(scenes, np.random.default_rng(0))
    refined = refine_chirploc100k(scenes.values, start)
    before, after = np.median(errors(scenes, start), axis=0), np.median(errors(scenes, refined), axis=0)
    assert (after < before).all(), (before, after)
    # within the bin the generator floors each label into (half a bin at most, off by one at worst)
    assert after[0] <= DT_S and after[2] <= DF_HZ and after[3] <= DF_HZ, after
    truth_law = [scenes.chirps(i)[0].sweep for i in range(len(scenes))]
    right = np.mean([f[0].sweep == law for f, law in zip(refined, truth_law)])
    assert right >= 0.75, right
    assert all(f[0].presence == s[0].presence for f, s in zip(refined, start))
    # the end time's std is the fit's (of start + duration), not the estimate's
    for (f, *_) in refined:
        assert f.uncertainty["end_time_s"] == pytest.approx(np.hypot(f.uncertainty["start_time_s"], f.uncertainty["duration_s"]))


def test_the_fit_reads_affinely_rescaled_values_as_the_raw_array(scenes) -> None:
    """A figure read back is the array scaled to its own min and max: same answer."""
    start = rough(scenes, np.random.default_rng(1))[:12]
    values = scenes.values[:12]
    low, high = values.min(axis=(1, 2), keepdims=True), values.max(axis=(1, 2), keepdims=True)
    rescaled = ((values - low) / (high - low) * 255).astype(np.float32)
    raw = refine_chirploc100k(values, start)
    figure = refine_chirploc100k(rescaled, start)
    same = [dataclasses.astuple(a[0])[:5] == dataclasses.astuple(b[0])[:5] for a, b in zip(raw, figure)]
    assert np.mean(same) >= 0.9


def test_on_pure_noise_the_answer_is_drawn_to_the_generators_mean_with_its_spread() -> None:
    noise = get_scene("chirploc100k", min_chirps=0, max_chirps=0).generate(4, seed=3)
    guess = ChirpEstimate(start_time_s=20.0, duration_s=5.0, start_freq_hz=40.0, end_freq_hz=50.0,
                          sweep="linear", presence=0.9)
    absent = dataclasses.replace(guess, presence=0.2)
    out = refine_chirploc100k(noise.values, [[guess, absent]] * 4)
    prior = label_prior()
    for likeliest, other in out:
        assert other == absent, "an unlikely second estimate is left as it is"
        assert likeliest.presence == FAINT_PRESENCE, "the fit finds nothing noise does not make: no chirp"
        # no ridge stands out of pure noise: the answer is at most 70 % the best ridge's, and says so
        for key in ("start_time_s", "start_freq_hz", "end_freq_hz"):
            mean, std = prior[key]
            assert likeliest.uncertainty[key] >= 0.5 * std, (key, likeliest.uncertainty)
            assert abs(getattr(likeliest, key) - mean) <= 0.7 * max(abs(lo - mean) for lo in (0, 45 if key == "start_time_s" else 100))
    assert refine_chirploc100k(noise.values[:1], [[]]) == [[]]
    with pytest.raises(ValueError, match="128"):
        refine_chirploc100k(np.zeros((1, 64, 64), np.float32), [[guess]])


def test_a_weak_fit_is_hedged_by_how_often_such_a_fit_is_the_chirp() -> None:
    strong = Fit(sb=20, ncol=10, fb0=30, fb1=60, law=0, gain=1.0, z=200.0)
    values, std = hedged_centres(strong)
    assert values == label_centres(strong) and std == QUANTISATION_STD
    weak = dataclasses.replace(strong, z=31.0)
    p = located_probability(31.0)
    assert 0.2 < p < 0.6 and located_probability(20.0) <= p <= located_probability(35.0) < 1.0
    values, std = hedged_centres(weak)
    centre, (mean, spread) = label_centres(weak)["start_time_s"], label_prior()["start_time_s"]
    assert values["start_time_s"] == pytest.approx(p * centre + (1 - p) * mean)
    assert QUANTISATION_STD["start_time_s"] < std["start_time_s"] < 1.5 * spread
    assert mean == pytest.approx(22.5, abs=0.2) and spread == pytest.approx(45 / 12**0.5, abs=0.2)  # U(0, 45) s


def test_the_likeliest_estimate_is_refined_even_when_the_network_doubts_it(scenes) -> None:
    start = rough(scenes, np.random.default_rng(2))[:8]
    doubted = [[dataclasses.replace(f[0], presence=0.1)] for f in start]
    refined = refine_chirploc100k(scenes.values[:8], doubted)
    assert np.median(errors(scenes.select(slice(0, 8)), refined), axis=0)[0] <= DT_S
    assert all(f[0].presence == CLEAR_PRESENCE for f in refined), "a ridge no noise makes is a chirp"


@pytest.mark.skipif(not SHIPPED, reason="no shipped model in chirploc/assets/default")
def test_the_shipped_model_is_refined_on_chirploc100k_scenes_and_network_only_is_not() -> None:
    from chirploc import load_model
    from chirploc.evaluate import estimate_batch

    batch = get_scene("chirploc100k").generate(96, seed=57)
    model = load_model()
    network = estimate_batch("network", batch, model)
    default = estimate_batch("model", batch, model)
    net_err, fit_err = errors(batch, network).mean(axis=0), errors(batch, default).mean(axis=0)
    assert (fit_err < net_err).all(), (net_err, fit_err)
    assert fit_err[0] < 0.35 and fit_err[2] < 1.0 and fit_err[3] < 1.0, fit_err


@pytest.mark.skipif(not SHIPPED, reason="no shipped model in chirploc/assets/default")
def test_cli_predict_refines_figures_and_network_method_gives_the_raw_answers(tmp_path) -> None:
    import csv
    import subprocess
    import sys

    from chirploc.generate import generate_dataset

    folder = tmp_path / "figures"
    generate_dataset(get_scene("chirploc100k"), n=8, out=folder, fmt="chirploc100k", seed=12)
    with open(folder / "labels.csv") as f:
        truth = [float(row["Chirp_Start_Time"]) for row in csv.DictReader(f)]
    mean_error = {}
    for method in ("model", "network"):
        proc = subprocess.run(
            [sys.executable, "-m", "chirploc.cli", "predict", str(folder), "--method", method, "--format", "csv"],
            capture_output=True, text=True, check=True,
        )
        rows = {r["file"]: r for r in csv.DictReader(proc.stdout.splitlines())}
        got = [float(rows[str(folder / f"spectrogram_{i + 1}.png")]["start_time_s"]) for i in range(8)]
        mean_error[method] = float(np.mean(np.abs(np.array(got) - truth)))
        on_bin_centres = sum(abs((t / DT_S) % 1 - 0.5) < 1e-3 for t in got)
        if method == "model":  # a fitted start sits at the centre of a time bin
            assert on_bin_centres >= 6, got
    assert mean_error["model"] <= mean_error["network"] + 0.05, mean_error
