"""``vpg-sim sweep``: every combination of a grid of config values, each over many seeds.

``--grid KEY=v1,v2,...`` (once or twice: a 1-D or a 2-D grid) takes any config field but
the env and the seed (``-`` or ``_``; a tuple as ``64x64``; ``preset`` too), on top of the
config every other training flag gives each cell (``--env``, ``--preset``, ``--num-envs``
...). Each value and each cell's config is checked by the config's own rules before
anything starts, so a wrong key, value or grid is one line and exit 2. Without
``--headless`` the sweep window opens (``ui/sweep/app.py``: every cell trained live in its
thread). ``--headless`` trains every cell (in ``--workers`` processes, or as Ray tasks
with ``--ray``), writes the figure (``sweep_figure.py``) and prints a summary line, or
with ``--json`` one JSON object, per cell. The heat map's number for a cell follows one
rule, ``core/comparison.cell_value``, in the window, the figure and the JSON alike (the
window trains a critic-free cell of more than 8 seeds as one population, headless as
populations of 8: its numbers can differ there by float rounding, ``populations_worker.py``).

``build_parser`` imports this module for :func:`add_sweep_command`, so nothing that
imports torch or pygame is imported at its top.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vpg_sim.cli.arguments import (
    add_config_flags,
    add_window_options,
    add_workers_option,
    config_from_args,
    workers_started_early,
)
from vpg_sim.cli.compare import (
    SettingError,
    check_memory,
    describe,
    group_config,
    parse_setting,
    seed_range,
    step_budget,
    summary_line,
)
from vpg_sim.core.config import VPGConfig
from vpg_sim.training.pacing import COMPARE_PACE
from vpg_sim.training.worker_process import StartedWorkers

if TYPE_CHECKING:
    from vpg_sim.training.sweep_run import SweepCell, SweepResult

MAX_CELLS = 10_000
"""More cells than anyone reads in a figure, and hours of training per thousand on a laptop."""
MAX_WINDOW_CELLS = 25
"""The window draws every cell's curves and stage cell by cell: 5 x 5 at most (headless: any grid)."""
MAX_KEYS = 2
"""A 1-D grid draws a curve per value; a 2-D one, a heat map. More have no figure."""
NOT_IN_GRID = {"env_id": "--env ID sets every cell's env", "seed": "the seeds are given by --seeds N or --seeds M-N"}
HEADLESS_ONLY = ("out", "json", "workers", "ray")


def add_sweep_command(commands: Any) -> None:
    """The ``sweep`` subparser (``commands``: ``build_parser``'s subparsers)."""
    sweep = commands.add_parser(
        "sweep",
        help="train every combination of a grid of config values over many seeds: curves or a heat map",
        description="Train every cell of a grid (--grid KEY=v1,v2,... once or twice) with the same seeds "
        "each, as compare trains a group: live in the window, or --headless on every core here (--workers) or "
        "on a Ray cluster (--ray). A 1-D grid gives each value's IQM return curve with its 95% band and each "
        "seed's steps to solve; a 2-D grid a heat map of the median steps to solve (the IQM return at the "
        "end where half the seeds or fewer solved). Every other training flag sets every cell.",
    )
    sweep.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2,...",
        help="a config field and its values (gae_lambda=0,0.5,1; hidden_sizes=32x32,64x64); once or twice",
    )
    sweep.add_argument(
        "--seeds",
        type=seed_range,
        default=range(16),
        metavar="N|FIRST-LAST",
        help="seeds per cell: N is 0..N-1, FIRST-LAST a range such as 100-149 (default: 16)",
    )
    sweep.add_argument(
        "--stat",
        choices=("iqm", "mean"),
        default="iqm",
        help="iqm: interquartile mean curves with bootstrap bands (default); mean: mean curves with t-intervals",
    )
    sweep.add_argument(
        "--budget",
        type=step_budget,
        metavar="STEPS",
        help="env steps each agent trains at most (default: the config's total_steps, 300,000 for CartPole)",
    )
    add_workers_option(sweep)
    sweep.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="headless: train each cell as a task on a Ray cluster: auto (the one this machine belongs to), "
        "local (a private instance here), HOST:PORT or ray://HOST:PORT (needs: pip install 'vpg-sim[cluster]')",
    )
    sweep.add_argument("--headless", action="store_true", help="no window: train, write --out, print a line per cell")
    sweep.add_argument("--out", type=Path, metavar="FILE.png", help="headless: the figure (default: sweep-<env>.png)")
    sweep.add_argument("--json", action="store_true", help="headless: print one JSON object per cell")
    add_window_options(sweep, after_command=True)
    add_config_flags(sweep)
    pace = next(action for action in sweep._actions if action.dest == "pace")
    pace.help = f"training pace, in rounds: an update of every agent (default: {COMPARE_PACE})"


