"""The timeline strip: rewind to a past policy."""

from __future__ import annotations

from collections.abc import Sequence

import pygame

from vpg_sim.ui.panels.frame import Frame
from vpg_sim.ui.panels.painter import LayerCache, PanelPainter


def _timeline_track(rect: pygame.Rect) -> pygame.Rect:
    """The scrubbable part of the timeline strip: between its label and the live badge."""
    label_w, live_w = round(rect.height * 2.4), round(rect.height * 2.0)
    return pygame.Rect(rect.x + label_w, rect.y, rect.width - label_w - live_w, rect.height)


def _timeline_x(track: pygame.Rect, first: int, latest: int, update: int) -> float:
    if latest <= first:
        return float(track.right)
    return track.x + (update - first) / (latest - first) * track.width


def timeline_update_at(rect: pygame.Rect, kept: Sequence[int], latest: int, x: float) -> int | None:
    """The update under ``x`` on the timeline strip in ``rect`` (None: no past to replay)."""
    if not kept or latest <= kept[0]:
        return None
    track = _timeline_track(rect)
    fraction = min(max((x - track.x) / track.width, 0.0), 1.0)
    return round(kept[0] + fraction * (latest - kept[0]))


class TimelineStrip:
    """The scrubber under the stage: every kept policy, the knob changes, where the stage plays."""

    def __init__(self) -> None:
        self.layer = LayerCache()

    def draw(self, painter: PanelPainter, rect: pygame.Rect, frame: Frame) -> None:
        changes = [change.update for change in frame.config_changes]
        draw_timeline(
            painter, rect, frame.timeline_updates, frame.snapshot.update, frame.scrub_update, changes, self.layer
        )


def draw_timeline(
    painter: PanelPainter,
    rect: pygame.Rect,
    kept: Sequence[int],
    latest: int,
    scrubbed: int | None,
    changes: Sequence[int],
    layer: LayerCache,
) -> None:
    """The run from its first kept update to the newest: a tick per kept policy, a
    diamond per knob change, the handle where the stage plays, and a LIVE badge."""
    palette = painter.palette
    if not painter.frames_drawn:
        painter.panel_frame(rect)
    painter.text("Timeline", (rect.x + painter.px(10), rect.centery), 16, bold=True, anchor="midleft")
    track = _timeline_track(rect)
    mid = track.centery
    first = kept[0] if kept else latest

    def draw_marks(surface: pygame.Surface) -> None:  # up to 200 ticks: drawn once per update, then blitted
        local_mid = mid - rect.y
        local = track.move(-rect.x, -rect.y)
        pygame.draw.line(surface, palette.grid, (local.x, local_mid), (local.right, local_mid), painter.px(4))
        for update in kept:
            x = _timeline_x(local, first, latest, update)
            pygame.draw.line(surface, palette.muted, (x, local_mid - painter.px(5)), (x, local_mid + painter.px(5)))
        for update in changes:
            x = _timeline_x(local, first, latest, update)
            size, centre_y = painter.px(6), local_mid - painter.px(10)
            diamond = [(x, centre_y - size), (x + size, centre_y), (x, centre_y + size), (x - size, centre_y)]
            pygame.draw.polygon(surface, palette.realised, diamond)

    marks = layer.get((), (tuple(kept), latest, tuple(changes), palette.name), rect.size, draw_marks)
    painter.surface.blit(marks, rect)
    live = scrubbed is None
    handle_x = _timeline_x(track, first, latest, latest if live else scrubbed)
    colour = palette.value if live else palette.realised
    pygame.draw.line(painter.surface, colour, (track.x, mid), (handle_x, mid), painter.px(4))
    pygame.draw.circle(painter.surface, colour, (handle_x, mid), painter.px(8))
    label = f"update {latest}" if live else f"update {scrubbed} of {latest}"
    painter.text(label, (track.x, rect.bottom - painter.px(2)), 12, palette.muted, anchor="bottomleft")
    text = painter.fonts.render(
        "LIVE" if live else "End: live", painter.px(14), palette.background if live else palette.text, bold=True
    )
    badge = text.get_rect().inflate(painter.px(16), painter.px(8))
    badge.midright = (rect.right - painter.px(10), rect.centery)
    if live:
        pygame.draw.rect(painter.surface, palette.value, badge, border_radius=badge.height // 2)
    else:
        pygame.draw.rect(painter.surface, palette.muted, badge, width=1, border_radius=badge.height // 2)
    painter.surface.blit(text, text.get_rect(center=badge.center))
