"""Training with Lightning: a LightningModule around `ChirpLocNet`, streamed or file data,
checkpoints that resume, early stopping on a validation split, and export to a
safetensors model folder.

A run folder holds `checkpoints/` (Lightning's state, for `--resume`, written as safetensors plus
JSON by `chirploc.checkpoints`: nothing is unpickled), `metrics.csv` under
`logs/`, and `model/`: the best network by validation loss as
`model.safetensors` + `config.json`.
"""

from __future__ import annotations

import csv
import logging
import math
import sys
import time
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterator

import lightning as L
from lightning.pytorch.callbacks import RichProgressBar, Timer
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, IterableDataset

from chirploc.checkpoints import CheckpointError, SafetensorsCheckpointIO, read_checkpoint
from chirploc.encoding import encode_targets, spans, to_images
from chirploc.model import (
    ChirpLocNet, LoraSettings, ModelConfig, ModelError, chirploc_folder, count_parameters, load_net, lora_wrap, save_model,
)
from chirploc.presets import SceneMix, TrainConfig
from chirploc.synth import BLOCK, get_scene
from chirploc.synth.stream import process_shard
from chirploc.types import SceneBatch

VAL_SEED_OFFSET = 1_000_003  # validation scenes come from seeds no training stream uses


def batch_to_tensors(batch: SceneBatch, model: ModelConfig) -> dict[str, torch.Tensor]:
    spec = batch.spectrogram(0)
    origin, scale = spans(spec.time_range_s, spec.freq_range_hz)
    return {
        "images": to_images(batch.values, model.img_size, model.in_chans),
        **encode_targets(batch, model.max_chirps),
        "scale": torch.as_tensor(np.broadcast_to(scale, (len(batch), 4)).copy(), dtype=torch.float32),
    }


