"""Test-wide setup: headless SDL before anything imports pygame, and test envs."""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import gymnasium as gym
import torch

from tests import toy_envs

# As every entry point does at process start: two cores are shared by the window and the trainer.
torch.set_num_threads(1)

for env_id, entry_point in toy_envs.REGISTRY.items():
    if env_id not in gym.registry:
        gym.register(env_id, entry_point=entry_point)
if toy_envs.ENDLESS not in gym.registry:
    gym.register(toy_envs.ENDLESS, entry_point=toy_envs.Endless, max_episode_steps=20)
if toy_envs.SHORT_CARTPOLE not in gym.registry:  # CartPole cut by a time limit after 8 steps
    cartpole = "gymnasium.envs.classic_control.cartpole:CartPoleEnv"
    gym.register(toy_envs.SHORT_CARTPOLE, entry_point=cartpole, max_episode_steps=8)
