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
        draw_status(painter, rect, frame.status_items, frame.state, frame.state_colour)


def draw_status(
    painter: PanelPainter, rect: pygame.Rect, items: Sequence[tuple[str, str]], state: str, state_colour: Colour
) -> None:
    """A pill with the state, then ``label value`` pairs left to right."""
    palette = painter.palette
    pygame.draw.rect(painter.surface, palette.panel, rect)
    pygame.draw.line(painter.surface, palette.panel_border, rect.bottomleft, (rect.right, rect.bottom - 1))
    label = painter.fonts.render(state.upper(), painter.px(14), palette.background, bold=True)
    pill = label.get_rect().inflate(painter.px(16), painter.px(6))
    pill.midleft = (rect.x + painter.px(10), rect.centery)
    pygame.draw.rect(painter.surface, state_colour, pill, border_radius=pill.height // 2)
    painter.surface.blit(label, label.get_rect(center=pill.center))
    x = pill.right + painter.px(16)
    for name, value in items:
        name_rect = painter.text(name, (x, rect.centery), 12, palette.muted, anchor="midleft")
        value_rect = painter.text(
            value, (name_rect.right + painter.px(5), rect.centery), 14, bold=True, anchor="midleft"
        )
        x = value_rect.right + painter.px(16)
        if x > rect.right:
            break
