"""Policy and value networks.

A policy maps a batch of observations ``(B, obs_dim)`` to a distribution over
actions; the value net maps it to ``(B,)`` estimates of V(s).
"""

from __future__ import annotations

import itertools
import math

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from torch import nn
from torch.distributions import Categorical, Distribution, Normal

_ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU}


def mlp(sizes: list[int], activation: str) -> nn.Sequential:
    """Linear layers of the given widths, ``activation`` between them, none at the end."""
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.append(_ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def _init_orthogonal(net: nn.Sequential, last_gain: float) -> None:
    # Orthogonal init with a small last layer: the initial policy is near-uniform
    # and the initial value near zero, so early steps are not dominated by noise.
    linears = [m for m in net if isinstance(m, nn.Linear)]
    for layer in linears:
        gain = last_gain if layer is linears[-1] else math.sqrt(2)
        nn.init.orthogonal_(layer.weight, gain)
        nn.init.zeros_(layer.bias)


class CategoricalPolicy(nn.Module):
    """For Discrete actions: MLP -> logits ``(B, n_actions)`` -> Categorical."""

    def __init__(self, obs_dim: int, n_actions: int, hidden_sizes: tuple[int, ...], activation: str) -> None:
        super().__init__()
        self.logits_net = mlp([obs_dim, *hidden_sizes, n_actions], activation)
        _init_orthogonal(self.logits_net, last_gain=0.01)

    def distribution(self, obs: torch.Tensor) -> Distribution:
        """pi(.|s) for a batch ``obs`` of shape ``(B, obs_dim)``."""
        return Categorical(logits=self.logits_net(obs), validate_args=False)

    @torch.no_grad()
    def sample(self, obs: torch.Tensor, rng: np.random.Generator) -> np.ndarray:
        """Actions ``(B,)`` int64 drawn from pi(.|s) for ``obs`` ``(B, obs_dim)``.

        The Gumbel-max trick: argmax(logits + Gumbel noise) is a sample of the softmax.
        Drawing the noise from the trainer's own numpy generator keeps runs reproducible
        beside other torch users, and costs a third of building a distribution per step.
        """
        logits = self.logits_net(obs).numpy()
        return np.argmax(logits + rng.gumbel(size=logits.shape), axis=-1)

    def greedy(self, obs: torch.Tensor) -> torch.Tensor:
        """The most probable action per row, shape ``(B,)``."""
        return self.logits_net(obs).argmax(dim=-1)

    def log_prob(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """log pi(a|s), shape ``(B,)``, for ``actions`` of shape ``(B,)``."""
        return self.distribution(obs).log_prob(actions)


class GaussianPolicy(nn.Module):
    """For Box actions: MLP -> mean ``(B, act_dim)``; a state-independent learned log-std."""

    def __init__(
        self, obs_dim: int, act_dim: int, hidden_sizes: tuple[int, ...], activation: str, init_log_std: float
    ) -> None:
        super().__init__()
        self.mean_net = mlp([obs_dim, *hidden_sizes, act_dim], activation)
        _init_orthogonal(self.mean_net, last_gain=0.01)
        self.log_std = nn.Parameter(torch.full((act_dim,), float(init_log_std)))

    def distribution(self, obs: torch.Tensor) -> Distribution:
        """Independent Normals per action dimension; log-probs are summed over it."""
        return Normal(self.mean_net(obs), self.log_std.exp(), validate_args=False)

    @torch.no_grad()
    def sample(self, obs: torch.Tensor, rng: np.random.Generator) -> np.ndarray:
        """Unclipped actions ``(B, act_dim)`` float32 for ``obs`` ``(B, obs_dim)``."""
        mean = self.mean_net(obs).numpy()
        std = self.log_std.exp().numpy()
        return (mean + std * rng.standard_normal(mean.shape)).astype(np.float32)

    def greedy(self, obs: torch.Tensor) -> torch.Tensor:
        """The mean action ``(B, act_dim)``."""
        return self.mean_net(obs)

    def log_prob(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """log pi(a|s), shape ``(B,)``, for ``actions`` of shape ``(B, act_dim)``."""
        return self.distribution(obs).log_prob(actions).sum(-1)


Policy = CategoricalPolicy | GaussianPolicy


def log_prob_and_entropy(policy: Policy, obs: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """log pi(a|s) and the entropy of pi(.|s), each ``(B,)``, from one forward pass
    (summed over the dimensions of a Gaussian)."""
    distribution = policy.distribution(obs)
    log_probs, entropy = distribution.log_prob(actions), distribution.entropy()
    if isinstance(policy, GaussianPolicy):
        return log_probs.sum(-1), entropy.sum(-1)
    return log_probs, entropy


class ValueNet(nn.Module):
    """MLP -> scalar: V(s) for a batch ``(B, obs_dim)``, returned as ``(B,)``.

    The MLP predicts *normalised* values; ``V(s) = target_mean + target_std * mlp(s)``.
    Returns run from 0 to ~100 in CartPole (and to -1,000 in Pendulum), while Adam moves
    each weight by about its learning rate per step: an MLP that must output 100 needs
    hundreds of steps just to reach the scale. With the scale in ``target_mean`` and
    ``target_std`` (running statistics of the value targets, see :meth:`retarget`) the
    MLP only fits the shape, and a few passes per batch suffice (PopArt, van Hasselt
    et al. 2016). Both are buffers, so they travel with the weights.
    """

    def __init__(self, obs_dim: int, hidden_sizes: tuple[int, ...], activation: str) -> None:
        super().__init__()
        self.net = mlp([obs_dim, *hidden_sizes, 1], activation)
        _init_orthogonal(self.net, last_gain=1.0)
        self.register_buffer("target_mean", torch.zeros(()))
        self.register_buffer("target_std", torch.ones(()))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.target_mean + self.target_std * self.normalized(obs)

    def normalized(self, obs: torch.Tensor) -> torch.Tensor:
        """The MLP's output ``(B,)``: V(s) in units of the target statistics."""
        return self.net(obs).squeeze(-1)

    @torch.no_grad()
    def retarget(self, mean: float, std: float) -> None:
        """Change the target statistics while keeping every V(s) as it was.

        The last layer is rescaled so that ``mean + std * mlp(s)`` equals the old
        ``old_mean + old_std * mlp_old(s)`` for every s ("preserving outputs precisely").
        """
        last = self.net[-1]
        old_mean, old_std = float(self.target_mean), float(self.target_std)
        last.weight.mul_(old_std / std)
        last.bias.mul_(old_std).add_(old_mean - mean).div_(std)
        self.target_mean.fill_(mean)
        self.target_std.fill_(std)


def make_policy(
    observation_space: gym.Space,
    action_space: gym.Space,
    hidden_sizes: tuple[int, ...],
    activation: str,
    init_log_std: float,
) -> Policy:
    """The policy class that fits ``action_space`` (spaces must pass ``check_spaces``)."""
    obs_dim = int(observation_space.shape[0])
    if isinstance(action_space, spaces.Discrete):
        return CategoricalPolicy(obs_dim, int(action_space.n), hidden_sizes, activation)
    return GaussianPolicy(obs_dim, int(action_space.shape[0]), hidden_sizes, activation, init_log_std)
