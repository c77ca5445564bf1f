"""What is drawn over the panels: toasts, the keys overlay, the recording dot."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pygame

from vpg_sim.policy_files.errors import one_line
from vpg_sim.ui.panels.painter import PanelPainter

TOAST_SECONDS = 3.5
MAX_TOASTS = 4
MAX_TOAST_LINES = 3
"""A longer message is cut at its end: its start says what happened and to which file."""
TOAST_SIZE = 16


@dataclass(frozen=True)
class Control:
    """A command of a window: its keys, its button label (empty: a key only) and its help line."""

    command: str
    keys: tuple[int, ...]
    key_label: str
    label: str
    help: str


@dataclass
class Toast:
    text: str
    expires: float
    error: bool = False


class Toasts:
    """Short messages in the stage's lower right corner, newest at the bottom."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.items: list[Toast] = []
        self._clock = clock

    def add(self, text: str, error: bool = False) -> None:
        """Show ``text`` for a few seconds; a newline or a byte that is not UTF-8 in it (a
        file's name, quoted) is escaped: the font draws one line, and cannot draw those."""
        self.items.append(Toast(one_line(text), self._clock() + TOAST_SECONDS, error))
        self.items = self.items[-MAX_TOASTS:]

    def expire(self) -> None:
        now = self._clock()
        self.items = [toast for toast in self.items if toast.expires > now]

    def draw(self, painter: PanelPainter, corner: tuple[int, int], downwards: bool = False) -> None:
        """Right-aligned at ``corner``: stacked upwards from it (newest lowest), or with
        ``downwards`` hanging from it (newest highest). Each stays inside the painter's
        region (the stage): a long one wraps, and an older one that no longer fits is not
        drawn (it expires soon anyway)."""
        palette, region = painter.palette, painter.region_rect
        x, y = corner
        pad_x, pad_y, gap = painter.px(12), painter.px(6), painter.px(6)
        for index, toast in enumerate(reversed(self.items)):
            lines = painter.wrapped(toast.text, TOAST_SIZE, x - region.x - gap - 2 * pad_x, MAX_TOAST_LINES)
            sizes = [painter.text_size(line, TOAST_SIZE) for line in lines]
            box = pygame.Rect(0, 0, max(w for w, _ in sizes) + 2 * pad_x, sum(h for _, h in sizes) + 2 * pad_y)
            if downwards:
                box.topright = (x, y)
            else:
                box.bottomright = (x, y)
            if index and not region.contains(box):  # the newest always shows, however small the window
                break
            colour = palette.warning if toast.error else palette.panel_border
            pygame.draw.rect(painter.surface, palette.panel, box, border_radius=painter.px(6))
            pygame.draw.rect(painter.surface, colour, box, width=max(1, painter.px(2)), border_radius=painter.px(6))
            line_y = box.y + pad_y
            for line, (_, height) in zip(lines, sizes, strict=True):
                painter.text(line, (box.x + pad_x, line_y), TOAST_SIZE)
                line_y += height
            y = box.bottom + gap if downwards else box.top - gap


def draw_recording_dot(painter: PanelPainter) -> None:
    """A red dot at the right end of the status bar (drawn after the frame is recorded)."""
    layout = painter.layout
    radius = layout.px(9)
    centre = (layout.width - radius * 2, layout.status.centery)
    pygame.draw.circle(painter.surface, painter.palette.warning, centre, radius)
    pygame.draw.aacircle(painter.surface, painter.palette.warning, centre, radius)


HELP_FOOTER = (
    "Drag on the stage to push the cart · click or drag the timeline to replay a past policy · H, F1 or Esc closes this"
)


def draw_help(painter: PanelPainter, controls: tuple[Control, ...], footer: str = HELP_FOOTER) -> None:
    """Every key of ``controls`` and what it does, over a shaded window."""
    surface, palette = painter.surface, painter.palette
    shade = pygame.Surface(surface.get_size(), pygame.SRCALPHA)
    shade.fill((*palette.background, 232))
    surface.blit(shade, (0, 0))
    rows = (len(controls) + 1) // 2
    column_w = painter.px(560)
    left = surface.get_width() // 2 - column_w
    top = painter.px(60)
    painter.text("Keys", (left, top), 28, bold=True)
    row_h = painter.px(28)
    for index, control in enumerate(controls):
        column, row = divmod(index, rows)
        x, y = left + column * column_w, top + painter.px(50) + row * row_h
        painter.text(control.key_label, (x, y), 17, palette.value, bold=True)
        painter.text(control.help, (x + painter.px(70), y), 17)
    painter.text(
        footer,
        (left, top + painter.px(60) + rows * row_h),
        15,
        palette.muted,
    )
