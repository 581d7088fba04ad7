"""How well an estimator finds chirps: every target in its own unit, overall and by stratum.

`load_eval_data` gives the scenes to score (a shard set, a ChirpLoc100K folder or
fresh scenes of a named kind), `estimate_batch` runs the model or the ridge
baseline on them, and `evaluate` compares the estimates with the labels:

- regression targets (start and end time, duration in s; start and end frequency
  in Hz): Pearson r, MAE, RMSE and bias (estimate - truth, mean), over matched
  pairs of one true chirp and one estimate;
- sweep type: accuracy and a confusion matrix over the same pairs;
- presence, where some scenes hold no chirp: ROC AUC of each scene's highest
  presence, and accuracy at a presence of 0.5;
- all of the above by true duration, by noise level (quartiles) and by true sweep type;
- throughput: spectrograms per second of the estimation alone.

Matching: in a scene with m true chirps, the m most likely estimates (highest
presence) are paired with them greedily, closest start times first; with one
chirp per scene that is the first slot against the most likely estimate. True
chirps left without an estimate are counted as unmatched and excluded from the
regression metrics.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from chirploc.describe import PRESENCE_THRESHOLD
from chirploc.metrics import TARGETS, roc_auc, sweep_accuracy, target_metrics
from chirploc.synth import parse_scene_spec
from chirploc.types import SWEEP_TYPES, ChirpEstimate, SceneBatch, sweep_code

RESULT_FORMAT = "chirploc-evaluation/1"
METHODS: tuple[str, ...] = ("model", "network", "ridge")

#: Interior edges (s) of the true-duration strata: <3 s, 3-7 s, 7-11 s, >=11 s.
DURATION_EDGES_S: tuple[float, ...] = (3.0, 7.0, 11.0)

#: The reference system's published result on ChirpLoc100K (start time only).
REFERENCE = {
    "source": "Bahador & Lankarany (2025), Chirp localization via fine-tuned transformer model, arXiv 2503.22713",
    "data": "ChirpLoc100K",
    "start_time_s_pearson_r": 0.9841,
}

#: What `SceneBatch.noise_level` means for each scene kind.
NOISE_MEANINGS: dict[str, dict[str, Any]] = {
    "chirploc100k": {
        "name": "noise sigma (ridge peak = 1)",
        "unit": "",
        "meaning": "standard deviation of the Gaussian noise added to the plane before its blur, "
        "relative to a painted ridge's peak of 1 (dimensionless); higher is noisier",
        "higher_is_noisier": True,
    },
    "signal": {
        "name": "SNR",
        "unit": "dB",
        "meaning": "local SNR along the chirp's ridge (chirp power over the noise PSD in a 1 Hz band "
        "at its frequency); higher is cleaner",
        "higher_is_noisier": False,
    },
}
_GENERIC_NOISE = {
    "name": "noise level",
    "unit": "",
    "meaning": "the scene's own noise parameter (its meaning depends on the scene kind)",
    "higher_is_noisier": None,
}


# --------------------------------------------------------------------------- data


def _accepted(scenes: Sequence[str]) -> str:
    return (
        "pass a shard-set folder (with manifest.json), a ChirpLoc100K folder (labels.csv and "
        f"spectrogram_*.png), or a scene name to generate fresh scenes ({', '.join(sorted(scenes))})"
    )


def load_eval_data(
    data: str, n: int | None = 2000, seed: int = 12345,
    image_axes: tuple[tuple[float, float], tuple[float, float]] | None = None,
) -> SceneBatch:
    """The scenes to evaluate on.

    `data` is a shard-set folder (it has manifest.json), a ChirpLoc100K folder
    (labels.csv and spectrogram_*.png), or a scene name ('chirploc100k', 'signal',
    optionally with parameters: 'signal:min_chirps=0,max_chirps=2') whose scenes
    [0, n) of `seed` are generated. From a folder, its first `n` scenes are read (every one if n is None).
    With `image_axes` = (time_range_s, freq_range_hz) the folder's images are bare spectrogram
    planes with those outer edges, not ChirpLoc100K figures (`ChirpLoc100KFolder`).
    """
    from chirploc.synth import SCENES, get_scene

    if n is not None and (isinstance(n, bool) or int(n) != n or n < 1):
        raise ValueError(f"-n must be a positive number of scenes, got {n}")
    text = str(data).strip()
    if not text:
        raise ValueError(f"--data is empty: {_accepted(SCENES)}")
    path = Path(text)
    if path.is_dir():
        if (path / "manifest.json").is_file():
            from chirploc.io.shards import ShardSet

            shards = ShardSet(path)
            return shards.load(0, len(shards) if n is None else min(int(n), len(shards)))
        if (path / "labels.csv").is_file() and any(path.glob("spectrogram_*.png")):
            from chirploc.io.chirploc100k import ChirpLoc100KFolder

            folder = ChirpLoc100KFolder(path, axes=image_axes)
            return folder.load(np.arange(len(folder) if n is None else min(int(n), len(folder))), progress=True)
    if image_axes is not None:
        raise ValueError(f"--data {text}: --time-range and --freq-range read a folder of images (spectrogram_*.png "
                         "and labels.csv); this is not one")
    name, params = parse_scene_spec(text)
    if name in SCENES:
        if n is None:
            raise ValueError(f"--data {text!r}: generating scenes needs how many (-n)")
        try:
            scene = get_scene(name, **params)
        except TypeError as err:
            raise ValueError(f"--data {text!r}: {err}") from None
        return scene.generate(int(n), seed=seed)
    if path.is_dir():
        if any(path.glob("spectrogram_*.png")) and not (path / "labels.csv").is_file():
            raise ValueError(f"--data {text}: the folder has spectrogram_*.png but no labels.csv: add the labels file "
                             "(ChirpLoc100K's columns) beside the images")
        raise ValueError(f"--data {text}: the folder is neither a shard set nor a ChirpLoc100K folder; {_accepted(SCENES)}")
    if path.exists():
        raise ValueError(f"--data {text} is a file, not a data set: {_accepted(SCENES)}")
    raise ValueError(f"unknown --data {text!r} (no such folder or scene): {_accepted(SCENES)}")


def is_chirploc100k_grid(batch: SceneBatch) -> bool:
    """Whether the batch lies on ChirpLoc100K's 60 s x 100 Hz, 128 x 128 grid."""
    from chirploc.synth.chirploc100k import on_chirploc100k_grid

    return on_chirploc100k_grid(batch.times_s, batch.freqs_hz)


