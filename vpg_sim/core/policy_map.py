"""The policy and the critic as maps over the state space.

A student who watches one cart sees one state and two probabilities; what the network
has learnt is a function of the whole state. This module evaluates both nets on an
N x N grid over two observation dimensions, the others held at a fixed observation,
and returns a :class:`PolicyMap`: the numbers a heat map (``vpg-sim map``) or a panel
draws. Pure: no pygame, no matplotlib, no files.

Orientation, everywhere: ``x`` varies the observation dimension ``dims[0]`` along the
*columns*, ``y`` varies ``dims[1]`` along the *rows*, so ``grid[k, l]`` is the state
with ``obs[dims[1]] = y[k]`` and ``obs[dims[0]] = x[l]``: an image whose first row is
the bottom one (matplotlib's ``origin="lower"``, ``pcolormesh(x, y, grid)``).

Cost (measured on the 2-core development machine, one torch thread, the default
64-64 tanh nets): a 64 x 64 grid through the policy and the value net in one batched
forward pass, inputs built and outputs copied out included, takes 0.4-0.5 ms (median of
200, CartPole); 128 x 128, ~1.5 ms. Cheap enough to redraw after every update, though
a window should still do it off the frame (docs/ARCHITECTURE.md: work over ~1 ms).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from vpg_sim.core.checkpoint import Checkpoint
from vpg_sim.core.envs import clip_to_box, make_single_env
from vpg_sim.core.networks import CategoricalPolicy, GaussianPolicy, Policy, ValueNet, make_policy

TERMINATION = "termination limit"
VISITED = "visited 1-99%"
TYPICAL = "typical (measured)"
BOUNDS = "observation bounds"
UNBOUNDED = "no bounds: unit range"
"""The origins a range can have (:attr:`AxisRange.origin`), best first."""

TERMINATION_MARGIN = 0.1
"""A range from termination limits reaches this fraction beyond them on each side, so
the limits themselves show on a map (and what the nets make of states past them)."""

MAX_GRID = 1024
"""Largest grid side: 1024 x 1024 is a million states, ~0.3 s and ~100 MB of activations."""


@dataclass(frozen=True)
class AxisRange:
    """The values one grid axis spans, and where they came from."""

    low: float
    high: float
    origin: str
    """One of :data:`TERMINATION`, :data:`VISITED`, :data:`TYPICAL`, :data:`BOUNDS`, :data:`UNBOUNDED`."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ValueError(f"a grid range needs finite low < high, not [{self.low}, {self.high}]")


@dataclass(frozen=True)
class EnvMapInfo:
    """What a map needs to know about an env's observation: names, units, the pairs worth
    plotting, the state the other dimensions are held at, and its limits."""

    names: tuple[str, ...]
    units: tuple[str, ...]
    """Per dimension; "" for a dimensionless one (a cosine)."""
    default_pairs: tuple[tuple[int, int], ...]
    """(x dim, y dim) pairs, the most telling first."""
    neutral: tuple[float, ...]
    """The observation the dimensions off the map are held at (see ``neutral_description``)."""
    neutral_description: str
    limits: dict[int, tuple[float, ...]] = field(default_factory=dict)
    """Values of a dimension at which an episode ends (CartPole's +-2.4 m): drawn as lines;
    a dimension with a limit on both sides gets its range from them."""
    typical: dict[int, tuple[float, float]] = field(default_factory=dict)
    """Measured ranges for dimensions the observation space leaves unbounded or too wide."""
    action_names: tuple[str, ...] = ()

    def label(self, dim: int) -> str:
        """``pole angle (rad)``: the name with its unit, for an axis."""
        unit = self.units[dim]
        return f"{self.names[dim]} ({unit})" if unit else self.names[dim]


_CARTPOLE_THETA_LIMIT = 12 * 2 * math.pi / 360  # gymnasium's theta_threshold_radians, 0.2094 rad

