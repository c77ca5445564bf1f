"""The window, frame by frame, with SDL's dummy video driver (set in conftest)."""

import functools
import os
import subprocess
import sys
import time
from pathlib import Path

import imageio.v3 as iio
import pygame
import pygame_gui
import pytest
import torch

from tests.window_options import threaded
from vpg_sim.core.config import config_for
from vpg_sim.core.nudge import DEFAULT_IMPULSE, MAX_IMPULSE, cartpole_impulse_response
from vpg_sim.policy_files import load_policy
from vpg_sim.ui.layout import compute_layout
from vpg_sim.ui.panels import TITLE_SIZE
from vpg_sim.ui.recording import desk as desk_module
from vpg_sim.ui.recording.recorder import Recorder
from vpg_sim.ui.theme import Fonts
from vpg_sim.ui.widgets.knobs import KNOBS
from vpg_sim.ui.window.app import App
from vpg_sim.ui.window.input import CONTROLS
from vpg_sim.ui.window.view import SPEEDS

ROOT = Path(__file__).resolve().parent.parent
SMALL = {"num_envs": 4, "steps_per_update": 128, "vf_iters": 2, "vf_minibatch_size": 64}
KNOB_BY_FIELD = {knob.field: knob for knob in KNOBS}


@pytest.fixture
def app():
    app = App(threaded(pace="full", config=config_for("CartPole-v1", **SMALL)))
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
    assert frames_until(app, lambda: not app.session.updating)  # the update in flight finishes
    frozen = update_count(app)
    time.sleep(0.2)
    app.step()
    assert update_count(app) == frozen
    press(app, pygame.K_SPACE)
    assert not app.session.paused
    assert frames_until(app, lambda: update_count(app) > frozen + 1)


def test_n_advances_exactly_one_update_while_paused(app):
    press(app, pygame.K_SPACE)
    assert frames_until(app, lambda: not app.session.updating)  # the update in flight finishes
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
    assert app.view.help_visible
    after = pygame.surfarray.array3d(app.screen).mean()
    assert after != before
    press(app, pygame.K_F1)
    assert not app.view.help_visible


def test_pace_key_cycles_through_every_pace(app):
    names = []
    for _ in range(5):
        press(app, pygame.K_t)
        names.append(app.view.pace)
    assert names == ["1/s", "2/s", "5/s", "lockstep", "full"]


def test_lockstep_runs_one_update_per_finished_stage_episode():
    app = App(threaded(pace="lockstep", config=config_for("CartPole-v1", **SMALL)))
    try:
        time.sleep(0.2)
        app.step(1 / 60)
        assert update_count(app) == 0  # no stage episode has ended yet
        episodes = app.stage.episode_number
        while app.stage.episode_number == episodes:  # play one episode to its end, fast
            app.step(0.5)
        # Waited for without drawing frames: frames would play on, and another episode
        # ending (on a loaded machine the update can take seconds) would grant another.
        deadline = time.monotonic() + 10.0
        while update_count(app) < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
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
    assert app.view.help_visible
    click(app, app.buttons["faster"].rect.center)
    assert app.stage.speed == 2.0


def test_restart_asks_first_and_n_keeps_training(app):
    assert frames_until(app, lambda: update_count(app) >= 1)
    session = app.session
    press(app, pygame.K_r)
    assert app.confirm is not None
    press(app, pygame.K_n)
    assert app.confirm is None and app.session is session
    press(app, pygame.K_r)
    press(app, pygame.K_y)
    assert app.session is not session and not session.running
    assert update_count(app) == 0


def test_restart_offers_to_save_an_unsaved_run_first(tmp_path):
    app = App(threaded(pace="full", config=config_for("CartPole-v1", **SMALL), models_dir=tmp_path))
    try:
        assert frames_until(app, lambda: update_count(app) >= 2)
        press(app, pygame.K_SPACE)
        assert frames_until(app, lambda: not app.session.updating)
        newest = update_count(app)
        press(app, pygame.K_r)
        press(app, pygame.K_s)
        [saved] = tmp_path.glob("*.safetensors")
        assert load_policy(saved).metadata.update == newest  # the newest policy, not the one on stage
        assert update_count(app) == 0 and app.confirm is None
    finally:
        app.close()


