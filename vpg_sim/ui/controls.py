"""Every command of the window: its keys, its button label, and its help line."""

from __future__ import annotations

from dataclasses import dataclass

import pygame


@dataclass(frozen=True)
class Control:
    command: str
    keys: tuple[int, ...]
    key_label: str
    label: str
    help: str


CONTROLS: tuple[Control, ...] = (
    Control("pause", (pygame.K_SPACE,), "Space", "Pause", "pause / resume training"),
    Control("step", (pygame.K_n,), "N", "Step", "one update while paused"),
    Control("pace", (pygame.K_t,), "T", "Pace", "training pace: full, 1/s, 2/s, 5/s, lockstep"),
    Control("playback", (pygame.K_p,), "P", "Playback", "play the current policy without training"),
    Control("greedy", (pygame.K_g,), "G", "Greedy", "greedy (argmax) vs sampled actions on stage"),
    Control("slower", (pygame.K_MINUS, pygame.K_KP_MINUS), "−", "Slower", "stage speed down (to 0.25x)"),
    Control("faster", (pygame.K_PLUS, pygame.K_EQUALS, pygame.K_KP_PLUS), "+", "Faster", "stage speed up (to 8x)"),
    Control("save", (pygame.K_s,), "S", "Save", "save the policy on stage"),
    Control("load", (pygame.K_l,), "L", "Load", "load a saved policy"),
    Control("knobs", (pygame.K_k,), "K", "Knobs", "live knobs: learning rates, gamma, lambda, entropy, batch"),
    Control("envs", (pygame.K_e,), "E", "Env", "pick another environment (restarts training)"),
    Control("record", (pygame.K_v,), "V", "Record", "record the window to recordings/ (again to stop)"),
    Control("screenshot", (pygame.K_c,), "C", "Shot", "save a PNG screenshot to recordings/"),
    Control("restart", (pygame.K_r,), "R", "Restart", "restart training from scratch (asks first)"),
    Control("fullscreen", (pygame.K_f,), "F", "Full", "toggle fullscreen"),
    Control("help", (pygame.K_h, pygame.K_F1), "H", "Help", "this help (H or F1)"),
    Control("quit", (pygame.K_q,), "Q", "Quit", "quit (asks first if the run is not saved)"),
)
"""Commands with a button in the bar at the bottom (and a key)."""

KEY_ONLY_CONTROLS: tuple[Control, ...] = (
    Control("formulas", (pygame.K_x,), "X", "", "the formula behind each panel, with its numbers now"),
    Control("map", (pygame.K_m,), "M", "", "map: π(a|s) and V(s) over the state space (again: next pair, close)"),
    Control("update_panel", (pygame.K_u,), "U", "", "Update panel: the last policy step, sample by sample"),
    Control("noise_panel", (pygame.K_o,), "O", "", "Gradient noise: each estimator's noise, measured beside training"),
    Control("present", (pygame.K_b, pygame.K_F5), "B", "", "presenter mode: large type for a hall (F5 too)"),
    Control("escape", (pygame.K_ESCAPE,), "Esc", "", "leave fullscreen, close the help, or quit"),
    Control("push_left", (pygame.K_LEFT,), "←", "", "push the cart left (or drag on the stage)"),
    Control("push_right", (pygame.K_RIGHT,), "→", "", "push the cart right"),
    Control("timeline_back", (pygame.K_LEFTBRACKET,), "[", "", "timeline: play an earlier policy"),
    Control("timeline_forward", (pygame.K_RIGHTBRACKET,), "]", "", "timeline: a later policy (past the end: live)"),
    Control("timeline_live", (pygame.K_END,), "End", "", "timeline: back to the live policy"),
    Control("advantage_scale", (pygame.K_a,), "A", "", "advantage bars: fixed scale (largest this run) or per episode"),
)
"""Commands with a key only (the timeline strip and the stage take the mouse)."""

COMMAND_BY_KEY: dict[int, str] = {
    key: control.command for control in CONTROLS + KEY_ONLY_CONTROLS for key in control.keys
}

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
"""Stage speeds: multiples of the env's real-time rate."""


BUTTONS_DROPPED_FIRST = ("screenshot", "fullscreen", "slower", "faster", "greedy", "pace", "step", "envs")
"""When a narrow window cannot fit every button, these go first (their keys still work)."""


def button_text(control: Control) -> str:
    return f"{control.label}  {control.key_label}"
