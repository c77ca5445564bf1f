"""Input: every key and button of the main window, and which event goes to the widgets,
a dialog, the knobs, a command or the mouse.

A key or a button names a command (:data:`CONTROLS`); :class:`InputHandler` hands the
name to the window's ``command``, which runs it on :class:`~vpg_sim.ui.window.commands.Commands`.
A new key: a :class:`Control` here and a method of the same name in ``commands.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pygame
import pygame_gui

from vpg_sim.core.nudge import MAX_IMPULSE
from vpg_sim.training.process_session import Session
from vpg_sim.ui.layout import Layout
from vpg_sim.ui.panels import timeline_update_at
from vpg_sim.ui.panels.overlays import Control
from vpg_sim.ui.widgets.dialogs import ChoiceDialog
from vpg_sim.ui.widgets.knobs import KnobsPanel
from vpg_sim.ui.window.commands import Commands

CONTROLS: tuple[Control, ...] = (
    Control("pause", (pygame.K_SPACE,), "Space", "Pause", "pause / resume training"),
    Control("step", (pygame.K_n,), "N", "Step", "one update while paused"),
    Control("pace", (pygame.K_t,), "T", "Pace", "training pace: full, 1/s, 2/s, 5/s, lockstep"),
    Control("playback", (pygame.K_p,), "P", "Playback", "play the current policy without training"),
    Control("greedy", (pygame.K_g,), "G", "Greedy", "greedy (argmax) vs sampled actions on stage"),
    Control("slower", (pygame.K_MINUS, pygame.K_KP_MINUS), "−", "Slower", "stage speed down (to 0.25x)"),
    Control("faster", (pygame.K_PLUS, pygame.K_EQUALS, pygame.K_KP_PLUS), "+", "Faster", "stage speed up (to 8x)"),
    Control("save", (pygame.K_s,), "S", "Save", "save the policy on stage"),
    Control("load", (pygame.K_l,), "L", "Load", "load a saved policy"),
    Control("knobs", (pygame.K_k,), "K", "Knobs", "live knobs: learning rates, gamma, lambda, entropy, batch"),
    Control("envs", (pygame.K_e,), "E", "Env", "pick another environment (restarts training)"),
    Control("record", (pygame.K_v,), "V", "Record", "record the window to recordings/ (again to stop)"),
    Control("screenshot", (pygame.K_c,), "C", "Shot", "save a PNG screenshot to recordings/"),
    Control("restart", (pygame.K_r,), "R", "Restart", "restart training from scratch (asks first)"),
    Control("fullscreen", (pygame.K_f,), "F", "Full", "toggle fullscreen"),
    Control("help", (pygame.K_h, pygame.K_F1), "H", "Help", "this help (H or F1)"),
    Control("quit", (pygame.K_q,), "Q", "Quit", "quit (asks first if the run is not saved)"),
)
"""Commands with a button in the bar at the bottom (and a key)."""

KEY_ONLY_CONTROLS: tuple[Control, ...] = (
    Control("formulas", (pygame.K_x,), "X", "", "the formula behind each panel, with its numbers now"),
    Control("map", (pygame.K_m,), "M", "", "map: π(a|s) and V(s) over the state space (again: next pair, close)"),
    Control("update_panel", (pygame.K_u,), "U", "", "Update panel: the last policy step, sample by sample"),
    Control("noise_panel", (pygame.K_o,), "O", "", "Gradient noise: each estimator's noise, measured beside training"),
    Control("student_panel", (pygame.K_y,), "Y", "", "Yours vs reference: your function beside ours, each batch"),
    Control("present", (pygame.K_b, pygame.K_F5), "B", "", "presenter mode: large type for a hall (F5 too)"),
    Control("escape", (pygame.K_ESCAPE,), "Esc", "", "leave fullscreen, close the help, or quit"),
    Control("push_left", (pygame.K_LEFT,), "←", "", "push the cart left (or drag on the stage)"),
    Control("push_right", (pygame.K_RIGHT,), "→", "", "push the cart right"),
    Control("timeline_back", (pygame.K_LEFTBRACKET,), "[", "", "timeline: play an earlier policy"),
    Control("timeline_forward", (pygame.K_RIGHTBRACKET,), "]", "", "timeline: a later policy (past the end: live)"),
    Control("timeline_live", (pygame.K_END,), "End", "", "timeline: back to the live policy"),
    Control("advantage_scale", (pygame.K_a,), "A", "", "advantage bars: fixed scale (largest this run) or per episode"),
)
"""Commands with a key only (the timeline strip and the stage take the mouse)."""

ALL_CONTROLS = CONTROLS + KEY_ONLY_CONTROLS
COMMAND_BY_KEY: dict[int, str] = {key: control.command for control in ALL_CONTROLS for key in control.keys}

BUTTONS_DROPPED_FIRST = ("screenshot", "fullscreen", "slower", "faster", "greedy", "pace", "step", "envs")
"""When a narrow window cannot fit every button, these go first (their keys still work)."""

DRAG_FOR_MAX_PUSH = 0.3
"""A drag across this fraction of the stage's width pushes with the largest impulse."""
MIN_DRAG_PIXELS = 6
"""Shorter drags are clicks, not pushes."""


