"""The stage: one copy of the env played in real time by the newest policy snapshot.

:class:`StagePlayer` simulates and records what the panels show (the policy's view of
each state, the critic's values, the advantages of a finished episode); it never
draws. The window's ``ui.panels`` draw it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from vpg_sim.core.advantages import discounted_returns, estimated_advantages
from vpg_sim.core.checkpoint import Checkpoint
from vpg_sim.core.envs import clip_to_box, make_single_env
from vpg_sim.core.networks import CategoricalPolicy, Policy, ValueNet, make_policy
from vpg_sim.core.nudge import NudgeWrapper

END_OF_EPISODE_HOLD_SECONDS = 0.6
"""How long the last frame of an episode stays on screen, so people see the fall."""
MAX_STEPS_PER_FRAME = 40
PUSH_SHOW_SECONDS = 0.6
"""How long the arrow of a push stays on the cart."""
MIN_STEPS_PER_SECOND = 50.0
"""The stage plays at least this fast (x speed). Acrobot's own rate is 15 steps/s: an
untrained 500-step episode would take 33 s while training solves it in ~13 updates."""
SKIP_AHEAD_UPDATES = 10
SKIP_AHEAD_SECONDS = 8.0
"""An episode that has played this long while a policy this many updates newer waits is
cut short: the class should see the agent it is told about, not one from long ago."""


@dataclass(frozen=True)
class StepView:
    """The policy's and the critic's view of one state, and the action taken in it."""

    probabilities: np.ndarray | None = None  # (n_actions,) for Discrete
    mean: np.ndarray | None = None  # (act_dim,) for Box
    std: np.ndarray | None = None
    action: np.ndarray | int | None = None
    """The action chosen in this state (for a Box: the unclipped sample), None before."""
    value: float = 0.0
    logits: np.ndarray | None = None  # (n_actions,) for Discrete: softmax(logits) = probabilities


@dataclass
class EpisodeTrace:
    """The episode on stage so far, one entry per step."""

    values: list[float] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)
    observations: list[np.ndarray] = field(default_factory=list)
    """The states the episode passed through, the one it began in first (the map's trail)."""

    @property
    def total_return(self) -> float:
        return float(sum(self.rewards))


@dataclass(frozen=True)
class FinishedEpisode:
    """A stage episode after it ended, with what the critic got right and wrong."""

    update: int
    values: np.ndarray  # (T,) V(s_t) as predicted while playing
    rewards: np.ndarray  # (T,) r_t
    returns_to_go: np.ndarray
    """(T,) realised discounted return-to-go G_t: the rewards that came after s_t, plus,
    when a time limit cut the episode, the bootstrap gamma^(T-t) V(s_T) (the state had a
    future that was not watched: training bootstraps it the same way)."""
    bootstrap: np.ndarray
    """(T,) the part of ``returns_to_go`` that is bootstrapped (zeros after a termination)."""
    advantages: np.ndarray  # (T,) Phi_t of the playing snapshot's estimator, gamma and lambda
    actions: np.ndarray  # (T,) discrete actions (-1 for Box)
    total_return: float
    terminated: bool
    end_reason: str
    """Which limit ended it, in words: "pole fell past 12°", "time limit: 500 steps"..."""
    gamma: float
    gae_lambda: float
    estimator: str
    cut: bool = False
    """The stage moved on to a newer policy before the episode ended: its last state is
    bootstrapped with V, as training bootstraps a batch cut, and the panels say so."""


def close_env_keeping_window(env: gym.Env) -> None:
    """Close a (possibly rendering) env without letting it quit pygame.

    Gymnasium's classic-control ``close()`` calls ``pygame.display.quit()`` and
    ``pygame.quit()`` whenever it has a screen, which would kill the app's window.
    """
    if hasattr(env.unwrapped, "screen"):
        env.unwrapped.screen = None
    env.close()


def end_reason(env: gym.Env, observation: np.ndarray, terminated: bool, steps: int) -> str:
    """Which limit ended an episode of ``steps`` steps, in words a class understands."""
    if not terminated:
        return f"time limit: {steps} steps"
    physics = env.unwrapped
    name = type(physics).__name__
    if name == "CartPoleEnv":
        if abs(float(observation[0])) > physics.x_threshold:
            return f"cart left the track (|x| > {physics.x_threshold:g})"
        return f"pole fell past {math.degrees(physics.theta_threshold_radians):.0f}°"
    if name == "AcrobotEnv":
        return "goal: the arm swung above the bar"
    if name == "MountainCarEnv":
        return "goal: the car reached the flag"
    return "the episode ended (terminated)"


class StagePlayer:
    """Plays the snapshot's env at its real-time rate (at least 50 steps a second) x ``speed``.

    What it shows is always one consistent moment: :attr:`decision` is the state in which
    the last action was chosen, its probabilities and value, and that action; the cart is
    drawn in the state that action led to.
    """

    def __init__(self, snapshot: Checkpoint, seed: int = 0) -> None:
        self.config = snapshot.config
        self.env_id = snapshot.config.env_id
        self.is_cartpole = self.env_id.startswith("CartPole")
        self.env = NudgeWrapper(make_single_env(self.env_id, render_mode=None if self.is_cartpole else "rgb_array"))
        self.real_time_rate = float(self.env.metadata.get("render_fps", 50))
        """The env's own steps per second (CartPole 50: its tau is 0.02 s)."""
        self.steps_per_second = max(self.real_time_rate, MIN_STEPS_PER_SECOND)
        self.speed = 1.0
        self.greedy = False
        self.generator = torch.Generator().manual_seed(seed + 10_000)
        self.policy: Policy = make_policy(
            self.env.observation_space,
            self.env.action_space,
            self.config.hidden_sizes,
            self.config.activation,
            self.config.init_log_std,
        )
        self.value_net = ValueNet(
            int(self.env.observation_space.shape[0]), self.config.hidden_sizes, self.config.activation
        )
        self._pending: Checkpoint | None = None
        self.load(snapshot)
        self.episode_number = 0
        self.observation, _ = self.env.reset(seed=seed)
        self.trace = EpisodeTrace()
        self.view = self._evaluate(self.observation)
        """The current state's view: what the next action is drawn from."""
        self.decision = self.view
        """What the policy panel shows: the state the last action was chosen in, with it."""
        self.finished: FinishedEpisode | None = None
        self.hold_remaining = 0.0
        self._owed_steps = 0.0
        self.push_shown = 0.0
        """Seconds the last push's arrow still shows."""
        self._pushes_before_episode = 0
        self.largest_advantage = 0.0
        """The largest |A_t| of any finished episode on this stage (the advantage panel's fixed scale)."""
        self.episode_seconds = 0.0
        self.skipped_from: int | None = None
        """Set when an episode was cut short to play a much newer policy: the update it
        was playing (the window says so once, then clears it)."""

    @property
    def discrete(self) -> bool:
        return isinstance(self.env.action_space, spaces.Discrete)

    def load(self, snapshot: Checkpoint) -> None:
        """Play ``snapshot`` from now on (weights are copied into the stage's own nets; its
        config's gamma and lambda compute the stage's advantages)."""
        self.policy.load_state_dict(snapshot.policy_state)
        self.value_net.load_state_dict(snapshot.value_state)
        self.config = snapshot.config
        self.snapshot = snapshot
        """What plays now (S saves exactly this)."""

    @property
    def max_discounted_return(self) -> float | None:
        """The largest discounted return any episode can earn, where it is known: CartPole
        pays 1 a step up to its time limit H, so sum_{k<H} gamma^k. None elsewhere."""
        limit = self.env.spec.max_episode_steps if self.env.spec is not None else None
        if not self.is_cartpole or limit is None:
            return None
        gamma = self.config.gamma
        return float(limit) if gamma == 1.0 else (1.0 - gamma**limit) / (1.0 - gamma)

    @property
    def playing_update(self) -> int:
        return self.snapshot.update

    def play_now(self, snapshot: Checkpoint) -> None:
        """Play ``snapshot`` from a fresh episode right away (the timeline jumps here)."""
        self._pending = None
        self.load(snapshot)
        self.hold_remaining = 0.0
        self._start_episode()

    @property
    def can_push(self) -> bool:
        return self.env.supported

    def push(self, impulse: float) -> None:
        """Push the system by ``impulse`` N·s (negative: left) at the next step.
        ValueError if this env cannot be pushed."""
        self.env.push(impulse)
        self.push_shown = PUSH_SHOW_SECONDS

    @property
    def pushes(self) -> int:
        """Pushes that moved the system in this episode."""
        return self.env.pushes - self._pushes_before_episode

    @property
    def last_push(self) -> float:
        """The impulse being shown (queued or just applied), 0 when none."""
        if self.push_shown <= 0:
            return 0.0
        return self.env.queued_impulse or (self.env.last_impulse or 0.0)

    def offer(self, snapshot: Checkpoint) -> None:
        """Take ``snapshot`` at the next episode start, if it is newer than what plays."""
        if snapshot.update != self.playing_update:
            self._pending = snapshot

    def advance(self, seconds: float) -> int:
        """Simulate ``seconds`` of wall time; returns how many episodes ended."""
        self.push_shown = max(self.push_shown - seconds, 0.0)
        self.episode_seconds += seconds
        pending = self._pending
        if (
            pending is not None
            and self.hold_remaining <= 0
            and pending.update - self.playing_update >= SKIP_AHEAD_UPDATES
            and self.episode_seconds >= SKIP_AHEAD_SECONDS
        ):
            self.skipped_from = self.playing_update
            if self.trace.rewards:  # the panels show this episode up to the cut, not one from long ago
                self._finish(terminated=False, cut_by=pending.update)
            self.hold_remaining = 0.0
            self._start_episode()
            return 0
        if self.hold_remaining > 0:
            self.hold_remaining -= seconds
            if self.hold_remaining <= 0:
                self._start_episode()
            return 0
        self._owed_steps += seconds * self.steps_per_second * self.speed
        steps = min(int(self._owed_steps), MAX_STEPS_PER_FRAME)
        self._owed_steps = min(self._owed_steps - steps, 1.0)
        for _ in range(steps):
            if self._step():
                return 1
        return 0

    def frame(self) -> np.ndarray | None:
        """The env's own rgb_array frame ``(H, W, 3)`` (non-CartPole envs only)."""
        return None if self.is_cartpole else self.env.render()

    def close(self) -> None:
        close_env_keeping_window(self.env)

    # -- internals ------------------------------------------------------------------

    def _evaluate(self, observation: np.ndarray) -> StepView:
        obs = torch.as_tensor(observation, dtype=torch.float32).unsqueeze(0)
        with torch.no_grad():
            value = float(self.value_net(obs)[0])
            if isinstance(self.policy, CategoricalPolicy):
                logits = self.policy.logits_net(obs)[0]
                probabilities = torch.softmax(logits, -1).numpy()
                return StepView(probabilities=probabilities, value=value, logits=logits.numpy())
            mean = self.policy.mean_net(obs)[0].numpy()
            return StepView(mean=mean, std=self.policy.log_std.exp().numpy(), value=value)

    def _choose_action(self) -> np.ndarray | int:
        view = self.view
        if view.probabilities is not None:
            if self.greedy:
                return int(np.argmax(view.probabilities))
            probs = torch.as_tensor(view.probabilities)
            return int(torch.multinomial(probs, 1, generator=self.generator)[0])
        assert view.mean is not None and view.std is not None
        if self.greedy:
            return view.mean.copy()
        noise = torch.randn(view.mean.shape, generator=self.generator).numpy()
        return view.mean + view.std * noise

    def _step(self) -> bool:
        action = self._choose_action()
        self.decision = replace(self.view, action=action)
        self.trace.values.append(self.view.value)
        self.trace.actions.append(action if isinstance(action, int) else -1)
        self.trace.observations.append(np.asarray(self.observation, dtype=np.float32))
        env_action = (
            clip_to_box(np.asarray(action, dtype=np.float32), self.env.action_space) if not self.discrete else action
        )
        observation, reward, terminated, truncated, _ = self.env.step(env_action)
        self.trace.rewards.append(float(reward))
        self.observation = observation
        self.view = self._evaluate(observation)
        if terminated or truncated:
            self._finish(bool(terminated))
            return True
        return False

    def _finish(self, terminated: bool, cut_by: int | None = None) -> None:
        """Record the episode on stage as finished: ended by ``terminated`` or a time limit,
        or cut after its last step because the stage moves on to update ``cut_by``."""
        gamma, lam = self.config.gamma, self.config.gae_lambda
        rewards = np.asarray(self.trace.rewards)
        values = np.asarray(self.trace.values)
        steps = len(rewards)
        # A time limit (or a cut) is not the end of the state's future: bootstrap with V of
        # the final observation, as training does. A termination has no future at all.
        final_value = 0.0 if terminated else self.view.value
        terminal = np.zeros((steps, 1), dtype=bool)
        terminal[-1, 0] = terminated
        # The estimator of the snapshot on stage, so the panel shows what training weighs.
        truncated = np.zeros_like(terminal)
        truncated[-1, 0] = not terminated
        advantages = estimated_advantages(
            self.config.estimator,
            rewards[:, None],
            values[:, None],
            np.array([final_value]),
            terminal,
            truncated,
            np.ones_like(terminal),
            gamma,
            lam,
        )[:, 0]
        bootstrap = final_value * gamma ** np.arange(steps, 0, -1, dtype=np.float64)
        self.finished = FinishedEpisode(
            update=self.playing_update,
            values=values,
            rewards=rewards,
            returns_to_go=discounted_returns(rewards, gamma) + bootstrap,
            bootstrap=bootstrap,
            advantages=advantages,
            actions=np.asarray(self.trace.actions),
            total_return=self.trace.total_return,
            terminated=terminated,
            end_reason=(
                end_reason(self.env, self.observation, terminated, steps)
                if cut_by is None
                else f"cut at step {steps}: the stage moved on to update {cut_by}"
            ),
            gamma=gamma,
            gae_lambda=lam,
            estimator=self.config.estimator,
            cut=cut_by is not None,
        )
        self.largest_advantage = max(self.largest_advantage, float(np.abs(advantages).max()))
        self.hold_remaining = END_OF_EPISODE_HOLD_SECONDS

    def _start_episode(self) -> None:
        if self._pending is not None:
            self.load(self._pending)
            self._pending = None
        self.episode_number += 1
        self.observation, _ = self.env.reset()
        self.trace = EpisodeTrace()
        self.view = self.decision = self._evaluate(self.observation)
        self._owed_steps = 0.0
        self._pushes_before_episode = self.env.pushes
        self.episode_seconds = 0.0
