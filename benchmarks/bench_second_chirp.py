"""A window's second chirp: what the search past the network's one chirp slot finds, and costs.

    python benchmarks/bench_second_chirp.py [--model PATH] [--n 120] [--fast]

What the search at `chirploc.refine_signal.SECOND_MIN_LR` finds (the threshold was chosen ad hoc on
the same windows: see that module's docstring). Signal-scene windows (32 s, the
scene's chirps and noise) holding two chirps (seed 31) and one chirp (seed 32), each predicted as
`chirploc predict` predicts a window of a recording, twice in one run: with the search for a second
chirp (`second_chirp`, the default) and without it. Estimates with presence >= 0.5 are paired
with true chirps as `bench_recordings.match` pairs them (`chirploc.inputs.same_chirp`, nearest
start first); an estimate no true chirp pairs with is false. Reported per kind of window and
way: windows with every chirp found, true chirps found, false estimates, windows given more
than one estimate, and seconds per window (median; the two ways run one after the other, so
compare them on an otherwise idle machine).
Writes benchmarks/results/second_chirp.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from bench_recordings import match, write_result

from chirploc import refine_signal
from chirploc.model import default_model_dir
from chirploc.predict import load_model
from chirploc.synth.signal import SignalScene

KINDS = {"two chirps": (SignalScene(min_chirps=2, max_chirps=2), 31), "one chirp": (SignalScene(), 32)}


def no_second_chirp(values_db, fits, min_lr=0.0, envelope="auto") -> None:  # noqa: ANN001
    return None


def score(model, specs, truths, search: bool) -> dict:  # noqa: ANN001
    original = refine_signal.second_chirp
    if not search:
        refine_signal.second_chirp = no_second_chirp  # type: ignore[assignment]
    try:
        seconds, found = [], []
        for spec in specs:
            start = time.perf_counter()
            found += model.predict_spectrograms([spec])
            seconds.append(time.perf_counter() - start)
    finally:
        refine_signal.second_chirp = original
    n_true = n_hit = n_false = complete = extra = 0
    for truth, estimates in zip(truths, found):
        kept = [e for e in estimates if e.presence >= 0.5]
        hits = len(match(truth, kept))
        n_true, n_hit, n_false = n_true + len(truth), n_hit + hits, n_false + len(kept) - hits
        complete += hits == len(truth)
        extra += len(estimates) > 1
    return {
        "windows": len(specs),
        "windows_with_every_chirp_found": complete,
        "true_chirps": n_true,
        "found": n_hit,
        "false_estimates": n_false,
        "windows_with_a_further_estimate": extra,
        "seconds_per_window_median": statistics.median(seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=default_model_dir())
    parser.add_argument("--n", type=int, default=120, help="windows of each kind")
    parser.add_argument("--fast", action="store_true", help="a smoke run: 8 windows of each kind")
    args = parser.parse_args()
    n = 8 if args.fast else args.n
    model = load_model(args.model)
    result: dict = {"model": str(args.model), "second_min_lr": refine_signal.SECOND_MIN_LR, "kinds": {}}
    for kind, (scene, seed) in KINDS.items():
        batch = scene.generate(n, seed=seed)
        specs = [batch.spectrogram(i) for i in range(n)]
        truths = [batch.chirps(i) for i in range(n)]
        result["kinds"][kind] = {"seed": seed, **{
            way: score(model, specs, truths, search) for way, search in (("with the second search", True), ("without", False))
        }}
        print(kind, json.dumps(result["kinds"][kind]), flush=True)
    write_result(result, "second_chirp.json", args.fast, table(result))


def table(result: dict) -> str:
    lines = [
        "| windows | search for a second chirp | windows with every chirp found | chirps found | false estimates | s per window (median) |",
        "|---|---|---|---|---|---|",
    ]
    for kind, ways in result["kinds"].items():
        for way, m in ways.items():
            if way == "seed":
                continue
            lines.append(
                f"| {kind} | {'yes' if way == 'with the second search' else 'no'} | {m['windows_with_every_chirp_found']}/{m['windows']} "
                f"| {m['found']}/{m['true_chirps']} | {m['false_estimates']} | {m['seconds_per_window_median']:.2f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