def button_text(control: Control) -> str:
    return f"{control.label}  {control.key_label}"


def build_buttons(ui: pygame_gui.UIManager, layout: Layout) -> dict[str, pygame_gui.elements.UIButton]:
    """One button per control in the bar at the bottom, keyed by command.

    Each button first sizes itself to its label (width -1), then all are stretched to
    fill the bar. A narrow window drops the least needed buttons (keys still work).
    """
    buttons: dict[str, pygame_gui.elements.UIButton] = {}
    bar = layout.buttons
    gap = layout.px(6)
    height = bar.height - 2 * layout.px(6)
    for control in CONTROLS:
        buttons[control.command] = pygame_gui.elements.UIButton(
            pygame.Rect(0, 0, -1, height), button_text(control), manager=ui, tool_tip_text=control.help
        )
    for command in BUTTONS_DROPPED_FIRST:
        natural = sum(button.rect.width for button in buttons.values())
        if natural <= bar.width - gap * (len(buttons) + 1):
            break
        buttons.pop(command).kill()
    natural = sum(button.rect.width for button in buttons.values())
    factor = (bar.width - gap * (len(buttons) + 1)) / natural
    x = bar.x + gap
    for button in buttons.values():
        width = button.rect.width * factor
        button.set_dimensions((round(width), height))
        button.set_relative_position((round(x), bar.y + layout.px(6)))
        x += width + gap
    return buttons


def drag_impulse(stage: pygame.Rect, start: tuple[int, int], end: tuple[int, int]) -> float:
    """The push (N·s, negative: left) a drag from ``start`` to ``end`` on ``stage`` gives."""
    dx = end[0] - start[0]
    if abs(dx) < MIN_DRAG_PIXELS:
        return 0.0
    fraction = dx / (stage.width * DRAG_FOR_MAX_PUSH)
    return float(np.clip(fraction, -1.0, 1.0)) * MAX_IMPULSE


class InputTarget(Protocol):
    """What input reaches in the window: its widgets and open dialogs, and its commands."""

    ui: Any
    layout: Layout
    dialog: ChoiceDialog | None
    dialog_kind: str
    knobs: KnobsPanel | None
    buttons: dict[str, pygame_gui.elements.UIButton]
    commands: Commands

    @property
    def session(self) -> Session: ...

    def command(self, name: str) -> None: ...

    def route_common_event(self, event: pygame.event.Event) -> bool | None: ...


