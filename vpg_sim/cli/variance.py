"""``vpg-sim variance``: train from scratch and, at a few points on the way, measure how
noisy each estimator's policy gradient is (``vpg_sim/core/gradient_noise.py``).

``build_parser`` imports this module for :func:`add_variance_command`, so nothing that
imports torch is imported at its top: the window opens before torch is loaded.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vpg_sim.cli.arguments import seed_number, whole_number
from vpg_sim.cli.student_flags import add_student_flags, student_code_from_args, student_timeout
from vpg_sim.core.advantages import ESTIMATORS
from vpg_sim.core.config import MAX_STEPS, VPGConfig

if TYPE_CHECKING:
    from vpg_sim.core.gradient_noise import GradientNoise
    from vpg_sim.core.trainer import VPGTrainer

DEFAULT_AT_STEPS = (0, 5_000, 10_000, 20_000, 40_000)
"""The initial policy, while it learns, and once there is nothing left to learn: on
CartPole-v1 the default config's policy plays nearly every episode to the 500-step limit
from ~20,000 steps (seeds 0-9), long before the mean of the last 100 training episodes,
which lags, says solved (a median 59,904)."""
DEFAULT_BATCHES = 16
"""K (``gradient_noise.DEFAULT_BATCHES``, repeated here to keep torch out of the parser)."""
MAX_BATCHES = 1024

batch_count = whole_number(2, MAX_BATCHES)
step_number = whole_number(0, MAX_STEPS)


def step_list(text: str) -> tuple[int, ...]:
    """An argparse type: ``0,10000,20000`` (env steps), sorted, each once."""
    parts = [part for part in text.split(",") if part.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(f"expected env steps such as 0,10000,20000, got {text!r}")
    return tuple(sorted({step_number(part) for part in parts}))


def add_variance_command(commands: Any) -> None:
    """The ``variance`` subparser (``commands``: ``build_parser``'s subparsers)."""
    variance = commands.add_parser(
        "variance",
        help="how noisy each estimator's policy gradient is, at points along a training run",
        description="Train the env's default config from scratch; at each of --at-steps, draw K batches "
        "of whole episodes with the policy of that moment and report, for total-return, reward-to-go, "
        "baseline and gae, the relative variance of the K policy-gradient estimates (noise over signal: "
        "about how many batches it takes before the signal beats the noise) and the mean cosine between "
        "one batch's estimate and the mean of the others (how well one step points the right way).",
    )
    variance.add_argument(
        "--env", dest="env_id", default="CartPole-v1", metavar="ID", help="Gymnasium env id (default: %(default)s)"
    )
    variance.add_argument("--seed", type=seed_number, default=0, help="seed of the run (default: %(default)s)")
    variance.add_argument(
        "--at-steps",
        type=step_list,
        default=DEFAULT_AT_STEPS,
        metavar="N,N,...",
        help="measure after the first update that reaches each of these env steps "
        f"(default: {','.join(map(str, DEFAULT_AT_STEPS))})",
    )
    variance.add_argument(
        "--batches",
        type=batch_count,
        default=DEFAULT_BATCHES,
        metavar="K",
        help=f"independent batches per measurement, 2 to {MAX_BATCHES} (default: %(default)s)",
    )
    variance.add_argument(
        "--json", action="store_true", help="one JSON object per line, one line per point, instead of a table"
    )
    add_student_flags(variance)  # the run trains with them; the four estimators are measured along it


@dataclass(frozen=True)
class NoisePoint:
    """The four estimators' noise at one point of a run."""

    env_steps: int
    update: int
    mean_return_100: float
    noise: GradientNoise

    def to_dict(self) -> dict[str, Any]:
        """The JSON line: non-finite figures (no episode finished yet, a zero mean) as null."""
        return {
            "env_steps": self.env_steps,
            "update": self.update,
            "mean_return_100": _finite(self.mean_return_100),
            "relative_variance": {name: _finite(value) for name, value in self.noise.relative_variance.items()},
            "cosine": {name: _finite(value) for name, value in self.noise.cosine.items()},
            "batches": self.noise.batches,
            "batch_steps": self.noise.batch_steps,
            "seconds": round(self.noise.seconds, 3),
        }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def noise_along_run(
    trainer: VPGTrainer, at_steps: Sequence[int], batches: int = DEFAULT_BATCHES
) -> Iterator[NoisePoint]:
    """Train on with ``trainer``; after the first update that reaches each of ``at_steps``
    env steps (at once, for steps it has already reached), yield the four estimators' noise
    there. The measurement plays envs of its own, so the run is the run it would be
    without it."""
    from vpg_sim.core.gradient_noise import measure_gradient_noise, probe_seed

    for target in sorted(at_steps):
        while trainer.env_steps < target:
            trainer.train_update()
        seed = probe_seed(trainer.config.seed, trainer.updates)
        noise = measure_gradient_noise(trainer.config, trainer.policy, trainer.value_net, batches, seed)
        yield NoisePoint(trainer.env_steps, trainer.updates, trainer.mean_return_100, noise)


SHORT_NAMES = {"total-return": "total", "reward-to-go": "to-go", "baseline": "baseline", "gae": "gae"}


def table_header(config: VPGConfig, batches: int) -> list[str]:
    names = "".join(f"{SHORT_NAMES[name]:>9}" for name in ESTIMATORS)
    return [
        f"{config.env_id}, seed {config.seed}: {batches} batches of whole episodes "
        f"(>= {config.steps_per_update:,} steps) at each point, all four estimators on the same batches",
        f"{'':>31}|{'relative variance':^36}|{'cosine (leave-one-out)':^36}",
        f"{'env steps':>10}{'update':>7}{'return':>7}{'batch':>7}|{names}|{names}",
    ]


def table_row(point: NoisePoint) -> str:
    mean_return = "-" if math.isnan(point.mean_return_100) else f"{point.mean_return_100:.0f}"
    relative = "".join(f"{value:>9.3g}" for value in point.noise.relative_variance.values())
    cosine = "".join(f"{value:>9.2f}" for value in point.noise.cosine.values())
    return f"{point.env_steps:>10,}{point.update:>7}{mean_return:>7}{point.noise.batch_steps:>7.0f}|{relative}|{cosine}"


def table_note(batches: int) -> str:
    return (
        "relative variance: noise over signal of one batch's estimate, about how many batches it takes before "
        f"the signal beats the noise (~{batches // 2} or more, with K = {batches} batches: no signal they can "
        "resolve); cosine: 1 every batch's step points the same way, 0 a batch's step is noise"
    )


def variance_command(args: argparse.Namespace) -> int:
    import torch

    from vpg_sim.cli import fail  # here: vpg_sim.cli imports this module
    from vpg_sim.core.config import config_for
    from vpg_sim.core.envs import UnsupportedEnvError, import_env_module
    from vpg_sim.core.student import StudentCodeError
    from vpg_sim.training.student_code import trainer_with_student_code

    # As main() does for train and eval: torch's default, a thread per core, makes this
    # model's small tensors several times slower.
    torch.set_num_threads(VPGConfig.torch_threads)
    try:
        config = config_for(import_env_module(args.env_id), seed=args.seed)
        student_code = student_code_from_args(args)
        trainer, student = trainer_with_student_code(config, student_code, student_timeout(args))
    except (UnsupportedEnvError, ValueError) as error:  # a student's module that cannot be imported too
        return fail(str(error))
    if student_code is not None and not args.json:
        print(f"trained with {student_code.label()}; measured: vpg-sim's four estimators along that run")
    if not args.json:
        print("\n".join(table_header(config, args.batches)), flush=True)
    try:
        for point in noise_along_run(trainer, args.at_steps, args.batches):
            print(json.dumps(point.to_dict()) if args.json else table_row(point), flush=True)
    except KeyboardInterrupt:
        print(f"interrupted after {trainer.env_steps:,} env steps", file=sys.stderr)
        return 130
    except StudentCodeError as error:
        return fail(f"update {trainer.updates + 1}: {error}")
    finally:
        trainer.close()
        if student is not None:
            student.close()
    if not args.json:
        print(table_note(args.batches))
    return 0
