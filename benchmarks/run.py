"""Every benchmark figure the README quotes, from one command.

    python benchmarks/run.py [--fast] [--model PATH] [--out DIR] [--data-mode MODE] [--skip-training]
                             [--only SECTION ...]

Writes, in DIR (default benchmarks/results; with --fast benchmarks/results/smoke, so a
smoke run never overwrites measured results):

- accuracy.json: on held-out faithful data (the chirploc100k scene, seed 2024, n = 2000;
  100 with --fast) the chirploc model (the shipped one unless --model) as `predict` runs
  it (its network refined by the forward-model fit of `chirploc.refine` on ChirpLoc100K's
  grid and of `chirploc.refine_signal` on the signal grid), its network alone, and the
  ridge baseline, scored by `chirploc.evaluate`: Pearson r, MAE and RMSE per target
  (start time, start frequency, end frequency; the rest in the JSON), overall, by true
  duration (< 3 s, >= 3 s) and by noise level (lower and upper half). The same on the
  signal scene (seed 2024). The reference system's published start-time r = 0.9841 is
  quoted, not measured here.
- inference.json: on this CPU, batch 1 (ms per spectrogram, median of 50 runs after a
  warm-up) and batch 64 (spectrograms/s, median of 7 runs) for chirploc's network alone
  in eager fp32, eager bf16 autocast and ONNX Runtime, and for the default path (fp32,
  then each grid's fit, on both scenes), end to end (resampling, network, decoding); and for the reference
  architecture (timm vit_base_patch16_224, 224 px, 3 channels, random weights, its
  768-256-128-3 MLP head on the CLS token; the network alone) in eager fp32, in the same
  run; ratios against it and pass/fail for the goals (>= 500/s at batch 64, < 20 ms at
  batch 1, >= 30x the reference at batch 64).
- data.json: the data-engine benchmark, `benchmarks/bench_data.py` (run as a subprocess;
  --data-mode fast runs it with its own --fast sizes, full with its full sizes, reuse
  reads an existing data.json, skip leaves it out). Default: fast; reuse with --fast.
- training.json: the quick preset trained from scratch (`chirploc.train.train`), its
  validation curve from the run's metrics.csv, wall-clock minutes to the end of the run,
  and its Pearson r on 1000 fresh chirploc100k scenes against the goal r >= 0.99 for start
  time, start frequency and end frequency, by its network alone and refined by the fit. With --fast: 60 steps and 200 scenes, a smoke
  run whose figures are not results.
- run.json: the machine, the mode and how long each part took.
- README_table.md: the Markdown tables the README quotes (units in every header).

Every figure is measured in the same run as what it is compared with. A full run took 41
minutes on a 2-core CPU (the last one, before the signal fit ran in worker processes; the quick
preset's training is about 9 of them), --fast about 4 (measured 2026-12-04). `--only accuracy` (or inference, training; repeatable) runs those
sections alone, keeps the other sections' JSON files, and rewrites README_table.md from all of them.
Timings are only meaningful on an otherwise idle machine: the load average at the start
is recorded in the machine block.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

EVAL_SEED = 2024
SECTIONS = ("accuracy", "inference", "training")  # the sections with a JSON file of their own (data: bench_data.py's)
FRESH_SEED = 4242  # training evaluation: scenes neither the training streams nor EVAL_SEED use
TARGETS_SHOWN = {"start_time_s": ("start time", "s"), "start_freq_hz": ("start freq", "Hz"), "end_freq_hz": ("end freq", "Hz")}
SHORT_S = 3.0
GOALS = {"batch64_per_s": 500.0, "batch1_ms": 20.0, "speedup_vs_reference": 30.0, "training_r": 0.99}


def _in_repo(path: Path) -> str:
    """A path as the repository names it (relative to its root where it lies inside)."""
    try:
        return str(Path(path).resolve().relative_to(HERE.parent))
    except ValueError:
        return str(path)


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- machine


def machine_block() -> dict[str, Any]:
    import torch

    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import onnxruntime

        ort_version = onnxruntime.__version__
    except ImportError:
        ort_version = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "onnxruntime": ort_version,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


# --------------------------------------------------------------------------- accuracy


def _targets(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: {m: metrics[k][m] for m in ("pearson_r", "mae", "rmse", "n")} for k in TARGETS_SHOWN if k in metrics}


def score(method: str, batch, model) -> dict[str, Any]:
    """One estimator on one batch: evaluate()'s result plus the halves the README shows."""
    from chirploc.evaluate import evaluate, match_estimates, measure_estimation, noise_meaning
    from chirploc.metrics import stratified

    estimates, timing = measure_estimation(method, batch, None if method == "ridge" else model)
    result = evaluate(estimates, batch, timing)
    matches = match_estimates(estimates, batch)
    duration = matches.truth["duration_s"]
    noise = matches.noise_level
    meaning = noise_meaning(batch)
    finite = np.isfinite(noise)
    strata = {f"duration < {SHORT_S:g} s": duration < SHORT_S, f"duration >= {SHORT_S:g} s": duration >= SHORT_S}
    noise_split = None
    if finite.any():
        noise_split = float(np.median(noise[finite]))
        unit = f" {meaning['unit']}" if meaning.get("unit") else ""
        lower, upper = f"{meaning['name']} < {noise_split:.3g}{unit}", f"{meaning['name']} >= {noise_split:.3g}{unit}"
        if meaning.get("higher_is_noisier") is True:
            lower, upper = f"cleaner half ({lower})", f"noisier half ({upper})"
        elif meaning.get("higher_is_noisier") is False:
            lower, upper = f"noisier half ({lower})", f"cleaner half ({upper})"
        strata[lower] = finite & (noise < noise_split)
        strata[upper] = finite & (noise >= noise_split)
    halves = stratified(matches.truth, matches.estimate, strata)
    return {
        "estimator": timing["estimator"],
        "overall": _targets(result["targets"]),
        "halves": {label: _targets(m) for label, m in halves.items()},
        "noise_split": {"variable": meaning["name"], "unit": meaning["unit"], "median": noise_split,
                        "higher_is_noisier": meaning.get("higher_is_noisier")},
        "evaluation": result,  # everything chirploc.evaluate reports (all targets, quartile strata, ...)
    }


