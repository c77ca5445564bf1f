"""The Gradient noise panel: how noisy one batch's policy gradient is, per estimator."""

from __future__ import annotations

import math

import pygame

from vpg_sim.core.advantages import ESTIMATORS, TRUNCATION_NOTE
from vpg_sim.core.gradient_noise import EstimatorNoise
from vpg_sim.training.noise_monitor import NoiseReading
from vpg_sim.ui.panels.frame import Frame
from vpg_sim.ui.panels.painter import TITLE_SIZE, PanelPainter
from vpg_sim.ui.theme import Colour

LOG_RANGE = (-1.0, 3.0)
"""Relative variance's bars span 0.1 to 1,000 on a log scale: from "one batch is mostly
signal" to far past K = 16, where no signal is left that 16 batches could resolve."""


ACTIVE_MARK = "●"
"""Beside the estimator training uses."""
UNDECIDED = "undecided"
"""In place of a figure whose K batches resolve no signal (``EstimatorNoise.resolved``)."""
UNDECIDED_REASONS = [
    f"{UNDECIDED}: |ḡ|² < 2·tr Cov/K, so K batches cannot tell that gradient from noise (as at a solved policy)",
    f"{UNDECIDED}: |ḡ|² < 2·tr Cov/K: K batches cannot tell it from noise",
    f"{UNDECIDED}: no signal K batches resolve",
]
TRUNCATION_LINES = [TRUNCATION_NOTE, "at a time limit: critic-free pair, return within it; critic pair, past it"]


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


def variance_text(figures: EstimatorNoise) -> str:
    """The debiased relative variance as the panel prints it, or :data:`UNDECIDED`."""
    return figure_text(figures.debiased) if figures.resolved else UNDECIDED


def weights_name(normalised: bool) -> str:
    return "normalised Φ" if normalised else "raw Φ"


class NoisePanel:
    """One row per estimator of Phi_t: a bar of the debiased relative variance of one
    batch's gradient on the weights training steps on (normalised Phi by default; log
    scale: shorter is quieter), the same figure on the other weights, and the cosine
    between one batch's gradient and the mean of the others (longer agrees more). The
    estimator training uses is marked; a figure K batches cannot resolve reads
    "undecided", and the footer says why."""

    def draw(self, painter: PanelPainter, rect: pygame.Rect, frame: Frame) -> None:
        palette = painter.palette
        reading = frame.noise
        title = "Gradient noise"
        if reading is None:
            area = painter.panel(rect, title, "each estimator, K batches at one policy · O: back")
            waiting = painter.fitting(WAITING, 12, area.width)
            painter.text(waiting, area.center, 12, palette.muted, anchor="center")
            return
        room = rect.width - painter.text_size(title, TITLE_SIZE, bold=True)[0] - painter.px(30)
        area = painter.panel(rect, title, painter.fitting(_measured(reading, frame.snapshot.update), 14, room))
        config = frame.snapshot.config
        active, normalised = config.estimator, config.normalize_advantages
        trained = reading.noise.trained(normalised)
        other = reading.noise.trained(not normalised)
        line, row_line = painter.text_size("Ag", 11)[1], painter.text_size("Ag", 12, bold=True)[1]
        notes = _notes([*trained.values(), *other.values()])
        # The heading and the notes give way (the last note first) to rows a label high.
        heading = line + painter.px(2)
        while notes and area.height - heading - len(notes) * line - painter.px(4) < len(ESTIMATORS) * row_line:
            notes.pop()
        footer = len(notes) * line + painter.px(4) if notes else 0
        if area.height - heading - footer < len(ESTIMATORS) * row_line:
            heading = 0
        if area.height < len(ESTIMATORS) * row_line:
            painter.text("(a larger window shows it)", area.center, 12, palette.muted, anchor="center")
            return
        rows = pygame.Rect(area.x, area.y + heading, area.width, area.height - heading - footer)
        name_x = rows.x + painter.text_size(ACTIVE_MARK, 9)[0] + painter.px(3)
        name_w = name_x - rows.x + max(painter.text_size(name, 12, bold=True)[0] for name in ESTIMATORS) + painter.px(8)
        number_w = painter.text_size(UNDECIDED, 12)[0] + painter.px(6)
        other_label = "raw" if normalised else "norm."
        other_w = painter.text_size(f"{other_label} {UNDECIDED}", 11)[0] + painter.px(8)
        cosine_w = max(rows.width // 5, painter.px(60))
        variance_x = rows.x + name_w
        cosine_x = rows.right - cosine_w
        variance_w = cosine_x - painter.px(12) - other_w - variance_x
        muted = palette.muted
        if heading:
            title = painter.fitting(
                [text.format(weights=weights_name(normalised)) for text in VARIANCE_HEADINGS],
                11,
                cosine_x - variance_x - painter.px(8),
            )
            painter.text(title, (variance_x, area.y), 11, muted)
            painter.text("cosine", (cosine_x, area.y), 11, muted)
        row_h = rows.height / len(ESTIMATORS)
        bar_h = max(2, min(painter.px(10), int(row_h) - painter.px(6)))
        for index, name in enumerate(ESTIMATORS):
            figures = trained[name]
            centre_y = rows.y + (index + 0.5) * row_h
            is_active = name == active
            colour = palette.value if is_active else muted
            if is_active:
                painter.text(ACTIVE_MARK, (rows.x, centre_y), 9, palette.value, anchor="midleft")
            painter.text(name, (name_x, centre_y), 12, palette.text, bold=is_active, anchor="midleft")
            fraction = bar_fraction(figures.debiased) if figures.resolved else math.nan
            _bar(painter, variance_x, centre_y, variance_w - number_w, bar_h, fraction, colour)
            painter.text(
                variance_text(figures),
                (variance_x + variance_w, centre_y),
                12,
                palette.text if figures.resolved else muted,
                anchor="midright",
            )
            painter.text(
                f"{other_label} {variance_text(other[name])}",
                (variance_x + variance_w + painter.px(8), centre_y),
                11,
                muted,
                anchor="midleft",
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
        y = area.bottom - len(notes) * line
        for texts in notes:
            painter.text(painter.fitting(texts, 11, area.width), (area.x, y), 11, muted)
            y += line


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
    "relative variance, debiased, of {weights} (trains; log, 0.1 – 1,000: shorter is quieter)",
    "relative variance, debiased, of {weights} (trains)",
    "rel. variance of {weights} (trains)",
    "rel. variance",
]


def _notes(shown: list[EstimatorNoise]) -> list[list[str]]:
    """The footer's lines, most needed first (each from its full sentence down): why a
    figure is undecided (if one of those ``shown`` is), and the truncation caveat."""
    if all(figures.resolved for figures in shown):
        return [TRUNCATION_LINES]
    return [UNDECIDED_REASONS, TRUNCATION_LINES]


def _measured(reading: NoiseReading, newest_update: int) -> list[str]:
    """What was measured, as the panel's subtitle: from the full sentence down to when."""
    noise = reading.noise
    when = f"at update {reading.update}" + ("" if reading.update == newest_update else f" (now {newest_update})")
    return [
        f"{when} · K = {noise.batches} batches, {noise.batch_steps:,.0f} steps each · O: back",
        f"{when} · K = {noise.batches} × {noise.batch_steps:,.0f} steps · O: back",
        f"{when} · O: back",
        when,
    ]
