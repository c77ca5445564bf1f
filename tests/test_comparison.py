"""Two configs compared over seeds: the statistics against hand cases, the headless command
and its JSON, and bad input as one line with exit 2."""

import json
import math

import numpy as np
import pytest

from vpg_sim.cli import main
from vpg_sim.core.comparison import (
    Curve,
    common_grid,
    mean_band,
    median_with_interval,
    t_quantile,
    values_on_grid,
)
from vpg_sim.training import comparison_run

T_975_DF_2 = 4.302653
"""The 97.5% quantile of Student's t with 2 degrees of freedom (three seeds), from the tables."""
TINY = ["--num-envs", "2", "--steps-per-update", "128", "--vf-iters", "2", "--vf-minibatch-size", "64"]


def run(capsys, *argv):
    """``main(argv)``'s exit status, stdout and the lines it printed on stderr."""
    try:
        status = main(list(argv))
    except SystemExit as exit_:  # argparse
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err.strip().splitlines()


# -- the statistics ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("df", "table"),
    [(1, 12.706), (2, 4.303), (4, 2.776), (15, 2.131), (30, 2.042)],
)
def test_t_quantile_matches_the_printed_tables(df, table):
    assert t_quantile(0.975, df) == pytest.approx(table, abs=5e-4)


def test_the_band_of_one_two_three_is_two_plus_minus_t_times_s_over_root_three():
    band = mean_band(np.array([[1.0], [2.0], [3.0]]), np.zeros(1))
    half = 4.302653 * 1.0 / math.sqrt(3)  # s = 1
    assert band.mean[0] == pytest.approx(2.0)
    assert band.high[0] - band.mean[0] == pytest.approx(half, rel=1e-5)
    assert band.high[0] - band.mean[0] == pytest.approx(2.484, abs=1e-3)
    assert band.low[0] == pytest.approx(2.0 - half, rel=1e-5)
    assert band.seeds[0] == 3


def test_a_nan_seed_drops_out_of_its_point_and_one_seed_gives_no_band():
    values = np.array([[1.0, 5.0], [3.0, math.nan]])
    band = mean_band(values, np.arange(2.0))
    assert list(band.seeds) == [2, 1]
    assert band.mean[1] == 5.0 and math.isnan(band.low[1]) and math.isnan(band.high[1])
    assert band.mean[0] == 2.0 and band.high[0] - 2.0 == pytest.approx(12.706205 * math.sqrt(2) / math.sqrt(2))


def test_curves_are_step_functions_on_the_grid_where_every_seed_has_a_value():
    early = Curve(np.array([100, 200, 300]), np.array([math.nan, 10.0, 20.0]))
    late = Curve(np.array([150, 250]), np.array([30.0, 40.0]))
    grid = common_grid([early, late], points=3)
    assert list(grid) == [200.0, 225.0, 250.0]  # from the later first value to the earlier end
    assert values_on_grid([early, late], grid).tolist() == [[10.0, 10.0, 10.0], [30.0, 30.0, 40.0]]


def test_median_interval_of_sixteen_seeds_is_the_fourth_to_the_thirteenth():
    median = median_with_interval(list(range(1, 17)))
    assert median.median == 8.5
    assert median.interval == (4.0, 13.0) and median.ranks == (4, 13)
    # 1 - 2 P(B <= 3), B ~ Binomial(16, 1/2): 1 - 2 * (1 + 16 + 120 + 560) / 65536
    assert median.coverage == pytest.approx(1 - 2 * 697 / 65536)


def test_an_unsolved_seed_counts_as_infinity_for_the_median_and_its_bounds():
    # Seven seeds: only l = 1 reaches 95% (1 - 2/128 = 98.4%); l = 2 covers 87.5%.
    median = median_with_interval([5, 1, 3, None, 2, 4, 6])
    assert median.median == 4.0
    assert median.interval == (1.0, math.inf) and median.coverage == pytest.approx(1 - 2 / 128)
    assert math.isinf(median_with_interval([1, None, None]).median)


def test_fewer_than_six_seeds_give_no_95_percent_interval():
    assert median_with_interval([1, 2, 3, 4, 5]).interval is None  # 1 - 2/32 = 93.75% at best
    assert median_with_interval([1, 2, 3, 4, 5, 6]).interval == (1.0, 6.0)


