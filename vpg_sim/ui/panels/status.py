"""The status bar along the top."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pygame

from vpg_sim.core.trainer import UpdateStats
from vpg_sim.ui.panels.frame import Frame
from vpg_sim.ui.panels.painter import PanelPainter
from vpg_sim.ui.theme import Colour


class StatusBar:
    """The run's state as a pill, then its figures."""

    def draw(self, painter: PanelPainter, rect: pygame.Rect, frame: Frame) -> None:
        draw_status(painter, rect, frame.status_items, frame.state, frame.state_colour, frame.badge)


def _pill(painter: PanelPainter, text: str, colour: Colour, left: int, centre_y: int) -> pygame.Rect:
    label = painter.fonts.render(text.upper(), painter.px(14), painter.palette.background, bold=True)
    pill = label.get_rect().inflate(painter.px(16), painter.px(6))
    pill.midleft = (left, centre_y)
    pygame.draw.rect(painter.surface, colour, pill, border_radius=pill.height // 2)
    painter.surface.blit(label, label.get_rect(center=pill.center))
    painter.record(pill, text)
    return pill


def draw_status(
    painter: PanelPainter,
    rect: pygame.Rect,
    items: Sequence[tuple[str, str]],
    state: str,
    state_colour: Colour,
    badge: str | None = None,
) -> None:
    """A pill with the state (and a warning badge), then ``label value`` pairs left to
    right, as many as fit."""
    palette = painter.palette
    if not painter.frames_drawn:
        pygame.draw.rect(painter.surface, palette.panel, rect)
        pygame.draw.line(painter.surface, palette.panel_border, rect.bottomleft, (rect.right, rect.bottom - 1))
    pill = _pill(painter, state, state_colour, rect.x + painter.px(10), rect.centery)
    if badge:
        pill = _pill(painter, badge, palette.warning, pill.right + painter.px(8), rect.centery)
    x = pill.right + painter.px(16)
    for name, value in items:
        width = painter.text_size(name, 12)[0] + painter.px(5) + painter.text_size(value, 14, bold=True)[0]
        if x + width > rect.right - painter.px(10):
            break
        name_rect = painter.text(name, (x, rect.centery), 12, palette.muted, anchor="midleft")
        value_at = (name_rect.right + painter.px(5), rect.centery)
        value_rect = painter.text(value, value_at, 14, bold=True, anchor="midleft")
        x = value_rect.right + painter.px(16)


def status_figures(
    stats: UpdateStats | None, update: int, steps_per_second: float, pace: str, speed: float, elapsed: float
) -> list[tuple[str, str]]:
    """The status bar's ``(label, value)`` pairs, most important first (a narrow window
    drops the last). ``stats`` of the newest update (None before the first of this
    session: a loaded policy shows its own ``update``); ``steps_per_second`` the real rate."""
    clock = ("elapsed", f"{int(elapsed) // 60}:{int(elapsed) % 60:02d}")
    settings = [("pace", pace), ("speed", f"{speed:g}x")]
    if stats is None:
        return [("update", str(update)), *settings, clock]

    def number(value: float, digits: int = 2) -> str:
        if not math.isfinite(value):
            return "–"
        # A huge figure (a diverging critic's loss) in at most a few characters, not 27 digits.
        return f"{value:.{digits}f}" if abs(value) < 1e6 else f"{value:.2g}"

    figures = [
        ("update", str(stats.update)),
        ("mean return", number(stats.mean_return_100, 1)),
        ("env steps", f"{stats.env_steps:,}"),
        ("steps/s", f"{steps_per_second:,.0f}"),
        ("policy lr", f"{stats.policy_lr:.2g}"),
        ("entropy", number(stats.entropy)),
        ("KL", number(stats.approx_kl, 4)),
        ("value loss", number(stats.value_loss, 1)),
    ]
    if math.isfinite(stats.explained_variance):  # NaN where the targets barely vary (see core)
        figures.append(("expl. var", number(stats.explained_variance)))
    if stats.nan_rollbacks:
        figures.append(("NaN rollbacks", str(stats.nan_rollbacks)))
    return [*figures, *settings, clock]
