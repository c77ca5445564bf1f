"""A population: each agent is VPGTrainer with its seed and config, and no agent touches another."""

import math

import numpy as np
import pytest
import torch

from vpg_sim.core.config import config_for
from vpg_sim.core.envs import make_vector_env
from vpg_sim.core.population import envs as population_envs
from vpg_sim.core.population.envs import BatchedCartPole
from vpg_sim.core.population.stacked import StackedAdam, StackedMLP
from vpg_sim.core.population.trainer import PopulationTrainer
from vpg_sim.core.trainer import UpdateStats, VPGTrainer

SMALL = {"num_envs": 4, "steps_per_update": 128, "vf_iters": 2, "vf_minibatch_size": 48}
"""48 does not divide the batch's valid steps: every pass ends with a short minibatch."""
TIMING = UpdateStats.timing_fields()
EPISODE_FIELDS = ("update", "env_steps", "episodes", "mean_return_100", "max_return_100", "mean_length_100")


def population_stats(population: PopulationTrainer, updates: int) -> list[dict[int, dict]]:
    """Each update's stats per agent, timing fields left out."""
    return [
        {agent: {k: v for k, v in stats.to_dict().items() if k not in TIMING} for agent, stats in update.items()}
        for update in (population.train_update() for _ in range(updates))
    ]


def cartpole(seed: int, **overrides) -> object:
    return config_for("CartPole-v1", seed=seed, **{**SMALL, **overrides})


def test_batched_cartpole_steps_each_agent_exactly_as_its_own_vector_env(monkeypatch):
    monkeypatch.setattr(population_envs, "DRAWN_AHEAD", 64)  # refill the draws made ahead often
    seeds, num_envs = [3, 11], 6
    batched = BatchedCartPole(num_envs, seeds)
    alone = [make_vector_env("CartPole-v1", num_envs, seed) for seed in seeds]
    observations = np.stack([envs.reset(seed=seed)[0] for envs, seed in zip(alone, seeds, strict=True)])
    np.testing.assert_array_equal(batched.observations(), observations)
    rng = np.random.default_rng(0)
    ended = {"terminated": 0, "truncated": 0}
    for _ in range(1100):
        # Half the copies balanced by a controller (they reach the 500-step time limit), half random.
        o = batched.observations()
        balanced = (10 * o[..., 2] + 2 * o[..., 3] + 0.5 * o[..., 0] + o[..., 1] > 0).astype(np.int64)
        actions = np.where(np.arange(num_envs) % 2 == 0, balanced, rng.integers(0, 2, balanced.shape))
        result = batched.step(actions)
        expected = [envs.step(agent_actions)[:4] for envs, agent_actions in zip(alone, actions, strict=True)]
        for got, want in zip(result, zip(*expected, strict=True), strict=True):
            np.testing.assert_array_equal(got, np.stack(want))
        ended["terminated"] += int(result[2].sum())
        ended["truncated"] += int(result[3].sum())
    assert ended["terminated"] > 100 and ended["truncated"] >= 2 * len(seeds)


def test_stacked_adam_is_torch_fused_adam_bit_for_bit():
    torch.manual_seed(0)
    nets = [torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)) for _ in range(3)]
    stacked = StackedMLP(nets)
    rates = [1e-2, 3e-3, 1e-2]
    optimizer = StackedAdam(stacked, rates)
    references = [torch.optim.Adam(n.parameters(), lr=rate, fused=True) for n, rate in zip(nets, rates, strict=True)]
    for step in range(4):
        grads = torch.randn_like(stacked.grad)
        stacked.grad.copy_(grads)
        active = [True, step % 2 == 0, True]  # network 1 sits out every other step
        optimizer.step(active)
        for network, (net, reference) in enumerate(zip(nets, references, strict=True)):
            if not active[network]:
                continue
            blocks = stacked.split(grads)  # (M, in, out) weight, (M, 1, out) bias, per layer
            for parameter, block in zip(net.parameters(), blocks, strict=True):
                # contiguous, as autograd's: the fused kernel reads a grad as laid out flat.
                parameter.grad = (block[network].T if parameter.ndim == 2 else block[network, 0]).contiguous()
            reference.step()
    for network, net in enumerate(nets):
        torch.testing.assert_close(StackedMLP([net]).data[0], stacked.data[network], rtol=0, atol=0)


