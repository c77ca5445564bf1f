"""Toasts stay whole and inside the stage: a long one wraps, a file name's newline or
non-UTF-8 byte is escaped, never drawn raw."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pygame
import pytest

from vpg_sim.ui.layout import compute_layout
from vpg_sim.ui.panels import PanelPainter
from vpg_sim.ui.panels.overlays import Toasts
from vpg_sim.ui.panels.painter import TextBox
from vpg_sim.ui.panels.stage import stage_regions
from vpg_sim.ui.theme import THEMES, Fonts

LONG_REFUSAL = (
    "Not loaded: saved_models/CartPole-v1-u1200-r500-with-a-rather-long-name.safetensors: has invalid "
    "optimizer settings: value_optimizer[0].lr must be from 3e-05 to 0.03 (10x the config's value_lr), not 1e+10"
)


@pytest.fixture
def painter_at_720p() -> Iterator[tuple[PanelPainter, list[TextBox]]]:
    pygame.display.init()
    pygame.font.init()
    try:
        surface = pygame.display.set_mode((1280, 720))
        log: list[TextBox] = []
        yield PanelPainter(surface, compute_layout(1280, 720), THEMES["dark"], Fonts(), log=log), log
    finally:
        pygame.font.quit()
        pygame.display.quit()


def draw_toasts(painter: PanelPainter, toasts: Toasts) -> None:
    """As the window does: right-aligned at the stage scene's lower right corner."""
    stage = painter.layout.stage
    painter.begin("toasts", stage)
    scene = stage_regions(painter.panel_area(stage), painter.px, False).scene
    toasts.draw(painter, (scene.right - painter.px(6), scene.bottom - painter.px(6)))


def test_a_long_toast_wraps_inside_the_stage_keeping_what_happened_and_the_name(painter_at_720p):
    painter, log = painter_at_720p
    toasts = Toasts()
    toasts.add(LONG_REFUSAL, error=True)
    draw_toasts(painter, toasts)
    assert 1 < len(log) <= 3  # lines
    for box in log:
        assert painter.layout.stage.contains(box.rect), box.text
    shown = " ".join(box.text for box in log)
    assert shown.startswith("Not loaded: saved_models/CartPole-v1-u1200")
    assert "with-a-rather-long-name.safetensors" in shown.replace(" ", "")


def test_toasts_beyond_the_stage_s_height_are_not_drawn_over_other_panels(painter_at_720p):
    painter, log = painter_at_720p
    toasts = Toasts()
    for index in range(4):
        toasts.add(f"{index}: {LONG_REFUSAL}", error=True)
    draw_toasts(painter, toasts)
    assert any(box.text.startswith("3: Not loaded") for box in log)  # the newest shows
    for box in log:
        assert painter.layout.stage.contains(box.rect), box.text


def test_a_newline_in_a_file_name_is_escaped_not_a_second_line():
    toasts = Toasts()
    toasts.add("Training from saved_models/evil\nSaved everything.safetensors (update 3)")
    assert toasts.items[0].text == "Training from saved_models/evil\\nSaved everything.safetensors (update 3)"


def test_a_file_name_that_is_not_utf8_is_shown_escaped_and_drawn(painter_at_720p):
    painter, log = painter_at_720p
    name = os.fsdecode(b"bad-\xff\xfe.safetensors")
    toasts = Toasts()
    toasts.add(f"Playing saved_models/{name} (update 3)")
    draw_toasts(painter, toasts)  # pygame cannot encode a lone surrogate: it raised here
    assert [box.text for box in log] == ["Playing saved_models/bad-\\xff\\xfe.safetensors (update 3)"]
