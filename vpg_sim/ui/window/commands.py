"""What each key and button of the main window does, and the one way to act on it.

A key press, a button click and (a lesson's) script all call a :class:`Commands` method:
the toggles the keys give (``map``, ``pause``, ...) and the settings under them that take
a value (``show_panel``, ``set_pace``, ``scrub_to``, ``push``, ``change_knobs``, ...). A
command changes the window's :class:`~vpg_sim.ui.window.view.View` or talks to the
session, through :class:`TrainingWindow`: the few things a command may do.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np
import pygame

from vpg_sim.core.checkpoint import Checkpoint
from vpg_sim.core.config import ConfigChange, VPGConfig, config_for
from vpg_sim.core.envs import UnsupportedEnvError
from vpg_sim.core.nudge import DEFAULT_IMPULSE
from vpg_sim.core.state_space import env_map_info
from vpg_sim.files import unused_path
from vpg_sim.policy_files import SUFFIX, LoadedPolicy, load_policy, save_policy
from vpg_sim.training.process_session import Session
from vpg_sim.training.stage import StagePlayer
from vpg_sim.ui.widgets.confirm import CANCEL, Answer
from vpg_sim.ui.widgets.knobs import KNOB_LABELS
from vpg_sim.ui.window.basics import WindowActions, WindowCommands, show_path
from vpg_sim.ui.window.view import SWAPPABLE, View

PANELS = ("map", *SWAPPABLE)
"""Panels a command can open and close: the map, and those shown in another's place."""


class TrainingWindow(WindowActions, Protocol):
    """What a command may do in the main window, besides :class:`WindowActions`: talk to
    the session and the stage, open a dialog, and train a new session."""

    view: View

    @property
    def session(self) -> Session: ...

    @property
    def stage(self) -> StagePlayer: ...

    def open_dialog(self, kind: str) -> None: ...

    def new_session(self, config: VPGConfig, while_waiting: Callable[[], None] | None = None) -> Session: ...

    def session_from_file(self, loaded: LoadedPolicy, while_waiting: Callable[[], None] | None = None) -> Session: ...

    def session_from_checkpoint(
        self, checkpoint: Checkpoint, while_waiting: Callable[[], None] | None = None
    ) -> Session: ...

    def begin_session(
        self, make: Callable[[Callable[[], None]], Session], describe: str, then: Callable[[Session], None], failed: str
    ) -> None: ...

    def replace_session(self, session: Session, playback: bool) -> None: ...


