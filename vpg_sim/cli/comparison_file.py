"""A comparison's every seed as a JSON file (``--json-out``), and files pooled (``merge``).

One file holds, per group, its config, label and step budget, and per seed its curve
(env steps and mean return of the last 100 after each update) and its steps to solve;
with the env, its solved threshold and the vpg-sim version that trained it. A SHA-256 of
the rest closes the file: a truncated file is not JSON, and a hand-edited one fails its
checksum, each refused in one line. Pooling files checks that they ran the same thing
(env, threshold, version, groups, configs, budgets) and hold no seed twice, and joins each
group's seeds in seed order: the pooled results are what one run over all those seeds
gives, so every statistic of the merge is that run's (``merge`` is exact; tested).

Floats go out with Python's shortest repr, which reads back to the same bits.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vpg_sim import __version__
from vpg_sim.core.comparison import Curve, GroupResult
from vpg_sim.core.config import VPGConfig

FORMAT = "vpg-sim comparison"
FORMAT_VERSION = 1
MAX_BYTES = 512 * 1024 * 1024
"""A file larger than this is not one of ours: 800 seeds of two groups are ~40 MB."""


class ComparisonFileError(ValueError):
    """A file that cannot be read or pooled; the message is one line naming the file and why."""


@dataclass(frozen=True)
class Comparison:
    """What a file holds: the groups' results (seeds in seed order) and what they ran on."""

    env_id: str
    reward_threshold: float | None
    version: str
    results: tuple[GroupResult, ...]


# -- writing ---------------------------------------------------------------------------------


def _finite_or_none(values: np.ndarray) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in values.tolist()]


def _group_to_dict(result: GroupResult) -> dict[str, Any]:
    config = result.config.to_dict()
    del config["seed"]
    return {
        "name": result.name,
        "label": result.label,
        "difference": result.difference,
        "config": config,
        "max_steps": result.max_steps,
        "seeds": [
            {
                "seed": seed,
                "steps_to_solve": steps,
                "env_steps": [int(v) for v in curve.env_steps.tolist()],
                "returns": _finite_or_none(curve.returns),
            }
            for seed, curve, steps in zip(result.seeds, result.curves, result.steps_to_solve, strict=True)
        ],
    }


def _checksum(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def comparison_json(comparison: Comparison) -> bytes:
    """The file's bytes: every group's every seed, and the checksum of it all."""
    body = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "vpg_sim_version": comparison.version,
        "env": comparison.env_id,
        "reward_threshold": comparison.reward_threshold,
        "groups": [_group_to_dict(result) for result in comparison.results],
    }
    return (json.dumps({**body, "sha256": _checksum(body)}, allow_nan=False) + "\n").encode()


def this_run(results: Sequence[GroupResult], env_id: str, reward_threshold: float | None) -> Comparison:
    """Results trained by this vpg-sim, for :func:`comparison_json`."""
    return Comparison(env_id, reward_threshold, __version__, tuple(results))


# -- reading ---------------------------------------------------------------------------------


