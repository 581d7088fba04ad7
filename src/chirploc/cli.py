"""The `chirploc` command: a thin layer that parses arguments and calls the Python API."""

from __future__ import annotations

import sys
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
    scene: Annotated[str, typer.Option(help="Scene kind: chirploc100k or signal.")] = "chirploc100k",
    n: Annotated[int, typer.Option("-n", help="Number of scenes.")] = 1000,
    fmt: Annotated[str, typer.Option("--format", help="shards (compact arrays) or chirploc100k (the public PNG layout).")] = "shards",
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same files, bit for bit.")] = 0,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    min_chirps: Annotated[int, typer.Option(help="Fewest chirps per scene.")] = 1,
    max_chirps: Annotated[int, typer.Option(help="Most chirps per scene.")] = 1,
) -> None:
    """Write a labelled synthetic data set."""
    from chirploc.generate import generate_dataset
    from chirploc.synth import get_scene

    if workers < 1:
        raise UserError(f"--workers must be at least 1, got {workers}")
    scene_obj = get_scene(scene, min_chirps=min_chirps, max_chirps=max_chirps)
    path = generate_dataset(scene_obj, n, out, fmt=fmt, seed=seed, workers=workers, progress=True)
    typer.echo(f"wrote {n} {scene} scenes ({fmt}) to {path}")


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit status 2."""
    try:
        app()
    except (UserError, ValueError, FileNotFoundError, PermissionError, NotADirectoryError, IsADirectoryError) as err:
        typer.echo(f"chirploc: error: {err}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("chirploc: interrupted (run the same command again to resume where it can)", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
