"""Chirp estimates as flat records: JSON, CSV, and MNE-Python annotation files.

A record is a dict with these keys, in this order:

    file, channel (only when the input has channels), start_time_s, end_time_s,
    duration_s, start_freq_hz, end_freq_hz, sweep, sweep_rate_hz_per_s, presence,
    <quantity>_std for each quantity the estimator gave an uncertainty for
    (e.g. start_time_s_std), description

A file (or channel) where no chirp passes the presence threshold gets one record
whose numbers are empty (None in JSON, blank in CSV), with the best presence
seen and a description that starts "No chirp found".
"""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterable, Sequence, TextIO

from chirploc.describe import PRESENCE_THRESHOLD, describe, direction
from chirploc.io.errors import ChirpLocIOError
from chirploc.types import Chirp, ChirpEstimate

#: the numeric quantities of a record, in column order
QUANTITIES = (
    "start_time_s", "end_time_s", "duration_s", "start_freq_hz", "end_freq_hz",
)
COLUMNS = (
    "file", "channel", *QUANTITIES, "sweep", "sweep_rate_hz_per_s", "presence",
    *(f"{q}_std" for q in (*QUANTITIES, "sweep_rate_hz_per_s")), "description",
)
FORMATS = ("json", "csv")
#: decimals kept in records (times and frequencies to a thousandth)
DECIMALS = 4
#: MNE-Python's time stamp layout in annotation CSV files
MNE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
MNE_EPOCH = datetime(1970, 1, 1)


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), DECIMALS)


def estimate_record(
    est: Chirp, file: str | Path, channel: str | None = None, presence_threshold: float = PRESENCE_THRESHOLD
) -> dict[str, Any]:
    """The record of one estimate (see the module docstring)."""
    record: dict[str, Any] = {"file": str(file)}
    if channel is not None:
        record["channel"] = str(channel)
    record.update(
        start_time_s=_round(est.start_time_s),
        end_time_s=_round(est.end_time_s),
        duration_s=_round(est.duration_s),
        start_freq_hz=_round(est.start_freq_hz),
        end_freq_hz=_round(est.end_freq_hz),
        sweep=est.sweep,
        sweep_rate_hz_per_s=_round(est.sweep_rate_hz_per_s),
        presence=_round(getattr(est, "presence", 1.0)),
    )
    uncertainty = getattr(est, "uncertainty", None) or {}
    ordered = [q for q in (*QUANTITIES, "sweep_rate_hz_per_s") if q in uncertainty]
    ordered += sorted(set(uncertainty) - set(ordered))
    for name in ordered:
        record[f"{name}_std"] = _round(uncertainty[name])
    record["description"] = describe(est, presence_threshold)
    return record


def no_chirp_record(
    file: str | Path,
    channel: str | None = None,
    best: ChirpEstimate | None = None,
    presence_threshold: float = PRESENCE_THRESHOLD,
) -> dict[str, Any]:
    """The record of a file (or channel) where no chirp passed the threshold; `best` is
    the most likely candidate seen, whose presence is reported."""
    record: dict[str, Any] = {"file": str(file)}
    if channel is not None:
        record["channel"] = str(channel)
    record.update({q: None for q in QUANTITIES})
    record.update(sweep=None, sweep_rate_hz_per_s=None, presence=_round(best.presence) if best else None)
    if best is not None and best.presence < presence_threshold:
        record["description"] = describe(best, presence_threshold)
    else:
        record["description"] = "No chirp found."
    return record


def is_no_chirp(record: dict[str, Any]) -> bool:
    return record.get("start_time_s") in (None, "")


def columns_of(records: Iterable[dict[str, Any]]) -> list[str]:
    """The columns the records use, in the canonical order (unknown keys last)."""
    seen: dict[str, None] = {}
    for record in records:
        seen.update(dict.fromkeys(record))
    known = [c for c in COLUMNS if c in seen]
    return known + [c for c in seen if c not in COLUMNS]


