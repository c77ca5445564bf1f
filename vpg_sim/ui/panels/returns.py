"""The training-returns panel: every episode's return, drawn by matplotlib in a worker."""

from __future__ import annotations

import pygame

from vpg_sim.ui.layout import Layout
from vpg_sim.ui.panels.frame import Frame
from vpg_sim.ui.panels.painter import PanelPainter


def plot_area(layout: Layout) -> pygame.Rect:
    """Where the curve's image goes inside the returns panel (the plot is rendered at this size)."""
    inner = layout.returns.inflate(-layout.px(12), -layout.px(12))
    title_h = layout.px(30)
    inner.height -= title_h
    inner.y += title_h
    return inner


class ReturnsPanel:
    """The newest rendering of the return curve, blitted (scaled if the window changed size)."""

    def __init__(self) -> None:
        self.image: pygame.Surface | None = None
        """Set by the window whenever the plot worker delivers a new rendering."""

    def draw(self, painter: PanelPainter, rect: pygame.Rect, frame: Frame) -> None:
        painter.panel(rect, "Training returns", f"{frame.episodes:,} episode{'' if frame.episodes == 1 else 's'}")
        if self.image is None:
            return
        area = plot_area(painter.layout)
        image = self.image
        if image.get_size() != area.size:
            image = pygame.transform.smoothscale(image, area.size)
        painter.surface.blit(image, area)