class InputHandler:
    """Turns pygame events into commands and pushes for one window."""

    def __init__(self, window: InputTarget) -> None:
        self.window = window
        self.scrubbing = False
        self.drag_start: tuple[int, int] | None = None
        self.drag_now: tuple[int, int] | None = None

    def drag(self) -> tuple[tuple[int, int], tuple[int, int], float] | None:
        """A push being dragged on the stage: its start, where it is now, and its impulse."""
        if self.drag_start is None or self.drag_now is None:
            return None
        impulse = drag_impulse(self.window.layout.stage, self.drag_start, self.drag_now)
        return (self.drag_start, self.drag_now, impulse) if impulse else None

    def handle(self, event: pygame.event.Event) -> None:
        """Route one event: to the widgets, an open dialog, the knobs, a command or the mouse."""
        window = self.window
        consumed = window.route_common_event(event)
        if consumed is None:
            return
        if window.dialog is not None:
            self._handle_dialog_event(event)
            return
        if window.knobs is not None:
            self._handle_knobs_event(event)
        if event.type == pygame_gui.UI_BUTTON_PRESSED and event.ui_element in window.buttons.values():
            command = next(name for name, button in window.buttons.items() if button is event.ui_element)
            window.command(command)
        elif event.type == pygame.KEYDOWN and not consumed and not self._text_entry_focused():
            command = COMMAND_BY_KEY.get(event.key)
            if command is not None:
                window.command(command)
        elif event.type in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEMOTION, pygame.MOUSEBUTTONUP) and not consumed:
            self._handle_mouse(event)

    def _handle_mouse(self, event: pygame.event.Event) -> None:
        """Drags on the stage push the cart; clicks and drags on the timeline scrub."""
        layout = self.window.layout
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            if layout.timeline.collidepoint(event.pos):
                self.scrubbing = True
                self._scrub_to_x(event.pos[0])
            elif layout.stage.collidepoint(event.pos):
                self.drag_start = self.drag_now = event.pos
        elif event.type == pygame.MOUSEMOTION:
            if self.scrubbing:
                self._scrub_to_x(event.pos[0])
            elif self.drag_start is not None:
                self.drag_now = event.pos
        elif event.type == pygame.MOUSEBUTTONUP and event.button == 1:
            if self.drag_start is not None:
                impulse = drag_impulse(layout.stage, self.drag_start, event.pos)
                if impulse:
                    self.window.commands.push(impulse)
            self.scrubbing = False
            self.drag_start = self.drag_now = None

    def _scrub_to_x(self, x: int) -> None:
        session, commands = self.window.session, self.window.commands
        latest = session.latest_snapshot().update
        update = timeline_update_at(self.window.layout.timeline, session.timeline_updates(), latest, x)
        if update is None:
            return
        if update >= latest:
            commands.timeline_live()
        else:
            commands.scrub_to(update)

    def _text_entry_focused(self) -> bool:
        focused = self.window.ui.get_focus_set()
        return bool(focused) and any(isinstance(e, pygame_gui.elements.UITextEntryLine) for e in focused)

    def _handle_dialog_event(self, event: pygame.event.Event) -> None:
        window = self.window
        assert window.dialog is not None
        choice = window.dialog.process_event(event)
        if choice is None:
            if not window.dialog.alive:
                window.dialog = None
            return
        window.dialog.close()
        window.dialog, kind = None, window.dialog_kind
        action, value = choice
        if action == "cancel" or value is None:
            return
        if kind == "load":
            assert isinstance(value, Path)
            window.commands.load_from_file(value, play=action == "play")
        elif kind == "envs":
            window.commands.switch_env(str(value))

    def _handle_knobs_event(self, event: pygame.event.Event) -> None:
        knobs = self.window.knobs
        assert knobs is not None
        try:
            changes = knobs.process_event(event)
        except ValueError as error:  # text that is no number: said as the config's rules are
            self.window.commands.toast(f"Not applied: {error}", error=True)
            knobs.show(self.window.session.config())
            return
        if changes is None:
            return
        config = self.window.commands.change_knobs(**changes)
        if config is None:
            knobs.show(self.window.session.config())
        elif event.type in (pygame_gui.UI_TEXT_ENTRY_FINISHED, pygame_gui.UI_BUTTON_PRESSED):
            knobs.show(config)  # a typed value moves its slider; a switch shows its new value
