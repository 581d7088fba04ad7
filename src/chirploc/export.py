"""The network as an ONNX file, and a model that runs it with ONNX Runtime.

`export_onnx(model, "chirploc.onnx")` writes the network (a LoRA adapter already
merged into its base by `load_model`) as one self-contained ONNX file with a
dynamic batch axis:

- input `images`: float32 [batch, in_chans, img_size, img_size] (the per-image
  standardisation is inside the graph, so raw spectrogram values go in, resampled
  to the model's grid as `chirploc.encoding.to_images` does);
- outputs `positions` [batch, K, 4], `log_var` [batch, K, 4], `sweep_logits`
  [batch, K, n_sweep_types] and `presence_logit` [batch, K] (K chirp slots).

Beside it, `<file>.json` holds the model's `config.json` content (architecture,
image size, channels, what it was trained on) plus an `onnx` block, so the file can
be used without chirploc. The export is checked: ONNX Runtime's outputs on a random
batch must equal torch's within `TOLERANCE`, or it fails.

`load_onnx_model("chirploc.onnx")` gives an `OnnxChirpLocModel`: the same
`predict` / `predict_spectrograms` as `ChirpLocModel`, with the network run by
ONNX Runtime (no torch module is built). Needs `pip install 'chirploc[onnx]'`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from chirploc.encoding import to_images
from chirploc.model import ModelConfig, ModelError
from chirploc.predict import ChirpLocModel, load_model, padded_batches

INPUT_NAME = "images"
OUTPUT_NAMES: tuple[str, ...] = ("positions", "log_var", "sweep_logits", "presence_logit")
SIDECAR_SUFFIX = ".json"
TOLERANCE = 1e-3  # largest absolute difference allowed between ONNX Runtime and torch outputs
DEFAULT_THREADS = 2
INSTALL_HINT = "pip install 'chirploc[onnx]'"


class OnnxMissing(ImportError):
    """The optional ONNX packages are not installed: the message says how to install them."""


def _require(*modules: str) -> None:
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as err:
            raise OnnxMissing(f"ONNX support needs the package {name!r}, which is not installed: {INSTALL_HINT}") from err


def sidecar_path(onnx_path: str | Path) -> Path:
    """Where the JSON sidecar of an ONNX file lives: `<file>.json`."""
    path = Path(onnx_path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def read_sidecar(onnx_path: str | Path) -> dict[str, Any]:
    """The sidecar's content (the model's config.json plus the `onnx` block)."""
    path = sidecar_path(onnx_path)
    if not path.is_file():
        raise ModelError(f"{onnx_path} has no sidecar {path.name}: export it again with `chirploc export --onnx`")
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ModelError(f"{path} is not valid JSON ({err.msg} at line {err.lineno}): export the model again") from err
    if "model" not in meta:
        raise ModelError(f"{path} has no 'model' block: it is not a chirploc ONNX sidecar")
    return meta


def _session(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads)
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def compare_with_torch(session, net: torch.nn.Module, images: torch.Tensor) -> float:
    """Largest absolute difference between ONNX Runtime's and torch's outputs on `images`."""
    got = session.run(list(OUTPUT_NAMES), {INPUT_NAME: images.numpy()})
    with torch.inference_mode():
        want = net(images)
    return max(float(np.max(np.abs(g - want[name].float().numpy()))) for g, name in zip(got, OUTPUT_NAMES))


def random_images(config: ModelConfig, batch: int, seed: int = 0) -> torch.Tensor:
    """A batch of random images of the network's input shape (float32)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(batch, config.in_chans, config.img_size, config.img_size, generator=gen)


