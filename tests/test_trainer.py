"""The learner as a whole: direction of the gradient, seeding, the NaN guard, bad envs."""

import dataclasses
import math
import re

import numpy as np
import pytest
import torch

from tests.toy_envs import ENDLESS
from vpg_sim.core.config import FIELD_RULES, VPGConfig, config_for
from vpg_sim.core.envs import UnsupportedEnvError
from vpg_sim.core.networks import ValueNet
from vpg_sim.core.trainer import UpdateStats, VPGTrainer

SMALL = {"num_envs": 4, "steps_per_update": 128, "vf_iters": 2, "vf_minibatch_size": 64}


def test_policy_learns_the_better_arm_of_a_bandit():
    trainer = VPGTrainer(VPGConfig(env_id="VpgSimTest/TwoArmedBandit-v0", policy_lr=1e-2, **SMALL))
    observation = torch.zeros(1, 1)
    start = trainer.policy.distribution(observation).probs[0, 1].item()
    for _ in range(40):
        trainer.train_update()
    end = trainer.policy.distribution(observation).probs[0, 1].item()
    assert start == pytest.approx(0.5, abs=0.05)
    assert end > 0.95


def test_gaussian_policy_moves_its_mean_toward_the_better_action():
    trainer = VPGTrainer(VPGConfig(env_id="VpgSimTest/ContinuousBandit-v0", policy_lr=1e-2, init_log_std=0.0, **SMALL))
    observation = torch.zeros(1, 1)
    assert abs(trainer.policy.greedy(observation).item()) < 0.1
    for _ in range(150):
        trainer.train_update()
    assert trainer.policy.greedy(observation).item() == pytest.approx(1.0, abs=0.25)


def test_rollout_shapes_are_explicit():
    trainer = VPGTrainer(config_for("CartPole-v1", **SMALL))
    batch = trainer.collect()
    steps, envs = 32, 4
    assert batch.observations.shape == (steps, envs, 4)
    for name in ("actions", "rewards", "values", "terminated", "truncated", "valid"):
        assert getattr(batch, name).shape == (steps, envs), name
    assert batch.last_values.shape == (envs,)


def test_reset_steps_after_an_episode_end_are_masked_out():
    trainer = VPGTrainer(config_for("CartPole-v1", **SMALL))
    batch = trainer.collect()  # a random policy ends episodes within ~20 steps
    done = batch.terminated | batch.truncated
    assert done[:-1].any()
    # The step after each done step is the env's autoreset: not experience.
    np.testing.assert_array_equal(batch.valid[1:], ~done[:-1])
    assert (batch.rewards[~batch.valid] == 0).all()


def run_stats(config: VPGConfig, updates: int) -> list[dict]:
    trainer = VPGTrainer(config)
    timing = UpdateStats.timing_fields()
    records = []
    for _ in range(updates):
        stats = trainer.train_update().to_dict()
        records.append({k: v for k, v in stats.items() if k not in timing})
    return records


def test_same_seed_same_stats_bit_for_bit():
    config = config_for("CartPole-v1", seed=7, **SMALL)
    first, second = run_stats(config, 4), run_stats(config, 4)
    assert first == second  # exact float equality, NaN-free after the first episodes
    assert run_stats(config.replace(seed=8), 4) != first


def test_seeded_run_ignores_other_users_of_torch_global_rng():
    config = config_for("CartPole-v1", seed=3, **SMALL)
    reference = run_stats(config, 2)
    torch.manual_seed(12345)
    torch.rand(1000)  # what a window thread sampling actions would do
    assert run_stats(config, 2) == reference


def test_non_finite_loss_rolls_back_and_training_continues():
    trainer = VPGTrainer(VPGConfig(env_id="VpgSimTest/NanRewardCartPole-v0", **SMALL))
    before = [p.detach().clone() for p in (*trainer.policy.parameters(), *trainer.value_net.parameters())]
    stats = trainer.train_update()  # the 20th step of each copy pays NaN
    after = list((*trainer.policy.parameters(), *trainer.value_net.parameters()))
    assert stats.nan_rollbacks == 1
    assert math.isnan(stats.policy_loss)
    for old, new in zip(before, after, strict=True):
        torch.testing.assert_close(old, new, rtol=0, atol=0)
    following = trainer.train_update()
    assert following.nan_rollbacks == 1
    assert math.isfinite(following.policy_loss) and math.isfinite(following.value_loss)
    assert all(torch.isfinite(p).all() for p in trainer.policy.parameters())


