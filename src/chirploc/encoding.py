"""Between physical units and what the network sees: images and axis-normalised targets.

Positions are fractions of the spectrogram's own axes, measured from the outer
edges: start time and duration over the time span, start and end frequency over
the frequency span. Decoding with another spectrogram's axes gives that
spectrogram's seconds and hertz.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from chirploc.model import POSITION_NAMES
from chirploc.types import SWEEP_TYPES, ChirpEstimate, ChirpTable, SceneBatch, end_time_std


#: The network states no std for the end time (start + duration); it is taken as that of a sum
#: of errors this correlated (`end_time_std`). On the shipped network's answers to 1,000 held-out
#: windows a scene (seeds 7 and 2024) its start-time and duration errors, divided by their stated
#: stds, correlate -0.37 to -0.39 (ChirpLoc100K) and -0.54 to -0.58 (signal scene); with -0.5,
#: 68 % and 83 % of its end-time errors lie within the std so stated (71-74 % and 83-84 % of its
#: start times within theirs).
START_DURATION_ERROR_CORR = -0.5


def to_images(values: np.ndarray | torch.Tensor, img_size: int, in_chans: int) -> torch.Tensor:
    """[N, freq, time] arrays to [N, in_chans, img_size, img_size] float32 images (bilinear
    resampling when the grid differs; row 0, the lowest frequency, stays row 0)."""
    x = torch.as_tensor(np.asarray(values, dtype=np.float32) if not torch.is_tensor(values) else values)
    x = x.float().unsqueeze(1)
    if x.shape[-2:] != (img_size, img_size):
        x = F.interpolate(x, size=(img_size, img_size), mode="bilinear", align_corners=False)
    return x.expand(-1, in_chans, -1, -1).contiguous() if in_chans != 1 else x


def spans(time_range_s: tuple[float, float], freq_range_hz: tuple[float, float]) -> np.ndarray:
    """Origin and span per position: array [2, 4] (row 0 offsets, row 1 scales)."""
    (t0, t1), (f0, f1) = time_range_s, freq_range_hz
    return np.array([[t0, 0.0, f0, f0], [t1 - t0, t1 - t0, f1 - f0, f1 - f0]])


def encode_targets(batch: SceneBatch, max_chirps: int) -> dict[str, torch.Tensor]:
    """Targets per slot, chirps ordered by start time: positions [N, K, 4] (axis-normalised),
    sweep codes [N, K] and presence [N, K]."""
    labels: ChirpTable = batch.labels
    spec = batch.spectrogram(0)
    origin, scale = spans(spec.time_range_s, spec.freq_range_hz)
    raw = np.stack([labels.start_time_s, labels.duration_s, labels.start_freq_hz, labels.end_freq_hz], axis=-1)
    present = labels.present
    order = np.argsort(np.where(present, labels.start_time_s, np.inf), axis=1, kind="stable")
    take = lambda a: np.take_along_axis(a, order if a.ndim == 2 else order[..., None], axis=1)  # noqa: E731
    raw, sweep, present = take(raw), take(labels.sweep), take(present)
    k = raw.shape[1]
    if k < max_chirps:
        pad = max_chirps - k
        raw = np.pad(raw, ((0, 0), (0, pad), (0, 0)))
        sweep, present = np.pad(sweep, ((0, 0), (0, pad))), np.pad(present, ((0, 0), (0, pad)))
    elif k > max_chirps:
        raw, sweep, present = raw[:, :max_chirps], sweep[:, :max_chirps], present[:, :max_chirps]
    positions = (raw - origin) / scale
    return {
        "positions": torch.as_tensor(positions, dtype=torch.float32),
        "sweep": torch.as_tensor(sweep.astype(np.int64)),
        "present": torch.as_tensor(present.astype(np.float32)),
    }


def decode(
    outputs: dict[str, torch.Tensor], time_range_s: tuple[float, float], freq_range_hz: tuple[float, float], index: int
) -> list[ChirpEstimate]:
    """Every slot of image `index` as a ChirpEstimate in seconds and hertz, presence included."""
    origin, scale = spans(time_range_s, freq_range_hz)
    pos = outputs["positions"][index].detach().double().cpu().numpy()
    std = torch.exp(0.5 * outputs["log_var"][index]).detach().double().cpu().numpy()
    sweep = outputs["sweep_logits"][index].argmax(-1).cpu().numpy()
    presence = torch.sigmoid(outputs["presence_logit"][index]).detach().double().cpu().numpy()
    t_lo, t_hi = time_range_s
    f_lo, f_hi = max(freq_range_hz[0], 0.0), freq_range_hz[1]
    estimates = []
    for k in range(pos.shape[0]):
        start, duration, f0, f1 = origin + pos[k] * scale
        duration = float(np.clip(duration, 1e-3 * scale[1], t_hi - t_lo))
        start = float(np.clip(start, t_lo, t_hi - duration))
        f0, f1 = (float(np.clip(f, f_lo, f_hi)) for f in (f0, f1))
        sigma = std[k] * scale
        uncertainty = {f"{name}_{unit}": float(s) for name, unit, s in zip(POSITION_NAMES, ("s", "s", "hz", "hz"), sigma)}
        uncertainty["end_time_s"] = end_time_std(uncertainty["start_time_s"], uncertainty["duration_s"], START_DURATION_ERROR_CORR)
        estimates.append(
            ChirpEstimate(
                start_time_s=start,
                duration_s=duration,
                start_freq_hz=f0,
                end_freq_hz=f1,
                sweep=SWEEP_TYPES[int(sweep[k])],
                presence=float(presence[k]),
                uncertainty=uncertainty,
            )
        )
    return estimates

