"""One writer per store: an exclusive ``fcntl.flock`` on a lock file in the store folder.

The lock is held by the process that writes the store's manifest (the ingest's parent process) for the
whole ingest; the operating system releases it when that process ends, however it ends, so a killed
ingest never leaves a stale lock. Held, it also makes it safe to delete temporary files that a killed
writer left behind (:func:`eegseq.files.remove_stale_temporaries`: nobody else can be writing them).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_FILE = ".ingest.lock"


class StoreLockedError(RuntimeError):
    """Another process holds the store's lock; the message names the store and that process."""


class StoreLock:
    """Exclusive lock of a store folder (created if needed); a context manager.

    Args:
        store_dir: the store folder.
        wait: on entering, wait for another holder to release the lock instead of refusing (for processes
            of one job, e.g. the workers of a multi-worker training, that each make sure the store is ready).

    Raises:
        StoreLockedError: on entering, when another process holds the lock and ``wait`` is False.
    """

    def __init__(self, store_dir: str | os.PathLike, wait: bool = False) -> None:
        self.store_dir = Path(store_dir)
        self.wait = wait
        self._fd: int | None = None

    def __enter__(self) -> StoreLock:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        path = self.store_dir / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if self.wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise StoreLockedError(
                f"{self.store_dir}: another ingest (pid {holder}) is writing this store; wait for it to finish "
                "or stop it, then run again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # releases the flock
            self._fd = None
