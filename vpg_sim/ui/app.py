"""The live window: the stage, four panels, a status bar and the controls.

A frame is: handle input -> update (stage simulation, snapshots in) -> draw.
Drawing reads state and changes nothing. Training runs in a
:class:`~vpg_sim.training.session.TrainingSession` thread; the window only
reads its published snapshots and stats.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pygame
import pygame_gui

from vpg_sim.core.config import VPGConfig, config_for
from vpg_sim.core.envs import UnsupportedEnvError, reward_threshold
from vpg_sim.core.nudge import DEFAULT_IMPULSE, MAX_IMPULSE
from vpg_sim.policy_files import PolicyFileError, load_policy, save_policy, trainer_from_file, unused_path
from vpg_sim.training.pacing import DEFAULT_PACE, PACE_NAMES, PACES
from vpg_sim.training.session import TrainingSession
from vpg_sim.ui import MIN_HEIGHT, MIN_WIDTH
from vpg_sim.ui.controls import (
    BUTTONS_DROPPED_FIRST,
    COMMAND_BY_KEY,
    CONTROLS,
    KEY_ONLY_CONTROLS,
    SPEEDS,
    button_text,
)
from vpg_sim.ui.dialogs import ChoiceDialog, env_dialog, load_dialog
from vpg_sim.ui.knobs import KNOBS, KnobsPanel
from vpg_sim.ui.layout import compute_layout
from vpg_sim.ui.panels import (
    LayerCache,
    PanelPainter,
    draw_advantage_panel,
    draw_policy_panel,
    draw_status_bar,
    draw_timeline,
    draw_value_panel,
    timeline_update_at,
)
from vpg_sim.ui.recorder import Recorder, RecordingError, RecordingResult, timestamped_path
from vpg_sim.ui.return_plot import PlotRequest, ReturnPlotRenderer
from vpg_sim.ui.stage import StagePlayer, draw_arrow, draw_cartpole, draw_frame, draw_push
from vpg_sim.ui.theme import FONT_REGULAR, FONT_SEMIBOLD, ICON, THEMES, Fonts, Palette

ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = ROOT / "saved_models"
RECORDINGS_DIR = Path("recordings")
TOAST_SECONDS = 3.5
WINDOW_TITLE = "vpg-sim · watch policy gradient learn"
FRAMES_PER_SECOND = 60
DRAG_FOR_MAX_PUSH = 0.3
"""A drag across this fraction of the stage's width pushes with the largest impulse."""
MIN_DRAG_PIXELS = 6
"""Shorter drags are clicks, not pushes."""


@dataclass
class WindowOptions:
    """What the command line sets for the window."""

    env_id: str = "CartPole-v1"
    seed: int = 0
    pace: str = DEFAULT_PACE
    theme: str = "dark"
    size: tuple[int, int] = (1280, 720)
    run_for: float | None = None
    screenshot: Path | None = None
    config: VPGConfig | None = None
    load: Path | None = None
    """Start from this policy file (training continues from it)."""
    playback: bool = False
    """Start in playback: no training, the stage plays the policy."""
    play_episodes: int | None = None
    """Quit after this many stage episodes."""
    models_dir: Path = MODELS_DIR
    recordings_dir: Path = RECORDINGS_DIR
    record_format: str = "mp4"


@dataclass
class Toast:
    text: str
    expires: float
    error: bool = False


@dataclass
class FrameTimes:
    """Wall-clock start of every frame and the work time of each, for benchmarks."""

    starts: list[float] = field(default_factory=list)
    work: list[float] = field(default_factory=list)


