"""A student's function in the window: the run trains with it, a reference run of the same
seed beside it, and the Yours vs reference panel shows where they part."""

import time

import numpy as np
import pygame
import pytest

from tests.window_options import threaded
from vpg_sim.core.config import config_for
from vpg_sim.core.student import StudentCode
from vpg_sim.ui.panels.return_plot import PlotRequest, ReturnPlotRenderer
from vpg_sim.ui.theme import DARK
from vpg_sim.ui.window.app import App

SMALL = {"num_envs": 4, "steps_per_update": 256, "vf_iters": 2, "vf_minibatch_size": 64}


def frames_until(app, condition, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.step()
        if condition():
            return True
        time.sleep(0.01)
    return False


def window_training(function: str) -> App:
    code = StudentCode((("advantages", f"tests.student_solutions:{function}"),))
    return App(threaded(pace="full", config=config_for("CartPole-v1", **SMALL), student=code))


def panel_labels(app: App) -> list[str]:
    app.drawing.text_log = []
    app.draw()
    return [box.text for box in app.drawing.text_log if box.region == "advantage"]


def test_a_right_reward_to_go_trains_beside_the_reference_and_the_panel_says_they_agree():
    app = window_training("reward_to_go")
    try:
        assert app.view.shown == {"advantage": "student"}  # opened for a student's run
        assert frames_until(app, lambda: app.session.latest_snapshot().yours_vs_reference is not None)
        labels = panel_labels(app)
        assert labels[0] == "Yours vs reference"
        assert any(label.startswith("advantages: the same as the reference") for label in labels)
        assert any("cos(your policy gradient, ours) = +1.000" in label for label in labels)
        assert app.session.student_label == "advantages=tests.student_solutions:reward_to_go"
    finally:
        app.close()


def test_a_reward_to_go_that_forgets_to_reset_shows_its_largest_difference_and_where():
    app = window_training("rtg_forgets_to_reset")
    try:
        assert frames_until(app, lambda: app.session.latest_snapshot().yours_vs_reference is not None)
        compared = app.session.latest_snapshot().yours_vs_reference
        [difference] = compared.differences
        assert difference.largest > 1.0  # an episode's end carried into the next one's returns
        labels = panel_labels(app)
        said = next(label for label in labels if label.startswith("advantages: largest difference"))
        assert f"at {difference.where()}" in said
        assert compared.gradient_cosine < 0.999
    finally:
        app.close()


def test_a_function_that_raises_pauses_the_run_with_one_line_and_keeps_it():
    app = window_training("raises")
    try:
        assert frames_until(app, lambda: any(toast.error for toast in app.toasts.items))
        toast = next(toast for toast in app.toasts.items if toast.error)
        assert "raised IndexError" in toast.text and "\n" not in toast.text
        assert app.session.paused and app.state()[0] == "paused" and app.running
        assert app.session.latest_snapshot().update == 0  # no update made with a broken function
    finally:
        app.close()


@pytest.fixture(scope="module")
def renderer():
    pygame.font.init()
    return ReturnPlotRenderer(DARK)


def test_the_return_curve_draws_the_reference_run_faint_beside_the_student_s(renderer):
    returns = np.linspace(10, 200, 300)
    plain = renderer.render(PlotRequest(returns, 475.0, (400, 240)))
    with_reference = renderer.render(PlotRequest(returns, 475.0, (400, 240), reference=np.linspace(10, 400, 300)))
    assert plain.rgba != with_reference.rgba


def test_in_its_own_process_a_student_s_run_relays_its_comparison_and_the_reference_returns():
    from vpg_sim.training.process_session import ProcessSession

    code = StudentCode((("advantages", "tests.student_solutions:rtg_forgets_to_reset"),))
    session = ProcessSession(config_for("CartPole-v1", **SMALL), student=code)
    try:
        assert session.student_label == "advantages=tests.student_solutions:rtg_forgets_to_reset"
        session.set_pace(None)
        session.start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(session.reference_episode_returns()) == 0:
            time.sleep(0.05)
        assert session.latest_snapshot().yours_vs_reference is not None
        assert len(session.reference_episode_returns()) > 0 and session.episode_count() > 0
    finally:
        session.close()


def test_after_the_toast_the_panel_still_says_why_the_run_paused():
    app = window_training("raises")
    try:
        assert frames_until(app, lambda: app.student_error is not None)
        app.toasts.items.clear()  # the toast has gone, as it does after a few seconds
        labels = panel_labels(app)
        assert "Paused: your function failed" in labels
        assert any("raised IndexError" in label for label in labels)
    finally:
        app.close()
