"""The status bar along the top."""

from __future__ import annotations

from collections.abc import Sequence

import pygame

from vpg_sim.ui.frame import Frame
from vpg_sim.ui.panels.painter import PanelPainter
from vpg_sim.ui.theme import Colour


class StatusBar:
    """The run's state as a pill, then its figures."""

    def draw(self, painter: PanelPainter, rect: pygame.Rect, frame: Frame) -> None:
        draw_status(painter, rect, frame.status_items, frame.state, frame.state_colour, frame.badge)


def _pill(painter: PanelPainter, text: str, colour: Colour, left: int, centre_y: int) -> pygame.Rect:
    label = painter.fonts.render(text.upper(), painter.px(14), painter.palette.background, bold=True)
    pill = label.get_rect().inflate(painter.px(16), painter.px(6))
    pill.midleft = (left, centre_y)
    pygame.draw.rect(painter.surface, colour, pill, border_radius=pill.height // 2)
    painter.surface.blit(label, label.get_rect(center=pill.center))
    painter.record(pill, text)
    return pill


def draw_status(
    painter: PanelPainter,
    rect: pygame.Rect,
    items: Sequence[tuple[str, str]],
    state: str,
    state_colour: Colour,
    badge: str | None = None,
) -> None:
    """A pill with the state (and a warning badge), then ``label value`` pairs left to
    right, as many as fit."""
    palette = painter.palette
    pygame.draw.rect(painter.surface, palette.panel, rect)
    pygame.draw.line(painter.surface, palette.panel_border, rect.bottomleft, (rect.right, rect.bottom - 1))
    pill = _pill(painter, state, state_colour, rect.x + painter.px(10), rect.centery)
    if badge:
        pill = _pill(painter, badge, palette.warning, pill.right + painter.px(8), rect.centery)
    x = pill.right + painter.px(16)
    for name, value in items:
        width = painter.text_size(name, 12)[0] + painter.px(5) + painter.text_size(value, 14, bold=True)[0]
        if x + width > rect.right - painter.px(10):
            break
        name_rect = painter.text(name, (x, rect.centery), 12, palette.muted, anchor="midleft")
        value_at = (name_rect.right + painter.px(5), rect.centery)
        value_rect = painter.text(value, value_at, 14, bold=True, anchor="midleft")
        x = value_rect.right + painter.px(16)
