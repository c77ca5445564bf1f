"""The comparison window's panels: a stage per group (its agent 0 playing its current
policy) and the returns panel (each group's return curve over seeds, its IQM or its mean,
with a pointwise 95% band, the solved line, and each seed's steps to solve as a dot on
the same axis; the panel says which statistic it draws).

Each draws from an immutable :class:`CompareFrame` alone, in the group's colour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pygame

from vpg_sim.core.comparison import Band, MedianInterval
from vpg_sim.training.stage import StagePlayer
from vpg_sim.ui.panels.painter import TITLE_SIZE, LayerCache, PanelPainter
from vpg_sim.ui.panels.stage import draw_scene
from vpg_sim.ui.theme import Colour

BAND_OPACITY = 70
"""Of 255: two bands that overlap both stay visible."""
CURVE_NOTES = {
    "iqm": "line: IQM of {seeds} seeds (mean of the middle 50%) · band: pointwise 95% bootstrap interval",
    "mean": "line: mean over {seeds} seeds · band: pointwise 95% t-interval, mean ± t(0.975, n−1)·s/√n",
}
CURVE_NAMES = {"iqm": "IQM return", "mean": "mean return"}
INTERVAL_NAMES = {"iqm": "bootstrap", "mean": "order statistics"}


@dataclass(frozen=True)
class GroupView:
    """One group as the panels draw it: its curve and band (None before every seed has a
    value), its seeds' steps to solve, and the stage of its agent 0."""

    name: str
    label: str
    """How its config differs from the other's (``estimator=total-return``, or ``default``)."""
    other_label: str
    colour: Colour
    band: Band | None
    weights: str
    """What weighs grad log pi in its update (``estimator_weights``): normalised or the textbook's."""
    steps_to_solve: tuple[int | None, ...]
    median: MedianInterval | None
    """None with fewer than 2 seeds solved or not (see core/comparison.py)."""
    running: int
    stage: StagePlayer
    stage_seed: int = 0
    """The seed of agent 0, whom the stage plays."""

    @property
    def curve_end(self) -> tuple[float, float] | None:
        """Where the mean curve ends: (env steps, mean return), or None before it starts.
        It ends where its slowest seed is (see ``common_grid``), so every seed counts."""
        if self.band is None or not len(self.band.env_steps) or not math.isfinite(self.band.centre[-1]):
            return None
        return float(self.band.env_steps[-1]), float(self.band.centre[-1])

    def curve_end_text(self, statistic: str, with_steps: bool = True) -> str:
        end, name = self.curve_end, CURVE_NAMES[statistic]
        if end is None:
            return f"{name} –"
        return f"{name} {end[1]:.0f} at {end[0]:,.0f} steps" if with_steps else f"{name} {end[1]:.0f}"

    @property
    def seeds(self) -> int:
        return len(self.steps_to_solve)

    @property
    def solved(self) -> int:
        return sum(steps is not None for steps in self.steps_to_solve)


@dataclass(frozen=True)
class CompareFrame:
    """What one frame of the comparison window draws, read once."""

    env_id: str
    rounds: int
    groups: tuple[GroupView, ...]
    reward_threshold: float | None
    env_steps_axis: float
    """The x axis's end: the most env steps any seed has trained (at least one batch)."""
    state: str
    state_colour: Colour
    status_items: tuple[tuple[str, str], ...]
    presenting: bool
    statistic: str = "iqm"
    """What the curves and intervals are: ``iqm`` or ``mean`` (see ``core/comparison.py``)."""


# -- the stages ------------------------------------------------------------------------------


