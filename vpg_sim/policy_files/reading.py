"""Reading a policy file's container without trusting it: a regular file, a bounded
header, tensors copied out one by one.

What a stranger's file could otherwise do: hang the reader (a FIFO waits for a writer
for ever), fill memory (a symlink to /dev/zero never ends; a header that claims 100 MB
of JSON becomes GBs of Python objects), or crash it (JSON nested 100,000 deep). So:

- the path is ``stat``-ed before it is opened, and only a regular file is opened, with
  ``O_NONBLOCK`` so that one swapped for a FIFO in between does not block either;
- the header's 8-byte length is checked against :data:`MAX_HEADER_BYTES` and the file's
  size before one byte of the header is read, and its JSON's nesting before it is parsed;
- tensors are read by safetensors' ``safe_open``, which maps the file and copies out only
  the tensors asked for, so nothing reads the whole file into memory.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError, safe_open

from vpg_sim.files import SPECIAL_FILES
from vpg_sim.policy_files.errors import PolicyFileError

MAX_HEADER_BYTES = 8 * 1024 * 1024
"""The largest safetensors header read. A policy's is a few KB (16 envs' resume state is
~10 KB; 1,024 envs' under 1 MB). safetensors itself allows 100 MB, which as Python
objects could take several GB."""
MAX_JSON_DEPTH = 32
"""The deepest JSON nesting read (a policy file's deepest is 7). Deeper is refused before
parsing: neither ``json`` nor anything that walks the result meets Python's recursion limit."""

_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_A_BRACKET = bytes(byte for byte in range(256) if byte not in b"[]{}")


@dataclass(frozen=True)
class Header:
    """A safetensors header: its tensor entries and its string metadata (``__metadata__``)."""

    tensors: dict[str, Any]
    metadata: dict[str, str]


class PolicyFileReader:
    """An open policy file: a regular file, checked, with its header read.

    Use as a context manager; :meth:`tensors` then reads tensors from the very file
    that was checked.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd, status = _open_regular_file(path)
        self._identity = (status.st_dev, status.st_ino)
        try:
            self.header = _read_header(path, self._fd, status.st_size)
        except BaseException:
            os.close(self._fd)
            raise

    def __enter__(self) -> PolicyFileReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        os.close(self._fd)

    @contextmanager
    def tensors(self) -> Iterator[Any]:
        """safetensors' ``safe_open`` handle on this file; its errors become a one-line refusal.

        ``safe_open`` takes a name, not a descriptor. On Linux ``/proc/self/fd/N`` names
        the open file itself, so a file swapped for another since the checks is never read.
        Where there is no ``/proc`` (macOS) the path is reopened and its identity checked
        after: a swap in that instant to a FIFO would block, a race accepted there.
        """
        name = f"/proc/self/fd/{self._fd}"
        if not os.path.exists(name):
            name = str(self.path)
        try:
            with safe_open(name, framework="pt") as handle:
                reopened = os.stat(name)
                if (reopened.st_dev, reopened.st_ino) != self._identity:
                    raise PolicyFileError(self.path, "was replaced while it was being read")
                yield handle
        except SafetensorError as error:
            raise PolicyFileError(self.path, f"is corrupt ({str(error).splitlines()[0]})") from None


def parse_json(text: str | bytes) -> Any:
    """JSON, refusing (ValueError) what ``json`` would accept but no policy file holds:
    nesting deeper than :data:`MAX_JSON_DEPTH`, ``NaN``/``Infinity``, numbers beyond a
    float (``1e999`` would become infinity)."""
    raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    if _nesting_depth(raw) > MAX_JSON_DEPTH:
        raise ValueError(f"its JSON is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(
            raw.decode("utf-8") if isinstance(text, bytes) else text,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
        )
    except UnicodeDecodeError:
        raise ValueError("it is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"it is not valid JSON ({error.msg} at character {error.pos})") from None
    except RecursionError:  # cannot happen after the depth check; kept so that no change to it can crash
        raise ValueError("its JSON is nested too deeply") from None


def _nesting_depth(text: bytes) -> int:
    """How deep JSON's brackets nest, counted outside strings, without parsing (numpy, so
    8 MB take milliseconds). Over-counts only text that is not JSON anyway."""
    brackets = np.frombuffer(_JSON_STRING.sub(b"", text).translate(None, _NOT_A_BRACKET), dtype=np.uint8)
    if not brackets.size:
        return 0
    opening = (brackets == ord("[")) | (brackets == ord("{"))
    return int(np.cumsum(np.where(opening, 1, -1), dtype=np.int64).max())


def _refuse_constant(name: str) -> float:
    raise ValueError(f"it holds {name}, which is not a number a policy file may hold")


def _finite_float(text: str) -> float:
    value = float(text)
    if not np.isfinite(value):
        raise ValueError(f"it holds {text[:20]}, a number too large for a float")
    return value


# -- the file itself -------------------------------------------------------------------


def _open_regular_file(path: Path) -> tuple[int, os.stat_result]:
    """A descriptor of ``path`` if it is a regular file (a symlink to one is fine)."""
    try:
        before = os.stat(path)  # follows symlinks; a FIFO or device is refused unopened
    except OSError as error:
        raise PolicyFileError(path, _problem_opening(path, error)) from None
    _refuse_special(path, before.st_mode)
    try:
        # O_NONBLOCK: were it swapped for a FIFO since the stat, opening it does not wait.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise PolicyFileError(path, _problem_opening(path, error)) from None
    try:
        opened = os.fstat(fd)
        _refuse_special(path, opened.st_mode)
    except BaseException:
        os.close(fd)
        raise
    return fd, opened


def _refuse_special(path: Path, mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise PolicyFileError(path, "is a directory, not a policy file")
    if not stat.S_ISREG(mode):
        kind = SPECIAL_FILES.get(stat.S_IFMT(mode), "a special file")
        raise PolicyFileError(path, f"is {kind}, not a regular file")


def _problem_opening(path: Path, error: OSError) -> str:
    if error.errno == errno.ENOENT:
        return "is a dangling symlink (what it points to does not exist)" if os.path.islink(path) else "no such file"
    if error.errno == errno.ELOOP:
        return "is a symlink loop"
    if error.errno == errno.ENOTDIR:
        return "no such file (a part of its path is not a folder)"
    return f"cannot be read ({error.strerror or error})"


def _read_exactly(fd: int, size: int, offset: int) -> bytes:
    chunks, done = [], 0
    while done < size:
        chunk = os.pread(fd, size - done, offset + done)
        if not chunk:
            break  # the file shrank since it was measured: what is missing fails the checks
        chunks.append(chunk)
        done += len(chunk)
    return b"".join(chunks)


# -- the header --------------------------------------------------------------------------


class _NotAHeader(Exception):
    """The bytes are no safetensors header; the message says why (as the problem of a
    file that is safetensors, damaged)."""


def _read_header(path: Path, fd: int, size: int) -> Header:
    """The header, parsed and checked; a file of another format is named as such.

    The format is sniffed only once the safetensors parse has failed: a valid file's
    8-byte length may begin with any byte, pickle's 0x80 included.
    """
    if size == 0:
        raise PolicyFileError(path, "is empty")
    start = _read_exactly(fd, min(size, 16), 0)
    try:
        return _parse_header(fd, size, start)
    except _NotAHeader as failure:
        if start[8:9] == b"{":  # where a safetensors header's JSON begins: it is one, damaged
            raise PolicyFileError(path, str(failure)) from None
        raise PolicyFileError(path, _other_format(start) or "is not a safetensors file") from None


def _parse_header(fd: int, size: int, start: bytes) -> Header:
    if size < 8:
        raise _NotAHeader("is too short to be a safetensors file")
    (length,) = struct.unpack("<Q", start[:8])
    if 8 + length > size:
        raise _NotAHeader(f"is truncated (its header of {length:,} bytes runs past the end of the file)")
    if length > MAX_HEADER_BYTES:
        raise _NotAHeader(f"has a header of {length:,} bytes, more than vpg-sim reads ({MAX_HEADER_BYTES >> 20} MB)")
    try:
        header = parse_json(_read_exactly(fd, length, 8))
    except ValueError as error:
        raise _NotAHeader(f"has a corrupt header ({error})") from None
    if not isinstance(header, dict):
        raise _NotAHeader("has a corrupt header (not a JSON object)")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(value, str) for value in metadata.values()):
        raise _NotAHeader("has a corrupt header (its __metadata__ must map names to strings)")
    return Header(tensors=header, metadata=metadata)


def _other_format(start: bytes) -> str | None:
    """What a file that is not safetensors is, when its first bytes tell."""
    if start.startswith(b"PK"):
        return "is a zip or torch.save file, not safetensors (vpg-sim never unpickles files)"
    if start[:1] == b"\x80" and start[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "is a pickle file, not safetensors (vpg-sim never unpickles files)"
    return None
