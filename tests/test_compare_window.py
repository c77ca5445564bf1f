"""The comparison window frame by frame (SDL's dummy driver, set in conftest), its clock
injected: both stages and the returns panel draw, Space pauses both groups, Esc asks."""

import numpy as np
import pygame
import pytest

from vpg_sim.cli.compare_figure import GROUP_COLOURS as FIGURE_COLOURS
from vpg_sim.core.config import VPGConfig, config_for
from vpg_sim.training.comparison_run import Group
from vpg_sim.training.population_session import ComparisonSession
from vpg_sim.ui.compare.app import CompareApp
from vpg_sim.ui.options import WindowOptions
from vpg_sim.ui.theme import GROUP_COLOURS, LIGHT

TINY = {"num_envs": 2, "steps_per_update": 128, "vf_iters": 1, "vf_minibatch_size": 64}
FRAME = 1 / 60
WAIT = 60.0
"""Seconds a test waits for a round at most (a round of this size takes milliseconds)."""


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def groups():
    """Group A: the default estimator (baseline); group B: total return, critic-free."""
    base = config_for("CartPole-v1", **TINY)
    total_return = VPGConfig.from_dict({**base.to_dict(), "estimator": "total-return"})
    return [Group("A", base, "default", {}), Group("B", total_return, "estimator=total-return", {})]


def open_app(seeds: int = 2) -> CompareApp:
    """The comparison window of :func:`groups` over ``seeds`` seeds, on a fake clock."""
    clock = FakeClock()
    session = ComparisonSession.from_groups(groups(), range(seeds), max_steps=4096)
    app = CompareApp(WindowOptions(pace="full", size=(1280, 720)), session, clock=clock)
    app.fake_clock = clock
    return app


@pytest.fixture
def app():
    app = open_app()
    yield app
    if pygame.display.get_init():
        app.close()


def frames(app, count):
    for _ in range(count):
        app.fake_clock.now += FRAME
        app.step(FRAME)


def press(app, key):
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0))
    frames(app, 1)


def distinct_colours(app, rect):
    pixels = pygame.surfarray.array3d(app.screen)[rect.left : rect.right, rect.top : rect.bottom]
    return pixels.reshape(-1, 3)


def test_both_stages_and_the_returns_panel_draw_the_groups_in_their_colours(app):
    assert app.session.wait_for_round(3, WAIT)
    frames(app, 5)
    frame = app.frame()
    assert [group.label for group in frame.groups] == ["default", "estimator=total-return"]
    assert all(group.band is not None for group in frame.groups)
    colours = GROUP_COLOURS["dark"]
    for index, rect in enumerate(app.layout.stages):
        region = distinct_colours(app, rect)
        assert len(np.unique(region, axis=0)) > 8, f"stage {index} looks empty"
        assert np.all(region == colours[index], axis=1).any(), f"stage {index} lacks its group's colour"
        assert np.all(region == app.palette.cart, axis=1).any(), f"stage {index} has no cart"
    returns = distinct_colours(app, app.layout.returns)
    for colour in colours:  # the mean lines, drawn opaque over the bands
        assert np.all(returns == colour, axis=1).sum() > 20


def test_space_pauses_both_groups_and_n_runs_exactly_one_round(app):
    assert app.session.wait_for_round(1, WAIT)
    press(app, pygame.K_SPACE)
    assert app.session.paused
    assert app.session.wait_until_idle(WAIT)
    frozen = app.session.latest().rounds
    frames(app, 10)
    assert app.session.latest().rounds == frozen
    assert app.frame().state == "paused"
    press(app, pygame.K_n)
    assert app.session.wait_for_round(frozen + 1, WAIT)
    assert app.session.wait_until_idle(WAIT)
    frames(app, 3)
    assert app.session.latest().rounds == frozen + 1
    press(app, pygame.K_SPACE)
    assert not app.session.paused and app.session.wait_for_round(frozen + 2, WAIT)


def test_escape_asks_before_quitting_and_n_keeps_going(app):
    assert app.session.wait_for_round(1, WAIT)
    press(app, pygame.K_ESCAPE)
    assert app.confirm is not None and app.running
    press(app, pygame.K_n)
    assert app.confirm is None and app.running
    press(app, pygame.K_ESCAPE)
    press(app, pygame.K_q)
    assert not app.running


def test_run_for_counts_the_injected_clock_and_saves_the_screenshot(tmp_path):
    clock = FakeClock()
    session = ComparisonSession.from_groups(groups(), range(2), max_steps=512)
    shot = tmp_path / "compare.png"
    app = CompareApp(WindowOptions(pace="full", run_for=0.5, screenshot=shot), session, clock=clock)
    app.fake_clock = clock
    frames(app, 29)
    assert app.running
    frames(app, 2)
    assert not app.running
    app.close()
    assert pygame.image.load(str(shot)).get_size() == (1280, 720)


def test_the_headless_figure_uses_the_light_theme_s_group_colours():
    assert [LIGHT.hex(colour) for colour in GROUP_COLOURS["light"]] == list(FIGURE_COLOURS)


@pytest.mark.parametrize(
    ("argv", "pace"),
    [
        (["compare"], "full"),
        (["compare", "--pace", "2/s"], "2/s"),
        (["--pace", "1/s", "compare"], "1/s"),  # given before the command's name: kept
        ([], "1/s"),
        (["--pace", "lockstep"], "lockstep"),
    ],
)
def test_a_pace_given_before_or_after_compare_is_kept_and_each_command_has_its_default(argv, pace):
    from vpg_sim.cli import parse_arguments

    assert parse_arguments(argv).pace == pace


def texts_drawn(monkeypatch, statistic, seeds):
    """Every text the window draws in two frames after two rounds of a comparison of ``seeds``."""
    from vpg_sim.ui.panels.painter import PanelPainter

    drawn = []
    text = PanelPainter.text

    def recording(self, content, *args, **kwargs):
        drawn.append(content)
        return text(self, content, *args, **kwargs)

    session = ComparisonSession.from_groups(groups(), seeds, max_steps=4096, statistic=statistic)
    app = CompareApp(WindowOptions(pace="full", size=(1280, 720)), session, clock=FakeClock())
    try:
        assert session.wait_for_round(2, WAIT)
        monkeypatch.setattr(PanelPainter, "text", recording)
        app.fake_clock = FakeClock()
        frames(app, 2)
        assert app.frame().groups[0].band.statistic == statistic
    finally:
        app.close()
    return " | ".join(drawn)


@pytest.mark.parametrize(
    ("statistic", "says"),
    [
        ("iqm", ["IQM of 2 seeds", "pointwise 95% bootstrap interval", "its 95% interval (bootstrap)", "IQM return"]),
        (
            "mean",
            ["mean over 2 seeds", "pointwise 95% t-interval", "its 95% interval (order statistics)", "mean return"],
        ),
    ],
)
def test_the_returns_panel_says_which_statistic_it_draws_and_what_weights_train(monkeypatch, statistic, says):
    shown = texts_drawn(monkeypatch, statistic, range(2))
    for words in says:
        assert words in shown
    assert "A: (GAE(gamma, lambda) - batch mean) / batch std · B: (R(tau) - batch mean) / batch std" in shown


def test_each_stage_names_the_seed_it_plays(monkeypatch):
    shown = texts_drawn(monkeypatch, "mean", range(100, 102))
    assert "agent 0 (seed 100)" in shown and "seed 0)" not in shown
