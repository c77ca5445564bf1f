"""The formula behind each panel, with the numbers of the moment (X shows them)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pygame

from vpg_sim.core.advantages import discounted_returns
from vpg_sim.training.stage import FinishedEpisode, StepView
from vpg_sim.ui.panels.frame import Frame
from vpg_sim.ui.panels.painter import PanelPainter, action_names


def policy_formula(env_id: str, decision: StepView) -> list[str]:
    """pi(a|s) from the network's outputs for the state on stage."""
    if decision.logits is not None and decision.probabilities is not None:
        names = action_names(env_id, len(decision.logits))
        best = int(np.argmax(decision.probabilities))
        exps = " + ".join(f"e^{z:.2f}" for z in decision.logits)
        chosen, probability = decision.logits[best], decision.probabilities[best]
        return [f"softmax: π({names[best]}|s) = e^{chosen:.2f} / ({exps}) = {probability:.2f}"]
    if decision.mean is not None and decision.std is not None:
        line = f"a ~ N(μ(s), σ):  μ = {float(decision.mean[0]):+.2f},  σ = e^log σ = {float(decision.std[0]):.2f}"
        if decision.action is None:
            return [line]
        return [line, f"sampled a = {float(np.ravel(decision.action)[0]):+.2f}"]
    return []


def _operand(value: float, digits: int) -> str:
    """``value`` as it reads inside a sum: a negative one in parentheses, "−" for the sign."""
    text = f"{abs(value):.{digits}f}"
    return f"(−{text})" if value < 0 and float(text) != 0 else text


def adds_up(result: float, terms: Sequence[float], digits: int) -> bool:
    """Whether ``terms``, each printed to ``digits`` decimals, sum to ``result`` printed so:
    within the printing's rounding (half a unit of the last place per number). A formula
    shows its numbers only where a reader's sum of them gives the number it shows."""
    unit = 10.0**-digits
    printed = sum(round(term, digits) for term in terms)
    return abs(printed - round(result, digits)) <= unit * (len(terms) + 1) / 2 + 1e-9


def advantage_formula(finished: FinishedEpisode | None) -> list[str]:
    """Phi_0 of the last finished stage episode, by its estimator, with its numbers where
    they add up to it (:func:`adds_up`; the terms are left out where they do not)."""
    if finished is None or not len(finished.advantages):
        return ["A_t: once an episode has ended"]
    g0, v0, a0 = float(finished.returns_to_go[0]), float(finished.values[0]), float(finished.advantages[0])
    gamma, lam = finished.gamma, finished.gae_lambda
    if finished.estimator in ("total-return", "reward-to-go"):
        # Neither bootstraps: the discounted sum of the rewards earned, from the first step.
        earned = float(discounted_returns(np.asarray(finished.rewards, dtype=np.float64), gamma)[0])
        sum_part = " = Σ_k γ^k r_k" if math.isclose(a0, earned, rel_tol=1e-6, abs_tol=1e-6) else ""
        if finished.estimator == "total-return":
            return [f"A_t = R(τ){sum_part} = {a0:.1f}, the same for every step (γ = {gamma:g})"]
        return [f"A_0 = G_0{sum_part} = {a0:.1f}  (γ = {gamma:g})"]
    if finished.estimator == "baseline":
        terms = f" = {g0:.1f} − {_operand(v0, 1)}" if adds_up(a0, (g0, -v0), 1) else ""
        return [f"A_0 = G_0 − V(s_0){terms} = {a0:+.1f}"]
    next_value = float(finished.values[1]) if len(finished.values) > 1 else 0.0
    reward = float(finished.rewards[0])
    delta = reward + gamma * next_value - v0
    return [
        f"δ_0 = r_0 + γ·V(s_1) − V(s_0) = {reward:g} + {gamma:g}·{_operand(next_value, 2)} − {_operand(v0, 2)}"
        f" = {delta:+.2f}",
        f"A_0 = Σ_k (γλ)^k δ_k = {a0:+.2f}  (γλ = {gamma * lam:.3g})",
    ]


def value_formula(finished: FinishedEpisode | None, view: StepView) -> list[str]:
    line = f"V(s_t) = {view.value:.1f}: the critic's guess of G_t = Σ_k γ^k r_(t+k)"
    if finished is None:
        return [line]
    g0, v0 = float(finished.returns_to_go[0]), float(finished.values[0])
    return [line, f"last finished episode (update {finished.update}): G_0 = {g0:.1f} vs V(s_0) = {v0:.1f}"]


def update_formula(frame: Frame) -> list[str]:
    stats = frame.stats
    if stats is None or math.isnan(stats.policy_loss):
        return ["L(θ) = −mean_t log π(a_t|s_t)·Â_t: after the first update"]
    return [
        f"L(θ) = −mean_t log π(a_t|s_t)·Â_t = {stats.policy_loss:+.4f}   (update {stats.update})",
        f"θ ← θ − lr·Adam(grad L),  lr = {stats.policy_lr:.2g};  KL(old, new) = {stats.approx_kl:.4f}",
    ]


def formula_lines(slot: str, panel: str, frame: Frame) -> list[str]:
    """The lines to show over the panel ``panel`` drawn in layout ``slot``."""
    stage = frame.stage
    if panel == "policy":
        return policy_formula(frame.env_id, stage.decision)
    if panel == "value":
        return value_formula(stage.finished, stage.view)
    if panel == "advantage":
        return advantage_formula(stage.finished)
    if panel == "update":
        return update_formula(frame)
    return []


def draw_formula_box(painter: PanelPainter, rect: pygame.Rect, lines: list[str]) -> None:
    """``lines`` on a box at the top right of ``rect``, over the panel's subtitle (the
    title stays readable; a one-line formula hides nothing else)."""
    if not lines:
        return
    palette = painter.palette
    sizes = [painter.text_size(line, 13) for line in lines]
    width = min(max(w for w, _ in sizes) + painter.px(16), rect.width - painter.px(12))
    box = pygame.Rect(0, 0, width, sum(h for _, h in sizes) + painter.px(10))
    box.topright = (rect.right - painter.px(6), rect.y + painter.px(4))
    pygame.draw.rect(painter.surface, palette.background, box, border_radius=painter.px(6))
    pygame.draw.rect(painter.surface, palette.value, box, width=1, border_radius=painter.px(6))
    y = box.y + painter.px(5)
    for line in lines:
        y = painter.text(line, (box.right - painter.px(8), y), 13, palette.text, anchor="topright").bottom
