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
from vpg_sim.ui import MIN_HEIGHT, MIN_WIDTH

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
    if size[0] < MIN_WIDTH or size[1] < MIN_HEIGHT:
        raise argparse.ArgumentTypeError(f"too small (at least {MIN_WIDTH}x{MIN_HEIGHT}): {text!r}")
    return size


def add_window_options(parser: argparse.ArgumentParser, after_command: bool = False) -> None:
    """The window's options. ``play`` takes them after its name too (``play PATH --theme
    light``); there they have no defaults, so they never overwrite ones given before it."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if after_command else value

    parser.add_argument(
        "--pace", choices=PACE_NAMES, default=default(DEFAULT_PACE), help=f"training pace (default: {DEFAULT_PACE})"
    )
    parser.add_argument("--theme", choices=("dark", "light"), default=default("dark"), help="colours (default: dark)")
    parser.add_argument(
        "--size", type=window_size, default=default((1280, 720)), metavar="WxH", help="window size (default: 1280x720)"
    )
    parser.add_argument(
        "--run-for", type=positive_float, default=default(None), metavar="SECONDS", help="quit by itself after SECONDS"
    )
    parser.add_argument(
        "--screenshot", type=Path, default=default(None), metavar="PATH", help="save a PNG of the window on quitting"
    )
    parser.add_argument(
        "--record-format", choices=("mp4", "gif"), default=default("mp4"), help="what V records (default: mp4)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Watch a Vanilla Policy Gradient agent learn, live. "
        "With no command, opens the window and starts learning.",
    )
    parser.add_argument("--env", default="CartPole-v1", help="Gymnasium env id (default: %(default)s)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default: %(default)s)")
    add_window_options(parser)
    parser.add_argument("--load", type=Path, metavar="PATH", help="start from a saved policy and keep training it")
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
        "--save-best", action="store_true", help="with --save: keep the policy with the best mean return seen instead"
    )
    train.add_argument(
        "--log-dir", type=Path, metavar="DIR", help="where progress.csv goes (default: runs/<env>-seed<N>-<time>)"
    )
    train.add_argument("--json", action="store_true", help="print the result as one JSON object on the last line")

    play = commands.add_parser("play", help="open the window and play a saved policy (no training)")
    play.add_argument("path", type=Path, metavar="PATH", help="a .safetensors policy file")
    play.add_argument(
        "--episodes", type=positive_int, help="quit after this many episodes (default: play until closed)"
    )
    add_window_options(play, after_command=True)

    evaluate = commands.add_parser("eval", help="greedy episodes of a saved policy, headless")
    evaluate.add_argument("path", type=Path, metavar="PATH", help="a .safetensors policy file")
    evaluate.add_argument("--episodes", type=positive_int, default=20, help="episodes (default: %(default)s)")
    evaluate.add_argument("--seed", type=non_negative_int, default=0, help="seed of the first episode (default: 0)")
    evaluate.add_argument("--json", action="store_true", help="print the result as one JSON object")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import torch

    from vpg_sim.core.config import VPGConfig

    # Once, where the process starts: torch's default (a thread per core) makes the small
    # tensors of this model several times slower and starves the window on two cores.
    torch.set_num_threads(VPGConfig.torch_threads)
    if args.command == "train":
        return train_command(args)
    if args.command == "eval":
        return eval_command(args)
    from vpg_sim.ui.launch import run_window  # the window needs pygame; training does not

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
    from vpg_sim.policy_files import save_policy
    from vpg_sim.training.headless import run_headless

    if args.save_best and args.save is None:
        return fail("--save-best needs --save PATH")
    if args.save is not None and args.save.is_dir():
        return fail(f"--save: {args.save} is a directory; give a file path such as {args.save / 'policy.safetensors'}")
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

        best_return = -math.inf

        def on_update(stats: UpdateStats) -> None:
            nonlocal best_return
            writer.writerow(stats.to_dict())
            if args.save_best and stats.episodes >= 10 and stats.mean_return_100 > best_return:
                best_return = stats.mean_return_100
                save_policy(args.save, trainer.checkpoint())
            bar.update(min(stats.env_steps, max_steps) - bar.n)
            if not math.isnan(stats.mean_return_100):
                bar.set_postfix(update=stats.update, mean_return=f"{stats.mean_return_100:.1f}", refresh=False)

        try:
            result = run_headless(trainer, max_steps, until_solved=args.until_solved, on_update=on_update)
            if args.save is not None and not args.save_best:
                save_policy(args.save, trainer.checkpoint())
        except KeyboardInterrupt:
            bar.close()
            print(f"interrupted after {trainer.env_steps} env steps; log in {log_dir}", file=sys.stderr)
            return 130
        except OSError as error:
            return fail(f"cannot save the policy to {args.save}: {error.strerror or error}")
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
            f"log: {log_dir / 'progress.csv'}" + (f"; policy: {args.save}" if args.save is not None else "")
        )
    return 0


def eval_command(args: argparse.Namespace) -> int:
    from vpg_sim.core.evaluation import evaluate_greedy
    from vpg_sim.policy_files import PolicyFileError, check_env, load_policy, policy_from_file

    try:
        loaded = load_policy(args.path)
        check_env(loaded)  # as play and --load do: a file's spaces must be its env's
        policy = policy_from_file(loaded)
    except PolicyFileError as error:
        return fail(str(error))
    returns = evaluate_greedy(policy, loaded.config.env_id, args.episodes, seed=args.seed)
    result = {
        "path": str(args.path),
        "env": loaded.config.env_id,
        "update": loaded.metadata.update,
        "episodes": args.episodes,
        "mean": float(returns.mean()),
        "std": float(returns.std()),
        "min": float(returns.min()),
        "max": float(returns.max()),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{args.path}: {loaded.config.env_id}, update {loaded.metadata.update}, {args.episodes} greedy episodes: "
            f"mean {result['mean']:.1f} ± {result['std']:.1f}, min {result['min']:.0f}, max {result['max']:.0f}"
        )
    return 0