def test_escape_and_q_with_an_unsaved_run_ask_and_n_keeps_it(app):
    assert frames_until(app, lambda: update_count(app) >= 1)
    for key in (pygame.K_ESCAPE, pygame.K_q):
        press(app, key)
        assert app.running and app.confirm is not None
        press(app, pygame.K_n)
        assert app.running and app.confirm is None


def test_quit_from_the_question_ends_without_saving(app):
    assert frames_until(app, lambda: update_count(app) >= 1)
    press(app, pygame.K_q)
    press(app, pygame.K_q)
    assert not app.running


def test_window_close_button_with_an_unsaved_run_asks(app):
    assert frames_until(app, lambda: update_count(app) >= 1)
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    app.step()
    assert app.running and app.confirm is not None


def test_save_and_quit_from_the_question(tmp_path):
    app = App(threaded(pace="full", config=config_for("CartPole-v1", **SMALL), models_dir=tmp_path))
    try:
        assert frames_until(app, lambda: update_count(app) >= 1)
        press(app, pygame.K_ESCAPE)
        press(app, pygame.K_s)
        assert not app.running and len(list(tmp_path.glob("*.safetensors"))) == 1
    finally:
        app.close()


@pytest.mark.parametrize("key", [pygame.K_l, pygame.K_e])
def test_load_and_env_offer_to_save_first_and_cancel_changes_nothing(app, key):
    assert frames_until(app, lambda: update_count(app) >= 1)
    session = app.session
    press(app, key)
    assert app.confirm is not None and app.dialog is None
    press(app, pygame.K_n)
    assert app.confirm is None and app.dialog is None and app.session is session
    press(app, key)
    press(app, pygame.K_RETURN)  # go on without saving: the list opens
    assert app.confirm is None and app.dialog is not None


def test_playback_pauses_training_and_p_returns(app):
    assert frames_until(app, lambda: update_count(app) >= 1)
    press(app, pygame.K_p)
    assert app.view.playback and app.session.paused
    assert app.state()[0] == "playback"
    press(app, pygame.K_p)
    assert not app.view.playback and not app.session.paused


def nothing_to_lose(app):
    """Pause and mark the newest update saved: quitting then needs no question."""
    app.session.pause()
    assert frames_until(app, lambda: not app.session.updating)
    app.view.saved_update = update_count(app)


def test_quit_key_stops_and_close_joins_the_thread(app):
    nothing_to_lose(app)
    press(app, pygame.K_ESCAPE)
    assert not app.running
    thread_session = app.session
    started = time.perf_counter()
    app.close()
    assert time.perf_counter() - started < 3.0  # wide: a slow machine under load still passes
    assert not thread_session.running


def test_window_close_event_quits(app):
    nothing_to_lose(app)
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    app.step()
    assert not app.running


def test_resize_relayouts_and_keeps_buttons_clickable(app):
    pygame.display.set_mode((1600, 900), pygame.RESIZABLE)
    pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, w=1600, h=900, size=(1600, 900)))
    app.step()
    assert app.layout.width == 1600
    click(app, app.buttons["help"].rect.center)
    assert app.view.help_visible


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


# -- classroom and talk mode ---------------------------------------------------------------


