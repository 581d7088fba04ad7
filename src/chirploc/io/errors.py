"""The one error type of chirploc's file reading and writing."""

from __future__ import annotations


class ChirpLocIOError(ValueError):
    """A file or argument chirploc cannot read or write.

    Every message is one line: it names the file (or argument) and says what to do.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


__all__ = ["ChirpLocIOError"]
