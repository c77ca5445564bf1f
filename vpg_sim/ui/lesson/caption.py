"""A lesson's caption band: the step's caption in large type, the lesson's title and the
step's number in a corner, and the keys that move through it."""

from __future__ import annotations

import pygame

from vpg_sim.ui.panels.painter import wrap_words
from vpg_sim.ui.theme import Fonts, Palette

CAPTION_SIZES = (24, 21, 18)
"""The caption's type, in px at 1280x720 (36 at 1080p: the back row reads it); smaller
only when a long caption would not fit in three lines."""
MAX_LINES = 3


def wrap(text: str, fonts: Fonts, size: int, width: int) -> list[str]:
    """``text`` in lines no wider than ``width`` px at ``size``."""
    return wrap_words(text, lambda line: fonts.size(line, size)[0], width)


def draw_caption(
    surface: pygame.Surface,
    band: pygame.Rect,
    fonts: Fonts,
    palette: Palette,
    scale: float,
    text: str,
    corner: str,
    warning: bool = False,
) -> list[tuple[str, pygame.Rect]]:
    """Fill ``band`` with ``text`` (the caption; in the warning colour when it says an
    expectation was not met) and ``corner`` (title, step n / N, keys) at its top right.
    Returns every line drawn with its rectangle (tests check that they fit)."""

    def px(size: float) -> int:
        return max(1, round(size * scale))

    pygame.draw.rect(surface, palette.panel, band)
    pygame.draw.line(surface, palette.warning if warning else palette.value, band.topleft, band.topright, px(3))
    pad = px(14)
    corner_size = px(13)
    corner_image = fonts.render(corner, corner_size, palette.muted)
    corner_rect = corner_image.get_rect(topright=(band.right - pad, band.y + px(6)))
    surface.blit(corner_image, corner_rect)
    drawn = [(corner, corner_rect)]
    width = band.width - 2 * pad
    top = corner_rect.bottom + px(2)
    for size in CAPTION_SIZES:
        lines = wrap(text, fonts, px(size), width)
        line_h = fonts.size("Ag", px(size))[1]
        if len(lines) <= MAX_LINES and top + len(lines) * line_h <= band.bottom - px(4):
            break
    colour = palette.warning if warning else palette.text
    y = top
    for line in lines:
        image = fonts.render(line, px(size), colour, bold=True)
        rect = image.get_rect(topleft=(band.x + pad, y))
        surface.blit(image, rect)
        drawn.append((line, rect))
        y += line_h
    return drawn
