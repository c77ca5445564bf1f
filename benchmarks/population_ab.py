"""Is this tree's population faster than another commit's? Both trained side by side, update by update.

    python benchmarks/population_ab.py 7c58540            # this tree against that commit
    python benchmarks/population_ab.py 7c58540 --agents 32 --runs 2

On a machine shared with other jobs, two benchmark runs a minute apart differ by a
quarter; so this one runs the two trees at the same time in two processes, each a
population of seeds 0..M-1 (default config, each agent stopped once solved, as
``benchmarks/population.py``), and alternates single updates between them (A B, B A, A
B, ...): both see the same load. The two do the same work, update for update (a
refactor that keeps the determinism fingerprint trains the same agents), so each pair of
updates gives a ratio; per number of agents still running, the median ratio, and overall
the time this tree took weighted by those medians (robust to a burst of load in either).
The other commit is exported (``git archive``) into a temporary folder.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
SERVE = """
import sys, time
sys.path.insert(0, sys.argv[1])
import torch
torch.set_num_threads(1)
from vpg_sim.core.config import config_for
from vpg_sim.core.population.trainer import PopulationTrainer
population = PopulationTrainer([config_for("CartPole-v1", seed=seed) for seed in range(int(sys.argv[2]))])
print("ready", flush=True)
for _ in sys.stdin:
    running = len(population.slots)
    if not running:
        print("0 0", flush=True)  # every agent has stopped
        continue
    started = time.perf_counter()
    stats = population.train_update()
    population.stop([a for a, update in stats.items() if population.solved(a) or update.env_steps >= 500_000])
    print(time.perf_counter() - started, running, flush=True)
"""


def side_by_side(trees: dict[str, Path], agents: int) -> dict[int, list[tuple[float, float]]]:
    """Per number of running agents, each update's (seconds in "base", seconds in "this")."""
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True}
    processes = {
        name: subprocess.Popen([sys.executable, "-c", SERVE, str(tree), str(agents)], **pipes)
        for name, tree in trees.items()
    }
    for process in processes.values():
        if process.stdout.readline().strip() != "ready":
            raise SystemExit("a population did not start")
    pairs: dict[int, list[tuple[float, float]]] = collections.defaultdict(list)
    order = list(processes)
    for index in range(10**6):
        answers = {}
        for name in order if index % 2 == 0 else order[::-1]:
            processes[name].stdin.write("\n")
            processes[name].stdin.flush()
            seconds, running = processes[name].stdout.readline().split()
            answers[name] = float(seconds), int(running)
        if answers["base"][1] == 0:
            break
        if answers["base"][1] != answers["this"][1]:
            raise SystemExit("the two trees trained different agents: they do not train alike")
        pairs[answers["base"][1]].append((answers["base"][0], answers["this"][0]))
    for process in processes.values():
        process.stdin.close()
        process.wait()
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base", help="the commit to compare this tree with")
    parser.add_argument("--agents", type=int, default=32)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vpg-ab-") as temporary:
        base = Path(temporary)
        archive = subprocess.run(["git", "archive", args.base], cwd=HERE, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive.stdout, check=True)
        for _ in range(args.runs):
            pairs = side_by_side({"base": base, "this": HERE}, args.agents)
            medians = {m: statistics.median(b / t for b, t in times) for m, times in sorted(pairs.items())}
            this_seconds = {m: sum(t for _, t in times) for m, times in pairs.items()}
            weighted = sum(this_seconds[m] * medians[m] for m in pairs) / sum(this_seconds.values())
            result = {
                "base": args.base,
                "agents": args.agents,
                "updates": sum(len(times) for times in pairs.values()),
                "seconds_base": round(sum(b for times in pairs.values() for b, _ in times), 2),
                "seconds_this": round(sum(this_seconds.values()), 2),
                "speedup_weighted_medians": round(weighted, 3),
                "median_speedup_by_running_agents": {m: round(r, 3) for m, r in medians.items()},
            }
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
