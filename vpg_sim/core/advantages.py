"""Step 2 of an update: what weighs each step's grad log pi(a_t|s_t), and the critic's targets.

Arrays are indexed ``[t, env]``: T steps of N environments stepped together.

The policy gradient is E[sum_t grad log pi(a_t|s_t) * Phi_t]; four textbook choices of
Phi_t (the config's ``estimator``) give the same expected gradient with different noise:

- ``total-return``: Phi_t = R(tau) = sum_k gamma^k r_k, the whole episode's discounted
  return, the same for every step of the episode;
- ``reward-to-go``: Phi_t = G_t = sum_{k>=t} gamma^(k-t) r_k: an action cannot change the
  rewards before it;
- ``baseline``: Phi_t = G_t - V(s_t), reward-to-go minus the critic's baseline (GAE with
  lambda = 1);
- ``gae``: Phi_t = sum_k (gamma lambda)^k delta_{t+k}, delta_t = r_t + gamma V(s_{t+1}) -
  V(s_t): GAE(gamma, lambda), trading a little bias for much less variance.

How each handles the ends of episodes: the two without a critic never use one, so they
need whole episodes: their batches are collected as complete episodes (every env reset at
the batch's start, and played to its episode's end once the batch has enough steps; see
``Collector.collect``), no episode is cut by the batch, and a time-limit truncation counts
as the episode's end (R(tau) and G_t are what it earned within the limit: nothing
bootstrapped). ``baseline`` and ``gae`` use fixed-length batches and bootstrap both a
time-limit truncation and the batch's cut with V of the next observation, as GAE does.
"""

from __future__ import annotations

import numpy as np


def gae_advantages(
    rewards: np.ndarray,
    values: np.ndarray,
    last_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    gamma: float,
    gae_lambda: float,
) -> np.ndarray:
    """GAE(gamma, lambda) advantages, shape ``(T, N)``.

    :param rewards: ``(T, N)`` reward r_t of the transition taken at step t.
    :param values: ``(T, N)`` V(s_t) of the observation the action was taken in.
    :param last_values: ``(N,)`` V of the observation that followed the batch's last
        step (the batch cut: bootstrapped, because the episode goes on).
    :param terminated: ``(T, N)`` the transition at t ended the episode in a terminal
        state: nothing follows, so no bootstrap.
    :param truncated: ``(T, N)`` the episode was cut at t by a time limit. That is not
        terminal: the state had a future, so s_{t+1} is bootstrapped with V.

    The next state's value at step t is ``values[t + 1]`` (``last_values`` at the end).
    That is right only under NEXT_STEP autoreset, where the observation stored after
    an episode's last step is its true final observation. The step after that is a
    reset whose advantage is meaningless; ``done_t`` stops it leaking backwards, and
    the trainer masks it out of the losses.

    The recursion, from the last step backwards::

        delta_t = r_t + gamma * V(s_{t+1}) * (1 - terminated_t) - V(s_t)
        A_t     = delta_t + gamma * lambda * (1 - done_t) * A_{t+1}

    lambda = 1 gives the discounted reward-to-go (from t, gamma^0 for r_t) minus
    V(s_t); lambda = 0 gives the one-step TD residual delta_t.
    """
    if rewards.ndim != 2:
        raise ValueError(f"rewards must be (T, N), got shape {rewards.shape}")
    num_steps, num_envs = rewards.shape
    for name, array in (("values", values), ("terminated", terminated), ("truncated", truncated)):
        if array.shape != (num_steps, num_envs):
            raise ValueError(f"{name} has shape {array.shape}, expected {(num_steps, num_envs)}")
    if last_values.shape != (num_envs,):
        raise ValueError(f"last_values has shape {last_values.shape}, expected {(num_envs,)}")

    next_values = np.concatenate([values[1:], last_values[None, :]], axis=0)
    not_terminal = 1.0 - terminated.astype(np.float64)
    not_done = 1.0 - np.logical_or(terminated, truncated).astype(np.float64)
    deltas = rewards + gamma * next_values * not_terminal - values

    advantages = np.zeros((num_steps, num_envs), dtype=np.float64)
    running = np.zeros(num_envs, dtype=np.float64)
    for t in reversed(range(num_steps)):
        running = deltas[t] + gamma * gae_lambda * not_done[t] * running
        advantages[t] = running
    return advantages


