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
MARKER_ROWS = 3
"""Rows of knob-change labels below the top of the curve: more would hide the curve."""
MOVING_AVERAGE = 100


@dataclass(frozen=True)
class PlotRequest:
    returns: np.ndarray  # (episodes,) training episode returns in finishing order
    threshold: float | None
    size: tuple[int, int]  # pixels
    markers: tuple[tuple[int, str], ...] = ()
    """(episode index, label): knob changes, drawn as labelled vertical lines."""
    min_font_px: float = 0.0
    """No text smaller than this many pixels (presenter mode)."""
    reference: np.ndarray | None = None
    """(episodes,) a reference run's returns (vpg-sim's own code beside a student's), drawn
    faint as its mean of the last 100; None when there is none."""


@dataclass(frozen=True)
class PlotImage:
    rgba: bytes
    size: tuple[int, int]
    episodes: int


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over up to ``window`` values, same length as ``values`` ``(E,)``. A
    value that is not finite is left out of the means (one NaN return would otherwise
    blank the curve for good); NaN where a window holds no finite value."""
    finite = np.isfinite(values)
    cumulative = np.cumsum(np.insert(np.where(finite, values, 0.0).astype(np.float64), 0, 0.0))
    counted = np.cumsum(np.insert(finite, 0, False))
    ends = np.arange(1, len(values) + 1)
    starts = ends - np.minimum(ends, window)
    counts = counted[ends] - counted[starts]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (cumulative[ends] - cumulative[starts]) / counts


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
        key = ((width, height), request.threshold, request.min_font_px, request.reference is not None)
        if self._figure is None or self._figure.key != key:
            self._figure = _ReturnFigure(
                self.palette,
                (width, height),
                request.threshold,
                self._font_family,
                request.min_font_px,
                with_reference=request.reference is not None,
            )
        self._figure.update(request.returns, request.markers, request.reference)
        return PlotImage(self._figure.rgba(), (width, height), len(request.returns))


class _ReturnFigure:
    """One matplotlib figure of a fixed size: episode returns, their moving average, the
    solved line and knob-change markers."""

    def __init__(
        self,
        palette: Palette,
        size: tuple[int, int],
        threshold: float | None,
        font_family: str,
        min_font_px: float = 0.0,
        with_reference: bool = False,
    ) -> None:
        self.key = (size, threshold, min_font_px, with_reference)
        self.palette = palette
        self.font_family = font_family
        width, height = size
        dpi = 100
        self.figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor=palette.hex(palette.panel))
        self.canvas = FigureCanvasAgg(self.figure)
        points_to_pixels = dpi / 72
        self.font_size = max(7.0, height / 22, min_font_px / points_to_pixels)
        # Fixed margins in pixels (room for "-1000", the axis label and the legend's row
        # above the axes, off the data) instead of tight_layout on every render.
        line = self.font_size * points_to_pixels
        self.figure.subplots_adjust(
            left=min(0.3, (line * 3.6 + 6) / width),
            right=1 - (line * 1.2 + 2) / width,  # the last x tick's label
            top=1 - min(0.4, (line * (2.7 if with_reference else 1.5) + 4) / height),  # the legend's rows
            bottom=min(0.45, (line * 3.4 + 4) / height),
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
        self.reference_line = None
        if with_reference:
            (self.reference_line,) = axes.plot(
                [],
                [],
                color=palette.hex(palette.muted),
                linewidth=1.6,
                linestyle="--",
                alpha=0.8,
                label="reference run (same seed)",
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
            loc="lower left",
            bbox_to_anchor=(0.0, 1.0),
            ncol=2 if with_reference else 3,  # four entries in two rows: one row would run off the panel
            borderaxespad=0.1,
            borderpad=0.0,
            handlelength=1.5,
            columnspacing=1.2,
            frameon=False,
            labelcolor=palette.hex(palette.text),
            prop={"family": font_family, "size": self.font_size * 0.95},
        )
        legend.set_zorder(5)
        self.markers: list = []
        self.shown_markers: tuple[tuple[int, str], ...] = ()

    def update(
        self, returns: np.ndarray, markers: tuple[tuple[int, str], ...], reference: np.ndarray | None = None
    ) -> None:
        width_px = self.figure.bbox.width
        # At most ~2 points per pixel: a 5,000-episode line looks the same and draws 5x faster.
        stride = max(1, int(len(returns) // (2 * width_px)))
        episodes = np.arange(1, len(returns) + 1)
        finite = np.isfinite(returns)
        # A return that is not finite is a gap in the line (matplotlib leaves NaN out).
        self.raw_line.set_data(episodes[::stride], np.where(finite, returns, np.nan)[::stride])
        self.mean_line.set_data(episodes[::stride], moving_average(returns, MOVING_AVERAGE)[::stride])
        if self.reference_line is not None and reference is not None:
            shown = reference[: len(returns)]  # the reference trains in turn: never ahead by more than an update
            self.reference_line.set_data(np.arange(1, len(shown) + 1), moving_average(shown, MOVING_AVERAGE))
        self.axes.set_xlim(0, max(10, len(returns)))
        # 0 is always in range: returns are measured from it, and a lone threshold with no
        # episodes yet would otherwise make a range of nothing.
        values = [0.0, *returns[finite].tolist(), *([self.threshold] if self.threshold is not None else [])]
        low, high = min(values), max(values)
        pad = max(high - low, 1.0) * 0.06
        self.axes.set_ylim(low - pad, high + pad)
        if markers or self.shown_markers:  # placed in pixels: again whenever the x range grows
            self._draw_markers(markers)

    def _draw_markers(self, markers: tuple[tuple[int, str], ...]) -> None:
        """A dotted line per knob change; its label in the first of a few rows (from the
        top) where it overlaps no other label, kept inside the axes, or none at all."""
        for artist in self.markers:
            artist.remove()
        self.markers = []
        colour = self.palette.hex(self.palette.realised)
        left, right = self.axes.get_xlim()
        axes_width_px = self.axes.bbox.width
        px_per_episode = axes_width_px / max(right - left, 1e-9)
        char_px = self.font_size * 0.9 * 0.58 * self.figure.dpi / 72
        rows: list[list[tuple[float, float]]] = [[] for _ in range(MARKER_ROWS)]
        for episode, label in markers:
            self.markers.append(self.axes.axvline(episode, color=colour, linestyle=":", linewidth=1.4))
            x_px = (episode - left) * px_per_episode
            width = len(label) * char_px + 6
            start = min(max(x_px - width, 0.0), axes_width_px - width)  # right-aligned on its line, inside
            span = (start, start + width)
            row = next((i for i, taken in enumerate(rows) if all(span[1] < a or span[0] > b for a, b in taken)), None)
            if row is None:
                continue  # no room: the line alone still marks the change
            rows[row].append(span)
            self.markers.append(
                self.axes.annotate(
                    label,
                    (left + (span[0] + 3) / px_per_episode, 1.0),
                    xycoords=("data", "axes fraction"),
                    xytext=(0, -3 - row * self.font_size * 1.3),
                    textcoords="offset points",
                    va="top",
                    ha="left",
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
