"""What ``compare --seeds`` and ``variance --batches`` cost in memory, so that neither
can be asked for more than a laptop has to spare.

Both costs grow linearly, by seed or by batch, on top of what the process takes anyway
(vpg-sim's imports, the training, the window). The figures are peak resident memory
(``/usr/bin/time -f %M``) measured on this project's 2-core Linux machine in one
sitting; ``benchmarks/memory_bounds.py`` measures them again and prints each next to
the estimate here. The estimates err high: the bound they give keeps the real peak under
:data:`MEMORY_BUDGET_MB`.

``build_parser`` imports this module through the commands' modules: nothing here
imports torch.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from vpg_sim.core.config import VPGConfig

MEMORY_BUDGET_MB = 1024.0
"""The most either command may take: 1 GB, what a classroom laptop has to spare."""

# -- compare: per seed ------------------------------------------------------------------------

COMPARE_PROCESS_MB = 350.0
"""compare with 2 seeds: ~300 MB headless, ~340 MB with its window."""
AGENT_MB = 0.4
"""An agent's own state beside its batch and networks (envs, episode records, arrays)."""
BYTES_PER_PARAMETER = 16
"""A weight, its gradient and Adam's two moments, float32."""
BYTES_PER_SAMPLE_UNIT = 8.6
"""Per sample of a batch and hidden unit of the networks: activations and their gradients.
Fitted to CartPole (64 x 64 and 128 x 128 networks; batches of 512 to 4,096 steps; 16 to
256 seeds): headless, the model is within 7% of each of 12 measurements (256 seeds of the
default config: 1,158 MB measured, 1,127 estimated without the window's share)."""
WINDOW_SHARE = 1.25
"""The window takes ~23% more per seed than headless (16 and 128 seeds: 401 and 862 MB);
estimated alike for both, so a bound that holds for the window holds headless."""


def network_parameters(sizes: Sequence[int]) -> int:
    """Weights and biases of a fully connected net through layer widths ``sizes`` (inputs first)."""
    return sum((inputs + 1) * outputs for inputs, outputs in itertools.pairwise(sizes))


def agent_megabytes(config: VPGConfig, observation_dim: int, actions: int) -> float:
    """Estimated memory of one agent of a population trained with ``config``."""
    hidden = list(config.hidden_sizes)
    parameters = network_parameters([observation_dim, *hidden, actions]) + network_parameters(
        [observation_dim, *hidden, 1]
    )
    samples = config.steps_per_update * sum(hidden) * BYTES_PER_SAMPLE_UNIT
    return WINDOW_SHARE * (AGENT_MB + (parameters * BYTES_PER_PARAMETER + samples) / 2**20)


# -- variance: per batch ----------------------------------------------------------------------

VARIANCE_PROCESS_MB = 400.0
"""variance with 2 batches: 353 MB (training to 40,000 steps included), with room to spare."""
BYTES_PER_BATCH_STEP = 500
"""Per env step a measurement's batch may hold: the rollout's arrays of every env until the
last episode ends, and the gradients' tensors. Measured on CartPole once its episodes run
to the 500-step limit: 4.1-4.4 MB a batch of 16 envs (K = 64 to 256), 9,024 steps at most."""
UNLIMITED_EPISODE_STEPS = 1000
"""An env without a time limit is counted as ending its episodes within this many steps."""


def batch_megabytes(config: VPGConfig, max_episode_steps: int | None) -> float:
    """Estimated memory of one batch of ``variance``'s measurement: its ``num_envs`` envs
    play until the batches hold ``steps_per_update`` steps each, then to their episodes' end."""
    episode = max_episode_steps or UNLIMITED_EPISODE_STEPS
    return (config.steps_per_update + config.num_envs * episode) * BYTES_PER_BATCH_STEP / 2**20


def most_within_budget(unit_mb: float, process_mb: float) -> int:
    """How many units of ``unit_mb`` fit in :data:`MEMORY_BUDGET_MB` beside ``process_mb``."""
    return max(0, math.floor((MEMORY_BUDGET_MB - process_mb) / unit_mb))
