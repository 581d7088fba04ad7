"""Named training configurations: `quick` (the CPU demo), `default` (the shipped model)
and `paper` (faithful to the reference system, for a GPU with hub access)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from chirploc.model import LoraSettings, ModelConfig


@dataclass
class SceneMix:
    """One streamed scene kind in the training mix: `weight` blocks out of the mix's total."""

    name: str
    weight: int = 1
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    lora: LoraSettings | None = None  # None: the whole network trains
    pretrained: str | None = None  # local .safetensors file, chirploc model folder, or hub name
    scenes: list[SceneMix] = field(default_factory=lambda: [SceneMix("chirploc100k")])
    batch_size: int = 64
    lr: float = 5e-4
    weight_decay: float = 0.05
    scheduler: str = "cosine"  # "cosine" (with warm-up) or "plateau" (ReduceLROnPlateau)
    warmup_steps: int = 200
    plateau_factor: float = 0.1
    plateau_patience: int = 3
    max_steps: int = 20_000
    max_minutes: float | None = None
    val_every_steps: int = 250
    val_size: int = 1024
    early_stop_patience: int = 6
    checkpoint_every_steps: int = 250
    precision: str = "auto"
    seed: int = 0
    num_workers: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        data = dict(data)
        data["model"] = ModelConfig.from_dict(data.get("model", {}))
        data["lora"] = LoraSettings(**data["lora"]) if data.get("lora") else None
        data["scenes"] = [SceneMix(**s) for s in data.get("scenes", [])] or [SceneMix("chirploc100k")]
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


PRESETS: dict[str, TrainConfig] = {
    "quick": TrainConfig(
        model=ModelConfig(backbone="vit_tiny_patch16_224", img_size=128, depth=4, stem="conv"),
        batch_size=64,
        lr=1e-3,
        warmup_steps=100,
        max_steps=1600,  # what fits in about 9 minutes on a 2-core CPU, so the cosine schedule ends at zero
        max_minutes=9.5,
        val_every_steps=200,
        val_size=512,
        checkpoint_every_steps=200,
    ),
    "default": TrainConfig(
        model=ModelConfig(backbone="vit_tiny_patch16_224", img_size=128, depth=6, stem="conv"),
        scenes=[
            SceneMix("chirploc100k", 3),
            SceneMix("chirploc100k", 1, {"min_chirps": 0, "max_chirps": 1}),
            SceneMix("signal", 2, {"min_chirps": 0, "max_chirps": 1}),
        ],
        batch_size=64,
        lr=1e-3,
        warmup_steps=300,
        max_steps=8_000,
        max_minutes=75.0,
        val_every_steps=500,
        val_size=1024,
        early_stop_patience=8,
        checkpoint_every_steps=500,
    ),
    "paper": TrainConfig(
        model=ModelConfig(backbone="vit_base_patch16_224", img_size=224, in_chans=3, head_hidden=256),
        lora=LoraSettings(r=8, alpha=16, dropout=0.1, targets=("qkv",)),
        pretrained="vit_base_patch16_224.augreg2_in21k_ft_in1k",
        batch_size=32,
        lr=1e-4,
        weight_decay=0.01,
        scheduler="plateau",
        plateau_factor=0.1,
        plateau_patience=3,
        early_stop_patience=4,
        max_steps=100_000,
        val_every_steps=2500,
        val_size=20_000,
        checkpoint_every_steps=2500,
    ),
}


def get_preset(name: str, **overrides: Any) -> TrainConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    model_keys = {f.name for f in fields(ModelConfig)}
    base = PRESETS[name]
    model = replace(base.model, **{k: v for k, v in overrides.items() if k in model_keys and v is not None})
    rest = {k: v for k, v in overrides.items() if k not in model_keys and v is not None}
    return replace(base, model=model, **rest)
