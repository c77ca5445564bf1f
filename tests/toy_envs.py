"""Tiny environments whose right answer is known, for testing the learner."""

from __future__ import annotations

from typing import ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class TwoArmedBandit(gym.Env):
    """One-step episodes; arm 1 pays 1, arm 0 pays 0. The observation is constant."""

    observation_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(1, np.float32), {}

    def step(self, action):
        return np.zeros(1, np.float32), float(action == 1), True, False, {}


class ContinuousBandit(gym.Env):
    """One-step episodes; reward -(a - 1)^2, so the best action is 1.0."""

    observation_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = spaces.Box(-3.0, 3.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(1, np.float32), {}

    def step(self, action):
        return np.zeros(1, np.float32), -float((action[0] - 1.0) ** 2), True, False, {}


class NanRewardCartPole(gym.Wrapper):
    """CartPole whose 20th step (counted over the env's life) pays a NaN reward."""

    # Declared, as an env class does: gymnasium < 1.3 reads it from the class before making
    # one, where a Wrapper's is a property (InvalidMetadata).
    metadata: ClassVar[dict] = {"render_modes": [], "render_fps": 50}

    def __init__(self):
        super().__init__(gym.make("CartPole-v1"))
        self.steps_taken = 0

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.steps_taken += 1
        if self.steps_taken == 20:
            reward = float("nan")
        return obs, reward, terminated, truncated, info


class DictObservationEnv(gym.Env):
    observation_space = spaces.Dict({"position": spaces.Box(-1.0, 1.0, (2,), np.float32)})
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return {"position": np.zeros(2, np.float32)}, {}

    def step(self, action):
        return {"position": np.zeros(2, np.float32)}, 0.0, True, False, {}


class MultiDiscreteActionEnv(gym.Env):
    observation_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = spaces.MultiDiscrete([2, 3])

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        return np.zeros(2, np.float32), 0.0, True, False, {}


REGISTRY = {
    "VpgSimTest/TwoArmedBandit-v0": TwoArmedBandit,
    "VpgSimTest/ContinuousBandit-v0": ContinuousBandit,
    "VpgSimTest/NanRewardCartPole-v0": NanRewardCartPole,
    "VpgSimTest/DictObservation-v0": DictObservationEnv,
    "VpgSimTest/MultiDiscreteAction-v0": MultiDiscreteActionEnv,
}

SHORT_CARTPOLE = "VpgSimTest/ShortCartPole-v0"
"""CartPole with a time limit of 8 steps: every episode is cut by it (registered in conftest)."""
