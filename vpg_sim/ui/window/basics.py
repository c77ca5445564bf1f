"""What every vpg-sim window does the same way: the frame, questions, screenshots,
fullscreen, resizing, recording, and the commands that mean the same in each.

:class:`WindowBasics` is mixed into the main window (:class:`~vpg_sim.ui.window.app.App`)
and the comparison window (:class:`~vpg_sim.ui.compare.app.CompareApp`); each keeps its
record of what it shows in ``view`` and has its own :meth:`handle`, :meth:`update`,
:meth:`draw`, :meth:`draw_overlays` and :meth:`relayout`. :class:`WindowCommands` are the
commands both windows share; they act through :class:`WindowActions`, the few things a
command may do.
"""

from __future__ import annotations

import collections
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pygame

from vpg_sim.training.pacing import PACE_NAMES, PACES
from vpg_sim.ui import MIN_HEIGHT, MIN_WIDTH
from vpg_sim.ui.options import WindowOptions
from vpg_sim.ui.panels.overlays import Toasts
from vpg_sim.ui.recording.desk import RecordingDesk
from vpg_sim.ui.recording.ffmpeg import RecordingError, RecordingResult
from vpg_sim.ui.recording.recorder import timestamped_path
from vpg_sim.ui.widgets.confirm import Answer, ConfirmDialog
from vpg_sim.ui.window.view import WindowView

FRAMES_PER_SECOND = 60
FRAMES_KEPT = 60 * 60 * 10
"""Frame times kept for benchmarks: the last ten minutes (all of them would grow ~20 MB an hour)."""


def show_path(path: Path) -> str:
    """``path`` relative to the working folder where it is inside it (shorter in a toast)."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class FrameClock:
    """Time without a display: the frames' own, 1/60 s each, however long one takes to
    draw (a recording made this way plays at the speed it shows)."""

    def __init__(self, per_second: float = FRAMES_PER_SECOND) -> None:
        self.frames = 0
        self.per_second = per_second
        """Frames a second of this time (tests draw fewer: the same lesson, fewer frames)."""

    @property
    def seconds(self) -> float:
        """One frame's time."""
        return 1 / self.per_second

    def now(self) -> float:
        return self.frames / self.per_second

    def advance(self) -> None:
        self.frames += 1


@dataclass
class FrameTimes:
    """For benchmarks: the wall-clock start of every frame, the window's own work in it
    (events, update, drawing) and the display flip, apart: under Xvfb the flip alone costs
    ~9 ms at 1080p and is the X server's work more than ours."""

    starts: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=FRAMES_KEPT))
    work: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=FRAMES_KEPT))
    flip: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=FRAMES_KEPT))


class WindowActions(Protocol):
    """What a command may do in any vpg-sim window: change the view record, toast, ask a
    question, record, save a screenshot, end the window."""

    view: WindowView
    options: WindowOptions
    recording: RecordingDesk
    screen: pygame.Surface

    def toast(self, text: str, error: bool = False) -> None: ...

    def ask(self, title: str, message: str, answers: tuple[Answer, ...], then: Callable[[str], None]) -> None: ...

    def save_screenshot(self, path: Path) -> None: ...

    def end(self) -> None: ...


class WindowMode(Protocol):
    """A mode that runs a window as a speaker would (a lesson): it sees each frame, draws
    over the panels (in the recording too) and takes the keys it names first."""

    def handle_key(self, key: int) -> bool:
        """Act on ``key`` if it is the mode's; True if it was."""
        ...

    def update(self) -> None: ...

    def draw(self, surface: pygame.Surface) -> None: ...


