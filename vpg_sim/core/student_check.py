"""``vpg-sim check``'s cases and verdicts: a student's function against vpg-sim's own.

Each exercise (``student.SLOTS``) has hand-made cases, each aimed at one thing a correct
answer must get right (one classic mistake or another fails it), and random batches from
real CartPole rollouts (real episode ends, NEXT_STEP reset rows and batch cuts, random
critic values so that every bootstrap shows). vpg-sim's answer is computed by its own
code on the batch layout (``reference_on_batch``; the loss by ``policy_gradient_loss``),
the student's through the same adapter training uses. A failing case is shrunk to its
smallest failing input (the fewest whole episodes, or loss samples, that still fail), and
the verdict says where the answers first differ.

Pure: the student's function is reached only through a ``Caller``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from vpg_sim.core.student import (
    SLOTS,
    Caller,
    Stream,
    StudentCodeError,
    StudentTimeout,
    batch_streams,
    reference_on_batch,
    stream_batch,
)

RTOL, ATOL = 1e-5, 1e-6
"""Within this an answer is right: float32 arithmetic, or another order of the sums, passes."""


@dataclass(frozen=True)
class Case:
    """One input a correct answer must get right. A Phi slot's case is ``streams`` (each
    one call) with its reference computed on ``batches`` (one per stream); a loss case is
    ``log_probs`` and ``advantages``."""

    name: str
    checks: str
    """What it checks, in the words a student needs when it fails."""
    gamma: float = 0.5
    lam: float = 0.5
    streams: tuple[Stream, ...] = ()
    expected: tuple[np.ndarray, ...] = ()
    log_probs: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    advantages: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))

    @property
    def steps(self) -> int:
        return sum(len(stream) for stream in self.streams) or len(self.log_probs)


@dataclass(frozen=True)
class Verdict:
    """A case's outcome. A failure carries the smallest failing input (``inputs``: named
    lists, ``gamma`` and ``lam`` included), the expected and returned answers on it, and
    the index where they first differ (the student's error line instead, if it failed)."""

    case: str
    checks: str
    steps: int
    passed: bool
    error: str | None = None
    inputs: dict[str, Any] | None = None
    expected: list[float] | None = None
    returned: list[float] | None = None
    first_difference: int | None = None
    where: str | None = None
    """The first difference in words: ``step 2 (episode 1, its step 0)``."""
    skipped: bool = False
    """Not run: an earlier case timed out."""

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


# -- hand-made streams ------------------------------------------------------------------------


def stream(
    rewards: Sequence[float], ends: dict[int, tuple[str, float]], cut_value: float = 0.0, values: Sequence[float] = ()
) -> Stream:
    """A one-env stream: ``ends`` maps a step to ("terminated" or "truncated", V of the state
    it led to); ``cut_value`` is V after the last step; ``values`` V(s_t) (zeros if not
    given). Within an episode the next value is the next step's own V."""
    count = len(rewards)
    value_array = np.asarray(values, dtype=np.float64) if len(values) else np.zeros(count)
    next_values = np.append(value_array[1:], cut_value)
    terminated, truncated = np.zeros(count, dtype=bool), np.zeros(count, dtype=bool)
    for step, (kind, after) in ends.items():
        (terminated if kind == "terminated" else truncated)[step] = True
        next_values[step] = after
    return Stream(0, np.arange(count), np.asarray(rewards, np.float64), value_array, next_values, terminated, truncated)


def hand_made_streams() -> list[tuple[str, str, float, Stream]]:
    """(name, what it checks, gamma, stream): the cases of the issue, each aimed at one thing."""
    term, trunc = "terminated", "truncated"
    several = stream([1, 2, 4, 1, 1], {2: (term, 0.0), 4: (term, 0.0)}, values=[3, 2, 1, 2, 1])
    return [
        ("one episode", "discounting from each step t: G_t = r_t + gamma r_{t+1} + ...", 0.5,
         stream([1, 2, 4], {2: (term, 0.0)}, values=[3, 2, 1])),
        ("several episodes", "each episode's sum stops at its own end: reset after every end", 0.5, several),
        ("a termination", "nothing follows a terminal state: its next value (10) must not be added", 0.5,
         stream([1, 1, 2], {1: (term, 10.0), 2: (term, 0.0)}, values=[1, 2, 1])),
        ("a time-limit truncation", "a truncated episode had a future: add gamma * next_values[t] at its end", 0.5,
         stream([1, 1, 2], {1: (trunc, 10.0), 2: (term, 0.0)}, values=[1, 2, 1])),
        ("an episode cut by the batch", "the last episode goes on: bootstrap the batch's end with next_values[-1]",
         0.5, stream([2, 1, 1, 1], {0: (term, 0.0)}, cut_value=8.0, values=[1, 4, 2, 3])),
        ("gamma 1", "no discount: plain sums to the episode's end", 1.0,
         stream([1, 2, 4, 1, 1], {2: (term, 0.0)}, cut_value=3.0, values=[3, 2, 1, 2, 1])),
        ("gamma 0", "only r_t counts (and, for GAE, V(s_t))", 0.0, several),
        ("a one-step episode", "an episode of a single step: G_0 = r_0", 0.5,
         stream([2], {0: (term, 10.0)}, values=[1])),
    ]  # fmt: skip


# -- random batches from real rollouts --------------------------------------------------------

CHECK_ENV = "vpg_sim/CheckCartPole-v1"
"""CartPole with a 30-step time limit: real rollouts with truncations in a small batch."""


def real_batches(seed: int = 0) -> list[tuple[str, Any]]:
    """(name, batch): CartPole rollouts of an untrained policy, with random critic values
    (N(0, 5^2)) so that every bootstrap changes the answer: a fixed-length batch of 8 envs,
    one with 30-step time limits, and one of whole episodes."""
    import gymnasium as gym
    import torch

    from vpg_sim.core.networks import ValueNet, make_policy
    from vpg_sim.core.rollout import Collector

    if CHECK_ENV not in gym.registry:
        gym.register(CHECK_ENV, entry_point="gymnasium.envs.classic_control.cartpole:CartPoleEnv", max_episode_steps=30)
    rng = np.random.default_rng(seed)
    made = []
    for name, env_id, whole in (
        ("real rollout: 8 envs, 64 steps each", "CartPole-v1", False),
        ("real rollout with 30-step time limits", CHECK_ENV, False),
        ("real rollout of whole episodes", "CartPole-v1", True),
    ):
        collector = Collector(env_id, 8, seed, np.random.default_rng(seed))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            policy = make_policy(collector.observation_space, collector.action_space, (16,), "tanh", 0.0)
            critic = ValueNet(int(collector.observation_space.shape[0]), (16,), "tanh")
        try:
            batch = collector.collect_episodes(policy, critic, 256) if whole else collector.collect(policy, critic, 64)
        finally:
            collector.close()
        batch.values[:] = rng.normal(0.0, 5.0, batch.values.shape)
        batch.last_values[:] = rng.normal(0.0, 5.0, batch.last_values.shape)
        made.append((name, batch))
    return made


def phi_cases(slot: str) -> list[Case]:
    lam = 0.5
    cases = []
    for name, checks, gamma, hand_made in hand_made_streams():
        expected = reference_on_batch(slot, stream_batch(hand_made), gamma, lam)[stream_batch(hand_made).valid]
        cases.append(Case(name, checks, gamma, lam, (hand_made,), (expected,)))
    for name, batch in real_batches():
        streams = tuple(batch_streams(batch))
        reference = reference_on_batch(slot, batch, 0.9, 0.8)
        expected = tuple(reference[s.rows, s.env] for s in streams)
        cases.append(Case(name, "every kind of end at once, in every env of a real batch", 0.9, 0.8, streams, expected))
    return cases


def loss_cases() -> list[Case]:
    rng = np.random.default_rng(0)
    real_log_probs = np.log(rng.uniform(0.05, 0.95, 256)).astype(np.float32)
    real_advantages = rng.normal(0.0, 1.0, 256).astype(np.float32)

    def case(name: str, checks: str, probabilities: Sequence[float], advantages: Sequence[float]) -> Case:
        log_probs = np.log(np.asarray(probabilities, dtype=np.float64)).astype(np.float32)
        return Case(name, checks, log_probs=log_probs, advantages=np.asarray(advantages, dtype=np.float32))

    return [
        case("one sample", "minus log pi(a|s) times A: a positive A makes the action likelier", [0.5], [2.0]),
        case("several samples", "the mean over the batch, not the sum", [0.5, 0.25, 0.8, 0.1], [1.0, -2.0, 0.5, 3.0]),
        case("negative advantages", "a negative A makes the action less likely", [0.9, 0.3], [-1.0, -0.5]),
        replace(
            case("a real batch's size", "256 samples at once", [0.5], [1.0]),
            log_probs=real_log_probs,
            advantages=real_advantages,
        ),
    ]


def cases_for(slot: str) -> list[Case]:
    return loss_cases() if slot == "loss" else phi_cases(slot)


# -- running the cases ------------------------------------------------------------------------


def _first_difference(expected: np.ndarray, returned: np.ndarray) -> int | None:
    wrong = np.flatnonzero(~np.isclose(returned, expected, rtol=RTOL, atol=ATOL))
    return int(wrong[0]) if len(wrong) else None


def _episodes(piece: Stream) -> list[tuple[int, int]]:
    """(start, stop) of each episode of a stream (the last one may be cut)."""
    ends = [int(step) + 1 for step in np.flatnonzero(piece.terminated | piece.truncated)]
    bounds = [0, *ends] if ends and ends[-1] == len(piece) else [0, *ends, len(piece)]
    return list(itertools.pairwise(bounds))


def _sub_stream(piece: Stream, start: int, stop: int) -> Stream:
    cut = slice(start, stop)
    return Stream(0, np.arange(stop - start), *(getattr(piece, n)[cut] for n in (
        "rewards", "values", "next_values", "terminated", "truncated")))  # fmt: skip


def _phi_outcome(
    slot: str, call: Caller, case: Case, piece: Stream
) -> tuple[np.ndarray | None, np.ndarray, str | None]:
    """(returned or None, expected, error line or None) for one stream."""
    batch = stream_batch(piece)
    expected = reference_on_batch(slot, batch, case.gamma, case.lam)[batch.valid[:, 0], 0]
    try:
        [returned] = call(slot, [("this input", piece.arguments(slot, case.gamma, case.lam))])
    except StudentTimeout:
        raise
    except StudentCodeError as error:
        return None, expected, str(error)
    return returned, expected, None


def _shrunk_phi(
    slot: str, call: Caller, case: Case, piece: Stream
) -> tuple[Stream, np.ndarray | None, np.ndarray, str | None]:
    """The fewest consecutive whole episodes of ``piece`` that still fail (up to three
    at a time; else ``piece`` itself)."""
    episodes = _episodes(piece)
    for size in range(1, min(3, len(episodes) - 1) + 1):
        for first in range(len(episodes) - size + 1):
            candidate = _sub_stream(piece, episodes[first][0], episodes[first + size - 1][1])
            returned, expected, error = _phi_outcome(slot, call, case, candidate)
            if error is not None or _first_difference(expected, returned) is not None:
                return candidate, returned, expected, error
    returned, expected, error = _phi_outcome(slot, call, case, piece)
    return piece, returned, expected, error


def _where(piece: Stream, step: int) -> str:
    for number, (start, stop) in enumerate(_episodes(piece)):
        if start <= step < stop:
            return f"step {step} (episode {number}, its step {step - start})"
    return f"step {step}"


def _phi_verdict(slot: str, call: Caller, case: Case) -> Verdict:
    try:
        returned = call(slot, [(f"env {s.env}", s.arguments(slot, case.gamma, case.lam)) for s in case.streams])
        failing = [
            i
            for i, (r, e) in enumerate(zip(returned, case.expected, strict=True))
            if _first_difference(e, r) is not None
        ]
    except StudentTimeout:
        raise
    except StudentCodeError:
        failing = list(range(len(case.streams)))  # found again, call by call, below
    if not failing:
        return Verdict(case.name, case.checks, case.steps, True)
    for index in failing:
        piece, returned_piece, expected, error = _shrunk_phi(slot, call, case, case.streams[index])
        inputs = {name: getattr(piece, name).tolist() for name in SLOTS[slot].parameters if hasattr(piece, name)}
        inputs.update(
            {
                name: value
                for name, value in (("gamma", case.gamma), ("lam", case.lam))
                if name in SLOTS[slot].parameters
            }
        )
        if error is not None:
            return Verdict(case.name, case.checks, case.steps, False, error, inputs, expected.tolist())
        assert returned_piece is not None
        first = _first_difference(expected, returned_piece)
        if first is not None:
            return Verdict(case.name, case.checks, case.steps, False, None, inputs, expected.tolist(),
                           returned_piece.tolist(), first, _where(piece, first))  # fmt: skip
    raise AssertionError("a failing stream passed alone")  # the function answers differently each call


def _loss_outcome(call: Caller, log_probs: np.ndarray, advantages: np.ndarray) -> tuple[Any, np.ndarray, str | None]:
    """((value, gradient) or None, expected [value, *gradient], error line or None)."""
    import torch

    from vpg_sim.core.policy_gradient import policy_gradient_loss

    tensor = torch.tensor(log_probs, requires_grad=True)
    loss = policy_gradient_loss(tensor, torch.tensor(advantages))
    (gradient,) = torch.autograd.grad(loss, tensor)
    expected = np.concatenate([[float(loss.detach())], gradient.numpy().astype(np.float64)])
    try:
        [(value, returned_gradient)] = call("loss", [("this input", (log_probs, advantages))])
    except StudentTimeout:
        raise
    except StudentCodeError as error:
        return None, expected, str(error)
    return np.concatenate([[value], returned_gradient]), expected, None


def _loss_verdict(call: Caller, case: Case) -> Verdict:
    returned, expected, error = _loss_outcome(call, case.log_probs, case.advantages)
    if error is None and _first_difference(expected, returned) is None:
        return Verdict(case.name, case.checks, case.steps, True)
    size = 1
    while size < len(case.log_probs):  # the shortest prefix that still fails
        returned, expected, error = _loss_outcome(call, case.log_probs[:size], case.advantages[:size])
        if error is not None or _first_difference(expected, returned) is not None:
            break
        size *= 2
    size = min(size, len(case.log_probs))
    returned, expected, error = _loss_outcome(call, case.log_probs[:size], case.advantages[:size])
    inputs = {"log_probs": case.log_probs[:size].tolist(), "advantages": case.advantages[:size].tolist()}
    if error is not None:
        return Verdict(case.name, case.checks, case.steps, False, error, inputs, expected.tolist())
    first = _first_difference(expected, returned)
    where = None if first is None else ("the loss's value" if first == 0 else f"d loss / d log_probs[{first - 1}]")
    return Verdict(
        case.name, case.checks, case.steps, False, None, inputs, expected.tolist(), returned.tolist(), first, where
    )


def check(slot: str, call: Caller, cases: Sequence[Case] | None = None,
          progress: Callable[[Verdict], None] | None = None) -> list[Verdict]:  # fmt: skip
    """Every case of ``slot`` (or ``cases``) against vpg-sim's own answer, in order. After
    a case that timed out the rest are skipped (each would wait as long again)."""
    verdicts: list[Verdict] = []
    timed_out: str | None = None
    for case in cases if cases is not None else cases_for(slot):
        if timed_out is not None:
            verdict = Verdict(
                case.name, case.checks, case.steps, False, "not run: an earlier case timed out", skipped=True
            )
        else:
            try:
                verdict = _loss_verdict(call, case) if slot == "loss" else _phi_verdict(slot, call, case)
            except StudentTimeout as error:
                timed_out = str(error)
                verdict = Verdict(case.name, case.checks, case.steps, False, timed_out)
        verdicts.append(verdict)
        if progress is not None:
            progress(verdict)
    return verdicts
