"""A policy file's tensors: which it must hold, of what dtype and shape, with usable values.

The networks' shapes come from checked metadata, built on torch's meta device (shapes
without memory), so that what a file claims costs nothing until its own tensors are
found to match. Adam's state is checked as closely: fused Adam trusts its moments to
have their parameter's shape, and one of another shape makes it write out of bounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from vpg_sim.core.config import VPGConfig
from vpg_sim.core.stabilisers import adaptive_rate_range
from vpg_sim.policy_files.errors import PolicyFileError
from vpg_sim.policy_files.reading import PolicyFileReader, parse_json
from vpg_sim.policy_files.schema import (
    MAX_COUNT,
    MAX_LOG_STD,
    MAX_MAGNITUDE,
    OPTIMIZERS,
    PolicyMetadata,
    build_networks,
)
from vpg_sim.policy_files.validation import Invalid, flag, listed, number, record, shown

ADAM_STATE = ("exp_avg", "exp_avg_sq", "step")
OPTIONAL_TENSORS = ("value.target_mean", "value.target_std")
"""Missing from files written before the critic normalised its targets (see :func:`file_tensors`)."""


@dataclass(frozen=True)
class Layout:
    """The tensors a file of one architecture holds: name -> shape."""

    networks: dict[str, tuple[int, ...]]
    adam: dict[str, tuple[int, ...]]
    """Per optimiser and parameter: ``<optimizer>.<index>.exp_avg``, ``exp_avg_sq``, ``step``."""
    parameters: dict[str, int]
    """Each optimiser's number of parameters (its param group's ``params`` are 0..n-1)."""


def layout(metadata: PolicyMetadata, config: VPGConfig) -> Layout:
    with torch.device("meta"):
        modules = dict(zip(("policy", "value"), build_networks(metadata, config), strict=True))
    networks = {
        f"{name}.{key}": tuple(tensor.shape)
        for name, module in modules.items()
        for key, tensor in module.state_dict().items()
    }
    adam: dict[str, tuple[int, ...]] = {}
    parameters = {}
    for prefix, network in OPTIMIZERS.items():
        shapes = [tuple(parameter.shape) for parameter in modules[network].parameters()]
        parameters[prefix] = len(shapes)
        for index, shape in enumerate(shapes):
            adam.update({f"{prefix}.{index}.exp_avg": shape, f"{prefix}.{index}.exp_avg_sq": shape})
            adam[f"{prefix}.{index}.step"] = ()
    return Layout(networks, adam, parameters)


def file_tensors(reader: PolicyFileReader, expected: Layout, optimizers: set[str]) -> dict[str, torch.Tensor]:
    """Every tensor of the file, each checked for name, dtype and shape before it is read,
    and for its values after. ``optimizers``: the Adams whose settings the file holds
    (only their state may be present)."""
    path = reader.path
    allowed = {**expected.networks, **{k: v for k, v in expected.adam.items() if k.split(".")[0] in optimizers}}
    with reader.tensors() as handle:
        names = set(handle.keys())
        unexpected = sorted(names - allowed.keys())
        if unexpected:
            raise PolicyFileError(path, f"has unexpected tensors {', '.join(unexpected[:3])}")
        missing = sorted(expected.networks.keys() - names - set(OPTIONAL_TENSORS))
        missing += sorted(_partial_adam_state(names, expected))
        if missing:
            raise PolicyFileError(path, f"lacks tensors {', '.join(missing[:3])}")
        for name in sorted(names):
            view = handle.get_slice(name)
            dtype, shape = view.get_dtype(), tuple(view.get_shape())
            if dtype != "F32":
                raise PolicyFileError(path, f"tensor {name} is {dtype}, not F32 (float32)")
            if shape != allowed[name]:
                raise PolicyFileError(path, f"tensor {name} has shape {list(shape)}, expected {list(allowed[name])}")
        tensors = {name: handle.get_tensor(name) for name in sorted(names)}
    for name, tensor in tensors.items():
        problem = _value_problem(name, tensor)
        if problem:
            raise PolicyFileError(path, f"tensor {name} {problem}")
    return tensors


def _partial_adam_state(names: set[str], expected: Layout) -> set[str]:
    """Adam's tensors missing for a parameter that has some (one it never stepped has none)."""
    missing = set()
    for name in expected.adam:
        if name.endswith(".step"):
            prefix = name.removesuffix("step")
            group = {prefix + part for part in ADAM_STATE}
            if group & names:
                missing |= group - names
    return missing


def _value_problem(name: str, tensor: torch.Tensor) -> str | None:
    if not torch.isfinite(tensor).all():
        return "holds NaN or infinite values"
    if name.endswith(".exp_avg_sq") and (tensor < 0).any():
        return "has negative values (Adam's second moment is a mean of squares)"
    if name.endswith(".step"):
        steps = float(tensor)
        if not (0 <= steps <= MAX_COUNT and steps.is_integer()):
            return f"must count Adam's steps (a whole number >= 0), not {steps:g}"
    if name == "value.target_std" and not float(tensor) > 0:
        return f"must be positive (the critic's target scale), not {float(tensor):g}"
    if name == "policy.log_std" and not (tensor.abs() <= MAX_LOG_STD).all():
        return f"must be within [-{MAX_LOG_STD:g}, {MAX_LOG_STD:g}] (a log standard deviation)"
    return None


