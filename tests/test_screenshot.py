"""The real app in a real X window (Xvfb): every panel is drawn and the cart is on stage."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pygame
import pytest

from vpg_sim.ui.layout import compute_layout
from vpg_sim.ui.theme import DARK

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Debian's xvfb (.ci/run installs it)")


@pytest.fixture
def x_display():
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x720x24", "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        number = pipe.readline().strip()
    yield f":{number}"
    server.terminate()
    server.wait(timeout=5)


def test_window_under_xvfb_draws_every_panel_and_the_cart(x_display, tmp_path):
    shot = tmp_path / "shot.png"
    env = {k: v for k, v in os.environ.items() if k != "SDL_VIDEODRIVER"}
    env["DISPLAY"] = x_display
    result = subprocess.run(
        [sys.executable, "main.py", "--run-for", "20", "--pace", "full", "--screenshot", str(shot)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    pixels = pygame.surfarray.array3d(pygame.image.load(str(shot))).swapaxes(0, 1)  # (H, W, 3)
    assert pixels.shape == (720, 1280, 3)
    layout = compute_layout(1280, 720)
    for name, rect in layout.panels().items():
        region = pixels[rect.top : rect.bottom, rect.left : rect.right].reshape(-1, 3)
        distinct = len(np.unique(region, axis=0))
        assert distinct > 8, f"{name} panel looks empty ({distinct} colours)"
    stage = pixels[layout.stage.top : layout.stage.bottom, layout.stage.left : layout.stage.right]
    cart_pixels = np.all(stage == np.array(DARK.cart), axis=-1).sum()
    pole_pixels = np.all(stage == np.array(DARK.pole), axis=-1).sum()
    assert cart_pixels > 500, "no cart on stage"
    assert pole_pixels > 300, "no pole on stage"
    returns = pixels[layout.returns.top : layout.returns.bottom, layout.returns.left : layout.returns.right]
    curve = np.all(np.abs(returns.astype(int) - np.array(DARK.value)) < 40, axis=-1).sum()
    # 20 s (a loaded machine may spend 5 of them starting the training process): a curve.
    assert curve > 50, "no moving-average curve in the return plot"


def render_frame(out: Path, display: str | None) -> np.ndarray:
    """One frame of tests/frame_render.py, drawn under ``display`` (or SDL's dummy driver: no display at all)."""
    env = {k: v for k, v in os.environ.items() if k not in ("SDL_VIDEODRIVER", "DISPLAY")}
    if display is None:
        env["SDL_VIDEODRIVER"] = "dummy"
    else:
        env["DISPLAY"] = display
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "frame_render.py"), str(out)],
        cwd=out.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return pygame.surfarray.array3d(pygame.image.load(str(out))).swapaxes(0, 1)


def test_a_frame_is_the_same_pixels_with_a_display_and_with_none(x_display, tmp_path):
    with_display = render_frame(tmp_path / "x11.png", x_display)
    without = render_frame(tmp_path / "dummy.png", None)
    stage = compute_layout(1280, 720).stage
    cart = np.all(without[stage.top : stage.bottom, stage.left : stage.right] == np.array(DARK.cart), axis=-1)
    assert cart.sum() > 500, "the frame has no cart: it compares nothing"
    differing = np.any(with_display != without, axis=-1)
    assert not differing.any(), f"{differing.sum()} pixels differ, first at {np.argwhere(differing)[0]}"
