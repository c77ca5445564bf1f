"""Making vectorised Gymnasium environments, and refusing ones we cannot learn."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from gymnasium.wrappers import TimeLimit


class UnsupportedEnvError(ValueError):
    """The env id is unknown, or its spaces are not ones VPG here can handle."""


def check_spaces(env_id: str, observation_space: gym.Space, action_space: gym.Space) -> None:
    """Raise :class:`UnsupportedEnvError` unless obs is a flat Box and actions Discrete or Box."""
    if not isinstance(observation_space, spaces.Box) or len(observation_space.shape) != 1:
        raise UnsupportedEnvError(
            f"{env_id}: observation space {observation_space} is not supported (need a 1-D Box of floats)"
        )
    if isinstance(action_space, spaces.Box):
        if len(action_space.shape) != 1:
            raise UnsupportedEnvError(f"{env_id}: action space {action_space} is not supported (need a 1-D Box)")
    elif not isinstance(action_space, spaces.Discrete):
        raise UnsupportedEnvError(f"{env_id}: action space {action_space} is not supported (need Discrete or Box)")


def env_spec(env_id: str) -> gym.envs.registration.EnvSpec:
    """Gymnasium's spec for ``env_id``, or :class:`UnsupportedEnvError` with a clear line.

    A ``module:`` prefix is refused here (Gymnasium would import the module): see
    ``cli.arguments.import_env_module``, for ids from the command line.
    """
    if ":" in env_id:
        raise UnsupportedEnvError(f"{env_id!r} names a module to import; give it with --env on the command line")
    try:
        return gym.spec(env_id)
    except gym.error.Error as err:
        raise UnsupportedEnvError(f"unknown environment id {env_id!r} ({err})") from None


def make_vector_env(env_id: str, num_envs: int, seed: int) -> gym.vector.VectorEnv:
    """``num_envs`` copies of ``env_id``, reset with ``seed``, in NEXT_STEP autoreset mode.

    CartPole has a numpy-vectorised implementation (one array op steps every copy),
    which is several times faster than wrapping single envs; other ids use
    ``SyncVectorEnv``. Both autoreset in NEXT_STEP mode: the step that ends an
    episode returns the true final observation, and the *following* step of that
    env is a reset whose action is ignored (the trainer masks it out).
    """
    spec = env_spec(env_id)
    mode = "vector_entry_point" if spec.vector_entry_point else "sync"
    kwargs = {} if mode == "vector_entry_point" else {"vector_kwargs": {"autoreset_mode": AutoresetMode.NEXT_STEP}}
    try:
        envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode, **kwargs)
    except Exception as err:  # an env may be anyone's code: whatever it raises is one line
        raise UnsupportedEnvError(f"{env_id}: cannot be created ({type(err).__name__}: {one_line(err)})") from None
    try:
        check_spaces(env_id, envs.single_observation_space, envs.single_action_space)
        autoreset = envs.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        if autoreset != AutoresetMode.NEXT_STEP:
            raise UnsupportedEnvError(f"{env_id}: autoreset mode {autoreset} is not NEXT_STEP")
    except UnsupportedEnvError:
        envs.close()
        raise
    envs.action_space.seed(seed)
    return envs


def make_single_env(env_id: str, render_mode: str | None = None) -> gym.Env:
    """One copy of ``env_id`` (for the stage and evaluation), with its spaces checked."""
    env_spec(env_id)
    try:
        env = gym.make(env_id, render_mode=render_mode)
    except Exception as err:  # an env may be anyone's code: whatever it raises is one line
        raise UnsupportedEnvError(f"{env_id}: cannot be created ({type(err).__name__}: {one_line(err)})") from None
    try:
        check_spaces(env_id, env.observation_space, env.action_space)
    except UnsupportedEnvError:
        env.close()
        raise
    return env


def reward_threshold(env_id: str) -> float | None:
    """Gymnasium's "solved" return for ``env_id`` (475 for CartPole-v1), if it has one."""
    return env_spec(env_id).reward_threshold


def clip_to_box(actions: np.ndarray, action_space: gym.Space) -> np.ndarray:
    """Clip Box actions to their bounds (only when stepping the env); others unchanged."""
    if isinstance(action_space, spaces.Box):
        return np.clip(actions, action_space.low, action_space.high)
    return actions


# -- exact continuation: the state of a vector env as plain data ------------------------


