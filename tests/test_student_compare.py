"""``vpg-sim compare --a advantages=mycode:fn``: a student's functions over seeds."""

import json

import pytest

from tests.test_student_cli import run
from vpg_sim.core.config import config_for
from vpg_sim.core.student import StudentCode
from vpg_sim.core.student_step import StudentStep
from vpg_sim.core.trainer import VPGTrainer
from vpg_sim.training.student_population import TrainerPopulation

HEADLESS = ["compare", "--headless", "--seeds", "2", "--max-steps", "256"]
HEADLESS += ["--num-envs", "4", "--steps-per-update", "128"]
SMALL = {"num_envs": 4, "steps_per_update": 128, "vf_iters": 2, "vf_minibatch_size": 64}


def test_a_student_group_trains_each_seed_as_a_lone_run_with_their_code():
    config = config_for("CartPole-v1", **SMALL)
    code = StudentCode((("advantages", "tests.student_solutions:reward_to_go"),))
    population = TrainerPopulation(config, [3, 5], code)
    lone = VPGTrainer(config.replace(seed=5))
    lone.student = StudentStep(("advantages",), None)  # vpg-sim's own reward-to-go, same seed
    try:
        for _ in range(2):
            stats = population.train_update()
            assert stats[1].policy_loss == pytest.approx(lone.train_update().policy_loss, rel=1e-5)
        population.stop([0])
        assert list(population.train_update()) == [1]
        assert population.checkpoint_of(0).update == 2 and population.env_steps(1) == 3 * 128
    finally:
        population.close()
        lone.close()
    assert not population.process.running


def test_compare_puts_a_students_function_against_the_reference_estimator(tmp_path, capsys):
    argv = [
        *HEADLESS,
        "--a",
        "advantages=tests.student_solutions:rtg_forgets_to_reset",
        "--b",
        "estimator=reward-to-go",
    ]
    status, out, _ = run(capsys, *argv, "--out", str(tmp_path / "c.png"), "--json")
    assert status == 0
    first, second = (json.loads(line) for line in out)
    assert first["group"] == "advantages=tests.student_solutions:rtg_forgets_to_reset"
    assert first["config_difference"]["advantages"] == "tests.student_solutions:rtg_forgets_to_reset"
    assert second["group"] == "estimator=reward-to-go"
    assert (tmp_path / "c.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("group", "said"),
    [
        ("advantages=not a name", "--a advantages=not a name: expected MODULE:FUNCTION"),
        ("advantages=tests.student_solutions:raises", "compare: tests.student_solutions:raises raised"),
    ],
)
def test_bad_student_code_in_a_comparison_is_one_line(tmp_path, capsys, group, said):
    status, _, err = run(capsys, *HEADLESS, "--a", group, "--b", "gamma=0.9", "--out", str(tmp_path / "c.png"))
    assert status == 2
    assert said in err[-1] and "Traceback" not in "\n".join(err)
