"""An evaluation as files a person reads: metrics.json, figures and report.md.

`write_report(result, estimates, batch, out_dir, title)` writes, in `out_dir`:

- ``metrics.json``: the numbers of `chirploc.evaluate.evaluate` (NaN as null);
- ``figures/scatter_<target>.png``: estimate against truth per target, y = x drawn,
  points coloured by noise level (by true duration where it is unknown);
- ``figures/errors_<target>.png``: histogram of estimate - truth, MAE, RMSE and bias noted;
- ``figures/mae_by_duration.png``, ``figures/mae_by_noise.png``: MAE per stratum;
- ``figures/sweep_confusion.png``: true against estimated sweep type;
- ``figures/presence_roc.png``: ROC of presence (only where some scenes hold no chirp);
- ``figures/worst_<k>.png``: the worst-estimated scenes, truth and estimate over
  the spectrogram (and ``figures/false_alarm_<k>.png``, chirp-free scenes called a chirp);
- ``report.md``: the figures (relative paths) and the numbers in tables, units in
  every header.

Figures are drawn on their own `Figure` objects (no pyplot state) with the Agg
backend, and PNGs are written without a software stamp, so the same evaluation
gives the same files (throughput, measured in wall-clock time, aside).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from chirploc.describe import counted  # noqa: E402
from chirploc.evaluate import match_estimates, presence_scores, to_json_ready  # noqa: E402
from chirploc.metrics import TARGETS  # noqa: E402
from chirploc.plot import plot_overlay  # noqa: E402
from chirploc.types import SWEEP_TYPES, ChirpEstimate, SceneBatch  # noqa: E402

FIGURES = "figures"
N_WORST = 6
N_FALSE_ALARMS = 2

NAMES = {
    "start_time_s": "Start time",
    "end_time_s": "End time",
    "duration_s": "Duration",
    "start_freq_hz": "Start frequency",
    "end_freq_hz": "End frequency",
}
_TIME_TARGETS = [k for k, u in TARGETS.items() if u == "s"]
_FREQ_TARGETS = [k for k, u in TARGETS.items() if u == "Hz"]
_COLOURS = {
    "start_time_s": "#1f77b4", "end_time_s": "#ff7f0e", "duration_s": "#2ca02c",
    "start_freq_hz": "#d62728", "end_freq_hz": "#9467bd",
}


# --------------------------------------------------------------------------- helpers


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, metadata={"Software": None})
    fig.clear()
    return path


def _num(x: Any, digits: int) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:.{digits}f}"


def _pct(x: Any) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{100 * x:.1f}"


def _digits(unit: str) -> int:
    return 3 if unit == "s" else 2


def _noise_label(noise: dict[str, Any]) -> str:
    unit = f" ({noise['unit']})" if noise.get("unit") else ""
    way = {True: ", higher = noisier", False: ", higher = cleaner"}.get(noise.get("higher_is_noisier"), "")
    return f"{noise['name']}{unit}{way}"


# --------------------------------------------------------------------------- figures


def _scatter(path: Path, target: str, truth: np.ndarray, estimate: np.ndarray, colour: np.ndarray,
             colour_label: str, cmap: str, metrics: dict[str, Any]) -> Path:
    unit = TARGETS[target]
    fig = _figure(5.6, 4.8)
    ax = fig.add_subplot()
    if truth.size:
        finite = np.isfinite(colour)
        points = ax.scatter(
            truth[finite], estimate[finite], c=colour[finite], cmap=cmap, s=9, alpha=0.75, linewidths=0
        )
        if (~finite).any():
            ax.scatter(truth[~finite], estimate[~finite], c="grey", s=9, alpha=0.75, linewidths=0)
        if finite.any():
            fig.colorbar(points, ax=ax, label=colour_label)
        both = np.concatenate([truth, estimate])
        lo, hi = float(np.min(both)), float(np.max(both))
        pad = 0.03 * (hi - lo or 1.0)
        lo, hi = lo - pad, hi + pad
        ax.plot([lo, hi], [lo, hi], color="black", linewidth=1, linestyle="--", label="y = x")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.legend(loc="upper left", fontsize=8)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel(f"True {NAMES[target].lower()} ({unit})")
    ax.set_ylabel(f"Estimated {NAMES[target].lower()} ({unit})")
    ax.set_title(
        f"{NAMES[target]}: r = {_num(metrics.get('pearson_r'), 4)}, "
        f"MAE = {_num(metrics.get('mae'), _digits(unit))} {unit} (n = {metrics.get('n', 0)})",
        fontsize=10,
    )
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def _error_histogram(path: Path, target: str, errors: np.ndarray, metrics: dict[str, Any]) -> Path:
    unit = TARGETS[target]
    fig = _figure(5.6, 3.8)
    ax = fig.add_subplot()
    outside = 0
    if errors.size:
        # wide enough for the bulk and its shoulders; far outliers are counted, not drawn
        size = np.abs(errors)
        span = min(2.0 * float(np.percentile(size, 95)), float(np.max(size)))
        span = span if span > 0 else float(np.max(size)) or 1.0
        inside = np.abs(errors) <= span
        outside = int((~inside).sum())
        ax.hist(errors[inside], bins=60, range=(-span, span), color=_COLOURS[target], alpha=0.85)
        ax.axvline(0.0, color="black", linewidth=1)
        bias = metrics.get("bias")
        if bias is not None and math.isfinite(bias):
            ax.axvline(bias, color="red", linestyle="--", linewidth=1.2, label="bias")
            ax.legend(loc="upper right", fontsize=8)
    d = _digits(unit)
    text = (
        f"MAE = {_num(metrics.get('mae'), d)} {unit}\nRMSE = {_num(metrics.get('rmse'), d)} {unit}\n"
        f"bias = {_num(metrics.get('bias'), d)} {unit}\nn = {metrics.get('n', 0)}"
    )
    if outside:
        text += f"\n{outside} beyond the axis"
    ax.text(0.02, 0.97, text, transform=ax.transAxes, va="top", ha="left", fontsize=8,
            bbox=dict(boxstyle="round", facecolor="white", alpha=0.8))
    ax.set_xlabel(f"Error in {NAMES[target].lower()}, estimate − truth ({unit})")
    ax.set_ylabel("Chirps (count)")
    ax.set_title(f"{NAMES[target]} errors", fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def _mae_by_stratum(path: Path, stratum: dict[str, Any], xlabel: str) -> Path:
    bins = stratum["bins"]
    unit = f" {stratum['unit']}" if stratum.get("unit") else ""
    short = [b["label"][: -len(unit)] if unit and b["label"].endswith(unit) else b["label"] for b in bins]
    labels = [f"{text}\n(n = {b['n']})" for text, b in zip(short, bins)]
    x = np.arange(len(bins))
    fig = _figure(10, 3.9)
    for col, (targets, unit) in enumerate(((_TIME_TARGETS, "s"), (_FREQ_TARGETS, "Hz"))):
        ax = fig.add_subplot(1, 2, col + 1)
        width = 0.8 / len(targets)
        for j, target in enumerate(targets):
            mae = [b["targets"].get(target, {}).get("mae", float("nan")) for b in bins]
            mae = [m if m is not None else float("nan") for m in mae]
            ax.bar(x + (j - (len(targets) - 1) / 2) * width, mae, width, label=NAMES[target],
                   color=_COLOURS[target])
        ax.set_xticks(x, labels, fontsize=8)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"MAE ({unit})")
        ax.set_title(f"{'Times' if unit == 's' else 'Frequencies'}: mean absolute error ({unit})", fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return _save(fig, path)


def _confusion(path: Path, sweep: dict[str, Any]) -> Path:
    counts = np.asarray(sweep["confusion"], dtype=np.int64)
    used = [k for k in range(len(SWEEP_TYPES)) if counts[k].sum() or counts[:, k].sum()] or [0]
    counts = counts[np.ix_(used, used)]
    names = [SWEEP_TYPES[k] for k in used]
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros(counts.shape), where=rows > 0)
    fig = _figure(2.8 + 1.1 * len(used), 1.8 + 1.0 * len(used))
    ax = fig.add_subplot()
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, label="Share of the true type's chirps")
    for i in range(len(used)):
        for j in range(len(used)):
            ax.text(j, i, f"{counts[i, j]}\n{100 * share[i, j]:.0f} %", ha="center", va="center", fontsize=9,
                    color="white" if share[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(used)), names)
    ax.set_yticks(range(len(used)), names)
    ax.set_xlabel("Estimated sweep type")
    ax.set_ylabel("True sweep type")
    ax.set_title(f"Sweep type: accuracy {_pct(sweep['accuracy'])} %, n = {sweep['n']}", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def _roc(path: Path, scores: np.ndarray, positive: np.ndarray, auc: float) -> Path:
    order = np.argsort(-scores, kind="mergesort")
    s, p = scores[order], positive[order]
    last_of_tie = np.r_[s[1:] != s[:-1], True]
    tpr = np.r_[0.0, np.cumsum(p)[last_of_tie] / max(p.sum(), 1)]
    fpr = np.r_[0.0, np.cumsum(~p)[last_of_tie] / max((~p).sum(), 1)]
    fig = _figure(4.6, 4.4)
    ax = fig.add_subplot()
    ax.plot(fpr, tpr, color="#1f77b4", linewidth=1.6, label=f"AUC = {_num(auc, 4)}")
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set_xlabel("False-positive rate (share of chirp-free scenes)")
    ax.set_ylabel("True-positive rate (share of scenes with a chirp)")
    ax.set_title("Presence: ROC over scenes", fontsize=10)
    ax.set_aspect("equal", adjustable="box")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


# --------------------------------------------------------------------------- markdown


def _img(rel: str, alt: str) -> str:
    return f"![{alt}]({rel})"


def _metrics_tables(targets: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for unit, group, what in (("s", _TIME_TARGETS, "Times"), ("Hz", _FREQ_TARGETS, "Frequencies")):
        present = [t for t in group if t in targets]
        if not present:
            continue
        d = _digits(unit)
        lines += [
            f"**{what} ({unit})**",
            "",
            f"| Target | Pearson r (unitless) | MAE ({unit}) | RMSE ({unit}) | Bias, estimate − truth ({unit}) | n (chirps) |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for t in present:
            m = targets[t]
            lines.append(
                f"| {NAMES[t]} | {_num(m['pearson_r'], 4)} | {_num(m['mae'], d)} | {_num(m['rmse'], d)} "
                f"| {_num(m['bias'], d)} | {m['n']} |"
            )
        lines.append("")
    return lines


def _stratum_table(stratum: dict[str, Any], first_header: str) -> list[str]:
    heads = [f"{NAMES['start_time_s']} r (unitless)"] + [f"{NAMES[t]} MAE ({TARGETS[t]})" for t in TARGETS]
    lines = [
        f"| {first_header} | n (chirps) | " + " | ".join(heads) + " | Sweep-type accuracy (%) |",
        "|---|---:|" + "---:|" * len(heads) + "---:|",
    ]
    for b in stratum["bins"]:
        m = b["targets"]
        cells = [_num(m.get("start_time_s", {}).get("pearson_r"), 4)]
        cells += [_num(m.get(t, {}).get("mae"), _digits(TARGETS[t])) for t in TARGETS]
        lines.append(f"| {b['label']} | {b['n']} | " + " | ".join(cells) + f" | {_pct(b['sweep_accuracy'])} |")
    return lines + [""]


def _estimate_text(est: ChirpEstimate | None) -> str:
    if est is None:
        return "none"
    return (f"{est.start_time_s:.2f}–{est.end_time_s:.2f} s, {est.start_freq_hz:.1f}→{est.end_freq_hz:.1f} Hz, "
            f"{est.sweep}, presence {est.presence:.2f}")


def _chirp_text(ch) -> str:
    return f"{ch.start_time_s:.2f}–{ch.end_time_s:.2f} s, {ch.start_freq_hz:.1f}→{ch.end_freq_hz:.1f} Hz, {ch.sweep}"


# --------------------------------------------------------------------------- report


def write_report(
    result: dict[str, Any],
    estimates: Sequence[Sequence[ChirpEstimate]],
    batch: SceneBatch,
    out_dir: str | Path,
    title: str = "chirploc evaluation",
) -> Path:
    """Write metrics.json, the figures and report.md into `out_dir`; return report.md's path."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"report folder {out} is a file: choose another --out")
    figdir = out / FIGURES
    figdir.mkdir(parents=True, exist_ok=True)
    for old in [*figdir.glob("worst_*.png"), *figdir.glob("false_alarm_*.png"), figdir / "presence_roc.png"]:
        old.unlink(missing_ok=True)  # left by an earlier report into the same folder

    clean = to_json_ready(result)
    (out / "metrics.json").write_text(json.dumps(clean, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    matches = match_estimates(estimates, batch)
    errors = matches.errors()
    noise = result["data"]["noise_level"]
    targets = result["targets"]
    strata = result["strata"]

    # scatter colour: noise level where known, else true duration
    if np.isfinite(matches.noise_level).any():
        colour, colour_label = matches.noise_level, _noise_label(noise)
        cmap = "plasma_r" if noise.get("higher_is_noisier") is False else "plasma"
    else:
        colour, colour_label, cmap = matches.truth["duration_s"], "True duration (s)", "viridis"

    rel: dict[str, str] = {}
    for t in TARGETS:
        m = targets.get(t, {"n": 0})
        _scatter(figdir / f"scatter_{t}.png", t, matches.truth[t], matches.estimate[t], colour, colour_label, cmap, m)
        _error_histogram(figdir / f"errors_{t}.png", t, errors[t], m)
        rel[f"scatter_{t}"] = f"{FIGURES}/scatter_{t}.png"
        rel[f"errors_{t}"] = f"{FIGURES}/errors_{t}.png"
    _mae_by_stratum(figdir / "mae_by_duration.png", strata["duration"], "True duration (s)")
    rel["mae_by_duration"] = f"{FIGURES}/mae_by_duration.png"
    has_noise_bins = bool(strata["noise"]["bins"])
    if has_noise_bins:
        _mae_by_stratum(figdir / "mae_by_noise.png", strata["noise"], f"Quartile of {_noise_label(noise)}")
        rel["mae_by_noise"] = f"{FIGURES}/mae_by_noise.png"
    _confusion(figdir / "sweep_confusion.png", result["sweep"])
    rel["sweep_confusion"] = f"{FIGURES}/sweep_confusion.png"
    presence = result.get("presence")
    has_chirp = batch.labels.present.any(axis=1)
    scores = presence_scores(estimates)
    if presence is not None and presence.get("auc") is not None and math.isfinite(presence["auc"]):
        _roc(figdir / "presence_roc.png", scores, has_chirp, presence["auc"])
        rel["presence_roc"] = f"{FIGURES}/presence_roc.png"

    # worst cases: the largest mean error relative to the axes' spans, one entry per scene
    data = result["data"]
    t_span = data["time_range_s"][1] - data["time_range_s"][0]
    f_span = data["freq_range_hz"][1] - data["freq_range_hz"][0]
    worst_rows: list[tuple[str, int, str]] = []
    worst_lines: list[str] = []
    if len(matches):
        relative = np.mean(
            [np.abs(errors[t]) / (t_span if TARGETS[t] == "s" else f_span) for t in TARGETS], axis=0
        )
        order = np.argsort(-relative, kind="mergesort")
        seen: set[int] = set()
        for p in order:
            i = int(matches.scene[p])
            if i in seen:
                continue
            seen.add(i)
            k = len(seen)
            est = estimates[i][int(matches.estimate_index[p])]
            truth = batch.chirps(i)
            shown = sorted(estimates[i], key=lambda e: -e.presence)[: max(len(truth), 1)]
            name = f"worst_{k}.png"
            plot_overlay(
                batch.spectrogram(i), figdir / name, truth=truth, estimates=shown,
                title=(f"scene {i}: start-time error {errors['start_time_s'][p]:+.2f} s, "
                       f"start-freq error {errors['start_freq_hz'][p]:+.1f} Hz"),
                source=batch.scene,
            )
            worst_rows.append((f"{FIGURES}/{name}", i, "worst"))
            slots = np.flatnonzero(batch.labels.present[i])
            true_chirp = truth[int(np.flatnonzero(slots == matches.slot[p])[0])]
            worst_lines.append(
                f"| {k} | {i} | {_fmt_level(batch.noise_level[i])} | {_chirp_text(true_chirp)} | {_estimate_text(est)} "
                f"| {errors['start_time_s'][p]:+.2f} | {errors['end_time_s'][p]:+.2f} "
                f"| {errors['start_freq_hz'][p]:+.1f} | {errors['end_freq_hz'][p]:+.1f} |"
            )
            if k >= N_WORST:
                break
    alarm_lines: list[str] = []
    if (~has_chirp).any():
        free = np.flatnonzero(~has_chirp & (scores >= 0.5))
        free = free[np.argsort(-scores[free], kind="mergesort")][:N_FALSE_ALARMS]
        for k, i in enumerate(free, start=1):
            name = f"false_alarm_{k}.png"
            best = sorted(estimates[i], key=lambda e: -e.presence)[:1]
            plot_overlay(batch.spectrogram(int(i)), figdir / name, truth=[], estimates=best,
                         title=f"scene {i}: no chirp, estimated presence {scores[i]:.2f}", source=batch.scene)
            worst_rows.append((f"{FIGURES}/{name}", int(i), "false alarm"))
            alarm_lines.append(f"| {k} | {i} | {_fmt_level(batch.noise_level[i])} | {_estimate_text(best[0])} |")

    md = _markdown(result, title, rel, has_noise_bins, worst_lines, alarm_lines, worst_rows)
    path = out / "report.md"
    path.write_text(md, encoding="utf-8")
    return path


def _noise_header(noise: dict[str, Any]) -> str:
    name = noise["name"][:1].upper() + noise["name"][1:]
    if noise.get("unit"):
        return f"{name} ({noise['unit']})"
    return name if "(" in name else f"{name} (the scene's own units)"


def _noise_line(noise: dict[str, Any]) -> str:
    if noise["name"] == "noise level":  # no scene-specific name: the meaning says it all
        return f"- Noise level: {noise['meaning']}."
    unit = f" in {noise['unit']}" if noise.get("unit") else ""
    return f"- Noise level: {noise['name']}{unit} — {noise['meaning']}."


def _fmt_level(x: float) -> str:
    return f"{x:.3g}" if math.isfinite(float(x)) else "n/a"


def _markdown(result, title, rel, has_noise_bins, worst_lines, alarm_lines, worst_rows) -> str:
    data = result["data"]
    noise = data["noise_level"]
    thr = result.get("throughput")
    lines: list[str] = [f"# {title}", ""]
    source = data.get("source", data.get("scene", ""))
    lines += [
        f"- Data: `{source}` — {counted(data['n_scenes'], 'scene')} of kind `{data['scene'] or 'unknown'}` "
        f"({data['n_scenes_with_chirp']} with a chirp, {data['n_scenes_without_chirp']} without; "
        f"{data['n_true_chirps']} true chirps), "
        f"{'seed ' + str(data['seed']) + ', ' if 'seed' in data else ''}"
        f"plane {data['time_range_s'][0]:g}–{data['time_range_s'][1]:g} s × "
        f"{data['freq_range_hz'][0]:g}–{data['freq_range_hz'][1]:g} Hz on a "
        f"{data['grid_shape'][0]} × {data['grid_shape'][1]} grid (freq × time).",
    ]
    if thr:
        lines.append(f"- Estimator: {thr.get('estimator', thr.get('method'))} (method `{thr.get('method')}`).")
    lines += [
        f"- Matching: {result['matching']}. Matched chirps: {result['n_matched']}; "
        f"true chirps without an estimate: {result['n_unmatched_chirps']}.",
        _noise_line(noise),
        "",
        "## Overall",
        "",
    ]
    lines += _metrics_tables(result["targets"])
    sweep = result["sweep"]
    lines += [
        "| Sweep-type accuracy (%) | n (chirps) |",
        "|---:|---:|",
        f"| {_pct(sweep['accuracy'])} | {sweep['n']} |",
        "",
    ]
    presence = result.get("presence")
    if presence is not None:
        lines += [
            f"**Presence** (score: {presence['score']}; threshold {presence['threshold']:g})",
            "",
            "| ROC AUC (unitless) | Accuracy at 0.5 (%) | True-positive rate (%) | False-positive rate (%) "
            "| Chirp-count accuracy (%) | Scenes with a chirp (count) | Scenes without (count) |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            f"| {_num(presence['auc'], 4)} | {_pct(presence['accuracy'])} | {_pct(presence['true_positive_rate'])} "
            f"| {_pct(presence['false_positive_rate'])} | {_pct(presence['count_accuracy'])} "
            f"| {presence['n_with_chirp']} | {presence['n_without_chirp']} |",
            "",
        ]
    ref = result.get("reference")
    if ref is not None:
        lines += [
            "**Reference** (ChirpLoc100K)",
            "",
            "| System | Start-time Pearson r (unitless) |",
            "|---|---:|",
            f"| Published reference: {ref['source']} | {ref['start_time_s_pearson_r']:.4f} |",
            f"| This evaluation | {_num(ref['this_start_time_s_pearson_r'], 4)} |",
            "",
        ]
    if thr:
        lines += [
            "**Throughput** (" + str(thr.get("note", "")) + ")",
            "",
            "| Spectrograms (count) | Time (s) | Throughput (spectrograms/s) | Batch size (spectrograms) |",
            "|---:|---:|---:|---:|",
            f"| {thr['n_spectrograms']} | {_num(thr['seconds'], 2)} | {_num(thr['spectrograms_per_s'], 1)} "
            f"| {thr['batch_size']} |",
            "",
        ]
    lines += ["## Estimate against truth", ""]
    for t in TARGETS:
        lines += [
            f"### {NAMES[t]} ({TARGETS[t]})", "",
            _img(rel[f"scatter_{t}"], f"{NAMES[t]}: estimate against truth") + " "
            + _img(rel[f"errors_{t}"], f"{NAMES[t]}: error histogram"), "",
        ]
    strata = result["strata"]
    lines += ["## By true duration", ""]
    lines += _stratum_table(strata["duration"], "True duration (s)")
    lines += [_img(rel["mae_by_duration"], "MAE by true duration"), ""]
    lines += ["## By noise level", ""]
    nz = strata["noise"]
    if has_noise_bins:
        unit = f" ({nz['unit']})" if nz.get("unit") else ""
        lines += [
            f"Bins are {nz['binning']}; {nz['variable']}: {nz['meaning']}. "
            f"Edges{unit}: " + ", ".join(f"{e:.4g}" for e in nz["edges"]) + ".",
            "",
        ]
        lines += _stratum_table(nz, _noise_header(noise))
        lines += [_img(rel["mae_by_noise"], "MAE by noise level"), ""]
    else:
        lines += [nz.get("note", "No noise levels."), ""]
    lines += ["## By true sweep type", ""]
    lines += _stratum_table(strata["sweep"], "True sweep type (name)")
    lines += [_img(rel["sweep_confusion"], "Sweep-type confusion matrix"), ""]
    if "presence_roc" in rel:
        lines += ["## Presence", "", _img(rel["presence_roc"], "Presence ROC"), ""]
    if worst_lines:
        lines += [
            "## Worst cases",
            "",
            "Ranked by the mean absolute error of the five targets, each relative to its axis span. "
            "Truth dashed white, estimate red.",
            "",
            f"| Rank | Scene (index) | {_noise_header(noise)} "
            "| Truth (s, Hz, type) | Estimate (s, Hz, type, presence) | Start-time error (s) "
            "| End-time error (s) | Start-freq error (Hz) | End-freq error (Hz) |",
            "|---:|---:|---:|---|---|---:|---:|---:|---:|",
            *worst_lines,
            "",
        ]
        lines += [_img(p, f"scene {i}: {kind}") for p, i, kind in worst_rows if kind == "worst"]
        lines.append("")
    if alarm_lines:
        lines += [
            "## False alarms",
            "",
            "Chirp-free scenes with the highest estimated presence (at least 0.5).",
            "",
            f"| Rank | Scene (index) | {_noise_header(noise)} "
            "| Estimate (s, Hz, type, presence) |",
            "|---:|---:|---:|---|",
            *alarm_lines,
            "",
        ]
        lines += [_img(p, f"scene {i}: {kind}") for p, i, kind in worst_rows if kind == "false alarm"]
        lines.append("")
    return "\n".join(lines)


__all__ = ["write_report"]
