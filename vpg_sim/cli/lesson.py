"""``vpg-sim lesson NAME|FILE``: a scripted lesson in the window, advanced with a clicker;
``--headless --record lesson.mp4`` renders it with no display, straight to a video."""

from __future__ import annotations

import argparse
from pathlib import Path

from vpg_sim.cli.arguments import add_window_options, fail


def add_recording_flags(parser: argparse.ArgumentParser) -> None:
    """``--headless`` and ``--record FILE``: the window drawn with no display, to a video."""
    parser.add_argument(
        "--record",
        type=Path,
        metavar="FILE",
        help="record the window from its first frame to FILE (.mp4 or .gif)",
    )
    parser.add_argument(
        "--headless",
        action="store_true",
        help="no display: draw the window into --record FILE (SDL's dummy driver; time is the "
        "frames' own, so the video plays at the speed it shows, and no frame is dropped)",
    )


def check_recording_flags(args: argparse.Namespace, until: str) -> str | None:
    """What is wrong with ``--headless`` / ``--record`` (one line), or None. ``until``: what
    ends a headless run ("--run-for SECONDS", or a lesson's end)."""
    record = getattr(args, "record", None)
    if record is not None and record.suffix.lower() not in (".mp4", ".gif"):
        return f"--record {record}: a video is .mp4 or .gif"
    if getattr(args, "headless", False):
        if record is None:
            return "--headless draws the window into a video: add --record FILE.mp4"
        if until and args.run_for is None:
            return f"--headless records until {until}: add it"
    return None


def add_lesson_command(commands: argparse._SubParsersAction) -> None:
    lesson = commands.add_parser(
        "lesson",
        help="a scripted lesson: captions and actions a speaker advances with PageDown / PageUp",
        description="Run a lesson: a TOML file of steps (a caption, actions, what the run should show). "
        "PageDown / PageUp (what presentation clickers send) move between steps, Home starts again; "
        "every key of the window keeps working. --list names the lessons that ship.",
    )
    lesson.add_argument("lesson", nargs="?", metavar="NAME|FILE", help="a shipped lesson's name or a .toml file")
    lesson.add_argument("--list", action="store_true", help="name the shipped lessons, with their lengths")
    lesson.add_argument("--auto", action="store_true", help="move on by itself once a step's caption has been read")
    add_recording_flags(lesson)
    add_window_options(lesson)


def lesson_command(args: argparse.Namespace) -> int:
    from vpg_sim.lessons.catalog import shipped_lessons
    from vpg_sim.lessons.script import LessonError

    if args.list:
        for lesson in shipped_lessons():
            print(f"{lesson.name:26} {lesson.minutes:g} min  {lesson.title}: {lesson.summary}")
        return 0
    if args.lesson is None:
        return fail("lesson: name a lesson (vpg-sim lesson --list names them) or a .toml file")
    problem = check_recording_flags(args, "")
    if problem is not None:
        return fail(f"lesson: {problem}")
    from vpg_sim.lessons.catalog import find_lesson
    from vpg_sim.ui.launch import run_lesson
    from vpg_sim.ui.lesson.runner import check_keys

    try:
        lesson = find_lesson(args.lesson)
        check_keys(lesson)
    except LessonError as error:
        return fail(f"lesson: {error}")
    return run_lesson(args, lesson)
