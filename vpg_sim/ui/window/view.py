"""What the window shows, and the drawing of it.

:class:`View` is the one record of what the main window shows: which panel is open in
which place, presenter mode, the help, the knobs, the formulas, the map's pair, the
stage's speed, the timeline's position, playback. The window loop owns it; commands
change it (``commands.py``); :class:`Drawing` reads it, with one :class:`Frame` of what
the session and the stage hold, and has each panel draw itself into its place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pygame

from vpg_sim.core.advantages import TRUNCATION_NOTE
from vpg_sim.training.pacing import DEFAULT_PACE
from vpg_sim.ui.layout import Layout
from vpg_sim.ui.panels import (
    AdvantagePanel,
    PanelPainter,
    PolicyPanel,
    StagePanel,
    StatusBar,
    TimelineStrip,
    ValuePanel,
)
from vpg_sim.ui.panels.formulas import draw_formula_box, formula_lines
from vpg_sim.ui.panels.frame import Frame
from vpg_sim.ui.panels.noise import NoisePanel
from vpg_sim.ui.panels.overlays import Toasts, draw_help, draw_recording_dot
from vpg_sim.ui.panels.painter import LayerCache, TextBox, draw_frames
from vpg_sim.ui.panels.policy_map import MapPanel
from vpg_sim.ui.panels.returns import ReturnsPanel
from vpg_sim.ui.panels.stage import stage_regions
from vpg_sim.ui.panels.student import StudentPanel
from vpg_sim.ui.panels.update import UpdatePanel
from vpg_sim.ui.theme import Fonts, Palette
from vpg_sim.ui.widgets.knobs import KNOBS, KnobsPanel

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
"""Stage speeds: multiples of the env's real-time rate."""
SLOTS = ("status", "stage", "timeline", "policy", "value", "advantage", "returns")
"""The layout's places for panels, in drawing order."""
MAP_SLOTS = ("value", "advantage")
"""The places the map view takes while open (two heat maps need the width and height)."""
SWAPPABLE = {"update": "advantage", "noise": "value", "student": "advantage"}
"""Panels that show in another panel's place, and that place: U puts the Update panel
where the advantages are, O the Gradient noise panel where the values are, Y the Yours
vs reference panel (a student's run) where the advantages are."""
KNOBS_NOTE_HEIGHT = 18
"""The knobs panel's last line (px at 1280x720): what the estimators estimate at a time limit."""
KNOBS_NOTES = (
    f"Estimators: {TRUNCATION_NOTE}",
    "at a time limit: total-return and reward-to-go, the return within it; baseline and gae, past it",
    "at a time limit the critic-free pair and the critic pair estimate different returns",
)
PRESENTER_MIN_TEXT = 16
"""Presenter mode's smallest label, in px at 1280x720: 24 px at 1920x1080."""


@dataclass
class WindowView:
    """What every vpg-sim window shows alike (the comparison window's whole record)."""

    theme: str = "dark"
    presenting: bool = False
    """Presenter mode: every label at least 24 px at 1080p, the run's figures large on the stage."""
    help_visible: bool = False
    fullscreen: bool = False
    pace: str = DEFAULT_PACE
    speed: float = 1.0
    """The stage's speed, one of :data:`SPEEDS`."""
    greedy: bool = False
    """The stage acts greedily (the most probable action) instead of sampling from pi."""
    caption_band: bool = False
    """A lesson runs: its caption band takes the button bar's place (the keys still work)."""

    @property
    def min_text_size(self) -> float:
        return PRESENTER_MIN_TEXT if self.presenting else 0.0

    def step_speed(self, steps: int) -> float:
        """Move ``steps`` along :data:`SPEEDS` (clamped at both ends); the new speed."""
        index = SPEEDS.index(self.speed) if self.speed in SPEEDS else SPEEDS.index(1.0)
        self.speed = SPEEDS[min(max(index + steps, 0), len(SPEEDS) - 1)]
        return self.speed


@dataclass
class View(WindowView):
    """What the main window shows. The loop applies a change at the next frame."""

    shown: dict[str, str] = field(default_factory=dict)
    """Layout slots showing another panel than their own (see :data:`SWAPPABLE`)."""
    map_open: bool = False
    """M: the map view in the value and advantage panels' places."""
    map_pair: int = 0
    """Which of the env's default dimension pairs the map shows."""
    knobs_open: bool = False
    formulas_visible: bool = False
    """X: each panel's formula with the numbers of the moment, over its lower edge."""
    advantage_fixed_scale: bool = True
    """The advantage bars' scale: the largest |A| this run (True) or fitted to each episode."""
    scrub_update: int | None = None
    """The past update the stage plays (timeline), or None for the live policy."""
    playback: bool = False
    """The stage plays the policy without training."""
    paused_before_playback: bool = False
    saved_update: int = 0
    """The newest update saved to (or loaded from) a file in this run: a run trained
    beyond it is unsaved, and quitting or replacing it asks first."""

    def is_open(self, panel: str) -> bool:
        """Is ``panel`` (``"map"`` or one of :data:`SWAPPABLE`) showing?"""
        if panel == "map":
            return self.map_open
        return self.shown.get(SWAPPABLE[panel]) == panel

    def set_open(self, panel: str, open_: bool) -> None:
        """Show ``panel`` (``"map"`` or one of :data:`SWAPPABLE`) in its place, or close it."""
        if panel == "map":
            self.map_open = open_
            return
        slot = SWAPPABLE[panel]
        if open_:
            self.shown[slot] = panel
        elif self.shown.get(slot) == panel:
            del self.shown[slot]

    @property
    def noise_open(self) -> bool:
        return self.is_open("noise")


