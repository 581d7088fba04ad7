"""The `chirploc` command: a thin layer that parses arguments and calls the Python API."""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Find chirps (frequency sweeps) in spectrograms, in seconds and hertz.",
)


class UserError(Exception):
    """A problem with the user's arguments or files: printed as one line, exit status 2."""


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"chirploc {version('chirploc')}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", help="Print chirploc's version and exit.", is_eager=True, callback=_print_version)] = False,
) -> None:
    """Find chirps (frequency sweeps) in spectrograms, in seconds and hertz."""


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the example pictures.")] = Path("chirploc-demo"),
    n: Annotated[int, typer.Option("-n", help="Scenes per scene kind.")] = 3,
    seed: Annotated[int, typer.Option(help="Seed of the scenes.")] = 0,
) -> None:
    """The built-in default job: make a few fresh scenes and show what is in them."""
    from chirploc.demo import run_demo

    run_demo(out, n=n, seed=seed)


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Output folder (created; an interrupted run in it is resumed).")],
    scene: Annotated[str, typer.Option(help="Scene: chirploc100k or signal, with parameters as for train --scene, e.g. 'signal:window_s=16,snr_db=5/15'.")] = "chirploc100k",
    n: Annotated[int, typer.Option("-n", help="Number of scenes.")] = 1000,
    fmt: Annotated[str, typer.Option("--format", help="shards (compact arrays) or chirploc100k (the public PNG layout).")] = "shards",
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same files, bit for bit.")] = 0,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    min_chirps: Annotated[int, typer.Option(help="Fewest chirps per scene.")] = 1,
    max_chirps: Annotated[int, typer.Option(help="Most chirps per scene.")] = 1,
) -> None:
    """Write a labelled synthetic data set."""
    from chirploc.describe import counted
    from chirploc.generate import generate_dataset
    from chirploc.synth import get_scene, parse_scene_spec

    if workers < 1:
        raise UserError(f"--workers must be at least 1, got {workers}")
    name, params = parse_scene_spec(scene)
    scene_obj = get_scene(name, **{"min_chirps": min_chirps, "max_chirps": max_chirps, **params})
    path = generate_dataset(scene_obj, n, out, fmt=fmt, seed=seed, workers=workers, progress=True)
    typer.echo(f"{path}: {counted(n, scene + ' scene')} ({fmt}), complete")


def _train_config(
    preset: str, scene: list[str] | None, overrides: dict, lora_r: int | None, lora_alpha: int | None,
    lora_dropout: float | None, lora_targets: list[str] | None,
):
    from chirploc.model import LoraSettings
    from chirploc.presets import SceneMix, get_preset

    cfg = get_preset(preset, **overrides)
    if scene:
        from chirploc.synth import get_scene, parse_scene_spec

        cfg.scenes = [SceneMix(name, 1, params) for name, params in map(parse_scene_spec, scene)]
        for mix in cfg.scenes:  # a typo fails here, before a network is built or --out is made
            get_scene(mix.name, **mix.params)
    if lora_r is not None or lora_targets:
        base = cfg.lora or LoraSettings()
        cfg.lora = LoraSettings(
            r=lora_r if lora_r is not None else base.r,
            alpha=lora_alpha if lora_alpha is not None else base.alpha,
            dropout=lora_dropout if lora_dropout is not None else base.dropout,
            targets=tuple(lora_targets) if lora_targets else base.targets,
        )
    return cfg


def _command_line() -> str:
    import shlex

    return " ".join(["chirploc", *(shlex.quote(a) for a in sys.argv[1:])])


def _read_training_files(data: Path | None, time_range: tuple[float, float] | None = None,
                         freq_range: tuple[float, float] | None = None):
    """Every scene of the folder `data` (None: stream scenes instead)."""
    if data is None:
        return None
    from chirploc.evaluate import load_eval_data

    if not data.is_dir():
        raise UserError(f"--data {data}: not a folder; train on a shard set or a folder of images with labels.csv "
                        "(or stream a scene with --scene)")
    return load_eval_data(str(data), n=None, image_axes=_image_axes(time_range, freq_range))