def test_critic_blow_up_rolls_back_both_nets_and_the_target_statistics():
    trainer = VPGTrainer(config_for("CartPole-v1", **SMALL))
    trainer.train_update()
    before_update = trainer.checkpoint()
    policy_before, value_before = before_update.policy_state, before_update.value_state
    policy_lr_before = trainer.policy_optimizer.param_groups[0]["lr"]
    trainer.value_optimizer.param_groups[0]["lr"] = math.inf  # the critic's step turns its weights to NaN
    stats = trainer.train_update()
    assert stats.nan_rollbacks == 1 and math.isnan(stats.value_loss)
    # The policy step ran (and adapted its learning rate) before the critic blew up: undone too.
    assert trainer.policy_optimizer.param_groups[0]["lr"] == policy_lr_before
    after = trainer.checkpoint()
    for before, now in ((policy_before, after.policy_state), (value_before, after.value_state)):
        assert before.keys() == now.keys()
        for name in before:
            torch.testing.assert_close(before[name], now[name], rtol=0, atol=0)
    assert "target_std" in value_before  # the statistics are part of what is restored
    # Nor does the Update panel's dissection show the undone policy step.
    assert trainer.last_step is None and after.last_step is None
    trainer.value_optimizer.param_groups[0]["lr"] = trainer.config.value_lr
    trainer.train_update()
    assert trainer.last_step is not None  # the next update's step, once one stands


def test_update_stats_give_the_learning_rate_the_update_stepped_with():
    trainer = VPGTrainer(config_for("CartPole-v1", **SMALL))  # target_kl 0.03: the rate adapts
    used, reported = [], []
    for _ in range(4):
        used.append(trainer.policy_optimizer.param_groups[0]["lr"])
        reported.append(trainer.train_update().policy_lr)
    assert reported == used
    assert reported[0] == trainer.config.policy_lr
    assert len(set(used)) > 1  # it did adapt between updates: the rate after an update is the next one's


def policy_step_on(advantages_scale: float, **overrides) -> tuple[VPGTrainer, dict[str, float]]:
    """A fresh seeded trainer's policy step on one CartPole batch, advantages of std
    ``advantages_scale`` (the same draw each call)."""
    trainer = VPGTrainer(config_for("CartPole-v1", **{**SMALL, **overrides}))
    batch = trainer.collect()
    valid = batch.valid
    noise = np.random.default_rng(0).standard_normal(int(valid.sum()))
    advantages = (noise - noise.mean()) / noise.std() * advantages_scale
    observations, actions = torch.from_numpy(batch.observations[valid]), torch.from_numpy(batch.actions[valid])
    return trainer, trainer._policy_step(observations, actions, advantages)


def test_advantages_under_the_std_floor_are_divided_by_the_floor_not_scaled_to_std_1():
    # A solved CartPole batch's advantages are critic noise (std ~1e-4): normalised to
    # std 1 they made full-size random steps. Under the floor they stay as small as they are.
    floor = config_for("CartPole-v1").advantage_std_floor
    _, signal = policy_step_on(1.0)
    _, noise = policy_step_on(1e-4)
    # The loss is linear in the advantages: 1e-4 of noise divided by the floor, not by 1e-4.
    assert noise["policy_loss"] == pytest.approx(signal["policy_loss"] * 1e-4 / floor, rel=1e-3)
    _, unfloored = policy_step_on(1e-4, advantage_std_floor=0.0)
    assert unfloored["policy_loss"] == pytest.approx(signal["policy_loss"], rel=1e-3)


def test_policy_lr_does_not_grow_after_a_batch_under_the_advantage_std_floor():
    # A tiny rate keeps both steps far under target_kl / 2, where the rate would grow.
    trainer, stats = policy_step_on(1.0, policy_lr=1e-6)
    assert stats["approx_kl"] < 0.5 * trainer.config.target_kl
    assert trainer.policy_optimizer.param_groups[0]["lr"] == pytest.approx(1.5e-6)
    trainer, stats = policy_step_on(1e-4, policy_lr=1e-6)
    assert stats["approx_kl"] < 0.5 * trainer.config.target_kl
    assert trainer.policy_optimizer.param_groups[0]["lr"] == pytest.approx(1e-6)


@pytest.mark.parametrize(
    ("env_id", "message"),
    [
        ("NoSuchEnv-v0", "unknown environment id 'NoSuchEnv-v0'"),
        ("FrozenLake-v1", "observation space Discrete"),
        ("VpgSimTest/DictObservation-v0", "observation space Dict"),
        ("VpgSimTest/MultiDiscreteAction-v0", "action space MultiDiscrete"),
    ],
)
def test_unsupported_envs_give_one_clear_line(env_id, message):
    with pytest.raises(UnsupportedEnvError, match=message) as caught:
        VPGTrainer(VPGConfig(env_id=env_id, **SMALL))
    assert "\n" not in str(caught.value)


def test_invalid_config_names_every_problem():
    with pytest.raises(ValueError, match="gamma must be in") as caught:
        VPGConfig(gamma=1.5, policy_lr=-1.0)
    assert "policy_lr must be in (0, 10]" in str(caught.value)


