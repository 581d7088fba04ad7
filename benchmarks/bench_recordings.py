"""Chirps in long recordings: what `chirploc predict` finds in signals many windows long.

    python benchmarks/bench_recordings.py [--model PATH] [--n 128] [--seconds 120] [--fast]

Recordings from the signal scene, `--seconds` long at 256 Hz (1/f^alpha noise, 10-25 dB
SNR, line noise in 30 %), each with 1 to 4 chirps of 2 to 12 s at uniform random places
(they may overlap in time). Each is read as a file is (32 s windows, 16 s apart) and its
chirps located by the shipped model and by the ridge baseline, with and without the check
of each chirp in a window centred on it (`chirploc.locate`).

A true chirp is found when an estimate is the same chirp by `chirploc.inputs.same_chirp`
(overlapping in time by more than half the shorter, within 10 Hz on average there);
pairs are made greedily, nearest start first. Reported per method: recall (true chirps
found / true chirps), precision (estimates that are a true chirp / estimates), F1, mean
absolute errors of the found chirps (s, Hz), the recall of chirps no other chirp overlaps
in time, seconds per recording (locating its chirps from its windows, whose
spectrograms are made beforehand), and the five found chirps with the largest start-time
errors. Writes benchmarks/results/recordings.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from chirploc.inputs import InputOptions, same_chirp, signal_windows
from chirploc.locate import Estimator, locate
from chirploc.model import default_model_dir
from chirploc.predict import load_model
from chirploc.run_predict import ridge_estimator
from chirploc.synth.signal import SignalScene
from chirploc.types import Chirp, ChirpEstimate

SEED = 77
RESULTS = Path(__file__).parent / "results"


def match(truth: list[Chirp], found: list[ChirpEstimate]) -> list[tuple[int, int]]:
    pairs = sorted(
        (abs(t.start_time_s - e.start_time_s), a, b)
        for a, t in enumerate(truth)
        for b, e in enumerate(found)
        if same_chirp(t, e)
    )
    used_t: set[int] = set()
    used_e: set[int] = set()
    chosen = []
    for _, a, b in pairs:
        if a not in used_t and b not in used_e:
            used_t.add(a)
            used_e.add(b)
            chosen.append((a, b))
    return chosen


def isolated(truth: list[Chirp]) -> list[bool]:
    return [
        not any(o is not t and o.start_time_s < t.end_time_s and t.start_time_s < o.end_time_s for o in truth)
        for t in truth
    ]


def score(recordings, estimator: Estimator, confirm: bool) -> dict:
    n_true = n_found = n_hit = n_iso = n_iso_hit = 0
    errors: dict[str, list[float]] = {"start_time_s": [], "end_time_s": [], "start_freq_hz": [], "end_freq_hz": []}
    seconds = []
    worst: list[tuple[float, int, Chirp, ChirpEstimate]] = []
    for r, (windows, truth) in enumerate(recordings):
        start = time.perf_counter()
        _, merged = locate(windows, estimator, confirm=confirm)
        seconds.append(time.perf_counter() - start)
        found = [e for _, e in merged]
        pairs = match(truth, found)
        alone = isolated(truth)
        n_true, n_found, n_hit = n_true + len(truth), n_found + len(found), n_hit + len(pairs)
        n_iso += sum(alone)
        n_iso_hit += sum(alone[a] for a, _ in pairs)
        for a, b in pairs:
            for key in errors:
                errors[key].append(abs(getattr(found[b], key) - getattr(truth[a], key)))
            worst.append((abs(found[b].start_time_s - truth[a].start_time_s), r, truth[a], found[b]))
    recall, precision = n_hit / n_true, (n_hit / n_found if n_found else 0.0)
    return {
        "true_chirps": n_true,
        "estimates": n_found,
        "found": n_hit,
        "recall": recall,
        "precision": precision,
        "f1": 2 * recall * precision / (recall + precision) if recall + precision else 0.0,
        "recall_isolated": n_iso_hit / n_iso if n_iso else None,
        "isolated_chirps": n_iso,
        "mae": {key: float(np.mean(v)) if v else None for key, v in errors.items()},
        "seconds_per_recording_median": statistics.median(seconds),
        "largest_start_time_errors": [
            {"recording": r, "error_s": err, **{f"{side}_{key}": getattr(c, key) for side, c in (("true", t), ("found", e))
                                               for key in ("start_time_s", "end_time_s", "start_freq_hz", "end_freq_hz")}}
            for err, r, t, e in sorted(worst, key=lambda w: -w[0])[:5]
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=default_model_dir())
    parser.add_argument("--n", type=int, default=128, help="recordings (at most 256)")
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--fast", action="store_true", help="a smoke run: 16 recordings")
    args = parser.parse_args()
    n = 16 if args.fast else min(args.n, 256)
    scene = SignalScene(min_chirps=1, max_chirps=4, window_s=args.seconds)
    block = scene.waveforms(SEED, 0)
    options = InputOptions()
    recordings = [
        (signal_windows(Path(f"recording_{i}"), block.samples[i], block.fs_hz, None, options), block.labels.chirps(i))
        for i in range(n)
    ]
    model = load_model(args.model)
    estimators: dict[str, Estimator] = {
        "model": model.estimate_windows,
        "ridge": ridge_estimator(),
    }
    result: dict = {
        "scene": {"name": "signal", "seed": SEED, "recordings": n, "seconds": args.seconds, **scene.config()},
        "model": str(args.model),
        "windows": {"window_s": options.window_s, "hop_s": options.hop_s},
        "fast": args.fast,
        "methods": {},
    }
    for method, estimator in estimators.items():
        for confirm in (False, True):
            label = f"{method}, {'checked in centred windows' if confirm else 'windows merged only'}"
            result["methods"][label] = score(recordings, estimator, confirm)
            print(f"{label}: done", flush=True)
    write_result(result, "recordings.json", args.fast, table(result))


def write_result(result: dict, name: str, fast: bool, table_md: str) -> None:
    """Write `result` as benchmarks/results/`name` (results/smoke/ for a --fast run) and print its table."""
    out = RESULTS / ("smoke" if fast else ".") / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=float))
    print(table_md)
    print(f"written: {out}")


def table(result: dict) -> str:
    lines = [
        "| method | recall | precision | F1 | recall, chirps alone in time | start time MAE (s) | start freq MAE (Hz) "
        "| end freq MAE (Hz) | s per recording (median) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, m in result["methods"].items():
        mae = m["mae"]
        lines.append(
            f"| {label} | {m['recall']:.3f} ({m['found']}/{m['true_chirps']}) | {m['precision']:.3f} "
            f"({m['found']}/{m['estimates']}) | {m['f1']:.3f} | {m['recall_isolated']:.3f} | {mae['start_time_s']:.2f} "
            f"| {mae['start_freq_hz']:.2f} | {mae['end_freq_hz']:.2f} | {m['seconds_per_recording_median']:.3f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
