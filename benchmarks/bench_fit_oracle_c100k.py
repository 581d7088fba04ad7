"""How close the ChirpLoc100K fit can come to the truth: its answers if its search also started there.

    python benchmarks/bench_fit_oracle_c100k.py [--n 2000] [--seed 2024] [--fast]

For each ChirpLoc100K scene (one chirp each; seed 2024 is the accuracy benchmark's held-out set,
`benchmarks/run.py`): the fit `predict` makes (`chirploc.refine.fit_estimate`, from the shipped
network's answer), and a climb from the true chirp's own integers (`fit_scene`). The better scoring of
the two is what a perfect search would find: the likelihood's maximum. Both are answered as `predict`
answers (`hedged_centres`: drawn towards the generator's mean where the ridge is weak). Where the
climb from the truth scores below the fit, and the fit is not the chirp (its start more than 3 s or
15 Hz away), a peak of the noise outscores the chirp: there no search can find the chirp by its
likelihood. Per quantity: Pearson r and MAE of (a) the fit as `predict` makes it, (b) the better of
it and the climb from the truth, and (c) (b) hedged with hindsight where its ridge is weak
(`located_probability` below 1: as likely noise as not, so hedged): per quantity, the point between the
ridge's label centres and the generator's mean labels that lies closest to the truth; those scenes;
and how much of (b)'s squared error lies in the weak ones. No hedge of the weak ridges towards the
generator's mean (`hedged_centres`, whatever its `located_probability` below z 40) has smaller squared
errors than (c).

Writes benchmarks/results/fit_oracle_c100k.json (fit_oracle_c100k_seed<S>.json for another seed than
2024; results/smoke/ with --fast) and prints the table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from bench_fit_oracle import label_table
from chirploc.evaluate import load_eval_data
from chirploc.metrics import regression_metrics
from chirploc.predict import NETWORK_ONLY, load_model
from chirploc.refine import (
    fit_estimate, fit_scene, hedged_centres, integers_of, label_centres, label_prior, located_probability,
)

RESULTS = Path(__file__).parent / "results"
QUANTITIES = ("start_time_s", "start_freq_hz", "end_freq_hz")
LOCATED_S, LOCATED_HZ = 3.0, 15.0  # a fit this close to the chirp's start found the chirp


def hindsight_hedge(centres: list[float], means: list[float], truth: np.ndarray) -> np.ndarray:
    """Per quantity, the point of the segment from `means` to `centres` closest to `truth`."""
    c, m = np.asarray(centres, float), np.asarray(means, float)
    span = c - m
    share = np.clip(np.divide((truth - m) * span, span**2, out=np.ones_like(span), where=span != 0), 0.0, 1.0)
    return m + share * span


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="scenes (default 2000)")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the scenes (default 2024, the benchmark's held-out set)")
    parser.add_argument("--fast", action="store_true", help="40 scenes, written under results/smoke/")
    args = parser.parse_args()
    n = 40 if args.fast else args.n

    batch = load_eval_data("chirploc100k", n=n, seed=args.seed)
    lab = batch.labels
    truth = label_table(lab, QUANTITIES, n)
    started = time.perf_counter()
    found = load_model().predict_spectrograms([batch.spectrogram(i) for i in range(n)], **NETWORK_ONLY)
    answers = {name: np.zeros((n, len(QUANTITIES))) for name in ("fit", "best", "best_hindsight_hedge")}
    prior_means = [label_prior()[q][0] for q in QUANTITIES]
    outscored, weak = [], np.zeros(n, bool)
    for i in tqdm(range(n), desc="scenes fitted", unit="scene"):
        fit = fit_estimate(batch.values[i], max(found[i], key=lambda e: e.presence))
        true_integers = integers_of(**{q: float(getattr(lab, q)[i, 0]) for q in ("start_time_s", "duration_s", "start_freq_hz", "end_freq_hz", "sweep")})
        from_truth = fit_scene(batch.values[i], true_integers)
        best = fit if fit.gain >= from_truth.gain else from_truth
        weak[i] = located_probability(best.z) < 1.0
        centres = {name: hedged_centres(chosen)[0] for name, chosen in (("fit", fit), ("best", best))}
        for name, at in centres.items():
            answers[name][i] = [at[q] for q in QUANTITIES]
        answers["best_hindsight_hedge"][i] = (hindsight_hedge([label_centres(best)[q] for q in QUANTITIES], prior_means, truth[i])
                                              if weak[i] else answers["best"][i])
        at = centres["fit"]
        if fit.gain > from_truth.gain and (abs(at["start_time_s"] - truth[i, 0]) > LOCATED_S or abs(at["start_freq_hz"] - truth[i, 1]) > LOCATED_HZ):
            outscored.append(dict(scene=i, fit_z=fit.z, truth_climb_z=from_truth.z, duration_s=float(lab.duration_s[i, 0])))
    seconds = time.perf_counter() - started
    squared = (answers["best"] - truth) ** 2
    result = {
        "what": "ChirpLoc100K: the fit from the network's answer ('fit', as predict answers) and the better scoring of it and a "
        "climb from the true chirp's integers ('best': the likelihood's maximum), both hedged as predict hedges; "
        "best_hindsight_hedge: 'best', where its ridge is weak (located_probability < 1) the point between its label centres "
        "and the generator's mean labels closest to the truth, per quantity (no hedge of those towards the mean has smaller squared errors); "
        "noise_outscores_chirp: scenes where the fit scores above the climb from the truth and is not the chirp",
        "seed": args.seed, "scenes": n, "seconds": seconds,
        "metrics": {name: {q: regression_metrics(truth[:, c], a[:, c]) for c, q in enumerate(QUANTITIES)} for name, a in answers.items()},
        "noise_outscores_chirp": outscored,
        "weak_best_ridge": {
            "scenes": int(weak.sum()),
            "share_of_squared_error_of_best": {q: float(squared[weak, c].sum() / max(squared[:, c].sum(), 1e-300))
                                               for c, q in enumerate(QUANTITIES)},
            "metrics_of_best_without_them": {q: regression_metrics(truth[~weak, c], answers["best"][~weak, c])
                                             for c, q in enumerate(QUANTITIES)},
        },
    }
    out_dir = RESULTS / "smoke" if args.fast else RESULTS
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / ("fit_oracle_c100k.json" if args.seed == 2024 else f"fit_oracle_c100k_seed{args.seed}.json")
    path.write_text(json.dumps(result, indent=2) + "\n")

    print(f"{n} scenes (seed {args.seed}), {seconds:.0f} s")
    print("answer                          " + "  ".join(f"{q + ' r / MAE':>26s}" for q in QUANTITIES))
    for name, label in (("fit", "fit from the network (predict)"), ("best", "better of it and truth's climb"),
                        ("best_hindsight_hedge", "that, weak hedged in hindsight")):
        print(f"{label:32s}" + "  ".join(f"{m['pearson_r']:17.4f} / {m['mae']:6.3f}" for m in result["metrics"][name].values()))
    print(f"the noise outscores the chirp in {len(outscored)} scenes: " + ", ".join(str(o["scene"]) for o in outscored))
    w = result["weak_best_ridge"]
    print(f"{w['scenes']} scenes' best ridge is weak; they hold "
          + " / ".join(f"{100 * v:.0f} %" for v in w["share_of_squared_error_of_best"].values())
          + " of its squared errors; r without them: "
          + " / ".join(f"{m['pearson_r']:.5f}" for m in w["metrics_of_best_without_them"].values()))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
