"""``vpg-sim check MODULE:FUNCTION``: a student's function against vpg-sim's own, case by
case (``core/student_check.py``): a table of the cases passed and failed and, for each
failure, its smallest failing input, the expected and returned answers and where they
first differ. Exit 0 only if every case passes (1 if one fails; 2 for a bad name).

``build_parser`` imports this module, so nothing heavy is imported at its top.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from vpg_sim.cli.arguments import positive_float
from vpg_sim.cli.student_flags import DEFAULT_TIMEOUT, function_spec
from vpg_sim.core.student import EXERCISES, SLOTS

NAME_HINTS = (("gae", "gae"), ("loss", "loss"), ("to_go", "reward-to-go"), ("rtg", "reward-to-go"))
"""A function's name says which exercise it answers when it holds one of these."""
SHOWN = 10
"""Numbers of a list shown around the first difference."""


def add_check_command(commands: Any) -> None:
    check = commands.add_parser(
        "check",
        help="check your own reward-to-go, GAE or loss against vpg-sim's, case by case",
        description="Run MODULE:FUNCTION (a file MODULE.py in this folder) on hand-made cases (one episode, "
        "several, a termination, a time-limit truncation, an episode cut by the batch, gamma 1 and 0, a "
        "one-step episode) and on random batches from real CartPole rollouts, compare each answer with "
        "vpg-sim's own, and show the smallest failing input of each failed case. Exit 0 only if all pass.",
    )
    check.add_argument("function", type=function_spec, metavar="MODULE:FUNCTION", help="your function")
    check.add_argument(
        "--exercise",
        choices=tuple(EXERCISES),
        help="which exercise it answers (default: from the function's name: reward_to_go, gae, loss)",
    )
    check.add_argument("--json", action="store_true", help="one JSON object (for an autograder) instead of a table")
    check.add_argument(
        "--timeout",
        type=positive_float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="how long one case may take before it is stopped (default: %(default)s)",
    )


def exercise_of(function: str, given: str | None) -> str:
    """The exercise ``function`` answers; ValueError (one line) if its name does not say."""
    if given is not None:
        return given
    name = function.partition(":")[2].lower()
    for hint, exercise in NAME_HINTS:
        if hint in name:
            return exercise
    raise ValueError(f"which exercise does {function} answer? give --exercise {'|'.join(EXERCISES)}")


def shown(values: list[Any], around: int | None) -> str:
    """At most :data:`SHOWN` numbers of ``values``, around index ``around``."""

    def number(value: Any) -> str:
        return ("T" if value else "F") if isinstance(value, bool) else f"{value:.6g}"

    if len(values) > SHOWN and all(isinstance(value, bool) for value in values):  # flags: where they are set
        steps = [str(step) for step, value in enumerate(values) if value]
        return f"T at step {', '.join(steps)}  ({len(values)})" if steps else f"all F  ({len(values)})"

    start = 0 if around is None else max(0, min(around - SHOWN // 2, len(values) - SHOWN))
    stop = min(len(values), start + SHOWN)
    inner = ", ".join(number(value) for value in values[start:stop])
    return f"[{'..., ' if start else ''}{inner}{', ...' if stop < len(values) else ''}]  ({len(values)})"


def failure_lines(verdict: Any) -> list[str]:
    """How a failed case failed: its smallest failing input, the two answers, where."""
    lines = ["", f"{verdict.case}: {verdict.checks}"]
    if verdict.skipped:
        return [*lines, f"  {verdict.error}"]
    if verdict.error is not None:
        lines.append(f"  your function {verdict.error}")
    if verdict.inputs is None:
        return lines
    lines.append("  smallest failing input:")
    for name, value in verdict.inputs.items():
        lines.append(f"    {name:<12} {shown(value, verdict.first_difference) if isinstance(value, list) else value}")
    lines.append(f"  expected       {shown(verdict.expected, verdict.first_difference)}")
    if verdict.returned is not None:
        lines.append(f"  returned       {shown(verdict.returned, verdict.first_difference)}")
        first = verdict.first_difference
        expected, returned = verdict.expected[first], verdict.returned[first]
        lines.append(f"  first difference at {verdict.where}: expected {expected:.6g}, returned {returned:.6g}")
    return lines


def check_command(args: argparse.Namespace) -> int:
    from vpg_sim.cli.arguments import fail
    from vpg_sim.core.student import StudentCode, StudentCodeError
    from vpg_sim.core.student_check import check
    from vpg_sim.training.student_code import StudentProcess

    try:
        slot = EXERCISES[exercise_of(args.function, args.exercise)]
    except ValueError as error:
        return fail(f"check: {error}")
    process = StudentProcess(StudentCode(((slot, args.function),)), timeout=args.timeout)
    try:
        process.start()
    except StudentCodeError as error:
        return fail(f"check: {error}")

    def progress(verdict: Any) -> None:
        if not args.json:
            result = "passed" if verdict.passed else ("not run" if verdict.skipped else "FAILED")
            print(f"  {verdict.case:<40}{verdict.steps:>7}  {result}", flush=True)

    exercise = SLOTS[slot].exercise
    if not args.json:
        print(f"checking {args.function} as the {exercise} exercise, against vpg-sim's own answers")
        print(f"  {'case':<40}{'steps':>7}  result")
    try:
        verdicts = check(slot, process.call, progress=progress)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        process.close()
    passed = sum(verdict.passed for verdict in verdicts)
    if args.json:
        record = {
            "function": args.function,
            "exercise": exercise,
            "passed": passed == len(verdicts),
            "cases": [verdict.to_dict() for verdict in verdicts],
        }
        print(json.dumps(record))
    else:
        print(f"{passed} of {len(verdicts)} cases passed")
        said: set[str] = set()
        for verdict in verdicts:
            if verdict.passed or verdict.skipped:
                continue
            if verdict.error is not None and verdict.error in said:  # a function that raises every time: once
                print(f"\n{verdict.case}: the same error")
                continue
            said.add(verdict.error or "")
            print("\n".join(failure_lines(verdict)))
    return 0 if passed == len(verdicts) else 1
