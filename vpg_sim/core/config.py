"""Every hyperparameter of the VPG actor-critic, in one dataclass.

A reader who wants to know what a knob does finds it here with its default and
a one-line reason. Per-environment presets override the defaults.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vpg_sim.core.advantages import ESTIMATORS


@dataclass(frozen=True)
class VPGConfig:
    """Hyperparameters of one training run (defaults are tuned for CartPole-v1)."""

    env_id: str = "CartPole-v1"
    """Gymnasium env id: a 1-D Box observation, Discrete or Box actions."""
    seed: int = 0
    """Seeds the envs, the networks' initial weights and every random draw of training."""

    # Experience collection.
    num_envs: int = 16
    """Copies of the environment stepped together through the vector API."""
    steps_per_update: int = 1024
    """Transitions per batch, over all envs (a multiple of ``num_envs``)."""
    total_steps: int = 300_000
    """Default length of a headless run, in env steps."""

    # Returns and advantages.
    estimator: str = "gae"
    """What weighs grad log pi(a_t|s_t): total-return (the episode's whole return),
    reward-to-go, baseline (reward-to-go minus V(s_t)) or gae (see core/advantages.py).
    With normalize_advantages on (the default) each is then shifted by its batch mean, a
    baseline of its own: total-return trains on R(tau) minus the batch mean, not the
    textbook's R(tau); turn normalisation off for the textbook's."""
    gamma: float = 0.99
    """Discount factor."""
    gae_lambda: float = 0.97
    """GAE lambda: 1 gives reward-to-go minus V(s), 0 the one-step TD residual."""
    normalize_advantages: bool = True
    """Scale advantages to mean 0, std 1 over the batch before the policy step."""
    advantage_std_floor: float = 0.1
    """A batch whose advantages have a smaller std than this carries no signal: they are
    divided by the floor, not by their std, and the KL-adaptive rate does not grow after
    its step. Once CartPole is solved every episode reaches the time limit and the
    advantages are the critic's noise (std ~1e-4); normalising made that noise full-size
    steps, and 5 of seeds 0-9 fell below 450 after solving (0 of 10 with this floor)."""

    # Policy: one Adam step per batch (that is what makes it *vanilla* PG).
    policy_lr: float = 2e-2
    """Adam's learning rate for the one policy step per batch (the KL-adaptive step moves
    the rate in use within 1/100 and 10x of this)."""
    entropy_coef: float = 0.0
    """Weight of the entropy bonus in the policy loss."""
    target_kl: float | None = 0.03
    """KL-adaptive step size: after a step that moved the policy more than twice this far
    (approximate KL), the policy learning rate shrinks by 1.5x; after one under half of
    it, it grows by 1.5x (within 1/100 and 10x ``policy_lr``), unless the batch was under
    ``advantage_std_floor``. It stops the destructive overshooting steps plain VPG is
    known for. None keeps the rate fixed."""

    # Critic: several passes of minibatch Adam on the lambda-returns.
    value_lr: float = 3e-3
    """Adam's learning rate for the critic."""
    vf_iters: int = 6
    """Passes over the batch when fitting V."""
    vf_minibatch_size: int = 256
    """Transitions per critic minibatch."""
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
    """Widths of the hidden layers of both networks."""
    activation: str = "tanh"
    """Nonlinearity between layers: tanh or relu."""
    init_log_std: float = -0.5
    """Initial log standard deviation of a Gaussian policy (Box actions)."""

    torch_threads: int = 1
    """Torch intra-op threads: more halve throughput beside a render loop on 2 cores."""

    def __post_init__(self) -> None:
        problems = [problem for name, rule in FIELD_RULES.items() if (problem := rule(name, getattr(self, name)))]
        if not problems and self.steps_per_update % self.num_envs:
            problems.append("steps_per_update must be a positive multiple of num_envs")
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
        if isinstance(values.get("hidden_sizes"), list):
            values["hidden_sizes"] = tuple(values["hidden_sizes"])
        return cls(**values)


ACTIVATIONS = ("tanh", "relu")

# -- validation: every field's type and range, so that no value (typed, flagged or read
# from a file) can crash, hang or exhaust the machine later ---------------------------

