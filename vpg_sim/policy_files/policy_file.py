"""One policy per ``.safetensors`` file: weights, Adam state, and JSON metadata.

safetensors holds only tensors and a JSON header, so loading a stranger's file
runs no code (never ``pickle`` or ``torch.load`` here). Writes are atomic: a temp
file in the same folder, flushed and fsynced, then ``os.replace``, so a crash at
any moment leaves the old file or the new one, whole.

Loading trusts nothing in the file: ``reading.py`` opens only a regular file and reads a
bounded header, ``validation.py`` checks the metadata and ``resume.py`` the resume state,
``tensors.py`` the tensors and Adam's state, each before anything is built from them.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import torch
from gymnasium import spaces
from safetensors.torch import save as save_tensors

from vpg_sim.core.checkpoint import Checkpoint
from vpg_sim.core.config import VPGConfig
from vpg_sim.core.envs import UnsupportedEnvError, env_spec
from vpg_sim.files import write_atomically
from vpg_sim.policy_files.errors import PolicyFileError
from vpg_sim.policy_files.reading import Header, PolicyFileReader
from vpg_sim.policy_files.resume import checked_resume
from vpg_sim.policy_files.schema import (
    FORMAT_VERSION,
    METADATA_KEY,
    PARAM_GROUPS_KEY,
    RESUME_KEY,
    PolicyMetadata,
    describe_space,
    metadata_spaces,
)
from vpg_sim.policy_files.tensors import (
    checked_param_groups,
    file_tensors,
    layout,
    network_state,
    optimizer_state,
)
from vpg_sim.policy_files.validation import Invalid, NewerFormat, checked_metadata, config_changes


@dataclass(frozen=True)
class LoadedPolicy:
    """A policy file's contents, checked against its own metadata."""

    path: Path
    metadata: PolicyMetadata
    checkpoint: Checkpoint

    @property
    def config(self) -> VPGConfig:
        return self.checkpoint.config


# -- saving ------------------------------------------------------------------------------


def _optimizer_tensors(prefix: str, state: dict) -> tuple[dict[str, torch.Tensor], list]:
    """Adam's per-parameter tensors, flattened to ``prefix.<param>.<name>``, and its param groups."""
    tensors = {
        f"{prefix}.{index}.{name}": value.detach().clone().contiguous()
        for index, values in state["state"].items()
        for name, value in values.items()
    }
    return tensors, state["param_groups"]


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
        student_code=checkpoint.student_code,
    )
    header = {METADATA_KEY: metadata.to_json(), PARAM_GROUPS_KEY: json.dumps(groups)}
    if checkpoint.resume is not None:
        header[RESUME_KEY] = json.dumps(checkpoint.resume)
    return save_tensors(tensors, metadata=header)


def save_policy(path: Path, checkpoint: Checkpoint) -> Path:
    """Atomically write ``checkpoint`` to a policy file at ``path``."""
    write_atomically(Path(path), policy_file_bytes(checkpoint))
    return Path(path)


# -- loading -------------------------------------------------------------------------------


def read_metadata(path: Path | str) -> PolicyMetadata:
    """Only the metadata, checked (reads the header, never the weights): for listing files."""
    path = Path(path)
    with PolicyFileReader(path) as reader:
        return _metadata(path, reader.header)[0]


def _metadata(path: Path, header: Header) -> tuple[PolicyMetadata, VPGConfig]:
    text = header.metadata.get(METADATA_KEY)
    if text is None:
        raise PolicyFileError(path, "is a safetensors file without vpg-sim metadata")
    try:
        return checked_metadata(text)
    except NewerFormat as error:
        raise PolicyFileError(path, str(error)) from None
    except Invalid as error:
        raise PolicyFileError(path, f"has invalid vpg-sim metadata: {error}") from None


def load_policy(path: Path | str, expected_env: str | None = None) -> LoadedPolicy:
    """Read and check a policy file; every problem is a one-line :class:`PolicyFileError`.

    In order, each before anything is built from it: the file (a regular one), the
    header (bounded), the metadata (every field), the env, Adam's settings, the resume
    state, then the tensors (names, dtypes and shapes against the metadata; then values).

    :param expected_env: if given, a policy for any other env id is refused.
    """
    path = Path(path)
    with PolicyFileReader(path) as reader:
        metadata, config = _metadata(path, reader.header)
        if expected_env is not None and metadata.env_id != expected_env:
            raise PolicyFileError(path, f"is a policy for {metadata.env_id}, not {expected_env}")
        try:
            env_spec(config.env_id)
        except UnsupportedEnvError as error:
            raise PolicyFileError(
                path,
                f"names an environment vpg-sim cannot make ({error}); for an env of your own, "
                "give --env your_module:EnvName-v0 on the command line",
            ) from None
        expected = layout(metadata, config)
        strings = reader.header.metadata
        try:
            groups = checked_param_groups(strings.get(PARAM_GROUPS_KEY), expected, config)
        except Invalid as error:
            raise PolicyFileError(path, f"has invalid optimizer settings: {error}") from None
        try:
            resume = checked_resume(strings.get(RESUME_KEY), config, metadata.observation_space["shape"][0])
        except Invalid as error:
            raise PolicyFileError(path, f"has an invalid resume state: {error}") from None
        tensors = file_tensors(reader, expected, set(groups))
    policy_state, value_state = network_state(tensors, "policy"), network_state(tensors, "value")
    # Files from before the critic normalised its targets have no statistics; mean 0 and
    # std 1 are exactly what their critic computed (V = mlp(s)).
    value_state.setdefault("target_mean", torch.zeros(()))
    value_state.setdefault("target_std", torch.ones(()))
    optimizer_states = {prefix: optimizer_state(tensors, prefix, group) for prefix, group in groups.items()}
    observation_space, action_space = metadata_spaces(metadata)
    checkpoint = Checkpoint(
        config=config,
        observation_space=observation_space,
        action_space=action_space,
        policy_state=policy_state,
        value_state=value_state,
        policy_optimizer_state=optimizer_states.get("policy_optimizer"),
        value_optimizer_state=optimizer_states.get("value_optimizer"),
        update=metadata.update,
        env_steps=metadata.env_steps,
        mean_return_100=math.nan if metadata.mean_return_100 is None else float(metadata.mean_return_100),
        config_changes=config_changes(metadata.config_changes),
        resume=resume,
        student_code=metadata.student_code,
    )
    return LoadedPolicy(path=path, metadata=metadata, checkpoint=checkpoint)


def check_matches_env(loaded: LoadedPolicy, env: gym.Env | gym.vector.VectorEnv) -> None:
    """Refuse a policy whose spaces differ from ``env``'s (e.g. a changed env version)."""
    observation_space = getattr(env, "single_observation_space", env.observation_space)
    action_space = getattr(env, "single_action_space", env.action_space)
    if (
        describe_space(observation_space) != loaded.metadata.observation_space
        or describe_space(action_space) != loaded.metadata.action_space
    ):
        raise PolicyFileError(loaded.path, f"has spaces that do not match {loaded.config.env_id} as installed")
