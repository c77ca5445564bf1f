"""The comparison window: two groups' stages and their returns panel, live.

The same frame as the main window's :class:`~vpg_sim.ui.window.app.App` (input -> update
-> draw -> record -> overlays -> flip, in :class:`WindowBasics`), its painter, theme,
fonts, toasts, help overlay, status bar, recorder and confirm dialog. Training runs in a
:class:`~vpg_sim.training.population_session.ComparisonSession` thread; the window reads
its snapshots (the bands are computed once per new snapshot, not per frame) and calls its
public commands. What each key does is :class:`~vpg_sim.ui.compare.commands.CompareCommands`:
the main window's commands where they mean the same here.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from vpg_sim.core.comparison import estimator_weights
from vpg_sim.training.population_session import ComparisonSession, ComparisonSnapshot
from vpg_sim.training.seed_wall import SeedWall, agent_states
from vpg_sim.training.stage import StagePlayer
from vpg_sim.ui.compare.commands import (
    COMPARE_CONTROLS,
    HELP_FOOTER,
    KEYS_BAR,
    CompareCommands,
)
from vpg_sim.ui.compare.panels import CompareFrame, ComparisonReturnsPanel, GroupStagePanel, GroupView
from vpg_sim.ui.compare.seed_wall import WallPanel
from vpg_sim.ui.compare.session_window import SessionWindow
from vpg_sim.ui.options import WindowOptions
from vpg_sim.ui.panels.painter import PanelPainter
from vpg_sim.ui.panels.status import draw_status
from vpg_sim.ui.theme import GROUP_COLOURS

WINDOW_TITLE = "vpg-sim · compare two configs over seeds"


class CompareApp(SessionWindow):
    """The comparison window. Call :meth:`step` once per frame, or :meth:`run` until quit.

    :param clock: seconds, monotonic: what ``run_for`` and the elapsed time count (tests
        inject a fake one and pass each frame's seconds to :meth:`step`).
    """

    controls = COMPARE_CONTROLS
    help_footer = HELP_FOOTER
    toast_stage = 1

    def __init__(
        self, options: WindowOptions, session: ComparisonSession, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._open(options, session, clock, WINDOW_TITLE)
        self.colours = GROUP_COLOURS[options.theme]
        snapshot = session.latest()
        self.stages = [StagePlayer(group.stage, seed=snapshot.seeds[0]) for group in snapshot.groups]
        self.stage_panels = [GroupStagePanel(index) for index in range(len(self.stages))]
        self.returns_panel = ComparisonReturnsPanel()
        self.walls = [SeedWall(snapshot.seeds) for _ in snapshot.groups]
        """Every agent of each group on its own small stage (shown with W)."""
        self.wall_panels = [WallPanel() for _ in snapshot.groups]
        self._walls_of: int | None = None
        self._views_of: tuple[int, bool] | None = None
        self._views: tuple[GroupView, ...] = ()
        self.commands = CompareCommands(self)
        self._applied_pace = self.view.pace
        self._applied_caption = False
        self._start()

    def stage_players(self) -> list[StagePlayer]:
        return self.stages

    # -- the frame ---------------------------------------------------------------------

    def update(self, seconds: float) -> None:
        if self.view.pace != self._applied_pace:
            self._applied_pace = self.view.pace
            self.apply_pace()
        if self.view.caption_band != self._applied_caption:
            self._applied_caption = self.view.caption_band
            self.relayout()
        self.update_basics()
        snapshot = self.session.latest()
        if self.view.seed_wall:
            self._advance_walls(snapshot, seconds)
        for stage, group in zip(self.stages, snapshot.groups, strict=True):
            stage.speed, stage.greedy = self.view.speed, self.view.greedy
            stage.offer(group.stage)
            if stage.advance(seconds) and stage is self.stages[0] and self.view.pace == "lockstep":
                self.session.grant_update()
            stage.skipped_from = None

    def _advance_walls(self, snapshot: ComparisonSnapshot, seconds: float) -> None:
        """The walls take each round's policies (once per snapshot) and play on."""
        if id(snapshot) != self._walls_of:
            self._walls_of = id(snapshot)
            for wall, group in zip(self.walls, snapshot.groups, strict=True):
                if group.policies is not None:
                    wall.offer(group.policies)
        for wall in self.walls:
            wall.advance(seconds * self.view.speed)

    # -- what the panels draw ----------------------------------------------------------------

    def group_views(self, snapshot: ComparisonSnapshot) -> tuple[GroupView, ...]:
        """Each group's band, median (the session's, computed off the frame) and figures, once per new snapshot."""
        key = (snapshot.rounds, snapshot.finished)
        if key == self._views_of:
            return self._views
        labels = [group.group.label for group in snapshot.groups]
        views = []
        for index, group in enumerate(snapshot.groups):
            views.append(
                GroupView(
                    name=group.group.name,
                    label=group.group.label,
                    other_label=labels[1 - index] if len(labels) == 2 else "",
                    colour=self.colours[index % len(self.colours)],
                    band=group.band,
                    weights=estimator_weights(group.group.config),
                    steps_to_solve=group.steps_to_solve,
                    median=group.median,
                    stage_seed=snapshot.seeds[0],
                    running=group.running,
                    stage=self.stages[index],
                )
            )
        self._views_of, self._views = key, tuple(views)
        return self._views

    def state(self, snapshot: ComparisonSnapshot) -> tuple[str, tuple[int, int, int]]:
        if snapshot.finished:
            return "finished", self.palette.value
        if self.session.paused:
            return "paused", self.palette.realised
        return "training", self.palette.positive

    def frame(self) -> CompareFrame:
        snapshot = self.session.latest()
        state, colour = self.state(snapshot)
        most = max((max(group.env_steps, default=0) for group in snapshot.groups), default=0)
        elapsed = self.now() - self.started
        trained = snapshot.train_seconds
        items = [
            ("round", str(snapshot.rounds)),
            ("seeds", f"{len(snapshot.seeds)} per group"),
            *((f"{view.name} solved", f"{view.solved}/{view.seeds}") for view in self.group_views(snapshot)),
            ("env", snapshot.groups[0].group.config.env_id),
            ("trained", f"{int(trained) // 60}:{int(trained) % 60:02d}"),
            ("pace", self.view.pace),
            ("speed", f"{self.view.speed:g}x"),
            ("elapsed", f"{int(elapsed) // 60}:{int(elapsed) % 60:02d}"),
        ]
        return CompareFrame(
            env_id=snapshot.groups[0].group.config.env_id,
            rounds=snapshot.rounds,
            groups=self.group_views(snapshot),
            reward_threshold=snapshot.reward_threshold,
            env_steps_axis=float(max(most, 1000)),
            state=state,
            state_colour=colour,
            status_items=tuple(items),
            presenting=self.view.presenting,
            statistic=self.session.statistic,
        )

    # -- drawing ----------------------------------------------------------------------

    def draw(self) -> None:
        """What a recording shows: every panel."""
        layout = self.layout
        painter = self.draw_frames()
        frame = self.frame()
        painter.begin("status", layout.status)
        draw_status(painter, layout.status, frame.status_items, frame.state, frame.state_colour)
        if self.view.seed_wall:
            self._draw_walls(painter)
        else:
            for panel, rect in zip(self.stage_panels, layout.stages, strict=True):
                painter.begin(f"stage_{panel.index}", rect)
                panel.draw(painter, rect, frame)
        painter.begin("returns", layout.returns)
        self.returns_panel.draw(painter, layout.returns, frame)
        self.draw_keys_and_widgets(painter, KEYS_BAR)

    def _draw_walls(self, painter: PanelPainter) -> None:
        snapshot = self.session.latest()
        for index, (wall, group, rect) in enumerate(zip(self.walls, snapshot.groups, self.layout.stages, strict=True)):
            painter.begin(f"wall_{index}", rect)
            states = agent_states(group.steps_to_solve, group.means, snapshot.reward_threshold)
            colour = self.colours[index % len(self.colours)]
            title = f"{group.group.name}: {group.group.label}"
            self.wall_panels[index].draw(painter, rect, title, colour, wall.states(), states, snapshot.seeds)
