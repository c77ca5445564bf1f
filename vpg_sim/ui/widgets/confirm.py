"""A question with a few answers, each a button with its key: "save first?", "quit?".

Used before anything that would throw away a run (quit, restart, load, another env), so
that a reflexive key press in front of a class never ends the demo.
"""

from __future__ import annotations

from dataclasses import dataclass

import pygame
import pygame_gui


@dataclass(frozen=True)
class Answer:
    """A button: ``name`` is what :meth:`ConfirmDialog.process_event` returns; any of ``keys`` presses it."""

    name: str
    label: str
    keys: tuple[int, ...]


CANCEL = "cancel"


class ConfirmDialog:
    """A small window with ``message`` and one button per answer (the last one cancels;
    Esc and the window's close button cancel too)."""

    def __init__(
        self,
        manager: pygame_gui.UIManager,
        screen_rect: pygame.Rect,
        title: str,
        message: str,
        answers: tuple[Answer, ...],
        unit: float,
    ) -> None:
        self.answers = answers
        width = min(screen_rect.width - 40, round(620 * unit))
        height = min(screen_rect.height - 40, round(230 * unit))
        rect = pygame.Rect(0, 0, width, height)
        rect.center = screen_rect.center
        self.window = pygame_gui.elements.UIWindow(rect, manager, window_display_title=title, resizable=False)
        inner = self.window.get_container().get_rect()
        pad, button_h = round(12 * unit), round(38 * unit)
        pygame_gui.elements.UITextBox(
            message,
            pygame.Rect(pad, pad, inner.width - 2 * pad, inner.height - 3 * pad - button_h),
            manager,
            container=self.window,
        )
        button_w = (inner.width - pad * (len(answers) + 1)) // len(answers)
        self.buttons = {
            answer.name: pygame_gui.elements.UIButton(
                pygame.Rect(pad + i * (button_w + pad), inner.height - pad - button_h, button_w, button_h),
                answer.label,
                manager,
                container=self.window,
            )
            for i, answer in enumerate(answers)
        }

    @property
    def alive(self) -> bool:
        return self.window.alive()

    def close(self) -> None:
        self.window.kill()

    def process_event(self, event: pygame.event.Event) -> str | None:
        """The answer this event gives (an answer's name, or ``"cancel"``), or None."""
        if event.type == pygame_gui.UI_WINDOW_CLOSE and event.ui_element is self.window:
            return CANCEL
        if event.type == pygame_gui.UI_BUTTON_PRESSED:
            for name, button in self.buttons.items():
                if event.ui_element is button:
                    return name
        if event.type == pygame.KEYDOWN:
            if event.key == pygame.K_ESCAPE:
                return CANCEL
            for answer in self.answers:
                if event.key in answer.keys:
                    return answer.name
        return None
