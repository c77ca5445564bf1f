"""Runs a :class:`VPGTrainer` in a background thread and publishes what it learns.

The window never touches the trainer: after each update the thread publishes an
immutable :class:`PolicySnapshot` (copies of the weights) and appends the update's
stats, both under one lock; readers get copies. Commands (pause, resume, one
step, pace, stop) go the other way through the same lock and a condition.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import torch

from vpg_sim.core.config import ConfigChange, VPGConfig, with_live_changes
from vpg_sim.core.trainer import TrainingInterrupted, UpdateStats, VPGTrainer
from vpg_sim.training.timeline import Timeline


@dataclass(frozen=True)
class PolicySnapshot:
    """The trainer's weights after update ``update``, copied: safe to read anywhere."""

    update: int
    env_steps: int
    config: VPGConfig
    policy_state: dict[str, torch.Tensor]
    value_state: dict[str, torch.Tensor]
    advantages: np.ndarray = field(repr=False)
    """Raw advantages of the batch this update learned from, ``(B,)``."""
    policy_optimizer_state: dict = field(repr=False)
    value_optimizer_state: dict = field(repr=False)
    mean_return_100: float
    observation_space: gym.Space
    action_space: gym.Space
    config_changes: tuple[ConfigChange, ...] = ()
    """The knobs turned during the run up to this update."""

    def file_contents(self) -> dict:
        """Keyword arguments for ``vpg_sim.policy_files.save_policy``."""
        return {
            "config": self.config,
            "observation_space": self.observation_space,
            "action_space": self.action_space,
            "policy_state": self.policy_state,
            "value_state": self.value_state,
            "update": self.update,
            "env_steps": self.env_steps,
            "mean_return_100": self.mean_return_100,
            "policy_optimizer_state": self.policy_optimizer_state,
            "value_optimizer_state": self.value_optimizer_state,
            "config_changes": self.config_changes,
        }