def noise_meaning(batch: SceneBatch) -> dict[str, Any]:
    """Name, unit and meaning of `batch.noise_level` for this batch's scene kind."""
    if len(batch) and not np.isfinite(np.asarray(batch.noise_level, dtype=float)).any():
        return {**_GENERIC_NOISE, "meaning": "not recorded in this data (ChirpLoc100K figures, for one, do not keep it)"}
    if batch.scene in NOISE_MEANINGS:
        return dict(NOISE_MEANINGS[batch.scene])
    if not batch.scene and is_chirploc100k_grid(batch):
        return dict(NOISE_MEANINGS["chirploc100k"])
    return dict(_GENERIC_NOISE)


# --------------------------------------------------------------------------- estimation


def _ridge_for(batch: SceneBatch):
    from chirploc.baselines.ridge import RidgeTracker

    k = max(batch.labels.max_chirps, 1)
    if is_chirploc100k_grid(batch):
        return RidgeTracker.for_chirploc100k(max_chirps=k), "RidgeTracker.for_chirploc100k()"
    return RidgeTracker(max_chirps=k), "RidgeTracker()"


def _resolve_model(model):
    from chirploc.predict import ChirpLocModel, load_model

    if isinstance(model, ChirpLocModel):
        return model
    return load_model(model)


