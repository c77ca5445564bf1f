"""The lessons that ship with vpg-sim, and reading a lesson from a file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from vpg_sim.lessons.script import Lesson, LessonError, parse_lesson

SHIPPED = Path(__file__).resolve().parent / "shipped"
SUFFIX = ".toml"
MAX_BYTES = 256 * 1024
"""A lesson file is a few kilobytes; a larger one is not a lesson."""


def shipped_names() -> list[str]:
    """The names of the shipped lessons, in teaching order (their files are numbered)."""
    return [path.stem.split("-", 1)[1] for path in sorted(SHIPPED.glob(f"*{SUFFIX}"))]


def _shipped_path(name: str) -> Path | None:
    return next((path for path in sorted(SHIPPED.glob(f"*{SUFFIX}")) if path.stem.split("-", 1)[1] == name), None)


def read_lesson_file(path: Path, name: str | None = None) -> Lesson:
    """The lesson in ``path`` (called ``name``, default the file's stem); LessonError (one
    line) for a missing, special, huge or malformed file (a FIFO or a device is never
    opened: it could block for ever)."""
    try:
        info = path.stat()
    except OSError as error:
        raise LessonError(f"{path}: {error.strerror or error}") from None
    if stat.S_ISDIR(info.st_mode):
        raise LessonError(f"{path} is a folder, not a lesson file")
    if not stat.S_ISREG(info.st_mode):
        raise LessonError(f"{path} is not a regular file")
    if info.st_size > MAX_BYTES:
        raise LessonError(f"{path} has {info.st_size:,} bytes; a lesson file has at most {MAX_BYTES:,}")
    try:
        with open(path, "rb", opener=lambda name, flags: os.open(name, flags | os.O_NONBLOCK)) as file:
            text = file.read(MAX_BYTES + 1).decode("utf-8")
    except OSError as error:
        raise LessonError(f"{path}: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise LessonError(f"{path} is not UTF-8 text (byte {error.start})") from None
    try:
        return parse_lesson(text, name or path.stem)
    except LessonError as error:
        raise LessonError(f"{path.name}: {error}") from None


def find_lesson(name_or_path: str) -> Lesson:
    """A shipped lesson by name, or the lesson in a file; LessonError (one line) if neither."""
    shipped = _shipped_path(name_or_path)
    if shipped is not None:
        return read_lesson_file(shipped, name_or_path)
    path = Path(name_or_path)
    if path.suffix == SUFFIX or os.sep in name_or_path or path.exists():
        return read_lesson_file(path)
    raise LessonError(f"no lesson named {name_or_path!r}: one of {', '.join(shipped_names())}, or a .toml file")


def shipped_lessons() -> list[Lesson]:
    """Every shipped lesson, parsed (a test checks that each one parses and runs)."""
    return [find_lesson(name) for name in shipped_names()]