Rule = Callable[[str, Any], str | None]
"""Takes a field's name and value; returns the problem in a few words, or None."""


def _whole(low: int, high: int) -> Rule:
    def check(name: str, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"{name} must be a whole number, not {value!r}"
        if not low <= value <= high:
            return f"{name} must be in [{low:,}, {high:,}], not {value:,}"
        return None

    return check


def _real(low: float, high: float, low_open: bool = False, optional: bool = False) -> Rule:
    def check(name: str, value: Any) -> str | None:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{name} must be a number{' or None' if optional else ''}, not {value!r}"
        # Written so that NaN fails too: every comparison with NaN is False.
        inside = (low < value if low_open else low <= value) and value <= high
        if not inside:
            bracket = "(" if low_open else "["
            return f"{name} must be in {bracket}{low:g}, {high:g}]{' or None' if optional else ''}, not {value!r}"
        return None

    return check


def _flag(name: str, value: Any) -> str | None:
    return None if isinstance(value, bool) else f"{name} must be true or false, not {value!r}"


def _env_id(name: str, value: Any) -> str | None:
    if not isinstance(value, str) or not 0 < len(value) <= 200:
        return f"{name} must be a Gymnasium env id, not {value!r}"
    if ":" in value:  # "module:Env-v0" imports the module: only ever from the command line
        return f"{name} {value!r} names a module to import; give it with --env on the command line"
    return None


def _hidden_sizes(name: str, value: Any) -> str | None:
    if (
        not isinstance(value, tuple)
        or not 1 <= len(value) <= MAX_LAYERS
        or any(isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= MAX_WIDTH for width in value)
    ):
        return f"{name} must be 1 to {MAX_LAYERS} layer widths, each 1 to {MAX_WIDTH}, not {value!r}"
    weights = sum(a * b for a, b in itertools.pairwise(value))
    if weights > MAX_HIDDEN_WEIGHTS:
        return f"{name} {value!r} would make {weights:,} weights between hidden layers, over {MAX_HIDDEN_WEIGHTS:,}"
    return None


def _estimator(name: str, value: Any) -> str | None:
    return None if value in ESTIMATORS else f"{name} must be one of {', '.join(ESTIMATORS)}, not {value!r}"


def _activation(name: str, value: Any) -> str | None:
    return None if value in ACTIVATIONS else f"{name} must be one of {', '.join(ACTIVATIONS)}, not {value!r}"


MAX_LAYERS, MAX_WIDTH = 8, 4096
MAX_HIDDEN_WEIGHTS = 2**22
"""Networks beyond these would take gigabytes, or minutes an update, on a laptop (CartPole
learns with 64 x 64: 4,096 weights)."""
MAX_STEPS = 10**10
"""A bound on a run's length: at 60,000 env-steps/s, 46 hours."""

FIELD_RULES: dict[str, Rule] = {
    "env_id": _env_id,
    "seed": _whole(0, 2**32 - 1),
    "num_envs": _whole(1, 1024),
    "steps_per_update": _whole(1, 2**17),
    "total_steps": _whole(1, MAX_STEPS),
    "estimator": _estimator,
    "gamma": _real(0.0, 1.0, low_open=True),
    "gae_lambda": _real(0.0, 1.0),
    "normalize_advantages": _flag,
    "advantage_std_floor": _real(0.0, 1e6),
    # Learning rates up to 10, far past any that trains (CartPole's best: 2e-2, 3e-3) so that
    # a lesson can show a rate that ruins training; not past the overflow: with the critic's
    # Adam at 1e6 V overflows to infinity within 8 updates and every later batch is NaN.
    "policy_lr": _real(0.0, 10.0, low_open=True),
    "entropy_coef": _real(0.0, 10.0),
    "target_kl": _real(0.0, 10.0, low_open=True, optional=True),
    "value_lr": _real(0.0, 10.0, low_open=True),
    "vf_iters": _whole(1, 100),
    "vf_minibatch_size": _whole(1, 2**17),
    "value_normalization_rate": _real(0.0, 1.0),
    "max_grad_norm": _real(0.0, 1e6, low_open=True, optional=True),
    "value_max_grad_norm": _real(0.0, 1e6, low_open=True, optional=True),
    "hidden_sizes": _hidden_sizes,
    "activation": _activation,
    "init_log_std": _real(-20.0, 5.0),  # e^20 is a std no policy learns; e^89 overflows float32
    "torch_threads": _whole(1, 64),
}
"""One rule per field of :class:`VPGConfig` (a test checks that none is missing)."""

LIVE_KNOBS: dict[str, Rule] = {
    "policy_lr": _real(1e-5, 1.0),
    "value_lr": _real(1e-5, 1.0),
    "gamma": _real(0.5, 1.0),
    "gae_lambda": _real(0.0, 1.0),
    "entropy_coef": _real(0.0, 1.0),
    "steps_per_update": _whole(1, 16_384),
    "estimator": _estimator,
    "normalize_advantages": _flag,
    "target_kl": _real(0.001, 1.0, optional=True),
}
"""Fields that may change between two updates of a running trainer (the window's knobs),
with the narrower range a live change may take: wide enough for every experiment the
knobs panel offers, narrow enough that one change cannot stall the window (a batch of
10^9 steps) or blow up training. The other fields define the run itself."""


@dataclass(frozen=True)
class ConfigChange:
    """Knobs turned during a run: ``changes`` took effect at update ``update``, when
    ``episode`` training episodes of the run had finished (where the return curve marks it)."""

    update: int
    episode: int
    changes: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def describe(self, labels: dict[str, str] | None = None) -> str:
        """``policy_lr=0.005, gamma=0.95``: short enough for a curve label or a toast;
        ``labels`` gives fields the names a person saw (``policy lr``)."""
        labels = labels or {}
        return ", ".join(f"{labels.get(name, name)}={_shown(value)}" for name, value in self.changes.items())


def _shown(value: Any) -> str:
    """A knob's value as a person reads it: ``0.005``, ``on``, ``off``, ``reward-to-go``."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return "off"
    if isinstance(value, int | float):
        return f"{value:g}"
    return str(value)


def with_live_changes(config: VPGConfig, changes: dict[str, Any]) -> VPGConfig:
    """``config`` with ``changes`` applied; ValueError (one line) if a field is not a live
    knob or a value would break training (a negative learning rate, gamma outside (0, 1])."""
    fixed = sorted(set(changes) - set(LIVE_KNOBS))
    if fixed:
        raise ValueError(f"{', '.join(fixed)} cannot change while training (restart instead)")
    problems = [problem for name, value in changes.items() if (problem := LIVE_KNOBS[name](name, value))]
    if problems:
        raise ValueError("; ".join(problems))
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


def field_docs() -> dict[str, str]:
    """Each field's docstring (the string under it in the class body), in one line: what
    the command line shows as the help of the field's flag."""
    import ast
    import inspect
    import textwrap

    body = ast.parse(textwrap.dedent(inspect.getsource(VPGConfig))).body[0].body
    docs = {}
    for node, following in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[node.target.id] = " ".join(following.value.value.split())
    return docs


VARIANTS: dict[str, dict[str, Any]] = {
    # Plain VPG, as the textbooks write it: one Adam step per batch on raw advantages at a
    # fixed rate, a critic fitting raw returns, no clipping. A class sees it first, then
    # what each addition of the default buys (README: the table of estimators and presets).
    "textbook": {
        "normalize_advantages": False,
        "advantage_std_floor": 0.0,
        "target_kl": None,
        "value_normalization_rate": 0.0,
        "max_grad_norm": None,
        "value_max_grad_norm": None,
    },
}
"""Named sets of overrides that apply on top of any env's preset (``--preset NAME``)."""


def config_for(env_id: str, variant: str | None = None, **overrides: Any) -> VPGConfig:
    """The preset config for ``env_id`` (defaults if it has none), then the named
    ``variant`` (``textbook``), then ``overrides``. ValueError for an unknown variant."""
    if variant is not None and variant not in VARIANTS:
        raise ValueError(f"unknown preset {variant!r} (one of {', '.join(VARIANTS)})")
    return VPGConfig(env_id=env_id, **{**PRESETS.get(env_id, {}), **VARIANTS.get(variant or "", {}), **overrides})
