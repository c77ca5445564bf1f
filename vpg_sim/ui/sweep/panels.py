"""The sweep window's panels: the cells as a table (a 1-D grid) or a heat map (2-D), each
cell with its median steps to solve (or its return at the end, where half its seeds or
fewer solved: no median) and its solved count; the selected one framed."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pygame

from vpg_sim.core.comparison import setting_text
from vpg_sim.ui.compare.panels import steps_label
from vpg_sim.ui.panels.painter import TITLE_SIZE, LayerCache, PanelPainter
from vpg_sim.ui.theme import Colour

STEPS, RETURN = "steps", "return"


@dataclass(frozen=True)
class CellView:
    """One cell as its panels draw it."""

    index: int
    settings: tuple[tuple[str, object], ...]
    """Its grid settings, key and value, in the grid's order."""
    colour: Colour
    value: float
    """Its median steps to solve, or (``kind`` ``return``) its return at the end; NaN before either."""
    kind: str
    solved: int
    seeds: int
    running: int

    @property
    def label(self) -> str:
        return ", ".join(f"{key}={setting_text(value)}" for key, value in self.settings)

    def value_text(self) -> str:
        if not math.isfinite(self.value):
            return "–"
        return steps_label(self.value) if self.kind == STEPS else f"ret {self.value:.0f}"


COLORMAP_SPANS = {"dark": (0.3, 0.97), "light": (0.0, 0.75)}
"""The part of viridis each theme reads: its darkest purple vanishes on the dark panel,
its brightest yellow on the light one."""


def ordered_colours(count: int, theme: str = "dark", name: str = "viridis") -> list[Colour]:
    """``count`` colours from one ordered colormap, first to last (the grid's order)."""
    from matplotlib import colormaps

    colormap = colormaps[name]
    low, high = COLORMAP_SPANS[theme]
    points = [(low + high) / 2] if count == 1 else np.linspace(low, high, count)
    return [tuple(round(255 * channel) for channel in colormap(float(point))[:3]) for point in points]  # type: ignore[misc]


def heat_colour(cell: CellView, low: float, high: float, palette_background: Colour) -> Colour:
    """A cell's fill: fewer steps to solve is brighter (magma); a cell that did not solve by
    half its seeds is the background's own colour (its return is written on it instead)."""
    from matplotlib import colormaps

    if cell.kind != STEPS or not math.isfinite(cell.value):
        return palette_background
    fraction = 0.5 if high <= low else (high - cell.value) / (high - low)
    rgb = colormaps["magma"](0.25 + 0.7 * float(np.clip(fraction, 0.0, 1.0)))[:3]
    return tuple(round(255 * channel) for channel in rgb)  # type: ignore[return-value]


def text_colour_on(fill: Colour) -> Colour:
    """Black or white, whichever reads on ``fill``."""
    luminance = 0.2126 * fill[0] + 0.7152 * fill[1] + 0.0722 * fill[2]
    return (0, 0, 0) if luminance > 140 else (255, 255, 255)


