"""How close the signal fit can come to the truth when it starts there: the ceiling of its accuracy.

    python benchmarks/bench_fit_oracle.py [--n 2000] [--seed 2024] [--fast]

For each signal-scene window (one chirp each; seed 2024 is the accuracy benchmark's held-out set,
`benchmarks/run.py`), the forward-model fit (`fit_chirp`) is started from the true chirp (its own
law, a narrow spread) and its ends are moved as `refine_signal` moves them (`path_median`). No
network and no search: what error is left is the likelihood's own, where the data favour another
chirp than the one that made them: what a better network or search alone cannot improve on (the
likelihood's maximum from the right start). Per quantity: Pearson r, MAE and RMSE (the accuracy table's metrics); how many
nats more likely the fit is than the truth itself; and the windows whose end frequency lands more
than 5 Hz from the truth.

Writes benchmarks/results/fit_oracle.json (results/smoke/ with --fast) and prints the table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from chirploc.evaluate import load_eval_data
from chirploc.metrics import regression_metrics
from chirploc.parallel import fit_pool
from chirploc.refine_signal import DT_S, fit_chirp, path_median

RESULTS = Path(__file__).parent / "results"
QUANTITIES = ("start_time_s", "duration_s", "start_freq_hz", "end_freq_hz")
TRUTH_SPREAD = (0.1, 0.1, 0.5, 0.5)  # std of start time, duration, start and end frequency: the truth is known
FAR_HZ = 5.0


def label_table(labels, quantities: tuple[str, ...], n: int) -> np.ndarray:
    """[n, len(quantities)] float64: each scene's first chirp's labels, in the order of `quantities`."""
    return np.array([[float(getattr(labels, q)[i, 0]) for q in quantities] for i in range(n)])


def fit_from_truth(values_db: np.ndarray, truth: tuple[float, ...], law: int) -> tuple[list[float], float, float]:
    """(the fit's start time, duration, start and end frequency in local time, its gain over "no chirp",
    the truth's own gain), both in nats."""
    fit = path_median(values_db, fit_chirp(values_db, truth, law, TRUTH_SPREAD))
    return [fit.start_time_s, fit.duration_s, fit.start_freq_hz, fit.end_freq_hz], fit.gain, fit.start_gain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="windows (default 2000)")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the windows (default 2024, the benchmark's held-out set)")
    parser.add_argument("--fast", action="store_true", help="40 windows, written under results/smoke/")
    args = parser.parse_args()
    n = 40 if args.fast else args.n

    batch = load_eval_data("signal", n=n, seed=args.seed)
    offset = float(batch.times_s[0]) - DT_S / 2  # as refine_signal places the local time axis
    lab = batch.labels
    truth = label_table(lab, QUANTITIES, n)
    started = time.perf_counter()
    with fit_pool(None, jobs=n) as pool:
        jobs = [pool.submit(fit_from_truth, batch.values[i], (truth[i, 0] - offset, *truth[i, 1:]), int(lab.sweep[i, 0]))
                for i in range(n)]
        results = [job.result() for job in tqdm(jobs, desc="windows fitted", unit="window")]
    seconds = time.perf_counter() - started
    fitted = np.array([r[0] for r in results])
    fitted[:, 0] += offset
    gain_over_truth = np.array([r[1] - r[2] for r in results])
    far = np.abs(fitted[:, 3] - truth[:, 3]) > FAR_HZ

    result = {
        "what": "the signal fit started from the true chirp (its law, a narrow spread), ends moved by path_median: "
        "errors against the truth; gain_over_truth: how many nats more likely the fit is than the truth",
        "seed": args.seed, "windows": n, "fit_seconds": seconds,
        "metrics": {q: regression_metrics(truth[:, c], fitted[:, c]) for c, q in enumerate(QUANTITIES)},
        "gain_over_truth_nats": {p: float(np.percentile(gain_over_truth, p)) for p in (5, 50, 95)},
        f"end_freq_off_by_more_than_{FAR_HZ:g}_hz": {
            "count": int(far.sum()),
            "gain_over_truth_nats_median": float(np.median(gain_over_truth[far])) if far.any() else None,
            "metrics_without_them": {q: regression_metrics(truth[~far, c], fitted[~far, c]) for c, q in enumerate(QUANTITIES)},
        },
    }
    out_dir = RESULTS / "smoke" if args.fast else RESULTS
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "fit_oracle.json"
    path.write_text(json.dumps(result, indent=2) + "\n")

    print(f"{n} windows (seed {args.seed}), {seconds:.0f} s of fitting")
    print("quantity        r       MAE     RMSE")
    for q, m in result["metrics"].items():
        print(f"{q:14s} {m['pearson_r']:.4f} {m['mae']:8.3f} {m['rmse']:8.3f}")
    print(f"the fit is more likely than the truth by (5 / 50 / 95 %): "
          + " / ".join(f"{v:.1f}" for v in result["gain_over_truth_nats"].values()) + " nats")
    print(f"end frequency more than {FAR_HZ:g} Hz off: {far.sum()} windows; r without them: "
          + " / ".join(f"{m['pearson_r']:.4f}" for m in result[f"end_freq_off_by_more_than_{FAR_HZ:g}_hz"]["metrics_without_them"].values()))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
