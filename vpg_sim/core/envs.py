"""Making vectorised Gymnasium environments, and refusing ones we cannot learn."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode


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
    """Gymnasium's spec for ``env_id``, or :class:`UnsupportedEnvError` with a clear line."""
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
    except gym.error.Error as err:
        raise UnsupportedEnvError(f"{env_id}: cannot be created ({err})") from None
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
    env = gym.make(env_id, render_mode=render_mode)
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
