"""Does the choice of Phi_t change how fast plain VPG learns? And the textbook preset?

    python benchmarks/estimators.py --seeds 10
    python benchmarks/estimators.py --seeds 10 --only total-return --only textbook

Trains each config below for ``--steps`` env steps (300,000) on seeds first-seed.., solved
or not, and prints one JSON line per run, then one summary line per config: solved count,
median steps to solve, median final mean return (of the last 100 episodes).

Compared in env steps as the trainer counts them: a critic-free estimator's batch is
whole episodes, so its size varies (1,024 steps for a policy that falls at once, up to
~8,000 once every episode runs to 500), and updates are not a common clock. A median
over seeds that did not all solve counts the unsolved ones as never (it is null when
half or more did not solve).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from vpg_sim.core.config import VPGConfig, config_for
from vpg_sim.core.trainer import VPGTrainer

CONFIGS = {
    "gae": {},  # the default config
    "baseline": {"estimator": "baseline"},
    "reward-to-go": {"estimator": "reward-to-go"},
    "total-return": {"estimator": "total-return"},
    "textbook": {"variant": "textbook"},  # plain VPG beyond the estimator (gae, as the default)
    # The default normalises Phi over each batch, and subtracting the batch's mean is a
    # baseline of its own: only the textbook preset trains on the raw Phi the claim is about.
    "textbook baseline": {"variant": "textbook", "estimator": "baseline"},
    "textbook reward-to-go": {"variant": "textbook", "estimator": "reward-to-go"},
    "textbook total-return": {"variant": "textbook", "estimator": "total-return"},
}
"""Each config's arguments to ``config_for`` beside the env and seed."""


def run(env_id: str, name: str, seed: int, steps: int) -> dict[str, object]:
    """Train one config and seed for ``steps`` env steps; its first solve and its end."""
    arguments = dict(CONFIGS[name])
    variant = arguments.pop("variant", None)
    trainer = VPGTrainer(config_for(env_id, variant, seed=seed, **arguments))
    started = time.perf_counter()
    steps_to_solve = None
    best = -math.inf
    while trainer.env_steps < steps:
        stats = trainer.train_update()
        if not math.isnan(stats.mean_return_100):
            best = max(best, stats.mean_return_100)
        if steps_to_solve is None and trainer.solved:
            steps_to_solve = trainer.env_steps
    final = trainer.mean_return_100
    trainer.close()
    return {
        "config": name,
        "seed": seed,
        "steps_to_solve": steps_to_solve,
        "final_mean_return_100": None if math.isnan(final) else round(final, 1),
        "best_mean_return_100": None if best == -math.inf else round(best, 1),
        "env_steps": trainer.env_steps,
        "updates": trainer.updates,
        "nan_rollbacks": trainer.nan_rollbacks,
        "seconds": round(time.perf_counter() - started, 1),
    }


def median_or_never(values: list[float | None]) -> float | None:
    """The median with None as never (above every number); None if the median is never."""
    ordered = sorted(values, key=lambda value: math.inf if value is None else value)
    middle = len(ordered) // 2
    pair = ordered[middle - 1 : middle + 1] if len(ordered) % 2 == 0 else ordered[middle : middle + 1]
    return None if any(value is None for value in pair) else statistics.mean(pair)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=300_000, help="env steps per run, solved or not")
    parser.add_argument("--only", choices=CONFIGS, action="append", help="run only these configs (repeatable)")
    args = parser.parse_args()
    torch.set_num_threads(VPGConfig.torch_threads)  # as main.py does

    for name in args.only or CONFIGS:
        results = []
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            results.append(run(args.env, name, seed, args.steps))
            print(json.dumps(results[-1]), flush=True)
        finals = [r["final_mean_return_100"] for r in results if r["final_mean_return_100"] is not None]
        summary = {
            "summary": True,
            "config": name,
            "env": args.env,
            "steps": args.steps,
            "solved": f"{sum(r['steps_to_solve'] is not None for r in results)}/{len(results)}",
            "median_steps_to_solve": median_or_never([r["steps_to_solve"] for r in results]),
            "median_final_mean_return_100": statistics.median(finals) if finals else None,
            "min_final_mean_return_100": min(finals) if finals else None,
            "nan_rollbacks": sum(r["nan_rollbacks"] for r in results),
            "median_seconds": statistics.median(r["seconds"] for r in results),
        }
        print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