def test_every_config_field_has_a_validation_rule():
    assert set(FIELD_RULES) == {field.name for field in dataclasses.fields(VPGConfig)}


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"num_envs": 10**9}, "num_envs must be in [1, 1,024]"),
        ({"seed": 2**70}, "seed must be in [0, 4,294,967,295]"),
        ({"seed": -1}, "seed must be in"),
        ({"hidden_sizes": (100_000, 100_000)}, "hidden_sizes must be 1 to 8 layer widths"),
        ({"torch_threads": 10**6}, "torch_threads must be in [1, 64]"),
        ({"total_steps": 10**23}, "total_steps must be in"),
        ({"gamma": "0.9"}, "gamma must be a number"),
        ({"vf_iters": 2.5}, "vf_iters must be a whole number"),
        ({"normalize_advantages": "yes"}, "normalize_advantages must be true or false"),
        ({"init_log_std": math.inf}, "init_log_std must be in"),
    ],
)
def test_absurd_or_mistyped_values_are_refused_in_one_line(changes, problem):
    with pytest.raises(ValueError, match=re.escape(problem)) as caught:
        VPGConfig(**changes)
    assert "\n" not in str(caught.value)


def test_presets_exist_for_the_classic_envs():
    for env_id in ("CartPole-v1", "Acrobot-v1", "Pendulum-v1"):
        config = config_for(env_id)
        assert config.env_id == env_id
        assert VPGConfig.from_dict(config.to_dict()) == config


@pytest.mark.slow
def test_cartpole_mean_return_passes_195_quickly():
    trainer = VPGTrainer(config_for("CartPole-v1", seed=0))
    while trainer.env_steps < 150_000:
        stats = trainer.train_update()
        if stats.episodes >= 100 and stats.mean_return_100 >= 195:
            break
    assert stats.mean_return_100 >= 195, stats


def test_retarget_keeps_every_value_and_the_network_fits_in_target_units():
    torch.manual_seed(0)
    critic = ValueNet(4, (64, 64), "tanh")
    observations = torch.randn(256, 4)
    with torch.no_grad():
        before = critic(observations)
        critic.retarget(120.0, 35.0)
        after_first = critic(observations)
        critic.retarget(-3.0, 0.5)
        after_second = critic(observations)
    torch.testing.assert_close(after_first, before, rtol=0, atol=1e-4)
    torch.testing.assert_close(after_second, before, rtol=0, atol=1e-4)
    assert float(critic.target_mean) == -3.0 and float(critic.target_std) == 0.5


def test_target_statistics_follow_batches_as_a_mixture_of_distributions():
    trainer = VPGTrainer(config_for("CartPole-v1", value_normalization_rate=0.25, **SMALL))
    first = torch.tensor([10.0, 20.0, 30.0])
    mean, std = trainer._normalize_targets(first)  # the first batch sets them outright
    assert (mean, std) == pytest.approx((20.0, float(first.double().std(correction=0))))
    second = torch.tensor([100.0, 100.0])
    mean, std = trainer._normalize_targets(second)
    # The same numbers as weighting the two batches' distributions 0.75 : 0.25.
    assert mean == pytest.approx(0.75 * 20.0 + 0.25 * 100.0)
    expected_var = 0.75 * first.double().var(correction=0).item() + 0.25 * 0.0 + 0.75 * 0.25 * (100.0 - 20.0) ** 2
    assert std == pytest.approx(math.sqrt(expected_var))
    assert (float(trainer.value_net.target_mean), float(trainer.value_net.target_std)) == pytest.approx((mean, std))


@pytest.mark.parametrize(
    "changes",
    [
        {"policy_lr": math.nan},
        {"value_lr": math.inf},
        {"entropy_coef": math.inf},
        {"gamma": math.nan},
        {"advantage_std_floor": math.nan},
    ],
)
def test_config_refuses_non_finite_values(changes):
    with pytest.raises(ValueError, match="invalid config"):
        config_for("CartPole-v1", **changes)


def test_the_critic_learns_one_over_one_minus_gamma_where_a_time_limit_cuts_an_endless_reward():
    # As Stable-Baselines3's GAE tests check: reward 1 forever, cut every 20 steps by a time
    # limit. A cut is not an end, so V(s) = 1 / (1 - 0.9) = 10 in the one state there is;
    # treating the cut as terminal would teach the mean of the truncated sums, ~6.1.
    config = VPGConfig(
        env_id=ENDLESS, gamma=0.9, hidden_sizes=(16,), value_lr=1e-2, **{**SMALL, "vf_iters": 4}
    )
    trainer = VPGTrainer(config)
    for _ in range(20):
        trainer.train_update()
    trainer.close()
    with torch.no_grad():
        value = float(trainer.value_net(torch.zeros(1, 1))[0])
    assert value == pytest.approx(1 / (1 - 0.9), rel=0.02)
