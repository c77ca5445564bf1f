"""File helpers that any room may use: atomic writes and names that never overwrite.

A neutral module: it imports nothing from the rest of vpg-sim, so the policy files,
the recorder and the command line can all share it without depending on each other.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
import time
from pathlib import Path

SPECIAL_FILES = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}
"""What a path that is neither a file nor a folder is, in words for a message."""


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
    remove_stale_temp_files(folder)
    # The writer's process id in the name: a temp file whose writer is gone is known stale.
    handle, temp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp")
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


OUR_TEMP_FILE = re.compile(r"\..+\.(?:(?P<pid>[0-9]+)-)?[a-z0-9_]{8}\.tmp")
"""The name of :func:`write_atomically`'s temp file: ``.<name>.<pid>-<8 random>.tmp``
(``.<name>.<8 random>.tmp`` before the process id was in it)."""
QUIET_SECONDS = 60.0
"""A temp file unchanged this long, whose writer's process is gone, is stale (a kill -9 or
a power cut during a save): a save writes its file and renames it within seconds."""
STALE_SECONDS = 600.0
"""A temp file unchanged this long is stale whoever wrote it (its process id may have been
reused, or it is another machine's on a shared folder)."""


def remove_stale_temp_files(folder: Path, now: float | None = None) -> list[Path]:
    """Remove the temp files :func:`write_atomically` left in ``folder`` when its process
    died mid-write, and return them. Only ours (by name, regular files, never a symlink),
    only stale (:data:`QUIET_SECONDS`, :data:`STALE_SECONDS`); a folder that cannot be read
    or a file that cannot be removed is left as it is. ``now``: ``time.time()``."""
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        match = OUR_TEMP_FILE.fullmatch(entry.name)
        try:
            if match is None or not entry.is_file(follow_symlinks=False):
                continue
            pid = int(match["pid"]) if match["pid"] else None
            if pid == os.getpid():  # this process's own: a save in progress
                continue
            age = now - entry.stat(follow_symlinks=False).st_mtime
            writer_gone = pid is not None and not _running(pid)
            if age > STALE_SECONDS or (writer_gone and age > QUIET_SECONDS):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _running(pid: int) -> bool:
    """Whether a process ``pid`` exists (signal 0 checks without signalling)."""
    if pid > 2**22:  # above Linux's largest pid_max: no process has it
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def unused_path(folder: Path, stem: str, suffix: str) -> Path:
    """``folder/<stem><suffix>``, or ``stem-2``, ``stem-3``... if taken: never overwrite."""
    candidate = folder / f"{stem}{suffix}"
    number = 2
    while candidate.exists() or candidate.is_symlink():
        candidate = folder / f"{stem}-{number}{suffix}"
        number += 1
    return candidate


class NotAFile(ValueError):
    """A path that cannot be read as a file; the message says why in a few words ("no such
    file", "is a folder, not a file", "is a FIFO (named pipe), not a regular file")."""


def read_small_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of the regular file ``path`` (a symlink to one is fine), at most ``max_bytes``.

    Opened with ``O_NONBLOCK``: a FIFO opens at once (it would wait for a writer for ever)
    and is then refused, as a folder, a device or a socket is, by what the open file is.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise NotAFile("is a dangling symlink" if os.path.islink(path) else "no such file") from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise NotAFile("is a symlink loop") from None
        raise NotAFile(f"cannot be read ({error.strerror or error})") from None
    try:
        mode, size = (status := os.fstat(fd)).st_mode, status.st_size
        if stat.S_ISDIR(mode):
            raise NotAFile("is a folder, not a file")
        if not stat.S_ISREG(mode):
            raise NotAFile(f"is {SPECIAL_FILES.get(stat.S_IFMT(mode), 'a special file')}, not a regular file")
        if size > max_bytes:
            raise NotAFile(f"is too large ({size:,} bytes; at most {max_bytes:,})")
        chunks, read = [], 0
        while read <= max_bytes and (chunk := os.read(fd, max_bytes + 1 - read)):
            chunks.append(chunk)
            read += len(chunk)
        if read > max_bytes:  # it grew since it was measured
            raise NotAFile(f"is too large (over {max_bytes:,} bytes)")
        return b"".join(chunks)
    except OSError as error:
        raise NotAFile(f"cannot be read ({error.strerror or error})") from None
    finally:
        os.close(fd)