def run_accuracy(model, n: int) -> dict[str, Any]:
    """Each estimator on held-out scenes of both kinds: the model as `predict` runs it (its
    network refined by the forward-model fits), its network alone, and the ridge baseline."""
    from chirploc.evaluate import REFERENCE, load_eval_data

    out: dict[str, Any] = {"n": n, "seed": EVAL_SEED, "scenes": {}}
    for scene in ("chirploc100k", "signal"):
        batch = load_eval_data(scene, n=n, seed=EVAL_SEED)
        out["scenes"][scene] = {}
        for method in ("model", "network", "ridge"):
            log(f"accuracy: {method} on {n} {scene} scenes")
            out["scenes"][scene][method] = score(method, batch, model)
    out["reference"] = {
        **REFERENCE,
        "measured_here": False,
        "note": "quoted from the publication (start time only, on ChirpLoc100K itself), not measured in this run",
    }
    return out


# --------------------------------------------------------------------------- inference


def timed(fn: Callable[[], Any], runs: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return seconds


def reference_network():
    """The reference architecture: ViT-B/16 at 224 px, 3 channels, random weights, with the
    768-256-128-3 MLP head on the CLS token."""
    import timm
    import torch
    from torch import nn

    class Reference(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = timm.create_model("vit_base_patch16_224", pretrained=False, num_classes=0)  # CLS pooling
            self.head = nn.Sequential(
                nn.Linear(768, 256), nn.ReLU(), nn.Dropout(0.1), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 3)
            )

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            return self.head(self.backbone(images))

    torch.manual_seed(0)
    return Reference().eval()


def run_inference(model, fast: bool, work: Path) -> dict[str, Any]:
    import torch

    from chirploc.evaluate import load_eval_data
    from chirploc.predict import NETWORK_ONLY

    # --fast: one pass of each batch of 64; the fits make a signal batch take a minute or more
    b1_runs, b1_warm = (3, 1) if fast else (50, 5)
    b64_runs, b64_warm = (1, 0) if fast else (7, 1)
    ref_b1_runs, ref_b1_warm = (3, 1) if fast else (50, 3)
    ref_batch, ref_runs, ref_warm = (8, 2, 1) if fast else (64, 7, 1)

    batch = load_eval_data("chirploc100k", n=64, seed=EVAL_SEED)
    specs = [batch.spectrogram(i) for i in range(64)]
    signal = load_eval_data("signal", n=64, seed=EVAL_SEED)
    signal_specs = [signal.spectrogram(i) for i in range(64)]
    # (engine, precision, predict_spectrograms options, spectrograms): the default path adds each grid's fit
    engines: dict[str, tuple[Any, str, dict[str, Any], list]] = {
        "chirploc eager fp32, network alone": (model, "fp32", NETWORK_ONLY, specs),
        "chirploc eager bf16 autocast, network alone": (model, "bf16", NETWORK_ONLY, specs),
        "chirploc eager fp32, chirploc100k scene, refined by the forward-model fit (the default)": (model, "fp32", {}, specs),
        "chirploc eager fp32, signal scene, refined by the signal fit (the default: one worker process a core)": (
            model, "fp32", {}, signal_specs),
        "chirploc eager fp32, signal scene, refined by the signal fit in one process (--workers 1)": (
            model, "fp32", {"workers": 1}, signal_specs),
    }
    onnx_note = None
    try:
        from chirploc.export import export_onnx, load_onnx_model

        log("inference: exporting to ONNX")
        path = export_onnx(model, work / "chirploc.onnx")
        engines["chirploc ONNX Runtime fp32, network alone"] = (load_onnx_model(path), "fp32", NETWORK_ONLY, specs)
    except ImportError as err:
        onnx_note = f"ONNX Runtime not timed: {err}"
        log(onnx_note)

    rows: dict[str, Any] = {}
    for name, (engine, precision, options, inputs) in engines.items():
        log(f"inference: {name}")
        network_only = options is NETWORK_ONLY
        one = timed(lambda: engine.predict_spectrograms(inputs[:1], 1, precision, **options), b1_runs, b1_warm)
        many = timed(lambda: engine.predict_spectrograms(inputs, 64, precision, **options), b64_runs, b64_warm)
        rows[name] = {
            "what": "end to end: resampling to the network's grid, network, decoding to seconds and hertz"
            + (" (the network's answers as they are)" if network_only else ", then the forward-model fit of each chirp"),
            "network_only": network_only,
            "input": f"{inputs[0].values.shape[0]} x {inputs[0].values.shape[1]} spectrograms, "
            + ("signal" if inputs is signal_specs else "chirploc100k") + " scene",
            "batch1_ms": 1000 * statistics.median(one), "batch1_runs_s": one,
            "batch64_per_s": 64 / statistics.median(many), "batch64_runs_s": many,
        }

    engine = None
    engines.clear()  # no ONNX Runtime session (and its thread pool) left beside the reference's timing
    log(f"inference: reference architecture (batch 1 and {ref_batch})")
    ref = reference_network()
    with torch.inference_mode():
        x1 = torch.rand(1, 3, 224, 224)
        xb = torch.rand(ref_batch, 3, 224, 224)
        one = timed(lambda: ref(x1), ref_b1_runs, ref_b1_warm)
        many = timed(lambda: ref(xb), ref_runs, ref_warm)
    del ref
    reference = {
        "what": "network only (timm vit_base_patch16_224, 224 x 224 x 3, random weights, 768-256-128-3 head on CLS), eager fp32",
        "batch1_ms": 1000 * statistics.median(one), "batch1_runs_s": one,
        "batch_size": ref_batch, "batch_per_s": ref_batch / statistics.median(many), "batch_runs_s": many,
    }
    for row in rows.values():
        row["speedup_batch64_vs_reference"] = row["batch64_per_s"] / reference["batch_per_s"]
        row["speedup_batch1_vs_reference"] = reference["batch1_ms"] / row["batch1_ms"]
        row["goals"] = {
            f"batch 64 >= {GOALS['batch64_per_s']:g} spectrograms/s": row["batch64_per_s"] >= GOALS["batch64_per_s"],
            f"batch 1 < {GOALS['batch1_ms']:g} ms": row["batch1_ms"] < GOALS["batch1_ms"],
            f">= {GOALS['speedup_vs_reference']:g}x the reference at batch 64": (
                row["speedup_batch64_vs_reference"] >= GOALS["speedup_vs_reference"]
            ),
        }
    out = {
        "runs": {"batch1": b1_runs, "batch64": b64_runs, "reference_batch1": ref_b1_runs, "reference_batch": ref_runs},
        "torch_threads": torch.get_num_threads(),
        "onnxruntime_threads": 2,
        "engines": rows,
        "reference": reference,
        "note": "medians of repeated runs after warm-up; the reference's figure excludes any input preparation",
    }
    if ref_batch != 64:
        out["reference_note"] = f"--fast: the reference is timed at batch {ref_batch}, not 64 (its ratio is a smoke figure)"
    if onnx_note:
        out["onnx_note"] = onnx_note
    return out


# --------------------------------------------------------------------------- data engine


def run_data(mode: str, out_dir: Path, fast: bool) -> dict[str, Any]:
    target = out_dir / "data.json"
    if mode == "skip":
        return {"status": "skipped", "note": "run benchmarks/bench_data.py for the data-engine figures"}
    if mode == "reuse":
        for path in (target, RESULTS / "data.json"):
            if path.is_file():
                stamp = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc).isoformat(timespec="seconds")
                return {"status": "reused", "file": _in_repo(path), "written": stamp,
                        "note": "not measured in this run: read from an earlier run of benchmarks/bench_data.py",
                        "report": json.loads(path.read_text())}
        return {"status": "skipped", "note": "no earlier data.json to reuse: run benchmarks/bench_data.py"}
    command = [sys.executable, str(HERE / "bench_data.py"), "--out", str(target)] + (["--fast"] if mode == "fast" else [])
    log(f"data: {' '.join(command[1:])}")
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, cwd=HERE.parent)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"status": "failed", "command": command[1:], "error": tail[0]}
    return {"status": "measured", "sizes": mode, "command": command[1:], "file": _in_repo(target),
            "report": json.loads(target.read_text())}


