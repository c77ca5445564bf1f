"""The envs of a population: M agents, each with its own N copies, stepped together.

Agent i's copies must behave exactly as ``make_vector_env(env_id, N, seed_i)`` reset with
``seed_i`` would for a lone :class:`~vpg_sim.core.trainer.VPGTrainer`. One joint
Gymnasium vector env of M x N copies cannot do that: it has one random generator, so
each reset would draw from a stream shared by every agent. Two ways keep the streams
apart:

- :class:`BatchedCartPole` (CartPole-v1): the physics of all M x N copies in one set
  of numpy operations (Gymnasium's ``CartPoleVectorEnv`` equations, operation for
  operation), and each agent's resets drawn from that agent's own generator. For 32 x 16
  copies with random actions a step costs ~70 us, against ~1.4 ms for the other way
  (32 ``CartPoleVectorEnv`` steps: mostly their checks and copies;
  ``benchmarks/population.py --envs gym`` runs a population on them).
- :class:`PerAgentEnvs` (any env): one vector env per agent, stepped in turn.

Both take actions ``(M, N)`` and return observations ``(M, N, obs_dim)`` float32 and
rewards, terminated, truncated ``(M, N)``; both autoreset in NEXT_STEP mode. Both may step
some agents only (the others' copies stand still and draw nothing: a batch of whole
episodes ends when its agent's episodes do, see ``population_rollout.py``), and reset an
agent's copies as ``VectorEnv.reset()`` without a seed does.
"""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv
from gymnasium.utils import seeding

from vpg_sim.core.envs import env_spec, make_vector_env

DRAWN_AHEAD = 4096
"""Reset draws made ahead per agent (32 kB): 1,024 resets, ~20 updates of early CartPole."""

