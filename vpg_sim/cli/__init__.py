"""The command line: ``vpg-sim`` (the window), ``vpg-sim train``, ``play``, ``eval``, ``map``,
``variance``, ``compare``, ``sweep``.

``python main.py`` in a checkout is the same program.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from vpg_sim import __version__
from vpg_sim.cli.arguments import (
    add_config_flags,
    add_window_options,
    config_from_args,
    positive_int,
    seed_number,
)
from vpg_sim.cli.compare import add_compare_command
from vpg_sim.cli.map import add_map_command
from vpg_sim.cli.sweep import add_sweep_command
from vpg_sim.cli.variance import add_variance_command
from vpg_sim.core.config import VPGConfig
from vpg_sim.core.envs import import_env_module
from vpg_sim.resources import shipped_policy
from vpg_sim.training.pacing import COMPARE_PACE, DEFAULT_PACE

PROG = "vpg-sim"


def fail(message: str) -> int:
    """Print one error line, argparse style, and return exit status 2."""
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Watch a Vanilla Policy Gradient agent learn, live. "
        "With no command, opens the window and starts learning.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"vpg-sim {__version__} (shipped policy: {shipped_policy()})",
    )
    add_window_options(parser)
    parser.add_argument("--load", type=Path, metavar="PATH", help="start from a saved policy and keep training it")
    add_config_flags(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = commands.add_parser("train", help="train headless, with a progress bar and a CSV log")
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
        "--log-dir",
        type=Path,
        metavar="DIR",
        help="where progress.csv and config.json go (default: runs/<env>-seed<N>-<time>)",
    )
    train.add_argument(
        "--tensorboard",
        nargs="?",
        const=True,
        type=Path,
        metavar="DIR",
        help="also write TensorBoard event files, to DIR or the log dir (needs: pip install 'vpg-sim[tensorboard]')",
    )
    train.add_argument("--json", action="store_true", help="print the result as one JSON object on the last line")
    add_config_flags(train)

    play = commands.add_parser("play", help="open the window and play a saved policy (no training)")
    play.add_argument("path", type=Path, metavar="PATH", nargs="?", help="a .safetensors policy file")
    play.add_argument("--shipped", action="store_true", help="play the policy that ships with vpg-sim")
    play.add_argument(
        "--episodes", type=positive_int, help="quit after this many episodes (default: play until closed)"
    )
    play.add_argument(
        "--env", dest="env_id", metavar="ID", default=argparse.SUPPRESS, help="module:Env-v0 for a custom env's policy"
    )
    add_window_options(play, after_command=True)

    evaluate = commands.add_parser("eval", help="greedy episodes of a saved policy, headless")
    evaluate.add_argument("path", type=Path, metavar="PATH", help="a .safetensors policy file")
    evaluate.add_argument("--episodes", type=positive_int, default=20, help="episodes (default: %(default)s)")
    evaluate.add_argument("--seed", type=seed_number, default=0, help="seed of the first episode (default: 0)")
    evaluate.add_argument(
        "--env", dest="env_id", metavar="ID", default=argparse.SUPPRESS, help="module:Env-v0 for a custom env's policy"
    )
    evaluate.add_argument("--json", action="store_true", help="print the result as one JSON object")
    add_map_command(commands)
    add_variance_command(commands)
    add_compare_command(commands, parser)
    add_sweep_command(commands)
    return parser


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The parsed command line, with the pace the command takes when none was given (it
    may come before the command's name: ``vpg-sim --pace 1/s compare ...``)."""
    args = build_parser().parse_args(argv)
    if getattr(args, "pace", None) is None:
        args.pace = COMPARE_PACE if args.command == "compare" else DEFAULT_PACE
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2: a bad flag, file or env)."""
    args = parse_arguments(argv)
    if args.command != "compare" and ("group_a" in args or "group_b" in args):
        return fail("--a and --b go with compare: vpg-sim compare --a KEY=VALUE ... --b KEY=VALUE ...")
    if args.command in ("train", "eval"):
        import torch

        from vpg_sim.core.config import VPGConfig

        # Once, where the process starts (the window does it after opening): torch's
        # default, a thread per core, makes this model's small tensors several times
        # slower and starves the window on two cores.
        torch.set_num_threads(VPGConfig.torch_threads)
    if args.command == "train":
        from vpg_sim.cli.train import train_command

        return train_command(args)
    if args.command == "eval":
        from vpg_sim.cli.evaluate import eval_command
        from vpg_sim.core.envs import UnsupportedEnvError

        if "env_id" in args:  # a custom env's policy: the module is imported from the command line only
            try:
                import_env_module(args.env_id)
            except UnsupportedEnvError as error:
                return fail(str(error))
        return eval_command(args)
    if args.command == "map":
        from vpg_sim.cli.map import map_command

        return map_command(args)
    if args.command == "variance":
        from vpg_sim.cli.variance import variance_command

        return variance_command(args)
    if args.command == "compare":
        from vpg_sim.cli.compare import compare_command

        return compare_command(args)
    if args.command == "sweep":
        from vpg_sim.cli.sweep import sweep_command

        return sweep_command(args)
    if args.command == "play":
        if args.shipped == (args.path is not None):
            return fail("play: give a policy file, or --shipped (not both)")
        if args.shipped:
            args.path = shipped_policy()
    from vpg_sim.ui.launch import run_window  # the window needs pygame; training does not

    def make_config() -> VPGConfig | None:
        if args.command != "play":
            return config_from_args(args)
        if "env_id" in args:  # a custom env's policy: the module is imported from the command line only
            import_env_module(args.env_id)
        return None  # the file's

    return run_window(args, make_config)
