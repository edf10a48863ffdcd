"""The one error type for a recording file that cannot be used."""

from __future__ import annotations

import os


class RecordingError(ValueError):
    """A recording (or its annotation file) is unreadable, corrupt, or breaks the configured contract.

    The message always names the file and the cause, so an ingest can report it and skip the file.

    Args:
        message: what is wrong and what was expected.
        path: the offending file; when given, the message is prefixed with it.

    Attributes:
        path: the offending file as a string, or ``None`` when not given.
    """

    def __init__(self, message: str, *, path: str | os.PathLike | None = None) -> None:
        self.path = None if path is None else os.fspath(path)
        super().__init__(message if self.path is None else f"{self.path}: {message}")