# -- the command -----------------------------------------------------------------------------


def test_headless_json_has_one_object_per_group_with_its_counts(tmp_path, capsys, monkeypatch):
    # What each group's seeds ended at, as the run summarised them: the JSON's end figures
    # must be their mean and t-interval.
    end_returns = {}
    summarize = comparison_run.summarize_group

    def summarize_and_keep(label, *args, **kwargs):
        summary = summarize(label, *args, **kwargs)
        end_returns[label] = summary.end_returns
        return summary

    monkeypatch.setattr(comparison_run, "summarize_group", summarize_and_keep)
    out = tmp_path / "compare.png"
    status, stdout, err = run(
        capsys,
        "compare",
        "--a",
        "estimator=baseline",
        "--b",
        "estimator=total-return",
        "--seeds",
        "3",
        "--max-steps",
        "512",
        "--headless",
        "--json",
        "--out",
        str(out),
        *TINY,
    )
    assert status == 0, err
    groups = [json.loads(line) for line in stdout.splitlines()]
    assert [group["group"] for group in groups] == ["estimator=baseline", "estimator=total-return"]
    assert groups[0]["config_difference"] == {"estimator": "baseline"}
    for group in groups:
        assert group["seeds"] == [0, 1, 2]
        assert len(group["steps_to_solve"]) == 3
        assert group["solved"] == sum(steps is not None for steps in group["steps_to_solve"])
        assert group["median_interval"] is None  # three seeds: no 95% interval
        assert group["mean_return_end_seeds"] == 3
        assert group["end_env_steps"][0] >= 512
        ends = end_returns[group["group"]]
        assert len(ends) == 3 and np.isfinite(ends).all() and ends.std() > 0
        mean, half = ends.mean(), T_975_DF_2 * ends.std(ddof=1) / math.sqrt(3)
        assert group["mean_return_end"] == pytest.approx(mean, abs=0.006)  # rounded to 2 decimals
        assert group["mean_return_end_interval"] == pytest.approx([mean - half, mean + half], abs=0.006)
        assert {"median_steps_to_solve", "band_method", "wall_seconds", "env", "max_steps"} <= group.keys()
    assert out.read_bytes().startswith(b"\x89PNG")
    assert f"wrote {out}" in err[-1]


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--a", "no_such_knob=1", "--b", "estimator=total-return"], "--a no_such_knob=1: unknown key 'no_such_knob'"),
        (["--a", "policy_lr=fast", "--b", "estimator=total-return"], "--a policy_lr=fast: policy_lr:"),
        (["--a", "gamma=1.5", "--b", "estimator=total-return"], "gamma must be in (0, 1]"),
        (["--a", "estimator=baseline", "--b", "estimator=sideways"], "--b estimator=sideways"),
        (["--a", "policy_lr"], "'policy_lr' is not KEY=VALUE"),
        (["--a", "env_id=Acrobot-v1"], "env_id cannot differ between the groups"),
        (["--a", "estimator=baseline", "--b", "estimator=baseline"], "the same config: nothing to compare"),
        (["--a", "estimator=total-return", "--env", "NoSuchEnv-v0"], "unknown environment id 'NoSuchEnv-v0'"),
        (["--a", "estimator=total-return", "--seeds", "1"], "--seeds"),
        (["--a", "estimator=total-return", "--out", "x.png"], "--out and --json go with --headless"),
    ],
)
def test_a_bad_compare_flag_is_one_line_naming_it_and_exit_2(capsys, argv, named):
    status, _, lines = run(capsys, "compare", *argv)
    assert status == 2
    assert named in lines[-1] and "Traceback" not in "\n".join(lines)


def test_a_and_b_without_compare_are_refused(capsys):
    status, _, lines = run(capsys, "--a", "estimator=baseline")
    assert status == 2 and "--a and --b go with compare" in lines[-1]


def test_no_display_says_so_in_one_line_and_suggests_headless(capsys, monkeypatch):
    for name in ("SDL_VIDEODRIVER", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    status, _, lines = run(capsys, "compare", "--a", "estimator=total-return")
    assert status == 2
    assert "no display" in lines[-1] and "--headless" in lines[-1]
