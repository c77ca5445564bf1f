"""The VPG actor-critic loop: collect a batch, compute advantages, update.

``VPGTrainer.train_update()`` does one whole update (see ``docs/ALGORITHM.md``) and
returns its :class:`UpdateStats`. It is single-threaded and knows nothing of windows or
threads; ``vpg_sim.training`` runs it in the background. The file reads in the order of
an update: collect (``rollout.py``), advantages (``advantages.py``), the policy step
(``policy_gradient.py``), the critic's fit; the stabilisers beyond vanilla are marked
where they act and explained in ``stabilisers.py``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from vpg_sim.core.advantages import (
    CRITIC_FREE,
    estimated_advantages,
    explained_variance,
    gae_advantages,
    lambda_returns,
)
from vpg_sim.core.checkpoint import Checkpoint, UpdateDissection
from vpg_sim.core.config import ConfigChange, VPGConfig, with_live_changes
from vpg_sim.core.envs import reward_threshold
from vpg_sim.core.networks import Policy, ValueNet, log_prob_and_entropy, make_policy
from vpg_sim.core.policy_gradient import policy_gradient_loss
from vpg_sim.core.rollout import RECENT_EPISODES, Collector, RolloutBatch, TrainingInterrupted
from vpg_sim.core.stabilisers import (
    NonFiniteError,
    adapted_learning_rate,
    blended_target_statistics,
    check_finite,
    normalized_advantages,
)

if TYPE_CHECKING:
    from vpg_sim.core.student_step import StudentStep

__all__ = ["RolloutBatch", "TrainingInterrupted", "UpdateStats", "VPGTrainer"]


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
    """The policy's learning rate this update stepped with (the KL-adaptive step may
    change it for the next one)."""
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


class VPGTrainer:
    """Vanilla Policy Gradient with a learned value baseline (``docs/ALGORITHM.md``).

    :param config: every hyperparameter; the env is built from ``config.env_id``.
    """

    def __init__(self, config: VPGConfig) -> None:
        self.config = config
        self.reward_threshold = reward_threshold(config.env_id)
        # The trainer owns its random streams so that a run is reproducible even when
        # another thread (the window) uses torch's global generator at the same time.
        action_seed, minibatch_seed = np.random.SeedSequence(config.seed).spawn(2)
        self.collector = Collector(config.env_id, config.num_envs, config.seed, np.random.default_rng(action_seed))
        self.observation_space = self.collector.observation_space
        self.action_space = self.collector.action_space
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
        self.minibatch_rng = np.random.default_rng(minibatch_seed)
        self.value_stats_initialised = False
        """Whether the critic's target statistics have seen a batch (see ``_normalize_targets``)."""
        # fused Adam: one kernel per step instead of several per tensor (~25% faster here).
        self.policy_optimizer = torch.optim.Adam(self.policy.parameters(), lr=config.policy_lr, fused=True)
        self.value_optimizer = torch.optim.Adam(self.value_net.parameters(), lr=config.value_lr, fused=True)

        self.updates = 0
        self.nan_rollbacks = 0
        self.train_seconds = 0.0
        self.last_advantages = np.zeros(0, dtype=np.float32)
        """Raw (unnormalised) advantages of the last batch's valid steps, ``(B,)``."""
        self.last_step: UpdateDissection | None = None
        """What the last policy step did to each sample (the window's Update panel)."""
        self.config_changes: list[ConfigChange] = []
        """Every :meth:`reconfigure` of this run, oldest first."""
        self.student: StudentStep | None = None
        """A student's functions in the update, if any (set by ``training/student_code.py``)."""
        self.student_code = ""
        """Which student's functions made updates of this run (``Checkpoint.student_code``)."""

    @classmethod
    def from_checkpoint(cls, checkpoint: Checkpoint) -> VPGTrainer:
        """A trainer that trains on from ``checkpoint``.

        With the checkpoint's ``resume`` state, the next update is exactly the one the
        saved run would have made; without it, the envs start afresh. Raises ValueError or
        RuntimeError (from torch) when the checkpoint does not fit its own config.
        """
        trainer = cls(checkpoint.config)
        try:
            trainer.policy.load_state_dict(checkpoint.policy_state)
            trainer.value_net.load_state_dict(checkpoint.value_state)
            if checkpoint.policy_optimizer_state is not None:
                trainer.policy_optimizer.load_state_dict(checkpoint.policy_optimizer_state)
            if checkpoint.value_optimizer_state is not None:
                trainer.value_optimizer.load_state_dict(checkpoint.value_optimizer_state)
            trainer.value_stats_initialised = True  # the value net's buffers came with the checkpoint
            trainer.updates = checkpoint.update
            trainer.collector.env_steps = checkpoint.env_steps
            trainer.config_changes = list(checkpoint.config_changes)
            trainer.student_code = checkpoint.student_code
            if checkpoint.resume is not None:
                trainer.collector.restore(checkpoint.resume["collector"])
                trainer.minibatch_rng.bit_generator.state = checkpoint.resume["minibatch_rng"]
                trainer.nan_rollbacks = int(checkpoint.resume["nan_rollbacks"])
        except BaseException:
            trainer.close()
            raise
        return trainer

    def checkpoint(self) -> Checkpoint:
        """Copies of everything needed to replay or resume the run as it is now."""
        collector_state = self.collector.resume_state()
        resume = None
        if collector_state is not None:
            resume = {
                "collector": collector_state,
                "minibatch_rng": self.minibatch_rng.bit_generator.state,
                "nan_rollbacks": self.nan_rollbacks,
            }
        return Checkpoint(
            config=self.config,
            observation_space=self.observation_space,
            action_space=self.action_space,
            policy_state=_cloned(self.policy.state_dict()),
            value_state=_cloned(self.value_net.state_dict()),
            policy_optimizer_state=_cloned_optimizer_state(self.policy_optimizer),
            value_optimizer_state=_cloned_optimizer_state(self.value_optimizer),
            update=self.updates,
            env_steps=self.env_steps,
            mean_return_100=self.mean_return_100,
            config_changes=tuple(self.config_changes),
            resume=resume,
            last_advantages=self.last_advantages,
            last_step=self.last_step,
            student_code=self.student_code,
            yours_vs_reference=None if self.student is None else self.student.comparison,
        )

    # -- the public loop -------------------------------------------------------

    def train_update(self, should_stop: Callable[[], bool] | None = None) -> UpdateStats:
        """Collect one batch and update both nets once; returns the update's stats.

        :param should_stop: polled during the update; when it returns True the update
            is abandoned with :class:`TrainingInterrupted` (used to quit promptly).
        """
        started = time.perf_counter()
        policy_lr = self.policy_optimizer.param_groups[0]["lr"]  # before the KL-adaptive step moves it
        batch = self.collect(should_stop)
        losses = self.update(batch, should_stop)
        elapsed = time.perf_counter() - started
        self.train_seconds += elapsed
        self.updates += 1
        recent_returns = self.collector.recent_returns
        recent_lengths = self.collector.recent_lengths
        return UpdateStats(
            update=self.updates,
            env_steps=self.env_steps,
            episodes=self.collector.episodes,
            mean_return_100=self.mean_return_100,
            max_return_100=float(np.max(recent_returns)) if recent_returns else math.nan,
            mean_length_100=float(np.mean(recent_lengths)) if recent_lengths else math.nan,
            policy_lr=policy_lr,
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
        self.config_changes.append(ConfigChange(self.updates + 1, self.collector.episodes, dict(changes)))
        return self.config

    @property
    def env_steps(self) -> int:
        return self.collector.env_steps

    def take_new_returns(self) -> list[float]:
        """Returns of the training episodes finished since the last call, oldest first."""
        return self.collector.take_new_returns()

    @property
    def mean_return_100(self) -> float:
        """Mean return of the last 100 finished episodes (NaN before the first)."""
        return self.collector.mean_return_100

    @property
    def solved(self) -> bool:
        """Mean return of the last 100 finished episodes reached the env's threshold."""
        if self.reward_threshold is None or len(self.collector.recent_returns) < RECENT_EPISODES:
            return False
        return self.mean_return_100 >= self.reward_threshold

    def close(self) -> None:
        self.collector.close()

    # -- step 1: collect -----------------------------------------------------------------

    def collect(self, should_stop: Callable[[], bool] | None = None) -> RolloutBatch:
        """Step every env ``rollout_length`` times with the current policy (``rollout.py``);
        for an estimator without a critic, a batch of at least ``steps_per_update`` steps of
        whole episodes instead."""
        cfg = self.config
        if cfg.estimator in CRITIC_FREE:
            return self.collector.collect_episodes(self.policy, self.value_net, cfg.steps_per_update, should_stop)
        return self.collector.collect(self.policy, self.value_net, cfg.rollout_length, should_stop)

    # -- steps 2-4: advantages, the policy step, the critic's fit ----------------------

    def update(self, batch: RolloutBatch, should_stop: Callable[[], bool] | None = None) -> dict[str, float]:
        """One policy-gradient step and ``vf_iters`` critic passes on ``batch``.

        Returns the losses (``policy_loss``, ``value_loss``, ``entropy``,
        ``approx_kl``, ``explained_variance``). A non-finite loss or parameter rolls
        both nets back to their weights before this update (see :meth:`_roll_back`);
        the losses then come back as NaN, and ``last_step`` is None: no step stood.
        """
        cfg = self.config
        # Step 2: the critic's targets R_t = A_t + V(s_t) with GAE's A_t, and the weights
        # Phi_t of the policy gradient by the config's estimator (GAE's own by default).
        gae = gae_advantages(
            batch.rewards,
            batch.values,
            batch.last_values,
            batch.terminated,
            batch.truncated,
            cfg.gamma,
            cfg.gae_lambda,
        )
        advantages = gae
        if cfg.estimator != "gae":
            advantages = estimated_advantages(
                cfg.estimator,
                batch.rewards,
                batch.values,
                batch.last_values,
                batch.terminated,
                batch.truncated,
                batch.valid,
                cfg.gamma,
                cfg.gae_lambda,
            )
        if self.student is not None:  # a student's function in place of ours (core/student_step.py)
            advantages, gae = self.student.weights(batch, cfg, advantages, gae)
        returns = lambda_returns(gae, batch.values)

        # Flatten (T, N) to (B,) over the valid steps only.
        valid = batch.valid
        observations = torch.from_numpy(batch.observations[valid])
        actions = torch.from_numpy(batch.actions[valid])
        flat_advantages = advantages[valid]
        flat_returns = returns[valid]
        self.last_advantages = flat_advantages.astype(np.float32)

        losses = {"explained_variance": explained_variance(batch.values[valid], flat_returns)}
        saved = self._weights_and_learning_rate()
        try:
            losses.update(self._policy_step(observations, actions, flat_advantages))
            losses["value_loss"] = self._fit_value(observations, torch.from_numpy(flat_returns).float(), should_stop)
        except NonFiniteError:
            self._roll_back(saved)
            # The policy step may have stood before the critic's fit failed: undone, it is not shown.
            self.last_step = None
            losses.update(policy_loss=math.nan, value_loss=math.nan, entropy=math.nan, approx_kl=math.nan)
        return losses

    def _policy_step(
        self,
        observations: torch.Tensor,
        actions: torch.Tensor,
        advantages: np.ndarray,
    ) -> dict[str, float]:
        """Step 3: one Adam step on the policy-gradient loss (``policy_gradient.py``)."""
        cfg = self.config
        # Beyond vanilla: a batch with less spread than the floor is noise (a solved
        # CartPole's advantages, std ~1e-4): it is not scaled up, and grows no rate.
        has_signal = len(advantages) > 1 and float(advantages.std()) >= cfg.advantage_std_floor
        if cfg.normalize_advantages:  # beyond vanilla
            advantages = normalized_advantages(advantages, cfg.advantage_std_floor)
        advantage_tensor = torch.from_numpy(advantages).float()

        # The policy has not changed since it acted, so these are also the "old" log-probs.
        log_probs, entropy = log_prob_and_entropy(self.policy, observations, actions)
        old_log_probs = log_probs.detach()
        mean_entropy = entropy.mean()
        if self.student is None:
            policy_loss = policy_gradient_loss(log_probs, advantage_tensor)
        else:
            policy_loss = self.student.policy_loss(log_probs, advantage_tensor, list(self.policy.parameters()))
        loss = policy_loss - cfg.entropy_coef * mean_entropy
        check_finite(loss)
        self.policy_optimizer.zero_grad()
        loss.backward()
        if cfg.max_grad_norm is not None:  # beyond vanilla
            torch.nn.utils.clip_grad_norm_(self.policy.parameters(), cfg.max_grad_norm)
        self.policy_optimizer.step()
        check_finite(*self.policy.parameters())

        with torch.no_grad():
            # KL(old || new) by the low-variance estimator E[(r - 1) - log r].
            log_ratio = self.policy.log_prob(observations, actions) - old_log_probs
            approx_kl = float(((log_ratio.exp() - 1) - log_ratio).mean())
        self.last_step = UpdateDissection(advantages.astype(np.float32), log_ratio.numpy().astype(np.float32))
        if cfg.target_kl is not None:  # beyond vanilla: the KL-adaptive step
            group = self.policy_optimizer.param_groups[0]
            group["lr"] = adapted_learning_rate(group["lr"], approx_kl, cfg.target_kl, cfg.policy_lr, has_signal)
        return {"policy_loss": loss.item(), "entropy": mean_entropy.item(), "approx_kl": approx_kl}

    def _fit_value(
        self, observations: torch.Tensor, returns: torch.Tensor, should_stop: Callable[[], bool] | None
    ) -> float:
        """Step 4: regress V(s_t) on the targets R_t by minibatch Adam; mean MSE of all steps.

        The MLP fits normalised targets ``(R_t - mean) / std`` (see ``ValueNet``); the
        MSE is reported in the units of the returns.
        """
        cfg = self.config
        size = len(observations)
        check_finite(returns)  # before the target statistics take them in
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
                if cfg.value_max_grad_norm is not None:  # beyond vanilla
                    torch.nn.utils.clip_grad_norm_(self.value_net.parameters(), cfg.value_max_grad_norm)
                self.value_optimizer.step()
                total += loss.detach()
                count += 1
        check_finite(total, *self.value_net.parameters())
        return total.item() / max(count, 1) * std**2

    # -- beyond vanilla: the critic's target statistics and the NaN rollback ---------------

    def _normalize_targets(self, returns: torch.Tensor) -> tuple[float, float]:
        """Move the critic's target statistics toward this batch's; returns (mean, std).

        The first batch sets them outright; the critic's outputs are kept unchanged
        (``ValueNet.retarget``). A rate of 0 keeps them where they are (mean 0, std 1
        unless a checkpoint set them): the critic then fits the raw returns.
        """
        rate = self.config.value_normalization_rate
        if rate == 0:
            return float(self.value_net.target_mean), float(self.value_net.target_std)
        old = None
        if self.value_stats_initialised:
            old = (float(self.value_net.target_mean), float(self.value_net.target_std))
        mean, std = blended_target_statistics(old, returns, rate)
        self.value_stats_initialised = True
        self.value_net.retarget(mean, std)
        return mean, std

    def _weights_and_learning_rate(self) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], float]:
        """Both nets' weights and buffers, cloned, and the policy's learning rate in use."""
        return (
            _cloned(self.policy.state_dict()),
            _cloned(self.value_net.state_dict()),
            self.policy_optimizer.param_groups[0]["lr"],
        )

    def _roll_back(self, saved: tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], float]) -> None:
        """Undo a poisoned update: the weights and the KL-adapted rate as they were, and
        Adam's moments cleared (they would carry the poison on)."""
        policy_state, value_state, policy_lr = saved
        self.policy.load_state_dict(policy_state)
        self.value_net.load_state_dict(value_state)
        self.policy_optimizer.state.clear()
        self.value_optimizer.state.clear()
        self.policy_optimizer.param_groups[0]["lr"] = policy_lr
        self.nan_rollbacks += 1


def _cloned(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A detached copy of a state dict (never the live tensors)."""
    return {name: tensor.detach().clone() for name, tensor in state.items()}


def _cloned_optimizer_state(optimizer: torch.optim.Optimizer) -> dict:
    """A copy of an optimizer's state dict: its tensors cloned, its groups copied. (A
    ``copy.deepcopy`` took 0.3 ms a copy, 2% of an update, for the same result.)"""
    state = optimizer.state_dict()
    return {
        "state": {index: _cloned(values) for index, values in state["state"].items()},
        "param_groups": [{**group, "params": list(group["params"])} for group in state["param_groups"]],
    }
