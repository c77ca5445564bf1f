"""What a student's function costs an update: the adapter, their Python, the guard.

    python benchmarks/student.py --rounds 6 --updates 10

Five trainers of the default CartPole config and seed train side by side, interleaved
round by round (``--updates`` updates each per round, in turn), so that the machine's
load falls on all alike:

- ``ours``: ``VPGTrainer`` as it is;
- ``reference``: vpg-sim's own code through the student's slot (``StudentStep`` without a
  caller: what the reference run beside a student's does);
- ``in process``: a student's plain-loop reward-to-go (``tests/student_solutions.py``)
  called in this process: the adapter (one call per env), their loop, and the "Yours vs
  reference" numbers (two more policy gradients);
- ``guarded``: the same function in its own process (``StudentProcess``), as vpg-sim runs
  it: the pipe, the pickling, the process switch, on top of ``in process``;
- ``guarded loss``: a student's loss in its own process, vpg-sim's Phi.

Prints per trainer the median seconds per update, its ratio to ``ours`` and the milliseconds
it adds; for the guarded ones also the median round trip of one update's call. Ratios are
within one sitting of this machine; the absolute figures move with its load.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from tests import student_solutions
from vpg_sim.core.config import config_for
from vpg_sim.core.student import StudentCode, run_slot
from vpg_sim.core.student_step import StudentStep
from vpg_sim.core.trainer import VPGTrainer
from vpg_sim.training.student_code import StudentProcess


class Timed:
    """A caller that records how long each call takes."""

    def __init__(self, call):
        self.call = call
        self.seconds: list[float] = []

    def __call__(self, slot, calls):
        started = time.perf_counter()
        try:
            return self.call(slot, calls)
        finally:
            self.seconds.append(time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--updates", type=int, default=10, help="updates per trainer per round")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = config_for("CartPole-v1")
    module = "tests.student_solutions"
    advantages = StudentProcess(StudentCode((("advantages", f"{module}:reward_to_go"),)))
    loss = StudentProcess(StudentCode((("loss", f"{module}:pg_loss"),)))
    advantages.start()
    loss.start()
    callers = {
        "in process": Timed(lambda slot, calls: run_slot(slot, student_solutions.reward_to_go, calls)),
        "guarded": Timed(advantages.call),
        "guarded loss": Timed(loss.call),
    }
    steps = {
        "ours": None,
        "reference": StudentStep(("advantages",), None),
        "in process": StudentStep(("advantages",), callers["in process"]),
        "guarded": StudentStep(("advantages",), callers["guarded"]),
        "guarded loss": StudentStep(("loss",), callers["guarded loss"]),
    }
    trainers = {}
    for name, step in steps.items():
        trainers[name] = VPGTrainer(config)
        trainers[name].student = step
    seconds: dict[str, list[float]] = {name: [] for name in trainers}
    try:
        for _ in range(args.rounds):
            for name, trainer in trainers.items():
                for _ in range(args.updates):
                    started = time.perf_counter()
                    trainer.train_update()
                    seconds[name].append(time.perf_counter() - started)
    finally:
        for trainer in trainers.values():
            trainer.close()
        advantages.close()
        loss.close()
    base = statistics.median(seconds["ours"])
    print(f"{args.rounds} rounds x {args.updates} updates each, batch {config.steps_per_update} steps in "
          f"{config.num_envs} envs (one call per env)")  # fmt: skip
    for name, values in seconds.items():
        median = statistics.median(values)
        line = f"{name:>13}: {median * 1000:6.1f} ms/update, x{median / base:.3f}, +{(median - base) * 1000:5.1f} ms"
        if name in callers:
            line += f"; the student's call {statistics.median(callers[name].seconds) * 1000:.2f} ms (median)"
        print(line)


if __name__ == "__main__":
    main()
