"""Chirps in one file's windows, each once, in recording time.

A recording longer than one window is read in overlapping windows (`chirploc.inputs`).
Each window gets its estimates, and `merge_window_estimates` removes what the overlaps
report twice. Then `confirm_in_centred_windows` looks again at the chirps reported by a
window whose both edges cut other chirps: given only the cut tail of one chirp and the
cut head of the next, an estimator with one chirp slot can report a chirp between them
that is not there. An edge cuts a chirp when at least `MIN_CUT_PIECE_S` of it lies
inside the window: a chirp that only grazes the edge leaves nothing there to mislead.
Such a chirp is looked at in a window centred on it: kept (as that window sees it) when
that window reports the same chirp, dropped otherwise. Chirps from other windows are not
re-checked: a centred window that also holds another chirp whole may report only that
one, and a real chirp would be lost. That loss remains for the chirps checked: where the
centred window holds more chirps than the estimator reports in one window (the shipped
model: its one slot and its search for a second chirp), a real chirp can be dropped.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Sequence

from chirploc.describe import PRESENCE_THRESHOLD
from chirploc.inputs import Window, merge_window_estimates, same_chirp, unique_chirps
from chirploc.types import ChirpEstimate

#: estimates for each of a list of windows (a model's or the ridge baseline's)
Estimator = Callable[[list[Window]], list[list[ChirpEstimate]]]

#: seconds of a chirp that must lie inside a window for its edge to count as cutting it
#: (two frames of the signal grid's 0.25 s)
MIN_CUT_PIECE_S = 0.5


def locate(
    windows: Sequence[Window],
    estimator: Estimator,
    presence_threshold: float = PRESENCE_THRESHOLD,
    confirm: bool = True,
) -> tuple[list[list[ChirpEstimate]], list[tuple[str | None, ChirpEstimate]]]:
    """Each window's own estimates, and the chirps of the whole file as (channel, estimate),
    each once, ordered by channel then start time (see the module docstring)."""
    windows = list(windows)
    estimator = _inside_windows(estimator)
    found = estimator(windows)
    merged = merge_window_estimates(list(zip(windows, found)), presence_threshold=presence_threshold)
    if confirm:
        merged = confirm_in_centred_windows(merged, windows, found, estimator, presence_threshold)
    return found, merged


def confirm_in_centred_windows(
    merged: list[tuple[str | None, ChirpEstimate]],
    windows: Sequence[Window],
    found: Sequence[Sequence[ChirpEstimate]],
    estimator: Estimator,
    presence_threshold: float,
) -> list[tuple[str | None, ChirpEstimate]]:
    """`merged` without the chirps that a window cut by other chirps at both its edges
    reported and that a window centred on them does not see (see the module docstring);
    those it does see are replaced by the centred window's estimate."""
    home = {id(e): w for w, ests in zip(windows, found) for e in ests}
    checks: list[tuple[int, Window]] = []
    for k, (channel, est) in enumerate(merged):
        window = home.get(id(est))
        if window is None or window.source is None or window.source.n_samples <= window.source.window_samples:
            continue
        others = [e for ch, e in merged if ch == channel and e is not est]
        lo, hi = window.time_range_s
        cut_at_start = any(_cut_at(e, lo, inside_after=True) for e in others)
        if cut_at_start and any(_cut_at(e, hi, inside_after=False) for e in others):
            checks.append((k, window.source.window_centred_on(est.start_time_s + est.duration_s / 2)))
    if not checks:
        return merged
    seen = estimator([w for _, w in checks])
    kept: dict[int, ChirpEstimate | None] = dict(enumerate(e for _, e in merged))
    for (k, _), estimates in zip(checks, seen):
        same = [e for e in estimates if e.presence >= presence_threshold and same_chirp(e, merged[k][1])]
        kept[k] = max(same, key=lambda e: e.presence) if same else None
    out: list[tuple[str | None, ChirpEstimate]] = []
    for channel in dict.fromkeys(ch for ch, _ in merged):
        mine = [e for k, (ch, _) in enumerate(merged) if ch == channel and (e := kept[k]) is not None]
        out += [(channel, e) for e in unique_chirps(mine)]
    return out


def _inside_windows(estimator: Estimator) -> Estimator:
    """`estimator` whose estimates lie inside their windows: cut to the window's time span
    (a chirp at a recording's very start or end can be read a few tenths of a second past
    it) and dropped where they reach above what the source holds (`Window.band_limit_hz`)."""

    def inside(window: Window, est: ChirpEstimate) -> ChirpEstimate | None:
        if window.band_limit_hz is not None and max(est.start_freq_hz, est.end_freq_hz) > window.band_limit_hz:
            return None
        lo, hi = window.time_range_s
        start, end = max(est.start_time_s, lo), min(est.end_time_s, hi)
        if end <= start:
            return None
        if (start, end) == (est.start_time_s, est.end_time_s):
            return est
        return replace(est, start_time_s=start, duration_s=end - start)

    def estimate(windows: list[Window]) -> list[list[ChirpEstimate]]:
        return [
            [e for est in estimates if (e := inside(w, est)) is not None]
            for w, estimates in zip(windows, estimator(windows))
        ]

    return estimate


def _cut_at(est: ChirpEstimate, edge_s: float, inside_after: bool) -> bool:
    """Whether `est` runs across a window's edge at `edge_s` with at least
    `MIN_CUT_PIECE_S` of it on the window's side (after the edge for its start)."""
    start, end = est.start_time_s, est.end_time_s
    if not start < edge_s < end:
        return False
    return (end - edge_s if inside_after else edge_s - start) >= MIN_CUT_PIECE_S
