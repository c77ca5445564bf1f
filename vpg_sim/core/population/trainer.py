"""A population: M independent VPG agents trained together, each exactly ``VPGTrainer``.

Agent i with config ``configs[i]`` runs the algorithm of ``docs/ALGORITHM.md`` with its
own seed and knobs, as ``VPGTrainer(configs[i])`` would: its own envs and random streams
(``rollout.py``), its own estimator (``advantages.py``), weights,
Adam moments, learning rates, critic target statistics, gradient clipping and NaN
rollback (``stacked.py``, ``update.py``). What is shared is the per-call cost:
one loop, one forward pass per layer, one Adam pass, for all M. An agent's numbers do not
depend on the others: the same to the bit alone or among 31, and whatever another agent's
NaN, knob or stop (tested), as long as their batches are as long as its own (every
population of ``gae`` and ``baseline`` agents). Beside an agent of a critic-free estimator,
whose batch is whole episodes, every batch is padded to the longest, its masked sums add
in another order, and its numbers agree within float rounding. Against ``VPGTrainer`` its
episodes match exactly and its losses within float rounding (batched matmuls, numpy's
tanh and masked sums round differently, ~1e-7 per op), until a near-tied action samples
the other way and the runs part (seed 5: after 12 updates); over 32 seeds the steps to
solve are distributed alike (``benchmarks/population.py``).

Each agent's ``UpdateStats`` are ``VPGTrainer``'s, with ``train_seconds`` the
population's time so far and ``env_steps_per_second`` the agent's batch over the
population's update time.

Agents may differ in :data:`PER_AGENT_FIELDS` (seed, the estimator, gamma, lambda,
learning rates, the entropy bonus, target_kl on or off, advantage normalisation, ...: the
``textbook`` preset's fields included); everything else (env, network shape, num_envs,
steps_per_update, critic passes and minibatch) must match within a population, since it
sets the shapes they are batched in. Discrete actions only.

    a = config_for("CartPole-v1")
    population = PopulationTrainer.from_groups({"A": a, "B": a.replace(gae_lambda=0.9)}, seeds=range(8))
    stats = population.train_update()          # {agent: UpdateStats} for the running agents
    population.groups["B"]                      # [8, ..., 15]: the agents of group B
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from vpg_sim.core.advantages import CRITIC_FREE
from vpg_sim.core.checkpoint import Checkpoint
from vpg_sim.core.config import ConfigChange, VPGConfig, with_live_changes
from vpg_sim.core.envs import reward_threshold
from vpg_sim.core.networks import CategoricalPolicy, ValueNet
from vpg_sim.core.population.advantages import AgentBatches, agent_batches
from vpg_sim.core.population.envs import make_population_envs
from vpg_sim.core.population.rollout import Episodes, PopulationBatch, PopulationCollector
from vpg_sim.core.population.stacked import StackedAdam, StackedMLP, finite_or_inf
from vpg_sim.core.population.update import fit_values, minibatch_rows, policy_step
from vpg_sim.core.rollout import RECENT_EPISODES
from vpg_sim.core.stabilisers import adapted_learning_rate, blended_target_statistics
from vpg_sim.core.trainer import UpdateStats

PER_AGENT_FIELDS = (
    "seed",
    "estimator",
    "gamma",
    "gae_lambda",
    "normalize_advantages",
    "advantage_std_floor",
    "policy_lr",
    "entropy_coef",
    "target_kl",
    "value_lr",
    "value_normalization_rate",
    "max_grad_norm",
    "value_max_grad_norm",
)
"""Config fields that may differ between the agents of one population (and the live
knobs among them may change per agent); every other field must be equal."""


@dataclasses.dataclass
class Agent:
    """One agent's own state beside its slice of the stacked weights."""

    config: VPGConfig
    action_rng: np.random.Generator
    minibatch_rng: np.random.Generator
    episodes: Episodes
    updates: int = 0
    env_steps: int = 0
    nan_rollbacks: int = 0
    value_stats_initialised: bool = False
    running: bool = True
    config_changes: list[ConfigChange] = dataclasses.field(default_factory=list)
    last_advantages: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    """Raw advantages of its last batch's valid steps, ``(B,)``."""
    final_policy: dict[str, torch.Tensor] | None = None
    """Its policy's weights when it stopped running."""
    final_value: dict[str, torch.Tensor] | None = None
    """Its critic's weights and target statistics when it stopped running (as ``ValueNet``'s)."""


