"""A student's own functions in the update: their shapes, their checks, our reference.

Three places of the update take a student's plain Python function (``docs/ALGORITHM.md``
steps 2 and 3), each named by a *slot* and taught by the exercise of the same name
(``vpg-sim exercise new reward-to-go``):

- ``advantages`` (exercise ``reward-to-go``): the weights Phi_t of the policy gradient
  are the student's discounted reward-to-go G_t. vpg-sim's own: G_t = A_t + V(s_t) with
  GAE at lambda = 1 (what the ``baseline`` estimator subtracts V(s_t) from, and the
  critic's target at lambda = 1).
- ``gae`` (exercise ``gae``): GAE(gamma, lambda) advantages, used as Phi_t and, plus
  V(s_t), as the critic's targets, as the trainer uses its own GAE.
- ``loss`` (exercise ``loss``): the surrogate loss from log pi(a_t|s_t) and the weights.

Why GAE is the third rather than "discounted returns": a returns function would compute
the very G_t of ``reward-to-go`` again, while GAE is what courses ask next (CS285's
homework 2, every modern implementation) and is the one of the three that uses the
critic's values V(s_t) as well as the bootstrap.

A student never sees our batch layout (NEXT_STEP reset rows, validity masks, (T, N)
arrays). An advantages-like function gets **one env's steps in time order**: its episodes
back to back, the reset rows left out, as 1-D arrays of length T (:class:`Stream`); it is
called once per env of the batch. Its arguments, in order::

    rewards      (T,) float  r_t, the reward of step t
    values       (T,) float  V(s_t), the critic's value of the state step t acted in (gae only)
    next_values  (T,) float  V(s_{t+1}), the critic's value of the state step t led to
    terminated   (T,) bool   step t ended its episode in a terminal state: nothing follows
    truncated    (T,) bool   step t ended its episode at a time limit: the state had a future
    gamma        float
    lam          float       (gae only)

An episode ends at a step with ``terminated`` (no future: nothing bootstrapped) or
``truncated`` (cut by the time limit: its future is estimated by ``next_values[t]``); the
next step begins a new episode. The last step, if it has neither flag, is cut by the end
of the batch: the episode goes on in the next batch, and its future is also
``next_values[T - 1]``.

This module is pure: it imports no student code (the function is handed in, by
``vpg_sim.training.student_code``, which imports it in a process of its own) and runs
no threads.
"""

from __future__ import annotations

import math
import os
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from vpg_sim.core.advantages import gae_advantages, lambda_returns

if TYPE_CHECKING:
    from vpg_sim.core.rollout import RolloutBatch


class StudentCodeError(ValueError):
    """A student's function failed (raised, hung, returned the wrong thing); one line."""


class StudentTimeout(StudentCodeError):
    """A student's function took longer than it may, and was stopped."""


@dataclass(frozen=True)
class Slot:
    """A place in the update that takes a student's function."""

    name: str
    flag: str
    exercise: str
    """The ``vpg-sim exercise new`` starter that teaches it."""
    parameters: tuple[str, ...]
    """The arguments the function is called with, in this order."""
    role: str
    """What it replaces in the update, in a few words."""


SLOTS: dict[str, Slot] = {
    "advantages": Slot(
        "advantages",
        "--advantages",
        "reward-to-go",
        ("rewards", "next_values", "terminated", "truncated", "gamma"),
        "Phi_t, the weights of the policy gradient: your reward-to-go",
    ),
    "gae": Slot(
        "gae",
        "--gae",
        "gae",
        ("rewards", "values", "next_values", "terminated", "truncated", "gamma", "lam"),
        "Phi_t and the critic's targets: your GAE",
    ),
    "loss": Slot(
        "loss",
        "--loss",
        "loss",
        ("log_probs", "advantages"),
        "the policy-gradient loss",
    ),
}
PHI_SLOTS = ("advantages", "gae")
"""Slots whose function gives Phi_t: a run takes at most one of them."""
EXERCISES = {slot.exercise: slot.name for slot in SLOTS.values()}
"""Exercise name -> slot name."""


@dataclass(frozen=True)
class StudentCode:
    """Which of a student's functions a run uses: ``(slot, "module:function")`` pairs, as
    typed on the command line. Never read from a file: only the command line names code."""

    functions: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        slots = [slot for slot, _ in self.functions]
        unknown = sorted(set(slots) - set(SLOTS))
        if unknown:
            raise ValueError(f"unknown slot {unknown[0]!r} (one of {', '.join(SLOTS)})")
        if len(set(slots)) != len(slots):
            raise ValueError("a slot is given twice")
        if sum(slot in PHI_SLOTS for slot in slots) > 1:
            raise ValueError("--advantages and --gae both give Phi_t: give one of them")

    @property
    def slots(self) -> tuple[str, ...]:
        return tuple(slot for slot, _ in self.functions)

    def label(self) -> str:
        """``advantages=mycode:reward_to_go``: what a run trained with it is labelled."""
        return ", ".join(f"{slot}={spec}" for slot, spec in self.functions)