def _need(mapping: Any, key: str, kinds: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise ComparisonFileError(f"{where} has no {key!r}")
    value = mapping[key]
    allowed = kinds if isinstance(kinds, tuple) else (kinds,)
    if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
        raise ComparisonFileError(f"{where}: {key!r} is not of the right type")
    return value


def _numbers(values: Any, where: str, whole: bool) -> np.ndarray:
    kinds = (int,) if whole else (int, float, type(None))
    if not isinstance(values, list) or any(isinstance(v, bool) or not isinstance(v, kinds) for v in values):
        raise ComparisonFileError(f"{where} is not a list of {'whole numbers' if whole else 'numbers'}")
    return np.array([math.nan if v is None else v for v in values], dtype=np.int64 if whole else np.float64)


def _seed_from_dict(entry: Any, where: str) -> tuple[int, Curve, int | None]:
    seed = _need(entry, "seed", int, where)
    where = f"{where} seed {seed}"
    steps = _need(entry, "steps_to_solve", (int, type(None)), where)
    env_steps = _numbers(_need(entry, "env_steps", list, where), f"{where}: env_steps", whole=True)
    returns = _numbers(_need(entry, "returns", list, where), f"{where}: returns", whole=False)
    if len(env_steps) != len(returns) or np.any(np.diff(env_steps) <= 0):
        raise ComparisonFileError(f"{where}: env_steps and returns differ in length, or env_steps do not ascend")
    return seed, Curve(env_steps, returns), steps


def _group_from_dict(entry: Any, where: str) -> GroupResult:
    name = _need(entry, "name", str, where)
    where = f"{where} group {name}"
    try:
        config = VPGConfig.from_dict({**_need(entry, "config", dict, where), "seed": 0})
    except (TypeError, ValueError) as error:
        raise ComparisonFileError(f"{where}: config: {error}") from None
    seeds = [_seed_from_dict(seed, where) for seed in _need(entry, "seeds", list, where)]
    return GroupResult(
        name=name,
        label=_need(entry, "label", str, where),
        difference=_need(entry, "difference", dict, where),
        config=config,
        max_steps=_need(entry, "max_steps", int, where),
        seeds=tuple(seed for seed, _, _ in seeds),
        curves=tuple(curve for _, curve, _ in seeds),
        steps_to_solve=tuple(steps for _, _, steps in seeds),
    )


def read_comparison(path: Path) -> Comparison:
    """The file at ``path``, checked; ComparisonFileError (one line) if it is not a whole,
    unedited comparison file of this format."""
    where = str(path)
    if not path.is_file():  # nor a folder, nor a pipe that would never end
        raise ComparisonFileError(f"{where}: no such file")
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as error:
        raise ComparisonFileError(f"{where}: cannot read it: {error.strerror or error}") from None
    if len(data) > MAX_BYTES:
        raise ComparisonFileError(f"{where}: larger than {MAX_BYTES // 2**20} MB: not a comparison file")
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise ComparisonFileError(f"{where}: not a whole JSON file (truncated?): {error}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ComparisonFileError(f"{where}: not a vpg-sim comparison file (write one with compare --json-out)")
    if document.get("format_version") != FORMAT_VERSION:
        raise ComparisonFileError(f"{where}: format version {document.get('format_version')!r}, not {FORMAT_VERSION}")
    body = {key: value for key, value in document.items() if key != "sha256"}
    if document.get("sha256") != _checksum(body):
        raise ComparisonFileError(f"{where}: its contents do not match its checksum (edited by hand, or damaged)")
    threshold = _need(document, "reward_threshold", (int, float, type(None)), where)
    groups = [_group_from_dict(group, where) for group in _need(document, "groups", list, where)]
    if not groups:
        raise ComparisonFileError(f"{where}: no groups")
    return Comparison(
        env_id=_need(document, "env", str, where),
        reward_threshold=None if threshold is None else float(threshold),
        version=_need(document, "vpg_sim_version", str, where),
        results=tuple(groups),
    )


# -- pooling ---------------------------------------------------------------------------------


def _first_difference(ours: dict[str, Any], theirs: dict[str, Any]) -> str | None:
    """The first item that differs, as "<item>: <theirs> there, <ours> here"."""
    for key in [*ours, *(key for key in theirs if key not in ours)]:
        if ours.get(key) != theirs.get(key):
            return f"{key}: {theirs.get(key)!r} there, {ours.get(key)!r} here"
    return None


def _what_it_ran(comparison: Comparison) -> dict[str, Any]:
    """Everything that must agree for two files to pool, as flat named items."""
    items: dict[str, Any] = {
        "the env": comparison.env_id,
        "the solved threshold": comparison.reward_threshold,
        "the vpg-sim version": comparison.version,
        "the groups": [result.name for result in comparison.results],
    }
    for result in comparison.results:
        items[f"group {result.name}'s label"] = result.label
        items[f"group {result.name}'s max_steps"] = result.max_steps
        for key, value in result.config.to_dict().items():
            if key != "seed":
                items[f"group {result.name}'s {key}"] = value
    return items


def pool(comparisons: Sequence[Comparison], names: Sequence[str]) -> Comparison:
    """The files' seeds joined per group, in seed order; ComparisonFileError naming the
    first difference (``names``: the files', for the message) if they ran different things,
    or a seed that two files both hold."""
    first = comparisons[0]
    reference = _what_it_ran(first)
    for comparison, name in zip(comparisons[1:], names[1:], strict=True):
        difference = _first_difference(reference, _what_it_ran(comparison))
        if difference is not None:
            raise ComparisonFileError(f"{name} differs from {names[0]} in {difference}")
    pooled = []
    for index, result in enumerate(first.results):
        owner: dict[int, str] = {}
        entries = []
        for comparison, name in zip(comparisons, names, strict=True):
            theirs = comparison.results[index]
            for seed, curve, steps in zip(theirs.seeds, theirs.curves, theirs.steps_to_solve, strict=True):
                if seed in owner:
                    raise ComparisonFileError(f"seed {seed} of group {result.name} is in both {owner[seed]} and {name}")
                owner[seed] = name
                entries.append((seed, curve, steps))
        entries.sort(key=lambda entry: entry[0])
        pooled.append(
            GroupResult(
                name=result.name,
                label=result.label,
                difference=result.difference,
                config=result.config,
                max_steps=result.max_steps,
                seeds=tuple(seed for seed, _, _ in entries),
                curves=tuple(curve for _, curve, _ in entries),
                steps_to_solve=tuple(steps for _, _, steps in entries),
            )
        )
    return Comparison(first.env_id, first.reward_threshold, first.version, tuple(pooled))
