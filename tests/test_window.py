"""The window, frame by frame, with SDL's dummy video driver (set in conftest)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pygame
import pytest

from vpg_sim.core.config import config_for
from vpg_sim.ui.app import App, WindowOptions
from vpg_sim.ui.controls import CONTROLS, SPEEDS
from vpg_sim.ui.layout import compute_layout

ROOT = Path(__file__).resolve().parent.parent
SMALL = {"num_envs": 4, "steps_per_update": 128, "vf_iters": 2, "vf_minibatch_size": 64}


@pytest.fixture
def app():
    app = App(WindowOptions(pace="full", config=config_for("CartPole-v1", **SMALL)))
    yield app
    if pygame.display.get_init():
        app.close()


def press(app, key, frames=1):
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0))
    for _ in range(frames):
        app.step()


def click(app, position):
    for kind in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP):
        pygame.event.post(pygame.event.Event(kind, pos=position, button=1, touch=False, window=None))
        app.step()
    app.step()  # pygame_gui's UI_BUTTON_PRESSED arrives as an event on the next frame


def frames_until(app, condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.step()
        if condition():
            return True
        time.sleep(0.002)
    return False


def update_count(app):
    return app.session.latest_snapshot().update


def test_pause_stops_the_update_counter_and_resume_restarts_it(app):
    assert frames_until(app, lambda: update_count(app) >= 2)
    press(app, pygame.K_SPACE)
    assert app.session.paused
    time.sleep(0.1)
    app.step()
    frozen = update_count(app)
    time.sleep(0.2)
    app.step()
    assert update_count(app) == frozen
    press(app, pygame.K_SPACE)
    assert not app.session.paused
    assert frames_until(app, lambda: update_count(app) > frozen + 1)


def test_n_advances_exactly_one_update_while_paused(app):
    press(app, pygame.K_SPACE)
    time.sleep(0.1)
    app.step()
    before = update_count(app)
    press(app, pygame.K_n)
    assert frames_until(app, lambda: update_count(app) == before + 1)
    time.sleep(0.2)
    app.step()
    assert update_count(app) == before + 1


def test_speed_keys_change_stage_speed_within_bounds(app):
    assert app.stage.speed == 1.0
    press(app, pygame.K_PLUS)
    assert app.stage.speed == 2.0
    for _ in range(10):
        press(app, pygame.K_EQUALS)
    assert app.stage.speed == SPEEDS[-1]
    for _ in range(10):
        press(app, pygame.K_MINUS)
    assert app.stage.speed == SPEEDS[0]


def test_stage_runs_at_real_time_rate_times_speed(app):
    stage = app.stage
    assert stage.steps_per_second == 50  # CartPole's tau is 0.02 s
    # No CartPole episode ends within 4 steps of a reset, so these counts are exact.
    stage.advance(3 / 60)  # 2.5 steps owed at 1x
    assert len(stage.trace.rewards) == 2
    stage.speed = 0.25
    stage.advance(4 / 60)  # 0.83 more: 0.5 + 0.83 = 1.33 owed -> 1 step
    assert len(stage.trace.rewards) == 3


def test_help_overlay_toggles_and_changes_the_screen(app):
    app.step()
    before = pygame.surfarray.array3d(app.screen).mean()
    press(app, pygame.K_h)
    assert app.help_visible
    after = pygame.surfarray.array3d(app.screen).mean()
    assert after != before
    press(app, pygame.K_F1)
    assert not app.help_visible


def test_pace_key_cycles_through_every_pace(app):
    names = []
    for _ in range(5):
        press(app, pygame.K_t)
        names.append(app.pace)
    assert names == ["1/s", "2/s", "5/s", "lockstep", "full"]


def test_lockstep_runs_one_update_per_finished_stage_episode():
    app = App(WindowOptions(pace="lockstep", config=config_for("CartPole-v1", **SMALL)))
    try:
        time.sleep(0.2)
        app.step(1 / 60)
        assert update_count(app) == 0  # no stage episode has ended yet
        episodes = app.stage.episode_number
        while app.stage.episode_number == episodes:  # play one episode to its end, fast
            app.step(0.5)
        assert frames_until(app, lambda: update_count(app) == 1)
        time.sleep(0.2)
        app.step(1 / 60)
        assert update_count(app) == 1
    finally:
        app.close()


def test_every_button_is_clickable(app):
    seen = []
    app.command = lambda name: seen.append(name)  # record what each click asks for
    for control in CONTROLS:
        button = app.buttons[control.command]
        click(app, button.rect.center)
    assert seen == [control.command for control in CONTROLS]


def test_button_click_really_acts(app):
    click(app, app.buttons["help"].rect.center)
    assert app.help_visible
    click(app, app.buttons["faster"].rect.center)
    assert app.stage.speed == 2.0


def test_restart_asks_first_and_n_keeps_training(app):
    assert frames_until(app, lambda: update_count(app) >= 1)
    session = app.session
    press(app, pygame.K_r)
    assert app.confirm_dialog is not None
    press(app, pygame.K_n)
    assert app.confirm_dialog is None and app.session is session
    press(app, pygame.K_r)
    press(app, pygame.K_y)
    assert app.session is not session and not session.running
    assert update_count(app) == 0


def test_playback_pauses_training_and_p_returns(app):
    assert frames_until(app, lambda: update_count(app) >= 1)
    press(app, pygame.K_p)
    assert app.playback and app.session.paused
    assert app.state()[0] == "playback"
    press(app, pygame.K_p)
    assert not app.playback and not app.session.paused


def test_quit_key_stops_and_close_joins_the_thread(app):
    press(app, pygame.K_ESCAPE)
    assert not app.running
    thread_session = app.session
    started = time.perf_counter()
    app.close()
    assert time.perf_counter() - started < 1.5
    assert not thread_session.running


def test_window_close_event_quits(app):
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    app.step()
    assert not app.running


def test_resize_relayouts_and_keeps_buttons_clickable(app):
    pygame.display.set_mode((1600, 900), pygame.RESIZABLE)
    pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, w=1600, h=900, size=(1600, 900)))
    app.step()
    assert app.layout.width == 1600
    click(app, app.buttons["help"].rect.center)
    assert app.help_visible


@pytest.mark.parametrize("size", [(960, 540), (1280, 720), (1920, 1080), (3840, 2160)])
def test_layout_panels_do_not_overlap_and_fit(size):
    layout = compute_layout(*size)
    rects = list(layout.panels().items())
    screen = pygame.Rect(0, 0, *size)
    for i, (name, rect) in enumerate(rects):
        assert screen.contains(rect), name
        assert rect.width > 0 and rect.height > 0, name
        for other_name, other in rects[i + 1 :]:
            assert not rect.colliderect(other), (name, other_name)


def run_main(*args, env=None, timeout=60):
    return subprocess.run(
        [sys.executable, "main.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_no_display_gives_one_line_and_exit_2():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    result = run_main(env=env)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("pygame-ce")]
    assert len(lines) == 1 and "no display" in lines[0] and "Traceback" not in result.stderr


def test_run_for_quits_by_itself_and_screenshot_is_saved(tmp_path):
    shot = tmp_path / "window.png"
    result = run_main("--run-for", "2", "--screenshot", str(shot), env={**os.environ, "SDL_VIDEODRIVER": "dummy"})
    assert result.returncode == 0, result.stderr
    image = pygame.image.load(str(shot))
    assert image.get_size() == (1280, 720)


def test_bad_window_flags_exit_2_with_a_clear_line():
    for args in (["--pace", "warp"], ["--size", "tiny"], ["--run-for", "-1"], ["--env", "NoSuchEnv-v0"]):
        result = run_main(*args, env={**os.environ, "SDL_VIDEODRIVER": "dummy"})
        assert result.returncode == 2, args
        assert "error:" in result.stderr.splitlines()[-1], args
