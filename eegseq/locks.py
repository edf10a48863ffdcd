"""One holder at a time: an exclusive ``fcntl.flock`` on a lock file.

The operating system releases the lock when its holder's process ends, however it ends, so a
killed job never leaves a stale lock. The file holds the holder's process id, for messages.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class LockHeld(RuntimeError):
    """Another process holds the lock at ``path``; ``holder`` is its process id (or "unknown")."""

    def __init__(self, path: Path, holder: str):
        super().__init__(f"{path} is held by process {holder}")
        self.path = path
        self.holder = holder


@contextmanager
def exclusive(path: str | os.PathLike[str], wait: bool = False) -> Iterator[None]:
    """Hold the lock file ``path`` (created, with its folder, if needed) for the block.

    Args:
        wait: wait for another holder to release it instead of raising :class:`LockHeld`.

    Raises:
        LockHeld: another process holds it and ``wait`` is False.
        OSError: the folder or the file cannot be created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise LockHeld(path, os.pread(handle, 32, 0).decode("ascii", "replace").strip() or "unknown") from None
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"{os.getpid()}\n".encode("ascii"), 0)
        yield
    finally:
        os.close(handle)  # releases the lock
