"""How clear a chirp the signal fit's whole-window search finds in pure noise.

    python benchmarks/bench_search_noise.py [--model PATH] [--n 550] [--seed 101] [--fast]

The calibration behind `chirploc.refine_signal.SEARCH_MIN_LR`: signal-scene windows with no
chirp (1/f^alpha noise, line noise in 30 %), each searched as `refine_signal` searches a window
where the network's answer holds no clear chirp (`search`: fits from the `SEARCH_STARTS` strongest
straight ridges); the best fit's likelihood-ratio statistic over "no chirp" (2 * gain) is what noise
alone reaches. Beside it, the same for the fit started from the network's likeliest answer (the
shipped model unless --model), which `refine_signal` accepts from `MIN_LR`.
Writes benchmarks/results/search_noise.json (quantiles, maximum, counts at or above the
thresholds, every statistic) and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from chirploc.parallel import fit_pool
from chirploc.predict import NETWORK_ONLY, load_model
from chirploc.refine_signal import DT_S, MIN_LR, SEARCH_MIN_LR, SEARCH_STARTS, fit_estimate, search
from chirploc.synth import get_scene
from chirploc.types import ChirpEstimate

RESULTS = Path(__file__).parent / "results"


def summary(lr: np.ndarray, threshold: float) -> dict:
    return {
        "quantiles": {q: float(np.quantile(lr, float(q))) for q in ("0.5", "0.9", "0.99")},
        "max": float(lr.max()),
        "threshold": threshold,
        "at_or_above_threshold": int((lr >= threshold).sum()),
        "statistics": [float(v) for v in lr],
    }


def window_statistics(values_db: np.ndarray, estimate: ChirpEstimate, offset_s: float) -> tuple[float, float]:
    """(the search's best likelihood-ratio statistic, the one of the fit from the estimate) in one window."""
    searched = max(2 * fit.gain for fit in search(values_db, SEARCH_STARTS))
    return searched, 2 * fit_estimate(values_db, estimate, offset_s).gain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    parser.add_argument("--n", type=int, default=550, help="noise windows (default 550)")
    parser.add_argument("--seed", type=int, default=101, help="seed of the windows (default 101)")
    parser.add_argument("--fast", action="store_true", help="20 windows, written under results/smoke/")
    args = parser.parse_args()
    n = 20 if args.fast else args.n

    batch = get_scene("signal", min_chirps=0, max_chirps=0).generate(n, seed=args.seed)
    found = load_model(args.model).predict_spectrograms([batch.spectrogram(i) for i in range(n)], **NETWORK_ONLY)
    offset = float(batch.times_s[0]) - DT_S / 2  # as refine_signal places the local time axis
    started = time.perf_counter()
    with fit_pool(None, jobs=n) as pool:
        jobs = [pool.submit(window_statistics, values, max(estimates, key=lambda e: e.presence), offset)
                for values, estimates in zip(batch.values, found)]
        searched, estimated = zip(*(job.result() for job in tqdm(jobs, desc="noise windows fitted", unit="window")))
    seconds = time.perf_counter() - started
    result = {
        "what": "likelihood-ratio statistic (2 * gain over 'no chirp') of the best fit in signal-scene windows "
                "holding no chirp: found by refine_signal's whole-window search, and started from the network's answer",
        "n": n, "seed": args.seed, "model": str(args.model or "shipped"), "search_starts": SEARCH_STARTS,
        "search": summary(np.array(searched), SEARCH_MIN_LR),
        "from_network_answer": summary(np.array(estimated), MIN_LR),
        "seconds_per_window": seconds / n, "note": "wall-clock seconds, fits in one worker process a core",
    }
    out = RESULTS / ("smoke" if args.fast else ".") / "search_noise.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    for name in ("search", "from_network_answer"):
        r, q = result[name], result[name]["quantiles"]
        print(f"{name}: {n} noise windows (seed {args.seed}): LR median {q['0.5']:.0f}, 90 % {q['0.9']:.0f}, "
              f"99 % {q['0.99']:.0f}, max {r['max']:.0f}; at or above {r['threshold']:g}: {r['at_or_above_threshold']}")
    print(f"{result['seconds_per_window']:.2f} s a window")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
