"""File helpers that any room may use: atomic writes and names that never overwrite.

A neutral module: it imports nothing from the rest of vpg-sim, so the policy files,
the recorder and the command line can all share it without depending on each other.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _read_umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it, so do it once, before any thread
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves the old file or the new one, whole.

    A temp file in the same folder is written, flushed and fsynced, then renamed over
    ``path``; the folder is fsynced so that the rename itself is durable.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); what we write is for sharing, so give it
        # the mode any new file gets here (0644 under the usual umask 022).
        os.fchmod(handle, 0o666 & ~_UMASK)
        with os.fdopen(handle, "wb") as temp:
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def unused_path(folder: Path, stem: str, suffix: str) -> Path:
    """``folder/<stem><suffix>``, or ``stem-2``, ``stem-3``... if taken: never overwrite."""
    candidate = folder / f"{stem}{suffix}"
    number = 2
    while candidate.exists() or candidate.is_symlink():
        candidate = folder / f"{stem}-{number}{suffix}"
        number += 1
    return candidate
