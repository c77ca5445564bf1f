"""``vpg-sim map``: a saved policy and its critic as heat maps over two state dimensions.

The numbers come from :mod:`vpg_sim.core.policy_map`, the drawing from
:mod:`vpg_sim.cli.map_figure`; this module reads the flags and the file and says what
it did. ``--grid-of`` trains the file's run again from its start (policy files keep
one update, not their past; a run is deterministic in its config and seed).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import gymnasium as gym

    from vpg_sim.core.checkpoint import Checkpoint
    from vpg_sim.core.policy_map import EnvMapInfo, PolicyMap
    from vpg_sim.policy_files import LoadedPolicy

MAX_STRIP = 8
"""At most this many updates in one ``--grid-of`` strip (a slide holds four well)."""
MAX_RETRAIN_UPDATE = 5_000
"""``--grid-of`` trains up to the largest update asked for: 5,000 CartPole updates are a
minute or two here, Pendulum's far more."""
DEFAULT_GRID = 64


def add_map_command(commands: argparse._SubParsersAction) -> None:
    """The ``map`` subparser (called by ``vpg_sim.cli.build_parser``)."""
    mapper = commands.add_parser(
        "map",
        help="draw a saved policy and its value as maps over two state dimensions (PNG, or JSON)",
        description="Evaluate a saved policy and its critic on a grid over two observation dimensions, the "
        "others held at a neutral state (CartPole: 0, upright and still), and draw both as heat maps.",
    )
    mapper.add_argument("path", type=Path, metavar="PATH", help="a .safetensors policy file")
    mapper.add_argument(
        "--dims",
        metavar="I,J",
        help="the observation dimensions on the x and y axes (default: the env's most telling pair; "
        "CartPole-v1: 2,3, pole angle and angular velocity)",
    )
    mapper.add_argument(
        "--grid", metavar="N", default=str(DEFAULT_GRID), help="N x N grid points (default: %(default)s, 2 to 1024)"
    )
    mapper.add_argument(
        "--out", type=Path, metavar="FILE.png", help="where the PNG goes (default: <policy name>-map.png here)"
    )
    mapper.add_argument(
        "--json",
        action="store_true",
        help="print the grid as one JSON object (dims, names, x, y, policy as rows over y, value) "
        "instead of drawing; with --out, draw too",
    )
    mapper.add_argument(
        "--grid-of",
        metavar="U1,U2,...",
        help="learning in pictures: train the file's run again from its start (its config and seed: the same "
        "run) and draw the maps after each of these updates, one column each (e.g. 1,10,30,60; at most "
        f"{MAX_STRIP}, up to update {MAX_RETRAIN_UPDATE:,})",
    )
    mapper.add_argument(
        "--visited",
        metavar="EPISODES",
        default="0",
        help="set the ranges of dimensions without a termination limit from the states this many greedy "
        "episodes of the policy visit (1-99%%, widened 10%%); default 0: the env's measured typical ranges "
        "or observation bounds",
    )
    mapper.add_argument(
        "--env", dest="env_id", metavar="ID", default=argparse.SUPPRESS, help="module:Env-v0 for a custom env's policy"
    )


