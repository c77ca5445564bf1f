"""Policy and value networks.

A policy maps a batch of observations ``(B, obs_dim)`` to a distribution over
actions; the value net maps it to ``(B,)`` estimates of V(s).
"""

from __future__ import annotations

import itertools
import math

import gymnasium as gym
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

    def sample(self, obs: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Actions ``(B,)`` and their log-probabilities ``(B,)``, drawn with ``generator``.

        Samples with ``torch.multinomial`` rather than ``Categorical.sample`` because
        it accepts a generator (reproducible runs beside other torch users) and is
        about twice as fast on small batches.
        """
        log_probs = torch.log_softmax(self.logits_net(obs), dim=-1)
        actions = torch.multinomial(log_probs.exp(), 1, generator=generator).squeeze(-1)
        return actions, log_probs.gather(-1, actions.unsqueeze(-1)).squeeze(-1)

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

    def sample(self, obs: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Unclipped actions ``(B, act_dim)`` and their log-probabilities ``(B,)``."""
        mean = self.mean_net(obs)
        std = self.log_std.exp()
        noise = torch.randn(mean.shape, generator=generator)
        actions = mean + std * noise
        return actions, Normal(mean, std, validate_args=False).log_prob(actions).sum(-1)

    def greedy(self, obs: torch.Tensor) -> torch.Tensor:
        """The mean action ``(B, act_dim)``."""
        return self.mean_net(obs)

    def log_prob(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """log pi(a|s), shape ``(B,)``, for ``actions`` of shape ``(B, act_dim)``."""
        return self.distribution(obs).log_prob(actions).sum(-1)


Policy = CategoricalPolicy | GaussianPolicy


def entropy(policy: Policy, obs: torch.Tensor) -> torch.Tensor:
    """Entropy of pi(.|s) per row, shape ``(B,)`` (summed over Gaussian dimensions)."""
    ent = policy.distribution(obs).entropy()
    return ent.sum(-1) if isinstance(policy, GaussianPolicy) else ent


class ValueNet(nn.Module):
    """MLP -> scalar: V(s) for a batch ``(B, obs_dim)``, returned as ``(B,)``."""

    def __init__(self, obs_dim: int, hidden_sizes: tuple[int, ...], activation: str) -> None:
        super().__init__()
        self.net = mlp([obs_dim, *hidden_sizes, 1], activation)
        _init_orthogonal(self.net, last_gain=1.0)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs).squeeze(-1)


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