def _image_axes(time_range: tuple[float, float] | None, freq_range: tuple[float, float] | None):
    if (time_range is None) != (freq_range is None):
        raise UserError("--time-range and --freq-range come together: the outer edges of the images' axes")
    return None if time_range is None else (time_range, freq_range)


Opt = typer.Option
TrainOut = Annotated[Path, Opt(help="Run folder: checkpoints/, logs/metrics.csv and model/ (the best network).")]
SceneOpt = Annotated[Optional[list[str]], Opt("--scene", help="Stream this scene instead of the preset's mix, e.g. signal or 'signal:snr_db=5/15,window_s=16' (repeatable).")]
DataOpt = Annotated[Optional[Path], Opt(help="Train on files instead: a shard set, a ChirpLoc100K folder, or a folder of bare spectrogram images (spectrogram_*.png + labels.csv) with --time-range and --freq-range.")]
TimeRangeOpt = Annotated[Optional[tuple[float, float]], Opt(help="T0 T1: outer edges (s) of the time axis of the bare images in --data.")]
FreqRangeOpt = Annotated[Optional[tuple[float, float]], Opt(help="F0 F1: outer edges (Hz) of the frequency axis of the bare images in --data.")]
StepsOpt = Annotated[Optional[int], Opt(help="Stop after this many optimiser steps.")]
MinutesOpt = Annotated[Optional[float], Opt(help="Stop after this many minutes.")]
BatchOpt = Annotated[Optional[int], Opt(help="Batch size per device.")]
LrOpt = Annotated[Optional[float], Opt(help="Peak learning rate (AdamW).")]
SeedOpt = Annotated[Optional[int], Opt(help="Seed of the data streams and the weights.")]
PrecisionOpt = Annotated[Optional[str], Opt(help="Lightning precision: bf16-mixed, 16-mixed, 32-true (default: by device).")]
LoraR = Annotated[Optional[int], Opt(help="LoRA rank (enables LoRA on a frozen backbone).")]
LoraAlpha = Annotated[Optional[int], Opt(help="LoRA alpha.")]
LoraDropout = Annotated[Optional[float], Opt(help="LoRA dropout.")]
LoraTargets = Annotated[Optional[list[str]], Opt("--lora-target", help="Backbone layer to adapt: qkv, proj, fc1, fc2 (repeatable).")]


