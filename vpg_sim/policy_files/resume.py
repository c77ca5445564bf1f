"""Checking a file's resume state (``vpg_sim_resume``: the collection's state, for exact
continuation) before it reaches the trainer.

It is what :meth:`VPGTrainer.checkpoint` writes (see ``Collector.resume_state`` and
``core/envs.py`` ``vector_env_state``): per env an observation, counters, physics and a
random generator's state. Each list must have one entry per env of the file's config and
each number must fit what it is put into (a step counter into int32, an observation into
float32), so that restoring it cannot fail half-way and training on cannot meet it later.
Whether its kind of env state fits the env is the env's business: restoring refuses it then.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vpg_sim.core.config import VPGConfig
from vpg_sim.core.rollout import RECENT_EPISODES
from vpg_sim.policy_files.reading import parse_json
from vpg_sim.policy_files.schema import MAX_COUNT, MAX_MAGNITUDE
from vpg_sim.policy_files.validation import Invalid, flag, listed, number, record, shown, whole

MAX_PHYSICS_STATE = 64
"""Numbers in one classic-control env's physics state (Acrobot's has 4)."""
MAX_EPISODE_STEPS = 2**31 - 2**20
"""Step counters are int32 in the CartPole vector env; this leaves room to count on."""
FLOAT32_MAX = float(np.finfo(np.float32).max)
"""Bound of every number in the state: observations are float32, and so is what the
physics (float64 or not) becomes when an env returns it."""


def checked_resume(text: str | None, config: VPGConfig, obs_dim: int) -> dict[str, Any] | None:
    """The resume state from the header's JSON, checked against the file's config; None if absent."""
    if text is None:
        return None
    try:
        resume = parse_json(text)
    except ValueError as error:
        raise Invalid(str(error)) from None
    envs = config.num_envs
    record(resume, "it", ("collector", "minibatch_rng", "nan_rollbacks"))
    _generator(resume["minibatch_rng"], "minibatch_rng")
    whole(resume["nan_rollbacks"], "nan_rollbacks", 0, MAX_COUNT)
    collector = record(
        resume["collector"],
        "collector",
        (
            "envs",
            "observations",
            "resetting",
            "running_return",
            "running_length",
            "recent_returns",
            "recent_lengths",
            "episodes",
            "action_rng",
        ),
        ("needs_reset",),  # files from before whole-episode batches lack it
    )
    rows = listed(collector["observations"], "collector.observations", length=envs)
    for index, row in enumerate(rows):
        _numbers(row, f"collector.observations[{index}]", obs_dim, FLOAT32_MAX)
    _flags(collector["resetting"], "collector.resetting", envs)
    _numbers(collector["running_return"], "collector.running_return", envs, MAX_MAGNITUDE)
    _wholes(collector["running_length"], "collector.running_length", envs, MAX_COUNT)
    recent = listed(collector["recent_returns"], "collector.recent_returns", max_length=RECENT_EPISODES)
    _numbers(recent, "collector.recent_returns", len(recent), MAX_MAGNITUDE)
    _wholes(collector["recent_lengths"], "collector.recent_lengths", len(recent), MAX_COUNT)
    whole(collector["episodes"], "collector.episodes", len(recent), MAX_COUNT)
    _generator(collector["action_rng"], "collector.action_rng")
    if "needs_reset" in collector:
        flag(collector["needs_reset"], "collector.needs_reset")
    _env_state(collector["envs"], envs)
    return resume


def _env_state(value: Any, envs: int) -> None:
    kind = value.get("kind") if isinstance(value, dict) else None
    if kind == "cartpole-vector":
        state = record(value, "collector.envs", ("kind", "state", "steps", "prev_done", "rng"))
        for index, row in enumerate(listed(state["state"], "collector.envs.state", length=4)):
            _numbers(row, f"collector.envs.state[{index}]", envs, FLOAT32_MAX)
        _wholes(state["steps"], "collector.envs.steps", envs, MAX_EPISODE_STEPS)
        _flags(state["prev_done"], "collector.envs.prev_done", envs)
        _generator(state["rng"], "collector.envs.rng")
    elif kind == "sync":
        state = record(value, "collector.envs", ("kind", "autoreset", "envs"))
        _flags(state["autoreset"], "collector.envs.autoreset", envs)
        for index, env in enumerate(listed(state["envs"], "collector.envs.envs", length=envs)):
            place = f"collector.envs.envs[{index}]"
            env = record(env, place, ("state", "dtype", "elapsed_steps", "rng"))
            if env["dtype"] not in ("float32", "float64"):
                raise Invalid(f"{place}.dtype must be 'float32' or 'float64', not {shown(env['dtype'])}")
            physics = listed(env["state"], f"{place}.state", max_length=MAX_PHYSICS_STATE)
            _numbers(physics, f"{place}.state", len(physics), FLOAT32_MAX)
            if env["elapsed_steps"] is not None:
                whole(env["elapsed_steps"], f"{place}.elapsed_steps", 0, MAX_EPISODE_STEPS)
            _generator(env["rng"], f"{place}.rng")
    else:
        raise Invalid(f"collector.envs.kind must be 'cartpole-vector' or 'sync', not {shown(kind)}")


def _generator(value: Any, place: str) -> None:
    """A numpy PCG64 generator's state (what ``np.random.default_rng`` and Gymnasium use)."""
    state = record(value, place, ("bit_generator", "state", "has_uint32", "uinteger"))
    if state["bit_generator"] != "PCG64":
        raise Invalid(f"{place}.bit_generator must be 'PCG64', not {shown(state['bit_generator'])}")
    words = record(state["state"], f"{place}.state", ("state", "inc"))
    for name in ("state", "inc"):
        whole(words[name], f"{place}.state.{name}", 0, 2**128 - 1)
    whole(state["has_uint32"], f"{place}.has_uint32", 0, 1)
    whole(state["uinteger"], f"{place}.uinteger", 0, 2**32 - 1)


def _numbers(value: Any, place: str, length: int, bound: float) -> None:
    for index, item in enumerate(listed(value, place, length=length)):
        number(item, f"{place}[{index}]", -bound, bound)


def _wholes(value: Any, place: str, length: int, high: int) -> None:
    for index, item in enumerate(listed(value, place, length=length)):
        whole(item, f"{place}[{index}]", 0, high)


def _flags(value: Any, place: str, length: int) -> None:
    for index, item in enumerate(listed(value, place, length=length)):
        flag(item, f"{place}[{index}]")
