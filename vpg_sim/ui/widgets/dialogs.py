"""List dialogs: pick a saved policy (L) or an environment (E), by keys or mouse.

Both are one :class:`ChoiceDialog`: a pygame_gui window with a selection list and
a row of action buttons, each with its key.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import pygame
import pygame_gui

from vpg_sim.files import remove_stale_temp_files
from vpg_sim.policy_files import SUFFIX, PolicyFileError, read_metadata
from vpg_sim.policy_files.errors import one_line
from vpg_sim.resources import shipped_policy

ValueT = TypeVar("ValueT")


@dataclass(frozen=True)
class Choice(Generic[ValueT]):
    value: ValueT
    label: str
    usable: bool = True


@dataclass(frozen=True)
class Action:
    """A button of the dialog: ``name`` is returned, ``key`` presses it too."""

    name: str
    label: str
    key: int
    needs_choice: bool = True


def list_policies(folder: Path, env_id: str | None = None) -> list[Choice[Path]]:
    """Every ``*.safetensors`` in ``folder``, newest first; one that cannot be used is
    listed greyed (``usable=False``) with the reason: with ``env_id`` (the env being
    trained), a policy for another env too, as loading would refuse it.

    Each entry is read in its own guard, so no file (a FIFO, a symlink loop, one deleted
    since the listing, JSON that trips the parser) keeps the list from opening; reading
    the header never blocks (see ``read_metadata``). A save's temp file left by a killed
    vpg-sim is removed once stale (see ``remove_stale_temp_files``).
    """
    remove_stale_temp_files(folder)
    try:
        paths = list(folder.glob(f"*{SUFFIX}"))
    except OSError:  # the folder is gone, unreadable or a symlink loop: nothing to list
        return []
    entries = [(_modified(path), path.name, _choice(path, env_id)) for path in paths]
    entries.sort(key=lambda entry: (-entry[0], entry[1]))
    return [choice for _, _, choice in entries]


def policy_choices(folder: Path, env_id: str | None = None) -> list[Choice[Path]]:
    """The policies saved in ``folder`` (newest first), and the one that ships with
    vpg-sim last, wherever vpg-sim runs from (see :func:`list_policies` for ``env_id``)."""
    choices = list_policies(folder, env_id)
    shipped = shipped_policy()
    if shipped.is_file() and not any(_same_file(choice.value, shipped) for choice in choices):
        choice = _choice(shipped, env_id)
        label = choice.label.replace(shipped.name, f"{shipped.name} (ships with vpg-sim)", 1)
        choices.append(Choice(shipped, label, choice.usable))
    return choices


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def _modified(path: Path) -> float:
    """When ``path`` (or, dangling, the symlink itself) last changed; 0 if it is gone."""
    for status in (path.stat, path.lstat):
        try:
            return status().st_mtime
        except OSError:
            continue
    return 0.0


def _choice(path: Path, env_id: str | None = None) -> Choice[Path]:
    name = one_line(path.name)  # escaped: a name's newline or non-UTF-8 byte is no font's to draw
    try:
        meta = read_metadata(path)
        if env_id is not None and meta.env_id != env_id:
            switch = " (E switches to it)" if any(env.value == meta.env_id for env in ENVIRONMENTS) else ""
            reason = f"is a policy for {meta.env_id}, not {env_id}, which this run trains{switch}"
            return Choice(path, one_line(f"{name}  ·  unusable: {reason}"), usable=False)
        mean = "–" if meta.mean_return_100 is None else f"{meta.mean_return_100:.0f}"
        date = time.strftime("%Y-%m-%d %H:%M", time.localtime(_modified(path)))
        return Choice(path, f"{name}  ·  {meta.env_id}  ·  {meta.update} updates  ·  return {mean}  ·  {date}")
    except PolicyFileError as error:
        reason = error.problem
    except Exception as error:  # anything else a strange file provokes: the list must still open
        reason = one_line(f"cannot be read ({type(error).__name__}: {error})")
    return Choice(path, f"{name}  ·  unusable: {reason}", usable=False)


ENVIRONMENTS: tuple[Choice[str], ...] = (
    Choice("CartPole-v1", "CartPole-v1  ·  balance a pole on a cart (2 actions)"),
    Choice("Acrobot-v1", "Acrobot-v1  ·  swing a two-link arm above the bar (3 actions)"),
    Choice("MountainCar-v0", "MountainCar-v0  ·  rock a car up a hill: a sparse reward, hard for VPG (3 actions)"),
    Choice("Pendulum-v1", "Pendulum-v1  ·  swing a pendulum up: continuous torque, a Gaussian policy"),
)
"""What the E picker offers (each trains with its preset hyperparameters)."""


class ChoiceDialog(Generic[ValueT]):
    """A window with a list and buttons. Keys: Up/Down choose, an action's key presses it,
    Esc closes. :meth:`process_event` returns ``(action name, value)``, ``("cancel", None)``
    or None while nothing is decided."""

    def __init__(
        self,
        manager: pygame_gui.UIManager,
        screen_rect: pygame.Rect,
        title: str,
        choices: list[Choice[ValueT]],
        actions: tuple[Action, ...],
        unit: float,
        empty_text: str = "Nothing to choose from.",
        selected: int = 0,
    ) -> None:
        self.choices = choices
        self.actions = (*actions, Action("cancel", "Cancel  Esc", pygame.K_ESCAPE, needs_choice=False))
        self.empty_text = empty_text
        self.selected = min(max(selected, 0), max(len(choices) - 1, 0))
        width = min(screen_rect.width - 40, round(900 * unit))
        height = min(screen_rect.height - 40, round(440 * unit))
        rect = pygame.Rect(0, 0, width, height)
        rect.center = screen_rect.center
        self.window = pygame_gui.elements.UIWindow(rect, manager, window_display_title=title, resizable=False)
        inner = self.window.get_container().get_rect()
        pad, button_h = round(10 * unit), round(36 * unit)
        self.manager = manager
        self.list_rect = pygame.Rect(pad, pad, inner.width - 2 * pad, inner.height - 3 * pad - button_h)
        self.list: pygame_gui.elements.UISelectionList | None = None
        if not all(choice.usable for choice in choices):
            _theme_unusable_items(manager)
        self._build_list()
        button_w = (inner.width - pad * (len(self.actions) + 1)) // len(self.actions)
        self.buttons = {
            action.name: pygame_gui.elements.UIButton(
                pygame.Rect(pad + i * (button_w + pad), inner.height - pad - button_h, button_w, button_h),
                action.label,
                manager,
                container=self.window,
            )
            for i, action in enumerate(self.actions)
        }
        self._enable_buttons()

    @property
    def alive(self) -> bool:
        return self.window.alive()

    def close(self) -> None:
        self.window.kill()

    def chosen(self) -> Choice[ValueT] | None:
        return self.choices[self.selected] if self.choices else None

    def process_event(self, event: pygame.event.Event) -> tuple[str, ValueT | None] | None:
        if event.type == pygame_gui.UI_WINDOW_CLOSE and event.ui_element is self.window:
            return "cancel", None
        if event.type in (
            pygame_gui.UI_SELECTION_LIST_NEW_SELECTION,
            pygame_gui.UI_SELECTION_LIST_DOUBLE_CLICKED_SELECTION,
        ):
            if event.ui_element is self.list and self.choices and event.text in self._labels():
                self.selected = self._labels().index(event.text)
                self._enable_buttons()
                if event.type == pygame_gui.UI_SELECTION_LIST_DOUBLE_CLICKED_SELECTION:
                    return self._press(self.actions[0])
            return None
        if event.type == pygame_gui.UI_BUTTON_PRESSED:
            for action in self.actions:
                if event.ui_element is self.buttons[action.name]:
                    return self._press(action)
            return None
        if event.type == pygame.KEYDOWN:
            if event.key in (pygame.K_UP, pygame.K_DOWN) and self.choices:
                step = -1 if event.key == pygame.K_UP else 1
                self.selected = min(max(self.selected + step, 0), len(self.choices) - 1)
                self._build_list()
                self._enable_buttons()
                return None
            keys = {action.key: action for action in self.actions}
            key = pygame.K_RETURN if event.key == pygame.K_KP_ENTER else event.key
            if key in keys:
                return self._press(keys[key])
        return None

    def _press(self, action: Action) -> tuple[str, ValueT | None] | None:
        if not action.needs_choice:
            return action.name, None
        chosen = self.chosen()
        if chosen is None or not chosen.usable:
            return None
        return action.name, chosen.value

    def _labels(self) -> list[str]:
        return [choice.label for choice in self.choices] or [self.empty_text]

    def _enable_buttons(self) -> None:
        chosen = self.chosen()
        for action in self.actions:
            if action.needs_choice and (chosen is None or not chosen.usable):
                self.buttons[action.name].disable()
            else:
                self.buttons[action.name].enable()

    def _build_list(self) -> None:
        if self.list is not None:
            self.list.kill()
        items: list[str | tuple[str, str]] = [
            choice.label if choice.usable else (choice.label, UNUSABLE_ITEM) for choice in self.choices
        ]
        selected = items[self.selected] if items else None
        self.list = pygame_gui.elements.UISelectionList(
            self.list_rect, items or [self.empty_text], self.manager, container=self.window, default_selection=selected
        )


UNUSABLE_ITEM = "#unusable_choice"
"""Theme id of a list item that cannot be chosen: drawn in the theme's disabled-text grey."""