def whole_numbers(text: str, flag: str, low: int, high: int) -> list[int]:
    """``"1,10,30"`` -> ``[1, 10, 30]``; ValueError naming ``flag`` if any is not in [low, high]."""
    try:
        numbers = [int(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"{flag}: not whole numbers separated by commas: {text!r}") from None
    outside = [number for number in numbers if not low <= number <= high]
    if outside:
        raise ValueError(f"{flag}: {outside[0]} is not in {low}..{high:,}")
    return numbers


def one_whole_number(text: str, flag: str, low: int, high: int) -> int:
    """``"64"`` -> 64; ValueError naming ``flag`` if it is not one number in [low, high]."""
    numbers = whole_numbers(text, flag, low, high)
    if len(numbers) != 1:
        raise ValueError(f"{flag}: one whole number, not {text!r}")
    return numbers[0]


def _checked_flags(args: argparse.Namespace, names: tuple[str, ...]) -> dict[str, Any]:
    """The flags that depend on the file's env, checked; ValueError (one line) otherwise."""
    from vpg_sim.core.policy_map import MAX_GRID

    obs_dim = len(names)
    flags: dict[str, Any] = {"dims": None, "grid_of": None}
    if args.dims is not None:
        dims = whole_numbers(args.dims, "--dims", -(10**9), 10**9)
        dimensions = ", ".join(f"{index} {name}" for index, name in enumerate(names))
        if len(dims) != 2 or dims[0] == dims[1] or not all(0 <= dim < obs_dim for dim in dims):
            raise ValueError(f"--dims {args.dims}: give two different dimensions of 0..{obs_dim - 1} ({dimensions})")
        flags["dims"] = (dims[0], dims[1])
    flags["grid"] = one_whole_number(args.grid, "--grid", 2, MAX_GRID)
    flags["visited"] = one_whole_number(args.visited, "--visited", 0, 1000)
    if args.grid_of is not None:
        updates = whole_numbers(args.grid_of, "--grid-of", 1, MAX_RETRAIN_UPDATE)
        if updates != sorted(set(updates)) or len(updates) > MAX_STRIP:
            raise ValueError(f"--grid-of: 1 to {MAX_STRIP} different updates in increasing order, not {args.grid_of}")
        flags["grid_of"] = updates
    if args.out is not None and args.out.suffix.lower() != ".png":
        raise ValueError(f"--out: {args.out} is not a .png file name")
    if args.out is not None and args.out.is_dir():
        raise ValueError(f"--out: {args.out} is a directory; give a file path such as {args.out / 'map.png'}")
    return flags


def _default_out(args: argparse.Namespace, updates: list[int] | None) -> Path:
    stem = args.path.name.removesuffix(".safetensors")
    suffix = "-map" if updates is None else "-map-u" + "-".join(str(update) for update in updates)
    return Path(f"{stem}{suffix}.png")


def map_command(args: argparse.Namespace) -> int:
    import torch

    from vpg_sim.cli.arguments import PROG, fail, import_env_module
    from vpg_sim.core.config import VPGConfig
    from vpg_sim.core.envs import UnsupportedEnvError, make_single_env
    from vpg_sim.core.policy_map import env_map_info, greedy_visits, policy_map_from_checkpoint
    from vpg_sim.policy_files import PolicyFileError, check_env, load_policy, policy_from_file

    # As train and eval do where the process starts: a thread per core makes these small
    # tensors slower and starves whatever else runs on two cores.
    torch.set_num_threads(VPGConfig.torch_threads)
    try:
        if "env_id" in args:  # a custom env's policy: the module is imported from the command line only
            import_env_module(args.env_id)
        loaded = load_policy(args.path)
        check_env(loaded)  # as eval does: a file's spaces must be its env's
        env = make_single_env(loaded.config.env_id)  # its spaces' bounds: a file keeps only their shapes
    except (PolicyFileError, UnsupportedEnvError) as error:
        return fail(str(error))
    env.close()
    checkpoint, env_id = loaded.checkpoint, loaded.config.env_id
    observation_space, action_space = env.observation_space, env.action_space
    info = env_map_info(env_id, observation_space)
    if len(info.names) < 2:
        return fail(f"{args.path}: {env_id} has one observation dimension; a map needs two")
    try:
        flags = _checked_flags(args, info.names)
    except ValueError as error:
        return fail(str(error))
    if flags["grid_of"] is not None and checkpoint.config_changes:
        first = checkpoint.config_changes[0]
        return fail(
            f"--grid-of: knobs were turned during this run ({first.describe()} at update {first.update}); "
            "its start config is not in the file, so training it again would be another run"
        )
    visited = greedy_visits(policy_from_file(loaded), env_id, flags["visited"]) if flags["visited"] else None

    def map_of(source: Checkpoint) -> PolicyMap:
        return policy_map_from_checkpoint(
            source, flags["dims"], flags["grid"], visited=visited, observation_space=observation_space
        )

    result: dict[str, Any]
    if flags["grid_of"] is None:
        maps = [map_of(checkpoint)]
        result = maps[0].to_json()
    else:
        try:
            maps, same_run = _learning_maps(loaded, flags["grid_of"], map_of)
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted while training", file=sys.stderr)
            return 130
        result = {
            "env": env_id,
            "seed": loaded.config.seed,
            "updates": flags["grid_of"],
            "same_run": same_run,
            "maps": [grid_map.to_json() for grid_map in maps],
        }
    out = args.out if args.out is not None else (None if args.json else _default_out(args, flags["grid_of"]))
    if out is not None:
        try:
            replaced = _write_png(out, maps, info, loaded, flags["grid_of"], action_space)
        except OSError as error:
            return fail(f"cannot write {out}: {error.strerror or error}")
    if args.json:
        print(json.dumps(result))
    if out is not None:
        first = maps[0]
        what = f"update {first.update}" if flags["grid_of"] is None else f"updates {args.grid_of}"
        held = "the whole state" if len(info.names) == 2 else f"the others held at {info.neutral_description}"
        print(
            f"{out}: {env_id} {what}, {first.names[0]} × {first.names[1]} on a {first.grid_size}x{first.grid_size} "
            f"grid, {held}",
            file=sys.stderr if args.json else sys.stdout,
        )
        if replaced:
            print(f"{PROG}: note: replaced the existing {out}", file=sys.stderr)
    return 0


def _learning_maps(
    loaded: LoadedPolicy, updates: list[int], map_of: Callable[[Checkpoint], PolicyMap]
) -> tuple[list[PolicyMap], bool | None]:
    """Maps after each of ``updates`` of the file's run trained again, and whether that run
    reproduced the file's weights (None when it did not reach the file's update)."""
    from vpg_sim.cli.arguments import PROG
    from vpg_sim.training.retrain import checkpoints_at, same_weights

    file_update = loaded.metadata.update
    check = 1 <= file_update <= updates[-1]
    visits = sorted(set(updates) | ({file_update} if check else set()))
    print(
        f"training {loaded.config.env_id} seed {loaded.config.seed} again from its start to update {updates[-1]}...",
        file=sys.stderr,
    )
    maps, same_run = [], None
    for checkpoint in checkpoints_at(loaded.config, visits):
        if checkpoint.update == file_update and check:
            same_run = same_weights(checkpoint, loaded.checkpoint)
            if not same_run:
                print(
                    f"{PROG}: warning: the run trained again differs from {loaded.path} at its update {file_update} "
                    "(another version of torch or gymnasium?): the maps show a run like it, not the same one",
                    file=sys.stderr,
                )
        if checkpoint.update in updates:
            maps.append(map_of(checkpoint))
    return maps, same_run


def _write_png(
    out: Path,
    maps: list[PolicyMap],
    info: EnvMapInfo,
    loaded: LoadedPolicy,
    updates: list[int] | None,
    action_space: gym.Space,
) -> bool:
    """Draw and atomically write the PNG; True if it replaced a file."""
    from vpg_sim.cli.map_figure import single_map_png, strip_png
    from vpg_sim.files import write_atomically

    action_bound = float(abs(action_space.high).max()) if hasattr(action_space, "high") else None
    first, env_id = maps[0], loaded.config.env_id
    if updates is None:
        title = f"{env_id}, update {first.update} ({loaded.path.name}): what the policy and the critic learnt"
        png = single_map_png(first, info, title, action_bound, loaded.config.gamma)
    else:
        listed = ", ".join(str(update) for update in updates)
        title = f"{env_id} learning (seed {loaded.config.seed}), the policy and the critic after updates {listed}"
        png = strip_png(maps, info, title, action_bound, loaded.config.gamma)
    replaced = out.exists()
    write_atomically(out, png)
    return replaced
