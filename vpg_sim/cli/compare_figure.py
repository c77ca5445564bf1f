"""The comparison as a figure (matplotlib, Agg): for a paper or a slide.

Above, each group's return curve over seeds (its IQM, or with ``--stat mean`` its mean)
against env steps with its shaded pointwise 95% interval, and the env's solved line; in
the middle, the performance profile: the fraction of seeds solved by each step count,
with its pointwise exact binomial interval; below, on the same axis, each seed's steps to
solve as a dot, the median as a bar with its 95% interval, and the seeds that did not
solve at the right. The title gives P(A better than B) with its interval. Every label
says which statistic is drawn. The colours are the window's (light theme).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter, StrMethodFormatter

from vpg_sim.core.comparison import GroupResult, GroupSummary, as_steps, estimator_weights, group_band, summarize
from vpg_sim.core.statistics import performance_profile

GROUP_COLOURS = ("#12805c", "#8e44ad")
"""Group A green, group B purple: ``ui/theme.py``'s ``GROUP_COLOURS["light"]`` (a test
keeps them equal; importing the window's theme would import pygame)."""
DPI = 150
SIZE = (10.0, 8.4)
"""Inches: 1500 x 1260 pixels at :data:`DPI`."""
CURVE_TEXT = {
    "iqm": "IQM return of the last 100\ntraining episodes (over seeds)",
    "mean": "mean return of the last 100\ntraining episodes (over seeds)",
}
FOOTNOTES = {
    "iqm": "curves: interquartile mean (IQM) over seeds, shaded: its pointwise 95% stratified-bootstrap "
    "interval (percentile); medians' intervals: bootstrap; unsolved seeds count as +∞",
    "mean": "curves: mean over seeds, shaded: pointwise 95% t-interval (mean ± t·s/√n); medians' intervals: "
    "order statistics; unsolved seeds count as +∞",
}
GREY = "#444444"


def comparison_png(
    results: Sequence[GroupResult],
    env_id: str,
    reward_threshold: float | None,
    statistic: str,
    summaries: Sequence[GroupSummary] | None = None,
) -> bytes:
    """The PNG of the groups' ``results`` (finished or not), drawn by ``statistic``;
    ``summaries`` if already computed (:func:`~vpg_sim.core.comparison.summarize`)."""
    figure = comparison_figure(results, env_id, reward_threshold, statistic, summaries)
    buffer = io.BytesIO()
    FigureCanvasAgg(figure)
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def comparison_figure(
    results: Sequence[GroupResult],
    env_id: str,
    reward_threshold: float | None,
    statistic: str,
    summaries: Sequence[GroupSummary] | None = None,
) -> Figure:
    """The figure :func:`comparison_png` draws."""
    summaries = list(summaries) if summaries is not None else summarize(results, statistic)
    figure = Figure(figsize=SIZE, layout="constrained")
    curves_axes, profile_axes, dots_axes = figure.subplots(3, 1, sharex=True, height_ratios=(3.0, 1.4, 1.0))
    largest = max([1.0, *(float(result.end_env_steps()[1]) for result in results)])
    for index, result in enumerate(results):
        colour = GROUP_COLOURS[index % len(GROUP_COLOURS)]
        summary = summaries[index]
        median = summary.median.median
        median_text = "median not reached" if math.isinf(median) else f"median {median:,.0f} steps"
        legend = (
            f"{result.name}: {result.label}  ({result.solved}/{len(result.seeds)} solved, {median_text})\n"
            f"     weights: {estimator_weights(result.config)}"
        )
        band = group_band(result.curves, statistic)
        if band is not None:
            curves_axes.fill_between(band.env_steps, band.low, band.high, color=colour, alpha=0.18, linewidth=0)
            curves_axes.plot(band.env_steps, band.centre, color=colour, linewidth=2.0, label=legend)
        draw_profile(profile_axes, result, colour, largest)
        draw_dots(dots_axes, summary, len(results) - 1 - index, colour, largest)
    if reward_threshold is not None:
        curves_axes.axhline(reward_threshold, color=GREY, linestyle=(0, (4, 3)), linewidth=1.0)
        curves_axes.annotate(
            f"solved: {reward_threshold:g}",
            (0.0, reward_threshold),
            xycoords=("axes fraction", "data"),
            xytext=(4, 3),
            textcoords="offset points",
            fontsize="small",
            color=GREY,
        )
    curves_axes.set_ylabel(CURVE_TEXT[statistic])
    curves_axes.legend(loc="best", frameon=False, fontsize="small")
    curves_axes.grid(True, color="#dddddd", linewidth=0.6)
    profile_axes.set_ylabel("seeds solved")
    profile_axes.set_ylim(-0.02, 1.02)
    profile_axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    profile_axes.set_title(
        "performance profile: the fraction of seeds solved by each step count; shaded: pointwise 95% "
        "exact binomial interval",
        fontsize="small",
        loc="left",
    )
    profile_axes.grid(True, color="#dddddd", linewidth=0.6)
    dots_axes.set_yticks(range(len(results)), [result.name for result in reversed(results)])
    dots_axes.set_ylim(-0.6, len(results) - 0.4)
    dots_axes.set_xlim(0, largest * 1.02)
    dots_axes.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    dots_axes.set_xlabel("env steps (per seed)")
    interval_kind = "bootstrap" if statistic == "iqm" else "order statistics"
    dots_axes.set_title(
        f"steps to solve: one dot per seed; bar: median; band: its 95% interval ({interval_kind})",
        fontsize="small",
        loc="left",
    )
    dots_axes.grid(True, axis="x", color="#dddddd", linewidth=0.6)
    figure.suptitle(title(results, summaries, env_id))
    figure.supxlabel(FOOTNOTES[statistic], fontsize="small", color=GREY)
    return figure


