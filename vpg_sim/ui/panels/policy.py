"""The policy panel: what the agent did in the state on stage, and what else it might have done."""

from __future__ import annotations

import math

import numpy as np
import pygame
from gymnasium import spaces

from vpg_sim.training.stage import StepView
from vpg_sim.ui.panels.frame import Frame
from vpg_sim.ui.panels.painter import PanelPainter, action_names, number_text


class PolicyPanel:
    """pi(a|s) in the state where the stage's last action was chosen, that action marked: a
    bar per action, or for a Box action the Gaussian over the action's whole range."""

    def draw(self, painter: PanelPainter, rect: pygame.Rect, frame: Frame) -> None:
        stage = frame.stage
        mode = "greedy: argmax" if stage.greedy else "sampled"
        area = painter.panel(rect, "Policy  π(a|s)", f"in the state the last action was chosen · {mode}")
        decision = stage.decision
        if decision.probabilities is not None:
            draw_probabilities(painter, area, frame.env_id, decision)
        else:
            draw_gaussian(painter, area, decision, stage.env.action_space)


def draw_probabilities(painter: PanelPainter, area: pygame.Rect, env_id: str, decision: StepView) -> None:
    """One bar per action; the chosen one's name in bold."""
    palette = painter.palette
    probabilities = decision.probabilities
    assert probabilities is not None
    names = action_names(env_id, len(probabilities))
    row_h = min(area.height / len(probabilities), painter.px(34))
    label_w = painter.px(92)
    for i, p in enumerate(probabilities):
        y = area.y + i * row_h + row_h * 0.1
        bar_h = row_h * 0.7
        chosen = decision.action is not None and int(decision.action) == i
        colour = palette.text if chosen else palette.muted
        painter.text(names[i], (area.x, y + bar_h / 2), 13, colour, bold=chosen, anchor="midleft")
        track = pygame.Rect(area.x + label_w, round(y), area.width - label_w - painter.px(56), round(bar_h))
        pygame.draw.rect(painter.surface, palette.grid, track, border_radius=painter.px(4))
        if math.isfinite(p):  # else an empty track, and the label says what it holds
            filled = track.copy()
            filled.width = max(1, round(track.width * min(max(float(p), 0.0), 1.0)))
            pygame.draw.rect(painter.surface, palette.action(i), filled, border_radius=painter.px(4))
        painter.text(number_text(p), (track.right + painter.px(8), y + bar_h / 2), 14, bold=True, anchor="midleft")


def draw_gaussian(painter: PanelPainter, area: pygame.Rect, decision: StepView, action_space: spaces.Space) -> None:
    """The Gaussian's density over the action's range [low, high] (so a narrow policy looks
    narrow), the limits, the mean, and the sampled action as the env received it (clipped)."""
    palette = painter.palette
    assert decision.mean is not None and decision.std is not None and isinstance(action_space, spaces.Box)
    mean, std = float(decision.mean[0]), float(decision.std[0])
    low, high = float(action_space.low[0]), float(action_space.high[0])
    margin = 0.15 * (high - low)
    left, right = low - margin, high + margin
    header = painter.text(
        f"mean {number_text(mean, '+.2f')}   std {number_text(std)}", (area.x, area.y), 13, palette.muted
    )
    plot = pygame.Rect(area.x, header.bottom + painter.px(4), area.width, area.bottom - header.bottom - painter.px(22))
    if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
        painter.text("not finite: no distribution to draw", plot.center, 12, palette.warning, anchor="center")
        return

    def x_of(value: float) -> float:
        return plot.x + (min(max(value, left), right) - left) / (right - left) * plot.width

    for limit in (low, high):
        x = x_of(limit)
        pygame.draw.line(painter.surface, palette.warning, (x, plot.y), (x, plot.bottom), max(1, painter.px(1)))
        painter.text(f"{limit:+g}", (x, plot.bottom + painter.px(2)), 11, palette.warning, anchor="midtop")
    xs = np.linspace(left, right, 160)
    density = np.exp(-0.5 * ((xs - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi))
    # Heights relative to the density at the mean of a std that fills a quarter of the
    # range: a wide policy is low and flat, a sharp one a spike clipped at the top.
    reference = 1.0 / ((high - low) / 4 * np.sqrt(2 * np.pi))
    heights = np.minimum(density / reference, 1.0) * plot.height * 0.9
    points = np.column_stack([[x_of(x) for x in xs], plot.bottom - heights]).tolist()
    painter.polyline(points, palette.action(0), painter.px(2))
    pygame.draw.line(painter.surface, palette.action(0), (x_of(mean), plot.bottom), (x_of(mean), plot.y), 1)
    sampled = math.nan if decision.action is None else float(np.asarray(decision.action).reshape(-1)[0])
    if math.isfinite(sampled):
        applied = min(max(sampled, low), high)
        x = x_of(applied)
        pygame.draw.line(painter.surface, palette.action(1), (x, plot.y), (x, plot.bottom), painter.px(3))
        clipped = " (clipped)" if applied != sampled else ""
        painter.text(
            f"action {applied:+.2f}{clipped}", (area.right, area.y), 13, palette.action(1), bold=True, anchor="topright"
        )
