"""How far the signal fit's refined estimates lie from the truth, by the fit's strength.

    python benchmarks/bench_fit_std.py [--model PATH] [--n 2000] [--seed 7] [--taper 0.2 --envelope auto] [--fast]
    python benchmarks/bench_fit_std.py --tables-from benchmarks/results/fit_std_seed7.json

The calibration behind `chirploc.refine_signal.FIT_STD_BY_LR`, the uncertainty (a std per
quantity) a refined estimate states. Signal-scene windows with one chirp each are read by the
network (the shipped model unless --model), their sweep laws taken from their ridges as `predict`
takes them, and refitted as `refine_signal` refits them
(`fit_all`, `chosen_fit`, `path_median`); for each fit that moves a window's likeliest answer, its
likelihood-ratio statistic over "no chirp" (2 * gain) and its errors against the truth.
Per band of the statistic: the RMS error of each quantity (what a band states as its std),
the median absolute error, and the share of errors within one and two of the stds the answers
state (`stated_std`: `FIT_STD_BY_LR`'s, widened by the other envelope's fit under auto). The bands are
`FIT_STD_BY_LR`'s own and a finer grid.

The end time is read as start time plus duration, so its error is the sum of theirs.
`--tables-from FILE` recomputes the tables from the fits a run wrote, fitting nothing, and
writes them back to FILE (for a change to FIT_STD_BY_LR or to the quantities tabled).

Calibrate on one seed (the default, 7) and check on another: `--seed 2024` is the
benchmark's held-out set (`benchmarks/run.py`). `--taper` sets the scene's Tukey taper (0: sweeps that
start and stop abruptly) and `--envelope` the envelope the fits assume (`chirploc.refine_signal.ENVELOPES`,
`predict --envelope`), to check the stated stds where sweeps are not the scene's own.
Writes benchmarks/results/fit_std_seed<SEED>.json (fit_std_seed<SEED>_taper<T>_<ENVELOPE>.json for
another taper or envelope; results/smoke/ with --fast) and prints the tables.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from chirploc.evaluate import load_eval_data
from chirploc.parallel import fit_pool
from chirploc.predict import load_model
from chirploc.refine_signal import (
    DT_S, ENVELOPES, FIT_STD_BY_LR, MIN_LR, PLACE_MIN_LR, SEARCH_STARTS, TAPER, chosen_fit, fit_all, fit_std, path_median,
    stated_std,
)

RESULTS = Path(__file__).parent / "results"
FITTED = ("start_time_s", "duration_s", "start_freq_hz", "end_freq_hz")
QUANTITIES = (*FITTED, "end_time_s")
WHAT = (
    "errors of the signal fit's refinements (accepted or placing) of the likeliest network answer, by the fit's "
    "likelihood-ratio statistic over 'no chirp'; the end time's is the sum of the start time's and the duration's; "
    "'within_*_stated_std': share of errors within the std the refined answer states (stated_std; in files written "
    "before fits recorded it, the std FIT_STD_BY_LR states now)"
)
FINE_EDGES = (PLACE_MIN_LR, MIN_LR, 200.0, 300.0, 400.0, 600.0, 800.0, 1200.0, 1600.0, 2400.0, 3200.0, 6400.0)


def band_table(lr: np.ndarray, errors: np.ndarray, stated: np.ndarray, edges: tuple[float, ...]) -> list[dict]:
    """Per band [edges[j], edges[j + 1]) (the last one open): count, RMS and median absolute
    error per quantity, and the share within 1 and 2 stated stds."""
    rows = []
    for j, lo in enumerate(edges):
        hi = edges[j + 1] if j + 1 < len(edges) else np.inf
        inside = (lr >= lo) & (lr < hi)
        if not inside.any():
            continue
        err, std = errors[inside], stated[inside]
        rows.append({
            "lr_from": float(lo), "lr_below": float(hi), "count": int(inside.sum()),
            "rms": {q: float(np.sqrt(np.mean(err[:, c] ** 2))) for c, q in enumerate(QUANTITIES)},
            "median_abs": {q: float(np.median(np.abs(err[:, c]))) for c, q in enumerate(QUANTITIES)},
            "within_1_stated_std": {q: float(np.mean(np.abs(err[:, c]) <= std[:, c])) for c, q in enumerate(QUANTITIES)},
            "within_2_stated_std": {q: float(np.mean(np.abs(err[:, c]) <= 2 * std[:, c])) for c, q in enumerate(QUANTITIES)},
        })
    return rows


def json_text(result: dict, fits: list[list[float]]) -> str:
    """`result` indented, with `fits` (one row of `fit_columns` per accepted fit) a row a line."""
    rows = ",\n    ".join(json.dumps(row) for row in fits)
    return json.dumps(result, indent=2)[:-2] + f',\n  "fits": [\n    {rows}\n  ]\n}}\n'


def print_table(title: str, rows: list[dict]) -> None:
    print(f"\n{title}")
    print("LR band      count | RMS error: t0 (s)  dur (s)  f0 (Hz)  f1 (Hz)  t1 (s) | within 1 stated std: t0  dur  f0  f1  t1")
    for r in rows:
        band = f"{r['lr_from']:.0f}-{r['lr_below']:.0f}"
        rms = "  ".join(f"{r['rms'][q]:6.2f}" for q in QUANTITIES)
        cover = "  ".join(f"{r['within_1_stated_std'][q]:.2f}" for q in QUANTITIES)
        print(f"{band:>12} {r['count']:5d} | {rms} | {cover}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    parser.add_argument("--n", type=int, default=2000, help="windows (default 2000)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the windows (default 7; 2024 is the benchmark's held-out set)")
    parser.add_argument("--taper", type=float, default=TAPER, help="the scene's Tukey taper fraction (default %(default)s; 0: abrupt)")
    parser.add_argument("--envelope", choices=tuple(ENVELOPES), default="auto", help="the envelope the fits assume (default auto)")
    parser.add_argument("--fast", action="store_true", help="40 windows, written under results/smoke/")
    parser.add_argument("--tables-from", type=Path, default=None, help="a results file: recompute its tables from its fits")
    args = parser.parse_args()
    if args.tables_from is not None:
        saved = json.loads(args.tables_from.read_text())
        fits = saved.pop("fits")
        write_tables(saved, fits, args.tables_from)
        return
    n = 40 if args.fast else args.n

    scene = "signal" if args.taper == TAPER else f"signal:taper={args.taper:g}"
    batch = load_eval_data(scene, n=n, seed=args.seed)
    found = load_model(args.model).predict_spectrograms([batch.spectrogram(i) for i in range(n)], refine=False)
    offset = float(batch.times_s[0]) - DT_S / 2  # as refine_signal places the local time axis
    # each window's likeliest answer (refine_signal refines it whatever its presence)
    keys = [(i, max(range(len(f)), key=lambda k: f[k].presence)) for i, f in enumerate(found) if f]
    started = time.perf_counter()
    local, searched = {}, {}
    with fit_pool(None, jobs=len(keys) * (1 + SEARCH_STARTS)) as pool, tqdm(total=len(keys), desc="windows fitted", unit="window") as bar:
        for lo in range(0, len(keys), 64):
            part = fit_all(pool, batch.values, found, keys[lo : lo + 64], offset, args.envelope)
            local.update(part[0])
            searched.update(part[1])
            bar.update(len(keys[lo : lo + 64]))
    seconds = time.perf_counter() - started

    lab = batch.labels
    fits = []
    for i, k in keys:
        fit, _ = chosen_fit(local[i, k], searched.get((i, k)), found[i][k], offset)
        if fit is None:
            continue
        fit = path_median(batch.values[i], fit)
        got = (fit.start_time_s + offset, fit.duration_s, fit.start_freq_hz, fit.end_freq_hz)
        fits.append([round(2 * fit.gain, 2), *(round(g - float(getattr(lab, q)[i, 0]), 4) for g, q in zip(got, FITTED)),
                     *(round(v, 4) for v in stated_std(fit).values())])
    meta = {
        "model": str(args.model or "shipped"), "seed": args.seed, "windows": n, "scene_taper": args.taper, "envelope": args.envelope,
        "accepted": len(fits), "kept_network_answer": len(keys) - len(fits), "fit_seconds": seconds,
    }
    print(f"{len(fits)} of {len(keys)} windows refined ({meta['kept_network_answer']} kept the network's answer), "
          f"{seconds:.0f} s of fitting")
    out_dir = RESULTS / "smoke" if args.fast else RESULTS
    out_dir.mkdir(parents=True, exist_ok=True)
    own = args.taper == TAPER and args.envelope == "auto"
    name = f"fit_std_seed{args.seed}.json" if own else f"fit_std_seed{args.seed}_taper{args.taper:g}_{args.envelope}.json"
    write_tables(meta, fits, out_dir / name)


def write_tables(meta: dict, fits: list[list[float]], path: Path) -> None:
    """The band tables of `fits` (rows: statistic, the errors of FITTED, then the stds stated for QUANTITIES;
    rows written before the stds were recorded: those of `fit_std` for the statistic) beside `meta`,
    printed and written to `path`."""
    end = 1 + len(FITTED)
    rows = np.array(fits, dtype=np.float64).reshape(-1, len(fits[0]) if fits else end)
    lr_a = rows[:, 0]
    err_a = np.column_stack([rows[:, 1:end], rows[:, 1] + rows[:, 2]])  # the end time's error: start's plus duration's
    if rows.shape[1] == end + len(QUANTITIES):
        std_a = rows[:, end:]
    else:
        std_a = np.array([[fit_std(v)[q] for q in QUANTITIES] for v in lr_a]).reshape(-1, len(QUANTITIES))
    now_edges = tuple(max(lo, PLACE_MIN_LR) for lo, _ in FIT_STD_BY_LR)
    result = {
        "what": WHAT,
        **{k: v for k, v in meta.items() if k not in ("what", "fit_std_by_lr_now", "bands_now", "bands_fine", "all", "fit_columns")},
        "fit_std_by_lr_now": [[lo, band] for lo, band in FIT_STD_BY_LR],
        "bands_now": band_table(lr_a, err_a, std_a, now_edges),
        "bands_fine": band_table(lr_a, err_a, std_a, FINE_EDGES),
        "all": band_table(lr_a, err_a, std_a, (PLACE_MIN_LR,)),
        "fit_columns": ["lr", *(f"error_{q}" for q in FITTED), *(f"stated_std_{q}" for q in QUANTITIES)][: rows.shape[1]],
    }
    path.write_text(json_text(result, fits))
    print_table("bands of FIT_STD_BY_LR", result["bands_now"])
    print_table("finer bands", result["bands_fine"])
    print_table("all accepted fits", result["all"])
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
