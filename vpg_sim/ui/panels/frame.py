"""What the panels draw in one frame, read once from the session and the stage."""

from __future__ import annotations

from dataclasses import dataclass

from vpg_sim.core.checkpoint import Checkpoint
from vpg_sim.core.config import ConfigChange
from vpg_sim.core.trainer import UpdateStats
from vpg_sim.training.noise_monitor import NoiseReading
from vpg_sim.training.stage import StagePlayer
from vpg_sim.ui.theme import Colour


@dataclass(frozen=True)
class Drag:
    """A push being dragged on the stage: from ``start`` to ``now`` (pixels), ``impulse`` N·s."""

    start: tuple[int, int]
    now: tuple[int, int]
    impulse: float


@dataclass(frozen=True)
class Frame:
    """Everything drawn in one frame. Panels read it and change nothing.

    ``stage`` is the stage simulator itself (the window advances it in its update step);
    panels only read its state.
    """

    env_id: str
    seed: int
    stage: StagePlayer
    snapshot: Checkpoint
    """The newest policy the session published."""
    stats: UpdateStats | None
    """Of the newest update, None before the first of this session."""
    state: str
    """What the status pill says: training, paused, solved or playback."""
    state_colour: Colour
    badge: str | None
    """A warning beside the state ("collapsed: entropy 0"), or None."""
    status_items: tuple[tuple[str, str], ...]
    timeline_updates: tuple[int, ...]
    config_changes: tuple[ConfigChange, ...]
    scrub_update: int | None
    """The past update the stage plays, or None for live."""
    episodes: int
    """Training episodes finished in this session."""
    drag: Drag | None
    presenting: bool = False
    """Presenter mode: large type for the back of a hall."""
    noise: NoiseReading | None = None
    """The newest gradient-noise measurement, while the Gradient noise panel is open."""
    student_label: str = ""
    """The student's functions the run trains with (``advantages=mycode:rtg``), or empty."""
    student_error: str | None = None
    """Why the student's run paused itself (their function failed), while it stays paused."""
