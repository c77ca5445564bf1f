"""The axes of a policy map: what each observation dimension is called, its unit, which
pairs are worth a map, the state the other dimensions are held at, and the ranges to span.

Pure: no pygame, no matplotlib, no files. :mod:`vpg_sim.core.policy_map` evaluates the
nets over these axes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import torch

from vpg_sim.core.envs import clip_to_box, make_single_env
from vpg_sim.core.networks import Policy

TERMINATION = "termination limit"
VISITED = "visited 1-99%"
TYPICAL = "typical (measured)"
BOUNDS = "observation bounds"
UNBOUNDED = "no bounds: unit range"
"""The origins a range can have (:attr:`AxisRange.origin`), best first."""

TERMINATION_MARGIN = 0.1
"""A range from termination limits reaches this fraction beyond them on each side, so
the limits themselves show on a map (and what the nets make of states past them)."""


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
        neutral_description="0 (the balanced state: centred, upright, still)",
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
        neutral_description="θ1 = θ2 = 0, still (hanging straight down)",
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
        neutral_description="θ = 0, still (upright: cos θ = 1, sin θ = 0, θ velocity = 0)",
        action_names=("torque",),
    ),
    # The whole state is two numbers: the map is the complete policy. A good one pushes
    # the way the car already moves (pumping energy): a diagonal split of the plane.
    "MountainCar-v0": EnvMapInfo(
        names=("position", "velocity"),
        units=("m", "m/step"),
        default_pairs=((0, 1),),
        neutral=(-0.5, 0.0),
        neutral_description="position -0.5, velocity 0 (still, near the valley floor)",
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


def default_ranges(env_id: str, observation_space: gym.Space, visited: np.ndarray | None = None) -> list[AxisRange]:
    """One range per observation dimension, from the best source that dimension has.

    ``observation_space`` must be the env's own (:func:`env_observation_space`): a
    checkpoint loaded from a file carries placeholder bounds (-1..1).


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


def env_observation_space(env_id: str, fallback: gym.Space) -> gym.Space:
    """The observation space of ``env_id`` as installed (real bounds), or ``fallback`` if
    the env cannot be made here."""
    try:
        env = make_single_env(env_id)
    except Exception:  # an env may be anyone's code; the map can do without its bounds
        return fallback
    try:
        return env.observation_space
    finally:
        env.close()
