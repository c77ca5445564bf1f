"""The knobs panel (K): turn hyperparameters while training runs and watch what happens.

Each knob is a slider (log-scaled for learning rates) and a text entry for an exact
value. Both only *request* a change; the window hands it to the training session,
which refuses a value that would break training and otherwise applies it at the
next update.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pygame
import pygame_gui

from vpg_sim.core.advantages import ESTIMATORS, TRUNCATION_NOTE
from vpg_sim.core.config import VPGConfig

SLIDER_STEPS = 1000


@dataclass(frozen=True)
class Knob:
    """One live hyperparameter: its config field and the slider's range."""

    field: str
    label: str
    low: float = 0.0
    high: float = 1.0
    log_scale: bool = False
    choices: tuple[int, ...] = ()
    """For a knob with a few allowed values (the batch size), the slider picks one of these."""

    def to_slider(self, value: float) -> int:
        """Slider position of ``value`` (clamped to the slider's range)."""
        if self.choices:
            return min(range(len(self.choices)), key=lambda i: abs(self.choices[i] - value))
        if self.log_scale:
            fraction = (math.log10(max(value, 1e-12)) - math.log10(self.low)) / (
                math.log10(self.high) - math.log10(self.low)
            )
        else:
            fraction = (value - self.low) / (self.high - self.low)
        return round(min(max(fraction, 0.0), 1.0) * SLIDER_STEPS)

    def from_slider(self, position: float) -> float | int:
        """The value at a slider position, rounded to what a person would type."""
        if self.choices:
            return self.choices[min(max(round(position), 0), len(self.choices) - 1)]
        fraction = position / SLIDER_STEPS
        if self.log_scale:
            value = 10 ** (math.log10(self.low) + fraction * (math.log10(self.high) - math.log10(self.low)))
            return float(f"{value:.2g}")
        return round(self.low + fraction * (self.high - self.low), 3)

    def parse(self, text: str) -> float | int:
        """A typed value; ValueError with a one-line reason if it is not a number (the
        session judges whether the number would break training)."""
        try:
            value = float(text.strip())
        except ValueError:
            raise ValueError(f"{self.label}: {text.strip()!r} is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"{self.label}: must be a finite number")
        if self.choices:
            if value not in self.choices:
                raise ValueError(f"{self.label}: one of {', '.join(map(str, self.choices))}")
            return int(value)
        return value

    def show(self, value: float) -> str:
        return str(int(value)) if self.choices else f"{value:g}"


KNOBS: tuple[Knob, ...] = (
    Knob("policy_lr", "policy lr", 1e-4, 1e-1, log_scale=True),
    Knob("value_lr", "value lr", 1e-4, 1e-1, log_scale=True),
    Knob("gamma", "gamma γ", 0.8, 1.0),
    Knob("gae_lambda", "lambda λ", 0.0, 1.0),
    Knob("entropy_coef", "entropy bonus", 0.0, 0.1),
    Knob("steps_per_update", "batch size", choices=(256, 512, 1024, 2048, 4096, 8192)),
)


@dataclass(frozen=True)
class Switch:
    """A live knob with a few values, one button that steps through them."""

    field: str
    label: str
    values: tuple[object, ...]
    names: tuple[str, ...]
    """How each value reads on the button."""

    def name_of(self, value: object) -> str:
        return self.names[self.values.index(value)] if value in self.values else str(value)

    def after(self, value: object) -> object:
        """The value a click moves to."""
        index = self.values.index(value) if value in self.values else -1
        return self.values[(index + 1) % len(self.values)]


DEFAULT_TARGET_KL = VPGConfig.target_kl
SWITCHES: tuple[Switch, ...] = (
    Switch("estimator", "estimator", ESTIMATORS, ESTIMATORS),
    Switch("normalize_advantages", "normalise A", (True, False), ("on", "off")),
    Switch("target_kl", "KL-adaptive step", (DEFAULT_TARGET_KL, None), ("on", "off")),
)
"""The estimator and two of the additions beyond vanilla, turned on and off live."""
BASELINED_TOTAL_RETURN = "total-return − mean"
"""The estimator switch's name for total-return while advantages are normalised: the
batch mean is subtracted, so it is not the textbook's R(tau)."""
SWITCH_TIPS = {
    "estimator": "click: the next estimator, from the next update. With normalise A on, each Φ is shifted by "
    f"its batch mean (total-return trains on R(τ) − batch mean). {TRUNCATION_NOTE[0].upper()}{TRUNCATION_NOTE[1:]}.",
}

KNOB_LABELS = {knob.field: knob.label for knob in (*KNOBS, *SWITCHES)}
"""The knobs' names as the panel shows them (the return curve's markers use them too)."""


class KnobsPanel:
    """Sliders and entries for :data:`KNOBS` in two columns inside ``area``.

    :meth:`process_event` returns ``{field: value}`` when a person changes a knob
    (raising ValueError for text that is not a number); the caller decides.
    """

    def __init__(
        self,
        manager: pygame_gui.UIManager,
        area: pygame.Rect,
        config: VPGConfig,
        px: Callable[[float], int],
        label_width: int,
    ) -> None:
        self.area = area
        self.sliders: dict[str, pygame_gui.elements.UIHorizontalSlider] = {}
        self.entries: dict[str, pygame_gui.elements.UITextEntryLine] = {}
        self.label_positions: dict[str, tuple[int, int]] = {}
        self.switches: dict[str, pygame_gui.elements.UIButton] = {}
        self._values = {switch.field: getattr(config, switch.field) for switch in SWITCHES}
        columns, slider_rows = 2, math.ceil(len(KNOBS) / 2)
        rows = slider_rows + 1  # the last row: the switches
        column_gap = px(24)
        column_w = (area.width - column_gap * (columns - 1)) // columns
        row_h = area.height // rows
        widget_h = min(row_h - px(6), px(30))
        entry_w = px(76)
        for index, knob in enumerate(KNOBS):
            column, row = divmod(index, slider_rows)
            x = area.x + column * (column_w + column_gap)
            y = area.y + row * row_h + (row_h - widget_h) // 2
            slider_x = x + label_width
            slider_w = column_w - label_width - entry_w - px(8)
            value = getattr(config, knob.field)
            self.label_positions[knob.field] = (x, y + widget_h // 2)
            self.sliders[knob.field] = pygame_gui.elements.UIHorizontalSlider(
                pygame.Rect(slider_x, y, slider_w, widget_h),
                knob.to_slider(value),
                (0, len(knob.choices) - 1) if knob.choices else (0, SLIDER_STEPS),
                manager,
                click_increment=1 if knob.choices else SLIDER_STEPS // 50,
            )
            self.entries[knob.field] = pygame_gui.elements.UITextEntryLine(
                pygame.Rect(slider_x + slider_w + px(8), y, entry_w, widget_h),
                manager,
                initial_text=knob.show(value),
            )
        y = area.y + (rows - 1) * row_h + (row_h - widget_h) // 2
        switch_w = (area.width - px(8) * (len(SWITCHES) - 1)) // len(SWITCHES)
        for index, switch in enumerate(SWITCHES):
            self.switches[switch.field] = pygame_gui.elements.UIButton(
                pygame.Rect(area.x + index * (switch_w + px(8)), y, switch_w, widget_h),
                self._switch_text(switch),
                manager,
                tool_tip_text=SWITCH_TIPS.get(switch.field, "click: the next value, from the next update"),
            )

    def _switch_text(self, switch: Switch) -> str:
        name = switch.name_of(self._values[switch.field])
        if switch.field == "estimator" and name == "total-return" and self._values["normalize_advantages"]:
            name = BASELINED_TOTAL_RETURN
        return f"{switch.label}: {name}"

    def process_event(self, event: pygame.event.Event) -> dict[str, object] | None:
        """The change a person asked for with this event, if any."""
        for switch in SWITCHES:
            if event.type == pygame_gui.UI_BUTTON_PRESSED and event.ui_element is self.switches[switch.field]:
                return {switch.field: switch.after(self._values[switch.field])}
        for knob in KNOBS:
            if event.type == pygame_gui.UI_HORIZONTAL_SLIDER_MOVED and event.ui_element is self.sliders[knob.field]:
                value = knob.from_slider(event.value)
                self.entries[knob.field].set_text(knob.show(value))
                return {knob.field: value}
            if event.type == pygame_gui.UI_TEXT_ENTRY_FINISHED and event.ui_element is self.entries[knob.field]:
                return {knob.field: knob.parse(event.text)}
        return None

    def show(self, config: VPGConfig) -> None:
        """Set every entry and slider to ``config`` (after a refusal, or a change from elsewhere)."""
        for knob in KNOBS:
            value = getattr(config, knob.field)
            self.entries[knob.field].set_text(knob.show(value))
            self.sliders[knob.field].set_current_value(knob.to_slider(value))
        self._values = {switch.field: getattr(config, switch.field) for switch in SWITCHES}
        for switch in SWITCHES:  # after every value: the estimator's name depends on normalisation
            self.switches[switch.field].set_text(self._switch_text(switch))

    def kill(self) -> None:
        for element in (*self.sliders.values(), *self.entries.values(), *self.switches.values()):
            element.kill()
