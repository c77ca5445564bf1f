"""How fast does a population of CartPole agents solve, against the same seeds one by one?

    python benchmarks/population.py --agents 32
    python benchmarks/population.py --agents 16 --sequential 16     # both distributions, seed for seed
    python benchmarks/population.py --agents 32 --threads 2 --envs gym

Trains agents of seeds 0..M-1 (default config) in one ``PopulationTrainer`` until each is
solved (a solved agent stops, so the others no longer pay for it), then ``--sequential``
of the same seeds, spread evenly, with ``VPGTrainer`` one after another, and prints one
JSON object: agents solved, the wall seconds until the last one solved, aggregate
env-steps/s (every agent's steps over the population's wall time, updates included),
steps to solve (median, min, max) for both, and the speed-up: the population's env-steps/s
over the sequential runs' (a ratio of rates, so that a sample of easy or hard seeds does
not bias it; with every seed it is also the ratio of the two wall times, as the steps to
solve are distributed alike). Seconds exclude start-up (imports, building envs and nets).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from vpg_sim.core.config import config_for
from vpg_sim.core.population.trainer import PopulationTrainer
from vpg_sim.core.trainer import VPGTrainer
from vpg_sim.training.headless import run_headless


def summary(steps_to_solve: list[int | None]) -> dict[str, object]:
    solved = [steps for steps in steps_to_solve if steps is not None]
    return {
        "solved": f"{len(solved)}/{len(steps_to_solve)}",
        "median_steps_to_solve": statistics.median(solved) if solved else None,
        "min_steps_to_solve": min(solved, default=None),
        "max_steps_to_solve": max(solved, default=None),
    }


def train_population(agents: int, max_steps: int, batched_envs: bool) -> dict[str, object]:
    population = PopulationTrainer([config_for("CartPole-v1", seed=seed) for seed in range(agents)], None, batched_envs)
    steps_to_solve: list[int | None] = [None] * agents
    started = time.perf_counter()
    updates = 0
    while population.slots:
        stats = population.train_update()
        updates += 1
        finished = []
        for agent, update in stats.items():
            if population.solved(agent):
                steps_to_solve[agent] = update.env_steps
                finished.append(agent)
            elif update.env_steps >= max_steps:
                finished.append(agent)
        population.stop(finished)
    seconds = time.perf_counter() - started
    env_steps = sum(population.env_steps(agent) for agent in range(agents))
    population.close()
    return {
        **summary(steps_to_solve),
        "seconds_until_last_solved": round(seconds, 2),
        "env_steps": env_steps,
        "env_steps_per_second": round(env_steps / seconds),
        "population_updates": updates,
        "steps_to_solve": steps_to_solve,
    }


def train_one_by_one(seeds: list[int], max_steps: int) -> dict[str, object]:
    results = []
    for seed in seeds:
        trainer = VPGTrainer(config_for("CartPole-v1", seed=seed))
        results.append(run_headless(trainer, max_steps, until_solved=True))
        trainer.close()
    seconds = sum(result.seconds_to_solve or 0.0 for result in results)
    env_steps = sum(result.env_steps for result in results)
    steps = [result.steps_to_solve for result in results]
    rate = round(env_steps / seconds)
    return {**summary(steps), "seconds": round(seconds, 2), "env_steps_per_second": rate, "steps_to_solve": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=32)
    parser.add_argument("--sequential", type=int, default=8, help="train N of the seeds one by one, for the ratio")
    parser.add_argument("--max-steps", type=int, default=500_000, help="per agent")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: the machine is shared)")
    parser.add_argument("--envs", choices=("batched", "gym"), default="batched")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    load = os.getloadavg()[0]
    population = train_population(args.agents, args.max_steps, args.envs == "batched")
    result: dict[str, object] = {"agents": args.agents, "threads": args.threads, "envs": args.envs}
    result["population"] = population
    if args.sequential:
        torch.set_num_threads(1)  # VPGTrainer's own setting
        seeds = sorted({round(i * args.agents / args.sequential) for i in range(args.sequential)})
        one_by_one = train_one_by_one(seeds, args.max_steps)
        result["one_by_one"] = {**one_by_one, "seeds": seeds}
        result["speedup"] = round(population["env_steps_per_second"] / one_by_one["env_steps_per_second"], 2)
    result["load_average_1min"] = {"before": round(load, 2), "after": round(os.getloadavg()[0], 2)}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