def measure_estimation(
    method: str,
    batch: SceneBatch,
    model=None,
    batch_size: int = 64,
    progress: Callable[[int], Any] | None = None,
) -> tuple[list[list[ChirpEstimate]], dict[str, Any]]:
    """The estimates of every scene and how fast they came (see `estimate_batch`).

    The second value holds the method, the estimator, the wall-clock seconds of the
    estimation alone (no data or model loading) and spectrograms per second.
    `progress`, if given, is called with the number of scenes done after each chunk.
    """
    method = str(method).strip().lower()
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: choose one of {', '.join(METHODS)}")
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"--batch-size must be a positive whole number, got {batch_size}")
    batch_size = int(batch_size)
    info: dict[str, Any] = {"method": method, "batch_size": batch_size}
    if method in ("model", "network"):
        import torch

        net = _resolve_model(model)
        info["estimator"] = f"{'network of ' if method == 'network' else ''}model {net.source}"
        info["torch_threads"] = int(torch.get_num_threads())
        from chirploc.predict import NETWORK_ONLY

        options = NETWORK_ONLY if method == "network" else {}

        def run(lo: int, hi: int) -> list[list[ChirpEstimate]]:
            specs = [batch.spectrogram(i) for i in range(lo, hi)]
            return net.predict_spectrograms(specs, **options)  # the network reads its own batches (NETWORK_BATCH)
    else:
        if model is not None:
            raise ValueError("a model applies only with methods 'model' and 'network'; the ridge method needs none")
        tracker, name = _ridge_for(batch)
        info["estimator"] = name

        def run(lo: int, hi: int) -> list[list[ChirpEstimate]]:
            return tracker.estimate_batch(batch.values[lo:hi], batch.times_s, batch.freqs_hz)

    estimates: list[list[ChirpEstimate]] = []
    seconds = 0.0
    for lo in range(0, len(batch), batch_size):
        hi = min(lo + batch_size, len(batch))
        start = time.perf_counter()
        found = run(lo, hi)
        seconds += time.perf_counter() - start
        estimates += [sorted(f, key=lambda e: -e.presence) for f in found]
        if progress is not None:
            progress(hi - lo)
    info.update(
        n_spectrograms=len(batch),
        seconds=seconds,
        spectrograms_per_s=(len(batch) / seconds) if seconds > 0 else float("nan"),
        note="wall-clock time of the estimation alone (no data or model loading), on this machine",
    )
    return estimates, info


def estimate_batch(
    method: str, batch: SceneBatch, model=None, batch_size: int = 64, progress: Callable[[int], Any] | None = None
) -> list[list[ChirpEstimate]]:
    """Estimates for every scene of `batch`, most likely first.

    method 'model': `model` is a ChirpLocModel, a model folder, or None for the
    shipped model; 'network': the same model's network alone (no forward-model fit, its own
    sweep-law guess); 'ridge': the ridge-tracking baseline (ChirpLoc100K's settings
    on its grid, generic ones elsewhere), looking for as many chirps as the batch
    has label slots.
    """
    return measure_estimation(method, batch, model, batch_size, progress)[0]


# --------------------------------------------------------------------------- matching


@dataclass
class Matches:
    """Pairs of one true chirp and one estimate, as arrays over the M pairs."""

    scene: np.ndarray  # [M] scene index
    slot: np.ndarray  # [M] label slot of the true chirp
    estimate_index: np.ndarray  # [M] index into that scene's estimates
    truth: dict[str, np.ndarray]  # target -> [M], in the target's unit
    estimate: dict[str, np.ndarray]
    sweep_true: np.ndarray  # [M] codes into SWEEP_TYPES
    sweep_estimate: np.ndarray
    noise_level: np.ndarray  # [M] the scene's noise level
    n_unmatched: int  # true chirps without an estimate

    def __len__(self) -> int:
        return int(self.scene.size)

    def errors(self) -> dict[str, np.ndarray]:
        """estimate - truth per target, in the target's unit."""
        return {k: self.estimate[k] - self.truth[k] for k in TARGETS}


def _values(chirp) -> dict[str, float]:
    return {
        "start_time_s": chirp.start_time_s,
        "end_time_s": chirp.start_time_s + chirp.duration_s,
        "duration_s": chirp.duration_s,
        "start_freq_hz": chirp.start_freq_hz,
        "end_freq_hz": chirp.end_freq_hz,
    }