# -- the student's shapes --------------------------------------------------------------


@dataclass(frozen=True)
class Stream:
    """One env's valid steps of a batch in time order: what a student's function sees.
    Every array is ``(T,)``; ``rows`` are the batch rows the steps came from."""

    env: int
    rows: np.ndarray
    rewards: np.ndarray
    values: np.ndarray
    next_values: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    def arguments(self, slot: str, gamma: float, lam: float) -> tuple[Any, ...]:
        """The call's arguments for ``slot`` (``SLOTS[slot].parameters``), fresh copies."""
        named = {
            "rewards": self.rewards,
            "values": self.values,
            "next_values": self.next_values,
            "terminated": self.terminated,
            "truncated": self.truncated,
        }
        scalars = {"gamma": float(gamma), "lam": float(lam)}
        return tuple(named[p].copy() if p in named else scalars[p] for p in SLOTS[slot].parameters)


def batch_streams(batch: RolloutBatch) -> list[Stream]:
    """Each env's valid steps of ``batch`` as a :class:`Stream` (envs without one left out).

    Under NEXT_STEP autoreset the row after an episode's end holds its final observation,
    so ``values[t + 1]`` is V of the state step t led to, whether or not t ended it (and
    ``last_values`` after the batch's last row); that row itself is a reset, not a step.
    """
    next_values = np.concatenate([batch.values[1:], batch.last_values[None, :]], axis=0)
    streams = []
    for env in range(batch.rewards.shape[1]):
        rows = np.flatnonzero(batch.valid[:, env])
        if len(rows):
            streams.append(
                Stream(
                    env=env,
                    rows=rows,
                    rewards=batch.rewards[rows, env].astype(np.float64),
                    values=batch.values[rows, env].astype(np.float64),
                    next_values=next_values[rows, env].astype(np.float64),
                    terminated=batch.terminated[rows, env].astype(bool),
                    truncated=batch.truncated[rows, env].astype(bool),
                )
            )
    return streams


def from_streams(outputs: Sequence[np.ndarray], streams: Sequence[Stream], shape: tuple[int, int]) -> np.ndarray:
    """Per-stream outputs ``(T_n,)`` back into the batch's ``(T, N)`` layout (0 on reset rows)."""
    result = np.zeros(shape, dtype=np.float64)
    for output, stream in zip(outputs, streams, strict=True):
        result[stream.rows, stream.env] = output
    return result


def stream_batch(stream: Stream) -> RolloutBatch:
    """A one-env batch in our layout holding exactly ``stream`` (zero observations): a reset
    row after each end but the last, holding V of the final state. The inverse of
    :func:`batch_streams`, for running vpg-sim's own code on a student's input."""
    from vpg_sim.core.rollout import RolloutBatch  # torch, which a student's process need not load

    ends = np.flatnonzero(stream.terminated | stream.truncated)
    resets = ends[ends < len(stream) - 1]  # after each end but the batch's last step
    length = len(stream) + len(resets)
    rows = np.arange(len(stream)) + np.searchsorted(resets, np.arange(len(stream)), side="left")
    values = np.zeros(length)
    valid = np.zeros(length, dtype=bool)
    valid[rows] = True
    values[rows] = stream.values
    values[rows[resets] + 1] = stream.next_values[resets]

    def column(array: np.ndarray, dtype: type) -> np.ndarray:
        full = np.zeros((length, 1), dtype=dtype)
        full[rows, 0] = array
        return full

    return RolloutBatch(
        observations=np.zeros((length, 1, 1), dtype=np.float32),
        actions=np.zeros((length, 1), dtype=np.int64),
        rewards=column(stream.rewards, np.float64),
        values=values[:, None],
        terminated=column(stream.terminated, bool),
        truncated=column(stream.truncated, bool),
        valid=valid[:, None],
        last_values=stream.next_values[-1:].astype(np.float64),
    )


def reference_on_batch(slot: str, batch: RolloutBatch, gamma: float, lam: float) -> np.ndarray:
    """vpg-sim's own answer for a Phi slot on ``batch``, ``(T, N)`` (reset rows: ignore)."""
    arguments = (batch.rewards, batch.values, batch.last_values, batch.terminated, batch.truncated, gamma)
    if slot == "advantages":
        return lambda_returns(gae_advantages(*arguments, 1.0), batch.values)
    if slot == "gae":
        return gae_advantages(*arguments, lam)
    raise ValueError(f"{slot!r} gives no Phi_t")


# -- calling a student's function ------------------------------------------------------------

Call = tuple[str, tuple[Any, ...]]
"""One call of a student's function: where its input came from (``env 3``), its arguments."""
Caller = Callable[[str, Sequence[Call]], list[Any]]
"""Runs a slot's function on calls and returns their checked results (:func:`run_slot`),
in this process or in a student's process of its own; raises :class:`StudentCodeError`."""


