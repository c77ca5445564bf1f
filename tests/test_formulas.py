"""The formula beside the number: each line holds the numbers the panels show."""

from dataclasses import replace

import numpy as np
import pytest

from tests.toy_envs import SHORT_CARTPOLE
from vpg_sim.core.advantages import ESTIMATORS
from vpg_sim.core.config import config_for
from vpg_sim.core.trainer import VPGTrainer
from vpg_sim.training.stage import FinishedEpisode, StagePlayer, StepView
from vpg_sim.ui.panels.formulas import adds_up, advantage_formula, policy_formula


def episode(estimator):
    return FinishedEpisode(
        update=3,
        values=np.array([41.0, 40.2]),
        rewards=np.array([1.0, 1.0]),
        returns_to_go=np.array([37.2, 36.0]),
        bootstrap=np.zeros(2),
        advantages=np.array([-3.8, -4.2]),
        actions=np.array([0, 1]),
        total_return=2.0,
        terminated=True,
        end_reason="pole fell past 12°",
        gamma=0.99,
        gae_lambda=0.97,
        estimator=estimator,
    )


def test_baseline_shows_reward_to_go_minus_the_value():
    assert advantage_formula(episode("baseline")) == ["A_0 = G_0 − V(s_0) = 37.2 − 41.0 = -3.8"]


def test_gae_shows_the_first_td_residual_with_its_numbers():
    delta_line, sum_line = advantage_formula(episode("gae"))
    assert delta_line == "δ_0 = r_0 + γ·V(s_1) − V(s_0) = 1 + 0.99·40.20 − 41.00 = -0.20"
    assert sum_line.startswith("A_0 = Σ_k (γλ)^k δ_k = -3.80")


def test_a_negative_value_reads_in_parentheses_so_the_sum_adds_up():
    early = replace(episode("gae"), values=np.array([-0.02, -0.04]))
    delta_line, _ = advantage_formula(early)
    assert delta_line == "δ_0 = r_0 + γ·V(s_1) − V(s_0) = 1 + 0.99·(−0.04) − (−0.02) = +0.98"
    nearly_zero = replace(episode("baseline"), values=np.array([-0.001, 0.0]), advantages=np.array([37.201, 36.0]))
    assert advantage_formula(nearly_zero) == ["A_0 = G_0 − V(s_0) = 37.2 − 0.0 = +37.2"]


def test_terms_that_do_not_add_up_to_the_advantage_are_not_shown():
    # V(s_0) -0.001 with A_0 -3.8: 37.2 − 0.0 is not -3.8, so the line does not say it is.
    inconsistent = replace(episode("baseline"), values=np.array([-0.001, 0.0]))
    assert advantage_formula(inconsistent) == ["A_0 = G_0 − V(s_0) = -3.8"]
    assert advantage_formula(episode("total-return")) == ["A_t = R(τ) = -3.8, the same for every step (γ = 0.99)"]
    assert adds_up(-3.8, (37.2, -41.0), 1) and not adds_up(-3.8, (37.2, 0.001), 1)
    assert adds_up(0.3, (0.14, 0.14), 1)  # 0.1 + 0.1 printed, 0.28 -> 0.3: within the rounding


def printed_sums_hold(line: str) -> bool:
    """Whether the arithmetic a line prints (``... = 1 + 0.99·(−0.04) − 0.02 = +0.98``) gives
    the result it prints, to the rounding of the printed numbers."""
    *_, terms, result = line.split(" = ")
    arithmetic = terms.replace("−", "-").replace("·", "*")
    digits = len(result.split(".")[1]) if "." in result else 0
    return abs(eval(arithmetic) - float(result.replace("−", "-"))) <= 2 * 10.0**-digits  # a product's rounding too


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("env_id", ["CartPole-v1", SHORT_CARTPOLE])  # terminated, or cut by a time limit
def test_on_the_stage_s_episodes_every_formula_shows_its_terms_and_they_add_up(estimator, env_id):
    trainer = VPGTrainer(config_for(env_id, estimator=estimator, gamma=0.9, num_envs=2, steps_per_update=64))
    for _ in range(3):  # a critic that outputs more than ~0
        trainer.train_update()
    player = StagePlayer(trainer.checkpoint(), seed=1)
    trainer.close()
    try:
        for _ in range(3):
            ended = 0
            for _ in range(10_000):  # the hold after the last episode, then the next episode's steps
                ended = player.advance(0.5)
                if ended:
                    break
            assert ended == 1
            lines = advantage_formula(player.finished)
            if estimator in ("baseline", "gae"):  # A_0 = G_0 − V(s_0), or the TD residual δ_0
                assert lines[0].count(" = ") == 3 and printed_sums_hold(lines[0]), lines
            else:  # the discounted sum of the rewards earned, nothing bootstrapped
                assert "= Σ_k γ^k r_k =" in lines[0], lines
    finally:
        player.close()


def test_softmax_of_the_logits_is_the_probability_shown():
    logits = np.array([0.19, -0.19])
    probabilities = np.exp(logits) / np.exp(logits).sum()
    view = StepView(probabilities=probabilities, logits=logits, action=0)
    [line] = policy_formula("CartPole-v1", view)
    assert line == f"softmax: π(push left|s) = e^0.19 / (e^0.19 + e^-0.19) = {probabilities[0]:.2f}"
