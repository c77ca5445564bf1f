"""Draws one frame of the window and saves it: run under a display, or with none (SDL's
dummy driver), to compare the two (tests/test_screenshot.py).

    python tests/frame_render.py OUT.png

The shipped policy in playback, on a clock that stands still, with the stage advanced by
a fixed number of fixed steps: every pixel is decided by the code, not by timing.
"""

import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vpg_sim.ui.options import WindowOptions  # noqa: E402
from vpg_sim.ui.window.app import App  # noqa: E402

STAGE_STEPS = 40
"""CartPole steps the stage plays before the frame is saved (0.8 s of the episode)."""

PLOT_WAIT_SECONDS = 90
"""How long the return curve's thread may take to draw its first image."""


def main() -> None:
    torch.set_num_threads(1)
    options = WindowOptions(
        training_process=False, load=ROOT / "saved_models" / "cartpole-v1.safetensors", playback=True
    )
    app = App(options, clock=lambda: 1000.0)
    try:
        # The return curve is drawn in a thread: wait for it (the app's clock stands still).
        # Counted in wall seconds, not frames: on a loaded machine 3000 frames went by first.
        give_up = time.monotonic() + PLOT_WAIT_SECONDS
        while app.panels["returns"].image is None:
            if time.monotonic() > give_up:
                raise SystemExit(f"the return curve was not drawn in {PLOT_WAIT_SECONDS} s")
            app.step(0.0)
            time.sleep(0.01)
        for _ in range(STAGE_STEPS):
            app.step(1 / 50)  # one CartPole step each (50 per second at speed 1)
        app.save_screenshot(Path(sys.argv[1]))
    finally:
        app.close()


if __name__ == "__main__":
    main()
