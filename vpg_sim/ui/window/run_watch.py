"""What the window notices about a run from its stream of update stats: the real training
rate, NaN rollbacks, and a collapse of the mean return."""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass

from vpg_sim.core.trainer import UpdateStats

RATE_WINDOW_SECONDS = 3.0
"""The real rate is env steps over this much wall time: at one update a second it reads
~1,000 steps/s (one update's burst runs at ~37,000), and 0 a few seconds after a pause."""
COLLAPSE_FRACTION = 0.5
"""A collapse: the mean return fell back more than this fraction of the way from where the
run started to its best (for CartPole: from 500 to below ~260)."""
MIN_GAIN_FRACTION = 0.25
"""Only a run that had gained this fraction of its peak's size can collapse: a mean that
wavers between 9 and 10 near the start (a policy stuck at the bottom) is not a collapse."""
MIN_EPISODES_FOR_COLLAPSE = 100
"""Before a full window of 100 episodes the mean is too noisy to call anything a collapse."""
COLLAPSED_ENTROPY = 0.01
"""Below this entropy (nats) the policy is deterministic in practice: it no longer explores."""


@dataclass(frozen=True)
class Event:
    """Something worth a toast: ``text``, and whether it is bad news."""

    text: str
    error: bool = True


class RunWatch:
    """Feed it the time and each new update's stats; it keeps the figures the status bar
    shows and returns the events worth saying."""

    def __init__(self, env_steps: int, now: float) -> None:
        self._samples: collections.deque[tuple[float, int]] = collections.deque([(now, env_steps)])
        self._start: float | None = None
        self._peak = -math.inf
        self._peak_update = 0
        self._collapse_reported = False
        self._rollbacks = 0
        self.collapsed_update: int | None = None

    def observe(self, now: float, env_steps: int, new_stats: list[UpdateStats]) -> list[Event]:
        """Record the newest step count at ``now`` and take in ``new_stats`` (oldest first)."""
        self._samples.append((now, env_steps))
        while len(self._samples) > 2 and self._samples[1][0] <= now - RATE_WINDOW_SECONDS:
            self._samples.popleft()
        events = []
        for stats in new_stats:
            if stats.nan_rollbacks > self._rollbacks:
                self._rollbacks = stats.nan_rollbacks
                events.append(
                    Event(f"Update {stats.update} went non-finite: undone ({stats.nan_rollbacks} rollbacks so far)")
                )
            event = self._watch_return(stats)
            if event is not None:
                events.append(event)
        return events

    def steps_per_second(self, now: float) -> float:
        """Env steps per second of wall time over the last few seconds (pauses included)."""
        oldest_time, oldest_steps = self._samples[0]
        newest_steps = self._samples[-1][1]
        span = max(now - oldest_time, 1e-9)
        return (newest_steps - oldest_steps) / span if span >= 0.5 else 0.0

    @staticmethod
    def collapsed_policy(stats: UpdateStats | None) -> bool:
        """The policy has stopped exploring: its entropy is (practically) 0."""
        return stats is not None and math.isfinite(stats.entropy) and stats.entropy < COLLAPSED_ENTROPY

    def _watch_return(self, stats: UpdateStats) -> Event | None:
        mean = stats.mean_return_100
        if not math.isfinite(mean) or stats.episodes < MIN_EPISODES_FOR_COLLAPSE:
            return None
        if self._start is None:
            self._start = mean
        if mean > self._peak:
            self._peak, self._peak_update = mean, stats.update
            self._collapse_reported = False
            return None
        gained = self._peak - self._start
        meaningful = gained > MIN_GAIN_FRACTION * max(abs(self._peak), abs(self._start), 1.0)
        if meaningful and self._peak - mean > COLLAPSE_FRACTION * gained and not self._collapse_reported:
            self._collapse_reported = True
            self.collapsed_update = stats.update
            return Event(
                f"Collapse at update {stats.update}: mean return {mean:.0f}, down from {self._peak:.0f} "
                f"at update {self._peak_update}"
            )
        return None
