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
    by sign; a gap where it is not finite) and an action strip below, filling ``surface``."""
    bars = surface.get_rect()
    adv = finished.advantages
    mid = (bars.height - strip_h) / 2
    half = mid - 2
    step_w = bars.width / max(len(adv), 1)
    pygame.draw.line(surface, palette.grid, (0, mid), (bars.right, mid))
    for i, a in enumerate(adv.tolist()):
        x0 = i * step_w
        if math.isfinite(a):
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
    """The spread of a batch's finite advantages ``(B,)``: horizontal bars, one per bin."""
    hist = surface.get_rect()
    counts, edges = np.histogram(advantages[np.isfinite(advantages)], bins=24)
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
            magnitudes = np.abs(finished.advantages[np.isfinite(finished.advantages)])
            episode_max = max(float(magnitudes.max()) if len(magnitudes) else 0.0, 1e-9)
            largest = frame.stage.largest_advantage  # NaN once an episode's advantages were
            run_max = max(largest, episode_max) if math.isfinite(largest) else episode_max
            scale = run_max if self.fixed_scale else episode_max
            how = "fixed: largest this run" if self.fixed_scale else "fitted to this episode"
            strip_h = painter.px(5)
            image = self.layers[0].get(
                (finished,),
                (palette.name, strip_h, scale),
                bars.size,
                lambda surface: _draw_advantage_bars(surface, finished, scale, palette, strip_h),
            )
            painter.surface.blit(image, bars)
            missing = len(finished.advantages) - len(magnitudes)
            labels = [f"scale ±{scale:.2g} ({how}; A toggles)"]
            if missing:  # drawn as gaps: said, since a gap alone could pass for a zero
                labels = [f"{labels[0]} · {missing} not finite", f"scale ±{scale:.2g} · {missing} not finite"]
            painter.text(painter.fitting(labels, 11, bars.width), (area.x, area.y), 11, palette.muted)
        if len(batch_advantages) > 1:
            finite = batch_advantages[np.isfinite(batch_advantages)]
            if len(finite):
                image = self.layers[1].get(
                    (batch_advantages,),
                    (palette.name,),
                    hist.size,
                    lambda surface: _draw_advantage_histogram(surface, batch_advantages, palette),
                )
                painter.surface.blit(image, hist)
            else:
                painter.text("not finite", hist.center, 11, palette.warning, anchor="center")
            spread = f"batch σ {float(np.std(finite)):.2g}" if len(finite) else "batch"
            missing = len(batch_advantages) - len(finite)
            labels = [spread] if not missing else [f"{spread} · {missing} not finite", f"{missing} not finite"]
            width = hist.width + painter.px(12)
            painter.text(painter.fitting(labels, 11, width), (area.right, area.y), 11, palette.muted, anchor="topright")
