"""The seed wall: every agent of a group on a small CartPole of its own, playing its own
newest policy, framed in the colour of its state (learning, solved, fell back)."""

import time

import numpy as np
import pygame
import pytest
import torch

from tests.test_compare_window import open_app
from vpg_sim.core.networks import CategoricalPolicy
from vpg_sim.training.seed_wall import FELL_BACK, LEARNING, SOLVED, SeedWall, agent_states, logits_of, policy_layers
from vpg_sim.ui.compare.seed_wall import state_colours, tile_rects
from vpg_sim.ui.panels.painter import PanelPainter


def test_an_agent_is_learning_until_it_solves_and_fell_back_when_below_the_threshold_after():
    states = agent_states([None, 30_000, 30_000, None], [490.0, 480.0, 200.0, float("nan")], 475.0)
    assert states == [LEARNING, SOLVED, FELL_BACK, LEARNING]
    assert agent_states([30_000], [500.0], None) == [LEARNING]  # no threshold: nothing is solved


def test_each_agent_s_logits_are_its_own_policy_s():
    torch.manual_seed(0)
    policies = [CategoricalPolicy(4, 2, (64, 64), "tanh") for _ in range(5)]
    observations = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    stacked = logits_of(policy_layers([policy.state_dict() for policy in policies]), observations)
    for agent, policy in enumerate(policies):
        expected = policy.logits_net(torch.as_tensor(observations[agent])).detach().numpy()
        np.testing.assert_allclose(stacked[agent], expected, atol=1e-5)


def test_the_carts_play_and_start_again_when_they_fall():
    wall = SeedWall(range(3))
    falling = CategoricalPolicy(4, 2, (8,), "tanh").logits_net.state_dict()
    with torch.no_grad():  # always push right: every pole falls within a second or two
        falling["2.bias"][:] = torch.tensor([-50.0, 50.0])
    wall.offer([falling] * 3)
    start = wall.states().copy()
    restarted = False
    for _ in range(50 * 4):
        wall.advance(1 / 50)
        restarted |= bool((wall.episode_steps == 0).any())
    assert not np.allclose(wall.states(), start) and restarted


@pytest.fixture
def app():
    app = open_app(seeds=4)
    yield app
    if pygame.display.get_init():
        app.close()


def step(app, count=1):
    for _ in range(count):
        app.fake_clock.now += 1 / 60
        app.step(1 / 60)


def test_w_shows_every_seed_framed_in_the_colour_of_its_state(app):
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_w, mod=0, unicode="", scancode=0))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and app.session.latest().rounds < 2:
        step(app)
    step(app, 5)
    snapshot = app.session.latest()
    assert app.view.seed_wall and all(group.policies is not None for group in snapshot.groups)
    assert all(len(group.policies) == 4 for group in snapshot.groups)
    painter = PanelPainter(app.screen, app.layout, app.palette, app.fonts)
    colours = state_colours(app.palette)
    pixels = pygame.surfarray.array3d(app.screen)
    for group, rect in zip(snapshot.groups, app.layout.stages, strict=True):
        states = agent_states(group.steps_to_solve, group.means, snapshot.reward_threshold)
        area = painter.panel_area(rect)
        for tile, state in zip(tile_rects(4, area, painter.px(4)), states, strict=True):
            # The tile's frame, at the middle of its left edge, is its state's colour.
            assert tuple(pixels[tile.x, tile.centery]) == colours[state], (group.group.name, state)
    step(app, 30)
    assert not np.allclose(app.walls[0].states(), app.walls[0].states() * 0)  # carts on the track, moving
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_w, mod=0, unicode="", scancode=0))
    step(app)
    assert not app.view.seed_wall and not app.session.watching_agents


def test_the_wall_frames_each_tile_in_its_own_state_s_colour():
    from vpg_sim.ui.compare.seed_wall import WallPanel
    from vpg_sim.ui.layout import compute_compare_layout
    from vpg_sim.ui.theme import DARK, Fonts

    pygame.display.init()
    pygame.font.init()
    layout = compute_compare_layout(1920, 1080)
    surface = pygame.display.set_mode((1920, 1080))
    painter = PanelPainter(surface, layout, DARK, Fonts())
    states = [LEARNING, SOLVED, FELL_BACK, SOLVED, LEARNING, FELL_BACK]
    rect = layout.stages[0]
    painter.begin("wall", rect)
    counts = WallPanel().draw(painter, rect, "A", DARK.action(0), np.zeros((6, 4)), states, tuple(range(6)))
    assert counts == {LEARNING: 2, SOLVED: 2, FELL_BACK: 2}
    colours = state_colours(DARK)
    assert len(set(colours.values())) == 3
    for tile, state in zip(tile_rects(6, painter.panel_area(rect), painter.px(4)), states, strict=True):
        assert tuple(surface.get_at((tile.x, tile.centery)))[:3] == colours[state]
        # An upright pole at the track's middle: the tile's centre column holds the state's colour too.
        column = [tuple(surface.get_at((tile.centerx, y)))[:3] for y in range(tile.top + 2, tile.bottom - 2)]
        assert colours[state] in column
