"""Step 1 for a population: M agents' batches collected in one loop.

What :class:`~vpg_sim.core.rollout.Collector` does for one agent, for M at once: agent
i's envs, action noise and episode records are its own (the same streams a lone
``VPGTrainer`` with its seed would draw), while the policies' forward passes, the env
physics and the bookkeeping are one call each per step for all agents.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from vpg_sim.core.population_envs import PopulationEnvs
from vpg_sim.core.rollout import RECENT_EPISODES
from vpg_sim.core.stacked import StackedMLP


@dataclass
class Episodes:
    """One agent's finished episodes, as ``Collector`` keeps them."""

    recent_returns: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=RECENT_EPISODES))
    recent_lengths: collections.deque[int] = field(default_factory=lambda: collections.deque(maxlen=RECENT_EPISODES))
    count: int = 0
    """Episodes finished in the whole run."""
    new_returns: list[float] = field(default_factory=list)
    """Returns finished since the last ``take_new_returns``."""

    @property
    def mean_return_100(self) -> float:
        return float(np.mean(self.recent_returns)) if self.recent_returns else math.nan

    def take_new_returns(self) -> list[float]:
        new, self.new_returns = self.new_returns, []
        return new


@dataclass
class PopulationBatch:
    """One batch of every running agent, arrays indexed ``[t, agent, env]`` (T, M, N).

    Agent i's slice ``[:, i]`` is exactly the ``RolloutBatch`` its lone trainer collects.
    """

    observations: np.ndarray  # (T, M, N, obs_dim) float32
    actions: np.ndarray  # (T, M, N) int64
    rewards: np.ndarray  # (T, M, N) float64, 0 where not valid
    values: np.ndarray  # (T, M, N) float64: V(s_t) before this update
    terminated: np.ndarray  # (T, M, N) bool
    truncated: np.ndarray  # (T, M, N) bool
    valid: np.ndarray  # (T, M, N) bool: False on an autoreset step (its action was ignored)
    last_values: np.ndarray  # (M, N) float64: V of the observation after the last step


class PopulationCollector:
    """The running agents' envs, the observation each copy is in, and their episodes.

    :param envs: M agents' envs (``population_envs``), already reset with their seeds.
    :param action_rngs: per agent, the generator of its action noise.
    :param episodes: per agent, its episode record (kept by the caller after an agent stops).
    """

    def __init__(self, envs: PopulationEnvs, action_rngs: Sequence[np.random.Generator], episodes: Sequence[Episodes]):
        self.envs = envs
        self.action_rngs = list(action_rngs)
        self.episodes = list(episodes)
        self.num_envs = envs.num_envs
        self._observations = envs.observations()
        shape = self._observations.shape[:2]
        self._resetting = np.zeros(shape, dtype=bool)
        self._running_return = np.zeros(shape)
        self._running_length = np.zeros(shape, dtype=np.int64)

    def collect(
        self, policy: StackedMLP, value: StackedMLP, value_scale: tuple[torch.Tensor, torch.Tensor], num_steps: int
    ) -> PopulationBatch:
        """Step every copy ``num_steps`` times with ``policy``; V(s) from ``value``.

        :param value_scale: the critics' target mean and std, each ``(M,)``:
            V(s) = mean + std * value(s) (see ``ValueNet``).
        """
        count, num_envs, obs_dim = self._observations.shape
        # Each agent's Gumbel noise for the whole batch in one draw: the same numbers, in the
        # same order, as the lone trainer's T draws of (N, n_actions) (a Generator fills
        # arrays in C order from one stream).
        n_actions = int(self.envs.single_action_space.n)
        noise = np.stack([rng.gumbel(size=(num_steps, num_envs, n_actions)) for rng in self.action_rngs], axis=1)
        shape = (num_steps, count, num_envs)
        batch = PopulationBatch(
            observations=np.zeros((*shape, obs_dim), dtype=np.float32),
            actions=np.zeros(shape, dtype=np.int64),
            rewards=np.zeros(shape),
            values=np.zeros(shape),
            terminated=np.zeros(shape, dtype=bool),
            truncated=np.zeros(shape, dtype=bool),
            valid=np.zeros(shape, dtype=bool),
            last_values=np.zeros((count, num_envs)),
        )
        for t in range(num_steps):
            with torch.no_grad():
                logits = policy(torch.from_numpy(self._observations)).numpy()
            actions = np.argmax(logits + noise[t], axis=-1)  # the Gumbel-max trick, as CategoricalPolicy.sample
            next_obs, rewards, terminated, truncated = self.envs.step(actions)
            valid = ~self._resetting
            batch.observations[t] = self._observations
            batch.actions[t] = actions
            batch.rewards[t] = np.where(valid, rewards, 0.0)
            batch.terminated[t] = terminated
            batch.truncated[t] = truncated
            batch.valid[t] = valid
            self._track_episodes(batch.rewards[t], valid, terminated | truncated)
            self._resetting = terminated | truncated
            self._observations = next_obs

        # V(s_t) of every agent's batch and its cut in one batched pass, as the lone collector does.
        all_observations = np.concatenate([batch.observations, self._observations[None]], axis=0)
        per_agent = torch.from_numpy(np.ascontiguousarray(all_observations.transpose(1, 0, 2, 3)))
        mean, std = value_scale
        with torch.no_grad():
            normalized = value(per_agent.reshape(count, -1, obs_dim)).squeeze(-1)
            all_values = (mean[:, None] + std[:, None] * normalized).numpy()
        all_values = all_values.reshape(count, num_steps + 1, num_envs).transpose(1, 0, 2)
        batch.values[:] = all_values[:-1]
        batch.last_values[:] = all_values[-1]
        return batch

    def _track_episodes(self, rewards: np.ndarray, valid: np.ndarray, done: np.ndarray) -> None:
        self._running_return += rewards
        self._running_length += valid
        for agent, env_index in np.argwhere(done):  # agent by agent, each in env order: as Collector
            episodes = self.episodes[agent]
            episode_return = float(self._running_return[agent, env_index])
            episodes.recent_returns.append(episode_return)
            episodes.recent_lengths.append(int(self._running_length[agent, env_index]))
            episodes.new_returns.append(episode_return)
            episodes.count += 1
        self._running_return[done] = 0.0
        self._running_length[done] = 0

    def keep(self, agents: Sequence[int]) -> None:
        """Keep only ``agents`` (positions in the current order), in that order."""
        self.envs.keep(agents)
        index = list(agents)
        self.action_rngs = [self.action_rngs[agent] for agent in index]
        self.episodes = [self.episodes[agent] for agent in index]
        self._observations = self._observations[index]
        self._resetting = self._resetting[index]
        self._running_return = self._running_return[index]
        self._running_length = self._running_length[index]

    def close(self) -> None:
        self.envs.close()
