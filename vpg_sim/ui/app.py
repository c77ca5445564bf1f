"""The live window: the stage, four panels, a status bar and the controls.

A frame is: handle input -> update (stage simulation, snapshots in) -> draw.
Drawing reads one :class:`Frame` and changes nothing. Training runs in a
:class:`~vpg_sim.training.session.TrainingSession` thread; the window only uses the
session's public methods and the snapshots it publishes. What each key does is in
``commands.py``; each panel draws itself (``panels/``).
"""

from __future__ import annotations

import collections
import contextlib
import gc
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pygame
import pygame_gui

from vpg_sim.core.config import VPGConfig, config_for
from vpg_sim.policy_files import LoadedPolicy, load_policy
from vpg_sim.training.pacing import PACES
from vpg_sim.training.stage import StagePlayer
from vpg_sim.ui.commands import Commands
from vpg_sim.ui.confirm import ConfirmDialog
from vpg_sim.ui.controls import SPEEDS
from vpg_sim.ui.dialogs import ChoiceDialog
from vpg_sim.ui.drawing import PRESENTER_MIN_TEXT, Drawing
from vpg_sim.ui.input import InputHandler
from vpg_sim.ui.knobs import KNOB_LABELS, KNOBS, KnobsPanel
from vpg_sim.ui.layout import compute_layout
from vpg_sim.ui.options import WINDOW_TITLE, WindowOptions, use_software_framebuffer
from vpg_sim.ui.overlays import Toasts
from vpg_sim.ui.panels import (
    PanelPainter,
)
from vpg_sim.ui.panels.returns import plot_area
from vpg_sim.ui.recorder import Recorder, RecordingError, RecordingResult
from vpg_sim.ui.return_plot import PlotRequest, ReturnPlotRenderer
from vpg_sim.ui.run_watch import RunWatch
from vpg_sim.ui.theme import ICON, THEMES, Fonts, Palette
from vpg_sim.ui.widgets import build_buttons, ui_theme
from vpg_sim.ui.window import WindowBasics
from vpg_sim.ui.worker import PlotChannel, Session, WorkerSession, start_session, start_session_from_file

PLOT_REQUEST_SECONDS = 0.25
"""At most this often the return curve is asked for again with new episodes."""
FRAMES_KEPT = 60 * 60 * 10
"""Frame times kept for benchmarks: the last ten minutes (all of them would grow ~20 MB an hour)."""
FRAMES_PER_SECOND = 60


@dataclass
class FrameTimes:
    """For benchmarks: the wall-clock start of every frame, the window's own work in it
    (events, update, drawing) and the display flip, apart: under Xvfb the flip alone costs
    ~9 ms at 1080p and is the X server's work more than ours."""

    starts: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=FRAMES_KEPT))
    work: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=FRAMES_KEPT))
    flip: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=FRAMES_KEPT))


