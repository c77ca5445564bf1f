"""NudgeWrapper: pushes change the right velocities by the right amounts, at the right time."""

from __future__ import annotations

import math
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from vpg_sim.core.nudge import (
    ACROBOT_GAIN,
    DEFAULT_IMPULSE,
    MAX_IMPULSE,
    MOUNTAIN_CAR_GAIN,
    PENDULUM_PUSH_POINT,
    NudgeWrapper,
    cartpole_impulse_response,
)

SEED = 3
SUPPORTED_IDS = ["CartPole-v1", "MountainCar-v0", "Pendulum-v1", "Acrobot-v1"]


def spy_on_physics(env: gym.Env, monkeypatch: pytest.MonkeyPatch) -> list:
    """Record the raw state the unwrapped env's ``step`` starts from, i.e. right after any push."""
    unwrapped = env.unwrapped
    original_step = unwrapped.step
    seen: list = []

    def step(action):
        state = unwrapped.state
        seen.append(tuple(state) if isinstance(state, tuple) else np.array(state, copy=True))
        return original_step(action)

    monkeypatch.setattr(unwrapped, "step", step)
    return seen


def twin_envs(env_id: str, steps: int = 5, action=0) -> tuple[NudgeWrapper, gym.Env]:
    """A wrapped env and a plain one, same seed, stepped identically to a mid-episode state."""
    pushed, plain = NudgeWrapper(gym.make(env_id)), gym.make(env_id)
    pushed.reset(seed=SEED)
    plain.reset(seed=SEED)
    for _ in range(steps):
        pushed.step(action)
        plain.step(action)
    np.testing.assert_array_equal(np.asarray(pushed.unwrapped.state), np.asarray(plain.unwrapped.state))
    return pushed, plain


def expected_cartpole_change(env: gym.Env, theta: float, impulse: float) -> tuple[float, float]:
    """The impulse response written out independently of the module (see its docstring)."""
    cp = env.unwrapped
    big_m, m_p, half = cp.total_mass, cp.masspole, cp.length
    d_theta_dot = -math.cos(theta) * (impulse / big_m) / (half * (4 / 3 - m_p * math.cos(theta) ** 2 / big_m))
    d_x_dot = impulse / big_m - m_p * half * d_theta_dot * math.cos(theta) / big_m
    return d_x_dot, d_theta_dot


# -- CartPole physics ---------------------------------------------------------------------


def test_cartpole_push_changes_velocities_by_the_impulse_response_before_the_physics_step(monkeypatch):
    pushed, plain = twin_envs("CartPole-v1", steps=6, action=1)
    before = np.array(plain.unwrapped.state, dtype=np.float64)
    assert before[2] != 0.0  # a tilted pole, so cosθ matters
    seen = spy_on_physics(pushed, monkeypatch)

    pushed.push(DEFAULT_IMPULSE)
    obs_pushed, *_ = pushed.step(0)

    d_x_dot, d_theta_dot = expected_cartpole_change(plain, before[2], DEFAULT_IMPULSE)
    start = seen[0]
    assert start[0] == before[0] and start[2] == before[2]  # positions do not jump
    np.testing.assert_allclose(start[1] - before[1], d_x_dot, rtol=1e-12)
    np.testing.assert_allclose(start[3] - before[3], d_theta_dot, rtol=1e-12)

    # The returned observation is CartPole's own step from the pushed state: a plain env
    # put in that state and given the same action produces it (to float32 precision).
    plain.unwrapped.state = before + np.array([0.0, d_x_dot, 0.0, d_theta_dot])
    obs_expected, *_ = plain.step(0)
    np.testing.assert_allclose(obs_pushed, obs_expected, rtol=1e-6, atol=1e-7)
    # Euler integrates the new velocities once: x and θ move by tau times them.
    tau = plain.unwrapped.tau
    np.testing.assert_allclose(obs_pushed[0], np.float32(before[0] + tau * start[1]), rtol=1e-6)
    np.testing.assert_allclose(obs_pushed[2], np.float32(before[2] + tau * start[3]), rtol=1e-6)


