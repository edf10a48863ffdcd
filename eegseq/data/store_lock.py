"""One writer per store: an exclusive ``fcntl.flock`` on a lock file in the store folder.

The lock is held by the process that writes the store's manifest (the ingest's parent process) for the
whole ingest; the operating system releases it when that process ends, however it ends, so a killed
ingest never leaves a stale lock. Held, it also makes it safe to delete temporary files that a killed
writer left behind (:func:`eegseq.files.remove_stale_temporaries`: nobody else can be writing them).
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path

from eegseq.locks import LockHeld, exclusive

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
        self._held = ExitStack()

    def __enter__(self) -> StoreLock:
        try:
            self._held.enter_context(exclusive(self.store_dir / LOCK_FILE, self.wait))
        except LockHeld as held:
            raise StoreLockedError(
                f"{self.store_dir}: another ingest (pid {held.holder}) is writing this store; wait for it to finish "
                "or stop it, then run again"
            ) from None
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._held.close()  # releases the flock
