"""Step 2 for a population: each agent's advantages, critic targets and batch, laid out per agent.

What ``VPGTrainer.update`` computes before its policy step, for M agents at once: the
critic's targets R_t = A_t + V(s_t) with GAE(gamma, lambda), and the weights Phi_t of the
policy gradient by each agent's own estimator (``advantages.py``). The recursions are
elementwise over columns, so all agents of one estimator are one call, each column with
its own gamma and lambda, computing exactly what it would alone.

A fixed-length agent's batch is its first ``steps`` rows (the batch's cut bootstrapped
with ``last_values``); a whole-episode agent's batch ends each env's last episode with a
termination or truncation, so the padding after it cannot leak into it (``done`` stops
every recursion), and its columns are computed over all rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from vpg_sim.core.advantages import (
    CRITIC_FREE,
    estimated_advantages,
    explained_variance,
    gae_advantages,
    lambda_returns,
)
from vpg_sim.core.config import VPGConfig
from vpg_sim.core.population.rollout import PopulationBatch
from vpg_sim.core.stabilisers import normalized_advantages


@dataclass
class AgentBatches:
    """One batch laid out per agent: B = T * N rows each, in the lone trainer's order
    (t, then env); an agent's rows past its own batch are invalid."""

    observations: torch.Tensor  # (M, B, obs_dim) float32
    actions: torch.Tensor  # (M, B) int64
    valid: torch.Tensor  # (M, B) bool
    weights: torch.Tensor  # (M, B) float32: advantages as the policy step uses them, 0 where not valid
    returns: np.ndarray  # (M, B) float64 lambda-returns, the critic's targets
    rows: list[np.ndarray]  # per agent, its valid rows
    raw_advantages: list[np.ndarray] = field(default_factory=list)
    """Per agent, Phi_t of its valid rows before normalisation, ``(B_i,)`` float32."""
    explained_variance: list[float] = field(default_factory=list)
    has_signal: list[bool] = field(default_factory=list)
    """Per agent: advantages with at least the std floor (they may grow the KL-adapted rate)."""
    returns_finite: list[bool] = field(default_factory=list)


def _columns(array: np.ndarray, rows: int, agents: np.ndarray) -> np.ndarray:
    """``array`` ``(T, M, N)`` -> ``(rows, len(agents) * N)``: the agents' envs as columns."""
    return array[:rows, agents].reshape(rows, -1)


def population_advantages(batch: PopulationBatch, configs: Sequence[VPGConfig]) -> tuple[np.ndarray, np.ndarray]:
    """Every agent's GAE and its estimator's Phi_t, each ``(T, M, N)`` float64 (0 past an
    agent's batch): what ``VPGTrainer.update`` computes as ``gae`` and ``advantages``."""
    num_envs = batch.rewards.shape[2]
    gae = np.zeros(batch.rewards.shape)
    phi = np.zeros(batch.rewards.shape)
    gammas = np.array([c.gamma for c in configs])
    lambdas = np.array([c.gae_lambda for c in configs])
    whole = np.array([c.estimator in CRITIC_FREE for c in configs])
    for kind in (~whole, whole):
        agents = np.flatnonzero(kind)
        if not len(agents):
            continue
        rows = int(batch.steps[agents].max())  # fixed-length agents: all the same
        inputs = [_columns(a, rows, agents) for a in (batch.rewards, batch.values, batch.terminated, batch.truncated)]
        last_values = batch.last_values[agents].reshape(-1)
        per_column = (np.repeat(gammas[agents], num_envs), np.repeat(lambdas[agents], num_envs))
        kind_gae = gae_advantages(*inputs[:2], last_values, *inputs[2:], *per_column)
        gae[:rows, agents] = kind_gae.reshape(rows, len(agents), num_envs)
        for estimator in sorted({configs[agent].estimator for agent in agents}):
            members = agents[[configs[agent].estimator == estimator for agent in agents]]
            if estimator == "gae":
                phi[:rows, members] = gae[:rows, members]
                continue
            values = [_columns(a, rows, members) for a in (batch.rewards, batch.values)]
            ends = [_columns(a, rows, members) for a in (batch.terminated, batch.truncated, batch.valid)]
            member_phi = estimated_advantages(
                estimator,
                *values,
                batch.last_values[members].reshape(-1),
                *ends,
                np.repeat(gammas[members], num_envs),
                np.repeat(lambdas[members], num_envs),
            )
            phi[:rows, members] = member_phi.reshape(rows, len(members), num_envs)
    return gae, phi


def agent_batches(batch: PopulationBatch, configs: Sequence[VPGConfig]) -> AgentBatches:
    """Step 2 for every agent (``configs`` in the batch's agent order), and its batch laid
    out per agent, as ``VPGTrainer.update`` and ``_policy_step`` prepare theirs."""
    count = len(configs)
    steps, _, num_envs = batch.rewards.shape
    gae, phi = population_advantages(batch, configs)
    returns = lambda_returns(gae, batch.values)

    # Per agent, rows in the lone trainer's order (t, then env): (T, M, N) -> (M, T * N).
    def per_agent(array: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.moveaxis(array, 1, 0)).reshape(count, steps * num_envs, *array.shape[3:])

    valid, phi, returns, values = map(per_agent, (batch.valid, phi, returns, batch.values))
    prepared = AgentBatches(
        observations=torch.from_numpy(per_agent(batch.observations)),
        actions=torch.from_numpy(per_agent(batch.actions)),
        valid=torch.from_numpy(valid),
        weights=torch.zeros(valid.shape),
        returns=returns,
        rows=[np.flatnonzero(agent_valid) for agent_valid in valid],
    )
    for slot, (config, rows) in enumerate(zip(configs, prepared.rows, strict=True)):
        agent_phi, agent_returns = phi[slot, rows], returns[slot, rows]
        prepared.explained_variance.append(explained_variance(values[slot, rows], agent_returns))
        prepared.raw_advantages.append(agent_phi.astype(np.float32))
        prepared.has_signal.append(len(rows) > 1 and float(agent_phi.std()) >= config.advantage_std_floor)
        if config.normalize_advantages:
            agent_phi = normalized_advantages(agent_phi, config.advantage_std_floor)
        prepared.weights[slot, rows] = torch.from_numpy(agent_phi).float()
        # As the lone trainer checks its targets: as float32.
        prepared.returns_finite.append(bool(np.isfinite(agent_returns.astype(np.float32)).all()))
    return prepared
