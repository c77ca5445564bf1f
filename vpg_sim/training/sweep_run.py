"""A sweep: every cell of a grid of config values, each cell a group of seeds, trained to its end.

A cell is a :class:`~vpg_sim.training.comparison_run.Group` (one config, its grid settings
as its label) trained with every seed as ``compare`` trains a group: each agent until its
step budget, the whole cell until all its agents solved. The cells stop independently
(each is its own stop set), so a cell's records do not depend on the others.

Two engines give the same records, to the bit: :func:`run_here` trains every cell at once
in ``workers`` processes of this machine (``parallel.py``, each worker at most 8 rounds
ahead of the slowest; cells' agents pooled and dealt evenly by ``populations_worker.py``);
``ray_cells.py`` sends each cell to a Ray cluster as a task, :func:`train_cell`, which
trains the cell alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from vpg_sim.core.comparison import GroupResult, GroupSummary, cell_value, number, summarize
from vpg_sim.core.envs import reward_threshold
from vpg_sim.training.comparison_run import Group
from vpg_sim.training.parallel import ParallelRun
from vpg_sim.training.worker_process import StartedWorkers


@dataclass(frozen=True)
class SweepCell:
    """Cell ``index`` (grid order: the first key's values outermost): its settings, key
    -> value in grid order, and its group (named ``cell <index>``)."""

    index: int
    settings: dict[str, Any]
    group: Group


@dataclass(frozen=True)
class SweepResult:
    """Every cell's results (in cell order) and what they were trained with."""

    cells: tuple[SweepCell, ...]
    results: tuple[GroupResult, ...]
    seeds: tuple[int, ...]
    max_steps: int | None
    """Per agent; None: each cell's config's ``total_steps``."""
    wall_seconds: float

    @property
    def env_id(self) -> str:
        return self.cells[0].group.config.env_id

    @property
    def reward_threshold(self) -> float | None:
        return reward_threshold(self.env_id)

    @property
    def keys(self) -> list[str]:
        return list(self.cells[0].settings)

    def budget(self, cell: SweepCell) -> int:
        return self.max_steps or cell.group.config.total_steps

    def summary(self, cell: SweepCell, statistic: str) -> GroupSummary:
        """The cell on its own (no P(better) against each other cell: a grid's pairs are
        many, and the figure reads none of them)."""
        return summarize([self.results[cell.index]], statistic)[0]

    def heat_value(self, cell: SweepCell, statistic: str) -> tuple[float, str]:
        """What the heat map shows for the cell (``core/comparison.cell_value``: the window's rule)."""
        result = self.results[cell.index]
        return cell_value(result.steps_to_solve, result.end_returns(), statistic)

    def json_rows(self, statistic: str) -> list[dict[str, Any]]:
        """One JSON-ready object per cell, in cell order (no timings: the same for the
        same sweep however it ran); ``heat_map`` is the number its square shows."""
        rows = []
        for cell in self.cells:
            summary = self.summary(cell, statistic).to_dict()
            value, kind = self.heat_value(cell, statistic)
            heat = {
                "value": number(value, 1),
                "of": "median steps to solve" if kind == "steps" else "return at the end",
            }
            rows.append(
                {"cell": cell.index, "env": self.env_id, "max_steps": self.budget(cell), **summary, "heat_map": heat}
            )
        return rows


Progress = Callable[[str], None]
"""Takes one line saying how far the sweep has come."""
PROGRESS_SECONDS = 5.0


def train_cell(group: Group, seeds: Sequence[int], max_steps: int | None, env_import: str | None = None) -> GroupResult:
    """One cell trained alone, in this process (a Ray task's body; ``env_import``: the
    module of an ``--env module:Env-v0``, which registers the env, imported first)."""
    import importlib

    import torch

    torch.set_num_threads(group.config.torch_threads)
    if env_import is not None:
        importlib.import_module(env_import)
    run = ParallelRun([group], seeds, max_steps)
    try:
        run.train_to_the_end()
        return run.result(group)
    finally:
        run.close()


def run_here(
    cells: Sequence[SweepCell],
    seeds: Sequence[int],
    max_steps: int | None,
    workers: int,
    progress: Progress | None = None,
    env_import: str | None = None,
    started_workers: StartedWorkers | None = None,
) -> SweepResult:
    """Every cell trained in ``workers`` processes of this machine (1: in this one);
    ``env_import`` and ``started_workers`` as :class:`ParallelRun`'s ``env_import`` and ``started``."""
    started = time.monotonic()
    groups = [cell.group for cell in cells]
    stop_sets = [[group.name] for group in groups]
    run = ParallelRun(groups, seeds, max_steps, stop_sets, workers, env_import, started=started_workers)
    try:
        last = time.monotonic()
        while not run.finished:
            run.train_round()
            if progress is not None and (time.monotonic() - last >= PROGRESS_SECONDS or run.finished):
                last = time.monotonic()
                running = run.running_agents()
                done, agents = len(groups) - len(running), sum(running.values())
                progress(f"round {run.rounds}: {done}/{len(cells)} cells done, {agents} agents training")
        results = tuple(run.results())
    finally:
        run.close()
    return SweepResult(tuple(cells), results, tuple(seeds), max_steps, round(time.monotonic() - started, 1))