class App(WindowBasics):
    """One window. Call :meth:`step` once per frame, or :meth:`run` until quit."""

    frames_per_second = FRAMES_PER_SECOND

    def __init__(self, options: WindowOptions) -> None:
        self.options = options
        self.palette: Palette = THEMES[options.theme]
        # Both may raise (UnsupportedEnvError, PolicyFileError) before any window opens.
        if options.load is not None:
            self.session = self.session_from_file(load_policy(options.load))
        else:
            self.session = self.new_session(options.config or config_for("CartPole-v1"))

        use_software_framebuffer()
        pygame.display.init()
        pygame.font.init()
        pygame.display.set_caption(WINDOW_TITLE)
        with contextlib.suppress(pygame.error, FileNotFoundError):  # no icon is no reason not to start
            pygame.display.set_icon(pygame.image.load(ICON))
        self.screen = pygame.display.set_mode(options.size, pygame.RESIZABLE)
        self.fonts = Fonts()
        self.knobs_open = False
        self.layout = compute_layout(*self.screen.get_size())
        self._local_plot = None if options.training_process else ReturnPlotRenderer(self.palette)
        self.episodes = 0
        """Training episodes of this session drawn on the return curve so far."""
        self.plotted: tuple[int, int, tuple[int, int]] | None = None
        self._next_plot = 0.0
        self.clock = pygame.time.Clock()
        self.frame_times = FrameTimes()
        self.started = time.monotonic()
        self.running = True
        self.exit_status = 0
        """What the command exits with: 2 if the --screenshot could not be saved."""
        self.help_visible = False
        self.formulas_visible = False
        """X: each panel's formula with the numbers of the moment, over its lower edge."""
        self.playback = False
        self.paused_before_playback = False
        self.pace = options.pace
        self.speed_index = SPEEDS.index(1.0)
        self.toasts = Toasts()
        self.confirm: ConfirmDialog | None = None
        """An open question ("save first?"); while it is open, keys answer it."""
        self._on_answer: Callable[[str], None] | None = None
        self.saved_update = self.session.latest_snapshot().update
        """The newest update saved to (or loaded from) a file in this run: a run trained
        beyond it is unsaved, and quitting or replacing it asks first."""
        self.fullscreen = False
        self._windowed_size = options.size
        self.presenting = options.present
        """Presenter mode: every label at least 24 px at 1080p, the run's figures large on the stage."""
        self.dialog: ChoiceDialog | None = None
        self.dialog_kind = ""
        self.knobs: KnobsPanel | None = None
        self.scrub_update: int | None = None
        """The past update the stage plays (timeline), or None for the live policy."""
        self.scrubbing = False
        self.drag_start: tuple[int, int] | None = None
        self.drag_now: tuple[int, int] | None = None
        self.recorder: Recorder | None = None
        self.finished_recordings: list[RecordingResult | RecordingError] = []
        self.stopping_recorders: list[threading.Thread] = []
        self.stage_episodes = 0
        self.watch = RunWatch(self.session.latest_snapshot().env_steps, time.monotonic())
        self._stats_seen = self.session.latest_snapshot().update
        """The newest update whose stats the run watch has taken in."""
        self.commands = Commands(self)
        self.input = InputHandler(self)
        self.drawing = Drawing(self)
        self.panels = self.drawing.panels
        self.shown = self.drawing.shown
        self.stage = StagePlayer(self.session.latest_snapshot(), seed=self.session.config().seed)
        self._build_ui()
        self.apply_pace()
        self.playback = options.playback
        self.session.start(paused=options.playback)
        # What exists now (fonts, widgets, the stage's nets) lives as long as the window:
        # out of the garbage collector's full passes, which showed as frame spikes.
        gc.freeze()

    def new_session(self, config: VPGConfig) -> Session:
        """A session training ``config`` (see :func:`~vpg_sim.ui.worker.start_session`)."""
        return start_session(self.palette, config, in_process=self.options.training_process)

    def session_from_file(self, loaded: LoadedPolicy) -> Session:
        """A session that trains on from a loaded policy file (PolicyFileError if it cannot)."""
        return start_session_from_file(self.palette, loaded, in_process=self.options.training_process)

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
            self.input.handle(event)
        self.ui.update(seconds)
        self.update(seconds)
        self.draw()
        if self.recorder is not None:
            self.recorder.add_frame(self.screen)  # before toasts, help and the red dot: the clip stays clean
        self.draw_overlays()
        flip_started = time.perf_counter()
        pygame.display.flip()
        self.frame_times.starts.append(started)
        self.frame_times.work.append(flip_started - started)
        self.frame_times.flip.append(time.perf_counter() - flip_started)
        if self.options.run_for is not None and time.monotonic() - self.started >= self.options.run_for:
            self.running = False

    def close(self) -> None:
        """Stop the threads, finish a recording and close the window; safe to call twice."""
        if self.options.screenshot is not None and pygame.display.get_init():
            path, self.options.screenshot = self.options.screenshot, None
            try:
                self.save_screenshot(path)
            except (OSError, pygame.error) as error:  # the rest of the shutdown must still happen
                print(f"vpg-sim: error: cannot save the screenshot to {path}: {error}", file=sys.stderr)
                self.exit_status = 2
        if self.recorder is not None:
            self.commands.stop_recording(wait=True)
        for thread in self.stopping_recorders:
            thread.join()
        self.session.close(timeout=1.0)
        if self._local_plot is not None:
            self._local_plot.stop()
        self.stage.close()
        pygame.display.quit()

    def open_dialog(self, kind: str, dialog: ChoiceDialog) -> None:
        if self.dialog is not None:
            self.dialog.close()
        self.dialog, self.dialog_kind = dialog, kind

    def unsaved(self) -> bool:
        """The run has trained past the last update saved or loaded in this window."""
        return self.session.latest_snapshot().update > self.saved_update

    @property
    def plot(self) -> ReturnPlotRenderer | PlotChannel:
        """Where the return curve is drawn: the training process, or a thread of this one."""
        if isinstance(self.session, WorkerSession):
            return self.session.plot
        assert self._local_plot is not None
        return self._local_plot

    def command(self, name: str) -> None:
        """Carry out one control (a key press or a button click)."""
        self.commands.run(name)

    def toast(self, text: str, error: bool = False) -> None:
        self.toasts.add(text, error)

    # -- sessions -------------------------------------------------------------------

    def replace_session(self, session: Session, playback: bool) -> None:
        """Train (or play) ``session`` from now on; the old one is stopped and closed."""
        self.session.close(timeout=1.0)
        self.session = session
        self.saved_update = session.latest_snapshot().update
        self.stage.close()
        self.stage = StagePlayer(session.latest_snapshot(), seed=session.config().seed)
        self.stage.speed = SPEEDS[self.speed_index]
        self.episodes = 0
        self.plotted = None
        self.panels["returns"].image = None
        self.watch = RunWatch(session.latest_snapshot().env_steps, time.monotonic())
        self._stats_seen = session.latest_snapshot().update
        self.scrub_update = None
        self.playback = playback
        self.paused_before_playback = False
        self.apply_pace()
        if self.knobs is not None:
            self.knobs.show(session.config())
        session.watch_noise(self.drawing.noise_open)
        session.start(paused=playback)

    def apply_pace(self) -> None:
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
        self.episodes = self.session.episode_count()
        changes = self.session.config_changes()
        plot_size = plot_area(self.layout).size
        key = (self.episodes, len(changes), plot_size)
        due = self.plotted is None or key[1:] != self.plotted[1:] or time.monotonic() >= self._next_plot
        if self.plotted != key and due:  # new episodes arrive ~35 times a second; the plot shows 2
            self._next_plot = time.monotonic() + PLOT_REQUEST_SECONDS
            first = self.session.first_episode
            markers = tuple((change.episode - first, change.describe(KNOB_LABELS)) for change in changes)
            threshold = self.session.reward_threshold
            min_font = self.layout.px(PRESENTER_MIN_TEXT) if self.presenting else 0.0
            returns = self.session.episode_returns()
            self.plot.request(PlotRequest(returns, threshold, plot_size, markers, min_font))
            self.plotted = key
        image = self.plot.take_image()
        if image is not None:
            self.panels["returns"].image = pygame.image.frombuffer(image.rgba, image.size, "RGBA").convert()
        new_stats = self.session.stats_since(self._stats_seen)
        if new_stats:
            self._stats_seen = new_stats[-1].update
        now = time.monotonic()
        for event in self.watch.observe(now, self.session.latest_snapshot().env_steps, new_stats):
            self.toast(event.text, error=event.error)
        if self.stage.skipped_from is not None:
            self.toast(
                f"Stage: skipped from the policy of update {self.stage.skipped_from} to {self.stage.playing_update}"
            )
            self.stage.skipped_from = None
        self.toasts.expire()
        if self.session.error:
            self.toast(self.session.error, error=True)
            self.session.error = None
        if self.recorder is not None and self.recorder.error:
            self.commands.stop_recording()
        while self.finished_recordings:
            self.commands.toast_recording(self.finished_recordings.pop(0))

    # -- drawing --------------------------------------------------------------------

    def draw(self) -> None:
        self.drawing.draw()

    def draw_overlays(self) -> None:
        self.drawing.draw_overlays()

    def painter(self) -> PanelPainter:
        return self.drawing.painter()

    # -- widgets ----------------------------------------------------------------------

    def _build_ui(self) -> None:
        self.ui = pygame_gui.UIManager(
            self.screen.get_size(), ui_theme(self.palette, self.layout), enable_live_theme_updates=False
        )
        self.buttons = build_buttons(self.ui, self.layout)
        self.knobs = None
        if self.layout.knobs is not None:
            area = self.layout.knobs.inflate(-self.layout.px(20), -self.layout.px(20))
            title_h = self.layout.px(30)
            area.y += title_h
            area.height -= title_h
            font = self.fonts.get(self.layout.px(14))
            label_w = max(font.size(knob.label)[0] for knob in KNOBS) + self.layout.px(14)
            self.knobs = KnobsPanel(self.ui, area, self.session.config(), self.layout.px, label_w)

    def relayout(self) -> None:
        self.layout = compute_layout(*self.screen.get_size(), knobs_open=self.knobs_open)
        if self.confirm is not None:
            self.confirm.close()
            self.confirm = None
        if self.dialog is not None:
            self.dialog.close()
            self.dialog = None
        self._build_ui()
        self.plotted = None  # re-render the curve at the new size
