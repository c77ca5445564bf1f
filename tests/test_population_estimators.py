"""A population's agents may each have their own estimator: the critic-free ones collect
whole episodes, as VPGTrainer does, beside fixed-length agents in the same loop."""

import numpy as np
import pytest
import torch

from vpg_sim.core.config import config_for
from vpg_sim.core.envs import make_vector_env
from vpg_sim.core.networks import CategoricalPolicy, ValueNet
from vpg_sim.core.population.envs import BatchedCartPole
from vpg_sim.core.population.trainer import PopulationTrainer
from vpg_sim.core.trainer import VPGTrainer

SMALL = {"num_envs": 4, "steps_per_update": 128, "vf_iters": 2, "vf_minibatch_size": 48}
EPISODE_FIELDS = ("update", "env_steps", "episodes", "mean_return_100", "max_return_100", "mean_length_100")
LOSS_FIELDS = ("policy_loss", "value_loss", "entropy", "approx_kl", "explained_variance", "policy_lr")


def assert_same_run(got: dict, expected: dict) -> None:
    """Collection exactly (the same envs, noise and actions); losses within float rounding."""
    assert {k: got[k] for k in EPISODE_FIELDS} == {k: expected[k] for k in EPISODE_FIELDS}
    for name in LOSS_FIELDS:
        assert got[name] == pytest.approx(expected[name], rel=1e-3, abs=1e-6, nan_ok=True), name


@pytest.mark.parametrize("estimator", ["total-return", "reward-to-go"])
def test_a_population_of_one_with_a_critic_free_estimator_matches_vpg_trainer(estimator):
    config = config_for("CartPole-v1", seed=3, estimator=estimator, **SMALL)
    trainer, population = VPGTrainer(config), PopulationTrainer([config])
    sizes = set()
    for _ in range(6):
        expected = trainer.train_update().to_dict()
        got = population.train_update()[0].to_dict()
        assert_same_run(got, expected)
        sizes.add(population.env_steps(0))
    assert len(sizes) == 6 and population.env_steps(0) > 6 * config.steps_per_update  # whole episodes: longer batches
    np.testing.assert_allclose(population.agents[0].last_advantages, trainer.last_advantages, rtol=1e-5, atol=1e-4)
    for ours, theirs in zip(population.policy_of(0).parameters(), trainer.policy.parameters(), strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


def test_each_agent_of_a_mixed_population_runs_as_its_lone_trainer():
    configs = [
        config_for("CartPole-v1", seed=0, estimator="baseline", **SMALL),
        config_for("CartPole-v1", seed=1, estimator="total-return", **SMALL),
        config_for("CartPole-v1", "textbook", seed=2, estimator="reward-to-go", **SMALL),
        config_for("CartPole-v1", "textbook", seed=3, **SMALL),
        config_for("CartPole-v1", seed=4, normalize_advantages=False, **SMALL),
    ]
    trainers, population = [VPGTrainer(config) for config in configs], PopulationTrainer(configs)
    for _ in range(5):
        stats = population.train_update()
        for agent, trainer in enumerate(trainers):
            assert_same_run(stats[agent].to_dict(), trainer.train_update().to_dict())


def test_an_estimator_turned_live_switches_batches_as_vpg_trainer_does():
    config = config_for("CartPole-v1", seed=6, **SMALL)
    trainer, population = VPGTrainer(config), PopulationTrainer([config, config.replace(seed=7)])
    for estimator in ("gae", "total-return", "total-return", "baseline", "reward-to-go", "gae"):
        if estimator != trainer.config.estimator:
            trainer.reconfigure(estimator=estimator)
            population.reconfigure(0, estimator=estimator)
        # after whole episodes, a fixed-length batch starts from fresh episodes: as the lone collector
        assert_same_run(population.train_update()[0].to_dict(), trainer.train_update().to_dict())
    assert population.agents[1].config.estimator == "gae"


def test_batched_cartpole_steps_only_the_agents_asked_and_resets_as_a_vector_env():
    seeds, num_envs = [3, 11, 5], 4
    batched = BatchedCartPole(num_envs, seeds)
    alone = [make_vector_env("CartPole-v1", num_envs, seed) for seed in seeds]
    for envs, seed in zip(alone, seeds, strict=True):
        envs.reset(seed=seed)
    rng = np.random.default_rng(0)
    for step in range(300):
        actions = rng.integers(0, 2, (len(seeds), num_envs))
        stepping = np.array([True, step % 3 == 0, step < 40])
        result = batched.step(actions, stepping)
        for agent in range(len(seeds)):
            if stepping[agent]:
                expected = alone[agent].step(actions[agent])[:4]
            else:  # standing still: where it was, nothing paid, nothing ended
                expected = (alone[agent].unwrapped.state.T.astype(np.float32), 0.0, False, False)
            for got, want in zip(result, expected, strict=True):
                np.testing.assert_array_equal(got[agent], np.broadcast_to(want, got[agent].shape))
        if step in (100, 200):
            batched.reset_agents([0, 2])
            for agent in (0, 2):
                np.testing.assert_array_equal(batched.observations()[agent], alone[agent].reset()[0])


def test_checkpoint_of_an_agent_holds_its_policy_and_critic_and_keeps_them_once_it_stops():
    configs = [config_for("CartPole-v1", seed=seed, **SMALL) for seed in (0, 1)]
    population = PopulationTrainer(configs)
    for _ in range(3):
        population.train_update()
    checkpoint = population.checkpoint_of(1)
    policy = CategoricalPolicy(4, 2, configs[1].hidden_sizes, configs[1].activation)
    policy.load_state_dict(checkpoint.policy_state)
    critic = ValueNet(4, configs[1].hidden_sizes, configs[1].activation)
    critic.load_state_dict(checkpoint.value_state)
    observations = torch.randn(5, 4)
    stacked = observations[None].expand(2, -1, -1)
    torch.testing.assert_close(policy.logits_net(observations), population.policy(stacked)[1])
    normalized = population.value(stacked)[1, :, 0]
    torch.testing.assert_close(critic(observations), population.target_mean[1] + population.target_std[1] * normalized)
    assert (checkpoint.update, checkpoint.env_steps) == (3, 3 * configs[1].steps_per_update)
    assert checkpoint.mean_return_100 == population.mean_return_100(1)

    population.stop([1])
    population.train_update()
    kept = population.checkpoint_of(1)
    for name in ("policy_state", "value_state"):
        for key, tensor in getattr(checkpoint, name).items():
            torch.testing.assert_close(getattr(kept, name)[key], tensor, rtol=0, atol=0)
    assert kept.update == 3 and population.checkpoint_of(0).update == 4
