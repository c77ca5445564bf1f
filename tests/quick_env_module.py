"""A two-armed bandit whose solved line a learner reaches in a few updates, registered on
import: for ``--env tests.quick_env_module:QuickBandit-v0`` (stop sets that end early)."""

import gymnasium as gym

from tests.toy_envs import TwoArmedBandit

if "QuickBandit-v0" not in gym.registry:
    gym.register("QuickBandit-v0", entry_point=TwoArmedBandit, max_episode_steps=1, reward_threshold=0.9)
