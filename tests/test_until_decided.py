"""compare --until-decided: batches of seeds until P(A better than B)'s interval, at the
Bonferroni level of the planned looks, excludes 1/2, or the maximum; it says which."""

import json

import numpy as np
import pytest

from vpg_sim.cli import main, sequential
from vpg_sim.cli.comparison_file import this_run
from vpg_sim.core.comparison import Curve, GroupResult
from vpg_sim.core.config import config_for
from vpg_sim.training.comparison_run import Group

CONFIG = config_for("CartPole-v1")
GROUPS = [Group("A", CONFIG, "default", {}), Group("B", CONFIG.replace(policy_lr=0.01), "policy_lr=0.01", {})]


def fake_training(solve_steps, trained):
    """A train_seeds whose seeds solve at ``solve_steps[group](seed)``, recording each batch's seeds."""

    def train_seeds(groups, seeds, max_steps, prog, full_budget, engine):
        assert full_budget  # pooled seeds train their whole budget
        assert engine == sequential.Engine()  # one process unless told otherwise
        trained.append(list(seeds))
        curve = Curve(np.array([1000]), np.array([10.0]))
        results = [
            GroupResult(g.name, g.label, {}, g.config, 1000, tuple(seeds), (curve,) * len(seeds),
                        tuple(solve_steps[g.name](seed) for seed in seeds))
            for g in groups
        ]  # fmt: skip
        return this_run(results, "CartPole-v1", 475.0)

    return train_seeds


def test_a_clear_difference_is_decided_at_the_first_look(monkeypatch):
    trained = []
    steps = {"A": lambda seed: 1000 + seed, "B": lambda seed: 5000 + seed}
    monkeypatch.setattr(sequential, "train_seeds", fake_training(steps, trained))
    pooled, verdict = sequential.run_until_decided(GROUPS, range(16), 128, None, "vpg-sim")
    assert trained == [list(range(16))]
    assert verdict.startswith("decided: A solves faster. P(A solves in fewer steps than B) = 1.00")
    assert "look 1 of 8" in verdict and "99.38% interval" in verdict
    assert pooled.results[0].seeds == tuple(range(16))


def test_no_difference_goes_on_to_the_maximum_and_says_it_is_not_decided(monkeypatch):
    trained = []
    same = {name: (lambda seed: 1000 + (seed * 7919) % 500) for name in "AB"}  # the same steps in both groups
    monkeypatch.setattr(sequential, "train_seeds", fake_training(same, trained))
    pooled, verdict = sequential.run_until_decided(GROUPS, range(100, 110), 25, None, "vpg-sim")
    # batches of ten from seed 100 on, the last cut at the maximum: three looks
    assert trained == [list(range(100, 110)), list(range(110, 120)), list(range(120, 125))]
    assert verdict.startswith("not decided at the maximum of 25 seeds per group: P(A solves in fewer steps than B)")
    assert "= 0.50" in verdict and "look 3 of 3" in verdict and verdict.endswith("the interval includes 1/2")
    assert pooled.results[1].seeds == tuple(range(100, 125))


def test_a_difference_that_shows_later_is_decided_at_that_look(monkeypatch):
    trained = []
    # B is slower by a little: one batch of 8 cannot tell at the 99% level, more seeds can
    rng = np.random.default_rng(5)
    noise = {seed: int(x) for seed, x in enumerate(rng.integers(0, 3000, 64))}
    steps = {"A": lambda seed: 10_000 + noise[seed], "B": lambda seed: 11_200 + noise[(seed + 17) % 64]}
    monkeypatch.setattr(sequential, "train_seeds", fake_training(steps, trained))
    _, verdict = sequential.run_until_decided(GROUPS, range(8), 64, None, "vpg-sim")
    looks = len(trained)
    assert 1 < looks < 8 and verdict.startswith("decided: A solves faster")
    assert f"after {8 * looks} seeds per group (look {looks} of 8)" in verdict


def test_the_command_trains_batches_and_writes_the_pooled_seeds(tmp_path, capsys):
    out, pooled = tmp_path / "c.png", tmp_path / "pooled.json"
    argv = ["compare", "--a", "estimator=baseline", "--b", "gae_lambda=0.9", "--headless", "--until-decided"]
    argv += ["--seeds", "2", "--max-seeds", "4", "--max-steps", "256", "--out", str(out), "--json-out", str(pooled)]
    argv += ["--num-envs", "2", "--steps-per-update", "128", "--vf-iters", "1", "--vf-minibatch-size", "64"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    # nobody solves in 256 steps: every pair ties, P = 1/2 exactly
    assert "not decided at the maximum of 4 seeds per group" in err and "look 2 of 2" in err
    document = json.loads(pooled.read_text())
    assert [seed["seed"] for seed in document["groups"][0]["seeds"]] == [0, 1, 2, 3]
    assert out.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(("first", "most"), [(range(4294967290, 4294967296), 12)])
def test_seeds_past_the_largest_are_refused_before_training(first, most):
    with pytest.raises(ValueError, match="pass the largest seed"):
        sequential.planned_looks(first, most)
