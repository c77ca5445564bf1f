"""The map view (M): pi(a|s) and V(s) as heat maps over two observation dimensions,
the stage's state a dot on both, its recent path a fading trail."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import pygame

from vpg_sim.core.checkpoint import Checkpoint
from vpg_sim.core.policy_map import MEAN_ACTION, MOST_LIKELY, PolicyMap, policy_map_from_checkpoint
from vpg_sim.core.state_space import default_ranges, env_map_info, env_observation_space
from vpg_sim.ui.panels.frame import Frame
from vpg_sim.ui.panels.painter import PanelPainter
from vpg_sim.ui.theme import Colour, Palette

GRID = 48
"""Cells per side: 48 x 48 through both nets costs ~1 ms here, and reads as smooth."""
REFRESH_SECONDS = 0.2
"""The map follows the stage's state (the dimensions off the map are held at it): it is
evaluated again at most this often, in a thread, never in the frame."""
TRAIL = 60
"""Recent states drawn as the fading trail (1.2 s of CartPole)."""
IDLE_SECONDS = 2.0
"""The map's thread ends after this long without a request: ten refreshes missed, so the
map is no longer drawn (closed, or the window is)."""


@dataclass(frozen=True)
class _Request:
    snapshot: Checkpoint
    dims: tuple[int, int]
    held_at: np.ndarray


class _MapWorker:
    """Evaluates the newest requested map in a daemon thread (the latest request wins).

    The thread ends once no request has come for ``idle_seconds`` (the map view closed,
    or the window): a panel that is no longer drawn holds no thread. :meth:`request`
    then says so, and the panel starts another worker.
    """

    def __init__(self, idle_seconds: float | None = None) -> None:
        self._lock = threading.Condition()
        self._request: _Request | None = None
        self._result: PolicyMap | None = None
        self._ranges: dict[tuple[str, tuple[int, int]], tuple] = {}
        self._idle_seconds = IDLE_SECONDS if idle_seconds is None else idle_seconds
        self._ended = False
        self.thread = threading.Thread(target=self._run, name="policy-map", daemon=True)
        self.thread.start()

    def request(self, request: _Request) -> bool:
        """Ask for ``request``'s map; False if the thread has ended (idle), asking nothing."""
        with self._lock:
            if self._ended:
                return False
            self._request = request
            self._lock.notify()
            return True

    def take(self) -> PolicyMap | None:
        with self._lock:
            result, self._result = self._result, None
            return result

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._request is None:
                    self._lock.wait(self._idle_seconds)
                if self._request is None:  # idle: the panel is not being drawn
                    self._ended = True
                    return
                request, self._request = self._request, None
            result = self._evaluate(request)
            with self._lock:
                self._result = result

    def _evaluate(self, request: _Request) -> PolicyMap:
        config = request.snapshot.config
        key = (config.env_id, request.dims)
        if key not in self._ranges:  # the env's limits (or typical ranges): the same all run long
            space = env_observation_space(config.env_id, request.snapshot.observation_space)
            every = default_ranges(config.env_id, space)
            self._ranges[key] = (space, (every[request.dims[0]], every[request.dims[1]]))
        space, ranges = self._ranges[key]
        return policy_map_from_checkpoint(
            request.snapshot, request.dims, GRID, ranges, request.held_at, observation_space=space
        )