class App:
    """One window. Call :meth:`step` once per frame, or :meth:`run` until quit."""

    def __init__(self, options: WindowOptions) -> None:
        self.options = options
        self.palette: Palette = THEMES[options.theme]
        # Both may raise (UnsupportedEnvError, PolicyFileError) before any window opens.
        if options.load is not None:
            self.session = TrainingSession(trainer_from_file(load_policy(options.load)))
        else:
            self.session = TrainingSession.from_config(options.config or config_for(options.env_id, seed=options.seed))
        self.config = self.session.trainer.config
        self.threshold = reward_threshold(self.config.env_id)

        pygame.display.init()
        pygame.font.init()
        pygame.display.set_caption(WINDOW_TITLE)
        with contextlib.suppress(pygame.error, FileNotFoundError):  # no icon is no reason not to start
            pygame.display.set_icon(pygame.image.load(ICON))
        self.screen = pygame.display.set_mode(options.size, pygame.RESIZABLE)
        self.fonts = Fonts()
        self.knobs_open = False
        self.layout = compute_layout(*self.screen.get_size())
        self.plot = ReturnPlotRenderer(self.palette)
        self.plot_surface: pygame.Surface | None = None
        self.returns: list[float] = []
        self.plotted: tuple[int, int, tuple[int, int]] | None = None
        self.clock = pygame.time.Clock()
        self.frame_times = FrameTimes()
        self.started = time.monotonic()
        self.running = True
        self.exit_status = 0
        """What ``main.py`` exits with: 2 if the --screenshot could not be saved."""
        self.help_visible = False
        self.playback = False
        self._paused_before_playback = False
        self.pace = options.pace
        self.speed_index = SPEEDS.index(1.0)
        self.toasts: list[Toast] = []
        self.confirm_dialog: pygame_gui.windows.UIConfirmationDialog | None = None
        self.dialog: ChoiceDialog | None = None
        self.dialog_kind = ""
        self.knobs: KnobsPanel | None = None
        self.scrub_update: int | None = None
        """The past update the stage plays (timeline), or None for the live policy."""
        self.scrubbing = False
        self.drag_start: tuple[int, int] | None = None
        self.drag_now: tuple[int, int] | None = None
        self.recorder: Recorder | None = None
        self._finished_recordings: list[RecordingResult | RecordingError] = []
        self._stopping_recorders: list[threading.Thread] = []
        self.stage_episodes = 0
        self.advantage_layers = (LayerCache(), LayerCache())
        self.timeline_layer = LayerCache()
        self.stage = StagePlayer(self.session.latest_snapshot(), seed=self.config.seed)
        self._build_ui()
        self._apply_pace()
        self.playback = options.playback
        self.session.start(paused=options.playback)

    # -- the frame ------------------------------------------------------------------

    def run(self) -> None:
        """Frames at 60 per second until quit (or ``run_for`` seconds)."""
        try:
            while self.running:
                self.step(self.clock.tick(FRAMES_PER_SECOND) / 1000.0)
        finally:
            self.close()

    def step(self, seconds: float = 1 / FRAMES_PER_SECOND) -> None:
        """One frame: events, update, draw, (record), flip."""
        started = time.perf_counter()
        for event in pygame.event.get():
            self.handle_event(event)
        self.ui.update(seconds)
        self.update(seconds)
        self.draw()
        if self.recorder is not None:
            self.recorder.add_frame(self.screen)  # before the red dot: the clip stays clean
            self._draw_recording_dot()
        pygame.display.flip()
        self.frame_times.starts.append(started)
        self.frame_times.work.append(time.perf_counter() - started)
        if self.options.run_for is not None and time.monotonic() - self.started >= self.options.run_for:
            self.running = False

    def close(self) -> None:
        """Stop the threads, finish a recording and close the window; safe to call twice."""
        if self.options.screenshot is not None and pygame.display.get_init():
            path, self.options.screenshot = self.options.screenshot, None
            try:
                self.save_screenshot(path)
            except (OSError, pygame.error) as error:  # the rest of the shutdown must still happen
                print(f"main.py: error: cannot save the screenshot to {path}: {error}", file=sys.stderr)
                self.exit_status = 2
        if self.recorder is not None:
            self.stop_recording(wait=True)
        for thread in self._stopping_recorders:
            thread.join()
        self.session.stop(timeout=1.0)
        self.plot.stop()
        self.stage.close()
        self.session.trainer.close()
        pygame.display.quit()

    def save_screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        pygame.image.save(self.screen, str(path))

    # -- input ----------------------------------------------------------------------

    def handle_event(self, event: pygame.event.Event) -> None:
        if event.type == pygame.QUIT:
            self.running = False
            return
        if event.type == pygame.VIDEORESIZE:
            self._resize(event.w, event.h)
            return
        consumed = self.ui.process_events(event)
        if self.dialog is not None:
            self._handle_dialog_event(event)
            return
        if self.knobs is not None:
            self._handle_knobs_event(event)
        if event.type == pygame_gui.UI_BUTTON_PRESSED and event.ui_element in self.buttons.values():
            command = next(name for name, button in self.buttons.items() if button is event.ui_element)
            self.command(command)
        elif event.type == pygame_gui.UI_CONFIRMATION_DIALOG_CONFIRMED and event.ui_element is self.confirm_dialog:
            self.confirm_dialog = None
            self.restart()
        elif event.type == pygame_gui.UI_WINDOW_CLOSE and event.ui_element is self.confirm_dialog:
            self.confirm_dialog = None
        elif event.type == pygame.KEYDOWN and not consumed and not self._text_entry_focused():
            self._handle_key(event)
        elif event.type in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEMOTION, pygame.MOUSEBUTTONUP) and not consumed:
            self._handle_mouse(event)

    def _handle_key(self, event: pygame.event.Event) -> None:
        if self.confirm_dialog is not None:
            if event.key in (pygame.K_y, pygame.K_RETURN):
                self.confirm_dialog.kill()
                self.confirm_dialog = None
                self.restart()
            elif event.key in (pygame.K_n, pygame.K_ESCAPE):
                self.confirm_dialog.kill()
                self.confirm_dialog = None
            return
        if self.help_visible and event.key == pygame.K_ESCAPE:
            self.help_visible = False
            return
        command = COMMAND_BY_KEY.get(event.key)
        if command is not None:
            self.command(command)

    def _handle_mouse(self, event: pygame.event.Event) -> None:
        """Drags on the stage push the cart; clicks and drags on the timeline scrub."""
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            if self.layout.timeline.collidepoint(event.pos):
                self.scrubbing = True
                self._scrub_to_x(event.pos[0])
            elif self.layout.stage.collidepoint(event.pos):
                self.drag_start = self.drag_now = event.pos
        elif event.type == pygame.MOUSEMOTION:
            if self.scrubbing:
                self._scrub_to_x(event.pos[0])
            elif self.drag_start is not None:
                self.drag_now = event.pos
        elif event.type == pygame.MOUSEBUTTONUP and event.button == 1:
            if self.drag_start is not None:
                impulse = self._drag_impulse(self.drag_start, event.pos)
                if impulse:
                    self.push(impulse)
            self.scrubbing = False
            self.drag_start = self.drag_now = None

    def _drag_impulse(self, start: tuple[int, int], end: tuple[int, int]) -> float:
        dx = end[0] - start[0]
        if abs(dx) < MIN_DRAG_PIXELS:
            return 0.0
        fraction = dx / (self.layout.stage.width * DRAG_FOR_MAX_PUSH)
        return float(np.clip(fraction, -1.0, 1.0)) * MAX_IMPULSE

    def _text_entry_focused(self) -> bool:
        focused = self.ui.get_focus_set()
        return bool(focused) and any(isinstance(e, pygame_gui.elements.UITextEntryLine) for e in focused)

    def command(self, name: str) -> None:
        """Carry out one control (a key press or a button click)."""
        handler = getattr(self, f"_command_{name}")
        handler()

    def _command_pause(self) -> None:
        if self.playback:
            self.toast("Playback is on: press P to go back to training")
        elif self.session.paused:
            self.session.resume()
        else:
            self.session.pause()

    def _command_step(self) -> None:
        if self.playback:
            self.toast("Playback is on: press P to go back to training")
        elif self.session.paused:
            self.session.step()
        else:
            self.toast("Step works while paused: press Space first")

    def _command_pace(self) -> None:
        self.pace = PACE_NAMES[(PACE_NAMES.index(self.pace) + 1) % len(PACE_NAMES)]
        self._apply_pace()
        self.toast(f"Training pace: {self.pace}")

    def _command_playback(self) -> None:
        if not self.playback:
            self._paused_before_playback = self.session.paused
            self.session.pause()
            self.playback = True
            self.toast(f"Playback of update {self.stage.playing_update}: training is paused")
        else:
            self.playback = False
            if not self._paused_before_playback:
                self.session.resume()
            self.toast("Back to training")

    def _command_greedy(self) -> None:
        self.stage.greedy = not self.stage.greedy
        self.toast("Stage actions: greedy (most probable)" if self.stage.greedy else "Stage actions: sampled from π")

    def _command_faster(self) -> None:
        self._change_speed(+1)

    def _command_slower(self) -> None:
        self._change_speed(-1)

    def _change_speed(self, step: int) -> None:
        self.speed_index = min(max(self.speed_index + step, 0), len(SPEEDS) - 1)
        self.stage.speed = SPEEDS[self.speed_index]

    def _command_save(self) -> None:
        self.save_policy()

    def _command_load(self) -> None:
        dialog = load_dialog(self.ui, self.screen.get_rect(), self.options.models_dir, self.layout.scale)
        self._open_dialog("load", dialog)

    def _command_envs(self) -> None:
        self._open_dialog("envs", env_dialog(self.ui, self.screen.get_rect(), self.config.env_id, self.layout.scale))

    def _command_knobs(self) -> None:
        self.knobs_open = not self.knobs_open
        self._relayout()

    def _command_record(self) -> None:
        if self.recorder is None:
            self.start_recording()
        else:
            self.stop_recording()

    def _command_screenshot(self) -> None:
        try:
            path = timestamped_path(self.options.recordings_dir, "png")
            self.save_screenshot(path)
        except (OSError, pygame.error) as error:
            self.toast(f"Could not save the screenshot: {error}", error=True)
            return
        self.toast(f"Screenshot saved: {_show_path(path)}")

    def _command_restart(self) -> None:
        if self.confirm_dialog is not None:
            return
        rect = pygame.Rect(0, 0, self.layout.px(420), self.layout.px(200))
        rect.center = self.screen.get_rect().center
        self.confirm_dialog = pygame_gui.windows.UIConfirmationDialog(
            rect,
            "Restart training from scratch? What the agent learnt so far is lost "
            "unless you saved it. (Y: restart, N: keep going)",
            manager=self.ui,
            window_title="Restart training?",
            action_short_name="Restart",
        )

    def _command_fullscreen(self) -> None:
        try:
            pygame.display.toggle_fullscreen()
        except pygame.error as error:
            self.toast(f"Fullscreen is not available here ({error})", error=True)

    def _command_help(self) -> None:
        self.help_visible = not self.help_visible

    def _command_quit(self) -> None:
        self.running = False

    def _command_push_left(self) -> None:
        self.push(-DEFAULT_IMPULSE)

    def _command_push_right(self) -> None:
        self.push(DEFAULT_IMPULSE)

    def _command_timeline_back(self) -> None:
        current = self.scrub_update if self.scrub_update is not None else self.session.latest_snapshot().update
        earlier = [update for update in self.session.timeline_updates() if update < current]
        if earlier:
            self.scrub_to(earlier[-1])
        else:
            self.toast("This is the first policy of the run")

    def _command_timeline_forward(self) -> None:
        if self.scrub_update is None:
            return
        later = [update for update in self.session.timeline_updates() if update > self.scrub_update]
        if later and later[0] < self.session.latest_snapshot().update:
            self.scrub_to(later[0])
        else:
            self._command_timeline_live()

    def _command_timeline_live(self) -> None:
        if self.scrub_update is None:
            return
        self.scrub_update = None
        self.stage.play_now(self.session.latest_snapshot())
        self.toast("Timeline: back to the live policy")

    # -- actions --------------------------------------------------------------------

    def push(self, impulse: float) -> None:
        """Push the stage's cart (negative: left); a toast where the env cannot be pushed."""
        if not self.stage.can_push:
            self.toast(f"Nudging is not available for {self.config.env_id}", error=True)
            return
        self.stage.push(impulse)

    def scrub_to(self, update: int) -> None:
        """Play the kept policy nearest to ``update`` on the stage (training goes on)."""
        snapshot = self.session.snapshot_near(update)
        if snapshot.update == self.scrub_update:
            return
        self.scrub_update = snapshot.update
        self.stage.play_now(snapshot)

    def _scrub_to_x(self, x: int) -> None:
        latest = self.session.latest_snapshot().update
        update = timeline_update_at(self.layout.timeline, self.session.timeline_updates(), latest, x)
        if update is None:
            return
        if update >= latest:
            self._command_timeline_live()
        else:
            self.scrub_to(update)

    def restart(self) -> None:
        """A new session with the current config (knobs included); the stage starts over."""
        # The knobs as they are now: a teacher who tuned them restarts with their values.
        self._replace_session(TrainingSession.from_config(self.session.config()), playback=False)
        self.toast("Training restarted from scratch")

    def save_policy(self) -> None:
        """Save the policy on stage (live or from the timeline) to
        ``saved_models/<env>-u<update>-r<return>.safetensors``."""
        snapshot = self.stage.snapshot
        mean = snapshot.mean_return_100
        env_name = self.config.env_id.replace("/", "_")
        stem = f"{env_name}-u{snapshot.update}-r{mean:.0f}" if np.isfinite(mean) else f"{env_name}-u{snapshot.update}"
        try:
            path = save_policy(unused_path(self.options.models_dir, stem), **snapshot.file_contents())
        except OSError as error:
            self.toast(f"Could not save: {error.strerror or error}", error=True)
            return
        self.toast(f"Saved {_show_path(path)}")

    def load_from_file(self, path: Path, play: bool) -> None:
        """Continue training from ``path`` (or play it). A bad file changes nothing."""
        try:
            trainer = trainer_from_file(load_policy(path, expected_env=self.config.env_id))
        except (PolicyFileError, UnsupportedEnvError) as error:
            self.toast(f"Not loaded: {error}", error=True)
            return
        self._replace_session(TrainingSession(trainer), playback=play)
        verb = "Playing" if play else "Training from"
        self.toast(f"{verb} {_show_path(path)} (update {trainer.updates})")

    def switch_env(self, env_id: str) -> None:
        """Restart training on ``env_id`` with its preset hyperparameters."""
        try:
            session = TrainingSession.from_config(config_for(env_id, seed=self.config.seed))
        except (UnsupportedEnvError, ValueError) as error:
            self.toast(f"Cannot train on {env_id}: {error}", error=True)
            return
        self._replace_session(session, playback=False)
        self.threshold = reward_threshold(env_id)
        self.toast(f"Training {env_id} from scratch")

    def start_recording(self) -> None:
        """Start recording; a folder that cannot be written is reported by the recorder
        (its error becomes a toast at the next frame)."""
        try:
            path = timestamped_path(self.options.recordings_dir, self.options.record_format)
        except OSError as error:
            self.toast(f"Cannot record to {self.options.recordings_dir}: {error.strerror or error}", error=True)
            return
        self.recorder = Recorder(path, self.screen.get_size(), FRAMES_PER_SECOND, self.options.record_format)
        self.toast(f"Recording to {_show_path(path)}: V again to stop")

    def stop_recording(self, wait: bool = False) -> None:
        """Finish the file in the background (ffmpeg may need a moment); a toast says when."""
        recorder, self.recorder = self.recorder, None
        if recorder is None:
            return

        def finish() -> None:
            try:
                self._finished_recordings.append(recorder.stop())
            except RecordingError as error:
                self._finished_recordings.append(error)

        if wait:
            finish()
            return
        thread = threading.Thread(target=finish, name="recording-stop", daemon=True)
        thread.start()
        self._stopping_recorders.append(thread)

    def _open_dialog(self, kind: str, dialog: ChoiceDialog) -> None:
        if self.dialog is not None:
            self.dialog.close()
        self.dialog, self.dialog_kind = dialog, kind

    def _handle_dialog_event(self, event: pygame.event.Event) -> None:
        assert self.dialog is not None
        choice = self.dialog.process_event(event)
        if choice is None:
            if not self.dialog.alive:
                self.dialog = None
            return
        self.dialog.close()
        self.dialog, kind = None, self.dialog_kind
        action, value = choice
        if action == "cancel" or value is None:
            return
        if kind == "load":
            self.load_from_file(value, play=action == "play")
        elif kind == "envs":
            self.switch_env(value)

    def _handle_knobs_event(self, event: pygame.event.Event) -> None:
        assert self.knobs is not None
        try:
            changes = self.knobs.process_event(event)
            if changes is None:
                return
            config = self.session.request_changes(**changes)
        except ValueError as error:
            self.toast(f"Not applied: {error}", error=True)
            self.knobs.show(self.session.config())
            return
        if event.type == pygame_gui.UI_TEXT_ENTRY_FINISHED:  # a typed value moves its slider too
            self.knobs.show(config)
        name, value = next(iter(changes.items()))
        label = next(knob.label for knob in KNOBS if knob.field == name)
        self.toast(f"{label} = {value:g} from the next update")

    def _replace_session(self, session: TrainingSession, playback: bool) -> None:
        self.session.stop(timeout=1.0)
        self.session.trainer.close()
        self.session = session
        self.config = session.trainer.config
        self.stage.close()
        self.stage = StagePlayer(session.latest_snapshot(), seed=self.config.seed)
        self.stage.speed = SPEEDS[self.speed_index]
        self.returns = []
        self.plotted = None
        self.plot_surface = None
        self.scrub_update = None
        self.playback = playback
        self._paused_before_playback = False
        self._apply_pace()
        if self.knobs is not None:
            self.knobs.show(self.config)
        session.start(paused=playback)

    def toast(self, text: str, error: bool = False) -> None:
        self.toasts.append(Toast(text, time.monotonic() + TOAST_SECONDS, error))
        self.toasts = self.toasts[-4:]

    def _apply_pace(self) -> None:
        updates_per_second = dict(PACES)[self.pace]
        self.session.set_lockstep(self.pace == "lockstep")
        self.session.set_pace(updates_per_second)

    # -- update ---------------------------------------------------------------------

    def update(self, seconds: float) -> None:
        if not self.playback and self.scrub_update is None:
            self.stage.offer(self.session.latest_snapshot())
        if self.stage.advance(seconds):
            self.stage_episodes += 1
            if self.pace == "lockstep" and not self.playback:
                self.session.grant_update()
            if self.options.play_episodes is not None and self.stage_episodes >= self.options.play_episodes:
                self.running = False
        self.returns.extend(self.session.episode_returns(len(self.returns)))
        changes = self.session.config_changes()
        plot_size = self._plot_rect().size
        if self.plotted != (len(self.returns), len(changes), plot_size):
            markers = tuple((change.episode, change.describe()) for change in changes)
            self.plot.request(PlotRequest(np.asarray(self.returns), self.threshold, plot_size, markers))
            self.plotted = (len(self.returns), len(changes), plot_size)
        image = self.plot.take_image()
        if image is not None:
            self.plot_surface = pygame.image.frombuffer(image.rgba, image.size, "RGBA").convert()
        now = time.monotonic()
        self.toasts = [toast for toast in self.toasts if toast.expires > now]
        if self.session.error:
            self.toast(self.session.error, error=True)
            self.session.error = None
        if self.recorder is not None and self.recorder.error:
            self.stop_recording()
        while self._finished_recordings:
            self._toast_recording(self._finished_recordings.pop(0))

    def _toast_recording(self, outcome: RecordingResult | RecordingError) -> None:
        if isinstance(outcome, RecordingError):
            self.toast(f"Recording failed: {outcome}", error=True)
            return
        dropped = f", {outcome.dropped_frames} dropped" if outcome.dropped_frames else ""
        self.toast(f"Saved {_show_path(outcome.path)} ({outcome.seconds:.1f} s{dropped})")

    # -- drawing --------------------------------------------------------------------

    def state(self) -> tuple[str, tuple[int, int, int]]:
        palette = self.palette
        if self.playback:
            return "playback", palette.action(0)
        if self.session.paused:
            return "paused", palette.realised
        if self.session.trainer.solved:
            return "solved", palette.value
        return "training", palette.positive

    def status_items(self) -> list[tuple[str, str]]:
        stats = self.session.latest_stats()
        elapsed = int(time.monotonic() - self.started)
        items = [("pace", self.pace), ("speed", f"{SPEEDS[self.speed_index]:g}x")]
        if stats is None:  # nothing trained yet in this session (a loaded policy keeps its count)
            update = str(self.session.latest_snapshot().update)
            return [("update", update), *items, ("elapsed", f"{elapsed // 60}:{elapsed % 60:02d}")]

        def number(value: float, digits: int = 2) -> str:
            return "–" if not np.isfinite(value) else f"{value:.{digits}f}"

        return [
            ("update", str(stats.update)),
            ("env steps", f"{stats.env_steps:,}"),
            ("steps/s", f"{stats.env_steps_per_second:,.0f}"),
            ("mean return", number(stats.mean_return_100, 1)),
            ("entropy", number(stats.entropy)),
            ("KL", number(stats.approx_kl, 4)),
            ("value loss", number(stats.value_loss, 1)),
            ("expl. var", number(stats.explained_variance)),
            *items,
            ("elapsed", f"{elapsed // 60}:{elapsed % 60:02d}"),
        ]

    def draw(self) -> None:
        palette = self.palette
        layout = self.layout
        self.screen.fill(palette.background)
        painter = PanelPainter(self.screen, layout, palette, self.fonts)
        state, state_colour = self.state()
        draw_status_bar(painter, layout.status, self.status_items(), state, state_colour)
        self._draw_stage(painter)
        draw_timeline(
            painter,
            layout.timeline,
            self.session.timeline_updates(),
            self.session.latest_snapshot().update,
            self.scrub_update,
            [change.update for change in self.session.config_changes()],
            self.timeline_layer,
        )
        if self.knobs is not None and layout.knobs is not None:
            painter.panel(layout.knobs, "Knobs", "take effect at the next update · marked on the return curve")
            for knob in KNOBS:
                x, y = self.knobs.label_positions[knob.field]
                painter.text(knob.label, (x, y), 14, anchor="midleft")
        draw_policy_panel(painter, layout.policy, self.config.env_id, self.stage.view, self.stage.greedy)
        holding = self.stage.hold_remaining > 0
        draw_value_panel(painter, layout.value, self.stage.trace, self.stage.finished, holding)
        draw_advantage_panel(
            painter,
            layout.advantage,
            self.stage.finished,
            self.session.latest_snapshot().advantages,
            self.advantage_layers,
        )
        self._draw_returns(painter)
        self._draw_toasts(painter)
        pygame.draw.rect(self.screen, palette.panel, layout.buttons)
        self.ui.draw_ui(self.screen)
        if self.help_visible:
            self._draw_help(painter)

    def _draw_stage(self, painter: PanelPainter) -> None:
        layout, palette, stage = self.layout, self.palette, self.stage
        rect = layout.stage
        area = painter.panel(rect, "Stage", f"{self.config.env_id} · seed {self.config.seed}")
        if stage.is_cartpole:
            action = stage.view.action if stage.trace.rewards else None
            draw_cartpole(
                self.screen, area, stage.observation, action, palette, stage.env, layout.scale, stage.last_push
            )
        else:
            frame = stage.frame()
            if frame is not None:  # below the episode's numbers, which would not read on a white frame
                header = painter.px(90)
                draw_frame(self.screen, pygame.Rect(area.x, area.y + header, area.width, area.height - header), frame)
            if stage.last_push:
                target = pygame.Rect(0, 0, painter.px(60), painter.px(20))
                target.center = (area.centerx, area.bottom - painter.px(60))
                draw_push(self.screen, palette, target, stage.last_push, layout.scale)
        if self.drag_start is not None and self.drag_now is not None:
            impulse = self._drag_impulse(self.drag_start, self.drag_now)
            if impulse:
                draw_arrow(self.screen, palette.push, self.drag_start, self.drag_now, max(3, painter.px(5)))
                painter.text(f"{abs(impulse):.1f} N·s", self.drag_now, 16, palette.push, bold=True, anchor="midbottom")
        steps = len(stage.trace.rewards)
        line = painter.text(f"episode {stage.episode_number + 1}", (area.x, area.y + painter.px(4)), 22, bold=True)
        line = painter.text(
            f"step {steps}   return {stage.trace.total_return:.0f}", (area.x, line.bottom + painter.px(2)), 22
        )
        if stage.pushes:
            painter.text(f"pushes {stage.pushes}", (area.x, line.bottom + painter.px(4)), 16, palette.push, bold=True)
        if self.scrub_update is not None:
            title, colour = f"timeline: policy of update {stage.playing_update}", palette.realised
        else:
            title, colour = f"policy of update {stage.playing_update}", palette.value
        title_rect = painter.text(title, (area.right, area.y + painter.px(4)), 20, colour, bold=True, anchor="topright")
        mode = "greedy" if stage.greedy else "sampled"
        painter.text(
            f"{mode} · speed {stage.speed:g}x",
            (area.right, title_rect.bottom + painter.px(4)),
            15,
            palette.muted,
            anchor="topright",
        )
        if stage.hold_remaining > 0 and stage.finished is not None:
            why = "pole fell or cart left the track" if stage.finished.terminated else "time limit reached"
            if not stage.is_cartpole:
                why = "goal reached" if stage.finished.terminated else "time limit reached"
            banner = f"episode over: return {stage.finished.total_return:.0f} ({why})"
            painter.text(
                banner, (area.centerx, area.bottom - painter.px(24)), 18, palette.realised, bold=True, anchor="center"
            )

    def _plot_rect(self) -> pygame.Rect:
        rect = self.layout.returns
        inner = rect.inflate(-self.layout.px(12), -self.layout.px(12))
        title_h = self.layout.px(30)
        inner.height -= title_h
        inner.y += title_h
        return inner

    def _draw_returns(self, painter: PanelPainter) -> None:
        episodes = len(self.returns)
        painter.panel(self.layout.returns, "Training returns", f"{episodes:,} episodes")
        plot_rect = self._plot_rect()
        if self.plot_surface is not None:
            surface = self.plot_surface
            if surface.get_size() != plot_rect.size:
                surface = pygame.transform.smoothscale(surface, plot_rect.size)
            self.screen.blit(surface, plot_rect)

    def _draw_toasts(self, painter: PanelPainter) -> None:
        y = self.layout.timeline.top - painter.px(10)
        for toast in reversed(self.toasts):
            image = self.fonts.render(toast.text, painter.px(16), self.palette.text)
            box = image.get_rect().inflate(painter.px(24), painter.px(12))
            box.bottomright = (self.layout.stage.right - painter.px(10), y)
            colour = self.palette.warning if toast.error else self.palette.panel_border
            pygame.draw.rect(self.screen, self.palette.panel, box, border_radius=painter.px(6))
            pygame.draw.rect(self.screen, colour, box, width=max(1, painter.px(2)), border_radius=painter.px(6))
            self.screen.blit(image, image.get_rect(center=box.center))
            y = box.top - painter.px(6)

    def _draw_recording_dot(self) -> None:
        radius = self.layout.px(9)
        centre = (self.layout.width - radius * 2, self.layout.status.centery)
        pygame.draw.circle(self.screen, self.palette.warning, centre, radius)
        pygame.draw.aacircle(self.screen, self.palette.warning, centre, radius)

    def _draw_help(self, painter: PanelPainter) -> None:
        shade = pygame.Surface(self.screen.get_size(), pygame.SRCALPHA)
        shade.fill((*self.palette.background, 232))
        self.screen.blit(shade, (0, 0))
        controls = CONTROLS + KEY_ONLY_CONTROLS
        rows = (len(controls) + 1) // 2
        column_w = painter.px(560)
        left = self.screen.get_width() // 2 - column_w
        top = painter.px(60)
        painter.text("Keys", (left, top), 28, bold=True)
        row_h = painter.px(28)
        for index, control in enumerate(controls):
            column, row = divmod(index, rows)
            x, y = left + column * column_w, top + painter.px(50) + row * row_h
            painter.text(control.key_label, (x, y), 17, self.palette.value, bold=True)
            painter.text(control.help, (x + painter.px(70), y), 17)
        painter.text(
            "Drag on the stage to push the cart · click or drag the timeline to replay a past policy · "
            "H, F1 or Esc closes this",
            (left, top + painter.px(60) + rows * row_h),
            15,
            self.palette.muted,
        )

    # -- widgets ----------------------------------------------------------------------

    def _ui_theme(self) -> dict:
        palette = self.palette
        layout = self.layout
        colours = {
            "normal_bg": palette.hex(palette.background),
            "hovered_bg": palette.hex(palette.panel_border),
            "active_bg": palette.hex(palette.grid),
            "selected_bg": palette.hex(palette.panel_border),
            "dark_bg": palette.hex(palette.panel),
            "normal_text": palette.hex(palette.text),
            "hovered_text": palette.hex(palette.text),
            "active_text": palette.hex(palette.text),
            "selected_text": palette.hex(palette.text),
            "normal_border": palette.hex(palette.panel_border),
            "hovered_border": palette.hex(palette.muted),
            "active_border": palette.hex(palette.value),
            "selected_border": palette.hex(palette.value),
            "text_cursor": palette.hex(palette.text),
            "filled_bar": palette.hex(palette.value),
            "unfilled_bar": palette.hex(palette.grid),
        }
        font = {
            "name": "inter",
            "size": str(layout.px(14)),
            "regular_path": str(FONT_REGULAR),
            "bold_path": str(FONT_SEMIBOLD),
        }
        misc = {"shape": "rounded_rectangle", "shape_corner_radius": str(layout.px(6)), "border_width": "1"}
        # pygame_gui takes only colours from "defaults"; fonts go per element type. List
        # items and window title bars are buttons, dialog and tool-tip texts text boxes.
        theme: dict = {"defaults": {"colours": colours}}
        for element in ("button", "text_entry_line", "label", "text_box"):
            theme[element] = {"font": font, "misc": misc}
        theme["horizontal_slider"] = {"misc": misc}
        return theme

    def _build_ui(self) -> None:
        self.ui = pygame_gui.UIManager(self.screen.get_size(), self._ui_theme(), enable_live_theme_updates=False)
        self.buttons: dict[str, pygame_gui.elements.UIButton] = {}
        bar = self.layout.buttons
        gap = self.layout.px(6)
        # Each button first sizes itself to its label (width -1), then all are stretched to
        # fill the bar. A narrow window drops the least needed buttons (keys still work).
        height = bar.height - 2 * self.layout.px(6)
        for control in CONTROLS:
            self.buttons[control.command] = pygame_gui.elements.UIButton(
                pygame.Rect(0, 0, -1, height), button_text(control), manager=self.ui, tool_tip_text=control.help
            )
        for command in BUTTONS_DROPPED_FIRST:
            natural = sum(button.rect.width for button in self.buttons.values())
            if natural <= bar.width - gap * (len(self.buttons) + 1):
                break
            self.buttons.pop(command).kill()
        natural = sum(button.rect.width for button in self.buttons.values())
        factor = (bar.width - gap * (len(self.buttons) + 1)) / natural
        x = bar.x + gap
        for button in self.buttons.values():
            width = button.rect.width * factor
            button.set_dimensions((round(width), height))
            button.set_relative_position((round(x), bar.y + self.layout.px(6)))
            x += width + gap
        self.knobs = None
        if self.layout.knobs is not None:
            area = self.layout.knobs.inflate(-self.layout.px(20), -self.layout.px(20))
            title_h = self.layout.px(30)
            area.y += title_h
            area.height -= title_h
            font = self.fonts.get(self.layout.px(14))
            label_w = max(font.size(knob.label)[0] for knob in KNOBS) + self.layout.px(14)
            self.knobs = KnobsPanel(self.ui, area, self.session.config(), self.layout.px, label_w)

    def _relayout(self) -> None:
        self.layout = compute_layout(*self.screen.get_size(), knobs_open=self.knobs_open)
        self.confirm_dialog = None
        if self.dialog is not None:
            self.dialog.close()
            self.dialog = None
        self._build_ui()
        self.plotted = None  # re-render the curve at the new size

    def _resize(self, width: int, height: int) -> None:
        if width < MIN_WIDTH or height < MIN_HEIGHT:
            width, height = max(width, MIN_WIDTH), max(height, MIN_HEIGHT)
            pygame.display.set_mode((width, height), pygame.RESIZABLE)
        self.screen = pygame.display.get_surface()
        self._relayout()


