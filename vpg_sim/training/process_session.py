"""A training session that lives in a child process (and, beside it, a renderer of the window's).

Why a process: in one process the trainer and matplotlib hold the GIL that the render
loop needs, so frames wait for them (measured at 1920x1080: 50 FPS, p99 frame interval
37 ms, training at 0.43 of headless). In a child process they run on the other core and
the window keeps its own interpreter.

The child (``process_child.py``) runs an ordinary
:class:`~vpg_sim.training.session.TrainingSession` and, if the window gives one, a
:class:`~vpg_sim.training.process_child.Renderer` (the window's return curve: matplotlib
holds the GIL for ~12 ms a render), and relays what they produce. :class:`ProcessSession`
is the window's side: the same public methods as a ``TrainingSession``, answered from
what the child has sent; it notices at once when the child ends unasked.
"""

from __future__ import annotations

import collections
import multiprocessing
import queue
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from vpg_sim.core.checkpoint import Checkpoint
from vpg_sim.core.config import ConfigChange, VPGConfig, with_live_changes
from vpg_sim.core.envs import env_spec
from vpg_sim.core.student import StudentCode
from vpg_sim.core.trainer import UpdateStats, VPGTrainer
from vpg_sim.training.noise_monitor import NoiseWatch, NoiseWatching
from vpg_sim.training.process_child import ChildStart, Renderer, RendererFactory, child_main, packed, unpacked
from vpg_sim.training.session import STATS_KEPT, ReturnHistory, TrainingSession
from vpg_sim.training.student_code import DEFAULT_TIMEOUT
from vpg_sim.training.student_session import StudentSession
from vpg_sim.training.timeline import Timeline

READY_SECONDS = 120.0
"""How long the window waits for the child to import torch and build its trainer."""


class WorkerError(RuntimeError):
    """The training process could not start; the message is one line."""


class WorkerDied(WorkerError):
    """The training process ended (or hung) before it was ready: nothing to do with what it was given."""


class StartCancelled(Exception):
    """The person (or the window) gave up waiting for the training process to start."""


READY_POLL_SECONDS = 0.05
"""While the child starts, the waiting side looks at its queue, its life and the window
this often: a child that dies is noticed at once, and the window's Q keeps working."""


def exit_reason(exitcode: int | None) -> str:
    """How a process ended, in words: ``killed by signal 9 (SIGKILL)``, ``exit code 3``."""
    if exitcode is None:
        return "still running"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            return f"killed by signal {-exitcode}"
        return f"killed by signal {-exitcode} ({name})"
    return f"exit code {exitcode}"


# -- the window's side ---------------------------------------------------------------------


