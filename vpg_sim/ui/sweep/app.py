"""The sweep window: every cell of a grid trained over seeds, live.

A 1-D grid: one curve with its 95% pointwise band per value (colours from one ordered
colormap, the legend in the grid's order) and each value's steps-to-solve dots, beside a
table of the values. A 2-D grid: a heat map of each cell's median steps to solve (or its
return at the end, where half its seeds or fewer solved: no median), each cell labelled with its
number and solved count, and the curves of the selected cell's row. Above, the selected
cell's agent 0 plays on a stage; W shows all its seeds instead (the seed wall). The arrow
keys select a cell. Training runs in a :class:`ComparisonSession` thread (each cell a
group), as the comparison window's does; the frame, its keys and its overlays are the
comparison window's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pygame

from vpg_sim.core.comparison import cell_value, estimator_weights, setting_text
from vpg_sim.training.population_session import ComparisonSession, ComparisonSnapshot
from vpg_sim.training.seed_wall import SeedWall, agent_states
from vpg_sim.training.stage import StagePlayer
from vpg_sim.ui.compare.commands import COMPARE_CONTROLS, CompareCommands
from vpg_sim.ui.compare.panels import CompareFrame, ComparisonReturnsPanel, GroupStagePanel, GroupView
from vpg_sim.ui.compare.seed_wall import WallPanel
from vpg_sim.ui.compare.session_window import SessionWindow
from vpg_sim.ui.options import WindowOptions
from vpg_sim.ui.panels.overlays import Control
from vpg_sim.ui.panels.status import draw_status
from vpg_sim.ui.sweep.panels import CellsPanel, CellView, HeatMapPanel, ordered_colours

WINDOW_TITLE = "vpg-sim · sweep"
SWEEP_CONTROLS: tuple[Control, ...] = (
    *COMPARE_CONTROLS,
    Control("select_right", (pygame.K_RIGHT,), "→", "", "select the next cell (2-D: the next across)"),
    Control("select_left", (pygame.K_LEFT,), "←", "", "select the previous cell (2-D: across)"),
    Control("select_down", (pygame.K_DOWN,), "↓", "", "select the next cell (2-D: the row below)"),
    Control("select_up", (pygame.K_UP,), "↑", "", "select the previous cell (2-D: the row above)"),
)
KEYS_BAR = "Space pause · T pace · ← → ↑ ↓ select a cell · W its seeds · B presenter · V record · H help · Esc quit"
HELP_FOOTER = (
    "Each cell trains its seeds as compare trains a group. The stage plays the selected cell's agent 0 · "
    "H, F1 or Esc closes this"
)


class SweepCommands(CompareCommands):
    """The comparison window's commands, and moving the selection over the grid."""

    run_name = "sweep"

    def select_right(self) -> None:
        self._select(+1)

    def select_left(self) -> None:
        self._select(-1)

    def select_down(self) -> None:
        self._select(+self._row_length())

    def select_up(self) -> None:
        self._select(-self._row_length())

    def _row_length(self) -> int:
        """Cells from one row of the heat map to the next (1 on a 1-D grid: its rows are cells)."""
        grid = self.window.grid  # type: ignore[attr-defined]
        return len(list(grid.values())[-1]) if len(grid) == 2 else 1

    def _select(self, step: int) -> None:
        window = self.window
        window.select(window.selected + step)  # type: ignore[attr-defined]


