"""What every panel draws with: a painter bound to the palette, fonts and scale, and a
cache for layers that change less often than frames."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pygame

from vpg_sim.ui.layout import Layout
from vpg_sim.ui.theme import Colour, Fonts, Palette

ACTION_NAMES = {
    "CartPole": ("push left", "push right"),
    "Acrobot": ("torque -1", "torque 0", "torque +1"),
    "MountainCar": ("push left", "no push", "push right"),
}


def action_names(env_id: str, count: int) -> tuple[str, ...]:
    for prefix, names in ACTION_NAMES.items():
        if env_id.startswith(prefix) and len(names) == count:
            return names
    return tuple(f"action {i}" for i in range(count))


def number_text(value: float, spec: str = ".2f") -> str:
    """``value`` formatted by ``spec``, or, when it is not finite (a NaN, an overflow in
    training), "NaN", "∞" or "−∞": said, where a format would print "nan"."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return format(value, spec)


def finite_runs(points: Sequence[Sequence[float]]) -> list[Sequence[Sequence[float]]]:
    """``points`` split where one is not finite: the runs between the gaps, that point left out."""
    if math.isfinite(sum(itertools.chain.from_iterable(points))):  # every point finite: one run (the usual case)
        return [points]
    runs: list[Sequence[Sequence[float]]] = []
    start = 0
    for index, point in enumerate(points):
        if not all(math.isfinite(coordinate) for coordinate in point):
            runs.append(points[start:index])
            start = index + 1
    runs.append(points[start:])
    return [run for run in runs if run]


TITLE_SIZE = 20
"""Panel titles, in px at 1280x720: 30 px at 1920x1080, readable from the back of a room."""


@dataclass(frozen=True)
class TextBox:
    """One label drawn in a frame: where, inside which region, saying what (for layout tests)."""

    region: str
    region_rect: pygame.Rect
    rect: pygame.Rect
    text: str


class PanelPainter:
    """Shared drawing helpers bound to one palette, font cache and layout scale.

    :param min_text_size: no label is drawn smaller than this (in px at 1280x720): the
        presenter mode raises it so that every label reads from the back of a hall.
    :param log: when given, every label drawn is appended as a :class:`TextBox`.
    """

    def __init__(
        self,
        surface: pygame.Surface,
        layout: Layout,
        palette: Palette,
        fonts: Fonts,
        min_text_size: float = 0.0,
        log: list[TextBox] | None = None,
    ) -> None:
        self.surface = surface
        self.layout = layout
        self.palette = palette
        self.fonts = fonts
        self.min_text_size = min_text_size
        self.log = log
        self.region, self.region_rect = "", surface.get_rect()
        self._lengths: dict[float, int] = {}
        self.frames_drawn = False
        """The panels' backgrounds and borders are already on the surface (see
        :func:`draw_frames`): panels draw only what changes."""

    def px(self, size: float) -> int:
        # ~300 calls a frame: remembered per painter (a frame's) rather than recomputed.
        length = self._lengths.get(size)
        if length is None:
            length = self._lengths[size] = self.layout.px(size)
        return length

    def begin(self, region: str, rect: pygame.Rect) -> None:
        """What is drawn next belongs to ``region`` (a panel), which occupies ``rect``."""
        self.region, self.region_rect = region, rect

    def record(self, rect: pygame.Rect, text: str) -> None:
        if self.log is not None:
            self.log.append(TextBox(self.region, self.region_rect, rect.copy(), text))

    def text_size(self, text: str, size: float = 14, bold: bool = False) -> tuple[int, int]:
        """The pixel size ``text`` would take at ``size``."""
        return self.fonts.size(text, self.px(max(size, self.min_text_size)), bold)

    def fitting(self, texts: Sequence[str], size: float, width: int) -> str:
        """The first of ``texts`` (longest first) that fits in ``width`` px, else the last."""
        return next((text for text in texts if self.text_size(text, size)[0] <= width), texts[-1])

    def wrapped(self, text: str, size: float, width: int, max_lines: int) -> list[str]:
        """``text`` in lines at most ``width`` px wide, broken at spaces (a word longer
        than a line, such as a path, anywhere in it); beyond ``max_lines`` the last line
        ends in "…", so that the start, which says what happened, always shows."""
        width = max(width, self.px(40))
        lines: list[str] = []
        line = ""
        for word in text.split(" "):
            candidate = f"{line} {word}" if line else word
            if self.text_size(candidate, size)[0] <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            while self.text_size(word, size)[0] > width:
                cut = self._longest_fitting_prefix(word, size, width)
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
        if len(lines) > max_lines:
            last = lines[max_lines - 1]
            while last and self.text_size(last + "…", size)[0] > width:
                last = last[:-1]
            lines = [*lines[: max_lines - 1], last + "…"]
        return lines

    def _longest_fitting_prefix(self, word: str, size: float, width: int) -> int:
        """How many of ``word``'s first characters fit in ``width`` px (at least one)."""
        low, high = 1, len(word)
        while low < high:
            middle = (low + high + 1) // 2
            if self.text_size(word[:middle], size)[0] <= width:
                low = middle
            else:
                high = middle - 1
        return low

    def text(
        self,
        text: str,
        position: tuple[float, float],
        size: float = 14,
        colour: Colour | None = None,
        bold: bool = False,
        anchor: str = "topleft",
    ) -> pygame.Rect:
        image = self.fonts.render(text, self.px(max(size, self.min_text_size)), colour or self.palette.text, bold)
        rect = image.get_rect(**{anchor: (round(position[0]), round(position[1]))})
        self.surface.blit(image, rect)
        self.record(rect, text)
        return rect

    def panel(self, rect: pygame.Rect, title: str, subtitle: str = "") -> pygame.Rect:
        """Background, border and title (and a subtitle, where it fits); returns the
        content area below the title (:meth:`panel_area`)."""
        if not self.frames_drawn:
            self.panel_frame(rect)
        pad = self.px(10)
        title_rect = self.text(title, (rect.x + pad, rect.y + self.px(4)), TITLE_SIZE, bold=True)
        if subtitle and title_rect.right + self.px(10) + self.text_size(subtitle, 14)[0] <= rect.right - pad:
            self.text(
                subtitle, (title_rect.right + self.px(10), title_rect.centery), 14, self.palette.muted, anchor="midleft"
            )
        return self.panel_area(rect)

    def panel_frame(self, rect: pygame.Rect) -> None:
        """A panel's background and border, rounded."""
        radius = self.px(8)
        pygame.draw.rect(self.surface, self.palette.panel, rect, border_radius=radius)
        pygame.draw.rect(self.surface, self.palette.panel_border, rect, width=1, border_radius=radius)

    def panel_area(self, rect: pygame.Rect) -> pygame.Rect:
        """A panel's content area: inside its padding, below its title."""
        pad = self.px(10)
        title_bottom = rect.y + self.px(4) + self.text_size("Ag", TITLE_SIZE, bold=True)[1]
        top = title_bottom + self.px(4)
        return pygame.Rect(rect.x + pad, top, rect.width - 2 * pad, rect.bottom - top - pad)

    def polyline(self, points: Sequence[Sequence[float]], colour: Colour, width: int = 2) -> None:
        """A line through ``points``; where one is not finite (a NaN value), a gap."""
        for run in finite_runs(points):
            if len(run) < 2:
                continue
            if width <= 1:
                pygame.draw.aalines(self.surface, colour, False, run)
            else:
                pygame.draw.lines(self.surface, colour, False, run, width)


