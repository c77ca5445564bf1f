"""The formula beside the number: each line holds the numbers the panels show."""

from dataclasses import replace

import numpy as np

from vpg_sim.training.stage import FinishedEpisode, StepView
from vpg_sim.ui.panels.formulas import advantage_formula, policy_formula


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
    nearly_zero = replace(episode("baseline"), values=np.array([-0.001, 0.0]))
    assert advantage_formula(nearly_zero) == ["A_0 = G_0 − V(s_0) = 37.2 − 0.0 = -3.8"]


def test_softmax_of_the_logits_is_the_probability_shown():
    logits = np.array([0.19, -0.19])
    probabilities = np.exp(logits) / np.exp(logits).sum()
    view = StepView(probabilities=probabilities, logits=logits, action=0)
    [line] = policy_formula("CartPole-v1", view)
    assert line == f"softmax: π(push left|s) = e^0.19 / (e^0.19 + e^-0.19) = {probabilities[0]:.2f}"
