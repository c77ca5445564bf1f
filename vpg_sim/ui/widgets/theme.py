"""The pygame_gui widgets' theme, from our palette and the layout's scale."""

from __future__ import annotations

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