ENV_MAP_INFO: dict[str, EnvMapInfo] = {
    # The pole's own phase plane first: where it is falling, and how fast, decides the
    # push; the cart's pair shows the slower drift back to the centre.
    "CartPole-v1": EnvMapInfo(
        names=("cart position", "cart velocity", "pole angle", "pole angular velocity"),
        units=("m", "m/s", "rad", "rad/s"),
        default_pairs=((2, 3), (0, 1)),
        neutral=(0.0, 0.0, 0.0, 0.0),
        neutral_description="0 (cart centred and still, pole upright and still)",
        limits={0: (-2.4, 2.4), 2: (-_CARTPOLE_THETA_LIMIT, _CARTPOLE_THETA_LIMIT)},  # x_threshold, 12 degrees
        # Velocities have no limit. 1-99% of the states 20 random-action episodes visit
        # (seeds 0-19): cart -1.34..1.17 m/s, pole -1.81..2.03 rad/s; the shipped policy
        # stays within +-0.54 and +-0.42. Widened to round numbers that hold both.
        typical={1: (-1.5, 1.5), 3: (-2.0, 2.0)},
        action_names=("push left", "push right"),
    ),
    # Swinging up is pumping energy, and what decides the pump's direction is how the two
    # links move: the velocity plane, with both links hanging down (the start state).
    # Angle pairs would be cos against sin of one angle, most of whose grid is off the
    # unit circle, states that cannot happen.
    "Acrobot-v1": EnvMapInfo(
        names=("cos θ1", "sin θ1", "cos θ2", "sin θ2", "θ1 velocity", "θ2 velocity"),
        units=("", "", "", "", "rad/s", "rad/s"),
        default_pairs=((4, 5), (1, 4)),
        neutral=(1.0, 0.0, 1.0, 0.0, 0.0, 0.0),
        neutral_description="hanging straight down (θ1 = θ2 = 0)",
        # The bounds are +-4π and +-9π rad/s. 1-99% visited in 10 greedy episodes of a
        # policy at -83 (seed 0, 50k steps): -4.7..4.9 and -6.8..7.5 (random: +-3, +-5).
        typical={4: (-5.0, 5.0), 5: (-8.0, 8.0)},
        action_names=("torque -1", "torque 0", "torque +1"),
    ),
    # The angle is split into cos θ and sin θ. Held at cos θ = 1 (upright), sin θ is
    # within 5% of θ for |θ| < 0.55 rad (30 degrees), so (sin θ, θ velocity) is the
    # balancing controller's phase plane, CartPole's pole pair again: the torque should
    # oppose both. Far from sin θ = 0 the grid leaves the unit circle (cos θ stays 1), so
    # read the edges as the nets' extrapolation. (cos θ, θ velocity) with sin θ = 0 is the
    # swing-up's pair: at the bottom the torque should follow the velocity.
    "Pendulum-v1": EnvMapInfo(
        names=("cos θ", "sin θ", "θ velocity"),
        units=("", "", "rad/s"),
        default_pairs=((1, 2), (0, 2)),
        neutral=(1.0, 0.0, 0.0),
        neutral_description="upright and still (cos θ = 1, sin θ = 0, θ velocity = 0)",
        action_names=("torque",),
    ),
    # The whole state is two numbers: the map is the complete policy. A good one pushes
    # the way the car already moves (pumping energy): a diagonal split of the plane.
    "MountainCar-v0": EnvMapInfo(
        names=("position", "velocity"),
        units=("m", "m/step"),
        default_pairs=((0, 1),),
        neutral=(-0.5, 0.0),
        neutral_description="at the valley floor (position -0.5), still",
        limits={0: (0.5,)},  # goal_position: reaching it ends the episode
        action_names=("push left", "no push", "push right"),
    ),
}


def env_map_info(env_id: str, observation_space: gym.Space) -> EnvMapInfo:
    """The env's :class:`EnvMapInfo`; for an env not in :data:`ENV_MAP_INFO` (a custom
    one), generic names ``obs[0]``..., the first two dimensions, and zeros held."""
    obs_dim = int(observation_space.shape[0])
    info = ENV_MAP_INFO.get(env_id)
    if info is not None and len(info.names) == obs_dim:
        return info
    return EnvMapInfo(
        names=tuple(f"obs[{index}]" for index in range(obs_dim)),
        units=("",) * obs_dim,
        default_pairs=((0, 1),) if obs_dim > 1 else (),
        neutral=(0.0,) * obs_dim,
        neutral_description="0",
    )


def default_dims(env_id: str, observation_space: gym.Space) -> tuple[int, int]:
    """The most telling (x dim, y dim) pair for ``env_id`` (see :data:`ENV_MAP_INFO`)."""
    pairs = env_map_info(env_id, observation_space).default_pairs
    if not pairs:
        raise ValueError(f"{env_id}: a map needs two observation dimensions, this one has 1")
    return pairs[0]