class PopulationTrainer:
    """M VPG agents, trained together (see the module's docstring).

    :param configs: one per agent, in agent order; they differ in :data:`PER_AGENT_FIELDS` only.
    :param groups: optional labels -> agent indices, for a comparison (see :meth:`from_groups`).
    :param batched_envs: False steps CartPole as M Gymnasium vector envs instead of one
        batched numpy state (the same numbers, slower: for measuring).
    """

    def __init__(
        self,
        configs: Sequence[VPGConfig],
        groups: Mapping[str, Sequence[int]] | None = None,
        batched_envs: bool = True,
    ) -> None:
        check_compatible(configs)
        shared = configs[0]
        self.shared_config = shared
        self.groups = {label: list(agents) for label, agents in (groups or {}).items()}
        self.reward_threshold = reward_threshold(shared.env_id)
        envs = make_population_envs(shared.env_id, shared.num_envs, [c.seed for c in configs], batched_envs)
        if not isinstance(envs.single_action_space, spaces.Discrete):
            envs.close()
            raise ValueError(f"{shared.env_id}: a population needs Discrete actions, not {envs.single_action_space}")
        self.observation_space, self.action_space = envs.single_observation_space, envs.single_action_space
        self.agents: list[Agent] = []
        policies, critics = [], []
        obs_dim, n_actions = int(self.observation_space.shape[0]), int(self.action_space.n)
        for config in configs:
            # As VPGTrainer.__init__: the same seeds, the same draws, in the same order.
            action_seed, minibatch_seed = np.random.SeedSequence(config.seed).spawn(2)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(config.seed)
                policies.append(CategoricalPolicy(obs_dim, n_actions, config.hidden_sizes, config.activation))
                critics.append(ValueNet(obs_dim, config.hidden_sizes, config.activation))
            rngs = (np.random.default_rng(action_seed), np.random.default_rng(minibatch_seed))
            self.agents.append(Agent(config, *rngs, Episodes()))
        rngs, records = [a.action_rng for a in self.agents], [a.episodes for a in self.agents]
        self.collector = PopulationCollector(envs, rngs, records)
        self.policy = StackedMLP([policy.logits_net for policy in policies])
        self.value = StackedMLP([critic.net for critic in critics])
        self.target_mean = torch.zeros(len(configs))
        self.target_std = torch.ones(len(configs))
        """The critics' target statistics ``(M,)`` float32, as ``ValueNet``'s buffers."""
        self.policy_optimizer = StackedAdam(self.policy, [c.policy_lr for c in configs])
        self.value_optimizer = StackedAdam(self.value, [c.value_lr for c in configs])
        self.slots = list(range(len(configs)))
        """The running agents, in the order of the stacked weights' first dimension."""
        self.train_seconds = 0.0

    @classmethod
    def from_groups(cls, groups: Mapping[str, VPGConfig], seeds: Sequence[int], **kwargs: Any) -> PopulationTrainer:
        """One agent per (group, seed): group by group, seeds in order; ``groups`` gives
        each label's agents. E.g. ``{"A": a, "B": b}`` with seeds 0-7: A is 0-7, B 8-15."""
        configs, members = [], {}
        for label, config in groups.items():
            members[label] = list(range(len(configs), len(configs) + len(seeds)))
            configs.extend(config.replace(seed=seed) for seed in seeds)
        return cls(configs, members, **kwargs)

    # -- the public loop -------------------------------------------------------------------

    def train_update(self) -> dict[int, UpdateStats]:
        """One update of every running agent; returns each one's stats by agent index."""
        if not self.slots:
            return {}
        started = time.perf_counter()
        policy_lrs = list(self.policy_optimizer.learning_rates)  # the rates this update steps with
        shared = self.shared_config
        scale = (self.target_mean, self.target_std)
        whole = [self.agents[agent].config.estimator in CRITIC_FREE for agent in self.slots]
        batch = self.collector.collect(self.policy, self.value, scale, shared.rollout_length, whole)
        losses = self._update(batch)
        elapsed = time.perf_counter() - started
        self.train_seconds += elapsed
        stats = {}
        for slot, index in enumerate(self.slots):
            agent = self.agents[index]
            agent.updates += 1
            agent.env_steps += int(batch.env_steps[slot])
            returns, lengths = agent.episodes.recent_returns, agent.episodes.recent_lengths
            stats[index] = UpdateStats(
                update=agent.updates,
                env_steps=self.env_steps(index),
                episodes=agent.episodes.count,
                mean_return_100=agent.episodes.mean_return_100,
                max_return_100=float(np.max(returns)) if returns else math.nan,
                mean_length_100=float(np.mean(lengths)) if lengths else math.nan,
                policy_lr=policy_lrs[slot],
                nan_rollbacks=agent.nan_rollbacks,
                train_seconds=self.train_seconds,
                env_steps_per_second=int(batch.env_steps[slot]) / elapsed,
                **{name: values[slot] for name, values in losses.items()},
            )
        return stats

    def reconfigure(self, agent: int, **changes: Any) -> VPGConfig:
        """Turn one running agent's live knobs between updates, as ``VPGTrainer.reconfigure``.
        ValueError, changing nothing, for a knob the population shares (``steps_per_update``)."""
        shared = sorted(set(changes) - set(PER_AGENT_FIELDS))
        if shared:
            raise ValueError(f"{', '.join(shared)} is shared by the population's agents: it cannot change for one")
        record = self.agents[agent]
        if not record.running:
            raise ValueError(f"agent {agent} has stopped")
        record.config = with_live_changes(record.config, changes)
        slot = self.slots.index(agent)
        for name, optimizer in (("policy_lr", self.policy_optimizer), ("value_lr", self.value_optimizer)):
            if name in changes:
                optimizer.learning_rates[slot] = getattr(record.config, name)
        record.config_changes.append(ConfigChange(record.updates + 1, record.episodes.count, dict(changes)))
        return record.config

    def stop(self, agents: Sequence[int]) -> None:
        """Stop training ``agents`` (e.g. once solved): the others' updates no longer pay for
        them. Their stats, episodes and final policy stay readable."""
        stopping = {agent for agent in agents if self.agents[agent].running}
        for agent in stopping:
            self.agents[agent].final_policy = self.policy.state_of(self.slots.index(agent))
            self.agents[agent].final_value = self._value_state(self.slots.index(agent))
            self.agents[agent].running = False
        keep = [slot for slot, agent in enumerate(self.slots) if agent not in stopping]
        self.collector.keep(keep)
        for optimizer in (self.policy_optimizer, self.value_optimizer):
            optimizer.keep(keep)
        self.policy.keep(keep)
        self.value.keep(keep)
        self.target_mean, self.target_std = self.target_mean[keep], self.target_std[keep]
        self.slots = [self.slots[slot] for slot in keep]

    def policy_state_of(self, agent: int) -> dict[str, torch.Tensor]:
        """Agent ``agent``'s current policy network (its final one if it stopped), as an
        ``nn.Sequential`` state dict: no module built (the seed wall reads every agent's)."""
        record = self.agents[agent]
        return record.final_policy or self.policy.state_of(self.slots.index(agent))

    def policy_of(self, agent: int) -> CategoricalPolicy:
        """Agent ``agent``'s current policy (its final one if it stopped), as a lone policy."""
        record = self.agents[agent]
        obs_dim, n_actions = int(self.observation_space.shape[0]), int(self.action_space.n)
        policy = CategoricalPolicy(obs_dim, n_actions, record.config.hidden_sizes, record.config.activation)
        policy.logits_net.load_state_dict(self.policy_state_of(agent))
        return policy

    def checkpoint_of(self, agent: int) -> Checkpoint:
        """Agent ``agent``'s policy and critic now (its final ones if it stopped), as a lone
        run's :class:`Checkpoint` without optimiser or resume state: for playing it."""
        record = self.agents[agent]
        value_state = record.final_value or self._value_state(self.slots.index(agent))
        return Checkpoint(
            config=record.config,
            observation_space=self.observation_space,
            action_space=self.action_space,
            policy_state=self.policy_of(agent).state_dict(),
            value_state=value_state,
            update=record.updates,
            env_steps=record.env_steps,
            mean_return_100=record.episodes.mean_return_100,
            config_changes=tuple(record.config_changes),
            last_advantages=record.last_advantages,
        )

    def _value_state(self, slot: int) -> dict[str, torch.Tensor]:
        """The critic in ``slot`` as a ``ValueNet`` state dict (its MLP and target statistics)."""
        state = {f"net.{name}": tensor for name, tensor in self.value.state_of(slot).items()}
        state["target_mean"] = self.target_mean[slot].clone()
        state["target_std"] = self.target_std[slot].clone()
        return state

    def env_steps(self, agent: int) -> int:
        """Env steps the agent's batches have cost so far (a whole-episode batch's vary)."""
        return self.agents[agent].env_steps

    def mean_return_100(self, agent: int) -> float:
        return self.agents[agent].episodes.mean_return_100

    def solved(self, agent: int) -> bool:
        """As ``VPGTrainer.solved``: the mean of the agent's last 100 returns reached the threshold."""
        episodes = self.agents[agent].episodes
        if self.reward_threshold is None or len(episodes.recent_returns) < RECENT_EPISODES:
            return False
        return episodes.mean_return_100 >= self.reward_threshold

    def take_new_returns(self, agent: int) -> list[float]:
        """Returns of the agent's training episodes finished since the last call, oldest first."""
        return self.agents[agent].episodes.take_new_returns()

    def take_new_episodes(self, agent: int) -> tuple[list[float], list[int]]:
        """As :meth:`take_new_returns`, with the agent's env steps at each episode's end."""
        return self.agents[agent].episodes.take_new_episodes()

    def close(self) -> None:
        self.collector.close()

    # -- steps 2-4 for every running agent -------------------------------------------------

    def _update(self, batch: PopulationBatch) -> dict[str, list[float]]:
        """Advantages, the policy step and the critic fit of every running agent; each
        agent's non-finite loss or weight rolls back that agent alone. Per agent (slot
        order): ``policy_loss``, ``value_loss``, ``entropy``, ``approx_kl``, ``explained_variance``."""
        configs = [self.agents[agent].config for agent in self.slots]
        prepared = agent_batches(batch, configs)
        for slot, advantages in enumerate(prepared.raw_advantages):
            self.agents[self.slots[slot]].last_advantages = advantages
        saved = (self.policy.data.clone(), self.value.data.clone(), self.target_mean.clone(), self.target_std.clone())
        saved_lrs = list(self.policy_optimizer.learning_rates)

        # Step 3.
        result = policy_step(
            self.policy,
            self.policy_optimizer,
            prepared.observations,
            prepared.actions,
            prepared.valid,
            prepared.valid.sum(dim=1).float(),
            prepared.weights,
            torch.tensor([c.entropy_coef for c in configs], dtype=torch.float32),
            finite_or_inf([c.max_grad_norm for c in configs]),
        )
        approx_kls = result.approx_kl.tolist()
        rates = self.policy_optimizer.learning_rates
        for slot, config in enumerate(configs):  # the KL-adaptive step, per agent
            if config.target_kl is not None:
                signal = prepared.has_signal[slot]
                rates[slot] = adapted_learning_rate(
                    rates[slot], approx_kls[slot], config.target_kl, config.policy_lr, signal
                )

        # Step 4, for the agents whose policy step stood and whose returns are finite (the
        # lone trainer would have stopped before its critic fit: its minibatch draws too).
        fitting = result.finite.numpy() & np.array(prepared.returns_finite)
        value_losses, value_finite = self._fit_values(prepared, configs, fitting)

        losses = {
            "explained_variance": prepared.explained_variance,
            "policy_loss": result.loss.tolist(),
            "entropy": result.entropy.tolist(),
            "approx_kl": approx_kls,
            "value_loss": value_losses,
        }
        for slot in np.flatnonzero(~(fitting & value_finite)):
            self._roll_back(int(slot), saved, saved_lrs[slot])
            for name in ("policy_loss", "value_loss", "entropy", "approx_kl"):
                losses[name][slot] = math.nan
        return losses

    def _fit_values(
        self, prepared: AgentBatches, configs: list[VPGConfig], fitting: np.ndarray
    ) -> tuple[list[float], np.ndarray]:
        """Step 4 for the ``fitting`` agents: returns each agent's value loss (in the units of
        the returns, as the lone trainer reports it) and whether its critic stayed finite."""
        targets, stds = self._normalized_targets(prepared.returns, prepared.rows, fitting)
        orders = [
            [self.agents[agent].minibatch_rng.permutation(len(rows)) for _ in range(config.vf_iters)]
            if fitting[slot]
            else []
            for slot, (agent, rows, config) in enumerate(zip(self.slots, prepared.rows, configs, strict=True))
        ]
        size = self.shared_config.vf_minibatch_size
        clipping = any(c.value_max_grad_norm is not None for c in configs)
        total, finite = fit_values(
            self.value,
            self.value_optimizer,
            prepared.observations,
            targets,
            minibatch_rows(prepared.rows, orders, size, prepared.valid.shape[1]),
            torch.from_numpy(fitting),
            finite_or_inf([c.value_max_grad_norm for c in configs]) if clipping else None,
        )
        minibatches = [len(order) * -(-len(rows) // size) for rows, order in zip(prepared.rows, orders, strict=True)]
        # As the lone trainer: the mean minibatch loss, scaled back to the returns' units.
        losses = [t / max(n, 1) * s**2 for t, n, s in zip(total.tolist(), minibatches, stds, strict=True)]
        return losses, finite.numpy()

    # -- beyond vanilla: the critics' target statistics and the NaN rollback -----------------

    def _normalized_targets(
        self, returns: np.ndarray, rows: list[np.ndarray], fitting: np.ndarray
    ) -> tuple[torch.Tensor, list[float]]:
        """Move each fitting agent's target statistics toward its batch's, as
        ``VPGTrainer._normalize_targets``, rescaling its critic's last layer so that V(s)
        stays as it was (``ValueNet.retarget``, for all agents in one operation).

        :param returns: ``(M, B)`` float64 lambda-returns; ``rows`` each agent's valid rows.
        :returns: the normalised targets ``(M, B)`` float32 and each agent's std as a float.
        """
        old_means, old_stds = self.target_mean.tolist(), self.target_std.tolist()
        means, stds = list(old_means), list(old_stds)
        for slot, agent_rows in enumerate(rows):
            agent = self.agents[self.slots[slot]]
            rate = agent.config.value_normalization_rate
            if not fitting[slot] or rate == 0:
                continue
            old = (old_means[slot], old_stds[slot]) if agent.value_stats_initialised else None
            # The lone trainer's returns are a float32 tensor: the statistics see them rounded.
            batch_returns = torch.from_numpy(returns[slot, agent_rows]).float()
            means[slot], stds[slot] = blended_target_statistics(old, batch_returns, rate)
            agent.value_stats_initialised = True

        # ValueNet.retarget: weight * old_std / std; (bias * old_std + old_mean - mean) / std,
        # each factor rounded to float32 as torch rounds a Python scalar (1, 0, 1: unchanged).
        def factor(values: list[float]) -> torch.Tensor:
            return torch.tensor(values, dtype=torch.float32)[:, None, None]

        weight, bias = self.value.blocks[-2], self.value.blocks[-1]
        with torch.no_grad():
            weight.mul_(factor([old / new for old, new in zip(old_stds, stds, strict=True)]))
            bias.mul_(factor(old_stds)).add_(factor([o - n for o, n in zip(old_means, means, strict=True)]))
            bias.div_(factor(stds))
        self.target_mean = torch.tensor(means, dtype=torch.float32)
        self.target_std = torch.tensor(stds, dtype=torch.float32)
        returns_t = torch.from_numpy(returns).float()
        return (returns_t - self.target_mean[:, None]) / self.target_std[:, None], stds

    def _roll_back(self, slot: int, saved: tuple[torch.Tensor, ...], policy_lr: float) -> None:
        """Undo one agent's poisoned update, as ``VPGTrainer._roll_back``: its weights, target
        statistics and policy learning rate as they were, its Adam moments cleared."""
        policy_data, value_data, target_mean, target_std = saved
        self.policy.data[slot], self.value.data[slot] = policy_data[slot], value_data[slot]
        self.target_mean[slot], self.target_std[slot] = target_mean[slot], target_std[slot]
        for optimizer in (self.policy_optimizer, self.value_optimizer):
            optimizer.reset_network(slot)
        self.policy_optimizer.learning_rates[slot] = policy_lr
        self.agents[self.slots[slot]].nan_rollbacks += 1


def check_compatible(configs: Sequence[VPGConfig]) -> None:
    """ValueError unless ``configs`` (at least one) differ in :data:`PER_AGENT_FIELDS` only."""
    if not configs:
        raise ValueError("a population needs at least one agent")
    first = configs[0].to_dict()
    for index, config in enumerate(configs[1:], start=1):
        differing = sorted(k for k, v in config.to_dict().items() if v != first[k] and k not in PER_AGENT_FIELDS)
        if differing:
            raise ValueError(
                f"agent {index} differs from agent 0 in {', '.join(differing)}: a population's agents "
                f"may differ only in {', '.join(PER_AGENT_FIELDS)}"
            )
