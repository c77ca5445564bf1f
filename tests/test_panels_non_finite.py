"""A NaN or an infinity anywhere the window draws is drawn as such (a gap, a label), never
raised: a critic blown up by a huge learning rate fills a batch's advantages with NaN,
and np.histogram's "autodetected range of [nan, nan] is not finite" ended the window."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator

import numpy as np
import pygame
import pytest

from vpg_sim.core.advantages import ESTIMATORS
from vpg_sim.core.checkpoint import Checkpoint, UpdateDissection
from vpg_sim.core.comparison import Band
from vpg_sim.core.config import config_for
from vpg_sim.core.gradient_noise import EstimatorNoise, GradientNoise
from vpg_sim.core.policy_map import MEAN_ACTION, PROBABILITY, PolicyMap
from vpg_sim.core.state_space import TYPICAL, AxisRange
from vpg_sim.core.trainer import UpdateStats, VPGTrainer
from vpg_sim.training.noise_monitor import NoiseReading
from vpg_sim.training.stage import StagePlayer
from vpg_sim.ui.compare.panels import CompareFrame, ComparisonReturnsPanel, GroupView
from vpg_sim.ui.layout import compute_layout
from vpg_sim.ui.panels import AdvantagePanel, PanelPainter, PolicyPanel, StagePanel, StatusBar, ValuePanel
from vpg_sim.ui.panels.frame import Frame
from vpg_sim.ui.panels.noise import NoisePanel
from vpg_sim.ui.panels.painter import TextBox
from vpg_sim.ui.panels.policy_map import _policy_image, _value_image
from vpg_sim.ui.panels.return_plot import PlotRequest, ReturnPlotRenderer, moving_average
from vpg_sim.ui.panels.status import status_figures
from vpg_sim.ui.panels.update import UpdatePanel
from vpg_sim.ui.theme import THEMES, Fonts

NAN, INF = math.nan, math.inf
SMALL = {"num_envs": 2, "steps_per_update": 64, "vf_iters": 1, "vf_minibatch_size": 32}
PALETTE = THEMES["dark"]


def poisoned(values: np.ndarray) -> np.ndarray:
    """``values`` as floats with a NaN, a +inf and a -inf among them (the rest unchanged)."""
    values = np.array(values, dtype=np.float64)
    values[1:4] = [NAN, INF, -INF]
    return values


def trained_checkpoint(env_id: str) -> Checkpoint:
    trainer = VPGTrainer(config_for(env_id, seed=1, **SMALL))
    try:
        trainer.train_update()
        return trainer.checkpoint()
    finally:
        trainer.close()


@pytest.fixture(scope="module")
def cartpole() -> Checkpoint:
    return trained_checkpoint("CartPole-v1")


@pytest.fixture
def painter() -> Iterator[PanelPainter]:
    pygame.display.init()
    pygame.font.init()
    try:
        surface = pygame.display.set_mode((1280, 720))
        log: list[TextBox] = []
        yield PanelPainter(surface, compute_layout(1280, 720), PALETTE, Fonts(), log=log)
    finally:
        pygame.font.quit()
        pygame.display.quit()


def texts(painter: PanelPainter) -> list[str]:
    assert painter.log is not None
    return [box.text for box in painter.log]


@pytest.fixture
def poisoned_stage(cartpole: Checkpoint) -> Iterator[StagePlayer]:
    """A stage whose last episode's values, returns and advantages, and whose policy's
    view of the state, hold NaN and infinities."""
    stage = StagePlayer(cartpole, seed=0)
    while not stage.advance(1.0):  # to the end of an episode
        pass
    finished = stage.finished
    assert finished is not None
    stage.finished = dataclasses.replace(
        finished,
        values=poisoned(finished.values),
        returns_to_go=poisoned(finished.returns_to_go),
        advantages=poisoned(finished.advantages),
        total_return=NAN,
    )
    stage.largest_advantage = NAN
    stage.decision = dataclasses.replace(stage.decision, probabilities=np.array([NAN, INF]), value=NAN)
    yield stage
    stage.close()


def poisoned_frame(stage: StagePlayer, checkpoint: Checkpoint) -> Frame:
    batch = poisoned(np.linspace(-1.0, 1.0, 64))
    snapshot = dataclasses.replace(
        checkpoint, last_advantages=batch.astype(np.float32), last_step=UpdateDissection(batch, poisoned(batch[::-1]))
    )
    floats = {field.name: NAN for field in dataclasses.fields(UpdateStats) if field.type == "float"}
    stats = UpdateStats(**{**floats, "update": 1, "env_steps": 64, "episodes": 3, "nan_rollbacks": 2})
    return Frame(
        env_id=stage.env_id,
        seed=0,
        stage=stage,
        snapshot=snapshot,
        stats=stats,
        state="training",
        state_colour=PALETTE.positive,
        badge=None,
        status_items=tuple(status_figures(stats, 1, NAN, "full", 1.0, 3.0)),
        timeline_updates=(0, 1),
        config_changes=(),
        scrub_update=None,
        episodes=3,
        drag=None,
    )


def draw(painter: PanelPainter, panel: object, slot: str, frame: Frame) -> list[str]:
    rect = getattr(painter.layout, slot)
    painter.begin(slot, rect)
    panel.draw(painter, rect, frame)  # type: ignore[attr-defined]
    return texts(painter)


def test_the_advantage_panel_leaves_gaps_for_non_finite_advantages_and_says_how_many(painter, poisoned_stage, cartpole):
    shown = draw(painter, AdvantagePanel(), "advantage", poisoned_frame(poisoned_stage, cartpole))
    assert any(text.startswith("scale ±") and "3 not finite" in text for text in shown)
    assert any("batch σ" in text and "3 not finite" in text for text in shown)


def test_the_advantage_panel_says_a_batch_of_only_nan_is_not_finite(painter, poisoned_stage, cartpole):
    frame = poisoned_frame(poisoned_stage, cartpole)
    frame = dataclasses.replace(frame, snapshot=dataclasses.replace(frame.snapshot, last_advantages=np.full(8, NAN)))
    shown = draw(painter, AdvantagePanel(), "advantage", frame)
    assert "not finite" in shown and any(text.endswith("8 not finite") for text in shown)


def test_the_value_panel_draws_non_finite_values_as_gaps_and_labels_v(painter, poisoned_stage, cartpole):
    frame = poisoned_frame(poisoned_stage, cartpole)
    poisoned_stage.finished.values[-1] = NAN
    assert poisoned_stage.hold_remaining > 0  # the episode that just ended, over its realised returns
    assert "V = NaN" in draw(painter, ValuePanel(), "value", frame)
    poisoned_stage.hold_remaining = 0.0  # the next episode's values, over the last's (NaN) as a ghost
    poisoned_stage.trace.values.extend([1.0, NAN, 2.0, -INF])
    assert "V = −∞" in draw(painter, ValuePanel(), "value", frame)


def test_the_policy_panel_labels_probabilities_that_are_not_finite(painter, poisoned_stage, cartpole):
    shown = draw(painter, PolicyPanel(), "policy", poisoned_frame(poisoned_stage, cartpole))
    assert "NaN" in shown and "∞" in shown


def test_the_policy_panel_says_a_gaussian_with_a_nan_mean_is_not_finite(painter):
    stage = StagePlayer(trained_checkpoint("Pendulum-v1"), seed=0)
    try:
        stage.decision = dataclasses.replace(stage.decision, mean=np.array([NAN]), action=np.array([NAN]))
        frame = dataclasses.replace(poisoned_frame(stage, stage.snapshot), env_id="Pendulum-v1")
        shown = draw(painter, PolicyPanel(), "policy", frame)
    finally:
        stage.close()
    assert "not finite: no distribution to draw" in shown and any("mean NaN" in text for text in shown)


def test_the_update_panel_leaves_out_non_finite_samples_and_says_how_many(painter, poisoned_stage, cartpole):
    shown = draw(painter, UpdatePanel(), "advantage", poisoned_frame(poisoned_stage, cartpole))
    # The weights' three and the changes' three (reversed: other samples): six samples out.
    assert shown[2].startswith("6 not finite")


def test_the_stage_says_a_state_that_is_not_finite_instead_of_drawing_the_cart(painter, poisoned_stage, cartpole):
    poisoned_stage.observation = np.array([NAN, 0.0, INF, 0.0], dtype=np.float32)
    shown = draw(painter, StagePanel(), "stage", poisoned_frame(poisoned_stage, cartpole))
    assert "the state is not finite" in shown
    assert any(text == "episode over: return NaN · " + poisoned_stage.finished.end_reason for text in shown)


def test_the_status_bar_shows_a_dash_for_figures_that_are_not_finite(painter, poisoned_stage, cartpole):
    shown = draw(painter, StatusBar(), "status", poisoned_frame(poisoned_stage, cartpole))
    assert "mean return" in shown and "–" in shown


def test_the_noise_panel_draws_nan_and_infinite_figures_as_labels(painter, poisoned_stage, cartpole):
    # signal |g|^2 and noise tr Cov: NaN, infinite noise, a resolved signal, NaN noise.
    measured = dict(zip(ESTIMATORS, ((NAN, 1.0), (1.0, INF), (1.0, 2.0), (1.0, NAN)), strict=True))
    figures = {
        name: EstimatorNoise(noise / signal, NAN, signal, noise, 16) for name, (signal, noise) in measured.items()
    }
    reading = NoiseReading(1, "gae", GradientNoise(figures, figures, 16, NAN, 1024, 1.0))
    frame = dataclasses.replace(poisoned_frame(poisoned_stage, cartpole), noise=reading)
    shown = draw(painter, NoisePanel(), "value", frame)
    assert "–" in shown  # the NaN cosines and figures, as a dash
    assert any("undecided" in text for text in shown)  # no resolvable signal is said, not drawn as a number


def test_the_map_colours_cells_that_are_not_finite_in_the_warning_colour(painter):
    from vpg_sim.ui.panels.policy_map import _value_title

    grid = np.linspace(0.1, 0.9, 16, dtype=np.float32).reshape(4, 4)
    common = {
        "env_id": "CartPole-v1",
        "dims": (0, 2),
        "names": ("x", "θ"),
        "units": ("m", "rad"),
        "x": np.arange(4, dtype=np.float32),
        "y": np.arange(4, dtype=np.float32),
        "value": poisoned(grid.ravel()).reshape(4, 4),
        "policy_label": "π",
        "held_at": np.zeros(4, dtype=np.float32),
        "ranges": (AxisRange(0.0, 3.0, TYPICAL), AxisRange(0.0, 3.0, TYPICAL)),
    }
    for kind in (PROBABILITY, MEAN_ACTION):
        shown = PolicyMap(**common, policy=poisoned(grid.ravel()).reshape(4, 4), policy_kind=kind)
        for image in (_policy_image(shown, PALETTE), _value_image(shown, PALETTE)):
            pixels = pygame.surfarray.array3d(image)  # (x, y, 3), the first row the top one
            warned = np.all(pixels == PALETTE.warning, axis=-1)
            assert warned.sum() == 3 and warned[1:4, 3].all()  # cells 1-3 of the bottom row
    assert _value_title(common["value"]) == "V(s): 0 … 1 · 3 not finite"
    assert _value_title(np.full((2, 2), NAN)) == "V(s): not finite"


def test_the_return_curve_renders_returns_with_nan_and_infinities():
    returns = poisoned(np.arange(1.0, 301.0))
    image = ReturnPlotRenderer(PALETTE).render(PlotRequest(returns, 500.0, (400, 240)))
    assert image.episodes == 300 and len(image.rgba) == 400 * 240 * 4
    averages = moving_average(returns, 100)
    assert np.isfinite(averages).all()  # the curve's mean skips them, it does not turn NaN for good
    assert averages[4] == pytest.approx(np.mean([1.0, 5.0]))


def test_the_comparison_plot_keeps_a_finite_axis_beside_infinite_bands(painter, poisoned_stage):
    steps = np.linspace(0.0, 10_000.0, 8)
    centre, low, high = poisoned(np.linspace(10.0, 200.0, 8)), poisoned(np.full(8, 5.0)), poisoned(np.full(8, 250.0))
    band = Band(steps, centre, low, high, steps, "iqm")
    colour = PALETTE.action(0)
    group = GroupView("A", "default", "gamma=0.9", colour, band, "R(tau)", (None, 4000), None, 1, poisoned_stage)
    frame = CompareFrame("CartPole-v1", 3, (group,), 500.0, 10_000.0, "training", PALETTE.positive, (), False)
    rect = painter.layout.returns
    painter.begin("returns", rect)
    ComparisonReturnsPanel().draw(painter, rect, frame)
    assert "Return over env steps" in texts(painter)


def test_a_line_through_a_point_that_is_not_finite_has_a_gap_there():
    from vpg_sim.ui.panels.painter import finite_runs

    points = [[0, 0], [1, 1], [2, NAN], [3, 3], [4, 4], [INF, 5], [6, 6]]
    assert finite_runs(points) == [[[0, 0], [1, 1]], [[3, 3], [4, 4]], [[6, 6]]]
    assert finite_runs([[0, 0], [1, 1]]) == [[[0, 0], [1, 1]]]
