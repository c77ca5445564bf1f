"""A training session that lives in a child process (and, beside it, a renderer of the window's).

Why a process: in one process the trainer and matplotlib hold the GIL that the render
loop needs, so frames wait for them (measured at 1920x1080: 50 FPS, p99 frame interval
37 ms, training at 0.43 of headless). In a child process they run on the other core and
the window keeps its own interpreter.

The child runs an ordinary :class:`~vpg_sim.training.session.TrainingSession` (its
thread, its pacing, its knobs) and, if the window gives one, a :class:`Renderer` (the
window's return curve: matplotlib holds the GIL for ~12 ms a render), and relays:
commands come in on one queue; every update's stats, snapshot and new episode returns,
and every rendered image, go out on another. :class:`ProcessSession` is the window's
side: the same public methods as a ``TrainingSession``, answered from what the child
has sent.
"""

from __future__ import annotations

import collections
import contextlib
import multiprocessing
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np
import torch

from vpg_sim.core.checkpoint import Checkpoint
from vpg_sim.core.config import ConfigChange, VPGConfig, with_live_changes
from vpg_sim.core.envs import env_spec
from vpg_sim.core.trainer import UpdateStats
from vpg_sim.training.noise_monitor import NoiseWatch, NoiseWatching
from vpg_sim.training.session import STATS_KEPT, ReturnHistory, TrainingSession
from vpg_sim.training.timeline import Timeline

READY_SECONDS = 120.0
"""How long the window waits for the child to import torch and build its trainer."""
CHILD_NICENESS = 5
RELAY_SECONDS = 0.02
"""The child's loop: how long it waits for a command before relaying what is new. Each
wake-up takes the GIL from the trainer: at 0.01 s the child trained 6% slower than at 0.05."""


class WorkerError(RuntimeError):
    """The training process could not start; the message is one line."""


class Renderer(Protocol):
    """Work the window hands to the training process beside the trainer (the return
    curve's matplotlib renderer): requests in, images out, in a thread of the child."""

    def request(self, request: Any) -> None: ...

    def take_image(self) -> Any | None: ...

    def stop(self) -> None: ...


RendererFactory = Callable[[], Renderer]
"""Builds the child's renderer; picklable (a class, or a ``functools.partial`` of one)."""


# -- tensors cross the process boundary as numpy arrays -------------------------------------
# (torch's own pickling shares memory through a file descriptor per tensor: dozens per update.)