def test_arrow_key_pushes_the_cart_by_the_expected_impulse(app):
    app.stage.speed = 1.0
    physics = app.stage.env.unwrapped
    press(app, pygame.K_RIGHT, frames=0)  # queued, applied at the stage's next step
    x_dot_before, _, theta_before, _ = (float(v) for v in physics.state)
    pushes_before = app.stage.pushes
    app.step(seconds=1 / 50)  # exactly one CartPole step (50 per second at speed 1)
    expected_jump, _ = cartpole_impulse_response(
        theta_before,
        DEFAULT_IMPULSE,
        total_mass=physics.total_mass,
        masspole=physics.masspole,
        half_length=physics.length,
    )
    # The step after the push adds one Euler step of the cart's own acceleration (|a| < 20 m/s²).
    assert float(physics.state[1]) - x_dot_before == pytest.approx(expected_jump, abs=20 * physics.tau)
    assert app.stage.pushes == pushes_before + 1 and app.stage.last_push == DEFAULT_IMPULSE


def test_dragging_on_the_stage_pushes_left_harder_for_a_longer_drag(app):
    stage = app.layout.stage
    start = (stage.centerx, stage.centery)
    for kind, pos in ((pygame.MOUSEBUTTONDOWN, start), (pygame.MOUSEMOTION, (start[0] - 40, start[1]))):
        extra = {"button": 1} if kind == pygame.MOUSEBUTTONDOWN else {"buttons": (1, 0, 0), "rel": (-40, 0)}
        pygame.event.post(pygame.event.Event(kind, pos=pos, touch=False, window=None, **extra))
    queued = []
    app.stage.env.push = lambda impulse: queued.append(impulse)
    end = (start[0] - round(stage.width * 0.15), start[1])
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=end, button=1, touch=False, window=None))
    app.step()
    [impulse] = queued
    assert impulse == pytest.approx(-MAX_IMPULSE / 2, rel=0.05)


def knob_entry(app, field):
    return app.knobs.entries[field]


def finish_entry(app, field, text):
    entry = knob_entry(app, field)
    pygame.event.post(pygame.event.Event(pygame_gui.UI_TEXT_ENTRY_FINISHED, ui_element=entry, text=text))
    app.step()


def test_knob_change_reaches_the_trainer_at_the_next_update_and_marks_the_curve(app):
    press(app, pygame.K_SPACE)
    assert frames_until(app, lambda: not app.session.updating)
    press(app, pygame.K_k)
    assert app.knobs is not None and app.layout.knobs is not None
    finish_entry(app, "gamma", "0.95")
    assert app.session.latest_snapshot().config.gamma == 0.99  # not yet
    updates_before = update_count(app)
    press(app, pygame.K_n)
    assert frames_until(app, lambda: update_count(app) == updates_before + 1)
    assert app.session.latest_snapshot().config.gamma == 0.95
    [change] = app.session.config_changes()
    assert change.changes == {"gamma": 0.95}
    assert frames_until(app, lambda: app.plotted is not None and app.plotted[1] == 1)  # the curve got its marker
    press(app, pygame.K_k)
    assert app.knobs is None and app.layout.knobs is None


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("policy_lr", "-0.01"),
        ("gamma", "1.5"),
        ("value_lr", "fast"),
        ("policy_lr", "nan"),
        ("entropy_coef", "inf"),
        ("steps_per_update", "1e9"),
    ],
)
def test_a_knob_value_that_would_break_training_is_refused_with_a_toast(app, field, text):
    press(app, pygame.K_k)
    before = app.session.config()
    finish_entry(app, field, text)
    assert app.session.config() == before
    assert app.toasts.items and app.toasts.items[-1].error and "Not applied" in app.toasts.items[-1].text
    assert knob_entry(app, field).get_text() == KNOB_BY_FIELD[field].show(getattr(before, field))


def test_slider_moves_request_the_value_under_the_handle(app):
    press(app, pygame.K_k)
    slider = app.knobs.sliders["policy_lr"]
    pygame.event.post(pygame.event.Event(pygame_gui.UI_HORIZONTAL_SLIDER_MOVED, ui_element=slider, value=500))
    app.step()
    assert app.session.config().policy_lr == pytest.approx(KNOB_BY_FIELD["policy_lr"].from_slider(500))
    assert knob_entry(app, "policy_lr").get_text() == f"{app.session.config().policy_lr:g}"


