"""The policy panel: what the agent would do in the state on stage."""

from __future__ import annotations

import numpy as np
import pygame

from vpg_sim.training.stage import StepView
from vpg_sim.ui.frame import Frame
from vpg_sim.ui.panels.painter import PanelPainter, action_names


class PolicyPanel:
    """pi(a|s) for the state on stage: a bar per action, or the Gaussian for Box actions."""

    def draw(self, painter: PanelPainter, rect: pygame.Rect, frame: Frame) -> None:
        draw_policy(painter, rect, frame.env_id, frame.stage.view, frame.stage.greedy)


def draw_policy(painter: PanelPainter, rect: pygame.Rect, env_id: str, view: StepView, greedy: bool) -> None:
    mode = "greedy: argmax" if greedy else "sampled"
    area = painter.panel(rect, "Policy  π(a|s)", f"for the state on stage · actions {mode}")
    palette = painter.palette
    if view.probabilities is not None:
        probabilities = view.probabilities
        names = action_names(env_id, len(probabilities))
        row_h = min(area.height / len(probabilities), painter.px(34))
        label_w = painter.px(92)
        for i, p in enumerate(probabilities):
            y = area.y + i * row_h + row_h * 0.1
            bar_h = row_h * 0.7
            chosen = view.action is not None and int(view.action) == i
            painter.text(
                names[i],
                (area.x, y + bar_h / 2),
                13,
                palette.text if chosen else palette.muted,
                bold=chosen,
                anchor="midleft",
            )
            track = pygame.Rect(area.x + label_w, round(y), area.width - label_w - painter.px(56), round(bar_h))
            pygame.draw.rect(painter.surface, palette.grid, track, border_radius=painter.px(4))
            filled = track.copy()
            filled.width = max(1, round(track.width * float(p)))
            pygame.draw.rect(painter.surface, palette.action(i), filled, border_radius=painter.px(4))
            painter.text(f"{p:.2f}", (track.right + painter.px(8), y + bar_h / 2), 14, bold=True, anchor="midleft")
        return
    assert view.mean is not None and view.std is not None
    mean, std = float(view.mean[0]), float(view.std[0])
    low, high = mean - 4 * std, mean + 4 * std
    xs = np.linspace(low, high, 80)
    density = np.exp(-0.5 * ((xs - mean) / std) ** 2)
    points = [
        (area.x + (x - low) / (high - low) * area.width, area.bottom - d * area.height * 0.8)
        for x, d in zip(xs, density, strict=True)
    ]
    painter.polyline(points, palette.action(0), painter.px(2))
    label = f"mean {mean:+.2f}   std {std:.2f}"
    if view.action is not None:
        sampled = float(np.asarray(view.action).reshape(-1)[0])
        sx = area.x + (sampled - low) / (high - low) * area.width
        pygame.draw.line(painter.surface, palette.action(1), (sx, area.y), (sx, area.bottom), painter.px(2))
        label += f"   action {sampled:+.2f}"
    painter.text(label, (area.x, area.y), 13, palette.muted)
