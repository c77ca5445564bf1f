"""Checking what a policy file says before anything is built from it.

A file's metadata is its author's word: ``"n": "two"``, hidden layers of 100,000, a
billion envs, a seed of 2**70. Every field's type and range is checked here against what
vpg-sim itself writes (and the limits in :mod:`schema`) before a network, an env or an
array is made from it. The checks raise :class:`Invalid`, which names the field
(``config.num_envs must be ...``); the loader turns it into a one-line refusal.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Iterable
from typing import Any

from vpg_sim.core.config import LIVE_KNOBS, ConfigChange, VPGConfig
from vpg_sim.policy_files.reading import parse_json
from vpg_sim.policy_files.schema import (
    FORMAT_VERSION,
    MAX_CONFIG_CHANGES,
    MAX_COUNT,
    MAX_HIDDEN_LAYERS,
    MAX_MAGNITUDE,
    MAX_PARAMETERS,
    MAX_SPACE_SIZE,
    PolicyMetadata,
)


class Invalid(ValueError):
    """A value no policy file may hold; the message names its place (``config.seed``)."""


class NewerFormat(Invalid):
    """A file written by a newer vpg-sim: not wrong, only unknown here."""


# -- one value ---------------------------------------------------------------------------


def shown(value: Any) -> str:
    """``value`` as it may be quoted in a one-line message: its repr, at most 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def kind(value: Any) -> str:
    """What JSON calls ``value``'s type, for messages."""
    if value is None:
        return "null"
    names = {bool: "true/false", int: "a number", float: "a number", str: "a string", list: "a list"}
    return names.get(type(value), "a JSON object")


def whole(value: Any, place: str, low: int, high: int) -> int:
    """An integer within [low, high]; a float (even 2.0) or a bool is refused."""
    if type(value) is not int or not low <= value <= high:
        raise Invalid(f"{place} must be a whole number from {low:,} to {high:,}, not {shown(value)}")
    return value


def number(value: Any, place: str, low: float, high: float) -> float:
    """A JSON number (not a bool) within [low, high]."""
    if type(value) not in (int, float) or not low <= value <= high:
        raise Invalid(f"{place} must be a number from {low:g} to {high:g}, not {shown(value)}")
    return float(value)


def flag(value: Any, place: str) -> bool:
    if type(value) is not bool:
        raise Invalid(f"{place} must be true or false, not {shown(value)}")
    return value


