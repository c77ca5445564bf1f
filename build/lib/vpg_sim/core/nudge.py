"""Nudges: push the stage's env sideways for an instant, to show a policy recovering (or not).

The speaker presses an arrow key (or drags on the stage); the UI calls
:meth:`NudgeWrapper.push` with a signed impulse, negative = left, positive = right.
The wrapper adds it to the env's physics state as an instantaneous velocity change
right before the next ``step()``'s physics, so the observation that step returns
already shows its effect. The policy chose that step's action from the observation
before the push, as a real controller would: it reacts one step later.

Supported: CartPole (the impulse response is derived from CartPole's own equations
of motion), Pendulum (a sideways push on the rod, from its own inertia), MountainCar
and Acrobot (a velocity kick with a chosen gain, clipped to each env's own limits).
Anything else: :meth:`NudgeWrapper.supports` is False and ``push`` raises ValueError.

No UI imports here: the window maps keys and drags to impulses.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control import AcrobotEnv, CartPoleEnv, MountainCarEnv, PendulumEnv

# CartPole's own push is force_mag * tau = 10 N * 0.02 s = 0.2 N·s per step, so the
# default is about five steps of it: the cart jumps by ~0.98 m/s and the pole starts
# tipping back at ~1.46 rad/s. A decent controller catches that; an early policy drops it.
DEFAULT_IMPULSE = 1.0  # N·s
# The largest kick one step applies (a long mouse drag is clipped here, and so is the
# sum of pushes queued for one step). Twice the default topples CartPole's pole even
# under a good controller, which is worth showing once, but not more than that.
MAX_IMPULSE = 2.0  # N·s

# MountainCar has no masses or units: velocity is position units per step, its engine
# adds 0.001 per step and max_speed is 0.07. The default push is 20 engine steps' worth,
# under a third of max_speed: the car visibly lurches but does not teleport.
MOUNTAIN_CAR_GAIN = 0.02  # (position units / step) per N·s
# Pendulum is a uniform rod (mass m, length l, inertia m l²/3 about the pivot). The push
# is horizontal at this fraction of the rod's length from the pivot: the middle gives
# 1.5 rad/s per N·s at the top, which a good balancing policy just catches.
PENDULUM_PUSH_POINT = 0.5  # fraction of the rod length from the pivot, dimensionless
# Acrobot's textbook parameters make a physical push at the joint tiny (~0.5 rad/s),
# so this is a chosen gain on link 1's angular velocity, not derived from its masses.
ACROBOT_GAIN = 1.0  # (rad/s of dθ1) per N·s


def cartpole_impulse_response(
    theta: float, impulse: float, *, total_mass: float, masspole: float, half_length: float
) -> tuple[float, float]:
    """Velocity change ``(Δẋ m/s, Δθ̇ rad/s)`` of CartPole when the cart gets ``impulse`` N·s.

    :param theta: pole angle in rad (0 upright, positive leaning right, as in CartPole).
    :param impulse: J in N·s, positive pushes the cart right.
    :param total_mass: M = cart + pole mass in kg (CartPole's ``total_mass``).
    :param masspole: m_p in kg (``masspole``).
    :param half_length: l in m, half the pole's length (CartPole's ``length``).

    CartPole's ``step`` computes, for a force F on the cart::

        temp = (F + m_p l θ̇² sinθ) / M
        θ̈    = (g sinθ − cosθ · temp) / (l (4/3 − m_p cos²θ / M))
        ẍ    = temp − m_p l θ̈ cosθ / M

    An impulse is a force integrated over an instant δ → 0. Over that instant x and θ
    do not move, and the bounded terms (g sinθ, θ̇² sinθ) contribute O(δ); F enters
    θ̈ and ẍ linearly, so integrating F to J gives::

        Δθ̇ = −cosθ (J / M) / (l (4/3 − m_p cos²θ / M))
        Δẋ = J / M − m_p l Δθ̇ cosθ / M

    At θ = 0 this is Δẋ = J/M · (1 + m_p / (M (4/3 − m_p/M))) = J / (m_cart + m_p/4):
    the pole is a uniform rod hinged on the cart, and a sideways shove at the hinge
    only has to drag a quarter of the rod's mass along. The pole tips back (Δθ̇ has the
    opposite sign to J) because the cart moves out from under it.
    """
    cos_theta = math.cos(theta)
    per_mass = impulse / total_mass
    d_theta_dot = -cos_theta * per_mass / (half_length * (4.0 / 3.0 - masspole * cos_theta**2 / total_mass))
    d_x_dot = per_mass - masspole * half_length * d_theta_dot * cos_theta / total_mass
    return d_x_dot, d_theta_dot


# -- per-env kicks: (unwrapped env, float64 state copy, impulse N·s) -> new state ----------


def _kick_cartpole(env: CartPoleEnv, state: np.ndarray, impulse: float) -> np.ndarray:
    # state = (x m, ẋ m/s, θ rad, θ̇ rad/s). No clip: CartPole has no velocity limits
    # (its observation bounds are infinite there); MAX_IMPULSE keeps this sane.
    d_x_dot, d_theta_dot = cartpole_impulse_response(
        float(state[2]), impulse, total_mass=env.total_mass, masspole=env.masspole, half_length=env.length
    )
    state[1] += d_x_dot
    state[3] += d_theta_dot
    return state


def _kick_mountain_car(env: MountainCarEnv, state: np.ndarray, impulse: float) -> np.ndarray:
    # state = (position, velocity per step); positive velocity moves the car right.
    state[1] = np.clip(state[1] + MOUNTAIN_CAR_GAIN * impulse, -env.max_speed, env.max_speed)
    return state


def _kick_pendulum(env: PendulumEnv, state: np.ndarray, impulse: float) -> np.ndarray:
    # state = (θ rad, θ̇ rad/s), θ = 0 upright, positive θ tilts the tip left (as drawn).
    # A horizontal impulse J at distance r from the pivot has angular impulse
    # −J r cosθ (only its component across the rod turns it), and the rod's inertia is
    # m l²/3 (Pendulum's step uses 3/(m l²) per unit torque). So a push right turns the
    # tip right both when balanced on top and when hanging, and does nothing while the
    # rod is horizontal, which is what a real sideways shove does.
    inertia = env.m * env.l**2 / 3.0
    lever = PENDULUM_PUSH_POINT * env.l
    d_theta_dot = -impulse * lever * math.cos(float(state[0])) / inertia
    state[1] = np.clip(state[1] + d_theta_dot, -env.max_speed, env.max_speed)
    return state


def _kick_acrobot(env: AcrobotEnv, state: np.ndarray, impulse: float) -> np.ndarray:
    # state = (θ1, θ2 rad, dθ1, dθ2 rad/s), θ1 = 0 hanging down; the elbow is drawn at
    # x = l1 sin θ1, so positive dθ1 swings it right while link 1 is below the pivot.
    state[2] = np.clip(state[2] + ACROBOT_GAIN * impulse, -env.MAX_VEL_1, env.MAX_VEL_1)
    return state


_KICKS: tuple[tuple[type, Callable[[Any, np.ndarray, float], np.ndarray]], ...] = (
    (CartPoleEnv, _kick_cartpole),
    (MountainCarEnv, _kick_mountain_car),
    (PendulumEnv, _kick_pendulum),
    (AcrobotEnv, _kick_acrobot),
)


def _kick_for(env: gym.Env) -> Callable[[Any, np.ndarray, float], np.ndarray] | None:
    unwrapped = env.unwrapped
    for env_class, kick in _KICKS:
        if isinstance(unwrapped, env_class):
            return kick
    return None


def _env_name(env: gym.Env) -> str:
    spec = env.unwrapped.spec
    return spec.id if spec is not None else type(env.unwrapped).__name__


def _like(template: Any, values: np.ndarray) -> Any:
    """``values`` in the container the env stored its state in, so its ``step`` reads it as before."""
    if isinstance(template, np.ndarray) and np.issubdtype(template.dtype, np.floating):
        # Keep the dtype: Acrobot resets to float32, CartPole and Pendulum use float64.
        return values.astype(template.dtype)
    if isinstance(template, tuple):  # MountainCar's step stores (position, velocity)
        return tuple(values.tolist())
    if isinstance(template, list):
        return values.tolist()
    return values


class NudgeWrapper(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """An env whose physics can be pushed sideways by the speaker, one impulse at a time.

    Spaces, rewards and episodes are the wrapped env's own; with nothing queued, ``step``
    and ``reset`` pass straight through.

    :ivar pushes: how many ``push`` calls have been applied to the physics since
        construction (queued ones cleared by ``reset`` never count). For the UI's counter.
    :ivar last_impulse: the impulse in N·s applied by the most recent step that applied
        any (the clipped sum of the pushes queued for it), or None before the first.
    """

    def __init__(self, env: gym.Env) -> None:
        # Recording the (empty) constructor args lets gymnasium re-create this wrapper
        # from env.spec, which check_env does to test determinism.
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)
        self.pushes: int = 0
        self.last_impulse: float | None = None
        self._queued_impulse = 0.0  # N·s, summed, not yet clipped
        self._queued_pushes = 0

    @staticmethod
    def supports(env: gym.Env) -> bool:
        """Whether ``env`` (wrapped or not) is one this wrapper knows how to push."""
        return _kick_for(env) is not None

    @property
    def supported(self) -> bool:
        """Whether the wrapped env can be pushed; if not, the UI can say so instead."""
        return self.supports(self.env)

    @property
    def queued_impulse(self) -> float:
        """The impulse in N·s the next step will apply (clipped to ±MAX_IMPULSE), 0.0 if none."""
        return float(np.clip(self._queued_impulse, -MAX_IMPULSE, MAX_IMPULSE))

    def push(self, impulse: SupportsFloat) -> None:
        """Queue a sideways push of ``impulse`` N·s (negative left, positive right) for the next step.

        Pushes queued before one step add up, and the sum is clipped to ±MAX_IMPULSE when
        applied. A push of exactly 0 (a click without a drag) is ignored and not counted.

        :raises ValueError: the env cannot be pushed (see :meth:`supports`), or the
            impulse is not a finite number.
        """
        if not self.supported:
            raise ValueError(f"nudging is not available for {_env_name(self.env)}")
        value = float(impulse)
        if not math.isfinite(value):
            raise ValueError(f"push impulse must be a finite number of N·s, got {value}")
        if value == 0.0:
            return
        self._queued_impulse += value
        self._queued_pushes += 1

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Apply any queued push to the physics state, then step the wrapped env normally."""
        if self._queued_pushes:
            self._apply_queued()
        return self.env.step(action)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        """Reset the wrapped env, dropping queued pushes (a push belongs to the episode it was made in)."""
        self._clear_queue()
        return self.env.reset(seed=seed, options=options)

    def _apply_queued(self) -> None:
        unwrapped = self.env.unwrapped
        raw_state = getattr(unwrapped, "state", None)
        if raw_state is None:
            # Same error the OrderEnforcing wrapper underneath would raise, before we
            # try to do arithmetic on a missing state.
            raise gym.error.ResetNeeded("Cannot call env.step() before calling env.reset()")
        kick = _kick_for(unwrapped)
        assert kick is not None, "push() only queues impulses for supported envs"
        impulse = self.queued_impulse
        if impulse == 0.0:  # pushes that cancelled out moved nothing: no push to count or show
            self._clear_queue()
            return
        # The env may hold its state as a tuple or a float32/float64 array: compute in
        # float64 on a copy, then write back in the env's own container.
        state = np.array(raw_state, dtype=np.float64)
        unwrapped.state = _like(raw_state, kick(unwrapped, state, impulse))
        self.pushes += self._queued_pushes
        self.last_impulse = impulse
        self._clear_queue()

    def _clear_queue(self) -> None:
        self._queued_impulse = 0.0
        self._queued_pushes = 0
