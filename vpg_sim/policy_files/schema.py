"""What a policy file holds: the entries of its header, its metadata record, and the limits
of what a file may ask vpg-sim to build."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
from gymnasium import spaces

from vpg_sim.core.config import VPGConfig
from vpg_sim.core.networks import Policy, ValueNet, make_policy

FORMAT_VERSION = 1
SUFFIX = ".safetensors"
METADATA_KEY = "vpg_sim"
"""Header entry with the :class:`PolicyMetadata` as JSON."""
PARAM_GROUPS_KEY = "optimizer_param_groups"
"""Header entry with each Adam's param groups (its learning rate, betas...) as JSON."""
RESUME_KEY = "vpg_sim_resume"
"""Header entry with the run's collection state (see ``Checkpoint.resume``)."""
OPTIMIZERS = {"policy_optimizer": "policy", "value_optimizer": "value"}
"""Each Adam's tensor prefix, and the network whose parameters it steps."""

# What a file may ask vpg-sim to build: far above anything it trains (CartPole: 4 inputs,
# 2 actions, 64x64, 16 envs, 1,024 steps per update; the largest preset 4,096), far below
# what would exhaust the memory or the patience of a 2-core machine.
MAX_SPACE_SIZE = 1024
"""Observation and action dimensions, and the number of discrete actions."""
MAX_HIDDEN_LAYERS = 8
MAX_PARAMETERS = 2**23
"""Per network: 32 MB of float32 (about 200 MB for both with Adam's two moments). The
config's own rules (``vpg_sim.core.config.FIELD_RULES``) bound every other field."""
MAX_COUNT = 2**53
"""Updates, env steps, episodes: integers that JSON and a float64 hold exactly."""
MAX_CONFIG_CHANGES = 10_000
"""Knob turns in a file's history (each one a key press in the window)."""
MAX_LOG_STD = 20.0
"""A Gaussian policy's log std: e^20 is 5e8, a std no policy learns; e^89 overflows float32."""
MAX_MAGNITUDE = 1e15
"""Of a plain number in the metadata (a return, a knob's value). Adam's learning rates are
held closer, to where training keeps them (``tensors._learning_rate``)."""


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
    student_code: str = ""
    """A student's functions that trained it (``Checkpoint.student_code``): a label, never
    imported. Written only when there are some, so other files stay readable by older vpg-sims."""

    def to_json(self) -> str:
        fields = {name: value for name, value in self.__dict__.items() if name != "student_code" or value}
        return json.dumps(fields, sort_keys=True)


def describe_space(space: gym.Space) -> dict[str, Any]:
    """A JSON-friendly description of a Box or Discrete space."""
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n)}
    if isinstance(space, spaces.Box):
        return {"type": "Box", "shape": list(space.shape)}
    return {"type": type(space).__name__}


def metadata_spaces(metadata: PolicyMetadata) -> tuple[spaces.Box, spaces.Space]:
    """The observation and action spaces checked metadata describes (shapes only: the
    bounds are the env's business)."""
    observation_space = spaces.Box(-1.0, 1.0, tuple(metadata.observation_space["shape"]))
    action = metadata.action_space
    if action["type"] == "Discrete":
        return observation_space, spaces.Discrete(action["n"])
    return observation_space, spaces.Box(-1.0, 1.0, tuple(action["shape"]))


def build_networks(metadata: PolicyMetadata, config: VPGConfig) -> tuple[Policy, ValueNet]:
    """Untrained networks of the architecture checked metadata describes."""
    observation_space, action_space = metadata_spaces(metadata)
    policy = make_policy(observation_space, action_space, config.hidden_sizes, config.activation, config.init_log_std)
    return policy, ValueNet(int(observation_space.shape[0]), config.hidden_sizes, config.activation)