def matching(value: Any, place: str, pattern: re.Pattern[str], example: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise Invalid(f"{place} must be {example}, not {shown(value)}")
    return value


def record(value: Any, place: str, required: Iterable[str], optional: Iterable[str] = ()) -> dict[str, Any]:
    """A JSON object with every ``required`` key and no key beyond ``optional``."""
    if not isinstance(value, dict):
        raise Invalid(f"{place} must be a JSON object, not {kind(value)}")
    required, optional = set(required), set(optional)
    missing = sorted(required - value.keys())
    if missing:
        raise Invalid(f"{place} lacks {', '.join(missing[:3])}")
    unknown = sorted(value.keys() - required - optional)
    if unknown:
        raise Invalid(f"{place} has unknown entries {', '.join(shown(key) for key in unknown[:3])}")
    return value


def listed(value: Any, place: str, length: int | None = None, max_length: int | None = None) -> list[Any]:
    """A JSON list of exactly ``length`` or at most ``max_length`` entries."""
    if not isinstance(value, list):
        raise Invalid(f"{place} must be a list, not {kind(value)}")
    if length is not None and len(value) != length:
        raise Invalid(f"{place} has {len(value):,} entries, expected {length:,}")
    if max_length is not None and len(value) > max_length:
        raise Invalid(f"{place} has {len(value):,} entries, more than {max_length:,}")
    return value


# -- the metadata ------------------------------------------------------------------------

ENV_ID = re.compile(r"[A-Za-z0-9_./-]{1,128}")
"""No ":": Gymnasium would import the module before it (a file must never make vpg-sim run code)."""
PRINTABLE = re.compile(r"[ -~]{0,64}")
STUDENT_CODE = re.compile(r"[A-Za-z0-9_.:=,; ]{0,500}")
"""The label of a student's functions: names only (it is shown, never imported)."""
_REQUIRED = [f.name for f in dataclasses.fields(PolicyMetadata) if f.default is dataclasses.MISSING]
_OPTIONAL = [f.name for f in dataclasses.fields(PolicyMetadata) if f.default is not dataclasses.MISSING]


def checked_metadata(metadata_json: str) -> tuple[PolicyMetadata, VPGConfig]:
    """The metadata JSON of a policy file, every field checked, and the config it holds.

    Raises :class:`NewerFormat` for a file of a newer format, :class:`Invalid` otherwise.
    """
    try:
        fields = parse_json(metadata_json)
    except ValueError as error:
        raise Invalid(str(error)) from None
    if not isinstance(fields, dict):
        raise Invalid(f"it is {kind(fields)}, not a JSON object")
    version = fields.get("format_version")
    if type(version) is int and version > FORMAT_VERSION:
        raise NewerFormat(
            f"has format version {version}, newer than this vpg-sim reads ({FORMAT_VERSION}): update vpg-sim"
        )
    whole(version, "format_version", 1, FORMAT_VERSION)
    record(fields, "the metadata", _REQUIRED, _OPTIONAL)
    env_id = matching(fields["env_id"], "env_id", ENV_ID, "an environment id such as 'CartPole-v1'")
    observation_space = _box(fields["observation_space"], "observation_space")
    action_space = _action_space(fields["action_space"])
    config = checked_config(fields["config"])
    if config.env_id != env_id:
        raise Invalid(f"env_id {env_id!r} differs from config.env_id {config.env_id!r}")
    _check_architecture(fields["architecture"], action_space, config)
    _check_sizes(observation_space["shape"][0], action_space, config.hidden_sizes)
    whole(fields["update"], "update", 0, MAX_COUNT)
    whole(fields["env_steps"], "env_steps", 0, MAX_COUNT)
    if fields["mean_return_100"] is not None:
        number(fields["mean_return_100"], "mean_return_100", -MAX_MAGNITUDE, MAX_MAGNITUDE)
    matching(fields["created"], "created", PRINTABLE, "a date such as '2025-01-31T12:00:00+0000'")
    config_changes(fields.get("config_changes", []))
    matching(fields.get("student_code", ""), "student_code", STUDENT_CODE, "a label such as 'advantages=mycode:rtg'")
    return PolicyMetadata(**fields), config


def _box(value: Any, place: str) -> dict[str, Any]:
    space = record(value, place, ("type", "shape"))
    if space["type"] != "Box":
        raise Invalid(f"{place}.type must be 'Box', not {shown(space['type'])}")
    shape = listed(space["shape"], f"{place}.shape", length=1)
    whole(shape[0], f"{place}.shape[0]", 1, MAX_SPACE_SIZE)
    return space


def _action_space(value: Any) -> dict[str, Any]:
    space_type = value.get("type") if isinstance(value, dict) else None
    if space_type == "Box":
        return _box(value, "action_space")
    if space_type != "Discrete":
        raise Invalid(f"action_space.type must be 'Discrete' or 'Box', not {shown(space_type)}")
    space = record(value, "action_space", ("type", "n"))
    whole(space["n"], "action_space.n", 1, MAX_SPACE_SIZE)
    return space


def action_dim(action_space: dict[str, Any]) -> int:
    """The policy network's outputs: one logit per action, or one mean per dimension."""
    return action_space["n"] if action_space["type"] == "Discrete" else action_space["shape"][0]


def _check_architecture(value: Any, action_space: dict[str, Any], config: VPGConfig) -> None:
    architecture = record(value, "architecture", ("policy", "hidden_sizes", "activation"))
    policy = "categorical" if action_space["type"] == "Discrete" else "gaussian"
    if architecture["policy"] != policy:
        raise Invalid(
            f"architecture.policy must be {policy!r} for a {action_space['type']} action space, "
            f"not {shown(architecture['policy'])}"
        )
    for name in ("hidden_sizes", "activation"):
        ours = list(config.hidden_sizes) if name == "hidden_sizes" else config.activation
        if architecture[name] != ours:
            raise Invalid(f"architecture.{name} {shown(architecture[name])} differs from config.{name} {shown(ours)}")


def _check_sizes(obs_dim: int, action_space: dict[str, Any], hidden_sizes: tuple[int, ...]) -> None:
    """Refuse networks too large to build, before any is (each layer is within bounds, but
    eight of 4,096 would be 117 million parameters)."""
    for name, outputs in (("policy", action_dim(action_space)), ("value", 1)):
        sizes = [obs_dim, *hidden_sizes, outputs]
        count = sum((fan_in + 1) * fan_out for fan_in, fan_out in itertools.pairwise(sizes))
        if count > MAX_PARAMETERS:
            raise Invalid(f"the {name} network would have {count:,} parameters, more than vpg-sim loads")


def config_changes(value: Any) -> tuple[ConfigChange, ...]:
    """The knob history (``config_changes``), checked, as :class:`ConfigChange` records:
    each change names a live knob, with a value its rule (``LIVE_KNOBS``) accepts."""
    changes = []
    for index, entry in enumerate(listed(value, "config_changes", max_length=MAX_CONFIG_CHANGES)):
        place = f"config_changes[{index}]"
        entry = record(entry, place, ("update", "episode", "changes"))
        knobs = entry["changes"]
        if not isinstance(knobs, dict) or len(knobs) > len(LIVE_KNOBS):
            raise Invalid(f"{place}.changes must be a JSON object of knobs, not {shown(knobs)}")
        for name, knob in knobs.items():
            if name not in LIVE_KNOBS:
                raise Invalid(f"{place}.changes names {shown(name)}, not a live knob")
            problem = LIVE_KNOBS[name](name, knob)
            if problem:
                raise Invalid(f"{place}.changes: {problem}")
        changes.append(
            ConfigChange(
                whole(entry["update"], f"{place}.update", 0, MAX_COUNT),
                whole(entry["episode"], f"{place}.episode", 0, MAX_COUNT),
                dict(knobs),
            )
        )
    return tuple(changes)


# -- the config --------------------------------------------------------------------------

_CONFIG_FIELDS = {f.name: f.type for f in dataclasses.fields(VPGConfig)}


def checked_config(value: Any) -> VPGConfig:
    """A :class:`VPGConfig` from a file's ``config``: known fields only (fields a file lacks
    take today's defaults, as files older than them expect), each field's type and range
    checked by the config's own rules (``FIELD_RULES``) before anything is built."""
    values = dict(record(value, "config", (), _CONFIG_FIELDS))
    if isinstance(values.get("hidden_sizes"), list) and len(values["hidden_sizes"]) <= MAX_HIDDEN_LAYERS:
        values["hidden_sizes"] = tuple(values["hidden_sizes"])
    try:
        return VPGConfig.from_dict(values)
    except (TypeError, ValueError, OverflowError) as error:
        raise Invalid(f"config: {str(error).splitlines()[0] if str(error) else type(error).__name__}") from None
