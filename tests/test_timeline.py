"""The timeline of past policies: bounded, evenly thinned, searchable by update."""

import itertools
from dataclasses import dataclass

import pytest

from vpg_sim.training.timeline import Timeline


@dataclass(frozen=True)
class Snap:
    update: int


def filled(capacity: int, last_update: int) -> Timeline[Snap]:
    timeline: Timeline[Snap] = Timeline(capacity)
    for update in range(last_update + 1):
        timeline.add(Snap(update))
    return timeline


def test_keeps_every_update_until_capacity():
    timeline = filled(10, 9)
    assert timeline.updates() == list(range(10))
    assert timeline.stride == 1


def test_thins_to_an_even_stride_and_never_exceeds_capacity():
    timeline: Timeline[Snap] = Timeline(200)
    for update in range(5000):
        timeline.add(Snap(update))
        assert len(timeline) <= 200
    kept = timeline.updates()
    assert kept[0] == 0  # the untrained policy is always there to compare with
    assert all(b - a == timeline.stride for a, b in itertools.pairwise(kept))
    assert kept[-1] >= 5000 - timeline.stride  # and the run is covered to its end
    assert len(kept) > 100  # thinning halves, never empties


def test_runs_restored_from_a_file_start_at_their_update():
    timeline: Timeline[Snap] = Timeline(4)
    for update in range(120, 130):
        timeline.add(Snap(update))
    assert timeline.updates() == [120, 124, 128]


def test_nearest_picks_the_closest_kept_update():
    timeline = filled(6, 20)  # stride 4: 0, 4, 8, 12, 16, 20
    assert timeline.updates() == [0, 4, 8, 12, 16, 20]
    assert timeline.nearest(9).update == 8
    assert timeline.nearest(11).update == 12
    assert timeline.nearest(10).update == 8  # a tie goes to the earlier
    assert timeline.nearest(-5).update == 0
    assert timeline.nearest(99).update == 20


def test_updates_must_go_forward_and_empty_timeline_says_so():
    timeline: Timeline[Snap] = Timeline(4)
    with pytest.raises(LookupError):
        timeline.nearest(0)
    timeline.add(Snap(3))
    with pytest.raises(ValueError):
        timeline.add(Snap(3))