@app.command()
def train(
    out: TrainOut,
    preset: Annotated[str, Opt(help="quick (CPU demo), default (the shipped model) or paper (the reference).")] = "quick",
    resume: Annotated[bool, Opt(help="Continue the run in --out from its last checkpoint.")] = False,
    scene: SceneOpt = None,
    data: DataOpt = None,
    time_range: TimeRangeOpt = None,
    freq_range: FreqRangeOpt = None,
    backbone: Annotated[Optional[str], Opt(help="timm ViT name, e.g. vit_tiny_patch16_224, vit_small_patch8_224.")] = None,
    img_size: Annotated[Optional[int], Opt(help="Input size in pixels.")] = None,
    patch_size: Annotated[Optional[int], Opt(help="Patch size in pixels.")] = None,
    stem: Annotated[Optional[str], Opt(help="Patch embedding: conv (a convolutional stem) or patch (the ViT's linear one; hub weights need it).")] = None,
    depth: Annotated[Optional[int], Opt(help="Transformer blocks.")] = None,
    in_chans: Annotated[Optional[int], Opt(help="Input channels (1, or 3 for RGB backbones).")] = None,
    pretrained: Annotated[Optional[str], Opt(help="Start from a local .safetensors file, a chirploc model folder, or a hub name.")] = None,
    max_steps: StepsOpt = None,
    max_minutes: MinutesOpt = None,
    batch_size: BatchOpt = None,
    lr: LrOpt = None,
    scheduler: Annotated[Optional[str], Opt(help="cosine (with warm-up) or plateau (ReduceLROnPlateau).")] = None,
    seed: SeedOpt = None,
    precision: PrecisionOpt = None,
    lora_r: LoraR = None,
    lora_alpha: LoraAlpha = None,
    lora_dropout: LoraDropout = None,
    lora_target: LoraTargets = None,
    devices: Annotated[str, Opt(help="Lightning devices: a count, 'auto' or a list.")] = "1",
    num_nodes: Annotated[int, Opt(help="Machines (DDP).")] = 1,
    strategy: Annotated[str, Opt(help="Lightning strategy, e.g. ddp.")] = "auto",
    accelerator: Annotated[str, Opt(help="cpu, gpu or auto.")] = "auto",
    num_workers: Annotated[Optional[int], Opt(help="Data-loader worker processes.")] = None,
    val_every: Annotated[Optional[int], Opt(help="Validate every this many steps.")] = None,
) -> None:
    """Train a chirp localiser (a whole ViT, or LoRA on a pretrained one) with Lightning."""
    from chirploc.train import train as run_train

    if scheduler not in (None, "cosine", "plateau"):
        raise UserError(f"--scheduler must be cosine or plateau, got {scheduler!r}")
    overrides = dict(
        backbone=backbone, img_size=img_size, patch_size=patch_size, stem=stem, depth=depth, in_chans=in_chans,
        pretrained=pretrained, max_steps=max_steps, max_minutes=max_minutes, batch_size=batch_size, lr=lr,
        scheduler=scheduler, seed=seed, precision=precision, num_workers=num_workers, val_every_steps=val_every,
    )
    cfg = _train_config(preset, scene, overrides, lora_r, lora_alpha, lora_dropout, lora_target)
    path = run_train(
        cfg, out, resume=resume, files=_read_training_files(data, time_range, freq_range), devices=int(devices) if devices.isdigit() else devices,
        num_nodes=num_nodes, strategy=strategy, accelerator=accelerator, command=_command_line(),
    )
    from lightning.pytorch.utilities import rank_zero_only

    if rank_zero_only.rank == 0:  # under DDP every process returns here; one says so
        typer.echo(f"model written to {path}")


@app.command()
def finetune(
    out: TrainOut,
    base: Annotated[str, Opt(help="Model to adapt: 'default' (shipped) or a model folder.")] = "default",
    scene: SceneOpt = None,
    data: DataOpt = None,
    time_range: TimeRangeOpt = None,
    freq_range: FreqRangeOpt = None,
    full: Annotated[bool, Opt(help="Train every weight and write a whole model (instead of a LoRA adapter).")] = False,
    preset: Annotated[str, Opt(help="Preset for the schedule (batch, lr, validation).")] = "quick",
    max_steps: StepsOpt = None,
    max_minutes: MinutesOpt = None,
    batch_size: BatchOpt = None,
    lr: LrOpt = None,
    seed: SeedOpt = None,
    precision: PrecisionOpt = None,
    lora_r: LoraR = None,
    lora_alpha: LoraAlpha = None,
    lora_dropout: LoraDropout = None,
    lora_target: LoraTargets = None,
    val_every: Annotated[Optional[int], Opt(help="Validate every this many steps.")] = None,
    resume: Annotated[bool, Opt(help="Continue the fine-tuning run in --out from its last checkpoint.")] = False,
) -> None:
    """Adapt a trained model to a new domain: writes a LoRA adapter (peft format, OUT/adapter) by default."""
    from chirploc.train import finetune as run_finetune

    if scene is None and data is None:
        raise UserError("finetune needs the new domain: --scene NAME or --data PATH")
    overrides = dict(
        max_steps=max_steps, max_minutes=max_minutes, batch_size=batch_size, lr=lr, seed=seed,
        precision=precision, val_every_steps=val_every,
    )
    cfg = _train_config(preset, scene, overrides, lora_r, lora_alpha, lora_dropout, lora_target)
    path = run_finetune(base, cfg, out, files=_read_training_files(data, time_range, freq_range), full=full, command=_command_line(), resume=resume)
    typer.echo(f"{'model' if full else 'adapter'} written to {path}")


