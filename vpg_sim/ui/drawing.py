"""The window's drawing: a :class:`Frame` read once per frame, then each panel drawing itself
from it into its place, and the overlays only the people in the room see."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pygame

from vpg_sim.ui.controls import SPEEDS
from vpg_sim.ui.frame import Drag, Frame
from vpg_sim.ui.knobs import KNOBS
from vpg_sim.ui.overlays import draw_help, draw_recording_dot
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
from vpg_sim.ui.panels.noise import NoisePanel
from vpg_sim.ui.panels.painter import LayerCache, TextBox, draw_frames
from vpg_sim.ui.panels.policy_map import MapPanel
from vpg_sim.ui.panels.returns import ReturnsPanel
from vpg_sim.ui.panels.stage import stage_regions
from vpg_sim.ui.panels.status import status_figures
from vpg_sim.ui.panels.update import UpdatePanel
from vpg_sim.ui.run_watch import RunWatch

if TYPE_CHECKING:
    from vpg_sim.ui.app import App

SLOTS = ("status", "stage", "timeline", "policy", "value", "advantage", "returns")
"""The layout's places for panels, in drawing order."""
MAP_SLOTS = ("value", "advantage")
"""The places the map view takes while open (two heat maps need the width and height)."""
PRESENTER_MIN_TEXT = 16
"""Presenter mode's smallest label, in px at 1280x720: 24 px at 1920x1080."""


class Drawing:
    """One object per panel, and what the window shows in each place of its layout."""

    def __init__(self, app: App) -> None:
        self.app = app
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
        }
        self.map_open = False
        """M: the map view in the value and advantage panels' places."""
        self.shown: dict[str, str] = {}
        """Layout slots showing another panel than their own: U puts the Update panel in
        the advantage panel's place, O the Gradient noise panel in the value panel's."""
        self._frames_layer = LayerCache()
        self.text_log: list[TextBox] | None = None
        """When a list, every label drawn in the last frame (layout tests read it)."""

    def state(self) -> tuple[str, tuple[int, int, int]]:
        app = self.app
        palette = app.palette
        if app.playback:
            return "playback", palette.action(0)
        if app.session.paused:
            return "paused", palette.realised
        if app.session.solved:
            return "solved", palette.value
        return "training", palette.positive

    def status_items(self) -> list[tuple[str, str]]:
        """The status bar's figures (see :func:`status_figures`)."""
        app = self.app
        return status_figures(
            app.session.latest_stats(),
            app.session.latest_snapshot().update,
            app.watch.steps_per_second(time.monotonic()),
            app.pace,
            SPEEDS[app.speed_index],
            time.monotonic() - app.started,
        )

    def frame(self) -> Frame:
        """What this frame draws, read once from the session and the stage."""
        app = self.app
        state, state_colour = self.state()
        drag = None
        if app.drag_start is not None and app.drag_now is not None:
            impulse = app.input.drag_impulse(app.drag_start, app.drag_now)
            if impulse:
                drag = Drag(app.drag_start, app.drag_now, impulse)
        config = app.stage.snapshot.config
        return Frame(
            env_id=config.env_id,
            seed=config.seed,
            stage=app.stage,
            snapshot=app.session.latest_snapshot(),
            stats=app.session.latest_stats(),
            state=state,
            state_colour=state_colour,
            badge="collapsed: entropy 0" if RunWatch.collapsed_policy(app.session.latest_stats()) else None,
            status_items=tuple(self.status_items()),
            timeline_updates=tuple(app.session.timeline_updates()),
            config_changes=tuple(app.session.config_changes()),
            scrub_update=app.scrub_update,
            episodes=app.episodes,
            drag=drag,
            presenting=app.presenting,
            noise=app.session.gradient_noise() if self.noise_open else None,
        )

    @property
    def noise_open(self) -> bool:
        return "noise" in self.shown.values()

    def painter(self) -> PanelPainter:
        app = self.app
        return self._painter_on(app.screen)

    def _painter_on(self, surface: pygame.Surface) -> PanelPainter:
        app = self.app
        return PanelPainter(
            surface,
            app.layout,
            app.palette,
            app.fonts,
            min_text_size=PRESENTER_MIN_TEXT if app.presenting else 0.0,
            log=self.text_log,
        )

    def draw(self) -> None:
        """What a recording shows: every panel and the widgets."""
        app = self.app
        layout = app.layout
        if self.text_log is not None:
            self.text_log.clear()
        painter = self.painter()
        frames = self._frames_layer.get(
            (), (layout, app.palette.name), app.screen.get_size(), lambda layer: draw_frames(self._painter_on(layer))
        )
        app.screen.blit(frames, (0, 0))
        painter.frames_drawn = True
        frame = self.frame()
        for slot in SLOTS:
            if self.map_open and slot in MAP_SLOTS:
                continue
            painter.begin(slot, getattr(layout, slot))
            panel = self.shown.get(slot, slot)
            self.panels[panel].draw(painter, getattr(layout, slot), frame)
            if app.formulas_visible:
                draw_formula_box(painter, getattr(layout, slot), formula_lines(slot, panel, frame))
        if self.map_open:
            place = layout.value.union(layout.advantage)
            painter.begin("map", place)
            painter.panel_frame(place)  # over the two panels' own frames
            self.panels["map"].draw(painter, place, frame)
        if app.knobs is not None and layout.knobs is not None:
            painter.begin("knobs", layout.knobs)
            painter.panel(layout.knobs, "Knobs", "take effect at the next update · marked on the return curve")
            for knob in KNOBS:
                x, y = app.knobs.label_positions[knob.field]
                painter.text(knob.label, (x, y), 14, anchor="midleft")
        app.ui.draw_ui(app.screen)

    def draw_overlays(self) -> None:
        """What only the people in the room see: toasts, the keys, the recording dot."""
        app = self.app
        painter = self.painter()
        painter.begin("toasts", app.layout.stage)
        area = app.layout.stage
        regions = stage_regions(painter.panel_area(area), painter.px, app.presenting)
        scene = regions.scene
        if app.presenting:  # the lower third holds the big figures: toasts hang from the top instead
            app.toasts.draw(painter, (scene.right - painter.px(6), scene.y + painter.px(44)), downwards=True)
        else:
            app.toasts.draw(painter, (scene.right - painter.px(6), scene.bottom - painter.px(6)))
        if app.help_visible:
            painter.begin("help", app.screen.get_rect())
            draw_help(painter)
        if app.recorder is not None:
            painter.begin("recording", app.layout.status)
            draw_recording_dot(painter)