def run_slot(slot: str, function: Callable[..., Any], calls: Sequence[Call]) -> list[Any]:
    """Call ``function`` on each of ``calls`` and check what it returns: for a Phi slot a
    float64 array ``(T,)`` per call; for ``loss`` the pair (loss value, d loss / d log_probs
    ``(B,)``). :class:`StudentCodeError` (one line) at the first call that fails."""
    results = []
    for place, arguments in calls:
        if slot == "loss":
            results.append(loss_and_gradient(function, *arguments, place=place))
            continue
        try:
            returned = function(*arguments)
        except Exception as error:
            raise StudentCodeError(f"raised {described_exception(error, function)} ({place})") from None
        results.append(checked_steps(returned, len(arguments[0]), place))
    return results


def checked_steps(returned: Any, steps: int, place: str) -> np.ndarray:
    """``returned`` as a float64 array of one number per step, or StudentCodeError."""
    if returned is None:
        raise StudentCodeError(f"returned None, not an array (is the return missing?) ({place})")
    if hasattr(returned, "detach") and hasattr(returned, "numpy"):  # a torch tensor
        returned = returned.detach().cpu().numpy()
    if isinstance(returned, str | bytes | dict | set):
        raise StudentCodeError(f"returned a {type(returned).__name__}, not an array of numbers ({place})")
    try:
        array = np.asarray(returned, dtype=np.float64)
    except (TypeError, ValueError):
        raise StudentCodeError(f"returned a {type(returned).__name__}, not an array of numbers ({place})") from None
    if array.shape != (steps,):
        shape = tuple(array.shape)
        raise StudentCodeError(f"returned shape {shape} for {steps} steps; expected ({steps},), one per step ({place})")
    bad = np.flatnonzero(~np.isfinite(array))
    if len(bad):
        raise StudentCodeError(f"returned {array[bad[0]]} at step {bad[0]} ({place})")
    return array


def loss_and_gradient(
    function: Callable[..., Any], log_probs: np.ndarray, advantages: np.ndarray, place: str = "the batch"
) -> tuple[float, np.ndarray]:
    """A student's loss on ``log_probs`` ``(B,)`` and ``advantages`` ``(B,)`` (given as
    float32 tensors, ``log_probs`` requiring grad): its value and its gradient with respect
    to ``log_probs``, ``(B,)`` float64. That gradient is all the policy step needs of a loss
    of these two: the chain rule takes it on to the weights. StudentCodeError (one line)
    for a loss that raises, is not one differentiable number, or is not finite."""
    import torch

    log_prob_tensor = torch.tensor(log_probs, dtype=torch.float32, requires_grad=True)
    advantage_tensor = torch.tensor(advantages, dtype=torch.float32)
    try:
        returned = function(log_prob_tensor, advantage_tensor)
    except Exception as error:
        raise StudentCodeError(f"raised {described_exception(error, function)} ({place})") from None
    if not isinstance(returned, torch.Tensor):
        raise StudentCodeError(
            f"returned a {type(returned).__name__}, not a torch tensor: compute the loss with torch "
            f"operations on log_probs, so that it has a gradient ({place})"
        )
    if returned.numel() != 1:
        raise StudentCodeError(
            f"returned shape {tuple(returned.shape)}: a loss is one number (a mean over the batch) ({place})"
        )
    value = float(returned.detach().reshape(()))
    if not math.isfinite(value):
        raise StudentCodeError(f"returned a loss of {value} ({place})")
    gradient = None
    if returned.requires_grad:
        (gradient,) = torch.autograd.grad(returned.reshape(()), log_prob_tensor, allow_unused=True)
    if gradient is None:
        raise StudentCodeError(
            f"returned a loss that does not depend on log_probs (a .item(), .detach() or numpy on the way?) ({place})"
        )
    gradient_array = gradient.numpy().astype(np.float64)
    if not np.isfinite(gradient_array).all():
        raise StudentCodeError(f"returned a loss whose gradient is not finite ({place})")
    return value, gradient_array


def described_exception(error: BaseException, function: Callable[..., Any]) -> str:
    """``IndexError: index 64 is out of bounds (mycode.py, line 12)``: the exception and the
    line of the student's own file where it happened (not numpy's), on one line."""
    text = " ".join(str(error).split())
    if isinstance(error, NotImplementedError) and not text:
        text = "the body is still to be written"
    if len(text) > 160:
        text = text[:157] + "..."
    own_file = getattr(getattr(function, "__code__", None), "co_filename", None)
    frames = traceback.extract_tb(error.__traceback__)
    mine = [frame for frame in frames if frame.filename == own_file] or frames[-1:]
    where = f" ({os.path.basename(mine[-1].filename)}, line {mine[-1].lineno})" if mine else ""
    return f"{type(error).__name__}{': ' + text if text else ''}{where}"