def visited_ranges(
    observations: np.ndarray, low_percentile: float = 1.0, high_percentile: float = 99.0, widen: float = 0.1
) -> list[AxisRange]:
    """Robust ranges of visited states, one per observation dimension.

    :param observations: ``(B, obs_dim)`` observations visited (by any policy).
    :param widen: each range grows by this fraction of its width on both sides, so the
        states a run visits rarely, at the edges, are on the map too.
    :returns: ``obs_dim`` ranges from the percentiles, origin :data:`VISITED`. A
        dimension that never moved (a constant) gets +-0.5 around its value.
    """
    observations = np.asarray(observations, dtype=np.float64)
    if observations.ndim != 2 or len(observations) == 0:
        raise ValueError(f"visited observations must be (B, obs_dim) with B > 0, not {observations.shape}")
    finite = np.where(np.isfinite(observations), observations, np.nan)
    low, high = np.nanpercentile(finite, [low_percentile, high_percentile], axis=0)
    ranges = []
    for lo, hi in zip(low, high, strict=True):
        if not (np.isfinite(lo) and np.isfinite(hi)):
            lo, hi = -1.0, 1.0
        margin = widen * (hi - lo) if hi > lo else 0.5
        ranges.append(AxisRange(float(lo - margin), float(hi + margin), VISITED))
    return ranges


def greedy_visits(policy: Policy, env_id: str, episodes: int, seed: int = 0) -> np.ndarray:
    """The observations ``(B, obs_dim)`` that ``episodes`` greedy episodes of ``policy``
    visit (episode k seeded ``seed + k``): the states the policy itself leads to, for
    :func:`visited_ranges`."""
    env = make_single_env(env_id)
    visited = []
    try:
        for episode in range(episodes):
            observation, _ = env.reset(seed=seed + episode)
            done = False
            while not done:
                visited.append(observation)
                with torch.no_grad():
                    action = policy.greedy(torch.as_tensor(observation, dtype=torch.float32).unsqueeze(0))[0].numpy()
                observation, _, terminated, truncated, _ = env.step(clip_to_box(action, env.action_space))
                done = terminated or truncated
    finally:
        env.close()
    return np.asarray(visited, dtype=np.float32).reshape(len(visited), -1)


def default_ranges(
    env_id: str, observation_space: gym.Space, visited: np.ndarray | None = None
) -> list[AxisRange]:
    """One range per observation dimension, from the best source that dimension has:

    1. termination limits on both sides (CartPole's position and angle), widened by
       :data:`TERMINATION_MARGIN` so the limits are visible;
    2. ``visited`` observations ``(B, obs_dim)``, if given (:func:`visited_ranges`);
    3. a measured typical range (:attr:`EnvMapInfo.typical`: CartPole's velocities);
    4. the observation space's finite bounds (Pendulum, MountainCar);
    5. -1..1, for an unbounded dimension of an env we know nothing about.
    """
    info = env_map_info(env_id, observation_space)
    from_visits = visited_ranges(visited) if visited is not None and len(visited) else None
    low_bounds, high_bounds = observation_space.low, observation_space.high
    ranges = []
    for dim in range(int(observation_space.shape[0])):
        limits = info.limits.get(dim, ())
        if len(limits) == 2:
            margin = TERMINATION_MARGIN * (limits[1] - limits[0]) / 2
            ranges.append(AxisRange(limits[0] - margin, limits[1] + margin, TERMINATION))
        elif from_visits is not None:
            ranges.append(from_visits[dim])
        elif dim in info.typical:
            ranges.append(AxisRange(*info.typical[dim], TYPICAL))
        elif np.isfinite(low_bounds[dim]) and np.isfinite(high_bounds[dim]) and low_bounds[dim] < high_bounds[dim]:
            ranges.append(AxisRange(float(low_bounds[dim]), float(high_bounds[dim]), BOUNDS))
        else:
            ranges.append(AxisRange(-1.0, 1.0, UNBOUNDED))
    return ranges


# -- the grid through the nets ------------------------------------------------------------

PROBABILITY = "probability"
MOST_LIKELY = "most likely action"
MEAN_ACTION = "mean action"
"""What :attr:`PolicyMap.policy` holds: pi(last action|s) for two actions, the index of
the most likely action for more, the Gaussian's mean for a continuous action."""


