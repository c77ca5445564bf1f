"""Training a run again from its start, to look at it at chosen updates.

Policy files keep one update, not their past. A run is deterministic in its config and
seed (the trainer owns every random stream it uses; ``tests/test_cli_config.py`` repeats
a run bit for bit), so the policy a file's run had at update 10 can be had again by
training a fresh trainer with the file's config for 10 updates. ``vpg-sim map --grid-of``
draws learning this way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import torch

from vpg_sim.core.checkpoint import Checkpoint
from vpg_sim.core.config import VPGConfig
from vpg_sim.core.trainer import VPGTrainer


def checkpoints_at(
    config: VPGConfig, updates: Sequence[int], on_update: Callable[[int], None] | None = None
) -> Iterator[Checkpoint]:
    """Train a fresh run of ``config`` and yield its checkpoint after each of ``updates``.

    :param updates: update numbers >= 1, in increasing order (1 = after the first update).
    :param on_update: called with the update number after every update (a progress bar).

    The config must be the run's *start* config: a run whose knobs were turned during
    training is not repeated by its final config (see ``Checkpoint.config_changes``).
    """
    if any(update < 1 for update in updates) or list(updates) != sorted(set(updates)):
        raise ValueError(f"updates must be increasing whole numbers from 1, not {list(updates)}")
    trainer = VPGTrainer(config)
    try:
        for target in updates:
            while trainer.updates < target:
                trainer.train_update()
                if on_update is not None:
                    on_update(trainer.updates)
            yield trainer.checkpoint()
    finally:
        trainer.close()


def same_weights(first: Checkpoint, second: Checkpoint) -> bool:
    """Whether two checkpoints hold exactly the same policy and value weights."""
    states = ((first.policy_state, second.policy_state), (first.value_state, second.value_state))
    return all(a.keys() == b.keys() and all(torch.equal(a[name], b[name]) for name in a) for a, b in states)
