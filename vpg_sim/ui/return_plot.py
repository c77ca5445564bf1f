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
        """Draw the figure for ``request`` (callable directly, e.g. from tests)."""
        palette = self.palette
        width, height = max(request.size[0], 50), max(request.size[1], 50)
        dpi = 100
        figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor=palette.hex(palette.panel))
        canvas = FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        axes.set_facecolor(palette.hex(palette.panel))
        font_size = max(7.0, height / 22)
        for spine in axes.spines.values():
            spine.set_color(palette.hex(palette.grid))
        axes.tick_params(colors=palette.hex(palette.muted), labelsize=font_size, labelfontfamily=self._font_family)
        axes.grid(True, color=palette.hex(palette.grid), linewidth=0.6)
        returns = request.returns
        if len(returns):
            episodes = np.arange(1, len(returns) + 1)
            axes.plot(
                episodes, returns, color=palette.hex(palette.muted), linewidth=0.6, alpha=0.6, label="episode return"
            )
            axes.plot(
                episodes,
                moving_average(returns, MOVING_AVERAGE),
                color=palette.hex(palette.value),
                linewidth=2.0,
                label=f"mean of last {MOVING_AVERAGE}",
            )
        if request.threshold is not None:
            axes.axhline(
                request.threshold,
                color=palette.hex(palette.realised),
                linestyle="--",
                linewidth=1.2,
                label=f"solved ({request.threshold:g})",
            )
        for index, (episode, label) in enumerate(request.markers):
            axes.axvline(episode, color=palette.hex(palette.realised), linestyle=":", linewidth=1.4)
            # Labels of nearby changes would collide: step each one down a line.
            axes.annotate(
                label,
                (episode, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(-3, -3 - (index % 3) * font_size * 1.3),
                textcoords="offset points",
                va="top",
                ha="right",
                fontsize=font_size * 0.9,
                color=palette.hex(palette.realised),
                fontfamily=self._font_family,
                bbox={"boxstyle": "round,pad=0.2", "facecolor": palette.hex(palette.panel), "edgecolor": "none"},
            )
        axes.set_xlim(left=0, right=max(10, len(returns)))
        axes.set_xlabel(
            "training episode", color=palette.hex(palette.muted), fontsize=font_size, fontfamily=self._font_family
        )
        legend = axes.legend(
            loc="upper left",
            fontsize=font_size * 0.95,
            frameon=False,
            labelcolor=palette.hex(palette.text),
            prop={"family": self._font_family, "size": font_size * 0.95},
        )
        legend.set_zorder(5)
        figure.tight_layout(pad=0.4)
        canvas.draw()
        return PlotImage(bytes(canvas.buffer_rgba()), (width, height), len(returns))
