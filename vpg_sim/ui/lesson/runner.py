"""A lesson run in the window, as a speaker would run it.

:class:`LessonRunner` is the window's mode (``WindowBasics.mode``): each frame it runs
the step's actions in order through the same commands as the keys (a wait holds the
ones after it), judges what the step expects, and draws the caption band. PageDown and
PageUp (what a presentation clicker sends) move between steps, Home starts the lesson
again; every other key does what it always does, so a question from the class can be
answered live. Playing by itself (``auto``: a recording, ``--auto``), a step moves on
once its actions are done and its caption has been read. A comparison step moves the
lesson to the comparison window and back.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from pathlib import Path

import pygame

from vpg_sim.core.gradient_noise import GradientNoise
from vpg_sim.lessons.expectations import MET, NOT_MET, PENDING, NoiseFigure, Quieter, RunFacts, Verdict
from vpg_sim.lessons.script import Action, Compare, Lesson, LessonError, Step, Wait
from vpg_sim.resources import shipped_policy
from vpg_sim.training.comparison_run import Group
from vpg_sim.training.population_session import ComparisonSession
from vpg_sim.ui.compare.app import CompareApp
from vpg_sim.ui.compare.commands import COMPARE_CONTROLS
from vpg_sim.ui.lesson.caption import draw_caption
from vpg_sim.ui.options import WindowOptions
from vpg_sim.ui.recording.desk import RecordingDesk
from vpg_sim.ui.window.app import App
from vpg_sim.ui.window.input import ALL_CONTROLS
from vpg_sim.ui.window.view import WindowView

PENDING_GRACE_SECONDS = 60.0
"""Playing by itself, a step whose expectation is still undecided waits this much longer
than its caption's reading time before it moves on (saying it could not tell)."""
KEYS = "PgDn next · PgUp back · Home again"
NOISE_WAIT_SECONDS = 120.0

Window = App | CompareApp
COMPARE_COMMANDS = {control.command for control in COMPARE_CONTROLS}


def check_keys(lesson: Lesson) -> None:
    """LessonError (one line naming the step) for a ``key`` action that names no command
    of the window: said before any window opens."""
    known = {control.command for control in ALL_CONTROLS} | COMPARE_COMMANDS
    for number, step in enumerate(lesson.steps, start=1):
        for index, action in enumerate(step.actions, start=1):
            if action.kind == "key" and action.value not in known:
                raise LessonError(
                    f"step {number}.do[{index}].key: {action.value!r} is no command of the window "
                    f"(one of {', '.join(sorted(known))})"
                )


def noise_figures(noise: GradientNoise, normalize_advantages: bool) -> dict[str, NoiseFigure]:
    """The noise panel's figures of the weights the run trains on: debiased, and whether
    the batches resolve a signal at all (the panel's "undecided" otherwise)."""
    return {
        name: NoiseFigure(figure.debiased, figure.resolved)
        for name, figure in noise.trained(normalize_advantages).items()
    }


@dataclasses.dataclass
class StepState:
    """Where the runner is in the current step."""

    action: int = 0
    """The next action to run (all done when it equals the step's count)."""
    started: float = 0.0
    wait_started: float = 0.0
    episode_at_wait: object = None
    """The stage's last finished episode when the current wait began."""
    done_at: float | None = None
    first_update: int = 0
    verdict: Verdict = dataclasses.field(default_factory=lambda: Verdict(PENDING))