@dataclass(frozen=True)
class PolicyMap:
    """Both nets over an N x N grid of states: ``grid[k, l]`` is at ``(x[l], y[k])``.

    Rows follow ``y`` (observation dimension ``dims[1]``), columns follow ``x``
    (``dims[0]``); every other dimension is ``held_at``.
    """

    env_id: str
    dims: tuple[int, int]
    """(x dim, y dim): observation indices."""
    names: tuple[str, str]
    units: tuple[str, str]
    x: np.ndarray
    """``(N,)`` float32, increasing: the values of ``obs[dims[0]]``, one per column."""
    y: np.ndarray
    """``(N,)`` float32, increasing: the values of ``obs[dims[1]]``, one per row."""
    policy: np.ndarray
    """``(N, N)``: float32 pi(last action|s) in [0, 1] (two actions), int64 action index
    (more actions) or float32 mean action (continuous); see ``policy_kind``."""
    value: np.ndarray
    """``(N, N)`` float32 V(s), in the env's return units (discounted by the run's γ)."""
    policy_kind: str
    """:data:`PROBABILITY`, :data:`MOST_LIKELY` or :data:`MEAN_ACTION`."""
    policy_label: str
    """What ``policy`` is, for a colour bar: ``π(push right | s)``."""
    held_at: np.ndarray
    """``(obs_dim,)`` float32: the observation the grid varies two entries of."""
    ranges: tuple[AxisRange, AxisRange]
    update: int | None = None
    """The update of the weights, when known (a checkpoint's)."""

    @property
    def grid_size(self) -> int:
        return len(self.x)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types: ``policy`` and ``value`` as lists of rows (one per ``y``)."""
        return {
            "env": self.env_id,
            "update": self.update,
            "dims": list(self.dims),
            "names": list(self.names),
            "units": list(self.units),
            "x": self.x.tolist(),
            "y": self.y.tolist(),
            "policy_kind": self.policy_kind,
            "policy_label": self.policy_label,
            "policy": self.policy.tolist(),
            "value": self.value.tolist(),
            "held_at": self.held_at.tolist(),
            "ranges": [{"low": r.low, "high": r.high, "origin": r.origin} for r in self.ranges],
        }


def forward(net: nn.Sequential, batch: torch.Tensor) -> torch.Tensor:
    """``net(batch)`` under ``no_grad``, with numpy's tanh in place of torch's.

    Why: torch 2.13's CPU tanh takes 0.7-0.9 ms for a 4096 x 64 activation on the
    development machine (AVX-512), numpy's 0.1 ms, and a 64 x 64 grid has four of them
    (two layers, two nets): 4-5 ms through the nets' own forward against ~1 ms here. Both
    are accurate to an ulp or two; the test checks the two agree to 1e-6.
    """
    out = batch
    for layer in net:
        if isinstance(layer, nn.Tanh) and out is not batch:  # never overwrite the caller's input
            activations = out.numpy()
            np.tanh(activations, out=activations)
        else:
            out = layer(out)
    return out


def _checked_dims(dims: tuple[int, int], obs_dim: int) -> tuple[int, int]:
    i, j = (int(d) for d in dims)
    if i == j:
        raise ValueError(f"a map needs two different dimensions, not {i} twice")
    for dim in (i, j):
        if not 0 <= dim < obs_dim:
            raise ValueError(f"dimension {dim} is not one of the observation's 0..{obs_dim - 1}")
    return i, j


def _as_range(value: AxisRange | tuple[float, float]) -> AxisRange:
    return value if isinstance(value, AxisRange) else AxisRange(float(value[0]), float(value[1]), "given")


def evaluate_policy_map(
    policy: Policy,
    value_net: ValueNet,
    dims: tuple[int, int],
    ranges: tuple[AxisRange | tuple[float, float], AxisRange | tuple[float, float]],
    grid_size: int,
    held_at: np.ndarray,
    *,
    env_id: str = "",
    info: EnvMapInfo | None = None,
    update: int | None = None,
    action_dim: int = 0,
) -> PolicyMap:
    """Evaluate both nets on a ``grid_size`` x ``grid_size`` grid, in one batched pass.

    :param dims: (x dim, y dim), two different observation indices.
    :param ranges: (x range, y range), each an :class:`AxisRange` or ``(low, high)``;
        the grid includes both ends.
    :param held_at: ``(obs_dim,)``, a full observation: the values of every dimension
        off the map (its entries at ``dims`` are ignored).
    :param info: names, units and action names (default: :func:`env_map_info`).
    :param action_dim: for a continuous action of several dimensions, which one's mean.
    :returns: a :class:`PolicyMap`; ``policy[k, l]`` and ``value[k, l]`` are at ``(x[l], y[k])``.
    """
    held_at = np.asarray(held_at, dtype=np.float32)
    obs_dim = held_at.shape[0] if held_at.ndim == 1 else -1
    if held_at.ndim != 1 or not np.isfinite(held_at).all():
        raise ValueError(f"held_at must be a finite observation vector, not shape {held_at.shape}")
    i, j = _checked_dims(dims, obs_dim)
    if not 2 <= grid_size <= MAX_GRID:
        raise ValueError(f"grid size must be 2 to {MAX_GRID}, not {grid_size}")
    x_range, y_range = _as_range(ranges[0]), _as_range(ranges[1])
    x = np.linspace(x_range.low, x_range.high, grid_size, dtype=np.float32)
    y = np.linspace(y_range.low, y_range.high, grid_size, dtype=np.float32)
    states = np.empty((grid_size, grid_size, obs_dim), dtype=np.float32)
    states[:] = held_at
    states[:, :, i] = x[np.newaxis, :]  # columns follow x
    states[:, :, j] = y[:, np.newaxis]  # rows follow y
    batch = torch.from_numpy(states.reshape(-1, obs_dim))
    shape = (grid_size, grid_size)
    if info is None:
        info = env_map_info(env_id, spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32))

    with torch.no_grad():  # also what lets forward() write activations in place
        # ValueNet.forward, with the fast tanh: V(s) = target_mean + target_std * mlp(s).
        normalized = forward(value_net.net, batch).squeeze(-1)
        value = (value_net.target_mean + value_net.target_std * normalized).reshape(shape).numpy()
        if isinstance(policy, CategoricalPolicy):
            logits = forward(policy.logits_net, batch)
            n_actions = logits.shape[-1]
            last_name = info.action_names[-1] if len(info.action_names) == n_actions else f"action {n_actions - 1}"
            if n_actions == 2:
                kind, label = PROBABILITY, f"π({last_name} | s)"
                policy_grid = torch.softmax(logits, dim=-1)[:, -1].reshape(shape).numpy()
            else:
                kind, label = MOST_LIKELY, "most likely action"
                policy_grid = logits.argmax(dim=-1).reshape(shape).numpy().astype(np.int64)
        elif isinstance(policy, GaussianPolicy):
            kind = MEAN_ACTION
            name = info.action_names[action_dim] if action_dim < len(info.action_names) else f"action {action_dim}"
            label = f"mean {name} of π(· | s)"
            policy_grid = forward(policy.mean_net, batch)[:, action_dim].reshape(shape).numpy()
        else:
            raise TypeError(f"not a policy network: {type(policy).__name__}")
    return PolicyMap(
        env_id=env_id,
        dims=(i, j),
        names=(info.names[i], info.names[j]),
        units=(info.units[i], info.units[j]),
        x=x,
        y=y,
        policy=policy_grid,
        value=value,
        policy_kind=kind,
        policy_label=label,
        held_at=held_at.copy(),
        ranges=(x_range, y_range),
        update=update,
    )


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


def policy_map_from_checkpoint(
    checkpoint: Checkpoint,
    dims: tuple[int, int] | None = None,
    grid_size: int = 64,
    ranges: tuple[AxisRange | tuple[float, float], AxisRange | tuple[float, float]] | None = None,
    held_at: np.ndarray | None = None,
    visited: np.ndarray | None = None,
) -> PolicyMap:
    """:func:`evaluate_policy_map` for a checkpoint, with the env's defaults for whatever
    is not given: :func:`default_dims`, :func:`default_ranges` (from ``visited``
    ``(B, obs_dim)`` observations where the env has no termination limit) and the env's
    neutral observation (:attr:`EnvMapInfo.neutral`)."""
    env_id, observation_space = checkpoint.config.env_id, checkpoint.observation_space
    info = env_map_info(env_id, observation_space)
    dims = dims if dims is not None else default_dims(env_id, observation_space)
    dims = _checked_dims(dims, int(observation_space.shape[0]))
    if ranges is None:
        every_range = default_ranges(env_id, observation_space, visited)
        ranges = (every_range[dims[0]], every_range[dims[1]])
    held_at = np.asarray(info.neutral if held_at is None else held_at, dtype=np.float32)
    policy, value_net = networks_from_checkpoint(checkpoint)
    return evaluate_policy_map(
        policy, value_net, dims, ranges, grid_size, held_at, env_id=env_id, info=info, update=checkpoint.update
    )
