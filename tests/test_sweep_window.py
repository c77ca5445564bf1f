"""The sweep window: a 1-D grid's values as rows and curves, a 2-D grid as a heat map
whose numbers are each cell's median steps to solve (or return at the end), the arrow keys
selecting a cell, W its seeds."""

import math
import time

import numpy as np
import pygame
import pytest

from tests.test_compare_window import TINY, FakeClock
from vpg_sim.core.comparison import cell_value
from vpg_sim.core.config import config_for
from vpg_sim.training.comparison_run import Group
from vpg_sim.training.population_session import ComparisonSession
from vpg_sim.ui.compare.panels import steps_label
from vpg_sim.ui.options import WindowOptions
from vpg_sim.ui.sweep.app import SweepApp
from vpg_sim.ui.sweep.panels import ordered_colours

GRID_2D = {"gamma": (0.9, 0.99), "gae_lambda": (0.0, 0.97)}


def open_sweep(grid, seeds=2, max_steps=2048):
    base = config_for("CartPole-v1", **TINY)
    keys = list(grid)
    if len(keys) == 1:
        settings = [{keys[0]: value} for value in grid[keys[0]]]
    else:
        settings = [{keys[0]: a, keys[1]: b} for a in grid[keys[0]] for b in grid[keys[1]]]
    groups = [
        Group(str(index), base.replace(**cell), ", ".join(f"{k}={v}" for k, v in cell.items()), {})
        for index, cell in enumerate(settings)
    ]
    session = ComparisonSession.from_groups(groups, range(seeds), max_steps)
    clock = FakeClock()
    app = SweepApp(WindowOptions(pace="full", size=(1280, 720)), session, grid, clock=clock)
    app.fake_clock = clock
    return app


def step(app, count=1):
    for _ in range(count):
        app.fake_clock.now += 1 / 60
        app.step(1 / 60)


def until_finished(app):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not app.session.latest().finished:
        step(app)
    step(app, 2)
    assert app.session.latest().finished


@pytest.fixture
def heat_map_app():
    app = open_sweep(GRID_2D)
    yield app
    if pygame.display.get_init():
        app.close()


def test_the_heat_map_shows_each_cell_s_median_or_return_and_its_solved_count(heat_map_app):
    app = heat_map_app
    until_finished(app)
    snapshot = app.session.latest()
    cells = app.cells(snapshot)
    assert [cell.settings for cell in cells] == [
        (("gamma", 0.9), ("gae_lambda", 0.0)),
        (("gamma", 0.9), ("gae_lambda", 0.97)),
        (("gamma", 0.99), ("gae_lambda", 0.0)),
        (("gamma", 0.99), ("gae_lambda", 0.97)),
    ]
    painter = app.painter()
    painter.begin("cells", app.layout.stages[1])
    keys, values = tuple(GRID_2D), tuple(GRID_2D.values())
    drawn = app.heat_map.draw(painter, app.layout.stages[1], cells, keys, values, app.selected, snapshot.rounds)
    assert len(drawn) == 4
    for (_, (number, count)), group in zip(drawn, snapshot.groups, strict=True):
        # Each cell's numbers as computed from its seeds by hand: the median of their steps to
        # solve (+inf for a seed that did not), else the statistic of their end returns.
        steps = [math.inf if s is None else s for s in group.steps_to_solve]
        solved = sum(s is not None for s in group.steps_to_solve)
        if math.isfinite(float(np.median(steps))):
            assert number == steps_label(float(np.median(steps)))
        else:
            value, kind = cell_value(group.steps_to_solve, np.asarray(group.means), app.session.statistic)
            assert kind == "return" and number == (f"ret {value:.0f}" if math.isfinite(value) else "–")
        assert count == f"{solved}/{len(steps)} solved"


def test_the_arrows_select_a_cell_and_w_shows_its_seeds(heat_map_app):
    app = heat_map_app
    step(app, 3)
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RIGHT, mod=0, unicode="", scancode=0))
    step(app)
    assert app.selected == 1
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_LEFT, mod=0, unicode="", scancode=0))
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_LEFT, mod=0, unicode="", scancode=0))
    step(app)
    assert app.selected == 3  # wrapped round the grid
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_w, mod=0, unicode="", scancode=0))
    step(app)
    assert app.view.seed_wall and app.session.watching_agents


def press(app, key):
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0))
    step(app)


def test_down_and_up_move_a_row_of_the_heat_map_left_and_right_a_cell():
    app = open_sweep({"gamma": (0.9, 0.99), "gae_lambda": (0.0, 0.5, 0.97)})  # 2 rows of 3
    try:
        step(app, 2)
        press(app, pygame.K_DOWN)
        assert app.selected == 3  # the row below, same column
        press(app, pygame.K_RIGHT)
        assert app.selected == 4
        press(app, pygame.K_UP)
        assert app.selected == 1
        press(app, pygame.K_UP)
        assert app.selected == 4  # wrapped round to the bottom row
    finally:
        app.close()


def test_the_curves_follow_the_selected_row_after_training_has_finished(heat_map_app):
    app = heat_map_app
    until_finished(app)
    painter = app.painter()
    rows = []
    for _ in range(2):
        frame = app.frame(app.session.latest(), app.cells(app.session.latest()))
        painter.begin("returns", app.layout.returns)
        app.returns_panel.draw(painter, app.layout.returns, frame)
        rows.append(pygame.image.tobytes(app.screen.subsurface(app.layout.returns), "RGB"))
        press(app, pygame.K_DOWN)
    assert rows[0] != rows[1]  # the second row's curves, not the first's kept from the last round


def test_a_1d_grid_takes_its_colours_from_one_ordered_colormap_in_the_grid_s_order():
    app = open_sweep({"gae_lambda": (0.0, 0.5, 1.0)})
    try:
        step(app, 2)
        frame = app.frame(app.session.latest(), app.cells(app.session.latest()))
        assert [group.name for group in frame.groups] == ["0", "0.5", "1"]  # as the figure and the JSON say them
        assert [group.colour for group in frame.groups] == ordered_colours(3, "dark")
        brightness = [sum(colour) for colour in ordered_colours(3, "dark")]
        assert brightness == sorted(brightness)  # viridis: darker to brighter along the grid
    finally:
        app.close()


def test_a_cell_is_its_median_steps_to_solve_or_where_not_half_solved_its_return_at_the_end():
    assert cell_value([100, 300, None], np.array([500.0, 480.0, 90.0]), "iqm") == (300.0, "steps")
    assert cell_value([100, 300, None, None], np.array([500.0, 480.0, 90.0, 10.0]), "mean") == (270.0, "return")
    value, kind = cell_value([None, None, None, None], np.array([10.0, 20.0, 30.0, 1000.0]), "iqm")
    assert kind == "return" and value == 25.0  # the middle half: 20 and 30


def test_quitting_asks_about_the_sweep_not_a_comparison(heat_map_app):
    app = heat_map_app
    assert app.session.wait_for_round(1, 60)
    asked = []
    app.ask = lambda title, message, answers, then: asked.append(message)
    app.commands.quit()
    assert len(asked) == 1 and asked[0].startswith("Quit the sweep? Its ")
