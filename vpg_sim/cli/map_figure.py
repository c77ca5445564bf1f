"""Drawing policy maps with matplotlib (Agg, no window): a PNG for a slide or a paper.

One map: the policy and the value side by side. Several (``--grid-of``): one column per
update, the policies in the top row and the values below, each row on one colour scale
so the pictures compare.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import BoundaryNorm, LinearSegmentedColormap, ListedColormap, Normalize
from matplotlib.figure import Figure

from vpg_sim.core.policy_map import MEAN_ACTION, MOST_LIKELY, PROBABILITY, EnvMapInfo, PolicyMap

# The light theme's action colours (vpg_sim/ui/theme.py, LIGHT): blue left, orange right,
# as in every panel of the window, strong enough on white paper.
ACTION_COLOURS = ("#1f6fc5", "#d4600a", "#7b3f8c", "#2a9d5c", "#b8860b", "#555555")
DIVERGING = LinearSegmentedColormap.from_list("left-white-right", [ACTION_COLOURS[0], "#f7f7f7", ACTION_COLOURS[1]])
VALUE_COLOURS = "viridis"  # perceptually uniform, readable in grey and by colour-blind readers
LIMIT_STYLE = {"color": "#222222", "linestyle": (0, (4, 3)), "linewidth": 1.2}
DPI = 150
SINGLE_SIZE = (12.0, 5.0)
"""Inches of a single map: 1800 x 750 pixels at :data:`DPI`."""
COLUMN_WIDTH, STRIP_HEIGHT, STRIP_MARGIN = 3.4, 7.0, 1.6
"""A strip of K updates is ``K * COLUMN_WIDTH + STRIP_MARGIN`` by ``STRIP_HEIGHT`` inches."""


def figure_size(columns: int) -> tuple[int, int]:
    """The PNG's (width, height) in pixels for one map (``columns`` 0) or a strip of ``columns``."""
    width, height = SINGLE_SIZE if columns == 0 else (columns * COLUMN_WIDTH + STRIP_MARGIN, STRIP_HEIGHT)
    return round(width * DPI), round(height * DPI)


def _policy_scale(maps: Sequence[PolicyMap], info: EnvMapInfo, action_bound: float | None):
    """Colour map, norm, colour-bar label and ticks for the policy grids (all of one kind)."""
    kind, label = maps[0].policy_kind, maps[0].policy_label
    if kind == PROBABILITY:
        # Diverging around 0.5: white is "no preference", the colour says which push.
        left, right = info.action_names if len(info.action_names) == 2 else ("action 0", "action 1")
        return DIVERGING, Normalize(0.0, 1.0), f"{label}   (0: {left}, 1: {right})", None, None
    if kind == MOST_LIKELY:
        n_actions = max(len(info.action_names), int(max(m.policy.max() for m in maps)) + 1)
        colours = ListedColormap([ACTION_COLOURS[k % len(ACTION_COLOURS)] for k in range(n_actions)])
        names = info.action_names if len(info.action_names) == n_actions else [f"action {k}" for k in range(n_actions)]
        norm = BoundaryNorm(np.arange(n_actions + 1) - 0.5, n_actions)
        return colours, norm, "most likely action, argmax π(a | s)", list(range(n_actions)), list(names)
    assert kind == MEAN_ACTION
    if action_bound is None or not math.isfinite(action_bound):
        action_bound = max(float(np.abs(m.policy).max()) for m in maps) or 1.0
    # Centred on 0 (no torque), clipped at the action's bounds: the env clips there too.
    return DIVERGING, Normalize(-action_bound, action_bound), f"{label}   (clipped to ±{action_bound:g})", None, None


def _value_scale(maps: Sequence[PolicyMap]) -> Normalize:
    low = min(float(m.value.min()) for m in maps)
    high = max(float(m.value.max()) for m in maps)
    return Normalize(low, high if high > low else low + 1.0)


def _extent(grid_map: PolicyMap) -> list[float]:
    """imshow's extent so that each cell is centred on its grid point."""
    dx = (grid_map.x[-1] - grid_map.x[0]) / (len(grid_map.x) - 1) / 2
    dy = (grid_map.y[-1] - grid_map.y[0]) / (len(grid_map.y) - 1) / 2
    return [grid_map.x[0] - dx, grid_map.x[-1] + dx, grid_map.y[0] - dy, grid_map.y[-1] + dy]


def _mark_limits(axes: Axes, grid_map: PolicyMap, info: EnvMapInfo) -> bool:
    """Dashed lines where an episode ends, states past them greyed; True if any was drawn."""
    drawn = False
    extent = _extent(grid_map)
    for axis, dim in enumerate(grid_map.dims):
        low, high = extent[2 * axis], extent[2 * axis + 1]
        for limit in info.limits.get(dim, ()):
            if not low < limit < high:
                continue
            drawn = True
            # Past the limit lies the side away from the centre of the range.
            beyond = (limit, high) if limit > (low + high) / 2 else (low, limit)
            if axis == 0:
                axes.axvline(limit, **LIMIT_STYLE)
                axes.axvspan(*beyond, color="#000000", alpha=0.18, linewidth=0)
            else:
                axes.axhline(limit, **LIMIT_STYLE)
                axes.axhspan(*beyond, color="#000000", alpha=0.18, linewidth=0)
    return drawn


