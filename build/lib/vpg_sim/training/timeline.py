"""Past policies, kept so the window can rewind: how did the agent act 50 updates ago?

Memory stays bounded however long training runs. Snapshots are kept at updates
that are multiples of a stride; when more than ``capacity`` are kept, the stride
doubles and every snapshot off the new stride is dropped. So the timeline always
spans the whole run, evenly, at the finest resolution its capacity allows
(1 at first, then every 2nd, 4th, ... update).
"""

from __future__ import annotations

import bisect
from typing import Generic, Protocol, TypeVar


class HasUpdate(Protocol):
    @property
    def update(self) -> int: ...


SnapshotT = TypeVar("SnapshotT", bound=HasUpdate)

DEFAULT_CAPACITY = 200


class Timeline(Generic[SnapshotT]):
    """Snapshots by update number, thinned to at most ``capacity`` (not thread-safe:
    the session guards it with its lock)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 2:
            raise ValueError("capacity must be >= 2")
        self.capacity = capacity
        self.stride = 1
        self._updates: list[int] = []
        self._snapshots: list[SnapshotT] = []

    def __len__(self) -> int:
        return len(self._updates)

    def add(self, snapshot: SnapshotT) -> None:
        """Keep ``snapshot`` if its update is on the stride (updates must not go backwards)."""
        if self._updates and snapshot.update <= self._updates[-1]:
            raise ValueError(f"update {snapshot.update} is not after {self._updates[-1]}")
        if snapshot.update % self.stride:
            return
        self._updates.append(snapshot.update)
        self._snapshots.append(snapshot)
        while len(self._updates) > self.capacity:
            self.stride *= 2
            keep = [i for i, update in enumerate(self._updates) if update % self.stride == 0]
            self._updates = [self._updates[i] for i in keep]
            self._snapshots = [self._snapshots[i] for i in keep]

    def updates(self) -> list[int]:
        """Update numbers of the kept snapshots, ascending."""
        return list(self._updates)

    def nearest(self, update: int) -> SnapshotT:
        """The kept snapshot whose update is closest to ``update`` (earlier on a tie)."""
        if not self._updates:
            raise LookupError("the timeline is empty")
        index = bisect.bisect_left(self._updates, update)
        candidates = [i for i in (index - 1, index) if 0 <= i < len(self._updates)]
        best = min(candidates, key=lambda i: (abs(self._updates[i] - update), self._updates[i]))
        return self._snapshots[best]