StepResult = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""Observations ``(M, N, obs_dim)`` float32, rewards ``(M, N)`` float32, terminated and
truncated ``(M, N)`` bool."""


class BatchedCartPole:
    """``len(seeds)`` agents' ``num_envs`` CartPole-v1 copies each, as one numpy state.

    Equal, bit for bit, to each agent's own ``CartPoleVectorEnv`` reset with its seed
    (tested): the physics is elementwise, so a copy's trajectory does not depend on its
    neighbours; only the resets draw random numbers, and they take the agent's next
    draws, ``(4, k)`` for its k resetting copies, as the vector env does. The draws are
    made ahead, :data:`DRAWN_AHEAD` per agent (a generator's stream is the same in one
    call or in many), so that a step resets every agent's copies in a few array
    operations instead of a call per agent (32 x 16 copies, random actions: 140 -> 70 us a step).
    """

    def __init__(self, num_envs: int, seeds: Sequence[int]) -> None:
        reference = CartPoleVectorEnv(num_envs=1, max_episode_steps=int(env_spec("CartPole-v1").max_episode_steps))
        if reference.kinematics_integrator != "euler":  # the only integrator copied below
            raise RuntimeError("Gymnasium's CartPoleVectorEnv changed its integrator: update BatchedCartPole")
        self.physics = reference  # its constants (gravity, masses, thresholds, time step)
        self._forces = np.array([-reference.force_mag, reference.force_mag])  # np.sign(a - 0.5) * force_mag
        self._limits = np.array([[reference.x_threshold], [reference.theta_threshold_radians]])
        self.single_observation_space = reference.single_observation_space
        self.single_action_space = reference.single_action_space
        self.num_envs = num_envs
        # What VectorEnv.reset(seed=seed) builds: the generator every later reset draws from.
        self.generators = [seeding.np_random(seed)[0] for seed in seeds]
        self.state = np.concatenate(
            [generator.uniform(reference.low, reference.high, size=(4, num_envs)) for generator in self.generators],
            axis=1,
        )  # (4, M * N) float64: x, x_dot, theta, theta_dot
        self.steps = np.zeros(self.state.shape[1], dtype=np.int32)
        self.prev_done = np.zeros(self.state.shape[1], dtype=np.bool_)
        self._draws = np.stack([self._draw(generator, DRAWN_AHEAD) for generator in self.generators])
        self._used = np.zeros(len(self.generators), dtype=np.int64)
        """Per agent, how many of its ``_draws`` (M, DRAWN_AHEAD) resets have taken."""

    def _draw(self, generator: np.random.Generator, count: int) -> np.ndarray:
        return generator.uniform(self.physics.low, self.physics.high, size=count)

    @property
    def max_episode_steps(self) -> int:
        return int(self.physics.max_episode_steps)

    def observations(self) -> np.ndarray:
        """The current observations ``(M, N, 4)`` float32."""
        return self.state.T.astype(np.float32).reshape(len(self.generators), self.num_envs, 4)

    def step(self, actions: np.ndarray, stepping: np.ndarray | None = None) -> StepResult:
        """Push every cart by ``actions`` ``(M, N)`` (0 left, 1 right); see :data:`StepResult`.
        With ``stepping`` ``(M,)`` bool, only those agents' copies move; the others keep
        their state and draw nothing, and return reward 0, neither terminated nor truncated."""
        env = self.physics
        before = self.state
        # From here to the resets: CartPoleVectorEnv.step's equations (euler), the same
        # float operations on the same values, in fewer numpy calls (each costs ~1 us,
        # about what it computes for 16 copies): the force as a lookup of +-force_mag,
        # the four euler updates as one on the whole state, the bounds as |x| > limit.
        theta, theta_dot = self.state[2:]
        force = self._forces[actions.reshape(-1)]
        costheta = np.cos(theta)
        sintheta = np.sin(theta)
        temp = (force + env.polemass_length * np.square(theta_dot) * sintheta) / env.total_mass
        rates = np.empty_like(self.state)  # d/dt of x, x_dot, theta, theta_dot
        rates[::2] = self.state[1::2]
        thetaacc = np.divide(
            env.gravity * sintheta - costheta * temp,
            env.length * (4.0 / 3.0 - env.masspole * np.square(costheta) / env.total_mass),
            out=rates[3],
        )
        np.subtract(temp, env.polemass_length * thetaacc * costheta / env.total_mass, out=rates[1])  # xacc
        self.state = self.state + env.tau * rates
        terminated = (np.abs(self.state[::2]) > self._limits).any(axis=0)  # x and theta
        if stepping is None:  # every copy moves (the usual case: the masks below are all True)
            self.steps += 1
            truncated = self.steps >= env.max_episode_steps
            reward = np.empty(terminated.shape, dtype=np.float32)
            reward.fill(1.0)  # np.ones is a Python function around the same two calls
            resetting = self.prev_done
        else:  # the copies standing still: as they were (their physics computed, unused)
            moving = np.repeat(stepping, self.num_envs)
            self.state = np.where(moving, self.state, before)
            terminated &= moving
            self.steps += moving
            truncated = (self.steps >= env.max_episode_steps) & moving
            reward = moving.astype(np.float32)
            resetting = self.prev_done & moving

        # NEXT_STEP autoreset: copies that ended last step start afresh, each agent's from its own draws.
        if resetting.any():
            self._reset(np.flatnonzero(resetting))
            self.steps[resetting] = 0
            reward[resetting] = 0.0
            terminated[resetting] = False
            truncated[resetting] = False
        ended = terminated | truncated
        self.prev_done = ended if stepping is None else np.where(moving, ended, self.prev_done)
        shape = (len(self.generators), self.num_envs)
        return self.observations(), reward.reshape(shape), terminated.reshape(shape), truncated.reshape(shape)

    def reset_agents(self, agents: Sequence[int]) -> None:
        """Every copy of ``agents`` afresh, as their ``CartPoleVectorEnv.reset()`` without a
        seed: new states from the agent's generator, ``(4, N)`` at once."""
        columns = (np.asarray(agents, dtype=np.int64)[:, None] * self.num_envs + np.arange(self.num_envs)).reshape(-1)
        self._reset(columns)
        self.steps[columns] = 0
        self.prev_done[columns] = False

    def _reset(self, columns: np.ndarray) -> None:
        """New states for the copies ``columns`` (ascending): agent a's k of them take its
        next 4k draws as a ``(4, k)`` array, as ``uniform(size=(4, k))`` would give them."""
        if not len(columns):
            return
        agents = columns // self.num_envs
        counts = np.bincount(agents, minlength=len(self.generators))
        rank = np.arange(len(columns)) - (np.cumsum(counts) - counts)[agents]  # place among its agent's copies
        draws = self._used[agents] + rank + np.arange(4)[:, None] * counts[agents]
        self.state[:, columns] = self._draws[agents, draws]
        self._used += 4 * counts
        for agent in np.flatnonzero(self._used > DRAWN_AHEAD - 4 * self.num_envs):  # the next step might run out
            left = self._draws[agent, self._used[agent] :]
            fresh = self._draw(self.generators[agent], DRAWN_AHEAD - len(left))
            self._draws[agent] = np.concatenate([left, fresh])
            self._used[agent] = 0

    def keep(self, agents: Sequence[int]) -> None:
        """Keep only ``agents`` (positions in the current order), in that order."""
        columns = (np.asarray(agents, dtype=np.int64)[:, None] * self.num_envs + np.arange(self.num_envs)).reshape(-1)
        self.state, self.steps, self.prev_done = self.state[:, columns], self.steps[columns], self.prev_done[columns]
        self.generators = [self.generators[agent] for agent in agents]
        self._draws, self._used = self._draws[list(agents)], self._used[list(agents)]

    def close(self) -> None:
        self.physics.close()