class WindowCommands:
    """The commands every window shares. A method per command name; :meth:`run` calls one."""

    def __init__(self, window: WindowActions) -> None:
        self.window = window

    def run(self, name: str) -> None:
        getattr(self, name)()

    def toast(self, text: str, error: bool = False) -> None:
        self.window.toast(text, error)

    def pace(self) -> None:
        """T: the next training pace."""
        view = self.window.view
        self.set_pace(PACE_NAMES[(PACE_NAMES.index(view.pace) + 1) % len(PACE_NAMES)])

    def set_pace(self, name: str) -> None:
        """Train at pace ``name`` (one of ``training.pacing.PACE_NAMES``)."""
        if name not in PACE_NAMES:
            raise ValueError(f"unknown pace {name!r}; expected one of {', '.join(PACE_NAMES)}")
        self.window.view.pace = name
        self.toast(f"Training pace: {name}")

    def faster(self) -> None:
        self.window.view.step_speed(+1)

    def slower(self) -> None:
        self.window.view.step_speed(-1)

    def greedy(self) -> None:
        view = self.window.view
        view.greedy = not view.greedy
        self.toast("Stage actions: greedy (most probable)" if view.greedy else "Stage actions: sampled from π")

    def help(self) -> None:
        self.window.view.help_visible = not self.window.view.help_visible

    def present(self) -> None:
        """B or F5: presenter mode on or off."""
        self.window.view.presenting = not self.window.view.presenting

    def fullscreen(self) -> None:
        """F: fill the display at its own size (and back to the window it was)."""
        self.window.view.fullscreen = not self.window.view.fullscreen

    def escape(self) -> None:
        """Esc: out of fullscreen first, then out of the help, and only then quit (asking if need be)."""
        view = self.window.view
        if view.fullscreen:
            self.fullscreen()
        elif view.help_visible:
            view.help_visible = False
        else:
            self.run("quit")

    # -- recording -----------------------------------------------------------------

    def record(self) -> None:
        """V: start recording, or stop."""
        if self.window.recording.active:
            self.window.recording.stop()
            return
        options = self.window.options
        try:
            path = self.window.recording.start(self.window.screen.get_size())
        except OSError as error:
            self.toast(f"Cannot record to {options.recordings_dir}: {error.strerror or error}", error=True)
            return
        self.toast(f"Recording to {show_path(path)}: V again to stop")

    def toast_recording(self, outcome: RecordingResult | RecordingError) -> None:
        """Say how a finished recording went."""
        if isinstance(outcome, RecordingError):
            self.toast(f"Recording failed: {outcome}", error=True)
            return
        dropped = f", {outcome.dropped_frames} dropped" if outcome.dropped_frames else ""
        self.toast(f"Saved {show_path(outcome.path)} ({outcome.seconds:.1f} s{dropped})")

    def screenshot(self) -> None:
        """C: the window as a PNG in the recordings folder."""
        try:
            path = timestamped_path(self.window.options.recordings_dir, "png")
            self.window.save_screenshot(path)
        except (OSError, pygame.error) as error:
            self.toast(f"Could not save the screenshot: {error}", error=True)
            return
        self.toast(f"Screenshot saved: {show_path(path)}")


