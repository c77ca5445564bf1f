"""One policy per ``.safetensors`` file: weights, Adam state, and JSON metadata.

safetensors holds only tensors and a JSON header, so loading a stranger's file
runs no code (never ``pickle`` or ``torch.load`` here). Writes are atomic: a temp
file in the same folder, flushed and fsynced, then ``os.replace``, so a crash at
any moment leaves the old file or the new one, whole. Reading trusts nothing in the
file: ``reading.py`` opens only a regular file and reads a bounded header.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from gymnasium import spaces
from safetensors.torch import save as save_tensors

from vpg_sim.core.checkpoint import Checkpoint
from vpg_sim.core.config import ConfigChange, VPGConfig
from vpg_sim.core.envs import UnsupportedEnvError, env_spec
from vpg_sim.core.networks import Policy, ValueNet, make_policy
from vpg_sim.files import write_atomically
from vpg_sim.policy_files.errors import PolicyFileError
from vpg_sim.policy_files.reading import Header, PolicyFileReader, parse_json

FORMAT_VERSION = 1
METADATA_KEY = "vpg_sim"
RESUME_KEY = "vpg_sim_resume"
"""Header entry with the run's collection state (see ``Checkpoint.resume``)."""
SUFFIX = ".safetensors"


@dataclass(frozen=True)
class PolicyMetadata:
    """What a policy file says about itself (stored as JSON in the safetensors header)."""

    format_version: int
    env_id: str
    observation_space: dict[str, Any]
    action_space: dict[str, Any]
    architecture: dict[str, Any]
    config: dict[str, Any]
    update: int
    env_steps: int
    mean_return_100: float | None
    created: str
    config_changes: list[dict[str, Any]] = field(default_factory=list)
    """Knobs turned during training (update, episode, changes), oldest first."""

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)


@dataclass(frozen=True)
class LoadedPolicy:
    """A policy file's contents, checked against its own metadata."""

    path: Path
    metadata: PolicyMetadata
    checkpoint: Checkpoint

    @property
    def config(self) -> VPGConfig:
        return self.checkpoint.config


def describe_space(space: gym.Space) -> dict[str, Any]:
    """A JSON-friendly description of a Box or Discrete space."""
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n)}
    if isinstance(space, spaces.Box):
        return {"type": "Box", "shape": list(space.shape)}
    return {"type": type(space).__name__}


# -- saving ------------------------------------------------------------------------------


def _optimizer_tensors(prefix: str, state: dict) -> tuple[dict[str, torch.Tensor], list]:
    """Adam's per-parameter tensors, flattened to ``prefix.<param>.<name>``, and its param groups."""
    tensors = {
        f"{prefix}.{index}.{name}": value.detach().clone().contiguous()
        for index, values in state["state"].items()
        for name, value in values.items()
    }
    return tensors, state["param_groups"]


def _optimizer_state(prefix: str, tensors: dict[str, torch.Tensor], param_groups: list) -> dict:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            index, name = key[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(index), {})[name] = value
    return {"state": state, "param_groups": param_groups}


def policy_file_bytes(checkpoint: Checkpoint) -> bytes:
    """The complete file contents for a policy (see :func:`save_policy`)."""
    config, action_space = checkpoint.config, checkpoint.action_space
    mean_return_100 = checkpoint.mean_return_100
    tensors = {f"policy.{name}": t.detach().contiguous() for name, t in checkpoint.policy_state.items()}
    tensors.update({f"value.{name}": t.detach().contiguous() for name, t in checkpoint.value_state.items()})
    groups: dict[str, list] = {}
    optimizer_states = (
        ("policy_optimizer", checkpoint.policy_optimizer_state),
        ("value_optimizer", checkpoint.value_optimizer_state),
    )
    for prefix, state in optimizer_states:
        if state is not None:
            optimizer_tensors, groups[prefix] = _optimizer_tensors(prefix, state)
            tensors.update(optimizer_tensors)
    metadata = PolicyMetadata(
        format_version=FORMAT_VERSION,
        env_id=config.env_id,
        observation_space=describe_space(checkpoint.observation_space),
        action_space=describe_space(action_space),
        architecture={
            "policy": "categorical" if isinstance(action_space, spaces.Discrete) else "gaussian",
            "hidden_sizes": list(config.hidden_sizes),
            "activation": config.activation,
        },
        config=config.to_dict(),
        update=checkpoint.update,
        env_steps=checkpoint.env_steps,
        mean_return_100=None if mean_return_100 is None or not math.isfinite(mean_return_100) else mean_return_100,
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        config_changes=[change.to_dict() for change in checkpoint.config_changes],
    )
    header = {METADATA_KEY: metadata.to_json(), "optimizer_param_groups": json.dumps(groups)}
    if checkpoint.resume is not None:
        header[RESUME_KEY] = json.dumps(checkpoint.resume)
    return save_tensors(tensors, metadata=header)


