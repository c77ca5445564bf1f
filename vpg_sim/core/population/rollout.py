"""Step 1 for a population: M agents' batches collected in one loop.

What :class:`~vpg_sim.core.rollout.Collector` does for one agent, for M at once: agent
i's envs, action noise and episode records are its own (the same streams a lone
``VPGTrainer`` with its seed would draw), while the policies' forward passes, the env
physics and the bookkeeping are one call each per step for all agents.

An agent whose estimator uses no critic (``total-return``, ``reward-to-go``) collects whole
episodes, as ``Collector.collect_episodes``: its envs reset, and once its batch holds
``steps_per_update`` steps each env plays its episode to its end and then stops. Its batch
may be longer than the fixed-length ones: the loop runs until the last agent is done, and
an agent that is done stands still (its envs not stepped, its noise not drawn: exactly
what its lone trainer would have done next), its rows padded as invalid steps.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from vpg_sim.core.population.envs import PopulationEnvs
from vpg_sim.core.population.stacked import StackedMLP
from vpg_sim.core.rollout import MAX_EPISODE_STEPS, RECENT_EPISODES


@dataclass
class Episodes:
    """One agent's finished episodes, as ``Collector`` keeps them."""

    recent_returns: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=RECENT_EPISODES))
    recent_lengths: collections.deque[int] = field(default_factory=lambda: collections.deque(maxlen=RECENT_EPISODES))
    count: int = 0
    """Episodes finished in the whole run."""
    new_returns: list[float] = field(default_factory=list)
    """Returns finished since the last ``take_new_returns``."""
    env_steps: int = 0
    """Env steps of the agent's batches collected so far (its trainer's count)."""
    new_end_steps: list[int] = field(default_factory=list)
    """For each of ``new_returns``: the agent's env steps when that episode ended (its
    trainer's count at that step, mid-batch: a comparison's steps to solve)."""

    @property
    def mean_return_100(self) -> float:
        return float(np.mean(self.recent_returns)) if self.recent_returns else math.nan

    def take_new_returns(self) -> list[float]:
        return self.take_new_episodes()[0]

    def take_new_episodes(self) -> tuple[list[float], list[int]]:
        """The returns finished since the last take, oldest first, and the env steps at each one's end."""
        new = self.new_returns, self.new_end_steps
        self.new_returns, self.new_end_steps = [], []
        return new


