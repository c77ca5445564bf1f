"""Commands drive the main window through a narrow interface: a test (or a lesson) can act
as a speaker would without pygame events, a display or a trainer."""

from pathlib import Path

import gymnasium as gym
import pytest

from vpg_sim.core.config import config_for
from vpg_sim.ui.options import WindowOptions
from vpg_sim.ui.window.commands import PANELS, Commands
from vpg_sim.ui.window.view import SPEEDS, View


class FakeSession:
    """What a command may call on a session, recorded."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.paused = False
        self.env_id = "CartPole-v1"

    def pause(self) -> None:
        self.calls.append(("pause",))
        self.paused = True

    def resume(self) -> None:
        self.calls.append(("resume",))
        self.paused = False

    def step(self) -> None:
        self.calls.append(("step",))

    def watch_noise(self, on: bool) -> None:
        self.calls.append(("watch_noise", on))

    def request_changes(self, **changes):
        self.calls.append(("request_changes", changes))
        return config_for("CartPole-v1").replace(**changes)


class FakeStage:
    def __init__(self) -> None:
        self.env = gym.make("CartPole-v1")
        self.playing_update = 7
        self.can_push = True
        self.pushes: list[float] = []

    def push(self, impulse: float) -> None:
        self.pushes.append(impulse)


class FakeWindow:
    """The few things a command may do (``TrainingWindow``), and nothing else."""

    def __init__(self) -> None:
        self.view = View()
        self.options = WindowOptions(models_dir=Path("unused"))
        self.session = FakeSession()
        self.stage = FakeStage()
        self.toasts: list[str] = []
        self.ended = False

    def toast(self, text: str, error: bool = False) -> None:
        self.toasts.append(text)

    def end(self) -> None:
        self.ended = True


@pytest.fixture
def window():
    return FakeWindow()


def test_m_opens_the_map_then_steps_through_cartpoles_pairs_then_closes(window):
    commands = Commands(window)
    seen = []
    for _ in range(4):
        commands.run("map")
        seen.append((window.view.map_open, window.view.map_pair))
    # CartPole's two default pairs: (angle, angular velocity), then (position, velocity); then closed.
    assert seen == [(True, 0), (True, 1), (False, 1), (True, 0)]


def test_opening_the_noise_panel_puts_it_in_the_value_place_and_starts_measuring(window):
    commands = Commands(window)
    commands.show_panel("noise")
    assert window.view.shown == {"value": "noise"} and window.view.noise_open
    assert window.session.calls[-1] == ("watch_noise", True)
    commands.run("noise_panel")  # the key toggles it back
    assert window.view.shown == {} and window.session.calls[-1] == ("watch_noise", False)


def test_an_unknown_panel_or_pace_is_refused_and_nothing_changes(window):
    commands = Commands(window)
    with pytest.raises(ValueError, match="unknown panel"):
        commands.show_panel("spreadsheet")
    with pytest.raises(ValueError, match="unknown pace"):
        commands.set_pace("warp")
    assert window.view == View()
    assert set(PANELS) == {"map", "update", "noise", "student"}


def test_pause_and_step_talk_to_the_session_but_not_during_playback(window):
    commands = Commands(window)
    commands.run("pause")
    commands.run("step")
    assert window.session.calls == [("pause",), ("step",)]
    commands.run("playback")
    assert window.view.playback and window.view.paused_before_playback
    commands.run("pause")
    assert window.session.calls == [("pause",), ("step",), ("pause",)]  # playback paused it; Space did nothing
    assert "Playback is on" in window.toasts[-1]


def test_speed_keys_move_along_the_speeds_and_stop_at_the_ends(window):
    commands = Commands(window)
    for _ in range(10):
        commands.run("faster")
    assert window.view.speed == SPEEDS[-1]
    commands.run("slower")
    assert window.view.speed == SPEEDS[-2]


def test_a_knob_change_goes_to_the_session_and_is_said(window):
    config = Commands(window).change_knobs(gamma=0.95)
    assert config is not None and config.gamma == 0.95
    assert window.session.calls == [("request_changes", {"gamma": 0.95})]
    assert "from the next update" in window.toasts[-1]


def test_push_reaches_the_stage_and_quit_ends_a_saved_run(window):
    commands = Commands(window)
    commands.push(-0.5)
    assert window.stage.pushes == [-0.5]
    window.session.latest_snapshot = lambda: type("Snapshot", (), {"update": 0})()
    commands.run("quit")  # nothing trained past the last save: no question
    assert window.ended
