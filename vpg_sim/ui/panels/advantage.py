"""The advantage panel: which steps the update will make more likely, and which less."""

from __future__ import annotations

import math

import numpy as np
import pygame

from vpg_sim.training.stage import FinishedEpisode
from vpg_sim.ui.panels.frame import Frame
from vpg_sim.ui.panels.painter import LayerCache, PanelPainter
from vpg_sim.ui.theme import Palette


def _draw_advantage_bars(
    surface: pygame.Surface, finished: FinishedEpisode, scale: float, palette: Palette, strip_h: int
) -> None:
    """One bar per step of ``finished`` (height by advantage on a +-``scale`` axis, colour
    by sign) and an action strip below, filling ``surface``."""
    bars = surface.get_rect()
    adv = finished.advantages
    mid = (bars.height - strip_h) / 2
    half = mid - 2
    step_w = bars.width / max(len(adv), 1)
    pygame.draw.line(surface, palette.grid, (0, mid), (bars.right, mid))
    for i, a in enumerate(adv):
        x0 = i * step_w
        height = min(max(a / scale, -1.0), 1.0) * half
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


class AdvantagePanel:
    """Advantages of the last finished stage episode, and the last training batch's spread.

    Both are raw (training normalises the batch's to mean 0, std 1 before its step). The
    bars' scale is fixed by default, to the largest |A| of any stage episode this run, so
    that a solved policy's +-0.003 of noise looks like the nothing it is; A switches to a
    scale fitted to each episode.
    """

    def __init__(self) -> None:
        self.layers = (LayerCache(), LayerCache())
        self.fixed_scale = True

    def draw(self, painter: PanelPainter, rect: pygame.Rect, frame: Frame) -> None:
        palette = painter.palette
        area = painter.panel(rect, "Advantage  A(s,a)", "raw · last stage episode · training batch")
        finished = frame.stage.finished
        batch_advantages = frame.snapshot.last_advantages
        header = painter.px(16)
        hist_w = round(area.width * 0.26)
        body = pygame.Rect(area.x, area.y + header, area.width, area.height - header)
        bars = pygame.Rect(body.x, body.y, body.width - hist_w - painter.px(12), body.height)
        hist = pygame.Rect(bars.right + painter.px(12), body.y, hist_w, body.height)
        if finished is None or not len(finished.advantages):
            painter.text("waiting for the first episode to end…", bars.center, 12, palette.muted, anchor="center")
        else:
            episode_max = max(float(np.abs(finished.advantages).max()), 1e-9)
            scale = max(frame.stage.largest_advantage, episode_max) if self.fixed_scale else episode_max
            how = "fixed: largest this run" if self.fixed_scale else "fitted to this episode"
            strip_h = painter.px(5)
            image = self.layers[0].get(
                (finished,),
                (palette.name, strip_h, scale),
                bars.size,
                lambda surface: _draw_advantage_bars(surface, finished, scale, palette, strip_h),
            )
            painter.surface.blit(image, bars)
            painter.text(f"scale ±{scale:.2g} ({how}; A toggles)", (area.x, area.y), 11, palette.muted)
        if len(batch_advantages) > 1:
            image = self.layers[1].get(
                (batch_advantages,),
                (palette.name,),
                hist.size,
                lambda surface: _draw_advantage_histogram(surface, batch_advantages, palette),
            )
            painter.surface.blit(image, hist)
            std = float(np.std(batch_advantages))
            painter.text(f"batch σ {std:.2g}", (area.right, area.y), 11, palette.muted, anchor="topright")
