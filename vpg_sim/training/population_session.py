"""A comparison trained in a background thread, and what it publishes for the window.

As :class:`~vpg_sim.training.session.TrainingSession` does for one run: the thread runs
:meth:`ComparisonRun.train_round` under the same pacing rules (back to back, n rounds a
second, one per granted credit in lockstep or while paused with N), and after each round
publishes an immutable :class:`ComparisonSnapshot` under one lock, with each group's band
and median already computed (a bootstrap costs tens of milliseconds: here, not in the
window's frame). The window reads snapshots and calls the public commands; it never
touches the populations.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vpg_sim.core.checkpoint import Checkpoint
from vpg_sim.core.comparison import Band, Curve, MedianInterval, group_band, median_estimate
from vpg_sim.training.comparison_run import ComparisonRun, Group
from vpg_sim.training.pacing import PacedThread

LIVE_POINTS = 120
LIVE_RESAMPLES = 400
"""The window's band between two rounds: fewer points and resamples than the figure's
(its ends move by about a point of coverage from round to round; measured cost below)."""


@dataclass(frozen=True)
class GroupSnapshot:
    """One group after a round: every seed's curve and solve point, and its stage's policy."""

    group: Group
    curves: tuple[Curve, ...]
    """In seed order (see :class:`~vpg_sim.core.comparison.Curve`)."""
    steps_to_solve: tuple[int | None, ...]
    env_steps: tuple[int, ...]
    """Each seed's env steps so far."""
    running: int
    """Agents still training."""
    band: Band | None
    """Its curve over seeds and pointwise band (None before every seed has a value)."""
    median: MedianInterval | None
    """Its median steps to solve and interval (None with fewer than 2 seeds)."""
    stage: Checkpoint
    """Agent 0's policy and critic: what the group's stage plays."""
    means: tuple[float, ...] = ()
    """Each seed's newest mean of its last 100 returns (the seed wall's colours)."""
    policies: tuple[dict, ...] | None = None
    """Every seed's policy network now, while the window shows the seed wall; else None."""


@dataclass(frozen=True)
class ComparisonSnapshot:
    """Both groups after round ``rounds`` (0: before the first)."""

    rounds: int
    groups: tuple[GroupSnapshot, ...]
    seeds: tuple[int, ...]
    reward_threshold: float | None
    max_steps: tuple[int, ...]
    """Per group, the env steps each of its agents trains at most."""
    finished: bool
    """Every agent has stopped: nothing more will train."""
    train_seconds: float
    """Wall time spent in rounds so far (pauses excluded)."""


class ComparisonSession(PacedThread):
    """A :class:`ComparisonRun` in a daemon thread, driven by commands from another thread.

    :param statistic: what the bands and medians are: ``iqm`` or ``mean`` (see ``core/comparison.py``).
    :param clock: the pacer's clock (seconds, monotonic); tests inject a fake one.
    """

    def __init__(self, run: ComparisonRun, statistic: str = "iqm", clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock, thread_name="vpg-comparison")
        self._run = run
        self.statistic = statistic
        self.watching_agents = False
        """The window shows the seed wall: snapshots carry every agent's policy."""
        self._train_seconds = 0.0
        self._snapshot = self._take_snapshot()
        self.env_id = run.groups[0].config.env_id
        self.reward_threshold = run.reward_threshold
        self.error: str | None = None
        """One line describing what stopped the thread, if it died of an exception."""

    @classmethod
    def from_groups(
        cls,
        groups: Sequence[Group],
        seeds: Sequence[int],
        max_steps: int | None,
        statistic: str = "iqm",
        stop_sets: Sequence[Sequence[str]] | None = None,
    ) -> ComparisonSession:
        """``stop_sets`` as :class:`ComparisonRun`'s (None: all groups stop together)."""
        return cls(ComparisonRun(groups, seeds, max_steps, stop_sets=stop_sets), statistic)

    # -- commands (pause, resume, step, pace, lockstep, stop: PacedThread's) ----------------

    def watch_agents(self, on: bool) -> None:
        """Carry every agent's policy in the snapshots from the next round on (the seed
        wall), or not. Turned on between rounds (paused, finished), a snapshot is taken
        at once, so that the wall does not wait for a round that may never come."""
        with self._changed:
            self.watching_agents = on
            if on and not self._updating:  # the run is not being trained: safe to read
                self._snapshot = self._take_snapshot()

    def close(self, timeout: float = 1.0) -> bool:
        """Stop the thread and close the envs (left open if the thread did not end in time)."""
        if not self.stop(timeout):
            return False
        self._run.close()
        return True

    # -- reading ----------------------------------------------------------------------

    def latest(self) -> ComparisonSnapshot:
        """The newest published snapshot (immutable)."""
        with self._lock:
            return self._snapshot

    def wait_for_round(self, rounds: int, timeout: float) -> bool:
        """Block until a snapshot of at least ``rounds`` rounds is published (True), or
        ``timeout`` seconds passed, or the thread ended (False): for tests, instead of sleeping."""
        with self._changed:
            return (
                self._changed.wait_for(lambda: self._snapshot.rounds >= rounds or not self._alive(), timeout)
                and self._snapshot.rounds >= rounds
            )

    def wait_until_idle(self, timeout: float) -> bool:
        """Block until no round is under way (a pause lets the one in flight finish)."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._updating, timeout)

    def _alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    # -- the thread ---------------------------------------------------------------------

    def _take_snapshot(self) -> ComparisonSnapshot:
        run = self._run
        groups = []
        for group in run.groups:
            curves, steps = run.curves(group.name), run.steps_to_solve(group.name)
            groups.append(
                GroupSnapshot(
                    group=group,
                    curves=tuple(curves),
                    steps_to_solve=tuple(steps),
                    env_steps=tuple(run.env_steps(group.name)),
                    running=run.running_agents(group.name),
                    band=group_band(curves, self.statistic, LIVE_POINTS, LIVE_RESAMPLES),
                    median=median_estimate(steps, self.statistic, LIVE_RESAMPLES) if len(steps) >= 2 else None,
                    stage=run.stage_checkpoint(group.name),
                    means=tuple(run.means_now(group.name)),
                    policies=tuple(run.agent_policies(group.name)) if self.watching_agents else None,
                )
            )
        return ComparisonSnapshot(
            rounds=run.rounds,
            groups=tuple(groups),
            seeds=tuple(run.seeds),
            reward_threshold=run.reward_threshold,
            max_steps=tuple(run.max_steps[group.name] for group in run.groups),
            finished=run.finished,
            train_seconds=self._train_seconds,
        )

    def _loop(self) -> None:
        try:
            while True:
                with self._changed:
                    if self._stop.is_set():
                        return
                    allowed, wait = self._pacer.may_start()
                    if not allowed or self._run.finished:
                        self._changed.wait(wait)
                        continue
                    self._pacer.start()
                    self._updating = True
                started = time.perf_counter()
                self._run.train_round()
                self._train_seconds += time.perf_counter() - started
                snapshot = self._take_snapshot()
                with self._changed:
                    self._snapshot = snapshot
                    self._updating = False
                    self._changed.notify_all()
        except Exception as error:  # the window shows it and keeps running
            self.error = f"training stopped: {type(error).__name__}: {error}"
        finally:
            with self._changed:
                self._updating = False
                self._changed.notify_all()