@dataclass(frozen=True)
class Canvas:
    """Where and how a frame is drawn: the surface, its layout, the palette and fonts."""

    surface: pygame.Surface
    layout: Layout
    palette: Palette
    fonts: Fonts


class Drawing:
    """One object per panel, and what the window shows in each place of its layout."""

    def __init__(self) -> None:
        self.panels = {
            "status": StatusBar(),
            "stage": StagePanel(),
            "timeline": TimelineStrip(),
            "policy": PolicyPanel(),
            "value": ValuePanel(),
            "advantage": AdvantagePanel(),
            "returns": ReturnsPanel(),
            "update": UpdatePanel(),
            "map": MapPanel(),
            "noise": NoisePanel(),
            "student": StudentPanel(),
        }
        self._frames_layer = LayerCache()
        self.text_log: list[TextBox] | None = None
        """When a list, every label drawn in the last frame (layout tests read it)."""

    def painter(self, canvas: Canvas, view: WindowView, surface: pygame.Surface | None = None) -> PanelPainter:
        return PanelPainter(
            canvas.surface if surface is None else surface,
            canvas.layout,
            canvas.palette,
            canvas.fonts,
            min_text_size=view.min_text_size,
            log=self.text_log,
        )

    def draw(self, canvas: Canvas, frame: Frame, view: View, knobs: KnobsPanel | None) -> None:
        """What a recording shows: every panel in its place (the widgets are drawn after)."""
        layout = canvas.layout
        if self.text_log is not None:
            self.text_log.clear()
        frames = self._frames_layer.get(
            (),
            (layout, canvas.palette.name),
            canvas.surface.get_size(),
            lambda layer: draw_frames(self.painter(canvas, view, layer)),
        )
        canvas.surface.blit(frames, (0, 0))
        painter = self.painter(canvas, view)
        painter.frames_drawn = True
        self.panels["map"].pair = view.map_pair  # the panels' options, as the view has them
        self.panels["advantage"].fixed_scale = view.advantage_fixed_scale
        for slot in SLOTS:
            if view.map_open and slot in MAP_SLOTS:
                continue
            painter.begin(slot, getattr(layout, slot))
            panel = view.shown.get(slot, slot)
            self.panels[panel].draw(painter, getattr(layout, slot), frame)
            if view.formulas_visible:
                draw_formula_box(painter, getattr(layout, slot), formula_lines(slot, panel, frame))
        if view.map_open:
            place = layout.value.union(layout.advantage)
            painter.begin("map", place)
            painter.panel_frame(place)  # over the two panels' own frames
            self.panels["map"].draw(painter, place, frame)
        if knobs is not None and layout.knobs is not None:
            painter.begin("knobs", layout.knobs)
            painter.panel(layout.knobs, "Knobs", "take effect at the next update · marked on the return curve")
            for knob in KNOBS:
                x, y = knobs.label_positions[knob.field]
                painter.text(knob.label, (x, y), 14, anchor="midleft")
            inner = layout.knobs.inflate(-painter.px(20), -painter.px(20))
            note = painter.fitting(KNOBS_NOTES, 12, inner.width)
            painter.text(note, inner.bottomleft, 12, canvas.palette.muted, anchor="bottomleft")

    def draw_overlays(self, canvas: Canvas, view: View, toasts: Toasts, recording: bool, controls: tuple) -> None:
        """What only the people in the room see: toasts, the keys, the recording dot."""
        painter = self.painter(canvas, view)
        area = canvas.layout.stage
        painter.begin("toasts", area)
        scene = stage_regions(painter.panel_area(area), painter.px, view.presenting).scene
        if view.presenting:  # the lower third holds the big figures: toasts hang from the top instead
            toasts.draw(painter, (scene.right - painter.px(6), scene.y + painter.px(44)), downwards=True)
        else:
            toasts.draw(painter, (scene.right - painter.px(6), scene.bottom - painter.px(6)))
        if view.help_visible:
            painter.begin("help", canvas.surface.get_rect())
            draw_help(painter, controls)
        if recording:
            painter.begin("recording", canvas.layout.status)
            draw_recording_dot(painter)