class _NoAdvert(logging.Filter):
    """Drops Lightning's tip to install its cloud logger, printed at the start of every run."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "litlogger" not in record.getMessage()


logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_NoAdvert())


class MixedSceneStream(IterableDataset):
    """Endless training batches from a weighted mix of scenes, fresh scenes every step.

    Mixed block j is scene `schedule[j % len(schedule)]`'s block j of its own seed, so
    every process (worker or DDP rank) takes different blocks and a resumed run
    starts at `first_block` instead of seeing the same scenes again.
    """

    def __init__(self, mix: list[SceneMix], seed: int, batch_size: int, model: ModelConfig, first_block: int = 0) -> None:
        self.scenes = [get_scene(m.name, **m.params) for m in mix]
        self.schedule = [i for i, m in enumerate(mix) for _ in range(m.weight)]
        self.seed, self.batch_size, self.model, self.first_block = seed, batch_size, model, first_block

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        index, count = process_shard()
        pending: list[dict[str, torch.Tensor]] = []
        held = 0
        for j in range(self.first_block + index, 2**62, count):
            k = self.schedule[j % len(self.schedule)]
            block = self.scenes[k].block(self.seed + 7919 * k, j)
            tensors = batch_to_tensors(block, self.model)
            perm = torch.randperm(BLOCK, generator=torch.Generator().manual_seed(j))
            pending.append({name: t[perm] for name, t in tensors.items()})
            held += BLOCK
            while held >= self.batch_size:
                merged = {name: torch.cat([p[name] for p in pending]) for name in pending[0]}
                yield {name: t[: self.batch_size] for name, t in merged.items()}
                pending, held = [{name: t[self.batch_size :] for name, t in merged.items()}], held - self.batch_size


def validation_tensors(mix: list[SceneMix], n: int, seed: int, model: ModelConfig) -> list[dict[str, torch.Tensor]]:
    """A fixed validation set: n scenes split over the mix's scene kinds."""
    parts = []
    for k, m in enumerate(mix):
        count = max(1, n // len(mix))
        batch = get_scene(m.name, **m.params).generate(count, seed=seed + VAL_SEED_OFFSET + k)
        parts.append(batch_to_tensors(batch, model))
    return parts


class TensorBatches(torch.utils.data.Dataset):
    """Fixed tensors served in batches (validation, or a data set read from files)."""

    def __init__(self, parts: list[dict[str, torch.Tensor]], batch_size: int) -> None:
        self.items = []
        for part in parts:
            n = len(part["images"])
            for lo in range(0, n, batch_size):
                self.items.append({name: t[lo : lo + batch_size] for name, t in part.items()})

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return self.items[i]


def chirp_loss(outputs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """L1 on axis-normalised positions, Gaussian NLL for the uncertainty (on a detached
    estimate, so it never pulls the estimate), cross-entropy for the sweep type and
    binary cross-entropy for presence. Positions count only where a chirp is."""
    present = batch["present"]
    weight = present / present.sum().clamp(min=1.0)
    error = outputs["positions"] - batch["positions"]
    l1 = (error.abs().sum(-1) * weight).sum()
    log_var = outputs["log_var"]
    nll = ((0.5 * (log_var + error.detach() ** 2 / log_var.exp())).sum(-1) * weight).sum()
    mask = present > 0
    ce = F.cross_entropy(outputs["sweep_logits"][mask], batch["sweep"][mask]) if mask.any() else l1 * 0
    bce = F.binary_cross_entropy_with_logits(outputs["presence_logit"], present)
    total = 10 * l1 + 0.05 * nll + 0.2 * ce + 0.5 * bce
    return {"loss": total, "l1": l1, "nll": nll, "sweep_ce": ce, "presence_bce": bce}


def _config_difference(a: ModelConfig, b: ModelConfig) -> str:
    """The architecture settings in which two model configs differ, as 'name a vs b' ('' if none)."""
    da, db = asdict(a), asdict(b)
    return ", ".join(f"{k} {da[k]} vs {db[k]}" for k in da if da[k] != db[k] and k != "drop_path")


def _check_resumable(last: Path, cfg: TrainConfig) -> None:
    """A one-line error unless `last` is a readable checkpoint of the network `cfg` builds."""
    try:
        saved_state = read_checkpoint(last)
    except CheckpointError as err:
        raise ValueError(f"--resume: {err}") from err
    saved = saved_state.get("hyper_parameters", {})
    if "config" in saved and bool(saved["config"].get("lora")) != bool(cfg.lora):
        raise ValueError(
            f"--resume: the run in {last.parent.parent} trained "
            f"{'a LoRA adapter (chirploc finetune)' if saved['config'].get('lora') else 'a whole network (chirploc train)'}: "
            "resume it with the command that started it, plus --resume"
        )
    model = saved.get("config", {}).get("model")
    difference = _config_difference(ModelConfig.from_dict(model), cfg.model) if model else ""
    if difference:
        raise ValueError(
            f"--resume: the run in {last.parent.parent} trained another network ({difference}): "
            "resume with the options (--preset and model settings) it was started with"
        )
    if cfg.max_steps > 0 and int(saved_state.get("global_step", 0)) >= cfg.max_steps:
        raise ValueError(
            f"--resume: the run in {last.parent.parent} already reached step {saved_state['global_step']} "
            f"(--max-steps {cfg.max_steps}): pass a larger --max-steps to train it on"
        )


class ChirpLocModule(L.LightningModule):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.save_hyperparameters({"config": config})
        self.cfg = TrainConfig.from_dict(config)
        timm_weights = _timm_pretrained(self.cfg.pretrained)
        if timm_weights and self.cfg.lora and self.cfg.model.stem != "patch":
            raise ModelError(
                f"LoRA on {timm_weights} would freeze a {self.cfg.model.stem} stem those weights do not have: "
                "pass --stem patch, or train the whole network (no LoRA options)"
            )
        net = ChirpLocNet(self.cfg.model, pretrained=timm_weights)
        base_dir = chirploc_folder(self.cfg.pretrained)
        if base_dir is not None:
            base, _ = load_net(base_dir)
            try:
                net.load_state_dict(base.state_dict())
            except RuntimeError as err:
                raise ModelError(
                    f"--pretrained {base_dir} is a network of other settings than these options make "
                    f"({_config_difference(base.config, self.cfg.model)}): pass its settings, or another base"
                ) from err
        if self.cfg.lora and not self.cfg.pretrained:
            warnings.warn("LoRA on a backbone with random weights trains adapters on random features: pass --pretrained "
                          "(a chirploc model, weights file or hub name), or train the whole network (no LoRA options)")
        self.net = lora_wrap(net, self.cfg.lora) if self.cfg.lora else net
        #: the step at which the cosine schedule ends; `ScheduleToTimeCap` moves it under a time cap
        self.schedule_steps = self.cfg.max_steps

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.net(images)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["schedule_steps"] = self.schedule_steps  # a resumed run keeps its fitted schedule

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.schedule_steps = int(checkpoint.get("schedule_steps", self.cfg.max_steps))

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        losses = chirp_loss(self(batch["images"]), batch)
        self.log_dict({f"train_{k}": v for k, v in losses.items()}, prog_bar=False, batch_size=len(batch["images"]))
        self.log("loss", losses["loss"], prog_bar=True, logger=False)
        return losses["loss"]

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        outputs = self(batch["images"])
        losses = chirp_loss(outputs, batch)
        n = len(batch["images"])
        self.log("val_loss", losses["loss"], prog_bar=True, batch_size=n, sync_dist=True)
        present = batch["present"][:, 0] > 0
        abs_err = ((outputs["positions"][:, 0] - batch["positions"][:, 0]).abs() * batch["scale"])[present]
        if len(abs_err):
            for j, name in enumerate(("start_time_s", "duration_s", "start_freq_hz", "end_freq_hz")):
                self.log(f"val_mae_{name}", abs_err[:, j].mean(), batch_size=int(present.sum()), sync_dist=True)

    def configure_optimizers(self):  # type: ignore[override]
        params = [p for p in self.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)
        if self.cfg.scheduler == "plateau":
            sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
                opt, factor=self.cfg.plateau_factor, patience=self.cfg.plateau_patience
            )
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "monitor": "val_loss", "interval": "epoch"}}
        warm = self.cfg.warmup_steps

        def factor(step: int) -> float:
            if step < warm:
                return (step + 1) / warm
            total = max(self.schedule_steps, 1)
            return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm))))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    def plain_net(self) -> ChirpLocNet:
        """The network without peft wrappers (LoRA merged into the weights)."""
        if self.cfg.lora:
            import copy

            return copy.deepcopy(self.net).merge_and_unload()
        return self.net