def match_estimates(estimates: Sequence[Sequence[ChirpEstimate]], batch: SceneBatch) -> Matches:
    """Pair true chirps with estimates (see the module description)."""
    if len(estimates) != len(batch):
        raise ValueError(f"{len(estimates)} lists of estimates for {len(batch)} scenes: give one list per scene")
    lab = batch.labels
    rows: list[tuple[int, int, int]] = []
    unmatched = 0
    for i in range(len(batch)):
        slots = np.flatnonzero(lab.present[i])
        if slots.size == 0:
            continue
        found = sorted(range(len(estimates[i])), key=lambda j: -estimates[i][j].presence)[: slots.size]
        pairs = sorted(
            (abs(float(estimates[i][j].start_time_s) - float(lab.start_time_s[i, k])), a, b)
            for a, k in enumerate(slots)
            for b, j in enumerate(found)
        )
        used_k: set[int] = set()
        used_j: set[int] = set()
        chosen: list[tuple[int, int]] = []
        for _, a, b in pairs:
            if a not in used_k and b not in used_j:
                used_k.add(a)
                used_j.add(b)
                chosen.append((int(slots[a]), found[b]))
        unmatched += slots.size - len(chosen)
        rows += [(i, k, j) for k, j in sorted(chosen)]
    scene = np.array([r[0] for r in rows], dtype=np.int64)
    slot = np.array([r[1] for r in rows], dtype=np.int64)
    est_index = np.array([r[2] for r in rows], dtype=np.int64)
    t0, d = lab.start_time_s[scene, slot].astype(float), lab.duration_s[scene, slot].astype(float)
    truth = {
        "start_time_s": t0,
        "end_time_s": t0 + d,
        "duration_s": d,
        "start_freq_hz": lab.start_freq_hz[scene, slot].astype(float),
        "end_freq_hz": lab.end_freq_hz[scene, slot].astype(float),
    }
    est_values = [_values(estimates[i][j]) for i, _, j in rows]
    estimate = {k: np.array([v[k] for v in est_values], dtype=float) for k in TARGETS}
    return Matches(
        scene=scene,
        slot=slot,
        estimate_index=est_index,
        truth=truth,
        estimate=estimate,
        sweep_true=lab.sweep[scene, slot].astype(np.int64),
        sweep_estimate=np.array([sweep_code(estimates[i][j].sweep) for i, _, j in rows], dtype=np.int64),
        noise_level=np.asarray(batch.noise_level, dtype=float)[scene],
        n_unmatched=int(unmatched),
    )


# --------------------------------------------------------------------------- strata


def duration_bins(edges: Sequence[float] = DURATION_EDGES_S) -> list[dict[str, Any]]:
    """The duration strata as {label, lo, hi} (s; lo inclusive, hi exclusive, None = open)."""
    bounds = [None, *edges, None]
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        if lo is None:
            label = f"<{hi:g} s"
        elif hi is None:
            label = f">={lo:g} s"
        else:
            label = f"{lo:g}-{hi:g} s"
        out.append({"label": label, "lo": lo, "hi": hi})
    return out


def _bin_index(values: np.ndarray, interior: Sequence[float]) -> np.ndarray:
    """Bin of each value: bin b holds [edge b, edge b+1), the last bin everything above."""
    return np.searchsorted(np.asarray(interior, float), values, side="right")


def noise_edges(noise: np.ndarray) -> list[float]:
    """Quartile edges (min, 25 %, 50 %, 75 %, max) of the finite noise levels, ties merged."""
    finite = noise[np.isfinite(noise)]
    if finite.size == 0:
        return []
    edges = np.quantile(finite, [0.0, 0.25, 0.5, 0.75, 1.0])
    return [float(e) for e in np.unique(edges)]


def _fmt_edge(x: float) -> str:
    return f"{x:.3g}"


def _stratum(matches: Matches, mask: np.ndarray, meta: dict[str, Any]) -> dict[str, Any]:
    n = int(mask.sum())
    if n == 0:
        return {**meta, "n": 0, "sweep_accuracy": float("nan"), "targets": {}}
    return {
        **meta,
        "n": n,
        "sweep_accuracy": sweep_accuracy(matches.sweep_true[mask], matches.sweep_estimate[mask]),
        "targets": target_metrics(
            {k: v[mask] for k, v in matches.truth.items()}, {k: v[mask] for k, v in matches.estimate.items()}
        ),
    }


