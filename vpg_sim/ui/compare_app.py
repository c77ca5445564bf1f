"""The comparison window: two groups' stages and their returns panel, live.

The same frame as the main window's :class:`~vpg_sim.ui.app.App` (input -> update ->
draw -> record -> overlays -> flip), its painter, theme, fonts, toasts, help overlay,
status bar, recorder and confirm dialog. Training runs in a
:class:`~vpg_sim.training.population_session.ComparisonSession` thread; the window reads
its snapshots (the bands are computed once per new snapshot, not per frame) and calls its
public commands. What each key does is :class:`CompareCommands`: the main window's
commands where they mean the same here.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable

import pygame
import pygame_gui

from vpg_sim.core.comparison import estimator_weights
from vpg_sim.training.pacing import PACES
from vpg_sim.training.population_session import ComparisonSession, ComparisonSnapshot
from vpg_sim.training.stage import StagePlayer
from vpg_sim.ui.commands import Commands
from vpg_sim.ui.confirm import CANCEL, Answer, ConfirmDialog
from vpg_sim.ui.controls import SPEEDS, Control
from vpg_sim.ui.drawing import PRESENTER_MIN_TEXT
from vpg_sim.ui.layout import CompareLayout, compute_compare_layout
from vpg_sim.ui.options import WindowOptions, use_software_framebuffer
from vpg_sim.ui.overlays import Toasts, draw_help, draw_recording_dot
from vpg_sim.ui.panels.comparison import CompareFrame, ComparisonReturnsPanel, GroupStagePanel, GroupView
from vpg_sim.ui.panels.painter import LayerCache, PanelPainter, draw_frames
from vpg_sim.ui.panels.status import draw_status
from vpg_sim.ui.recorder import Recorder, RecordingError, RecordingResult
from vpg_sim.ui.theme import GROUP_COLOURS, ICON, THEMES, Fonts
from vpg_sim.ui.widgets import ui_theme
from vpg_sim.ui.window import WindowBasics

FRAMES_PER_SECOND = 60
WINDOW_TITLE = "vpg-sim · compare two configs over seeds"

COMPARE_CONTROLS: tuple[Control, ...] = (
    Control("pause", (pygame.K_SPACE,), "Space", "", "pause / resume training (both groups)"),
    Control("step", (pygame.K_n,), "N", "", "one round while paused: an update of every agent"),
    Control("pace", (pygame.K_t,), "T", "", "training pace: full, 1/s, 2/s, 5/s rounds, lockstep"),
    Control("greedy", (pygame.K_g,), "G", "", "greedy (argmax) vs sampled actions on both stages"),
    Control("slower", (pygame.K_MINUS, pygame.K_KP_MINUS), "−", "", "stage speed down (to 0.25x)"),
    Control("faster", (pygame.K_PLUS, pygame.K_EQUALS, pygame.K_KP_PLUS), "+", "", "stage speed up (to 8x)"),
    Control("record", (pygame.K_v,), "V", "", "record the window to recordings/ (again to stop)"),
    Control("screenshot", (pygame.K_c,), "C", "", "save a PNG screenshot to recordings/"),
    Control("present", (pygame.K_b, pygame.K_F5), "B", "", "presenter mode: large type for a hall (F5 too)"),
    Control("fullscreen", (pygame.K_f,), "F", "", "toggle fullscreen"),
    Control("help", (pygame.K_h, pygame.K_F1), "H", "", "this help (H or F1)"),
    Control("quit", (pygame.K_q,), "Q", "", "quit (asks first: the comparison is not kept)"),
    Control("escape", (pygame.K_ESCAPE,), "Esc", "", "leave fullscreen, close the help, or quit"),
)
COMMAND_BY_KEY = {key: control.command for control in COMPARE_CONTROLS for key in control.keys}
KEYS_BAR = (
    "Space pause · N step · T pace · G greedy · −/+ stage speed · V record · C shot · B presenter · H help · Esc quit"
)
HELP_FOOTER = (
    "Each stage plays agent 0 (the first seed) of its group. The bands are pointwise 95% intervals over seeds "
    "(the IQM's bootstrap; --stat mean: the mean's t-interval) · H, F1 or Esc closes this"
)


class CompareCommands(Commands):
    """The main window's commands where they mean the same (step, pace, recording,
    screenshot, fullscreen, help, escape); the rest act on both groups."""

    def pause(self) -> None:
        session = self.app.session
        session.resume() if session.paused else session.pause()

    def step(self) -> None:
        if self.app.session.paused:
            self.app.session.step()
        else:
            self.app.toast("Step works while paused: press Space first")

    def greedy(self) -> None:
        greedy = not self.app.stages[0].greedy
        for stage in self.app.stages:
            stage.greedy = greedy
        self.app.toast(f"Stages: {'greedy (argmax)' if greedy else 'sampled'} actions")

    def _change_speed(self, step: int) -> None:
        app = self.app
        app.speed_index = min(max(app.speed_index + step, 0), len(SPEEDS) - 1)
        for stage in app.stages:
            stage.speed = SPEEDS[app.speed_index]
        app.toast(f"Stage speed {SPEEDS[app.speed_index]:g}x")

    def present(self) -> None:
        self.app.presenting = not self.app.presenting

    def quit(self) -> None:
        """Q, Esc and the close button: quit, after asking once anything has trained (a
        comparison cannot be saved; ``--headless`` writes its figure)."""
        app = self.app
        rounds = app.session.latest().rounds
        if rounds == 0:
            app.running = False
            return
        answers = (
            Answer("go", "Quit  Q", (pygame.K_q, pygame.K_RETURN)),
            Answer(CANCEL, "Keep going  N", (pygame.K_n,)),
        )
        message = f"Quit the comparison? Its {rounds} rounds of training are not kept."
        app.ask("Quit?", message, answers, lambda answer: self._stop_running() if answer != CANCEL else None)


class CompareApp(WindowBasics):
    """The comparison window. Call :meth:`step` once per frame, or :meth:`run` until quit.

    :param clock: seconds, monotonic: what ``run_for`` and the elapsed time count (tests
        inject a fake one and pass each frame's seconds to :meth:`step`).
    """

    frames_per_second = FRAMES_PER_SECOND

    def __init__(
        self, options: WindowOptions, session: ComparisonSession, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.options = options
        self.session = session
        self.now = clock
        self.palette = THEMES[options.theme]
        self.colours = GROUP_COLOURS[options.theme]
        use_software_framebuffer()
        pygame.display.init()
        pygame.font.init()
        pygame.display.set_caption(WINDOW_TITLE)
        with contextlib.suppress(pygame.error, FileNotFoundError):
            pygame.display.set_icon(pygame.image.load(ICON))
        self.screen = pygame.display.set_mode(options.size, pygame.RESIZABLE)
        self.fonts = Fonts()
        self.layout: CompareLayout = compute_compare_layout(*self.screen.get_size())
        self.started = clock()
        self.running = True
        self.exit_status = 0
        self.help_visible = False
        self.fullscreen = False
        self._windowed_size = options.size
        self.presenting = options.present
        self.pace = options.pace
        self.speed_index = SPEEDS.index(1.0)
        self.toasts = Toasts()
        self.confirm: ConfirmDialog | None = None
        self._on_answer: Callable[[str], None] | None = None
        self.recorder: Recorder | None = None
        self.finished_recordings: list[RecordingResult | RecordingError] = []
        self.stopping_recorders: list[threading.Thread] = []
        snapshot = session.latest()
        self.stages = [StagePlayer(group.stage, seed=snapshot.seeds[0]) for group in snapshot.groups]
        self.stage_panels = [GroupStagePanel(index) for index in range(len(self.stages))]
        self.returns_panel = ComparisonReturnsPanel()
        self._frames_layer = LayerCache()
        self._views_of: tuple[int, bool] | None = None
        self._views: tuple[GroupView, ...] = ()
        self.commands = CompareCommands(self)  # type: ignore[arg-type]
        self.ui = pygame_gui.UIManager(self.screen.get_size(), ui_theme(self.palette, self.layout))
        self.apply_pace()
        self.session.start()

    # -- the frame ---------------------------------------------------------------------

    def run(self) -> None:
        clock = pygame.time.Clock()
        try:
            while self.running:
                self.step(clock.tick(FRAMES_PER_SECOND) / 1000.0)
        finally:
            self.close()

    def step(self, seconds: float = 1 / FRAMES_PER_SECOND) -> None:
        """One frame: events, update, draw, (record), overlays, flip."""
        for event in pygame.event.get():
            self.handle(event)
        self.ui.update(seconds)
        self.update(seconds)
        self.draw()
        if self.recorder is not None:
            self.recorder.add_frame(self.screen)  # before toasts, help and the red dot
        self.draw_overlays()
        pygame.display.flip()
        if self.options.run_for is not None and self.now() - self.started >= self.options.run_for:
            self.running = False

    def handle(self, event: pygame.event.Event) -> None:
        if event.type == pygame.QUIT:
            if self.confirm is None:
                self.commands.quit()
            return
        if event.type == pygame.VIDEORESIZE:
            self.resize(event.w, event.h)
            return
        consumed = self.ui.process_events(event)
        if self.confirm is not None:
            answer = self.confirm.process_event(event)
            if answer is not None:
                self.answer(answer)
            return
        if event.type == pygame.KEYDOWN and not consumed and event.key in COMMAND_BY_KEY:
            self.command(COMMAND_BY_KEY[event.key])

    def command(self, name: str) -> None:
        self.commands.run(name)

    def update(self, seconds: float) -> None:
        snapshot = self.session.latest()
        for stage, group in zip(self.stages, snapshot.groups, strict=True):
            stage.offer(group.stage)
            if stage.advance(seconds) and stage is self.stages[0] and self.pace == "lockstep":
                self.session.grant_update()
            stage.skipped_from = None
        self.toasts.expire()
        if self.session.error:
            self.toast(self.session.error, error=True)
            self.session.error = None
        if self.recorder is not None and self.recorder.error:
            self.commands.stop_recording()
        while self.finished_recordings:
            self.commands.toast_recording(self.finished_recordings.pop(0))

    # -- what the panels draw ----------------------------------------------------------------

    def group_views(self, snapshot: ComparisonSnapshot) -> tuple[GroupView, ...]:
        """Each group's band, median (the session's, computed off the frame) and figures, once per new snapshot."""
        key = (snapshot.rounds, snapshot.finished)
        if key == self._views_of:
            return self._views
        labels = [group.group.label for group in snapshot.groups]
        views = []
        for index, group in enumerate(snapshot.groups):
            views.append(
                GroupView(
                    name=group.group.name,
                    label=group.group.label,
                    other_label=labels[1 - index] if len(labels) == 2 else "",
                    colour=self.colours[index % len(self.colours)],
                    band=group.band,
                    weights=estimator_weights(group.group.config),
                    steps_to_solve=group.steps_to_solve,
                    median=group.median,
                    stage_seed=snapshot.seeds[0],
                    running=group.running,
                    stage=self.stages[index],
                )
            )
        self._views_of, self._views = key, tuple(views)
        return self._views

    def state(self, snapshot: ComparisonSnapshot) -> tuple[str, tuple[int, int, int]]:
        if snapshot.finished:
            return "finished", self.palette.value
        if self.session.paused:
            return "paused", self.palette.realised
        return "training", self.palette.positive

    def frame(self) -> CompareFrame:
        snapshot = self.session.latest()
        state, colour = self.state(snapshot)
        most = max((max(group.env_steps, default=0) for group in snapshot.groups), default=0)
        elapsed = self.now() - self.started
        trained = snapshot.train_seconds
        items = [
            ("round", str(snapshot.rounds)),
            ("seeds", f"{len(snapshot.seeds)} per group"),
            *((f"{view.name} solved", f"{view.solved}/{view.seeds}") for view in self.group_views(snapshot)),
            ("env", snapshot.groups[0].group.config.env_id),
            ("trained", f"{int(trained) // 60}:{int(trained) % 60:02d}"),
            ("pace", self.pace),
            ("speed", f"{SPEEDS[self.speed_index]:g}x"),
            ("elapsed", f"{int(elapsed) // 60}:{int(elapsed) % 60:02d}"),
        ]
        return CompareFrame(
            env_id=snapshot.groups[0].group.config.env_id,
            rounds=snapshot.rounds,
            groups=self.group_views(snapshot),
            reward_threshold=snapshot.reward_threshold,
            env_steps_axis=float(max(most, 1000)),
            state=state,
            state_colour=colour,
            status_items=tuple(items),
            presenting=self.presenting,
            statistic=self.session.statistic,
        )

    # -- drawing ----------------------------------------------------------------------

    def painter(self) -> PanelPainter:
        return self._painter_on(self.screen)

    def _painter_on(self, surface: pygame.Surface) -> PanelPainter:
        minimum = PRESENTER_MIN_TEXT if self.presenting else 0.0
        return PanelPainter(surface, self.layout, self.palette, self.fonts, min_text_size=minimum)  # type: ignore[arg-type]

    def draw(self) -> None:
        """What a recording shows: every panel."""
        layout = self.layout
        frames = self._frames_layer.get(
            (), (layout, self.palette.name), self.screen.get_size(), lambda layer: draw_frames(self._painter_on(layer))
        )
        self.screen.blit(frames, (0, 0))
        painter = self.painter()
        painter.frames_drawn = True
        frame = self.frame()
        painter.begin("status", layout.status)
        draw_status(painter, layout.status, frame.status_items, frame.state, frame.state_colour)
        for panel, rect in zip(self.stage_panels, layout.stages, strict=True):
            painter.begin(f"stage_{panel.index}", rect)
            panel.draw(painter, rect, frame)
        painter.begin("returns", layout.returns)
        self.returns_panel.draw(painter, layout.returns, frame)
        painter.begin("buttons", layout.buttons)
        painter.text(
            KEYS_BAR,
            (layout.buttons.x + painter.px(12), layout.buttons.centery),
            14,
            self.palette.muted,
            anchor="midleft",
        )
        self.ui.draw_ui(self.screen)

    def draw_overlays(self) -> None:
        """What only the people in the room see: toasts, the keys, the recording dot."""
        painter = self.painter()
        stage = self.layout.stages[1]
        painter.begin("toasts", stage)
        self.toasts.draw(painter, (stage.right - painter.px(16), stage.bottom - painter.px(16)))
        if self.help_visible:
            painter.begin("help", self.screen.get_rect())
            draw_help(painter, COMPARE_CONTROLS, HELP_FOOTER)
        if self.recorder is not None:
            painter.begin("recording", self.layout.status)
            draw_recording_dot(painter)

    # -- what the shared commands call ---------------------------------------------------------

    def toast(self, text: str, error: bool = False) -> None:
        self.toasts.add(text, error)

    def apply_pace(self) -> None:
        self.session.set_lockstep(self.pace == "lockstep")
        self.session.set_pace(dict(PACES)[self.pace])

    def relayout(self) -> None:
        self.layout = compute_compare_layout(*self.screen.get_size())
        if self.confirm is not None:
            self.confirm.close()
            self.confirm = None
        self.ui = pygame_gui.UIManager(self.screen.get_size(), ui_theme(self.palette, self.layout))

    def close(self) -> None:
        """Save the --screenshot, finish a recording, stop the thread, close the window;
        safe to call twice."""
        if self.options.screenshot is not None and pygame.display.get_init():
            path, self.options.screenshot = self.options.screenshot, None
            try:
                self.save_screenshot(path)
            except (OSError, pygame.error) as error:
                print(f"vpg-sim: error: cannot save the screenshot to {path}: {error}", file=sys.stderr)
                self.exit_status = 2
        if self.recorder is not None:
            self.commands.stop_recording(wait=True)
        for thread in self.stopping_recorders:
            thread.join()
        self.session.close(timeout=5.0)
        for stage in self.stages:
            stage.close()
        pygame.display.quit()