# -- the grid --------------------------------------------------------------------------------


def parse_grid(texts: list[str]) -> list[tuple[str, list[Any]]]:
    """``["gae_lambda=0,0.5"]`` -> ``[("gae_lambda", [0.0, 0.5])]``, keys in the order
    given. ValueError (one line, naming the item) for a malformed item, a key that is not
    a config field (or preset), a value its rules refuse, a key or value given twice."""
    if not texts:
        raise ValueError("give the grid: --grid KEY=V1,V2,... (e.g. --grid gae_lambda=0,0.5,0.9,0.97,1)")
    if len(texts) > MAX_KEYS:
        raise ValueError(f"at most {MAX_KEYS} --grid keys (a curve per value, or a heat map), not {len(texts)}")
    grid: list[tuple[str, list[Any]]] = []
    for text in texts:
        key, equals, raw = text.partition("=")
        name = key.strip().replace("-", "_")
        if name in NOT_IN_GRID:
            raise ValueError(f"--grid {text}: {name} cannot vary between cells: {NOT_IN_GRID[name]}")
        if not equals or not name:
            raise ValueError(f"--grid {text}: not KEY=V1,V2,...")
        if any(name == known for known, _ in grid):
            raise ValueError(f"--grid {text}: {name} is already a grid key")
        # A tuple's widths are written 64x64 here: a comma separates values.
        values = [part.strip() for part in raw.split(",")]
        if not any(values):
            raise ValueError(f"--grid {text}: no values")
        parsed = []
        for value in values:
            try:
                parsed.append(parse_setting(f"{name}={value}")[1])
            except SettingError as error:
                raise ValueError(f"--grid {text}: {error}") from None
            if parsed[-1] in parsed[:-1]:
                raise ValueError(f"--grid {text}: {value} is listed twice")
        grid.append((name, parsed))
    return grid


CellSettings = list[tuple[list[tuple[str, Any]], VPGConfig]]
"""Per cell, in grid order: its (key, value) settings and its config."""


def cell_configs(args: argparse.Namespace, max_cells: int) -> CellSettings:
    """Every cell of the command line's grid and its config, checked; ValueError (one
    line) for a bad grid, too many cells or a cell whose config is invalid. Quick: it
    imports nothing heavy (the workers start after it, see :func:`sweep_command`)."""
    if "seed" in args:
        raise ValueError(f"--seed: {NOT_IN_GRID['seed']}")
    grid = parse_grid(args.grid)
    count = math.prod(len(values) for _, values in grid)
    if count > max_cells:
        sizes = " x ".join(str(len(values)) for _, values in grid) + " = " if len(grid) > 1 else ""
        where = " in the window (--headless trains up to 10,000)" if max_cells == MAX_WINDOW_CELLS else ""
        raise ValueError(f"the grid has {sizes}{count:,} cells, more than {max_cells:,}{where}")
    base = config_from_args(args)
    configs = []
    for values in itertools.product(*(values for _, values in grid)):
        items = [(name, value) for (name, _), value in zip(grid, values, strict=True)]
        try:
            configs.append((items, group_config(base, items)))
        except ValueError as error:
            raise ValueError(f"cell {describe(items)}: {error}") from None
    return configs


def sweep_cells(args: argparse.Namespace, configs: CellSettings) -> list[SweepCell]:
    """The cells of :func:`cell_configs`; ValueError (one line) for an env without
    discrete actions, or seeds that would not fit in memory. Trains nothing."""
    from vpg_sim.core.envs import make_single_env
    from vpg_sim.training.comparison_run import Group
    from vpg_sim.training.stage import close_env_keeping_window
    from vpg_sim.training.sweep_run import SweepCell

    cells = []
    for index, (items, config) in enumerate(configs):
        group = Group(f"cell {index}", config, describe(items), dict(items))
        cells.append(SweepCell(index, dict(items), group))
    env_id = configs[0][1].env_id
    env = make_single_env(env_id)
    try:
        if not hasattr(env.action_space, "n"):
            raise ValueError(f"{env_id} has continuous actions; a sweep trains populations, Discrete only")
        if getattr(args, "ray", None) is None:  # on a cluster, its nodes' memory is not this machine's
            shape = int(env.observation_space.shape[0]), int(env.action_space.n)
            check_memory(len(args.seeds), [config for _, config in configs], *shape)
    finally:
        close_env_keeping_window(env)
    return cells


# -- the command -----------------------------------------------------------------------------


