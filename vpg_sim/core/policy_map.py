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

Cost (measured on the shared 2-core development machine, AMD EPYC, one torch thread,
the default 64-64 tanh nets, inputs built and outputs copied out included): a 64 x 64
grid through the policy and the value net in one batched pass takes 1.7 ms at best and
2.0 ms median (load ~3; 4.9 ms median at load ~6), against 4.5-5 ms through the nets'
own forward (torch's tanh, see :func:`forward`); 32 x 32, 0.5 ms; 128 x 128, ~10 ms.
So not the ~1 ms hoped for on this machine, but cheap enough to redraw after every
update; a window should still do it off the frame (docs/ARCHITECTURE.md: work over ~1 ms).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from vpg_sim.core.checkpoint import Checkpoint, networks_from_checkpoint
from vpg_sim.core.networks import CategoricalPolicy, GaussianPolicy, Policy, ValueNet
from vpg_sim.core.state_space import (
    BOUNDS,
    ENV_MAP_INFO,
    TERMINATION,
    TERMINATION_MARGIN,
    TYPICAL,
    UNBOUNDED,
    VISITED,
    AxisRange,
    EnvMapInfo,
    default_dims,
    default_ranges,
    env_map_info,
    env_observation_space,
    greedy_visits,
    visited_ranges,
)

__all__ = [  # the axes' helpers live in state_space.py; one import gets the whole API
    "BOUNDS",
    "ENV_MAP_INFO",
    "MAX_GRID",
    "MEAN_ACTION",
    "MOST_LIKELY",
    "PROBABILITY",
    "TERMINATION",
    "TERMINATION_MARGIN",
    "TYPICAL",
    "UNBOUNDED",
    "VISITED",
    "AxisRange",
    "EnvMapInfo",
    "PolicyMap",
    "default_dims",
    "default_ranges",
    "env_map_info",
    "env_observation_space",
    "evaluate_policy_map",
    "forward",
    "greedy_visits",
    "policy_map_from_checkpoint",
    "visited_ranges",
]

MAX_GRID = 1024
"""Largest grid side: 1024 x 1024 is a million states, ~1 s and ~1 GB of activations at most."""


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


def policy_map_from_checkpoint(
    checkpoint: Checkpoint,
    dims: tuple[int, int] | None = None,
    grid_size: int = 64,
    ranges: tuple[AxisRange | tuple[float, float], AxisRange | tuple[float, float]] | None = None,
    held_at: np.ndarray | None = None,
    visited: np.ndarray | None = None,
    observation_space: gym.Space | None = None,
) -> PolicyMap:
    """:func:`evaluate_policy_map` for a checkpoint, with the env's defaults for whatever
    is not given: :func:`default_dims`, :func:`default_ranges` (from ``visited``
    ``(B, obs_dim)`` observations where the env has no termination limit) and the env's
    neutral observation (:attr:`EnvMapInfo.neutral`).

    :param observation_space: the env's, for its bounds. Default: made from the env once
        (:func:`env_observation_space`), because a checkpoint loaded from a file knows
        only the shape (its spaces are placeholders bounded by -1..1).
    """
    env_id = checkpoint.config.env_id
    if observation_space is None:
        observation_space = env_observation_space(env_id, checkpoint.observation_space)
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
