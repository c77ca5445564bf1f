"""Input: which event goes to the widgets, a dialog, the knobs, a command or the mouse."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pygame
import pygame_gui

from vpg_sim.core.config import ConfigChange
from vpg_sim.core.nudge import MAX_IMPULSE
from vpg_sim.ui.controls import COMMAND_BY_KEY
from vpg_sim.ui.knobs import KNOB_LABELS
from vpg_sim.ui.panels import timeline_update_at

if TYPE_CHECKING:
    from vpg_sim.ui.app import App

DRAG_FOR_MAX_PUSH = 0.3
"""A drag across this fraction of the stage's width pushes with the largest impulse."""
MIN_DRAG_PIXELS = 6
"""Shorter drags are clicks, not pushes."""


class InputHandler:
    """Turns pygame events into commands and pushes for one :class:`App`."""

    def __init__(self, app: App) -> None:
        self.app = app

    def handle(self, event: pygame.event.Event) -> None:
        """Route one event: to the widgets, an open dialog, the knobs, a command or the mouse."""
        app = self.app
        if event.type == pygame.QUIT:  # the window's close button: as Q, it asks if the run is unsaved
            if app.confirm is None:
                app.commands.quit()
            return
        if event.type == pygame.VIDEORESIZE:
            app.resize(event.w, event.h)
            return
        consumed = app.ui.process_events(event)
        if app.confirm is not None:
            answer = app.confirm.process_event(event)
            if answer is not None:
                app.answer(answer)
            return
        if app.dialog is not None:
            self._handle_dialog_event(event)
            return
        if app.knobs is not None:
            self._handle_knobs_event(event)
        if event.type == pygame_gui.UI_BUTTON_PRESSED and event.ui_element in app.buttons.values():
            command = next(name for name, button in app.buttons.items() if button is event.ui_element)
            app.command(command)
        elif event.type == pygame.KEYDOWN and not consumed and not self._text_entry_focused():
            self._handle_key(event)
        elif event.type in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEMOTION, pygame.MOUSEBUTTONUP) and not consumed:
            self._handle_mouse(event)

    def _handle_key(self, event: pygame.event.Event) -> None:
        app = self.app
        command = COMMAND_BY_KEY.get(event.key)
        if command is not None:
            app.command(command)

    def _handle_mouse(self, event: pygame.event.Event) -> None:
        """Drags on the stage push the cart; clicks and drags on the timeline scrub."""
        app = self.app
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            if app.layout.timeline.collidepoint(event.pos):
                app.scrubbing = True
                self._scrub_to_x(event.pos[0])
            elif app.layout.stage.collidepoint(event.pos):
                app.drag_start = app.drag_now = event.pos
        elif event.type == pygame.MOUSEMOTION:
            if app.scrubbing:
                self._scrub_to_x(event.pos[0])
            elif app.drag_start is not None:
                app.drag_now = event.pos
        elif event.type == pygame.MOUSEBUTTONUP and event.button == 1:
            if app.drag_start is not None:
                impulse = self.drag_impulse(app.drag_start, event.pos)
                if impulse:
                    app.commands.push(impulse)
            app.scrubbing = False
            app.drag_start = app.drag_now = None

    def drag_impulse(self, start: tuple[int, int], end: tuple[int, int]) -> float:
        """The push (N·s, negative: left) a drag from ``start`` to ``end`` on the stage gives."""
        app = self.app
        dx = end[0] - start[0]
        if abs(dx) < MIN_DRAG_PIXELS:
            return 0.0
        fraction = dx / (app.layout.stage.width * DRAG_FOR_MAX_PUSH)
        return float(np.clip(fraction, -1.0, 1.0)) * MAX_IMPULSE

    def _scrub_to_x(self, x: int) -> None:
        app = self.app
        latest = app.session.latest_snapshot().update
        update = timeline_update_at(app.layout.timeline, app.session.timeline_updates(), latest, x)
        if update is None:
            return
        if update >= latest:
            app.commands.timeline_live()
        else:
            app.commands.scrub_to(update)

    def _text_entry_focused(self) -> bool:
        app = self.app
        focused = app.ui.get_focus_set()
        return bool(focused) and any(isinstance(e, pygame_gui.elements.UITextEntryLine) for e in focused)

    def _handle_dialog_event(self, event: pygame.event.Event) -> None:
        app = self.app
        assert app.dialog is not None
        choice = app.dialog.process_event(event)
        if choice is None:
            if not app.dialog.alive:
                app.dialog = None
            return
        app.dialog.close()
        app.dialog, kind = None, app.dialog_kind
        action, value = choice
        if action == "cancel" or value is None:
            return
        if kind == "load":
            app.commands.load_from_file(value, play=action == "play")
        elif kind == "envs":
            app.commands.switch_env(value)

    def _handle_knobs_event(self, event: pygame.event.Event) -> None:
        app = self.app
        assert app.knobs is not None
        try:
            changes = app.knobs.process_event(event)
            if changes is None:
                return
            config = app.session.request_changes(**changes)
        except ValueError as error:
            app.toast(f"Not applied: {error}", error=True)
            app.knobs.show(app.session.config())
            return
        if event.type in (pygame_gui.UI_TEXT_ENTRY_FINISHED, pygame_gui.UI_BUTTON_PRESSED):
            app.knobs.show(config)  # a typed value moves its slider; a switch shows its new value
        app.toast(f"{ConfigChange(0, 0, changes).describe(KNOB_LABELS)} from the next update")
