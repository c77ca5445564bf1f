"""The value panel: the critic's V(s) against what really came."""

from __future__ import annotations

import math

import numpy as np
import pygame

from vpg_sim.training.stage import EpisodeTrace, FinishedEpisode
from vpg_sim.ui.panels.frame import Frame
from vpg_sim.ui.panels.painter import PanelPainter, number_text
from vpg_sim.ui.theme import Colour, Palette

GHOST_OPACITY = 0.55
"""The previous episode's lines: dim, yet visible on the light theme's pale panel."""


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round values (1, 2 or 5 times a power of ten apart) covering [low, high]."""
    span = max(high - low, 1e-9)
    raw = span / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _value_range(*series: np.ndarray) -> tuple[float, float]:
    finite = [s[np.isfinite(s)] for s in series if len(s)]
    finite = [s for s in finite if len(s)]
    if not finite:
        return 0.0, 1.0
    low = min(0.0, min(float(s.min()) for s in finite))
    high = max(0.0, max(float(s.max()) for s in finite))
    return (low, high) if high - low > 1e-6 else (low, low + 1.0)


class ValuePanel:
    """V(s_t) along the episode on stage; after it ends, the return-to-go G_t that training
    would fit V to (bootstrapped with V where a time limit or the stage cut the episode;
    the rewards alone then drawn faint and dashed), on a labelled axis."""

    def draw(self, painter: PanelPainter, rect: pygame.Rect, frame: Frame) -> None:
        stage = frame.stage
        gamma = stage.config.gamma
        best = stage.max_discounted_return
        # Training bootstraps the 500-step cut with V, so a pole that never falls is worth
        # 1/(1 - gamma) to the critic, above the most one episode earns within the limit.
        never_falls = f" · never falls: V → 1/(1−γ) = {1 / (1 - gamma):.0f}" if best is not None and gamma < 1 else ""
        within = f"one episode earns at most {best:.1f}" if best is not None else ""
        subtitle = painter.fitting(
            [f"γ = {gamma:g}{never_falls} · {within}", f"γ = {gamma:g}{never_falls}", f"γ = {gamma:g}"],
            14,
            rect.width - painter.px(150),
        )
        area = painter.panel(rect, "Value  V(s)", subtitle)
        draw_value(painter, area, stage.trace, stage.finished, stage.hold_remaining > 0)


def _dashed(painter: PanelPainter, points: list[list[float]], colour: Colour, width: int) -> None:
    """Every other short run of ``points``: a dashed line."""
    dash = 6
    for start in range(0, len(points) - 1, 2 * dash):
        painter.polyline(points[start : start + dash + 1], colour, width)


def draw_value(
    painter: PanelPainter, area: pygame.Rect, trace: EpisodeTrace, finished: FinishedEpisode | None, holding: bool
) -> None:
    """The lines, their legend and a y-axis in return units, inside ``area``."""
    palette = painter.palette
    show_finished = holding and finished is not None
    values = finished.values if show_finished else np.asarray(trace.values)
    realised = finished.returns_to_go - finished.bootstrap if show_finished else np.zeros(0)
    bootstrapped = finished.returns_to_go if show_finished and not finished.terminated else np.zeros(0)
    ghost = finished if not holding and finished is not None else None
    series = [values, realised, bootstrapped] + ([ghost.values, ghost.returns_to_go] if ghost else [])
    low, high = _value_range(*series)
    length = max(200, len(values), len(ghost.values) if ghost else 0)

    # The legend's row, and room for half of the top tick's label under it (presenter
    # mode's larger type included): the label never reaches into the legend.
    label_h = painter.text_size("0", 12)[1]
    legend_h = label_h + painter.px(4) + label_h // 2
    axis_w = max(painter.px(34), painter.text_size(f"{high:g}", 11)[0] + painter.px(8))
    plot = pygame.Rect(area.x + axis_w, area.y + legend_h, area.width - axis_w, area.height - legend_h)

    def y_of(value: float) -> float:
        return plot.bottom - (value - low) / (high - low) * plot.height

    def points(series: np.ndarray) -> list[list[float]]:
        """Screen points of ``series`` ``(T,)``, as pygame wants them (floats, not float32)."""
        xs = plot.x + np.arange(len(series)) / (length - 1) * plot.width
        ys = plot.bottom - (np.asarray(series, dtype=np.float64) - low) / (high - low) * plot.height
        return np.column_stack([xs, ys]).tolist()

    for tick in nice_ticks(low, high):
        y = y_of(tick)
        pygame.draw.line(painter.surface, palette.grid, (plot.x, y), (plot.right, y))
        painter.text(f"{tick:g}", (plot.x - painter.px(4), y), 11, palette.muted, anchor="midright")
    if ghost is not None:
        painter.polyline(points(ghost.values), palette.blend(palette.value, palette.panel, GHOST_OPACITY), 2)
        dim_realised = palette.blend(palette.realised, palette.panel, GHOST_OPACITY)
        painter.polyline(points(ghost.returns_to_go), dim_realised, 2)
    # V first, then the target training fits it to on top: where a good critic matches it,
    # both stay visible as one two-coloured line.
    painter.polyline(points(values), palette.value, painter.px(4))
    if len(bootstrapped):
        _dashed(painter, points(realised), palette.blend(palette.realised, palette.panel, GHOST_OPACITY), painter.px(2))
        painter.polyline(points(bootstrapped), palette.realised, painter.px(2))
    else:
        painter.polyline(points(realised), palette.realised, painter.px(2))

    value_label = f"V = {number_text(values[-1], '.1f' if abs(values[-1]) < 1e6 else '.2g')}" if len(values) else ""
    room = area.width - (painter.text_size(value_label, 12, bold=True)[0] + painter.px(12) if value_label else 0)
    x = area.x
    for text, colour in _fitting_legend(painter, _legends(palette, finished if show_finished else None, ghost), room):
        x = painter.text(text, (x, area.y), 12, colour).right + painter.px(12)
    if value_label:
        painter.text(value_label, (area.right, area.y), 12, palette.value, bold=True, anchor="topright")


Legend = list[tuple[str, Colour]]


def _legends(palette: Palette, finished: FinishedEpisode | None, ghost: FinishedEpisode | None) -> list[Legend]:
    """The legend's entries, in versions from the most said to the shortest."""
    value = ("— V(s_t)", palette.value)
    if finished is not None and not finished.terminated:
        why = "the stage moved on" if finished.cut else "time limit"
        faint = palette.blend(palette.realised, palette.panel, GHOST_OPACITY)
        return [
            [
                value,
                (f"— G_t + γ^(T−t)·V(s_T) ({why}: bootstrapped, as trained)", palette.realised),
                ("- - rewards only", faint),
            ],
            [value, (f"— G_t, bootstrapped ({why})", palette.realised), ("- - rewards only", faint)],
            [value, ("— G_t, bootstrapped", palette.realised), ("- - rewards", faint)],
        ]
    if finished is not None:
        return [[value, ("— realised G_t", palette.realised)]]
    if ghost is not None:
        colour = palette.blend(palette.muted, palette.panel, 0.9)
        cut = ", cut and bootstrapped" if ghost.cut else ""
        return [
            [value, (f"— previous episode (update {ghost.update}{cut}): V, G_t", colour)],
            [value, (f"— episode of update {ghost.update}{cut}", colour)],
            [value, (f"— update {ghost.update}", colour)],
        ]
    return [[value]]


def _fitting_legend(painter: PanelPainter, legends: list[Legend], width: int) -> Legend:
    """The first of ``legends`` whose entries fit side by side in ``width`` px, else the last."""
    gap = painter.px(12)
    for legend in legends:
        if sum(painter.text_size(text, 12)[0] + gap for text, _ in legend) - gap <= width:
            return legend
    return legends[-1]