class HeatMapPanel:
    """A 2-D grid's cells, rows the first key's values and columns the second's."""

    def __init__(self) -> None:
        self.layer = LayerCache()

    def draw(
        self,
        painter: PanelPainter,
        rect: pygame.Rect,
        cells: tuple[CellView, ...],
        keys: tuple[str, str],
        values: tuple[tuple[object, ...], tuple[object, ...]],
        selected: int,
        rounds: int,
    ) -> list[tuple[pygame.Rect, tuple[str, str]]]:
        """The map in ``rect``; each cell's rectangle and the two lines written in it (its
        number, its solved count), in cell order."""
        palette = painter.palette
        room = rect.width - painter.px(30) - painter.text_size("Median steps to solve", TITLE_SIZE, bold=True)[0]
        said = ["brighter: fewer · ret: return where no median", "brighter: fewer", ""]
        area = painter.panel(rect, "Median steps to solve", painter.fitting(said, 14, room))
        label_w = max(painter.text_size(setting_text(value), 13)[0] for value in values[0]) + painter.px(10)
        top_h = painter.text_size("Ag", 13)[1] * 2 + painter.px(6)
        grid = pygame.Rect(area.x + label_w, area.y + top_h, area.width - label_w, area.height - top_h)
        rows, columns = len(values[0]), len(values[1])
        cell_w, cell_h = grid.width / columns, grid.height / rows
        rects = [
            pygame.Rect(
                round(grid.x + column * cell_w), round(grid.y + row * cell_h), round(cell_w) - 2, round(cell_h) - 2
            )
            for row in range(rows)
            for column in range(columns)
        ]
        painter.text(keys[1], (grid.centerx, area.y), 13, palette.muted, anchor="midtop")
        for column, value in enumerate(values[1]):
            x = grid.x + (column + 0.5) * cell_w
            painter.text(setting_text(value), (x, area.y + top_h - painter.px(2)), 13, anchor="midbottom")
        for row, value in enumerate(values[0]):
            centre = (grid.x - painter.px(6), grid.y + (row + 0.5) * cell_h)
            painter.text(setting_text(value), centre, 13, anchor="midright")
        painter.text(keys[0], (area.x, grid.y - painter.px(2)), 11, palette.muted, anchor="bottomleft")
        finite = [cell.value for cell in cells if cell.kind == STEPS and math.isfinite(cell.value)]
        low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
        key = (rounds, selected, palette.name, rect.size, painter.min_text_size)
        layer = self.layer.get(
            (),
            key,
            grid.size,
            lambda surface: _draw_cells(painter, surface, grid.topleft, rects, cells, low, high, selected),
            background=palette.panel,
        )
        painter.surface.blit(layer, grid)
        return [(rect, cell_lines(cell)) for rect, cell in zip(rects, cells, strict=True)]


def cell_lines(cell: CellView) -> tuple[str, str]:
    """What a heat map's cell says: its number, and its solved count."""
    return cell.value_text(), f"{cell.solved}/{cell.seeds} solved"


def _draw_cells(
    painter: PanelPainter,
    surface: pygame.Surface,
    origin: tuple[int, int],
    rects: list[pygame.Rect],
    cells: tuple[CellView, ...],
    low: float,
    high: float,
    selected: int,
) -> None:
    palette = painter.palette
    for cell, rect in zip(cells, rects, strict=True):
        local = rect.move(-origin[0], -origin[1])
        fill = heat_colour(cell, low, high, palette.background)
        pygame.draw.rect(surface, fill, local)
        ink = text_colour_on(fill) if fill != palette.background else palette.text
        value_line, count_line = cell_lines(cell)
        number = painter.fonts.render(value_line, painter.px(16), ink, bold=True)
        count = painter.fonts.render(count_line, painter.px(11), ink)
        surface.blit(number, number.get_rect(midbottom=(local.centerx, local.centery + painter.px(2))))
        surface.blit(count, count.get_rect(midtop=(local.centerx, local.centery + painter.px(3))))
        if cell.index == selected:
            pygame.draw.rect(surface, palette.text, local, width=max(2, painter.px(3)))


class CellsPanel:
    """A 1-D grid's cells as rows: the value's colour, its median steps to solve (or return
    at the end), solved count and whether it still trains; the selected one marked."""

    def draw(
        self, painter: PanelPainter, rect: pygame.Rect, cells: tuple[CellView, ...], key: str, selected: int
    ) -> None:
        palette = painter.palette
        area = painter.panel(rect, f"{key}: each value", "median steps to solve · ↑↓ select · W: its seeds")
        row_h = min(painter.text_size("Ag", 16)[1] + painter.px(8), area.height // max(len(cells), 1))
        for position, cell in enumerate(cells):
            y = area.y + position * row_h
            row = pygame.Rect(area.x, y, area.width, row_h - painter.px(2))
            if cell.index == selected:
                pygame.draw.rect(painter.surface, palette.grid, row, border_radius=painter.px(4))
            swatch = pygame.Rect(row.x + painter.px(4), 0, painter.px(18), painter.px(8))
            swatch.centery = row.centery
            pygame.draw.rect(painter.surface, cell.colour, swatch)
            value = cell.settings[0][1]
            name_at = (swatch.right + painter.px(8), row.centery)
            painter.text(f"{key}={value}", name_at, 15, cell.colour, bold=True, anchor="midleft")
            state = "" if cell.running else " · done"
            said = f"{cell.value_text()} · solved {cell.solved}/{cell.seeds}{state}"
            painter.text(said, (row.right - painter.px(6), row.centery), 15, anchor="midright")