def stratify(matches: Matches, noise: dict[str, Any]) -> dict[str, Any]:
    """The metrics of the matched pairs by true duration, noise-level quartile and true sweep type."""
    bins = duration_bins()
    which = _bin_index(matches.truth["duration_s"], DURATION_EDGES_S)
    by_duration = {
        "variable": "true duration",
        "unit": "s",
        "edges": list(DURATION_EDGES_S),
        "bins": [_stratum(matches, which == b, meta) for b, meta in enumerate(bins)],
    }

    level = matches.noise_level
    edges = noise_edges(level)
    unit = f" {noise['unit']}" if noise.get("unit") else ""
    noise_bins: list[dict[str, Any]] = []
    if edges:
        interior = edges[1:-1]
        which = _bin_index(level, interior)
        finite = np.isfinite(level)
        if len(edges) == 1:
            noise_bins.append(_stratum(matches, finite, {"label": f"{_fmt_edge(edges[0])}{unit}", "lo": edges[0], "hi": edges[0]}))
        else:
            for b, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
                close = "]" if b == len(edges) - 2 else ")"
                label = f"[{_fmt_edge(lo)}, {_fmt_edge(hi)}{close}{unit}"
                noise_bins.append(_stratum(matches, finite & (which == b), {"label": label, "lo": lo, "hi": hi}))
        if not finite.all():
            noise_bins.append(_stratum(matches, ~finite, {"label": "unknown", "lo": None, "hi": None}))
    by_noise = {
        "variable": noise["name"],
        "unit": noise["unit"],
        "meaning": noise["meaning"],
        "higher_is_noisier": noise["higher_is_noisier"],
        "binning": "quartiles of the noise level over the matched chirps; the last bin includes its upper edge",
        "edges": edges,
        "bins": noise_bins,
    }
    if not edges:
        by_noise["note"] = "no scene has a known noise level"

    by_sweep = {
        "variable": "true sweep type",
        "unit": "",
        "bins": [
            _stratum(matches, matches.sweep_true == c, {"label": name})
            for c, name in enumerate(SWEEP_TYPES)
            if (matches.sweep_true == c).any()
        ],
    }
    return {"duration": by_duration, "noise": by_noise, "sweep": by_sweep}


# --------------------------------------------------------------------------- evaluation


def confusion_matrix(truth: np.ndarray, estimate: np.ndarray) -> list[list[int]]:
    """counts[true type][estimated type] over SWEEP_TYPES."""
    k = len(SWEEP_TYPES)
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (np.asarray(truth, np.int64), np.asarray(estimate, np.int64)), 1)
    return counts.tolist()


def presence_scores(estimates: Sequence[Sequence[ChirpEstimate]]) -> np.ndarray:
    """Each scene's highest presence (0 where there is no estimate at all)."""
    return np.array([max((e.presence for e in found), default=0.0) for found in estimates], dtype=float)


