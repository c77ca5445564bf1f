"""How fast does a population of CartPole agents solve, against the same seeds one by one?

    python benchmarks/population.py --agents 32
    python benchmarks/population.py --agents 16 --sequential 16     # both distributions, seed for seed
    python benchmarks/population.py --agents 32 --threads 2 --envs gym

Trains agents of seeds 0..M-1 (default config) in one ``PopulationTrainer`` until each is
solved (a solved agent stops, so the others no longer pay for it) and ``--sequential``
of the same seeds, spread evenly, with ``VPGTrainer`` one after another, and prints one
JSON object: agents solved, the seconds until the last one solved, aggregate
env-steps/s (every agent's steps over the population's seconds, updates included),
steps to solve (median, min, max) for both, and the speed-up: the population's env-steps/s
over the sequential runs' (a ratio of rates, so that a sample of easy or hard seeds does
not bias it; with every seed it is also the ratio of the two times, as the steps to
solve are distributed alike). Seconds exclude start-up (imports, building envs and nets).

The two sides take turns, an update at a time (the one with fewer seconds so far goes
next), so that both are timed in the same minutes: on a machine other jobs share, two
runs a minute apart differ by a quarter, and a population timed before the one-by-one
runs, or after, gave ratios from 3.2 to 4.9 in one hour.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from vpg_sim.core.config import config_for
from vpg_sim.core.population.trainer import PopulationTrainer
from vpg_sim.core.trainer import VPGTrainer


def summary(steps_to_solve: list[int | None]) -> dict[str, object]:
    solved = [steps for steps in steps_to_solve if steps is not None]
    return {
        "solved": f"{len(solved)}/{len(steps_to_solve)}",
        "median_steps_to_solve": statistics.median(solved) if solved else None,
        "min_steps_to_solve": min(solved, default=None),
        "max_steps_to_solve": max(solved, default=None),
    }


def population_updates(agents: int, max_steps: int, batched_envs: bool, result: dict) -> Iterator[bool]:
    """The population, an update per step of the iterator (True: an update to time;
    False: building, not timed); fills ``result`` at the end."""
    population = PopulationTrainer([config_for("CartPole-v1", seed=seed) for seed in range(agents)], None, batched_envs)
    steps_to_solve: list[int | None] = [None] * agents
    updates = 0
    yield False
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
        yield True
    result.update(summary(steps_to_solve), env_steps=sum(population.env_steps(a) for a in range(agents)))
    result.update(population_updates=updates, steps_to_solve=steps_to_solve)
    population.close()


def one_by_one_updates(seeds: list[int], max_steps: int, result: dict) -> Iterator[bool]:
    """Each seed's ``VPGTrainer`` until solved, one after another, as ``population_updates``."""
    steps_to_solve, env_steps = [], 0
    for seed in seeds:
        trainer = VPGTrainer(config_for("CartPole-v1", seed=seed))
        yield False
        while trainer.env_steps < max_steps and not trainer.solved:
            trainer.train_update()
            yield True
        steps_to_solve.append(trainer.env_steps if trainer.solved else None)
        env_steps += trainer.env_steps
        trainer.close()
    result.update(summary(steps_to_solve), env_steps=env_steps, steps_to_solve=steps_to_solve)


def take_turns(sides: dict[str, tuple[Iterator[bool], int]]) -> dict[str, float]:
    """Advance the side with the fewest timed seconds so far, one step at a time (with its
    torch thread count) until all are done; each side's timed seconds."""
    seconds = dict.fromkeys(sides, 0.0)
    running = dict(sides)
    while running:
        name = min(running, key=seconds.__getitem__)
        steps, threads = running[name]
        torch.set_num_threads(threads)
        started = time.perf_counter()
        timed = next(steps, None)
        if timed is None:
            del running[name]
        elif timed:
            seconds[name] += time.perf_counter() - started
    return seconds


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
    population: dict[str, object] = {}
    one_by_one: dict[str, object] = {}
    seeds = sorted({round(i * args.agents / args.sequential) for i in range(args.sequential)})
    batched = args.envs == "batched"
    sides = {"population": (population_updates(args.agents, args.max_steps, batched, population), args.threads)}
    if args.sequential:
        sides["one_by_one"] = (one_by_one_updates(seeds, args.max_steps, one_by_one), 1)  # VPGTrainer's own threads
    seconds = take_turns(sides)
    population.update(
        seconds_until_last_solved=round(seconds["population"], 2),
        env_steps_per_second=round(population["env_steps"] / seconds["population"]),
    )
    result: dict[str, object] = {"agents": args.agents, "threads": args.threads, "envs": args.envs}
    result["population"] = population
    if args.sequential:
        rate = round(one_by_one["env_steps"] / seconds["one_by_one"])
        result["one_by_one"] = {**one_by_one, "seconds": round(seconds["one_by_one"], 2), "env_steps_per_second": rate}
        result["one_by_one"]["seeds"] = seeds
        result["speedup"] = round(population["env_steps_per_second"] / rate, 2)
    result["load_average_1min"] = {"before": round(load, 2), "after": round(os.getloadavg()[0], 2)}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