@app.command()
def predict(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (read recursively): PNG/JPEG, .npy, WAV, EDF/BDF.", show_default=False, metavar="PATHS")],
    model: Annotated[Optional[Path], typer.Option(help="Model folder (`chirploc train`), adapter folder (`chirploc finetune`) or .onnx file (`chirploc export`); default: the shipped model.")] = None,
    method: Annotated[str, typer.Option(help="model (the trained network, refined by forward-model fits on ChirpLoc100K's and the signal scene's grids), network (its raw answers) or ridge (the classical baseline, nothing to train).")] = "model",
    runtime: Annotated[str, typer.Option(help="torch, or onnx (ONNX Runtime, with --model FILE.onnx).")] = "torch",
    fmt: Annotated[str, typer.Option("--format", help="Output format: json (a list of records) or csv.")] = "json",
    out: Annotated[Optional[Path], typer.Option(help="Write the records to this file instead of standard output.")] = None,
    plot: Annotated[Optional[Path], typer.Option(help="Folder for one picture per window: the spectrogram with the chirps found drawn over it.")] = None,
    time_range: Annotated[Optional[tuple[float, float]], typer.Option(help="T0 T1: outer edges (s) of the time axis of a plain image or 2-D .npy.")] = None,
    freq_range: Annotated[Optional[tuple[float, float]], typer.Option(help="F0 F1: outer edges (Hz) of the frequency axis of a plain image or 2-D .npy.")] = None,
    fs: Annotated[Optional[float], typer.Option("--fs", help="Sampling rate (Hz) of a 1-D .npy signal.")] = None,
    channel: Annotated[Optional[list[str]], typer.Option(help="Channel to read (EDF label, or ch0, ch1, ... in a WAV); repeat for more. Default: all.")] = None,
    annotations: Annotated[Optional[Path], typer.Option(help="Also write an MNE-Python annotation CSV here (a folder of them with several input files).")] = None,
    presence_threshold: Annotated[float, typer.Option(help="Report chirps at least this likely to be there (0-1).")] = 0.5,
    workers: Annotated[Optional[int], typer.Option(help="Processes for the fit on the signal grid (WAV, EDF, 1-D signals). Default: one per available core.")] = None,
    envelope: Annotated[str, typer.Option(help="The sweeps' envelope, for the fit on the signal grid: auto (the signal scene's 10 % fade in and out, or an abrupt start and stop where that fits clearly better), tapered, or abrupt (sweeps known to start and stop at full amplitude: their ends are read where they are even when faint).")] = "auto",
) -> None:
    """Find the chirps in files: where each starts and ends (s), its frequencies (Hz), its sweep and how sure that is."""
    from chirploc.describe import counted
    from chirploc.run_predict import run_predict

    result = run_predict(
        paths, model=model, method=method, runtime=runtime, fmt=fmt, out=out, plot_dir=plot, time_range_s=time_range,
        freq_range_hz=freq_range, fs_hz=fs, channels=channel, annotations=annotations,
        presence_threshold=presence_threshold, workers=workers, envelope=envelope,
    )
    if len(result.files) == 1 and result.failures:
        raise typer.Exit(2)  # its one-line error is already on stderr
    if result.outputs:
        n = sum(1 for r in result.records if r.get("start_time_s") is not None)
        done = len(result.files) - len(result.failures)
        chirps, files = counted(n, "chirp"), counted(done, "file")
        typer.echo(f"chirploc: {chirps} in {files} written to {', '.join(map(str, result.outputs))}", err=True)
    if result.failures:
        typer.echo(f"chirploc: {result.summary()}", err=True)
        raise typer.Exit(1)


