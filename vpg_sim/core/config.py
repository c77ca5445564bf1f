"""Every hyperparameter of the VPG actor-critic, in one dataclass.

A reader who wants to know what a knob does finds it here with its default and
a one-line reason. Per-environment presets override the defaults.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class VPGConfig:
    """Hyperparameters of one training run (defaults are tuned for CartPole-v1)."""

    env_id: str = "CartPole-v1"
    seed: int = 0

    # Experience collection.
    num_envs: int = 16
    """Copies of the environment stepped together through the vector API."""
    steps_per_update: int = 1024
    """Transitions per batch, over all envs (a multiple of ``num_envs``)."""
    total_steps: int = 300_000
    """Default length of a headless run, in env steps."""

    # Returns and advantages.
    gamma: float = 0.99
    """Discount factor."""
    gae_lambda: float = 0.97
    """GAE lambda: 1 gives reward-to-go minus V(s), 0 the one-step TD residual."""
    normalize_advantages: bool = True
    """Scale advantages to mean 0, std 1 over the batch before the policy step."""

    # Policy: one Adam step per batch (that is what makes it *vanilla* PG).
    policy_lr: float = 2e-2
    entropy_coef: float = 0.0
    """Weight of the entropy bonus in the policy loss."""
    target_kl: float | None = 0.03
    """KL-adaptive step size: after a step that moved the policy more than twice this far
    (approximate KL), the policy learning rate shrinks by 1.5x; after one under half of
    it, it grows by 1.5x (within 1/100 and 10x ``policy_lr``). It stops the destructive
    overshooting steps plain VPG is known for. None keeps the rate fixed."""

    # Critic: several passes of minibatch Adam on the lambda-returns.
    value_lr: float = 3e-3
    vf_iters: int = 6
    """Passes over the batch when fitting V."""
    vf_minibatch_size: int = 256
    value_normalization_rate: float = 0.3
    """How fast the critic's target mean and std follow each batch's returns (0 turns
    target normalisation off). Normalised targets let the critic fit in fewer passes."""

    max_grad_norm: float | None = 0.5
    """Clip the policy gradient to this norm; None turns clipping off."""
    value_max_grad_norm: float | None = None
    """Clip the critic's gradient to this norm. Off by default: the MSE of returns
    near 100 has large gradients by nature, and clipping them starves the critic."""

    # Networks.
    hidden_sizes: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    init_log_std: float = -0.5
    """Initial log standard deviation of a Gaussian policy (Box actions)."""

    torch_threads: int = 1
    """Torch intra-op threads: more halve throughput beside a render loop on 2 cores."""

    def __post_init__(self) -> None:
        problems = []
        if self.num_envs < 1:
            problems.append("num_envs must be >= 1")
        if self.steps_per_update < self.num_envs or self.steps_per_update % self.num_envs:
            problems.append("steps_per_update must be a positive multiple of num_envs")
        if not 0.0 < self.gamma <= 1.0:
            problems.append("gamma must be in (0, 1]")
        if not 0.0 <= self.gae_lambda <= 1.0:
            problems.append("gae_lambda must be in [0, 1]")
        # Written so that NaN fails too: every comparison with NaN is False.
        if not all(0 < rate < math.inf for rate in (self.policy_lr, self.value_lr)):
            problems.append("learning rates must be positive and finite")
        if self.vf_iters < 1 or self.vf_minibatch_size < 1:
            problems.append("vf_iters and vf_minibatch_size must be >= 1")
        if not 0.0 <= self.value_normalization_rate <= 1.0:
            problems.append("value_normalization_rate must be in [0, 1]")
        if not 0 <= self.entropy_coef < math.inf:
            problems.append("entropy_coef must be >= 0 and finite")
        for name in ("target_kl", "max_grad_norm", "value_max_grad_norm"):
            if getattr(self, name) is not None and not 0 < getattr(self, name) < math.inf:
                problems.append(f"{name} must be positive and finite (or None)")
        if not self.hidden_sizes or min(self.hidden_sizes) < 1:
            problems.append("hidden_sizes must be a non-empty tuple of positive ints")
        if self.activation not in ACTIVATIONS:
            problems.append(f"activation must be one of {sorted(ACTIVATIONS)}")
        if self.torch_threads < 1:
            problems.append("torch_threads must be >= 1")
        if problems:
            raise ValueError("invalid config: " + "; ".join(problems))

    @property
    def rollout_length(self) -> int:
        """Steps each env takes per batch."""
        return self.steps_per_update // self.num_envs

    def replace(self, **changes: Any) -> VPGConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly dict (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> VPGConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        values = dict(values)
        if "hidden_sizes" in values:
            values["hidden_sizes"] = tuple(values["hidden_sizes"])
        return cls(**values)


ACTIVATIONS = ("tanh", "relu")

LIVE_KNOBS = ("policy_lr", "value_lr", "gamma", "gae_lambda", "entropy_coef", "steps_per_update")
"""Fields that may change between two updates of a running trainer (the window's knobs).
The others (env, seed, network shape, number of envs) define the run itself."""


@dataclass(frozen=True)
class ConfigChange:
    """Knobs turned during a run: ``changes`` took effect at update ``update``, when
    ``episode`` training episodes had finished (where the return curve marks it)."""

    update: int
    episode: int
    changes: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def describe(self) -> str:
        """``policy_lr=0.005, gamma=0.95``: short enough for a curve label or a toast."""
        return ", ".join(f"{name}={value:g}" for name, value in self.changes.items())


def with_live_changes(config: VPGConfig, changes: dict[str, Any]) -> VPGConfig:
    """``config`` with ``changes`` applied; ValueError (one line) if a field is not a live
    knob or a value would break training (a negative learning rate, gamma outside (0, 1])."""
    fixed = sorted(set(changes) - set(LIVE_KNOBS))
    if fixed:
        raise ValueError(f"{', '.join(fixed)} cannot change while training (restart instead)")
    return config.replace(**changes)

# Overrides of the defaults per environment. Anything not listed uses VPGConfig's.
PRESETS: dict[str, dict[str, Any]] = {
    "CartPole-v1": {},
    # Comments give measured effects: mean return of the last 100 episodes, seeds from 0.
    "Acrobot-v1": {
        "steps_per_update": 2048,  # 1024 reaches -100 sooner (18k vs 27k steps) but 1 of 12 seeds froze at -500
        "policy_lr": 2e-3,  # KL-adapted rate capped at 2e-2: with 5e-3 (cap 5e-2) 2 of 48 seeds froze at -500 for good
        "entropy_coef": 0.01,  # with policy_lr 2e-3: every one of 48 seeds reaches -100 by 45k steps (2e-3 alone: 78k)
        "total_steps": 500_000,  # learnt by ~30k steps; the curve then stays near -85 (no collapse to 500k in 24 seeds)
    },
    "MountainCar-v0": {
        # None of these (nor policy_lr 2e-3 or entropy_coef 0.05) ever finished an episode
        # above -200 in 500k steps (seeds 0-2): the sparse reward is "hard for VPG".
        "steps_per_update": 2048,  # as Acrobot; no effect measured
        "policy_lr": 5e-3,  # no effect measured
        "entropy_coef": 0.01,  # does not stop the policy going deterministic (entropy 0 on 3 of 3 seeds)
        "total_steps": 500_000,  # enough to show that it does not learn
    },
    "Pendulum-v1": {
        "steps_per_update": 4096,  # 1024 rises faster but 1 of 3 seeds was still at -320 after 1M steps
        "gamma": 0.95,  # 0.99 reaches -200 at 360k-520k steps (0.95: 250k-370k) and ends worse at 1M
        "gae_lambda": 0.95,  # vs 0.97: about the same (same at 1M; one of 3 seeds slower to -200)
        "policy_lr": 3e-3,  # vs 2e-2: same plateau, -200 sooner (250k-370k steps vs 340k-460k)
        "value_lr": 1e-3,  # vs 3e-3: about the same
        "init_log_std": 0.0,  # vs -0.5: -200 sooner (250k-370k steps vs 360k-450k)
        "total_steps": 2_000_000,  # at ~-150 from ~500k-750k steps on; runs to 2M stay there (5 seeds)
    },
}


def config_for(env_id: str, **overrides: Any) -> VPGConfig:
    """The preset config for ``env_id`` (defaults if it has none), with overrides."""
    return VPGConfig(env_id=env_id, **{**PRESETS.get(env_id, {}), **overrides})
