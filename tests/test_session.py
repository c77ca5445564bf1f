"""The training thread, driven from the test thread as the window would drive it."""

import math
import re
import threading
import time

import pytest

from vpg_sim.core.config import config_for
from vpg_sim.core.trainer import VPGTrainer
from vpg_sim.training.pacing import Pacer
from vpg_sim.training.session import TrainingSession

SMALL = {"num_envs": 4, "steps_per_update": 128, "vf_iters": 2, "vf_minibatch_size": 64}


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return False


@pytest.fixture
def session():
    session = TrainingSession.from_config(config_for("CartPole-v1", **SMALL))
    yield session
    session.close()


def updates(session):
    return session.latest_snapshot().update


WAIT = 30.0
"""Seconds to wait for an event that should come at once (generous: the machine is shared)."""


def refusals(session) -> threading.Semaphore:
    """Released each time the session's thread asks its pacer whether an update may start
    and is told no: the thread then waits for a command (or, at a rate, for its clock).
    After a refusal no update can start until something wakes the thread, so a test can
    assert that nothing happened without sleeping and hoping."""
    refused = threading.Semaphore(0)
    may_start = session._pacer.may_start

    def counted() -> tuple[bool, float | None]:
        allowed, wait = may_start()
        if not allowed:
            refused.release()
        return allowed, wait

    session._pacer.may_start = counted
    return refused


def refused_again(session, refused: threading.Semaphore) -> bool:
    """Wake the thread (a command that changes nothing) and see it refused once more."""
    session.set_pace(session._pacer.updates_per_second)
    return refused.acquire(timeout=WAIT)


def test_pause_stops_updates_and_resume_restarts_them(session):
    refused = refusals(session)
    session.start()
    assert wait_until(lambda: updates(session) >= 3)
    session.pause()
    assert refused.acquire(timeout=WAIT)  # an update already under way finished; the next was refused
    frozen = updates(session)
    assert refused_again(session, refused)
    assert updates(session) == frozen
    session.resume()
    assert wait_until(lambda: updates(session) > frozen + 2)


def test_step_while_paused_runs_exactly_one_update(session):
    refused = refusals(session)
    session.start(paused=True)
    assert refused.acquire(timeout=WAIT)
    assert updates(session) == 0
    session.step()
    assert wait_until(lambda: updates(session) == 1)
    assert refused.acquire(timeout=WAIT)  # asked again after its one update: no
    assert refused_again(session, refused)
    assert updates(session) == 1
    assert len(session.stats_since(0)) == 1


def test_pace_lets_an_update_start_only_a_tenth_of_a_second_after_the_last_at_10_per_second():
    now = [100.0]
    pacer = Pacer(clock=lambda: now[0])
    pacer.set_rate(10.0)
    assert pacer.may_start() == (True, pytest.approx(-math.inf))
    pacer.start()
    now[0] += 0.04
    allowed, wait = pacer.may_start()
    assert not allowed and wait == pytest.approx(0.06)
    now[0] += 0.06
    assert pacer.may_start()[0]


def test_full_pace_never_waits_and_credits_are_spent_one_per_update():
    pacer = Pacer(clock=lambda: 0.0)
    assert pacer.may_start() == (True, None)
    pacer.by_credits = True
    assert pacer.may_start() == (False, None)
    pacer.credits = 1
    assert pacer.may_start()[0]
    pacer.start()
    assert pacer.may_start() == (False, None)


def test_a_paced_session_runs_its_updates_at_the_injected_clock_s_rate():
    # The session reads the pace from its clock: with time frozen, one update and no more.
    frozen = TrainingSession(VPGTrainer(config_for("CartPole-v1", **SMALL)), clock=lambda: 5.0)
    refused = refusals(frozen)
    try:
        frozen.set_pace(10.0)
        frozen.start()
        assert wait_until(lambda: updates(frozen) == 1)
        for _ in range(3):  # asked again and again (each 0.1 s of real waiting), never allowed
            assert refused.acquire(timeout=WAIT)
        assert updates(frozen) == 1
    finally:
        frozen.close()


def test_lockstep_runs_one_update_per_grant(session):
    refused = refusals(session)
    session.set_lockstep(True)
    session.start()
    assert refused.acquire(timeout=WAIT)
    assert updates(session) == 0
    session.grant_update()
    session.grant_update()  # grants do not pile up
    assert wait_until(lambda: updates(session) == 1)
    assert refused.acquire(timeout=WAIT)  # the second grant did not count
    assert refused_again(session, refused)
    assert updates(session) == 1


