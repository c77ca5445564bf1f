"""The VPG actor-critic loop: collect a batch, compute advantages, update.

``VPGTrainer.train_update()`` does one whole update and returns its
:class:`UpdateStats`. It is single-threaded and knows nothing of windows or
threads; ``vpg_sim.training`` runs it in the background.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from vpg_sim.core.advantages import explained_variance, gae_advantages, lambda_returns
from vpg_sim.core.config import ConfigChange, VPGConfig, with_live_changes
from vpg_sim.core.envs import clip_to_box, make_vector_env, reward_threshold
from vpg_sim.core.networks import Policy, ValueNet, log_prob_and_entropy, make_policy

RECENT_EPISODES = 100
"""Episodes in the moving window for mean/max return and the solved test."""


MIN_TARGET_STD = 1e-2
"""Floor of the critic's target scale, for batches whose returns are (nearly) all equal."""


class TrainingInterrupted(Exception):
    """Raised inside an update when its ``should_stop`` callback says so."""


class NonFiniteError(Exception):
    """A loss or a parameter became NaN or infinite during an update."""


@dataclass(frozen=True)
class UpdateStats:
    """What one update did, as reported to the CLI, the CSV log and the window."""

    update: int
    env_steps: int
    episodes: int
    mean_return_100: float
    max_return_100: float
    mean_length_100: float
    policy_loss: float
    value_loss: float
    entropy: float
    approx_kl: float
    explained_variance: float
    policy_lr: float
    nan_rollbacks: int
    train_seconds: float
    """Wall time spent collecting and updating so far (pauses excluded)."""
    env_steps_per_second: float
    """Of this update alone: its batch size over its wall time."""

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    @staticmethod
    def timing_fields() -> tuple[str, ...]:
        """Fields that depend on the machine's speed, not on the seed."""
        return ("train_seconds", "env_steps_per_second")


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


