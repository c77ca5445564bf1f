"""Draws one frame of the window and saves it: run under a display, or with none (SDL's
dummy driver), to compare the two (tests/test_screenshot.py).

    python tests/frame_render.py OUT.png

The shipped policy in playback, on a clock that stands still, with the stage advanced by
a fixed number of fixed steps: every pixel is decided by the code, not by timing.
"""

import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vpg_sim.ui.options import WindowOptions  # noqa: E402
from vpg_sim.ui.window.app import App  # noqa: E402

STAGE_STEPS = 40
"""CartPole steps the stage plays before the frame is saved (0.8 s of the episode)."""


def main() -> None:
    torch.set_num_threads(1)
    options = WindowOptions(
        training_process=False, load=ROOT / "saved_models" / "cartpole-v1.safetensors", playback=True
    )
    app = App(options, clock=lambda: 1000.0)
    try:
        for _ in range(3000):  # the return curve is drawn in a thread: wait for it, time standing still
            app.step(0.0)
            if app.panels["returns"].image is not None:
                break
        else:
            raise SystemExit("the return curve was never drawn")
        for _ in range(STAGE_STEPS):
            app.step(1 / 50)  # one CartPole step each (50 per second at speed 1)
        app.save_screenshot(Path(sys.argv[1]))
    finally:
        app.close()


if __name__ == "__main__":
    main()
