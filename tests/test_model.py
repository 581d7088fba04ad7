"""The network: timm backbones by name, heads in physical units, safe checkpoints, LoRA."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch

from chirploc.model import ChirpLocNet, LoraSettings, ModelConfig, ModelError, load_net, lora_wrap, save_model
from chirploc.predict import load_model
from chirploc.synth import get_scene

TINY = dict(depth=1, img_size=64)


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig(**TINY),
        ModelConfig(backbone="vit_small_patch16_224", depth=1, img_size=96, in_chans=3),
        ModelConfig(backbone="vit_tiny_patch16_224", patch_size=8, depth=1, img_size=64, max_chirps=3),
        ModelConfig(stem="conv", **TINY),
        ModelConfig(stem="conv", patch_size=8, depth=1, img_size=64, max_chirps=2),
    ],
)
def test_outputs_per_slot_for_any_backbone_shape(config):
    net = ChirpLocNet(config).eval()
    out = net(torch.randn(2, config.in_chans, config.img_size, config.img_size))
    k = config.max_chirps
    assert out["positions"].shape == (2, k, 4)
    assert out["log_var"].shape == (2, k, 4)
    assert out["sweep_logits"].shape == (2, k, 4)
    assert out["presence_logit"].shape == (2, k)


def test_checkpoint_round_trip_gives_identical_estimates_in_seconds_and_hertz(tmp_path):
    torch.manual_seed(0)
    folder = save_model(ChirpLocNet(ModelConfig(**TINY)), tmp_path / "m", extra={"note": "test"})
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    meta = json.loads((folder / "config.json").read_text())
    assert meta["model"]["depth"] == 1 and meta["note"] == "test"
    model_a, model_b = load_model(folder), load_model(folder)
    spec = get_scene("chirploc100k").generate(1, seed=3).spectrogram(0)
    est_a, est_b = model_a.predict(spec), model_b.predict(spec)
    assert est_a == est_b
    e = est_a[0]
    assert 0 <= e.start_time_s <= e.end_time_s <= 60 and 0 <= e.start_freq_hz <= 100
    assert set(e.uncertainty) == {"start_time_s", "end_time_s", "duration_s", "start_freq_hz", "end_freq_hz"}
    # the network's end time is its start + duration, whose errors are measured to correlate negatively
    net = model_a.predict_spectrograms([spec], refine=False)[0][0].uncertainty
    s, d = net["start_time_s"], net["duration_s"]
    assert abs(s - d) <= net["end_time_s"] < (s**2 + d**2) ** 0.5


def test_an_images_answer_does_not_depend_on_what_else_is_read_with_it(tmp_path):
    torch.manual_seed(0)
    model = load_model(save_model(ChirpLocNet(ModelConfig(**TINY)), tmp_path / "m"))
    batch = get_scene("signal").generate(11, seed=4)
    specs = [batch.spectrogram(i) for i in range(11)]
    alone = model.predict_spectrograms(specs[:1], refine=False)[0]
    for company, at in ((specs[:2], 0), (specs[1:4] + specs[:1], 3), (specs[1:] + specs[:1], 10)):  # 2, 4, 11 (8 + 3)
        assert model.predict_spectrograms(company, refine=False)[at] == alone


def test_half_precision_checkpoint_is_half_the_size_and_close(tmp_path):
    torch.manual_seed(0)
    net = ChirpLocNet(ModelConfig(**TINY)).eval()
    full, half = save_model(net, tmp_path / "f"), save_model(net, tmp_path / "h", half=True)
    size = lambda p: (p / "model.safetensors").stat().st_size  # noqa: E731
    assert size(half) < 0.55 * size(full)
    x = torch.randn(1, 1, 64, 64)
    a, b = net(x)["positions"], load_net(half)[0](x)["positions"]
    assert torch.allclose(a, b, atol=2e-2)


def test_bad_checkpoints_give_one_line_errors(tmp_path):
    folder = save_model(ChirpLocNet(ModelConfig(**TINY)), tmp_path / "m")
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="corrupt or truncated"):
        load_net(folder)
    other = save_model(ChirpLocNet(ModelConfig(depth=2, img_size=64)), tmp_path / "other")
    (folder / "model.safetensors").write_bytes((other / "model.safetensors").read_bytes())
    with pytest.raises(ModelError, match="different models"):
        load_net(folder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_net(folder)
    with pytest.raises(ModelError, match="no config.json"):
        load_net(tmp_path)
    pickle_file = tmp_path / "p" / "model.safetensors"
    pickle_file.parent.mkdir()
    torch.save({"x": torch.zeros(1)}, pickle_file)  # a pickle posing as weights is refused, not unpickled
    (pickle_file.parent / "config.json").write_text((other / "config.json").read_text())
    with pytest.raises(ModelError, match="corrupt"):
        load_net(pickle_file.parent)


def test_conv_stem_keeps_the_token_grid_and_refuses_what_it_cannot_build():
    patch, conv = ChirpLocNet(ModelConfig(**TINY)), ChirpLocNet(ModelConfig(stem="conv", **TINY))
    x = torch.randn(2, 1, 64, 64)
    assert conv.backbone.patch_embed(x).shape == patch.backbone.patch_embed(x).shape == (2, 16, 192)
    with pytest.raises(ModelError, match="power of two"):
        ChirpLocNet(ModelConfig(stem="conv", patch_size=12, depth=1, img_size=96))
    with pytest.raises(ModelError, match="unknown stem 'resnet'"):
        ChirpLocNet(ModelConfig(stem="resnet", **TINY))


def test_unknown_backbone_and_missing_lora_target_are_named():
    with pytest.raises(ModelError, match="unknown backbone 'vit_enormous'"):
        ChirpLocNet(ModelConfig(backbone="vit_enormous"))
    with pytest.raises(ModelError, match="q_proj not in backbone.*qkv"):
        lora_wrap(ChirpLocNet(ModelConfig(**TINY)), LoraSettings(targets=("q_proj",)))


def test_lora_freezes_the_backbone_and_trains_a_small_share(tmp_path):
    net = lora_wrap(ChirpLocNet(ModelConfig(depth=2, img_size=64)), LoraSettings(r=4, targets=("qkv", "fc1")))
    trainable = {n for n, p in net.named_parameters() if p.requires_grad}
    assert trainable and all(("lora_" in n) or ("modules_to_save" in n) for n in trainable)
    assert any("fc1.lora_A" in n for n in trainable)
    net.save_pretrained(str(tmp_path / "a"))
    assert (tmp_path / "a" / "adapter_model.safetensors").stat().st_size < 1_000_000


def test_pretrained_weights_from_a_local_safetensors_file(tmp_path):
    import timm
    from safetensors.torch import save_file

    source = timm.create_model("vit_tiny_patch16_224", pretrained=False, depth=1, num_classes=0)
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(tmp_path / "vit.safetensors"))
    net = ChirpLocNet(ModelConfig(depth=1, img_size=64, in_chans=1), pretrained=tmp_path / "vit.safetensors")
    # timm adapts the RGB patch embedding to one channel and the position grid to 64 px
    assert torch.allclose(net.backbone.blocks[0].attn.qkv.weight, source.blocks[0].attn.qkv.weight)
    with pytest.raises(ModelError, match="not found"):
        ChirpLocNet(ModelConfig(**TINY), pretrained=tmp_path / "missing.safetensors")


def test_bad_pretrained_weights_and_non_vit_backbones_give_one_line_errors(tmp_path):
    import timm
    from safetensors.torch import save_file

    wider = timm.create_model("vit_small_patch16_224", pretrained=False, depth=1, num_classes=0)
    save_file({k: v.contiguous() for k, v in wider.state_dict().items()}, str(tmp_path / "vit_s.safetensors"))
    with pytest.raises(ModelError, match="do not fit backbone vit_tiny_patch16_224"):
        ChirpLocNet(ModelConfig(**TINY), pretrained=tmp_path / "vit_s.safetensors")
    truncated = tmp_path / "cut.safetensors"
    truncated.write_bytes((tmp_path / "vit_s.safetensors").read_bytes()[:1000])
    with pytest.raises(ModelError, match="corrupt or truncated"):
        ChirpLocNet(ModelConfig(**TINY), pretrained=truncated)
    np.save(tmp_path / "weights.npy", np.zeros(3))
    with pytest.raises(ModelError, match="not a .safetensors file"):
        ChirpLocNet(ModelConfig(**TINY), pretrained=tmp_path / "weights.npy")
    for name in ("resnet18", "convit_tiny"):
        with pytest.raises(ModelError, match=f"{name}.*(cannot be built as|is not) a Vision Transformer"):
            ChirpLocNet(ModelConfig(backbone=name, img_size=64))
    with pytest.raises(ModelError, match="unknown backbone") as err:
        ChirpLocNet(ModelConfig(backbone="convit_enormous"))
    suggested = str(err.value).split("such as ")[1].split(", ")
    assert suggested and all(name.startswith("vit_") for name in suggested)


def offline_hub_client(monkeypatch, offline: bool) -> None:
    """HF_HUB_OFFLINE as a process started with it (or without it) sees it: the Hugging Face
    client reads the variable once, when first imported."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1" if offline else "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", offline)


