"""The window's panels: each is a small object that draws itself from a :class:`Frame`
into the rectangle it is given, and changes nothing else."""

from vpg_sim.ui.panels.advantage import AdvantagePanel
from vpg_sim.ui.panels.painter import TITLE_SIZE, LayerCache, PanelPainter, action_names
from vpg_sim.ui.panels.policy import PolicyPanel
from vpg_sim.ui.panels.stage import StagePanel
from vpg_sim.ui.panels.status import StatusBar
from vpg_sim.ui.panels.timeline import TimelineStrip, timeline_update_at
from vpg_sim.ui.panels.value import ValuePanel

__all__ = [
    "TITLE_SIZE",
    "AdvantagePanel",
    "LayerCache",
    "PanelPainter",
    "PolicyPanel",
    "StagePanel",
    "StatusBar",
    "TimelineStrip",
    "ValuePanel",
    "action_names",
    "timeline_update_at",
]
