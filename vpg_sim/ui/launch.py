"""Opening the window from the command line: its options, and a clear line where it cannot open."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from vpg_sim.core.config import VPGConfig
from vpg_sim.core.student import StudentCode
from vpg_sim.training.student_code import DEFAULT_TIMEOUT
from vpg_sim.ui.options import WindowOptions, open_display

if TYPE_CHECKING:
    from vpg_sim.lessons.script import Lesson
    from vpg_sim.training.comparison_run import Group
    from vpg_sim.training.population_session import ComparisonSession


NO_WINDOW_HINT = "Train without a window with 'vpg-sim train', or start a virtual one: xvfb-run -a vpg-sim"


def display_problem(hint: str = NO_WINDOW_HINT) -> str | None:
    """Why a window cannot open here (ending with ``hint``: what to do instead), or None if it looks possible."""
    if os.environ.get("SDL_VIDEODRIVER"):
        return None
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return f"no display found (DISPLAY is not set). {hint}"
    return None


def show_starting(size: tuple[int, int], theme: str) -> None:
    """Open the window and say "starting" in it, before PyTorch is imported (which takes
    1-2 s): the window is there within a fraction of a second of the command."""
    import pygame

    from vpg_sim.ui.theme import THEMES, Fonts

    screen = open_display(size)
    palette = THEMES[theme]
    screen.fill(palette.background)
    fonts = Fonts()
    unit = min(size[0] / 1280, size[1] / 720)
    title = fonts.render("vpg-sim", round(48 * unit), palette.text, bold=True)
    line = fonts.render("starting: loading PyTorch and the environment…", round(20 * unit), palette.muted)
    centre_x, centre_y = screen.get_rect().center
    screen.blit(title, title.get_rect(midbottom=(centre_x, centre_y)))
    screen.blit(line, line.get_rect(midtop=(centre_x, centre_y + round(12 * unit))))
    pygame.display.flip()
    pygame.event.pump()


def open_starting_window(args: argparse.Namespace, prefix: str, no_display_hint: str, fallback: str) -> bool:
    """Open the window saying "starting" (see :func:`show_starting`); False, with one line
    on stderr (``prefix``, the problem, what to do instead), if there is no display or the
    window cannot open."""
    problem = display_problem(no_display_hint)
    if problem is not None:
        print(f"{prefix}{problem}", file=sys.stderr)
        return False
    import pygame

    try:
        show_starting(args.size, args.theme)
    except pygame.error as error:
        print(f"vpg-sim: error: cannot open a window ({error}){fallback}", file=sys.stderr)
        return False
    return True


def prepare_display(args: argparse.Namespace, prefix: str, no_display_hint: str, fallback: str) -> bool:
    """With ``--headless``: SDL's dummy driver (no display, no X server; the frames go to
    ``--record``). Else the "starting" window (see :func:`open_starting_window`)."""
    if getattr(args, "headless", False) and getattr(args, "command", None) != "compare":
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        return True
    return open_starting_window(args, prefix, no_display_hint, fallback)


def window_options(
    args: argparse.Namespace,
    config: VPGConfig | None,
    student: StudentCode | None = None,
    student_timeout: float = DEFAULT_TIMEOUT,
) -> WindowOptions:
    """The window's options from the command line (``student``: a student's functions to
    train with, beside a reference run)."""
    record = getattr(args, "record", None)
    return WindowOptions(
        config=config,
        pace=args.pace,
        theme=args.theme,
        size=args.size,
        run_for=args.run_for,
        screenshot=args.screenshot,
        load=args.path if args.command == "play" else getattr(args, "load", None),
        playback=args.command == "play",
        play_episodes=getattr(args, "episodes", None),
        record_format=record.suffix.lstrip(".").lower() if record is not None else args.record_format,
        present=args.present,
        headless=getattr(args, "headless", False),
        record_to=record,
        student=student,
        student_timeout=student_timeout,
    )


def run_window(
    args: argparse.Namespace,
    make_config: Callable[[], VPGConfig | None],
    student: StudentCode | None = None,
    student_timeout: float = DEFAULT_TIMEOUT,
) -> int:
    """The window's command: open it, run until quit, return the exit status.

    :param make_config: the config to train with (None: the policy file's), called once
        the window shows "starting"; its ValueError (an invalid config, a bad config file)
        or UnsupportedEnvError is one line and exit 2.
    :param student: a student's functions to train with (``--advantages`` ...).
    """
    if not prepare_display(args, "vpg-sim: error: ", NO_WINDOW_HINT, ""):
        return 2
    import pygame
    import torch

    from vpg_sim.core.envs import UnsupportedEnvError
    from vpg_sim.policy_files import PolicyFileError
    from vpg_sim.training.process_session import StartCancelled, WorkerError
    from vpg_sim.ui.window.app import App
    from vpg_sim.ui.window.basics import FrameClock

    try:
        config = make_config()
    except (UnsupportedEnvError, ValueError) as error:
        print(f"vpg-sim: error: {error}", file=sys.stderr)
        return 2
    torch.set_num_threads(config.torch_threads if config is not None else 1)
    options = window_options(args, config, student, student_timeout)
    frames = FrameClock() if options.headless else None
    try:
        app = App(options, frames.now if frames is not None else time.monotonic)
    except (UnsupportedEnvError, PolicyFileError, ValueError, WorkerError) as error:  # ValueError: an invalid config
        print(f"vpg-sim: error: {error}", file=sys.stderr)
        return 2
    except pygame.error as error:
        print(f"vpg-sim: error: cannot open a window ({error})", file=sys.stderr)
        return 2
    except StartCancelled:  # Q, Esc or the close button while the training process started
        return 0
    try:
        app.run(frames)
    except KeyboardInterrupt:
        return 130
    return app.exit_status


def run_compare_window(args: argparse.Namespace, groups: Sequence[Group]) -> int:
    """``vpg-sim compare`` without ``--headless``: the comparison window until quit; its exit status."""
    if not open_starting_window(
        args,
        "vpg-sim: error: compare: ",
        "Compare without a window: add --headless (and --out FILE.png, --json)",
        "; compare without one: --headless",
    ):
        return 2
    import torch

    from vpg_sim.training.population_session import ComparisonSession
    from vpg_sim.ui.compare.app import CompareApp

    torch.set_num_threads(groups[0].config.torch_threads)
    session = ComparisonSession.from_groups(groups, args.seeds, args.max_steps, args.stat)
    return run_session_window(lambda: CompareApp(comparison_options(args), session), session, "compare")


def run_sweep_window(args: argparse.Namespace, groups: Sequence[Group], grid: Mapping[str, Sequence[object]]) -> int:
    """``vpg-sim sweep`` without ``--headless``: the sweep window (each cell a group of
    ``groups``, ``grid`` each key's values) until quit; its exit status."""
    if not open_starting_window(
        args,
        "vpg-sim: error: sweep: ",
        "Sweep without a window: add --headless (and --out FILE.png, --json)",
        "; sweep without one: --headless",
    ):
        return 2
    import torch

    from vpg_sim.training.population_session import ComparisonSession
    from vpg_sim.ui.sweep.app import SweepApp

    torch.set_num_threads(groups[0].config.torch_threads)
    # Each cell stops once its own seeds have all solved, as the headless sweep trains it:
    # the window's curves are the JSON's.
    cells = [[group.name] for group in groups]
    session = ComparisonSession.from_groups(groups, args.seeds, args.budget, args.stat, stop_sets=cells)
    return run_session_window(lambda: SweepApp(comparison_options(args), session, grid), session, "sweep")


def run_session_window(open_app: Callable[[], Any], session: ComparisonSession, command: str) -> int:
    """Open a window on ``session`` (``open_app``) and run it until quit: its exit status
    (2, in one line, if no window opens: the session is closed)."""
    import pygame

    try:
        app = open_app()
    except pygame.error as error:
        session.close()
        print(f"vpg-sim: error: cannot open a window ({error}); {command} without one: --headless", file=sys.stderr)
        return 2
    try:
        app.run()
    except KeyboardInterrupt:
        return 130
    return app.exit_status


def comparison_options(args: argparse.Namespace) -> WindowOptions:
    """The window options of ``compare`` and ``sweep``."""
    return WindowOptions(
        pace=args.pace,
        theme=args.theme,
        size=args.size,
        run_for=args.run_for,
        screenshot=args.screenshot,
        record_format=args.record_format,
        present=args.present,
    )


def run_lesson(args: argparse.Namespace, lesson: Lesson) -> int:
    """``vpg-sim lesson``: the lesson in the window (or, ``--headless``, straight to
    ``--record``) until it ends or the window is closed; the exit status."""
    if not prepare_display(args, "vpg-sim: error: lesson: ", NO_WINDOW_HINT, ""):
        return 2
    import pygame
    import torch

    from vpg_sim.core.envs import UnsupportedEnvError
    from vpg_sim.policy_files import PolicyFileError
    from vpg_sim.training.process_session import StartCancelled, WorkerError
    from vpg_sim.ui.lesson.runner import LessonRunner
    from vpg_sim.ui.window.basics import FRAMES_PER_SECOND, FrameClock

    torch.set_num_threads(1)
    options = window_options(args, None)
    frames = FrameClock() if options.headless else None
    auto = options.headless or args.auto
    try:
        runner = LessonRunner(lesson, options, auto, frames.now if frames is not None else time.monotonic)
    except (UnsupportedEnvError, PolicyFileError, ValueError, WorkerError) as error:
        print(f"vpg-sim: error: lesson: {error}", file=sys.stderr)
        return 2
    except pygame.error as error:
        print(f"vpg-sim: error: cannot open a window ({error})", file=sys.stderr)
        return 2
    except StartCancelled:
        return 0
    clock = pygame.time.Clock()

    def frame_seconds() -> float:
        if frames is None:
            return clock.tick(FRAMES_PER_SECOND) / 1000.0
        frames.advance()
        return 1 / FRAMES_PER_SECOND

    try:
        return runner.run(frame_seconds)
    except KeyboardInterrupt:
        return 130