# --------------------------------------------------------------------------- training


def validation_curve(csv_path: Path) -> list[dict[str, Any]]:
    if not csv_path.is_file():
        return []
    rows = []
    with csv_path.open() as f:
        for row in csv.DictReader(f):
            if row.get("val_loss"):
                rows.append({"step": int(row["step"]), **{k: float(v) for k, v in row.items() if k.startswith("val_") and v}})
    return rows


def run_training(fast: bool) -> dict[str, Any]:
    from chirploc.evaluate import evaluate, load_eval_data, measure_estimation
    from chirploc.predict import load_model
    from chirploc.presets import get_preset
    from chirploc.train import train

    overrides = dict(max_steps=60, val_every_steps=30, val_size=128, checkpoint_every_steps=30) if fast else {}
    cfg = get_preset("quick", **overrides)
    n_eval = 200 if fast else 1000
    with tempfile.TemporaryDirectory(prefix="chirploc-bench-train-") as tmp:
        run_dir = Path(tmp) / "run"
        log(f"training: quick preset{' (60 steps, smoke)' if fast else ''}")
        start = time.perf_counter()
        model_dir = train(cfg, run_dir, progress=False, command="benchmarks/run.py")
        minutes = (time.perf_counter() - start) / 60
        meta = json.loads((model_dir / "config.json").read_text())
        curve = validation_curve(run_dir / "logs" / "metrics.csv")
        log(f"training: evaluating on {n_eval} fresh chirploc100k scenes")
        batch = load_eval_data("chirploc100k", n=n_eval, seed=FRESH_SEED)
        trained = load_model(model_dir)
        results = {}
        for method in ("network", "model"):
            estimates, timing = measure_estimation(method, batch, trained)
            results[method] = evaluate(estimates, batch, timing)

    def reached_by(method: str) -> dict[str, bool]:
        r = {k: results[method]["targets"][k]["pearson_r"] for k in TARGETS_SHOWN}
        return {k: bool(v is not None and np.isfinite(v) and v >= GOALS["training_r"]) for k, v in r.items()}

    reached = reached_by("network")
    return {
        "smoke": fast,
        "label": "SMOKE RUN (60 steps): not a result" if fast else "quick preset, trained from scratch in this run",
        "preset": "quick",
        "overrides": overrides,
        "steps": meta.get("steps"),
        "minutes_to_end": minutes,
        "stopped_by": "max_steps" if meta.get("steps", 0) >= cfg.max_steps else "max_minutes or early stopping",
        "max_minutes": cfg.max_minutes,
        "validation_curve": curve,
        "eval": {"scene": "chirploc100k", "n": n_eval, "seed": FRESH_SEED,
                 "targets": _targets(results["network"]["targets"]),
                 "refined_targets": _targets(results["model"]["targets"])},
        "goal": f"Pearson r >= {GOALS['training_r']:g} on start time, start freq and end freq, by the network alone",
        "reached": reached,
        "passed": all(reached.values()),
        "refined_passed": all(reached_by("model").values()),
        "note": "the validation curve holds mean absolute errors (s, Hz) on the run's own validation scenes; "
        "r is measured once, on fresh scenes, at the end of the run",
    }