class ProcessSession(NoiseWatching):
    """A training session in a child process, with the methods of a ``TrainingSession``
    (see there for what each does), and the child's renderer behind :meth:`render` and
    :meth:`take_image`.

    The constructor starts the child and waits until it is ready; :class:`WorkerError`
    (one line) if it cannot build its trainer or ends before it is ready. ``while_waiting``
    is called every :data:`READY_POLL_SECONDS` meanwhile (the window reads its events
    there); it may raise :class:`StartCancelled` to give up, which ends the child.

    A child that ends unasked later (killed, out of memory) is noticed within half a
    second: :attr:`ended` says why in one line, and so does :attr:`error` once.
    """

    def __init__(
        self,
        config: VPGConfig | None = None,
        checkpoint: Checkpoint | None = None,
        torch_threads: int = 1,
        renderer: RendererFactory | None = None,
        while_waiting: Callable[[], None] | None = None,
        student: StudentCode | None = None,
        student_timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process that holds a window
        self._commands = context.Queue()
        self._results = context.Queue()
        self._checkpoint = packed(checkpoint) if checkpoint is not None else None
        self._start = ChildStart(config, checkpoint is not None, renderer, torch_threads, student, student_timeout)
        self._process: Any = None
        self._context = context
        self._lock = threading.Lock()
        self._history: collections.deque[UpdateStats] = collections.deque(maxlen=STATS_KEPT)
        self._returns = ReturnHistory()
        self._reference_returns = ReturnHistory()
        self._timeline: Timeline[Checkpoint] = Timeline()
        self._pending: dict[str, object] = {}
        self._paused = True  # until start(): the child waits for the window's pace
        self._lockstep = False
        self._updating = False
        self._solved = False
        self._stopped = threading.Event()
        self._image: Any | None = None
        # Measured from this side: the trainer's process is daemonic and may not start the
        # measuring process, and the monitor's thread here only waits on its pipe.
        self._noise = NoiseWatch()
        self.error: str | None = None
        self._ended: str | None = None
        self._closing = False
        self._launch(while_waiting)

    def _launch(self, while_waiting: Callable[[], None] | None) -> None:
        self._process = self._context.Process(
            target=child_main, args=(self._start, self._commands, self._results), name="vpg-trainer", daemon=True
        )
        self._process.start()
        if self._checkpoint is not None:  # through the queue's own thread: this one never waits on it
            self._send("checkpoint", self._checkpoint)
        try:
            message = self._wait_until_ready(while_waiting)
        except BaseException:
            self._process.terminate()
            self._process.join(2.0)
            # A checkpoint the child never read stays in the queue's pipe: at exit, Python
            # would wait for the queue's thread to write it, for ever.
            self._commands.cancel_join_thread()
            raise
        if message[0] == "failed":
            self._process.join(timeout=5.0)
            self._commands.cancel_join_thread()
            raise WorkerError(message[1])
        _, snapshot, self.env_id, self.reward_threshold, self.first_episode, self.student_label = message
        self._snapshot = unpacked(snapshot)
        self._first_update = self._snapshot.update
        self._timeline.add(self._snapshot)
        self._receiver = threading.Thread(target=self._receive, name="trainer-results", daemon=True)
        self._receiver.start()

    def _wait_until_ready(self, while_waiting: Callable[[], None] | None) -> tuple:
        """The child's first message ("ready" or "failed"); WorkerError if it ends first or
        takes longer than :data:`READY_SECONDS`."""
        deadline = time.monotonic() + READY_SECONDS
        while True:
            try:
                return self._results.get(timeout=READY_POLL_SECONDS)
            except queue.Empty:
                pass
            if not self._process.is_alive():
                try:  # its last words may still be in the pipe
                    return self._results.get(timeout=0.5)
                except queue.Empty:
                    reason = exit_reason(self._process.exitcode)
                    raise WorkerDied(f"the training process ended before it was ready ({reason})") from None
            if time.monotonic() > deadline:
                raise WorkerDied(f"the training process did not start in {READY_SECONDS:.0f} s")
            if while_waiting is not None:
                while_waiting()

    def _receive(self) -> None:
        said_stopped = False
        while True:
            try:
                message = self._results.get(timeout=0.5)
            except queue.Empty:
                if not self._process.is_alive():
                    break
                continue
            except (EOFError, OSError):
                break
            kind = message[0]
            if kind == "stopped":
                said_stopped = True
                break
            with self._lock:
                if kind == "stats":
                    self._history.append(message[1])
                    self._solved = message[2]
                elif kind == "snapshot":
                    snapshot = unpacked(message[1])
                    if snapshot.update > self._snapshot.update:
                        self._snapshot = snapshot
                        self._timeline.add(snapshot)
                        self._noise.offer(snapshot)
                    if all(getattr(snapshot.config, name) == value for name, value in self._pending.items()):
                        self._pending = {}  # the child has applied them
                elif kind == "returns":
                    self._returns.extend(list(message[1]))
                elif kind == "reference_returns":
                    self._reference_returns.extend(list(message[1]))
                elif kind == "paused":
                    self._paused = message[1]
                elif kind == "updating":
                    self._updating = message[1]
                elif kind == "image":
                    self._image = message[1]
                elif kind == "error":
                    self.error = message[1]
                elif kind == "ended":
                    self._ended = self.error = message[1]
                elif kind == "refused":
                    _, changes, reason = message
                    for name in changes:
                        self._pending.pop(name, None)
                    self.error = f"Not applied: {reason}"
        if not said_stopped and not self._closing:
            self._process.join(1.0)
            self._say_ended()
        self._stopped.set()

    @property
    def ended(self) -> str | None:
        """Why training stopped without being asked to (one line), or None. Read from the
        child's exit too, not only from the receiving thread: a child killed in the middle
        of a message leaves that thread waiting for the message's rest."""
        if self._ended is None and not self._closing and self._process is not None and not self._process.is_alive():
            self._say_ended()
        return self._ended

    def _say_ended(self) -> None:
        with self._lock:
            if self._ended is None:
                self._ended = f"Training stopped: the training process ended ({exit_reason(self._process.exitcode)})"
                self.error = self._ended
                self._updating = False

    def _send(self, command: str, *arguments: object) -> None:
        self._commands.put((command, arguments))

    # -- commands -------------------------------------------------------------------

    def start(self, paused: bool = False) -> None:
        """Let the child train (it waited, paused, for the pace the window sets first)."""
        if not paused:
            self.resume()

    def pause(self) -> None:
        self._paused = True
        self._send("pause")

    def resume(self) -> None:
        self._paused = False
        self._send("resume")

    def step(self) -> None:
        self._send("step")

    def set_pace(self, updates_per_second: float | None) -> None:
        if updates_per_second is not None and not 0 < updates_per_second < float("inf"):
            raise ValueError("updates_per_second must be positive and finite, or None")
        self._send("set_pace", updates_per_second)

    def set_lockstep(self, enabled: bool) -> None:
        self._lockstep = enabled
        self._send("set_lockstep", enabled)

    def grant_update(self) -> None:
        self._send("grant_update")

    def request_changes(self, **changes: object) -> VPGConfig:
        with self._lock:
            pending = {**self._pending, **changes}
            config = with_live_changes(self._snapshot.config, pending)  # ValueError: nothing sent
            self._pending = pending
        self._send("request_changes", changes)
        return config

    def stop(self, timeout: float = 1.0) -> bool:
        """Ask the child to stop and wait for it; True if it ended in time."""
        self._closing = True
        if self._process is None or not self._process.is_alive():
            return True
        self._send("stop")
        self._process.join(timeout)
        return not self._process.is_alive()

    def close(self, timeout: float = 1.0) -> bool:
        """Stop the child; one that does not stop in time is terminated (it holds nothing
        of the window's). True if it ended by itself."""
        self._noise.close(timeout)
        ended = self.stop(timeout)
        if not ended:
            self._process.terminate()
            self._process.join(2.0)
        self._commands.cancel_join_thread()
        return ended

    # -- reading ----------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def updating(self) -> bool:
        return self._updating

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.is_alive()

    @property
    def solved(self) -> bool:
        return self._solved

    def latest_snapshot(self) -> Checkpoint:
        with self._lock:
            return self._snapshot

    def stats_since(self, update: int) -> list[UpdateStats]:
        with self._lock:
            if not self._history or self._history[-1].update <= update:
                return []  # the usual answer, every frame: no need to look through 1,000
            return [stats for stats in self._history if stats.update > update]

    def config(self) -> VPGConfig:
        with self._lock:
            return with_live_changes(self._snapshot.config, self._pending)

    def config_changes(self) -> list[ConfigChange]:
        with self._lock:
            return [change for change in self._snapshot.config_changes if change.update > self._first_update]

    def timeline_updates(self) -> list[int]:
        with self._lock:
            return self._timeline.updates()

    def snapshot_near(self, update: int) -> Checkpoint:
        with self._lock:
            return self._timeline.nearest(update)

    def latest_stats(self) -> UpdateStats | None:
        with self._lock:
            return self._history[-1] if self._history else None

    def episode_count(self) -> int:
        with self._lock:
            return len(self._returns)

    def episode_returns(self, start: int = 0) -> np.ndarray:
        with self._lock:
            return self._returns.values(start)

    def reference_episode_returns(self, start: int = 0) -> np.ndarray:
        """With a student's code: the reference run's episode returns from ``start`` on."""
        with self._lock:
            return self._reference_returns.values(start)

    def _take_image(self) -> Any | None:
        with self._lock:
            image, self._image = self._image, None
            return image

    @property
    def renderer(self) -> Renderer:
        """The child's renderer, as a :class:`Renderer` on this side (requests without a
        renderer in the child are dropped)."""
        return _RendererChannel(self)


class _RendererChannel:
    """The window's side of the child's :class:`Renderer`."""

    def __init__(self, session: ProcessSession) -> None:
        self._session = session

    def request(self, request: Any) -> None:
        self._session._send("render", request)

    def take_image(self) -> Any | None:
        """The newest image the child's renderer sent since the last call, or None."""
        return self._session._take_image()

    def stop(self) -> None:
        """The child's renderer stops with the child."""


Session = TrainingSession | ProcessSession
"""Either runs the same training (a ``StudentSession`` is a ``TrainingSession``); the window
uses only their common public methods."""


def start_session(
    start: VPGConfig | Checkpoint,
    in_process: bool = True,
    renderer: RendererFactory | None = None,
    while_waiting: Callable[[], None] | None = None,
    student: StudentCode | None = None,
    student_timeout: float = DEFAULT_TIMEOUT,
) -> Session:
    """A session training ``start`` (a config: a new run; a checkpoint: on from it), with a
    student's functions beside a reference run if ``student`` is given: in a process of its
    own (the window's default), or in a thread of this one (tests: a process costs seconds
    of start-up). WorkerError (one line) if the process cannot build its trainer."""
    config = start.config if isinstance(start, Checkpoint) else start
    if in_process:
        env_spec(config.env_id)  # an unknown env: said at once, not after a process has started
        checkpoint = start if isinstance(start, Checkpoint) else None
        return ProcessSession(
            None if checkpoint else config, checkpoint, config.torch_threads, renderer, while_waiting, student,
            student_timeout,
        )
    if student is not None:
        return StudentSession.for_student(start, student, student_timeout)
    if isinstance(start, Checkpoint):
        return TrainingSession(VPGTrainer.from_checkpoint(start))
    return TrainingSession.from_config(start)


class SessionStart:
    """A session being started in a thread of its own, so that the window keeps drawing
    (a child process takes seconds to import torch). The window looks at :attr:`done`
    each frame; then :attr:`session` or :attr:`error` (one line) holds the outcome.

    :param make: builds the session; it is given a ``while_waiting`` callable to pass on
        to :class:`ProcessSession`, which raises :class:`StartCancelled` once
        :meth:`cancel` was called.
    """

    def __init__(self, make: Callable[[Callable[[], None]], Session], describe: str) -> None:
        self.describe = describe
        """What is being started, for the window to say ("the policy of update 55")."""
        self.session: Session | None = None
        self.error: str | None = None
        self._cancelled = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(make,), name="session-start", daemon=True)
        self._thread.start()

    def _check(self) -> None:
        if self._cancelled.is_set():
            raise StartCancelled

    def _run(self, make: Callable[[Callable[[], None]], Session]) -> None:
        try:
            self.session = make(self._check)
        except StartCancelled:
            pass
        except Exception as error:  # a bad file, env or process: one line for a toast
            text = str(error).splitlines()[0] if str(error) else type(error).__name__
            self.error = text
        finally:
            self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def cancel(self, timeout: float = 5.0) -> None:
        """Give up: the child is ended, and a session that started meanwhile is closed."""
        self._cancelled.set()
        self._thread.join(timeout)
        if self.session is not None:
            self.session.close(timeout=1.0)
            self.session = None
