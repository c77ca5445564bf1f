"""The one record of a run at one update: what the session publishes, files store and
the trainer resumes from."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
import torch

from vpg_sim.core.config import ConfigChange, VPGConfig
from vpg_sim.core.networks import Policy, ValueNet, make_policy

if TYPE_CHECKING:
    from vpg_sim.core.student_step import YoursVsReference


@dataclass(frozen=True)
class Checkpoint:
    """A run after update ``update``: its weights, optimiser state, counters and config.

    Made by :meth:`VPGTrainer.checkpoint` (copies, never the live tensors), so it is safe
    to read from any thread. :meth:`VPGTrainer.from_checkpoint` trains on from it.
    """

    config: VPGConfig
    """The config of the next update (knobs turned so far included)."""
    observation_space: gym.Space
    action_space: gym.Space
    policy_state: dict[str, torch.Tensor]
    value_state: dict[str, torch.Tensor]
    """The critic's weights and its target statistics (``target_mean``, ``target_std``)."""
    policy_optimizer_state: dict | None = field(default=None, repr=False)
    """Adam's moments and step counts, and the learning rate in use (KL-adapted)."""
    value_optimizer_state: dict | None = field(default=None, repr=False)
    update: int = 0
    env_steps: int = 0
    mean_return_100: float = math.nan
    config_changes: tuple[ConfigChange, ...] = ()
    """The knobs turned during the run up to this update, oldest first."""
    resume: dict[str, Any] | None = field(default=None, repr=False)
    """JSON-friendly state of the collection (envs, random generators, the episodes in
    progress and the last 100 returns), so that training on from here is the same run
    as if it had never stopped. None: training on starts the envs afresh."""
    last_advantages: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32), repr=False)
    """Raw advantages of the batch update ``update`` learned from, ``(B,)`` (not stored in files)."""
    last_step: UpdateDissection | None = field(default=None, repr=False)
    """What update ``update``'s policy step did to each of its batch's samples (not stored)."""
    student_code: str = ""
    """A student's functions that made updates of this run (``advantages=mycode:rtg``): a
    label, stored in files and shown; never imported (only the command line names code)."""
    yours_vs_reference: YoursVsReference | None = field(default=None, repr=False)
    """A student's run: update ``update``'s code against vpg-sim's own on its batch (not stored)."""


@dataclass(frozen=True)
class UpdateDissection:
    """One policy step, sample by sample: the point of policy gradient in one picture
    (actions with a positive advantage become more likely, the others less).

    ``weights`` ``(B,)``: the advantage each sample's grad log pi was weighed by (after
    normalisation, if the config normalises); ``log_prob_change`` ``(B,)``: log pi(a_t|s_t)
    after the step minus before it.
    """

    weights: np.ndarray
    log_prob_change: np.ndarray

    @property
    def correlation(self) -> float:
        """Pearson correlation of the two (NaN when either does not vary)."""
        if len(self.weights) < 2 or self.weights.std() == 0 or self.log_prob_change.std() == 0:
            return math.nan
        return float(np.corrcoef(self.weights, self.log_prob_change)[0, 1])

    @property
    def agreeing(self) -> float:
        """The fraction of samples whose log-probability moved the way their advantage
        says (up for a positive advantage, down for a negative one; zeros left out)."""
        signs = np.sign(self.weights) * np.sign(self.log_prob_change)
        moved = signs != 0
        return float((signs[moved] > 0).mean()) if moved.any() else math.nan


def networks_from_checkpoint(checkpoint: Checkpoint) -> tuple[Policy, ValueNet]:
    """The policy and value nets of ``checkpoint``, built from its config and spaces, with
    its weights (eval mode; nothing shared with the checkpoint's tensors)."""
    config = checkpoint.config
    policy = make_policy(
        checkpoint.observation_space,
        checkpoint.action_space,
        config.hidden_sizes,
        config.activation,
        config.init_log_std,
    )
    value_net = ValueNet(int(checkpoint.observation_space.shape[0]), config.hidden_sizes, config.activation)
    policy.load_state_dict(checkpoint.policy_state)
    value_net.load_state_dict(checkpoint.value_state)
    return policy.eval(), value_net.eval()
