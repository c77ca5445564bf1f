"""Groups of seeds compared: what each run gave, and the statistics drawn and reported.

A group is one config trained with many seeds. Each run gives a learning curve (the mean
return of its last 100 training episodes after each update, against its env steps) and,
if it solved, the env steps it took: a :class:`GroupResult` holds a group's, as plain
picklable data (a sweep's worker returns one; a ``--json-out`` file holds them). From it,
one place (:func:`group_band`, :func:`median_estimate`) computes what the window, the
figure and the JSON show, by one of two statistics (``--stat``):

- ``iqm`` (the default): the **interquartile mean** curve on a common grid of env steps
  with its **pointwise** 95% stratified-bootstrap interval; the **median steps to solve**
  with its bootstrap interval (``core/statistics.py``, after Agarwal et al. 2021).
- ``mean``: the **mean curve** with its **pointwise** 95% t-interval over seeds,
  mean +- t_{0.975, n-1} s / sqrt(n), n the seeds with a finite value there; the median
  steps to solve with a distribution-free interval: the order statistics [x_(l),
  x_(S+1-l)] with the largest l whose coverage, 1 - 2 P(B <= l - 1) for B ~ Binomial(S,
  1/2), is at least 95% (for 16 seeds: x_(4) to x_(13), 97.9%; fewer than 6 seeds give
  none).

"Pointwise": each grid point's interval covers that point's value 95% of the time; the
band as a whole covers the whole curve less often. A seed that did not solve counts as
+infinity (censored: it had not solved when its run ended): a median or a bound beyond
the solved seeds is "not reached". Between groups, the probability of improvement
(:func:`improvements`) compares steps to solve.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from vpg_sim.core import advantages, statistics
from vpg_sim.core.config import VPGConfig

STATISTICS = ("iqm", "mean")
CONFIDENCE = statistics.CONFIDENCE
GRID_POINTS = 200
BAND_METHODS = {
    "iqm": "pointwise 95% stratified bootstrap over seeds (percentile, {resamples} resamples) of the IQM "
    "(mean of the middle 50% of seeds)",
    "mean": "pointwise 95% t-interval over seeds: mean +- t(0.975, n-1) * s / sqrt(n)",
}
MEDIAN_METHODS = {
    "iqm": "median over seeds, unsolved as +inf; 95% percentile bootstrap interval ({resamples} resamples)",
    "mean": "median over seeds, unsolved as +inf; 95% interval from order statistics "
    "[x(l), x(n+1-l)], exact coverage by Binomial(n, 1/2), no distributional assumption",
}
IMPROVEMENT_METHOD = (
    "P(a seed of this group solves in fewer env steps than one of the other) + P(tie) / 2, unsolved as +inf "
    "(Mann-Whitney U / n m); 95% stratified percentile bootstrap interval"
)


# -- curves ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Curve:
    """One run's learning curve: after each update, its env steps so far ``(K,)``
    ascending and the mean return of its last 100 training episodes ``(K,)`` (NaN before
    its first episode ended)."""

    env_steps: np.ndarray
    returns: np.ndarray

    def finite_from(self) -> float:
        """The env steps of its first finite value (+inf if none)."""
        finite = np.flatnonzero(np.isfinite(self.returns))
        return float(self.env_steps[finite[0]]) if len(finite) else math.inf


def common_grid(curves: Sequence[Curve], points: int = GRID_POINTS) -> np.ndarray:
    """``points`` env steps ``(G,)`` where every curve has a value: from the latest first
    finite value to the earliest last update (empty if there is no such range)."""
    if not curves or any(len(curve.env_steps) == 0 for curve in curves):
        return np.zeros(0)
    start = max(curve.finite_from() for curve in curves)
    end = min(float(curve.env_steps[-1]) for curve in curves)
    if not start <= end:
        return np.zeros(0)
    return np.linspace(start, end, points) if end > start else np.array([start])


def values_on_grid(curves: Sequence[Curve], grid: np.ndarray) -> np.ndarray:
    """Each curve's value at each grid point ``(S, G)``: its last update at or before the
    point (a curve is a step function: a value holds until the next update)."""
    values = np.full((len(curves), len(grid)), np.nan)
    for row, curve in enumerate(curves):
        index = np.searchsorted(curve.env_steps, grid, side="right") - 1
        known = index >= 0
        values[row, known] = curve.returns[index[known]]
    return values


@dataclass(frozen=True)
class Band:
    """A group's curve over seeds (its IQM or mean, by ``statistic``) and that curve's
    pointwise 95% interval, each ``(G,)`` over ``env_steps`` ``(G,)``; ``seeds`` ``(G,)``
    the finite values at each point (low and high are NaN where fewer than 2)."""

    env_steps: np.ndarray
    centre: np.ndarray
    low: np.ndarray
    high: np.ndarray
    seeds: np.ndarray
    statistic: str


def band_of(values: np.ndarray, grid: np.ndarray, statistic: str, resamples: int = statistics.CURVE_RESAMPLES) -> Band:
    """The ``statistic`` over seeds of ``values`` ``(S, G)`` at each of ``grid`` ``(G,)``
    and its pointwise interval (see the module's docstring)."""
    if statistic == "mean":
        centre, low, high, seeds = statistics.t_interval(values)
    elif statistic == "iqm":
        centre, low, high = statistics.iqm_band(values, resamples)
        seeds = np.isfinite(values).sum(axis=0)
    else:
        raise ValueError(f"unknown statistic {statistic!r} (one of {', '.join(STATISTICS)})")
    return Band(grid, centre, low, high, seeds, statistic)


def group_band(
    curves: Sequence[Curve],
    statistic: str,
    points: int = GRID_POINTS,
    resamples: int = statistics.CURVE_RESAMPLES,
) -> Band | None:
    """A group's curve and band on its common grid (None before every seed has a value):
    what the window's returns panel, the figure and a sweep draw."""
    grid = common_grid(curves, points)
    return band_of(values_on_grid(curves, grid), grid, statistic, resamples) if len(grid) else None


# -- steps to solve ----------------------------------------------------------------------


def first_crossing(earlier: Sequence[float], new: Sequence[float], threshold: float, window: int) -> int | None:
    """The index in ``new`` of the first episode after which the mean of the last
    ``window`` returns (``earlier`` then ``new``, oldest first) reached ``threshold``;
    None if none did. The mean is numpy's of the window, as the trainers' ``solved``
    reads it (a running sum only finds the candidates: its rounding may differ)."""
    history = np.concatenate([np.asarray(earlier, dtype=np.float64)[-window:], np.asarray(new, dtype=np.float64)])
    start = len(history) - len(new)
    if len(history) < window or not len(new):
        return None
    sums = np.cumsum(np.concatenate([[0.0], history]))
    ends = np.arange(max(start, window - 1), len(history))
    rough = (sums[ends + 1] - sums[ends + 1 - window]) / window
    slack = 1e-9 * max(1.0, float(np.max(np.abs(history))))
    for end in ends[rough >= threshold - slack]:
        if float(np.mean(history[end + 1 - window : end + 1])) >= threshold:
            return int(end - start)
    return None


def as_steps(steps_to_solve: Sequence[int | None]) -> np.ndarray:
    """Steps to solve ``(S,)`` as floats, +inf for a seed that did not solve (None)."""
    return np.array([math.inf if steps is None else float(steps) for steps in steps_to_solve])


@dataclass(frozen=True)
class MedianInterval:
    """The median of steps to solve (+inf: not reached) and its 95% interval (None when
    there is none: fewer than 6 seeds for the order statistics)."""

    median: float
    interval: tuple[float, float] | None
    coverage: float
    """The interval's coverage: exact for the order statistics, nominal for the bootstrap
    (NaN without an interval)."""
    ranks: tuple[int, int] | None
    """For the order statistics: l and n + 1 - l, 1-based: which of them bound it."""
    method: str = MEDIAN_METHODS["mean"]


def binomial_half_cdf(k: int, n: int) -> float:
    """P(B <= k) for B ~ Binomial(n, 1/2)."""
    return sum(math.comb(n, i) for i in range(k + 1)) / 2**n if k >= 0 else 0.0


def median_with_interval(steps_to_solve: Sequence[float | None], confidence: float = CONFIDENCE) -> MedianInterval:
    """The median of ``steps_to_solve`` (None: did not solve, counted as +inf) and the
    order-statistic interval around it (see the module's docstring). For an even count
    the median is the mean of the middle two, +inf if either is."""
    values = np.sort(as_steps(steps_to_solve))
    n = len(values)
    if n == 0:
        raise ValueError("no seeds")
    middle = values[(n - 1) // 2 : n // 2 + 1]
    median = math.inf if np.isinf(middle).any() else float(middle.mean())
    best = None
    for low_rank in range(1, n // 2 + 1):
        coverage = 1.0 - 2.0 * binomial_half_cdf(low_rank - 1, n)
        if coverage >= confidence:
            best = (low_rank, coverage)
    if best is None:
        return MedianInterval(median, None, math.nan, None)
    low_rank, coverage = best
    high_rank = n + 1 - low_rank
    return MedianInterval(
        median, (float(values[low_rank - 1]), float(values[high_rank - 1])), coverage, (low_rank, high_rank)
    )


def median_estimate(
    steps_to_solve: Sequence[int | None], statistic: str, resamples: int = statistics.RESAMPLES
) -> MedianInterval:
    """The median steps to solve and its interval as ``statistic`` reports it: the
    bootstrap's (``iqm``) or the order statistics' (``mean``)."""
    if statistic == "mean":
        return median_with_interval(steps_to_solve)
    median, low, high = statistics.median_bootstrap(as_steps(steps_to_solve), resamples)
    return MedianInterval(median, (low, high), CONFIDENCE, None, MEDIAN_METHODS["iqm"].format(resamples=resamples))


# -- what a group's runs gave, and what is reported ---------------------------------------


@dataclass(frozen=True)
class GroupResult:
    """Everything a group's runs gave, per seed in seed order: plain, picklable data."""

    name: str
    """A, B, ... (a sweep's cell name)."""
    label: str
    """How its config differs from the others' (``estimator=total-return``), or ``default``."""
    difference: dict[str, object]
    config: VPGConfig
    """Its config but for the seed."""
    max_steps: int
    """The env steps each seed trained at most."""
    seeds: tuple[int, ...]
    curves: tuple[Curve, ...]
    steps_to_solve: tuple[int | None, ...]
    """Per seed: the env step of the episode whose return brought the mean of the last
    100 to the threshold, None if none did."""

    @property
    def solved(self) -> int:
        return sum(steps is not None for steps in self.steps_to_solve)

    def end_returns(self) -> np.ndarray:
        """Per seed ``(S,)``: the mean of its last 100 returns at the end of its run."""
        return np.array([curve.returns[-1] if len(curve.returns) else math.nan for curve in self.curves])

    def end_env_steps(self) -> tuple[int, int]:
        """The fewest and most env steps a seed of the group trained."""
        ends = [int(curve.env_steps[-1]) if len(curve.env_steps) else 0 for curve in self.curves]
        return min(ends, default=0), max(ends, default=0)


def improvements(results: Sequence[GroupResult], confidence: float = CONFIDENCE) -> dict[tuple[str, str], tuple]:
    """For every ordered pair of groups (a, b): P(a better than b) in steps to solve and its
    stratified bootstrap interval (p, low, high); computed once per pair, the reverse as
    1 - p, 1 - high, 1 - low (exact: each resample's P(b > a) is 1 - its P(a > b))."""
    table: dict[tuple[str, str], tuple] = {}
    for index, first in enumerate(results):
        for second in results[index + 1 :]:
            p, low, high = statistics.improvement_interval(
                as_steps(first.steps_to_solve), as_steps(second.steps_to_solve), confidence=confidence
            )
            table[(first.name, second.name)] = (p, low, high)
            table[(second.name, first.name)] = (1.0 - p, 1.0 - high, 1.0 - low)
    return table


@dataclass(frozen=True)
class GroupSummary:
    """What the comparison reports for one group, by ``statistic``."""

    result: GroupResult
    statistic: str
    median: MedianInterval
    end: Band
    """At one point: the statistic of the seeds' mean returns at the end of their runs."""
    better_than: dict[str, tuple] = field(default_factory=dict)
    """Other group's name -> P(this one better) and its interval (see :func:`improvements`)."""

    def to_dict(self) -> dict[str, object]:
        """One JSON object: no NaN or infinity (null and "not reached" instead)."""
        result, interval = self.result, self.median.interval
        centre, low, high = (number(values[0]) for values in (self.end.centre, self.end.low, self.end.high))
        return {
            "group": result.label,
            "config_difference": result.difference,
            "estimator_weights": estimator_weights(result.config),
            "statistic": self.statistic,
            "seeds": list(result.seeds),
            "solved": result.solved,
            "steps_to_solve": list(result.steps_to_solve),
            "median_steps_to_solve": steps_or_not_reached(self.median.median),
            "median_interval": None if interval is None else [steps_or_not_reached(v) for v in interval],
            "median_interval_coverage": number(self.median.coverage),
            "median_interval_method": self.median.method,
            "return_end": centre,
            "return_end_interval": [low, high],
            "return_end_seeds": int(self.end.seeds[0]),
            "band_method": band_method(self.statistic),
            "better_than": {
                name: {"probability": number(p, 3), "interval": [number(lo, 3), number(hi, 3)]}
                for name, (p, lo, hi) in self.better_than.items()
            },
            "better_than_method": IMPROVEMENT_METHOD,
            "end_env_steps": list(result.end_env_steps()),
        }


def summarize(results: Sequence[GroupResult], statistic: str) -> list[GroupSummary]:
    """Every group's :class:`GroupSummary`, with P(better) against each other group."""
    table = improvements(results) if len(results) > 1 else {}
    summaries = []
    for result in results:
        ends = result.end_returns()
        summaries.append(
            GroupSummary(
                result=result,
                statistic=statistic,
                median=median_estimate(result.steps_to_solve, statistic),
                end=band_of(ends[:, None], np.zeros(1), statistic, statistics.RESAMPLES),
                better_than={b: value for (a, b), value in table.items() if a == result.name},
            )
        )
    return summaries


def band_method(statistic: str) -> str:
    return BAND_METHODS[statistic].format(resamples=statistics.CURVE_RESAMPLES)


def estimator_weights(config: VPGConfig) -> str:
    """What weighs grad log pi in this config's update, in words: with advantage
    normalisation on, the textbook's Phi_t less the batch's mean, over its std."""
    return advantages.estimator_weights(config.estimator, config.normalize_advantages)


def steps_or_not_reached(value: float) -> int | str:
    """For JSON: whole env steps, or "not reached" for +inf."""
    return "not reached" if math.isinf(value) else round(value)


def number(value: float, digits: int = 2) -> float | None:
    """For JSON: rounded, or None if not finite."""
    return round(float(value), digits) if math.isfinite(value) else None


def setting_text(value: object) -> str:
    """A grid value as a sweep's window, figure and legends show it (``0.97``, ``1``,
    ``on``, ``off``, ``64x64``)."""
    if isinstance(value, tuple):
        return "x".join(str(width) for width in value)
    if isinstance(value, bool) or value is None:
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def cell_value(steps_to_solve: Sequence[int | None], end_returns: np.ndarray, statistic: str) -> tuple[float, str]:
    """What a sweep's heat map shows for a cell, and which it is: its seeds' median steps to
    solve (``"steps"``), or where half or fewer solved (unsolved as +inf: no finite median),
    the ``statistic`` of their returns at the end ``(S,)`` (``"return"``; NaN before any).
    The window and the JSON read it here."""
    median = float(np.median(as_steps(steps_to_solve))) if len(steps_to_solve) else math.inf
    if math.isfinite(median):
        return median, "steps"
    finite = end_returns[np.isfinite(end_returns)]
    if not len(finite):
        return math.nan, "return"
    centre = statistics.iqm(finite) if statistic == "iqm" else np.mean(finite)
    return float(centre), "return"
