"""The window outlives its training process: killed before it is ready, while a file loads,
or mid-training, the window says so in one line, keeps drawing, and Q keeps working."""

import multiprocessing
import os
import signal
import time
from pathlib import Path

import pygame
import pytest

from vpg_sim.core.config import config_for
from vpg_sim.training.process_session import ProcessSession, SessionStart, StartCancelled, WorkerError, exit_reason
from vpg_sim.ui.options import WindowOptions
from vpg_sim.ui.window.app import App

SHIPPED = Path(__file__).resolve().parent.parent / "saved_models" / "cartpole-v1.safetensors"

SMALL = {"num_envs": 4, "steps_per_update": 128, "vf_iters": 2, "vf_minibatch_size": 64}
CONFIG = config_for("CartPole-v1", **SMALL)


def wait_until(condition, timeout=60.0, step=None):
    """Poll ``condition`` (running ``step`` between looks) until it holds or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if step is not None:
            step()
        else:
            time.sleep(0.02)
    return False


def kill_starting_children(pids_to_spare=()):
    """SIGKILL every training process of this test's that is not in ``pids_to_spare``."""
    for child in multiprocessing.active_children():
        if child.name == "vpg-trainer" and child.pid not in pids_to_spare:
            os.kill(child.pid, signal.SIGKILL)


def test_exit_reasons_read_as_words():
    assert exit_reason(-9) == "killed by signal 9 (SIGKILL)"
    assert exit_reason(3) == "exit code 3"
    assert exit_reason(None) == "still running"


def test_a_child_killed_before_it_is_ready_is_said_at_once_not_after_a_timeout():
    with pytest.raises(WorkerError, match=r"ended before it was ready \(killed by signal 9 \(SIGKILL\)\)"):
        ProcessSession(CONFIG, while_waiting=kill_starting_children)


def test_giving_up_while_the_child_starts_ends_the_child():
    seen = []

    def give_up():
        seen.extend(child for child in multiprocessing.active_children() if child.name == "vpg-trainer")
        raise StartCancelled

    with pytest.raises(StartCancelled):
        ProcessSession(CONFIG, while_waiting=give_up)
    assert seen and not any(child.is_alive() for child in seen)


def test_a_child_killed_mid_training_is_noticed_and_named():
    session = ProcessSession(CONFIG)
    try:
        session.set_pace(None)
        session.start()
        assert wait_until(lambda: session.latest_snapshot().update >= 2)
        os.kill(session._process.pid, signal.SIGKILL)
        assert wait_until(lambda: session.ended is not None)
        assert session.ended == "Training stopped: the training process ended (killed by signal 9 (SIGKILL))"
        assert session.error == session.ended and not session.updating
        assert session.latest_snapshot().update >= 2  # what arrived is kept (S saves it)
    finally:
        session.close()


def test_closing_a_session_is_not_taken_for_a_death():
    session = ProcessSession(CONFIG)
    session.close(timeout=20.0)
    assert wait_until(lambda: session._stopped.is_set())
    assert session.ended is None


def test_a_knob_change_the_child_refuses_is_said_and_no_longer_pending():
    session = ProcessSession(CONFIG)
    try:
        session._pending = {"gamma": 7.0}  # as if the window's check had passed it
        session._send("request_changes", {"gamma": 7.0})
        assert wait_until(lambda: session.error is not None)
        assert session.error.startswith("Not applied:") and "gamma" in session.error
        assert session.config().gamma == CONFIG.gamma  # the K panel shows the value that trains
    finally:
        session.close()


def test_a_start_in_the_background_reports_a_death_as_one_line():
    start = SessionStart(
        lambda wait: ProcessSession(CONFIG, while_waiting=lambda: (kill_starting_children(), wait())), "a run"
    )
    assert wait_until(lambda: start.done)
    assert start.session is None and start.error.startswith("the training process ended before it was ready")


# -- the window ------------------------------------------------------------------------


def in_process(**options):
    return WindowOptions(training_process=True, **options)


@pytest.fixture
def window():
    app = App(in_process(config=CONFIG, pace="full"))
    yield app
    app.close()


def frames(app, condition, timeout=60.0):
    return wait_until(condition, timeout, step=lambda: app.step(1 / 60))


def press(app, key):
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode=""))
    app.step()


def test_the_window_killed_trainer_says_stopped_offers_to_train_on_and_q_still_quits(window):
    app = window
    assert frames(app, lambda: app.session.latest_snapshot().update >= 2)
    dead = app.session
    os.kill(dead._process.pid, signal.SIGKILL)
    assert frames(app, lambda: app.confirm is not None)
    assert app.state()[0] == "stopped"
    assert any("killed by signal 9" in toast.text and toast.error for toast in app.toasts.items)
    update = dead.latest_snapshot().update
    press(app, pygame.K_r)  # train on from the newest snapshot
    assert frames(app, lambda: app.session is not dead)
    assert app.session.latest_snapshot().update == update and app.state()[0] != "stopped"
    app.view.saved_update = app.session.latest_snapshot().update + 10**6  # nothing unsaved: Q quits at once
    press(app, pygame.K_q)
    assert not app.running


def test_a_load_whose_process_dies_is_said_and_the_run_goes_on(window, monkeypatch):
    app = window
    running = app.session
    spare = (running._process.pid,)
    real = app.session_from_file

    def dying(loaded, wait):
        return real(loaded, lambda: (kill_starting_children(spare), wait()))

    monkeypatch.setattr(app, "session_from_file", dying)
    app.commands.load_from_file(SHIPPED, play=False)
    assert app.starting is not None
    before = app.session.latest_snapshot().update
    assert frames(app, lambda: app.starting is None)
    said = [toast.text for toast in app.toasts.items]
    assert app.session is running
    assert any(text.startswith("Not loaded: the training process ended before it was ready") for text in said)
    assert frames(app, lambda: app.session.latest_snapshot().update > before)  # training went on


def test_q_in_the_starting_window_quits_without_waiting_for_the_process():
    pygame.display.init()
    pygame.display.set_mode((640, 360))
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_q, mod=0, unicode=""))
    with pytest.raises(StartCancelled):
        App(in_process(config=CONFIG))
    pygame.display.quit()
    assert not [child for child in multiprocessing.active_children() if child.name == "vpg-trainer"]


def test_the_return_curve_is_drawn_beside_the_trainer_after_a_restart_from_a_snapshot(window):
    app = window
    assert frames(app, lambda: app.session.latest_snapshot().update >= 1)
    os.kill(app.session._process.pid, signal.SIGKILL)
    assert frames(app, lambda: app.confirm is not None)
    press(app, pygame.K_RETURN)
    assert frames(app, lambda: app.session.ended is None and app.starting is None)
    app.panels["returns"].image = None
    app.plotted = None
    assert frames(app, lambda: app.panels["returns"].image is not None)


def test_a_child_killed_while_it_waits_for_its_checkpoint_is_said_at_once():
    from vpg_sim.policy_files import load_policy

    with pytest.raises(WorkerError, match="ended before it was ready"):
        ProcessSession(checkpoint=load_policy(SHIPPED).checkpoint, while_waiting=kill_starting_children)


def test_the_spawn_carries_no_checkpoint():
    import pickle

    from vpg_sim.policy_files import load_policy
    from vpg_sim.training.process_child import ChildStart

    start = ChildStart(None, True, None, 1)
    assert len(pickle.dumps(start)) < 2_000  # Python writes this down a pipe while Process.start waits
    assert len(pickle.dumps(load_policy(SHIPPED).checkpoint)) > 50_000  # what used to travel with it
