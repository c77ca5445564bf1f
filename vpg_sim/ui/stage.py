"""The stage: one copy of the env played in real time by the newest policy snapshot.

:class:`StagePlayer` simulates and records (no drawing); :func:`draw_cartpole`
and :func:`draw_frame` draw it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import pygame
import torch
from gymnasium import spaces

from vpg_sim.core.advantages import discounted_returns, gae_advantages
from vpg_sim.core.envs import clip_to_box, make_single_env
from vpg_sim.core.networks import CategoricalPolicy, Policy, ValueNet, make_policy
from vpg_sim.core.nudge import MAX_IMPULSE, NudgeWrapper
from vpg_sim.training.session import PolicySnapshot
from vpg_sim.ui.theme import Colour, Palette

END_OF_EPISODE_HOLD_SECONDS = 0.6
"""How long the last frame of an episode stays on screen, so people see the fall."""
MAX_STEPS_PER_FRAME = 40
PUSH_SHOW_SECONDS = 0.6
"""How long the arrow of a push stays on the cart."""


@dataclass
class StepView:
    """What the policy panel shows for the state on screen."""

    probabilities: np.ndarray | None = None  # (n_actions,) for Discrete
    mean: np.ndarray | None = None  # (act_dim,) for Box
    std: np.ndarray | None = None
    action: np.ndarray | int | None = None
    value: float = 0.0


@dataclass
class EpisodeTrace:
    """The episode on stage so far, one entry per step."""

    values: list[float] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)

    @property
    def total_return(self) -> float:
        return float(sum(self.rewards))


@dataclass(frozen=True)
class FinishedEpisode:
    """A stage episode after it ended, with what the critic got right and wrong."""

    update: int
    values: np.ndarray  # (T,) V(s_t) as predicted while playing
    returns_to_go: np.ndarray  # (T,) realised discounted return-to-go
    advantages: np.ndarray  # (T,) GAE with training's gamma and lambda
    actions: np.ndarray  # (T,) discrete actions (-1 for Box)
    total_return: float
    terminated: bool


def close_env_keeping_window(env: gym.Env) -> None:
    """Close a (possibly rendering) env without letting it quit pygame.

    Gymnasium's classic-control ``close()`` calls ``pygame.display.quit()`` and
    ``pygame.quit()`` whenever it has a screen, which would kill the app's window.
    """
    if hasattr(env.unwrapped, "screen"):
        env.unwrapped.screen = None
    env.close()


class StagePlayer:
    """Plays ``env_id`` at its real-time rate (CartPole: 50 steps per second) x ``speed``."""

    def __init__(self, snapshot: PolicySnapshot, seed: int = 0) -> None:
        self.config = snapshot.config
        self.env_id = snapshot.config.env_id
        self.is_cartpole = self.env_id.startswith("CartPole")
        self.env = NudgeWrapper(make_single_env(self.env_id, render_mode=None if self.is_cartpole else "rgb_array"))
        self.steps_per_second = float(self.env.metadata.get("render_fps", 50))
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
        self._pending: PolicySnapshot | None = None
        self.load(snapshot)
        self.episode_number = 0
        self.observation, _ = self.env.reset(seed=seed)
        self.trace = EpisodeTrace()
        self.view = self._evaluate(self.observation)
        self.finished: FinishedEpisode | None = None
        self.hold_remaining = 0.0
        self._owed_steps = 0.0
        self.push_shown = 0.0
        """Seconds the last push's arrow still shows."""

    @property
    def discrete(self) -> bool:
        return isinstance(self.env.action_space, spaces.Discrete)

    def load(self, snapshot: PolicySnapshot) -> None:
        """Play ``snapshot`` from now on (weights are copied into the stage's own nets)."""
        self.policy.load_state_dict(snapshot.policy_state)
        self.value_net.load_state_dict(snapshot.value_state)
        self.snapshot = snapshot
        """What plays now (S saves exactly this)."""

    @property
    def playing_update(self) -> int:
        return self.snapshot.update

    def play_now(self, snapshot: PolicySnapshot) -> None:
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
        return self.env.pushes

    @property
    def last_push(self) -> float:
        """The impulse being shown (queued or just applied), 0 when none."""
        if self.push_shown <= 0:
            return 0.0
        return self.env.queued_impulse or (self.env.last_impulse or 0.0)

    def offer(self, snapshot: PolicySnapshot) -> None:
        """Take ``snapshot`` at the next episode start, if it is newer than what plays."""
        if snapshot.update != self.playing_update:
            self._pending = snapshot

    def advance(self, seconds: float) -> int:
        """Simulate ``seconds`` of wall time; returns how many episodes ended."""
        self.push_shown = max(self.push_shown - seconds, 0.0)
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
                probabilities = torch.softmax(self.policy.logits_net(obs), -1)[0].numpy()
                return StepView(probabilities=probabilities, value=value)
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
        self.view.action = action
        self.trace.values.append(self.view.value)
        self.trace.actions.append(action if isinstance(action, int) else -1)
        env_action = (
            clip_to_box(np.asarray(action, dtype=np.float32), self.env.action_space) if not self.discrete else action
        )
        observation, reward, terminated, truncated, _ = self.env.step(env_action)
        self.trace.rewards.append(float(reward))
        self.observation = observation
        last_action = action
        self.view = self._evaluate(observation)
        self.view.action = last_action
        if terminated or truncated:
            self._finish(bool(terminated))
            return True
        return False

    def _finish(self, terminated: bool) -> None:
        gamma, lam = self.config.gamma, self.config.gae_lambda
        rewards = np.asarray(self.trace.rewards)
        values = np.asarray(self.trace.values)
        done = np.zeros((len(rewards), 1), dtype=bool)
        done[-1, 0] = True
        final_value = np.array([0.0 if terminated else self.view.value])
        # Per-step advantages with training's gamma and lambda. The final observation's
        # value sits after the last step, so it is passed as the cut's bootstrap.
        advantages = gae_advantages(
            rewards[:, None],
            values[:, None],
            final_value,
            done if terminated else np.zeros_like(done),
            np.zeros_like(done),
            gamma,
            lam,
        )[:, 0]
        self.finished = FinishedEpisode(
            update=self.playing_update,
            values=values,
            returns_to_go=discounted_returns(rewards, gamma),
            advantages=advantages,
            actions=np.asarray(self.trace.actions),
            total_return=self.trace.total_return,
            terminated=terminated,
        )
        self.hold_remaining = END_OF_EPISODE_HOLD_SECONDS

    def _start_episode(self) -> None:
        if self._pending is not None:
            self.load(self._pending)
            self._pending = None
        self.episode_number += 1
        self.observation, _ = self.env.reset()
        self.trace = EpisodeTrace()
        self.view = self._evaluate(self.observation)
        self._owed_steps = 0.0


