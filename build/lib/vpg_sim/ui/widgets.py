"""The pygame_gui widgets: their theme from our palette, and the button bar."""

from __future__ import annotations

import pygame
import pygame_gui

from vpg_sim.ui.controls import BUTTONS_DROPPED_FIRST, CONTROLS, button_text
from vpg_sim.ui.layout import Layout
from vpg_sim.ui.theme import FONT_REGULAR, FONT_SEMIBOLD, Palette


def ui_theme(palette: Palette, layout: Layout) -> dict:
    """A pygame_gui theme in ``palette``'s colours with Inter at the layout's scale."""
    colours = {
        "normal_bg": palette.hex(palette.background),
        "hovered_bg": palette.hex(palette.panel_border),
        "active_bg": palette.hex(palette.grid),
        "selected_bg": palette.hex(palette.panel_border),
        "dark_bg": palette.hex(palette.panel),
        "normal_text": palette.hex(palette.text),
        "hovered_text": palette.hex(palette.text),
        "active_text": palette.hex(palette.text),
        "selected_text": palette.hex(palette.text),
        "normal_border": palette.hex(palette.panel_border),
        "hovered_border": palette.hex(palette.muted),
        "active_border": palette.hex(palette.value),
        "selected_border": palette.hex(palette.value),
        "text_cursor": palette.hex(palette.text),
        "disabled_text": palette.hex(palette.muted),  # unusable files in the L list
        "disabled_bg": palette.hex(palette.panel),
        "filled_bar": palette.hex(palette.value),
        "unfilled_bar": palette.hex(palette.grid),
    }
    font = {
        "name": "inter",
        "size": str(layout.px(14)),
        "regular_path": str(FONT_REGULAR),
        "bold_path": str(FONT_SEMIBOLD),
    }
    misc = {"shape": "rounded_rectangle", "shape_corner_radius": str(layout.px(6)), "border_width": "1"}
    # pygame_gui takes only colours from "defaults"; fonts go per element type. List
    # items and window title bars are buttons, dialog and tool-tip texts text boxes.
    theme: dict = {"defaults": {"colours": colours}}
    for element in ("button", "text_entry_line", "label", "text_box"):
        theme[element] = {"font": font, "misc": misc}
    theme["horizontal_slider"] = {"misc": misc}
    return theme


def build_buttons(ui: pygame_gui.UIManager, layout: Layout) -> dict[str, pygame_gui.elements.UIButton]:
    """One button per control in the bar at the bottom, keyed by command.

    Each button first sizes itself to its label (width -1), then all are stretched to
    fill the bar. A narrow window drops the least needed buttons (keys still work).
    """
    buttons: dict[str, pygame_gui.elements.UIButton] = {}
    bar = layout.buttons
    gap = layout.px(6)
    height = bar.height - 2 * layout.px(6)
    for control in CONTROLS:
        buttons[control.command] = pygame_gui.elements.UIButton(
            pygame.Rect(0, 0, -1, height), button_text(control), manager=ui, tool_tip_text=control.help
        )
    for command in BUTTONS_DROPPED_FIRST:
        natural = sum(button.rect.width for button in buttons.values())
        if natural <= bar.width - gap * (len(buttons) + 1):
            break
        buttons.pop(command).kill()
    natural = sum(button.rect.width for button in buttons.values())
    factor = (bar.width - gap * (len(buttons) + 1)) / natural
    x = bar.x + gap
    for button in buttons.values():
        width = button.rect.width * factor
        button.set_dimensions((round(width), height))
        button.set_relative_position((round(x), bar.y + layout.px(6)))
        x += width + gap
    return buttons
