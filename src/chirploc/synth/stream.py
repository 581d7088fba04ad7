"""Scenes generated on the fly for training: no disk at all.

`SceneStream` is a torch IterableDataset of whole blocks. Worker w of W (and,
under DDP, rank r of R) takes blocks w + W*r, ... in a stride, so no two
processes ever make the same block, and every block is the same as the one
`Scene.generate` would make for that seed.
"""

from __future__ import annotations

import itertools
from typing import Iterator

import torch
from torch.utils.data import IterableDataset, get_worker_info

from chirploc.synth.base import Scene
from chirploc.types import SceneBatch


def process_shard() -> tuple[int, int]:
    """(index, count) of this process among all data-loader workers of all DDP ranks."""
    info = get_worker_info()
    worker, workers = (info.id, info.num_workers) if info else (0, 1)
    rank, world = 0, 1
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    return rank * workers + worker, world * workers


class SceneStream(IterableDataset):
    """Yields `SceneBatch` blocks of `scene` for `seed`; endless unless `n_blocks` is given."""

    def __init__(self, scene: Scene, seed: int, n_blocks: int | None = None, first_block: int = 0) -> None:
        self.scene = scene
        self.seed = seed
        self.n_blocks = n_blocks
        self.first_block = first_block

    def __iter__(self) -> Iterator[SceneBatch]:
        index, count = process_shard()
        blocks = itertools.count(self.first_block + index, count)
        if self.n_blocks is not None:
            blocks = (b for b in blocks if b < self.first_block + self.n_blocks)
        for b in blocks:
            yield self.scene.block(self.seed, b)
