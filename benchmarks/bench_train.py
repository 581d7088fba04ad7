"""Training throughput of each preset on this machine, fp32 against bf16 autocast.

    python benchmarks/bench_train.py [--fast]

Times whole optimiser steps (forward, loss, backward, AdamW) of each preset's
network on streamed scenes of its mix, medians over repeated steps after
warm-up, in one run. The `paper` preset's ViT-B/16 at 224 px runs with random
weights (the timing does not depend on them), a smaller batch and fewer timed
steps (3: where bf16 is emulated, a step of it takes minutes), stated in the
output, as is whether this CPU runs bf16 natively. Writes
benchmarks/results/train.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from contextlib import nullcontext
from pathlib import Path

import torch

from chirploc.presets import get_preset
from chirploc.train import ChirpLocModule, MixedSceneStream, chirp_loss, cpu_runs_bf16

RESULTS = Path(__file__).parent / "results"


def images_per_second(preset: str, precision: str, batch_size: int, steps: int) -> float:
    cfg = get_preset(preset, batch_size=batch_size)
    cfg.pretrained = None  # timing needs no hub weights
    module = ChirpLocModule(cfg.to_dict())
    optimiser = torch.optim.AdamW([p for p in module.parameters() if p.requires_grad], lr=1e-4)
    batches = iter(MixedSceneStream(cfg.scenes, 0, batch_size, cfg.model))
    batch = next(batches)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else nullcontext()
    times = []
    for step in range(steps + 2):
        start = time.perf_counter()
        with autocast:
            outputs = module(batch["images"])
        loss = chirp_loss(outputs, batch)["loss"]
        loss.backward()
        optimiser.step()
        optimiser.zero_grad(set_to_none=True)
        if step >= 2:
            times.append(time.perf_counter() - start)
    return batch_size / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="3 steps each, small batches (a smoke run)")
    args = parser.parse_args()
    plan = {"quick": (64, 7), "default": (64, 7), "paper": (8, 3)}  # (batch size, steps timed)
    rows = {}
    for preset, (batch, steps) in plan.items():
        batch, steps = (min(batch, 8), 3) if args.fast else (batch, steps)
        rows[preset] = {
            "batch_size": batch,
            "steps_timed": steps,
            "fp32_images_per_s": images_per_second(preset, "fp32", batch, steps),
            "bf16_images_per_s": images_per_second(preset, "bf16", batch, steps),
        }
        rows[preset]["bf16_speedup"] = rows[preset]["bf16_images_per_s"] / rows[preset]["fp32_images_per_s"]
        print(preset, rows[preset], flush=True)
    result = {"fast": args.fast, "cpu_runs_bf16_natively": cpu_runs_bf16(), "torch": torch.__version__, "threads": torch.get_num_threads(), "presets": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "train.json").write_text(json.dumps(result, indent=2) + "\n")
    print("| preset | batch | fp32 (images/s) | bf16 (images/s) | bf16 / fp32 |\n|---|---|---|---|---|")
    for preset, r in rows.items():
        print(f"| {preset} | {r['batch_size']} | {r['fp32_images_per_s']:.3g} | {r['bf16_images_per_s']:.3g} | {r['bf16_speedup']:.3g} |")


if __name__ == "__main__":
    main()
