"""The stage panel: the env drawn from its state, the push, and the episode's numbers."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import pygame

from vpg_sim.core.nudge import MAX_IMPULSE
from vpg_sim.training.stage import StagePlayer
from vpg_sim.ui.panels.frame import Frame
from vpg_sim.ui.panels.painter import LayerCache, PanelPainter, number_text
from vpg_sim.ui.theme import Colour, Palette


@dataclass(frozen=True)
class StageRegions:
    """Where things go inside the stage's content area: the episode's numbers in a header,
    the scene below it, and the scene's lower third (big figures in presenter mode)."""

    header: pygame.Rect
    scene: pygame.Rect
    lower_third: pygame.Rect


def stage_regions(area: pygame.Rect, px: Callable[[float], int], presenting: bool) -> StageRegions:
    header_h = px(100 if presenting else 82)
    header = pygame.Rect(area.x, area.y, area.width, header_h)
    scene = pygame.Rect(area.x, header.bottom, area.width, area.bottom - header.bottom)
    lower = pygame.Rect(scene.x, scene.y + round(scene.height * 0.70), scene.width, round(scene.height * 0.30))
    return StageRegions(header, scene, lower)


TRACK_AT = 0.62
"""The track's height in the scene, as a fraction from its top: the lower third stays free."""


class StagePanel:
    """The stage: CartPole drawn from its state (other envs: their own frame), the push
    being dragged, the episode's step, return and pushes, which policy plays, why the last
    episode ended, and in presenter mode the run's figures in large type."""

    def __init__(self) -> None:
        self.track_layer = LayerCache()

    def draw(self, painter: PanelPainter, rect: pygame.Rect, frame: Frame) -> None:
        palette, stage, surface = painter.palette, frame.stage, painter.surface
        area = painter.panel(rect, "Stage", f"{frame.env_id} · seed {frame.seed}")
        regions = stage_regions(area, painter.px, frame.presenting)
        scene = regions.scene
        draw_scene(painter, stage, scene, self.track_layer)
        if not stage.is_cartpole and stage.last_push:
            target = pygame.Rect(0, 0, painter.px(60), painter.px(20))
            target.center = (scene.centerx, scene.y + round(scene.height * TRACK_AT))
            draw_push(surface, palette, target, stage.last_push, painter.layout.scale)
        if frame.drag is not None:
            draw_arrow(surface, palette.push, frame.drag.start, frame.drag.now, max(3, painter.px(5)))
            painter.text(
                f"{abs(frame.drag.impulse):.1f} N·s", frame.drag.now, 16, palette.push, bold=True, anchor="midbottom"
            )
        self._draw_header(painter, regions.header, frame)
        if stage.hold_remaining > 0 and stage.finished is not None:
            finished = stage.finished
            banner = f"episode over: return {number_text(finished.total_return, '.0f')} · {finished.end_reason}"
            _boxed_text(painter, banner, (scene.centerx, scene.y + painter.px(6)), 18, palette.realised)
        if frame.presenting:
            self._draw_presenter_figures(painter, regions.lower_third, frame)

    def _draw_header(self, painter: PanelPainter, header: pygame.Rect, frame: Frame) -> None:
        palette, stage = painter.palette, frame.stage
        steps = len(stage.trace.rewards)
        line = painter.text(f"episode {stage.episode_number + 1}", (header.x, header.y + painter.px(2)), 22, bold=True)
        line = painter.text(
            f"step {steps}   return {number_text(stage.trace.total_return, '.0f')}",
            (header.x, line.bottom + painter.px(2)),
            22,
        )
        if stage.pushes:
            painter.text(f"pushes {stage.pushes}", (header.x, line.bottom + painter.px(2)), 16, palette.push, bold=True)
        if frame.scrub_update is not None:
            title, colour = f"timeline: policy of update {stage.playing_update}", palette.realised
        else:
            title, colour = f"policy of update {stage.playing_update}", palette.value
        top = (header.right, header.y + painter.px(2))
        title_rect = painter.text(title, top, 20, colour, bold=True, anchor="topright")
        mode = "greedy" if stage.greedy else "sampled"
        speed = f"speed {stage.speed:g}x"
        if stage.steps_per_second != stage.real_time_rate:
            speed += f" ({stage.speed * stage.steps_per_second / stage.real_time_rate:.2g}x real time)"
        painter.text(
            f"{mode} · {speed}", (header.right, title_rect.bottom + painter.px(2)), 15, palette.muted, anchor="topright"
        )

    def _draw_presenter_figures(self, painter: PanelPainter, lower: pygame.Rect, frame: Frame) -> None:
        """Update, mean return and the state, big enough for the back of a hall."""
        palette = painter.palette
        stats = frame.stats
        update = frame.snapshot.update
        mean = "–" if stats is None or not math.isfinite(stats.mean_return_100) else f"{stats.mean_return_100:.0f}"
        figures = [("update", str(update)), ("mean return", mean)]
        # Between the track's limit lines (drawn at +-x_limit, ~87% of the way out): the
        # lines must not cross the figures.
        inner = lower.inflate(-round(lower.width * 0.16), 0)
        column_w = inner.width / (len(figures) + 1)
        for index, (name, value) in enumerate(figures):
            x = inner.x + column_w * (index + 0.5)
            value_rect = painter.text(value, (x, lower.centery), 40, bold=True, anchor="midbottom")
            painter.text(name, (x, value_rect.bottom), 18, palette.muted, anchor="midtop")
        x = inner.x + column_w * (len(figures) + 0.5)
        state = frame.state.upper()
        size = next((size for size in (34, 28, 24) if painter.text_size(state, size, bold=True)[0] <= column_w), 20)
        painter.text(state, (x, lower.centery), size, frame.state_colour, bold=True, anchor="midbottom")


