"""The live window: the stage, four panels, a status bar and the controls.

A frame is: handle input -> update (the view applied, the stage simulated, snapshots in)
-> draw. The window owns :class:`~vpg_sim.ui.window.view.View`, the record of what it
shows; a key, a button or a script changes it through ``commands.py``; drawing reads it
and one :class:`Frame`, and changes nothing. Training runs in a session (a child process,
or a thread in tests); the window only uses the session's public methods and the
snapshots it publishes.

With SDL's dummy driver (``SDL_VIDEODRIVER=dummy``) the same loop runs with no display at
all: every frame is drawn to the window's surface and handed to the recorder all the same.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import time
from collections.abc import Callable

import pygame
import pygame_gui

from vpg_sim.core.checkpoint import Checkpoint
from vpg_sim.core.config import VPGConfig, config_for
from vpg_sim.files import remove_stale_temp_files
from vpg_sim.policy_files import LoadedPolicy, PolicyFileError, check_env, load_policy, trainer_from_file
from vpg_sim.training.pacing import PACES
from vpg_sim.training.process_session import (
    ProcessSession,
    Renderer,
    Session,
    SessionStart,
    StartCancelled,
    WorkerDied,
    WorkerError,
    start_session,
)
from vpg_sim.training.session import TrainingSession
from vpg_sim.training.stage import StagePlayer
from vpg_sim.ui.layout import compute_layout
from vpg_sim.ui.options import WindowOptions, open_display
from vpg_sim.ui.panels.frame import Drag, Frame
from vpg_sim.ui.panels.return_plot import PlotRequest, ReturnPlotRenderer
from vpg_sim.ui.panels.returns import plot_area
from vpg_sim.ui.panels.status import status_figures
from vpg_sim.ui.theme import THEMES, Fonts
from vpg_sim.ui.widgets.dialogs import ChoiceDialog, env_dialog, load_dialog
from vpg_sim.ui.widgets.knobs import KNOB_LABELS, KNOBS, KnobsPanel
from vpg_sim.ui.widgets.theme import ui_theme
from vpg_sim.ui.window.basics import FRAMES_PER_SECOND, WindowBasics
from vpg_sim.ui.window.commands import Commands
from vpg_sim.ui.window.input import ALL_CONTROLS, InputHandler, build_buttons
from vpg_sim.ui.window.run_watch import RunWatch
from vpg_sim.ui.window.view import KNOBS_NOTE_HEIGHT, Canvas, Drawing, View

PLOT_REQUEST_SECONDS = 0.25
"""At most this often the return curve is asked for again with new episodes."""
HEADLESS_UPDATE_WAIT = 30.0
"""Without a display, a frame waits at most this long (wall time) for a granted update."""
CANCEL_KEYS = (pygame.K_q, pygame.K_ESCAPE)


def read_starting_window() -> None:
    """While the training process starts: read the "starting" window's events (if one is
    open), so that the close button, Q and Esc quit at once (StartCancelled)."""
    if not pygame.display.get_init():
        return
    for event in pygame.event.get():
        if event.type == pygame.QUIT or (event.type == pygame.KEYDOWN and event.key in CANCEL_KEYS):
            raise StartCancelled


class App(WindowBasics):
    """One window. Call :meth:`step` once per frame, or :meth:`run` until quit.

    :param clock: seconds, monotonic: the elapsed time, ``run_for``, toasts and the
        steps-per-second figure count it (tests inject one and pass each frame's seconds
        to :meth:`step`).
    """

    frames_per_second = FRAMES_PER_SECOND

    def __init__(self, options: WindowOptions, clock: Callable[[], float] = time.monotonic) -> None:
        self._start_basics(options, clock)
        remove_stale_temp_files(options.models_dir)  # what a save cut by kill -9 left
        self.view = View(theme=options.theme, presenting=options.present, pace=options.pace)
        self.palette = THEMES[options.theme]
        # Both may raise (UnsupportedEnvError, PolicyFileError, WorkerError) before the
        # window proper opens, and StartCancelled if Q is pressed in the "starting" window.
        if options.load is not None:
            self._session = self.session_from_file(load_policy(options.load), read_starting_window)
        else:
            self._session = self.new_session(options.config or config_for("CartPole-v1"), read_starting_window)

        self.screen = open_display(options.size)
        self.fonts = Fonts()
        self.layout = compute_layout(*self.screen.get_size())
        self._local_plot = None if options.training_process else ReturnPlotRenderer(self.palette)
        self.episodes = 0
        """Training episodes of this session drawn on the return curve so far."""
        self.plotted: tuple[int, int, tuple[int, int], bool] | None = None
        self._next_plot = 0.0
        self.starting: SessionStart | None = None
        """A session being started off the frame (a load, a restart), or None."""
        self._on_started: Callable[[Session], None] = lambda session: None
        self._start_failed = ""
        self._ending_said = False
        self.student_error: str | None = None
        """Why a student's run paused itself (their function failed), while it stays paused."""
        self.dialog: ChoiceDialog | None = None
        self.dialog_kind = ""
        self.knobs: KnobsPanel | None = None
        self.commands = Commands(self)
        self.input = InputHandler(self)
        self.drawing = Drawing()
        self.panels = self.drawing.panels
        self._start_run(self._session, playback=options.playback)
        self._build_ui()
        self.start_recording_to()
        self.started = self.now()  # elapsed time and --run-for count from the window, not the trainer's start-up
        # What exists now (fonts, widgets, the stage's nets) lives as long as the window:
        # out of the garbage collector's full passes, which showed as frame spikes.
        gc.freeze()

    @property
    def session(self) -> Session:
        return self._session

    @property
    def stage(self) -> StagePlayer:
        return self._stage

    def new_session(self, config: VPGConfig, while_waiting: Callable[[], None] | None = None) -> Session:
        """A session training ``config`` (see :func:`~vpg_sim.training.process_session.start_session`)."""
        return self._start_session(config, while_waiting)

    def session_from_file(self, loaded: LoadedPolicy, while_waiting: Callable[[], None] | None = None) -> Session:
        """A session that trains on from a loaded policy file (PolicyFileError if it cannot)."""
        if not self.options.training_process and self.options.student is None:
            return TrainingSession(trainer_from_file(loaded))
        check_env(loaded)
        try:
            return self.session_from_checkpoint(loaded.checkpoint, while_waiting)
        except WorkerDied:
            raise  # the process's end, not the file's fault
        except WorkerError as error:
            raise PolicyFileError(loaded.path, f"cannot be restored ({error})") from None

    def session_from_checkpoint(
        self, checkpoint: Checkpoint, while_waiting: Callable[[], None] | None = None
    ) -> Session:
        """A session that trains on from ``checkpoint`` (a snapshot the window holds)."""
        return self._start_session(checkpoint, while_waiting)

    def _start_session(self, start: VPGConfig | Checkpoint, while_waiting: Callable[[], None] | None) -> Session:
        options = self.options
        renderer = self._plot_renderer()
        return start_session(
            start, options.training_process, renderer, while_waiting, options.student, options.student_timeout
        )

    def begin_session(
        self, make: Callable[[Callable[[], None]], Session], describe: str, then: Callable[[Session], None], failed: str
    ) -> None:
        """Start a session off the frame (a training process takes seconds to start) and
        hand it to ``then`` once it is ready; the run goes on meanwhile. If it cannot
        start, a toast: ``failed``, then why. A session in a thread starts at once."""
        if not self.options.training_process:
            try:
                session = make(lambda: None)
            except Exception as error:  # as a training process's failure: one line
                self.toast(f"{failed}: {str(error).splitlines()[0] if str(error) else type(error).__name__}", True)
                return
            then(session)
            return
        if self.starting is not None:
            self.toast(f"Still starting {self.starting.describe}: a moment", error=True)
            return
        self.starting, self._on_started, self._start_failed = SessionStart(make, describe), then, failed
        self.toast(f"Starting {describe}…")

    def _plot_renderer(self) -> Callable[[], ReturnPlotRenderer]:
        """The return curve's renderer, built in the training process beside the trainer."""
        return functools.partial(ReturnPlotRenderer, self.palette)

    # -- the frame ------------------------------------------------------------------

    def handle(self, event: pygame.event.Event) -> None:
        self.input.handle(event)

    def close(self, keep_display: bool = False) -> None:
        """Stop the threads, finish a recording and close the window; safe to call twice."""
        if self.starting is not None:
            self.starting.cancel()
            self.starting = None
        self.close_basics()
        self.session.close(timeout=1.0)
        if self._local_plot is not None:
            self._local_plot.stop()
        self.stage.close()
        if not keep_display:  # a lesson's next window takes it over
            pygame.display.quit()

    def open_dialog(self, kind: str) -> None:
        """Open the ``"load"`` list (saved policies) or the ``"envs"`` list."""
        if kind == "load":
            folder, scale = self.options.models_dir, self.layout.scale
            dialog = load_dialog(self.ui, self.screen.get_rect(), folder, scale, self.session.env_id)
        elif kind == "envs":
            dialog = env_dialog(self.ui, self.screen.get_rect(), self.session.env_id, self.layout.scale)
        else:
            raise ValueError(f"unknown dialog {kind!r}")
        if self.dialog is not None:
            self.dialog.close()
        self.dialog, self.dialog_kind = dialog, kind

    # -- sessions -------------------------------------------------------------------

    def replace_session(self, session: Session, playback: bool) -> None:
        """Train (or play) ``session`` from now on; the old one is stopped and closed."""
        self.session.close(timeout=1.0)
        self.stage.close()
        self.plotted = None
        self.panels["returns"].image = None
        self.view.scrub_update = None
        self.view.paused_before_playback = False
        self._start_run(session, playback)
        if self.knobs is not None:
            self.knobs.show(session.config())

    def _start_run(self, session: Session, playback: bool) -> None:
        self._session = session
        self._ending_said = False
        snapshot = session.latest_snapshot()
        self.view.saved_update = snapshot.update
        self.view.playback = playback
        self._stage = StagePlayer(snapshot, seed=session.config().seed)
        self.episodes = 0
        self.stage_episodes = 0
        self.watch = RunWatch(snapshot.env_steps, self.now())
        self._stats_seen = snapshot.update
        """The newest update whose stats the run watch has taken in."""
        self._applied = dataclasses.replace(self.view, shown=dict(self.view.shown))
        self._apply_to_stage()
        self.apply_pace()
        if session.student_label:  # a student's run: their numbers beside ours, from the start
            self.view.set_open("student", True)
        session.watch_noise(self.view.noise_open)
        session.start(paused=playback)

    # -- update ---------------------------------------------------------------------

    def _apply_view(self) -> None:
        """Carry out what the commands changed in the view since the last frame."""
        view, applied = self.view, self._applied
        if (view.knobs_open, view.caption_band) != (applied.knobs_open, applied.caption_band):
            self.relayout()
        if view.presenting != applied.presenting:
            self.plotted = None  # the return curve's labels grow too
        if view.pace != applied.pace:
            self.apply_pace()
        self._apply_to_stage()
        self._applied = dataclasses.replace(view, shown=dict(view.shown))

    def apply_pace(self) -> None:
        """Tell the session the view's pace. Without a display, time is the frames' own:
        the window grants each update when the pace says it is due (see :meth:`_grant_due_updates`)."""
        rate = dict(PACES)[self.view.pace]
        if not self.options.headless or rate is None:
            super().apply_pace()
            return
        self.session.set_lockstep(True)
        self.session.set_pace(None)
        self._paced_from = (self.now(), self.session.latest_snapshot().update, self.session.paused)
        self._granted = 0

    def _grant_due_updates(self) -> None:
        """Without a display: grant the updates the pace makes due by the frames' time, and
        wait for the one under way, so that frame n shows what n/60 s of training shows."""
        rate = dict(PACES)[self.view.pace]
        if not self.options.headless or rate is None or self.view.playback or self.session.ended:
            return
        if self.session.paused != self._paced_from[2]:
            self.apply_pace()  # paused or resumed: count from now
        if self.session.paused:
            return
        started, first_update, _ = self._paced_from
        deadline = time.monotonic() + HEADLESS_UPDATE_WAIT
        while self.session.latest_snapshot().update - first_update < self._granted and not self.session.ended:
            if time.monotonic() > deadline:
                return  # the update is slow or stuck: the frame goes on, and the next one waits again
            time.sleep(0.001)
        if int((self.now() - started) * rate) > self._granted:
            self.session.grant_update()
            self._granted += 1

    def _apply_to_stage(self) -> None:
        self.stage.speed = self.view.speed
        self.stage.greedy = self.view.greedy

    def update(self, seconds: float) -> None:
        self._apply_view()
        ended = self.session.ended  # read before the errors are said: it notices a dead child
        said = self.session.error
        self.update_basics()
        if not self.session.paused:
            self.student_error = None
        elif said and self.session.student_label:  # the toast goes; the panel keeps saying why it paused
            self.student_error = said
        self._take_started_session()
        self._grant_due_updates()
        if ended and self.session.ended and not self._ending_said:  # (a session started this frame is not it)
            self._ending_said = True
            self.commands.offer_to_resume()
        view = self.view
        if not view.playback and view.scrub_update is None:
            self.stage.offer(self.session.latest_snapshot())
        if self.stage.advance(seconds):
            self.stage_episodes += 1
            if view.pace == "lockstep" and not view.playback:
                self.session.grant_update()
            if self.options.play_episodes is not None and self.stage_episodes >= self.options.play_episodes:
                self.running = False
        self._update_return_curve()
        new_stats = self.session.stats_since(self._stats_seen)
        if new_stats:
            self._stats_seen = new_stats[-1].update
        for event in self.watch.observe(self.now(), self.session.latest_snapshot().env_steps, new_stats):
            self.toast(event.text, error=event.error)
        if self.stage.skipped_from is not None:
            self.toast(
                f"Stage: skipped from the policy of update {self.stage.skipped_from} to {self.stage.playing_update}"
            )
            self.stage.skipped_from = None

    def _take_started_session(self) -> None:
        starting = self.starting
        if starting is None or not starting.done:
            return
        self.starting = None
        if starting.session is not None:
            self._on_started(starting.session)
        elif starting.error is not None:
            self.toast(f"{self._start_failed}: {starting.error}", error=True)

    def _update_return_curve(self) -> None:
        """Ask for the curve again when there are new episodes (at most every
        :data:`PLOT_REQUEST_SECONDS`), knob changes or a new size; blit the newest."""
        self.episodes = self.session.episode_count()
        changes = self.session.config_changes()
        plot_size = plot_area(self.layout).size
        key = (self.episodes, len(changes), plot_size, self.view.presenting)
        now = self.now()
        due = self.plotted is None or key[1:] != self.plotted[1:] or now >= self._next_plot
        if self.plotted != key and due:  # new episodes arrive ~35 times a second; the plot shows 2
            self._next_plot = now + PLOT_REQUEST_SECONDS
            first = self.session.first_episode
            markers = tuple((change.episode - first, change.describe(KNOB_LABELS)) for change in changes)
            min_font = self.layout.px(self.view.min_text_size)
            returns = self.session.episode_returns()
            reference = self.session.reference_episode_returns() if self.session.student_label else None
            request = PlotRequest(returns, self.session.reward_threshold, plot_size, markers, min_font, reference)
            self._plot_renderer_now().request(request)
            self.plotted = key
        image = self._plot_renderer_now().take_image()
        if image is not None:
            self.panels["returns"].image = pygame.image.frombuffer(image.rgba, image.size, "RGBA").convert()

    def _plot_renderer_now(self) -> Renderer:
        """Where the return curve is drawn: in the training process, or a thread of this one."""
        if isinstance(self.session, ProcessSession):
            return self.session.renderer
        assert self._local_plot is not None
        return self._local_plot

    # -- drawing --------------------------------------------------------------------

    def state(self) -> tuple[str, tuple[int, int, int]]:
        """What the status pill says, and its colour."""
        palette = self.palette
        if self.session.ended:
            return "stopped", palette.warning
        if self.view.playback:
            return "playback", palette.action(0)
        if self.session.paused:
            return "paused", palette.realised
        if self.session.solved:
            return "solved", palette.value
        return "training", palette.positive

    def frame(self) -> Frame:
        """What this frame draws, read once from the session, the stage and the view."""
        session, view = self.session, self.view
        state, state_colour = self.state()
        drag = self.input.drag()
        now = self.now()
        stats = session.latest_stats()
        snapshot = session.latest_snapshot()
        config = self.stage.snapshot.config
        return Frame(
            env_id=config.env_id,
            seed=config.seed,
            stage=self.stage,
            snapshot=snapshot,
            stats=stats,
            state=state,
            state_colour=state_colour,
            badge="collapsed: entropy 0" if RunWatch.collapsed_policy(stats) else None,
            status_items=tuple(
                status_figures(
                    stats, snapshot.update, self.watch.steps_per_second(now), view.pace, view.speed, now - self.started
                )
            ),
            timeline_updates=tuple(session.timeline_updates()),
            config_changes=tuple(session.config_changes()),
            scrub_update=view.scrub_update,
            episodes=self.episodes,
            drag=Drag(*drag) if drag is not None else None,
            presenting=view.presenting,
            noise=session.gradient_noise() if view.noise_open else None,
            student_label=session.student_label,
            student_error=self.student_error,
        )

    def canvas(self) -> Canvas:
        return Canvas(self.screen, self.layout, self.palette, self.fonts)

    def draw(self) -> None:
        """What a recording shows: every panel and the widgets."""
        self.drawing.draw(self.canvas(), self.frame(), self.view, self.knobs)
        self.ui.draw_ui(self.screen)

    def draw_overlays(self) -> None:
        self.drawing.draw_overlays(self.canvas(), self.view, self.toasts, self.recording.active, ALL_CONTROLS)

    # -- widgets ----------------------------------------------------------------------

    def _build_ui(self) -> None:
        self.ui = pygame_gui.UIManager(
            self.screen.get_size(), ui_theme(self.palette, self.layout), enable_live_theme_updates=False
        )
        self.buttons = {} if self.view.caption_band else build_buttons(self.ui, self.layout)
        self.knobs = None
        if self.layout.knobs is not None:
            area = self.layout.knobs.inflate(-self.layout.px(20), -self.layout.px(20))
            title_h, note_h = self.layout.px(30), self.layout.px(KNOBS_NOTE_HEIGHT)
            area.y += title_h
            area.height -= title_h + note_h  # a line below the switches: what the estimators estimate
            font = self.fonts.get(self.layout.px(14))
            label_w = max(font.size(knob.label)[0] for knob in KNOBS) + self.layout.px(14)
            self.knobs = KnobsPanel(self.ui, area, self.session.config(), self.layout.px, label_w)

    def relayout(self) -> None:
        self.layout = compute_layout(*self.screen.get_size(), self.view.knobs_open, self.view.caption_band)
        if self.confirm is not None:
            self.confirm.close()
            self.confirm = None
        if self.dialog is not None:
            self.dialog.close()
            self.dialog = None
        self._build_ui()
        self.plotted = None  # re-render the curve at the new size