def test_hub_name_offline_fails_at_once_with_advice(monkeypatch):
    offline_hub_client(monkeypatch, True)
    start = time.perf_counter()
    with pytest.raises(ModelError, match="local .safetensors"):
        ChirpLocNet(ModelConfig(**TINY), pretrained="vit_tiny_patch16_224.augreg_in21k")
    assert time.perf_counter() - start < 10


def test_hub_names_in_every_form_resolve_and_wrong_ones_fail_before_any_download():
    from chirploc.model import hub_source

    tiny = "vit_tiny_patch16_224"
    for form in (f"{tiny}.augreg_in21k", f"timm/{tiny}.augreg_in21k", f"hf-hub:timm/{tiny}.augreg_in21k"):
        assert hub_source(form, tiny) == f"{tiny}.augreg_in21k"
    assert hub_source("hf-hub:someone/their_vit", tiny) == "hf-hub:someone/their_vit"
    with pytest.raises(ModelError, match="are for vit_base_patch16_224, not the backbone vit_tiny.*--backbone vit_base"):
        hub_source("timm/vit_base_patch16_224.augreg_in21k", tiny)
    with pytest.raises(ModelError, match="no weights tagged 'in22k' for vit_tiny.*augreg_in21k"):
        hub_source(f"{tiny}.in22k", tiny)
    with pytest.raises(ModelError, match="runs/base/model not found"):
        hub_source("runs/base/model", tiny)
    with pytest.raises(ModelError, match="neither an existing file or folder nor a timm model name"):
        hub_source("vit_tine", tiny)


def test_hub_name_fails_at_once_where_the_hub_is_unreachable(monkeypatch):
    offline_hub_client(monkeypatch, False)
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.invalid")  # never resolves
    start = time.perf_counter()
    with pytest.raises(ModelError, match="not reachable"):
        ChirpLocNet(ModelConfig(**TINY), pretrained="vit_tiny_patch16_224.augreg_in21k")
    assert time.perf_counter() - start < 10


def test_shipped_model_loads_offline_and_is_small():
    from chirploc.model import default_model_dir

    if not (default_model_dir() / "config.json").is_file():
        pytest.skip("no shipped model in this checkout")
    assert (default_model_dir() / "model.safetensors").stat().st_size <= 15 * 2**20
    model = load_model()
    assert model.meta["command"].startswith("chirploc train")
    batch = get_scene("chirploc100k").generate(8, seed=99)
    estimates = model.predict([batch.spectrogram(i) for i in range(8)])
    errors = [abs(e[0].start_time_s - batch.chirps(i)[0].start_time_s) for i, e in enumerate(estimates)]
    assert np.median(errors) < 1.0