# -- drawing ---------------------------------------------------------------------------


def _rotated_rect(center: tuple[float, float], length: float, width: float, angle: float) -> list[tuple[float, float]]:
    """Corners of a bar of ``length`` rising from ``center`` at ``angle`` (radians from vertical)."""
    dx, dy = math.sin(angle), -math.cos(angle)
    nx, ny = -dy, dx
    half = width / 2
    cx, cy = center
    tip = (cx + dx * length, cy + dy * length)
    return [
        (cx + nx * half, cy + ny * half),
        (tip[0] + nx * half, tip[1] + ny * half),
        (tip[0] - nx * half, tip[1] - ny * half),
        (cx - nx * half, cy - ny * half),
    ]


def _aa_polygon(surface: pygame.Surface, colour: Colour, points: list[tuple[float, float]]) -> None:
    pygame.draw.polygon(surface, colour, points)
    pygame.draw.aalines(surface, colour, True, points)


def draw_arrow(
    surface: pygame.Surface, colour: Colour, start: tuple[float, float], end: tuple[float, float], width: int
) -> None:
    """A straight arrow from ``start`` to ``end`` with a filled head."""
    angle = math.atan2(end[1] - start[1], end[0] - start[0])
    head = width * 3.2
    base = (end[0] - head * math.cos(angle), end[1] - head * math.sin(angle))
    pygame.draw.line(surface, colour, start, base, width)
    left = (base[0] + head * 0.6 * math.sin(angle), base[1] - head * 0.6 * math.cos(angle))
    right = (base[0] - head * 0.6 * math.sin(angle), base[1] + head * 0.6 * math.cos(angle))
    _aa_polygon(surface, colour, [end, left, right])