# --------------------------------------------------------------------------- table


def _num(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def _ok(flag: bool) -> str:
    return "pass" if flag else "fail"


ACC_HEADER = (
    "| estimator | subset | chirps (count) | "
    + " | ".join(f"{name} r (unitless) | {name} MAE ({u}) | {name} RMSE ({u})" for name, u in TARGETS_SHOWN.values())
    + " |"
)


def _acc_row(estimator: str, subset: str, targets: dict[str, Any]) -> str:
    cells, n = [], None
    for key, (_, unit) in TARGETS_SHOWN.items():
        m = targets.get(key)
        if not m:
            cells += ["n/a"] * 3
            continue
        n = m["n"]
        digits = 3 if unit == "s" else 2
        cells += [_num(m["pearson_r"], 4), _num(m["mae"], digits), _num(m["rmse"], digits)]
    return f"| {estimator} | {subset} | {n if n is not None else 'n/a'} | " + " | ".join(cells) + " |"


def accuracy_tables(acc: dict[str, Any], model_label: str) -> list[str]:
    lines = []
    names = {"model": model_label, "network": f"{model_label}: network alone", "ridge": "ridge baseline"}
    for scene, methods in acc["scenes"].items():
        lines += [f"### Accuracy: {scene} scene (seed {acc['seed']}, {acc['n']} scenes)", "", ACC_HEADER,
                  "|" + " --- |" * (3 + 3 * len(TARGETS_SHOWN))]
        for method, res in methods.items():
            lines.append(_acc_row(names[method], "all", res["overall"]))
            for label, targets in res["halves"].items():
                lines.append(_acc_row(names[method], label, targets))
        if scene == "chirploc100k":
            ref = acc["reference"]
            cells = [_num(ref["start_time_s_pearson_r"], 4)] + ["n/a"] * (3 * len(TARGETS_SHOWN) - 1)
            lines.append("| reference (published, quoted, not measured) | ChirpLoc100K | n/a | " + " | ".join(cells) + " |")
        sweep = ", ".join(f"{names[m]} {100 * res['evaluation']['sweep']['accuracy']:.1f} %" for m, res in methods.items())
        lines += ["", f"Sweep law, share of matched chirps given the right one: {sweep}.", ""]
    return lines


def inference_table(inf: dict[str, Any]) -> list[str]:
    ref = inf["reference"]
    lines = [
        "### Inference on this CPU",
        "",
        "| engine | batch 1 latency (ms/spectrogram) | batch 64 throughput (spectrograms/s) | "
        "speed-up at batch 64 (x reference) | speed-up at batch 1 (x reference) | "
        f">= {GOALS['batch64_per_s']:g}/s at batch 64 (pass/fail) | < {GOALS['batch1_ms']:g} ms at batch 1 (pass/fail) | "
        f">= {GOALS['speedup_vs_reference']:g}x reference (pass/fail) |",
        "|" + " --- |" * 8,
    ]
    for name, row in inf["engines"].items():
        goals = list(row["goals"].values())
        lines.append(
            f"| {name} | {_num(row['batch1_ms'], 2)} | {row['batch64_per_s']:,.{0 if row['batch64_per_s'] >= 100 else 1}f} | "
            f"{row['speedup_batch64_vs_reference']:,.1f} | {row['speedup_batch1_vs_reference']:,.1f} | "
            + " | ".join(_ok(g) for g in goals) + " |"
        )
    batch_note = "" if ref["batch_size"] == 64 else f" (timed at batch {ref['batch_size']})"
    lines.append(
        f"| reference ViT-B/16 224 px, eager fp32 | {_num(ref['batch1_ms'], 2)} | {ref['batch_per_s']:,.1f}{batch_note} | "
        "1.0 | 1.0 | n/a | n/a | n/a |"
    )
    lines += ["", "chirploc: end to end (resampling, network, decoding); reference: the network alone. "
              f"Medians of {inf['runs']['batch1']} (batch 1) and {inf['runs']['batch64']} (batch 64) runs after warm-up.", ""]
    if "onnx_note" in inf:
        lines += [inf["onnx_note"], ""]
    return lines


DATA_LABELS = {
    "memory_1_thread": "ChirpLoc100K scenes in memory, 1 thread",
    "memory_2_threads": "ChirpLoc100K scenes in memory, 2 threads",
    "public_memory": "public generator, arrays only (no PNG)",
    "png_1_workers": "ChirpLoc100K PNG layout written, 1 worker",
    "png_2_workers": "ChirpLoc100K PNG layout written, 2 workers",
    "public_png": "public generator, PNG layout written",
}


def data_table(data: dict[str, Any]) -> list[str]:
    lines = ["### Data generation", ""]
    if "report" not in data:
        return lines + [f"{data['status']}: {data.get('note') or data.get('error', '')}", ""]
    results = data["report"].get("results", {})
    lines += ["| measure | value | unit |", "| --- | --- | --- |"]
    for key, item in results.items():
        label = DATA_LABELS.get(key, key.replace("_", " "))
        if "per_s" in item:
            lines.append(f"| {label} | {item['per_s']:,.1f} | scenes/s |")
        elif key.startswith("ratio_"):
            lines.append(f"| {label} | {item['value']:,.1f} | x (chirploc / public) |")
        elif "value" in item:
            lines.append(f"| {label} | {item['value']:,.0f} | {'bytes' if 'bytes' in key else ''} |")
        elif "seconds" in item and "count" in item:
            lines.append(f"| {label}: {item['count']:,} scenes | {item['seconds']:,.1f} | s |")
            if "bytes" in item:
                lines.append(f"| {label}: size on disk | {item['bytes'] / 1e9:,.2f} | GB |")
    sizes = "its --fast sizes" if data["report"].get("fast") else "its full sizes"
    where = "measured in this run" if data["status"] == "measured" else f"read from {data['file']}, not measured in this run"
    lines += ["", f"From benchmarks/bench_data.py at {sizes}, {where}; medians of repeated runs.", ""]
    return lines


def training_table(tr: dict[str, Any]) -> list[str]:
    head = "### Training (SMOKE RUN: not a result)" if tr["smoke"] else "### Training: quick preset from scratch"
    lines = [
        head,
        "",
        "| preset | estimates | steps (count) | time to end of run (min) | start time r (unitless) | start freq r (unitless) | "
        f"end freq r (unitless) | r >= {GOALS['training_r']:g} on all three (pass/fail) | evaluated on (fresh scenes) |",
        "|" + " --- |" * 9,
    ]
    for what, key, passed in (("network alone", "targets", "passed"), ("refined by the forward-model fit", "refined_targets", "refined_passed")):
        rs = tr["eval"].get(key)
        if rs is None:
            continue
        lines.append(
            f"| {tr['preset']}{' (60 steps)' if tr['smoke'] else ''} | {what} | {tr['steps']} | {_num(tr['minutes_to_end'], 1)} | "
            + " | ".join(_num(rs.get(k, {}).get("pearson_r"), 4) for k in TARGETS_SHOWN)
            + f" | {_ok(tr[passed])} | {tr['eval']['n']} |"
        )
    return lines + [""]


def write_table(path: Path, report: dict[str, Any], model_label: str) -> str:
    m = report["machine"]
    lines = [
        "<!-- written by benchmarks/run.py; do not edit by hand -->",
        "## Performance",
        "",
        ("**SMOKE RUN (--fast): small sizes, not results.** " if report["fast"] else "")
        + f"Machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}, {m['date'][:10]}.",
        "",
    ]
    sections = report["sections"]
    if "accuracy" in sections:
        lines += accuracy_tables(sections["accuracy"], model_label)
    if "inference" in sections:
        lines += inference_table(sections["inference"])
    if "data" in sections:
        lines += data_table(sections["data"])
    if "training" in sections:
        lines += training_table(sections["training"])
    text = "\n".join(lines).rstrip() + "\n"
    path.write_text(text)
    return text


# --------------------------------------------------------------------------- main


def _json_ready(value: Any) -> Any:
    from chirploc.evaluate import to_json_ready

    return to_json_ready(value)


def label_of_model(model: str | None) -> str:
    return "chirploc model" + (f" ({model})" if model else " (shipped)")


def rewrite_tables(out_dir: Path, model: str | None) -> int:
    """README_table.md again from the section files a full run wrote in `out_dir`."""
    files = {}
    for name in SECTIONS:
        path = out_dir / f"{name}.json"
        if not path.is_file():
            print(f"run.py: error: {path} is missing: run benchmarks/run.py first", file=sys.stderr)
            return 2
        files[name] = json.loads(path.read_text())
    sections = {name: payload[name] for name, payload in files.items()}
    sections["data"] = run_data("reuse", out_dir, fast=False)
    report = {"machine": files["accuracy"]["machine"], "fast": files["accuracy"]["fast"], "sections": sections}
    print(write_table(out_dir / "README_table.md", _json_ready(report), label_of_model(model)))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="smoke sizes (about 4 minutes here): figures are not results")
    parser.add_argument("--model", default=None, help="model folder to benchmark (default: the shipped model)")
    parser.add_argument("--out", type=Path, default=None, help="results folder (default: benchmarks/results, smoke/ under it with --fast)")
    parser.add_argument("--data-mode", choices=("fast", "full", "reuse", "skip"), default=None,
                        help="how to get the data-engine figures (default: fast; reuse with --fast)")
    parser.add_argument("--skip-training", action="store_true", help="leave out the training benchmark")
    parser.add_argument("--only", action="append", choices=SECTIONS, default=None,
                        help="run this section alone (repeatable); the others' JSON files stay and the tables are rewritten from all")
    parser.add_argument("--tables-only", action="store_true",
                        help="measure nothing: rewrite README_table.md from the JSON files in the results folder")
    args = parser.parse_args(argv)

    from chirploc.model import ModelError
    from chirploc.predict import load_model

    out_dir = args.out or (RESULTS / "smoke" if args.fast else RESULTS)
    if args.tables_only:
        return rewrite_tables(out_dir, args.model)
    try:
        model = load_model(args.model)
    except ModelError as err:
        print(f"run.py: error: {err}", file=sys.stderr)
        return 2
    out_dir.mkdir(parents=True, exist_ok=True)
    machine = machine_block()
    report: dict[str, Any] = {"machine": machine, "fast": args.fast, "model": str(model.source), "sections": {}, "seconds": {}}
    started = time.perf_counter()

    def section(name: str, fn: Callable[[], dict[str, Any]]) -> None:
        t0 = time.perf_counter()
        result = fn()
        report["seconds"][name] = time.perf_counter() - t0
        report["sections"][name] = result
        if name != "data":  # bench_data.py writes its own data.json
            payload = {"machine": machine, "fast": args.fast, "model": str(model.source), name: result}
            (out_dir / f"{name}.json").write_text(json.dumps(_json_ready(payload), indent=2) + "\n")
        log(f"{name}: done in {report['seconds'][name]:.0f} s")

    with tempfile.TemporaryDirectory(prefix="chirploc-bench-") as tmp:
        runners: dict[str, Callable[[], dict[str, Any]]] = {
            "accuracy": lambda: run_accuracy(model, 100 if args.fast else 2000),
            "inference": lambda: run_inference(model, args.fast, Path(tmp)),  # tmp: the ONNX export
            "training": lambda: run_training(args.fast),
        }
        if args.only:
            for name in SECTIONS:
                if name in args.only:
                    section(name, runners[name])
            return rewrite_tables(out_dir, args.model)
        section("accuracy", runners["accuracy"])
        section("inference", runners["inference"])
    section("data", lambda: run_data(args.data_mode or ("reuse" if args.fast else "fast"), out_dir, args.fast))
    if not args.skip_training:
        section("training", runners["training"])
    report["seconds"]["total"] = time.perf_counter() - started

    summary = {k: v for k, v in report.items() if k != "sections"}
    summary["data"] = {k: v for k, v in report["sections"]["data"].items() if k != "report"}
    summary["files"] = sorted(p.name for p in out_dir.glob("*.json")) + ["README_table.md"]
    (out_dir / "run.json").write_text(json.dumps(_json_ready(summary), indent=2) + "\n")
    text = write_table(out_dir / "README_table.md", _json_ready(report), label_of_model(args.model))
    print(text)
    print(f"results in {out_dir} ({report['seconds']['total'] / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