def _theme_unusable_items(manager: pygame_gui.UIManager) -> None:
    theme = manager.get_theme()
    grey = theme.get_colour("disabled_text")
    colour = f"#{grey.r:02x}{grey.g:02x}{grey.b:02x}"
    states = ("normal", "hovered", "selected", "active")
    theme.update_theming({UNUSABLE_ITEM: {"colours": {f"{state}_text": colour for state in states}}}, rebuild_all=False)


def load_dialog(
    manager: pygame_gui.UIManager, screen_rect: pygame.Rect, folder: Path, unit: float, env_id: str | None = None
) -> ChoiceDialog:
    """L: the policies of :func:`policy_choices` (with ``env_id``, the env being trained,
    another env's are greyed); Enter trains from the chosen one, P plays it."""
    return ChoiceDialog(
        manager,
        screen_rect,
        f"Load a policy from {one_line(str(folder))}/",
        policy_choices(folder, env_id),
        (Action("train", "Load and train  Enter", pygame.K_RETURN), Action("play", "Play  P", pygame.K_p)),
        unit,
        empty_text="No saved policies yet: press S in the window to save one.",
    )


def env_dialog(manager: pygame_gui.UIManager, screen_rect: pygame.Rect, current: str, unit: float) -> ChoiceDialog:
    """E: the environments; Enter restarts training on the chosen one."""
    ids = [choice.value for choice in ENVIRONMENTS]
    return ChoiceDialog(
        manager,
        screen_rect,
        "Train on another environment (training restarts with its preset)",
        list(ENVIRONMENTS),
        (Action("train", "Train on it  Enter", pygame.K_RETURN),),
        unit,
        selected=ids.index(current) if current in ids else 0,
    )
