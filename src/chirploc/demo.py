"""The built-in default job: fresh scenes of each kind, the shipped model's estimates beside
the truth with their descriptions, and a picture of each."""

from __future__ import annotations

import time
from pathlib import Path

from chirploc.describe import PRESENCE_THRESHOLD, describe
from chirploc.plot import plot_overlay
from chirploc.synth import SCENES, get_scene
from chirploc.types import Chirp, ChirpEstimate


def _chirp_line(chirp: Chirp) -> str:
    return (
        f"start {chirp.start_time_s:6.2f} s  end {chirp.end_time_s:6.2f} s  "
        f"{chirp.start_freq_hz:6.2f} Hz -> {chirp.end_freq_hz:6.2f} Hz  {chirp.sweep}"
    )


def _estimator():
    """The shipped model, or the ridge baseline (with a note) where no model is installed."""
    from chirploc.model import default_model_dir

    if (default_model_dir() / "config.json").is_file():
        from chirploc.predict import load_model

        model = load_model()
        return "shipped model", lambda spec, scene: model.predict(spec)
    from chirploc.baselines import RidgeTracker

    print("note: no trained model is installed, so the ridge-tracking baseline answers instead")
    trackers = {"chirploc100k": RidgeTracker.for_chirploc100k()}
    return "ridge baseline", lambda spec, scene: trackers.get(scene, RidgeTracker()).estimate(spec)


def run_demo(out: Path, n: int = 3, seed: int = 0) -> list[Path]:
    """Print truth, estimate and description for n fresh scenes per kind; write overlays into `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    name_of_estimator, estimate = _estimator()
    written: list[Path] = []
    for name in sorted(SCENES):
        batch = get_scene(name).generate(n, seed=seed)
        print(f"\nscene '{name}': {n} fresh spectrograms ({batch.values.shape[1]} freq x {batch.values.shape[2]} time bins)")
        for i, (spec, chirps) in enumerate(batch):
            found: list[ChirpEstimate] = [e for e in estimate(spec, name) if e.presence >= PRESENCE_THRESHOLD]
            path = plot_overlay(
                spec, out / f"{name}_{i}.png", truth=chirps, estimates=found,
                title=f"{name} scene {i}: truth dashed, {name_of_estimator} solid", source=name,
            )
            written.append(path)
            print(f"  {path.name}")
            for chirp in chirps:
                print(f"    truth     {_chirp_line(chirp)}")
            for est in found:
                print(f"    estimate  {_chirp_line(est)}")
            print(f"    {describe(found[0]) if found else describe(None)}")
    print(f"\npictures written to {out}/ ({time.perf_counter() - started:.1f} s)")
    return written
