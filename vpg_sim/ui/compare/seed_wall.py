"""The seed wall (W): every agent of a group on a small stage of its own, coloured by its
state. A class sees the spread a band summarises: which seeds learn, which solved, which
fell back after solving."""

from __future__ import annotations

import math

import numpy as np
import pygame

from vpg_sim.training.seed_wall import FELL_BACK, LEARNING, SOLVED, STATES
from vpg_sim.ui.panels.painter import TITLE_SIZE, LayerCache, PanelPainter
from vpg_sim.ui.theme import Colour, Palette

X_LIMIT = 2.4
"""CartPole's track ends here (|x|): a tile's width spans it."""


def state_colours(palette: Palette) -> dict[str, Colour]:
    """Learning: muted; solved: the colour of the "solved" threshold line; fell back after
    solving: the warning colour. Never a group's green or purple, which name the groups."""
    return {LEARNING: palette.muted, SOLVED: palette.realised, FELL_BACK: palette.warning}


def grid_shape(count: int, area: pygame.Rect) -> tuple[int, int]:
    """Columns and rows for ``count`` tiles in ``area``, the tiles as near 2:1 (wide) as can be."""
    best = (count, 1)
    best_error = math.inf
    for columns in range(1, count + 1):
        rows = math.ceil(count / columns)
        tile_w, tile_h = area.width / columns, area.height / rows
        error = abs(math.log((tile_w / tile_h) / 2.0))
        if error < best_error:
            best, best_error = (columns, rows), error
    return best


class WallPanel:
    """One group's wall: the tiles' frames, tracks and seeds drawn once per layout and set of
    states (a layer); each frame only the carts and poles move."""

    def __init__(self) -> None:
        self.layer = LayerCache()

    def draw(
        self,
        painter: PanelPainter,
        rect: pygame.Rect,
        title: str,
        colour: Colour,
        carts: np.ndarray,
        states: list[str],
        seeds: tuple[int, ...],
    ) -> dict[str, int]:
        """The wall in ``rect``: a tile per agent with its cart ``carts`` ``(M, 4)`` and its
        seed, framed and drawn in its state's colour; the counts per state (also in the
        panel's subtitle)."""
        palette = painter.palette
        counts = {state: states.count(state) for state in STATES}
        said = " · ".join(f"{counts[state]} {state}" for state in STATES)
        room = rect.width - painter.px(30) - painter.text_size(title, TITLE_SIZE, bold=True)[0]
        shortest = f"{counts[SOLVED]}/{len(states)} solved, {counts[FELL_BACK]} fell back"
        subtitle = painter.fitting([f"{said} · W: back", said, shortest], 14, room)
        area = painter.panel(rect, title, subtitle)
        pygame.draw.rect(painter.surface, colour, (rect.x, rect.y, painter.px(4), rect.height))
        tiles = tile_rects(len(states), area, painter.px(4))
        colours = state_colours(palette)
        label_size = painter.px(10) if tiles and tiles[0].height > painter.px(40) else 0
        background = self.layer.get(
            (),
            (tuple(states), seeds, palette.name, label_size, painter.layout.scale),
            area.size,
            lambda surface: _draw_tiles(surface, area.topleft, tiles, states, seeds, painter, label_size),
            background=palette.panel,
        )
        painter.surface.blit(background, area)
        for tile, cart, state in zip(tiles, carts, states, strict=True):
            _draw_cart(painter, tile, cart, colours[state])
        return counts


def tile_rects(count: int, area: pygame.Rect, gap: int) -> list[pygame.Rect]:
    """Where each of ``count`` tiles goes in ``area``, row by row (see :func:`grid_shape`)."""
    if count == 0:
        return []
    columns, rows = grid_shape(count, area)
    tile_w = (area.width - gap * (columns - 1)) / columns
    tile_h = (area.height - gap * (rows - 1)) / rows
    return [
        pygame.Rect(
            round(area.x + column * (tile_w + gap)), round(area.y + row * (tile_h + gap)), round(tile_w), round(tile_h)
        )
        for row, column in (divmod(index, columns) for index in range(count))
    ]


def _draw_tiles(
    surface: pygame.Surface,
    origin: tuple[int, int],
    tiles: list[pygame.Rect],
    states: list[str],
    seeds: tuple[int, ...],
    painter: PanelPainter,
    label_size: int,
) -> None:
    """The still part of every tile, on ``surface`` (placed at ``origin``): background, frame, track, seed."""
    palette, colours = painter.palette, state_colours(painter.palette)
    for tile, state, seed in zip(tiles, states, seeds, strict=True):
        local = tile.move(-origin[0], -origin[1])
        pygame.draw.rect(surface, palette.background, local)
        pygame.draw.rect(surface, colours[state], local, width=max(1, painter.px(1)))
        track_y = local.y + local.height * 0.78
        pygame.draw.line(surface, palette.grid, (local.x + 2, track_y), (local.right - 3, track_y))
        if label_size:
            label = painter.fonts.render(str(seed), label_size, colours[state])
            surface.blit(label, (local.x + painter.px(3), local.y + painter.px(2)))


def _draw_cart(painter: PanelPainter, tile: pygame.Rect, cart: np.ndarray, colour: Colour) -> None:
    """A cart at its position and its pole at its angle, in ``colour``, on the tile's track."""
    x, _, theta, _ = (float(value) for value in cart)
    if not (math.isfinite(x) and math.isfinite(theta)):
        return
    track_y = tile.y + tile.height * 0.78
    centre_x = tile.centerx + float(np.clip(x / X_LIMIT, -1.0, 1.0)) * (tile.width / 2 - tile.height * 0.2)
    body = pygame.Rect(0, 0, max(2, round(tile.height * 0.32)), max(2, round(tile.height * 0.16)))
    body.midbottom = (round(centre_x), round(track_y))
    pygame.draw.rect(painter.surface, colour, body)
    pole = tile.height * 0.55
    top = (centre_x + pole * math.sin(theta), body.top - pole * math.cos(theta))
    pygame.draw.line(painter.surface, colour, (centre_x, body.top), top, max(2, painter.px(2)))
