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


#: What the colours mean, by where the values come from (a window's kind or a scene's name).
COLOUR_LABELS = {
    "signal": "Power (dB re 1 unit²/Hz)",  # an STFT of a signal: the signal scene, WAV, EDF, 1-D .npy
    "figure": "Intensity (0-1)",  # a ChirpLoc100K figure
    "chirploc100k": "Intensity (0-1)",
    "chirploc100k-folder": "Intensity (0-1)",  # figures read back from a folder
}


def plot_overlay(
    spectrogram: Spectrogram,
    path: str | Path,
    truth: Sequence[Chirp] = (),
    estimates: Sequence[ChirpEstimate] = (),
    title: str = "",
    source: str = "",
    band_limit_hz: float | None = None,
) -> Path:
    """Write a PNG of the spectrogram with true chirps (white dashed) and estimates (red) over it;
    `source` (a key of COLOUR_LABELS) names what its colour bar shows; above `band_limit_hz`
    (a recording's Nyquist frequency, when below the plane's top) the plane holds filler noise."""
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    image = ax.imshow(
        spectrogram.values, aspect="auto", origin="lower", cmap="viridis", extent=spectrogram.extent,
        interpolation="nearest",
    )
    fig.colorbar(image, ax=ax, label=COLOUR_LABELS.get(source, "Value (as given)"))
    for k, chirp in enumerate(truth):
        _draw_chirp(ax, chirp, dict(color="white", linestyle="--", linewidth=1.6), "truth" if k == 0 else None)
    for k, est in enumerate(estimates):
        _draw_chirp(ax, est, dict(color="red", linewidth=1.6, alpha=0.9), "estimate" if k == 0 else None)
        ax.plot([est.start_time_s], [est.start_freq_hz], "o", color="red", markersize=4)
    if band_limit_hz is not None:
        ax.axhline(band_limit_hz, color="white", linestyle=":", linewidth=1.2,
                   label=f"recording's limit ({band_limit_hz:g} Hz): noise above")
    if truth or estimates or band_limit_hz is not None:
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
