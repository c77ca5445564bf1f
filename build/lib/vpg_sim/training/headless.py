"""Training with no window: run updates until a step budget or until solved."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from vpg_sim.core.trainer import UpdateStats, VPGTrainer


@dataclass(frozen=True)
class RunResult:
    """The outcome of a headless run, as printed by ``main.py train --json``."""

    env: str
    seed: int
    solved: bool
    steps_to_solve: int | None
    seconds_to_solve: float | None
    env_steps: int
    updates: int
    mean_return_100: float | None
    env_steps_per_second: float

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def run_headless(
    trainer: VPGTrainer,
    max_steps: int,
    until_solved: bool = False,
    on_update: Callable[[UpdateStats], None] | None = None,
) -> RunResult:
    """Train until ``max_steps`` env steps (or, with ``until_solved``, until solved).

    ``on_update`` receives every update's stats (for a progress bar or a CSV log).
    Times exclude building the trainer (imports, env and net construction).
    """
    started = time.perf_counter()
    steps_to_solve: int | None = None
    seconds_to_solve: float | None = None
    stats: UpdateStats | None = None
    while trainer.env_steps < max_steps:
        stats = trainer.train_update()
        if on_update is not None:
            on_update(stats)
        if steps_to_solve is None and trainer.solved:
            steps_to_solve = trainer.env_steps
            seconds_to_solve = time.perf_counter() - started
            if until_solved:
                break
    elapsed = time.perf_counter() - started
    mean_return = None if stats is None or math.isnan(stats.mean_return_100) else stats.mean_return_100
    return RunResult(
        env=trainer.config.env_id,
        seed=trainer.config.seed,
        solved=steps_to_solve is not None,
        steps_to_solve=steps_to_solve,
        seconds_to_solve=seconds_to_solve,
        env_steps=trainer.env_steps,
        updates=trainer.updates,
        mean_return_100=mean_return,
        env_steps_per_second=trainer.env_steps / elapsed if elapsed > 0 else 0.0,
    )
