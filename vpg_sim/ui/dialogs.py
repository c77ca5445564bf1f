"""The L dialog: saved policies in a list (newest first), chosen by keys or mouse."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pygame
import pygame_gui

from vpg_sim.policy_files import SUFFIX, PolicyFileError, read_metadata


@dataclass(frozen=True)
class PolicyEntry:
    path: Path
    label: str
    usable: bool


def list_policies(folder: Path) -> list[PolicyEntry]:
    """Every ``*.safetensors`` in ``folder``, newest first; unreadable ones say why."""
    if not folder.is_dir():
        return []
    files = sorted(folder.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
    entries = []
    for path in files:
        try:
            meta = read_metadata(path)
        except PolicyFileError as error:
            entries.append(PolicyEntry(path, f"{path.name}  ·  unreadable: {error.problem}", False))
            continue
        mean = "–" if meta.mean_return_100 is None else f"{meta.mean_return_100:.0f}"
        date = time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))
        label = f"{path.name}  ·  {meta.env_id}  ·  {meta.update} updates  ·  return {mean}  ·  {date}"
        entries.append(PolicyEntry(path, label, True))
    return entries


class LoadDialog:
    """A pygame_gui window with the list and three buttons: train from it, play it, cancel.

    Keys: Up/Down choose, Enter trains from the choice, P plays it, Esc closes.
    :meth:`process_event` returns ``("train" | "play", path)``, ``("cancel", None)`` or None.
    """

    def __init__(self, manager: pygame_gui.UIManager, screen_rect: pygame.Rect, folder: Path, unit: float) -> None:
        self.entries = list_policies(folder)
        self.selected = 0
        width, height = min(screen_rect.width - 40, round(900 * unit)), min(screen_rect.height - 40, round(440 * unit))
        rect = pygame.Rect(0, 0, width, height)
        rect.center = screen_rect.center
        self.window = pygame_gui.elements.UIWindow(
            rect, manager, window_display_title=f"Load a policy from {folder}/", resizable=False
        )
        inner = self.window.get_container().get_rect()
        pad, button_h = round(10 * unit), round(36 * unit)
        self.manager = manager
        self.list_rect = pygame.Rect(pad, pad, inner.width - 2 * pad, inner.height - 3 * pad - button_h)
        self.list: pygame_gui.elements.UISelectionList | None = None
        self._build_list()
        labels = (("train", "Load and train  Enter"), ("play", "Play  P"), ("cancel", "Cancel  Esc"))
        button_w = (inner.width - pad * (len(labels) + 1)) // len(labels)
        self.buttons = {
            name: pygame_gui.elements.UIButton(
                pygame.Rect(pad + i * (button_w + pad), inner.height - pad - button_h, button_w, button_h),
                text,
                manager,
                container=self.window,
            )
            for i, (name, text) in enumerate(labels)
        }
        if not self.entries:
            self.buttons["train"].disable()
            self.buttons["play"].disable()

    def _labels(self) -> list[str]:
        return [entry.label for entry in self.entries] or ["No saved policies yet: press S in the window to save one."]

    def _build_list(self) -> None:
        if self.list is not None:
            self.list.kill()
        labels = self._labels()
        self.list = pygame_gui.elements.UISelectionList(
            self.list_rect,
            labels,
            self.manager,
            container=self.window,
            default_selection=labels[self.selected] if self.entries else None,
        )

    @property
    def alive(self) -> bool:
        return self.window.alive()

    def close(self) -> None:
        self.window.kill()

    def chosen(self) -> Path | None:
        return self.entries[self.selected].path if self.entries else None

    def process_event(self, event: pygame.event.Event) -> tuple[str, Path | None] | None:
        if event.type == pygame_gui.UI_WINDOW_CLOSE and event.ui_element is self.window:
            return "cancel", None
        if event.type in (
            pygame_gui.UI_SELECTION_LIST_NEW_SELECTION,
            pygame_gui.UI_SELECTION_LIST_DOUBLE_CLICKED_SELECTION,
        ):
            if event.ui_element is self.list and event.text in self._labels() and self.entries:
                self.selected = self._labels().index(event.text)
                if event.type == pygame_gui.UI_SELECTION_LIST_DOUBLE_CLICKED_SELECTION:
                    return "train", self.chosen()
            return None
        if event.type == pygame_gui.UI_BUTTON_PRESSED:
            for name, button in self.buttons.items():
                if event.ui_element is button:
                    return name, self.chosen() if name != "cancel" else None
            return None
        if event.type == pygame.KEYDOWN:
            if event.key == pygame.K_ESCAPE:
                return "cancel", None
            if not self.entries:
                return None
            if event.key in (pygame.K_UP, pygame.K_DOWN):
                step = -1 if event.key == pygame.K_UP else 1
                self.selected = min(max(self.selected + step, 0), len(self.entries) - 1)
                self._build_list()
            elif event.key in (pygame.K_RETURN, pygame.K_KP_ENTER):
                return "train", self.chosen()
            elif event.key == pygame.K_p:
                return "play", self.chosen()
        return None