class LessonRunner:
    """Runs ``lesson`` in a window it opens (and, for a comparison, the comparison window).

    :param options: the window's options; the lesson's first ``train`` (or ``play``)
        action decides what the first window trains.
    :param auto: move on by itself (a recording), not only on the speaker's keys.
    :param clock: seconds, monotonic, as the window's (a recording's own time: 1/60 s a frame).
    """

    def __init__(self, lesson: Lesson, options: WindowOptions, auto: bool, clock: Callable[[], float]) -> None:
        self.lesson = lesson
        self.options = options
        self.auto = auto
        self.now = clock
        self.index = 0
        self.state = StepState()
        self.finished = False
        """Playing by itself: the last step's caption has been read."""
        self._switch_to: Callable[[], Window] | None = None
        self._mean_returns: dict[int, float] = {}
        """The mean of the last 100 returns after each update of the run in the window."""
        self._history_of: object = None
        self._stats_seen = -1
        self._caption_cache: tuple[tuple, pygame.Surface] | None = None
        self.recording = RecordingDesk(options.recordings_dir, options.record_format, 60)
        first = lesson.steps[0].actions[0] if lesson.steps[0].actions else None
        self.window: Window = self._open(first)
        self._enter(0, skip_first=first is not None and first.kind in ("train", "play", "compare"))

    # -- the windows ------------------------------------------------------------------

    def _open(self, action: Action | None) -> Window:
        """A window for ``action`` (train, play or compare; else the default run)."""
        options = dataclasses.replace(self.options, record_to=None)
        if action is not None and action.kind == "compare":
            window: Window = CompareApp(options, self._comparison(action.value), self.now)
        elif action is not None and action.kind == "play":
            window = App(dataclasses.replace(options, load=self._policy_path(action.value), playback=True), self.now)
        else:
            config = action.value if action is not None and action.kind == "train" else options.config
            window = App(dataclasses.replace(options, config=config), self.now)
        window.view.caption_band = True
        window.mode = self
        window.recording.close()
        window.recording = self.recording
        if self.options.record_to is not None and not self.recording.active:
            window.options = dataclasses.replace(window.options, record_to=self.options.record_to)
            window.start_recording_to()
        return window

    def _comparison(self, compare: Compare) -> ComparisonSession:
        groups = [
            Group("A", compare.a, compare.a_label, {}),
            Group("B", compare.b, compare.b_label, {}),
        ]
        return ComparisonSession.from_groups(groups, range(compare.seeds), compare.budget)

    @staticmethod
    def _policy_path(value: str) -> Path:
        return shipped_policy() if value == "shipped" else Path(value)

    def switch_if_asked(self) -> None:
        """Between frames: open the window a step asked for, the view's settings kept."""
        if self._switch_to is None:
            return
        make, self._switch_to = self._switch_to, None
        old = self.window
        kept = {name: getattr(old.view, name) for name in ("theme", "presenting", "speed", "greedy")}
        old.mode = None
        old.recording = RecordingDesk(self.options.recordings_dir, self.options.record_format, 60)
        old.close(keep_display=True)
        self.window = make()
        for name, value in kept.items():
            setattr(self.window.view, name, value)
        self.state.action += 1  # the switch was that action
        self.state.wait_started = self.now()
        self.state.episode_at_wait = self._last_episode()

    @property
    def running(self) -> bool:
        return self.window.running and not self.finished

    def run(self, frame_seconds: Callable[[], float]) -> int:
        """Frames until the lesson ends (playing by itself) or the window is closed; its exit status."""
        try:
            while self.running:
                self.window.step(frame_seconds())
                self.switch_if_asked()
        finally:
            self.window.mode = None
            self.window.close()
            self.recording.close()
        return self.window.exit_status

    # -- moving through the lesson ----------------------------------------------------------

    @property
    def step(self) -> Step:
        return self.lesson.steps[self.index]

    def _enter(self, index: int, skip_first: bool = False) -> None:
        self.index = index
        update = self._update()
        self.state = StepState(
            action=1 if skip_first else 0,
            started=self.now(),
            wait_started=self.now(),
            episode_at_wait=self._last_episode(),
            first_update=update,
        )
        self.finished = False

    def next_step(self) -> None:
        if self.index + 1 < len(self.lesson.steps):
            self._enter(self.index + 1)
        elif self.auto:
            self.finished = True

    def previous_step(self) -> None:
        self._enter(max(self.index - 1, 0))

    def restart(self) -> None:
        self._enter(0)

    def handle_key(self, key: int) -> bool:
        moves = {pygame.K_PAGEDOWN: self.next_step, pygame.K_PAGEUP: self.previous_step, pygame.K_HOME: self.restart}
        if key not in moves:
            return False
        moves[key]()
        return True

    # -- each frame -----------------------------------------------------------------------

    def update(self) -> None:
        """Run the step's actions as far as its waits allow, judge it, and move on if playing by itself."""
        state, actions = self.state, self.step.actions
        self._collect()
        while state.action < len(actions) and self._switch_to is None:
            if isinstance(self.window, App) and self.window.starting is not None:
                return  # a run is starting: what comes next is for it
            action = actions[state.action]
            if action.kind == "wait":
                if not self._waited(action.value):
                    break
            else:
                self._run(action)
                if self._switch_to is not None:
                    return
            state.action += 1
            state.wait_started = self.now()
            state.episode_at_wait = self._last_episode()
        if state.action >= len(actions) and state.done_at is None:
            state.done_at = self.now()
            if self.options.headless and isinstance(self.step.expect, Quieter):
                self._wait_for_a_noise_reading()
        state.verdict = self._judge()
        if self.auto and state.done_at is not None:
            read = self.now() - state.done_at >= self.step.hold
            if read and (state.verdict.state != PENDING or self.now() - state.done_at >= PENDING_GRACE_SECONDS):
                self.next_step()

    def _wait_for_a_noise_reading(self) -> None:
        """Without a display the frames' time runs ahead of the wall clock, and the noise is
        measured in wall time: wait (at most :data:`NOISE_WAIT_SECONDS`) for a reading of
        this step, so that a recording judges the step as a live run would."""
        if not isinstance(self.window, App):
            return
        deadline = time.monotonic() + NOISE_WAIT_SECONDS
        while time.monotonic() < deadline:
            reading = self.window.session.gradient_noise()
            if reading is not None and reading.update >= self.state.first_update:
                return
            time.sleep(0.05)

    def _update(self) -> int:
        if isinstance(self.window, App):
            return self.window.session.latest_snapshot().update
        return self.window.session.latest().rounds

    def _last_episode(self) -> object:
        """The stage's last finished episode (ended, or cut for a newer policy)."""
        stage = self.window.stage if isinstance(self.window, App) else self.window.stages[0]
        return stage.finished

    def _collect(self) -> None:
        """The mean return after each new update of the run (a new run starts afresh)."""
        if not isinstance(self.window, App):
            return
        session = self.window.session
        if session is not self._history_of:
            self._history_of, self._mean_returns, self._stats_seen = session, {}, -1
        for stats in session.stats_since(self._stats_seen):
            self._mean_returns[stats.update] = stats.mean_return_100
            self._stats_seen = stats.update

    def _waited(self, wait: Wait) -> bool:
        """Is ``wait`` over (or past its ``at_most``)?"""
        waited = self.now() - self.state.wait_started
        if wait.seconds is not None:
            return waited >= wait.seconds
        if waited >= wait.at_most:
            self.window.toast(f"Waited {wait.at_most:.0f} s: going on", error=True)
            return True
        if wait.update is not None:
            return self._update() >= wait.update
        if wait.episode:
            return self._last_episode() is not self.state.episode_at_wait
        if isinstance(self.window, App):
            return self.window.session.solved
        return self.window.session.latest().finished

    def _run(self, action: Action) -> None:
        """Carry out one action through the window's commands, as a speaker's key would."""
        window, kind, value = self.window, action.kind, action.value
        if kind == "compare":
            self._switch_to = lambda: self._open(action)
            return
        if not isinstance(window, App):
            if kind in ("train", "play"):
                self._switch_to = lambda: self._open(action)
            elif kind == "key" and value in COMPARE_COMMANDS:
                window.command(value)
            elif kind in ("pace", "speed", "greedy", "present", "pause", "resume"):
                self._run_anywhere(kind, value)
            else:
                window.toast(f"{kind} is not in the comparison window", error=True)
            return
        commands = window.commands
        if kind == "train":
            commands.train(value)
        elif kind == "play":
            commands.load_from_file(self._policy_path(value), play=True)
        elif kind in ("open", "close"):
            if value == "formulas":
                window.view.formulas_visible = kind == "open"
            elif value == "knobs":
                window.view.knobs_open = kind == "open"
            else:
                commands.show_panel(value, kind == "open")
        elif kind == "push":
            commands.push(value)
        elif kind == "timeline":
            commands.timeline_live() if value == "live" else commands.scrub_to(value)
        elif kind == "knob":
            commands.change_knobs(**value)
        elif kind == "key":
            window.command(value)
        else:
            self._run_anywhere(kind, value)

    def _run_anywhere(self, kind: str, value: object) -> None:
        view: WindowView = self.window.view
        if kind == "pace":
            view.pace = str(value)
        elif kind == "speed":
            view.speed = float(value)  # type: ignore[arg-type]
        elif kind == "greedy":
            view.greedy = bool(value)
        elif kind == "present":
            view.presenting = bool(value)
        elif kind == "pause":
            self.window.session.pause()
        elif kind == "resume":
            self.window.session.resume()

    def _judge(self) -> Verdict:
        expect = self.step.expect
        if expect is None:
            return Verdict(MET)
        window, state = self.window, self.state
        facts = RunFacts(update=self._update(), mean_returns=self._mean_returns, actions_done=state.done_at is not None)
        if isinstance(window, App):
            reading = window.session.gradient_noise()
            normalised = window.session.config().normalize_advantages
            fresh = reading is not None and reading.update >= state.first_update
            noise = noise_figures(reading.noise, normalised) if fresh else None
            facts = dataclasses.replace(facts, solved=window.session.solved, noise=noise)
        else:
            snapshot = window.session.latest()
            medians = {
                group.group.name.lower(): (
                    group.median.median if group.median is not None and math.isfinite(group.median.median) else None
                )
                for group in snapshot.groups
            }
            facts = dataclasses.replace(facts, medians=medians, finished=snapshot.finished, solved=snapshot.finished)
        return expect.judge(facts)

    # -- drawing ----------------------------------------------------------------------------

    def caption(self) -> tuple[str, bool]:
        """What the band says now, and whether it says an expectation was not met."""
        if isinstance(self.window, App) and self.window.starting is not None:  # the old run is still on screen
            return f"Starting {self.window.starting.describe}…", False
        verdict = self.state.verdict
        if verdict.state != NOT_MET:
            return self.step.caption, False
        instead = f" {self.step.otherwise}" if self.step.otherwise else ""
        return f"Not this time: {verdict.detail} (the lesson expected {self.step.expect.text}).{instead}", True  # type: ignore[union-attr]

    def draw(self, surface: pygame.Surface) -> None:
        window = self.window
        band = window.layout.buttons
        text, warning = self.caption()
        corner = f"{self.lesson.title} · step {self.index + 1} of {len(self.lesson.steps)} · {KEYS}"
        key = (text, warning, corner, band.size, window.palette.name, window.layout.scale)
        if self._caption_cache is None or self._caption_cache[0] != key:
            image = pygame.Surface(band.size)
            scale = window.layout.scale
            draw_caption(image, image.get_rect(), window.fonts, window.palette, scale, text, corner, warning)
            self._caption_cache = (key, image)
        surface.blit(self._caption_cache[1], band)

