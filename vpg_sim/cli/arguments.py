"""The command line's grammar: value types, the window's options, and one flag per field
of ``VPGConfig``, generated from the dataclass (its field docstrings are the help)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import json
import os
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

from vpg_sim.core.config import VARIANTS, VPGConfig, config_for, field_docs
from vpg_sim.core.envs import UnsupportedEnvError, one_line
from vpg_sim.files import NotAFile, read_small_file
from vpg_sim.training.pacing import DEFAULT_PACE, PACE_NAMES
from vpg_sim.training.worker_process import StartedWorkers
from vpg_sim.ui import MAX_HEIGHT, MAX_WIDTH, MIN_HEIGHT, MIN_WIDTH

PROG = "vpg-sim"


def fail(message: str) -> int:
    """Print one error line, argparse style, and return exit status 2."""
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


class OneLineParser(argparse.ArgumentParser):
    """argparse's parser, but a mistake on the command line is one line and exit 2 (its
    usage block, seventeen lines above the error, is what ``--help`` is for); the
    command's parsers, made by ``add_subparsers``, are of this kind too."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} ({self.prog} --help lists the options)\n")


def import_env_module(env: str) -> str:
    """``module:Env-v0`` (Gymnasium's syntax): import ``module``, which registers the env,
    and return the bare id ``Env-v0``; any other id is returned as it is.

    Only for ids a person typed on the command line: an id read from a file never reaches
    here (a config or policy file that names a module is refused), so no file can make
    vpg-sim import anything. UnsupportedEnvError (one line) if the import fails. The
    current folder goes first on ``sys.path`` for it (here, in the command line, not in
    the core: importing the user's module is the command line's business).
    """
    module, separator, bare = env.partition(":")
    if not separator:
        return env
    if not module or not bare or ":" in bare:
        raise UnsupportedEnvError(f"{env!r} is not of the form module:EnvName-v0")
    # The current folder first, as `python -m` would have it: a console script's path does
    # not include it, and a person's env module usually sits where they run vpg-sim.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        importlib.import_module(module)
    except Exception as error:  # the module is the user's own code: any failure is one line
        reason = f"{type(error).__name__}: {one_line(error)}"
        raise UnsupportedEnvError(f"cannot import {module!r} for {env!r} ({reason})") from None
    return bare


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number in [low, high] (``1e6`` and ``1_000_000`` too)."""

    def parse(text: str) -> int:
        cleaned = text.replace("_", "").strip()
        try:
            value = int(cleaned)
        except ValueError:
            try:
                number = float(cleaned)
            except ValueError:
                raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
            if not number.is_integer():
                raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
            value = int(number)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be in [{low:,}, {high:,}]: {text!r}")
        return value

    return parse


positive_int = whole_number(1, 10**9)
worker_count = whole_number(1, 1024)
seed_number = whole_number(0, 2**32 - 1)
any_whole_number = whole_number(-(10**30), 10**30)
"""For config fields: the config itself says which range is valid, in its own words."""


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number: {text!r}")
    return value


def real_number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def real_or_none(text: str) -> float | None:
    return None if text.strip().lower() in ("none", "off") else real_number(text)


def window_size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    try:
        size = int(width), int(height)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1280x720, got {text!r}") from None
    if size[0] < MIN_WIDTH or size[1] < MIN_HEIGHT:
        raise argparse.ArgumentTypeError(f"too small (at least {MIN_WIDTH}x{MIN_HEIGHT}): {text!r}")
    if size[0] > MAX_WIDTH or size[1] > MAX_HEIGHT:
        raise argparse.ArgumentTypeError(f"too large (at most {MAX_WIDTH}x{MAX_HEIGHT}): {text!r}")
    return size


def add_window_options(parser: argparse.ArgumentParser, after_command: bool = False) -> None:
    """The window's options. ``play`` takes them after its name too (``play PATH --theme
    light``); there they have no defaults, so they never overwrite ones given before it."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if after_command else value

    group = parser.add_argument_group("the window")
    group.add_argument(
        "--pace",
        choices=PACE_NAMES,
        # None: the command's own (the window's DEFAULT_PACE; compare's full), so that a
        # --pace given before a command's name is kept.
        default=default(None),
        help=f"training pace (default: {DEFAULT_PACE})",
    )
    group.add_argument("--theme", choices=("dark", "light"), default=default("dark"), help="colours (default: dark)")
    group.add_argument(
        "--size", type=window_size, default=default((1280, 720)), metavar="WxH", help="window size (default: 1280x720)"
    )
    group.add_argument(
        "--run-for", type=positive_float, default=default(None), metavar="SECONDS", help="quit by itself after SECONDS"
    )
    group.add_argument(
        "--screenshot", type=Path, default=default(None), metavar="PATH", help="save a PNG of the window on quitting"
    )
    group.add_argument(
        "--record-format", choices=("mp4", "gif"), default=default("mp4"), help="what V records (default: mp4)"
    )
    group.add_argument(
        "--present",
        action="store_true",
        default=default(False),
        help="presenter mode: large type for the back of a hall (B toggles it)",
    )


