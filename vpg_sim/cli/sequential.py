"""Training a comparison's seeds headless, once or in batches until it is decided.

``compare --until-decided`` answers "how many seeds?": it trains batches of ``--seeds``
seeds (0-15, then 16-31, ...), pools them, and after each batch looks at the 95%-family
interval of P(A solves in fewer steps than B) (``core/statistics.py``): once it excludes
1/2 the comparison is decided; at ``--max-seeds`` it stops undecided, and says which.

The error it controls: the chance of naming a winner where there is none (P(A better than
B) = 1/2) is at most 5% over all the looks together. Looking after every batch at a 95%
interval would spend 5% per look (with 8 looks, up to ~20% in all); so each of the K
looks planned (``ceil(max_seeds / batch)``) uses a 1 - 0.05/K interval (Bonferroni: the
union of K events of chance 0.05/K each). Conservative, and only as exact as the
bootstrap's coverage; ``benchmarks/until_decided.py`` measures the rate on simulated
groups that do not differ. AdaStop (Mathieu et al. 2023), a group-sequential permutation
test, spends its error more efficiently but tests a mean score, which censored steps to
solve (+inf for a seed that never solved) do not have.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from vpg_sim.cli.comparison_file import Comparison, pool, this_run
from vpg_sim.core.comparison import as_steps
from vpg_sim.core.statistics import CONFIDENCE, improvement_interval, per_look_confidence
from vpg_sim.training.comparison_run import Group
from vpg_sim.training.parallel import ParallelRun
from vpg_sim.training.worker_process import StartedWorkers

PROGRESS_SECONDS = 5.0
DEFAULT_MAX_SEEDS = 128
LAST_SEED = 2**32 - 1


@dataclass(frozen=True)
class Engine:
    """Where the seeds train: ``workers`` processes (``training/parallel.py``), each
    importing ``env_module`` first if the env is a module's own (None: Gymnasium's); the
    first run takes the children ``started`` early, if any."""

    workers: int = 1
    env_module: str | None = None
    started: StartedWorkers | None = None


def train_seeds(
    groups: Sequence[Group],
    seeds: Sequence[int],
    max_steps: int | None,
    prog: str,
    full_budget: bool,
    engine: Engine = Engine(),
) -> Comparison:
    """Both groups trained with ``seeds`` until finished (``full_budget``: every seed to its
    budget, for pooling with other runs), with a progress line on stderr every few seconds."""
    run = ParallelRun(
        groups,
        seeds,
        max_steps,
        workers=engine.workers,
        env_import=engine.env_module,
        stop_when_all_solved=not full_budget,
        started=engine.started,
    )
    try:
        last = time.monotonic()
        while not run.finished:
            run.train_round()
            if time.monotonic() - last >= PROGRESS_SECONDS or run.finished:
                last = time.monotonic()
                print(f"{prog}: round {run.rounds}: {progress(run)}", file=sys.stderr, flush=True)
        return this_run(run.results(), groups[0].config.env_id, run.reward_threshold)
    finally:
        run.close()


def progress(run: ParallelRun) -> str:
    parts = []
    for group in run.groups:
        solved = sum(steps is not None for steps in run.steps_to_solve(group.name))
        steps = max(run.env_steps(group.name))
        mean = run.mean_return_100(group.name)
        parts.append(f"{group.name} {steps:,} steps, mean return {mean:.1f}, {solved}/{len(run.seeds)} solved")
    return " | ".join(parts)


def planned_looks(first: range, max_seeds: int | None) -> tuple[int, int]:
    """The seeds per group at most (None: 128) and the looks it takes in batches of
    ``len(first)``; ValueError (one line) if that is under a batch or passes seed 2^32 - 1."""
    most = max_seeds or DEFAULT_MAX_SEEDS
    if most < len(first):
        raise ValueError(f"--max-seeds {most} is fewer than one batch of --seeds ({len(first)})")
    if first.start + most - 1 > LAST_SEED:
        raise ValueError(f"{most} seeds from {first.start} on pass the largest seed, {LAST_SEED}")
    return most, math.ceil(most / len(first))


def run_until_decided(
    groups: Sequence[Group],
    first: range,
    max_seeds: int | None,
    max_steps: int | None,
    prog: str,
    engine: Engine = Engine(),
) -> tuple[Comparison, str]:
    """Batches of ``len(first)`` seeds from ``first.start`` on, until decided or
    ``max_seeds`` (None: 128) per group: the pooled comparison and the verdict in a line."""
    batch = len(first)
    most, looks = planned_looks(first, max_seeds)
    confidence = per_look_confidence(looks, CONFIDENCE)
    a, b = groups[0].name, groups[1].name
    pooled: Comparison | None = None
    for look in range(1, looks + 1):
        start = first.start + (look - 1) * batch
        seeds = range(start, min(start + batch, first.start + most))
        shard = train_seeds(groups, seeds, max_steps, prog, full_budget=True, engine=engine)
        pooled = shard if pooled is None else pool([pooled, shard], ["the seeds so far", f"seeds {seeds.start}-"])
        steps = {result.name: as_steps(result.steps_to_solve) for result in pooled.results}
        p, low, high = improvement_interval(steps[a], steps[b], confidence=confidence)
        seen = len(pooled.results[0].seeds)
        verdict = (
            f"P({a} solves in fewer steps than {b}) = {p:.2f}, {100 * confidence:.2f}% interval "
            f"{low:.2f}..{high:.2f} after {seen} seeds per group (look {look} of {looks})"
        )
        print(f"{prog}: {verdict}", file=sys.stderr, flush=True)
        if low > 0.5 or high < 0.5:
            winner = a if low > 0.5 else b
            return pooled, (
                f"decided: {winner} solves faster. {verdict}; the interval excludes 1/2 (Bonferroni over "
                f"{looks} looks: at most a {100 * (1 - CONFIDENCE):g}% chance of naming a winner where there is none)"
            )
    assert pooled is not None
    return pooled, f"not decided at the maximum of {most} seeds per group: {verdict}; the interval includes 1/2"
