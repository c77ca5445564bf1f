"""The Gradient noise panel: how noisy one batch's policy gradient is, per estimator."""

from __future__ import annotations

import math

import pygame

from vpg_sim.core.advantages import ESTIMATORS
from vpg_sim.training.noise_monitor import NoiseReading
from vpg_sim.ui.panels.frame import Frame
from vpg_sim.ui.panels.painter import PanelPainter
from vpg_sim.ui.theme import Colour

LOG_RANGE = (-1.0, 3.0)
"""Relative variance's bars span 0.1 to 1,000 on a log scale: from "one batch is mostly
signal" to far past K = 16, where no signal is left that 16 batches could resolve."""


ACTIVE_MARK = "●"
"""Beside the estimator training uses."""


def bar_fraction(relative_variance: float) -> float:
    """Where ``relative_variance`` sits on the log scale of :data:`LOG_RANGE`, in [0, 1]
    (NaN for NaN; inf fills the bar)."""
    if math.isnan(relative_variance):
        return math.nan
    if relative_variance <= 0:
        return 0.0
    low, high = LOG_RANGE
    return min(max((math.log10(relative_variance) - low) / (high - low), 0.0), 1.0)


def figure_text(value: float, signed: bool = False) -> str:
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return "∞"
    if signed:
        return f"{value:+.2f}"
    return f"{value:.3g}" if value < 1000 else f"{value:,.0f}"


class NoisePanel:
    """One row per estimator of Phi_t: a bar of the relative variance of one batch's
    gradient (log scale: shorter is quieter) and the cosine between one batch's gradient
    and the mean of the others (longer agrees more). The estimator training uses is marked."""

    def draw(self, painter: PanelPainter, rect: pygame.Rect, frame: Frame) -> None:
        palette = painter.palette
        reading = frame.noise
        area = painter.panel(rect, "Gradient noise", "each estimator, K batches at one policy · O: back")
        if reading is None:
            waiting = painter.fitting(WAITING, 12, area.width)
            painter.text(waiting, area.center, 12, palette.muted, anchor="center")
            return
        active = frame.snapshot.config.estimator
        line, row_line = painter.text_size("Ag", 11)[1], painter.text_size("Ag", 12, bold=True)[1]
        # The heading and the footer give way (the footer first) to rows a label high.
        heading, footer = line + painter.px(2), line + painter.px(4)
        if area.height - heading - footer < len(ESTIMATORS) * row_line:
            footer = 0
        if area.height - heading - footer < len(ESTIMATORS) * row_line:
            heading = 0
        if area.height < len(ESTIMATORS) * row_line:
            painter.text("(a larger window shows it)", area.center, 12, palette.muted, anchor="center")
            return
        rows = pygame.Rect(area.x, area.y + heading, area.width, area.height - heading - footer)
        name_x = rows.x + painter.text_size(ACTIVE_MARK, 9)[0] + painter.px(3)
        name_w = name_x - rows.x + max(painter.text_size(name, 12, bold=True)[0] for name in ESTIMATORS) + painter.px(8)
        number_w = painter.text_size("0,000", 12)[0] + painter.px(6)
        cosine_w = max(rows.width // 4, painter.px(70))
        variance_x = rows.x + name_w
        variance_w = rows.right - cosine_w - painter.px(12) - variance_x
        cosine_x = rows.right - cosine_w
        muted = palette.muted
        if heading:
            title = painter.fitting(VARIANCE_HEADINGS, 11, cosine_x - variance_x - painter.px(8))
            painter.text(title, (variance_x, area.y), 11, muted)
            painter.text("cosine", (cosine_x, area.y), 11, muted)
        row_h = rows.height / len(ESTIMATORS)
        for index, name in enumerate(ESTIMATORS):
            figures = reading.noise.estimators[name]
            centre_y = rows.y + (index + 0.5) * row_h
            is_active = name == active
            colour = palette.value if is_active else muted
            if is_active:
                painter.text(ACTIVE_MARK, (rows.x, centre_y), 9, palette.value, anchor="midleft")
            painter.text(name, (name_x, centre_y), 12, palette.text, bold=is_active, anchor="midleft")
            bar_h = max(2, min(painter.px(10), int(row_h) - painter.px(6)))
            fraction = bar_fraction(figures.relative_variance)
            _bar(painter, variance_x, centre_y, variance_w - number_w, bar_h, fraction, colour)
            painter.text(
                figure_text(figures.relative_variance), (variance_x + variance_w, centre_y), 12, anchor="midright"
            )
            cosine_number_w = painter.text_size("+0.00", 12)[0] + painter.px(6)
            fraction = math.nan if math.isnan(figures.cosine) else max(figures.cosine, 0.0)
            _bar(painter, cosine_x, centre_y, cosine_w - cosine_number_w, bar_h, fraction, colour)
            painter.text(
                figure_text(figures.cosine, signed=True),
                (rows.right, centre_y),
                12,
                palette.negative if figures.cosine < 0 else palette.text,
                anchor="midright",
            )
        if footer:
            measured = painter.fitting(_footers(reading, frame.snapshot.update), 11, area.width)
            painter.text(measured, (area.x, area.bottom), 11, muted, anchor="bottomleft")


def _bar(
    painter: PanelPainter, x: int, centre_y: float, width: int, height: int, fraction: float, colour: Colour
) -> None:
    """A track ``width`` long with ``fraction`` of it filled (nothing for NaN)."""
    track = pygame.Rect(x, round(centre_y - height / 2), max(width, 1), height)
    pygame.draw.rect(painter.surface, painter.palette.grid, track, border_radius=painter.px(2))
    if not math.isnan(fraction) and fraction > 0:
        filled = track.copy()
        filled.width = max(1, round(track.width * fraction))
        pygame.draw.rect(painter.surface, colour, filled, border_radius=painter.px(2))


WAITING = ["measuring at the newest policy… (a few seconds, beside training)", "measuring…"]
VARIANCE_HEADINGS = [
    "relative variance (log, 0.1 – 1,000: shorter is quieter)",
    "relative variance (log scale)",
    "rel. variance",
]


def _footers(reading: NoiseReading, newest_update: int) -> list[str]:
    """What was measured, from the full sentence down to when."""
    noise = reading.noise
    when = f"at update {reading.update}" + ("" if reading.update == newest_update else f" (now {newest_update})")
    return [
        f"{when} · K = {noise.batches} batches of whole episodes, {noise.batch_steps:,.0f} steps each"
        f" · took {noise.seconds:.1f} s",
        f"{when} · K = {noise.batches} batches, {noise.batch_steps:,.0f} steps each · {noise.seconds:.1f} s",
        f"{when} · K = {noise.batches} × {noise.batch_steps:,.0f} steps",
        when,
    ]
