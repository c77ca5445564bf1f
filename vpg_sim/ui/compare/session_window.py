"""What the comparison and the sweep windows share: a window on a
:class:`~vpg_sim.training.population_session.ComparisonSession` trained in its thread.

Its keys (``controls``), painter, overlays (toasts, help, the recording dot), relayout
and closing; each window adds its own panels, frame and selection.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pygame
import pygame_gui

from vpg_sim.training.population_session import ComparisonSession
from vpg_sim.training.stage import StagePlayer
from vpg_sim.ui.compare.commands import CompareView
from vpg_sim.ui.layout import CompareLayout, compute_compare_layout
from vpg_sim.ui.options import WindowOptions, open_display
from vpg_sim.ui.panels.overlays import Control, draw_help, draw_recording_dot
from vpg_sim.ui.panels.painter import LayerCache, PanelPainter, draw_frames
from vpg_sim.ui.theme import THEMES, Fonts
from vpg_sim.ui.widgets.theme import ui_theme
from vpg_sim.ui.window.basics import FRAMES_PER_SECOND, WindowBasics


class SessionWindow(WindowBasics):
    """A window on a comparison session. A subclass sets ``controls``, ``help_footer`` and
    ``toast_stage`` (which of the layout's stages the toasts sit in), opens with
    :meth:`_open`, ends its ``__init__`` with :meth:`_start`, and says which stages it
    plays (:meth:`stage_players`)."""

    frames_per_second = FRAMES_PER_SECOND
    controls: tuple[Control, ...] = ()
    help_footer = ""
    toast_stage = 0

    def _open(self, options: WindowOptions, session: ComparisonSession, clock: Callable[[], float], title: str) -> None:
        """The window, its view and its session (not started yet)."""
        self._start_basics(options, clock)
        self.view = CompareView(theme=options.theme, presenting=options.present, pace=options.pace)
        self.session = session
        self.palette = THEMES[options.theme]
        self.screen = open_display(options.size, title)
        self.fonts = Fonts()
        self.layout: CompareLayout = compute_compare_layout(*self.screen.get_size())
        self._frames_layer = LayerCache()
        self._command_by_key = {key: control.command for control in self.controls for key in control.keys}

    def _start(self) -> None:
        """The widgets, the pace, training and any recording asked for: the window is ready."""
        self.ui = pygame_gui.UIManager(self.screen.get_size(), ui_theme(self.palette, self.layout))
        self.apply_pace()
        self.session.start()
        self.start_recording_to()

    def stage_players(self) -> Sequence[StagePlayer]:
        raise NotImplementedError

    # -- the frame ---------------------------------------------------------------------

    def handle(self, event: pygame.event.Event) -> None:
        consumed = self.route_common_event(event)
        if consumed is None:
            return
        if event.type == pygame.KEYDOWN and not consumed and event.key in self._command_by_key:
            self.command(self._command_by_key[event.key])

    # -- drawing ----------------------------------------------------------------------

    def painter(self, surface: pygame.Surface | None = None) -> PanelPainter:
        """A painter on ``surface`` (the window's by default)."""
        target = self.screen if surface is None else surface
        return PanelPainter(target, self.layout, self.palette, self.fonts, min_text_size=self.view.min_text_size)  # type: ignore[arg-type]

    def draw_frames(self) -> PanelPainter:
        """The panels' frames (a layer redrawn only on a new layout or theme); the painter
        for what goes in them."""
        frames = self._frames_layer.get(
            (), (self.layout, self.palette.name), self.screen.get_size(), lambda layer: draw_frames(self.painter(layer))
        )
        self.screen.blit(frames, (0, 0))
        painter = self.painter()
        painter.frames_drawn = True
        return painter

    def draw_keys_and_widgets(self, painter: PanelPainter, keys_bar: str) -> None:
        """The keys bar (unless a lesson's caption takes its place), then the widgets."""
        if not self.view.caption_band:
            layout = self.layout
            painter.begin("buttons", layout.buttons)
            position = (layout.buttons.x + painter.px(12), layout.buttons.centery)
            painter.text(keys_bar, position, 14, self.palette.muted, anchor="midleft")
        self.ui.draw_ui(self.screen)

    def draw_overlays(self) -> None:
        """What only the people in the room see: toasts, the keys, the recording dot."""
        painter = self.painter()
        stage = self.layout.stages[self.toast_stage]
        painter.begin("toasts", stage)
        self.toasts.draw(painter, (stage.right - painter.px(16), stage.bottom - painter.px(16)))
        if self.view.help_visible:
            painter.begin("help", self.screen.get_rect())
            draw_help(painter, self.controls, self.help_footer)
        if self.recording.active:
            painter.begin("recording", self.layout.status)
            draw_recording_dot(painter)

    # -- the display -------------------------------------------------------------------

    def relayout(self) -> None:
        self.layout = compute_compare_layout(*self.screen.get_size(), self.view.caption_band)
        if self.confirm is not None:
            self.confirm.close()
            self.confirm = None
        self.ui = pygame_gui.UIManager(self.screen.get_size(), ui_theme(self.palette, self.layout))

    def close(self, keep_display: bool = False) -> None:
        """Save the --screenshot, finish a recording, stop the thread, close the window;
        safe to call twice."""
        self.close_basics()
        # The round under way finishes first (seconds, for many seeds): a thread still in
        # torch when the interpreter exits can abort it ("terminate called ...").
        self.session.close(timeout=60.0)
        for stage in self.stage_players():
            stage.close()
        if not keep_display:  # a lesson's next window takes it over
            pygame.display.quit()

