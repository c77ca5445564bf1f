"""Two configs compared over seeds: curves on a grid and the order-statistic median against
hand cases, the headless command and its JSON, and bad input as one line with exit 2
(the bootstrap and t statistics: test_statistics.py; files and merge: test_merge.py)."""

import argparse
import json
import math
import multiprocessing

import numpy as np
import pytest

from vpg_sim.cli import arguments, main
from vpg_sim.cli.compare import seed_range
from vpg_sim.core.comparison import (
    Curve,
    common_grid,
    median_with_interval,
    values_on_grid,
)

T_975_DF_2 = 4.302653
"""The 97.5% quantile of Student's t with 2 degrees of freedom (three seeds), from the tables."""
TINY = ["--num-envs", "2", "--steps-per-update", "128", "--vf-iters", "2", "--vf-minibatch-size", "64"]


def run(capsys, *argv):
    """``main(argv)``'s exit status, stdout and the lines it printed on stderr (paths as text)."""
    try:
        status = main([str(arg) for arg in argv])
    except SystemExit as exit_:  # argparse
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err.strip().splitlines()


# -- the statistics ------------------------------------------------------------------------


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


def test_headless_json_has_one_object_per_group_with_its_counts_and_says_what_it_computed(tmp_path, capsys):
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
        "--stat",
        "mean",
        "--out",
        str(out),
        *TINY,
    )
    assert status == 0, err
    groups = [json.loads(line) for line in stdout.splitlines()]
    assert [group["group"] for group in groups] == ["estimator=baseline", "estimator=total-return"]
    assert groups[0]["config_difference"] == {"estimator": "baseline"}
    # normalised advantages (the default): total-return is not the textbook's R(tau)
    assert groups[1]["estimator_weights"] == "(R(tau) - batch mean) / batch std"
    for group in groups:
        assert group["statistic"] == "mean" and "pointwise" in group["band_method"]
        assert group["seeds"] == [0, 1, 2]
        assert len(group["steps_to_solve"]) == 3
        assert group["solved"] == sum(steps is not None for steps in group["steps_to_solve"])
        assert group["median_interval"] is None  # three seeds: no 95% order-statistic interval
        assert group["return_end_seeds"] == 3
        assert group["end_env_steps"][0] >= 512
        assert {"median_steps_to_solve", "wall_seconds", "env", "max_steps"} <= group.keys()
    # P(A better than B) and P(B better than A) add up to one, intervals mirrored
    a_over_b, b_over_a = groups[0]["better_than"]["B"], groups[1]["better_than"]["A"]
    assert a_over_b["probability"] + b_over_a["probability"] == pytest.approx(1.0)
    assert a_over_b["interval"][0] == pytest.approx(1 - b_over_a["interval"][1])
    assert out.read_bytes().startswith(b"\x89PNG")
    assert f"wrote {out}" in err[-1]


@pytest.mark.parametrize(
    ("text", "seeds"),
    [
        ("16", range(16)),
        ("100-149", range(100, 150)),
        ("0-1", range(2)),
        ("4294967294-4294967295", range(2**32 - 2, 2**32)),
    ],
)
def test_seeds_are_a_count_or_a_range_of_both_ends(text, seeds):
    assert seed_range(text) == seeds


