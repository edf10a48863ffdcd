"""Files written whole or not at all: the one atomic-write helper of the library and the jobs.

A file is written under a temporary name in its own folder, flushed to disk (``fsync``),
renamed over its target, and the folder's new entry flushed too. After a crash or a power loss
the target holds its old content or its new content, never a partial or empty file. A process
killed mid-write leaves only a temporary name (``.<name>.<12 hex>.tmp<suffixes>``), which
:func:`remove_stale_temporaries` deletes when the folder's owner next opens it.

Files are created with mode ``0o666`` less the process umask, like any ``open(path, "w")``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_TEMPORARY = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp(\..*)?$")


def _temporary_name(target: Path) -> Path:
    # The target's suffixes are kept: writers that choose a format from them (savefig, Keras'
    # ``.weights.h5`` versus ``.h5``) still do.
    return target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp{''.join(target.suffixes)}")


def _fsync(path: Path) -> None:
    """Flush a file's or a folder's data and metadata to the disk."""
    handle = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0))
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _fsync_tree(folder: Path) -> None:
    for parent, _, names in os.walk(folder):
        for name in names:
            _fsync(Path(parent) / name)
        _fsync(Path(parent))


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty temporary file beside ``path`` to write; on success it replaces ``path``.

    On an exception (including a full disk) the temporary file is deleted and ``path`` is left
    as it was. The parent folder is created if needed.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary_name(target)
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield temporary
        _fsync(temporary)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync(target.parent)


@contextmanager
def atomic_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path`` to fill; on success it replaces ``path``.

    Every file inside is flushed before the rename. An existing ``path`` (a leftover of the same
    name) is removed just before the rename. On an exception the temporary folder is deleted.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary_name(target)
    temporary.mkdir()
    try:
        yield temporary
        _fsync_tree(temporary)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    _fsync(target.parent)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return ``path``."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically; return ``path``."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], data) -> Path:
    """Write ``data`` as indented JSON (keys in their given order; NaN refused) atomically; return ``path``."""
    return atomic_write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def is_temporary(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is named like a temporary of :func:`atomic_path` or :func:`atomic_directory`."""
    return bool(_TEMPORARY.match(Path(path).name))


def remove_stale_temporaries(folder: str | os.PathLike[str], recursive: bool = False) -> list[Path]:
    """Delete the temporaries a killed writer left in ``folder`` (and its subfolders when
    ``recursive``); return what was deleted.

    Only the folder's single owner may call this (for instance under a lock): a temporary of a
    writer still running is indistinguishable from a stale one.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = folder.rglob(".*") if recursive else folder.glob(".*")
    stale = sorted(path for path in found if is_temporary(path))
    for path in stale:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return stale