def save_policy(path: Path, checkpoint: Checkpoint) -> Path:
    """Atomically write ``checkpoint`` to a policy file at ``path``."""
    write_atomically(Path(path), policy_file_bytes(checkpoint))
    return Path(path)


# -- loading -------------------------------------------------------------------------------


def read_metadata(path: Path | str) -> PolicyMetadata:
    """Only the metadata (reads the header, never the weights): for listing files."""
    path = Path(path)
    with PolicyFileReader(path) as reader:
        return _metadata(path, reader.header)


def _metadata(path: Path, header: Header) -> PolicyMetadata:
    text = header.metadata.get(METADATA_KEY)
    if text is None:
        raise PolicyFileError(path, "is a safetensors file without vpg-sim metadata")
    try:
        fields = parse_json(text)
        version = int(fields["format_version"])
    except (KeyError, TypeError, ValueError):
        raise PolicyFileError(path, "has unreadable vpg-sim metadata") from None
    if version > FORMAT_VERSION:
        raise PolicyFileError(
            path, f"has format version {version}, newer than this vpg-sim reads ({FORMAT_VERSION}): update vpg-sim"
        )
    try:
        return PolicyMetadata(**fields)
    except TypeError:
        raise PolicyFileError(path, "has incomplete vpg-sim metadata") from None


def load_policy(path: Path | str, expected_env: str | None = None) -> LoadedPolicy:
    """Read and check a policy file; every problem is a one-line :class:`PolicyFileError`.

    :param expected_env: if given, a policy for any other env id is refused.
    """
    path = Path(path)
    with PolicyFileReader(path) as reader:
        header = reader.header
        metadata = _metadata(path, header)
        if expected_env is not None and metadata.env_id != expected_env:
            raise PolicyFileError(path, f"is a policy for {metadata.env_id}, not {expected_env}")
        with reader.tensors() as handle:
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    try:
        config = VPGConfig.from_dict(metadata.config)
        env_spec(config.env_id)
    except (ValueError, TypeError, UnsupportedEnvError) as error:
        raise PolicyFileError(path, f"has an unusable training config ({error})") from None

    policy_state = {k[len("policy.") :]: v for k, v in tensors.items() if k.startswith("policy.")}
    value_state = {k[len("value.") :]: v for k, v in tensors.items() if k.startswith("value.")}
    # Files from before the critic normalised its targets have no statistics; mean 0 and
    # std 1 are exactly what their critic computed (V = mlp(s)).
    value_state.setdefault("target_mean", torch.zeros(()))
    value_state.setdefault("target_std", torch.ones(()))
    policy, value_net = build_networks(metadata, config, path)
    for name, module, state in (("policy", policy, policy_state), ("value", value_net, value_state)):
        _check_state(path, name, module, state)
    try:
        groups = parse_json(header.metadata.get("optimizer_param_groups", "{}"))
    except ValueError:
        groups = {}
    optimizer_states = {
        prefix: _optimizer_state(prefix, tensors, groups[prefix]) if prefix in groups else None
        for prefix in ("policy_optimizer", "value_optimizer")
    }
    observation_space, action_space = metadata_spaces(metadata, path)
    checkpoint = Checkpoint(
        config=config,
        observation_space=observation_space,
        action_space=action_space,
        policy_state=policy_state,
        value_state=value_state,
        policy_optimizer_state=optimizer_states["policy_optimizer"],
        value_optimizer_state=optimizer_states["value_optimizer"],
        update=metadata.update,
        env_steps=metadata.env_steps,
        mean_return_100=math.nan if metadata.mean_return_100 is None else metadata.mean_return_100,
        config_changes=_config_changes(path, metadata),
        resume=_resume_state(path, header),
    )
    return LoadedPolicy(path=path, metadata=metadata, checkpoint=checkpoint)


