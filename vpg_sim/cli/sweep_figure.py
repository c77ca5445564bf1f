"""A sweep as a figure (matplotlib, Agg): for a paper or a slide.

A 1-D grid: above, each value's return curve against env steps (the IQM over seeds, or
with ``--stat mean`` the mean) with its shaded pointwise 95% interval over seeds (colours
from one ordered colormap, the legend in the grid's order) and the env's solved line;
below, each value's seeds' steps to solve as dots, the median as a bar with its interval
(the legend gives each value's solved count). A 2-D grid: a heat map, the first key
down and the second across (as the window draws it), of each cell's median steps to solve, or, where fewer than
half its seeds solved (no median), its return at the end of training (grey); each cell
labelled with its number and its solved count (``core/comparison.cell_value``: the
numbers of the JSON and of the window).
"""

from __future__ import annotations

import io
import math

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter

from vpg_sim.core.comparison import group_band
from vpg_sim.core.comparison import setting_text as value_text
from vpg_sim.training.sweep_run import SweepResult

DPI = 150
SIZE = (10.0, 6.6)
"""Inches: 1500 x 990 pixels at :data:`DPI`."""
CURVE_COLOURS = "viridis"
"""One ordered colormap: the values' order reads as a gradient (its yellow end darkened)."""
STEPS_COLOURS = "viridis_r"
"""Heat map: fewer steps to solve, brighter."""
UNSOLVED_GREY = "#d9d9d9"


SHORT_BAND = {
    "iqm": "pointwise 95% interval (stratified bootstrap over seeds, percentile)",
    "mean": "pointwise 95% t-interval over seeds",
}
"""The band's method in a few words (the JSON's ``band_method`` gives it in full)."""


def statistic_name(statistic: str) -> str:
    return "IQM" if statistic == "iqm" else statistic


def sweep_figure(result: SweepResult, statistic: str) -> Figure:
    """The figure of ``result``: curves for a 1-D grid, a heat map for a 2-D one."""
    figure = Figure(figsize=SIZE, layout="constrained")
    keys = result.keys
    if len(keys) == 1:
        curves_axes, dots_axes = figure.subplots(2, 1, sharex=True, height_ratios=(3.2, 1.4))
        draw_curves(curves_axes, dots_axes, result, statistic)
        figure.supxlabel(
            f"curves: {statistic_name(statistic)} over seeds; shaded: its {SHORT_BAND[statistic]}\n"
            "dots: each seed's steps to solve; bar: the median; band: its 95% interval",
            fontsize="small",
            color="#444444",
        )
    else:
        draw_heat_map(figure.subplots(), figure, result, statistic)
    figure.suptitle(f"{result.env_id}: {' x '.join(keys)}, {len(result.seeds)} seeds per cell")
    return figure


def sweep_png(result: SweepResult, statistic: str) -> bytes:
    """The PNG of :func:`sweep_figure`."""
    figure = sweep_figure(result, statistic)
    buffer = io.BytesIO()
    FigureCanvasAgg(figure)
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def draw_curves(curves_axes: Axes, dots_axes: Axes, result: SweepResult, statistic: str) -> None:
    """Each value's curve (``statistic`` over seeds) and band (above) and its seeds' steps to solve (below)."""
    cells = result.cells
    key = result.keys[0]
    colours = colormaps[CURVE_COLOURS](np.linspace(0.0, 0.85, len(cells)))  # its yellowest end is hard to see
    largest = 1.0
    for cell, colour in zip(cells, colours, strict=True):
        cell_result = result.results[cell.index]
        summary = result.summary(cell, statistic)
        band = group_band(cell_result.curves, statistic)
        if band is not None:
            grid = band.env_steps
            curves_axes.fill_between(grid, band.low, band.high, color=colour, alpha=0.15, linewidth=0)
            label = f"{key}={value_text(cell.settings[key])}  ({cell_result.solved}/{len(result.seeds)} solved)"
            curves_axes.plot(grid, band.centre, color=colour, linewidth=2.0, label=label)
            largest = max(largest, float(grid[-1]))
        row = len(cells) - 1 - cell.index  # the first value on top, as in the legend
        solved = [steps for steps in cell_result.steps_to_solve if steps is not None]
        spread = np.linspace(-0.15, 0.15, len(solved)) if len(solved) > 1 else np.zeros(len(solved))
        dots_axes.scatter(solved, row + spread, s=16, color=colour, alpha=0.85, edgecolors="none", zorder=3)
        interval = summary.median.interval
        if interval is not None and math.isfinite(interval[0]):
            high = interval[1] if math.isfinite(interval[1]) else largest * 1.02
            dots_axes.plot([interval[0], high], [row, row], color=colour, linewidth=5, alpha=0.25, zorder=2)
        if math.isfinite(summary.median.median):
            median = summary.median.median
            dots_axes.plot([median, median], [row - 0.35, row + 0.35], color=colour, linewidth=2.5, zorder=4)
    if result.reward_threshold is not None:
        curves_axes.axhline(
            result.reward_threshold,
            color="#444444",
            linestyle=(0, (4, 3)),
            linewidth=1.0,
            label=f"solved: {result.reward_threshold:g}",
        )
    curves_axes.set_ylabel(f"{statistic_name(statistic)} return of the last 100\ntraining episodes (over seeds)")
    # Beside the axes: inside, the solved line and the fast values' curves crossed it.
    curves_axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small")
    curves_axes.grid(True, color="#dddddd", linewidth=0.6)
    dots_axes.set_yticks(
        range(len(cells)), [value_text(cell.settings[key]) for cell in reversed(cells)], fontsize="small"
    )
    dots_axes.set_ylim(-0.6, len(cells) - 0.4)
    dots_axes.set_ylabel(key)
    dots_axes.set_xlim(0, largest * 1.02)
    dots_axes.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    dots_axes.set_xlabel("env steps (per seed)")
    dots_axes.grid(True, axis="x", color="#dddddd", linewidth=0.6)