class LayerCache:
    """The last drawing of a layer, redrawn only when its key changes.

    Keys hold ``id()`` s of the arrays drawn; the cache keeps those objects alive so
    that an id cannot be reused by a new array while the drawing is kept.
    """

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._sources: tuple = ()
        self._surface: pygame.Surface | None = None

    def get(
        self,
        sources: tuple,
        extra_key: tuple,
        size: tuple[int, int],
        draw: Callable[[pygame.Surface], None],
        background: Colour | None = None,
    ) -> pygame.Surface:
        """The layer, drawn by ``draw`` only when ``sources`` or ``extra_key`` changed.
        ``background``: an opaque layer on that colour (blits ~3x faster than one with
        alpha; right where the layer covers its whole rectangle)."""
        key = (*(id(source) for source in sources), *extra_key, size, background)
        if key != self._key or self._surface is None:
            if background is None:
                self._surface = pygame.Surface(size, pygame.SRCALPHA)
            else:
                self._surface = pygame.Surface(size).convert()
                self._surface.fill(background)
            draw(self._surface)
            self._key, self._sources = key, sources
        return self._surface


def draw_frames(painter: PanelPainter) -> None:
    """Everything of a frame that depends only on the layout and the theme: the window's
    background, every panel's rounded background and border, the status and button bars.
    Drawn once into a layer and blitted: ~20 large rounded fills cost ~1 ms a frame at
    1920x1080, one opaque blit a third of that."""
    layout, palette, surface = painter.layout, painter.palette, painter.surface
    surface.fill(palette.background)
    for name, rect in layout.panels().items():
        if name == "status":
            pygame.draw.rect(surface, palette.panel, rect)
            pygame.draw.line(surface, palette.panel_border, rect.bottomleft, (rect.right, rect.bottom - 1))
        elif name == "buttons":
            pygame.draw.rect(surface, palette.panel, rect)
        else:
            painter.panel_frame(rect)


def wrap_words(text: str, width_of: Callable[[str], int], width: int) -> list[str]:
    """``text`` in lines no wider than ``width`` px by ``width_of`` (a word longer than a line gets a line)."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and width_of(candidate) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return [*lines, line] if line else lines
