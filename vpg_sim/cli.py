"""Command line: ``python main.py [window options]`` or ``python main.py train ...``."""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from vpg_sim.training.pacing import DEFAULT_PACE, PACE_NAMES

PROG = "main.py"


def positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number: {text!r}")
    return value


def window_size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    try:
        size = int(width), int(height)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1280x720, got {text!r}") from None
    if size[0] < 640 or size[1] < 360:
        raise argparse.ArgumentTypeError(f"too small (at least 640x360): {text!r}")
    return size


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Watch a Vanilla Policy Gradient agent learn, live. "
        "With no command, opens the window and starts learning.",
    )
    parser.add_argument("--env", default="CartPole-v1", help="Gymnasium env id (default: %(default)s)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument(
        "--pace", choices=PACE_NAMES, default=DEFAULT_PACE, help="training pace in the window (default: %(default)s)"
    )
    parser.add_argument("--theme", choices=("dark", "light"), default="dark", help="colours (default: %(default)s)")
    parser.add_argument(
        "--size", type=window_size, default=(1280, 720), metavar="WxH", help="window size (default: 1280x720)"
    )
    parser.add_argument("--run-for", type=positive_float, metavar="SECONDS", help="quit by itself after SECONDS")
    parser.add_argument("--screenshot", type=Path, metavar="PATH", help="save the window as a PNG just before quitting")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = commands.add_parser("train", help="train headless, with a progress bar and a CSV log")
    train.add_argument("--env", default="CartPole-v1", help="Gymnasium env id (default: %(default)s)")
    train.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default: %(default)s)")
    train.add_argument("--steps", type=positive_int, help="env steps to train for (default: the env preset's)")
    train.add_argument(
        "--until-solved",
        action="store_true",
        help="stop once the mean return of the last 100 episodes reaches the env's reward threshold",
    )
    train.add_argument("--save", type=Path, metavar="PATH", help="save the final policy to PATH (.safetensors)")
    train.add_argument(
        "--log-dir", type=Path, metavar="DIR", help="where progress.csv goes (default: runs/<env>-seed<N>-<time>)"
    )
    train.add_argument("--json", action="store_true", help="print the result as one JSON object on the last line")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "train":
        return train_command(args)
    from vpg_sim.ui.app import run_window  # the window needs pygame; training does not

    return run_window(args)


def fail(message: str) -> int:
    """Print one error line, argparse style, and return exit status 2."""
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def train_command(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from vpg_sim.core.config import config_for
    from vpg_sim.core.envs import UnsupportedEnvError
    from vpg_sim.core.trainer import UpdateStats, VPGTrainer
    from vpg_sim.training.headless import run_headless

    if args.save is not None:
        return fail("--save: policy files are not available in this version yet")
    try:
        config = config_for(args.env, seed=args.seed)
        trainer = VPGTrainer(config)
    except (UnsupportedEnvError, ValueError) as error:
        return fail(str(error))

    max_steps = args.steps or config.total_steps
    log_dir = (
        args.log_dir or Path("runs") / f"{args.env.replace('/', '_')}-seed{args.seed}-{time.strftime('%Y%m%d-%H%M%S')}"
    )
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        log_file = (log_dir / "progress.csv").open("w", newline="")
    except OSError as error:
        return fail(f"cannot write the log in {log_dir}: {error.strerror or error}")

    fields = list(UpdateStats.__dataclass_fields__)
    with log_file, tqdm(total=max_steps, unit="step", unit_scale=True, dynamic_ncols=True, file=sys.stderr) as bar:
        writer = csv.DictWriter(log_file, fieldnames=fields)
        writer.writeheader()

        def on_update(stats: UpdateStats) -> None:
            writer.writerow(stats.to_dict())
            bar.update(min(stats.env_steps, max_steps) - bar.n)
            if not math.isnan(stats.mean_return_100):
                bar.set_postfix(update=stats.update, mean_return=f"{stats.mean_return_100:.1f}", refresh=False)

        try:
            result = run_headless(trainer, max_steps, until_solved=args.until_solved, on_update=on_update)
        except KeyboardInterrupt:
            bar.close()
            print(f"interrupted after {trainer.env_steps} env steps; log in {log_dir}", file=sys.stderr)
            return 130
        finally:
            trainer.close()

    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        solved = (
            f"solved after {result.steps_to_solve:,} steps in {result.seconds_to_solve:.1f} s"
            if result.solved
            else "not solved"
        )
        mean = "n/a" if result.mean_return_100 is None else f"{result.mean_return_100:.1f}"
        print(
            f"{result.env} seed {result.seed}: {solved}; {result.env_steps:,} steps, {result.updates} updates, "
            f"mean return (last 100) {mean}, {result.env_steps_per_second:,.0f} steps/s; "
            f"log: {log_dir / 'progress.csv'}"
        )
    return 0