class MapPanel:
    """Two heat maps side by side: the policy (for two actions pi(right|s) on a diverging
    scale, 0.5 neutral) and the critic's V(s) in return units."""

    def __init__(self) -> None:
        self.pair = 0
        """Which of the env's default dimension pairs is shown (M cycles them)."""
        self._worker: _MapWorker | None = None
        self._map: PolicyMap | None = None
        self._images: tuple[pygame.Surface, pygame.Surface] | None = None
        self._scaled: dict[tuple[int, tuple[int, int]], pygame.Surface] = {}
        self._next_request = 0.0

    def dims(self, frame: Frame) -> tuple[int, int]:
        info = env_map_info(frame.env_id, frame.stage.env.observation_space)
        return info.default_pairs[self.pair % len(info.default_pairs)]

    def draw(self, painter: PanelPainter, rect: pygame.Rect, frame: Frame) -> None:
        palette = painter.palette
        self._follow(frame, palette)
        shown = self._map
        area = painter.panel(rect, "Map", f"the policy of update {frame.stage.playing_update} · M: next pair, close")
        if shown is None or self._images is None:
            painter.text("drawing the map…", area.center, 12, palette.muted, anchor="center")
            return
        info = env_map_info(frame.env_id, frame.stage.env.observation_space)
        held = ", ".join(
            f"{name} {float(value):+.2f}"
            for index, (name, value) in enumerate(zip(info.names, shown.held_at, strict=True))
            if index not in shown.dims
        )
        others = [float(value) for index, value in enumerate(shown.held_at) if index not in shown.dims]
        short = ", ".join(f"{value:+.2f}" for value in others)
        held_text = painter.fitting(
            (f"others held at the stage's state: {held}", f"others held at: {held}", f"others held at {short}"),
            11,
            area.width,
        )
        header = painter.text(held_text, (area.x, area.y), 11, palette.muted)
        gap = painter.px(16)
        half = (area.width - gap) // 2
        top = header.bottom + painter.px(4)
        body = pygame.Rect(area.x, top, area.width, area.bottom - top)
        titles = (shown.policy_label, _value_title(shown.value))
        for index, (image, title) in enumerate(zip(self._images, titles, strict=True)):
            box = pygame.Rect(body.x + index * (half + gap), body.y, half, body.height)
            self._draw_map(painter, box, image, title, shown, frame)

    def _follow(self, frame: Frame, palette: Palette) -> None:
        """Ask for the map of this frame's snapshot and state (at most every
        :data:`REFRESH_SECONDS`), and take a finished one."""
        if self._worker is None:
            self._worker = _MapWorker()
        now = time.monotonic()
        if now >= self._next_request:
            self._next_request = now + REFRESH_SECONDS
            held = np.asarray(frame.stage.observation, dtype=np.float32)
            request = _Request(frame.stage.snapshot, self.dims(frame), held)
            if not self._worker.request(request):  # its thread ended while the map was not drawn
                self._worker = _MapWorker()
                self._worker.request(request)
        result = self._worker.take()
        if result is not None:
            self._map = result
            self._images = (_policy_image(result, palette), _value_image(result, palette))
            self._scaled = {}

    def _draw_map(
        self, painter: PanelPainter, box: pygame.Rect, image: pygame.Surface, title: str, shown: PolicyMap, frame: Frame
    ) -> None:
        palette = painter.palette
        line_h = painter.text_size("Ag", 11)[1]
        x_range, y_range = shown.ranges
        y_ticks = (f"{y_range.high:+.2g}", f"{y_range.low:+.2g}")
        margin = max(painter.text_size(tick, 11)[0] for tick in y_ticks) + painter.px(5)
        plot = pygame.Rect(box.x + margin, box.y + line_h + 2, box.width - margin, 0)
        plot.height = box.bottom - plot.y - 2 * line_h - 2
        painter.text(title, (plot.x, box.y), 11, palette.text, bold=True)
        key = (id(image), plot.size)
        if key not in self._scaled:  # smooth, and only when a new map or size arrives
            self._scaled[key] = pygame.transform.smoothscale(image, plot.size)
        painter.surface.blit(self._scaled[key], plot)

        def to_px(x: float, y: float) -> tuple[float, float]:
            # float(): pygame refuses numpy float32 coordinates
            fx = (float(x) - x_range.low) / (x_range.high - x_range.low)
            fy = (float(y) - y_range.low) / (y_range.high - y_range.low)
            return plot.x + min(max(fx, 0.0), 1.0) * plot.width, plot.bottom - min(max(fy, 0.0), 1.0) * plot.height

        limits = env_map_info(frame.env_id, frame.stage.env.observation_space).limits
        for axis, dim in enumerate(shown.dims):  # where an episode ends: dashed lines
            for limit in limits.get(dim, ()):
                x, y = to_px(limit, y_range.low) if axis == 0 else to_px(x_range.low, limit)
                for step in range(0, plot.height if axis == 0 else plot.width, 8):
                    start = (x, plot.y + step) if axis == 0 else (plot.x + step, y)
                    end = (x, plot.y + step + 4) if axis == 0 else (plot.x + step + 4, y)
                    pygame.draw.line(painter.surface, palette.warning, start, end)
        trail = frame.stage.trace.observations[-TRAIL:]
        for age, state in enumerate(trail):
            colour = palette.blend(palette.text, palette.panel, 0.15 + 0.65 * (age + 1) / len(trail))
            pygame.draw.circle(painter.surface, colour, to_px(state[shown.dims[0]], state[shown.dims[1]]), 2)
        dot = to_px(frame.stage.observation[shown.dims[0]], frame.stage.observation[shown.dims[1]])
        pygame.draw.circle(painter.surface, palette.background, dot, painter.px(6))
        pygame.draw.circle(painter.surface, palette.text, dot, painter.px(4))
        muted, left = palette.muted, plot.x - painter.px(3)
        painter.text(y_ticks[0], (left, plot.y), 11, muted, anchor="topright")
        painter.text(y_ticks[1], (left, plot.bottom), 11, muted, anchor="bottomright")
        below = plot.bottom + 1
        for row, (arrow, name, unit, span) in enumerate(
            (("→", shown.names[0], shown.units[0], x_range), ("↑", shown.names[1], shown.units[1], y_range))
        ):
            extent = f"{span.low:+.2g} … {span.high:+.2g}"
            label = painter.fitting(
                (f"{arrow} {name} {unit}: {extent}".replace(" :", ":"), f"{arrow} {name}: {extent}", f"{arrow} {name}"),
                11,
                box.width,
            )
            painter.text(label, (box.centerx, below + row * line_h), 11, muted, anchor="midtop")