DEFAULT_MAX_WORKERS = 4
"""``--workers`` by default: this machine's cores, at most this many. Each worker process
holds its own torch (~270 MB with 8 CartPole agents, measured), so eight cores' worth
would take ~2 GB without being asked."""


def available_cores() -> int:
    """The cores this process may run on (a container's or ``taskset``'s limit included)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def add_workers_option(parser: argparse.ArgumentParser) -> None:
    """``--workers N``: processes to train in (None when not given: :func:`workers_of`)."""
    default = min(available_cores(), DEFAULT_MAX_WORKERS)
    parser.add_argument(
        "--workers",
        type=worker_count,
        metavar="N",
        help=f"headless: processes to train in (default: this machine's cores, at most {DEFAULT_MAX_WORKERS}: "
        f"{default} here); the results are the same",
    )


def workers_of(args: argparse.Namespace) -> int:
    """``--workers``, or this machine's cores (at most :data:`DEFAULT_MAX_WORKERS`)."""
    return args.workers or min(available_cores(), DEFAULT_MAX_WORKERS)


@contextlib.contextmanager
def workers_started_early(args: argparse.Namespace, agents: int) -> Iterator[StartedWorkers | None]:
    """For a headless run of ``agents`` agents in :func:`workers_of` processes: its child
    workers, started now so that their imports overlap this process's (``worker_process.py``),
    and those no run took ended on leaving; None if it trains in this process alone."""
    # At most one per other core: a run of more workers starts the rest itself (only so
    # many import at once, and a command refused later has started few).
    children = min(workers_of(args), agents, available_cores()) - 1
    started = StartedWorkers(children) if args.headless and children > 0 else None
    try:
        yield started
    finally:
        if started is not None:
            started.close()


def env_module(args: argparse.Namespace) -> str | None:
    """The module of ``--env module:Env-v0`` (it registers the env, and every worker
    process imports it too), or None for a Gymnasium env."""
    module, separator, _ = getattr(args, "env_id", "").partition(":")
    return module if separator else None


# -- one flag per config field -----------------------------------------------------------

FLAG_NAMES: dict[str, tuple[str, ...]] = {"env_id": ("--env", "--env-id"), "total_steps": ("--steps", "--total-steps")}
"""Fields whose flags people know by a shorter name; every other field is ``--field-name``."""

PARSERS: dict[str, dict[str, Any]] = {
    "int": {"type": any_whole_number, "metavar": "N"},
    "float": {"type": real_number, "metavar": "X"},
    "float | None": {"type": real_or_none, "metavar": "X|none"},
    "bool": {"action": argparse.BooleanOptionalAction},
    "str": {"metavar": "NAME"},
    "tuple[int, ...]": {"type": any_whole_number, "nargs": "+", "metavar": "N"},
}
"""How a field's annotation becomes an argparse argument (a test checks every field has one)."""


