"""LoRA against full fine-tuning on a shifted domain, and what each costs.

    python benchmarks/bench_finetune.py [--model PATH] [--steps 600] [--fast]

The base (the shipped model unless --model is given) was trained on 32 s windows
(signal scene) and the 60 s ChirpLoc100K plane. The shifted domain has other axes
and noise: 16 s windows (0.125 s frames), chirps of 1 to 6 s between 2 and 60 Hz,
at 8 to 18 dB SNR. Both adaptations run the same schedule (the quick preset's,
`--steps` steps) on streamed scenes of the new domain; all three models are then
scored on the same 1,000 fresh held-out scenes. Writes
benchmarks/results/finetune.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from chirploc.evaluate import estimate_batch, evaluate, to_json_ready
from chirploc.model import count_parameters, default_model_dir
from chirploc.predict import load_model
from chirploc.presets import SceneMix, get_preset
from chirploc.synth import get_scene, parse_scene_spec
from chirploc.train import ChirpLocModule, finetune

SHIFTED = "signal:window_s=16,hop=32,duration_s=1/6,freq_hz=2/60,snr_db=8/18"
TARGETS = ("start_time_s", "start_freq_hz", "end_freq_hz")
RESULTS = Path(__file__).parent / "results"


def score(model_path: Path, batch) -> dict:
    estimates = estimate_batch("model", batch, load_model(model_path))
    targets = evaluate(estimates, batch)["targets"]
    return {t: {k: targets[t][k] for k in ("pearson_r", "mae", "rmse")} for t in TARGETS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=default_model_dir())
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--fast", action="store_true", help="a smoke run: 30 steps, 200 test scenes")
    args = parser.parse_args()
    steps, n_test = (30, 200) if args.fast else (args.steps, args.n_test)
    name, params = parse_scene_spec(SHIFTED)
    test = get_scene(name, **params).generate(n_test, seed=4242)
    cfg = get_preset("quick", max_steps=steps, val_every_steps=max(steps // 3, 10), val_size=512)
    cfg.max_minutes = None  # the same number of steps for both, however long each takes
    cfg.scenes = [SceneMix(name, 1, params)]
    result: dict = {"domain": SHIFTED, "steps": steps, "n_test": n_test, "base": str(args.model), "fast": args.fast}
    result["zero_shot"] = {"scores": score(args.model, test)}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, full in (("lora", False), ("full", True)):
            start = time.perf_counter()
            written = finetune(args.model, cfg, Path(tmp) / kind, full=full, progress=False)
            minutes = (time.perf_counter() - start) / 60
            module = ChirpLocModule(json.loads((written.parent / "model" / "config.json").read_text())["train_config"])
            trainable, total = count_parameters(module.net)
            size = sum(p.stat().st_size for p in written.iterdir() if p.suffix == ".safetensors")
            result[kind] = {
                "scores": score(written, test),
                "trainable_parameters": trainable,
                "total_parameters": total,
                "trainable_share": trainable / total,
                "written_mb": size / 2**20,
                "minutes": minutes,
            }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "finetune.json").write_text(json.dumps(to_json_ready(result), indent=2) + "\n")
    print(table(result))


def table(result: dict) -> str:
    head = "| model | " + " | ".join(f"{t} r / MAE" for t in TARGETS) + " | trainable parameters | file written (MB) | minutes |"
    rows = [head, "|" + "---|" * (len(TARGETS) + 4)]
    for kind, label in (("zero_shot", "base, no adaptation"), ("lora", "LoRA adapter"), ("full", "full fine-tuning")):
        r = result[kind]
        cells = [f"{r['scores'][t]['pearson_r']:.4f} / {r['scores'][t]['mae']:.2f}" for t in TARGETS]
        extra = (
            [f"{r['trainable_parameters']:,} ({100 * r['trainable_share']:.1f} %)", f"{r['written_mb']:.2f}", f"{r['minutes']:.1f}"]
            if kind != "zero_shot" else ["0", "-", "-"]
        )
        rows.append(f"| {label} | " + " | ".join(cells + extra) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
