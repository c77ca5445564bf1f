"""What each key of the comparison window does: the main window's commands where they
mean the same (pace, speed, greedy, recording, screenshot, fullscreen, help, presenter
mode, escape); pause, step and quit act on both groups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import pygame

from vpg_sim.training.population_session import ComparisonSession
from vpg_sim.ui.panels.overlays import Control
from vpg_sim.ui.widgets.confirm import CANCEL, Answer
from vpg_sim.ui.window.basics import WindowActions, WindowCommands
from vpg_sim.ui.window.view import WindowView

COMPARE_CONTROLS: tuple[Control, ...] = (
    Control("pause", (pygame.K_SPACE,), "Space", "", "pause / resume training (both groups)"),
    Control("step", (pygame.K_n,), "N", "", "one round while paused: an update of every agent"),
    Control("pace", (pygame.K_t,), "T", "", "training pace: full, 1/s, 2/s, 5/s rounds, lockstep"),
    Control("greedy", (pygame.K_g,), "G", "", "greedy (argmax) vs sampled actions on both stages"),
    Control("slower", (pygame.K_MINUS, pygame.K_KP_MINUS), "−", "", "stage speed down (to 0.25x)"),
    Control("faster", (pygame.K_PLUS, pygame.K_EQUALS, pygame.K_KP_PLUS), "+", "", "stage speed up (to 8x)"),
    Control("record", (pygame.K_v,), "V", "", "record the window to recordings/ (again to stop)"),
    Control("screenshot", (pygame.K_c,), "C", "", "save a PNG screenshot to recordings/"),
    Control("seed_wall", (pygame.K_w,), "W", "", "the seed wall: every seed of each group on a stage of its own"),
    Control("present", (pygame.K_b, pygame.K_F5), "B", "", "presenter mode: large type for a hall (F5 too)"),
    Control("fullscreen", (pygame.K_f,), "F", "", "toggle fullscreen"),
    Control("help", (pygame.K_h, pygame.K_F1), "H", "", "this help (H or F1)"),
    Control("quit", (pygame.K_q,), "Q", "", "quit (asks first: the comparison is not kept)"),
    Control("escape", (pygame.K_ESCAPE,), "Esc", "", "leave fullscreen, close the help, or quit"),
)
KEYS_BAR = (
    "Space pause · N step · T pace · G greedy · −/+ speed · W seed wall · V record · C shot · B presenter · "
    "H help · Esc quit"
)
HELP_FOOTER = (
    "Each stage plays agent 0 (the first seed) of its group. The bands are pointwise 95% intervals over seeds "
    "(the IQM's bootstrap; --stat mean: the mean's t-interval) · H, F1 or Esc closes this"
)


@dataclass
class CompareView(WindowView):
    """What the comparison window shows, besides what every window does."""

    seed_wall: bool = False
    """W: every seed of each group on a small stage of its own, in the stages' places."""


class ComparisonWindow(WindowActions, Protocol):
    """What a command may do in the comparison window: :class:`WindowActions`, and talk to
    its session."""

    view: CompareView
    session: ComparisonSession


class CompareCommands(WindowCommands):
    """One method per command of :data:`COMPARE_CONTROLS`."""

    window: ComparisonWindow

    def __init__(self, window: ComparisonWindow) -> None:
        super().__init__(window)

    def pause(self) -> None:
        session = self.window.session
        session.resume() if session.paused else session.pause()

    def step(self) -> None:
        if self.window.session.paused:
            self.window.session.step()
        else:
            self.toast("Step works while paused: press Space first")

    def greedy(self) -> None:
        view = self.window.view
        view.greedy = not view.greedy
        self.toast(f"Stages: {'greedy (argmax)' if view.greedy else 'sampled'} actions")

    def seed_wall(self) -> None:
        """W: the seed wall in the stages' places (every agent's policy comes with each round), or back."""
        view = self.window.view
        view.seed_wall = not view.seed_wall
        self.window.session.watch_agents(view.seed_wall)

    def faster(self) -> None:
        self.toast(f"Stage speed {self.window.view.step_speed(+1):g}x")

    def slower(self) -> None:
        self.toast(f"Stage speed {self.window.view.step_speed(-1):g}x")

    run_name = "comparison"
    """What the window trains, as its quit question names it."""

    def quit(self) -> None:
        """Q, Esc and the close button: quit, after asking once anything has trained (a
        comparison cannot be saved; ``--headless`` writes its figure)."""
        rounds = self.window.session.latest().rounds
        if rounds == 0:
            self.window.end()
            return
        answers = (
            Answer("go", "Quit  Q", (pygame.K_q, pygame.K_RETURN)),
            Answer(CANCEL, "Keep going  N", (pygame.K_n,)),
        )
        message = f"Quit the {self.run_name}? Its {rounds} rounds of training are not kept."
        self.window.ask("Quit?", message, answers, lambda answer: self.window.end() if answer != CANCEL else None)
