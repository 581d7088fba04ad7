"""Training with Lightning: tiny real runs that learn, resume, fine-tune with LoRA and run DDP."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from chirploc.model import ModelConfig
from chirploc.predict import NETWORK_ONLY, load_model
from chirploc.presets import SceneMix, TrainConfig, get_preset
from chirploc.synth import get_scene
from chirploc.train import train

TINY_MODEL = ModelConfig(depth=2, img_size=64, head_hidden=64, token_features=8, stem="conv")


def tiny_config(**overrides) -> TrainConfig:
    base = dict(
        model=TINY_MODEL, batch_size=32, lr=2e-3, warmup_steps=20, max_steps=40, val_every_steps=20,
        val_size=128, checkpoint_every_steps=20, early_stop_patience=100,
    )
    return TrainConfig(**{**base, **overrides})


def val_rows(run: Path) -> list[dict]:
    with open(run / "logs" / "metrics.csv") as f:
        return [r for r in csv.DictReader(f) if r.get("val_loss")]


def start_time_mae(model_dir: Path, n: int = 128) -> float:
    batch = get_scene("chirploc100k").generate(n, seed=777)
    estimates = load_model(model_dir).predict([batch.spectrogram(i) for i in range(n)])
    return float(np.mean([abs(e[0].start_time_s - batch.chirps(i)[0].start_time_s) for i, e in enumerate(estimates)]))


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("run")
    train(tiny_config(max_steps=160, val_every_steps=80), run, progress=False)
    return run


def test_a_tiny_run_learns_and_exports_a_model(trained):
    meta = json.loads((trained / "model" / "config.json").read_text())
    assert meta["steps"] == 160 and meta["best_val_loss"] is not None
    assert set(meta["positions"]) == {"start_time", "duration", "start_freq", "end_freq"}
    assert meta["trained_axes"] == [{"data": "chirploc100k", "time_range_s": [0.0, 60.0], "freq_range_hz": [0.0, 100.0]}]
    rows = val_rows(trained)
    assert float(rows[-1]["val_loss"]) < float(rows[0]["val_loss"])
    # predicting the mean start time (22.5 s) for U(0, 45) s gives an MAE of 11.25 s
    assert start_time_mae(trained / "model") < 10.0


def test_resume_continues_from_the_last_checkpoint_and_its_progress_bar_counts_on(tmp_path, capfd):
    run = tmp_path / "run"
    train(tiny_config(max_steps=20), run, progress=False)
    assert (run / "checkpoints" / "last.ckpt").is_file()
    with pytest.raises(ValueError, match="already holds a run"):
        train(tiny_config(max_steps=40), run, progress=False)
    capfd.readouterr()
    train(tiny_config(max_steps=40), run, resume=True, progress=True)
    bar = capfd.readouterr().out
    assert "Training step" in bar and "40/40" in bar and "Epoch" not in bar
    meta = json.loads((run / "model" / "config.json").read_text())
    assert meta["steps"] == 40
    steps = [int(r["step"]) for r in val_rows(run)]
    assert steps == [19, 39]  # the first run's validation is still in the metrics, once
    assert not (run / "logs" / "metrics_before_resume.csv").exists()


def test_ctrl_c_saves_the_step_reached_and_resume_continues_from_there(tmp_path, monkeypatch):
    import signal

    from chirploc import train as training
    from chirploc.checkpoints import read_checkpoint

    def ctrl_c_at_step_5(self, trainer, *args):
        if trainer.global_step == 5:
            raise KeyboardInterrupt

    run = tmp_path / "run"
    (run / "logs").mkdir(parents=True)  # what a run that failed before its first step leaves: not a run
    handler = signal.getsignal(signal.SIGINT)
    monkeypatch.setattr(training.ScheduleToTimeCap, "on_train_batch_end", ctrl_c_at_step_5)
    try:
        with pytest.raises(KeyboardInterrupt):
            train(tiny_config(max_steps=40), run, progress=False)
    finally:
        signal.signal(signal.SIGINT, handler)  # Lightning ignores Ctrl-C from its shutdown on
    monkeypatch.undo()
    assert read_checkpoint(run / "checkpoints" / "last.ckpt")["global_step"] == 5
    with pytest.raises(ValueError, match="already holds a run"):
        train(tiny_config(max_steps=8), run, progress=False)
    train(tiny_config(max_steps=8), run, resume=True, progress=False)
    assert json.loads((run / "model" / "config.json").read_text())["steps"] == 8
    assert any(row.get("train_loss") for row in csv.DictReader(open(run / "logs" / "metrics.csv")))  # under 10 steps too
    with pytest.raises(ValueError, match="already reached step 8 \\(--max-steps 8\\): pass a larger"):
        train(tiny_config(max_steps=8), run, resume=True, progress=False)

    from chirploc.model import ModelError

    with pytest.raises(ModelError, match="pass .*run/model, the model inside this run folder"):
        load_model(run)


def test_a_run_on_files_that_stops_within_one_pass_still_validates_and_writes_its_model(tmp_path):
    files = get_scene("chirploc100k").generate(64, seed=1)  # 58 to train on: 7 batches of 8 a pass
    model_dir = train(tiny_config(max_steps=3, batch_size=8), tmp_path / "run", files=files, progress=False)
    meta = json.loads((model_dir / "config.json").read_text())
    assert meta["steps"] == 3 and meta["best_val_loss"] is not None
    assert meta["trained_on"] == {"files": 64, "kind": "chirploc100k"} and "scenes" not in meta["train_config"]
    assert meta["trained_axes"] == [{"data": "chirploc100k", "time_range_s": [0.0, 60.0], "freq_range_hz": [0.0, 100.0]}]
    assert [int(r["step"]) for r in val_rows(tmp_path / "run")] == [2]


def test_a_folder_of_bare_spectrogram_images_with_labels_reads_on_its_axes_and_trains(tmp_path):
    from PIL import Image

    from chirploc.cli import _read_training_files
    from chirploc.io.chirploc100k import LABELS_HEADER, format_label_row, image_name

    scenes = get_scene("signal").generate(24, seed=3)
    folder = tmp_path / "mine"
    folder.mkdir()
    for i, plane in enumerate(scenes.values):
        grey = (plane - plane.min()) / (plane.max() - plane.min())
        Image.fromarray(np.uint8(np.round(255 * grey[::-1]))).save(folder / image_name(i + 1))  # top row: highest frequency
    (folder / "labels.csv").write_text(LABELS_HEADER + "".join(format_label_row(scenes.labels.chirps(i)[0]) for i in range(24)))
    step = scenes.freqs_hz[1] - scenes.freqs_hz[0]
    axes = (0.0, 32.0), (float(scenes.freqs_hz[0] - step / 2), float(scenes.freqs_hz[-1] + step / 2))
    batch = _read_training_files(folder, *axes)
    assert len(batch) == 24
    assert np.allclose(batch.times_s, scenes.times_s) and np.allclose(batch.freqs_hz, scenes.freqs_hz)
    assert np.allclose(batch.labels.start_time_s, scenes.labels.start_time_s)
    assert np.corrcoef(batch.values[0].ravel(), scenes.values[0].ravel())[0, 1] > 0.99
    model_dir = train(tiny_config(max_steps=3, batch_size=8), tmp_path / "run", files=batch, progress=False)
    assert json.loads((model_dir / "config.json").read_text())["steps"] == 3
    from chirploc.cli import UserError

    with pytest.raises(UserError, match="come together"):
        _read_training_files(folder, axes[0], None)


def test_checkpoints_are_safetensors_with_their_structure_as_json_and_round_trip(tmp_path):
    import math

    import torch
    from safetensors import safe_open

    from chirploc.checkpoints import METADATA_KEY, CheckpointError, read_checkpoint, write_checkpoint

    state = {
        "state_dict": {"w": torch.randn(3, 2), "half": torch.ones(2, dtype=torch.bfloat16)},
        "optimizer_states": [{"state": {0: {"step": torch.tensor(5.0)}}, "param_groups": [{"betas": (0.9, 0.999), "params": [0]}]}],
        "callbacks": {"EarlyStopping{'monitor': 'val_loss'}": {"best_score": torch.tensor(1.5), "wait_count": 2}},
        "lr_schedulers": [{"best": math.inf, "last_epoch": 7, "mode": None}],
        "epoch": 1,
    }
    path = tmp_path / "last.ckpt"
    write_checkpoint(state, path)
    with safe_open(str(path), "pt") as f:  # a plain safetensors file: its structure is JSON in the metadata
        assert "param_groups" in f.metadata()[METADATA_KEY]
    back = read_checkpoint(path)
    assert torch.equal(back["state_dict"]["w"], state["state_dict"]["w"]) and back["state_dict"]["half"].dtype == torch.bfloat16
    assert back["optimizer_states"][0]["state"][0]["step"].item() == 5.0  # int keys come back as ints
    assert back["optimizer_states"][0]["param_groups"][0]["betas"] == (0.9, 0.999)  # and tuples as tuples
    assert back["lr_schedulers"][0] == {"best": math.inf, "last_epoch": 7, "mode": None}
    assert back["callbacks"]["EarlyStopping{'monitor': 'val_loss'}"]["wait_count"] == 2
    torch.save({"a": 1}, tmp_path / "pickled.ckpt")
    with pytest.raises(CheckpointError, match="pickled.ckpt is not a readable chirploc checkpoint"):
        read_checkpoint(tmp_path / "pickled.ckpt")
    with pytest.raises(CheckpointError, match="object"):
        write_checkpoint({"x": object()}, tmp_path / "bad.ckpt")


def test_resume_without_a_run_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing to continue"):
        train(tiny_config(), tmp_path / "none", resume=True, progress=False)


def test_resume_refuses_a_corrupt_checkpoint_and_another_network_in_one_line(trained, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained, run)
    with pytest.raises(ValueError, match="trained another network \\(depth 2 vs 1"):
        train(tiny_config(model=ModelConfig(**{**TINY_MODEL.__dict__, "depth": 1})), run, resume=True, progress=False)
    last = run / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:5000])
    with pytest.raises(ValueError, match="last.ckpt is not a readable chirploc checkpoint"):
        train(tiny_config(max_steps=200), run, resume=True, progress=False)


def test_pretrained_chirploc_model_loads_from_its_folder_or_its_weights_file_and_must_fit(trained):
    import torch

    from chirploc.model import ModelError, load_net
    from chirploc.train import ChirpLocModule

    base, _ = load_net(trained / "model")
    for source in (trained / "model", trained / "model" / "model.safetensors"):
        module = ChirpLocModule(tiny_config(pretrained=str(source)).to_dict())
        assert torch.equal(module.net.head[1].weight, base.head[1].weight)
    from chirploc.model import LoraSettings

    with pytest.warns(UserWarning, match="LoRA on a backbone with random weights"):
        ChirpLocModule(tiny_config(lora=LoraSettings(r=4)).to_dict())
    with pytest.raises(ModelError, match="other settings than these options make \\(depth 2 vs 1"):
        ChirpLocModule(tiny_config(model=ModelConfig(**{**TINY_MODEL.__dict__, "depth": 1}), pretrained=str(trained / "model")).to_dict())


def test_lora_finetune_writes_a_small_adapter_that_loads_onto_its_base(trained, tmp_path):
    from chirploc.train import finetune

    cfg = tiny_config(scenes=[SceneMix("chirploc100k", 1, {"min_chirps": 0, "max_chirps": 1})], max_steps=20)
    adapter = finetune(trained / "model", cfg, tmp_path / "ft", progress=False)
    files = sorted(p.name for p in adapter.iterdir())
    assert files == ["adapter_config.json", "adapter_model.safetensors"]
    assert (adapter / "adapter_model.safetensors").stat().st_size < 1_000_000
    assert json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"] == str(
        (trained / "model").resolve()
    )
    adapted, base = load_model(adapter), load_model(trained / "model")
    spec = get_scene("chirploc100k").generate(1, seed=5).spectrogram(0)
    # the network's own answers: the fit can snap both to the same bins and the same presence
    assert adapted.predict_spectrograms([spec], **NETWORK_ONLY)[0] != base.predict_spectrograms([spec], **NETWORK_ONLY)[0]

    with pytest.raises(ValueError, match="trained a LoRA adapter \\(chirploc finetune\\)"):
        train(tiny_config(max_steps=30), tmp_path / "ft", resume=True, progress=False)
    finetune(trained / "model", replace(cfg, max_steps=24), tmp_path / "ft", progress=False, resume=True)
    assert json.loads((tmp_path / "ft" / "model" / "config.json").read_text())["steps"] == 24

    import shutil

    from chirploc.model import ModelError

    moved = tmp_path / "moved"
    shutil.copytree(adapter, moved)
    config = json.loads((moved / "adapter_config.json").read_text())
    (moved / "adapter_config.json").write_text(json.dumps({**config, "base_model_name_or_path": str(tmp_path / "gone")}))
    with pytest.raises(ModelError, match="its base model .*gone .*is not there"):
        load_model(moved)
    weights = adapter / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ModelError, match="corrupt or truncated"):
        load_model(adapter)


def test_lora_on_hub_weights_refuses_a_stem_those_weights_lack(tmp_path):
    from chirploc.model import LoraSettings, ModelError

    cfg = tiny_config(lora=LoraSettings(r=4), pretrained="vit_tiny_patch16_224.augreg_in21k")
    with pytest.raises(ModelError, match="--stem patch"):
        train(cfg, tmp_path / "run", progress=False)


def test_presets_name_whole_configurations():
    paper = get_preset("paper")
    assert (paper.model.backbone, paper.model.img_size, paper.model.in_chans) == ("vit_base_patch16_224", 224, 3)
    assert (paper.lora.r, paper.lora.alpha, paper.lr, paper.batch_size) == (8, 16, 1e-4, 32)
    assert (paper.scheduler, paper.plateau_factor, paper.plateau_patience, paper.early_stop_patience) == ("plateau", 0.1, 3, 4)
    assert {m.name for m in get_preset("default").scenes} == {"chirploc100k", "signal"}
    with pytest.raises(ValueError, match="unknown preset"):
        get_preset("huge")


def test_ddp_on_two_cpu_processes_gives_a_normal_checkpoint(tmp_path):
    run = tmp_path / "ddp"
    cmd = [
        sys.executable, "-m", "chirploc.cli", "train", "--out", str(run), "--depth", "1", "--img-size", "64",
        "--max-steps", "6", "--val-every", "3", "--batch-size", "16", "--devices", "2", "--strategy", "ddp",
        "--accelerator", "cpu", "--precision", "32-true",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "model written to" in done.stdout
    assert load_model(run / "model").config.depth == 1
    assert "world_size=2" in done.stderr or "GLOBAL_RANK: 1" in done.stderr or "distributed" in done.stderr.lower()


def test_cli_errors_are_one_line(tmp_path):
    bad = subprocess.run(
        [sys.executable, "-m", "chirploc.cli", "train", "--out", str(tmp_path / "x"), "--backbone", "vit_enormous"],
        capture_output=True, text=True, timeout=120,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1].startswith("chirploc: error: unknown backbone 'vit_enormous'")


def test_the_cosine_schedule_ends_when_the_time_cap_will_be_reached():
    from types import SimpleNamespace

    from lightning.pytorch.callbacks import Timer

    from chirploc.train import ChirpLocModule, ScheduleToTimeCap

    module = ChirpLocModule(tiny_config(max_steps=10_000, warmup_steps=10).to_dict())
    timer = Timer(duration={"seconds": 100})
    timer.time_elapsed = lambda stage="train": 10.0  # 50 steps took 10 s: 0.2 s a step, 90 s to go
    trainer = SimpleNamespace(global_step=50, callbacks=[timer])
    ScheduleToTimeCap(every=25).on_train_batch_end(trainer, module)
    assert module.schedule_steps == 50 + 450
    opt = module.configure_optimizers()["lr_scheduler"]["scheduler"]
    factor = opt.lr_lambdas[0]
    assert factor(499) > 0 and factor(500) == pytest.approx(0.0, abs=1e-9) and factor(9_000) == pytest.approx(0.0, abs=1e-9)
    checkpoint: dict = {}
    module.on_save_checkpoint(checkpoint)
    resumed = ChirpLocModule(tiny_config(max_steps=10_000, warmup_steps=10).to_dict())
    resumed.on_load_checkpoint(checkpoint)
    assert resumed.schedule_steps == 500, "a resumed run keeps the schedule fitted to its time"
    # never past max_steps, whatever the time left
    timer.time_elapsed = lambda stage="train": 0.5
    ScheduleToTimeCap(every=25).on_train_batch_end(trainer, module)
    assert module.schedule_steps == 10_000