@app.command("describe")
def describe_command(
    records: Annotated[Optional[Path], typer.Argument(help="A JSON (or CSV) records file written by `chirploc predict`.", show_default=False)] = None,
    start_time: Annotated[Optional[float], typer.Option(help="Start of the chirp (s).")] = None,
    duration: Annotated[Optional[float], typer.Option(help="Duration of the chirp (s).")] = None,
    start_freq: Annotated[Optional[float], typer.Option(help="Frequency at its start (Hz).")] = None,
    end_freq: Annotated[Optional[float], typer.Option(help="Frequency at its end (Hz).")] = None,
    sweep: Annotated[str, typer.Option(help="Sweep law: linear, exponential, quadratic or hyperbolic.")] = "linear",
    presence: Annotated[Optional[float], typer.Option(help="Probability (0-1) that the chirp is there.")] = None,
) -> None:
    """Say in words what a chirp is: from its numbers, or for every record of a `chirploc predict` file."""
    from chirploc.describe import describe
    from chirploc.records import read_records, record_estimate
    from chirploc.types import Chirp, ChirpEstimate

    numbers = {"--start-time": start_time, "--duration": duration, "--start-freq": start_freq, "--end-freq": end_freq}
    if records is not None:
        given = [k for k, v in numbers.items() if v is not None]
        if given or presence is not None:
            raise UserError(f"give either a records file or the chirp's numbers, not both (got {records} and {', '.join(given) or '--presence'})")
        for record in read_records(records):
            est = record_estimate(record)
            where = str(record.get("file") or records) + (f", {record['channel']}" if record.get("channel") else "")
            text = describe(est) if est is not None else (record.get("description") or "No chirp found.")
            typer.echo(f"{where}: {text}")
        return
    missing = [k for k, v in numbers.items() if v is None]
    if missing:
        raise UserError(f"describe needs a records file, or all of --start-time, --duration, --start-freq and --end-freq (missing {', '.join(missing)})")
    if presence is not None and not 0.0 <= presence <= 1.0:
        raise UserError(f"--presence must lie in [0, 1], got {presence}")
    fields = dict(start_time_s=start_time, duration_s=duration, start_freq_hz=start_freq, end_freq_hz=end_freq, sweep=sweep)
    chirp = ChirpEstimate(**fields, presence=presence) if presence is not None else Chirp(**fields)
    typer.echo(describe(chirp))


@app.command()
def evaluate(
    data: Annotated[str, typer.Option(help=(
        "Scenes to score: a shard-set folder, a ChirpLoc100K folder (labels.csv + spectrogram_*.png; bare "
        "spectrogram images with --time-range and --freq-range), "
        "or a scene name (chirploc100k, signal; e.g. 'signal:min_chirps=0,max_chirps=2') to generate."
    ))],
    out: Annotated[Path, typer.Option(help="Report folder (metrics.json, figures, report.md).")],
    model: Annotated[Optional[str], typer.Option(help="Model folder (default: the shipped model); methods 'model' and 'network' only.")] = None,
    method: Annotated[str, typer.Option(help="model (a trained localiser, refined by forward-model fits on ChirpLoc100K's and the signal scene's grids), network (its raw answers) or ridge (the classical baseline).")] = "model",
    n: Annotated[int, typer.Option("-n", help="Scenes to generate, or the first N scenes of a folder.")] = 2000,
    seed: Annotated[Optional[int], typer.Option(help="Seed of generated scenes (default 12345).", show_default=False)] = None,
    batch_size: Annotated[int, typer.Option(help="Spectrograms per step of the progress bar (the network reads 8 at a time whatever this is).")] = 64,
    time_range: TimeRangeOpt = None,
    freq_range: FreqRangeOpt = None,
) -> None:
    """Score a model or the ridge baseline against labelled scenes and write a report."""
    from chirploc.describe import counted
    from chirploc.evaluate import run_evaluation
    from chirploc.metrics import TARGETS
    from chirploc.report import NAMES, write_report

    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder: choose another report folder")
    if seed is not None and Path(data).is_dir():
        warnings.warn(f"--seed {seed} ignored: {data} is a folder of scenes, not a scene to generate", UserWarning, stacklevel=1)
    run = run_evaluation(data, method=method, model=model, n=n, **({} if seed is None else {"seed": seed}),
                         batch_size=batch_size, progress=True,
                         image_axes=_image_axes(time_range, freq_range))
    estimator = run.result.get("throughput", {}).get("estimator", method)
    path = write_report(run.result, run.estimates, run.batch, out, title=f"chirploc evaluation: {estimator} on {data}")
    res = run.result
    count = res["data"]["n_scenes"]
    if Path(data).is_dir() and count < n:
        typer.echo(f"chirploc: note: {data} holds {counted(count, 'scene')}, fewer than -n {n}: evaluated "
                   f"{'them all' if count != 1 else 'it'}", err=True)
    thr = res.get("throughput", {})
    typer.echo(
        f"evaluated {estimator} on {counted(count, 'scene')} ({counted(res['n_matched'], 'matched chirp')}): "
        f"{thr.get('spectrograms_per_s', float('nan')):.1f} spectrograms/s"
    )
    for name, unit in TARGETS.items():
        m = res["targets"].get(name)
        if m:
            digits = 3 if unit == "s" else 2
            r = f"{m['pearson_r']:.4f}" if math.isfinite(m["pearson_r"]) else "n/a (fewer than 2 chirps, or no spread)"
            typer.echo(f"  {NAMES[name].lower():<16} r = {r}   MAE = {m['mae']:.{digits}f} {unit}")
    typer.echo(f"  {'sweep type':<16} accuracy = {100 * res['sweep']['accuracy']:.1f} %")
    if "presence" in res:
        typer.echo(f"  {'presence':<16} AUC = {res['presence']['auc']:.4f}   accuracy at 0.5 = {100 * res['presence']['accuracy']:.1f} %")
    if "reference" in res:
        typer.echo(f"  reference start-time r = {res['reference']['start_time_s_pearson_r']:.4f} (published, ChirpLoc100K)")
    typer.echo(f"report: {path}")


