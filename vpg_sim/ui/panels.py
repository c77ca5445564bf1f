"""The panels beside the stage. Each draws itself into a rect from data it is given;
none reads the trainer."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

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


TITLE_SIZE = 20
"""Panel titles, in px at 1280x720: 30 px at 1920x1080, readable from the back of a room."""


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
        image = self.fonts.render(text, self.px(size), colour or self.palette.text, bold)
        rect = image.get_rect(**{anchor: (round(position[0]), round(position[1]))})
        self.surface.blit(image, rect)
        return rect

    def panel(self, rect: pygame.Rect, title: str, subtitle: str = "") -> pygame.Rect:
        """Background, border and title; returns the content area below the title."""
        radius = self.px(8)
        pygame.draw.rect(self.surface, self.palette.panel, rect, border_radius=radius)
        pygame.draw.rect(self.surface, self.palette.panel_border, rect, width=1, border_radius=radius)
        pad = self.px(10)
        title_rect = self.text(title, (rect.x + pad, rect.y + self.px(4)), TITLE_SIZE, bold=True)
        if subtitle:
            self.text(
                subtitle, (title_rect.right + self.px(10), title_rect.centery), 14, self.palette.muted, anchor="midleft"
            )
        return pygame.Rect(
            rect.x + pad,
            title_rect.bottom + self.px(4),
            rect.width - 2 * pad,
            rect.bottom - title_rect.bottom - self.px(4) - pad,
        )

    def polyline(self, points: Sequence[Sequence[float]], colour: Colour, width: int = 2) -> None:
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


class LayerCache:
    """The last drawing of a layer, redrawn only when its key changes.

    Keys hold ``id()`` s of the arrays drawn; the cache keeps those objects alive so
    that an id cannot be reused by a new array while the drawing is kept.
    """

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._sources: tuple = ()
        self._surface: pygame.Surface | None = None

    def get(
        self, sources: tuple, extra_key: tuple, size: tuple[int, int], draw: Callable[[pygame.Surface], None]
    ) -> pygame.Surface:
        key = (*(id(source) for source in sources), *extra_key, size)
        if key != self._key or self._surface is None:
            self._surface = pygame.Surface(size, pygame.SRCALPHA)
            draw(self._surface)
            self._key, self._sources = key, sources
        return self._surface


def _draw_advantage_bars(surface: pygame.Surface, finished: FinishedEpisode, palette: Palette, strip_h: int) -> None:
    """One bar per step of ``finished`` (height by advantage, colour by sign) and an
    action strip below, filling ``surface``."""
    bars = surface.get_rect()
    adv = finished.advantages
    scale = max(float(np.abs(adv).max()), 1e-6)
    mid = (bars.height - strip_h) / 2
    half = mid - 2
    step_w = bars.width / max(len(adv), 1)
    pygame.draw.line(surface, palette.grid, (0, mid), (bars.right, mid))
    for i, a in enumerate(adv):
        x0 = i * step_w
        height = a / scale * half
        bar = pygame.Rect(
            round(x0),
            round(min(mid, mid - height)),
            max(1, math.ceil(step_w) - (1 if step_w > 3 else 0)),
            max(1, round(abs(height))),
        )
        pygame.draw.rect(surface, palette.positive if a >= 0 else palette.negative, bar)
        if finished.actions[i] >= 0:
            pygame.draw.rect(
                surface,
                palette.action(int(finished.actions[i])),
                (round(x0), bars.bottom - strip_h, max(1, math.ceil(step_w)), strip_h),
            )


def _draw_advantage_histogram(surface: pygame.Surface, advantages: np.ndarray, palette: Palette) -> None:
    """The spread of a batch's advantages ``(B,)``: horizontal bars, one per bin."""
    hist = surface.get_rect()
    counts, edges = np.histogram(advantages, bins=24)
    top = max(int(counts.max()), 1)
    bin_h = hist.height / len(counts)
    for i, count in enumerate(counts):
        centre = (edges[i] + edges[i + 1]) / 2
        width = count / top * hist.width
        colour = palette.positive if centre >= 0 else palette.negative
        pygame.draw.rect(
            surface,
            colour,
            (0, round(hist.bottom - (i + 1) * bin_h), max(1, round(width)), max(1, math.ceil(bin_h) - 1)),
        )