class ScheduleToTimeCap(L.Callback):
    """Under a time cap (`max_minutes`), end the cosine schedule when the cap will be reached
    rather than at `max_steps`: every `every` steps the steps still to come are estimated from the
    time per step so far (validation and checkpoints included), so a slower machine anneals to
    zero within its time instead of being stopped with the learning rate still high."""

    def __init__(self, every: int = 25) -> None:
        self.every = every

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        step = trainer.global_step
        if step < self.every or step % self.every:
            return
        timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)
        if timer is None:
            return
        remaining = timer.time_remaining()
        if remaining is None:
            return
        per_step = timer.time_elapsed() / step
        pl_module.schedule_steps = min(pl_module.cfg.max_steps, step + int(max(remaining, 0.0) / per_step))


class StepProgressBar(RichProgressBar):
    """Lightning's progress bar, labelled by what a run counts: a streamed run is one endless
    epoch that ends at `max_steps`, so its bar says "Training step"; a run on files counts its
    passes over them. (Lightning's own label reads "Epoch 0/-2" when only steps are capped.)"""

    def __init__(self, streamed: bool) -> None:
        super().__init__()
        self.streamed = streamed

    def _get_train_description(self, current_epoch: int) -> str:
        return "Training step" if self.streamed else f"Epoch {current_epoch + 1} over the files"

    @property
    def total_train_batches(self) -> int | float:
        # a streamed epoch's batch index is the step, so a resumed run counts on to max_steps
        if self.streamed and self.trainer.max_steps > 0:
            return self.trainer.max_steps
        return super().total_train_batches


class SaveOnInterrupt(L.Callback):
    """On Ctrl-C (one process) or SIGTERM (any number: Lightning stops every rank at the same batch
    boundary), write `last.ckpt`, so that `--resume` continues from the step reached rather than from
    the last periodic checkpoint, which may be hundreds of steps back or not yet written."""

    def __init__(self, last: Path) -> None:
        self.last = last

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        from lightning.pytorch.utilities.exceptions import SIGTERMException

        sigterm = isinstance(exception, SIGTERMException)
        if trainer.global_step == 0 or not (sigterm or (isinstance(exception, KeyboardInterrupt) and trainer.world_size == 1)):
            return
        trainer.save_checkpoint(self.last, weights_only=False)
        if trainer.global_rank == 0:
            print(f"\n{'terminated' if sigterm else 'interrupted'} at step {trainer.global_step}: saved {self.last}; "
                  "run the same command with --resume to continue", file=sys.stderr)


