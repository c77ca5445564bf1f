"""What every vpg-sim window does the same way: questions, screenshots, fullscreen, resizing.

:class:`WindowBasics` is mixed into the main window (:class:`~vpg_sim.ui.app.App`) and the
comparison window (:class:`~vpg_sim.ui.compare_app.CompareApp`). Each keeps ``screen``,
``ui`` (its pygame_gui manager), ``layout``, ``confirm`` and ``_on_answer``, and has its
own :meth:`relayout`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pygame

from vpg_sim.ui import MIN_HEIGHT, MIN_WIDTH
from vpg_sim.ui.confirm import Answer, ConfirmDialog


class WindowBasics:
    screen: pygame.Surface
    ui: Any
    layout: Any
    confirm: ConfirmDialog | None
    fullscreen: bool
    _on_answer: Callable[[str], None] | None
    _windowed_size: tuple[int, int]

    def relayout(self) -> None:
        raise NotImplementedError

    def ask(self, title: str, message: str, answers: tuple[Answer, ...], then: Callable[[str], None]) -> None:
        """Open a question; ``then(answer)`` runs once it is answered (``"cancel"`` included)."""
        if self.confirm is not None:
            self.confirm.close()
        self.confirm = ConfirmDialog(self.ui, self.screen.get_rect(), title, message, answers, self.layout.scale)
        self._on_answer = then

    def answer(self, answer: str) -> None:
        """Close the open question and act on ``answer``."""
        on_answer = self._on_answer
        if self.confirm is not None:
            self.confirm.close()
        self.confirm, self._on_answer = None, None
        if on_answer is not None:
            on_answer(answer)

    def save_screenshot(self, path: Path) -> None:
        """The window as it is now, a PNG at ``path`` (its folder made if need be)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        pygame.image.save(self.screen, str(path))

    def set_fullscreen(self, on: bool) -> None:
        """Fill the whole display at its own resolution, or go back to the window's size."""
        if on:
            self._windowed_size = self.screen.get_size()
            pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
        else:
            pygame.display.set_mode(self._windowed_size, pygame.RESIZABLE)
        self.fullscreen = on
        self.screen = pygame.display.get_surface()
        self.relayout()

    def resize(self, width: int, height: int) -> None:
        """The window was resized: lay it out again, no smaller than the layout's minimum."""
        if width < MIN_WIDTH or height < MIN_HEIGHT:
            pygame.display.set_mode((max(width, MIN_WIDTH), max(height, MIN_HEIGHT)), pygame.RESIZABLE)
        self.screen = pygame.display.get_surface()
        self.relayout()
