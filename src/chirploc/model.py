"""The chirp localiser: a timm Vision Transformer, optional LoRA adapters (peft), and heads.

The network sees a spectrogram as a one-channel image (each image standardised inside
the network: each frequency row centred, then the whole scaled to unit variance) and answers, per chirp slot:

- four positions in units normalised by the image's own axes: start time and
  duration as fractions of the time span, start and end frequency as fractions
  of the frequency span (so any axes give seconds and hertz back);
- a log-variance for each of them (its uncertainty, trained so as not to move the estimate);
- sweep-type logits (`SWEEP_TYPES`) and a presence logit.

A checkpoint is a folder with `model.safetensors` (the weights) and
`config.json` (the `ModelConfig`, the axes it was trained on and how it was
made). Nothing in it is ever unpickled.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from chirploc.types import SWEEP_TYPES

N_POSITIONS = 4  # start time, duration, start freq, end freq
POSITION_NAMES = ("start_time", "duration", "start_freq", "end_freq")
#: What the position heads answer, written into every model's config.json (`chirploc.encoding`
#: turns them into seconds and hertz on each input's own axes).
POSITIONS = {
    "start_time": "fraction of the time axis, from its outer start edge",
    "duration": "fraction of the time axis's span",
    "start_freq": "fraction of the frequency axis, from its outer low edge",
    "end_freq": "fraction of the frequency axis, from its outer low edge",
}
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT = "chirploc-model/1"


class ModelError(ValueError):
    """A model that cannot be built or loaded as asked: one line naming what and what to do."""


@dataclass
class LoraSettings:
    """LoRA on the backbone (peft). `targets` name timm ViT modules: 'qkv' (the fused
    attention projection), 'proj' (attention output), 'fc1'/'fc2' (the MLP)."""

    r: int = 8
    alpha: int = 16
    dropout: float = 0.1
    targets: tuple[str, ...] = ("qkv",)

    def __post_init__(self) -> None:
        self.targets = tuple(self.targets)
        if self.r < 1:
            raise ModelError(f"LoRA rank must be at least 1, got {self.r}")


@dataclass
class ModelConfig:
    """Everything needed to build the network again (weights aside)."""

    backbone: str = "vit_tiny_patch16_224"
    img_size: int = 128
    in_chans: int = 1
    patch_size: int | None = None  # None: the backbone's own
    depth: int | None = None  # None: the backbone's own
    max_chirps: int = 1
    head_hidden: int = 256
    token_features: int = 16  # per-token features kept for the spatially aware head
    drop_path: float = 0.0
    stem: str = "patch"  # "patch": the ViT's own linear patch embedding; "conv": a convolutional stem (ConvStem)

    def timm_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"img_size": self.img_size, "in_chans": self.in_chans, "num_classes": 0}
        if self.patch_size:
            kwargs["patch_size"] = self.patch_size
        if self.depth:
            kwargs["depth"] = self.depth
        if self.drop_path:
            kwargs["drop_path_rate"] = self.drop_path
        return kwargs

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


STEMS = ("patch", "conv")


class ConvStem(nn.Sequential):
    """A convolutional patch embedding: stride-2 3x3 convolutions (GroupNorm, GELU) down to the
    patch grid, then a 1x1 projection to the token width (after Xiao et al. 2021, "Early
    convolutions help transformers see better"). It replaces the linear 16 x 16 patch projection,
    which sees a thin ridge only through one linear map per patch; the token grid stays the same.
    GroupNorm rather than BatchNorm: no running statistics, so a frozen stem under LoRA stays
    exactly the base model's."""

    def __init__(self, in_chans: int, embed_dim: int, patch_size: int) -> None:
        n_down = patch_size.bit_length() - 1
        if patch_size < 2 or 2**n_down != patch_size:
            raise ModelError(f"a conv stem needs a patch size that is a power of two, got {patch_size}")
        layers: list[nn.Module] = []
        channels = in_chans
        for i in range(n_down):
            width = max(embed_dim // 2 ** (n_down - 1 - i), 16)
            layers += [nn.Conv2d(channels, width, 3, stride=2, padding=1, bias=False), nn.GroupNorm(8, width), nn.GELU()]
            channels = width
        layers.append(nn.Conv2d(channels, embed_dim, 1))
        super().__init__(*layers)


def create_backbone(config: ModelConfig, pretrained: str | Path | None = None) -> nn.Module:
    """The timm backbone, without classifier. `pretrained` is a local safetensors file
    (timm adapts channels, patch grid and image size) or a timm/Hugging Face hub name.
    With `config.stem == "conv"` the patch projection is a `ConvStem` (trained from scratch)."""
    backbone = _timm_backbone(config, pretrained)
    if config.stem == "conv":
        embed = backbone.patch_embed
        embed.proj = ConvStem(config.in_chans, embed.proj.out_channels, embed.patch_size[0])
    return backbone


def chirploc_folder(pretrained: str | Path | None) -> Path | None:
    """The chirploc model folder `pretrained` names: the folder itself, or its weights file (which
    holds the whole network, so it loads as its folder does); None for anything else."""
    if pretrained is None:
        return None
    path = Path(pretrained)
    if path.name == WEIGHTS_FILE and (path.parent / CONFIG_FILE).is_file():
        return path.parent
    return path if (path / CONFIG_FILE).is_file() else None


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether the Hugging Face hub (HF_ENDPOINT, else huggingface.co) answers a connection within
    `timeout_s`: offline, its client would retry for about a minute before failing (unless
    HF_HUB_OFFLINE is set, when it reads its cache at once)."""
    import socket
    from urllib.parse import urlparse

    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout_s).close()
    except OSError:
        return False
    return True


def hub_offline() -> bool:
    """Whether the Hugging Face client runs offline (HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE as it
    read them when first imported): it then reads its cache at once, without trying the network."""
    from huggingface_hub import constants

    return constants.is_offline_mode()


def first_line(err: BaseException) -> str:
    """The first line of an error's message (at most 200 characters), for one-line errors that wrap it."""
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]


def hub_source(pretrained: str, backbone: str) -> str:
    """What timm should fetch for the hub name `pretrained`: a timm model name with an optional
    weights tag (`vit_base_patch16_224.augreg_in21k`), its Hugging Face repo id (`timm/NAME`, with
    or without `hf-hub:`), or another repo (`hf-hub:ORG/NAME`). A one-line `ModelError`, before
    any download, where the weights are for another architecture than `backbone` or the tag is
    not one timm knows."""
    import timm
    from timm.models import split_model_name_tag

    name = pretrained.removeprefix("hf-hub:")
    if name.startswith("timm/"):
        name = name.removeprefix("timm/")
    elif pretrained.startswith("hf-hub:"):
        return pretrained  # another organisation's repo: its config names the architecture
    elif "/" in name or "\\" in name:
        raise ModelError(f"pretrained {pretrained} not found: pass an existing file or folder, or hf-hub:ORG/NAME for a hub repo")
    arch, tag = split_model_name_tag(name)
    if not timm.is_model(arch):
        named = ", ".join(timm.list_pretrained(f"{backbone}.*")[:2]) or f"{backbone}.TAG"
        raise ModelError(
            f"pretrained {pretrained!r} is neither an existing file or folder nor a timm model name: pass a path, or a name such as {named}"
        )
    if arch != backbone:
        raise ModelError(f"pretrained weights {pretrained!r} are for {arch}, not the backbone {backbone}: pass --backbone {arch}")
    tags = [n.split(".", 1)[1] for n in timm.list_pretrained(f"{arch}.*")]
    if tag and tag not in tags:
        raise ModelError(
            f"timm has no weights tagged {tag!r} for {arch}: choose one of {', '.join(tags) or '(none published)'}"
        )
    return name


def _timm_backbone(config: ModelConfig, pretrained: str | Path | None) -> nn.Module:
    import timm
    from timm.models.vision_transformer import VisionTransformer

    if config.stem not in STEMS:
        raise ModelError(f"unknown stem {config.stem!r}: choose one of {', '.join(STEMS)}")
    if not timm.is_model(config.backbone):
        piece = config.backbone.split("_")[0]
        close = [m for m in timm.list_models(f"*{piece}*") if m.startswith("vit_")][:6]
        raise ModelError(
            f"unknown backbone {config.backbone!r}: use a timm Vision Transformer such as "
            f"{', '.join(close) or 'vit_tiny_patch16_224, vit_small_patch16_224, vit_base_patch16_224'}"
        )
    kwargs = config.timm_kwargs()
    path = Path(pretrained) if pretrained is not None else None
    if path is not None and (path.suffix == ".safetensors" or path.exists()):
        _check_weights_file(path)
        try:
            backbone = timm.create_model(config.backbone, pretrained=True, pretrained_cfg_overlay={"file": str(path)}, **kwargs)
        except RuntimeError as err:  # timm's load_state_dict: missing, unexpected or mis-shaped tensors
            raise ModelError(
                f"pretrained weights {path} do not fit backbone {config.backbone} ({first_line(err)}): "
                "pass weights of that architecture, or the --backbone they were made for"
            ) from err
    elif pretrained is not None:
        source = hub_source(str(pretrained), config.backbone)
        if not hub_offline() and not hub_reachable():
            raise ModelError(
                f"could not fetch pretrained weights {pretrained!r}: the Hugging Face hub is not reachable from here; "
                "download them elsewhere and pass the local .safetensors file instead (or, for weights already in the "
                "Hugging Face cache, set HF_HUB_OFFLINE=1)"
            )
        try:
            backbone = timm.create_model(source, pretrained=True, **kwargs)
        except Exception as err:  # the hub is unreachable or the name is wrong
            raise ModelError(
                f"could not fetch pretrained weights {pretrained!r} from the hub ({type(err).__name__}); "
                "offline, download them elsewhere and pass the local .safetensors file instead"
            ) from err
    else:
        try:
            backbone = timm.create_model(config.backbone, pretrained=False, **kwargs)
        except (TypeError, ValueError, RuntimeError, AssertionError) as err:
            raise ModelError(
                f"backbone {config.backbone!r} cannot be built as a Vision Transformer of these options "
                f"({first_line(err)}): use a timm ViT such as vit_tiny_patch16_224"
            ) from err
    if not isinstance(backbone, VisionTransformer):  # the heads read its patch grid and token features
        raise ModelError(f"backbone {config.backbone!r} is not a Vision Transformer: use a timm ViT such as vit_tiny_patch16_224")
    return backbone


def safetensors_keys(path: Path, remedy: str) -> list[str]:
    """The tensor names in the safetensors file `path`; a one-line `ModelError` naming it, and
    ending with `remedy`, where it is missing, corrupt or truncated."""
    from safetensors import SafetensorError, safe_open

    if not path.is_file():
        raise ModelError(f"{path} not found: {remedy}")
    try:
        with safe_open(str(path), "pt") as f:
            return list(f.keys())
    except (SafetensorError, OSError, ValueError) as err:
        raise ModelError(f"{path} is corrupt or truncated ({first_line(err)}): {remedy}") from err


def _check_weights_file(path: Path) -> None:
    """A clear error unless `path` is a readable safetensors file of backbone weights."""
    if not path.is_file():
        raise ModelError(f"pretrained weights {path} not found: pass an existing .safetensors file or a chirploc model folder")
    if path.suffix != ".safetensors":
        raise ModelError(f"pretrained weights {path} are not a .safetensors file: pass one, a chirploc model folder or a hub name")
    keys = safetensors_keys(path, "download or write the weights again")
    if any(k.startswith("backbone.") for k in keys):
        raise ModelError(f"{path} holds a whole chirploc network: pass its model folder (with its {CONFIG_FILE})")


class ChirpLocNet(nn.Module):
    """Backbone + heads. `forward(images [B, C, H, W])` returns a dict of tensors per slot."""

    def __init__(self, config: ModelConfig, pretrained: str | Path | None = None) -> None:
        super().__init__()
        self.config = config
        self.backbone = create_backbone(config, pretrained)
        width = self.backbone.num_features
        n_tokens = self.backbone.patch_embed.num_patches
        self.token_proj = nn.Linear(width, config.token_features)
        per_slot = 2 * N_POSITIONS + len(SWEEP_TYPES) + 1
        self.head = nn.Sequential(
            nn.LayerNorm(width + n_tokens * config.token_features),
            nn.Linear(width + n_tokens * config.token_features, config.head_hidden),
            nn.GELU(),
            nn.Linear(config.head_hidden, config.max_chirps * per_slot),
        )

    @staticmethod
    def standardise(images: torch.Tensor) -> torch.Tensor:
        """Each frequency row minus its mean over time (the background spectrum, e.g. a 1/f
        slope of tens of dB, would otherwise dwarf a ridge), then the image over its spread."""
        centred = images - images.mean(dim=3, keepdim=True)
        return centred / (centred.std(dim=(1, 2, 3), keepdim=True) + 1e-6)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        tokens = self.backbone.forward_features(self.standardise(images))  # [B, prefix + N, width]
        prefix = getattr(self.backbone, "num_prefix_tokens", 1)
        pooled = tokens[:, 0] if prefix else tokens.mean(1)
        local = self.token_proj(tokens[:, prefix:]).flatten(1)
        out = self.head(torch.cat([pooled, local], dim=1)).float()
        out = out.view(images.shape[0], self.config.max_chirps, -1)
        n_sweeps = len(SWEEP_TYPES)
        return {
            "positions": out[..., :N_POSITIONS],
            "log_var": out[..., N_POSITIONS : 2 * N_POSITIONS].clamp(-14.0, 4.0),
            "sweep_logits": out[..., 2 * N_POSITIONS : 2 * N_POSITIONS + n_sweeps],
            "presence_logit": out[..., -1],
        }


def lora_wrap(net: ChirpLocNet, lora: LoraSettings) -> nn.Module:
    """Freeze the network and add LoRA adapters (peft) on `lora.targets` in the backbone and on
    the head's wide hidden layer; the small output layers train in full. The adapter is what
    `save_pretrained` writes: a few hundred kB for a tiny ViT."""
    from peft import LoraConfig, get_peft_model

    names = {name.rsplit(".", 1)[-1] for name, _ in net.backbone.named_modules()}
    missing = [t for t in lora.targets if t not in names]
    if missing:
        linear = sorted({n.rsplit(".", 1)[-1] for n, m in net.backbone.named_modules() if isinstance(m, nn.Linear)})
        raise ModelError(
            f"LoRA target(s) {', '.join(missing)} not in backbone {net.config.backbone}: "
            f"choose among its linear layers {', '.join(linear)}"
        )
    config = LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        # a regex over module names: the chosen backbone layers and the head's hidden layer
        target_modules=rf"(backbone\..*\.({'|'.join(lora.targets)})|head\.1)",
        modules_to_save=["token_proj", "head.3"],
    )
    return get_peft_model(net, config)


