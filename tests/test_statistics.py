"""The statistics over seeds against hand cases, scipy's own functions and simulation."""

import math

import numpy as np
import pytest
from scipy import stats

from vpg_sim.core.comparison import GroupResult, improvements
from vpg_sim.core.config import config_for
from vpg_sim.core.statistics import (
    bootstrap_interval,
    improvement_interval,
    iqm,
    iqm_band,
    median_bootstrap,
    per_look_confidence,
    performance_profile,
    probability_of_improvement,
    t_interval,
)

TRIALS = 2000
"""Simulated samples for a coverage: the Monte-Carlo standard error of 95% is 0.49 points."""


def coverage_tolerance(trials: int, confidence: float = 0.95) -> float:
    """Three Monte-Carlo standard errors of a coverage estimated from ``trials`` samples."""
    return 3 * math.sqrt(confidence * (1 - confidence) / trials)


# -- the interquartile mean ----------------------------------------------------------------


def test_iqm_of_a_known_list_is_the_mean_of_its_middle_half():
    assert iqm(np.array([0.0, 1, 2, 3, 4, 5, 6, 1000])) == 3.5  # (2 + 3 + 4 + 5) / 4: the outlier is cut
    assert iqm(np.arange(1.0, 11.0)) == 5.5  # ten values: two cut from each end, (3 + ... + 8) / 6
    assert iqm(np.array([7.0, 1.0, 4.0])) == 4.0  # three: nothing cut, the mean


@pytest.mark.parametrize("count", [4, 7, 16, 33])
def test_iqm_is_scipy_s_trimmed_mean_along_any_axis(count):
    values = np.random.default_rng(count).lognormal(size=(3, count, 5))
    np.testing.assert_allclose(iqm(values, axis=1), stats.trim_mean(values, 0.25, axis=1), rtol=1e-12)


def test_the_iqm_bootstrap_interval_covers_a_normal_sample_s_centre_95_percent_of_the_time():
    # A normal population's interquartile mean is its mean: 3.0. Each column is one sample of 30.
    samples = np.random.default_rng(12345).normal(3.0, 2.0, size=(30, TRIALS))
    low, high = bootstrap_interval([samples], iqm, resamples=1000)
    coverage = np.mean((low <= 3.0) & (high >= 3.0))
    assert abs(coverage - 0.95) <= coverage_tolerance(TRIALS)


def test_the_t_interval_covers_a_normal_mean_95_percent_of_the_time_even_for_five_seeds():
    # With the normal quantile (1.96) instead of t(0.975, 4) = 2.776, five seeds cover ~88%.
    samples = np.random.default_rng(7).normal(-1.0, 5.0, size=(5, TRIALS))
    _, low, high, seeds = t_interval(samples)
    assert np.all(seeds == 5)
    assert abs(np.mean((low <= -1.0) & (high >= -1.0)) - 0.95) <= coverage_tolerance(TRIALS)


@pytest.mark.parametrize(("df", "table"), [(1, 12.706), (2, 4.303), (4, 2.776), (15, 2.131), (30, 2.042)])
def test_the_t_interval_s_half_width_uses_the_printed_tables_quantile(df, table):
    values = np.zeros((df + 1, 1))
    values[0, 0] = 1.0  # any spread: the half-width over s / sqrt(n) is the quantile
    mean, _, high, _ = t_interval(values)
    s = np.std(values, ddof=1)
    assert (high[0] - mean[0]) / (s / math.sqrt(df + 1)) == pytest.approx(table, abs=5e-4)


def test_the_t_band_of_one_two_three_is_two_plus_minus_2_484():
    mean, low, high, seeds = t_interval(np.array([[1.0], [2.0], [3.0]]))
    assert mean[0] == 2.0 and seeds[0] == 3
    assert high[0] - 2.0 == pytest.approx(4.302653 / math.sqrt(3), rel=1e-6)
    assert low[0] == pytest.approx(2.0 - 2.484138, abs=1e-6)


def test_a_nan_seed_drops_out_of_its_t_point_and_one_seed_gives_no_interval():
    mean, low, high, seeds = t_interval(np.array([[1.0, 5.0], [3.0, math.nan]]))
    assert list(seeds) == [2, 1] and mean[1] == 5.0 and math.isnan(low[1]) and math.isnan(high[1])
    assert high[0] - 2.0 == pytest.approx(12.706205, rel=1e-6)  # s = sqrt(2), n = 2