def _timm_pretrained(pretrained: str | None) -> str | None:
    """What timm should load: a .safetensors file or a hub name (a chirploc model loads after)."""
    return None if chirploc_folder(pretrained) is not None else pretrained


def file_validation_size(n: int, cfg: TrainConfig) -> int:
    """How many of `n` training files are held out for validation: a tenth, at most `cfg.val_size`."""
    return max(1, min(cfg.val_size, n // 10))


def file_validation_interval(n: int, cfg: TrainConfig, world: int = 1) -> int | None:
    """Validation steps on files: at each pass's end (None), or at `cfg.max_steps` when the run
    stops before one pass ends (else it would end without a validation: no best model, no early stop)."""
    n_train = -(-(n - file_validation_size(n, cfg)) // world)
    per_pass = n_train // cfg.batch_size if n_train > cfg.batch_size else 1
    return cfg.max_steps if 0 < cfg.max_steps < per_pass else None


def _metric_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """(header, rows) of a metrics CSV; empty when there is none."""
    if not path.is_file():
        return [], []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def _joined(old: tuple[list[str], list[dict[str, str]]], new: tuple[list[str], list[dict[str, str]]]
            ) -> tuple[list[str], list[dict[str, str]]]:
    """(header, rows) of metrics `old` before the first step of `new` (later ones were logged again), then `new`'s."""
    (old_header, old_rows), (new_header, new_rows) = old, new
    first = min((int(r["step"]) for r in new_rows), default=None)
    rows = [r for r in old_rows if first is None or int(r["step"]) < first] + new_rows
    return old_header + [k for k in new_header if k not in old_header], rows


def stash_metrics(log_dir: Path) -> None:
    """Before a resume: the rows logged so far, kept in `metrics_before_resume.csv` (Lightning's CSV
    logger deletes `metrics.csv` when it starts), after any that an interrupted resume left there."""
    _join_metrics(log_dir, into=log_dir / "metrics_before_resume.csv")


def merge_stashed_metrics(log_dir: Path) -> None:
    """After a resume: `metrics.csv` holds the stashed rows before the resumed run's first step, then its own."""
    _join_metrics(log_dir, into=log_dir / "metrics.csv")
    (log_dir / "metrics_before_resume.csv").unlink(missing_ok=True)


def _join_metrics(log_dir: Path, into: Path) -> None:
    """The stashed rows joined with `metrics.csv`'s (`_joined`), written to `into` if there are any."""
    header, rows = _joined(_metric_rows(log_dir / "metrics_before_resume.csv"), _metric_rows(log_dir / "metrics.csv"))
    if rows:
        with open(into, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=header)
            writer.writeheader()
            writer.writerows(rows)


class ChirpLocData(L.LightningDataModule):
    def __init__(self, cfg: TrainConfig, files: SceneBatch | None = None) -> None:
        super().__init__()
        self.cfg, self.files = cfg, files

    def setup(self, stage: str | None = None) -> None:
        cfg = self.cfg
        if self.files is None:
            self.val_parts = validation_tensors(cfg.scenes, cfg.val_size, cfg.seed, cfg.model)
            return
        n = len(self.files)
        n_val = file_validation_size(n, cfg)
        rng = np.random.default_rng(cfg.seed)
        order = rng.permutation(n)
        self.val_parts = [batch_to_tensors(self.files.select(np.sort(order[:n_val])), cfg.model)]
        self.train_part = batch_to_tensors(self.files.select(np.sort(order[n_val:])), cfg.model)

    def train_dataloader(self) -> DataLoader:
        cfg = self.cfg
        if self.files is not None:
            part = self.train_part
            data = torch.utils.data.TensorDataset(*part.values())
            keys = list(part)
            return DataLoader(
                data, batch_size=cfg.batch_size, shuffle=True, drop_last=len(data) > cfg.batch_size,
                collate_fn=lambda rows: {k: torch.stack([r[i] for r in rows]) for i, k in enumerate(keys)},
                generator=torch.Generator().manual_seed(cfg.seed),
            )
        step = self.trainer.global_step if self.trainer else 0
        world = self.trainer.world_size if self.trainer else 1
        first_block = step * cfg.batch_size * world // BLOCK + (1 if step else 0)
        stream = MixedSceneStream(cfg.scenes, cfg.seed, cfg.batch_size, cfg.model, first_block)
        return DataLoader(stream, batch_size=None, num_workers=cfg.num_workers, persistent_workers=cfg.num_workers > 0)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(TensorBatches(self.val_parts, 256), batch_size=None)


def cpu_runs_bf16() -> bool:
    """Whether this CPU computes in bf16 natively (AVX512-BF16 or AMX). Elsewhere torch
    emulates bf16 autocast, and a training step takes about 20 times as long as in fp32
    (measured on a 2-core AVX2 CPU: 17 s against 0.8 s for a step of the quick preset)."""
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def auto_precision(precision: str) -> str:
    """bf16 where the hardware runs it (recent GPUs; CPUs with AVX512-BF16 or AMX), fp16 with
    loss scaling on older GPUs, fp32 on other CPUs."""
    if precision != "auto":
        return precision
    if torch.cuda.is_available():
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"
    return "bf16-mixed" if cpu_runs_bf16() else "32-true"


def trained_axes(cfg: TrainConfig, files: SceneBatch | None = None) -> list[dict[str, Any]]:
    """The axes (outer edges, s and Hz) of what a run trains on: each scene kind's, or the files'."""
    if files is not None:
        spec = files.spectrogram(0)
        return [{"data": files.scene or "files", "time_range_s": list(spec.time_range_s), "freq_range_hz": list(spec.freq_range_hz)}]
    axes = []
    for mix in cfg.scenes:
        spec = get_scene(mix.name, **mix.params).generate(1, seed=0).spectrogram(0)
        entry = {"data": mix.name, "time_range_s": list(spec.time_range_s), "freq_range_hz": list(spec.freq_range_hz)}
        if entry not in axes:
            axes.append(entry)
    return axes


def train(
    cfg: TrainConfig,
    out: str | Path,
    resume: bool = False,
    files: SceneBatch | None = None,
    devices: int | str = 1,
    num_nodes: int = 1,
    strategy: str = "auto",
    accelerator: str = "auto",
    progress: bool = True,
    command: str | None = None,
) -> Path:
    """Train (or resume) a run in `out`; returns `out/model`, the best network by validation loss."""
    from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    out = Path(out)
    ckpt_dir = out / "checkpoints"
    last = ckpt_dir / "last.ckpt"
    if not resume and (last.is_file() or (out / "model").exists()):
        raise ValueError(f"--out {out} already holds a run: pass --resume to continue it, or choose a new folder")
    if resume and not last.is_file():
        raise FileNotFoundError(f"--resume: {last} not found, so there is nothing to continue in {out}")
    if resume:
        _check_resumable(last, cfg)
        stash_metrics(out / "logs")
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    module = ChirpLocModule(cfg.to_dict())
    trainable, total = count_parameters(module.net)
    print(f"model: {cfg.model.backbone} ({total / 1e6:.2f} M parameters, {trainable / 1e6:.3f} M trainable)", file=sys.stderr)
    loggers: list[Any] = [CSVLogger(str(out), name="logs", version="")]
    try:
        from lightning.pytorch.loggers import TensorBoardLogger
        import tensorboard  # noqa: F401

        loggers.append(TensorBoardLogger(str(out), name="tensorboard", version=""))
    except ImportError:
        pass
    best = ModelCheckpoint(dirpath=ckpt_dir, filename="best", monitor="val_loss", mode="min", save_top_k=1)
    periodic = ModelCheckpoint(
        dirpath=ckpt_dir, filename="step", every_n_train_steps=cfg.checkpoint_every_steps, save_last=True,
        save_top_k=1, enable_version_counter=False,
    )
    trainer = L.Trainer(
        accelerator=accelerator,
        devices=devices,
        num_nodes=num_nodes,
        strategy=strategy,
        precision=auto_precision(cfg.precision),  # type: ignore[arg-type]
        max_steps=cfg.max_steps,
        max_time={"minutes": cfg.max_minutes} if cfg.max_minutes else None,
        val_check_interval=cfg.val_every_steps if files is None else file_validation_interval(
            len(files), cfg, world=(devices if isinstance(devices, int) else 1) * num_nodes),
        check_val_every_n_epoch=None if files is None else 1,
        callbacks=[
            best, periodic,
            # not strict: a time cap can end a run before its first validation
            EarlyStopping(monitor="val_loss", mode="min", patience=cfg.early_stop_patience, strict=False),
            LearningRateMonitor(logging_interval="step"),
            ScheduleToTimeCap(),
            SaveOnInterrupt(last),
            *([StepProgressBar(streamed=files is None)] if progress else []),
        ],
        logger=loggers,
        plugins=[SafetensorsCheckpointIO()],
        enable_progress_bar=progress,
        log_every_n_steps=max(1, min(10, cfg.max_steps)),  # a run shorter than 10 steps still writes metrics.csv
        num_sanity_val_steps=0,
        deterministic=False,
        enable_model_summary=False,
    )
    start = time.perf_counter()
    data = ChirpLocData(cfg, files)
    with warnings.catch_warnings():
        # on --resume the earlier rows are kept (`stash_metrics`), whatever Lightning's logger says
        warnings.filterwarnings("ignore", message="Experiment logs directory .* will be deleted")
        warnings.filterwarnings("ignore", message="Checkpoint directory .* exists and is not empty")  # --resume reuses it
        # Lightning 2.6 builds a LeafSpec, which torch 2.14 deprecates: nothing a user can act on
        warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated", category=FutureWarning)
        try:
            trainer.fit(module, datamodule=data, ckpt_path=str(last) if resume else None)
        except SystemExit as stop:  # Lightning answers Ctrl-C with sys.exit(1) after its shutdown
            if trainer.interrupted:
                raise KeyboardInterrupt from stop
            raise
    if not last.is_file():  # a time cap ended the run before its first checkpoint
        trainer.save_checkpoint(last, weights_only=False)
    if trainer.global_rank != 0:
        return out / "model"
    if resume:
        merge_stashed_metrics(out / "logs")
    module.load_state_dict(_best_state(out))
    extra = {
        "trained_on": [m.__dict__ for m in cfg.scenes] if files is None
        else {"files": len(files), "kind": files.scene or "unknown"},
        "trained_axes": trained_axes(cfg, files),
        # a run on files streams no scenes: the preset's scene mix would only mislead
        "train_config": {k: v for k, v in cfg.to_dict().items() if files is None or k != "scenes"},
        "command": command or "chirploc.train.train (Python API)",
        "steps": int(trainer.global_step),
        "minutes": round((time.perf_counter() - start) / 60, 2),
        "best_val_loss": float(best.best_model_score) if best.best_model_score is not None else None,
        "input_shape": list(data.val_parts[0]["images"].shape[1:]),
    }
    return save_model(module.plain_net(), out / "model", extra=extra)


def finetune(
    base: str | Path,
    cfg: TrainConfig,
    out: str | Path,
    files: SceneBatch | None = None,
    full: bool = False,
    progress: bool = True,
    command: str | None = None,
    resume: bool = False,
) -> Path:
    """Adapt the model `base` ('default' = the shipped one, or a model folder) to new data.

    With LoRA (`cfg.lora`, the default here) only the adapter is written, in peft's
    format (`adapter_config.json` + `adapter_model.safetensors`), naming its base so that
    `load_model(out/'adapter')` rebuilds the adapted model. With `full=True` every weight
    trains and a whole model folder is written instead (the comparison LoRA is measured
    against). `resume` continues an interrupted fine-tuning run in `out`. Returns the folder written.
    """
    from chirploc.model import default_model_dir, read_config

    base_dir = default_model_dir() if str(base) == "default" else Path(base)
    meta = read_config(base_dir)
    lora = None if full else (cfg.lora or LoraSettings())
    cfg = TrainConfig.from_dict({**cfg.to_dict(), "model": meta["model"], "pretrained": str(base_dir), "lora": None})
    cfg.lora = lora
    model_dir = train(cfg, out, resume=resume, files=files, progress=progress, command=command)
    if full:
        return model_dir
    module = ChirpLocModule(cfg.to_dict())
    module.load_state_dict(_best_state(Path(out)))
    peft_config = module.net.peft_config["default"]
    peft_config.base_model_name_or_path = "default" if str(base) == "default" else str(base_dir.resolve())
    adapter = Path(out) / "adapter"
    module.net.save_pretrained(str(adapter), save_embedding_layers=False)  # no hub lookup of the base: ours has no vocabulary
    (adapter / "README.md").unlink(missing_ok=True)
    return adapter


def _best_state(out: Path) -> dict[str, torch.Tensor]:
    ckpt = out / "checkpoints" / "best.ckpt"
    if not ckpt.is_file():
        ckpt = out / "checkpoints" / "last.ckpt"
    return read_checkpoint(ckpt)["state_dict"]