def test_cartpole_push_with_upright_pole_has_the_effective_mass_of_cart_plus_quarter_pole(monkeypatch):
    pushed = NudgeWrapper(gym.make("CartPole-v1"))
    pushed.reset(seed=SEED)
    pushed.unwrapped.state = np.zeros(4)
    seen = spy_on_physics(pushed, monkeypatch)
    pushed.push(DEFAULT_IMPULSE)
    pushed.step(0)

    cp = pushed.unwrapped
    big_m, m_p = cp.total_mass, cp.masspole
    expected = DEFAULT_IMPULSE / big_m * (1 + m_p / (big_m * (4 / 3 - m_p / big_m)))
    assert seen[0][1] == pytest.approx(expected, rel=1e-12)
    assert seen[0][1] == pytest.approx(DEFAULT_IMPULSE / (cp.masscart + m_p / 4), rel=1e-12)  # 1/1.025
    assert seen[0][1] == pytest.approx(0.975609756097561, rel=1e-12)
    assert seen[0][3] == pytest.approx(-1.4634146341463414, rel=1e-12)  # the pole tips back
    assert cartpole_impulse_response(
        0.0, DEFAULT_IMPULSE, total_mass=big_m, masspole=m_p, half_length=cp.length
    ) == pytest.approx((0.975609756097561, -1.4634146341463414), rel=1e-12)


@pytest.mark.parametrize("impulse", [-DEFAULT_IMPULSE, DEFAULT_IMPULSE])
def test_cartpole_negative_push_moves_cart_left_and_positive_right(impulse):
    pushed, plain = twin_envs("CartPole-v1")
    pushed.push(impulse)
    obs_pushed, *_ = pushed.step(1)
    obs_plain, *_ = plain.step(1)
    assert np.sign(obs_pushed[1] - obs_plain[1]) == np.sign(impulse)  # ẋ
    assert np.sign(obs_pushed[0] - obs_plain[0]) == np.sign(impulse)  # x, after one Euler step
    assert np.sign(obs_pushed[2] - obs_plain[2]) == -np.sign(impulse)  # the pole lags behind


def test_cartpole_state_kept_as_a_tuple_is_written_back_as_a_tuple(monkeypatch):
    pushed = NudgeWrapper(gym.make("CartPole-v1"))
    pushed.reset(seed=SEED)
    before = (0.1, -0.2, 0.05, 0.3)
    pushed.unwrapped.state = before
    seen = spy_on_physics(pushed, monkeypatch)
    pushed.push(DEFAULT_IMPULSE)
    obs, *_ = pushed.step(0)
    assert isinstance(seen[0], tuple)
    d_x_dot, d_theta_dot = expected_cartpole_change(pushed, before[2], DEFAULT_IMPULSE)
    np.testing.assert_allclose(seen[0], np.add(before, [0.0, d_x_dot, 0.0, d_theta_dot]), rtol=1e-12)
    assert obs.dtype == np.float32 and pushed.observation_space.contains(obs)


# -- queueing, reset, counter -------------------------------------------------------------


def test_pushes_queued_before_one_step_add_up(monkeypatch):
    single, _ = twin_envs("CartPole-v1")
    double, _ = twin_envs("CartPole-v1")
    seen_single, seen_double = spy_on_physics(single, monkeypatch), spy_on_physics(double, monkeypatch)
    single.push(1.0)
    double.push(0.25)
    double.push(0.75)
    assert double.queued_impulse == 1.0
    single.step(0)
    double.step(0)
    np.testing.assert_allclose(seen_double[0], seen_single[0], rtol=1e-12)
    assert double.pushes == 2 and double.last_impulse == 1.0


def test_opposite_pushes_in_one_step_cancel_and_count_as_nothing(monkeypatch):
    pushed, plain = twin_envs("CartPole-v1")
    seen = spy_on_physics(pushed, monkeypatch)
    pushed.push(0.5)
    pushed.push(-0.5)
    pushed.step(0)
    np.testing.assert_array_equal(seen[0], plain.unwrapped.state)
    assert pushed.pushes == 0 and pushed.last_impulse is None  # nothing moved: nothing to count or show


def test_reset_clears_queued_impulse_but_keeps_the_counter(monkeypatch):
    pushed = NudgeWrapper(gym.make("CartPole-v1"))
    plain = gym.make("CartPole-v1")
    pushed.reset(seed=SEED)
    pushed.push(DEFAULT_IMPULSE)
    pushed.step(0)
    assert pushed.pushes == 1

    pushed.push(-DEFAULT_IMPULSE)
    pushed.reset(seed=SEED + 1)
    plain.reset(seed=SEED + 1)
    assert pushed.queued_impulse == 0.0
    seen = spy_on_physics(pushed, monkeypatch)
    obs_pushed, *_ = pushed.step(0)
    obs_plain, *_ = plain.step(0)
    np.testing.assert_array_equal(obs_pushed, obs_plain)
    assert len(seen) == 1
    assert pushed.pushes == 1 and pushed.last_impulse == DEFAULT_IMPULSE


