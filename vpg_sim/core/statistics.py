"""Statistics over seeds that hold up when runs are not normal samples: pure functions.

Policy-gradient runs are not normal samples: a seed that collapses or solves late drags a
mean and widens a symmetric interval. Following Agarwal et al. 2021 ("Deep RL at the
Edge of the Statistical Precipice", whose ``rliable`` rl-zoo and Open RL Benchmark plot
with), per group:

- the **interquartile mean** (IQM: the mean of the middle 50% of seeds, scipy's
  ``trim_mean(x, 0.25)``) with a 95% **stratified bootstrap** interval: each group's
  seeds are resampled on their own (a group is a stratum; one env is one task, so there
  are no task strata), by ``scipy.stats.bootstrap``'s percentile method, as rliable does
  (BCa, scipy's default, fails where every seed has the same value: a solved plateau);
- the **median** steps to solve with its bootstrap interval, an unsolved seed counting
  as +infinity;
- between two groups, the **probability of improvement** P(A better than B) = P(X < Y) +
  P(X = Y)/2 for X a seed's steps to solve in A and Y one in B (the Mann-Whitney U over
  n m), with a stratified bootstrap interval;
- the **performance profile**: the fraction of seeds solved by each step count, with the
  exact (Clopper-Pearson) binomial interval at each point.

Every function takes any number of seeds; pairwise ones take any two groups, so N groups
(a sweep) are N (N - 1) / 2 calls. Randomness comes from a seed argument only: the same
inputs give the same intervals, which makes merged shards equal one run (``merge``).
The classical alternative (``--stat mean``): :func:`t_interval`, the mean and Student's
t-interval, its quantile scipy's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
RESAMPLES = 2000
"""Bootstrap resamples for one number (a median, P(A>B)): the percentile ends' Monte-Carlo
error is about +-0.4 points of coverage."""
CURVE_RESAMPLES = 1000
"""For a curve's band, at every grid point: the cost is resamples x seeds x points."""
BOOTSTRAP_SEED = 0
BATCH_ELEMENTS = 4_000_000
"""Resampled values held at once (32 MB of float64)."""
NOT_REACHED_FACTOR = 1e6
"""Unsolved seeds enter the bootstrap as this many times the largest solve: a bound that
interpolates towards them lands far above every solve and reads "not reached"."""


# -- the interquartile mean -----------------------------------------------------------------


