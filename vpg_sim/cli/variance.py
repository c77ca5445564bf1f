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
from vpg_sim.cli.memory import MEMORY_BUDGET_MB, VARIANCE_PROCESS_MB, batch_megabytes, most_within_budget
from vpg_sim.cli.student_flags import add_student_flags, student_code_from_args, student_timeout
from vpg_sim.core.advantages import ESTIMATORS, TRUNCATION_NOTE
from vpg_sim.core.config import MAX_STEPS, VPGConfig

if TYPE_CHECKING:
    from vpg_sim.core.gradient_noise import EstimatorNoise, GradientNoise
    from vpg_sim.core.trainer import VPGTrainer

DEFAULT_AT_STEPS = (0, 5_000, 10_000, 20_000, 40_000)
"""The initial policy, while it learns, and once there is nothing left to learn: on
CartPole-v1 the default config's policy plays nearly every episode to the 500-step limit
from ~20,000 steps (seeds 0-9), long before the mean of the last 100 training episodes,
which lags, says solved (a median 59,904)."""
DEFAULT_BATCHES = 16
"""K (``gradient_noise.DEFAULT_BATCHES``, repeated here to keep torch out of the parser)."""
MAX_BATCHES = 1024
"""What the flag takes; what fits in memory is less (:func:`most_batches`)."""

batch_count = whole_number(2, MAX_BATCHES)
step_number = whole_number(0, MAX_STEPS)


