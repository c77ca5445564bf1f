"""What the command line sets for the window, and opening the display with it."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import pygame

from vpg_sim.core.config import VPGConfig
from vpg_sim.core.student import StudentCode
from vpg_sim.training.pacing import DEFAULT_PACE
from vpg_sim.training.student_code import DEFAULT_TIMEOUT
from vpg_sim.ui.theme import ICON

WINDOW_TITLE = "vpg-sim · watch policy gradient learn"

MODELS_DIR = Path("saved_models")
"""Where S saves and L looks, in the folder vpg-sim runs in (L lists the shipped policy too)."""
RECORDINGS_DIR = Path("recordings")


@dataclass
class WindowOptions:
    """What the command line sets for the window."""

    pace: str = DEFAULT_PACE
    theme: str = "dark"
    size: tuple[int, int] = (1280, 720)
    run_for: float | None = None
    screenshot: Path | None = None
    config: VPGConfig | None = None
    """What to train (None: the default config, or with ``load`` the file's)."""
    load: Path | None = None
    """Start from this policy file (training continues from it)."""
    playback: bool = False
    """Start in playback: no training, the stage plays the policy."""
    play_episodes: int | None = None
    """Quit after this many stage episodes."""
    models_dir: Path = MODELS_DIR
    recordings_dir: Path = RECORDINGS_DIR
    record_format: str = "mp4"
    present: bool = False
    """Start in presenter mode (large type)."""
    headless: bool = False
    """No display (SDL's dummy driver): time is the frames' own (1/60 s each, however
    long one takes to draw), training is paced in that time, and ``record_to`` gets every
    frame."""
    record_to: Path | None = None
    """Record from the first frame to this file (with ``headless``, no frame dropped)."""
    student: StudentCode | None = None
    """A student's functions to train with (``--advantages`` ...), beside a reference run."""
    student_timeout: float = DEFAULT_TIMEOUT
    """Seconds one update's calls of the student's functions may take."""
    training_process: bool = True
    """Train (and draw the return curve) in a child process, off the render loop's GIL;
    False keeps them in threads of this process (tests: no seconds of start-up each)."""


def use_software_framebuffer() -> None:
    """Ask SDL for its plain framebuffer, not one drawn through OpenGL (a person may still
    set the hint). On this 2-core machine under Xvfb, SDL's default went through Mesa's
    software OpenGL: a 1920x1080 flip took 7.9 ms of the frame's 16.7, against 0.4 ms for
    the framebuffer; pygame draws everything in software anyway."""
    os.environ.setdefault("SDL_FRAMEBUFFER_ACCELERATION", "0")


def open_display(size: tuple[int, int], title: str = WINDOW_TITLE) -> pygame.Surface:
    """Open the window (or, with SDL's dummy driver, a surface standing for it): SDL's plain
    framebuffer, the title, the icon; the surface to draw on."""
    use_software_framebuffer()
    pygame.display.init()
    pygame.font.init()
    pygame.display.set_caption(title)
    with contextlib.suppress(pygame.error, FileNotFoundError):  # no icon is no reason not to start
        pygame.display.set_icon(pygame.image.load(ICON))
    return pygame.display.set_mode(size, pygame.RESIZABLE)