def draw_scene(painter: PanelPainter, stage: StagePlayer, scene: pygame.Rect, track_layer: LayerCache) -> None:
    """The env on stage in ``scene``: CartPole drawn from its state (the arrow: the action of
    this episode's last step), any other env as its own frame."""
    if stage.is_cartpole:
        if not np.isfinite(stage.observation).all():  # a cart at NaN metres has no place to be drawn
            painter.text("the state is not finite", scene.center, 14, painter.palette.warning, anchor="center")
            return
        action = stage.decision.action if stage.trace.rewards else None
        draw_cartpole(
            painter.surface,
            scene,
            stage.observation,
            action,
            painter.palette,
            stage.env,
            painter.layout.scale,
            stage.last_push,
            track_layer,
        )
        return
    image = stage.frame()
    if image is not None:
        draw_frame(painter.surface, scene, image)


def _boxed_text(painter: PanelPainter, text: str, midtop: tuple[int, int], size: float, colour: Colour) -> None:
    """``text`` on a box of the panel's colour: readable over any drawing, an env's white frame too."""
    width, height = painter.text_size(text, size, bold=True)
    box = pygame.Rect(0, 0, width + painter.px(16), height + painter.px(6))
    box.midtop = midtop
    pygame.draw.rect(painter.surface, painter.palette.panel, box, border_radius=painter.px(6))
    pygame.draw.rect(painter.surface, colour, box, width=1, border_radius=painter.px(6))
    painter.text(text, box.center, size, colour, bold=True, anchor="center")


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
    track_layer: LayerCache | None = None,
) -> None:
    """CartPole from its state ``(x, x_dot, theta, theta_dot)``, scaled to ``rect``.

    Draws the track with the +-x limits, the pole's +-angle limits around the pivot,
    the cart, the pole, the pushing force as an arrow in the action's colour and,
    when ``push`` (N·s, negative: left) is not 0, a person's push as an arrow that
    hits the cart from outside.
    """
    x, _, theta, _ = (float(v) for v in state)
    physics = env.unwrapped
    angle_limit = float(physics.theta_threshold_radians)
    half_pole = float(physics.length)
    scale, track_y = _cartpole_scale(rect, env)
    cart_w, cart_h = 0.5 * scale, 0.28 * scale

    def to_px(world_x: float) -> float:
        return rect.centerx + world_x * scale

    if track_layer is None:
        draw_cartpole_track(surface, rect, palette, env, unit)
    else:  # the same every frame: drawn once, then blitted (0.3 ms of lines a frame at 1080p)
        local = pygame.Rect(0, 0, rect.width, rect.height)
        image = track_layer.get(
            (),
            (palette.name, unit),
            rect.size,
            lambda layer: draw_cartpole_track(layer, local, palette, env, unit),
            background=palette.panel,
        )
        surface.blit(image, rect)

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
        # Kept inside the stage: at the track's limit the cart's edge is near the panel's.
        start_x = min(max(edge + direction * unit * 6, rect.left), rect.right)
        end_x = min(max(edge + direction * unit * 56, rect.left), rect.right)
        if abs(end_x - start_x) > unit * 12:
            width = max(3, round(unit * 5))
            draw_arrow(surface, palette.action(action), (start_x, cart.centery), (end_x, cart.centery), width)
    if push:
        draw_push(surface, palette, cart, push, unit)


def _cartpole_scale(rect: pygame.Rect, env: gym.Env) -> tuple[float, float]:
    """Pixels per metre, and the track's height, for CartPole in ``rect``."""
    world_width = 2 * float(env.unwrapped.x_threshold) * 1.15
    return rect.width / world_width, rect.y + rect.height * TRACK_AT


def draw_cartpole_track(
    surface: pygame.Surface, rect: pygame.Rect, palette: Palette, env: gym.Env, unit: float
) -> None:
    """What never moves: the track with its ticks, and the zones beyond +-x_limit with
    their dashed edges."""
    x_limit = float(env.unwrapped.x_threshold)
    scale, track_y = _cartpole_scale(rect, env)

    def to_px(world_x: float) -> float:
        return rect.centerx + world_x * scale

    # Track and the out-of-bounds zones beyond +-x_limit.
    line = max(2, round(unit * 2))
    for side in (-1, 1):
        limit_px = to_px(side * x_limit)
        zone = pygame.Rect(0, rect.y, 0, rect.height)
        zone.left, zone.right = (rect.left, round(limit_px)) if side < 0 else (round(limit_px), rect.right)
        pygame.draw.rect(surface, palette.blend(palette.warning, palette.panel, 0.11), zone)
        for y in range(rect.y, rect.bottom - 8, round(unit * 14)):
            pygame.draw.line(surface, palette.warning, (limit_px, y), (limit_px, y + unit * 7), line)
    pygame.draw.line(surface, palette.track, (rect.left, track_y), (rect.right, track_y), line)
    for tick in np.arange(-2.0, 2.01, 0.5):
        pygame.draw.line(surface, palette.grid, (to_px(tick), track_y + 4), (to_px(tick), track_y + unit * 10), 1)


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
