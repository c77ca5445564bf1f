"""Step 1 of an update: collect a batch of experience from N envs stepped together."""

from __future__ import annotations

import collections
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from vpg_sim.core.envs import clip_to_box, make_vector_env, restore_vector_env_state, vector_env_state
from vpg_sim.core.networks import Policy, ValueNet

RECENT_EPISODES = 100
"""Episodes in the moving window for mean/max return and the solved test."""
MAX_EPISODE_STEPS = 10_000
"""For whole-episode batches of an env without a time limit: how far past the budget an
episode may run before it is cut (and marked truncated)."""


class TrainingInterrupted(Exception):
    """Raised inside an update when its ``should_stop`` callback says so."""


@dataclass
class RolloutBatch:
    """One batch of experience, arrays indexed ``[t, env]`` with T steps and N envs.

    ``valid[t, n]`` is False where env n was auto-resetting at step t (NEXT_STEP
    autoreset): that step's action was ignored, so it is no experience at all.
    """

    observations: np.ndarray  # (T, N, obs_dim) float32
    actions: np.ndarray  # (T, N) int64, or (T, N, act_dim) float32 unclipped samples
    rewards: np.ndarray  # (T, N)
    values: np.ndarray  # (T, N) V(s_t) before this update
    terminated: np.ndarray  # (T, N) bool
    truncated: np.ndarray  # (T, N) bool
    valid: np.ndarray  # (T, N) bool
    last_values: np.ndarray  # (N,) V(s_T) after the last step: bootstraps the cut


