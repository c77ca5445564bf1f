"""The "Yours vs reference" panel: a student's functions beside vpg-sim's own, on the batch
the student's run just trained on."""

from __future__ import annotations

import math

import pygame

from vpg_sim.core.student_step import YoursVsReference
from vpg_sim.ui.panels.frame import Frame
from vpg_sim.ui.panels.painter import TITLE_SIZE, PanelPainter, number_text, wrap_words

AGREE = 1e-5
"""Differences below this are float rounding: the student's answer is the reference's."""


def cosine_words(cosine: float) -> str:
    """What the cosine between the two policy gradients means, in a few words."""
    if math.isnan(cosine):
        return "a gradient is zero"
    if cosine > 0.999:
        return "the same direction"
    if cosine > 0.9:
        return "nearly the same direction"
    if cosine > 0.0:
        return "partly the same direction"
    return "uphill turned away: a wrong step"


ERROR_LINES = 4


class StudentPanel:
    """Per pluggable function, the largest difference between the student's numbers and
    the reference's on the same batch, where, and both values; then the cosine between the
    policy gradients the two give (1: the student's step is ours)."""

    def draw(self, painter: PanelPainter, rect: pygame.Rect, frame: Frame) -> None:
        palette = painter.palette
        compared: YoursVsReference | None = frame.snapshot.yours_vs_reference
        label = frame.student_label or "no student's code"
        room = rect.width - painter.px(30) - painter.text_size("Yours vs reference", TITLE_SIZE, bold=True)[0]
        said = [f"{label} · update {frame.snapshot.update} · Y: back", label, label.rsplit(":", 1)[-1]]
        area = painter.panel(rect, "Yours vs reference", painter.fitting(said, 14, room))
        if frame.student_error:
            self._draw_error(painter, area, frame.student_error)
            return
        if compared is None:
            painter.text("waiting for the first update…", area.center, 12, palette.muted, anchor="center")
            return
        line_h = painter.text_size("Ag", 13)[1] + painter.px(4)
        y = area.y
        for difference in compared.differences:
            same = difference.largest < AGREE
            colour = palette.positive if same else palette.warning
            name = difference.slot
            if same:
                said = f"{name}: the same as the reference (largest difference {difference.largest:.1g})"
            else:
                said = (
                    f"{name}: largest difference {number_text(difference.largest, '.3g')} at {difference.where()}"
                    f" (yours {number_text(difference.yours, '.4g')},"
                    f" reference {number_text(difference.reference, '.4g')})"
                )
            shorter = said.split(" (")[0]
            painter.text(painter.fitting([said, shorter], 13, area.width), (area.x, y), 13, colour, bold=not same)
            y += line_h
        cosine = compared.gradient_cosine
        words = cosine_words(cosine)
        shown = "–" if math.isnan(cosine) else f"{cosine:+.3f}"
        painter.text(f"cos(your policy gradient, ours) = {shown}: {words}", (area.x, y + painter.px(4)), 13)
        bar = pygame.Rect(area.x, y + line_h + painter.px(8), area.width, painter.px(10))
        pygame.draw.rect(painter.surface, palette.grid, bar, border_radius=painter.px(3))
        if not math.isnan(cosine):
            middle = bar.centerx
            end = middle + round(cosine * bar.width / 2)
            fill = pygame.Rect(min(middle, end), bar.y, abs(end - middle), bar.height)
            pygame.draw.rect(painter.surface, palette.positive if cosine > 0.9 else palette.warning, fill)
            pygame.draw.line(painter.surface, palette.muted, (middle, bar.y - 2), (middle, bar.bottom + 2))
        note = f"on this update's batch of {compared.steps:,} steps; the dashed curve is the reference run"
        note = painter.fitting([note, f"batch of {compared.steps:,} steps"], 11, area.width)
        painter.text(note, (area.x, area.bottom), 11, palette.muted, anchor="bottomleft")

    def _draw_error(self, painter: PanelPainter, area: pygame.Rect, error: str) -> None:
        """Why the run paused, in full (wrapped), and what to do."""
        palette = painter.palette
        painter.text("Paused: your function failed", (area.x, area.y), 14, palette.warning, bold=True)
        line_h = painter.text_size("Ag", 12)[1] + painter.px(2)
        y = area.y + painter.text_size("Ag", 14)[1] + painter.px(6)
        for line in wrap_words(error, lambda text: painter.text_size(text, 12)[0], area.width)[:ERROR_LINES]:
            painter.text(line, (area.x, y), 12, palette.warning)
            y += line_h
        painter.text(
            "fix the file, then Space: it is imported afresh", (area.x, area.bottom), 12, palette.muted,
            anchor="bottomleft",
        )