def export_onnx(
    model: ChirpLocModel | str | Path | None,
    out: str | Path,
    opset: int | None = None,
    threads: int = DEFAULT_THREADS,
) -> Path:
    """Write `model`'s network to `out` (ONNX, dynamic batch axis) and its sidecar `<out>.json`.

    `model` is a ChirpLocModel, a model or adapter folder, or None / 'default' for the
    shipped model. `opset` None uses the exporter's default. The file is checked with
    ONNX Runtime against torch on a random batch of 4; a difference above `TOLERANCE`
    removes the files written and raises ModelError. Returns `out`.
    """
    _require("onnx", "onnxscript", "onnxruntime")
    import onnx

    loaded = model if isinstance(model, ChirpLocModel) else load_model(model)
    if isinstance(loaded, OnnxChirpLocModel):
        raise ModelError("the model is already an ONNX model: export a torch model folder instead")
    out = Path(out)
    if out.is_dir():
        raise ModelError(f"--onnx {out} is a folder: give a file name such as {out / 'chirploc.onnx'}")
    out.parent.mkdir(parents=True, exist_ok=True)
    net = loaded.net.eval()
    config = loaded.config
    batch = torch.export.Dim("batch", min=1)
    torch.onnx.export(
        net,
        (random_images(config, 2),),
        str(out),
        input_names=[INPUT_NAME],
        output_names=list(OUTPUT_NAMES),
        opset_version=opset,
        dynamic_shapes={"images": {0: batch}},
        external_data=False,  # one self-contained file
        dynamo=True,
        verbose=False,
    )
    session = _session(out, threads)
    diff = compare_with_torch(session, net, random_images(config, 4, seed=1))
    if not diff <= TOLERANCE:
        out.unlink(missing_ok=True)
        raise ModelError(
            f"the ONNX export differs from torch by {diff:.3g} (more than {TOLERANCE:g}), so it was removed: "
            "try another --opset"
        )
    graph = onnx.load(str(out), load_external_data=False)
    used_opset = next((o.version for o in graph.opset_import if o.domain in ("", "ai.onnx")), opset)
    meta = {
        **loaded.meta,
        "onnx": {
            "file": out.name,
            "opset": used_opset,
            "input": {"name": INPUT_NAME, "shape": ["batch", config.in_chans, config.img_size, config.img_size],
                      "dtype": "float32", "standardised_inside": True},
            "outputs": list(OUTPUT_NAMES),
            "exported_from": str(loaded.source),
            "torch": torch.__version__,
            "max_abs_diff_vs_torch": diff,
            "check": f"ONNX Runtime vs torch on 4 random images, tolerance {TOLERANCE:g}",
        },
    }
    sidecar_path(out).write_text(json.dumps(meta, indent=2) + "\n")
    return out


class OnnxChirpLocModel(ChirpLocModel):
    """A ChirpLocModel whose network runs in ONNX Runtime (fp32 on the CPU).

    `predict` and `predict_spectrograms` are ChirpLocModel's; only the network call
    differs. There is no torch module: `net` is None and `config` comes from the sidecar.
    """

    def __init__(self, session, meta: dict[str, Any], source: Path) -> None:
        self.session = session
        self.net = None  # type: ignore[assignment]
        self.meta = meta
        self.source = source
        self._config = ModelConfig.from_dict(meta["model"])

    @property
    def config(self) -> ModelConfig:
        return self._config

    def _outputs(self, values: Sequence[np.ndarray], batch_size: int, precision: str) -> dict[str, torch.Tensor]:
        if precision != "fp32":
            raise ValueError(f"an ONNX model runs in fp32 only, not {precision!r}: use the torch model for bf16")
        cfg = self.config
        chunks: list[list[np.ndarray]] = []
        for part, count in padded_batches(values, batch_size):
            images = to_images(part, cfg.img_size, cfg.in_chans)
            chunks.append([out[:count] for out in self.session.run(list(OUTPUT_NAMES), {INPUT_NAME: images.numpy()})])
        return {name: torch.from_numpy(np.concatenate([c[i] for c in chunks])) for i, name in enumerate(OUTPUT_NAMES)}


def load_onnx_model(path: str | Path, threads: int = DEFAULT_THREADS) -> OnnxChirpLocModel:
    """An ONNX file written by `export_onnx` (with its `<file>.json` sidecar beside it)."""
    _require("onnxruntime")
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"ONNX model {path} not found: write one with `chirploc export --onnx {path}`")
    meta = read_sidecar(path)
    try:
        session = _session(path, threads)
    except Exception as err:  # onnxruntime raises its own exception types for bad files
        raise ModelError(f"{path} is not a loadable ONNX model ({type(err).__name__}): export it again") from err
    config = ModelConfig.from_dict(meta["model"])
    shape = session.get_inputs()[0].shape
    if list(shape[1:]) != [config.in_chans, config.img_size, config.img_size]:
        raise ModelError(
            f"{path} takes images of shape {shape[1:]} but its sidecar says "
            f"{[config.in_chans, config.img_size, config.img_size]}: the two files come from different exports"
        )
    return OnnxChirpLocModel(session, meta, path)


__all__ = [
    "INPUT_NAME", "OUTPUT_NAMES", "OnnxChirpLocModel", "OnnxMissing", "TOLERANCE", "compare_with_torch",
    "export_onnx", "load_onnx_model", "random_images", "read_sidecar", "sidecar_path",
]