class GroupStagePanel:
    """One group's stage: its agent 0 (the first seed) playing its current policy, titled in the
    group's colour with its difference from the other group."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.track_layer = LayerCache()

    def draw(self, painter: PanelPainter, rect: pygame.Rect, frame: CompareFrame) -> None:
        group = frame.groups[self.index]
        palette, stage, surface = painter.palette, group.stage, painter.surface
        if not painter.frames_drawn:
            painter.panel_frame(rect)
        pad = painter.px(10)
        pygame.draw.rect(
            surface, group.colour, pygame.Rect(rect.x, rect.y + painter.px(8), painter.px(5), painter.px(22))
        )
        room = rect.right - pad - (rect.x + pad)
        said = painter.fitting([f"{group.name}: {group.label}", group.label, group.name], TITLE_SIZE, room)
        title = painter.text(said, (rect.x + pad, rect.y + painter.px(4)), TITLE_SIZE, group.colour, bold=True)
        subtitle = f"vs {group.other_label} · agent 0 (seed {group.stage_seed})"
        if title.right + painter.px(10) + painter.text_size(subtitle, 14)[0] <= rect.right - pad:
            painter.text(subtitle, (title.right + painter.px(10), title.centery), 14, palette.muted, anchor="midleft")
        area = painter.panel_area(rect)
        line_h = painter.text_size("Ag", 16)[1] + painter.px(2)
        header = pygame.Rect(area.x, area.y, area.width, 2 * line_h)
        steps = len(stage.trace.rewards)
        painter.text(f"episode {stage.episode_number + 1}", (header.x, header.y), 16, bold=True)
        painter.text(f"step {steps}   return {stage.trace.total_return:.0f}", (header.x, header.y + line_h), 16)
        painter.text(
            f"policy of update {stage.playing_update}",
            (header.right, header.y),
            16,
            group.colour,
            bold=True,
            anchor="topright",
        )
        painter.text(
            f"group: solved {group.solved}/{group.seeds}",
            (header.right, header.y + line_h),
            14,
            palette.muted,
            anchor="topright",
        )
        # The last episode's line gets a strip of its own below the scene: the limit lines
        # run to the scene's foot and would cross it.
        footer_h = painter.text_size("Ag", 13)[1] + painter.px(4)
        scene = pygame.Rect(area.x, header.bottom, area.width, area.bottom - header.bottom - footer_h)
        draw_scene(painter, stage, scene, self.track_layer)
        if stage.finished is not None:
            finished = stage.finished
            painter.text(
                f"last episode: return {finished.total_return:.0f} · {finished.end_reason}",
                (scene.x, area.bottom),
                13,
                palette.muted,
                anchor="bottomleft",
            )


# -- the returns panel -----------------------------------------------------------------------


def _any_finite(band: Band | None, bound: str) -> bool:
    return band is not None and bool(np.isfinite(getattr(band, bound)).any())


def nice_step(span: float, ticks: int) -> float:
    """A round tick spacing (1, 2 or 5 times a power of ten) giving about ``ticks`` ticks over ``span``."""
    raw = max(span, 1e-9) / max(ticks, 1)
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def steps_label(value: float) -> str:
    """``61.4k``, ``1.2M``: three figures at most."""
    if value >= 1e6:
        return f"{value / 1e6:.3g}M"
    return f"{value / 1e3:.3g}k" if value >= 1e3 else f"{value:.3g}"


class ComparisonReturnsPanel:
    """Above: each group's mean return against env steps, its band and the solved line;
    below, on the same x axis: each seed's steps to solve as a dot, the median as a bar
    and its order-statistic interval as a shade, per group. Redrawn only when a round ends
    or the groups shown change (a sweep's selected row)."""

    def __init__(self) -> None:
        self.layer = LayerCache()

    def draw(self, painter: PanelPainter, rect: pygame.Rect, frame: CompareFrame) -> None:
        seeds = frame.groups[0].seeds
        area = painter.panel(rect, "Return over env steps", f"{seeds} seeds per group, each on its own steps")
        # A snapshot's round identifies everything drawn here: the layer is redrawn once a round.
        shown = tuple(group.label for group in frame.groups)
        key = (frame.rounds, frame.env_steps_axis, painter.palette.name, painter.min_text_size, shown)
        local = pygame.Rect(0, 0, area.width, area.height)
        layer = self.layer.get(
            (),
            key,
            area.size,
            lambda surface: self._draw_content(painter, surface, local, frame),
            background=painter.palette.panel,
        )
        painter.surface.blit(layer, area)

    def _draw_content(
        self, painter: PanelPainter, surface: pygame.Surface, area: pygame.Rect, frame: CompareFrame
    ) -> None:
        on_layer = PanelPainter(surface, painter.layout, painter.palette, painter.fonts, painter.min_text_size)
        palette = on_layer.palette
        label_h = on_layer.text_size("0", 13)[1]
        left = area.x + on_layer.text_size("500", 13)[0] + on_layer.px(10)
        legend_row = on_layer.text_size("Ag", 15)[1] + on_layer.px(3)
        note_h = on_layer.text_size("Ag", 13)[1]
        legend_h = len(frame.groups) * legend_row + 2 * note_h
        dots_title_h = on_layer.text_size("Ag", 12)[1]
        row_h = on_layer.px(24)
        below_plot = label_h + on_layer.px(8) + dots_title_h + on_layer.px(4) + len(frame.groups) * row_h
        plot = pygame.Rect(left, area.y + legend_h + on_layer.px(12), area.right - left - on_layer.px(8), 0)
        plot.height = area.bottom - below_plot - plot.y
        dots_title_y = plot.bottom + label_h + on_layer.px(8)
        dots = pygame.Rect(plot.x, dots_title_y + dots_title_h + on_layer.px(4), plot.width, len(frame.groups) * row_h)

        x_max = frame.env_steps_axis
        # Over finite values only: one infinite bound would make the axis (and its ticks) infinite.
        highs = [
            float(g.band.high[np.isfinite(g.band.high)].max()) for g in frame.groups if _any_finite(g.band, "high")
        ]
        y_top = max([*highs, frame.reward_threshold or 0.0, 10.0]) * 1.05
        lows = [float(g.band.low[np.isfinite(g.band.low)].min()) for g in frame.groups if _any_finite(g.band, "low")]
        y_bottom = min([*lows, 0.0])

        def to_x(steps: float) -> float:
            return plot.x + plot.width * min(max(steps / x_max, 0.0), 1.0)

        def to_y(value: float) -> float:
            return plot.bottom - plot.height * (value - y_bottom) / (y_top - y_bottom)

        # grid and ticks
        y_step = nice_step(y_top - y_bottom, 5)
        tick = math.ceil(y_bottom / y_step) * y_step
        while tick <= y_top:
            y = to_y(tick)
            pygame.draw.line(surface, palette.grid, (plot.x, y), (plot.right, y), 1)
            on_layer.text(f"{tick:g}", (plot.x - on_layer.px(5), y), 13, palette.muted, anchor="midright")
            tick += y_step
        x_step = nice_step(x_max, 6)
        tick = 0.0
        while tick <= x_max * 1.0001:
            x = to_x(tick)
            pygame.draw.line(surface, palette.grid, (x, plot.y), (x, plot.bottom), 1)
            pygame.draw.line(surface, palette.grid, (x, dots.y), (x, dots.bottom), 1)
            on_layer.text(steps_label(tick), (x, plot.bottom + on_layer.px(4)), 13, palette.muted, anchor="midtop")
            tick += x_step
        pygame.draw.rect(surface, palette.panel_border, plot, width=1)
        if frame.reward_threshold is not None:
            y = to_y(frame.reward_threshold)
            for x in range(plot.x, plot.right, on_layer.px(10)):
                pygame.draw.line(surface, palette.muted, (x, y), (min(x + on_layer.px(5), plot.right), y), 1)
            on_layer.text(
                f"solved: {frame.reward_threshold:g}",
                (plot.x + on_layer.px(4), y - on_layer.px(2)),
                13,
                palette.muted,
                anchor="bottomleft",
            )

        # bands, then the mean lines over them
        shade = pygame.Surface(area.size, pygame.SRCALPHA)
        for group in frame.groups:
            band = group.band
            if band is None:
                continue
            known = np.isfinite(band.low) & np.isfinite(band.high)
            if known.sum() >= 2:
                upper = [(to_x(s), to_y(v)) for s, v in zip(band.env_steps[known], band.high[known], strict=True)]
                lower = [(to_x(s), to_y(v)) for s, v in zip(band.env_steps[known], band.low[known], strict=True)]
                pygame.draw.polygon(shade, (*group.colour, BAND_OPACITY), upper + lower[::-1])
        surface.blit(shade, (0, 0))
        for group in frame.groups:
            band = group.band
            if band is not None and len(band.env_steps) >= 2:
                points = [
                    (to_x(s), to_y(v)) for s, v in zip(band.env_steps, band.centre, strict=True) if math.isfinite(v)
                ]
                on_layer.polyline(points, group.colour, max(2, on_layer.px(3)))

        # the legend, above the plot
        y = area.y
        for group in frame.groups:
            swatch = pygame.Rect(area.x, 0, on_layer.px(18), on_layer.px(5))
            text_h = on_layer.text_size("Ag", 15)[1]
            swatch.centery = y + text_h // 2
            pygame.draw.rect(surface, group.colour, swatch)
            solved = f"solved {group.solved}/{group.seeds}" + ("" if group.running else " · done")
            end = group.curve_end_text(frame.statistic)
            short_end = group.curve_end_text(frame.statistic, with_steps=False)
            # A sweep's labels can be long: drop the steps, then the name's repeat, before clipping.
            said = on_layer.fitting(
                [
                    f"{group.name}: {group.label}   {end} · {solved}",
                    f"{group.name}: {group.label}   {short_end} · {solved}",
                    f"{group.label}   {short_end} · {solved}",
                    f"{group.label} · {solved}",
                ],
                15,
                area.right - swatch.right - on_layer.px(8),
            )
            on_layer.text(said, (swatch.right + on_layer.px(6), y), 15, group.colour, bold=True)
            y += text_h + on_layer.px(3)
        on_layer.text(
            CURVE_NOTES[frame.statistic].format(seeds=frame.groups[0].seeds),
            (area.x, y),
            13,
            palette.muted,
        )
        if len({group.weights for group in frame.groups}) == 1:  # a sweep's cells: said once
            weights = frame.groups[0].weights
        else:
            weights = " · ".join(f"{group.name}: {group.weights}" for group in frame.groups)
        on_layer.text(f"step weights Φ_t · {weights}", (area.x, y + note_h), 13, palette.muted)

        # steps to solve: one row per group
        on_layer.text(
            "steps to solve: a dot per seed · bar: median · shade: its 95% interval "
            f"({INTERVAL_NAMES[frame.statistic]})",
            (plot.x, dots_title_y),
            12,
            palette.muted,
        )
        for index, group in enumerate(frame.groups):
            centre = dots.y + row_h * (index + 0.5)
            on_layer.text(group.name, (plot.x - on_layer.px(5), centre), 14, group.colour, bold=True, anchor="midright")
            median = group.median
            if median is not None and median.interval is not None and math.isfinite(median.interval[0]):
                low, high = median.interval
                end = to_x(high) if math.isfinite(high) else plot.right
                shade_rect = pygame.Rect(round(to_x(low)), round(centre - row_h * 0.3), 0, round(row_h * 0.6))
                shade_rect.width = max(2, round(end - shade_rect.x))
                pygame.draw.rect(surface, palette.blend(group.colour, palette.panel, 0.25), shade_rect)
            radius = max(3, on_layer.px(4))
            for steps in group.steps_to_solve:
                if steps is not None:
                    pygame.draw.circle(surface, group.colour, (to_x(steps), centre), radius)
            if median is not None and math.isfinite(median.median):
                x = to_x(median.median)
                pygame.draw.line(
                    surface,
                    palette.text,
                    (x, centre - row_h * 0.38),
                    (x, centre + row_h * 0.38),
                    max(2, on_layer.px(3)),
                )
            unsolved = group.seeds - group.solved
            if unsolved:
                said = f"{unsolved} not yet" if group.running else f"{unsolved} not solved"
                # On a plate: a seed that solved near the axis's end put its dot on the count.
                width, height = on_layer.text_size(said, 12)
                plate = pygame.Rect(0, 0, width + on_layer.px(6), height)
                plate.midright = (plot.right - on_layer.px(1), round(centre))
                pygame.draw.rect(surface, palette.panel, plate)
                on_layer.text(said, (plot.right - on_layer.px(4), centre), 12, palette.muted, anchor="midright")
