"""The training-return curve, drawn by matplotlib off the frame's critical path.

A matplotlib redraw costs ~12 ms here against ~3 ms for a whole native frame, so
a worker thread renders the figure (Agg, never pyplot) at most twice a second and
hands back RGBA bytes; the window only blits the newest image.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from vpg_sim.ui.theme import FONT_REGULAR, Palette

MIN_SECONDS_BETWEEN_RENDERS = 0.5
MOVING_AVERAGE = 100


@dataclass(frozen=True)
class PlotRequest:
    returns: np.ndarray  # (episodes,) training episode returns in finishing order
    threshold: float | None
    size: tuple[int, int]  # pixels
    markers: tuple[tuple[int, str], ...] = ()
    """(episode index, label): knob changes, drawn as labelled vertical lines."""


@dataclass(frozen=True)
class PlotImage:
    rgba: bytes
    size: tuple[int, int]
    episodes: int


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over up to ``window`` values, same length as ``values`` ``(E,)``."""
    cumulative = np.cumsum(np.insert(values.astype(np.float64), 0, 0.0))
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    return (cumulative[1:] - cumulative[np.arange(1, len(values) + 1) - counts]) / counts


class ReturnPlotRenderer:
    """Renders :class:`PlotRequest` s to :class:`PlotImage` s in a daemon thread."""

    def __init__(self, palette: Palette) -> None:
        self.palette = palette
        font_manager.fontManager.addfont(str(FONT_REGULAR))
        self._font_family = font_manager.FontProperties(fname=str(FONT_REGULAR)).get_name()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._request: PlotRequest | None = None
        self._image: PlotImage | None = None
        self._figure: _ReturnFigure | None = None  # touched by the worker thread only
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="return-plot", daemon=True)
        self._thread.start()

    def request(self, request: PlotRequest) -> None:
        """Ask for a render of ``request`` (replaces any request not yet started)."""
        with self._wake:
            self._request = request
            self._wake.notify()

    def take_image(self) -> PlotImage | None:
        """The newest finished image, once (None if nothing new)."""
        with self._lock:
            image, self._image = self._image, None
            return image

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()
        self._thread.join(timeout=1.0)

    def _run(self) -> None:
        last_render = 0.0
        while True:
            with self._wake:
                while self._request is None and not self._stopped:
                    self._wake.wait()
                if self._stopped:
                    return
                wait = last_render + MIN_SECONDS_BETWEEN_RENDERS - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                request, self._request = self._request, None
            last_render = time.monotonic()
            assert request is not None
            image = self.render(request)
            with self._lock:
                self._image = image

    def render(self, request: PlotRequest) -> PlotImage:
        """Draw the figure for ``request`` (callable directly, e.g. from tests).

        The figure, axes and lines are built once per size and threshold and only their
        data change afterwards: a fresh figure with a legend and tight_layout cost
        29-44 ms a render here (GIL held, so the trainer waited), an update ~6 ms.
        """
        width, height = max(request.size[0], 50), max(request.size[1], 50)
        if self._figure is None or self._figure.key != ((width, height), request.threshold):
            self._figure = _ReturnFigure(self.palette, (width, height), request.threshold, self._font_family)
        self._figure.update(request.returns, request.markers)
        return PlotImage(self._figure.rgba(), (width, height), len(request.returns))


