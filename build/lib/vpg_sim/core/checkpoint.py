"""The one record of a run at one update: what the session publishes, files store and
the trainer resumes from."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from vpg_sim.core.config import ConfigChange, VPGConfig


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
