"""Training checkpoints (`RUN/checkpoints/*.ckpt`) as safetensors plus JSON: nothing is ever unpickled.

Lightning's checkpoint is a nested structure of dicts, lists and tuples holding tensors and plain
values (the weights, the optimiser's and schedulers' states, the loops' counters, the callbacks'
states, the run's config). `SafetensorsCheckpointIO` writes it as one safetensors file: every tensor
under a name of its own, and the structure around them as JSON in the file's metadata (key
`chirploc.checkpoint`), a tensor standing there as {"tensor": name}. Dicts whose keys are not all
strings (an optimiser's state is keyed by parameter index) and tuples are tagged so that they come
back as they were. Reading it back (`read_checkpoint`) parses JSON and safetensors only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

import torch
from lightning.fabric.plugins import CheckpointIO

from chirploc.model import first_line

METADATA_KEY = "chirploc.checkpoint"


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or written: the message names the file or the value at fault."""


def _encode(value: Any, where: str, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, torch.Tensor):
        name = f"t{len(tensors)}"
        tensors[name] = value.detach().to("cpu").clone().contiguous()
        return {"tensor": name}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {"dict": {k: _encode(v, f"{where}.{k}", tensors) for k, v in value.items()}}
        if all(isinstance(k, int) and not isinstance(k, bool) for k in value):
            return {"int_dict": [[k, _encode(v, f"{where}[{k}]", tensors)] for k, v in value.items()]}
        raise CheckpointError(f"checkpoint value {where} is a dict with keys of mixed types: cannot write it as JSON")
    if isinstance(value, (list, tuple)):
        items = [_encode(v, f"{where}[{i}]", tensors) for i, v in enumerate(value)]
        return {"tuple": items} if isinstance(value, tuple) else {"list": items}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"value": value}
    if isinstance(value, os.PathLike):
        return {"value": os.fspath(value)}
    raise CheckpointError(f"checkpoint value {where} is a {type(value).__name__}: only tensors and plain values can be written")


def _decode(node: Any, tensors: dict[str, torch.Tensor]) -> Any:
    (kind, body), = node.items()
    if kind == "tensor":
        return tensors[body]
    if kind == "dict":
        return {k: _decode(v, tensors) for k, v in body.items()}
    if kind == "int_dict":
        return {int(k): _decode(v, tensors) for k, v in body}
    if kind in ("list", "tuple"):
        items = [_decode(v, tensors) for v in body]
        return tuple(items) if kind == "tuple" else items
    if kind == "value":
        return body
    raise KeyError(kind)


def write_checkpoint(checkpoint: dict[str, Any], path: str | Path) -> None:
    """`checkpoint` as one safetensors file at `path` (written beside it, then moved into place)."""
    from safetensors.torch import save_file

    tensors: dict[str, torch.Tensor] = {}
    structure = json.dumps(_encode(checkpoint, "checkpoint", tensors))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    save_file(tensors, str(partial), metadata={METADATA_KEY: structure})
    partial.replace(path)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint `write_checkpoint` wrote at `path`; a `CheckpointError` naming the file if it cannot."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} not found")
    try:
        with safe_open(str(path), "pt") as f:
            metadata = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()}
        structure = json.loads(metadata[METADATA_KEY])
        return _decode(structure, tensors)
    except (SafetensorError, OSError, ValueError, KeyError, TypeError) as err:
        raise CheckpointError(
            f"{path} is not a readable chirploc checkpoint ({type(err).__name__}: {first_line(err)}): it is corrupt, truncated or "
            "from another program; start the run again in a new folder"
        ) from err


class SafetensorsCheckpointIO(CheckpointIO):
    """Lightning's checkpoint I/O through `write_checkpoint` / `read_checkpoint` (no pickle either way)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        write_checkpoint(checkpoint, path)

    def load_checkpoint(self, path: Any, map_location: Callable | None = None, weights_only: bool | None = None) -> dict[str, Any]:
        return read_checkpoint(path)

    def remove_checkpoint(self, path: Any) -> None:
        Path(path).unlink(missing_ok=True)
