from __future__ import annotations

import numpy as np
import pytest

from chirploc.describe import describe
from chirploc.metrics import regression_metrics, roc_auc, stratified, target_metrics
from chirploc.types import Chirp, ChirpEstimate


def test_regression_metrics_in_the_targets_units() -> None:
    truth = np.array([1.0, 2.0, 3.0, 4.0])
    m = regression_metrics(truth, truth + np.array([0.5, -0.5, 0.5, 0.5]))
    assert m["mae"] == pytest.approx(0.5)
    assert m["rmse"] == pytest.approx(0.5)
    assert m["bias"] == pytest.approx(0.25)
    assert 0.9 < m["pearson_r"] < 1
    assert target_metrics({"start_time_s": truth}, {"start_time_s": truth})["start_time_s"]["unit"] == "s"


def test_roc_auc_matches_the_pairwise_definition() -> None:
    rng = np.random.default_rng(0)
    scores = np.round(rng.random(60), 1)  # with ties
    positive = rng.random(60) < 0.4
    pairs = [(p > n) + 0.5 * (p == n) for p in scores[positive] for n in scores[~positive]]
    assert roc_auc(scores, positive) == pytest.approx(np.mean(pairs))
    assert np.isnan(roc_auc(scores, np.ones(60, bool)))


def test_strata_split_the_same_metrics() -> None:
    truth = {"start_time_s": np.arange(10.0)}
    est = {"start_time_s": np.arange(10.0) + np.r_[np.zeros(5), np.ones(5)]}
    out = stratified(truth, est, {"short": np.arange(10) < 5, "long": np.arange(10) >= 5})
    assert out["short"]["start_time_s"]["mae"] == 0
    assert out["long"]["start_time_s"]["mae"] == 1


def test_descriptions_are_deterministic_and_carry_units() -> None:
    est = ChirpEstimate(38.9, 10.8, 14.6, 36.8, "exponential", presence=0.97)
    text = describe(est)
    assert text == (
        "A rising exponential chirp from 38.9 s to 49.7 s sweeps 14.6 Hz to 36.8 Hz "
        "(about 2.1 Hz/s) over 10.8 s; confidence 0.97."
    )
    assert describe(est) == text
    assert describe(ChirpEstimate(1, 2, 40, 10, "linear", presence=0.9)).startswith("A falling linear chirp")
    assert "stays near 20.0 Hz" in describe(Chirp(1, 2, 20.2, 19.8, "linear"))
    assert describe(ChirpEstimate(1, 2, 40, 10, "linear", presence=0.1)).startswith("No chirp found (presence 0.10")
    assert describe(Chirp(1, 2, 3, 30, "logarithmic")).startswith("A rising exponential chirp")
