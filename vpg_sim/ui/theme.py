"""Colours and fonts. One colour per meaning, used the same way in every panel."""

from __future__ import annotations

from dataclasses import dataclass

import pygame

from vpg_sim.resources import assets_dir

ASSETS = assets_dir()
FONT_REGULAR = ASSETS / "fonts" / "Inter-Regular.otf"
FONT_SEMIBOLD = ASSETS / "fonts" / "Inter-SemiBold.otf"
ICON = ASSETS / "icon.png"

Colour = tuple[int, int, int]


def hex_colour(text: str) -> Colour:
    text = text.lstrip("#")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


@dataclass(frozen=True)
class Palette:
    """Colours by meaning. ``actions`` are per discrete action (push left, push right, ...)."""

    name: str
    background: Colour
    panel: Colour
    panel_border: Colour
    text: Colour
    muted: Colour
    grid: Colour
    actions: tuple[Colour, ...]
    value: Colour
    """V(s): the critic's estimate."""
    realised: Colour
    """The discounted return-to-go that really happened."""
    positive: Colour
    negative: Colour
    warning: Colour
    push: Colour
    """A person's push on the stage (the nudge arrow)."""
    track: Colour
    cart: Colour
    pole: Colour

    def action(self, index: int) -> Colour:
        return self.actions[index % len(self.actions)]

    @staticmethod
    def blend(colour: Colour, background: Colour, opacity: float) -> Colour:
        """``colour`` drawn at ``opacity`` over ``background`` (no alpha surface needed)."""
        return tuple(round(c * opacity + b * (1 - opacity)) for c, b in zip(colour, background, strict=True))

    def hex(self, colour: Colour) -> str:
        return "#{:02x}{:02x}{:02x}".format(*colour)


DARK = Palette(
    name="dark",
    background=hex_colour("#111418"),
    panel=hex_colour("#1a1e24"),
    panel_border=hex_colour("#2a3039"),
    text=hex_colour("#e8eaed"),
    muted=hex_colour("#8b94a1"),
    grid=hex_colour("#2a3039"),
    actions=(hex_colour("#4c9be8"), hex_colour("#f28e2b"), hex_colour("#b07aa1")),
    value=hex_colour("#59c9a5"),
    realised=hex_colour("#f2c14e"),
    positive=hex_colour("#59c9a5"),
    negative=hex_colour("#e15759"),
    warning=hex_colour("#e15759"),
    push=hex_colour("#ff6fb5"),
    track=hex_colour("#5b6472"),
    cart=hex_colour("#d9dde3"),
    pole=hex_colour("#f2c14e"),
)

LIGHT = Palette(
    name="light",
    background=hex_colour("#ffffff"),
    panel=hex_colour("#f4f5f7"),
    panel_border=hex_colour("#c9ced6"),
    text=hex_colour("#111418"),
    muted=hex_colour("#4a5260"),
    grid=hex_colour("#d5d9df"),
    actions=(hex_colour("#1f6fc5"), hex_colour("#d4600a"), hex_colour("#7b3f8c")),
    value=hex_colour("#12805c"),
    realised=hex_colour("#9a6b00"),
    positive=hex_colour("#12805c"),
    negative=hex_colour("#c0262d"),
    warning=hex_colour("#c0262d"),
    push=hex_colour("#c2187a"),
    track=hex_colour("#6b7380"),
    cart=hex_colour("#2b313a"),
    pole=hex_colour("#b8860b"),
)

THEMES = {"dark": DARK, "light": LIGHT}

GROUP_COLOURS: dict[str, tuple[Colour, Colour]] = {
    "dark": (hex_colour("#3ccf91"), hex_colour("#c58af9")),
    "light": (hex_colour("#12805c"), hex_colour("#8e44ad")),
}
"""The comparison's groups A and B per theme, in every panel of its window (and the
headless figure: ``cli/compare_figure.py``, light): green and purple, never the actions'
blue and orange, which mean push left and right."""


MAX_CACHED_TEXTS = 600
"""A frame draws ~60 texts; this keeps every static one and a few seconds of changing
numbers (a text at 1080p is ~5 KB: 2,000 of them held ~10 MB)."""


class Fonts:
    """The shipped Inter font at any pixel size, and rendered texts, both cached.

    A frame draws ~50 texts; most (titles, labels) never change, and rendering one
    costs ~13 us of the render loop's time, which the training thread waits for.
    """

    def __init__(self) -> None:
        self._fonts: dict[tuple[int, bool], pygame.font.Font] = {}
        self._texts: dict[tuple[str, int, bool, Colour], pygame.Surface] = {}
        self._sizes: dict[tuple[str, int, bool], tuple[int, int]] = {}

    def size(self, text: str, size: int, bold: bool = False) -> tuple[int, int]:
        """The pixel size of ``text`` (cached: layouts measure the same labels every frame)."""
        key = (text, size, bold)
        measured = self._sizes.get(key)
        if measured is None:
            if len(self._sizes) >= MAX_CACHED_TEXTS:
                self._sizes.clear()
            measured = self._sizes[key] = self.get(size, bold).size(text)
        return measured

    def get(self, size: int, bold: bool = False) -> pygame.font.Font:
        key = (max(int(size), 6), bold)
        if key not in self._fonts:
            self._fonts[key] = pygame.font.Font(FONT_SEMIBOLD if bold else FONT_REGULAR, key[0])
        return self._fonts[key]

    def render(self, text: str, size: int, colour: Colour, bold: bool = False) -> pygame.Surface:
        """``text`` anti-aliased in ``colour`` (shared: do not draw on the result)."""
        key = (text, size, bold, colour)
        image = self._texts.get(key)
        if image is None:
            if len(self._texts) >= MAX_CACHED_TEXTS:  # changing numbers would grow it forever
                self._texts.clear()
            image = self._texts[key] = self.get(size, bold).render(text, True, colour)
        return image