def sweep_command(args: argparse.Namespace) -> int:
    from vpg_sim.cli.arguments import fail

    if not args.headless:
        given = [name for name in HEADLESS_ONLY if getattr(args, name)]
        if given:
            flags = ", ".join("--" + name.replace("_", "-") for name in given)
            return fail(f"sweep: {flags}: --out, --json, --workers and --ray go with --headless")
    if args.ray is not None and args.workers is not None:
        return fail("sweep: --workers and --ray: on Ray each cell is a task of one CPU; give one of the two")
    if args.headless and args.out is not None and not writable_file(args.out):
        return fail(f"sweep: --out {args.out}: a folder, or in a folder that does not exist or cannot be written")
    try:
        configs = cell_configs(args, MAX_CELLS if args.headless else MAX_WINDOW_CELLS)
    except ValueError as error:
        return fail(f"sweep: {error}")
    # The grid is sound: start the workers now, before the cells' env check imports torch,
    # so that their imports overlap ours (on an env that fails they are ended at once).
    agents_here = len(configs) * len(args.seeds) if args.ray is None else 0  # on Ray, none train here
    with workers_started_early(args, agents_here) as started:
        return _train_and_report(args, configs, started)


def _train_and_report(args: argparse.Namespace, configs: CellSettings, started: StartedWorkers | None) -> int:
    from vpg_sim.cli.arguments import PROG, fail, workers_of
    from vpg_sim.core.envs import UnsupportedEnvError
    from vpg_sim.training.parallel import WorkerError

    try:
        cells = sweep_cells(args, configs)
    except (UnsupportedEnvError, ValueError) as error:
        return fail(f"sweep: {error}")
    if not args.headless:
        from vpg_sim.ui.launch import run_sweep_window

        return run_sweep_window(args, [cell.group for cell in cells], grid_values(args.grid))
    cluster = None
    if args.ray is not None:
        from vpg_sim.training.ray_cells import RayUnavailable, connect

        try:
            cluster = connect(args.ray)
        except RayUnavailable as error:
            return fail(f"sweep: {error}")
    env_id = cells[0].group.config.env_id
    out = args.out or Path(f"sweep-{env_id.replace('/', '_')}.png")

    def progress(line: str) -> None:
        print(f"{PROG}: {line}", file=sys.stderr, flush=True)

    try:
        result = train_sweep(args, cells, cluster, progress, started)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except WorkerError as error:  # not the input's fault: exit 1, in one line
        print(f"{PROG}: error: sweep: {error}", file=sys.stderr)
        return 1
    finally:
        if cluster is not None:
            cluster.close()
    try:
        write_figure(out, result, args.stat)
    except OSError as error:
        return fail(f"sweep: cannot write {out}: {error.strerror or error}")
    for row in result.json_rows(args.stat):
        print(json.dumps(row) if args.json else summary_line(row))
    workers = min(workers_of(args), len(cells) * len(args.seeds))
    where = f"on Ray ({args.ray})" if cluster is not None else f"in {workers} worker{'s' * (workers > 1)}"
    print(f"{PROG}: wrote {out} (training took {result.wall_seconds} s of wall time, {where})", file=sys.stderr)
    return 0


def train_sweep(
    args: argparse.Namespace,
    cells: list[SweepCell],
    cluster: Any,
    progress: Any,
    started: StartedWorkers | None = None,
) -> SweepResult:
    """Every cell trained, here (in the workers ``started`` early, if any) or on the cluster."""
    from vpg_sim.cli.arguments import env_module, workers_of

    seeds = args.seeds
    env_import = env_module(args)
    if cluster is not None:
        return cluster.run(cells, seeds, args.budget, progress, env_import)
    import torch

    from vpg_sim.training.sweep_run import run_here

    torch.set_num_threads(VPGConfig.torch_threads)
    return run_here(cells, seeds, args.budget, workers_of(args), progress, env_import, started)


def write_figure(out: Path, result: SweepResult, statistic: str) -> None:
    """Draw the sweep (``sweep_figure.py``) and write it atomically."""
    from vpg_sim.cli.sweep_figure import sweep_png
    from vpg_sim.files import write_atomically

    write_atomically(out, sweep_png(result, statistic))


def writable_file(path: Path) -> bool:
    """Whether ``path`` can be written at the end of a sweep: not a folder, in one we may write to."""
    folder = path.parent if str(path.parent) else Path(".")
    return not path.is_dir() and folder.is_dir() and os.access(folder, os.W_OK)


def grid_values(texts: list[str]) -> dict[str, list[Any]]:
    """Each grid key's values, in the grid's order (the window's axes)."""
    return dict(parse_grid(texts))
