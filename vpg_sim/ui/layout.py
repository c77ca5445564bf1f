"""Where each panel goes, as a pure function of the window size."""

from __future__ import annotations

from dataclasses import dataclass

import pygame

BASE_WIDTH, BASE_HEIGHT = 1280, 720
"""The layout is designed at 1280x720; every length scales with the window."""
CAPTION_BAND = 124
"""A lesson's caption band, in px at 1280x720: three lines of 24 px type and the step's
counter, in the button bar's place (the keys still work)."""


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    scale: float
    status: pygame.Rect
    stage: pygame.Rect
    timeline: pygame.Rect
    """The scrubber strip under the stage."""
    knobs: pygame.Rect | None
    """Under the timeline when the knobs panel is open, else None."""
    policy: pygame.Rect
    value: pygame.Rect
    advantage: pygame.Rect
    returns: pygame.Rect
    buttons: pygame.Rect

    def panels(self) -> dict[str, pygame.Rect]:
        panels = {
            "status": self.status,
            "stage": self.stage,
            "timeline": self.timeline,
            "policy": self.policy,
            "value": self.value,
            "advantage": self.advantage,
            "returns": self.returns,
            "buttons": self.buttons,
        }
        if self.knobs is not None:
            panels["knobs"] = self.knobs
        return panels

    def px(self, size: float) -> int:
        """A length designed at 1280x720, scaled to this window."""
        return max(1, round(size * self.scale))


def compute_layout(width: int, height: int, knobs_open: bool = False, caption: bool = False) -> Layout:
    """Status bar on top, buttons at the bottom (or, with ``caption``, a lesson's caption
    band in their place: ``buttons`` is then its rectangle), the stage left, four panels right.

    The left column stacks the stage, the timeline strip and (when open) the knobs
    panel; the right column stacks policy, value, advantage and the return curve.
    Lengths scale with the smaller of the two ratios to 1280x720, so 1920x1080 is
    1.5x and 3840x2160 3x the design, and a wide or tall window keeps its proportions.
    """
    scale = min(height / BASE_HEIGHT, width / BASE_WIDTH)

    def px(size: float) -> int:
        return max(1, round(size * scale))

    gap = max(4, px(8))
    status_h = px(40)
    buttons_h = px(CAPTION_BAND if caption else 44)
    top = status_h + gap
    bottom = height - buttons_h - gap
    body_h = bottom - top

    left_w = round((width - 3 * gap) * 0.58)
    right_x = gap + left_w + gap
    right_w = width - right_x - gap

    timeline_h = px(46)
    knobs_h = px(190) if knobs_open else 0
    stage_h = body_h - timeline_h - gap - (knobs_h + gap if knobs_open else 0)
    stage = pygame.Rect(gap, top, left_w, stage_h)
    timeline = pygame.Rect(gap, stage.bottom + gap, left_w, timeline_h)
    knobs = pygame.Rect(gap, timeline.bottom + gap, left_w, bottom - timeline.bottom - gap) if knobs_open else None

    # Right column: policy is short, the return curve gets the most room.
    weights = (0.19, 0.24, 0.24, 0.33)
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
        timeline=timeline,
        knobs=knobs,
        policy=rects[0],
        value=rects[1],
        advantage=rects[2],
        returns=rects[3],
        buttons=pygame.Rect(0, height - buttons_h, width, buttons_h),
    )


@dataclass(frozen=True)
class CompareLayout:
    """The comparison window: status bar, the two groups' stages stacked on the left, the
    returns panel (curves, bands, steps to solve) on the right, the keys bar at the bottom."""

    width: int
    height: int
    scale: float
    status: pygame.Rect
    stages: tuple[pygame.Rect, pygame.Rect]
    """Group A's stage above group B's."""
    returns: pygame.Rect
    buttons: pygame.Rect
    """The bar of key hints (named as the main window's, which draws the same bar)."""

    def panels(self) -> dict[str, pygame.Rect]:
        return {
            "status": self.status,
            "stage_a": self.stages[0],
            "stage_b": self.stages[1],
            "returns": self.returns,
            "buttons": self.buttons,
        }

    def px(self, size: float) -> int:
        return max(1, round(size * self.scale))


def compute_compare_layout(width: int, height: int, caption: bool = False) -> CompareLayout:
    """As :func:`compute_layout`: designed at 1280x720, scaled by the smaller ratio. The
    stages take 44% of the width (a cart needs width more than height), the curves the rest;
    ``caption`` makes the keys' bar a lesson's caption band."""
    scale = min(height / BASE_HEIGHT, width / BASE_WIDTH)

    def px(size: float) -> int:
        return max(1, round(size * scale))

    gap = max(4, px(8))
    status_h, buttons_h = px(40), px(CAPTION_BAND if caption else 34)
    top = status_h + gap
    bottom = height - buttons_h - gap
    left_w = round((width - 3 * gap) * 0.44)
    stage_h = (bottom - top - gap) // 2
    stage_a = pygame.Rect(gap, top, left_w, stage_h)
    stage_b = pygame.Rect(gap, stage_a.bottom + gap, left_w, bottom - stage_a.bottom - gap)
    right_x = stage_a.right + gap
    return CompareLayout(
        width=width,
        height=height,
        scale=scale,
        status=pygame.Rect(0, 0, width, status_h),
        stages=(stage_a, stage_b),
        returns=pygame.Rect(right_x, top, width - right_x - gap, bottom - top),
        buttons=pygame.Rect(0, height - buttons_h, width, buttons_h),
    )