def _to_numpy(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return ("tensor", value.detach().numpy().copy())
    if isinstance(value, dict):
        return {key: _to_numpy(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_to_numpy(item) for item in value)
    return value


def _to_torch(value: Any) -> Any:
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "tensor" and isinstance(value[1], np.ndarray):
        return torch.from_numpy(value[1])
    if isinstance(value, dict):
        return {key: _to_torch(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_to_torch(item) for item in value)
    return value


def _packed(checkpoint: Checkpoint) -> Checkpoint:
    fields = ("policy_state", "value_state", "policy_optimizer_state", "value_optimizer_state")
    return replace(checkpoint, **{name: _to_numpy(getattr(checkpoint, name)) for name in fields})


def _unpacked(checkpoint: Checkpoint) -> Checkpoint:
    fields = ("policy_state", "value_state", "policy_optimizer_state", "value_optimizer_state")
    return replace(checkpoint, **{name: _to_torch(getattr(checkpoint, name)) for name in fields})


# -- the child ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Start:
    """What the child trains: a config, or a checkpoint to train on from."""

    config: VPGConfig | None
    checkpoint: Checkpoint | None
    renderer: RendererFactory | None
    torch_threads: int


def _child(start: _Start, commands: Any, results: Any) -> None:
    """The child process's main: build, say ready (or why not), then relay until stopped."""
    torch.set_num_threads(start.torch_threads)
    with contextlib.suppress(OSError, AttributeError):
        # Below the window and the X server: they need a few milliseconds on time each
        # frame, the trainer all the rest. Equal, a busy core woke the window ~3 ms late.
        os.nice(CHILD_NICENESS)
    from vpg_sim.core.trainer import VPGTrainer

    try:
        if start.checkpoint is not None:
            trainer = VPGTrainer.from_checkpoint(_unpacked(start.checkpoint))
        else:
            assert start.config is not None
            trainer = VPGTrainer(start.config)
    except Exception as error:  # a bad file or env: the window says why, in one line
        text = str(error).splitlines()[0] if str(error) else ""
        # An invalid config or env explains itself; anything else is named by its type.
        results.put(("failed", text if isinstance(error, ValueError) and text else f"{type(error).__name__}: {text}"))
        results.close()
        results.join_thread()  # the window is waiting for exactly this: flush it before exiting
        return
    session = TrainingSession(trainer)
    renderer = start.renderer() if start.renderer is not None else None
    results.put(
        ("ready", _packed(session.latest_snapshot()), session.env_id, session.reward_threshold, session.first_episode)
    )
    session.start(paused=True)  # the window resumes it once it has set the pace
    window_pid = os.getppid()
    last_update, returns_sent, updating = session.latest_snapshot().update, 0, False
    try:
        while True:
            try:
                command, arguments = commands.get(timeout=RELAY_SECONDS)
            except queue.Empty:
                command, arguments = None, ()
            if command == "stop" or os.getppid() != window_pid:
                break  # asked to, or the window was killed: an orphan would train on for ever
            if command == "render":
                if renderer is not None:
                    renderer.request(*arguments)
            elif command == "request_changes":
                with contextlib.suppress(ValueError):  # validated by the window already
                    session.request_changes(**arguments[0])
            elif command is not None:
                getattr(session, command)(*arguments)
            newest = session.latest_stats()
            new_stats = session.stats_since(last_update) if newest and newest.update > last_update else []
            for stats in new_stats:
                results.put(("stats", stats, session.solved))
                # Every snapshot the session keeps is sent, so the window's timeline keeps
                # the same ones (~100 KB each: weights, Adam's moments, the collection's state).
                snapshot = session.snapshot_near(stats.update)
                if snapshot.update == stats.update:
                    results.put(("snapshot", _packed(snapshot)))
            if new_stats:
                last_update = new_stats[-1].update
                latest = session.latest_snapshot()
                if latest.update == last_update and session.snapshot_near(last_update).update != last_update:
                    results.put(("snapshot", _packed(latest)))
                new_returns = session.episode_returns(returns_sent)
                returns_sent += len(new_returns)
                results.put(("returns", new_returns))
            if session.updating != updating:
                updating = session.updating
                results.put(("updating", updating))
            image = renderer.take_image() if renderer is not None else None
            if image is not None:
                results.put(("image", image))
            if session.error:
                results.put(("error", session.error))
                session.error = None
    finally:
        session.close(timeout=2.0)
        if renderer is not None:
            renderer.stop()
        results.put(("stopped",))
        results.cancel_join_thread()  # never hang at exit on items the window no longer reads


# -- the window's side ---------------------------------------------------------------------


class ProcessSession(NoiseWatching):
    """A training session in a child process, with the methods of a ``TrainingSession``
    (see there for what each does), and the child's renderer behind :meth:`render` and
    :meth:`take_image`.

    The constructor starts the child and waits until it is ready; :class:`WorkerError`
    (one line) if it cannot build its trainer.
    """

    def __init__(
        self,
        config: VPGConfig | None = None,
        checkpoint: Checkpoint | None = None,
        torch_threads: int = 1,
        renderer: RendererFactory | None = None,
    ) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process that holds a window
        self._commands = context.Queue()
        self._results = context.Queue()
        self._start = _Start(config, _packed(checkpoint) if checkpoint is not None else None, renderer, torch_threads)
        self._process: Any = None
        self._context = context
        self._lock = threading.Lock()
        self._history: collections.deque[UpdateStats] = collections.deque(maxlen=STATS_KEPT)
        self._returns = ReturnHistory()
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
        self._launch()

    def _launch(self) -> None:
        self._process = self._context.Process(
            target=_child, args=(self._start, self._commands, self._results), name="vpg-trainer", daemon=True
        )
        self._process.start()
        try:
            message = self._results.get(timeout=READY_SECONDS)
        except queue.Empty:
            self._process.terminate()
            raise WorkerError("the training process did not start in time") from None
        if message[0] == "failed":
            self._process.join(timeout=5.0)
            raise WorkerError(message[1])
        _, snapshot, self.env_id, self.reward_threshold, self.first_episode = message
        self._snapshot = _unpacked(snapshot)
        self._first_update = self._snapshot.update
        self._timeline.add(self._snapshot)
        self._receiver = threading.Thread(target=self._receive, name="trainer-results", daemon=True)
        self._receiver.start()

    def _receive(self) -> None:
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
                break
            with self._lock:
                if kind == "stats":
                    self._history.append(message[1])
                    self._solved = message[2]
                elif kind == "snapshot":
                    snapshot = _unpacked(message[1])
                    if snapshot.update > self._snapshot.update:
                        self._snapshot = snapshot
                        self._timeline.add(snapshot)
                        self._noise.offer(snapshot)
                    if all(getattr(snapshot.config, name) == value for name, value in self._pending.items()):
                        self._pending = {}  # the child has applied them
                elif kind == "returns":
                    self._returns.extend(list(message[1]))
                elif kind == "updating":
                    self._updating = message[1]
                elif kind == "image":
                    self._image = message[1]
                elif kind == "error":
                    self.error = message[1]
        self._stopped.set()

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
"""Either runs the same training; the window uses only their common public methods."""


def start_session(config: VPGConfig, in_process: bool = True, renderer: RendererFactory | None = None) -> Session:
    """A session training ``config``: in a process of its own (the window's default), or in
    a thread of this one (tests: a process costs seconds of start-up). WorkerError (one
    line) if the process cannot build its trainer."""
    if in_process:
        env_spec(config.env_id)  # an unknown env: said at once, not after a process has started
        return ProcessSession(config=config, torch_threads=config.torch_threads, renderer=renderer)
    return TrainingSession.from_config(config)
