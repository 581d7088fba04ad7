"""Where the shipped model's end-frequency error on the signal scene comes from: the search, or the data.

    python benchmarks/bench_signal_misses.py [--n 2000] [--seed 2024] [--fast]

`predict` (the network refined by the forward-model fit, as shipped) answers each signal-scene
window (one chirp each; seed 2024 is the accuracy benchmark's held-out set). Every window whose
end frequency lands more than --far-hz from the truth is then fitted twice more, as
`bench_fit_oracle.py` fits: from the true chirp and from the answer itself (its law, a narrow
spread), so that both stop at the likelihood's nearest maximum. Where the fit from the truth is
more likely than the fit from the answer (by more than --margin-nats), a better search would have
found it: a search miss, and the end-frequency error it would have saved is counted. Otherwise the
data favour the answer (or favour neither): no search can do better on that window with this
likelihood. The fit from the truth can only flatter a search (where the likelihood is flat it stays
near the truth), so the saving is an upper bound; and it counts only where that fit reaches the
statistic from which `predict` uses a fit at all (`PLACE_MIN_LR`): below it, finding the chirp would
not change the answer.

Writes benchmarks/results/signal_misses.json (results/smoke/ with --fast) and prints the table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from bench_fit_oracle import QUANTITIES, fit_from_truth, label_table
from chirploc.evaluate import load_eval_data
from chirploc.parallel import fit_pool
from chirploc.predict import load_model
from chirploc.refine_signal import DT_S, PLACE_MIN_LR
from chirploc.types import SWEEP_TYPES

RESULTS = Path(__file__).parent / "results"


def summary(windows: list[dict], total_abs_error_hz: float, n: int) -> dict[str, float | int]:
    """The end-frequency MAE now, with every search miss found, and with every usable one found
    (the fit from the truth reaches `PLACE_MIN_LR`, below which predict keeps the network's answer)."""
    misses = [w for w in windows if w["search_miss"]]
    usable = [w for w in misses if 2 * w["gain_from_truth_nats"] >= PLACE_MIN_LR]

    def saved(ws: list[dict]) -> float:
        return sum(max(w["end_freq_error_hz"] - w["end_freq_error_from_truth_hz"], 0.0) for w in ws)

    return {
        "end_freq_mae_hz": total_abs_error_hz / n,
        "examined": len(windows),
        "examined_share_of_abs_error": sum(w["end_freq_error_hz"] for w in windows) / total_abs_error_hz,
        "search_misses": len(misses),
        "search_misses_share_of_abs_error": sum(w["end_freq_error_hz"] for w in misses) / total_abs_error_hz,
        "end_freq_mae_with_every_miss_found_hz": (total_abs_error_hz - saved(misses)) / n,
        "usable_misses": len(usable),
        "end_freq_mae_with_every_usable_miss_found_hz": (total_abs_error_hz - saved(usable)) / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="windows (default 2000, as the accuracy table)")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the windows (default 2024, the benchmark's held-out set)")
    parser.add_argument("--far-hz", type=float, default=2.0, help="end-frequency error (Hz) from which a window is examined (default 2)")
    parser.add_argument("--margin-nats", type=float, default=2.0,
                        help="how much more likely the fit from the truth must be to count a search miss (default 2 nats)")
    parser.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    parser.add_argument("--fast", action="store_true", help="40 windows, written under results/smoke/")
    args = parser.parse_args()
    n = 40 if args.fast else args.n

    batch = load_eval_data("signal", n=n, seed=args.seed)
    lab = batch.labels
    truth = label_table(lab, QUANTITIES, n)
    model = load_model(args.model)
    started = time.perf_counter()
    answers = []
    for lo in tqdm(range(0, n, 64), desc="windows predicted (x64)", unit="batch"):
        answers += [found[0] for found in model.predict_spectrograms([batch.spectrogram(i) for i in range(lo, min(lo + 64, n))])]
    predict_seconds = time.perf_counter() - started
    answer = np.array([[a.start_time_s, a.duration_s, a.start_freq_hz, a.end_freq_hz] for a in answers])
    end_error = np.abs(answer[:, 3] - truth[:, 3])
    examined = np.flatnonzero(end_error > args.far_hz)

    offset = float(batch.times_s[0]) - DT_S / 2  # the fit's local time axis, as refine_signal places it
    with fit_pool(None, jobs=2 * examined.size) as pool:
        jobs = [(pool.submit(fit_from_truth, batch.values[i], (truth[i, 0] - offset, *truth[i, 1:]), int(lab.sweep[i, 0])),
                 pool.submit(fit_from_truth, batch.values[i], (answer[i, 0] - offset, *answer[i, 1:]),
                             SWEEP_TYPES.index(answers[i].sweep)))
                for i in examined]
        fits = [(a.result(), b.result()) for a, b in tqdm(jobs, desc="windows fitted again", unit="window")]

    windows = []
    for i, ((from_truth, truth_gain, _), (_, answer_gain, _)) in zip(examined, fits):
        miss = truth_gain > answer_gain + args.margin_nats
        windows.append({
            "window": int(i), "law": SWEEP_TYPES[int(lab.sweep[i, 0])], "duration_s": round(float(truth[i, 1]), 2),
            "end_freq_error_hz": round(float(end_error[i]), 2),
            "end_freq_error_from_truth_hz": round(abs(from_truth[3] - truth[i, 3]), 2),
            "gain_from_truth_nats": round(truth_gain, 1), "gain_from_answer_nats": round(answer_gain, 1),
            "search_miss": bool(miss),
        })
    result = {
        "what": "predict's end-frequency errors on the signal scene; windows off by more than far_hz fitted again from "
        "the truth and from the answer: a search miss where the truth's fit is more likely by margin_nats; usable where "
        "that fit also reaches the statistic from which predict uses a fit (PLACE_MIN_LR)",
        "seed": args.seed, "windows": n, "far_hz": args.far_hz, "margin_nats": args.margin_nats,
        "predict_seconds": round(predict_seconds, 1),
        **summary(windows, float(end_error.sum()), n),
        "windows_examined": windows,
    }
    out_dir = RESULTS / "smoke" if args.fast else RESULTS
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "signal_misses.json"
    path.write_text(json.dumps(result, indent=2) + "\n")

    print(f"{n} windows (seed {args.seed}): end-frequency MAE {result['end_freq_mae_hz']:.3f} Hz")
    print(f"{len(windows)} off by more than {args.far_hz:g} Hz, {100 * result['examined_share_of_abs_error']:.0f} % of the absolute error")
    print(f"{result['search_misses']} search misses ({100 * result['search_misses_share_of_abs_error']:.0f} % of it); with every "
          f"one found (an upper bound), MAE {result['end_freq_mae_with_every_miss_found_hz']:.3f} Hz; {result['usable_misses']} of "
          f"them reach the statistic from which predict uses a fit: with those found, MAE "
          f"{result['end_freq_mae_with_every_usable_miss_found_hz']:.3f} Hz")
    print(f"in the other {len(windows) - result['search_misses']}, the answer is as likely as the fit from the truth or more")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