def network_state(tensors: dict[str, torch.Tensor], network: str) -> dict[str, torch.Tensor]:
    """One network's state dict from the file's tensors (``policy.`` or ``value.``)."""
    prefix = network + "."
    return {name[len(prefix) :]: tensor for name, tensor in tensors.items() if name.startswith(prefix)}


def optimizer_state(tensors: dict[str, torch.Tensor], prefix: str, group: dict[str, Any]) -> dict[str, Any]:
    """The state dict of one Adam: its checked tensors by parameter index, and its param group."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, tensor in tensors.items():
        if name.startswith(prefix + "."):
            index, part = name[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(index), {})[part] = tensor
    return {"state": state, "param_groups": [group]}


# -- Adam's settings ---------------------------------------------------------------------

_OFF = ("amsgrad", "maximize", "capturable", "differentiable")
"""Adam options vpg-sim never turns on: each needs state or hardware its Adam does not have
(amsgrad a third moment: on, the first step fails for want of it)."""
_EITHER = ("foreach", "fused")


RATE_FIELDS = {"policy_optimizer": "policy_lr", "value_optimizer": "value_lr"}
"""The config field each Adam's learning rate is set from."""


def checked_param_groups(text: str | None, expected: Layout, config: VPGConfig) -> dict[str, dict[str, Any]]:
    """Each Adam's param group from the header's JSON, checked: a learning rate where
    training keeps it (:func:`_learning_rate`), betas in [0, 1), ``params`` that index the
    network's parameters."""
    if text is None:
        return {}
    try:
        groups = parse_json(text)
    except ValueError as error:
        raise Invalid(str(error)) from None
    record(groups, "it", (), OPTIMIZERS)
    return {
        prefix: _param_group(value, prefix, expected.parameters[prefix], config) for prefix, value in groups.items()
    }


def _learning_rate(value: Any, place: str, field: str, config: VPGConfig) -> None:
    """Adam's rate must lie where vpg-sim's training keeps it: within the KL-adaptive
    step's range around the config's rate (1/100 to 10x ``policy_lr``; the critic's is
    ``value_lr`` itself, allowed the same range). Any other rate was not written by
    training, and a far larger one is no policy to train on: the shipped CartPole policy
    with its critic's Adam at 1e6 (the config allows ``value_lr`` up to 10) overflows V to
    infinity within 8 updates, after which every batch is NaN and rolled back for good
    (at 1e5: not within 80 updates)."""
    base = getattr(config, field)
    low, high = adaptive_rate_range(base)
    if not low <= number(value, f"{place}.lr", 0, MAX_MAGNITUDE) <= high:
        raise Invalid(
            f"{place}.lr must be from {low:g} to {high:g} (1/100 to 10x the config's {field} {base:g}, "
            f"where training keeps it), not {shown(value)}"
        )


MAX_WEIGHT_DECAY = 1.0
"""Adam's L2 weight decay in a file: at most this (vpg-sim's own runs use 0)."""


def _param_group(value: Any, prefix: str, parameters: int, config: VPGConfig) -> dict[str, Any]:
    (group,) = listed(value, prefix, length=1)  # one group: all of a network's parameters
    place = f"{prefix}[0]"
    group = record(
        group, place, ("lr", "betas", "eps", "weight_decay", "params"), (*_OFF, *_EITHER, "decoupled_weight_decay")
    )
    _learning_rate(group["lr"], place, RATE_FIELDS[prefix], config)
    for index, beta in enumerate(listed(group["betas"], f"{place}.betas", length=2)):
        if not number(beta, f"{place}.betas[{index}]", 0, 1) < 1:
            raise Invalid(f"{place}.betas[{index}] must be below 1")
    if not number(group["eps"], f"{place}.eps", 0, 1) > 0:
        raise Invalid(f"{place}.eps must be above 0")
    # vpg-sim trains with none; a file may carry up to 1 (at 1e15 the critic's weights grew
    # to a value loss of 8e26 within 25 s: a run nobody can learn from, so it is refused).
    number(group["weight_decay"], f"{place}.weight_decay", 0, MAX_WEIGHT_DECAY)
    for name in _OFF:
        if name in group and flag(group[name], f"{place}.{name}"):
            raise Invalid(f"{place}.{name} is on; vpg-sim's Adam never turns it on")
    for name in _EITHER:
        if group.get(name) is not None:
            flag(group[name], f"{place}.{name}")
    if "decoupled_weight_decay" in group:
        flag(group["decoupled_weight_decay"], f"{place}.decoupled_weight_decay")
    if group["params"] != list(range(parameters)):
        raise Invalid(f"{place}.params must be {shown(list(range(parameters)))}, not {shown(group['params'])}")
    return group