class WindowBasics:
    """The frame and what both windows do alike. Each window sets the attributes below."""

    options: WindowOptions
    view: WindowView
    screen: pygame.Surface
    ui: Any
    layout: Any
    session: Any
    commands: WindowCommands
    confirm: ConfirmDialog | None
    _on_answer: Callable[[str], None] | None
    _windowed_size: tuple[int, int]

    def _start_basics(self, options: WindowOptions, clock: Callable[[], float]) -> None:
        self.options = options
        self.now = clock
        """Seconds, monotonic: what ``run_for`` and the elapsed time count (tests inject one)."""
        self.started = clock()
        self.running = True
        self.exit_status = 0
        """What the command exits with: 2 if the --screenshot could not be saved."""
        self.toasts = Toasts(clock)
        self.confirm = None
        self._on_answer = None
        self._windowed_size = options.size
        self._fullscreen_applied = False
        self.recording = RecordingDesk(options.recordings_dir, options.record_format, FRAMES_PER_SECOND)
        self.frame_times = FrameTimes()
        self.mode: WindowMode | None = None
        """A lesson running the window, or None."""
        self._full_pace_from: tuple[float, float] | None = None

    # -- the frame -----------------------------------------------------------------

    def run(self, frames: FrameClock | None = None) -> None:
        """Frames at 60 per second until quit (or ``run_for`` seconds); with ``frames``
        (the clock this window was given, without a display) as fast as they draw."""
        clock = pygame.time.Clock()
        try:
            while self.running:
                if frames is None:
                    self.step(clock.tick(FRAMES_PER_SECOND) / 1000.0)
                else:  # the frame shows the end of its 1/60 s: the last one is at --run-for exactly
                    frames.advance()
                    self.step(frames.seconds)
        finally:
            self.close()

    def step(self, seconds: float = 1 / FRAMES_PER_SECOND) -> None:
        """One frame: events, update, draw, (record), overlays, flip."""
        started = time.perf_counter()
        for event in pygame.event.get():
            self.handle(event)
        self.ui.update(seconds)
        self.update(seconds)
        self.draw()
        if self.mode is not None:
            self.mode.draw(self.screen)
        self.recording.add_frame(self.screen)  # before toasts, help and the red dot: the clip stays clean
        self.draw_overlays()
        flip_started = time.perf_counter()
        pygame.display.flip()
        self.frame_times.starts.append(started)
        self.frame_times.work.append(flip_started - started)
        self.frame_times.flip.append(time.perf_counter() - flip_started)
        if self.options.run_for is not None and self.now() - self.started >= self.options.run_for:
            self.running = False

    def handle(self, event: pygame.event.Event) -> None:
        raise NotImplementedError

    def route_common_event(self, event: pygame.event.Event) -> bool | None:
        """What every window does with an event first: the close button asks as Q does, a
        resize lays the window out again, the widgets see it, an open question takes it.
        None if the event goes no further; else whether the widgets consumed it."""
        if event.type == pygame.QUIT:
            if self.confirm is None:
                self.command("quit")
            return None
        if event.type == pygame.VIDEORESIZE:
            self.resize(event.w, event.h)
            return None
        consumed = bool(self.ui.process_events(event))
        if self.confirm is not None:
            answer = self.confirm.process_event(event)
            if answer is not None:
                self.answer(answer)
            return None
        if event.type == pygame.KEYDOWN and not consumed and self.mode is not None and self.mode.handle_key(event.key):
            return None
        return consumed

    def update(self, seconds: float) -> None:
        raise NotImplementedError

    def draw(self) -> None:
        raise NotImplementedError

    def draw_overlays(self) -> None:
        raise NotImplementedError

    def relayout(self) -> None:
        raise NotImplementedError

    def update_basics(self) -> None:
        """Each frame: the mode's turn, fullscreen as the view says, old toasts gone, the
        session's errors and the recordings' outcomes said."""
        self._keep_to_the_wall_clock()
        if self.mode is not None:
            self.mode.update()
        if self.view.fullscreen != self._fullscreen_applied:
            try:
                self.set_fullscreen(self.view.fullscreen)
            except pygame.error as error:
                self.view.fullscreen = self._fullscreen_applied
                self.toast(f"Fullscreen is not available here ({error})", error=True)
        self.toasts.expire()
        if self.session.error:
            self.toast(self.session.error, error=True)
            self.session.error = None
        if self.recording.error:
            self.recording.stop()
        for outcome in self.recording.take_finished():
            self.commands.toast_recording(outcome)

    def _keep_to_the_wall_clock(self) -> None:
        """Without a display the frames' time runs as fast as frames draw; training at full
        pace runs in wall time. So at full pace no frame's time may run ahead of the wall
        clock (counted from when full pace began): a recording shows it at its real speed."""
        if not self.options.headless or self.view.pace != "full":
            self._full_pace_from = None
            return
        if self._full_pace_from is None:
            self._full_pace_from = (self.now(), time.monotonic())
        ahead = (self.now() - self._full_pace_from[0]) - (time.monotonic() - self._full_pace_from[1])
        if ahead > 0:
            time.sleep(ahead)

    def apply_pace(self) -> None:
        """Tell the session the view's pace."""
        self.session.set_lockstep(self.view.pace == "lockstep")
        self.session.set_pace(dict(PACES)[self.view.pace])

    # -- what commands may do ----------------------------------------------------------

    def command(self, name: str) -> None:
        """Carry out one control (a key press, a button click, a lesson's step)."""
        self.commands.run(name)

    def toast(self, text: str, error: bool = False) -> None:
        self.toasts.add(text, error)

    def end(self) -> None:
        """Stop after this frame (the loop closes the window)."""
        self.running = False

    def ask(self, title: str, message: str, answers: tuple[Answer, ...], then: Callable[[str], None]) -> None:
        """Open a question; ``then(answer)`` runs once it is answered (``"cancel"`` included)."""
        if self.confirm is not None:
            self.confirm.close()
        self.confirm = ConfirmDialog(self.ui, self.screen.get_rect(), title, message, answers, self.layout.scale)
        self._on_answer = then

    def answer(self, answer: str) -> None:
        """Close the open question and act on ``answer``."""
        on_answer = self._on_answer
        if self.confirm is not None:
            self.confirm.close()
        self.confirm, self._on_answer = None, None
        if on_answer is not None:
            on_answer(answer)

    def save_screenshot(self, path: Path) -> None:
        """The window as it is now, a PNG at ``path`` (its folder made if need be)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        pygame.image.save(self.screen, str(path))

    # -- the display -------------------------------------------------------------------

    def set_fullscreen(self, on: bool) -> None:
        """Fill the whole display at its own resolution, or go back to the window's size."""
        if on:
            self._windowed_size = self.screen.get_size()
            pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
        else:
            pygame.display.set_mode(self._windowed_size, pygame.RESIZABLE)
        self._fullscreen_applied = on
        self.screen = pygame.display.get_surface()
        self.relayout()

    def resize(self, width: int, height: int) -> None:
        """The window was resized: lay it out again, no smaller than the layout's minimum."""
        if width < MIN_WIDTH or height < MIN_HEIGHT:
            pygame.display.set_mode((max(width, MIN_WIDTH), max(height, MIN_HEIGHT)), pygame.RESIZABLE)
        self.screen = pygame.display.get_surface()
        self.relayout()

    def start_recording_to(self) -> None:
        """Record from the first frame to ``options.record_to`` (``--record FILE``), if set."""
        if self.options.record_to is None:
            return
        try:
            self.recording.start(self.screen.get_size(), self.options.record_to, every_frame=self.options.headless)
        except OSError as error:
            self.toast(f"Cannot record to {self.options.record_to}: {error.strerror or error}", error=True)

    def close_basics(self) -> None:
        """Save the --screenshot and finish a recording; before the session and the display close."""
        if self.options.screenshot is not None and pygame.display.get_init():
            path, self.options.screenshot = self.options.screenshot, None
            try:
                self.save_screenshot(path)
            except (OSError, pygame.error) as error:  # the rest of the shutdown must still happen
                print(f"vpg-sim: error: cannot save the screenshot to {path}: {error}", file=sys.stderr)
                self.exit_status = 2
        self.recording.close()
