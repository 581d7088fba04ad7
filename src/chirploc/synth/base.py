"""What every scene shares: block-wise seeding and the chirp-count rule.

Scenes are generated in fixed blocks of `BLOCK` scenes. Block b of seed s is
drawn from its own generator, `SeedSequence([s, b])`, so scene i is the same
array, bit for bit, whether it was made alone, in a long run, or by any of
many workers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from chirploc.types import ChirpTable, SceneBatch

BLOCK = 256


def block_rng(seed: int, block_index: int) -> np.random.Generator:
    if seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {seed}")
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), int(block_index)])))


def check_count(n: int, what: str = "-n") -> int:
    if int(n) != n or n < 0:
        raise ValueError(f"{what} must be a non-negative whole number of scenes, got {n}")
    return int(n)


def draw_chirp_counts(rng: np.random.Generator, n: int, min_chirps: int, max_chirps: int) -> np.ndarray:
    """Presence mask [n, max_chirps]: each scene has U{min..max} chirps in its first slots."""
    counts = rng.integers(min_chirps, max_chirps + 1, size=n)
    return np.arange(max(max_chirps, 1))[None, :] < counts[:, None]


class Scene(ABC):
    """A seeded source of labelled spectrograms on one fixed grid."""

    name: str = ""

    def __init__(self, min_chirps: int = 1, max_chirps: int = 1) -> None:
        if not 0 <= min_chirps <= max_chirps:
            raise ValueError(
                f"chirps per scene must satisfy 0 <= min ({min_chirps}) <= max ({max_chirps})"
            )
        self.min_chirps = int(min_chirps)
        self.max_chirps = int(max_chirps)

    @property
    @abstractmethod
    def times_s(self) -> np.ndarray: ...

    @property
    @abstractmethod
    def freqs_hz(self) -> np.ndarray: ...

    @abstractmethod
    def block(self, seed: int, block_index: int) -> SceneBatch:
        """Scenes [block_index*BLOCK, (block_index+1)*BLOCK) of this seed."""

    def block_into(self, seed: int, block_index: int, out: np.ndarray) -> tuple[ChirpTable, np.ndarray]:
        """`block`'s values written into `out` [BLOCK, freq, time]; its labels and noise levels returned."""
        block = self.block(seed, block_index)
        out[...] = block.values
        return block.labels, block.noise_level

    def generate(self, n: int, seed: int = 0, start: int = 0, threads: int = 1) -> SceneBatch:
        """Scenes [start, start+n) of this seed, identical to the same scenes of any longer run.

        `threads` > 1 makes blocks concurrently (numpy's generators and scipy's
        filters release the GIL); the result is the same for any thread count.
        """
        n = check_count(n)
        start = check_count(start, "start")
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        first, last = start // BLOCK, (start + max(n, 1) - 1) // BLOCK
        indices = range(first, last + 1)
        # Each block is made in its place in one array by the thread that made it: a
        # concatenation afterwards would be one serial copy of everything (a third of the time
        # with two threads).
        values = np.empty((len(indices) * BLOCK, self.freqs_hz.size, self.times_s.size), dtype=np.float32)

        def make(position: int) -> tuple[ChirpTable, np.ndarray]:
            return self.block_into(seed, indices[position], values[position * BLOCK : (position + 1) * BLOCK])

        if threads == 1 or len(indices) == 1:
            made = [make(i) for i in range(len(indices))]
        else:
            with ThreadPoolExecutor(threads) as pool:
                made = list(pool.map(make, range(len(indices))))
        batch = SceneBatch(
            values, self.times_s, self.freqs_hz, ChirpTable.concat([labels for labels, _ in made]),
            np.concatenate([noise for _, noise in made]), self.name,
        )
        offset = start - first * BLOCK
        return batch.select(slice(offset, offset + n))

    def config(self) -> dict:
        """The parameters that, with a seed, reproduce this scene's data."""
        return {"scene": self.name, "min_chirps": self.min_chirps, "max_chirps": self.max_chirps}
