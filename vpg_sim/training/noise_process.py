"""Gradient-noise measurements in a process of their own, so they never hold the trainer's GIL.

A measurement is mostly Python (K batches of env steps, one backward per batch). In a
thread beside the trainer it took the GIL often enough to cut training to 0.56 of
headless with the panel open (benchmarks/ui.py --noise-panel), though a core was
free. :class:`NoiseProcess` is a :data:`~vpg_sim.training.noise_monitor.Measure` that
sends the checkpoint's weights to a child process (spawned once) and waits on a pipe,
which holds no lock. The window starts it, and it runs at the trainer's priority, below
the window's (at the window's own, frames came up to 3 ms late).
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from vpg_sim.core.checkpoint import Checkpoint
from vpg_sim.core.gradient_noise import GradientNoise, checkpoint_gradient_noise
from vpg_sim.core.trainer import TrainingInterrupted

NICENESS = 5
"""Below the caller (the window), as the trainer's process is: the window's frames first."""
POLL_SECONDS = 0.05
"""How often a wait for the child's answer looks at ``should_stop``."""


def _serve(connection: Connection) -> None:
    """The child: measure each checkpoint sent, answer ("ok", noise) or ("error", line)."""
    import torch

    torch.set_num_threads(1)
    with contextlib.suppress(OSError):  # not allowed here: measure at the caller's priority
        os.nice(NICENESS)
    while True:
        try:
            job = connection.recv()
        except EOFError:  # the parent has gone
            return
        if job is None:
            return
        checkpoint, batches, seed = job
        try:
            connection.send(("ok", checkpoint_gradient_noise(checkpoint, batches, seed)))
        except Exception as error:  # said by the parent's monitor, in one line
            lines = str(error).splitlines()
            connection.send(("error", f"{type(error).__name__}: {lines[0] if lines else ''}"))


def _weights_only(checkpoint: Checkpoint) -> Checkpoint:
    """The checkpoint without what a measurement does not read (optimiser and resume
    state, the last batch), so the pipe carries the nets and little else."""
    return dataclasses.replace(
        checkpoint,
        policy_optimizer_state=None,
        value_optimizer_state=None,
        resume=None,
        last_advantages=np.zeros(0, dtype=np.float32),
        last_step=None,
    )


class NoiseProcess:
    """``measure(checkpoint, batches, seed, should_stop)`` run in a child process.

    The child starts at the first call and serves every later one; a stop asked for
    mid-measurement ends it (the next call starts another). :meth:`close` ends it.
    """

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._process: Any = None
        self._connection: Connection | None = None

    def __call__(
        self, checkpoint: Checkpoint, batches: int, seed: int, should_stop: Callable[[], bool]
    ) -> GradientNoise:
        connection = self._start()
        connection.send((_weights_only(checkpoint), batches, seed))
        while True:  # should_stop first: a stop asked for is kept even if the answer is in
            if should_stop():
                self.close(wait=0.0)
                raise TrainingInterrupted("gradient-noise measurement stopped")
            if connection.poll(POLL_SECONDS):
                break
            if not self._process.is_alive():
                self._forget()
                raise RuntimeError("the measuring process ended without an answer")
        try:
            status, answer = connection.recv()
        except (EOFError, OSError):  # it died mid-answer (a reset pipe is an OSError)
            self._forget()
            raise RuntimeError("the measuring process ended without an answer") from None
        if status == "error":
            raise RuntimeError(answer)
        return answer

    @property
    def running(self) -> bool:
        """Whether the child process is alive."""
        return self._process is not None and self._process.is_alive()

    def close(self, wait: float = 1.0) -> None:
        """End the child: asked to, then within ``wait`` seconds terminated."""
        process, connection = self._process, self._connection
        if process is None or connection is None:
            return
        with contextlib.suppress(OSError):  # the child has gone already
            connection.send(None)
        process.join(wait)
        if process.is_alive():
            process.terminate()
            process.join(1.0)
        self._forget()

    def _start(self) -> Connection:
        if self.running and self._connection is not None:
            return self._connection
        self._forget()
        parent_end, child_end = self._context.Pipe()
        process = self._context.Process(target=_serve, args=(child_end,), name="vpg-sim gradient noise", daemon=True)
        process.start()
        child_end.close()
        self._process, self._connection = process, parent_end
        return parent_end

    def _forget(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._process = self._connection = None