@app.command("export")
def export_command(
    onnx: Annotated[Path, typer.Option("--onnx", help="ONNX file to write (its <file>.json sidecar is written beside it).")],
    model: Annotated[Optional[str], typer.Option(help="Model or LoRA adapter folder (default: the shipped model).")] = None,
    opset: Annotated[Optional[int], typer.Option(help="ONNX opset (default: the exporter's own).")] = None,
) -> None:
    """Export a model's network to ONNX (dynamic batch), checked against torch with ONNX Runtime."""
    from chirploc.export import OnnxMissing, export_onnx, read_sidecar

    try:
        path = export_onnx(model, onnx, opset=opset)
    except OnnxMissing as err:
        raise UserError(str(err)) from None
    diff = read_sidecar(path)["onnx"]["max_abs_diff_vs_torch"]
    typer.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB), max abs difference vs torch {diff:.1e}")


_python_showwarning = warnings.showwarning


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    if category is UserWarning and "chirploc" in Path(filename).parts:
        typer.echo(f"chirploc: warning: {message}", err=True)
    else:
        _python_showwarning(message, category, filename, lineno, file, line)


def main() -> None:
    """Console entry point: user errors, usage errors included, become one line on stderr and exit status 2;
    chirploc's own warnings, one line each."""
    warnings.showwarning = _show_warning
    try:
        _run()
    finally:
        warnings.showwarning = _python_showwarning


def _run() -> None:
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        sys.exit(1)
    except typer.TyperException as err:  # click's exceptions, as typer vendors them: usage errors above all
        if type(err).__name__ == "NoArgsIsHelpError":
            err.show()  # type: ignore[attr-defined]
            sys.exit(0)
        ctx = getattr(err, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        message = err.format_message() if hasattr(err, "format_message") else str(err)
        typer.echo(f"chirploc: error: {message}{hint}", err=True)
        sys.exit(err.exit_code)
    except (UserError, ValueError, FileNotFoundError, PermissionError, NotADirectoryError, IsADirectoryError) as err:
        typer.echo(f"chirploc: error: {err}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        code = 130
    if code == 130:  # Ctrl-C: typer returns it as this exit status
        typer.echo("chirploc: interrupted (train, finetune: run the same command with --resume to continue; generate: run it again)", err=True)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
