"""Tiny environments whose right answer is known, for testing the learner."""

from __future__ import annotations

from typing import ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class OneState(gym.Env):
    """One state, observed as 0.0, and two actions (what a subclass's step pays differs)."""

    observation_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(1, np.float32), {}


class TwoArmedBandit(OneState):
    """One-step episodes; arm 1 pays 1, arm 0 pays 0. The observation is constant."""

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


class Countdown(gym.Env):
    """Ten steps, then the end (a termination); each step pays 1 + the action (0 or 1). The
    observation is the share of the ten steps still to come, so a critic can learn
    V(s_t) = (10 - t) x (1 + P(action 1)).

    A case where the textbook's variance order must hold on raw Phi: every step's reward
    is part of R(tau) but not of the reward-to-go of the steps after it (total-return
    carries the noise of the past rewards), and the rewards still to come are mostly the
    step count, which the critic's baseline takes out."""

    LENGTH = 10
    observation_space = spaces.Box(0.0, 1.0, (1,), np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.steps = 0
        return np.ones(1, np.float32), {}

    def step(self, action):
        self.steps += 1
        left = np.array([(self.LENGTH - self.steps) / self.LENGTH], np.float32)
        return left, 1.0 + float(action), self.steps >= self.LENGTH, False, {}


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
    "VpgSimTest/Countdown-v0": Countdown,
    "VpgSimTest/NanRewardCartPole-v0": NanRewardCartPole,
    "VpgSimTest/DictObservation-v0": DictObservationEnv,
    "VpgSimTest/MultiDiscreteAction-v0": MultiDiscreteActionEnv,
}

class Endless(OneState):
    """Never ends by itself; every step pays 1, and the observation never changes. Under
    a time limit (:data:`ENDLESS`) its true value is 1 / (1 - gamma) in every state: the
    state after a truncation had the same future as every other."""

    def step(self, action):
        return np.zeros(1, np.float32), 1.0, False, False, {}


ENDLESS = "VpgSimTest/Endless-v0"
""":class:`Endless` cut by a time limit after 20 steps (registered in conftest)."""
SHORT_CARTPOLE = "VpgSimTest/ShortCartPole-v0"
"""CartPole with a time limit of 8 steps: every episode is cut by it (registered in conftest)."""
