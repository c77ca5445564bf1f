"""GAE and value targets against hand computations and a brute-force reference."""

import re

import numpy as np
import pytest

from vpg_sim.core.advantages import discounted_returns, explained_variance, gae_advantages, lambda_returns

GAMMA = 0.9
REWARDS = np.array([[1.0], [2.0], [3.0]])  # (T=3, N=1)
VALUES = np.array([[0.5], [0.2], [0.1]])
LAST_VALUES = np.array([0.7])
NO_FLAGS = np.zeros((3, 1), dtype=bool)


def flags(*steps: int) -> np.ndarray:
    array = np.zeros((3, 1), dtype=bool)
    array[list(steps), 0] = True
    return array


def test_lambda_one_is_discounted_reward_to_go_minus_baseline_with_batch_cut_bootstrap():
    # Reward-to-go from each t, gamma^0 on r_t, the cut bootstrapped with V(s_3) = 0.7:
    # G_2 = 3 + .9*.7 = 3.63;  G_1 = 2 + .9*3.63 = 5.267;  G_0 = 1 + .9*5.267 = 5.7403
    advantages = gae_advantages(REWARDS, VALUES, LAST_VALUES, NO_FLAGS, NO_FLAGS, GAMMA, 1.0)
    np.testing.assert_allclose(advantages[:, 0], [5.7403 - 0.5, 5.267 - 0.2, 3.63 - 0.1])


def test_lambda_zero_is_one_step_td_residual():
    advantages = gae_advantages(REWARDS, VALUES, LAST_VALUES, NO_FLAGS, NO_FLAGS, GAMMA, 0.0)
    np.testing.assert_allclose(advantages[:, 0], [1 + 0.9 * 0.2 - 0.5, 2 + 0.9 * 0.1 - 0.2, 3 + 0.9 * 0.7 - 0.1])


def test_termination_does_not_bootstrap_and_stops_the_recursion():
    # The episode ends in a terminal state at t=1; step 2 belongs to the next episode.
    advantages = gae_advantages(REWARDS, VALUES, LAST_VALUES, flags(1), NO_FLAGS, GAMMA, 1.0)
    assert advantages[1, 0] == pytest.approx(2.0 - 0.2)
    assert advantages[0, 0] == pytest.approx(1 + 0.9 * 2.0 - 0.5)


def test_truncation_bootstraps_with_value_of_final_observation():
    # Time limit at t=1. Under NEXT_STEP autoreset the row after it holds the final
    # observation, so values[2] is V(final obs): here 4.0.
    values = np.array([[0.5], [0.2], [4.0]])
    advantages = gae_advantages(REWARDS, values, LAST_VALUES, NO_FLAGS, flags(1), GAMMA, 1.0)
    assert advantages[1, 0] == pytest.approx(2 + 0.9 * 4.0 - 0.2)
    assert advantages[0, 0] == pytest.approx(1 + 0.9 * (2 + 0.9 * 4.0) - 0.5)
    # ...and nothing of step 2 (another episode) leaks into step 1.
    other_rewards = REWARDS.copy()
    other_rewards[2, 0] = 1000.0
    changed = gae_advantages(other_rewards, values, LAST_VALUES, NO_FLAGS, flags(1), GAMMA, 1.0)
    np.testing.assert_allclose(changed[:2], advantages[:2])


def brute_force_gae(rewards, values, last_values, terminated, truncated, gamma, lam):
    """Straight from the definition, one env and one t at a time:
    A_t = sum_l (gamma * lam)^l * delta_{t+l}, summed until the episode ends."""
    num_steps, num_envs = rewards.shape
    result = np.zeros_like(rewards)
    for env in range(num_envs):
        next_value = np.append(values[1:, env], last_values[env])
        deltas = [
            rewards[t, env] + gamma * next_value[t] * (not terminated[t, env]) - values[t, env]
            for t in range(num_steps)
        ]
        for t in range(num_steps):
            total, weight = 0.0, 1.0
            for k in range(t, num_steps):
                total += weight * deltas[k]
                if terminated[k, env] or truncated[k, env]:
                    break
                weight *= gamma * lam
            result[t, env] = total
    return result


@pytest.mark.parametrize("lam", [0.0, 0.5, 0.95, 1.0])
def test_several_envs_interleaved_match_the_definition(lam):
    rng = np.random.default_rng(3)
    shape = (40, 5)
    rewards = rng.normal(size=shape)
    values = rng.normal(size=shape)
    last_values = rng.normal(size=shape[1])
    terminated = rng.random(shape) < 0.08
    truncated = ~terminated & (rng.random(shape) < 0.05)
    expected = brute_force_gae(rewards, values, last_values, terminated, truncated, 0.97, lam)
    actual = gae_advantages(rewards, values, last_values, terminated, truncated, 0.97, lam)
    assert actual.shape == shape
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12)


def test_lambda_one_matches_monte_carlo_returns_of_a_whole_episode():
    # One episode of 4 steps ending in termination: A_t + V_t is the plain return-to-go.
    rewards = np.array([[1.0], [1.0], [1.0], [1.0]])
    values = np.array([[3.0], [-2.0], [7.0], [0.5]])
    terminated = np.array([[False], [False], [False], [True]])
    advantages = gae_advantages(rewards, values, np.array([99.0]), terminated, np.zeros_like(terminated), 0.5, 1.0)
    returns = lambda_returns(advantages, values)
    np.testing.assert_allclose(returns[:, 0], [1.875, 1.75, 1.5, 1.0])


def test_mismatched_shapes_are_refused_not_broadcast():
    # The seed post's bug: (T,) against (T, 1) broadcasts to a T x T matrix.
    with pytest.raises(ValueError, match=re.escape("rewards must be (T, N)")):
        gae_advantages(REWARDS[:, 0], VALUES, LAST_VALUES, NO_FLAGS, NO_FLAGS, GAMMA, 1.0)
    with pytest.raises(ValueError, match=re.escape("values has shape (3,), expected (3, 1)")):
        gae_advantages(REWARDS, VALUES[:, 0], LAST_VALUES, NO_FLAGS, NO_FLAGS, GAMMA, 1.0)
    with pytest.raises(ValueError, match="last_values"):
        gae_advantages(REWARDS, VALUES, np.array([0.7, 0.1]), NO_FLAGS, NO_FLAGS, GAMMA, 1.0)
    with pytest.raises(ValueError, match="shape"):
        lambda_returns(np.zeros(3), np.zeros((3, 1)))


def test_explained_variance():
    targets = np.array([1.0, 2.0, 3.0, 4.0])
    assert explained_variance(targets.copy(), targets) == pytest.approx(1.0)
    assert explained_variance(np.full(4, targets.mean()), targets) == pytest.approx(0.0)
    assert np.isnan(explained_variance(np.zeros(3), np.ones(3)))


def test_explained_variance_is_undefined_when_the_targets_barely_vary():
    # A solved CartPole batch: every target 99.99 within 0.001; a near-perfect critic
    # would otherwise score far below 0.
    targets = 99.99 + np.array([0.001, -0.001, 0.0005, -0.0005])
    assert np.isnan(explained_variance(targets + 0.002, targets))
    spread = np.array([90.0, 95.0, 99.0, 99.9])  # mid-run: targets that vary, a score that means something
    assert explained_variance(spread.copy(), spread) == 1.0


def test_discounted_returns_start_at_each_step():
    np.testing.assert_allclose(discounted_returns(np.array([1.0, 2.0, 4.0]), 0.5), [1 + 1 + 1, 2 + 2, 4])
    with pytest.raises(ValueError):
        discounted_returns(np.zeros((2, 1)), 0.5)
