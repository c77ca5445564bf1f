"""The comparison as a figure (matplotlib, Agg): for a paper or a slide.

Above, each group's mean return curve against env steps with its shaded 95% t-interval
over seeds and the env's solved line; below, on the same axis, each seed's steps to solve
as a dot, the median as a bar with its order-statistic interval, and the seeds that did
not solve at the right. The colours are the window's (light theme).
"""

from __future__ import annotations

import io
import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter

from vpg_sim.core.comparison import common_grid, mean_band, values_on_grid
from vpg_sim.training.comparison_run import ComparisonRun, Group

GROUP_COLOURS = ("#12805c", "#8e44ad")
"""Group A green, group B purple: ``ui/theme.py``'s ``GROUP_COLOURS["light"]`` (a test
keeps them equal; importing the window's theme would import pygame)."""
DPI = 150
SIZE = (10.0, 6.6)
"""Inches: 1500 x 990 pixels at :data:`DPI`."""


def comparison_png(run: ComparisonRun, groups: list[Group]) -> bytes:
    """The PNG of ``run`` (finished or not) for its two ``groups``."""
    figure = Figure(figsize=SIZE, layout="constrained")
    curves_axes, dots_axes = figure.subplots(2, 1, sharex=True, height_ratios=(3.2, 1))
    threshold = run.reward_threshold
    largest = 1.0
    for index, group in enumerate(groups):
        colour = GROUP_COLOURS[index % len(GROUP_COLOURS)]
        curves = run.curves(group.name)
        grid = common_grid(curves)
        summary = run.summary(group)
        median = summary.median.median
        median_text = "median not reached" if math.isinf(median) else f"median {median:,.0f} steps"
        legend = f"{group.name}: {group.label}  ({summary.solved}/{len(run.seeds)} solved, {median_text})"
        if len(grid):
            band = mean_band(values_on_grid(curves, grid), grid)
            curves_axes.fill_between(grid, band.low, band.high, color=colour, alpha=0.18, linewidth=0)
            curves_axes.plot(grid, band.mean, color=colour, linewidth=2.0, label=legend)
            largest = max(largest, float(grid[-1]))
        row = len(groups) - 1 - index
        solved = [steps for steps in summary.steps_to_solve if steps is not None]
        jitter = np.linspace(-0.12, 0.12, len(solved)) if len(solved) > 1 else np.zeros(len(solved))
        dots_axes.scatter(solved, row + jitter, s=22, color=colour, alpha=0.85, edgecolors="none", zorder=3)
        median, interval = summary.median.median, summary.median.interval
        if interval is not None:
            high = interval[1] if math.isfinite(interval[1]) else largest * 1.02
            dots_axes.plot([interval[0], high], [row, row], color=colour, linewidth=6, alpha=0.28, zorder=2)
        if math.isfinite(median):
            dots_axes.plot([median, median], [row - 0.3, row + 0.3], color=colour, linewidth=2.5, zorder=4)
        unsolved = len(run.seeds) - summary.solved
        if unsolved:
            dots_axes.annotate(
                f"{unsolved} not solved",
                (1.0, row),
                xycoords=("axes fraction", "data"),
                xytext=(-4, 0),
                textcoords="offset points",
                ha="right",
                va="center",
                color=colour,
                fontsize="small",
            )
    if threshold is not None:
        curves_axes.axhline(threshold, color="#444444", linestyle=(0, (4, 3)), linewidth=1.0)
        curves_axes.annotate(
            f"solved: {threshold:g}",
            (0.0, threshold),
            xycoords=("axes fraction", "data"),
            xytext=(4, 3),
            textcoords="offset points",
            fontsize="small",
            color="#444444",
        )
    curves_axes.set_ylabel("mean return of the last 100\ntraining episodes")
    curves_axes.legend(loc="lower right", frameon=False)
    curves_axes.grid(True, color="#dddddd", linewidth=0.6)
    dots_axes.set_yticks(range(len(groups)), [group.name for group in reversed(groups)])
    dots_axes.set_ylim(-0.6, len(groups) - 0.4)
    dots_axes.set_xlim(0, largest * 1.02)
    dots_axes.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    dots_axes.set_xlabel("env steps (per seed)")
    dots_axes.set_title(
        "steps to solve: one dot per seed; bar: median; band: its 95% interval (order statistics)",
        fontsize="small",
        loc="left",
    )
    dots_axes.grid(True, axis="x", color="#dddddd", linewidth=0.6)
    env_id = groups[0].config.env_id
    versus = " vs ".join(group.label for group in groups)
    figure.suptitle(f"{env_id}, {len(run.seeds)} seeds per group: {versus}")
    figure.supxlabel(
        "curves: mean over seeds, shaded: 95% t-interval over seeds (mean ± t·s/√n); unsolved seeds count as +∞ "
        "for the median",
        fontsize="small",
        color="#444444",
    )
    buffer = io.BytesIO()
    FigureCanvasAgg(figure)
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