def config_flag_names(name: str) -> tuple[str, ...]:
    return FLAG_NAMES.get(name, ("--" + name.replace("_", "-"),))


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """``--config FILE`` and one flag per ``VPGConfig`` field. Flags not given are left out
    of the namespace (default SUPPRESS), so the env's preset and the file keep their values."""
    group = parser.add_argument_group(
        "training config", "every hyperparameter; defaults are the env's preset (see vpg_sim/core/config.py)"
    )
    group.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="a config to start from, JSON or TOML (a run's config.json works); flags given beside it win",
    )
    group.add_argument(
        "--preset",
        choices=tuple(VARIANTS),
        default=argparse.SUPPRESS,
        help="textbook: plain VPG, every addition beyond it turned off (before --config and the flags)",
    )
    docs = field_docs()
    for field in dataclasses.fields(VPGConfig):
        group.add_argument(
            *config_flag_names(field.name),
            dest=field.name,
            default=argparse.SUPPRESS,
            help=docs[field.name].replace("%", "%%"),
            **PARSERS[str(field.type)],
        )


def config_flags_given(args: argparse.Namespace) -> list[str]:
    """The training-config flags on the command line (``--env``, ``--gamma``, ``--config``...),
    as their first name, in the config's order."""
    given = [f"--{name}" for name in ("config", "preset") if name in args]
    return given + [config_flag_names(field.name)[0] for field in dataclasses.fields(VPGConfig) if field.name in args]


class ConfigFileError(ValueError):
    """A --config file that cannot be used; the message is one line."""


MAX_CONFIG_BYTES = 1_000_000


def read_config_file(path: Path) -> dict[str, Any]:
    """A config's fields from a JSON or TOML file: the fields at the top, or under a
    ``config`` table (as in a run's ``config.json``). A module prefix in its env id is
    refused by the config: only ``--env`` on the command line may import a module."""
    try:
        text = read_small_file(path, MAX_CONFIG_BYTES).decode("utf-8")
    except NotAFile as problem:  # a folder or a FIFO is named as such, and a FIFO never waits
        raise ConfigFileError(f"--config {path}: {problem}") from None
    except UnicodeDecodeError as error:
        raise ConfigFileError(f"--config {path}: cannot be read ({error})") from None
    try:
        values = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, RecursionError) as error:
        language = "TOML" if path.suffix.lower() == ".toml" else "JSON"
        raise ConfigFileError(f"--config {path}: not valid {language} ({error})") from None
    if isinstance(values, dict) and isinstance(values.get("config"), dict):
        values = values["config"]
    if not isinstance(values, dict):
        raise ConfigFileError(f"--config {path}: expected a table of config fields")
    known = {field.name for field in dataclasses.fields(VPGConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigFileError(f"--config {path}: unknown fields {', '.join(map(str, unknown))}")
    return values


def config_from_args(args: argparse.Namespace, default_env: str = "CartPole-v1") -> VPGConfig:
    """The config the command line asks for: the env's preset, then ``--preset``, then
    ``--config FILE``, then each flag given. ValueError (one line, the config's own reason) if it is invalid;
    UnsupportedEnvError if ``--env module:Env`` cannot be imported."""
    values: dict[str, Any] = dict(VARIANTS[args.preset]) if "preset" in args else {}
    if getattr(args, "config", None) is not None:
        values.update(read_config_file(args.config))
    flags = {field.name: getattr(args, field.name) for field in dataclasses.fields(VPGConfig) if field.name in args}
    if "env_id" in flags:
        flags["env_id"] = import_env_module(flags["env_id"])
    values.update(flags)
    if isinstance(values.get("hidden_sizes"), list):
        values["hidden_sizes"] = tuple(values["hidden_sizes"])
    env = values.pop("env_id", default_env)
    return config_for(env, **values)
