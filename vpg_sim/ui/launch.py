"""Opening the window from the command line: its options, and a clear line where it cannot open."""

from __future__ import annotations

import argparse
import os
import sys

from vpg_sim.ui.options import WindowOptions


def display_problem() -> str | None:
    """Why a window cannot open here, or None if it looks possible."""
    if os.environ.get("SDL_VIDEODRIVER"):
        return None
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return (
            "no display found (DISPLAY is not set). Train without a window with "
            "'python main.py train', or start a virtual one: xvfb-run -a python main.py"
        )
    return None


def run_window(args: argparse.Namespace) -> int:
    """The window's command: open it, run until quit, return the exit status."""
    problem = display_problem()
    if problem is not None:
        print(f"main.py: error: {problem}", file=sys.stderr)
        return 2
    import pygame

    from vpg_sim.core.envs import UnsupportedEnvError
    from vpg_sim.policy_files import PolicyFileError
    from vpg_sim.ui.app import App

    options = WindowOptions(
        env_id=args.env,
        seed=args.seed,
        pace=args.pace,
        theme=args.theme,
        size=args.size,
        run_for=args.run_for,
        screenshot=args.screenshot,
        load=args.path if args.command == "play" else args.load,
        playback=args.command == "play",
        play_episodes=getattr(args, "episodes", None),
        record_format=args.record_format,
        present=args.present,
    )
    try:
        app = App(options)
    except (UnsupportedEnvError, PolicyFileError, ValueError) as error:  # ValueError: an invalid config
        print(f"main.py: error: {error}", file=sys.stderr)
        return 2
    except pygame.error as error:
        print(f"main.py: error: cannot open a window ({error})", file=sys.stderr)
        return 2
    try:
        app.run()
    except KeyboardInterrupt:
        return 130
    return app.exit_status