class Commands(WindowCommands):
    """One method per command of ``input.CONTROLS`` (a key press or a button click), and
    the settings behind them."""

    window: TrainingWindow

    def __init__(self, window: TrainingWindow) -> None:
        super().__init__(window)

    @property
    def view(self) -> View:
        return self.window.view

    def unsaved(self) -> bool:
        """The run has trained past the last update saved or loaded in this window."""
        return self.window.session.latest_snapshot().update > self.view.saved_update

    # -- training --------------------------------------------------------------------

    def pause(self) -> None:
        """Space: pause training, or resume it."""
        self.set_paused(not self.window.session.paused)

    def set_paused(self, paused: bool) -> None:
        session = self.window.session
        if self.view.playback:
            self.toast("Playback is on: press P to go back to training")
        elif paused:
            session.pause()
        else:
            session.resume()

    def step(self) -> None:
        session = self.window.session
        if self.view.playback:
            self.toast("Playback is on: press P to go back to training")
        elif session.paused:
            session.step()
        else:
            self.toast("Step works while paused: press Space first")

    def playback(self) -> None:
        """P: play the policy without training, or go back to training."""
        view, session = self.view, self.window.session
        if not view.playback:
            view.paused_before_playback = session.paused
            session.pause()
            view.playback = True
            self.toast(f"Playback of update {self.window.stage.playing_update}: training is paused")
        else:
            view.playback = False
            if not view.paused_before_playback:
                session.resume()
            self.toast("Back to training")

    def knobs(self) -> None:
        """K: the knobs panel, or not."""
        self.view.knobs_open = not self.view.knobs_open

    def change_knobs(self, **changes: object) -> VPGConfig | None:
        """Apply live knob ``changes`` from the next update; the new config, or None (and a
        toast saying why) if the config's rules refuse them."""
        try:
            config = self.window.session.request_changes(**changes)
        except ValueError as error:
            self.toast(f"Not applied: {error}", error=True)
            return None
        self.toast(f"{ConfigChange(0, 0, changes).describe(KNOB_LABELS)} from the next update")
        return config

    def restart(self) -> None:
        """R: ask first (always: restarting throws away what the agent learnt); after the
        training process ended, offer to go on from the last snapshot instead."""
        if self.window.session.ended:
            self.offer_to_resume()
            return
        if self.unsaved():
            answers = (
                Answer("save", "Save, then restart  S", (pygame.K_s,)),
                Answer("go", "Restart  Y", (pygame.K_y, pygame.K_r, pygame.K_RETURN)),
                Answer(CANCEL, "Keep going  N", (pygame.K_n,)),
            )
            message = (
                f"Restart training from scratch? Nothing of this run was saved after update {self.view.saved_update}."
            )
        else:
            answers = (
                Answer("go", "Restart  Y", (pygame.K_y, pygame.K_r, pygame.K_RETURN)),
                Answer(CANCEL, "Keep going  N", (pygame.K_n,)),
            )
            message = "Restart training from scratch? The policy is saved, but the run itself stops here."
        then = self.restart_now
        self.window.ask("Restart training?", message, answers, lambda answer: self._after_asking(answer, then))

    def restart_now(self) -> None:
        """A new session with the current config (knobs included); the stage starts over."""
        # The knobs as they are now: a teacher who tuned them restarts with their values.
        self.train(self.window.session.config(), "Training restarted from scratch", "Cannot restart")

    def train(self, config: VPGConfig, said: str | None = None, failed: str | None = None) -> None:
        """Train ``config`` from scratch in place of the run (nothing asked), once its
        session has started; if it cannot, a toast (``failed``, then why)."""

        def then(session: Session) -> None:
            self.window.replace_session(session, playback=False)
            self.toast(said or f"Training {config.env_id} from scratch")

        self.window.begin_session(
            lambda wait: self.window.new_session(config, wait),
            f"training {config.env_id}",
            then,
            failed or f"Cannot train on {config.env_id}",
        )

    def offer_to_resume(self) -> None:
        """The training process ended unasked: offer to train on from the newest snapshot
        the window holds (S saves it, as ever)."""
        session = self.window.session
        latest = session.latest_snapshot().update
        answers = (
            Answer("go", f"Train on from update {latest}  R", (pygame.K_r, pygame.K_RETURN)),
            Answer("quit", "Quit  Q", (pygame.K_q,)),
            Answer(CANCEL, "Not now  N", (pygame.K_n,)),
        )
        message = f"{session.ended}. Train on from update {latest}, the newest policy here? (S saves it.)"
        then = {"go": self._resume, "quit": self.quit}
        self.window.ask("Training stopped", message, answers, lambda answer: then.get(answer, lambda: None)())

    def _resume(self) -> None:
        snapshot = self.window.session.latest_snapshot()

        def then(session: Session) -> None:
            self.window.replace_session(session, playback=False)
            self.view.saved_update = min(self.view.saved_update, snapshot.update)
            self.toast(f"Training on from update {snapshot.update}")

        self.window.begin_session(
            lambda wait: self.window.session_from_checkpoint(snapshot, wait),
            f"training from update {snapshot.update}",
            then,
            "Cannot train on",
        )

    # -- the stage -------------------------------------------------------------------

    def push_left(self) -> None:
        self.push(-DEFAULT_IMPULSE)

    def push_right(self) -> None:
        self.push(DEFAULT_IMPULSE)

    def push(self, impulse: float) -> None:
        """Push the stage's cart (N·s, negative: left); a toast where the env cannot be pushed."""
        stage = self.window.stage
        if not stage.can_push:
            self.toast(f"Nudging is not available for {self.window.session.env_id}", error=True)
            return
        stage.push(impulse)

    # -- panels ----------------------------------------------------------------------

    def formulas(self) -> None:
        """X: the formulas over the panels, or not."""
        self.view.formulas_visible = not self.view.formulas_visible

    def map(self) -> None:
        """M: open the map view, then show the env's next pair of dimensions, then close."""
        view = self.view
        pairs = len(env_map_info(self.window.session.env_id, self.window.stage.env.observation_space).default_pairs)
        if not view.map_open:
            view.map_open, view.map_pair = True, 0
        elif view.map_pair + 1 < pairs:
            view.map_pair += 1
        else:
            view.map_open = False

    def update_panel(self) -> None:
        """U: the Update panel in the advantage panel's place, or back."""
        self.show_panel("update", not self.view.is_open("update"))

    def noise_panel(self) -> None:
        """O: the Gradient noise panel in the value panel's place (measuring while open), or back."""
        self.show_panel("noise", not self.view.is_open("noise"))

    def student_panel(self) -> None:
        """Y: the Yours vs reference panel (a student's run) in the advantage panel's place, or back."""
        if not self.window.session.student_label:
            self.toast("Yours vs reference: start with your function, e.g. vpg-sim --advantages mycode:reward_to_go")
            return
        self.show_panel("student", not self.view.is_open("student"))

    def show_panel(self, panel: str, open_: bool = True) -> None:
        """Open (or close) ``panel``: one of :data:`PANELS`."""
        if panel not in PANELS:
            raise ValueError(f"unknown panel {panel!r}; expected one of {', '.join(PANELS)}")
        self.view.set_open(panel, open_)
        if panel == "noise":
            self.window.session.watch_noise(open_)

    def advantage_scale(self) -> None:
        view = self.view
        view.advantage_fixed_scale = not view.advantage_fixed_scale
        self.toast(
            "Advantage bars: fixed scale (largest this run)"
            if view.advantage_fixed_scale
            else "Advantage bars: per episode"
        )

    # -- the timeline ----------------------------------------------------------------

    def timeline_back(self) -> None:
        session, current = self.window.session, self.view.scrub_update
        if current is None:
            current = session.latest_snapshot().update
        earlier = [update for update in session.timeline_updates() if update < current]
        if earlier:
            self.scrub_to(earlier[-1])
        else:
            self.toast("This is the first policy of the run")

    def timeline_forward(self) -> None:
        session, current = self.window.session, self.view.scrub_update
        if current is None:
            return
        later = [update for update in session.timeline_updates() if update > current]
        if later and later[0] < session.latest_snapshot().update:
            self.scrub_to(later[0])
        else:
            self.timeline_live()

    def timeline_live(self) -> None:
        if self.view.scrub_update is None:
            return
        self.view.scrub_update = None
        self.window.stage.play_now(self.window.session.latest_snapshot())
        self.toast("Timeline: back to the live policy")

    def scrub_to(self, update: int) -> None:
        """Play the kept policy nearest to ``update`` on the stage (training goes on)."""
        snapshot = self.window.session.snapshot_near(update)
        if snapshot.update == self.view.scrub_update:
            return
        self.view.scrub_update = snapshot.update
        self.window.stage.play_now(snapshot)

    # -- files -----------------------------------------------------------------------

    def save(self) -> None:
        """S: save the policy on stage (live or from the timeline)."""
        self.save_snapshot(self.window.stage.snapshot)

    def save_snapshot(self, snapshot: Checkpoint) -> bool:
        """Save ``snapshot`` to ``saved_models/<env>-u<update>-r<return>.safetensors`` (never
        over another file); True if it was saved."""
        mean = snapshot.mean_return_100
        env_name = snapshot.config.env_id.replace("/", "_")
        stem = f"{env_name}-u{snapshot.update}-r{mean:.0f}" if np.isfinite(mean) else f"{env_name}-u{snapshot.update}"
        try:
            path = save_policy(unused_path(self.window.options.models_dir, stem, SUFFIX), snapshot)
        except OSError as error:
            self.toast(f"Could not save: {error.strerror or error}", error=True)
            return False
        self.view.saved_update = max(self.view.saved_update, snapshot.update)
        self.toast(f"Saved {show_path(path)}")
        return True

    def load(self) -> None:
        """L: the list of saved policies (after offering to save a run it would end)."""
        self._unless_unsaved(
            "Load a policy?", "Loading a policy ends this run", lambda: self.window.open_dialog("load")
        )

    def load_from_file(self, path: Path, play: bool) -> None:
        """Continue training from ``path`` (or play it), once its session has started; the
        run goes on meanwhile. A bad file changes nothing."""
        try:
            loaded = load_policy(path, expected_env=self.window.session.env_id)
        except Exception as error:  # any file, however broken: one line, and training goes on
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            self.toast(f"Not loaded: {reason}", error=True)
            return

        def then(session: Session) -> None:
            self.window.replace_session(session, playback=play)
            self.view.saved_update = loaded.metadata.update
            verb = "Playing" if play else "Training from"
            self.toast(f"{verb} {show_path(path)} (update {loaded.metadata.update})")

        self.window.begin_session(
            lambda wait: self.window.session_from_file(loaded, wait), show_path(path), then, "Not loaded"
        )

    def envs(self) -> None:
        """E: the environments (after offering to save a run it would end)."""
        self._unless_unsaved(
            "Another environment?", "Another environment ends this run", lambda: self.window.open_dialog("envs")
        )

    def switch_env(self, env_id: str) -> None:
        """Restart training on ``env_id`` with its preset hyperparameters."""
        try:
            config = config_for(env_id, seed=self.window.session.config().seed)
        except (UnsupportedEnvError, ValueError) as error:
            self.toast(f"Cannot train on {env_id}: {error}", error=True)
            return
        self.train(config)

    # -- the window ------------------------------------------------------------------

    def quit(self) -> None:
        """Q (and the window's close button): quit, after asking if the run is not saved."""
        if not self.unsaved():
            self.window.end()
            return
        answers = (
            Answer("save", "Save and quit  S", (pygame.K_s,)),
            Answer("go", "Quit without saving  Q", (pygame.K_q, pygame.K_RETURN)),
            Answer(CANCEL, "Keep going  N", (pygame.K_n,)),
        )
        latest = self.window.session.latest_snapshot().update
        message = f"Quit vpg-sim? This run has trained to update {latest} and is not saved."
        self.window.ask("Quit?", message, answers, lambda answer: self._after_asking(answer, self.window.end))

    # -- asking first ------------------------------------------------------------------

    def _unless_unsaved(self, title: str, consequence: str, then: Callable[[], None]) -> None:
        """``then()`` at once if nothing would be lost, else after the person chose to save
        the newest policy first, or to go on without."""
        if not self.unsaved():
            then()
            return
        answers = (
            Answer("save", "Save it first  S", (pygame.K_s,)),
            Answer("go", "Go on without saving  Enter", (pygame.K_RETURN,)),
            Answer(CANCEL, "Cancel  N", (pygame.K_n,)),
        )
        message = f"{consequence}: trained to update {self.window.session.latest_snapshot().update}, not saved."
        self.window.ask(title, message, answers, lambda answer: self._after_asking(answer, then))

    def _after_asking(self, answer: str, then: Callable[[], None]) -> None:
        if answer == CANCEL:
            return
        if answer == "save" and not self.save_snapshot(self.window.session.latest_snapshot()):
            return  # the toast says why; nothing is thrown away
        then()