def evaluate(
    estimates: Sequence[Sequence[ChirpEstimate]], batch: SceneBatch, throughput: dict[str, Any] | None = None
) -> dict[str, Any]:
    """All the numbers of an evaluation, as a JSON-ready dict (NaN where undefined).

    `throughput` is the second value of `measure_estimation`, if the estimation was timed.
    """
    matches = match_estimates(estimates, batch)
    lab = batch.labels
    n_true = lab.present.sum(axis=1)
    has_chirp = n_true > 0
    noise = noise_meaning(batch)
    result: dict[str, Any] = {
        "format": RESULT_FORMAT,
        "data": {
            "scene": batch.scene,
            "n_scenes": len(batch),
            "n_scenes_with_chirp": int(has_chirp.sum()),
            "n_scenes_without_chirp": int((~has_chirp).sum()),
            "n_true_chirps": int(n_true.sum()),
            "label_slots": lab.max_chirps,
            "time_range_s": [float(batch.times_s[0] - (batch.times_s[1] - batch.times_s[0]) / 2),
                             float(batch.times_s[-1] + (batch.times_s[1] - batch.times_s[0]) / 2)],
            "freq_range_hz": [float(batch.freqs_hz[0] - (batch.freqs_hz[1] - batch.freqs_hz[0]) / 2),
                              float(batch.freqs_hz[-1] + (batch.freqs_hz[1] - batch.freqs_hz[0]) / 2)],
            "grid_shape": [int(batch.freqs_hz.size), int(batch.times_s.size)],
            "noise_level": noise,
        },
        "matching": (
            "in a scene with m true chirps, its m most likely estimates are paired with them greedily, "
            "closest start times first (one chirp per scene: first slot vs the most likely estimate)"
        ),
        "n_matched": len(matches),
        "n_unmatched_chirps": matches.n_unmatched,
        "targets": target_metrics(matches.truth, matches.estimate),
        "sweep": {
            "accuracy": sweep_accuracy(matches.sweep_true, matches.sweep_estimate),
            "n": len(matches),
            "types": list(SWEEP_TYPES),
            "confusion": confusion_matrix(matches.sweep_true, matches.sweep_estimate),
            "confusion_axes": ["true type", "estimated type"],
        },
    }
    if (~has_chirp).any():
        scores = presence_scores(estimates)
        counted = np.array([sum(e.presence >= PRESENCE_THRESHOLD for e in found) for found in estimates])
        said = scores >= PRESENCE_THRESHOLD
        result["presence"] = {
            "auc": roc_auc(scores, has_chirp),
            "threshold": PRESENCE_THRESHOLD,
            "accuracy": float(np.mean(said == has_chirp)),
            "true_positive_rate": float(np.mean(said[has_chirp])) if has_chirp.any() else float("nan"),
            "false_positive_rate": float(np.mean(said[~has_chirp])),
            "count_accuracy": float(np.mean(counted == n_true)),
            "score": "each scene's highest estimated presence; positive = the scene holds a chirp",
            "n_with_chirp": int(has_chirp.sum()),
            "n_without_chirp": int((~has_chirp).sum()),
        }
    result["strata"] = stratify(matches, noise)
    if batch.scene == "chirploc100k" or is_chirploc100k_grid(batch):
        ours = result["targets"].get("start_time_s", {}).get("pearson_r", float("nan"))
        result["reference"] = {**REFERENCE, "this_start_time_s_pearson_r": ours}
    if throughput is not None:
        result["throughput"] = dict(throughput)
    return result


def to_json_ready(value: Any) -> Any:
    """Plain JSON types: numpy scalars and arrays unwrapped, NaN and infinities as None."""
    if isinstance(value, dict):
        return {str(k): to_json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_json_ready(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


@dataclass
class Evaluation:
    """One evaluation run: its numbers, the estimates and the scenes they came from."""

    result: dict[str, Any]
    estimates: list[list[ChirpEstimate]]
    batch: SceneBatch


def run_evaluation(
    data: str,
    method: str = "model",
    model=None,
    n: int = 2000,
    seed: int = 12345,
    batch_size: int = 64,
    progress: bool = False,
    image_axes: tuple[tuple[float, float], tuple[float, float]] | None = None,
) -> Evaluation:
    """Load the data, estimate (with a progress bar if asked) and evaluate."""
    method = str(method).strip().lower()
    if method not in METHODS:
        raise ValueError(f"unknown --method {method!r}: choose one of {', '.join(METHODS)}")
    if method == "ridge" and model is not None:
        raise ValueError("--model applies only with --method model or network; the ridge method needs none")
    net = _resolve_model(model) if method != "ridge" else None  # a bad model fails before any data is made
    batch = load_eval_data(data, n=n, seed=seed, image_axes=image_axes)
    if len(batch) == 0:
        raise ValueError(f"--data {data}: no scenes to evaluate")
    if progress:
        from tqdm import tqdm

        with tqdm(total=len(batch), unit="spectrogram", desc=f"estimating ({method})", dynamic_ncols=True) as bar:
            estimates, timing = measure_estimation(method, batch, net, batch_size, bar.update)
    else:
        estimates, timing = measure_estimation(method, batch, net, batch_size)
    result = evaluate(estimates, batch, timing)
    result["data"]["source"] = str(data)
    if Path(str(data)).is_dir():
        result["data"]["first_n"] = len(batch)
    else:
        result["data"]["seed"] = int(seed)
    return Evaluation(result, estimates, batch)


__all__ = [
    "DURATION_EDGES_S", "Evaluation", "Matches", "METHODS", "NOISE_MEANINGS", "REFERENCE",
    "confusion_matrix", "duration_bins", "estimate_batch", "evaluate", "is_chirploc100k_grid",
    "load_eval_data", "match_estimates", "measure_estimation", "noise_edges", "noise_meaning",
    "presence_scores", "run_evaluation", "stratify", "to_json_ready",
]