def _label_axes(axes: Axes, grid_map: PolicyMap, info: EnvMapInfo) -> None:
    axes.set_xlabel(info.label(grid_map.dims[0]))
    axes.set_ylabel(info.label(grid_map.dims[1]))
    _degrees_on_top(axes, grid_map, info)


def _degrees_on_top(axes: Axes, grid_map: PolicyMap, info: EnvMapInfo) -> None:
    if info.units[grid_map.dims[0]] == "rad":  # angles are easier to read in degrees
        top = axes.secondary_xaxis("top", functions=(np.degrees, np.radians))
        top.set_xlabel("degrees", fontsize="small")
        top.tick_params(labelsize="small")


def _draw(axes: Axes, grid: np.ndarray, grid_map: PolicyMap, colours, norm) -> object:
    return axes.imshow(
        grid, origin="lower", extent=_extent(grid_map), aspect="auto", cmap=colours, norm=norm, interpolation="nearest"
    )


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(figure)
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _footnote(figure: Figure, grid_map: PolicyMap, info: EnvMapInfo, limits_drawn: bool) -> None:
    x_range, y_range = grid_map.ranges
    held = [info.names[d] for d in range(len(info.names)) if d not in grid_map.dims]
    parts = [f"{', '.join(held)} held at {info.neutral_description}" if held else "the whole state"]
    parts.append(f"ranges: x from {x_range.origin}, y from {y_range.origin}")
    if limits_drawn:
        parts.append("dashed: where an episode ends (greyed: past it)")
    # As a supxlabel, so that the constrained layout makes room for it under the axes.
    figure.supxlabel("; ".join(parts), fontsize="small", color="#444444")


def _value_label(gamma: float | None) -> str:
    return "V(s): expected discounted return" + (f" (γ = {gamma:g})" if gamma is not None else "")


def single_map_png(
    grid_map: PolicyMap, info: EnvMapInfo, title: str, action_bound: float | None = None, gamma: float | None = None
) -> bytes:
    """A PNG (:func:`figure_size` ``(0)``): the policy map left, the value map right."""
    figure = Figure(figsize=SINGLE_SIZE, layout="constrained")
    figure.get_layout_engine().set(h_pad=0.12)
    policy_axes, value_axes = figure.subplots(1, 2)
    colours, norm, label, ticks, tick_labels = _policy_scale([grid_map], info, action_bound)
    image = _draw(policy_axes, grid_map.policy, grid_map, colours, norm)
    bar = figure.colorbar(image, ax=policy_axes, ticks=ticks)
    bar.set_label(label)
    if tick_labels:
        bar.set_ticklabels(tick_labels)
    policy_axes.set_title("policy")
    image = _draw(value_axes, grid_map.value, grid_map, VALUE_COLOURS, _value_scale([grid_map]))
    figure.colorbar(image, ax=value_axes).set_label(_value_label(gamma))
    value_axes.set_title("value (the critic)")
    limits_drawn = False
    for axes in (policy_axes, value_axes):
        _label_axes(axes, grid_map, info)
        limits_drawn = _mark_limits(axes, grid_map, info) or limits_drawn
    figure.suptitle(title)
    _footnote(figure, grid_map, info, limits_drawn)
    return _png(figure)


def strip_png(
    maps: Sequence[PolicyMap],
    info: EnvMapInfo,
    title: str,
    action_bound: float | None = None,
    gamma: float | None = None,
) -> bytes:
    """A PNG (:func:`figure_size` ``(len(maps))``): one column per map (an update), the
    policies on top and the values below, each row on one shared colour scale."""
    figure = Figure(figsize=(len(maps) * COLUMN_WIDTH + STRIP_MARGIN, STRIP_HEIGHT), layout="constrained")
    figure.get_layout_engine().set(h_pad=0.12)
    grid = figure.subplots(2, len(maps), squeeze=False, sharex=True, sharey=True)
    colours, norm, label, ticks, tick_labels = _policy_scale(maps, info, action_bound)
    value_norm = _value_scale(maps)
    limits_drawn = False
    for column, grid_map in enumerate(maps):
        policy_axes, value_axes = grid[0, column], grid[1, column]
        policy_image = _draw(policy_axes, grid_map.policy, grid_map, colours, norm)
        value_image = _draw(value_axes, grid_map.value, grid_map, VALUE_COLOURS, value_norm)
        policy_axes.set_title(f"update {grid_map.update}")
        for axes in (policy_axes, value_axes):
            limits_drawn = _mark_limits(axes, grid_map, info) or limits_drawn
        value_axes.set_xlabel(info.label(grid_map.dims[0]))
        if column == 0:
            policy_axes.set_ylabel(info.label(grid_map.dims[1]))
            value_axes.set_ylabel(info.label(grid_map.dims[1]))
        _degrees_on_top(policy_axes, grid_map, info)
    bar = figure.colorbar(policy_image, ax=list(grid[0]), ticks=ticks, shrink=0.9)
    bar.set_label(label.split("   ")[0])
    if tick_labels:
        bar.set_ticklabels(tick_labels)
    figure.colorbar(value_image, ax=list(grid[1]), shrink=0.9).set_label(_value_label(gamma))
    figure.suptitle(title)
    _footnote(figure, maps[0], info, limits_drawn)
    return _png(figure)
