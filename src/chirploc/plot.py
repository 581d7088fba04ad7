"""Pictures a person reads: a spectrogram in seconds and hertz with chirps drawn over it."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from chirploc.types import Chirp, ChirpEstimate, Spectrogram  # noqa: E402


def _draw_chirp(ax, chirp: Chirp, style: dict, label: str) -> None:
    times = np.linspace(chirp.start_time_s, chirp.end_time_s, 200)
    ax.plot(times, chirp.frequency_at(times), label=label, **style)


def plot_overlay(
    spectrogram: Spectrogram,
    path: str | Path,
    truth: Sequence[Chirp] = (),
    estimates: Sequence[ChirpEstimate] = (),
    title: str = "",
) -> Path:
    """Write a PNG of the spectrogram with true chirps (white dashed) and estimates (red) over it."""
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    image = ax.imshow(
        spectrogram.values, aspect="auto", origin="lower", cmap="viridis", extent=spectrogram.extent,
        interpolation="nearest",
    )
    fig.colorbar(image, ax=ax, label="Intensity")
    for k, chirp in enumerate(truth):
        _draw_chirp(ax, chirp, dict(color="white", linestyle="--", linewidth=1.6), "truth" if k == 0 else None)
    for k, est in enumerate(estimates):
        _draw_chirp(ax, est, dict(color="red", linewidth=1.6, alpha=0.9), "estimate" if k == 0 else None)
        ax.plot([est.start_time_s], [est.start_freq_hz], "o", color="red", markersize=4)
    if truth or estimates:
        ax.legend(loc="upper right", fontsize=8, framealpha=0.6)
    ax.set_xlim(spectrogram.time_range_s)
    ax.set_ylim(spectrogram.freq_range_hz)
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("Frequency (Hz)")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path