def vector_env_state(envs: gym.vector.VectorEnv) -> dict[str, Any] | None:
    """Everything that decides how ``envs`` go on (physics, step counters, random
    generators), as JSON-friendly data; None where we do not know how to read it.

    Known: Gymnasium's numpy CartPole vector env, and ``SyncVectorEnv`` over envs that
    keep their physics in a numpy ``state`` (the classic-control envs). A run of any
    other env resumes from a fresh reset instead (see :func:`restore_vector_env_state`).
    """
    unwrapped = envs.unwrapped
    if isinstance(unwrapped, CartPoleVectorEnv):
        if unwrapped.state is None:
            return None
        return {
            "kind": "cartpole-vector",
            "state": unwrapped.state.tolist(),
            "steps": unwrapped.steps.tolist(),
            "prev_done": unwrapped.prev_done.tolist(),
            "rng": unwrapped.np_random.bit_generator.state,
        }
    if isinstance(unwrapped, SyncVectorEnv):
        copies = [_single_env_state(env) for env in unwrapped.envs]
        if any(copy is None for copy in copies):
            return None
        return {"kind": "sync", "autoreset": unwrapped._autoreset_envs.tolist(), "envs": copies}
    return None


def restore_vector_env_state(envs: gym.vector.VectorEnv, state: dict[str, Any]) -> None:
    """Put a :func:`vector_env_state` back. ValueError (one line) if it does not fit ``envs``."""
    unwrapped = envs.unwrapped
    try:
        if state.get("kind") == "cartpole-vector" and isinstance(unwrapped, CartPoleVectorEnv):
            physics = np.asarray(state["state"], dtype=np.float64)
            steps = np.asarray(state["steps"], dtype=np.int32)
            prev_done = np.asarray(state["prev_done"], dtype=np.bool_)
            count = unwrapped.num_envs
            if physics.shape != (4, count) or steps.shape != (count,) or prev_done.shape != (count,):
                raise ValueError("the saved CartPole state has the wrong shape")
            generator = np.random.default_rng()
            generator.bit_generator.state = state["rng"]
            unwrapped.state, unwrapped.steps, unwrapped.prev_done = physics, steps, prev_done
            unwrapped._np_random = generator
            return
        if state.get("kind") == "sync" and isinstance(unwrapped, SyncVectorEnv):
            copies = state["envs"]
            if len(copies) != len(unwrapped.envs):
                raise ValueError(f"the saved state has {len(copies)} envs, the run {len(unwrapped.envs)}")
            autoreset = np.asarray(state["autoreset"], dtype=np.bool_)
            if autoreset.shape != (len(copies),):
                raise ValueError("the saved autoreset flags have the wrong shape")
            for env, saved in zip(unwrapped.envs, copies, strict=True):
                _restore_single_env_state(env, saved)
            unwrapped._autoreset_envs = autoreset
            return
    except (KeyError, TypeError) as error:
        raise ValueError(f"the saved env state is malformed ({error})") from None
    raise ValueError(f"the saved env state ({state.get('kind')}) does not fit {type(unwrapped).__name__}")


def _time_limit(env: gym.Env) -> TimeLimit | None:
    while isinstance(env, gym.Wrapper):
        if isinstance(env, TimeLimit):
            return env
        env = env.env
    return None


def _single_env_state(env: gym.Env) -> dict[str, Any] | None:
    physics = getattr(env.unwrapped, "state", None)
    if not isinstance(physics, np.ndarray):
        return None
    limit = _time_limit(env)
    return {
        "state": physics.tolist(),
        "dtype": str(physics.dtype),
        "elapsed_steps": None if limit is None else limit._elapsed_steps,
        "rng": env.unwrapped.np_random.bit_generator.state,
    }


def _restore_single_env_state(env: gym.Env, saved: dict[str, Any]) -> None:
    if saved["dtype"] not in ("float32", "float64"):
        raise ValueError(f"the saved env state has dtype {saved['dtype']!r}, not a float")
    physics = np.asarray(saved["state"], dtype=saved["dtype"])
    current = getattr(env.unwrapped, "state", None)
    if current is not None and np.shape(current) != physics.shape:
        raise ValueError("the saved env state has the wrong shape")
    generator = np.random.default_rng()
    generator.bit_generator.state = saved["rng"]
    env.unwrapped.state = physics
    env.unwrapped.np_random = generator
    limit = _time_limit(env)
    if limit is not None and saved["elapsed_steps"] is not None:
        limit._elapsed_steps = int(saved["elapsed_steps"])


def one_line(error: BaseException) -> str:
    """An exception's message on one line, at most 200 characters."""
    text = " ".join(str(error).split())
    return text if len(text) <= 200 else text[:197] + "..."