def _show_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def display_problem() -> str | None:
    """Why a window cannot open here, or None if it looks possible."""
    if os.environ.get("SDL_VIDEODRIVER"):
        return None
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return (
            "no display found (DISPLAY is not set). Train without a window with "
            "'python main.py train', or start a virtual one: xvfb-run -a python main.py"
        )
    return None


def run_window(args: argparse.Namespace) -> int:
    """The window's command: open it, run until quit, return the exit status."""
    problem = display_problem()
    if problem is not None:
        print(f"main.py: error: {problem}", file=sys.stderr)
        return 2
    options = WindowOptions(
        env_id=args.env,
        seed=args.seed,
        pace=args.pace,
        theme=args.theme,
        size=args.size,
        run_for=args.run_for,
        screenshot=args.screenshot,
        load=args.path if args.command == "play" else args.load,
        playback=args.command == "play",
        play_episodes=getattr(args, "episodes", None),
        record_format=args.record_format,
    )
    try:
        app = App(options)
    except (UnsupportedEnvError, PolicyFileError) as error:
        print(f"main.py: error: {error}", file=sys.stderr)
        return 2
    except pygame.error as error:
        print(f"main.py: error: cannot open a window ({error})", file=sys.stderr)
        return 2
    try:
        app.run()
    except KeyboardInterrupt:
        return 130
    return app.exit_status
