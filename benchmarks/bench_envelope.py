"""The sweep's envelope: what `chirploc predict --envelope` changes, on abrupt and on tapered sweeps.

    python benchmarks/bench_envelope.py [--model PATH] [--n 24] [--fast]

Two kinds of 32 s windows at 256 Hz, each predicted as `chirploc predict` predicts a window of a
recording, once per envelope ("auto", the default; "abrupt"; "tapered"):
- abrupt: one linear sweep (`scipy.signal.chirp`, full amplitude from its first sample to its
  last, as most synthesised or recorded sweeps) of 3-12 s, 5-100 Hz at each end, at a uniform
  random place, in unit white noise; amplitudes 0.5, 0.7, 1.0, 1.4 and 2.0 (`--n` windows each,
  seed 41 + the amplitude's index);
- tapered: the signal scene's own windows with one chirp (Tukey-tapered, 1/f^alpha noise,
  10-25 dB SNR; seed 40).
The estimate paired with the true chirp (presence >= 0.5, `chirploc.inputs.same_chirp`, nearest
start first, as `bench_recordings.match`) is found; reported per kind, amplitude and envelope:
chirps found, and over them the mean signed and the mean absolute error of the start time, the end
time and the duration (s; signed: estimate - truth), and of the start and end frequency (Hz).
Writes benchmarks/results/envelope.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from bench_recordings import match, write_result
from scipy.signal import chirp
from tqdm import tqdm

from chirploc.model import default_model_dir
from chirploc.predict import load_model
from chirploc.refine_signal import ENVELOPES
from chirploc.synth.signal import FS_HZ, SignalScene, spectrogram_of_signal
from chirploc.types import Chirp, Spectrogram

AMPLITUDES = (0.5, 0.7, 1.0, 1.4, 2.0)
WINDOW_S = 32.0


def abrupt_windows(n: int, amplitude: float, seed: int) -> tuple[list[Spectrogram], list[list[Chirp]]]:
    rng = np.random.default_rng(seed)
    t = np.arange(int(WINDOW_S * FS_HZ)) / FS_HZ
    specs, truths = [], []
    for _ in range(n):
        d = rng.uniform(3.0, 12.0)
        t0 = rng.uniform(0.5, WINDOW_S - 0.5 - d)
        f0, f1 = rng.uniform(5.0, 100.0, size=2)
        x = rng.standard_normal(t.size)
        inside = (t >= t0) & (t < t0 + d)
        x[inside] += amplitude * chirp(t[inside] - t0, f0=f0, t1=d, f1=f1, method="linear")
        specs.append(spectrogram_of_signal(x, FS_HZ))
        truths.append([Chirp(start_time_s=t0, duration_s=d, start_freq_hz=f0, end_freq_hz=f1, sweep="linear")])
    return specs, truths


def errors(model, specs, truths, envelope: str) -> dict:  # noqa: ANN001
    found = model.predict_spectrograms(specs, envelope=envelope)
    rows = []
    for truth, estimates in zip(truths, found):
        kept = [e for e in estimates if e.presence >= 0.5]
        for a, b in match(truth, kept):
            t, e = truth[a], kept[b]
            rows.append((e.start_time_s - t.start_time_s, e.start_time_s + e.duration_s - t.start_time_s - t.duration_s,
                         e.duration_s - t.duration_s, e.start_freq_hz - t.start_freq_hz, e.end_freq_hz - t.end_freq_hz))
    out: dict = {"true_chirps": sum(len(t) for t in truths), "found": len(rows)}
    err = np.array(rows).reshape(-1, 5)
    for k, name in enumerate(("start_time_s", "end_time_s", "duration_s", "start_freq_hz", "end_freq_hz")):
        out[f"{name}_mean_error"] = float(err[:, k].mean()) if len(err) else None
        out[f"{name}_mae"] = float(np.abs(err[:, k]).mean()) if len(err) else None
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=default_model_dir())
    parser.add_argument("--n", type=int, default=24, help="windows of each kind and amplitude")
    parser.add_argument("--fast", action="store_true", help="a smoke run: 3 windows of each")
    args = parser.parse_args()
    n = 3 if args.fast else args.n
    model = load_model(args.model)
    cases: dict[str, tuple[list[Spectrogram], list[list[Chirp]]]] = {}
    for k, amplitude in enumerate(AMPLITUDES):
        cases[f"abrupt, amplitude {amplitude}"] = abrupt_windows(n, amplitude, seed=41 + k)
    batch = SignalScene(min_chirps=1, max_chirps=1).generate(n, seed=40)
    cases["tapered (signal scene)"] = ([batch.spectrogram(i) for i in range(n)], [batch.chirps(i) for i in range(n)])
    result: dict = {"model": str(args.model), "windows_each": n, "cases": {}}
    with tqdm(total=len(cases) * len(ENVELOPES), desc="envelope", unit="run") as bar:
        for case, (specs, truths) in cases.items():
            result["cases"][case] = {}
            for envelope in ENVELOPES:
                result["cases"][case][envelope] = errors(model, specs, truths, envelope)
                bar.update()
            tqdm.write(f"{case}: {json.dumps(result['cases'][case])}")
    write_result(result, "envelope.json", args.fast, table(result))


def table(result: dict) -> str:
    lines = [
        "| sweeps | --envelope | found | start time, mean error (MAE) (s) | end time, mean error (MAE) (s) "
        "| start freq MAE (Hz) | end freq MAE (Hz) |",
        "|---|---|---|---|---|---|---|",
    ]
    for case, envelopes in result["cases"].items():
        for envelope, m in envelopes.items():
            if not m["found"]:
                lines.append(f"| {case} | {envelope} | 0/{m['true_chirps']} | | | | |")
                continue
            lines.append(
                f"| {case} | {envelope} | {m['found']}/{m['true_chirps']} "
                f"| {m['start_time_s_mean_error']:+.2f} ({m['start_time_s_mae']:.2f}) "
                f"| {m['end_time_s_mean_error']:+.2f} ({m['end_time_s_mae']:.2f}) "
                f"| {m['start_freq_hz_mae']:.2f} | {m['end_freq_hz_mae']:.2f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