def test_timeline_keys_and_clicks_replay_past_policies_and_end_returns_live(app):
    assert frames_until(app, lambda: update_count(app) >= 6)
    press(app, pygame.K_SPACE)
    assert frames_until(app, lambda: not app.session.updating)
    latest = update_count(app)
    press(app, pygame.K_LEFTBRACKET)
    assert app.view.scrub_update == latest - 1 and app.stage.playing_update == latest - 1
    press(app, pygame.K_LEFTBRACKET)
    assert app.stage.playing_update == latest - 2
    press(app, pygame.K_RIGHTBRACKET)
    assert app.stage.playing_update == latest - 1
    press(app, pygame.K_END)
    assert app.view.scrub_update is None and app.stage.playing_update == latest
    track_start = app.layout.timeline.x + round(app.layout.timeline.height * 2.4)
    click(app, (track_start + 1, app.layout.timeline.centery))
    assert app.stage.playing_update == 0  # the far left is the first policy of the run
    snapshot = app.session.snapshot_near(0)
    for name, tensor in snapshot.policy_state.items():
        assert torch.equal(app.stage.policy.state_dict()[name], tensor)


def test_save_while_scrubbed_saves_the_policy_on_stage(tmp_path):
    app = App(threaded(pace="full", config=config_for("CartPole-v1", **SMALL), models_dir=tmp_path))
    try:
        assert frames_until(app, lambda: update_count(app) >= 3)
        press(app, pygame.K_SPACE)
        assert frames_until(app, lambda: not app.session.updating)
        press(app, pygame.K_LEFTBRACKET)
        press(app, pygame.K_s)
        [saved] = tmp_path.glob("*.safetensors")
        assert load_policy(saved).metadata.update == app.view.scrub_update
    finally:
        app.close()


def test_recording_n_frames_writes_a_video_of_n_frames_of_the_window(tmp_path, monkeypatch):
    # A queue longer than the clip: on a loaded CI machine the encoder may fall behind, and
    # then the window drops frames rather than wait (tests/test_recorder.py covers that).
    monkeypatch.setattr(desk_module, "Recorder", functools.partial(Recorder, max_queued_frames=64))
    app = App(threaded(pace="full", config=config_for("CartPole-v1", **SMALL), recordings_dir=tmp_path))
    try:
        press(app, pygame.K_v)  # this frame is the first one recorded
        assert app.recording.active
        for _ in range(29):
            app.step()
        press(app, pygame.K_v, frames=0)
        app.step()  # handles V before recording: 30 frames in all
        assert not app.recording.active
        assert frames_until(app, lambda: any("Saved" in toast.text for toast in app.toasts.items))
    finally:
        app.close()
    [video] = tmp_path.glob("*.mp4")
    frames = iio.imread(video, plugin="FFMPEG", index=...)  # (frames, height, width, 3)
    assert frames.shape == (30, 720, 1280, 3)


def test_c_saves_a_png_screenshot_of_the_window(tmp_path):
    app = App(threaded(pace="full", config=config_for("CartPole-v1", **SMALL), recordings_dir=tmp_path))
    try:
        press(app, pygame.K_c)
    finally:
        app.close()
    [shot] = tmp_path.glob("*.png")
    assert pygame.image.load(str(shot)).get_size() == (1280, 720)


def test_env_picker_restarts_training_on_pendulum_with_a_gaussian_policy(app):
    nothing_to_lose(app)
    press(app, pygame.K_e)
    assert app.dialog is not None
    for _ in range(3):
        press(app, pygame.K_DOWN)
    press(app, pygame.K_RETURN)
    assert app.dialog is None
    assert app.session.env_id == "Pendulum-v1" and app.session.config() == config_for("Pendulum-v1")
    assert frames_until(app, lambda: app.stage.trace.rewards)
    assert app.stage.view.mean is not None and app.stage.view.std is not None  # the policy panel's Gaussian
    press(app, pygame.K_RIGHT)  # pendulums can be pushed too
    assert frames_until(app, lambda: app.stage.pushes == 1)
    assert not any(toast.error for toast in app.toasts.items)