def count_parameters(module: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    total = sum(p.numel() for p in module.parameters())
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    return trainable, total


def save_model(net: ChirpLocNet, folder: str | Path, extra: dict[str, Any] | None = None, half: bool = False) -> Path:
    """Write `folder/model.safetensors` and `folder/config.json`. `half` stores fp16 weights
    (half the size; loaded back to fp32)."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: (v.half() if half and v.is_floating_point() else v).contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(folder / WEIGHTS_FILE), metadata={"format": FORMAT})
    meta = {"format": FORMAT, "model": asdict(net.config), "positions": POSITIONS, **(extra or {})}
    (folder / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return folder


def read_config(folder: str | Path) -> dict[str, Any]:
    folder = Path(folder)
    path = folder / CONFIG_FILE
    if folder.is_file() and (folder.parent / CONFIG_FILE).is_file():
        raise ModelError(f"{folder} is a file of the model: pass its folder, {folder.parent}")
    if not path.is_file():
        inside = next((folder / sub for sub in ("model", "adapter") if (folder / sub).is_dir()), None)
        hint = f"pass {inside}, the model inside this run folder" if inside else "pass a folder written by `chirploc train`"
        raise ModelError(f"{folder} is not a chirploc model: it has no {CONFIG_FILE} ({hint})")
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ModelError(f"{path} is not valid JSON ({err}): the checkpoint is corrupt") from err
    if meta.get("format") != FORMAT or "model" not in meta:
        raise ModelError(f"{path} is not a {FORMAT} config: pass a folder written by `chirploc train`")
    return meta


def load_net(folder: str | Path) -> tuple[ChirpLocNet, dict[str, Any]]:
    """The network stored in `folder` (weights in fp32, eval mode) and its config."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    meta = read_config(folder)
    config = ModelConfig.from_dict(meta["model"])
    net = ChirpLocNet(config)
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise ModelError(f"{folder} has no {WEIGHTS_FILE}: the checkpoint is incomplete")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as err:
        raise ModelError(f"{weights} is corrupt or truncated ({err}): write the checkpoint again") from err
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    expected = net.state_dict()
    wrong = [k for k, v in state.items() if k in expected and expected[k].shape != v.shape]
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if wrong or missing or unexpected:
        raise ModelError(
            f"{weights} does not fit the architecture in its {CONFIG_FILE} ({len(missing)} missing, "
            f"{len(unexpected)} unexpected, {len(wrong)} mis-shaped tensors, e.g. {(missing + unexpected + wrong)[0]}): "
            "the two files come from different models"
        )
    net.load_state_dict(state)
    return net.eval(), meta


def default_model_dir() -> Path:
    return Path(__file__).parent / "assets" / "default"


def logits_to_probability(logit: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(logit)


def log_var_to_std(log_var: torch.Tensor) -> torch.Tensor:
    return torch.exp(0.5 * log_var)


__all__ = [
    "ChirpLocNet",
    "LoraSettings",
    "ModelConfig",
    "ModelError",
    "count_parameters",
    "default_model_dir",
    "load_net",
    "lora_wrap",
    "read_config",
    "save_model",
]