def format_records(records: Sequence[dict[str, Any]], fmt: str = "json") -> str:
    """Records as JSON (a list) or CSV (a header, then one row per record; None is blank)."""
    fmt = fmt.lower()
    if fmt == "json":
        return json.dumps(list(records), indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns_of(records) or list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow({k: ("" if v is None else v) for k, v in record.items()})
        return buffer.getvalue()
    raise ChirpLocIOError(f"unknown output format {fmt!r}: use one of {', '.join(FORMATS)}")


def write_records(
    records: Sequence[dict[str, Any]], path: str | Path | None = None, fmt: str = "json", stream: TextIO | None = None
) -> Path | None:
    """Write records to `path` (its folder is made) or, when None, to `stream` (stdout)."""
    text = format_records(records, fmt)
    if path is None:
        (stream or sys.stdout).write(text)
        return None
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise ChirpLocIOError(f"{path}: cannot write the results ({err.strerror or err}): pick a writable path") from err
    return path


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Records written by `write_records` (JSON or CSV, by the file's suffix or content)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ChirpLocIOError(f"{path}: cannot read it ({err.strerror or err})") from err
    except UnicodeDecodeError as err:
        raise ChirpLocIOError(f"{path}: is not a text file: pass a JSON or CSV file written by `chirploc predict`") from err
    if not text.strip():
        raise ChirpLocIOError(f"{path}: the file is empty")
    if path.suffix.lower() == ".csv" or not text.lstrip().startswith(("[", "{")):
        rows = list(csv.DictReader(io.StringIO(text)))
        data: Any = [{k: (None if v == "" else v) for k, v in row.items()} for row in rows]
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ChirpLocIOError(f"{path}: is not valid JSON ({err}): pass a file written by `chirploc predict`") from err
        data = [data] if isinstance(data, dict) else data
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ChirpLocIOError(f"{path}: holds no list of records: pass a file written by `chirploc predict`")
    needed = ("file", "presence")
    if not data or any(not all(key in r for key in needed) for r in data):
        raise ChirpLocIOError(
            f"{path}: holds no chirploc records (each has the fields {', '.join(needed)} and the chirp's numbers): "
            "pass a file written by `chirploc predict`"
        )
    return data


def record_estimate(record: dict[str, Any]) -> ChirpEstimate | None:
    """The estimate a record holds (None for a no-chirp record)."""
    if is_no_chirp(record):
        return None
    try:
        number = lambda key: float(record[key])  # noqa: E731
        presence = record.get("presence")
        uncertainty = {
            key[: -len("_std")]: float(value)
            for key, value in record.items()
            if key.endswith("_std") and value not in (None, "")
        }
        return ChirpEstimate(
            start_time_s=number("start_time_s"),
            duration_s=number("duration_s") if record.get("duration_s") not in (None, "") else number("end_time_s") - number("start_time_s"),
            start_freq_hz=number("start_freq_hz"),
            end_freq_hz=number("end_freq_hz"),
            sweep=str(record.get("sweep") or "linear"),
            presence=1.0 if presence in (None, "") else float(presence),
            uncertainty=uncertainty,
        )
    except (KeyError, TypeError, ValueError) as err:
        raise ChirpLocIOError(f"record {record.get('file', '')!r} is incomplete or malformed ({err})") from err


def annotation_label(record: dict[str, Any]) -> str:
    """A short event name for MNE: 'chirp/<direction>/<sweep>' (MNE reads '/' as tags)."""
    est = record_estimate(record)
    return "chirp" if est is None else f"chirp/{direction(est)}/{est.sweep}"


def write_mne_annotations(
    records: Sequence[dict[str, Any]], path: str | Path, orig_time: datetime | None = None
) -> Path:
    """An annotation CSV that `mne.read_annotations` reads: columns onset, duration,
    description (and ch_names where the records name channels).

    MNE's CSV layout stamps each onset as a date and time ('%Y-%m-%d %H:%M:%S.%f',
    UTC): the onset is `orig_time` (the recording's start, e.g. an EDF header's; MNE's
    default 1970-01-01 00:00:00 when unknown) plus the chirp's start in seconds. MNE
    reads them back relative to the first row with that row's time as orig_time, so
    attached to the recording (`raw.set_annotations`) they land where the chirps are.
    Records without a chirp are left out. MNE cannot read a CSV with no rows, so a
    recording without chirps gives a file holding only the header.
    """
    path = Path(path)
    base = (orig_time or MNE_EPOCH).replace(tzinfo=None)
    chirps = sorted((r for r in records if not is_no_chirp(r)), key=lambda r: float(r["start_time_s"]))
    with_channels = any(r.get("channel") not in (None, "") for r in chirps)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["onset", "duration", "description"] + (["ch_names"] if with_channels else []))
    for record in chirps:
        onset = base + timedelta(seconds=float(record["start_time_s"]))
        row = [onset.strftime(MNE_TIME_FORMAT), f"{float(record['duration_s']):.6f}", annotation_label(record)]
        if with_channels:
            row.append(str(record.get("channel") or "").replace(":", "{COLON}"))
        writer.writerow(row)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(buffer.getvalue(), encoding="utf-8")
    except OSError as err:
        raise ChirpLocIOError(f"{path}: cannot write the annotations ({err.strerror or err}): pick a writable path") from err
    return path


__all__ = [
    "COLUMNS",
    "estimate_record",
    "format_records",
    "no_chirp_record",
    "read_records",
    "record_estimate",
    "write_mne_annotations",
    "write_records",
]