class PerAgentEnvs:
    """Any env: one ``make_vector_env(env_id, num_envs, seed)`` per agent, reset with its seed."""

    def __init__(self, env_id: str, num_envs: int, seeds: Sequence[int]) -> None:
        self.envs: list[gym.vector.VectorEnv] = []
        try:
            for seed in seeds:
                self.envs.append(make_vector_env(env_id, num_envs, seed))
        except BaseException:
            self.close()
            raise
        self.single_observation_space = self.envs[0].single_observation_space
        self.single_action_space = self.envs[0].single_action_space
        self.num_envs = num_envs
        self._observations = np.stack(
            [envs.reset(seed=seed)[0] for envs, seed in zip(self.envs, seeds, strict=True)]
        ).astype(np.float32)
        spec = self.envs[0].spec
        self.max_episode_steps = spec.max_episode_steps if spec is not None else None

    def observations(self) -> np.ndarray:
        """The current observations ``(M, N, obs_dim)`` float32."""
        return self._observations

    def step(self, actions: np.ndarray, stepping: np.ndarray | None = None) -> StepResult:
        """Step agent i's envs with ``actions[i]`` (``actions`` is ``(M, N)``), or only the
        ``stepping`` ``(M,)`` agents' (the others return reward 0, not ended); see :data:`StepResult`."""
        count = len(self.envs)
        rewards = np.zeros((count, self.num_envs))
        terminated = np.zeros((count, self.num_envs), dtype=bool)
        truncated = np.zeros((count, self.num_envs), dtype=bool)
        observations = self._observations.copy()
        for agent in range(count) if stepping is None else np.flatnonzero(stepping):
            obs, rewards[agent], terminated[agent], truncated[agent], _ = self.envs[agent].step(actions[agent])
            observations[agent] = obs
        self._observations = observations
        return observations, rewards, terminated, truncated

    def reset_agents(self, agents: Sequence[int]) -> None:
        """Every copy of ``agents`` afresh: their vector env's ``reset()``, without a seed."""
        for agent in agents:
            self._observations[agent] = self.envs[agent].reset()[0]

    def keep(self, agents: Sequence[int]) -> None:
        """Keep only ``agents`` (positions in the current order), in that order; close the rest."""
        for agent in sorted(set(range(len(self.envs))) - set(agents)):
            self.envs[agent].close()
        self.envs = [self.envs[agent] for agent in agents]
        self._observations = self._observations[list(agents)]

    def close(self) -> None:
        for envs in self.envs:
            envs.close()


PopulationEnvs = BatchedCartPole | PerAgentEnvs


def make_population_envs(env_id: str, num_envs: int, seeds: Sequence[int], batched: bool = True) -> PopulationEnvs:
    """The fastest exact envs for ``env_id``: :class:`BatchedCartPole` for CartPole-v1
    (unless ``batched`` is False), :class:`PerAgentEnvs` for anything else."""
    if batched and env_id == "CartPole-v1":
        return BatchedCartPole(num_envs, seeds)
    return PerAgentEnvs(env_id, num_envs, seeds)