class Collector:
    """``num_envs`` copies of an env, the observation each is in, and the episodes so far.

    :param action_rng: draws the actions' noise, so that a run repeats exactly even when
        another thread uses torch's global generator.
    """

    def __init__(self, env_id: str, num_envs: int, seed: int, action_rng: np.random.Generator) -> None:
        self.envs = make_vector_env(env_id, num_envs, seed)
        self.observation_space = self.envs.single_observation_space
        self.action_space = self.envs.single_action_space
        self.num_envs = num_envs
        self.action_rng = action_rng
        observations, _ = self.envs.reset(seed=seed)
        self._observations = observations.astype(np.float32)
        self._resetting = np.zeros(num_envs, dtype=bool)
        self._running_return = np.zeros(num_envs)
        self._running_length = np.zeros(num_envs, dtype=np.int64)
        self.recent_returns: collections.deque[float] = collections.deque(maxlen=RECENT_EPISODES)
        self.recent_lengths: collections.deque[int] = collections.deque(maxlen=RECENT_EPISODES)
        """Returns and lengths of the last 100 finished episodes (the moving window)."""
        self.episodes = 0
        """Episodes finished in the whole run, resumed runs included."""
        self._new_returns: list[float] = []
        self._needs_reset = False
        """After a batch of whole episodes: the envs' episodes in progress were not recorded."""
        self.env_steps = 0

    def collect(
        self, policy: Policy, value_net: ValueNet, num_steps: int, should_stop: Callable[[], bool] | None = None
    ) -> RolloutBatch:
        """Step every env ``num_steps`` times with ``policy``; V(s) from ``value_net``.

        The batch's last step cuts episodes that go on in the next batch (GAE bootstraps
        the cut with ``last_values``). After a batch of whole episodes the envs are reset
        first: the episodes they had begun were not recorded.
        """
        if self._needs_reset:
            self._reset_all()
        batch = self._empty_batch(num_steps)
        for t in range(num_steps):
            if should_stop is not None and should_stop():
                raise TrainingInterrupted
            self._step(policy, batch, t, active=None)
        return self._finish_batch(batch, num_steps, value_net, taken=num_steps * self.num_envs)

    def collect_episodes(
        self, policy: Policy, value_net: ValueNet, min_steps: int, should_stop: Callable[[], bool] | None = None
    ) -> RolloutBatch:
        """A batch of whole episodes, for the estimators that use no critic: every env is
        reset, and once the batch holds ``min_steps`` steps each env plays its episode to
        its end and then stops (its later steps are marked invalid). No episode is cut; a
        time-limit truncation is the episode's end. An env without a time limit is cut
        at :data:`MAX_EPISODE_STEPS` steps past the budget, its episode's end marked as a
        truncation."""
        self._reset_all()
        limit = self.envs.spec.max_episode_steps if self.envs.spec is not None else None
        capacity = -(-min_steps // self.num_envs) + (limit or MAX_EPISODE_STEPS) + 2
        batch = self._empty_batch(capacity)
        active = np.ones(self.num_envs, dtype=bool)
        collected = taken = 0
        t = 0
        while active.any() and t < capacity:
            if should_stop is not None and should_stop():
                raise TrainingInterrupted
            resetting = self._resetting.copy()
            taken += int(active.sum())
            collected += self._step(policy, batch, t, active)
            if collected >= min_steps:
                # Once the batch is big enough, an env stops at its episode's end (or at
                # once, between two episodes).
                active &= ~(batch.terminated[t] | batch.truncated[t] | resetting)
            t += 1
        if active.any():  # episodes without an end in sight: cut, and said to be truncated
            batch.truncated[t - 1] |= active & batch.valid[t - 1]
            self._track_episodes(np.zeros(self.num_envs), np.zeros(self.num_envs, dtype=bool), active)
        self._needs_reset = True
        return self._finish_batch(batch, t, value_net, taken)

    def _empty_batch(self, num_steps: int) -> RolloutBatch:
        num_envs = self.num_envs
        obs_dim = self.observation_space.shape[0]
        discrete = isinstance(self.action_space, spaces.Discrete)
        action_shape = (num_steps, num_envs) if discrete else (num_steps, num_envs, self.action_space.shape[0])
        return RolloutBatch(
            observations=np.zeros((num_steps, num_envs, obs_dim), dtype=np.float32),
            actions=np.zeros(action_shape, dtype=np.int64 if discrete else np.float32),
            rewards=np.zeros((num_steps, num_envs), dtype=np.float64),
            values=np.zeros((num_steps, num_envs), dtype=np.float64),
            terminated=np.zeros((num_steps, num_envs), dtype=bool),
            truncated=np.zeros((num_steps, num_envs), dtype=bool),
            valid=np.zeros((num_steps, num_envs), dtype=bool),
            last_values=np.zeros(num_envs, dtype=np.float64),
        )

    def _step(self, policy: Policy, batch: RolloutBatch, t: int, active: np.ndarray | None) -> int:
        """Step every env once and record row ``t``; envs not ``active`` record nothing
        (their step is invalid). Returns the number of valid steps."""
        actions = policy.sample(torch.from_numpy(self._observations), self.action_rng)
        next_obs, rewards, terminated, truncated, _ = self.envs.step(clip_to_box(actions, self.action_space))
        valid = ~self._resetting if active is None else ~self._resetting & active
        batch.observations[t] = self._observations
        batch.actions[t] = actions
        batch.rewards[t] = np.where(valid, rewards, 0.0)
        batch.terminated[t] = terminated & valid
        batch.truncated[t] = truncated & valid
        batch.valid[t] = valid
        self._track_episodes(batch.rewards[t], valid, batch.terminated[t] | batch.truncated[t])
        self._resetting = terminated | truncated
        self._observations = next_obs.astype(np.float32)
        return int(valid.sum())

    def _finish_batch(self, batch: RolloutBatch, num_steps: int, value_net: ValueNet, taken: int) -> RolloutBatch:
        """Trim to ``num_steps`` rows and fill V(s_t) and the cut's V in one forward pass:
        the critic does not change during collection, and one batched call costs less than
        T small ones. ``taken``: the env steps this batch cost (reset steps included)."""
        if num_steps < len(batch.rewards):
            # Every array but last_values, which is per env (N,), not per step.
            rows = {name: getattr(batch, name)[:num_steps] for name in RolloutBatch.__dataclass_fields__}
            batch = RolloutBatch(**{**rows, "last_values": batch.last_values})
        obs_dim = self.observation_space.shape[0]
        all_observations = np.concatenate([batch.observations, self._observations[None]], axis=0)
        with torch.no_grad():
            all_values = value_net(torch.from_numpy(all_observations.reshape(-1, obs_dim))).numpy()
        all_values = all_values.reshape(num_steps + 1, self.num_envs)
        batch.values[:] = all_values[:-1]
        batch.last_values[:] = all_values[-1]
        self.env_steps += taken
        return batch

    def _reset_all(self) -> None:
        """Every env at the start of a fresh episode; the episodes in progress are dropped."""
        observations, _ = self.envs.reset()
        self._observations = observations.astype(np.float32)
        self._resetting[:] = False
        self._running_return[:] = 0.0
        self._running_length[:] = 0
        self._needs_reset = False

    def _track_episodes(self, rewards: np.ndarray, valid: np.ndarray, done: np.ndarray) -> None:
        self._running_return += rewards
        self._running_length += valid
        for env_index in np.flatnonzero(done):
            episode_return = float(self._running_return[env_index])
            self.recent_returns.append(episode_return)
            self.recent_lengths.append(int(self._running_length[env_index]))
            self._new_returns.append(episode_return)
            self.episodes += 1
        self._running_return[done] = 0.0
        self._running_length[done] = 0

    def take_new_returns(self) -> list[float]:
        """Returns of the episodes finished since the last call, in the order they finished
        (kept here only until taken: the run's whole history is its reader's to keep)."""
        new, self._new_returns = self._new_returns, []
        return new

    @property
    def mean_return_100(self) -> float:
        """Mean return of the last 100 finished episodes (NaN before the first)."""
        return float(np.mean(self.recent_returns)) if self.recent_returns else math.nan

    def close(self) -> None:
        self.envs.close()

    # -- exact continuation ------------------------------------------------------------

    def resume_state(self) -> dict[str, Any] | None:
        """The collection's state as JSON-friendly data (None if the env's cannot be read)."""
        envs = vector_env_state(self.envs)
        if envs is None:
            return None
        return {
            "envs": envs,
            "observations": self._observations.tolist(),
            "resetting": self._resetting.tolist(),
            "running_return": self._running_return.tolist(),
            "running_length": self._running_length.tolist(),
            "recent_returns": list(self.recent_returns),
            "recent_lengths": list(self.recent_lengths),
            "episodes": self.episodes,
            "action_rng": self.action_rng.bit_generator.state,
            "needs_reset": self._needs_reset,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Put a :meth:`resume_state` back; ValueError (one line), changing nothing, if it does not fit."""
        try:
            observations = np.asarray(state["observations"], dtype=np.float32)
            resetting = np.asarray(state["resetting"], dtype=bool)
            running_return = np.asarray(state["running_return"], dtype=np.float64)
            running_length = np.asarray(state["running_length"], dtype=np.int64)
            recent_returns = [float(value) for value in state["recent_returns"]]
            recent_lengths = [int(value) for value in state["recent_lengths"]]
            episodes = int(state["episodes"])
            needs_reset = bool(state.get("needs_reset", False))
            generator = np.random.default_rng()
            generator.bit_generator.state = state["action_rng"]
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"the saved collection state is malformed ({error})") from None
        if observations.shape != self._observations.shape or not all(
            array.shape == (self.num_envs,) for array in (resetting, running_return, running_length)
        ):
            raise ValueError("the saved collection state does not fit this run's envs")
        if len(recent_returns) != len(recent_lengths) or not len(recent_returns) <= min(episodes, RECENT_EPISODES):
            raise ValueError("the saved recent episodes are inconsistent")
        restore_vector_env_state(self.envs, state["envs"])
        self._observations, self._resetting = observations, resetting
        self._running_return, self._running_length = running_return, running_length
        self.recent_returns.clear()
        self.recent_returns.extend(recent_returns)
        self.recent_lengths.clear()
        self.recent_lengths.extend(recent_lengths)
        self.episodes = episodes
        self._needs_reset = needs_reset
        self.action_rng.bit_generator.state = generator.bit_generator.state
