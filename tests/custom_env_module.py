"""A custom env, registered on import, as a user's own module would be: for ``--env
tests.custom_env_module:LineWalk-v0``."""

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class LineWalk(gym.Env):
    """Walk right to x = 5 on a line: -0.1 a step, +1 at the goal."""

    observation_space = spaces.Box(-10.0, 10.0, (1,), np.float32)
    action_space = spaces.Discrete(2)

    def __init__(self, render_mode: str | None = None) -> None:
        self.render_mode = render_mode
        self.x = 0.0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.x = float(self.np_random.uniform(-3, 3))
        return np.array([self.x], np.float32), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.x += 1.0 if action == 1 else -1.0
        done = self.x >= 5.0
        return np.array([self.x], np.float32), (1.0 if done else -0.1), done, False, {}


if "LineWalkTest-v0" not in gym.registry:
    gym.register("LineWalkTest-v0", entry_point=LineWalk, max_episode_steps=50)
