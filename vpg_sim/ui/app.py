"""The live window: the stage, four panels, a status bar and the controls.

A frame is: handle input -> update (stage simulation, snapshots in) -> draw.
Drawing reads state and changes nothing. Training runs in a
:class:`~vpg_sim.training.session.TrainingSession` thread; the window only
reads its published snapshots and stats.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pygame
import pygame_gui

from vpg_sim.core.config import VPGConfig, config_for
from vpg_sim.core.envs import UnsupportedEnvError, reward_threshold
from vpg_sim.policy_files import PolicyFileError, load_policy, save_policy, trainer_from_file, unused_path
from vpg_sim.training.pacing import DEFAULT_PACE, PACE_NAMES, PACES
from vpg_sim.training.session import TrainingSession
from vpg_sim.ui.controls import COMMAND_BY_KEY, CONTROLS, SPEEDS, button_text
from vpg_sim.ui.layout import compute_layout
from vpg_sim.ui.load_dialog import LoadDialog
from vpg_sim.ui.panels import PanelPainter, draw_advantage_panel, draw_policy_panel, draw_status_bar, draw_value_panel
from vpg_sim.ui.return_plot import PlotRequest, ReturnPlotRenderer
from vpg_sim.ui.stage import StagePlayer, draw_cartpole, draw_frame
from vpg_sim.ui.theme import FONT_REGULAR, FONT_SEMIBOLD, ICON, THEMES, Fonts, Palette

MODELS_DIR = Path(__file__).resolve().parents[2] / "saved_models"
TOAST_SECONDS = 3.5
WINDOW_TITLE = "vpg-sim · watch policy gradient learn"


@dataclass
class WindowOptions:
    """What the command line sets for the window."""

    env_id: str = "CartPole-v1"
    seed: int = 0
    pace: str = DEFAULT_PACE
    theme: str = "dark"
    size: tuple[int, int] = (1280, 720)
    run_for: float | None = None
    screenshot: Path | None = None
    config: VPGConfig | None = None
    load: Path | None = None
    """Start from this policy file (training continues from it)."""
    playback: bool = False
    """Start in playback: no training, the stage plays the policy."""
    play_episodes: int | None = None
    """Quit after this many stage episodes."""
    models_dir: Path = MODELS_DIR


@dataclass
class Toast:
    text: str
    expires: float
    error: bool = False


@dataclass
class FrameTimes:
    """Wall-clock start of every frame and the work time of each, for benchmarks."""

    starts: list[float] = field(default_factory=list)
    work: list[float] = field(default_factory=list)


class App:
    """One window. Call :meth:`step` once per frame, or :meth:`run` until quit."""

    def __init__(self, options: WindowOptions) -> None:
        self.options = options
        self.palette: Palette = THEMES[options.theme]
        # Both may raise (UnsupportedEnvError, PolicyFileError) before any window opens.
        if options.load is not None:
            self.session = TrainingSession(trainer_from_file(load_policy(options.load)))
        else:
            self.session = TrainingSession.from_config(options.config or config_for(options.env_id, seed=options.seed))
        self.config = self.session.trainer.config
        self.threshold = reward_threshold(self.config.env_id)

        pygame.display.init()
        pygame.font.init()
        pygame.display.set_caption(WINDOW_TITLE)
        with contextlib.suppress(pygame.error, FileNotFoundError):  # no icon is no reason not to start
            pygame.display.set_icon(pygame.image.load(ICON))
        self.screen = pygame.display.set_mode(options.size, pygame.RESIZABLE)
        self.fonts = Fonts()
        self.layout = compute_layout(*self.screen.get_size())
        self.plot = ReturnPlotRenderer(self.palette)
        self.plot_surface: pygame.Surface | None = None
        self.returns: list[float] = []
        self.returns_plotted = -1
        self.clock = pygame.time.Clock()
        self.frame_times = FrameTimes()
        self.started = time.monotonic()
        self.running = True
        self.help_visible = False
        self.playback = False
        self._paused_before_playback = False
        self.pace = options.pace
        self.speed_index = SPEEDS.index(1.0)
        self.toasts: list[Toast] = []
        self.confirm_dialog: pygame_gui.windows.UIConfirmationDialog | None = None
        self.load_dialog: LoadDialog | None = None
        self.stage_episodes = 0
        self.stage = StagePlayer(self.session.latest_snapshot(), seed=self.config.seed)
        self._build_ui()
        self._apply_pace()
        self.playback = options.playback
        self.session.start(paused=options.playback)

    # -- the frame ------------------------------------------------------------------

    def run(self) -> None:
        """Frames at 60 per second until quit (or ``run_for`` seconds)."""
        try:
            while self.running:
                self.step(self.clock.tick(60) / 1000.0)
        finally:
            self.close()

    def step(self, seconds: float = 1 / 60) -> None:
        """One frame: events, update, draw, flip."""
        started = time.perf_counter()
        for event in pygame.event.get():
            self.handle_event(event)
        self.ui.update(seconds)
        self.update(seconds)
        self.draw()
        pygame.display.flip()
        self.frame_times.starts.append(started)
        self.frame_times.work.append(time.perf_counter() - started)
        if self.options.run_for is not None and time.monotonic() - self.started >= self.options.run_for:
            self.running = False

    def close(self) -> None:
        """Stop the threads and close the window; safe to call twice."""
        if self.options.screenshot is not None and pygame.display.get_init():
            self.save_screenshot(self.options.screenshot)
            self.options.screenshot = None
        self.session.stop(timeout=1.0)
        self.plot.stop()
        self.stage.close()
        self.session.trainer.close()
        pygame.display.quit()

    def save_screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        pygame.image.save(self.screen, str(path))

    # -- input ----------------------------------------------------------------------

    def handle_event(self, event: pygame.event.Event) -> None:
        if event.type == pygame.QUIT:
            self.running = False
            return
        if event.type == pygame.VIDEORESIZE:
            self._resize(event.w, event.h)
            return
        consumed = self.ui.process_events(event)
        if self.load_dialog is not None:
            choice = self.load_dialog.process_event(event)
            if choice is not None:
                self.load_dialog.close()
                self.load_dialog = None
                action, path = choice
                if path is not None:
                    self.load_from_file(path, play=action == "play")
                return
            if event.type == pygame.KEYDOWN or not self.load_dialog.alive:
                if not self.load_dialog.alive:
                    self.load_dialog = None
                return  # keys belong to the dialog while it is open
        if event.type == pygame_gui.UI_BUTTON_PRESSED and event.ui_element in self.buttons.values():
            command = next(name for name, button in self.buttons.items() if button is event.ui_element)
            self.command(command)
        elif event.type == pygame_gui.UI_CONFIRMATION_DIALOG_CONFIRMED and event.ui_element is self.confirm_dialog:
            self.confirm_dialog = None
            self.restart()
        elif event.type == pygame_gui.UI_WINDOW_CLOSE and event.ui_element is self.confirm_dialog:
            self.confirm_dialog = None
        elif event.type == pygame.KEYDOWN and not consumed:
            if self.confirm_dialog is not None:
                if event.key in (pygame.K_y, pygame.K_RETURN):
                    self.confirm_dialog.kill()
                    self.confirm_dialog = None
                    self.restart()
                elif event.key in (pygame.K_n, pygame.K_ESCAPE):
                    self.confirm_dialog.kill()
                    self.confirm_dialog = None
                return
            if self.help_visible and event.key == pygame.K_ESCAPE:
                self.help_visible = False
                return
            command = COMMAND_BY_KEY.get(event.key)
            if command is not None:
                self.command(command)

    def command(self, name: str) -> None:
        """Carry out one control (a key press or a button click)."""
        if name == "pause":
            if self.playback:
                self.toast("Playback is on: press P to go back to training")
            elif self.session.paused:
                self.session.resume()
            else:
                self.session.pause()
        elif name == "step":
            if self.playback:
                self.toast("Playback is on: press P to go back to training")
            elif self.session.paused:
                self.session.step()
            else:
                self.toast("Step works while paused: press Space first")
        elif name == "pace":
            self.pace = PACE_NAMES[(PACE_NAMES.index(self.pace) + 1) % len(PACE_NAMES)]
            self._apply_pace()
            self.toast(f"Training pace: {self.pace}")
        elif name == "playback":
            self.toggle_playback()
        elif name == "greedy":
            self.stage.greedy = not self.stage.greedy
            self.toast(
                "Stage actions: greedy (most probable)" if self.stage.greedy else "Stage actions: sampled from π"
            )
        elif name in ("faster", "slower"):
            step = 1 if name == "faster" else -1
            self.speed_index = min(max(self.speed_index + step, 0), len(SPEEDS) - 1)
            self.stage.speed = SPEEDS[self.speed_index]
        elif name == "save":
            self.save_policy()
        elif name == "load":
            if self.load_dialog is None:
                self.load_dialog = LoadDialog(
                    self.ui, self.screen.get_rect(), self.options.models_dir, self.layout.scale
                )
        elif name == "restart":
            self.ask_restart()
        elif name == "fullscreen":
            try:
                pygame.display.toggle_fullscreen()
            except pygame.error as error:
                self.toast(f"Fullscreen is not available here ({error})", error=True)
        elif name == "help":
            self.help_visible = not self.help_visible
        elif name == "quit":
            self.running = False

    def toggle_playback(self) -> None:
        if not self.playback:
            self._paused_before_playback = self.session.paused
            self.session.pause()
            self.playback = True
            self.toast(f"Playback of update {self.stage.playing_update}: training is paused")
        else:
            self.playback = False
            if not self._paused_before_playback:
                self.session.resume()
            self.toast("Back to training")

    def ask_restart(self) -> None:
        if self.confirm_dialog is not None:
            return
        rect = pygame.Rect(0, 0, self.layout.px(420), self.layout.px(200))
        rect.center = self.screen.get_rect().center
        self.confirm_dialog = pygame_gui.windows.UIConfirmationDialog(
            rect,
            "Restart training from scratch? What the agent learnt so far is lost "
            "unless you saved it. (Y: restart, N: keep going)",
            manager=self.ui,
            window_title="Restart training?",
            action_short_name="Restart",
        )

    def restart(self) -> None:
        """A new session with the same config; the stage starts over with its weights."""
        self._replace_session(TrainingSession.from_config(self.config), playback=False)
        self.toast("Training restarted from scratch")

    def save_policy(self) -> None:
        """Save the newest snapshot to ``saved_models/<env>-u<update>-r<return>.safetensors``."""
        snapshot = self.session.latest_snapshot()
        mean = snapshot.mean_return_100
        stem = (
            f"{self.config.env_id.replace('/', '_')}-u{snapshot.update}-r{mean:.0f}"
            if np.isfinite(mean)
            else (f"{self.config.env_id.replace('/', '_')}-u{snapshot.update}")
        )
        try:
            path = save_policy(unused_path(self.options.models_dir, stem), **snapshot.file_contents())
        except OSError as error:
            self.toast(f"Could not save: {error.strerror or error}", error=True)
            return
        self.toast(f"Saved {self._show_path(path)}")

    def load_from_file(self, path: Path, play: bool) -> None:
        """Continue training from ``path`` (or play it). A bad file changes nothing."""
        try:
            trainer = trainer_from_file(load_policy(path, expected_env=self.config.env_id))
        except (PolicyFileError, UnsupportedEnvError) as error:
            self.toast(f"Not loaded: {error}", error=True)
            return
        self._replace_session(TrainingSession(trainer), playback=play)
        verb = "Playing" if play else "Training from"
        self.toast(f"{verb} {self._show_path(path)} (update {trainer.updates})")

    def _show_path(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(path)

    def _replace_session(self, session: TrainingSession, playback: bool) -> None:
        self.session.stop(timeout=1.0)
        self.session.trainer.close()
        self.session = session
        self.config = session.trainer.config
        self.stage.close()
        self.stage = StagePlayer(session.latest_snapshot(), seed=self.config.seed)
        self.stage.speed = SPEEDS[self.speed_index]
        self.returns = []
        self.returns_plotted = -1
        self.plot_surface = None
        self.playback = playback
        self._paused_before_playback = False
        self._apply_pace()
        session.start(paused=playback)

    def toast(self, text: str, error: bool = False) -> None:
        self.toasts.append(Toast(text, time.monotonic() + TOAST_SECONDS, error))
        self.toasts = self.toasts[-4:]

    def _apply_pace(self) -> None:
        updates_per_second = dict(PACES)[self.pace]
        self.session.set_lockstep(self.pace == "lockstep")
        self.session.set_pace(updates_per_second)

    # -- update ---------------------------------------------------------------------

    def update(self, seconds: float) -> None:
        if not self.playback:
            self.stage.offer(self.session.latest_snapshot())
        if self.stage.advance(seconds):
            self.stage_episodes += 1
            if self.pace == "lockstep" and not self.playback:
                self.session.grant_update()
            if self.options.play_episodes is not None and self.stage_episodes >= self.options.play_episodes:
                self.running = False
        new_returns = self.session.episode_returns(len(self.returns))
        self.returns.extend(new_returns)
        if len(self.returns) != self.returns_plotted:
            self.plot.request(PlotRequest(np.asarray(self.returns), self.threshold, self._plot_rect().size))
            self.returns_plotted = len(self.returns)
        image = self.plot.take_image()
        if image is not None:
            self.plot_surface = pygame.image.frombuffer(image.rgba, image.size, "RGBA").convert()
        now = time.monotonic()
        self.toasts = [toast for toast in self.toasts if toast.expires > now]
        if self.session.error:
            self.toast(self.session.error, error=True)
            self.session.error = None

    # -- drawing --------------------------------------------------------------------

    def state(self) -> tuple[str, tuple[int, int, int]]:
        palette = self.palette
        if self.playback:
            return "playback", palette.action(0)
        if self.session.paused:
            return "paused", palette.realised
        if self.session.trainer.solved:
            return "solved", palette.value
        return "training", palette.positive

    def status_items(self) -> list[tuple[str, str]]:
        stats = self.session.latest_stats()
        elapsed = int(time.monotonic() - self.started)
        items = [("pace", self.pace), ("speed", f"{SPEEDS[self.speed_index]:g}x")]
        if stats is None:
            return [("update", "0"), *items, ("elapsed", f"{elapsed // 60}:{elapsed % 60:02d}")]

        def number(value: float, digits: int = 2) -> str:
            return "–" if not np.isfinite(value) else f"{value:.{digits}f}"

        return [
            ("update", str(stats.update)),
            ("env steps", f"{stats.env_steps:,}"),
            ("steps/s", f"{stats.env_steps_per_second:,.0f}"),
            ("mean return", number(stats.mean_return_100, 1)),
            ("entropy", number(stats.entropy)),
            ("KL", number(stats.approx_kl, 4)),
            ("value loss", number(stats.value_loss, 1)),
            ("expl. var", number(stats.explained_variance)),
            *items,
            ("elapsed", f"{elapsed // 60}:{elapsed % 60:02d}"),
        ]

    def draw(self) -> None:
        palette = self.palette
        layout = self.layout
        self.screen.fill(palette.background)
        painter = PanelPainter(self.screen, layout, palette, self.fonts)
        state, state_colour = self.state()
        draw_status_bar(painter, layout.status, self.status_items(), state, state_colour)
        self._draw_stage(painter)
        draw_policy_panel(painter, layout.policy, self.config.env_id, self.stage.view, self.stage.greedy)
        holding = self.stage.hold_remaining > 0
        draw_value_panel(painter, layout.value, self.stage.trace, self.stage.finished, holding)
        draw_advantage_panel(
            painter,
            layout.advantage,
            self.stage.finished,
            self.session.latest_snapshot().advantages,
            self.stage.discrete,
        )
        self._draw_returns(painter)
        self._draw_toasts(painter)
        pygame.draw.rect(self.screen, palette.panel, layout.buttons)
        self.ui.draw_ui(self.screen)
        if self.help_visible:
            self._draw_help(painter)

    def _draw_stage(self, painter: PanelPainter) -> None:
        layout, palette, stage = self.layout, self.palette, self.stage
        rect = layout.stage
        area = painter.panel(rect, "Stage", f"{self.config.env_id} · seed {self.config.seed}")
        if stage.is_cartpole:
            action = stage.view.action if stage.trace.rewards else None
            draw_cartpole(self.screen, area, stage.observation, action, palette, stage.env, layout.scale)
        else:
            frame = stage.frame()
            if frame is not None:
                draw_frame(self.screen, area, frame)
        steps = len(stage.trace.rewards)
        line = painter.text(f"episode {stage.episode_number + 1}", (area.x, area.y + painter.px(4)), 22, bold=True)
        painter.text(
            f"step {steps}   return {stage.trace.total_return:.0f}",
            (area.x, line.bottom + painter.px(2)),
            22,
            palette.text,
        )
        mode = "greedy" if stage.greedy else "sampled"
        painter.text(
            f"policy of update {max(stage.playing_update, 0)}",
            (area.right, area.y + painter.px(4)),
            18,
            palette.value,
            bold=True,
            anchor="topright",
        )
        painter.text(
            f"{mode} · speed {stage.speed:g}x",
            (area.right, area.y + painter.px(30)),
            14,
            palette.muted,
            anchor="topright",
        )
        if stage.hold_remaining > 0 and stage.finished is not None:
            why = "pole fell or cart left the track" if stage.finished.terminated else "time limit reached"
            banner = f"episode over: return {stage.finished.total_return:.0f} ({why})"
            painter.text(
                banner, (area.centerx, area.bottom - painter.px(24)), 18, palette.realised, bold=True, anchor="center"
            )

    def _plot_rect(self) -> pygame.Rect:
        rect = self.layout.returns
        inner = rect.inflate(-self.layout.px(12), -self.layout.px(12))
        inner.height -= self.layout.px(22)
        inner.y += self.layout.px(22)
        return inner

    def _draw_returns(self, painter: PanelPainter) -> None:
        episodes = len(self.returns)
        painter.panel(self.layout.returns, "Training returns", f"{episodes:,} episodes")
        plot_rect = self._plot_rect()
        if self.plot_surface is not None:
            surface = self.plot_surface
            if surface.get_size() != plot_rect.size:
                surface = pygame.transform.smoothscale(surface, plot_rect.size)
            self.screen.blit(surface, plot_rect)

    def _draw_toasts(self, painter: PanelPainter) -> None:
        y = self.layout.buttons.top - painter.px(10)
        for toast in reversed(self.toasts):
            font = self.fonts.get(painter.px(15))
            image = font.render(toast.text, True, self.palette.text)
            box = image.get_rect().inflate(painter.px(24), painter.px(12))
            box.bottomright = (self.layout.stage.right - painter.px(10), y)
            colour = self.palette.warning if toast.error else self.palette.panel_border
            pygame.draw.rect(self.screen, self.palette.panel, box, border_radius=painter.px(6))
            pygame.draw.rect(self.screen, colour, box, width=max(1, painter.px(2)), border_radius=painter.px(6))
            self.screen.blit(image, image.get_rect(center=box.center))
            y = box.top - painter.px(6)

    def _draw_help(self, painter: PanelPainter) -> None:
        shade = pygame.Surface(self.screen.get_size(), pygame.SRCALPHA)
        shade.fill((*self.palette.background, 225))
        self.screen.blit(shade, (0, 0))
        x = self.screen.get_width() // 2 - painter.px(260)
        y = painter.px(70)
        painter.text("Keys", (x, y), 28, bold=True)
        y += painter.px(48)
        for control in CONTROLS:
            painter.text(control.key_label, (x, y), 18, self.palette.value, bold=True)
            painter.text(control.help, (x + painter.px(110), y), 18)
            y += painter.px(30)
        painter.text("Press H, F1 or Esc to close", (x, y + painter.px(14)), 15, self.palette.muted)

    # -- widgets ----------------------------------------------------------------------

    def _ui_theme(self) -> dict:
        palette = self.palette
        layout = self.layout
        colours = {
            "normal_bg": palette.hex(palette.background),
            "hovered_bg": palette.hex(palette.panel_border),
            "active_bg": palette.hex(palette.grid),
            "selected_bg": palette.hex(palette.panel_border),
            "dark_bg": palette.hex(palette.panel),
            "normal_text": palette.hex(palette.text),
            "hovered_text": palette.hex(palette.text),
            "active_text": palette.hex(palette.text),
            "selected_text": palette.hex(palette.text),
            "normal_border": palette.hex(palette.panel_border),
            "hovered_border": palette.hex(palette.muted),
            "active_border": palette.hex(palette.value),
            "selected_border": palette.hex(palette.value),
        }
        return {
            "defaults": {
                "colours": colours,
                "font": {
                    "name": "inter",
                    "size": str(layout.px(14)),
                    "regular_path": str(FONT_REGULAR),
                    "bold_path": str(FONT_SEMIBOLD),
                },
                "misc": {"shape": "rounded_rectangle", "shape_corner_radius": str(layout.px(6)), "border_width": "1"},
            },
        }

    def _build_ui(self) -> None:
        self.ui = pygame_gui.UIManager(self.screen.get_size(), self._ui_theme(), enable_live_theme_updates=False)
        self.buttons: dict[str, pygame_gui.elements.UIButton] = {}
        bar = self.layout.buttons
        gap = self.layout.px(6)
        width = (bar.width - gap * (len(CONTROLS) + 1)) / len(CONTROLS)
        height = bar.height - 2 * self.layout.px(6)
        for i, control in enumerate(CONTROLS):
            rect = pygame.Rect(round(bar.x + gap + i * (width + gap)), bar.y + self.layout.px(6), round(width), height)
            self.buttons[control.command] = pygame_gui.elements.UIButton(
                rect, button_text(control), manager=self.ui, tool_tip_text=control.help
            )

    def _resize(self, width: int, height: int) -> None:
        self.screen = pygame.display.get_surface()
        self.layout = compute_layout(width, height)
        self.confirm_dialog = None
        self.load_dialog = None
        self._build_ui()
        self.returns_plotted = -1  # re-render the curve at the new size


def display_problem() -> str | None:
    """Why a window cannot open here, or None if it looks possible."""
    if os.environ.get("SDL_VIDEODRIVER"):
        return None
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return (
            "no display found (DISPLAY is not set). Train without a window with "
            "'python main.py train', or start a virtual one: xvfb-run -a python main.py"
        )
    return None


def run_window(args: argparse.Namespace) -> int:
    """The window's command: open it, run until quit, return the exit status."""
    problem = display_problem()
    if problem is not None:
        print(f"main.py: error: {problem}", file=sys.stderr)
        return 2
    options = WindowOptions(
        env_id=args.env,
        seed=args.seed,
        pace=args.pace,
        theme=args.theme,
        size=args.size,
        run_for=args.run_for,
        screenshot=args.screenshot,
        load=args.path if args.command == "play" else args.load,
        playback=args.command == "play",
        play_episodes=getattr(args, "episodes", None),
    )
    try:
        app = App(options)
    except (UnsupportedEnvError, PolicyFileError) as error:
        print(f"main.py: error: {error}", file=sys.stderr)
        return 2
    except pygame.error as error:
        print(f"main.py: error: cannot open a window ({error})", file=sys.stderr)
        return 2
    try:
        app.run()
    except KeyboardInterrupt:
        return 130
    return 0
