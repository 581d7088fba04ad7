"""How far the ChirpLoc100K fit's statistic tells a chirp from none: the calibration of `fitted_presence`.

    python benchmarks/bench_presence_c100k.py [--model PATH] [--n 1000] [--seed 11] [--fast]

ChirpLoc100K scenes with no chirp and with one (`n` of each, seed `seed`; the benchmarks score seed
2024), each fitted as `chirploc.refine.refine_chirploc100k` fits the network's likeliest answer (the
shipped model unless --model): the best ridge's detection statistic z, beside the network's presence.
Reported: z's quantiles and maximum in each kind; how many scenes of each kind reach
`CLEAR_Z` and end below `FAINT_Z`; how often the network's presence (>= 0.5) and the presence after
`fitted_presence` say "chirp" in each kind. Writes benchmarks/results/presence_c100k.json (with every
statistic) and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from chirploc.describe import PRESENCE_THRESHOLD
from chirploc.evaluate import load_eval_data
from chirploc.predict import NETWORK_ONLY, load_model
from chirploc.refine import CLEAR_Z, FAINT_Z, fit_estimate, fitted_presence

RESULTS = Path(__file__).parent / "results"
KINDS = {"chirp-free": "min_chirps=0,max_chirps=0", "one chirp": "min_chirps=1,max_chirps=1"}


def kind_statistics(model, params: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(z of the fit from the network's likeliest answer, that answer's presence) for each scene."""
    batch = load_eval_data(f"chirploc100k:{params}", n=n, seed=seed)
    found = model.predict_spectrograms([batch.spectrogram(i) for i in range(n)], **NETWORK_ONLY)
    z, presence = np.empty(n), np.empty(n)
    for i in tqdm(range(n), desc=f"fitting ({params})", unit="scene"):
        est = max(found[i], key=lambda e: e.presence)
        z[i] = fit_estimate(batch.values[i], est).z
        presence[i] = est.presence
    return z, presence


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    parser.add_argument("--n", type=int, default=1000, help="scenes of each kind (default 1000)")
    parser.add_argument("--seed", type=int, default=11, help="seed of the scenes (default 11)")
    parser.add_argument("--fast", action="store_true", help="50 scenes a kind, written under results/smoke/")
    args = parser.parse_args()
    n = 50 if args.fast else args.n
    model = load_model(args.model)

    started = time.perf_counter()
    result: dict = {
        "what": "detection statistic z of the ChirpLoc100K fit from the network's likeliest answer, in scenes "
                "with no chirp and with one; 'said chirp': presence >= 0.5, by the network and after fitted_presence",
        "n_per_kind": n, "seed": args.seed, "model": args.model or "shipped",
        "clear_z": CLEAR_Z, "faint_z": FAINT_Z, "kinds": {},
    }
    for kind, params in KINDS.items():
        z, presence = kind_statistics(model, params, n, args.seed)
        fitted = np.array([fitted_presence(p, v) for p, v in zip(presence, z)])
        result["kinds"][kind] = {
            "z_quantiles": {q: float(np.quantile(z, float(q))) for q in ("0.01", "0.5", "0.9", "0.99")},
            "z_max": float(z.max()),
            "at_or_above_clear_z": int((z >= CLEAR_Z).sum()),
            "below_faint_z": int((z < FAINT_Z).sum()),
            "said_chirp_by_network": int((presence >= PRESENCE_THRESHOLD).sum()),
            "said_chirp_after_fit": int((fitted >= PRESENCE_THRESHOLD).sum()),
            "z": [round(float(v), 3) for v in z],
            "presence": [round(float(v), 4) for v in presence],
        }
    result["seconds"] = time.perf_counter() - started

    out = RESULTS / ("smoke" if args.fast else ".") / "presence_c100k.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    for kind, r in result["kinds"].items():
        print(f"{kind}: z median {r['z_quantiles']['0.5']:.1f}, 99 % {r['z_quantiles']['0.99']:.1f}, "
              f"max {r['z_max']:.1f}; from {CLEAR_Z:g}: {r['at_or_above_clear_z']}, below {FAINT_Z:g}: "
              f"{r['below_faint_z']} of {n}; said chirp: network {r['said_chirp_by_network']}, "
              f"after the fit {r['said_chirp_after_fit']}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
