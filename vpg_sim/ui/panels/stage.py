"""The stage panel: the env drawn from its state, the push, and the episode's numbers."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pygame

from vpg_sim.core.nudge import MAX_IMPULSE
from vpg_sim.ui.frame import Frame
from vpg_sim.ui.panels.painter import PanelPainter
from vpg_sim.ui.theme import Colour, Palette


class StagePanel:
    """The stage: CartPole drawn from its state (other envs: their own frame), the push
    being dragged, the episode's step and return, and which policy plays."""

    def draw(self, painter: PanelPainter, rect: pygame.Rect, frame: Frame) -> None:
        palette, stage, surface = painter.palette, frame.stage, painter.surface
        area = painter.panel(rect, "Stage", f"{frame.env_id} · seed {frame.seed}")
        if stage.is_cartpole:
            action = stage.decision.action if stage.trace.rewards else None
            draw_cartpole(
                surface, area, stage.observation, action, palette, stage.env, painter.layout.scale, stage.last_push
            )
        else:
            image = stage.frame()
            if image is not None:  # below the episode's numbers, which would not read on a white frame
                header = painter.px(90)
                draw_frame(surface, pygame.Rect(area.x, area.y + header, area.width, area.height - header), image)
            if stage.last_push:
                target = pygame.Rect(0, 0, painter.px(60), painter.px(20))
                target.center = (area.centerx, area.bottom - painter.px(60))
                draw_push(surface, palette, target, stage.last_push, painter.layout.scale)
        if frame.drag is not None:
            draw_arrow(surface, palette.push, frame.drag.start, frame.drag.now, max(3, painter.px(5)))
            painter.text(
                f"{abs(frame.drag.impulse):.1f} N·s", frame.drag.now, 16, palette.push, bold=True, anchor="midbottom"
            )
        steps = len(stage.trace.rewards)
        line = painter.text(f"episode {stage.episode_number + 1}", (area.x, area.y + painter.px(4)), 22, bold=True)
        line = painter.text(
            f"step {steps}   return {stage.trace.total_return:.0f}", (area.x, line.bottom + painter.px(2)), 22
        )
        if stage.pushes:
            painter.text(f"pushes {stage.pushes}", (area.x, line.bottom + painter.px(4)), 16, palette.push, bold=True)
        if frame.scrub_update is not None:
            title, colour = f"timeline: policy of update {stage.playing_update}", palette.realised
        else:
            title, colour = f"policy of update {stage.playing_update}", palette.value
        title_rect = painter.text(title, (area.right, area.y + painter.px(4)), 20, colour, bold=True, anchor="topright")
        mode = "greedy" if stage.greedy else "sampled"
        painter.text(
            f"{mode} · speed {stage.speed:g}x",
            (area.right, title_rect.bottom + painter.px(4)),
            15,
            palette.muted,
            anchor="topright",
        )
        if stage.hold_remaining > 0 and stage.finished is not None:
            why = "pole fell or cart left the track" if stage.finished.terminated else "time limit reached"
            if not stage.is_cartpole:
                why = "goal reached" if stage.finished.terminated else "time limit reached"
            banner = f"episode over: return {stage.finished.total_return:.0f} ({why})"
            painter.text(
                banner, (area.centerx, area.bottom - painter.px(24)), 18, palette.realised, bold=True, anchor="center"
            )


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
