"""What each key and button does. The window's state lives in :class:`App`; a command
changes it, or asks the session to change."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pygame

from vpg_sim.core.checkpoint import Checkpoint
from vpg_sim.core.config import config_for
from vpg_sim.core.envs import UnsupportedEnvError
from vpg_sim.core.nudge import DEFAULT_IMPULSE
from vpg_sim.core.state_space import env_map_info
from vpg_sim.files import unused_path
from vpg_sim.policy_files import SUFFIX, load_policy, save_policy
from vpg_sim.training.pacing import PACE_NAMES
from vpg_sim.ui.confirm import CANCEL, Answer
from vpg_sim.ui.controls import SPEEDS
from vpg_sim.ui.dialogs import env_dialog, load_dialog
from vpg_sim.ui.recorder import Recorder, RecordingError, RecordingResult, timestamped_path
from vpg_sim.ui.worker import WorkerError

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
        """R: ask first (always: restarting throws away what the agent learnt)."""
        app = self.app
        if app.unsaved():
            answers = (
                Answer("save", "Save, then restart  S", (pygame.K_s,)),
                Answer("go", "Restart  Y", (pygame.K_y, pygame.K_r, pygame.K_RETURN)),
                Answer(CANCEL, "Keep going  N", (pygame.K_n,)),
            )
            message = f"Restart training from scratch? Nothing of this run was saved after update {app.saved_update}."
        else:
            answers = (
                Answer("go", "Restart  Y", (pygame.K_y, pygame.K_r, pygame.K_RETURN)),
                Answer(CANCEL, "Keep going  N", (pygame.K_n,)),
            )
            message = "Restart training from scratch? The policy is saved, but the run itself stops here."
        app.ask("Restart training?", message, answers, lambda answer: self._after_asking(answer, self.restart_now))

    def restart_now(self) -> None:
        """A new session with the current config (knobs included); the stage starts over."""
        # The knobs as they are now: a teacher who tuned them restarts with their values.
        try:
            session = self.app.new_session(self.app.session.config())
        except WorkerError as error:
            self.app.toast(f"Cannot restart: {error}", error=True)
            return
        self.app.replace_session(session, playback=False)
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

    def formulas(self) -> None:
        """X: the formulas over the panels, or not."""
        self.app.formulas_visible = not self.app.formulas_visible

    def map(self) -> None:
        """M: open the map view, then show the env's next pair of dimensions, then close."""
        drawing = self.app.drawing
        panel = drawing.panels["map"]
        pairs = len(env_map_info(self.app.session.env_id, self.app.stage.env.observation_space).default_pairs)
        if not drawing.map_open:
            drawing.map_open, panel.pair = True, 0
        elif panel.pair + 1 < pairs:
            panel.pair += 1
        else:
            drawing.map_open = False

    def update_panel(self) -> None:
        """U: the Update panel in the advantage panel's place, or back."""
        self._swap("advantage", "update")

    def noise_panel(self) -> None:
        """O: the Gradient noise panel in the value panel's place (measuring while open), or back."""
        self._swap("value", "noise")
        self.app.session.watch_noise(self.app.drawing.noise_open)

    def _swap(self, slot: str, panel: str) -> None:
        shown = self.app.shown
        if shown.get(slot) == panel:
            del shown[slot]
        else:
            shown[slot] = panel

    def advantage_scale(self) -> None:
        panel = self.app.panels["advantage"]
        panel.fixed_scale = not panel.fixed_scale
        self.app.toast(
            "Advantage bars: fixed scale (largest this run)" if panel.fixed_scale else "Advantage bars: per episode"
        )

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
        """S: save the policy on stage (live or from the timeline)."""
        self.save_snapshot(self.app.stage.snapshot)

    def save_snapshot(self, snapshot: Checkpoint) -> bool:
        """Save ``snapshot`` to ``saved_models/<env>-u<update>-r<return>.safetensors`` (never
        over another file); True if it was saved."""
        app = self.app
        mean = snapshot.mean_return_100
        env_name = snapshot.config.env_id.replace("/", "_")
        stem = f"{env_name}-u{snapshot.update}-r{mean:.0f}" if np.isfinite(mean) else f"{env_name}-u{snapshot.update}"
        try:
            path = save_policy(unused_path(app.options.models_dir, stem, SUFFIX), snapshot)
        except OSError as error:
            app.toast(f"Could not save: {error.strerror or error}", error=True)
            return False
        app.saved_update = max(app.saved_update, snapshot.update)
        app.toast(f"Saved {show_path(path)}")
        return True

    def load(self) -> None:
        """L: the list of saved policies (after offering to save a run it would end)."""
        app = self.app

        def open_list() -> None:
            dialog = load_dialog(app.ui, app.screen.get_rect(), app.options.models_dir, app.layout.scale)
            app.open_dialog("load", dialog)

        self._unless_unsaved("Load a policy?", "Loading a policy ends this run", open_list)

    def load_from_file(self, path: Path, play: bool) -> None:
        """Continue training from ``path`` (or play it). A bad file changes nothing."""
        app = self.app
        try:
            loaded = load_policy(path, expected_env=app.session.env_id)
            session = app.session_from_file(loaded)
        except Exception as error:  # any file, however broken: one line, and training goes on
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            app.toast(f"Not loaded: {reason}", error=True)
            return
        app.replace_session(session, playback=play)
        app.saved_update = loaded.metadata.update
        verb = "Playing" if play else "Training from"
        app.toast(f"{verb} {show_path(path)} (update {loaded.metadata.update})")

    def envs(self) -> None:
        """E: the environments (after offering to save a run it would end)."""
        app = self.app

        def open_list() -> None:
            app.open_dialog("envs", env_dialog(app.ui, app.screen.get_rect(), app.session.env_id, app.layout.scale))

        self._unless_unsaved("Another environment?", "Another environment ends this run", open_list)

    def switch_env(self, env_id: str) -> None:
        """Restart training on ``env_id`` with its preset hyperparameters."""
        app = self.app
        try:
            session = app.new_session(config_for(env_id, seed=app.session.config().seed))
        except (UnsupportedEnvError, ValueError, WorkerError) as error:
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

    def toast_recording(self, outcome: RecordingResult | RecordingError) -> None:
        """Say how a finished recording went."""
        if isinstance(outcome, RecordingError):
            self.app.toast(f"Recording failed: {outcome}", error=True)
            return
        dropped = f", {outcome.dropped_frames} dropped" if outcome.dropped_frames else ""
        self.app.toast(f"Saved {show_path(outcome.path)} ({outcome.seconds:.1f} s{dropped})")

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
        """F: fill the display at its own size (and back to the window it was)."""
        app = self.app
        try:
            app.set_fullscreen(not app.fullscreen)
        except pygame.error as error:
            app.toast(f"Fullscreen is not available here ({error})", error=True)

    def help(self) -> None:
        self.app.help_visible = not self.app.help_visible

    def present(self) -> None:
        """B or F5: presenter mode on or off."""
        self.app.presenting = not self.app.presenting
        self.app.plotted = None  # the return curve's labels grow too

    def escape(self) -> None:
        """Esc: out of fullscreen first, then out of the help, and only then quit (asking if unsaved)."""
        app = self.app
        if app.fullscreen:
            self.fullscreen()
        elif app.help_visible:
            app.help_visible = False
        else:
            self.quit()

    def quit(self) -> None:
        """Q (and the window's close button): quit, after asking if the run is not saved."""
        app = self.app
        if not app.unsaved():
            app.running = False
            return
        answers = (
            Answer("save", "Save and quit  S", (pygame.K_s,)),
            Answer("go", "Quit without saving  Q", (pygame.K_q, pygame.K_RETURN)),
            Answer(CANCEL, "Keep going  N", (pygame.K_n,)),
        )
        latest = app.session.latest_snapshot().update
        message = f"Quit vpg-sim? This run has trained to update {latest} and is not saved."
        app.ask("Quit?", message, answers, lambda answer: self._after_asking(answer, self._stop_running))

    def _stop_running(self) -> None:
        self.app.running = False

    # -- asking first ------------------------------------------------------------------

    def _unless_unsaved(self, title: str, consequence: str, then: Callable[[], None]) -> None:
        """``then()`` at once if nothing would be lost, else after the person chose to save
        the newest policy first, or to go on without."""
        app = self.app
        if not app.unsaved():
            then()
            return
        answers = (
            Answer("save", "Save it first  S", (pygame.K_s,)),
            Answer("go", "Go on without saving  Enter", (pygame.K_RETURN,)),
            Answer(CANCEL, "Cancel  N", (pygame.K_n,)),
        )
        message = f"{consequence}: trained to update {app.session.latest_snapshot().update}, not saved."
        app.ask(title, message, answers, lambda answer: self._after_asking(answer, then))

    def _after_asking(self, answer: str, then: Callable[[], None]) -> None:
        if answer == CANCEL:
            return
        if answer == "save" and not self.save_snapshot(self.app.session.latest_snapshot()):
            return  # the toast says why; nothing is thrown away
        then()
