"""Classical chirp estimators with nothing to train: references for the learned models."""

from chirploc.baselines.ridge import RidgeTracker, estimate_ridge

__all__ = ["RidgeTracker", "estimate_ridge"]