def heat_map_labels(result: SweepResult, statistic: str) -> dict[int, str]:
    """Per cell index, the text its square shows: the median steps to solve (or ``R`` and
    the return at the end) over its solved count."""
    labels = {}
    for cell in result.cells:
        value, kind = result.heat_value(cell, statistic)
        shown = f"{value:,.0f}" if kind == "steps" else ("R n/a" if math.isnan(value) else f"R {value:.1f}")
        labels[cell.index] = f"{shown}\n{result.results[cell.index].solved}/{len(result.seeds)} solved"
    return labels


def draw_heat_map(axes: Axes, figure: Figure, result: SweepResult, statistic: str) -> None:
    """Cells as squares, the first key's values down, the second's across (as the window)."""
    down, across = result.keys
    columns = list(dict.fromkeys(cell.settings[across] for cell in result.cells))
    rows = list(dict.fromkeys(cell.settings[down] for cell in result.cells))
    steps = np.full((len(rows), len(columns)), np.nan)
    kinds = {}
    for cell in result.cells:
        value, kind = result.heat_value(cell, statistic)
        place = rows.index(cell.settings[down]), columns.index(cell.settings[across])
        kinds[place] = kind
        if kind == "steps":
            steps[place] = value
    solved_steps = steps[np.isfinite(steps)]
    norm = Normalize(*(solved_steps.min(), solved_steps.max()) if len(solved_steps) else (0.0, 1.0))
    axes.set_facecolor(UNSOLVED_GREY)  # where no median was reached
    image = axes.imshow(np.ma.masked_invalid(steps), cmap=STEPS_COLOURS, norm=norm, aspect="auto")
    cmap = colormaps[STEPS_COLOURS]
    for cell, text in heat_map_labels(result, statistic).items():
        place = rows.index(result.cells[cell].settings[down]), columns.index(result.cells[cell].settings[across])
        dark = kinds[place] == "steps" and sum(cmap(norm(steps[place]))[:3]) < 1.5
        colour = "white" if dark else "black"
        axes.text(place[1], place[0], text, ha="center", va="center", fontsize="small", color=colour)
    axes.set_xticks(range(len(columns)), [value_text(value) for value in columns])
    axes.set_yticks(range(len(rows)), [value_text(value) for value in rows])
    axes.set_xticks(np.arange(len(columns) + 1) - 0.5, minor=True)
    axes.set_yticks(np.arange(len(rows) + 1) - 0.5, minor=True)
    axes.grid(which="minor", color="white", linewidth=2)
    axes.tick_params(which="minor", length=0)
    axes.set_xlabel(across)
    axes.set_ylabel(down)
    if len(solved_steps):
        colourbar = figure.colorbar(image, ax=axes, format=StrMethodFormatter("{x:,.0f}"))
        colourbar.set_label("median env steps to solve")
    axes.set_title(
        "median env steps to solve per cell (grey: no median, half the seeds or fewer solved; "
        f"R: {statistic_name(statistic)} return at the end of training)",
        fontsize="small",
        loc="left",
    )
