"""A fingerprint of training, to check that a refactor changed nothing the algorithm does.

    python benchmarks/determinism_trace.py            # one hash per run, then one for all

Trains the first 70 updates of CartPole seeds 0-2, Pendulum and Acrobot with
``VPGTrainer``, and 30 rounds of a mixed population (gae and total-return, 4 seeds each),
and hashes every update's statistics (timings aside) and the final weights. Two trees
that print the same hashes train the same, bit for bit.
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


def trainer_hash(env_id: str, seed: int) -> str:
    digest = hashlib.sha256()
    trainer = VPGTrainer(config_for(env_id, seed=seed))
    for _ in range(UPDATES):
        digest.update(_stats_bytes(trainer.train_update()))
    checkpoint = trainer.checkpoint()
    digest.update(_weights_bytes(checkpoint.policy_state))
    digest.update(_weights_bytes(checkpoint.value_state))
    trainer.close()
    return digest.hexdigest()[:16]


def population_hash() -> str:
    digest = hashlib.sha256()
    base = config_for("CartPole-v1")
    population = PopulationTrainer.from_groups(
        {"gae": base, "total": base.replace(estimator="total-return")}, seeds=range(4)
    )
    for _ in range(30):
        for agent, stats in sorted(population.train_update().items()):
            digest.update(str(agent).encode() + _stats_bytes(stats))
    population.close()
    return digest.hexdigest()[:16]


def main() -> None:
    torch.set_num_threads(1)
    overall = hashlib.sha256()
    for env_id, seed in RUNS:
        value = trainer_hash(env_id, seed)
        overall.update(value.encode())
        print(f"{env_id} seed {seed}: {value}", flush=True)
    value = population_hash()
    overall.update(value.encode())
    print(f"population (gae + total-return, 4 seeds): {value}", flush=True)
    print(f"all: {overall.hexdigest()[:16]}")


if __name__ == "__main__":
    main()
