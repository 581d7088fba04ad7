"""Accuracy of chirp estimates against the truth, per quantity, in its own unit.

Regression targets compare matched pairs (one true chirp, one estimate); sweep
type is scored as accuracy and presence as ROC AUC over scenes with and without
a chirp.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

#: target name -> unit, in report order
TARGETS: dict[str, str] = {
    "start_time_s": "s",
    "end_time_s": "s",
    "duration_s": "s",
    "start_freq_hz": "Hz",
    "end_freq_hz": "Hz",
}


def pearson_r(truth: np.ndarray, estimate: np.ndarray) -> float:
    truth, estimate = np.asarray(truth, float), np.asarray(estimate, float)
    if truth.size < 2 or truth.std() == 0 or estimate.std() == 0:
        return float("nan")
    return float(np.corrcoef(truth, estimate)[0, 1])


def regression_metrics(truth: np.ndarray, estimate: np.ndarray) -> dict[str, float]:
    """Pearson r, MAE, RMSE, bias (estimate - truth, mean) and the count."""
    truth, estimate = np.asarray(truth, float), np.asarray(estimate, float)
    err = estimate - truth
    return {
        "pearson_r": pearson_r(truth, estimate),
        "mae": float(np.mean(np.abs(err))) if err.size else float("nan"),
        "rmse": float(np.sqrt(np.mean(err**2))) if err.size else float("nan"),
        "bias": float(np.mean(err)) if err.size else float("nan"),
        "n": int(err.size),
    }


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve (the Mann-Whitney U statistic, ties counted half)."""
    scores, positive = np.asarray(scores, float), np.asarray(positive, bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2 + 1
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def target_metrics(truth: Mapping[str, np.ndarray], estimate: Mapping[str, np.ndarray]) -> dict[str, dict]:
    """Per-target regression metrics for every target present in both mappings."""
    return {
        name: {**regression_metrics(truth[name], estimate[name]), "unit": unit}
        for name, unit in TARGETS.items()
        if name in truth and name in estimate
    }


def stratified(
    truth: Mapping[str, np.ndarray],
    estimate: Mapping[str, np.ndarray],
    strata: Mapping[str, np.ndarray],
) -> dict[str, dict]:
    """The same metrics inside each stratum: {stratum label: per-target metrics}."""
    labels = {k: np.asarray(v) for k, v in strata.items()}
    out: dict[str, dict] = {}
    for label, mask in labels.items():
        if mask.any():
            out[label] = target_metrics(
                {k: np.asarray(v)[mask] for k, v in truth.items()},
                {k: np.asarray(v)[mask] for k, v in estimate.items()},
            )
    return out


def sweep_accuracy(truth: np.ndarray, estimate: np.ndarray) -> float:
    truth, estimate = np.asarray(truth), np.asarray(estimate)
    return float(np.mean(truth == estimate)) if truth.size else float("nan")