def test_population_of_one_gives_vpg_trainer_s_update_stats():
    config = config_for("CartPole-v1", seed=5)  # the default config: 16 envs, 1,024 steps, 6 x 4 minibatches
    trainer, population = VPGTrainer(config), PopulationTrainer([config])
    for _ in range(5):
        expected = trainer.train_update().to_dict()
        got = population.train_update()[0].to_dict()
        # Collection is exact (same envs, same noise, same actions): the episodes agree to the bit.
        assert {k: got[k] for k in EPISODE_FIELDS} == {k: expected[k] for k in EPISODE_FIELDS}
        # The losses differ by float rounding only: batched matmuls and masked sums add in
        # another order (about 1e-7 relative per op, grown to ~1e-5 over 5 updates).
        for name in ("policy_loss", "value_loss", "entropy", "approx_kl", "explained_variance", "policy_lr"):
            assert got[name] == pytest.approx(expected[name], rel=1e-3, abs=1e-6), name
        assert got["nan_rollbacks"] == expected["nan_rollbacks"] == 0
    for ours, theirs in zip(population.policy_of(0).parameters(), trainer.policy.parameters(), strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


def test_relu_networks_on_another_env_match_vpg_trainer_too():
    config = config_for("Acrobot-v1", seed=3, activation="relu", **SMALL)  # one Gymnasium vector env per agent
    trainer, population = VPGTrainer(config), PopulationTrainer([config, config.replace(seed=4)])
    for _ in range(3):
        expected, got = trainer.train_update(), population.train_update()[0]
        assert got.episodes == expected.episodes
        for name in ("policy_loss", "value_loss", "entropy", "approx_kl"):
            assert getattr(got, name) == pytest.approx(getattr(expected, name), rel=1e-4, abs=1e-6), name


def test_an_agent_s_numbers_do_not_depend_on_the_others():
    alone = population_stats(PopulationTrainer([cartpole(1)]), 4)
    among = population_stats(PopulationTrainer([cartpole(0), cartpole(1), cartpole(2)]), 4)
    assert [update[0] for update in alone] == [update[1] for update in among]  # to the bit


def test_a_nan_in_one_agent_rolls_back_that_agent_alone():
    def run(poison: bool) -> tuple[list[dict[int, dict]], PopulationTrainer]:
        population = PopulationTrainer([cartpole(seed) for seed in (0, 1, 2)])
        stats = population_stats(population, 1)
        before = (population.policy.data[1].clone(), population.value.data[1].clone())
        if poison:  # as tests/test_trainer.py does: the critic's step turns agent 1's weights to NaN
            population.value_optimizer.learning_rates[1] = math.inf
        stats += population_stats(population, 1)
        if poison:
            torch.testing.assert_close(population.policy.data[1], before[0], rtol=0, atol=0)
            torch.testing.assert_close(population.value.data[1], before[1], rtol=0, atol=0)
            population.value_optimizer.learning_rates[1] = cartpole(1).value_lr
        return stats + population_stats(population, 2), population

    clean, _ = run(poison=False)
    poisoned, population = run(poison=True)
    assert poisoned[1][1]["nan_rollbacks"] == 1 and math.isnan(poisoned[1][1]["value_loss"])
    assert math.isfinite(poisoned[3][1]["value_loss"]) and poisoned[3][1]["nan_rollbacks"] == 1
    for update in range(4):
        for agent in (0, 2):
            assert poisoned[update][agent] == clean[update][agent]  # to the bit
    assert torch.isfinite(population.value.data).all()


def test_a_config_difference_reaches_only_its_agent():
    same = population_stats(PopulationTrainer([cartpole(0), cartpole(1)]), 3)
    changes = {"gae_lambda": 0.8, "entropy_coef": 0.05, "target_kl": None, "max_grad_norm": None}
    differing = PopulationTrainer([cartpole(0), cartpole(1, value_max_grad_norm=1.0, **changes)])
    other = population_stats(differing, 3)
    assert [update[0] for update in other] == [update[0] for update in same]
    assert other[-1][1]["policy_loss"] != same[-1][1]["policy_loss"]
    assert other[-1][1]["policy_lr"] == cartpole(1).policy_lr  # target_kl None: the rate never adapts
    # A knob turned for one agent mid-run, too.
    turned = PopulationTrainer([cartpole(0), cartpole(1)])
    stats = population_stats(turned, 1)
    turned.reconfigure(1, value_lr=1e-2, gamma=0.9)
    stats += population_stats(turned, 2)
    assert [update[0] for update in stats] == [update[0] for update in same]
    assert stats[-1][1] != same[-1][1]
    assert turned.agents[1].config_changes[0].update == 2


def test_a_non_finite_reward_rolls_back_as_in_vpg_trainer():
    config = config_for("VpgSimTest/NanRewardCartPole-v0", **SMALL)  # each copy's 20th step pays NaN
    population = PopulationTrainer([config, config.replace(seed=1)])
    before = population.policy.data.clone(), population.value.data.clone()
    trainer = VPGTrainer(config)
    first, expected = population.train_update(), trainer.train_update()
    assert first[0].nan_rollbacks == first[1].nan_rollbacks == expected.nan_rollbacks == 1
    assert math.isnan(first[0].policy_loss) and math.isnan(first[0].value_loss)
    torch.testing.assert_close(population.policy.data, before[0], rtol=0, atol=0)
    torch.testing.assert_close(population.value.data, before[1], rtol=0, atol=0)
    following = population.train_update()[0]
    assert following.nan_rollbacks == 1 and math.isfinite(following.policy_loss)
    expected = trainer.train_update()
    assert (following.episodes, following.mean_length_100) == (expected.episodes, expected.mean_length_100)


def test_stopping_an_agent_leaves_the_others_as_they_were():
    full = population_stats(PopulationTrainer([cartpole(seed) for seed in (0, 1, 2)]), 3)
    population = PopulationTrainer([cartpole(seed) for seed in (0, 1, 2)])
    stats = population_stats(population, 1)
    policy = population.policy_of(1)
    population.stop([1])
    stats += population_stats(population, 2)
    assert [sorted(update) for update in stats] == [[0, 1, 2], [0, 2], [0, 2]]
    assert [{a: update[a] for a in (0, 2)} for update in stats] == [{a: u[a] for a in (0, 2)} for u in full]
    for kept, original in zip(population.policy_of(1).parameters(), policy.parameters(), strict=True):
        torch.testing.assert_close(kept, original, rtol=0, atol=0)


def test_groups_and_what_a_population_refuses():
    a = cartpole(0)
    population = PopulationTrainer.from_groups({"A": a, "B": a.replace(gamma=0.95)}, seeds=[4, 5])
    assert population.groups == {"A": [0, 1], "B": [2, 3]}
    assert [agent.config.seed for agent in population.agents] == [4, 5, 4, 5]
    assert population.agents[3].config.gamma == 0.95
    with pytest.raises(ValueError, match="steps_per_update"):
        population.reconfigure(0, steps_per_update=256)
    with pytest.raises(ValueError, match="hidden_sizes"):
        PopulationTrainer([a, a.replace(hidden_sizes=(32, 32))])
    with pytest.raises(ValueError, match="Discrete"):
        PopulationTrainer([config_for("Pendulum-v1", **SMALL)])
