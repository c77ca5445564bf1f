"""compare --seeds and variance --batches are bounded by what they cost in memory: asked
for more than fits in 1 GB, each says so in one line, with the most that fits."""

from __future__ import annotations

import pytest

from tests.test_cli import run
from vpg_sim.cli.compare import check_memory
from vpg_sim.cli.memory import MEMORY_BUDGET_MB, batch_megabytes, most_within_budget
from vpg_sim.cli.variance import batches_problem
from vpg_sim.core.config import config_for


def test_compare_refuses_seeds_that_would_take_over_a_gigabyte(capsys, tmp_path):
    # --max-steps 1: were it allowed (as it was, at 1.17 GB), one update per agent and done.
    argv = ["--seeds", "256", "--max-steps", "1", "--a", "gamma=0.9", "--out", str(tmp_path / "c.png")]
    status, lines = run(capsys, "compare", "--headless", *argv)
    assert status == 2 and len(lines) == 1
    assert "--seeds 256 would take about 1.4 GB" in lines[0] and "at most 166 seeds" in lines[0]


def test_the_most_seeds_compare_allows_is_where_the_estimate_meets_the_budget():
    default, big = config_for("CartPole-v1"), config_for("CartPole-v1", steps_per_update=4096)
    check_memory(166, [default, default], 4, 2)
    with pytest.raises(ValueError, match="at most 166 seeds"):
        check_memory(167, [default, default], 4, 2)
    check_memory(83, [default, big], 4, 2)
    with pytest.raises(ValueError, match="at most 83 seeds"):  # four times the batch in one group
        check_memory(84, [default, big], 4, 2)
    small = config_for("CartPole-v1", steps_per_update=256, hidden_sizes=(16,))
    check_memory(256, [small, small], 4, 2)  # small agents: the flag's own ceiling, 256, fits


def test_variance_refuses_batches_that_would_take_over_a_gigabyte(capsys):
    # --at-steps 0: were it allowed (2.2 GB or more), short episodes and done in seconds.
    status, lines = run(capsys, "variance", "--batches", "1024", "--at-steps", "0", "--json")
    assert status == 2 and len(lines) == 1
    assert "--batches 1024 would take about 4.7 GB" in lines[0] and "at most 145 for CartPole-v1" in lines[0]


def test_the_most_batches_variance_allows_depends_on_the_env_s_episodes():
    cartpole, mountain_car = config_for("CartPole-v1"), config_for("MountainCar-v0")
    assert batches_problem(145, cartpole, 500) is None
    assert "at most 145" in batches_problem(146, cartpole, 500)
    assert batches_problem(249, mountain_car, 200) is None  # 200-step episodes: smaller batches
    assert "episodes without a time limit" in batches_problem(1024, cartpole, None)
    per_batch = batch_megabytes(cartpole, 500)
    assert 4.0 < per_batch < 4.6  # measured: 4.1-4.4 MB a batch (K = 64 to 256)
    assert most_within_budget(per_batch, 0.0) == int(MEMORY_BUDGET_MB // per_batch)
