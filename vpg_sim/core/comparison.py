"""Two ideas compared over many seeds: the statistics, in plain numpy.

A group is one config trained with seeds 0..S-1. Each run gives a learning curve (the
mean return of its last 100 training episodes after each update, against its env steps)
and, if it solved, the env steps it took. Per group this module computes:

- the **mean curve** on a common grid of env steps, with a **95% t-interval** over seeds
  at every grid point: mean +- t_{0.975, n-1} s / sqrt(n), n the seeds with a finite value
  there (a seed whose curve went NaN drops out of that point, and n says so). The t
  quantile is computed here (no scipy): Student's density integrated by Simpson's rule and
  inverted by bisection (:func:`t_quantile`; t_{0.975, 2} = 4.303, as the tables say).
- the **median steps to solve** and a distribution-free interval for it: the order
  statistics [x_(l), x_(S+1-l)] with the largest l whose coverage, 1 - 2 P(B <= l - 1) for
  B ~ Binomial(S, 1/2), is at least 95% (for 16 seeds: x_(4) to x_(13), 97.9%). A seed
  that did not solve counts as +infinity (censored: it had not solved when its run
  ended), which the order statistics handle as they are: a median or a bound beyond the
  solved seeds is "not reached". Fewer than 6 seeds give no 95% interval at all.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
BAND_METHOD = "95% t-interval over seeds: mean +- t(0.975, n-1) * s / sqrt(n)"
MEDIAN_METHOD = (
    "median over seeds, unsolved as +inf; 95% interval from order statistics "
    "[x(l), x(n+1-l)], exact coverage by Binomial(n, 1/2), no distributional assumption"
)


# -- Student's t ---------------------------------------------------------------------------


def t_density(x: np.ndarray, df: int) -> np.ndarray:
    """Student's t density with ``df`` degrees of freedom at ``x`` (any shape)."""
    log_scale = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return np.exp(log_scale - (df + 1) / 2 * np.log1p(np.square(x) / df))


def t_cdf(x: float, df: int, intervals: int = 4096) -> float:
    """P(T <= x) for Student's t: 1/2 plus the density's integral from 0 to x (Simpson's rule)."""
    points = np.linspace(0.0, abs(x), intervals + 1)
    weights = np.ones(intervals + 1)
    weights[1:-1:2], weights[2:-1:2] = 4.0, 2.0
    area = float(weights @ t_density(points, df)) * abs(x) / intervals / 3.0
    return 0.5 + math.copysign(area, x)


@functools.lru_cache(maxsize=256)
def t_quantile(probability: float, df: int) -> float:
    """The x with P(T <= x) = ``probability`` (in (1/2, 1)) for Student's t with ``df`` >= 1
    degrees of freedom, by bisection to 1e-9."""
    if not 0.5 < probability < 1.0 or df < 1:
        raise ValueError(f"need 1/2 < probability < 1 and df >= 1, not {probability}, {df}")
    high = 1.0
    while t_cdf(high, df) < probability:
        high *= 2.0
    low = 0.0
    while high - low > 1e-9:
        middle = (low + high) / 2
        low, high = (middle, high) if t_cdf(middle, df) < probability else (low, middle)
    return (low + high) / 2


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


def common_grid(curves: Sequence[Curve], points: int = 200) -> np.ndarray:
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
    """A group's mean curve and its t-interval, each ``(G,)`` over ``env_steps`` ``(G,)``;
    ``seeds`` ``(G,)`` the finite values averaged at each point (low and high are NaN
    where fewer than 2)."""

    env_steps: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    seeds: np.ndarray


def mean_band(values: np.ndarray, grid: np.ndarray, confidence: float = CONFIDENCE) -> Band:
    """The mean over seeds of ``values`` ``(S, G)`` at each grid point and its t-interval
    (mean +- t_{(1+c)/2, n-1} s / sqrt(n), s the sample standard deviation), over the
    finite values of each column."""
    finite = np.isfinite(values)
    seeds = finite.sum(axis=0)
    filled = np.where(finite, values, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=0) / seeds
        squares = np.where(finite, np.square(values - mean), 0.0).sum(axis=0)
        std = np.sqrt(squares / (seeds - 1))
    quantiles = np.array([t_quantile((1 + confidence) / 2, int(n) - 1) if n >= 2 else math.nan for n in seeds])
    half = quantiles * std / np.sqrt(np.maximum(seeds, 1))
    return Band(grid, mean, mean - half, mean + half, seeds)


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


