"""The value panel shows the return-to-go training fits V to, and its legend stays clear of
the axis and the curve, presenter mode included."""

import itertools

import numpy as np
import pygame
import pytest

from vpg_sim.training.stage import EpisodeTrace, FinishedEpisode
from vpg_sim.ui.layout import compute_layout
from vpg_sim.ui.panels.painter import PanelPainter
from vpg_sim.ui.panels.value import draw_value
from vpg_sim.ui.theme import THEMES, Fonts

GAMMA = 0.99
STEPS = 500


def time_limited_episode(cut: bool = False) -> FinishedEpisode:
    """A solved CartPole episode cut at 500 steps, its critic right: V(s_t) = sum_{k<T-t} gamma^k + bootstrap."""
    rewards = np.ones(STEPS)
    remaining = np.arange(STEPS, 0, -1)
    realised = (1 - GAMMA**remaining) / (1 - GAMMA)
    final_value = 1 / (1 - GAMMA) * 0.99
    bootstrap = final_value * GAMMA**remaining
    return FinishedEpisode(
        update=90,
        values=realised + bootstrap,
        rewards=rewards,
        returns_to_go=realised + bootstrap,
        bootstrap=bootstrap,
        advantages=np.zeros(STEPS),
        actions=np.zeros(STEPS, dtype=int),
        total_return=float(STEPS),
        terminated=False,
        end_reason="time limit: 500 steps",
        gamma=GAMMA,
        gae_lambda=0.97,
        estimator="gae",
        cut=cut,
    )


def draw(size, theme, present, finished, holding=True):
    pygame.font.init()
    layout = compute_layout(*size)
    surface = pygame.Surface(size)
    palette = THEMES[theme]
    surface.fill(palette.panel)
    log = []
    painter = PanelPainter(surface, layout, palette, Fonts(), min_text_size=16 if present else 0.0, log=log)
    painter.begin("value", layout.value)
    area = layout.value.inflate(-layout.px(24), -layout.px(24))
    draw_value(painter, area, EpisodeTrace(), finished, holding)
    return surface, palette, log, area


def test_the_bootstrapped_return_training_uses_is_the_line_drawn_solid_and_on_top():
    surface, palette, log, area = draw((1280, 720), "dark", False, time_limited_episode())
    pixels = pygame.surfarray.pixels3d(surface)
    realised = np.all(pixels == np.array(palette.realised), axis=-1)
    # The last 30 steps: where the rewards-only return falls to 0 and the bootstrapped one stays ~100.
    right = area.x + round(area.width * 0.97)
    columns = realised[right : area.right]
    rows = np.nonzero(columns.any(axis=0))[0]
    assert len(rows) and rows.min() < area.y + area.height * 0.4, "the solid line should stay near the top"
    assert any("bootstrapped" in box.text and "G_t" in box.text for box in log)
    assert any(box.text.startswith("- - rewards") for box in log)


def test_an_episode_the_stage_cut_says_so_in_its_legend():
    *_, log, _ = draw((1280, 720), "dark", False, time_limited_episode(cut=True))
    assert any("the stage moved on" in box.text and "bootstrapped" in box.text for box in log)
    *_, log, _ = draw((1280, 720), "dark", False, time_limited_episode(cut=True), holding=False)
    assert any("cut and bootstrapped" in box.text for box in log)


@pytest.mark.parametrize(("size", "present"), list(itertools.product([(1280, 720), (1920, 1080)], (False, True))))
def test_the_legend_clears_the_top_tick_label_and_the_curve(size, present):
    surface, palette, log, area = draw(size, "dark", present, time_limited_episode())
    legend = [box for box in log if box.rect.top == area.y]
    ticks = [box for box in log if box.rect.top > area.y]
    assert legend and ticks
    for a, b in itertools.product(legend, ticks):
        assert not a.rect.colliderect(b.rect), f"{a.text!r} overlaps the axis label {b.text!r}"
    for a, b in itertools.combinations(legend, 2):
        assert not a.rect.colliderect(b.rect), f"{a.text!r} overlaps {b.text!r}"
    for box in legend:
        assert area.contains(box.rect), f"{box.text!r} leaves the panel at {size}"
    legend_bottom = max(box.rect.bottom for box in legend)
    pixels = pygame.surfarray.array3d(surface)  # (W, H, 3)
    for box in log:  # the labels' own pixels are not the curve
        pixels[box.rect.left : box.rect.right, box.rect.top : box.rect.bottom] = 0
    curve = np.all(pixels == np.array(palette.realised), axis=-1) | np.all(pixels == np.array(palette.value), axis=-1)
    assert curve.any()
    assert np.nonzero(curve.any(axis=0))[0].min() > legend_bottom, "the curve runs through the legend"
