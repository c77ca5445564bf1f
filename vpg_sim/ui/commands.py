"""What each key and button does. The window's state lives in :class:`App`; a command
changes it, or asks the session to change."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pygame
import pygame_gui

from vpg_sim.core.config import config_for
from vpg_sim.core.envs import UnsupportedEnvError
from vpg_sim.core.nudge import DEFAULT_IMPULSE
from vpg_sim.files import unused_path
from vpg_sim.policy_files import SUFFIX, PolicyFileError, load_policy, save_policy
from vpg_sim.training.pacing import PACE_NAMES
from vpg_sim.training.session import TrainingSession
from vpg_sim.ui.controls import SPEEDS
from vpg_sim.ui.dialogs import env_dialog, load_dialog
from vpg_sim.ui.recorder import Recorder, RecordingError, timestamped_path

if TYPE_CHECKING:
    from vpg_sim.ui.app import App


def show_path(path: Path) -> str:
    """``path`` relative to the working folder where it is inside it (shorter in a toast)."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class Commands:
    """One method per command of ``ui.controls`` (a key press or a button click), and the
    actions behind them."""

    def __init__(self, app: App) -> None:
        self.app = app

    def run(self, name: str) -> None:
        getattr(self, name)()

    # -- training --------------------------------------------------------------------

    def pause(self) -> None:
        app = self.app
        if app.playback:
            app.toast("Playback is on: press P to go back to training")
        elif app.session.paused:
            app.session.resume()
        else:
            app.session.pause()

    def step(self) -> None:
        app = self.app
        if app.playback:
            app.toast("Playback is on: press P to go back to training")
        elif app.session.paused:
            app.session.step()
        else:
            app.toast("Step works while paused: press Space first")

    def pace(self) -> None:
        app = self.app
        app.pace = PACE_NAMES[(PACE_NAMES.index(app.pace) + 1) % len(PACE_NAMES)]
        app.apply_pace()
        app.toast(f"Training pace: {app.pace}")

    def playback(self) -> None:
        app = self.app
        if not app.playback:
            app.paused_before_playback = app.session.paused
            app.session.pause()
            app.playback = True
            app.toast(f"Playback of update {app.stage.playing_update}: training is paused")
        else:
            app.playback = False
            if not app.paused_before_playback:
                app.session.resume()
            app.toast("Back to training")

    def knobs(self) -> None:
        self.app.knobs_open = not self.app.knobs_open
        self.app.relayout()

    def restart(self) -> None:
        app = self.app
        if app.confirm_dialog is not None:
            return
        rect = pygame.Rect(0, 0, app.layout.px(420), app.layout.px(200))
        rect.center = app.screen.get_rect().center
        app.confirm_dialog = pygame_gui.windows.UIConfirmationDialog(
            rect,
            "Restart training from scratch? What the agent learnt so far is lost "
            "unless you saved it. (Y: restart, N: keep going)",
            manager=app.ui,
            window_title="Restart training?",
            action_short_name="Restart",
        )

    def restart_now(self) -> None:
        """A new session with the current config (knobs included); the stage starts over."""
        # The knobs as they are now: a teacher who tuned them restarts with their values.
        self.app.replace_session(TrainingSession.from_config(self.app.session.config()), playback=False)
        self.app.toast("Training restarted from scratch")

    # -- the stage -------------------------------------------------------------------

    def greedy(self) -> None:
        stage = self.app.stage
        stage.greedy = not stage.greedy
        self.app.toast("Stage actions: greedy (most probable)" if stage.greedy else "Stage actions: sampled from π")

    def faster(self) -> None:
        self._change_speed(+1)

    def slower(self) -> None:
        self._change_speed(-1)

    def _change_speed(self, step: int) -> None:
        app = self.app
        app.speed_index = min(max(app.speed_index + step, 0), len(SPEEDS) - 1)
        app.stage.speed = SPEEDS[app.speed_index]

    def push_left(self) -> None:
        self.push(-DEFAULT_IMPULSE)

    def push_right(self) -> None:
        self.push(DEFAULT_IMPULSE)

    def push(self, impulse: float) -> None:
        """Push the stage's cart (negative: left); a toast where the env cannot be pushed."""
        app = self.app
        if not app.stage.can_push:
            app.toast(f"Nudging is not available for {app.session.env_id}", error=True)
            return
        app.stage.push(impulse)

    # -- the timeline ----------------------------------------------------------------

    def timeline_back(self) -> None:
        app = self.app
        current = app.scrub_update if app.scrub_update is not None else app.session.latest_snapshot().update
        earlier = [update for update in app.session.timeline_updates() if update < current]
        if earlier:
            self.scrub_to(earlier[-1])
        else:
            app.toast("This is the first policy of the run")

    def timeline_forward(self) -> None:
        app = self.app
        if app.scrub_update is None:
            return
        later = [update for update in app.session.timeline_updates() if update > app.scrub_update]
        if later and later[0] < app.session.latest_snapshot().update:
            self.scrub_to(later[0])
        else:
            self.timeline_live()

    def timeline_live(self) -> None:
        app = self.app
        if app.scrub_update is None:
            return
        app.scrub_update = None
        app.stage.play_now(app.session.latest_snapshot())
        app.toast("Timeline: back to the live policy")

    def scrub_to(self, update: int) -> None:
        """Play the kept policy nearest to ``update`` on the stage (training goes on)."""
        app = self.app
        snapshot = app.session.snapshot_near(update)
        if snapshot.update == app.scrub_update:
            return
        app.scrub_update = snapshot.update
        app.stage.play_now(snapshot)

    # -- files -----------------------------------------------------------------------

    def save(self) -> None:
        """Save the policy on stage (live or from the timeline) to
        ``saved_models/<env>-u<update>-r<return>.safetensors``."""
        app = self.app
        snapshot = app.stage.snapshot
        mean = snapshot.mean_return_100
        env_name = snapshot.config.env_id.replace("/", "_")
        stem = f"{env_name}-u{snapshot.update}-r{mean:.0f}" if np.isfinite(mean) else f"{env_name}-u{snapshot.update}"
        try:
            path = save_policy(unused_path(app.options.models_dir, stem, SUFFIX), snapshot)
        except OSError as error:
            app.toast(f"Could not save: {error.strerror or error}", error=True)
            return
        app.toast(f"Saved {show_path(path)}")

    def load(self) -> None:
        app = self.app
        app.open_dialog("load", load_dialog(app.ui, app.screen.get_rect(), app.options.models_dir, app.layout.scale))

    def load_from_file(self, path: Path, play: bool) -> None:
        """Continue training from ``path`` (or play it). A bad file changes nothing."""
        app = self.app
        try:
            loaded = load_policy(path, expected_env=app.session.env_id)
            session = app.session_from_file(loaded)
        except (PolicyFileError, UnsupportedEnvError) as error:
            app.toast(f"Not loaded: {error}", error=True)
            return
        app.replace_session(session, playback=play)
        verb = "Playing" if play else "Training from"
        app.toast(f"{verb} {show_path(path)} (update {loaded.metadata.update})")

    def envs(self) -> None:
        app = self.app
        app.open_dialog("envs", env_dialog(app.ui, app.screen.get_rect(), app.session.env_id, app.layout.scale))

    def switch_env(self, env_id: str) -> None:
        """Restart training on ``env_id`` with its preset hyperparameters."""
        app = self.app
        try:
            session = TrainingSession.from_config(config_for(env_id, seed=app.session.config().seed))
        except (UnsupportedEnvError, ValueError) as error:
            app.toast(f"Cannot train on {env_id}: {error}", error=True)
            return
        app.replace_session(session, playback=False)
        app.toast(f"Training {env_id} from scratch")

    # -- recording -------------------------------------------------------------------

    def record(self) -> None:
        if self.app.recorder is None:
            self.start_recording()
        else:
            self.stop_recording()

    def start_recording(self) -> None:
        """Start recording; a folder that cannot be written is reported by the recorder
        (its error becomes a toast at the next frame)."""
        app = self.app
        try:
            path = timestamped_path(app.options.recordings_dir, app.options.record_format)
        except OSError as error:
            app.toast(f"Cannot record to {app.options.recordings_dir}: {error.strerror or error}", error=True)
            return
        app.recorder = Recorder(path, app.screen.get_size(), app.frames_per_second, app.options.record_format)
        app.toast(f"Recording to {show_path(path)}: V again to stop")

    def stop_recording(self, wait: bool = False) -> None:
        """Finish the file in the background (ffmpeg may need a moment); a toast says when."""
        app = self.app
        recorder, app.recorder = app.recorder, None
        if recorder is None:
            return

        def finish() -> None:
            try:
                app.finished_recordings.append(recorder.stop())
            except RecordingError as error:
                app.finished_recordings.append(error)

        if wait:
            finish()
            return
        thread = threading.Thread(target=finish, name="recording-stop", daemon=True)
        thread.start()
        app.stopping_recorders.append(thread)

    def screenshot(self) -> None:
        app = self.app
        try:
            path = timestamped_path(app.options.recordings_dir, "png")
            app.save_screenshot(path)
        except (OSError, pygame.error) as error:
            app.toast(f"Could not save the screenshot: {error}", error=True)
            return
        app.toast(f"Screenshot saved: {show_path(path)}")

    # -- the window ------------------------------------------------------------------

    def fullscreen(self) -> None:
        try:
            pygame.display.toggle_fullscreen()
        except pygame.error as error:
            self.app.toast(f"Fullscreen is not available here ({error})", error=True)

    def help(self) -> None:
        self.app.help_visible = not self.app.help_visible

    def quit(self) -> None:
        self.app.running = False
