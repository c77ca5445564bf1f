"""The value panel: the critic's V(s) against what really came."""

from __future__ import annotations

import numpy as np
import pygame

from vpg_sim.training.stage import EpisodeTrace, FinishedEpisode
from vpg_sim.ui.frame import Frame
from vpg_sim.ui.panels.painter import PanelPainter


def _value_range(*series: np.ndarray) -> tuple[float, float]:
    finite = [s[np.isfinite(s)] for s in series if len(s)]
    finite = [s for s in finite if len(s)]
    if not finite:
        return 0.0, 1.0
    low = min(0.0, min(float(s.min()) for s in finite))
    high = max(float(s.max()) for s in finite)
    return (low, high) if high - low > 1e-6 else (low, low + 1.0)


class ValuePanel:
    """V(s_t) along the episode on stage; after it ends, the realised return-to-go over it."""

    def draw(self, painter: PanelPainter, rect: pygame.Rect, frame: Frame) -> None:
        stage = frame.stage
        draw_value(painter, rect, stage.trace, stage.finished, stage.hold_remaining > 0)


def draw_value(
    painter: PanelPainter, rect: pygame.Rect, trace: EpisodeTrace, finished: FinishedEpisode | None, holding: bool
) -> None:
    """V(s_t) along the episode on stage; after it ends, the realised return-to-go over it."""
    palette = painter.palette
    area = painter.panel(rect, "Value  V(s)", "critic's estimate vs what really came")
    show_finished = holding and finished is not None
    values = finished.values if show_finished else np.asarray(trace.values)
    realised = finished.returns_to_go if show_finished else np.zeros(0)
    ghost = finished if not holding and finished is not None else None
    series = [values, realised] + ([ghost.values, ghost.returns_to_go] if ghost else [])
    low, high = _value_range(*series)
    length = max(200, len(values), len(ghost.values) if ghost else 0)
    plot = area.inflate(0, -painter.px(18))
    plot.y = area.y + painter.px(18)

    def points(series: np.ndarray) -> list[list[float]]:
        """Screen points of ``series`` ``(T,)``, as pygame wants them (floats, not float32)."""
        xs = plot.x + np.arange(len(series)) / (length - 1) * plot.width
        ys = plot.bottom - (np.asarray(series, dtype=np.float64) - low) / (high - low) * plot.height
        return np.column_stack([xs, ys]).tolist()

    zero_y = plot.bottom - (0 - low) / (high - low) * plot.height
    pygame.draw.line(painter.surface, palette.grid, (plot.x, zero_y), (plot.right, zero_y))
    if ghost is not None:
        painter.polyline(points(ghost.values), palette.blend(palette.value, palette.panel, 0.5), 1)
        painter.polyline(points(ghost.returns_to_go), palette.blend(palette.realised, palette.panel, 0.5), 1)
    painter.polyline(points(realised), palette.realised, painter.px(2))
    painter.polyline(points(values), palette.value, painter.px(2))
    legend = painter.text("— V(s_t)", (area.x, area.y), 12, palette.value)
    painter.text("— realised return-to-go", (legend.right + painter.px(12), area.y), 12, palette.realised)
    if len(values):
        painter.text(f"V = {values[-1]:.1f}", (area.right, area.y), 12, palette.value, bold=True, anchor="topright")