def test_counter_counts_pushes_only_once_a_step_applies_them():
    pushed = NudgeWrapper(gym.make("CartPole-v1"))
    pushed.reset(seed=SEED)
    assert pushed.pushes == 0 and pushed.last_impulse is None
    pushed.push(-0.3)
    assert pushed.pushes == 0 and pushed.last_impulse is None  # queued, not applied
    pushed.step(0)
    assert pushed.pushes == 1 and pushed.last_impulse == pytest.approx(-0.3)
    pushed.step(0)  # nothing queued: nothing changes
    assert pushed.pushes == 1 and pushed.last_impulse == pytest.approx(-0.3)
    pushed.push(0.0)  # a click without a drag
    pushed.step(0)
    assert pushed.pushes == 1


def test_applied_impulse_is_clipped_to_the_maximum(monkeypatch):
    pushed, plain = twin_envs("CartPole-v1")
    seen = spy_on_physics(pushed, monkeypatch)
    before = np.array(plain.unwrapped.state)
    pushed.push(1e6)
    pushed.step(0)
    d_x_dot, _ = expected_cartpole_change(plain, before[2], MAX_IMPULSE)
    assert pushed.last_impulse == MAX_IMPULSE
    np.testing.assert_allclose(seen[0][1] - before[1], d_x_dot, rtol=1e-12)

    pushed.push(-1.5)
    pushed.push(-1.5)  # the sum is clipped too
    pushed.step(0)
    assert pushed.last_impulse == -MAX_IMPULSE


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_push_refuses_a_non_finite_impulse(bad):
    pushed = NudgeWrapper(gym.make("CartPole-v1"))
    pushed.reset(seed=SEED)
    with pytest.raises(ValueError, match="finite"):
        pushed.push(bad)
    assert pushed.queued_impulse == 0.0


def test_push_before_the_first_reset_asks_for_a_reset():
    pushed = NudgeWrapper(gym.make("CartPole-v1"))
    pushed.push(DEFAULT_IMPULSE)
    with pytest.raises(gym.error.ResetNeeded):
        pushed.step(0)


# -- check_env ----------------------------------------------------------------------------


def _check_env_warnings(env: gym.Env) -> set[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env, skip_render_check=True)
    # check_env says the env is wrapped (gym.make wraps it already); that one names the
    # wrapper stack, so it is dropped rather than compared.
    return {str(w.message) for w in caught if "is different from the unwrapped version" not in str(w.message)}


@pytest.mark.parametrize("env_id", SUPPORTED_IDS)
def test_wrapper_passes_check_env_with_no_warning_the_plain_env_does_not_give(env_id):
    plain_warnings = _check_env_warnings(gym.make(env_id))
    wrapped_warnings = _check_env_warnings(NudgeWrapper(gym.make(env_id)))
    assert wrapped_warnings <= plain_warnings


def test_wrapper_passes_check_env_after_pushes_were_applied():
    env = NudgeWrapper(gym.make("CartPole-v1"))
    env.reset(seed=SEED)
    env.push(DEFAULT_IMPULSE)
    env.step(0)
    env.push(DEFAULT_IMPULSE)  # queued, then dropped by check_env's resets
    assert _check_env_warnings(env) <= _check_env_warnings(gym.make("CartPole-v1"))


# -- the other envs -----------------------------------------------------------------------


def test_mountain_car_push_kicks_velocity_and_respects_max_speed(monkeypatch):
    pushed, plain = twin_envs("MountainCar-v0", steps=3, action=1)
    assert isinstance(pushed.unwrapped.state, tuple)  # MountainCar's step stores a tuple
    seen = spy_on_physics(pushed, monkeypatch)
    before = np.array(plain.unwrapped.state)
    pushed.push(-DEFAULT_IMPULSE)
    obs_pushed, *_ = pushed.step(1)
    obs_plain, *_ = plain.step(1)
    assert isinstance(seen[0], tuple)
    assert seen[0][0] == before[0]
    assert seen[0][1] == pytest.approx(before[1] - MOUNTAIN_CAR_GAIN * DEFAULT_IMPULSE, rel=1e-12)
    assert obs_pushed[1] < obs_plain[1] and obs_pushed[0] < obs_plain[0]  # left

    max_speed = pushed.unwrapped.max_speed
    pushed.unwrapped.state = (-0.5, max_speed - 0.001)
    pushed.push(MAX_IMPULSE)
    obs, *_ = pushed.step(1)
    assert seen[-1][1] == max_speed
    assert pushed.observation_space.contains(obs)


