"""The one error a policy file can raise: one line, naming the file and the problem."""

from __future__ import annotations

import re
from pathlib import Path

_BREAKS_A_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
MAX_PROBLEM_CHARS = 300


def one_line(text: str) -> str:
    """``text`` with control characters and line separators escaped (``\\n`` for a newline),
    and lone surrogates too: a file name's bytes that are not UTF-8 (``\\xff``, as Python
    carries them: ``\\udcff``), which no font and no UTF-8 stream can take.

    File names and the values quoted from a file are the file's author's choice: escaped,
    they can neither break the message in two nor forge a line of their own, nor make
    the text unprintable.
    """
    return _BREAKS_A_LINE.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's stand-in for the byte code - 0xDC00
        return f"\\x{code - 0xDC00:02x}"
    return match.group().encode("unicode_escape").decode("ascii")


class PolicyFileError(Exception):
    """A file that cannot be used as a policy; the message is one line: ``<path>: <problem>``."""

    def __init__(self, path: Path | str, problem: str) -> None:
        problem = one_line(problem)
        if len(problem) > MAX_PROBLEM_CHARS:
            problem = problem[: MAX_PROBLEM_CHARS - 1] + "…"
        super().__init__(f"{one_line(str(path))}: {problem}")
        self.path = Path(path)
        self.problem = problem