def test_stop_ends_an_update_mid_way():
    # 131,072 steps a batch and 100 critic passes of one-sample minibatches: an update
    # takes hours, so a thread that ends on stop, no update finished, was interrupted.
    big = config_for("CartPole-v1", num_envs=16, steps_per_update=2**17, vf_iters=100, vf_minibatch_size=1)
    session = TrainingSession.from_config(big)
    session.start()
    assert wait_until(lambda: session.updating)
    assert session.stop(timeout=WAIT)
    assert not session.running
    assert updates(session) == 0
    session.close()


def test_snapshots_are_copies_not_the_live_weights(session):
    session.start(paused=True)
    before = session.latest_snapshot()
    frozen = {name: tensor.clone() for name, tensor in before.policy_state.items()}
    session.step()
    assert wait_until(lambda: updates(session) == 1)
    for name, tensor in before.policy_state.items():
        assert (tensor == frozen[name]).all(), name  # untouched by the update
    after = session.latest_snapshot()
    assert any((after.policy_state[n] != frozen[n]).any() for n in frozen)
    assert after.last_advantages.ndim == 1 and len(after.last_advantages) > 0


def test_knob_change_reaches_the_trainer_at_the_next_update(session):
    session.start(paused=True)
    config = session.request_changes(policy_lr=0.005, gamma=0.95)
    assert (config.policy_lr, config.gamma) == (0.005, 0.95)
    assert session.latest_snapshot().config.gamma == 0.99  # not before the next update
    assert session.config().gamma == 0.95  # but the window shows what will run
    session.step()
    assert wait_until(lambda: updates(session) == 1)
    assert session.latest_snapshot().config.gamma == 0.95
    # The update ran at 0.005; the KL-adaptive step may have scaled it once afterwards.
    policy_lr = session.latest_snapshot().policy_optimizer_state["param_groups"][0]["lr"]
    assert policy_lr in (0.005 / 1.5, 0.005, 0.005 * 1.5)
    [change] = session.config_changes()
    assert change.update == 1 and change.changes == {"policy_lr": 0.005, "gamma": 0.95}
    assert session.latest_snapshot().config.gamma == 0.95  # saved policies carry it


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"policy_lr": -0.01}, "policy_lr must be in [1e-05, 1]"),
        ({"gamma": 1.5}, "gamma must be in [0.5, 1]"),
        ({"gamma": 0.0}, "gamma must be in [0.5, 1]"),
        ({"gae_lambda": 1.2}, "gae_lambda must be in [0, 1]"),
        ({"steps_per_update": 130}, "multiple of num_envs"),
        ({"steps_per_update": 10**9}, "steps_per_update must be in [1, 16,384]"),
        ({"entropy_coef": float("nan")}, "entropy_coef must be in [0, 1]"),
        ({"num_envs": 8}, "cannot change while training"),
    ],
)
def test_invalid_knob_values_are_refused_and_nothing_is_queued(session, changes, message):
    session.start(paused=True)
    with pytest.raises(ValueError, match=re.escape(message)):
        session.request_changes(**changes)
    session.step()
    assert wait_until(lambda: updates(session) == 1)
    assert session.latest_snapshot().config == config_for("CartPole-v1", **SMALL)
    assert session.config_changes() == []


def test_timeline_keeps_past_policies_for_replay(session):
    session.start()
    assert wait_until(lambda: updates(session) >= 5)
    session.pause()
    kept = session.timeline_updates()
    assert kept[:5] == [0, 1, 2, 3, 4]
    past = session.snapshot_near(2)
    assert past.update == 2
    assert any((past.policy_state[n] != t).any() for n, t in session.latest_snapshot().policy_state.items())


class StopDuringTheStopCheck(threading.Event):
    """A stop event that, the first time the training thread reads it, makes another thread
    call ``session.stop()`` right then: the interleaving that lost the wakeup when the
    check ran outside the lock (the thread then waited for ever)."""

    def __init__(self, session: TrainingSession) -> None:
        super().__init__()
        self.session = session
        self.stop_result: list[bool] = []
        self.stopper: threading.Thread | None = None

    def is_set(self) -> bool:
        result = super().is_set()
        if self.stopper is None and threading.current_thread().name == "vpg-trainer":
            stopper = threading.Thread(target=lambda: self.stop_result.append(self.session.stop(timeout=5.0)))
            stopper.start()
            self.stopper = stopper
            # Give the stop every chance to complete between this check and the wait that
            # follows it; with the check under the lock, stop() waits for the wait instead.
            stopper.join(0.2)
        return result


def test_a_stop_that_lands_between_the_stop_check_and_the_wait_still_ends_the_thread():
    session = TrainingSession.from_config(config_for("CartPole-v1", **SMALL))
    event = StopDuringTheStopCheck(session)
    session._stop = event  # the seam: the one event both sides use
    session.start(paused=True)
    assert wait_until(lambda: event.stopper is not None)
    event.stopper.join(10.0)
    assert event.stop_result == [True]
    assert not session.running
    session.close()