def lambda_returns(advantages: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Value targets R_t = A_t + V(s_t), shape ``(T, N)`` (both inputs ``(T, N)``)."""
    if advantages.shape != values.shape:
        raise ValueError(f"advantages {advantages.shape} and values {values.shape} differ in shape")
    return advantages + values


MIN_RELATIVE_TARGET_STD = 0.001
"""Below this spread of the targets (std over mean magnitude) explained variance measures
noise: when a solved CartPole policy runs every episode to the time limit, the targets are
all 99.99 +- 0.001 and a critic right to 0.01% scored -3.6. (Mid-run the spread is 0.7%
and the score a meaningful 0.58.)"""


def explained_variance(predictions: np.ndarray, targets: np.ndarray) -> float:
    """1 - Var(targets - predictions) / Var(targets) for 1-D arrays of equal length.

    1 is a perfect critic, 0 no better than a constant, negative worse; NaN when the
    targets (nearly) do not vary, where the ratio would mean nothing (see
    :data:`MIN_RELATIVE_TARGET_STD`).
    """
    if predictions.shape != targets.shape or predictions.ndim != 1:
        raise ValueError(f"need two equal 1-D shapes, got {predictions.shape} and {targets.shape}")
    target_variance = float(np.var(targets))
    scale = float(np.mean(np.abs(targets))) if len(targets) else 0.0
    if target_variance == 0.0 or target_variance < (MIN_RELATIVE_TARGET_STD * scale) ** 2:
        return float("nan")
    return 1.0 - float(np.var(targets - predictions)) / target_variance


def discounted_returns(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """Realised return-to-go G_t = sum_k gamma^k r_{t+k} of one episode, shape ``(T,)``.

    Discounted from each step t itself (gamma^0 on r_t), with nothing bootstrapped:
    what really happened after s_t, to compare with the critic's V(s_t).
    """
    if rewards.ndim != 1:
        raise ValueError(f"rewards must be 1-D, got shape {rewards.shape}")
    returns = np.zeros(len(rewards), dtype=np.float64)
    running = 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns


ESTIMATORS = ("total-return", "reward-to-go", "baseline", "gae")
"""The choices of Phi_t (see the module's docstring), in order of falling variance."""
CRITIC_FREE = ("total-return", "reward-to-go")
"""Estimators that use no critic: their batches must hold whole episodes."""
TRUNCATION_NOTE = (
    "at a time limit, total-return and reward-to-go follow the return earned within it; "
    "baseline and gae the discounted return past it (V bootstraps the cut)"
)
"""Once episodes are truncated the critic-free pair and the critic pair estimate the
gradients of two different returns, not one expectation with different noise: said in a
line wherever the estimators are set or compared (the K panel, the noise panel)."""


TEXTBOOK_WEIGHTS = {
    "total-return": "R(tau)",
    "reward-to-go": "G_t",
    "baseline": "G_t - V(s_t)",
    "gae": "GAE(gamma, lambda)",
}
"""Each estimator's Phi_t as the textbook writes it, in plain text."""


def estimator_weights(estimator: str, normalize_advantages: bool) -> str:
    """What weighs grad log pi(a_t|s_t) in an update, in plain text. Normalising the
    advantages subtracts the batch's mean (itself a baseline: "total-return" is then not
    the textbook's R(tau)) and divides by the batch's std."""
    textbook = TEXTBOOK_WEIGHTS[estimator]
    return f"({textbook} - batch mean) / batch std" if normalize_advantages else f"{textbook}, as the textbook"


def rewards_to_go(rewards: np.ndarray, done: np.ndarray, gamma: float) -> np.ndarray:
    """G_t = sum_{k>=t} gamma^(k-t) r_k within each episode, ``(T, N)`` from ``(T, N)``
    rewards and ends (``done``: terminated or truncated); nothing bootstrapped."""
    returns = np.zeros(rewards.shape, dtype=np.float64)
    running = np.zeros(rewards.shape[1], dtype=np.float64)
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * (1.0 - done[t]) * running
        returns[t] = running
    return returns


def episode_returns(rewards: np.ndarray, done: np.ndarray, valid: np.ndarray, gamma: float) -> np.ndarray:
    """R(tau) of the episode each step belongs to, ``(T, N)``: the reward-to-go at the
    episode's first step, repeated over its steps. An episode begins at the batch's first
    step and at the first valid step after an end (under NEXT_STEP autoreset the step
    right after an end is the reset, not valid)."""
    to_go = rewards_to_go(rewards, done, gamma)
    previous_ended = np.concatenate([np.ones((1, rewards.shape[1]), dtype=bool), ~valid[:-1] | done[:-1]])
    starts = valid & previous_ended
    whole = np.zeros_like(to_go)
    current = np.zeros(rewards.shape[1], dtype=np.float64)
    for t in range(len(rewards)):
        current = np.where(starts[t], to_go[t], current)
        whole[t] = current
    return whole


def estimated_advantages(
    estimator: str,
    rewards: np.ndarray,
    values: np.ndarray,
    last_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    valid: np.ndarray,
    gamma: float,
    gae_lambda: float,
) -> np.ndarray:
    """Phi_t of ``estimator`` for every step, ``(T, N)`` (arguments as :func:`gae_advantages`;
    ``valid`` ``(T, N)`` marks real steps). ``total-return`` and ``reward-to-go`` expect whole
    episodes (see the module's docstring) and ignore ``values`` and ``last_values``."""
    if estimator == "gae":
        return gae_advantages(rewards, values, last_values, terminated, truncated, gamma, gae_lambda)
    if estimator == "baseline":
        return gae_advantages(rewards, values, last_values, terminated, truncated, gamma, 1.0)
    done = (terminated | truncated).astype(np.float64)
    if estimator == "reward-to-go":
        return rewards_to_go(rewards, done, gamma)
    if estimator == "total-return":
        return episode_returns(rewards, done.astype(bool), valid, gamma)
    raise ValueError(f"unknown estimator {estimator!r} (one of {', '.join(ESTIMATORS)})")
