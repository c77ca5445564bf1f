"""``vpg-sim compare``: two configs, each trained with many seeds, compared live or headless.

``--a`` and ``--b`` each take ``KEY=VALUE`` settings (any config field but the env and the
seed, with ``-`` or ``_``; ``preset=textbook`` applies that preset first), on top of the
config every other training flag gives both groups (``--env``, ``--preset``, ``--num-envs``
...). Each value is checked by the config's own rules, so a wrong key or value is one line
and exit 2. Without ``--headless`` the window opens in comparison mode (``ui/compare_app.py``);
with it, training runs (in ``--workers`` processes) until every agent solved or spent
``--max-steps``, then the PNG is written and a summary (or, with ``--json``, one JSON
object per group) printed.

``build_parser`` imports this module for :func:`add_compare_command`, so nothing that
imports torch or pygame is imported at its top.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vpg_sim.cli.arguments import (
    PARSERS,
    add_config_flags,
    add_window_options,
    add_workers_option,
    config_from_args,
    whole_number,
)
from vpg_sim.core.config import FIELD_RULES, VARIANTS, ConfigChange, VPGConfig
from vpg_sim.training.pacing import COMPARE_PACE

if TYPE_CHECKING:
    from vpg_sim.training.comparison_run import ComparisonRun, Group
    from vpg_sim.training.parallel import ParallelRun

MAX_SEEDS = 256
seed_count = whole_number(2, MAX_SEEDS)
step_budget = whole_number(1, 10**10)
SHARED_ONLY = {"env_id": "--env ID sets both groups' env", "seed": "the seeds are 0..N-1, given by --seeds N"}
"""Fields a group cannot set, and where they come from instead."""
PROGRESS_SECONDS = 5.0


def add_compare_command(commands: Any, top_level: argparse.ArgumentParser) -> None:
    """The ``compare`` subparser (``commands``: ``build_parser``'s subparsers, of ``top_level``)."""
    # argparse first reads every argument against the top-level options, where "--a" is an
    # ambiguous abbreviation (--activation, --advantage-std-floor): the same two flags
    # there, hidden, make it an exact match, and main() refuses them without "compare".
    for side in ("a", "b"):
        top_level.add_argument(
            f"--{side}", dest=f"group_{side}", nargs="+", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
    compare = commands.add_parser(
        "compare",
        help="compare two configs over many seeds: mean return curves with 95%% bands, steps to solve",
        description="Train config A and config B with seeds 0..N-1 each (two populations trained together) "
        "and compare them: each group's mean return curve against env steps with its 95%% t-interval over "
        "seeds, and each seed's steps to solve with the median's order-statistic interval. --a and --b take "
        "KEY=VALUE settings (e.g. --a estimator=baseline --b estimator=total-return, or --b preset=textbook); "
        "every other training flag sets both groups.",
    )
    for side in ("a", "b"):
        compare.add_argument(
            f"--{side}",
            dest=f"group_{side}",
            nargs="+",
            action="extend",
            default=[],
            metavar="KEY=VALUE",
            help=f"group {side.upper()}'s settings: config fields (policy_lr=0.01) or preset=textbook",
        )
    compare.add_argument("--seeds", type=seed_count, default=16, help="seeds per group, 0..N-1 (default: %(default)s)")
    compare.add_argument(
        "--max-steps",
        type=step_budget,
        metavar="N",
        help="env steps each agent trains at most (default: the config's total_steps, 300,000 for CartPole)",
    )
    compare.add_argument("--headless", action="store_true", help="no window: train, write --out, print the summary")
    compare.add_argument(
        "--out", type=Path, metavar="FILE.png", help="headless: the figure (default: compare-<env>.png)"
    )
    compare.add_argument("--json", action="store_true", help="headless: print one JSON object per group")
    add_workers_option(compare)
    add_window_options(compare, after_command=True)
    add_config_flags(compare)
    pace = next(action for action in compare._actions if action.dest == "pace")
    pace.help = f"training pace, in rounds: an update of every agent (default: {COMPARE_PACE})"


# -- the two configs -------------------------------------------------------------------------


class SettingError(ValueError):
    """A ``KEY=VALUE`` that cannot be used; the message is one line, naming it."""


FIELDS = {field.name: field for field in dataclasses.fields(VPGConfig)}


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "on", "yes", "1"):
        return True
    if lowered in ("false", "off", "no", "0"):
        return False
    raise argparse.ArgumentTypeError(f"not true or false: {text!r}")


def parse_setting(text: str) -> tuple[str, Any]:
    """``policy-lr=0.01`` -> ``("policy_lr", 0.01)``; ``preset=textbook`` -> ``("preset",
    "textbook")``. SettingError (one line) for a malformed item, an unknown key, a value
    of the wrong type or out of the field's range."""
    key, equals, raw = text.partition("=")
    name = key.strip().replace("-", "_")
    if not equals or not name:
        raise SettingError(f"{text!r} is not KEY=VALUE")
    if name == "preset":
        if raw not in VARIANTS:
            raise SettingError(f"unknown preset {raw!r} (one of {', '.join(VARIANTS)})")
        return name, raw
    if name not in FIELDS:
        raise SettingError(f"unknown key {name!r} (a config field such as policy_lr, or preset)")
    if name in SHARED_ONLY:
        raise SettingError(f"{name} cannot differ between the groups: {SHARED_ONLY[name]}")
    kind = str(FIELDS[name].type)
    try:
        if kind == "bool":
            value: Any = _parse_bool(raw)
        elif kind == "tuple[int, ...]":
            parts = [part for part in raw.replace("x", ",").split(",") if part.strip()]
            value = tuple(PARSERS[kind]["type"](part) for part in parts)
        elif "type" in PARSERS[kind]:
            value = PARSERS[kind]["type"](raw)
        else:
            value = raw
    except argparse.ArgumentTypeError as error:
        raise SettingError(f"{name}: {error}") from None
    problem = FIELD_RULES[name](name, value)
    if problem:
        raise SettingError(problem)
    return name, value


def group_config(base: VPGConfig, items: list[tuple[str, Any]]) -> VPGConfig:
    """``base`` with a group's preset (if any), then its settings; ValueError if invalid."""
    values = base.to_dict()
    for name, value in items:
        if name == "preset":
            values.update(VARIANTS[value])
    values.update({name: value for name, value in items if name != "preset"})
    return VPGConfig.from_dict(values)


def describe(items: list[tuple[str, Any]]) -> str:
    """A group's label: its settings as given (``estimator=total-return``), or ``default``."""
    return ConfigChange(0, 0, dict(items)).describe() if items else "default"


def comparison_groups(args: argparse.Namespace) -> list[Group]:
    """Both groups from the command line; ValueError (one line, naming the setting) if a
    setting is wrong, the configs are the same or the env has no discrete actions."""
    from vpg_sim.core.envs import make_single_env
    from vpg_sim.training.comparison_run import Group
    from vpg_sim.training.stage import close_env_keeping_window

    if "seed" in args:
        raise ValueError(f"--seed: {SHARED_ONLY['seed']}")
    base = config_from_args(args)
    configs, labels = [], []
    for side in ("a", "b"):
        items = []
        for text in getattr(args, f"group_{side}"):
            try:
                items.append(parse_setting(text))
            except SettingError as error:
                raise ValueError(f"--{side} {text}: {error}") from None
        try:
            configs.append(group_config(base, items))
        except ValueError as error:
            raise ValueError(f"--{side} {' '.join(getattr(args, f'group_{side}'))}: {error}") from None
        labels.append(describe(items))
    if configs[0] == configs[1]:
        raise ValueError("--a and --b give the same config: nothing to compare")
    env = make_single_env(base.env_id)
    try:
        if not hasattr(env.action_space, "n"):
            raise ValueError(f"{base.env_id} has continuous actions; a comparison trains populations, Discrete only")
    finally:
        close_env_keeping_window(env)
    dicts = [config.to_dict() for config in configs]
    groups = []
    for index, name in enumerate(("A", "B")):
        other = dicts[1 - index]
        difference = {k: v for k, v in dicts[index].items() if v != other[k]}
        groups.append(Group(name, configs[index], labels[index], difference))
    return groups


# -- the command -----------------------------------------------------------------------------


def compare_command(args: argparse.Namespace) -> int:
    from vpg_sim.cli import PROG, fail  # here: vpg_sim.cli imports this module
    from vpg_sim.core.envs import UnsupportedEnvError

    try:
        groups = comparison_groups(args)
    except (UnsupportedEnvError, ValueError) as error:
        return fail(f"compare: {error}")
    if not args.headless:
        if args.out is not None or args.json:
            return fail("compare: --out and --json go with --headless")
        from vpg_sim.ui.launch import run_compare_window

        return run_compare_window(args, groups)

    import torch

    from vpg_sim.training.parallel import ParallelRun, WorkerError

    torch.set_num_threads(VPGConfig.torch_threads)
    env_id = groups[0].config.env_id
    out = args.out or Path(f"compare-{env_id.replace('/', '_')}.png")
    try:
        env_import = args.env_id if ":" in getattr(args, "env_id", "") else None  # workers import it too
        run = ParallelRun(groups, range(args.seeds), args.max_steps, workers=args.workers, env_import=env_import)
    except WorkerError as error:
        return fail(f"compare: {error}")
    started = time.monotonic()
    try:
        train_to_the_end(run, PROG)
        wall_seconds = round(time.monotonic() - started, 1)
        summaries = [run.summary(group) for group in groups]
        try:
            write_figure(out, run, groups)
        except OSError as error:
            return fail(f"compare: cannot write {out}: {error.strerror or error}")
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted after {run.rounds} rounds", file=sys.stderr)
        return 130
    except WorkerError as error:  # not the input's fault: exit 1, in one line
        print(f"{PROG}: error: compare: {error}", file=sys.stderr)
        return 1
    finally:
        run.close()
    for group, summary in zip(groups, summaries, strict=True):
        result = {
            "env": env_id,
            "max_steps": run.max_steps[group.name],
            **summary.to_dict(),
            "wall_seconds": wall_seconds,
        }
        print(json.dumps(result) if args.json else summary_line(result))
    print(f"{PROG}: wrote {out} (training took {wall_seconds} s of wall time, both groups)", file=sys.stderr)
    return 0


def train_to_the_end(run: ComparisonRun | ParallelRun, prog: str) -> None:
    """Rounds until the comparison is finished; a progress line on stderr every few seconds."""
    last = time.monotonic()
    while not run.finished:
        run.train_round()
        if time.monotonic() - last >= PROGRESS_SECONDS or run.finished:
            last = time.monotonic()
            parts = []
            for group in run.groups:
                solved = sum(steps is not None for steps in run.steps_to_solve(group.name))
                steps = max(run.env_steps(group.name))
                mean = run.mean_return_100(group.name)
                parts.append(f"{group.name} {steps:,} steps, mean return {mean:.1f}, {solved}/{len(run.seeds)} solved")
            print(f"{prog}: round {run.rounds}: " + " | ".join(parts), file=sys.stderr, flush=True)


def summary_line(result: dict[str, Any]) -> str:
    interval = result["median_interval"]
    shown = "no 95% interval (fewer than 6 seeds)" if interval is None else f"95% interval {interval[0]}..{interval[1]}"
    return (
        f"{result['group']}: solved {result['solved']}/{len(result['seeds'])}, median steps to solve "
        f"{result['median_steps_to_solve']} ({shown}), mean return at the end {result['mean_return_end']}"
    )


def write_figure(out: Path, run: ComparisonRun | ParallelRun, groups: list[Group]) -> None:
    """Draw the comparison (``compare_figure.py``) and write it atomically."""
    from vpg_sim.cli.compare_figure import comparison_png
    from vpg_sim.files import write_atomically

    write_atomically(out, comparison_png(run, groups))