class _ReturnFigure:
    """One matplotlib figure of a fixed size: episode returns, their moving average, the
    solved line and knob-change markers."""

    def __init__(self, palette: Palette, size: tuple[int, int], threshold: float | None, font_family: str) -> None:
        self.key = (size, threshold)
        self.palette = palette
        self.font_family = font_family
        width, height = size
        dpi = 100
        self.figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor=palette.hex(palette.panel))
        self.canvas = FigureCanvasAgg(self.figure)
        self.font_size = max(7.0, height / 22)
        # Fixed margins in pixels (room for "-1000" and the axis label) instead of
        # tight_layout on every render.
        points_to_pixels = dpi / 72
        self.figure.subplots_adjust(
            left=min(0.3, (self.font_size * 3.6 * points_to_pixels + 6) / width),
            right=1 - (self.font_size * 1.2 * points_to_pixels + 2) / width,  # the last x tick's label
            top=1 - 6 / height,
            bottom=min(0.45, (self.font_size * 3.4 * points_to_pixels + 4) / height),
        )
        axes = self.axes = self.figure.add_subplot()
        axes.set_facecolor(palette.hex(palette.panel))
        for spine in axes.spines.values():
            spine.set_color(palette.hex(palette.grid))
        axes.tick_params(colors=palette.hex(palette.muted), labelsize=self.font_size, labelfontfamily=font_family)
        axes.grid(True, color=palette.hex(palette.grid), linewidth=0.6)
        axes.set_xlabel(
            "training episode", color=palette.hex(palette.muted), fontsize=self.font_size, fontfamily=font_family
        )
        (self.raw_line,) = axes.plot(
            [], [], color=palette.hex(palette.muted), linewidth=0.6, alpha=0.6, label="episode return"
        )
        (self.mean_line,) = axes.plot(
            [], [], color=palette.hex(palette.value), linewidth=2.0, label=f"mean of last {MOVING_AVERAGE}"
        )
        self.threshold = threshold
        if threshold is not None:
            axes.axhline(
                threshold,
                color=palette.hex(palette.realised),
                linestyle="--",
                linewidth=1.2,
                label=f"solved ({threshold:g})",
            )
        legend = axes.legend(
            loc="upper left",
            frameon=False,
            labelcolor=palette.hex(palette.text),
            prop={"family": font_family, "size": self.font_size * 0.95},
        )
        legend.set_zorder(5)
        self.markers: list = []
        self.shown_markers: tuple[tuple[int, str], ...] = ()

    def update(self, returns: np.ndarray, markers: tuple[tuple[int, str], ...]) -> None:
        width_px = self.figure.bbox.width
        # At most ~2 points per pixel: a 5,000-episode line looks the same and draws 5x faster.
        stride = max(1, int(len(returns) // (2 * width_px)))
        episodes = np.arange(1, len(returns) + 1)
        self.raw_line.set_data(episodes[::stride], returns[::stride])
        self.mean_line.set_data(episodes[::stride], moving_average(returns, MOVING_AVERAGE)[::stride])
        self.axes.set_xlim(0, max(10, len(returns)))
        # 0 is always in range: returns are measured from it, and a lone threshold with no
        # episodes yet would otherwise make a range of nothing.
        values = [0.0, *returns.tolist(), *([self.threshold] if self.threshold is not None else [])]
        low, high = min(values), max(values)
        pad = max(high - low, 1.0) * 0.06
        self.axes.set_ylim(low - pad, high + pad)
        if markers != self.shown_markers:
            self._draw_markers(markers)

    def _draw_markers(self, markers: tuple[tuple[int, str], ...]) -> None:
        for artist in self.markers:
            artist.remove()
        self.markers = []
        colour = self.palette.hex(self.palette.realised)
        for index, (episode, label) in enumerate(markers):
            self.markers.append(self.axes.axvline(episode, color=colour, linestyle=":", linewidth=1.4))
            # Labels of nearby changes would collide: step each one down a line.
            self.markers.append(
                self.axes.annotate(
                    label,
                    (episode, 1.0),
                    xycoords=("data", "axes fraction"),
                    xytext=(-3, -3 - (index % 3) * self.font_size * 1.3),
                    textcoords="offset points",
                    va="top",
                    ha="right",
                    fontsize=self.font_size * 0.9,
                    color=colour,
                    fontfamily=self.font_family,
                    bbox={
                        "boxstyle": "round,pad=0.2",
                        "facecolor": self.palette.hex(self.palette.panel),
                        "edgecolor": "none",
                    },
                )
            )
        self.shown_markers = markers

    def rgba(self) -> bytes:
        self.canvas.draw()
        return bytes(self.canvas.buffer_rgba())
