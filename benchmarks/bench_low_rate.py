"""Recordings sampled below 256 Hz: chirps found, and chirps reported in noise alone.

    python benchmarks/bench_low_rate.py [--n 16] [--seconds 60] [--fast]

`chirploc predict` reads signals at 256 Hz, so a recording at 64, 100 or 128 Hz is resampled
up and the rows above its own Nyquist frequency hold nothing it recorded. For each rate,
`--n` recordings of 1/f noise alone and `--n` with one linear chirp (3 to 10 s, amplitude 1
on unit-variance noise, both frequencies within 80 % of the Nyquist frequency, at a uniform
random place) are located as files are (32 s windows, 16 s apart), twice in one run:

- "empty band": the band above the Nyquist frequency left as resampling leaves it, and every
  estimate kept (how chirploc read such recordings before);
- "filled band": that band filled with noise at the level of the recording's own upper band,
  estimates reaching above the Nyquist frequency dropped and every estimate cut to its
  window (`chirploc.inputs._fill_above_band`, `chirploc.locate`): what it does now.

Reported per rate and way: chirps reported per noise-only recording, recall and precision on
the recordings with a chirp (a chirp is found as in bench_recordings: `same_chirp`), and the
found chirps' mean absolute errors (s, Hz). Writes benchmarks/results/low_rate.json and
prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import time
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import numpy as np
from scipy.signal import chirp as scipy_chirp

import chirploc.inputs
import chirploc.locate
from bench_recordings import match
from chirploc.inputs import InputOptions, signal_windows
from chirploc.locate import locate
from chirploc.predict import load_model
from chirploc.synth.signal import pink_noise
from chirploc.types import Chirp

SEED = 91
RATES_HZ = (64.0, 100.0, 128.0)
RESULTS = Path(__file__).parent / "results"


def recordings(fs: float, n: int, seconds: float, seed: int) -> tuple[list[np.ndarray], list[tuple[np.ndarray, Chirp]]]:
    rng = np.random.default_rng([seed, int(fs)])
    samples = int(seconds * fs)
    noise = [pink_noise(rng, samples, fs) for _ in range(n)]
    with_chirp = []
    t = np.arange(samples) / fs
    for _ in range(n):
        duration = rng.uniform(3.0, 10.0)
        start = rng.uniform(1.0, seconds - duration - 1.0)
        f0, f1 = rng.uniform(2.0, 0.8 * fs / 2, size=2)
        x = pink_noise(rng, samples, fs)
        inside = (t >= start) & (t < start + duration)
        x[inside] += scipy_chirp(t[inside] - start, f0, duration, f1, method="linear")
        with_chirp.append((x, Chirp(float(start), float(duration), float(f0), float(f1), "linear")))
    return noise, with_chirp


@contextmanager
def empty_band():
    """chirploc as it read such recordings before: no filler noise, every estimate kept."""
    with mock.patch.object(chirploc.inputs, "_fill_above_band", lambda samples, *_: samples), \
            mock.patch.object(chirploc.locate, "_inside_windows", lambda estimator: estimator):
        yield


def run_way(model, fs: float, noise, with_chirp) -> dict:
    def chirps_in(x: np.ndarray) -> list:
        windows = signal_windows(Path("recording"), x, fs, None, InputOptions())
        return [e for _, e in locate(windows, model.estimate_windows)[1]]

    start = time.perf_counter()
    false = [len(chirps_in(x)) for x in noise]
    hits = found_total = 0
    errors: dict[str, list[float]] = {"start_time_s": [], "start_freq_hz": [], "end_freq_hz": []}
    above = 0
    for x, truth in with_chirp:
        found = chirps_in(x)
        found_total += len(found)
        above += sum(max(e.start_freq_hz, e.end_freq_hz) > fs / 2 for e in found)
        for a, b in match([truth], found):
            hits += 1
            for key in errors:
                errors[key].append(abs(getattr(found[b], key) - getattr(truth, key)))
    return {
        "chirps_per_noise_recording": float(np.mean(false)),
        "noise_recordings_with_a_chirp": int(sum(f > 0 for f in false)),
        "recall": hits / len(with_chirp),
        "precision": hits / found_total if found_total else None,
        "estimates_above_nyquist": int(above),
        "mae": {key: float(np.mean(v)) if v else None for key, v in errors.items()},
        "seconds": round(time.perf_counter() - start, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=16, help="recordings of each kind per rate")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--fast", action="store_true", help="a smoke run: 2 recordings of each kind")
    args = parser.parse_args()
    n = 2 if args.fast else args.n
    model = load_model()
    results: dict = {"seed": SEED, "n": n, "seconds": args.seconds, "rates": {}}
    for fs in RATES_HZ:
        noise, with_chirp = recordings(fs, n, args.seconds, SEED)
        with empty_band():
            before = run_way(model, fs, noise, with_chirp)
        after = run_way(model, fs, noise, with_chirp)
        results["rates"][f"{fs:g}"] = {"empty band": before, "filled band": after}
        print(f"{fs:g} Hz done", flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "low_rate.json").write_text(json.dumps(results, indent=2) + "\n")
    print("| rate (Hz) | band above Nyquist | chirps per noise-only recording | recall | precision | "
          "estimates above Nyquist | start time MAE (s) | start freq MAE (Hz) | end freq MAE (Hz) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for rate, ways in results["rates"].items():
        for way, r in ways.items():
            mae = {k: ("-" if v is None else f"{v:.2f}") for k, v in r["mae"].items()}
            precision = "-" if r["precision"] is None else f"{r['precision']:.2f}"
            print(f"| {rate} | {way} | {r['chirps_per_noise_recording']:.2f} | {r['recall']:.2f} | {precision} | "
                  f"{r['estimates_above_nyquist']} | {mae['start_time_s']} | {mae['start_freq_hz']} | {mae['end_freq_hz']} |")


if __name__ == "__main__":
    main()