@dataclass
class PopulationBatch:
    """One batch of every running agent, arrays indexed ``[t, agent, env]`` (T, M, N).

    Agent i's slice ``[:steps[i], i]`` is exactly the ``RolloutBatch`` its lone trainer
    collects; the rows after it (an agent done before the longest batch) are invalid, and
    hold the observation the agent stands in (so ``values[steps[i], i]`` is its
    ``last_values``).
    """

    observations: np.ndarray  # (T, M, N, obs_dim) float32
    actions: np.ndarray  # (T, M, N) int64
    rewards: np.ndarray  # (T, M, N) float64, 0 where not valid
    values: np.ndarray  # (T, M, N) float64: V(s_t) before this update
    terminated: np.ndarray  # (T, M, N) bool
    truncated: np.ndarray  # (T, M, N) bool
    valid: np.ndarray  # (T, M, N) bool: False on an autoreset step (its action was ignored)
    last_values: np.ndarray  # (M, N) float64: V of the observation after the last step
    steps: np.ndarray  # (M,) int64: the rows T_i of each agent's own batch
    env_steps: np.ndarray  # (M,) int64: the env steps each agent's batch cost (its envs' resets included)


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
        self._needs_reset = np.zeros(shape[0], dtype=bool)
        """Per agent: its last batch was whole episodes, whose envs' later episodes were not recorded."""

    def collect(
        self,
        policy: StackedMLP,
        value: StackedMLP,
        value_scale: tuple[torch.Tensor, torch.Tensor],
        num_steps: int,
        whole_episodes: Sequence[bool] | None = None,
    ) -> PopulationBatch:
        """Step every copy ``num_steps`` times with ``policy``; V(s) from ``value``. The
        ``whole_episodes`` agents (``(M,)`` bool) collect whole episodes of at least
        ``num_steps * N`` steps instead (see the module's docstring).

        :param value_scale: the critics' target mean and std, each ``(M,)``:
            V(s) = mean + std * value(s) (see ``ValueNet``).
        """
        count, num_envs, obs_dim = self._observations.shape
        whole = np.zeros(count, dtype=bool) if whole_episodes is None else np.asarray(whole_episodes, dtype=bool)
        # As Collector: a batch of whole episodes starts from fresh ones, and so does the
        # first fixed-length batch after one (the episodes it left were not recorded).
        self._reset_agents(np.flatnonzero(whole | self._needs_reset))
        self._needs_reset = whole.copy()
        min_steps = num_steps * num_envs
        limit = self.envs.max_episode_steps or MAX_EPISODE_STEPS
        capacity = max(num_steps, -(-min_steps // num_envs) + limit + 2) if whole.any() else num_steps
        # Each fixed-length agent's Gumbel noise for the whole batch in one draw: the same
        # numbers, in the same order, as the lone trainer's T draws of (N, n_actions) (a
        # Generator fills arrays in C order from one stream). A whole-episode agent draws
        # step by step: a draw past its batch's end would shift all its later ones.
        n_actions = int(self.envs.single_action_space.n)
        noise = np.zeros((num_steps, count, num_envs, n_actions))
        for agent in np.flatnonzero(~whole):
            noise[:, agent] = self.action_rngs[agent].gumbel(size=(num_steps, num_envs, n_actions))
        shape = (capacity, count, num_envs)
        batch = PopulationBatch(
            observations=np.zeros((*shape, obs_dim), dtype=np.float32),
            actions=np.zeros(shape, dtype=np.int64),
            rewards=np.zeros(shape),
            values=np.zeros(shape),
            terminated=np.zeros(shape, dtype=bool),
            truncated=np.zeros(shape, dtype=bool),
            valid=np.zeros(shape, dtype=bool),
            last_values=np.zeros((count, num_envs)),
            steps=np.zeros(count, dtype=np.int64),
            env_steps=np.zeros(count, dtype=np.int64),
        )
        if whole.any():
            rows, active = self._collect_whole_episodes(policy, batch, noise, whole, num_steps)
            self._cut_unfinished(batch, whole & active.any(axis=1), active)
        else:
            rows = self._collect_fixed(policy, batch, noise)
        for episodes, steps in zip(self.episodes, batch.env_steps, strict=True):
            episodes.env_steps += int(steps)
        self._fill_values(batch, rows, value, value_scale)
        return batch

    def _collect_fixed(self, policy: StackedMLP, batch: PopulationBatch, noise: np.ndarray) -> int:
        """Every agent of fixed length (the usual case): ``len(noise)`` steps of every copy.
        The loop records what the envs return; which steps were valid (not an autoreset),
        the rewards and ends they count and the episodes they finished are worked out for
        the whole batch after it (a third of a step's time, when done step by step)."""
        steps = len(noise)
        for t in range(steps):
            logits = policy(torch.from_numpy(self._observations)).numpy()  # no autograd: see StackedMLP
            actions = (logits + noise[t]).argmax(axis=-1)  # the Gumbel-max trick, as CategoricalPolicy.sample
            batch.observations[t] = self._observations
            batch.actions[t] = actions
            self._observations, batch.rewards[t], batch.terminated[t], batch.truncated[t] = self.envs.step(actions)
        ended = batch.terminated | batch.truncated
        batch.valid[0] = ~self._resetting
        np.logical_not(ended[:-1], out=batch.valid[1:])
        self._resetting = ended[-1]
        batch.rewards[~batch.valid] = 0.0
        batch.terminated &= batch.valid
        batch.truncated &= batch.valid
        num_envs = self._observations.shape[1]
        in_batch = np.broadcast_to(((np.arange(steps) + 1) * num_envs)[:, None], (steps, len(self.episodes)))
        self._track_episodes(batch.rewards, batch.valid, batch.terminated | batch.truncated, in_batch)
        batch.steps[:] = steps
        batch.env_steps[:] = steps * num_envs
        return steps

    def _collect_whole_episodes(
        self, policy: StackedMLP, batch: PopulationBatch, noise: np.ndarray, whole: np.ndarray, num_steps: int
    ) -> tuple[int, np.ndarray]:
        """Some agents collect whole episodes (see the module's docstring): step by step,
        each agent until its batch is done. Returns the rows stepped and which copies were
        still in their batch ``(M, N)``."""
        capacity = len(batch.rewards)
        count, num_envs, n_actions = noise.shape[1:]
        min_steps = num_steps * num_envs
        active = np.ones((count, num_envs), dtype=bool)  # copies still in their batch
        collected = np.zeros(count, dtype=np.int64)
        t = 0
        while t < capacity:
            stepping = np.where(whole, active.any(axis=1), t < num_steps)
            if not stepping.any():
                break
            logits = policy(torch.from_numpy(self._observations)).numpy()
            step_noise = noise[t] if t < num_steps else np.zeros_like(noise[0])
            for agent in np.flatnonzero(whole & stepping):
                step_noise[agent] = self.action_rngs[agent].gumbel(size=(num_envs, n_actions))
            actions = np.argmax(logits + step_noise, axis=-1)
            was_resetting = self._resetting
            playing = active & stepping[:, None]
            batch.env_steps += playing.sum(axis=1)
            next_obs, rewards, terminated, truncated = self.envs.step(actions, None if stepping.all() else stepping)
            valid = ~was_resetting & playing
            batch.observations[t] = self._observations
            batch.actions[t] = actions
            batch.rewards[t] = np.where(valid, rewards, 0.0)
            batch.terminated[t] = terminated & valid
            batch.truncated[t] = truncated & valid
            batch.valid[t] = valid
            ended = batch.terminated[t] | batch.truncated[t]
            self._track_episodes(batch.rewards[t : t + 1], valid[None], ended[None], batch.env_steps[None])
            self._observations = next_obs
            t += 1
            self._resetting = np.where(stepping[:, None], terminated | truncated, was_resetting)
            batch.steps += stepping
            collected += valid.sum(axis=1)
            # Once a whole-episode batch is big enough, each copy stops at its episode's
            # end (or at once, between two episodes).
            full = whole & (collected >= min_steps)
            active[full] &= ~(ended | was_resetting)[full]
        return t, active

    def _cut_unfinished(self, batch: PopulationBatch, cut: np.ndarray, active: np.ndarray) -> None:
        """As ``Collector.collect_episodes`` for episodes with no end in sight: the ``cut``
        agents' still-active copies are said to be truncated at their last row, and recorded."""
        for agent in np.flatnonzero(cut):
            last = batch.steps[agent] - 1
            batch.truncated[last, agent] |= active[agent] & batch.valid[last, agent]
            done = np.zeros_like(active)
            done[agent] = active[agent]
            rows = (1, *active.shape)
            self._track_episodes(np.zeros(rows), np.zeros(rows, dtype=bool), done[None], batch.env_steps[None])

    def _fill_values(
        self, batch: PopulationBatch, rows: int, value: StackedMLP, value_scale: tuple[torch.Tensor, torch.Tensor]
    ) -> None:
        """Trim ``batch`` to ``rows`` and fill V(s_t) and the cut's V of every agent in one
        batched pass, as the lone collector does (an agent's padding rows hold the
        observation it stands in: their V is its last value)."""
        for name in ("observations", "actions", "rewards", "values", "terminated", "truncated", "valid"):
            setattr(batch, name, getattr(batch, name)[:rows])
        count, num_envs, obs_dim = self._observations.shape
        all_observations = np.concatenate([batch.observations, self._observations[None]], axis=0)
        per_agent = torch.from_numpy(np.ascontiguousarray(all_observations.transpose(1, 0, 2, 3)))
        mean, std = value_scale
        with torch.no_grad():
            normalized = value(per_agent.reshape(count, -1, obs_dim)).squeeze(-1)
            all_values = (mean[:, None] + std[:, None] * normalized).numpy()
        all_values = all_values.reshape(count, rows + 1, num_envs).transpose(1, 0, 2)
        batch.values[:] = all_values[:-1]
        batch.last_values[:] = all_values[-1]

    def _track_episodes(self, rewards: np.ndarray, valid: np.ndarray, done: np.ndarray, in_batch: np.ndarray) -> None:
        """Rows ``(T, M, N)`` of steps in order: each copy's running return and length, and
        the episodes ending (agent by agent, each in env order, step by step: as Collector),
        each at its agent's env steps so far plus ``in_batch`` ``(T, M)``: the batch's env
        steps up to that row."""
        ends = done.any(axis=(1, 2))
        for t in range(len(rewards)):
            self._running_return += rewards[t]  # step by step: the lone collector's float sums
            self._running_length += valid[t]
            if not ends[t]:
                continue
            for agent, env_index in np.argwhere(done[t]):
                episodes = self.episodes[agent]
                episode_return = float(self._running_return[agent, env_index])
                episodes.recent_returns.append(episode_return)
                episodes.recent_lengths.append(int(self._running_length[agent, env_index]))
                episodes.new_returns.append(episode_return)
                episodes.new_end_steps.append(episodes.env_steps + int(in_batch[t, agent]))
                episodes.count += 1
            self._running_return[done[t]] = 0.0
            self._running_length[done[t]] = 0

    def _reset_agents(self, agents: np.ndarray) -> None:
        """``agents``' envs at the start of fresh episodes; their episodes in progress are dropped."""
        if not len(agents):
            return
        self.envs.reset_agents(agents)
        self._observations = self.envs.observations().copy()
        self._resetting[agents] = False
        self._running_return[agents] = 0.0
        self._running_length[agents] = 0

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
        self._needs_reset = self._needs_reset[index]

    def close(self) -> None:
        self.envs.close()