def title(results: Sequence[GroupResult], summaries: Sequence[GroupSummary], env_id: str) -> str:
    """The env, the seeds, and for two groups P(A better than B) with its interval."""
    seeds = len(results[0].seeds)
    text = f"{env_id}, {seeds} seeds per group: " + " vs ".join(result.label for result in results)
    if len(results) == 2 and results[1].name in summaries[0].better_than:
        p, low, high = summaries[0].better_than[results[1].name]
        text += (
            f"\nP({results[0].name} solves in fewer steps than {results[1].name}) = {p:.2f}, "
            f"95% interval {low:.2f}-{high:.2f}"
        )
    return text


def draw_profile(axes: Axes, result: GroupResult, colour: str, largest: float) -> None:
    """The group's performance profile as a step curve with its shaded interval."""
    steps = as_steps(result.steps_to_solve)
    points = np.unique(np.concatenate([[0.0], steps[np.isfinite(steps)], [max(largest, 1.0) * 1.02]]))
    fraction, low, high = performance_profile(steps, points)
    axes.fill_between(points, low, high, step="post", color=colour, alpha=0.15, linewidth=0)
    axes.step(points, fraction, where="post", color=colour, linewidth=1.8)


def draw_dots(axes: Axes, summary: GroupSummary, row: int, colour: str, largest: float) -> None:
    """One row: a dot per solved seed, the median's bar and interval, the unsolved count."""
    result = summary.result
    solved = [steps for steps in result.steps_to_solve if steps is not None]
    jitter = np.linspace(-0.12, 0.12, len(solved)) if len(solved) > 1 else np.zeros(len(solved))
    axes.scatter(solved, row + jitter, s=22 if len(solved) <= 64 else 6, color=colour, alpha=0.85, edgecolors="none")
    median, interval = summary.median.median, summary.median.interval
    if interval is not None and math.isfinite(interval[0]):
        high = interval[1] if math.isfinite(interval[1]) else largest * 1.02
        axes.plot([interval[0], high], [row, row], color=colour, linewidth=6, alpha=0.28, zorder=2)
    if math.isfinite(median):
        axes.plot([median, median], [row - 0.3, row + 0.3], color=colour, linewidth=2.5, zorder=4)
    unsolved = len(result.seeds) - result.solved
    if unsolved:
        axes.annotate(
            f"{unsolved} not solved",
            (1.0, row),
            xycoords=("axes fraction", "data"),
            xytext=(-4, 0),
            textcoords="offset points",
            ha="right",
            va="center",
            color=colour,
            fontsize="small",
            # On a white plate: seeds that solved near the budget put their dots under it.
            bbox={"boxstyle": "square,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.9},
            zorder=5,
        )