class VPGTrainer:
    """Vanilla Policy Gradient with a learned value baseline (see ALGORITHM.md).

    :param config: every hyperparameter; the env is built from ``config.env_id``.
    """

    def __init__(self, config: VPGConfig) -> None:
        self.config = config
        torch.set_num_threads(config.torch_threads)
        self.envs = make_vector_env(config.env_id, config.num_envs, config.seed)
        self.observation_space = self.envs.single_observation_space
        self.action_space = self.envs.single_action_space
        self.reward_threshold = reward_threshold(config.env_id)

        # The trainer owns its random streams so that a run is reproducible even when
        # another thread (the window) uses torch's global generator at the same time.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.policy: Policy = make_policy(
                self.observation_space,
                self.action_space,
                config.hidden_sizes,
                config.activation,
                config.init_log_std,
            )
            self.value_net = ValueNet(int(self.observation_space.shape[0]), config.hidden_sizes, config.activation)
        action_seed, minibatch_seed = np.random.SeedSequence(config.seed).spawn(2)
        self.action_rng = np.random.default_rng(action_seed)
        self.minibatch_rng = np.random.default_rng(minibatch_seed)
        self.value_stats_initialised = False
        """Whether the critic's target statistics have seen a batch (see ``_normalize_targets``)."""
        # fused Adam: one kernel per step instead of several per tensor (~25% faster here).
        self.policy_optimizer = torch.optim.Adam(self.policy.parameters(), lr=config.policy_lr, fused=True)
        self.value_optimizer = torch.optim.Adam(self.value_net.parameters(), lr=config.value_lr, fused=True)

        observations, _ = self.envs.reset(seed=config.seed)
        self._observations = observations.astype(np.float32)
        self._resetting = np.zeros(config.num_envs, dtype=bool)
        self._running_return = np.zeros(config.num_envs)
        self._running_length = np.zeros(config.num_envs, dtype=np.int64)

        self.episode_returns: list[float] = []
        self.episode_lengths: list[int] = []
        self.env_steps = 0
        self.updates = 0
        self.nan_rollbacks = 0
        self.train_seconds = 0.0
        self.last_advantages = np.zeros(0, dtype=np.float32)
        """Raw (unnormalised) advantages of the last batch's valid steps, ``(B,)``."""
        self.config_changes: list[ConfigChange] = []
        """Every :meth:`reconfigure` of this run, oldest first."""

    # -- the public loop -------------------------------------------------------

    def train_update(self, should_stop: Callable[[], bool] | None = None) -> UpdateStats:
        """Collect one batch and update both nets once; returns the update's stats.

        :param should_stop: polled during the update; when it returns True the update
            is abandoned with :class:`TrainingInterrupted` (used to quit promptly).
        """
        started = time.perf_counter()
        batch = self.collect(should_stop)
        losses = self.update(batch, should_stop)
        elapsed = time.perf_counter() - started
        self.train_seconds += elapsed
        self.updates += 1
        recent_returns = self.episode_returns[-RECENT_EPISODES:]
        recent_lengths = self.episode_lengths[-RECENT_EPISODES:]
        return UpdateStats(
            update=self.updates,
            env_steps=self.env_steps,
            episodes=len(self.episode_returns),
            mean_return_100=self.mean_return_100,
            max_return_100=float(np.max(recent_returns)) if recent_returns else math.nan,
            mean_length_100=float(np.mean(recent_lengths)) if recent_lengths else math.nan,
            policy_lr=self.policy_optimizer.param_groups[0]["lr"],
            nan_rollbacks=self.nan_rollbacks,
            train_seconds=self.train_seconds,
            env_steps_per_second=self.config.steps_per_update / elapsed,
            **losses,
        )

    def reconfigure(self, **changes: Any) -> VPGConfig:
        """Turn live knobs (``LIVE_KNOBS``) between updates; they apply from the next one.

        Raises ValueError, changing nothing, if a change is not allowed or not valid.
        """
        self.config = with_live_changes(self.config, changes)
        for name, optimizer in (("policy_lr", self.policy_optimizer), ("value_lr", self.value_optimizer)):
            if name in changes:
                for group in optimizer.param_groups:
                    group["lr"] = getattr(self.config, name)
        self.config_changes.append(ConfigChange(self.updates + 1, len(self.episode_returns), dict(changes)))
        return self.config

    @property
    def mean_return_100(self) -> float:
        """Mean return of the last 100 finished episodes (NaN before the first)."""
        recent = self.episode_returns[-RECENT_EPISODES:]
        return float(np.mean(recent)) if recent else math.nan

    @property
    def solved(self) -> bool:
        """Mean return of the last 100 finished episodes reached the env's threshold."""
        if self.reward_threshold is None or len(self.episode_returns) < RECENT_EPISODES:
            return False
        return float(np.mean(self.episode_returns[-RECENT_EPISODES:])) >= self.reward_threshold

    def close(self) -> None:
        self.envs.close()

    # -- step 1: collect ------------------------------------------------------------

    def collect(self, should_stop: Callable[[], bool] | None = None) -> RolloutBatch:
        """Step every env ``rollout_length`` times with the current policy."""
        cfg = self.config
        num_steps, num_envs = cfg.rollout_length, cfg.num_envs
        obs_dim = self.observation_space.shape[0]
        discrete = isinstance(self.action_space, spaces.Discrete)
        action_shape = (num_steps, num_envs) if discrete else (num_steps, num_envs, self.action_space.shape[0])
        batch = RolloutBatch(
            observations=np.zeros((num_steps, num_envs, obs_dim), dtype=np.float32),
            actions=np.zeros(action_shape, dtype=np.int64 if discrete else np.float32),
            rewards=np.zeros((num_steps, num_envs), dtype=np.float64),
            values=np.zeros((num_steps, num_envs), dtype=np.float64),
            terminated=np.zeros((num_steps, num_envs), dtype=bool),
            truncated=np.zeros((num_steps, num_envs), dtype=bool),
            valid=np.zeros((num_steps, num_envs), dtype=bool),
            last_values=np.zeros(num_envs, dtype=np.float64),
        )
        for t in range(num_steps):
            if should_stop is not None and should_stop():
                raise TrainingInterrupted
            actions = self.policy.sample(torch.from_numpy(self._observations), self.action_rng)
            next_obs, rewards, terminated, truncated, _ = self.envs.step(clip_to_box(actions, self.action_space))

            valid = ~self._resetting
            batch.observations[t] = self._observations
            batch.actions[t] = actions
            batch.rewards[t] = np.where(valid, rewards, 0.0)
            batch.terminated[t] = terminated
            batch.truncated[t] = truncated
            batch.valid[t] = valid
            self._track_episodes(batch.rewards[t], valid, terminated | truncated)
            self._resetting = terminated | truncated
            self._observations = next_obs.astype(np.float32)

        # V(s_t) for the whole batch and the cut in one forward pass: the critic does not
        # change during collection, and one batched call costs less than T small ones.
        all_observations = np.concatenate([batch.observations, self._observations[None]], axis=0)
        with torch.no_grad():
            all_values = self.value_net(torch.from_numpy(all_observations.reshape(-1, obs_dim))).numpy()
        all_values = all_values.reshape(num_steps + 1, num_envs)
        batch.values[:] = all_values[:-1]
        batch.last_values[:] = all_values[-1]
        self.env_steps += num_steps * num_envs
        return batch

    def _track_episodes(self, rewards: np.ndarray, valid: np.ndarray, done: np.ndarray) -> None:
        self._running_return += rewards
        self._running_length += valid
        for env_index in np.flatnonzero(done):
            self.episode_returns.append(float(self._running_return[env_index]))
            self.episode_lengths.append(int(self._running_length[env_index]))
        self._running_return[done] = 0.0
        self._running_length[done] = 0

    # -- steps 2-4: advantages, policy step, critic fit --------------------------------

    def update(self, batch: RolloutBatch, should_stop: Callable[[], bool] | None = None) -> dict[str, float]:
        """One policy-gradient step and ``vf_iters`` critic passes on ``batch``.

        Returns the losses (``policy_loss``, ``value_loss``, ``entropy``,
        ``approx_kl``, ``explained_variance``). A non-finite loss or parameter rolls
        both nets back to their weights before this update (and clears Adam's
        moments, which would carry the poison on); the event is counted in
        ``nan_rollbacks`` and the losses come back as NaN.
        """
        cfg = self.config
        advantages = gae_advantages(
            batch.rewards,
            batch.values,
            batch.last_values,
            batch.terminated,
            batch.truncated,
            cfg.gamma,
            cfg.gae_lambda,
        )
        returns = lambda_returns(advantages, batch.values)

        # Flatten (T, N) to (B,) over the valid steps only.
        valid = batch.valid
        observations = torch.from_numpy(batch.observations[valid])
        actions = torch.from_numpy(batch.actions[valid])
        flat_advantages = advantages[valid]
        flat_returns = returns[valid]
        self.last_advantages = flat_advantages.astype(np.float32)

        losses = {"explained_variance": explained_variance(batch.values[valid], flat_returns)}
        saved = self._weights_copy()
        try:
            losses.update(self._policy_step(observations, actions, flat_advantages))
            losses["value_loss"] = self._fit_value(observations, torch.from_numpy(flat_returns).float(), should_stop)
        except NonFiniteError:
            self._roll_back(saved)
            losses.update(policy_loss=math.nan, value_loss=math.nan, entropy=math.nan, approx_kl=math.nan)
        return losses

    def _policy_step(
        self,
        observations: torch.Tensor,
        actions: torch.Tensor,
        advantages: np.ndarray,
    ) -> dict[str, float]:
        cfg = self.config
        if cfg.normalize_advantages and len(advantages) > 1:
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        advantage_tensor = torch.from_numpy(advantages).float()

        # The policy-gradient estimate: grad of mean(log pi(a|s) * A), ascended. The
        # policy has not changed since it acted, so these are also the "old" log-probs.
        log_probs, entropy = log_prob_and_entropy(self.policy, observations, actions)
        old_log_probs = log_probs.detach()
        mean_entropy = entropy.mean()
        loss = -(log_probs * advantage_tensor).mean() - cfg.entropy_coef * mean_entropy
        _check_finite(loss)
        self.policy_optimizer.zero_grad()
        loss.backward()
        if cfg.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.policy.parameters(), cfg.max_grad_norm)
        self.policy_optimizer.step()
        _check_finite(*self.policy.parameters())

        with torch.no_grad():
            # KL(old || new) by the low-variance estimator E[(r - 1) - log r].
            log_ratio = self.policy.log_prob(observations, actions) - old_log_probs
            approx_kl = float(((log_ratio.exp() - 1) - log_ratio).mean())
        if cfg.target_kl is not None:
            self._adapt_policy_lr(approx_kl)
        return {"policy_loss": loss.item(), "entropy": mean_entropy.item(), "approx_kl": approx_kl}

    def _adapt_policy_lr(self, approx_kl: float) -> None:
        # Step size control: shrink the learning rate after a step that moved the
        # policy much further than target_kl, grow it after one that barely moved it.
        assert self.config.target_kl is not None
        group = self.policy_optimizer.param_groups[0]
        if approx_kl > 2.0 * self.config.target_kl:
            group["lr"] = max(group["lr"] / 1.5, self.config.policy_lr / 100)
        elif approx_kl < 0.5 * self.config.target_kl:
            group["lr"] = min(group["lr"] * 1.5, self.config.policy_lr * 10)

    def _fit_value(
        self, observations: torch.Tensor, returns: torch.Tensor, should_stop: Callable[[], bool] | None
    ) -> float:
        """Regress V(s_t) on the lambda-returns R_t by minibatch Adam; mean MSE of all steps.

        The MLP fits normalised targets ``(R_t - mean) / std`` (see ``ValueNet``); the
        MSE is reported in the units of the returns.
        """
        cfg = self.config
        size = len(observations)
        _check_finite(returns)  # before the target statistics take them in
        mean, std = self._normalize_targets(returns)
        targets = (returns - mean) / std
        # Summed as a tensor and checked once at the end: a .item() per minibatch would
        # cost a sync each; a non-finite loss poisons the weights, which are checked.
        total, count = torch.zeros(()), 0
        for _ in range(cfg.vf_iters):
            order = torch.from_numpy(self.minibatch_rng.permutation(size))
            for start in range(0, size, cfg.vf_minibatch_size):
                if should_stop is not None and should_stop():
                    raise TrainingInterrupted
                indices = order[start : start + cfg.vf_minibatch_size]
                loss = torch.mean((self.value_net.normalized(observations[indices]) - targets[indices]) ** 2)
                self.value_optimizer.zero_grad()
                loss.backward()
                if cfg.value_max_grad_norm is not None:
                    torch.nn.utils.clip_grad_norm_(self.value_net.parameters(), cfg.value_max_grad_norm)
                self.value_optimizer.step()
                total += loss.detach()
                count += 1
        _check_finite(total, *self.value_net.parameters())
        return total.item() / max(count, 1) * std**2

    def _normalize_targets(self, returns: torch.Tensor) -> tuple[float, float]:
        """Move the critic's target statistics toward this batch's; returns (mean, std).

        An exponential moving average with weight ``value_normalization_rate`` on the
        batch, as a mixture of two distributions (so the variance stays >= 0); the
        first batch sets them outright. The critic's outputs are kept unchanged.
        """
        rate = self.config.value_normalization_rate
        if rate == 0:
            return float(self.value_net.target_mean), float(self.value_net.target_std)
        batch = returns.double()
        batch_mean, batch_var = float(batch.mean()), float(batch.var(correction=0))
        if not self.value_stats_initialised:
            mean, var = batch_mean, batch_var
            self.value_stats_initialised = True
        else:
            old_mean, old_var = float(self.value_net.target_mean), float(self.value_net.target_std) ** 2
            mean = (1 - rate) * old_mean + rate * batch_mean
            var = (1 - rate) * old_var + rate * batch_var + rate * (1 - rate) * (batch_mean - old_mean) ** 2
        std = max(math.sqrt(var), MIN_TARGET_STD)
        self.value_net.retarget(mean, std)
        return mean, std

    def _weights_copy(self) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Both nets' weights and buffers (the critic's target statistics), cloned."""
        return self.policy_state(), self.value_state()

    def _roll_back(self, saved: tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]) -> None:
        self.policy.load_state_dict(saved[0])
        self.value_net.load_state_dict(saved[1])
        self.policy_optimizer.state.clear()
        self.value_optimizer.state.clear()
        self.nan_rollbacks += 1

    # -- reading the weights ------------------------------------------------------------

    def policy_state(self) -> dict[str, torch.Tensor]:
        """A detached copy of the policy's weights (never the live tensors)."""
        return {name: tensor.detach().clone() for name, tensor in self.policy.state_dict().items()}

    def value_state(self) -> dict[str, torch.Tensor]:
        """A detached copy of the value net's weights."""
        return {name: tensor.detach().clone() for name, tensor in self.value_net.state_dict().items()}


def _check_finite(*tensors: torch.Tensor) -> None:
    for tensor in tensors:
        if not torch.isfinite(tensor).all():
            raise NonFiniteError


def restore_trainer(
    trainer: VPGTrainer,
    policy_state: dict[str, torch.Tensor],
    value_state: dict[str, torch.Tensor],
    policy_optimizer_state: dict | None,
    value_optimizer_state: dict | None,
    updates: int,
    env_steps: int,
) -> None:
    """Put saved weights (and, if given, Adam's state) into ``trainer`` to continue a run.

    The update and step counters continue from the saved ones; episode history
    starts afresh. Raises ``RuntimeError`` (from torch) when shapes do not match.
    """
    trainer.policy.load_state_dict(policy_state)
    trainer.value_net.load_state_dict(value_state)
    if policy_optimizer_state is not None:
        trainer.policy_optimizer.load_state_dict(policy_optimizer_state)
    if value_optimizer_state is not None:
        trainer.value_optimizer.load_state_dict(value_optimizer_state)
    trainer.updates = updates
    trainer.env_steps = env_steps
    trainer.value_stats_initialised = True  # the value net's buffers came with the file