def test_env_picker_escape_changes_nothing(app):
    nothing_to_lose(app)
    session = app.session
    press(app, pygame.K_e)
    press(app, pygame.K_ESCAPE)
    assert app.dialog is None and app.session is session and app.running


@pytest.mark.parametrize("size", [(960, 540), (1280, 720), (1920, 1080), (3840, 2160)])
def test_layout_with_knobs_open_has_no_overlaps_and_scales(size):
    layout = compute_layout(*size, knobs_open=True)
    rects = list(layout.panels().items())
    assert "knobs" in layout.panels()
    for i, (name, rect) in enumerate(rects):
        assert pygame.Rect(0, 0, *size).contains(rect), name
        for other_name, other in rects[i + 1 :]:
            assert not rect.colliderect(other), (name, other_name)
    assert layout.stage.height > 0.4 * size[1]  # the stage stays the main thing


def test_titles_and_stage_numbers_are_at_least_28_px_at_1920x1080():
    layout = compute_layout(1920, 1080)
    fonts = Fonts()
    assert layout.px(TITLE_SIZE) >= 28
    assert fonts.get(layout.px(TITLE_SIZE), True).size("Policy")[1] >= 28
    assert layout.px(22) >= 28  # the stage's episode, step and return


def test_buttons_fit_a_960x540_window_and_drop_the_least_needed(app):
    pygame.display.set_mode((960, 540), pygame.RESIZABLE)
    pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, w=960, h=540, size=(960, 540)))
    app.step()
    bar = app.layout.buttons
    for button in app.buttons.values():
        assert bar.contains(button.rect)
    assert {"pause", "save", "load", "knobs", "record", "help", "quit"} <= set(app.buttons)
    rects = [button.rect for button in app.buttons.values()]
    assert all(not a.colliderect(b) for i, a in enumerate(rects) for b in rects[i + 1 :])


def test_resizing_below_960x540_is_held_at_the_minimum(app):
    pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, w=600, h=300, size=(600, 300)))
    app.step()
    assert (app.layout.width, app.layout.height) == (960, 540)


def test_play_takes_window_options_after_its_path_and_shows_the_loaded_update(tmp_path):
    shot = tmp_path / "play.png"
    policy = ROOT / "saved_models" / "cartpole-v1.safetensors"
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    result = run_main("--theme", "light", "play", str(policy), "--run-for", "2", "--screenshot", str(shot), env=env)
    assert result.returncode == 0, result.stderr
    assert pygame.image.load(str(shot)).get_size() == (1280, 720)


def test_playback_status_bar_shows_the_update_of_the_loaded_policy():
    app = App(threaded(load=ROOT / "saved_models" / "cartpole-v1.safetensors", playback=True))
    try:
        app.step()
        assert app.state()[0] == "playback"
        assert dict(app.frame().status_items)["update"] == str(load_policy(app.options.load).metadata.update)
    finally:
        app.close()


def test_s_saves_exactly_the_policy_playing_on_stage(tmp_path):
    app = App(threaded(pace="full", config=config_for("CartPole-v1", **SMALL), models_dir=tmp_path))
    try:
        assert frames_until(app, lambda: update_count(app) >= 3)
        # The stage takes new weights only at an episode start, so it may lag the newest.
        press(app, pygame.K_s)
        [saved] = tmp_path.glob("*.safetensors")
        loaded = load_policy(saved)
        assert loaded.metadata.update == app.stage.playing_update
        for name, tensor in app.stage.policy.state_dict().items():
            assert torch.equal(loaded.checkpoint.policy_state[name], tensor)
    finally:
        app.close()


