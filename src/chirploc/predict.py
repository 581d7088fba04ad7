"""Spectrograms in, ChirpEstimates (seconds, hertz, presence) out.

`load_model()` gives the model shipped with the package; `load_model(path)` a
model folder written by `chirploc train`, or a LoRA adapter folder written by
`chirploc finetune` (it names its base model, which is loaded first).
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

import numpy as np
import torch

from chirploc.encoding import decode, to_images
from chirploc.model import ChirpLocNet, ModelError, default_model_dir, load_net, safetensors_keys
from chirploc.refine import refine_chirploc100k
from chirploc.refine_signal import envelope_tapers, on_signal_grid, refine_signal
from chirploc.sweep_law import with_ridge_sweeps
from chirploc.synth.chirploc100k import on_chirploc100k_grid
from chirploc.types import ChirpEstimate, Spectrogram

if TYPE_CHECKING:
    from chirploc.inputs import Window

ADAPTER_CONFIG = "adapter_config.json"
DEFAULT_MODEL_NAME = "default"
#: where `predict_spectrograms` takes each chirp's sweep law from
SWEEP_LAW_SOURCES = ("ridge", "network")
#: Images the network reads at a time, the last batch padded to this size (`padded_batches`): an
#: image's answer then depends on that image alone, not on what else was read with it (the kernels'
#: rounding depends on the batch's shape, by about 1e-7, which a fit can carry to milliseconds).
#: On the 2-core CPU, 4.5 ms an image at 8 to 64 at a time; one image alone, padded to 8, 58 ms (15 ms unpadded).
NETWORK_BATCH = 8
#: Spectrograms refitted together at most (one pool of worker processes; it bounds the copy a fit takes)
FIT_GROUP = 256
#: `predict_spectrograms` options for the network's answers as they are (no fit, its own sweep law)
NETWORK_ONLY: dict[str, Any] = {"sweep_law": "network", "refine": False}


class ChirpLocModel:
    """A trained localiser with its metadata; `predict` takes spectrograms, arrays, signals or files."""

    def __init__(self, net: ChirpLocNet, meta: dict[str, Any], source: Path) -> None:
        self.net = net.eval()
        self.meta = meta
        self.source = source

    @property
    def config(self):
        return self.net.config

    def _outputs(self, values: Sequence[np.ndarray], batch_size: int, precision: str) -> dict[str, torch.Tensor]:
        cfg = self.config
        chunks: list[dict[str, torch.Tensor]] = []
        autocast = torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else nullcontext()
        with torch.inference_mode(), autocast:
            for part, count in padded_batches(values, batch_size):
                images = to_images(part, cfg.img_size, cfg.in_chans)
                chunks.append({k: v[:count].float() for k, v in self.net(images).items()})
        return {k: torch.cat([c[k] for c in chunks]) for k in chunks[0]}

    def predict_spectrograms(
        self,
        specs: Sequence[Spectrogram],
        batch_size: int = NETWORK_BATCH,
        precision: str = "fp32",
        sweep_law: str = "ridge",
        refine: bool = True,
        workers: int | None = None,
        envelope: str = "auto",
    ) -> list[list[ChirpEstimate]]:
        """Every chirp slot of every spectrogram (and on the signal grid a chirp found past them),
        in its own seconds and hertz, most likely first.

        refine: on ChirpLoc100K's grid (128 x 128 bins over 0-60 s and 0-100 Hz), each chirp's
        positions and sweep law come from the best fit of that scene's forward model (a
        painted ridge, blurred) near the network's answer (`chirploc.refine`), drawn towards
        the generator's mean labels where the best ridge may be a peak of the noise. On the
        signal grid (1 s Hann STFT in dB, rows 0..127 Hz, frames 0.25 s apart: every window of
        a WAV, EDF or 1-D signal) each chirp is refitted as the STFT of a tapered sweep over
        the row noise (`chirploc.refine_signal`); the estimate stays where that fit does not
        clearly explain the data. There a window whose chirps' fits are accepted is searched once
        more with their cells masked, and a clear chirp found so is a further estimate (the
        shipped network has one chirp slot).
        sweep_law (other grids, refine=False, or where the signal fit keeps the estimate):
        "ridge" takes each chirp's sweep law from a curve fitted to its ridge
        (`chirploc.sweep_law`; the network's own guess where no ridge matches); "network"
        keeps the network's guess, which is faster (no ridge tracking) but, for the shipped
        model, no better than chance.
        workers: processes for the signal fit (None: one per available core; 1: this process).
        envelope: the signal fit's sweep envelope (`chirploc.refine_signal.ENVELOPES`): "auto" (the
        scene's taper, or an abrupt start and stop where that fits clearly better), "tapered" or
        "abrupt" (sweeps known to start and stop at full amplitude: their ends are then read where
        they are even when faint, where "auto" may read them ~5 % of the duration out).
        batch_size: images the network reads at a time, the last batch padded (`NETWORK_BATCH`).
        """
        if sweep_law not in SWEEP_LAW_SOURCES:
            raise ValueError(f"unknown sweep_law {sweep_law!r}: use one of {', '.join(SWEEP_LAW_SOURCES)}")
        envelope_tapers(envelope)
        if not specs:
            return []
        found: list[list[ChirpEstimate]] = [[] for _ in specs]
        values = [np.asarray(spec.values, dtype=np.float32) for spec in specs]
        if not all(np.isfinite(v).all() for v in values):
            raise ValueError("a spectrogram holds NaN or infinite values: clean or mask the input first")
        for members in _groups(specs, lambda spec: spec.values.shape):
            outputs = self._outputs([values[i] for i in members], batch_size, precision)
            for j, i in enumerate(members):
                spec = specs[i]
                found[i] = sorted(decode(outputs, spec.time_range_s, spec.freq_range_hz, j), key=lambda e: -e.presence)
        # the fits, on each spectrogram's own time axis from 0: the windows of a recording share one grid
        for members in _groups(specs, _local_grid, FIT_GROUP):
            offsets = [specs[i].time_range_s[0] for i in members]
            times, freqs = specs[members[0]].times_s - offsets[0], specs[members[0]].freqs_hz
            local = [_shifted(found[i], -off) for i, off in zip(members, offsets)]
            group_values = np.stack([values[i] for i in members])

            def update(indices: list[int], estimator) -> None:  # noqa: ANN001
                for j, estimates in zip(indices, estimator(group_values[indices], [local[j] for j in indices])):
                    local[j] = estimates

            # the figure's fit models a painted figure: intensities, not (say) decibels on its axes
            painted = [j for j in range(len(members)) if looks_painted(group_values[j])] if on_chirploc100k_grid(times, freqs) else []
            if refine and painted:
                update(painted, refine_chirploc100k)
            rest = [j for j in range(len(members)) if not (refine and j in painted)]
            if rest and sweep_law == "ridge":
                update(rest, lambda v, e: with_ridge_sweeps(v, times, freqs, e))
            if rest and refine and on_signal_grid(times, freqs):
                update(rest, lambda v, e: refine_signal(v, times, freqs, e, workers=workers, envelope=envelope))
            for i, off, estimates in zip(members, offsets, local):
                found[i] = _shifted(estimates, off)
        return found

    def estimate_windows(
        self, windows: Sequence[Window], batch_size: int = NETWORK_BATCH, network_only: bool = False,
        workers: int | None = None, envelope: str = "auto",
    ) -> list[list[ChirpEstimate]]:
        """`predict_spectrograms` of each window's spectrogram (a `chirploc.locate.Estimator`);
        `network_only`: the network's answers as they are (no fit, sweep law its guess)."""
        options = NETWORK_ONLY if network_only else {}
        return self.predict_spectrograms([w.spectrogram for w in windows], batch_size=batch_size, workers=workers,
                                         envelope=envelope, **options)

    def predict(
        self,
        x: Spectrogram | np.ndarray | str | Path | Iterable[Spectrogram],
        *,
        time_range_s: tuple[float, float] | None = None,
        freq_range_hz: tuple[float, float] | None = None,
        fs_hz: float | None = None,
        envelope: str = "auto",
    ) -> list[ChirpEstimate] | list[list[ChirpEstimate]]:
        """Chirps in `x`, as ChirpEstimates (presence is the probability that each is there).

        x: a Spectrogram; a 2-D array [freq, time] with `time_range_s` and `freq_range_hz`;
        a 1-D signal with `fs_hz` (cut into windows as a recording file is); a file path
        (image, .npy, WAV, EDF); or a list of Spectrograms (then one list of estimates per
        spectrogram). A spectrogram gives every candidate, most likely first; a signal or a
        file gives the chirps found (presence at least 0.5), each once, in recording time,
        over all its channels (`ChirpEstimate.channel` names a WAV's or EDF's channel).
        envelope: the sweeps' envelope, for the fit on the signal grid (`predict_spectrograms`).
        """
        if isinstance(x, Spectrogram):
            return self.predict_spectrograms([x], envelope=envelope)[0]
        from chirploc.inputs import InputOptions, read_input, signal_windows

        if isinstance(x, (str, Path)):
            options = InputOptions(time_range_s=time_range_s, freq_range_hz=freq_range_hz, fs_hz=fs_hz)
            return self._predict_windows(read_input(Path(x), options), envelope)
        if isinstance(x, np.ndarray):
            if x.ndim == 2:
                if fs_hz is not None:
                    raise ValueError(
                        f"an array of shape {x.shape} with fs_hz: a signal must be 1-D, one channel "
                        "(pass each channel on its own); a 2-D array is a spectrogram [freq, time], with time_range_s and freq_range_hz"
                    )
                if time_range_s is None or freq_range_hz is None:
                    raise ValueError("a 2-D array needs time_range_s and freq_range_hz (its axes' outer edges)")
                spec = Spectrogram.from_ranges(x, time_range_s, freq_range_hz)
                return self.predict_spectrograms([spec], envelope=envelope)[0]
            if x.ndim == 1:
                if fs_hz is None or not fs_hz > 0:
                    raise ValueError(f"a 1-D signal needs fs_hz, its sampling rate in hertz (positive), got {fs_hz}")
                # the same windows as a WAV or EDF file: the network was trained on 32 s of signal
                return self._predict_windows(signal_windows(Path("signal"), x, float(fs_hz), None, InputOptions()), envelope)
            raise ValueError(f"an array input must be 2-D [freq, time] or a 1-D signal, got shape {x.shape}")
        specs = list(x)
        if not all(isinstance(s, Spectrogram) for s in specs):
            raise TypeError("a list input must hold Spectrogram objects")
        return self.predict_spectrograms(specs, envelope=envelope)

    def _predict_windows(self, windows: Sequence[Window], envelope: str = "auto") -> list[ChirpEstimate]:
        """Chirps in a file's or signal's windows: a long recording's in recording time, each
        once, however the windows overlap (see `chirploc.locate`)."""
        from chirploc.describe import PRESENCE_THRESHOLD
        from chirploc.locate import locate

        def estimate(part: Sequence[Window]) -> list[list[ChirpEstimate]]:
            return self.estimate_windows(part, envelope=envelope)

        _, merged = locate(windows, estimate, presence_threshold=PRESENCE_THRESHOLD)
        return [e if channel is None else replace(e, channel=channel) for channel, e in merged]


def padded_batches(values: Sequence[np.ndarray], batch_size: int) -> Iterator[tuple[np.ndarray, int]]:
    """Arrays of one shape stacked in batches of exactly `batch_size` (the last padded with zeros),
    each with how many of its rows are `values`' own."""
    for lo in range(0, len(values), batch_size):
        part = np.stack(values[lo : lo + batch_size])
        count = len(part)
        if count < batch_size:
            part = np.concatenate([part, np.zeros((batch_size - count, *part.shape[1:]), dtype=part.dtype)])
        yield part, count


def _groups(specs: Sequence[Spectrogram], key, most: int | None = None) -> list[list[int]]:  # noqa: ANN001
    """Indices of `specs` with the same `key(spec)`, in order, at most `most` a group."""
    groups: dict[Any, list[int]] = {}
    for i, spec in enumerate(specs):
        groups.setdefault(key(spec), []).append(i)
    step = most or len(specs)
    return [members[lo : lo + step] for members in groups.values() for lo in range(0, len(members), step)]


def _local_grid(spec: Spectrogram) -> tuple:
    """A spectrogram's grid with its time axis measured from its outer start edge (to a microsecond)."""
    local = np.round(np.asarray(spec.times_s, dtype=np.float64) - spec.time_range_s[0], 6)
    return spec.values.shape, local.tobytes(), np.asarray(spec.freqs_hz, dtype=np.float64).tobytes()


def _shifted(estimates: list[ChirpEstimate], offset_s: float) -> list[ChirpEstimate]:
    return [replace(e, start_time_s=e.start_time_s + offset_s) for e in estimates] if offset_s else estimates


def looks_painted(values: np.ndarray) -> bool:
    """Whether a plane on ChirpLoc100K's grid holds intensities as its figures and scenes do
    (the scene's noisy values lie within about -0.5 and 1, a figure's within 0 and 1), which
    the figure's forward model fits; an STFT in decibels on those axes does not."""
    return bool(values.min() >= -1.0 and values.max() <= 2.0)


def load_model(path: str | Path | None = None) -> ChirpLocModel:
    """The shipped model (no argument or 'default'), a model folder, or a LoRA adapter folder."""
    folder = default_model_dir() if path in (None, DEFAULT_MODEL_NAME) else Path(path)  # type: ignore[arg-type]
    if not folder.exists():
        raise ModelError(f"model {folder} not found: pass a folder written by `chirploc train` or `chirploc finetune`")
    if (folder / ADAPTER_CONFIG).is_file():
        return _load_adapter(folder)
    net, meta = load_net(folder)
    return ChirpLocModel(net, meta, folder)


def _load_adapter(folder: Path) -> ChirpLocModel:
    from peft import PeftModel

    try:
        adapter_meta = json.loads((folder / ADAPTER_CONFIG).read_text())
    except json.JSONDecodeError as err:
        raise ModelError(f"{folder / ADAPTER_CONFIG} is not valid JSON ({err.msg}): the adapter is corrupt; fine-tune it again") from err
    safetensors_keys(folder / "adapter_model.safetensors", "fine-tune the adapter again")
    base_name = adapter_meta.get("base_model_name_or_path") or DEFAULT_MODEL_NAME
    # a base named by a relative path lives beside the adapter
    base_dir = base_name if base_name == DEFAULT_MODEL_NAME else folder / base_name
    if base_name != DEFAULT_MODEL_NAME and not Path(base_dir).is_dir():
        raise ModelError(
            f"adapter {folder}: its base model {base_dir} (base_model_name_or_path in its {ADAPTER_CONFIG}) is not there: "
            "put the base back, or set that field to where it is now"
        )
    base = load_model(base_dir)
    try:
        merged = PeftModel.from_pretrained(base.net, str(folder)).merge_and_unload()
    except Exception as err:
        raise ModelError(f"adapter {folder} does not fit its base model {base_name} ({err}): fine-tune it again") from err
    meta = {**base.meta, "adapter": str(folder), "base": base_name}
    return ChirpLocModel(merged.eval(), meta, folder)