def draw_advantage_panel(
    painter: PanelPainter,
    rect: pygame.Rect,
    finished: FinishedEpisode | None,
    batch_advantages: np.ndarray,
    layers: tuple[LayerCache, LayerCache],
) -> None:
    """Per-step advantages of the last finished stage episode (bars by sign, action strip
    below), and the last training batch's advantage spread as a histogram on the right.

    Both change once per episode or update, so ``layers`` keep their drawings: a
    500-bar episode costs ~1 ms to draw, a blit ~0.02 ms.
    """
    palette = painter.palette
    area = painter.panel(rect, "Advantage  A(s,a)", "last stage episode · training batch spread")
    hist_w = round(area.width * 0.26)
    bars = pygame.Rect(area.x, area.y, area.width - hist_w - painter.px(12), area.height)
    hist = pygame.Rect(bars.right + painter.px(12), area.y, hist_w, area.height)
    if finished is None or not len(finished.advantages):
        painter.text("waiting for the first episode to end…", bars.center, 12, palette.muted, anchor="center")
    else:
        strip_h = painter.px(5)
        image = layers[0].get(
            (finished,),
            (palette.name, strip_h),
            bars.size,
            lambda surface: _draw_advantage_bars(surface, finished, palette, strip_h),
        )
        painter.surface.blit(image, bars)
        scale = float(np.abs(finished.advantages).max())
        painter.text(f"±{scale:.2g}", (bars.x, bars.y), 11, palette.muted)
    if len(batch_advantages) > 1:
        image = layers[1].get(
            (batch_advantages,),
            (palette.name,),
            hist.size,
            lambda surface: _draw_advantage_histogram(surface, batch_advantages, palette),
        )
        painter.surface.blit(image, hist)
        std = float(np.std(batch_advantages))
        painter.text(f"batch σ {std:.2g}", (hist.right, hist.y), 11, palette.muted, anchor="topright")


def draw_status_bar(
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


def _timeline_track(rect: pygame.Rect) -> pygame.Rect:
    """The scrubbable part of the timeline strip: between its label and the live badge."""
    label_w, live_w = round(rect.height * 2.4), round(rect.height * 2.0)
    return pygame.Rect(rect.x + label_w, rect.y, rect.width - label_w - live_w, rect.height)


def _timeline_x(track: pygame.Rect, first: int, latest: int, update: int) -> float:
    if latest <= first:
        return float(track.right)
    return track.x + (update - first) / (latest - first) * track.width


def timeline_update_at(rect: pygame.Rect, kept: Sequence[int], latest: int, x: float) -> int | None:
    """The update under ``x`` on the timeline strip in ``rect`` (None: no past to replay)."""
    if not kept or latest <= kept[0]:
        return None
    track = _timeline_track(rect)
    fraction = min(max((x - track.x) / track.width, 0.0), 1.0)
    return round(kept[0] + fraction * (latest - kept[0]))


def draw_timeline(
    painter: PanelPainter,
    rect: pygame.Rect,
    kept: Sequence[int],
    latest: int,
    scrubbed: int | None,
    changes: Sequence[int],
    layer: LayerCache,
) -> None:
    """The run from its first kept update to the newest: a tick per kept policy, a
    diamond per knob change, the handle where the stage plays, and a LIVE badge."""
    palette = painter.palette
    radius = painter.px(8)
    pygame.draw.rect(painter.surface, palette.panel, rect, border_radius=radius)
    pygame.draw.rect(painter.surface, palette.panel_border, rect, width=1, border_radius=radius)
    painter.text("Timeline", (rect.x + painter.px(10), rect.centery), 16, bold=True, anchor="midleft")
    track = _timeline_track(rect)
    mid = track.centery
    first = kept[0] if kept else latest

    def draw_marks(surface: pygame.Surface) -> None:  # up to 200 ticks: drawn once per update, then blitted
        local_mid = mid - rect.y
        local = track.move(-rect.x, -rect.y)
        pygame.draw.line(surface, palette.grid, (local.x, local_mid), (local.right, local_mid), painter.px(4))
        for update in kept:
            x = _timeline_x(local, first, latest, update)
            pygame.draw.line(surface, palette.muted, (x, local_mid - painter.px(5)), (x, local_mid + painter.px(5)))
        for update in changes:
            x = _timeline_x(local, first, latest, update)
            size, centre_y = painter.px(6), local_mid - painter.px(10)
            diamond = [(x, centre_y - size), (x + size, centre_y), (x, centre_y + size), (x - size, centre_y)]
            pygame.draw.polygon(surface, palette.realised, diamond)

    marks = layer.get((), (tuple(kept), latest, tuple(changes), palette.name), rect.size, draw_marks)
    painter.surface.blit(marks, rect)
    live = scrubbed is None
    handle_x = _timeline_x(track, first, latest, latest if live else scrubbed)
    colour = palette.value if live else palette.realised
    pygame.draw.line(painter.surface, colour, (track.x, mid), (handle_x, mid), painter.px(4))
    pygame.draw.circle(painter.surface, colour, (handle_x, mid), painter.px(8))
    label = f"update {latest}" if live else f"update {scrubbed} of {latest}"
    painter.text(label, (track.x, rect.bottom - painter.px(2)), 12, palette.muted, anchor="bottomleft")
    text = painter.fonts.render(
        "LIVE" if live else "End: live", painter.px(14), palette.background if live else palette.text, bold=True
    )
    badge = text.get_rect().inflate(painter.px(16), painter.px(8))
    badge.midright = (rect.right - painter.px(10), rect.centery)
    if live:
        pygame.draw.rect(painter.surface, palette.value, badge, border_radius=badge.height // 2)
    else:
        pygame.draw.rect(painter.surface, palette.muted, badge, width=1, border_radius=badge.height // 2)
    painter.surface.blit(text, text.get_rect(center=badge.center))
