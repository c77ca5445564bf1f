"""Greedy evaluation: how good is a policy when it always takes its best action?"""

from __future__ import annotations

import numpy as np
import torch

from vpg_sim.core.envs import clip_to_box, make_single_env
from vpg_sim.core.networks import Policy


def evaluate_greedy(policy: Policy, env_id: str, episodes: int, seed: int = 0) -> np.ndarray:
    """Returns of ``episodes`` greedy episodes, shape ``(episodes,)``; episode i is seeded ``seed + i``."""
    env = make_single_env(env_id)
    returns = np.zeros(episodes)
    try:
        for episode in range(episodes):
            observation, _ = env.reset(seed=seed + episode)
            done = False
            while not done:
                with torch.no_grad():
                    action = policy.greedy(torch.as_tensor(observation, dtype=torch.float32).unsqueeze(0))[0].numpy()
                observation, reward, terminated, truncated, _ = env.step(clip_to_box(action, env.action_space))
                returns[episode] += float(reward)
                done = terminated or truncated
    finally:
        env.close()
    return returns