@dataclass(frozen=True)
class MedianInterval:
    """The median of steps to solve (+inf: not reached) and its order-statistic interval
    (None when no such interval reaches the confidence: fewer than 6 seeds for 95%)."""

    median: float
    interval: tuple[float, float] | None
    coverage: float
    """The interval's exact coverage (NaN without an interval)."""
    ranks: tuple[int, int] | None
    """l and n + 1 - l, 1-based: which order statistics bound it."""


def binomial_half_cdf(k: int, n: int) -> float:
    """P(B <= k) for B ~ Binomial(n, 1/2)."""
    return sum(math.comb(n, i) for i in range(k + 1)) / 2**n if k >= 0 else 0.0


def median_with_interval(steps_to_solve: Sequence[float | None], confidence: float = CONFIDENCE) -> MedianInterval:
    """The median of ``steps_to_solve`` (None: did not solve, counted as +inf) and the
    order-statistic interval around it (see the module's docstring). For an even count
    the median is the mean of the middle two, +inf if either is."""
    values = np.sort(np.array([math.inf if s is None else float(s) for s in steps_to_solve]))
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


# -- one group, for the JSON and the figure -----------------------------------------------


def steps_or_not_reached(value: float) -> int | str:
    """For JSON: whole env steps, or "not reached" for +inf."""
    return "not reached" if math.isinf(value) else round(value)


@dataclass(frozen=True)
class GroupSummary:
    """What the comparison reports for one group."""

    label: str
    difference: dict[str, object]
    seeds: tuple[int, ...]
    steps_to_solve: tuple[int | None, ...]
    """Per seed: env steps when the mean of its last 100 returns first reached the
    threshold, None if it never did."""
    median: MedianInterval
    end_returns: np.ndarray
    """Per seed ``(S,)``: the mean of its last 100 returns at the end of its run."""
    end_env_steps: tuple[int, int]
    """The fewest and most env steps a seed of the group trained."""

    @property
    def solved(self) -> int:
        return sum(steps is not None for steps in self.steps_to_solve)

    def end_band(self) -> Band:
        return mean_band(self.end_returns[:, None], np.zeros(1))

    def to_dict(self) -> dict[str, object]:
        """One JSON object: no NaN or infinity (null and "not reached" instead)."""
        band = self.end_band()
        interval = self.median.interval

        def number(value: float) -> float | None:
            return round(float(value), 2) if math.isfinite(value) else None

        return {
            "group": self.label,
            "config_difference": self.difference,
            "seeds": list(self.seeds),
            "solved": self.solved,
            "steps_to_solve": list(self.steps_to_solve),
            "median_steps_to_solve": steps_or_not_reached(self.median.median),
            "median_interval": None if interval is None else [steps_or_not_reached(v) for v in interval],
            "median_interval_coverage": number(self.median.coverage),
            "median_interval_method": MEDIAN_METHOD,
            "mean_return_end": number(band.mean[0]),
            "mean_return_end_interval": [number(band.low[0]), number(band.high[0])],
            "mean_return_end_seeds": int(band.seeds[0]),
            "band_method": BAND_METHOD,
            "end_env_steps": list(self.end_env_steps),
        }


def summarize_group(
    label: str,
    difference: dict[str, object],
    seeds: Sequence[int],
    curves: Sequence[Curve],
    steps_to_solve: Sequence[int | None],
) -> GroupSummary:
    """A group's :class:`GroupSummary` from its seeds' curves (in seed order) and steps to solve."""
    end_returns = np.array([curve.returns[-1] if len(curve.returns) else math.nan for curve in curves])
    ends = [int(curve.env_steps[-1]) if len(curve.env_steps) else 0 for curve in curves]
    return GroupSummary(
        label=label,
        difference=dict(difference),
        seeds=tuple(seeds),
        steps_to_solve=tuple(steps_to_solve),
        median=median_with_interval(steps_to_solve),
        end_returns=end_returns,
        end_env_steps=(min(ends, default=0), max(ends, default=0)),
    )
