"""Does a solved run stay solved? One JSON line per seed, then a summary.

    python benchmarks/stability.py --seeds 10 --steps 300000
    python benchmarks/stability.py --seeds 10 --first-seed 10 --set target_kl=None

Each seed trains for ``--steps`` env steps whether or not it solves. "First solve" is
the first update after which the mean return of the last 100 episodes reaches the
env's threshold (475 on CartPole-v1, as in benchmarks/solve.py). After it, the lowest
mean-of-last-100 return of any later update is the run's worst relapse; a seed is
stable if that never drops below ``--floor``. ``--set`` overrides a config field.
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

from benchmarks.solve import parse_override
from vpg_sim.core.config import VPGConfig, config_for
from vpg_sim.core.trainer import VPGTrainer


def run_seed(env_id: str, seed: int, steps: int, overrides: dict[str, object]) -> dict[str, object]:
    """Train one seed for ``steps`` env steps; its first solve and the worst return after it."""
    trainer = VPGTrainer(config_for(env_id, seed=seed, **overrides))
    started = time.perf_counter()
    first_solve: int | None = None
    lowest_after: float | None = None
    while trainer.env_steps < steps:
        stats = trainer.train_update()
        if first_solve is not None:
            lowest_after = stats.mean_return_100 if lowest_after is None else min(lowest_after, stats.mean_return_100)
        elif trainer.solved:
            first_solve = trainer.env_steps
    elapsed = time.perf_counter() - started
    final = trainer.mean_return_100
    trainer.close()
    return {
        "seed": seed,
        "first_solve_steps": first_solve,
        "min_mean_return_after_solve": None if lowest_after is None else round(lowest_after, 1),
        "final_mean_return_100": None if math.isnan(final) else round(final, 1),
        "env_steps_per_second": round(trainer.env_steps / elapsed) if elapsed > 0 else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--seeds", type=int, default=10, help="train seeds first-seed..first-seed+N-1")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=300_000, help="env steps per seed, solved or not")
    parser.add_argument("--floor", type=float, default=450.0, help="a solved seed is stable if it never drops below")
    parser.add_argument("--set", type=parse_override, action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    torch.set_num_threads(VPGConfig.torch_threads)  # as main.py does

    results = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        result = run_seed(args.env, seed, args.steps, dict(args.set))
        results.append(result)
        print(json.dumps(result), flush=True)

    solved = [r for r in results if r["first_solve_steps"] is not None]
    # A seed that solves on its very last update has no later update: it counts as stable.
    lows = [r["min_mean_return_after_solve"] for r in solved if r["min_mean_return_after_solve"] is not None]
    stable = len(solved) - sum(low < args.floor for low in lows)
    summary = {
        "summary": True,
        "env": args.env,
        "steps": args.steps,
        "overrides": dict(args.set),
        "solved": f"{len(solved)}/{len(results)}",
        "median_first_solve_steps": statistics.median(r["first_solve_steps"] for r in solved) if solved else None,
        f"never_below_{args.floor:g}_after_solve": f"{stable}/{len(results)}",
        "worst_min_after_solve": min(lows) if lows else None,
        "median_env_steps_per_second": statistics.median(r["env_steps_per_second"] for r in results),
    }
    print(json.dumps(summary, default=str), flush=True)


if __name__ == "__main__":
    main()