def test_a_screenshot_that_cannot_be_written_is_one_line_and_exit_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = run_main(
        "--run-for", "1", "--screenshot", str(blocker / "shot.png"), env={**os.environ, "SDL_VIDEODRIVER": "dummy"}
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("vpg-sim: error: cannot save the screenshot")


def test_the_load_list_offers_the_shipped_policy_from_any_folder(tmp_path):
    from vpg_sim.resources import shipped_policy
    from vpg_sim.ui.widgets.dialogs import policy_choices

    [choice] = policy_choices(tmp_path)  # an empty folder of the user's own
    assert choice.value == shipped_policy() and choice.usable and "ships with vpg-sim" in choice.label


def test_the_update_panel_shows_the_newest_step_in_the_advantage_panel_s_place(app):
    press(app, pygame.K_SPACE)
    assert frames_until(app, lambda: not app.session.updating)
    press(app, pygame.K_u)
    assert app.view.shown == {"advantage": "update"}
    before = update_count(app)
    press(app, pygame.K_n)
    assert frames_until(app, lambda: update_count(app) == before + 1)
    app.drawing.text_log = []
    app.draw()
    labels = [box.text for box in app.drawing.text_log if box.region == "advantage"]
    step = app.session.latest_snapshot().last_step
    assert f"update {before + 1}: each sample's step · U: back" in labels
    assert len(step.weights) == len(app.session.latest_snapshot().last_advantages) > 0
    assert any(label.startswith(f"correlation {step.correlation:+.2f}") for label in labels)
    press(app, pygame.K_u)
    assert app.view.shown == {}


def test_the_estimator_switch_in_the_knobs_panel_reaches_training(app):
    press(app, pygame.K_SPACE)
    assert frames_until(app, lambda: not app.session.updating)
    press(app, pygame.K_k)
    click(app, app.knobs.switches["estimator"].rect.center)
    assert app.session.config().estimator == "total-return"  # after gae, the first again
    before = update_count(app)
    press(app, pygame.K_n)
    assert frames_until(app, lambda: update_count(app) == before + 1)
    assert app.session.latest_snapshot().config.estimator == app.session.config().estimator
    [change] = app.session.config_changes()
    assert "estimator" in change.changes


def map_panel(app):
    return app.drawing.panels["map"]


def test_the_map_follows_the_policy_on_stage_through_new_snapshots_and_a_scrub(app):
    press(app, pygame.K_m)
    assert app.view.map_open
    assert frames_until(app, lambda: update_count(app) >= 4 and app.stage.playing_update >= 2)
    assert frames_until(
        app, lambda: map_panel(app)._map is not None and map_panel(app)._map.update == app.stage.playing_update
    )
    app.command("timeline_back")  # the stage plays an earlier policy: the map is of it
    scrubbed = app.stage.playing_update
    assert frames_until(app, lambda: map_panel(app)._map.update == scrubbed)
    shown = map_panel(app)._map
    assert shown.dims == (2, 3)  # CartPole's default pair: pole angle, pole angular velocity
    held = shown.held_at
    # The dimensions off the map are held at the stage's state of the request (at most 0.2 s old).
    assert abs(float(held[0]) - float(app.stage.observation[0])) < 1.0
    press(app, pygame.K_m)
    assert app.view.map_open and app.view.map_pair == 1
    assert frames_until(app, lambda: map_panel(app)._map.dims == (0, 1))  # cart position, velocity
    press(app, pygame.K_m)
    assert not app.view.map_open


def test_the_dot_on_the_map_is_the_stage_state(app):
    press(app, pygame.K_m)
    assert frames_until(app, lambda: map_panel(app)._map is not None)
    app.drawing.text_log = []
    app.draw()
    shown = map_panel(app)._map
    x_range, y_range = shown.ranges
    state = app.stage.observation
    inside = x_range.low <= state[2] <= x_range.high and y_range.low <= state[3] <= y_range.high
    labels = [box.text for box in app.drawing.text_log if box.region == "map"]
    assert any(label.startswith("→ pole angle rad: ") for label in labels)
    assert any(label.startswith("↑ pole angular velocity rad/s: ") for label in labels)
    assert inside  # near upright: the dot is drawn inside the map, at the state's own values
