"""A worker of ``ParallelRun`` in a child process: started, sent its share, read and closed.

Every child is spawned (a fork would copy the parent's threads and window) with nothing
but its pipe; it imports torch and the trainer (~2 s), then waits for its share: the
populations it trains (``parallel.py`` sends them, and ``populations_worker.serve_worker`` runs
them). So a child can be started before its share is known: a command that will train in
workers starts them first (:class:`StartedWorkers`), and their imports overlap the
parent's own (it imports the same to check the command line). Spawned only once the run
was built, a child began them ~2 s into the command, and a run of two workers ended that
much later than it could: the compare lesson's child trained its first round 1.8 s after
the parent, and 0.1 s after it when started first.

Nothing heavy is imported here: this module is imported before torch.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any


class WorkerError(RuntimeError):
    """A worker failed (its message is one line: the error's type and first line)."""


@dataclass(frozen=True)
class StartedWorker:
    """A worker process waiting for its share, and the parent's end of its pipe."""

    process: BaseProcess
    connection: Connection


def _import_then_serve(connection: Connection) -> None:
    """A worker process: import the trainer at once, then serve the share that comes.
    (Ctrl-C is the parent's to handle, which closes us: SIGINT is ignored from the start.)"""
    from vpg_sim.training import populations_worker  # torch and the trainer, while the parent imports them too

    try:
        share = connection.recv()
    except EOFError:  # the parent has gone
        return
    if share is not None:
        populations_worker.serve_worker(connection, *share)


def start_worker() -> StartedWorker:
    """One worker process, spawned now, waiting for its share."""
    context = multiprocessing.get_context("spawn")
    connection, child = context.Pipe()
    process = context.Process(target=_import_then_serve, args=(child,), daemon=True, name="vpg-worker")
    # A signal ignored at exec stays ignored, and Python then installs no Ctrl-C handler:
    # the child ignores Ctrl-C from its first import on (set later, a Ctrl-C in its first
    # ~0.2 s printed a traceback of its start-up).
    in_main_thread = threading.current_thread() is threading.main_thread()
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main_thread else None
    try:
        process.start()
    finally:
        if in_main_thread:
            signal.signal(signal.SIGINT, handler)
    child.close()
    return StartedWorker(process, connection)


class StartedWorkers:
    """``count`` worker processes, started now, each taken by a run (at most once)."""

    def __init__(self, count: int) -> None:
        self._waiting: list[StartedWorker] = []
        try:
            for _ in range(count):
                self._waiting.append(start_worker())
        except BaseException:
            self.close()
            raise

    def take(self) -> StartedWorker | None:
        """A waiting worker, now the taker's to send its share and close; None if none is left."""
        return self._waiting.pop(0) if self._waiting else None

    def close(self) -> None:
        """End the workers no run took (at once: they hold nothing but their imports)."""
        for worker in self._waiting:
            worker.process.terminate()
            worker.process.join(timeout=5)
            worker.connection.close()
        self._waiting = []


class WorkerProcess:
    """A worker in a child process: ``started`` before (or started now), sent ``share``
    (``populations_worker.serve_worker``'s arguments after the pipe), then read round by round."""

    def __init__(self, share: tuple[Any, ...], started: StartedWorker | None = None) -> None:
        started = started or start_worker()
        self.process, self.connection = started.process, started.connection
        try:
            # A worker that has died (its imports failed) is read, as one line, at the first receive.
            with contextlib.suppress(OSError):
                self.connection.send(share)
        except BaseException:  # Ctrl-C in a send that waits for the child: end it, no one else will
            self.process.terminate()
            self.close()
            raise

    def receive(self) -> tuple[int, list[Any]]:
        """The next round's number and reports (blocks); WorkerError if the worker failed."""
        try:
            kind, payload = self.connection.recv()
        except EOFError:
            raise WorkerError(f"a worker process ended (exit code {self.process.exitcode})") from None
        if kind == "error":
            raise WorkerError(payload)
        return payload

    def send(self, kind: str, payload: Any) -> None:
        # A worker that has just ended cannot be told anything: its end (an error it sent,
        # or its exit) is read, as one line, at the next receive.
        with contextlib.suppress(OSError):
            self.connection.send((kind, payload))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.send(None)
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)
        self.connection.close()
