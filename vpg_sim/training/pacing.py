"""Training paces the window offers, the rule that decides when an update may start, and
the paced thread both sessions are."""

from __future__ import annotations

import threading
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
COMPARE_PACE = "full"
"""A comparison's round is an update of 2 x N agents: at 1/s one would take an hour."""


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


class PacedThread:
    """A daemon thread that runs units of work (updates, rounds) when a :class:`Pacer`
    allows, driven by commands from other threads: the part a training session and a
    comparison session share.

    Commands and the thread meet under one lock and its condition (``_changed``). A
    subclass implements :meth:`_loop` (the thread: check ``_stop`` and ask the pacer
    under the lock, work outside it) and whatever it publishes.

    :param clock: the pacer's clock (seconds, monotonic); tests inject a fake one.
    :param thread_name: the thread's name, as debuggers and ``py-spy`` show it.
    """

    def __init__(self, clock: Callable[[], float], thread_name: str) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._paused = False
        self._lockstep = False
        self._pacer = Pacer(clock)
        self._updating = False
        self._thread: threading.Thread | None = None
        self._thread_name = thread_name

    def start(self, paused: bool = False) -> None:
        """Start the thread (once)."""
        if self._thread is not None:
            raise RuntimeError("session already started")
        with self._changed:
            self._paused = paused
            self._sync_pacer()
        self._thread = threading.Thread(target=self._loop, name=self._thread_name, daemon=True)
        self._thread.start()

    def pause(self) -> None:
        with self._changed:
            self._paused = True
            self._pacer.credits = 0
            self._sync_pacer()

    def resume(self) -> None:
        with self._changed:
            self._paused = False
            self._pacer.credits = 0
            self._sync_pacer()

    def step(self) -> None:
        """While paused: run exactly one more unit of work."""
        with self._changed:
            if self._paused:
                self._pacer.credits += 1
                self._changed.notify_all()

    def set_pace(self, per_second: float | None) -> None:
        """At most this many units of work per second; None runs them back to back."""
        with self._changed:
            self._pacer.set_rate(per_second)
            self._changed.notify_all()

    def set_lockstep(self, enabled: bool) -> None:
        """In lockstep, a unit of work runs only when :meth:`grant_update` allows one."""
        with self._changed:
            self._lockstep = enabled
            self._pacer.credits = 0
            self._sync_pacer()

    def grant_update(self) -> None:
        """In lockstep: allow one unit of work (grants do not pile up beyond one)."""
        with self._changed:
            if self._lockstep and not self._paused:
                self._pacer.credits = 1
                self._changed.notify_all()

    def stop(self, timeout: float = 1.0) -> bool:
        """Ask the thread to finish and join it; True if it ended in time."""
        with self._changed:
            self._stop.set()
            self._changed.notify_all()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def updating(self) -> bool:
        """A unit of work is under way (after a pause, the one in flight still finishes)."""
        return self._updating

    @property
    def running(self) -> bool:
        """The thread is alive (it may be paused)."""
        return self._thread is not None and self._thread.is_alive()

    def _sync_pacer(self) -> None:
        """Call under the lock after a change of mode; wakes the thread."""
        self._pacer.by_credits = self._paused or self._lockstep
        self._changed.notify_all()

    def _loop(self) -> None:
        raise NotImplementedError