class TrainingSession:
    """A trainer in a daemon thread, driven by commands from another thread.

    Pacing: by default updates run back to back. ``set_pace(n)`` allows at most n
    updates per second; ``set_lockstep(True)`` runs one update per
    :meth:`grant_update` (the window grants one per finished stage episode).
    While paused, :meth:`step` runs exactly one update.
    """

    def __init__(self, trainer: VPGTrainer) -> None:
        self.trainer = trainer
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._paused = False
        self._lockstep = False
        self._updates_per_second: float | None = None
        self._credits = 0
        self._last_update_started = -float("inf")
        self._history: list[UpdateStats] = []
        self._pending_changes: dict[str, object] = {}
        self._updating = False
        self._snapshot = snapshot_of(self.trainer)
        self._first_update = self._snapshot.update
        self._timeline: Timeline[PolicySnapshot] = Timeline()
        self._timeline.add(self._snapshot)
        self._thread: threading.Thread | None = None
        self.error: str | None = None
        """One line describing what stopped the thread, if it died of an exception."""

    @classmethod
    def from_config(cls, config: VPGConfig) -> TrainingSession:
        return cls(VPGTrainer(config))

    # -- commands ---------------------------------------------------------------

    def start(self, paused: bool = False) -> None:
        """Start the thread (once)."""
        if self._thread is not None:
            raise RuntimeError("session already started")
        self._paused = paused
        self._thread = threading.Thread(target=self._run, name="vpg-trainer", daemon=True)
        self._thread.start()

    def pause(self) -> None:
        with self._changed:
            self._paused = True
            self._credits = 0
            self._changed.notify_all()

    def resume(self) -> None:
        with self._changed:
            self._paused = False
            self._credits = 0
            self._changed.notify_all()

    def step(self) -> None:
        """While paused: run exactly one more update."""
        with self._changed:
            if self._paused:
                self._credits += 1
                self._changed.notify_all()

    def set_pace(self, updates_per_second: float | None) -> None:
        """At most this many updates per second; None runs them back to back."""
        if updates_per_second is not None and updates_per_second <= 0:
            raise ValueError("updates_per_second must be positive or None")
        with self._changed:
            self._updates_per_second = updates_per_second
            self._changed.notify_all()

    def set_lockstep(self, enabled: bool) -> None:
        """In lockstep, an update runs only when :meth:`grant_update` allows one."""
        with self._changed:
            self._lockstep = enabled
            self._credits = 0
            self._changed.notify_all()

    def grant_update(self) -> None:
        """In lockstep: allow one update (grants do not pile up beyond one)."""
        with self._changed:
            if self._lockstep and not self._paused:
                self._credits = 1
                self._changed.notify_all()

    def request_changes(self, **changes: object) -> VPGConfig:
        """Turn live knobs; they take effect at the next update. Returns the config that
        will then run. Raises ValueError (one line) and queues nothing if a value is invalid."""
        with self._changed:
            pending = {**self._pending_changes, **changes}
            config = with_live_changes(self.trainer.config, pending)
            self._pending_changes = pending
            self._changed.notify_all()
            return config

    def stop(self, timeout: float = 1.0) -> bool:
        """Ask the thread to finish (mid-update too) and join it; True if it ended in time."""
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # -- reading ----------------------------------------------------------------

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def updating(self) -> bool:
        """An update is under way (after a pause, the one in flight still finishes)."""
        return self._updating

    @property
    def running(self) -> bool:
        """The thread is alive (it may be paused)."""
        return self._thread is not None and self._thread.is_alive()

    def latest_snapshot(self) -> PolicySnapshot:
        """The newest published weights (immutable; never the live modules)."""
        with self._lock:
            return self._snapshot

    def stats_history(self, start: int = 0) -> list[UpdateStats]:
        """Stats of updates ``start`` onwards (0-based), copied."""
        with self._lock:
            return self._history[start:]

    def config(self) -> VPGConfig:
        """The config of the next update, pending knob changes included."""
        with self._lock:
            return with_live_changes(self.trainer.config, self._pending_changes)

    def config_changes(self) -> list[ConfigChange]:
        """Knob changes that took effect in this session, oldest first (a run loaded from a
        file keeps its older ones in the file, but its episode count starts afresh)."""
        with self._lock:
            return [change for change in self._snapshot.config_changes if change.update > self._first_update]

    def timeline_updates(self) -> list[int]:
        """Updates whose policy can be replayed (see :class:`Timeline`), ascending."""
        with self._lock:
            return self._timeline.updates()

    def snapshot_near(self, update: int) -> PolicySnapshot:
        """The kept snapshot closest to ``update``."""
        with self._lock:
            return self._timeline.nearest(update)

    def latest_stats(self) -> UpdateStats | None:
        with self._lock:
            return self._history[-1] if self._history else None

    def episode_returns(self, start: int = 0) -> list[float]:
        """Training episode returns from index ``start`` on, in the order they finished."""
        with self._lock:
            return self.trainer.episode_returns[start:]

    # -- the thread -----------------------------------------------------------------

    def _may_update(self) -> tuple[bool, float | None]:
        """Whether an update may start now, else how long to wait (None: until notified)."""
        if self._paused or self._lockstep:
            return self._credits > 0, None
        if self._updates_per_second is None:
            return True, None
        wait = self._last_update_started + 1.0 / self._updates_per_second - time.perf_counter()
        return wait <= 0, wait

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                with self._changed:
                    allowed, wait = self._may_update()
                    if not allowed:
                        self._changed.wait(wait)
                        continue
                    if self._paused or self._lockstep:
                        self._credits -= 1
                    self._last_update_started = time.perf_counter()
                    self._updating = True
                    if self._pending_changes:  # validated when requested
                        self.trainer.reconfigure(**self._pending_changes)
                        self._pending_changes = {}
                stats = self.trainer.train_update(should_stop=self._stop.is_set)
                snapshot = snapshot_of(self.trainer)
                with self._lock:
                    self._history.append(stats)
                    self._snapshot = snapshot
                    self._timeline.add(snapshot)
                    self._updating = False
        except TrainingInterrupted:
            pass
        except Exception as error:  # the window shows it and keeps running
            self.error = f"training stopped: {type(error).__name__}: {error}"
        finally:
            self._updating = False


def snapshot_of(trainer: VPGTrainer) -> PolicySnapshot:
    """Copies of ``trainer``'s weights and optimizer state; call it from the trainer's thread."""
    return PolicySnapshot(
        update=trainer.updates,
        env_steps=trainer.env_steps,
        config=trainer.config,
        policy_state=trainer.policy_state(),
        value_state=trainer.value_state(),
        advantages=trainer.last_advantages,
        policy_optimizer_state=copy_optimizer_state(trainer.policy_optimizer),
        value_optimizer_state=copy_optimizer_state(trainer.value_optimizer),
        mean_return_100=trainer.mean_return_100,
        observation_space=trainer.observation_space,
        action_space=trainer.action_space,
        config_changes=tuple(trainer.config_changes),
    )


def copy_optimizer_state(optimizer: torch.optim.Optimizer) -> dict:
    """A deep copy of an optimizer's state dict (its tensors cloned)."""
    return copy.deepcopy(optimizer.state_dict())