def iqm(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """The interquartile mean of ``values`` along ``axis`` (that axis removed): the mean of
    what is left after cutting int(n/4) values from each end, which is
    ``scipy.stats.trim_mean(values, 0.25, axis)`` (tested equal) by a sort: in the
    bootstrap, trim_mean's partition along a strided axis took 4.6x as long."""
    ordered = np.sort(np.moveaxis(np.asarray(values, dtype=np.float64), axis, -1), axis=-1)
    count = ordered.shape[-1]
    cut = count // 4
    return ordered[..., cut : count - cut].mean(axis=-1)


def bootstrap_interval(
    samples: Sequence[np.ndarray],
    statistic: Callable[..., np.ndarray],
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[np.ndarray, np.ndarray]:
    """The percentile bootstrap interval of ``statistic(*samples, axis=-1)``, each sample
    ``(n_k, ...)`` resampled along its first axis on its own (stratified by sample), by
    ``scipy.stats.bootstrap``. The statistic must be vectorized (take ``axis``); the
    interval's ends have the statistic's shape for one sample's trailing axes."""
    elements = sum(int(np.asarray(sample).size) for sample in samples)
    result = stats.bootstrap(
        tuple(samples),
        statistic,
        n_resamples=resamples,
        batch=max(1, BATCH_ELEMENTS // max(elements, 1)),
        vectorized=True,
        axis=0,
        confidence_level=confidence,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return np.asarray(result.confidence_interval.low), np.asarray(result.confidence_interval.high)


def iqm_band(
    values: np.ndarray, resamples: int = CURVE_RESAMPLES, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The IQM over seeds of ``values`` ``(S, G)`` at each of G points, and its pointwise
    percentile bootstrap interval (the same resampled seeds at every point): three
    ``(G,)``. A point where a seed's value is not finite, or with fewer than 2 seeds,
    gets NaN."""
    values = np.asarray(values, dtype=np.float64)
    centre = np.full(values.shape[1], math.nan)
    low, high = centre.copy(), centre.copy()
    finite = np.isfinite(values).all(axis=0)
    if values.shape[0] < 2 or not finite.any():
        return centre, low, high
    centre[finite] = iqm(values[:, finite], axis=0)
    low[finite], high[finite] = bootstrap_interval([values[:, finite]], iqm, resamples, confidence)
    return centre, low, high


# -- Student's t ------------------------------------------------------------------------------


def t_interval(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[np.ndarray, ...]:
    """The mean over seeds of ``values`` ``(S, G)`` at each point and its t-interval,
    mean +- t_{(1+c)/2, n-1} s / sqrt(n) (s the sample standard deviation, the quantile
    ``scipy.stats.t.ppf``), over each column's finite values: mean, low, high ``(G,)``
    (low and high NaN where n < 2) and n ``(G,)``."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    seeds = finite.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(finite, values, 0.0).sum(axis=0) / seeds
        squares = np.where(finite, np.square(values - mean), 0.0).sum(axis=0)
        std = np.sqrt(squares / (seeds - 1))
        quantile = np.where(seeds >= 2, stats.t.ppf((1 + confidence) / 2, np.maximum(seeds - 1, 1)), math.nan)
    half = quantile * std / np.sqrt(np.maximum(seeds, 1))
    return mean, mean - half, mean + half, seeds


# -- steps to solve ---------------------------------------------------------------------------


def _with_stand_in(steps: np.ndarray) -> tuple[np.ndarray, float]:
    """``steps`` with +inf replaced by a stand-in far above every finite value, and the
    largest finite value (0 if none): anything computed above it means "not reached"."""
    finite = steps[np.isfinite(steps)]
    largest = float(finite.max()) if len(finite) else 0.0
    return np.where(np.isfinite(steps), steps, max(largest, 1.0) * NOT_REACHED_FACTOR), largest


def _not_reached_above(value: float, largest: float) -> float:
    return math.inf if value > largest else value


def median_bootstrap(
    steps_to_solve: np.ndarray, resamples: int = RESAMPLES, confidence: float = CONFIDENCE
) -> tuple[float, float, float]:
    """The median of ``steps_to_solve`` ``(S,)`` (+inf: not solved) and its percentile
    bootstrap interval: median, low, high, each +inf where it is not reached (the
    middle, or the bound, lies among the unsolved seeds)."""
    steps = np.asarray(steps_to_solve, dtype=np.float64)
    if len(steps) < 2:
        raise ValueError(f"a bootstrap needs 2 seeds or more, not {len(steps)}")
    stood_in, largest = _with_stand_in(steps)
    low, high = bootstrap_interval([stood_in], np.median, resamples, confidence)
    median, low, high = (_not_reached_above(float(value), largest) for value in (np.median(stood_in), low, high))
    return median, low, high


def probability_of_improvement(steps_a: np.ndarray, steps_b: np.ndarray, axis: int = -1) -> np.ndarray:
    """P(A better than B) = P(X < Y) + P(X = Y) / 2 for X a seed's steps to solve in A
    ``(..., n)`` and Y one in B ``(..., m)`` (fewer is better; +inf: not solved, which ties
    with another unsolved seed): the Mann-Whitney U statistic over n m, from scipy's
    midranks. Vectorized over the leading axes (a bootstrap's resamples)."""
    a = np.moveaxis(np.asarray(steps_a, dtype=np.float64), axis, -1)
    b = np.moveaxis(np.asarray(steps_b, dtype=np.float64), axis, -1)
    n, m = a.shape[-1], b.shape[-1]
    ranks = stats.rankdata(-np.concatenate([a, b], axis=-1), axis=-1)  # the better, the higher
    return (ranks[..., :n].sum(axis=-1) - n * (n + 1) / 2) / (n * m)


def improvement_interval(
    steps_a: np.ndarray, steps_b: np.ndarray, resamples: int = RESAMPLES, confidence: float = CONFIDENCE
) -> tuple[float, float, float]:
    """P(A better than B) (see :func:`probability_of_improvement`) of ``(n,)`` and ``(m,)``
    steps to solve, and its stratified percentile bootstrap interval (A's and B's seeds
    resampled each on their own): p, low, high."""
    a, b = np.asarray(steps_a, dtype=np.float64), np.asarray(steps_b, dtype=np.float64)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"a bootstrap needs 2 seeds or more in each group, not {len(a)} and {len(b)}")
    low, high = bootstrap_interval([a, b], probability_of_improvement, resamples, confidence)
    return float(probability_of_improvement(a, b)), float(low), float(high)


def performance_profile(
    steps_to_solve: np.ndarray, env_steps: np.ndarray, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The fraction of seeds ``(S,)`` solved within each of ``env_steps`` ``(P,)`` and its
    exact (Clopper-Pearson) binomial interval there, from ``scipy.stats.beta``: three
    ``(P,)``. Pointwise: each point's interval is its own."""
    steps = np.asarray(steps_to_solve, dtype=np.float64)
    count = len(steps)
    solved = (steps[None, :] <= np.asarray(env_steps, dtype=np.float64)[:, None]).sum(axis=1)
    alpha = 1.0 - confidence
    # At 0 of n the lower end is 0 and at n of n the upper end is 1 (a beta with a zero
    # parameter is undefined there): the clipped parameters only keep scipy quiet.
    low = np.where(solved > 0, stats.beta.ppf(alpha / 2, np.maximum(solved, 1), count - solved + 1), 0.0)
    high = np.where(solved < count, stats.beta.ppf(1 - alpha / 2, solved + 1, np.maximum(count - solved, 1)), 1.0)
    return solved / count, low, high


def per_look_confidence(looks: int, confidence: float = CONFIDENCE) -> float:
    """The confidence each of ``looks`` planned looks at the data needs so that the chance
    of any of them excluding a true value stays within 1 - ``confidence`` (Bonferroni)."""
    return 1.0 - (1.0 - confidence) / max(looks, 1)
