"""Plain-language descriptions of chirp estimates: deterministic, with units."""

from __future__ import annotations

from chirploc.types import Chirp, ChirpEstimate

#: below this change of frequency over the whole chirp it is called flat
FLAT_SPAN_HZ = 1.0
#: below this presence probability an estimate is reported as "no chirp"
PRESENCE_THRESHOLD = 0.5


def direction(chirp: Chirp) -> str:
    span = chirp.end_freq_hz - chirp.start_freq_hz
    if abs(span) < FLAT_SPAN_HZ:
        return "flat"
    return "rising" if span > 0 else "falling"


def counted(n: int, noun: str) -> str:
    """'1 scene', '2 scenes'."""
    return f"{n} {noun}{'s' * (n != 1)}"


def _article(word: str) -> str:
    return "An" if word[0] in "aeiou" else "A"


def _plus_minus(est: ChirpEstimate, key: str, unit: str) -> str:
    value = est.uncertainty.get(key) if isinstance(est, ChirpEstimate) else None
    return f" (± {value:.1f} {unit})" if value else ""


def describe(estimate: Chirp | None, presence_threshold: float = PRESENCE_THRESHOLD) -> str:
    """One or two sentences on a chirp: direction, sweep type, times, frequencies, rate, confidence.

    >>> describe(ChirpEstimate(38.9, 10.8, 14.6, 36.8, "exponential", presence=0.97))
    'A rising exponential chirp from 38.9 s to 49.7 s sweeps 14.6 Hz to 36.8 Hz (about 2.1 Hz/s) over 10.8 s; confidence 0.97.'
    """
    if estimate is None:
        return "No chirp found."
    presence = estimate.presence if isinstance(estimate, ChirpEstimate) else None
    if presence is not None and presence < presence_threshold:
        return f"No chirp found (presence {presence:.2f}, below the {presence_threshold:.2f} threshold)."
    way = direction(estimate)
    head = f"{_article(way)} {way} {estimate.sweep} chirp from {estimate.start_time_s:.1f} s" + _plus_minus(
        estimate, "start_time_s", "s") + f" to {estimate.end_time_s:.1f} s" + _plus_minus(estimate, "end_time_s", "s")
    if way == "flat":
        body = f" stays near {(estimate.start_freq_hz + estimate.end_freq_hz) / 2:.1f} Hz"
    else:
        body = (
            f" sweeps {estimate.start_freq_hz:.1f} Hz" + _plus_minus(estimate, "start_freq_hz", "Hz")
            + f" to {estimate.end_freq_hz:.1f} Hz" + _plus_minus(estimate, "end_freq_hz", "Hz")
            + f" (about {abs(estimate.sweep_rate_hz_per_s):.1f} Hz/s)"
        )
    text = head + body + f" over {estimate.duration_s:.1f} s"
    if presence is not None:
        text += f"; confidence {presence:.2f}"
    return text + "."