class SweepApp(SessionWindow):
    """The sweep window. :param grid: each key's values in the grid's order (one or two
    keys); ``session``'s groups are its cells, the first key's values outermost."""

    controls = SWEEP_CONTROLS
    help_footer = HELP_FOOTER
    toast_stage = 0

    def __init__(
        self,
        options: WindowOptions,
        session: ComparisonSession,
        grid: Mapping[str, Sequence[object]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._open(options, session, clock, WINDOW_TITLE)
        self.grid = {key: tuple(values) for key, values in grid.items()}
        snapshot = session.latest()
        count = len(snapshot.groups) if len(self.grid) == 1 else len(self._columns())
        self.colours = ordered_colours(count, options.theme)
        self.selected = 0
        self.stage = StagePlayer(snapshot.groups[0].stage, seed=snapshot.seeds[0])
        self.stage_panel = GroupStagePanel(0)
        self.wall = SeedWall(snapshot.seeds)
        self.wall_panel = WallPanel()
        self.returns_panel = ComparisonReturnsPanel()
        self.cells_panel = CellsPanel()
        self.heat_map = HeatMapPanel()
        self._wall_of: int | None = None
        self.commands = SweepCommands(self)  # type: ignore[arg-type]
        self._applied = (self.view.pace, self.view.caption_band)
        self._start()

    def stage_players(self) -> list[StagePlayer]:
        return [self.stage]

    def _columns(self) -> tuple[object, ...]:
        return list(self.grid.values())[-1]

    # -- the selection ------------------------------------------------------------------

    def select(self, index: int) -> None:
        """Select cell ``index`` (wrapping round the grid): its stage and its seed wall."""
        count = len(self.session.latest().groups)
        index %= count
        if index == self.selected:
            return
        self.selected = index
        snapshot = self.session.latest()
        self.stage.close()
        self.stage = StagePlayer(snapshot.groups[index].stage, seed=snapshot.seeds[0])
        self.wall = SeedWall(snapshot.seeds)
        self._wall_of = None
        self.toast(f"Cell {index}: {snapshot.groups[index].group.label}")

    # -- the frame ----------------------------------------------------------------------

    def update(self, seconds: float) -> None:
        if (self.view.pace, self.view.caption_band) != self._applied:
            if self.view.pace != self._applied[0]:
                self.apply_pace()
            if self.view.caption_band != self._applied[1]:
                self.relayout()
            self._applied = (self.view.pace, self.view.caption_band)
        self.update_basics()
        snapshot = self.session.latest()
        group = snapshot.groups[self.selected]
        self.stage.speed, self.stage.greedy = self.view.speed, self.view.greedy
        self.stage.offer(group.stage)
        self.stage.advance(seconds)
        self.stage.skipped_from = None
        if self.view.seed_wall:
            if id(snapshot) != self._wall_of and group.policies is not None:
                self._wall_of = id(snapshot)
                self.wall.offer(group.policies)
            self.wall.advance(seconds * self.view.speed)

    # -- what the panels draw ---------------------------------------------------------------

    def cells(self, snapshot: ComparisonSnapshot) -> tuple[CellView, ...]:
        """Every cell's figures now, in grid order (the heat map's numbers)."""
        statistic = self.session.statistic
        views = []
        keys = list(self.grid)
        for index, group in enumerate(snapshot.groups):
            value, kind = cell_value(group.steps_to_solve, np.asarray(group.means, dtype=np.float64), statistic)
            settings = tuple(zip(keys, self._values_of(index), strict=True))
            colour = self.colours[index % len(self.colours)] if len(keys) == 1 else self._column_colour(index)
            views.append(
                CellView(
                    index,
                    settings,
                    colour,
                    value,
                    kind,
                    sum(steps is not None for steps in group.steps_to_solve),
                    len(group.steps_to_solve),
                    group.running,
                )
            )
        return tuple(views)

    def _values_of(self, index: int) -> tuple[object, ...]:
        values = list(self.grid.values())
        if len(values) == 1:
            return (values[0][index],)
        row, column = divmod(index, len(values[1]))
        return values[0][row], values[1][column]

    def _column_colour(self, index: int) -> tuple[int, int, int]:
        return self.colours[index % len(self._columns())]

    def _shown_groups(self, snapshot: ComparisonSnapshot) -> list[int]:
        """The cells whose curves the returns panel draws: all (1-D), or the selected row (2-D)."""
        if len(self.grid) == 1:
            return list(range(len(snapshot.groups)))
        width = len(self._columns())
        row = self.selected // width
        return list(range(row * width, (row + 1) * width))

    def frame(self, snapshot: ComparisonSnapshot, cells: tuple[CellView, ...]) -> CompareFrame:
        views = []
        for index in self._shown_groups(snapshot):
            group, cell = snapshot.groups[index], cells[index]
            views.append(
                GroupView(
                    name=setting_text(cell.settings[-1][1]),
                    label=cell.label,
                    other_label="the grid's other cells",
                    colour=cell.colour,
                    band=group.band,
                    weights=estimator_weights(group.group.config),
                    steps_to_solve=group.steps_to_solve,
                    median=group.median,
                    running=group.running,
                    stage=self.stage,
                    stage_seed=snapshot.seeds[0],
                )
            )
        most = max((max(group.env_steps, default=0) for group in snapshot.groups), default=0)
        elapsed = self.now() - self.started
        solved_cells = sum(cell.solved * 2 > cell.seeds for cell in cells)
        items = (
            ("round", str(snapshot.rounds)),
            ("cells", f"{len(cells)} · {solved_cells} half solved"),
            ("seeds", f"{len(snapshot.seeds)} per cell"),
            ("env", snapshot.groups[0].group.config.env_id),
            ("pace", self.view.pace),
            ("elapsed", f"{int(elapsed) // 60}:{int(elapsed) % 60:02d}"),
        )
        state = "finished" if snapshot.finished else ("paused" if self.session.paused else "training")
        colour = {"finished": self.palette.value, "paused": self.palette.realised}.get(state, self.palette.positive)
        return CompareFrame(
            env_id=snapshot.groups[0].group.config.env_id,
            rounds=snapshot.rounds,
            groups=tuple(views),
            reward_threshold=snapshot.reward_threshold,
            env_steps_axis=float(max(most, 1000)),
            state=state,
            state_colour=colour,
            status_items=items,
            presenting=self.view.presenting,
            statistic=self.session.statistic,
        )

    # -- drawing ----------------------------------------------------------------------

    def draw(self) -> None:
        layout = self.layout
        painter = self.draw_frames()
        snapshot = self.session.latest()
        cells = self.cells(snapshot)
        frame = self.frame(snapshot, cells)
        painter.begin("status", layout.status)
        draw_status(painter, layout.status, frame.status_items, frame.state, frame.state_colour)
        top, bottom = layout.stages
        painter.begin("stage", top)
        selected = cells[self.selected]
        if self.view.seed_wall:
            group = snapshot.groups[self.selected]
            states = agent_states(group.steps_to_solve, group.means, snapshot.reward_threshold)
            carts = self.wall.states()
            self.wall_panel.draw(painter, top, selected.label, selected.colour, carts, states, snapshot.seeds)
        else:
            shown = self._shown_groups(snapshot)
            self.stage_panel.index = shown.index(self.selected)
            self.stage_panel.draw(painter, top, frame)
        painter.begin("cells", bottom)
        if len(self.grid) == 1:
            self.cells_panel.draw(painter, bottom, cells, next(iter(self.grid)), self.selected)
        else:
            keys = tuple(self.grid)
            values = tuple(self.grid.values())
            self.heat_map.draw(painter, bottom, cells, keys, values, self.selected, snapshot.rounds)  # type: ignore[arg-type]
        painter.begin("returns", layout.returns)
        self.returns_panel.draw(painter, layout.returns, frame)
        self.draw_keys_and_widgets(painter, KEYS_BAR)