@pytest.mark.parametrize("text", ["1", "5-5", "9-3", "0-256", "x", "3-", "-4", "0-4294967296"])
def test_a_seed_range_of_fewer_than_two_or_more_than_256_seeds_is_refused(text):
    with pytest.raises(argparse.ArgumentTypeError):
        seed_range(text)


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
        (["--a", "estimator=total-return", "--out", "x.png"], "--until-decided and --workers go"),
        (["--a", "estimator=total-return", "--json-out", "x.json"], "--json-out: --out, --json, --json-out"),
        (["--a", "estimator=total-return", "--until-decided"], "--until-decided: --out, --json"),
        (["--a", "estimator=total-return", "--headless", "--max-seeds", "64"], "--max-seeds goes with --until-decided"),
        (
            ["--a", "estimator=total-return", "--headless", "--until-decided", "--seeds", "32", "--max-seeds", "16"],
            "--max-seeds 16 is fewer than one batch of --seeds (32)",
        ),
        (["--a", "estimator=total-return", "--seeds", "7-3"], "--seeds"),
        (["--a", "estimator=total-return", "--stat", "median"], "--stat"),
    ],
)
def test_a_bad_compare_flag_is_one_line_naming_it_and_exit_2(capsys, argv, named):
    status, _, lines = run(capsys, "compare", *argv)
    assert status == 2
    assert named in lines[-1] and "Traceback" not in "\n".join(lines)


def test_a_refused_setting_of_a_headless_compare_in_workers_starts_no_worker(capsys, monkeypatch):
    monkeypatch.setattr(arguments, "StartedWorkers", None)  # a worker started would fail loudly
    argv = ["--a", "gamma=1.5", "--b", "estimator=total-return", "--headless", "--workers", "2"]
    status, out, lines = run(capsys, "compare", *argv)
    assert status == 2 and out == "" and len(lines) == 1 and "gamma must be in (0, 1]" in lines[0]


def test_an_env_refused_after_the_workers_started_leaves_none_running(capsys):
    # The workers start once the settings are sound, before the env is checked (their
    # imports overlap this process's): an unknown env ends them at once.
    argv = ["--a", "estimator=total-return", "--env", "NoSuchEnv-v0", "--headless", "--workers", "2"]
    status, out, lines = run(capsys, "compare", *argv)
    assert status == 2 and out == "" and len(lines) == 1 and "unknown environment id 'NoSuchEnv-v0'" in lines[0]
    assert multiprocessing.active_children() == []


def test_a_and_b_without_compare_are_refused(capsys):
    status, _, lines = run(capsys, "--a", "estimator=baseline")
    assert status == 2 and "--a and --b go with compare" in lines[-1]


def test_no_display_says_so_in_one_line_and_suggests_headless(capsys, monkeypatch):
    for name in ("SDL_VIDEODRIVER", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    status, _, lines = run(capsys, "compare", "--a", "estimator=total-return")
    assert status == 2
    assert "no display" in lines[-1] and "--headless" in lines[-1]


@pytest.mark.parametrize(("statistic", "axis_says"), [("iqm", "IQM return"), ("mean", "mean return")])
def test_the_figure_says_which_statistic_it_draws_and_that_bands_are_pointwise(statistic, axis_says):
    from vpg_sim.cli.compare_figure import comparison_figure
    from vpg_sim.core.comparison import GroupResult
    from vpg_sim.core.config import config_for

    config = config_for("CartPole-v1")
    rng = np.random.default_rng(4)
    curves = tuple(Curve(np.arange(1, 51) * 1000, np.cumsum(rng.random(50)) * 10) for _ in range(8))
    results = [
        GroupResult("A", "default", {}, config, 50_000, tuple(range(8)), curves, (30_000, None) * 4),
        GroupResult("B", "estimator=total-return", {}, config.replace(estimator="total-return"), 50_000,
                    tuple(range(8)), curves[::-1], (40_000, 45_000) * 4),
    ]  # fmt: skip
    figure = comparison_figure(results, "CartPole-v1", 475.0, statistic)
    curves_axes, profile_axes, _ = figure.axes
    assert curves_axes.get_ylabel().startswith(axis_says)
    assert "pointwise 95%" in figure._supxlabel.get_text()
    assert "pointwise" in profile_axes.get_title(loc="left")
    assert "P(A solves in fewer steps than B) = " in figure._suptitle.get_text()
    legend = [text.get_text() for text in curves_axes.get_legend().get_texts()]
    assert "weights: (R(tau) - batch mean) / batch std" in legend[1]
