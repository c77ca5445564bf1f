"""A student's functions, imported and run in a process of their own.

Why a process: a function that hangs (a ``while`` that never ends, a ``sleep``) must be
said and not waited on, and a thread cannot be stopped; a process can be killed. The
child (``student_child.py``) imports the student's module (never the trainer's process:
a policy or config file can name no code, and the command line's names are imported
there only) and answers each call over a pipe; :meth:`StudentProcess.call` waits for the
answer at most ``timeout`` seconds, then kills the child and raises
:class:`~vpg_sim.core.student.StudentCodeError`. The next call starts a fresh child, which
imports the module again: a student who fixes the file while training is paused goes on
with the fixed code.

The child is started with ``subprocess``, not ``multiprocessing``: the window's trainer
runs in a daemonic process, which ``multiprocessing`` forbids to have children. Its
stdout and stderr are the caller's, so a student's ``print`` shows in the terminal.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from vpg_sim.core.config import VPGConfig
from vpg_sim.core.student import Call, StudentCode, StudentCodeError, StudentTimeout
from vpg_sim.core.student_step import StudentStep
from vpg_sim.core.trainer import VPGTrainer

DEFAULT_TIMEOUT = 5.0
"""Seconds one update's calls may take. A plain Python loop over a 1,024-step batch takes
about a millisecond; a whole-episode batch of solved CartPole (16 x 500 steps) with a
quadratic loop about a second."""
IMPORT_TIMEOUT = 60.0
"""Seconds the child may take to start and import the student's module (torch, for a
loss, takes a few seconds on a busy laptop)."""


class StudentProcess:
    """Runs a student's functions (``code``) in a child process; a
    :data:`~vpg_sim.core.student.Caller`. For one thread at a time (:meth:`stop` may come
    from any).

    :param timeout: seconds one :meth:`call` may take before the child is killed.
    :param import_timeout: seconds the child may take to start and import the module.
    """

    def __init__(
        self, code: StudentCode, timeout: float = DEFAULT_TIMEOUT, import_timeout: float = IMPORT_TIMEOUT
    ) -> None:
        self.code = code
        self.timeout = timeout
        self.import_timeout = import_timeout
        self.starts = 0
        """Children started so far (each one imports the module afresh)."""
        self._specs = dict(code.functions)
        self._child: subprocess.Popen[bytes] | None = None
        self._to_child: Connection | None = None
        self._from_child: Connection | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the child and import the functions (if not running); StudentCodeError (one
        line) if the module cannot be imported, lacks the function or takes too long."""
        if self.running:
            return
        self.stop()
        child_reads, parent_writes = os.pipe()
        parent_reads, child_writes = os.pipe()
        environment = dict(os.environ)
        # The child finds vpg_sim and the student's module where this process does (a
        # checkout's vpg_sim is on sys.path only because Python runs in its folder).
        path = [os.getcwd(), *[entry for entry in sys.path if entry]]
        environment["PYTHONPATH"] = os.pathsep.join(path)
        environment.setdefault("OMP_NUM_THREADS", "1")
        try:
            child = subprocess.Popen(
                [sys.executable, "-m", "vpg_sim.training.student_child", str(child_reads), str(child_writes)],
                pass_fds=(child_reads, child_writes),
                env=environment,
                stdin=subprocess.DEVNULL,
            )
        except OSError as error:
            for descriptor in (child_reads, parent_writes, parent_reads, child_writes):
                os.close(descriptor)
            raise StudentCodeError(f"cannot start a process for {self.code.label()} ({error})") from None
        os.close(child_reads)
        os.close(child_writes)
        with self._lock:
            self._child = child
            self._to_child = Connection(parent_writes, readable=False)
            self._from_child = Connection(parent_reads, writable=False)
        self.starts += 1
        self._to_child.send(self.code.functions)
        answer = self._answer(self.import_timeout, f"took longer than {self.import_timeout:g} s to import")
        if answer[0] != "ready":
            self.stop()
            raise StudentCodeError(answer[1])

    def call(self, slot: str, calls: Sequence[Call]) -> list[Any]:
        """Run ``slot``'s function on ``calls`` in the child (started if need be) and return
        the checked results (``vpg_sim.core.student.run_slot``); StudentCodeError (one line,
        naming the function) if it fails or takes longer than ``timeout`` seconds."""
        self.start()
        assert self._to_child is not None
        spec = self._specs[slot]
        steps = sum(len(arguments[0]) for _, arguments in calls)
        try:
            self._to_child.send((slot, list(calls)))
        except OSError:
            self.stop()
            raise StudentCodeError(f"{spec}: its process has gone") from None
        calls_said = "1 call" if len(calls) == 1 else f"{len(calls)} calls"
        limit = f"took longer than {self.timeout:g} s on {steps:,} steps ({calls_said}); stopped it"
        answer = self._answer(self.timeout, limit, spec)
        if answer[0] != "ok":
            self.stop()  # the next call imports the module afresh
            raise StudentCodeError(f"{spec} {answer[1]}")
        return answer[1]

    def _answer(self, seconds: float, too_long: str, spec: str | None = None) -> tuple[Any, ...]:
        """The child's next message, or StudentCodeError after killing it when it takes
        longer than ``seconds`` or dies."""
        name = spec or self.code.label()
        connection = self._from_child
        try:
            if connection is None or not connection.poll(seconds):
                self.stop()
                raise StudentTimeout(f"{name} {too_long}")
            return connection.recv()
        except (EOFError, OSError):
            code = self.stop()
            raise StudentCodeError(f"{name}: its process ended (exit code {code})") from None

    @property
    def running(self) -> bool:
        return self._child is not None and self._child.poll() is None

    def stop(self) -> int | None:
        """Kill the child, if any; returns its exit code."""
        with self._lock:
            child, self._child = self._child, None
            connections = (self._to_child, self._from_child)
            self._to_child = self._from_child = None
        for connection in connections:
            if connection is not None:
                with contextlib.suppress(OSError):
                    connection.close()
        if child is None:
            return None
        with contextlib.suppress(OSError):
            child.kill()
        return child.wait()

    def close(self) -> None:
        self.stop()


def with_student_code(trainer: VPGTrainer, process: StudentProcess) -> VPGTrainer:
    """``trainer`` with the student's functions of ``process`` in their slots."""
    trainer.student = StudentStep(process.code.slots, process.call)
    label = process.code.label()
    if label not in trainer.student_code.split("; "):  # a run resumed from a file keeps the file's label
        trainer.student_code = "; ".join(filter(None, (trainer.student_code, label)))
    return trainer


def with_reference_code(trainer: VPGTrainer, code: StudentCode) -> VPGTrainer:
    """``trainer`` with vpg-sim's own code in the slots of ``code``: the reference run of a
    student's, the same path through the update."""
    trainer.student = StudentStep(code.slots, None)
    return trainer


def trainer_with_student_code(
    config: VPGConfig, code: StudentCode | None, timeout: float = DEFAULT_TIMEOUT
) -> tuple[VPGTrainer, StudentProcess | None]:
    """A trainer of ``config`` with the student's functions ``code`` (if any) in their slots,
    and their process, started: StudentCodeError (one line) if their module cannot be
    imported, before anything is trained."""
    trainer = VPGTrainer(config)
    if code is None:
        return trainer, None
    process = StudentProcess(code, timeout)
    try:
        process.start()
    except BaseException:
        trainer.close()
        raise
    return with_student_code(trainer, process), process