@pytest.mark.parametrize(
    ("theta", "impulse"),
    [(0.0, DEFAULT_IMPULSE), (0.0, -DEFAULT_IMPULSE), (math.pi, DEFAULT_IMPULSE), (0.3, -DEFAULT_IMPULSE)],
    ids=["top-right", "top-left", "hanging-right", "tilted-left"],
)
def test_pendulum_push_moves_the_tip_in_the_push_direction(monkeypatch, theta, impulse):
    pushed = NudgeWrapper(gym.make("Pendulum-v1"))
    pushed.reset(seed=SEED)
    pushed.unwrapped.state = np.array([theta, 0.0])
    seen = spy_on_physics(pushed, monkeypatch)
    pushed.push(impulse)
    pushed.step(np.zeros(1, np.float32))

    pend = pushed.unwrapped
    inertia = pend.m * pend.l**2 / 3  # uniform rod about its end
    expected = -impulse * PENDULUM_PUSH_POINT * pend.l * math.cos(theta) / inertia
    assert seen[0][0] == theta
    assert seen[0][1] == pytest.approx(expected, rel=1e-12)
    # The tip is drawn at x = -l sinθ, so its sideways velocity is -l cosθ θ̇.
    tip_x_velocity = -pend.l * math.cos(theta) * seen[0][1]
    assert np.sign(tip_x_velocity) == np.sign(impulse)


def test_pendulum_push_respects_max_speed(monkeypatch):
    pushed = NudgeWrapper(gym.make("Pendulum-v1"))
    pushed.reset(seed=SEED)
    max_speed = pushed.unwrapped.max_speed
    pushed.unwrapped.state = np.array([0.0, -max_speed + 0.5])
    seen = spy_on_physics(pushed, monkeypatch)
    pushed.push(MAX_IMPULSE)  # at the top, a push right makes θ̇ more negative
    obs, *_ = pushed.step(np.zeros(1, np.float32))
    assert seen[0][1] == -max_speed
    assert pushed.observation_space.contains(obs)


def test_acrobot_push_kicks_link_one_and_respects_its_velocity_limit(monkeypatch):
    pushed, plain = twin_envs("Acrobot-v1", steps=0)
    assert pushed.unwrapped.state.dtype == np.float32  # Acrobot resets to float32
    seen = spy_on_physics(pushed, monkeypatch)
    before = np.array(plain.unwrapped.state, dtype=np.float64)
    pushed.push(DEFAULT_IMPULSE)
    obs_pushed, *_ = pushed.step(1)
    obs_plain, *_ = plain.step(1)
    assert seen[0].dtype == np.float32  # written back in the env's own dtype
    expected = before + np.array([0.0, 0.0, ACROBOT_GAIN * DEFAULT_IMPULSE, 0.0])
    np.testing.assert_allclose(seen[0], expected, rtol=1e-6, atol=1e-7)  # float32 state
    assert obs_pushed[4] > obs_plain[4]  # dθ1: hanging, the elbow swings right

    limit = pushed.unwrapped.MAX_VEL_1
    pushed.unwrapped.state = np.array([0.0, 0.0, -limit + 0.5, 0.0])
    pushed.push(-MAX_IMPULSE)
    obs, *_ = pushed.step(1)
    assert seen[-1][2] == -limit
    assert pushed.observation_space.contains(obs)


# -- what cannot be pushed ----------------------------------------------------------------


@pytest.mark.parametrize("env_id", SUPPORTED_IDS)
def test_supported_envs_are_reported_as_supported(env_id):
    env = gym.make(env_id)
    assert NudgeWrapper.supports(env) and NudgeWrapper.supports(env.unwrapped)
    assert NudgeWrapper(env).supported


def test_unsupported_env_is_reported_by_name_and_still_steps():
    env = NudgeWrapper(gym.make("VpgSimTest/TwoArmedBandit-v0"))
    assert not NudgeWrapper.supports(env) and not env.supported
    with pytest.raises(ValueError, match=r"nudging is not available for VpgSimTest/TwoArmedBandit-v0"):
        env.push(DEFAULT_IMPULSE)
    env.reset(seed=SEED)
    _, reward, terminated, _, _ = env.step(1)
    assert reward == 1.0 and terminated
    assert env.pushes == 0
