"""A fingerprint of training, to check that a refactor changed nothing the algorithm does.

    python benchmarks/determinism_trace.py            # one hash per run, then one for all
    python benchmarks/determinism_trace.py --weights  # the weights alone (statistics left out)

Trains the first 70 updates of CartPole seeds 0-2, Pendulum and Acrobot with
``VPGTrainer``, and 30 rounds of a mixed population (gae and total-return, 4 seeds each),
and hashes every update's statistics (timings aside) and the final weights. Two trees
that print the same hashes train the same, bit for bit. ``--weights`` hashes the networks'
weights after each update alone: for a change that reports a statistic differently (as
``policy_lr``, now the rate an update used) but must train the same.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from vpg_sim.core.config import config_for
from vpg_sim.core.population.trainer import PopulationTrainer
from vpg_sim.core.trainer import UpdateStats, VPGTrainer

UPDATES = 70
RUNS = (("CartPole-v1", 0), ("CartPole-v1", 1), ("CartPole-v1", 2), ("Pendulum-v1", 0), ("Acrobot-v1", 0))


def _stats_bytes(stats: UpdateStats) -> bytes:
    record = {k: v for k, v in stats.to_dict().items() if k not in UpdateStats.timing_fields()}
    return json.dumps(record, sort_keys=True).encode()


def _weights_bytes(state: dict[str, torch.Tensor]) -> bytes:
    return b"".join(tensor.detach().numpy().tobytes() for _, tensor in sorted(state.items()))


def trainer_hash(env_id: str, seed: int, weights_only: bool = False) -> str:
    digest = hashlib.sha256()
    trainer = VPGTrainer(config_for(env_id, seed=seed))
    for _ in range(UPDATES):
        stats = trainer.train_update()
        if weights_only:
            digest.update(_weights_bytes(trainer.checkpoint().policy_state))
        else:
            digest.update(_stats_bytes(stats))
    checkpoint = trainer.checkpoint()
    digest.update(_weights_bytes(checkpoint.policy_state))
    digest.update(_weights_bytes(checkpoint.value_state))
    trainer.close()
    return digest.hexdigest()[:16]


def population_hash(weights_only: bool = False) -> str:
    digest = hashlib.sha256()
    base = config_for("CartPole-v1")
    population = PopulationTrainer.from_groups(
        {"gae": base, "total": base.replace(estimator="total-return")}, seeds=range(4)
    )
    for _ in range(30):
        for agent, stats in sorted(population.train_update().items()):
            if weights_only:
                digest.update(str(agent).encode() + _weights_bytes(population.checkpoint_of(agent).policy_state))
            else:
                digest.update(str(agent).encode() + _stats_bytes(stats))
    population.close()
    return digest.hexdigest()[:16]


def main() -> None:
    weights_only = "--weights" in sys.argv[1:]
    torch.set_num_threads(1)
    overall = hashlib.sha256()
    for env_id, seed in RUNS:
        value = trainer_hash(env_id, seed, weights_only)
        overall.update(value.encode())
        print(f"{env_id} seed {seed}: {value}", flush=True)
    value = population_hash(weights_only)
    overall.update(value.encode())
    print(f"population (gae + total-return, 4 seeds): {value}", flush=True)
    print(f"all: {overall.hexdigest()[:16]}")


if __name__ == "__main__":
    main()
