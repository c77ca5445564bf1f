"""The knobs panel's switches say what the estimator they set trains on."""

import pygame
import pygame_gui

from vpg_sim.core.advantages import TRUNCATION_NOTE
from vpg_sim.core.config import VPGConfig
from vpg_sim.ui.widgets.knobs import KnobsPanel


def estimator_button(config: VPGConfig) -> tuple[KnobsPanel, pygame_gui.elements.UIButton]:
    pygame.init()
    pygame.display.set_mode((1280, 720))  # the dummy video driver: pygame_gui renders for a display
    manager = pygame_gui.UIManager((1280, 720))
    panel = KnobsPanel(manager, pygame.Rect(0, 0, 720, 190), config, lambda size: round(size), 120)
    return panel, panel.switches["estimator"]


def test_total_return_under_normalised_advantages_reads_as_the_return_minus_the_batch_mean():
    panel, button = estimator_button(VPGConfig(estimator="total-return"))
    assert button.text == "estimator: total-return − mean"
    panel.show(VPGConfig(estimator="total-return", normalize_advantages=False))  # the textbook's R(tau)
    assert button.text == "estimator: total-return"
    panel.show(VPGConfig(estimator="reward-to-go"))
    assert button.text == "estimator: reward-to-go"
    tip = button.tool_tip_text
    assert "R(τ) − batch mean" in tip and TRUNCATION_NOTE[1:] in tip