def step_list(text: str) -> tuple[int, ...]:
    """An argparse type: ``0,10000,20000`` (env steps), sorted, each once."""
    parts = [part for part in text.split(",") if part.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(f"expected env steps such as 0,10000,20000, got {text!r}")
    return tuple(sorted({step_number(part) for part in parts}))


CARTPOLE_EPISODE_STEPS = 500
DEFAULT_MOST_BATCHES = most_within_budget(batch_megabytes(VPGConfig(), CARTPOLE_EPISODE_STEPS), VARIANCE_PROCESS_MB)
"""For the help: CartPole's default config."""


def batches_problem(batches: int, config: VPGConfig, max_episode_steps: int | None) -> str | None:
    """Why ``batches`` per measurement would take too much memory (one line, with the most
    that fit), or None."""
    per_batch = batch_megabytes(config, max_episode_steps)
    most = most_within_budget(per_batch, VARIANCE_PROCESS_MB)
    if batches <= most:
        return None
    needed = (VARIANCE_PROCESS_MB + batches * per_batch) / 1024
    episodes = f"{max_episode_steps:,}-step episodes" if max_episode_steps else "episodes without a time limit"
    return (
        f"--batches {batches} would take about {needed:.1f} GB ({per_batch:.1f} MB a batch of {config.num_envs} "
        f"envs' {episodes}), over the {MEMORY_BUDGET_MB / 1024:g} GB variance allows; at most {most} "
        f"for {config.env_id}"
    )


def add_variance_command(commands: Any) -> None:
    """The ``variance`` subparser (``commands``: ``build_parser``'s subparsers)."""
    variance = commands.add_parser(
        "variance",
        help="how noisy each estimator's policy gradient is, at points along a training run",
        description="Train the env's default config from scratch; at each of --at-steps, draw K batches "
        "of whole episodes with the policy of that moment and report, for total-return, reward-to-go, "
        "baseline and gae, on raw Phi (as the textbook writes it) and on Phi normalised per batch (as "
        "training steps on it by default), the relative variance of the K policy-gradient estimates "
        "(noise over signal: about how many batches it takes before the signal beats the noise), "
        "debiased: tr Cov / (|g_bar|^2 - tr Cov / K), and the mean cosine between one batch's estimate "
        "and the mean of the others (how well one step points the right way). A figure whose "
        "|g_bar|^2 < 2 tr Cov / K is undecided: the K batches resolve no signal.",
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
        help="independent batches per measurement (default: %(default)s), from 2 to what stays under "
        f"{MEMORY_BUDGET_MB / 1024:g} GB of memory: {DEFAULT_MOST_BATCHES} for CartPole, whose batches take "
        f"up to {batch_megabytes(VPGConfig(), CARTPOLE_EPISODE_STEPS):.1f} MB each once its episodes last 500 steps",
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
    normalize_advantages: bool
    """Whether the run trains on normalised Phi (its config's ``normalize_advantages``)."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON line: the figures on raw and on normalised Phi (``weights_dict``), which
        of the two the run trains on, and what was measured; non-finite figures (no episode
        finished yet, a zero mean) as null."""
        return {
            "env_steps": self.env_steps,
            "update": self.update,
            "mean_return_100": _finite(self.mean_return_100),
            "trains_on": "normalised" if self.normalize_advantages else "raw",
            "raw": weights_dict(self.noise.estimators),
            "normalised": weights_dict(self.noise.normalised),
            "batches": self.noise.batches,
            "batch_steps": self.noise.batch_steps,
            "seconds": round(self.noise.seconds, 3),
        }


def weights_dict(figures: dict[str, EstimatorNoise]) -> dict[str, dict[str, Any]]:
    """One kind of weights' figures by what they are, each by estimator: the plain and the
    debiased relative variance, the cosine, and whether the K batches resolve a signal."""
    return {
        "relative_variance": {name: _finite(f.relative_variance) for name, f in figures.items()},
        "debiased_relative_variance": {name: _finite(f.debiased) for name, f in figures.items()},
        "cosine": {name: _finite(f.cosine) for name, f in figures.items()},
        "resolved": {name: f.resolved for name, f in figures.items()},
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
        yield NoisePoint(
            trainer.env_steps, trainer.updates, trainer.mean_return_100, noise, trainer.config.normalize_advantages
        )


SHORT_NAMES = {"total-return": "total", "reward-to-go": "to-go", "baseline": "baseline", "gae": "gae"}


def table_header(config: VPGConfig, batches: int) -> list[str]:
    names = "".join(f"{SHORT_NAMES[name]:>9}" for name in ESTIMATORS)
    variance_names = "".join(f"{SHORT_NAMES[name]:>8} " for name in ESTIMATORS)  # a column for the *
    trains = "normalised" if config.normalize_advantages else "raw"
    return [
        f"{config.env_id}, seed {config.seed}: {batches} batches of whole episodes "
        f"(>= {config.steps_per_update:,} steps) at each point, all four estimators on the same batches",
        f"{'':>31}|{'raw Phi, debiased':^36}|{'normalised Phi, debiased':^36}|{f'cosine ({trains}: trains)':^36}",
        f"{'env steps':>10}{'update':>7}{'return':>7}{'batch':>7}|{variance_names}|{variance_names}|{names}",
    ]


def variance_cell(figures: EstimatorNoise) -> str:
    """A debiased figure, 9 wide; ``*`` after one the K batches do not resolve."""
    if not figures.resolved:
        return f"{figures.debiased:>8.3g}*"
    return f"{figures.debiased:>8.3g} "


def table_row(point: NoisePoint) -> str:
    mean_return = "-" if math.isnan(point.mean_return_100) else f"{point.mean_return_100:.0f}"
    raw = "".join(variance_cell(figures) for figures in point.noise.estimators.values())
    normalised = "".join(variance_cell(figures) for figures in point.noise.normalised.values())
    trained = point.noise.trained(point.normalize_advantages)
    cosine = "".join(f"{figures.cosine:>9.2f}" for figures in trained.values())
    return (
        f"{point.env_steps:>10,}{point.update:>7}{mean_return:>7}{point.noise.batch_steps:>7.0f}"
        f"|{raw}|{normalised}|{cosine}"
    )


def table_note(batches: int) -> str:
    return (
        "relative variance: noise over signal of one batch's estimate, about how many batches it takes before "
        f"the signal beats the noise, debiased: tr Cov / (|g_bar|^2 - tr Cov / K); *: undecided, |g_bar|^2 < "
        f"2 tr Cov / K, no signal that K = {batches} batches resolve; cosine: 1 every batch's step points the "
        f"same way, 0 a batch's step is noise; {TRUNCATION_NOTE}"
    )


def variance_command(args: argparse.Namespace) -> int:
    import torch

    from vpg_sim.cli.arguments import fail, import_env_module
    from vpg_sim.core.config import config_for
    from vpg_sim.core.envs import UnsupportedEnvError, env_spec
    from vpg_sim.core.student import StudentCodeError
    from vpg_sim.training.student_code import trainer_with_student_code

    # As main() does for train and eval: torch's default, a thread per core, makes this
    # model's small tensors several times slower.
    torch.set_num_threads(VPGConfig.torch_threads)
    try:
        config = config_for(import_env_module(args.env_id), seed=args.seed)
        problem = batches_problem(args.batches, config, env_spec(config.env_id).max_episode_steps)
        if problem is not None:
            return fail(problem)
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
