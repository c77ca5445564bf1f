"""Runs a :class:`VPGTrainer` in a background thread and publishes what it learns.

The window never touches the trainer: after each update the thread publishes an
immutable :class:`~vpg_sim.core.checkpoint.Checkpoint` (copies of the weights) and
appends the update's stats, both under one lock; readers get copies. Commands (pause,
resume, one step, pace, knobs, stop) go the other way through the same lock and a
condition.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

import numpy as np

from vpg_sim.core.checkpoint import Checkpoint
from vpg_sim.core.config import ConfigChange, VPGConfig, with_live_changes
from vpg_sim.core.trainer import TrainingInterrupted, UpdateStats, VPGTrainer
from vpg_sim.training.noise_monitor import NoiseWatch, NoiseWatching
from vpg_sim.training.pacing import PacedThread
from vpg_sim.training.timeline import Timeline

STATS_KEPT = 1000
"""Update stats the session keeps for readers; older ones are in the CSV log, if any.
Kept all, a class-long run at full pace would grow by ~100 MB an hour."""


class ReturnHistory:
    """Episode returns in a numpy array that doubles when full: 8 bytes an episode, where
    a Python list of floats costs 32."""

    def __init__(self) -> None:
        self._values = np.zeros(1024)
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def extend(self, values: list[float]) -> None:
        needed = self._count + len(values)
        if needed > len(self._values):
            grown = np.zeros(max(needed, 2 * len(self._values)))
            grown[: self._count] = self._values[: self._count]
            self._values = grown
        self._values[self._count : needed] = values
        self._count = needed

    def values(self, start: int = 0) -> np.ndarray:
        """A copy of the returns from index ``start`` on, ``(E - start,)``."""
        return self._values[start : self._count].copy()


class TrainingSession(PacedThread, NoiseWatching):
    """A trainer in a daemon thread, driven by commands from another thread.

    Pacing: by default updates run back to back. ``set_pace(n)`` allows at most n
    updates per second; ``set_lockstep(True)`` runs one update per
    :meth:`grant_update` (the window grants one per finished stage episode).
    While paused, :meth:`step` runs exactly one update.

    :param clock: the pacer's clock (seconds, monotonic); tests inject a fake one.
    """

    def __init__(self, trainer: VPGTrainer, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock, thread_name="vpg-trainer")
        self._trainer = trainer
        self._history: collections.deque[UpdateStats] = collections.deque(maxlen=STATS_KEPT)
        self._returns = ReturnHistory()
        self.first_episode = trainer.collector.episodes
        """The run's episode count when this session began: where its return curve starts."""
        trainer.take_new_returns()  # a resumed run's last returns are the file's, not this session's
        self._pending_changes: dict[str, object] = {}
        self._solved = trainer.solved
        self._snapshot = trainer.checkpoint()
        self._first_update = self._snapshot.update
        self._timeline: Timeline[Checkpoint] = Timeline()
        self._timeline.add(self._snapshot)
        self.env_id = trainer.config.env_id
        self.reward_threshold = trainer.reward_threshold
        self.error: str | None = None
        """One line for the window to say once (it sets it back to None)."""
        self.ended: str | None = None
        """Why training stopped without being asked to (one line), or None while it can go on."""
        self._noise = NoiseWatch()

    student_label = ""
    """Names the student's functions a run trains with (a ``StudentSession``); empty here."""

    def reference_episode_returns(self, start: int = 0) -> np.ndarray:
        """The episode returns of a reference run beside this one (a ``StudentSession``'s):
        none here, ``(0,)``."""
        return np.zeros(0)

    @classmethod
    def from_config(cls, config: VPGConfig) -> TrainingSession:
        return cls(VPGTrainer(config))

    @classmethod
    def from_checkpoint(cls, checkpoint: Checkpoint) -> TrainingSession:
        """A session that trains on from ``checkpoint`` (see :meth:`VPGTrainer.from_checkpoint`)."""
        return cls(VPGTrainer.from_checkpoint(checkpoint))

    # -- commands ---------------------------------------------------------------

    def request_changes(self, **changes: object) -> VPGConfig:
        """Turn live knobs; they take effect at the next update. Returns the config that
        will then run. Raises ValueError (one line) and queues nothing if a value is invalid."""
        with self._changed:
            pending = {**self._pending_changes, **changes}
            config = with_live_changes(self._trainer.config, pending)
            self._pending_changes = pending
            self._changed.notify_all()
            return config

    def close(self, timeout: float = 1.0) -> bool:
        """Stop the thread and close the envs. If the thread did not end in time, the envs
        are left open (closing them under a running update would crash it): returns False."""
        self._noise.close(timeout)  # before the process exits under its torch calls
        if not self.stop(timeout):
            return False
        self._trainer.close()
        return True

    # -- reading ----------------------------------------------------------------

    @property
    def solved(self) -> bool:
        """After the newest update, the mean return of the last 100 episodes had reached
        the env's threshold."""
        return self._solved

    def latest_snapshot(self) -> Checkpoint:
        """The newest published weights (immutable; never the live modules)."""
        with self._lock:
            return self._snapshot

    def stats_since(self, update: int) -> list[UpdateStats]:
        """Stats of the kept updates after ``update``, oldest first (the last
        :data:`STATS_KEPT` are kept)."""
        with self._lock:
            if not self._history or self._history[-1].update <= update:
                return []  # the usual answer, every frame: no need to look through 1,000
            return [stats for stats in self._history if stats.update > update]

    def config(self) -> VPGConfig:
        """The config of the next update, pending knob changes included."""
        with self._lock:
            return with_live_changes(self._trainer.config, self._pending_changes)

    def config_changes(self) -> list[ConfigChange]:
        """Knob changes that took effect in this session, oldest first (a run loaded from a
        file keeps its older ones in the file, but its episode count starts afresh)."""
        with self._lock:
            return [change for change in self._snapshot.config_changes if change.update > self._first_update]

    def timeline_updates(self) -> list[int]:
        """Updates whose policy can be replayed (see :class:`Timeline`), ascending."""
        with self._lock:
            return self._timeline.updates()

    def snapshot_near(self, update: int) -> Checkpoint:
        """The kept snapshot closest to ``update``."""
        with self._lock:
            return self._timeline.nearest(update)

    def latest_stats(self) -> UpdateStats | None:
        with self._lock:
            return self._history[-1] if self._history else None

    def episode_count(self) -> int:
        """Training episodes finished in this session."""
        with self._lock:
            return len(self._returns)

    def episode_returns(self, start: int = 0) -> np.ndarray:
        """Training episode returns of this session from index ``start`` on, ``(E - start,)``,
        in the order they finished (a copy: 8 bytes an episode, ~2 MB an hour of solved
        CartPole)."""
        with self._lock:
            return self._returns.values(start)

    # -- the thread -----------------------------------------------------------------

    def _run_update(self) -> UpdateStats | None:
        """One update of the run, outside the lock; a subclass may do more around it, or
        return None when there is nothing to publish."""
        return self._trainer.train_update(should_stop=self._stop.is_set)

    def _loop(self) -> None:
        try:
            while True:
                with self._changed:
                    # Checked under the lock that stop() takes to notify: a stop can then
                    # never fall between this check and the wait below (a lost wakeup).
                    if self._stop.is_set():
                        return
                    allowed, wait = self._pacer.may_start()
                    if not allowed:
                        self._changed.wait(wait)
                        continue
                    self._pacer.start()
                    self._updating = True
                    if self._pending_changes:  # validated when requested
                        self._trainer.reconfigure(**self._pending_changes)
                        self._pending_changes = {}
                stats = self._run_update()
                if stats is None:  # nothing to publish (a subclass paused instead)
                    with self._lock:
                        self._updating = False
                    continue
                snapshot = self._trainer.checkpoint()
                solved = self._trainer.solved
                new_returns = self._trainer.take_new_returns()
                with self._lock:
                    self._history.append(stats)
                    self._returns.extend(new_returns)
                    self._snapshot = snapshot
                    self._solved = solved
                    self._timeline.add(snapshot)
                    self._updating = False
                self._noise.offer(snapshot)
        except TrainingInterrupted:
            pass
        except Exception as error:  # the window shows it and keeps running
            self.ended = self.error = f"Training stopped: {type(error).__name__}: {str(error).splitlines()[0]}"
        finally:
            self._updating = False
