"""The built-in default job: a few fresh scenes of each kind, their pictures and their labels."""

from __future__ import annotations

from pathlib import Path

from chirploc.plot import plot_overlay
from chirploc.synth import SCENES, get_scene
from chirploc.types import Chirp


def _chirp_line(chirp: Chirp) -> str:
    return (
        f"{chirp.sweep:<11} start {chirp.start_time_s:6.2f} s  end {chirp.end_time_s:6.2f} s  "
        f"{chirp.start_freq_hz:6.2f} Hz -> {chirp.end_freq_hz:6.2f} Hz"
    )


def run_demo(out: Path, n: int = 3, seed: int = 0) -> list[Path]:
    """Write an overlay picture per scene into `out` and print each scene's chirps."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in sorted(SCENES):
        batch = get_scene(name).generate(n, seed=seed)
        print(f"scene '{name}': {n} spectrograms, {batch.values.shape[1]} freq x {batch.values.shape[2]} time bins")
        for i, (spec, chirps) in enumerate(batch):
            path = plot_overlay(spec, out / f"{name}_{i}.png", truth=chirps, title=f"{name} scene {i} (truth dashed)")
            written.append(path)
            for chirp in chirps or [None]:
                print(f"  {path.name:<20} " + (_chirp_line(chirp) if chirp else "no chirp"))
    print(f"pictures written to {out}/")
    return written