def test_the_iqm_band_is_nan_where_a_seed_has_no_value_and_brackets_the_iqm_elsewhere():
    values = np.random.default_rng(3).normal(size=(12, 4))
    values[5, 2] = math.nan
    centre, low, high = iqm_band(values, resamples=200)
    assert math.isnan(centre[2]) and math.isnan(low[2]) and math.isnan(high[2])
    keep = [0, 1, 3]
    np.testing.assert_allclose(centre[keep], stats.trim_mean(values[:, keep], 0.25, axis=0))
    assert np.all(low[keep] < centre[keep]) and np.all(centre[keep] < high[keep])


# -- steps to solve -------------------------------------------------------------------------


def test_the_median_s_bootstrap_interval_covers_a_normal_median_95_percent_of_the_time():
    trials = 400
    rng = np.random.default_rng(99)
    intervals = [median_bootstrap(rng.normal(50_000, 8_000, 40), 1000)[1:] for _ in range(trials)]
    hits = sum(low <= 50_000 <= high for low, high in intervals)
    assert abs(hits / trials - 0.95) <= coverage_tolerance(trials)


def test_unsolved_seeds_make_the_median_or_its_bound_not_reached():
    median, low, high = median_bootstrap(np.array([10.0, 20, 30, 40, 50, 60, math.inf, math.inf]))
    assert median == 45.0 and math.isfinite(low) and math.isinf(high)  # resamples with 4+ unsolved: inf
    median, low, high = median_bootstrap(np.array([10.0, math.inf, math.inf, math.inf]))
    assert math.isinf(median) and math.isinf(high)
    assert median_bootstrap(np.array([5.0, 5.0, 5.0])) == (5.0, 5.0, 5.0)


def test_probability_of_improvement_of_two_known_samples():
    # fewer steps is better: 1<2, 1<4, 2=2 (half), 2<4, 3>2, 3<4: 4.5 of 6 pairs
    assert probability_of_improvement(np.array([1.0, 2, 3]), np.array([2.0, 4])) == pytest.approx(0.75)
    # unsolved (+inf) ties with unsolved and loses to any solve: 1<inf, 1<5, inf=inf (half), inf>5
    assert probability_of_improvement(np.array([1.0, math.inf]), np.array([math.inf, 5.0])) == pytest.approx(0.625)
    a, b = np.random.default_rng(0).integers(0, 9, (2, 30)).astype(float)
    u = stats.mannwhitneyu(-a, -b).statistic  # scipy's U for "a greater", ties halved
    assert probability_of_improvement(a, b) == pytest.approx(u / 900)


def test_the_improvement_interval_of_separated_groups_is_one_and_of_equal_ones_brackets_a_half():
    assert improvement_interval(np.array([1.0, 2, 3, 4]), np.array([10.0, 11, 12, 13])) == (1.0, 1.0, 1.0)
    p, low, high = improvement_interval(np.array([1.0, 2, 3, 4, 5, 6]), np.array([6.0, 5, 4, 3, 2, 1]))
    assert p == 0.5 and low < 0.5 < high


def test_each_pair_of_groups_gets_p_and_its_interval_and_the_reverse_mirrors_it():
    config = config_for("CartPole-v1")
    rng = np.random.default_rng(1)

    def group(name, steps):
        return GroupResult(name, name, {}, config, 1, tuple(range(len(steps))), (), tuple(steps))

    a = group("A", [int(s) for s in rng.integers(100, 200, 12)] + [None])
    b = group("B", [int(s) for s in rng.integers(150, 260, 10)] + [None, None])
    table = improvements([a, b])
    p, low, high = table[("A", "B")]
    assert low < p < high and p > 0.5
    assert table[("B", "A")] == pytest.approx((1 - p, 1 - high, 1 - low))


def test_the_performance_profile_counts_solves_and_gives_the_exact_binomial_interval():
    steps = np.array([100.0, 200, 200, 400, math.inf])
    fraction, low, high = performance_profile(steps, np.array([0.0, 100, 300, 10**9]))
    assert list(fraction) == [0.0, 0.2, 0.6, 0.8]
    for solved, lo, hi in zip([0, 1, 3, 4], low, high, strict=True):
        exact = stats.binomtest(solved, 5).proportion_ci(0.95, method="exact")
        assert (lo, hi) == pytest.approx((exact.low, exact.high))


def test_each_of_eight_looks_uses_a_99_375_percent_interval():
    assert per_look_confidence(8) == pytest.approx(0.99375)
    assert per_look_confidence(1) == pytest.approx(0.95)
