"""``vpg-sim compare``: two configs, each trained with many seeds, compared live or headless.

``--a`` and ``--b`` each take ``KEY=VALUE`` settings (any config field but the env and the
seed, with ``-`` or ``_``; ``preset=textbook`` applies that preset first), on top of the
config every other training flag gives both groups (``--env``, ``--preset``, ``--num-envs``
...). Each value is checked by the config's own rules, so a wrong key or value is one line
and exit 2. ``--seeds`` takes a count (``16``: seeds 0-15) or a range (``100-149``).
Without ``--headless`` the window opens in comparison mode (``ui/compare/app.py``); with
it, training runs until every agent solved or spent ``--max-steps``, then the PNG is
written and a summary (or, with ``--json``, one JSON object per group) printed, by
``--stat`` (IQM and bootstrap, or mean and t-interval: ``core/comparison.py``).
``--json-out`` writes every seed's results for ``vpg-sim merge`` (``comparison_file.py``);
``--until-decided`` adds batches of seeds until P(A better than B) is decided
(``sequential.py``). Headless, the groups' seeds train in ``--workers`` processes
(``training/parallel.py``); the window trains them in its thread.

``build_parser`` imports this module for :func:`add_compare_command`, so nothing that
imports torch or pygame is imported at its top.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vpg_sim.cli.arguments import (
    PARSERS,
    add_config_flags,
    add_window_options,
    add_workers_option,
    config_from_args,
    seed_number,
    whole_number,
)
from vpg_sim.cli.memory import COMPARE_PROCESS_MB, MEMORY_BUDGET_MB, agent_megabytes, most_within_budget
from vpg_sim.cli.student_flags import add_student_flags, student_code_from_args, student_setting, student_settings
from vpg_sim.core.config import FIELD_RULES, VARIANTS, ConfigChange, VPGConfig
from vpg_sim.training.pacing import COMPARE_PACE

if TYPE_CHECKING:
    from vpg_sim.cli.comparison_file import Comparison
    from vpg_sim.core.student import StudentCode
    from vpg_sim.training.comparison_run import Group
    from vpg_sim.training.worker_process import StartedWorkers

MAX_SEEDS = 256
"""Seeds one run trains per group (``--until-decided`` goes on in runs of ``--seeds``)."""
step_budget = whole_number(1, 10**10)
SHARED_ONLY = {"env_id": "--env ID sets both groups' env", "seed": "the seeds are given by --seeds N or --seeds M-N"}
HEADLESS_ONLY = ("out", "json", "json_out", "until_decided", "workers")


def seed_range(text: str) -> range:
    """An argparse type: ``16`` is seeds 0-15; ``100-149`` is seeds 100 to 149 (both
    included); from 2 to :data:`MAX_SEEDS` seeds."""
    first, dash, last = text.partition("-")
    if dash and not first.strip():
        raise argparse.ArgumentTypeError(f"a count N or a range FIRST-LAST of seeds from 0 on, not {text!r}")
    if dash:
        start, stop = seed_number(first), seed_number(last) + 1
    else:
        start, stop = 0, whole_number(2, MAX_SEEDS)(text)
    if not 2 <= stop - start <= MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"a range of 2 to {MAX_SEEDS} seeds, first-last: {text!r}")
    return range(start, stop)


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
        help="compare two configs over many seeds: IQM return curves with 95%% bands, steps to solve",
        description="Train config A and config B with the same seeds each (together: in the window's thread, "
        "or headless in --workers processes) and compare them: each group's interquartile-mean return curve "
        "against env steps with its pointwise 95% bootstrap interval over seeds, each seed's steps to solve "
        "with the median's interval, the "
        "probability that A solves in fewer steps than B, and the fraction of seeds solved by each step count "
        "(--stat mean: mean curves and t-intervals). --a and --b take KEY=VALUE settings (e.g. --a "
        "estimator=baseline --b estimator=total-return, or --b preset=textbook); every other training flag "
        "sets both groups. With advantage normalisation on (the default), an estimator's weights are "
        "normalised over the batch: total-return is then R(tau) minus the batch mean, over its std, "
        "not the textbook's R(tau).",
    )
    for side in ("a", "b"):
        compare.add_argument(
            f"--{side}",
            dest=f"group_{side}",
            nargs="+",
            action="extend",
            default=[],
            metavar="KEY=VALUE",
            help=f"group {side.upper()}'s settings: config fields (policy_lr=0.01), preset=textbook, "
            "or your functions (advantages=mycode:reward_to_go, gae=..., loss=...)",
        )
    compare.add_argument(
        "--seeds",
        type=seed_range,
        default=range(16),
        metavar="N|FIRST-LAST",
        help="seeds per group: N is 0..N-1, FIRST-LAST a range such as 100-149 (default: 16); at most what "
        f"stays under {MEMORY_BUDGET_MB / 1024:g} GB of memory: {DEFAULT_MOST_SEEDS} for CartPole's default config, "
        "fewer for larger batches or networks",
    )
    compare.add_argument(
        "--stat",
        choices=("iqm", "mean"),
        default="iqm",
        help="iqm: interquartile mean curves, bootstrap intervals, P(A better than B) (default); "
        "mean: mean curves with t-intervals and order-statistic medians",
    )
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
    compare.add_argument(
        "--json-out",
        type=Path,
        metavar="FILE",
        help="headless: write every seed's curve and steps to solve, with the configs and vpg-sim's version, "
        "for vpg-sim merge (every seed trains its full --max-steps)",
    )
    compare.add_argument(
        "--until-decided",
        action="store_true",
        help="headless: train further batches of --seeds seeds until the 95%% interval of P(A better than B) "
        "excludes 1/2, or --max-seeds (Bonferroni over the planned looks: at most 5%% chance of naming a "
        "winner where there is none)",
    )
    compare.add_argument(
        "--max-seeds", type=whole_number(2, 4096), metavar="N", help="with --until-decided: at most N seeds (128)"
    )
    add_workers_option(compare)
    add_window_options(compare, after_command=True)
    add_config_flags(compare)
    add_student_flags(compare)
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
            parts = [part.strip() for part in raw.replace("x", ",").split(",")]
            if not all(parts):  # "32xx", "64x": a width left out is a mistake, not a smaller network
                raise argparse.ArgumentTypeError(f"not widths such as 64x64: {raw!r}")
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


GroupSettings = tuple[list[VPGConfig], list[str], list["StudentCode | None"]]
"""Both groups' configs, labels and student's functions (None: the reference's)."""


def comparison_settings(args: argparse.Namespace) -> GroupSettings:
    """Both groups' settings from the command line; ValueError (one line, naming the
    setting) if one is wrong or the configs are the same. Quick: it imports nothing heavy
    (the workers start after it, see :func:`compare_command`)."""
    if "seed" in args:
        raise ValueError(f"--seed: {SHARED_ONLY['seed']}")
    base = config_from_args(args)
    configs, labels, students = [], [], []
    for side in ("a", "b"):
        items = []
        for text in getattr(args, f"group_{side}"):
            try:
                items.append(student_setting(text) or parse_setting(text))
            except (SettingError, argparse.ArgumentTypeError) as error:
                raise ValueError(f"--{side} {text}: {error}") from None
        settings, student = student_settings(items, student_code_from_args(args))
        try:
            configs.append(group_config(base, settings))
        except ValueError as error:
            raise ValueError(f"--{side} {' '.join(getattr(args, f'group_{side}'))}: {error}") from None
        labels.append(describe(items))
        students.append(student)
    if configs[0] == configs[1] and students[0] == students[1]:
        raise ValueError("--a and --b give the same config: nothing to compare")
    return configs, labels, students


def comparison_groups(args: argparse.Namespace, settings: GroupSettings) -> list[Group]:
    """Both groups of :func:`comparison_settings`; ValueError (one line) if the env has no
    discrete actions or the seeds would not fit in memory."""
    from vpg_sim.core.envs import make_single_env
    from vpg_sim.training.comparison_run import Group
    from vpg_sim.training.stage import close_env_keeping_window

    configs, labels, students = settings
    env_id = configs[0].env_id
    env = make_single_env(env_id)
    try:
        if not hasattr(env.action_space, "n"):
            raise ValueError(f"{env_id} has continuous actions; a comparison trains populations, Discrete only")
        check_memory(len(args.seeds), configs, int(env.observation_space.shape[0]), int(env.action_space.n))
    finally:
        close_env_keeping_window(env)
    dicts = [config.to_dict() for config in configs]
    groups = []
    for index, name in enumerate(("A", "B")):
        other = dicts[1 - index]
        difference = {k: v for k, v in dicts[index].items() if v != other[k]}
        if students[index] != students[1 - index] and students[index] is not None:
            difference.update(students[index].functions)
        groups.append(Group(name, configs[index], labels[index], difference, students[index]))
    return groups


def check_memory(seeds: int, configs: list[VPGConfig], observation_dim: int, actions: int) -> None:
    """ValueError (one line, with the most seeds that fit) if ``seeds`` per group of
    ``configs`` would take more memory than ``memory.MEMORY_BUDGET_MB``."""
    per_seed = sum(agent_megabytes(config, observation_dim, actions) for config in configs)
    most = most_within_budget(per_seed, COMPARE_PROCESS_MB)
    if seeds > most:
        needed = (COMPARE_PROCESS_MB + seeds * per_seed) / 1024
        raise ValueError(
            f"--seeds {seeds} would take about {needed:.1f} GB ({per_seed:.1f} MB a seed: every group's networks "
            f"and batches), over the {MEMORY_BUDGET_MB / 1024:g} GB vpg-sim allows itself; at most {most} seeds here "
            "(smaller batches or networks fit more)"
        )


DEFAULT_MOST_SEEDS = most_within_budget(2 * agent_megabytes(VPGConfig(), 4, 2), COMPARE_PROCESS_MB)
"""For the help: CartPole's default config in both groups."""


# -- the command -----------------------------------------------------------------------------


def compare_command(args: argparse.Namespace) -> int:
    from vpg_sim.cli.arguments import fail, workers_started_early

    try:
        settings = comparison_settings(args)
    except ValueError as error:
        return fail(f"compare: {error}")
    # The settings are sound: start the workers now, before the env check imports torch,
    # so that their imports overlap ours (on an env that fails they are ended at once).
    with workers_started_early(args, 2 * len(args.seeds)) as started:
        return _compare(args, settings, started)


def _compare(args: argparse.Namespace, settings: GroupSettings, started: StartedWorkers | None) -> int:
    from vpg_sim.cli.arguments import PROG, env_module, fail, workers_of
    from vpg_sim.core.envs import UnsupportedEnvError

    try:
        groups = comparison_groups(args, settings)
    except (UnsupportedEnvError, ValueError) as error:
        return fail(f"compare: {error}")
    if not args.headless:
        given = [name for name in HEADLESS_ONLY if getattr(args, name)]
        if given:
            flags = ", ".join("--" + name.replace("_", "-") for name in given)
            return fail(
                f"compare: {flags}: --out, --json, --json-out, --until-decided and --workers go with --headless"
            )
        from vpg_sim.ui.launch import run_compare_window

        return run_compare_window(args, groups)
    if args.max_seeds is not None and not args.until_decided:
        return fail("compare: --max-seeds goes with --until-decided")

    import torch

    from vpg_sim.cli.sequential import Engine, planned_looks, run_until_decided, train_seeds

    if args.until_decided:
        try:
            planned_looks(args.seeds, args.max_seeds)
        except ValueError as error:
            return fail(f"compare: {error}")
    from vpg_sim.core.student import StudentCodeError
    from vpg_sim.training.parallel import WorkerError

    torch.set_num_threads(VPGConfig.torch_threads)
    env_id = groups[0].config.env_id
    out = args.out or Path(f"compare-{env_id.replace('/', '_')}.png")
    pooled = args.json_out is not None or args.until_decided
    engine = Engine(workers_of(args), env_module(args), started)
    training_started = time.monotonic()
    try:
        if args.until_decided:
            comparison, decision = run_until_decided(groups, args.seeds, args.max_seeds, args.max_steps, PROG, engine)
        else:
            comparison, decision = train_seeds(groups, args.seeds, args.max_steps, PROG, pooled, engine), None
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except StudentCodeError as error:
        return fail(f"compare: {error}")
    except WorkerError as error:  # not the input's fault: exit 1, in one line
        print(f"{PROG}: error: compare: {error}", file=sys.stderr)
        return 1
    wall_seconds = round(time.monotonic() - training_started, 1)
    status = report(comparison, args, out, {"wall_seconds": wall_seconds}, fail)
    if status == 0:
        if decision is not None:
            print(f"{PROG}: {decision}", file=sys.stderr)
        print(f"{PROG}: wrote {out} (training took {wall_seconds} s of wall time, both groups)", file=sys.stderr)
    return status


def report(
    comparison: Comparison, args: argparse.Namespace, out: Path, extra: dict[str, Any], fail: Callable[[str], int]
) -> int:
    """Write the figure (and ``--json-out``), print a line or a JSON object per group:
    what compare and merge both end with."""
    from vpg_sim.cli.compare_figure import comparison_png
    from vpg_sim.cli.comparison_file import comparison_json
    from vpg_sim.core.comparison import summarize
    from vpg_sim.files import write_atomically

    summaries = summarize(comparison.results, args.stat)
    files = {
        out: comparison_png(comparison.results, comparison.env_id, comparison.reward_threshold, args.stat, summaries)
    }
    if getattr(args, "json_out", None) is not None:
        files[args.json_out] = comparison_json(comparison)
    for path, data in files.items():
        try:
            write_atomically(path, data)
        except OSError as error:
            return fail(f"{args.command}: cannot write {path}: {error.strerror or error}")
    for result, summary in zip(comparison.results, summaries, strict=True):
        line = {"env": comparison.env_id, "max_steps": result.max_steps, **summary.to_dict(), **extra}
        print(json.dumps(line) if args.json else summary_line(line))
    return 0


def summary_line(result: dict[str, Any]) -> str:
    interval = result["median_interval"]
    shown = "no 95% interval (fewer than 6 seeds)" if interval is None else f"95% interval {interval[0]}..{interval[1]}"
    better = "".join(
        f", P(better than {name}) {value['probability']} ({value['interval'][0]}..{value['interval'][1]})"
        for name, value in result["better_than"].items()
    )
    return (
        f"{result['group']}: solved {result['solved']}/{len(result['seeds'])}, median steps to solve "
        f"{result['median_steps_to_solve']} ({shown}), {result['statistic']} return at the end "
        f"{result['return_end']}{better}"
    )
