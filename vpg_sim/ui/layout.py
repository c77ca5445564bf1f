"""Where each panel goes, as a pure function of the window size."""

from __future__ import annotations

from dataclasses import dataclass

import pygame

BASE_HEIGHT = 720
"""The layout is designed at 1280x720 and scales with the window height."""


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    scale: float
    status: pygame.Rect
    stage: pygame.Rect
    policy: pygame.Rect
    value: pygame.Rect
    advantage: pygame.Rect
    returns: pygame.Rect
    buttons: pygame.Rect

    def panels(self) -> dict[str, pygame.Rect]:
        return {
            "status": self.status,
            "stage": self.stage,
            "policy": self.policy,
            "value": self.value,
            "advantage": self.advantage,
            "returns": self.returns,
            "buttons": self.buttons,
        }

    def px(self, size: float) -> int:
        """A length designed at 720 px high, scaled to this window."""
        return max(1, round(size * self.scale))


def compute_layout(width: int, height: int) -> Layout:
    """Status bar on top, buttons at the bottom, the stage left, four panels right.

    The stage takes ~58% of the width; the right column stacks policy, value,
    advantage and the return curve.
    """
    scale = min(height / BASE_HEIGHT, width / 1280)
    gap = max(4, round(8 * scale))
    status_h = round(34 * scale)
    buttons_h = round(44 * scale)
    top = status_h + gap
    bottom = height - buttons_h - gap
    body_h = bottom - top

    stage_w = round((width - 3 * gap) * 0.58)
    right_x = gap + stage_w + gap
    right_w = width - right_x - gap
    stage = pygame.Rect(gap, top, stage_w, body_h)

    # Right column: policy is short, the return curve gets the most room.
    weights = (0.2, 0.24, 0.24, 0.32)
    usable = body_h - gap * (len(weights) - 1)
    rects = []
    y = top
    for i, weight in enumerate(weights):
        h = round(usable * weight) if i < len(weights) - 1 else bottom - y
        rects.append(pygame.Rect(right_x, y, right_w, h))
        y += h + gap
    return Layout(
        width=width,
        height=height,
        scale=scale,
        status=pygame.Rect(0, 0, width, status_h),
        stage=stage,
        policy=rects[0],
        value=rects[1],
        advantage=rects[2],
        returns=rects[3],
        buttons=pygame.Rect(0, height - buttons_h, width, buttons_h),
    )
