"""Worker processes for the fits: a process pool where it helps, this process where it cannot."""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from concurrent.futures import Executor, Future, ProcessPoolExecutor


class _Inline(Executor):
    """Runs each job when it is submitted: the serial path, the same results as a pool's."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        job: Future = Future()
        try:
            job.set_result(fn(*args, **kwargs))
        except Exception as err:
            job.set_exception(err)
        return job


def available_cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def fit_pool(workers: int | None, jobs: int) -> Executor:
    """Worker processes for the fits (forked: they start in milliseconds and share the parent's
    memory), `workers` of them (None: one per available core) but no more than `jobs`; the fits
    run in this process where that is one worker, off Linux (fork is unsafe on macOS and absent
    on Windows), or in a daemon process (one may not start children)."""
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1 (or None: one per core), got {workers}")
    n = min(available_cores() if workers is None else workers, jobs)
    if n < 2 or not sys.platform.startswith("linux") or mp.current_process().daemon:
        return _Inline()
    return ProcessPoolExecutor(n, mp_context=mp.get_context("fork"))
