"""The seed wall: every agent of a group playing its newest policy on a small CartPole of
its own, in real time, and whether it is still learning, solved, or fell back after solving.

A band summarises the seeds; the wall shows them. One batched CartPole (one copy per
agent, ``core/population/envs.py``'s) and one batched forward pass of the agents' policies
per step: 32 agents cost the window ~0.1 ms a step, where 32 stages would cost 32 envs
and 32 networks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from vpg_sim.core.population.envs import BatchedCartPole

STEPS_PER_SECOND = 50.0
"""CartPole's own rate (its tau is 0.02 s): the wall plays in real time."""
MAX_STEPS_PER_FRAME = 8
WALL_SEED_OFFSET = 20_000
"""The wall's carts start from their own seeds, not the training envs' (as the stage's do)."""

LEARNING, SOLVED, FELL_BACK = "learning", "solved", "fell back"
STATES = (LEARNING, SOLVED, FELL_BACK)
"""An agent has not reached the threshold yet; is at or above it now; or reached it once
and is below it now (collapsed after solving)."""


def agent_states(steps_to_solve: Sequence[int | None], means: Sequence[float], threshold: float | None) -> list[str]:
    """Each agent's state (:data:`STATES`) from its solve point (None: never reached) and
    the mean of its last 100 returns now; with no threshold every agent is learning."""
    states = []
    for solved_at, mean in zip(steps_to_solve, means, strict=True):
        if threshold is None or solved_at is None:
            states.append(LEARNING)
        elif np.isfinite(mean) and mean >= threshold:
            states.append(SOLVED)
        else:
            states.append(FELL_BACK)
    return states


def policy_layers(states: Sequence[Mapping[str, torch.Tensor | np.ndarray]]) -> list[tuple[np.ndarray, np.ndarray]]:
    """M agents' policy networks (each an ``nn.Sequential`` state dict: Linear layers and
    their activations) as stacked layers: per layer a weight ``(M, in, out)`` and a bias
    ``(M, out)``, float64."""
    first = states[0]
    names = sorted({key.rsplit(".", 1)[0] for key in first}, key=lambda prefix: int(prefix.rsplit(".", 1)[-1]))
    layers = []
    for prefix in names:
        weights = np.stack([np.asarray(state[f"{prefix}.weight"], dtype=np.float64).T for state in states])
        biases = np.stack([np.asarray(state[f"{prefix}.bias"], dtype=np.float64) for state in states])
        layers.append((weights, biases))
    return layers


def logits_of(layers: list[tuple[np.ndarray, np.ndarray]], observations: np.ndarray) -> np.ndarray:
    """Each agent's policy logits ``(M, actions)`` for its own observation ``(M, obs)``
    (tanh between layers, as the default policy has)."""
    hidden = observations.astype(np.float64)
    for index, (weights, biases) in enumerate(layers):
        hidden = np.matmul(hidden[:, None, :], weights)[:, 0, :] + biases
        if index < len(layers) - 1:
            hidden = np.tanh(hidden)
    return hidden


class SeedWall:
    """One group's agents, each on its own CartPole, playing its newest policy (sampled).

    :param seeds: the group's seeds, in its agents' order.
    """

    def __init__(self, seeds: Sequence[int]) -> None:
        self.seeds = tuple(seeds)
        self.envs = BatchedCartPole(1, [seed + WALL_SEED_OFFSET for seed in seeds])
        self.layers: list[tuple[np.ndarray, np.ndarray]] | None = None
        self._random = np.random.default_rng(WALL_SEED_OFFSET + (seeds[0] if seeds else 0))
        self._owed = 0.0
        self.episode_steps = np.zeros(len(self.seeds), dtype=np.int64)
        """Steps each cart has stood in its current episode."""

    def offer(self, policies: Sequence[Mapping[str, torch.Tensor | np.ndarray]]) -> None:
        """Play these policies (one per agent, in order) from the next step on."""
        if len(policies) == len(self.seeds):
            self.layers = policy_layers(policies)

    def advance(self, seconds: float) -> None:
        """Play ``seconds`` of real time (at most :data:`MAX_STEPS_PER_FRAME` steps)."""
        if self.layers is None:
            return
        self._owed += seconds * STEPS_PER_SECOND
        steps = min(int(self._owed), MAX_STEPS_PER_FRAME)
        self._owed = min(self._owed - steps, 1.0)
        for _ in range(steps):
            logits = logits_of(self.layers, self.envs.observations()[:, 0])
            probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
            probabilities /= probabilities.sum(axis=1, keepdims=True)
            actions = (self._random.random(len(self.seeds)) < probabilities[:, 1]).astype(np.int64)
            _, _, terminated, truncated = self.envs.step(actions[:, None])
            ended = (terminated | truncated)[:, 0]
            self.episode_steps = np.where(ended, 0, self.episode_steps + 1)

    def states(self) -> np.ndarray:
        """Each cart's state ``(M, 4)``: position, velocity, pole angle, angular velocity."""
        return self.envs.observations()[:, 0]
