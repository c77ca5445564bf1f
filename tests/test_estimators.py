"""The four choices of Phi_t, each against a hand computation, and how each meets the ends
of episodes."""

import numpy as np
import pytest

from vpg_sim.core.advantages import (
    CRITIC_FREE,
    ESTIMATORS,
    estimated_advantages,
    gae_advantages,
)
from vpg_sim.core.config import config_for
from vpg_sim.core.trainer import VPGTrainer

# One env, six steps: an episode of three steps that terminates, then the reset step,
# then an episode of two steps cut by a time limit.
REWARDS = np.array([[1.0], [2.0], [4.0], [0.0], [1.0], [1.0]])
TERMINATED = np.array([[False], [False], [True], [False], [False], [False]])
TRUNCATED = np.array([[False], [False], [False], [False], [False], [True]])
VALID = np.array([[True], [True], [True], [False], [True], [True]])
VALUES = np.array([[3.0], [2.0], [1.0], [9.0], [0.5], [0.25]])
LAST = np.array([7.0])
GAMMA = 0.5


def phi(estimator, gae_lambda=0.9):
    return estimated_advantages(
        estimator, REWARDS, VALUES, LAST, TERMINATED, TRUNCATED, VALID, GAMMA, gae_lambda
    )[:, 0]


def test_total_return_weighs_every_step_of_an_episode_by_its_whole_discounted_return():
    first = 1 + 0.5 * 2 + 0.25 * 4  # 3.0
    second = 1 + 0.5 * 1  # 1.5: cut by the time limit, nothing bootstrapped (no critic)
    np.testing.assert_allclose(phi("total-return")[VALID[:, 0]], [first] * 3 + [second] * 2)


def test_reward_to_go_is_discounted_from_each_step_itself():
    np.testing.assert_allclose(phi("reward-to-go")[VALID[:, 0]], [3.0, 4.0, 4.0, 1.5, 1.0])


def test_baseline_is_reward_to_go_minus_v_and_bootstraps_a_time_limit():
    # The critic-based estimators bootstrap a truncation with V of the next observation
    # (here VALUES' row after the cut is the LAST value): G_t + gamma^(T-t) V(s_T) - V(s_t).
    expected = [3.0 - 3.0, 4.0 - 2.0, 4.0 - 1.0, (1 + 0.5 * 1 + 0.25 * 7.0) - 0.5, (1 + 0.5 * 7.0) - 0.25]
    np.testing.assert_allclose(phi("baseline")[VALID[:, 0]], expected)
    assert np.allclose(phi("baseline"), phi("gae", gae_lambda=1.0))


def test_gae_is_the_default_and_its_own_lambda():
    expected = gae_advantages(REWARDS, VALUES, LAST, TERMINATED, TRUNCATED, GAMMA, 0.3)[:, 0]
    np.testing.assert_allclose(phi("gae", gae_lambda=0.3), expected)


def test_an_unknown_estimator_is_refused():
    with pytest.raises(ValueError, match="unknown estimator"):
        phi("monte-carlo")


SMALL = {"num_envs": 4, "steps_per_update": 128, "vf_iters": 1, "vf_minibatch_size": 64}
RESET_BOUND = 0.05
"""CartPole's reset draws every coordinate of the state uniformly in [-0.05, 0.05]."""


@pytest.mark.parametrize("estimator", CRITIC_FREE)
def test_estimators_without_a_critic_get_batches_of_whole_episodes(estimator):
    trainer = VPGTrainer(config_for("CartPole-v1", estimator=estimator, **SMALL))
    batch = trainer.collect()
    trainer.close()
    assert batch.valid.sum() >= 128
    done = batch.terminated | batch.truncated
    for env in range(4):
        valid_steps = np.flatnonzero(batch.valid[:, env])
        # Every valid step's episode ends inside the batch: its last valid step is an end.
        assert done[valid_steps[-1], env]
        # And each episode starts at the batch's start or right after a reset step.
        assert valid_steps[0] == 0


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_every_estimator_trains(estimator):
    trainer = VPGTrainer(config_for("CartPole-v1", estimator=estimator, **SMALL))
    stats = [trainer.train_update() for _ in range(3)]
    trainer.close()
    assert stats[-1].update == 3 and all(np.isfinite(s.policy_loss) for s in stats)


def test_switching_from_whole_episodes_back_to_fixed_batches_starts_the_envs_afresh():
    trainer = VPGTrainer(config_for("CartPole-v1", estimator="reward-to-go", **SMALL))
    trainer.train_update()
    episodes = trainer.collector.episodes
    # The whole-episode batch left its envs mid-way through episodes it did not record.
    left_in = np.array(trainer.collector.resume_state()["observations"])
    assert np.abs(left_in).max() > RESET_BOUND
    trainer.reconfigure(estimator="gae")
    batch = trainer.collect()
    trainer.close()
    assert batch.valid[0].all()  # a fresh reset: no env is between two episodes
    # Every env starts the batch in a state CartPole resets to (each coordinate in +-0.05):
    # the unrecorded episodes were dropped, not played on and counted as if whole.
    assert np.abs(batch.observations[0]).max() <= RESET_BOUND
    # The episodes counted since are exactly those that ended inside this batch.
    assert trainer.collector.episodes - episodes == int((batch.terminated | batch.truncated).sum()) > 0


def test_the_update_dissection_is_what_the_step_did_to_each_sample():
    import torch

    from vpg_sim.core.networks import make_policy
    from vpg_sim.core.stabilisers import normalized_advantages

    trainer = VPGTrainer(config_for("CartPole-v1", **SMALL))
    trainer.train_update()  # past the first batch: the critic has statistics
    batch = trainer.collect()
    before = make_policy(trainer.observation_space, trainer.action_space, (64, 64), "tanh", -0.5)
    before.load_state_dict(trainer.policy.state_dict())
    trainer.update(batch)
    trainer.close()
    observations = torch.from_numpy(batch.observations[batch.valid])
    actions = torch.from_numpy(batch.actions[batch.valid])
    with torch.no_grad():
        change = trainer.policy.log_prob(observations, actions) - before.log_prob(observations, actions)
    step = trainer.last_step
    np.testing.assert_allclose(step.log_prob_change, change.numpy(), atol=1e-6)
    expected_weights = normalized_advantages(trainer.last_advantages.astype(np.float64), 0.1)
    np.testing.assert_allclose(step.weights, expected_weights, rtol=1e-5, atol=1e-6)
