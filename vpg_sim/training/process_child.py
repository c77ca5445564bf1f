"""The training process's own side: what it is started with, and its main loop.

The child builds a trainer (from a config or a checkpoint), runs it in an ordinary
:class:`~vpg_sim.training.session.TrainingSession` and, if the window gave one, a
:class:`Renderer`, and relays: commands come in on one queue; every update's stats,
snapshot and new episode returns, and every rendered image, go out on another. The
window's side is :class:`~vpg_sim.training.process_session.ProcessSession`.
"""

from __future__ import annotations

import contextlib
import os
import queue
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np
import torch

from vpg_sim.core.checkpoint import Checkpoint
from vpg_sim.core.config import VPGConfig
from vpg_sim.core.student import StudentCode
from vpg_sim.training.session import TrainingSession
from vpg_sim.training.student_code import DEFAULT_TIMEOUT
from vpg_sim.training.student_session import StudentSession

CHILD_NICENESS = 5
RELAY_SECONDS = 0.02
"""The child's loop: how long it waits for a command before relaying what is new. Each
wake-up takes the GIL from the trainer: at 0.01 s the child trained 6% slower than at 0.05."""


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


def packed(checkpoint: Checkpoint) -> Checkpoint:
    fields = ("policy_state", "value_state", "policy_optimizer_state", "value_optimizer_state")
    return replace(checkpoint, **{name: _to_numpy(getattr(checkpoint, name)) for name in fields})


def unpacked(checkpoint: Checkpoint) -> Checkpoint:
    fields = ("policy_state", "value_state", "policy_optimizer_state", "value_optimizer_state")
    return replace(checkpoint, **{name: _to_torch(getattr(checkpoint, name)) for name in fields})


# -- the child ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ChildStart:
    """What the child trains: a config, or (``from_checkpoint``) the checkpoint that comes
    as the first message on its commands queue. Only small things travel with the spawn:
    Python writes them down a pipe while ``Process.start`` waits, and a child killed at
    that moment left ~100 KB of checkpoint there and the start waiting for good."""

    config: VPGConfig | None
    from_checkpoint: bool
    renderer: RendererFactory | None
    torch_threads: int
    student: StudentCode | None = None
    """A student's functions to train with, beside a reference run (``StudentSession``)."""
    student_timeout: float = DEFAULT_TIMEOUT


def _session(start: ChildStart, commands: Any) -> TrainingSession:
    """The session the child runs: a student's beside the reference, or an ordinary one."""
    from vpg_sim.core.trainer import VPGTrainer

    begin: VPGConfig | Checkpoint
    if start.from_checkpoint:
        _, (checkpoint,) = commands.get()  # ("checkpoint", (packed,)): the window sends it right after the start
        begin = unpacked(checkpoint)
    else:
        assert start.config is not None
        begin = start.config
    if start.student is not None:
        return StudentSession.for_student(begin, start.student, start.student_timeout)
    return TrainingSession(VPGTrainer.from_checkpoint(begin) if isinstance(begin, Checkpoint) else VPGTrainer(begin))


def child_main(start: ChildStart, commands: Any, results: Any) -> None:
    """The child process's main: build, say ready (or why not), then relay until stopped."""
    torch.set_num_threads(start.torch_threads)
    with contextlib.suppress(OSError, AttributeError):
        # Below the window and the X server: they need a few milliseconds on time each
        # frame, the trainer all the rest. Equal, a busy core woke the window ~3 ms late.
        os.nice(CHILD_NICENESS)
    try:
        session = _session(start, commands)
    except Exception as error:  # a bad file, env or student's module: the window says why, in one line
        text = str(error).splitlines()[0] if str(error) else ""
        # An invalid config or env explains itself; anything else is named by its type.
        results.put(("failed", text if isinstance(error, ValueError) and text else f"{type(error).__name__}: {text}"))
        results.close()
        results.join_thread()  # the window is waiting for exactly this: flush it before exiting
        return
    renderer = start.renderer() if start.renderer is not None else None
    label = session.student_label if isinstance(session, StudentSession) else ""
    results.put(
        (
            "ready",
            packed(session.latest_snapshot()),
            session.env_id,
            session.reward_threshold,
            session.first_episode,
            label,
        )
    )
    session.start(paused=True)  # the window resumes it once it has set the pace
    window_pid = os.getppid()
    last_update, returns_sent, reference_sent, updating = session.latest_snapshot().update, 0, 0, False
    paused = True
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
                try:  # validated by the window already; refused here only against a change in between
                    session.request_changes(**arguments[0])
                except ValueError as error:
                    results.put(("refused", arguments[0], str(error).splitlines()[0]))
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
                    results.put(("snapshot", packed(snapshot)))
            if new_stats:
                last_update = new_stats[-1].update
                latest = session.latest_snapshot()
                if latest.update == last_update and session.snapshot_near(last_update).update != last_update:
                    results.put(("snapshot", packed(latest)))
                new_returns = session.episode_returns(returns_sent)
                returns_sent += len(new_returns)
                results.put(("returns", new_returns))
                if isinstance(session, StudentSession):
                    reference = session.reference_episode_returns(reference_sent)
                    reference_sent += len(reference)
                    results.put(("reference_returns", reference))
            if session.paused != paused:  # a student's function that failed pauses the run by itself
                paused = session.paused
                results.put(("paused", paused))
            if session.updating != updating:
                updating = session.updating
                results.put(("updating", updating))
            image = renderer.take_image() if renderer is not None else None
            if image is not None:
                results.put(("image", image))
            if session.error:
                results.put(("ended" if session.ended else "error", session.error))
                session.error = None
    finally:
        session.close(timeout=2.0)
        if renderer is not None:
            renderer.stop()
        results.put(("stopped",))
        results.cancel_join_thread()  # never hang at exit on items the window no longer reads