def _config_changes(path: Path, metadata: PolicyMetadata) -> tuple[ConfigChange, ...]:
    try:
        return tuple(
            ConfigChange(
                int(change["update"]),
                int(change["episode"]),
                {str(name): float(value) for name, value in change["changes"].items()},
            )
            for change in metadata.config_changes
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise PolicyFileError(path, "has an unreadable knob history") from None


def _resume_state(path: Path, header: Header) -> dict[str, Any] | None:
    text = header.metadata.get(RESUME_KEY)
    if text is None:
        return None
    try:
        resume = parse_json(text)
    except ValueError:
        raise PolicyFileError(path, "has an unreadable resume state") from None
    if not isinstance(resume, dict):
        raise PolicyFileError(path, "has an unreadable resume state")
    return resume


def metadata_spaces(metadata: PolicyMetadata, path: Path) -> tuple[gym.Space, gym.Space]:
    """The observation and action spaces the metadata describes (shapes only: the bounds
    are the env's business)."""
    obs, act = metadata.observation_space, metadata.action_space
    if obs.get("type") != "Box" or len(obs.get("shape", [])) != 1:
        raise PolicyFileError(path, f"has an unsupported observation space {obs}")
    observation_space = spaces.Box(-1.0, 1.0, tuple(obs["shape"]))
    if act.get("type") == "Discrete":
        action_space: gym.Space = spaces.Discrete(int(act["n"]))
    elif act.get("type") == "Box" and len(act.get("shape", [])) == 1:
        action_space = spaces.Box(-1.0, 1.0, tuple(act["shape"]))
    else:
        raise PolicyFileError(path, f"has an unsupported action space {act}")
    return observation_space, action_space


def build_networks(metadata: PolicyMetadata, config: VPGConfig, path: Path) -> tuple[Policy, ValueNet]:
    """Empty networks of the architecture the metadata describes."""
    observation_space, action_space = metadata_spaces(metadata, path)
    policy = make_policy(observation_space, action_space, config.hidden_sizes, config.activation, config.init_log_std)
    return policy, ValueNet(int(observation_space.shape[0]), config.hidden_sizes, config.activation)


def _check_state(path: Path, name: str, module: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    expected = {key: tuple(t.shape) for key, t in module.state_dict().items()}
    found = {key: tuple(t.shape) for key, t in state.items()}
    missing = sorted(set(expected) - set(found))
    if missing:
        raise PolicyFileError(path, f"lacks {name} weights {', '.join(missing[:3])}")
    for key, shape in expected.items():
        if found[key] != shape:
            raise PolicyFileError(path, f"{name} weight {key} has shape {list(found[key])}, expected {list(shape)}")
    extra = sorted(set(found) - set(expected))
    if extra:
        raise PolicyFileError(path, f"has unexpected {name} weights {', '.join(extra[:3])}")


def check_matches_env(loaded: LoadedPolicy, env: gym.Env | gym.vector.VectorEnv) -> None:
    """Refuse a policy whose spaces differ from ``env``'s (e.g. a changed env version)."""
    observation_space = getattr(env, "single_observation_space", env.observation_space)
    action_space = getattr(env, "single_action_space", env.action_space)
    if (
        describe_space(observation_space) != loaded.metadata.observation_space
        or describe_space(action_space) != loaded.metadata.action_space
    ):
        raise PolicyFileError(loaded.path, f"has spaces that do not match {loaded.config.env_id} as installed")
