"""The command line: ``vpg-sim`` (the window), ``vpg-sim train``, ``play``, ``eval``, ``map``,
``variance``, ``compare``, ``sweep``, ``merge``, ``check``, ``exercise``, ``lesson``.

``python main.py`` in a checkout is the same program.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from vpg_sim import __version__
from vpg_sim.cli.arguments import (
    PROG,
    OneLineParser,
    add_config_flags,
    add_window_options,
    config_flag_names,
    config_flags_given,
    config_from_args,
    fail,
    import_env_module,
    positive_int,
    seed_number,
)
from vpg_sim.cli.check import add_check_command
from vpg_sim.cli.compare import add_compare_command
from vpg_sim.cli.exercise import add_exercise_command
from vpg_sim.cli.lesson import add_lesson_command, add_recording_flags, check_recording_flags
from vpg_sim.cli.map import add_map_command
from vpg_sim.cli.merge import add_merge_command
from vpg_sim.cli.student_flags import add_student_flags, student_code_from_args, student_timeout
from vpg_sim.cli.sweep import add_sweep_command
from vpg_sim.cli.variance import add_variance_command
from vpg_sim.core.config import LIVE_KNOBS, VPGConfig
from vpg_sim.resources import shipped_policy
from vpg_sim.training.pacing import COMPARE_PACE, DEFAULT_PACE

STUDENT_COMMANDS = (None, "train", "compare", "variance")
"""Commands that train with a student's functions (``--advantages`` ...); None is the window."""


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
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
    add_recording_flags(parser)
    parser.add_argument("--load", type=Path, metavar="PATH", help="start from a saved policy and keep training it")
    add_config_flags(parser)
    add_student_flags(parser)
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
    add_student_flags(train)

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
    add_merge_command(commands)
    add_check_command(commands)
    add_exercise_command(commands)
    add_lesson_command(commands)
    add_sweep_command(commands)
    return parser


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The parsed command line, with the pace the command takes when none was given (it
    may come before the command's name: ``vpg-sim --pace 1/s compare ...``)."""
    args = build_parser().parse_args(argv)
    if getattr(args, "pace", None) is None:
        args.pace = COMPARE_PACE if args.command in ("compare", "sweep") else DEFAULT_PACE
    return args


def settings_not_taken(args: argparse.Namespace) -> str | None:
    """Why the command line asks for something the command would drop without a word, or
    None: ``--load`` (the window, training on from a file) and ``play`` use the file's own
    settings, so a training flag beside them is refused, never ignored; ``--load`` goes
    with the window alone."""
    if args.load is not None and args.command is not None:
        return f"--load trains on from a file in the window; it cannot go with {args.command}"
    given = config_flags_given(args)
    if args.command == "play":
        given = [flag for flag in given if flag != "--env"]  # play's own --env: a custom env's module
    if not given or (args.load is None and args.command != "play"):
        return None
    flags = ", ".join(given)
    if args.command == "play":
        return f"play plays the file as saved, so {flags} cannot go with it"
    live = {config_flag_names(name)[0] for name in LIVE_KNOBS}
    if set(given) <= live:  # each of them a knob the window can turn while the run goes on
        return (
            f"--load trains on with the file's own settings, so {flags} cannot go with it: "
            "turn the live knobs in the window (K), or train afresh without --load"
        )
    return (
        f"--load trains on with the file's own settings, so {flags} cannot go with it: "
        "a loaded run keeps its env, seed, network and the rest; train afresh without --load to change them"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2: a bad flag, file or env; 130:
    interrupted, as by Ctrl-C while the command still imports torch)."""
    try:
        return _run(argv)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def _run(argv: Sequence[str] | None) -> int:
    args = parse_arguments(argv)
    if args.command != "compare" and ("group_a" in args or "group_b" in args):
        return fail("--a and --b go with compare: vpg-sim compare --a KEY=VALUE ... --b KEY=VALUE ...")
    problem = settings_not_taken(args)
    if problem is not None:
        return fail(problem)
    student_flags = any(f"student_{slot}" in args for slot in ("advantages", "gae", "loss"))
    if student_flags and args.command not in STUDENT_COMMANDS:
        return fail("--advantages, --gae and --loss go with the window, train, compare and variance")
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
    if args.command == "merge":
        from vpg_sim.cli.merge import merge_command

        return merge_command(args)
    if args.command == "check":
        from vpg_sim.cli.check import check_command

        return check_command(args)
    if args.command == "lesson":
        from vpg_sim.cli.lesson import lesson_command

        return lesson_command(args)
    if args.command == "exercise":
        from vpg_sim.cli.exercise import exercise_command

        return exercise_command(args)
    if args.command == "sweep":
        from vpg_sim.cli.sweep import sweep_command

        return sweep_command(args)
    if args.command == "play":
        if args.shipped == (args.path is not None):
            return fail("play: give a policy file, or --shipped (not both)")
        if args.shipped:
            args.path = shipped_policy()
    problem = check_recording_flags(args, "--run-for SECONDS")
    if problem is not None:
        return fail(problem)
    from vpg_sim.ui.launch import run_window  # the window needs pygame; training does not

    def make_config() -> VPGConfig | None:
        if args.command != "play":
            return config_from_args(args)
        if "env_id" in args:  # a custom env's policy: the module is imported from the command line only
            import_env_module(args.env_id)
        return None  # the file's

    return run_window(args, make_config, student_code_from_args(args), student_timeout(args))
