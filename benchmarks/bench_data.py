"""Data-engine benchmark: chirploc's generator against the public one, in the same run.

    python benchmarks/bench_data.py [--fast] [--out benchmarks/results/data.json]

Writes a JSON file of medians (format: {"machine": ..., "results": {name: {...}}})
and prints a Markdown table. The public generator (`pip install -e '.[bench]'`)
is timed only if it is installed; otherwise its rows say so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def median_rate(fn, count: int, repeats: int) -> dict:
    """Run fn() `repeats` times; each makes `count` items. Median items per second."""
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return {"per_s": count / statistics.median(seconds), "seconds": seconds, "count": count}


def folder_size_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def public_generator():
    try:
        from chirp_spectrogram_generator import SpectrogramGenerator
    except ImportError:
        return None
    return SpectrogramGenerator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="a small smoke version (about a minute)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/data.json"))
    args = parser.parse_args()

    from chirploc.generate import generate_dataset
    from chirploc.synth import ChirpLoc100KScene

    scene = ChirpLoc100KScene()
    n_mem = 2048 if args.fast else 8192
    repeats = 3 if args.fast else 5
    n_png = 128 if args.fast else 512
    n_public = 10 if args.fast else 40
    n_shards = 10_000 if args.fast else 100_000
    results: dict[str, dict] = {}
    scene.generate(256, seed=0)  # warm-up

    results["memory_1_thread"] = median_rate(lambda: scene.generate(n_mem, seed=1), n_mem, repeats)
    results["memory_2_threads"] = median_rate(lambda: scene.generate(n_mem, seed=1, threads=2), n_mem, repeats)

    Generator = public_generator()
    work = Path(tempfile.mkdtemp(prefix="chirploc-bench-"))
    try:
        if Generator is not None:
            gen = Generator(output_dir=str(work / "public_mem"))
            results["public_memory"] = median_rate(
                lambda: [gen.create_spectrogram_with_chirp(20.0, 30.0, 50.0, 8.0, "linear") for _ in range(n_public)],
                n_public, repeats,
            )

            def public_png() -> None:
                shutil.rmtree(work / "public_png", ignore_errors=True)
                Generator(output_dir=str(work / "public_png")).generate_dataset(n_public)

            results["public_png"] = median_rate(public_png, n_public, repeats)
        for workers in (1, 2):
            def ours_png(workers: int = workers) -> None:
                shutil.rmtree(work / "ours_png", ignore_errors=True)
                generate_dataset(scene, n_png, work / "ours_png", fmt="chirploc100k", seed=3, workers=workers, progress=False)

            results[f"png_{workers}_workers"] = median_rate(ours_png, n_png, repeats)
        png_bytes = folder_size_bytes(work / "ours_png")
        results["png_bytes_per_image"] = {"value": png_bytes / n_png}

        start = time.perf_counter()
        generate_dataset(scene, n_shards, work / "shards", fmt="shards", seed=4, workers=2, progress=False)
        results["shards_write"] = {
            "count": n_shards, "seconds": time.perf_counter() - start, "bytes": folder_size_bytes(work / "shards"),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)

    if "public_memory" in results:
        results["ratio_memory_vs_public"] = {"value": results["memory_2_threads"]["per_s"] / results["public_memory"]["per_s"]}
        results["ratio_png_vs_public"] = {"value": results["png_2_workers"]["per_s"] / results["public_png"]["per_s"]}

    report = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "numpy": np.__version__},
        "fast": args.fast,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(markdown_table(results))
    print(f"\nwritten to {args.out}")


def markdown_table(r: dict) -> str:
    def rate(key: str) -> str:
        return f"{r[key]['per_s']:,.0f}/s" if key in r else "not installed"

    rows = [
        ("ChirpLoc100K scenes in memory, 1 thread", rate("memory_1_thread")),
        ("ChirpLoc100K scenes in memory, 2 threads", rate("memory_2_threads")),
        ("public generator, arrays only (no PNG)", rate("public_memory")),
        ("ChirpLoc100K PNG layout written, 1 worker", rate("png_1_workers")),
        ("ChirpLoc100K PNG layout written, 2 workers", rate("png_2_workers")),
        ("public generator, PNG layout written", rate("public_png")),
    ]
    if "ratio_memory_vs_public" in r:
        rows.append(("in memory: chirploc / public", f"{r['ratio_memory_vs_public']['value']:,.0f}x"))
        rows.append(("PNG layout: chirploc / public", f"{r['ratio_png_vs_public']['value']:,.1f}x"))
    s = r["shards_write"]
    rows.append((f"{s['count']:,} scenes written as shards (2 workers)",
                 f"{s['seconds']:.1f} s, {s['bytes'] / 1e9:.2f} GB"))
    lines = ["| measure | result |", "| --- | --- |"] + [f"| {a} | {b} |" for a, b in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
