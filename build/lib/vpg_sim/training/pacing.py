"""Training paces the window offers, and the rule that decides when an update may start."""

from __future__ import annotations

import time
from collections.abc import Callable

PACES: tuple[tuple[str, float | None], ...] = (
    ("full", None),
    ("1/s", 1.0),
    ("2/s", 2.0),
    ("5/s", 5.0),
    ("lockstep", None),
)
"""(name, updates per second) in the order T cycles them. ``full`` runs updates back
to back; ``lockstep`` runs one per finished stage episode."""
PACE_NAMES = tuple(name for name, _ in PACES)
DEFAULT_PACE = "1/s"
"""At one update a second a class sees CartPole go from falling to balancing in ~45 s."""


class Pacer:
    """When may the next update start? Not thread-safe: the session calls it under its lock.

    Three modes: back to back (``updates_per_second`` None), at most n updates a second,
    and by credits (paused with N pressed, or lockstep: one credit per granted update).

    :param clock: seconds, monotonic; tests pass a fake one instead of sleeping.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.updates_per_second: float | None = None
        self.by_credits = False
        """Paused or lockstep: only a credit lets an update start."""
        self.credits = 0
        self._last_start = -float("inf")

    def set_rate(self, updates_per_second: float | None) -> None:
        if updates_per_second is not None and not 0 < updates_per_second < float("inf"):
            raise ValueError("updates_per_second must be positive and finite, or None")
        self.updates_per_second = updates_per_second

    def may_start(self) -> tuple[bool, float | None]:
        """Whether an update may start now, else how many seconds to wait (None: until
        something changes, such as a credit)."""
        if self.by_credits:
            return self.credits > 0, None
        if self.updates_per_second is None:
            return True, None
        wait = self._last_start + 1.0 / self.updates_per_second - self.clock()
        return wait <= 0, wait

    def start(self) -> None:
        """An update starts now: spend a credit, or remember the time for the rate."""
        if self.by_credits:
            self.credits -= 1
        self._last_start = self.clock()
