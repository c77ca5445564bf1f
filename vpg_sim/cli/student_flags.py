"""``--advantages``, ``--gae``, ``--loss MODULE:FUNCTION``: a student's functions in the
update (``vpg_sim/core/student.py``), for the window, ``train``, ``compare`` and
``variance``. Only these flags name code to import; the import happens in the student's
own process (``training/student_code.py``), never from a file.

Imports nothing heavy: ``build_parser`` uses it before the window opens.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from vpg_sim.cli.arguments import positive_float
from vpg_sim.core.student import SLOTS, StudentCode

SPEC = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")
"""``module:function``, ``package.module:function``."""
DEFAULT_TIMEOUT = 5.0
"""Seconds one update's calls may take (as ``training.student_code.DEFAULT_TIMEOUT``,
repeated here to keep its imports out of the parser)."""


def function_spec(text: str) -> str:
    """An argparse type: ``module:function``, as ``--env module:Env-v0`` names a module."""
    if not SPEC.match(text):
        raise argparse.ArgumentTypeError(
            f"expected MODULE:FUNCTION such as mycode:reward_to_go (a file mycode.py in this folder), got {text!r}"
        )
    return text


def add_student_flags(parser: argparse.ArgumentParser) -> None:
    """The three slots' flags and the time limit, all left out of the namespace unless
    given (so that a flag before a command's name is kept)."""
    group = parser.add_argument_group(
        "your own code", "a student's functions in place of vpg-sim's (vpg-sim exercise new NAME writes a starter)"
    )
    for slot in SLOTS.values():
        group.add_argument(
            slot.flag,
            dest=f"student_{slot.name}",
            type=function_spec,
            metavar="MODULE:FUNCTION",
            default=argparse.SUPPRESS,
            help=f"{slot.role} (vpg-sim exercise new {slot.exercise}; vpg-sim check MODULE:FUNCTION)",
        )
    group.add_argument(
        "--student-timeout",
        type=positive_float,
        metavar="SECONDS",
        default=argparse.SUPPRESS,
        help=f"how long your functions may take on one update before they are stopped (default: {DEFAULT_TIMEOUT:g})",
    )


def student_code_from_args(args: argparse.Namespace) -> StudentCode | None:
    """The student's functions the command line names, or None; ValueError (one line) if
    two give Phi_t."""
    functions = tuple((slot, getattr(args, f"student_{slot}")) for slot in SLOTS if f"student_{slot}" in args)
    return StudentCode(functions) if functions else None


def student_timeout(args: argparse.Namespace) -> float:
    return getattr(args, "student_timeout", DEFAULT_TIMEOUT)


def student_setting(text: str) -> tuple[str, str] | None:
    """A compare group's ``advantages=mycode:reward_to_go`` as ``("advantages", spec)``;
    None for any other ``KEY=VALUE``. ArgumentTypeError (one line) for a bad name."""
    key, _, value = text.partition("=")
    slot = key.strip()
    return (slot, function_spec(value.strip())) if slot in SLOTS else None


def student_settings(
    items: list[tuple[str, Any]], shared: StudentCode | None
) -> tuple[list[tuple[str, Any]], StudentCode | None]:
    """A compare group's items split into config settings and its student's functions:
    ``shared`` (the flags given to both groups) overridden by the group's own; ValueError
    (one line) if two give Phi_t."""
    functions = dict(shared.functions) if shared is not None else {}
    settings = []
    for name, value in items:
        if name in SLOTS:
            functions[name] = value
        else:
            settings.append((name, value))
    return settings, (StudentCode(tuple(functions.items())) if functions else None)