def draw_cartpole(
    surface: pygame.Surface,
    rect: pygame.Rect,
    state: np.ndarray,
    action: int | None,
    palette: Palette,
    env: gym.Env,
    unit: float,
    push: float = 0.0,
) -> None:
    """CartPole from its state ``(x, x_dot, theta, theta_dot)``, scaled to ``rect``.

    Draws the track with the +-x limits, the pole's +-angle limits around the pivot,
    the cart, the pole, the pushing force as an arrow in the action's colour and,
    when ``push`` (N·s, negative: left) is not 0, a person's push as an arrow that
    hits the cart from outside.
    """
    x, _, theta, _ = (float(v) for v in state)
    physics = env.unwrapped
    x_limit = float(physics.x_threshold)
    angle_limit = float(physics.theta_threshold_radians)
    half_pole = float(physics.length)

    world_width = 2 * x_limit * 1.15
    scale = rect.width / world_width
    track_y = rect.y + rect.height * 0.70
    cart_w, cart_h = 0.5 * scale, 0.28 * scale

    def to_px(world_x: float) -> float:
        return rect.centerx + world_x * scale

    # Track and the out-of-bounds zones beyond +-x_limit.
    line = max(2, round(unit * 2))
    for side in (-1, 1):
        limit_px = to_px(side * x_limit)
        zone = pygame.Rect(0, rect.y, 0, rect.height)
        zone.left, zone.right = (rect.left, round(limit_px)) if side < 0 else (round(limit_px), rect.right)
        pygame.draw.rect(surface, palette.blend(palette.warning, palette.panel, 0.11), zone)
        for y in range(rect.y + 8, rect.bottom - 8, round(unit * 14)):
            pygame.draw.line(surface, palette.warning, (limit_px, y), (limit_px, y + unit * 7), line)
    pygame.draw.line(surface, palette.track, (rect.left, track_y), (rect.right, track_y), line)
    for tick in np.arange(-2.0, 2.01, 0.5):
        pygame.draw.line(surface, palette.grid, (to_px(tick), track_y + 4), (to_px(tick), track_y + unit * 10), 1)

    cart_x = to_px(x)
    pivot = (cart_x, track_y - cart_h * 0.75)

    # The angle limits: a faint wedge the pole must stay inside.
    reach = half_pole * 2 * scale * 1.1
    for side in (-1, 1):
        tip = (pivot[0] + reach * math.sin(side * angle_limit), pivot[1] - reach * math.cos(side * angle_limit))
        pygame.draw.aaline(surface, palette.warning, pivot, tip)

    cart = pygame.Rect(0, 0, round(cart_w), round(cart_h))
    cart.center = (round(cart_x), round(track_y - cart_h / 2 - unit * 4))
    pygame.draw.rect(surface, palette.cart, cart, border_radius=max(2, round(unit * 6)))
    wheel_r = max(3, round(unit * 6))
    for wx in (cart.left + cart_w * 0.22, cart.right - cart_w * 0.22):
        pygame.draw.circle(surface, palette.track, (wx, track_y - wheel_r + 1), wheel_r)
        pygame.draw.aacircle(surface, palette.track, (wx, track_y - wheel_r + 1), wheel_r)

    pole = _rotated_rect(pivot, half_pole * 2 * scale, max(4.0, 0.09 * scale), theta)
    _aa_polygon(surface, palette.pole, pole)
    pygame.draw.circle(surface, palette.panel_border, pivot, max(3, round(unit * 5)))
    pygame.draw.aacircle(surface, palette.text, pivot, max(3, round(unit * 5)))

    if action is not None:
        direction = -1 if action == 0 else 1
        edge = cart.left if direction < 0 else cart.right
        start = (edge + direction * unit * 6, cart.centery)
        end = (edge + direction * unit * 56, cart.centery)
        draw_arrow(surface, palette.action(action), start, end, max(3, round(unit * 5)))
    if push:
        draw_push(surface, palette, cart, push, unit)


def draw_push(surface: pygame.Surface, palette: Palette, target: pygame.Rect, push: float, unit: float) -> None:
    """A person's push of ``push`` N·s: an arrow ending at ``target``'s side, longer for harder pushes."""
    direction = 1 if push > 0 else -1
    length = unit * (40 + 60 * min(abs(push) / MAX_IMPULSE, 1.0))
    y = target.top - unit * 14
    end_x = target.centerx - direction * target.width * 0.2
    draw_arrow(surface, palette.push, (end_x - direction * length, y), (end_x, y), max(4, round(unit * 7)))


def draw_frame(surface: pygame.Surface, rect: pygame.Rect, frame: np.ndarray) -> None:
    """An env's ``(H, W, 3)`` rgb_array frame, scaled to fit ``rect`` keeping its aspect."""
    image = pygame.surfarray.make_surface(frame.swapaxes(0, 1))
    factor = min(rect.width / image.get_width(), rect.height / image.get_height())
    size = (round(image.get_width() * factor), round(image.get_height() * factor))
    scaled = pygame.transform.smoothscale(image, size)
    surface.blit(scaled, scaled.get_rect(center=rect.center))
