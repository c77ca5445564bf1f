"""The Update panel: one policy step, dissected sample by sample."""

from __future__ import annotations

import math

import numpy as np
import pygame

from vpg_sim.core.checkpoint import UpdateDissection
from vpg_sim.ui.panels.frame import Frame
from vpg_sim.ui.panels.painter import LayerCache, PanelPainter
from vpg_sim.ui.theme import Palette

MAX_POINTS = 600
"""Samples drawn (an even subsample of the batch): more would only cost the frame."""


class UpdatePanel:
    """A scatter of the newest update's batch: the advantage each sample was weighed by
    (x) against how much that step changed log pi(a_t|s_t) (y). Policy gradient in one
    picture: the points lie along a rising line (positive advantage: more likely)."""

    def __init__(self) -> None:
        self.layer = LayerCache()

    def draw(self, painter: PanelPainter, rect: pygame.Rect, frame: Frame) -> None:
        palette = painter.palette
        snapshot = frame.snapshot
        area = painter.panel(rect, "Update", f"update {snapshot.update}: each sample's step · U: back")
        dissection = snapshot.last_step
        if dissection is None or not len(dissection.weights):
            painter.text(_no_step(snapshot.update), area.center, 12, palette.muted, anchor="center")
            return
        header = painter.text_size("Ag", 12)[1] + painter.px(2)
        footer = painter.text_size("Ag", 11)[1] + painter.px(1)
        correlation, agreeing = dissection.correlation, dissection.agreeing
        summary = "correlation –" if math.isnan(correlation) else f"correlation {correlation:+.2f}"
        if not math.isnan(agreeing):
            summary += f" · {agreeing:.0%} moved the way their advantage says"
        missing = len(dissection.weights) - int(_finite(dissection).sum())
        if missing:  # left out of the scatter: said, so that fewer dots are not taken for the batch
            summary = painter.fitting([f"{missing} not finite · {summary}", f"{missing} not finite"], 12, area.width)
        painter.text(summary, (area.x, area.y), 12, palette.muted)
        x_extent, y_extent = _extents(dissection)
        y_labels = (f"+{y_extent:.2g}", "Δ log π", f"−{y_extent:.2g}")
        axis_w = max(painter.text_size(label, 11)[0] for label in y_labels) + painter.px(6)
        plot = pygame.Rect(area.x + axis_w, area.y + header, area.width - axis_w, area.height - header - footer)
        image = self.layer.get(
            (dissection,),
            (palette.name, painter.px(2)),
            plot.size,
            lambda surface: _draw_scatter(surface, dissection, palette, painter.px(2)),
            background=palette.panel,
        )
        painter.surface.blit(image, plot)
        below, left = plot.bottom + painter.px(1), plot.x - painter.px(4)
        muted = palette.muted
        painter.text(f"±{x_extent:.2g}", (plot.right, below), 11, muted, anchor="topright")
        top, middle, bottom = y_labels
        # A short plot (presenter mode, a small window) names its y axis below, beside x's.
        roomy = plot.height >= 3 * footer
        painter.text("advantage weighed by →" + ("" if roomy else "   ↑ Δ log π"), (plot.x, below), 11, muted)
        painter.text(top, (left, plot.y), 11, muted, anchor="topright")
        if roomy:
            painter.text(middle, (left, plot.centery), 11, muted, anchor="midright")
        painter.text(bottom, (left, plot.bottom), 11, muted, anchor="bottomright")


def _finite(dissection: UpdateDissection) -> np.ndarray:
    """``(B,)`` True for the samples whose weight and change are both finite numbers."""
    return np.isfinite(dissection.weights) & np.isfinite(dissection.log_prob_change)


def _extents(dissection: UpdateDissection) -> tuple[float, float]:
    """Symmetric half-widths of both axes over the finite samples: 0 stays in the middle,
    where the signs change."""
    finite = _finite(dissection)
    weights, changes = np.abs(dissection.weights[finite]), np.abs(dissection.log_prob_change[finite])
    x = float(weights.max()) if len(weights) else 0.0
    y = float(changes.max()) if len(changes) else 0.0
    return x or 1.0, y or 1e-9


def _draw_scatter(surface: pygame.Surface, dissection: UpdateDissection, palette: Palette, radius: int) -> None:
    """Axes through 0, then one dot per sample: green where log pi moved the way the
    advantage says, red where it did not."""
    width, height = surface.get_size()
    pygame.draw.line(surface, palette.grid, (0, height / 2), (width, height / 2))
    pygame.draw.line(surface, palette.grid, (width / 2, 0), (width / 2, height))
    x_extent, y_extent = _extents(dissection)
    finite = _finite(dissection)
    stride = max(1, int(finite.sum()) // MAX_POINTS)
    weights = dissection.weights[finite][::stride]
    changes = dissection.log_prob_change[finite][::stride]
    xs = (0.5 + 0.5 * weights / x_extent) * (width - 2 * radius) + radius
    ys = (0.5 - 0.5 * changes / y_extent) * (height - 2 * radius) + radius
    agree = np.sign(weights) * np.sign(changes) > 0
    for x, y, good in zip(xs.tolist(), ys.tolist(), agree.tolist(), strict=True):
        pygame.draw.circle(surface, palette.positive if good else palette.negative, (x, y), radius)


def _no_step(update: int) -> str:
    """What the panel says when the snapshot holds no step: before the first update, or
    after one that was rolled back (a non-finite loss or weight) or a policy loaded from a
    file, which keeps no batch."""
    if update == 0:
        return "waiting for the first update…"
    return f"no step to show for update {update} (rolled back, or loaded from a file)"
