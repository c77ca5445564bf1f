"""A student's run beside vpg-sim's own: the session the window trains a student's code in.

:class:`StudentSession` is a :class:`~vpg_sim.training.session.TrainingSession` whose trainer
runs the student's functions (``student_code.StudentProcess``) and which owns a second
trainer of the same config and seed, the reference, running vpg-sim's own code in the same
places (``core/student_step.py``). They train in the session's one thread, one update each
in turn: the student's, then the reference's. Same seed, so both start from the same
weights and the same envs; a right answer keeps the two runs together (within float
rounding), a wrong one pulls them apart, and the return curve shows by how much.

What the window reads besides a ``TrainingSession``'s:

- every snapshot's ``yours_vs_reference`` (``core/student_step.YoursVsReference``): on the
  student's batch of that update, where the student's numbers differ most from vpg-sim's
  and the cosine between the policy gradients the two give;
- :meth:`StudentSession.reference_episode_returns` (the faint curve) and
  :meth:`StudentSession.reference_latest_stats`;
- ``error``: when the student's function fails (raises, returns a wrong shape or NaN,
  takes longer than the time limit), one line; the session pauses there and the run is
  kept (no weight changed in the failed update). The student fixes the file; resuming (or
  one step) imports it afresh. Neither trainer made the failed update: still one each.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

import numpy as np

from vpg_sim.core.checkpoint import Checkpoint
from vpg_sim.core.config import VPGConfig
from vpg_sim.core.student import StudentCode, StudentCodeError
from vpg_sim.core.trainer import UpdateStats, VPGTrainer
from vpg_sim.training.session import STATS_KEPT, ReturnHistory, TrainingSession
from vpg_sim.training.student_code import DEFAULT_TIMEOUT, StudentProcess, with_reference_code, with_student_code


class StudentSession(TrainingSession):
    """The student's trainer in the session's thread, the reference trainer beside it.

    :param trainer: runs the student's functions (``with_student_code``).
    :param reference: the same config and seed with vpg-sim's code (``with_reference_code``).
    :param process: the student's process ``trainer`` calls (stopped with the session).
    """

    def __init__(
        self,
        trainer: VPGTrainer,
        reference: VPGTrainer,
        process: StudentProcess,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(trainer, clock)
        self._reference = reference
        self._process = process
        self.student_label = process.code.label()
        """``advantages=mycode:reward_to_go``: what the window names the run by."""
        reference.take_new_returns()
        self._reference_returns = ReturnHistory()
        self._reference_history: collections.deque[UpdateStats] = collections.deque(maxlen=STATS_KEPT)

    @classmethod
    def for_student(
        cls,
        start: VPGConfig | Checkpoint,
        code: StudentCode,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> StudentSession:
        """A session training ``code`` beside vpg-sim's own code, both from ``start``: a
        config (a new run) or a checkpoint (both train on from it). The student's module
        is imported at the first update (a failure is then ``error``)."""

        def trainer() -> VPGTrainer:
            return VPGTrainer.from_checkpoint(start) if isinstance(start, Checkpoint) else VPGTrainer(start)

        process = StudentProcess(code, timeout)
        student = with_student_code(trainer(), process)
        try:
            reference = with_reference_code(trainer(), code)
        except BaseException:
            student.close()
            raise
        return cls(student, reference, process)

    # -- reading ------------------------------------------------------------------------

    def reference_episode_returns(self, start: int = 0) -> np.ndarray:
        """The reference run's training episode returns from index ``start`` on, ``(E - start,)``."""
        with self._lock:
            return self._reference_returns.values(start)

    def reference_latest_stats(self) -> UpdateStats | None:
        with self._lock:
            return self._reference_history[-1] if self._reference_history else None

    # -- commands -----------------------------------------------------------------------

    def resume(self) -> None:
        """Go on (after a failure: with the student's file imported afresh)."""
        self.error = None
        super().resume()

    def close(self, timeout: float = 1.0) -> bool:
        self._process.stop()  # a call under way (a hang) ends now, not at its time limit
        if not super().close(timeout):
            return False
        self._reference.close()
        return True

    # -- the thread ---------------------------------------------------------------------

    def _run_update(self) -> UpdateStats | None:
        try:
            stats = self._trainer.train_update(should_stop=self._stop.is_set)
        except StudentCodeError as error:
            if self._stop.is_set():  # closing stopped the student's process under the call
                return None
            self._process.stop()  # the next update imports the file again: it may be fixed by then
            self.error = f"update {self._trainer.updates + 1}: {error}"
            self.pause()
            return None
        reference_stats = self._reference.train_update(should_stop=self._stop.is_set)
        new_returns = self._reference.take_new_returns()
        with self._lock:
            self._reference_history.append(reference_stats)
            self._reference_returns.extend(new_returns)
        return stats