def _value_title(value: np.ndarray) -> str:
    """V's range over the map ``(N, N)``, and how many cells hold no finite V (drawn in the warning colour)."""
    finite = value[np.isfinite(value)]
    if not len(finite):
        return "V(s): not finite"
    title = f"V(s): {float(finite.min()):.0f} … {float(finite.max()):.0f}"
    return title if len(finite) == value.size else f"{title} · {value.size - len(finite)} not finite"


def _mix(low: Colour, high: Colour, fraction: np.ndarray) -> np.ndarray:
    """Colours between ``low`` and ``high`` for fractions ``(N, N)`` in [0, 1]: ``(N, N, 3)``
    (NaN: ``low``; the callers colour such cells apart)."""
    fraction = np.clip(np.nan_to_num(fraction, nan=0.0), 0.0, 1.0)[..., None]
    return (np.asarray(low) * (1 - fraction) + np.asarray(high) * fraction).astype(np.uint8)


def _marked(rgb: np.ndarray, values: np.ndarray, palette: Palette) -> np.ndarray:
    """``rgb`` ``(N, N, 3)`` with the cells whose ``values`` ``(N, N)`` are not finite in the warning colour."""
    rgb = rgb.copy()
    rgb[~np.isfinite(values)] = palette.warning
    return rgb


def _surface(rgb: np.ndarray) -> pygame.Surface:
    """An ``(N, N, 3)`` image whose first row is the bottom one, as a surface the right way up."""
    return pygame.surfarray.make_surface(np.ascontiguousarray(np.flipud(rgb).swapaxes(0, 1)))


def _policy_image(shown: PolicyMap, palette: Palette) -> pygame.Surface:
    """Two actions: pi(right|s) from the left action's colour through the panel's (0.5, no
    preference) to the right action's. More: each cell in its most likely action's colour.
    Continuous: the mean action, negative to positive."""
    if shown.policy_kind == MOST_LIKELY:
        colours = np.array([palette.action(i) for i in range(int(shown.policy.max()) + 1)], dtype=np.uint8)
        return _surface(colours[shown.policy])
    if shown.policy_kind == MEAN_ACTION:
        finite = np.abs(shown.policy[np.isfinite(shown.policy)])
        extent = (float(finite.max()) if len(finite) else 0.0) or 1.0
        signed = shown.policy / extent
    else:
        signed = 2.0 * shown.policy - 1.0
    rgb = np.where(
        (signed >= 0)[..., None],
        _mix(palette.panel, palette.action(1), signed),
        _mix(palette.panel, palette.action(0), -signed),
    )
    return _surface(_marked(rgb.astype(np.uint8), shown.policy, palette))


def _value_image(shown: PolicyMap, palette: Palette) -> pygame.Surface:
    """V(s) from its lowest on the map (the panel's colour) to its highest (the value
    colour); a cell where it is not finite in the warning colour."""
    finite = shown.value[np.isfinite(shown.value)]
    low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    with np.errstate(invalid="ignore"):  # inf - inf in a non-finite cell: marked below
        fraction = (shown.value - low) / max(high - low, 1e-9)
    return _surface(_marked(_mix(palette.panel, palette.value, fraction), shown.value, palette))
