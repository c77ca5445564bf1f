"""The panels beside the stage. Each draws itself into a rect from data it is given;
none reads the trainer."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pygame

from vpg_sim.ui.layout import Layout
from vpg_sim.ui.stage import EpisodeTrace, FinishedEpisode, StepView
from vpg_sim.ui.theme import Colour, Fonts, Palette

ACTION_NAMES = {
    "CartPole": ("push left", "push right"),
    "Acrobot": ("torque -1", "torque 0", "torque +1"),
    "MountainCar": ("push left", "no push", "push right"),
}


def action_names(env_id: str, count: int) -> tuple[str, ...]:
    for prefix, names in ACTION_NAMES.items():
        if env_id.startswith(prefix) and len(names) == count:
            return names
    return tuple(f"action {i}" for i in range(count))


class PanelPainter:
    """Shared drawing helpers bound to one palette, font cache and layout scale."""

    def __init__(self, surface: pygame.Surface, layout: Layout, palette: Palette, fonts: Fonts) -> None:
        self.surface = surface
        self.layout = layout
        self.palette = palette
        self.fonts = fonts

    def px(self, size: float) -> int:
        return self.layout.px(size)

    def text(
        self,
        text: str,
        position: tuple[float, float],
        size: float = 14,
        colour: Colour | None = None,
        bold: bool = False,
        anchor: str = "topleft",
    ) -> pygame.Rect:
        image = self.fonts.get(self.px(size), bold).render(text, True, colour or self.palette.text)
        rect = image.get_rect(**{anchor: (round(position[0]), round(position[1]))})
        self.surface.blit(image, rect)
        return rect

    def panel(self, rect: pygame.Rect, title: str, subtitle: str = "") -> pygame.Rect:
        """Background, border and title; returns the content area below the title."""
        radius = self.px(8)
        pygame.draw.rect(self.surface, self.palette.panel, rect, border_radius=radius)
        pygame.draw.rect(self.surface, self.palette.panel_border, rect, width=1, border_radius=radius)
        pad = self.px(10)
        title_rect = self.text(title, (rect.x + pad, rect.y + self.px(6)), 15, bold=True)
        if subtitle:
            self.text(
                subtitle, (title_rect.right + self.px(10), title_rect.centery), 12, self.palette.muted, anchor="midleft"
            )
        return pygame.Rect(
            rect.x + pad,
            title_rect.bottom + self.px(4),
            rect.width - 2 * pad,
            rect.bottom - title_rect.bottom - self.px(4) - pad,
        )

    def polyline(self, points: Sequence[tuple[float, float]], colour: Colour, width: int = 2) -> None:
        if len(points) < 2:
            return
        if width <= 1:
            pygame.draw.aalines(self.surface, colour, False, points)
        else:
            pygame.draw.lines(self.surface, colour, False, points, width)


def draw_policy_panel(painter: PanelPainter, rect: pygame.Rect, env_id: str, view: StepView, greedy: bool) -> None:
    """pi(a|s) for the state on screen: a bar per action, or the Gaussian for Box actions."""
    mode = "greedy: argmax" if greedy else "sampled"
    area = painter.panel(rect, "Policy  π(a|s)", f"for the state on stage · actions {mode}")
    palette = painter.palette
    if view.probabilities is not None:
        probabilities = view.probabilities
        names = action_names(env_id, len(probabilities))
        row_h = min(area.height / len(probabilities), painter.px(34))
        label_w = painter.px(92)
        for i, p in enumerate(probabilities):
            y = area.y + i * row_h + row_h * 0.1
            bar_h = row_h * 0.7
            chosen = view.action is not None and int(view.action) == i
            painter.text(
                names[i],
                (area.x, y + bar_h / 2),
                13,
                palette.text if chosen else palette.muted,
                bold=chosen,
                anchor="midleft",
            )
            track = pygame.Rect(area.x + label_w, round(y), area.width - label_w - painter.px(56), round(bar_h))
            pygame.draw.rect(painter.surface, palette.grid, track, border_radius=painter.px(4))
            filled = track.copy()
            filled.width = max(1, round(track.width * float(p)))
            pygame.draw.rect(painter.surface, palette.action(i), filled, border_radius=painter.px(4))
            painter.text(f"{p:.2f}", (track.right + painter.px(8), y + bar_h / 2), 14, bold=True, anchor="midleft")
        return
    assert view.mean is not None and view.std is not None
    mean, std = float(view.mean[0]), float(view.std[0])
    low, high = mean - 4 * std, mean + 4 * std
    xs = np.linspace(low, high, 80)
    density = np.exp(-0.5 * ((xs - mean) / std) ** 2)
    points = [
        (area.x + (x - low) / (high - low) * area.width, area.bottom - d * area.height * 0.8)
        for x, d in zip(xs, density, strict=True)
    ]
    painter.polyline(points, palette.action(0), painter.px(2))
    label = f"mean {mean:+.2f}   std {std:.2f}"
    if view.action is not None:
        sampled = float(np.asarray(view.action).reshape(-1)[0])
        sx = area.x + (sampled - low) / (high - low) * area.width
        pygame.draw.line(painter.surface, palette.action(1), (sx, area.y), (sx, area.bottom), painter.px(2))
        label += f"   action {sampled:+.2f}"
    painter.text(label, (area.x, area.y), 13, palette.muted)


def _value_range(*series: np.ndarray) -> tuple[float, float]:
    finite = [s[np.isfinite(s)] for s in series if len(s)]
    finite = [s for s in finite if len(s)]
    if not finite:
        return 0.0, 1.0
    low = min(0.0, min(float(s.min()) for s in finite))
    high = max(float(s.max()) for s in finite)
    return (low, high) if high - low > 1e-6 else (low, low + 1.0)


def draw_value_panel(
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

    def points(series: np.ndarray) -> list[tuple[float, float]]:
        return [
            (plot.x + i / (length - 1) * plot.width, plot.bottom - (v - low) / (high - low) * plot.height)
            for i, v in enumerate(series)
        ]

    zero_y = plot.bottom - (0 - low) / (high - low) * plot.height
    pygame.draw.line(painter.surface, palette.grid, (plot.x, zero_y), (plot.right, zero_y))
    painter.text(f"{high:.0f}", (plot.right, plot.y), 11, palette.muted, anchor="topright")
    if ghost is not None:
        faded_v = tuple((a + b) // 2 for a, b in zip(palette.value, palette.panel, strict=True))
        faded_g = tuple((a + b) // 2 for a, b in zip(palette.realised, palette.panel, strict=True))
        painter.polyline(points(ghost.values), faded_v, 1)
        painter.polyline(points(ghost.returns_to_go), faded_g, 1)
    painter.polyline(points(realised), palette.realised, painter.px(2))
    painter.polyline(points(values), palette.value, painter.px(2))
    legend = painter.text("— V(s_t)", (area.x, area.y), 12, palette.value)
    painter.text("— realised return-to-go", (legend.right + painter.px(12), area.y), 12, palette.realised)
    if len(values):
        painter.text(f"V = {values[-1]:.1f}", (area.right, area.y), 12, palette.value, bold=True, anchor="topright")


def draw_advantage_panel(
    painter: PanelPainter,
    rect: pygame.Rect,
    finished: FinishedEpisode | None,
    batch_advantages: np.ndarray,
    discrete: bool,
) -> None:
    """Per-step advantages of the last finished stage episode (bars by sign, action strip
    below), and the last training batch's advantage spread as a histogram on the right."""
    palette = painter.palette
    area = painter.panel(rect, "Advantage  A(s,a)", "last stage episode · training batch spread")
    hist_w = round(area.width * 0.26)
    bars = pygame.Rect(area.x, area.y, area.width - hist_w - painter.px(12), area.height)
    hist = pygame.Rect(bars.right + painter.px(12), area.y, hist_w, area.height)
    strip_h = painter.px(5)
    if finished is None or not len(finished.advantages):
        painter.text("waiting for the first episode to end…", bars.center, 12, palette.muted, anchor="center")
    else:
        adv = finished.advantages
        scale = max(float(np.abs(adv).max()), 1e-6)
        mid = bars.y + (bars.height - strip_h) / 2
        half = (bars.height - strip_h) / 2 - painter.px(2)
        step_w = bars.width / max(len(adv), 1)
        pygame.draw.line(painter.surface, palette.grid, (bars.x, mid), (bars.right, mid))
        for i, a in enumerate(adv):
            x0 = bars.x + i * step_w
            height = a / scale * half
            bar = pygame.Rect(
                round(x0),
                round(min(mid, mid - height)),
                max(1, math.ceil(step_w) - (1 if step_w > 3 else 0)),
                max(1, round(abs(height))),
            )
            pygame.draw.rect(painter.surface, palette.positive if a >= 0 else palette.negative, bar)
            if discrete and finished.actions[i] >= 0:
                pygame.draw.rect(
                    painter.surface,
                    palette.action(int(finished.actions[i])),
                    (round(x0), bars.bottom - strip_h, max(1, math.ceil(step_w)), strip_h),
                )
        painter.text(f"±{scale:.1f}", (bars.x, bars.y), 11, palette.muted)
    if len(batch_advantages) > 1:
        counts, edges = np.histogram(batch_advantages, bins=24)
        top = max(int(counts.max()), 1)
        bin_h = hist.height / len(counts)
        for i, count in enumerate(counts):
            centre = (edges[i] + edges[i + 1]) / 2
            width = count / top * hist.width
            colour = palette.positive if centre >= 0 else palette.negative
            pygame.draw.rect(
                painter.surface,
                colour,
                (hist.x, round(hist.bottom - (i + 1) * bin_h), max(1, round(width)), max(1, math.ceil(bin_h) - 1)),
            )
        std = float(np.std(batch_advantages))
        painter.text(f"batch σ {std:.1f}", (hist.right, hist.y), 11, palette.muted, anchor="topright")


def draw_status_bar(
    painter: PanelPainter, rect: pygame.Rect, items: Sequence[tuple[str, str]], state: str, state_colour: Colour
) -> None:
    """A pill with the state, then ``label value`` pairs left to right."""
    palette = painter.palette
    pygame.draw.rect(painter.surface, palette.panel, rect)
    pygame.draw.line(painter.surface, palette.panel_border, rect.bottomleft, (rect.right, rect.bottom - 1))
    font = painter.fonts.get(painter.px(14), True)
    label = font.render(state.upper(), True, palette.background)
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
