"""Every label the window draws sits inside its panel and clear of every other label, at
four sizes, in both themes, with and without presenter mode."""

import itertools

import pygame
import pytest

from tests.window_options import threaded
from vpg_sim.core.config import config_for
from vpg_sim.ui.app import App

SMALL = {"num_envs": 4, "steps_per_update": 128, "vf_iters": 2, "vf_minibatch_size": 64}
SIZES = [(960, 540), (1280, 720), (1920, 1080), (3840, 2160)]


def labels_of_a_busy_frame(app: App) -> list:
    """Train a little, end a stage episode (its banner showing), push, toast: then draw."""
    app.drawing.text_log = []
    for _ in range(30):
        app.step()
    app.session.pause()
    app.stage.push(1.0)
    while not app.stage.advance(1.0):  # play on to the end of an episode: the banner shows
        pass
    app.toast("Saved saved_models/CartPole-v1-u12-r31.safetensors")
    app.toast("Collapse at update 99: mean return 200, down from 500 at update 60", error=True)
    app.draw()
    app.draw_overlays()
    return list(app.drawing.text_log)


@pytest.mark.parametrize(("size", "theme", "present"), list(itertools.product(SIZES, ("dark", "light"), (False, True))))
def test_labels_stay_inside_their_panels_and_clear_of_each_other(size, theme, present):
    config = config_for("CartPole-v1", **SMALL)
    app = App(threaded(pace="full", theme=theme, size=size, present=present, config=config))
    try:
        pygame.display.set_mode(size)
        app.resize(*size)
        boxes = labels_of_a_busy_frame(app)
    finally:
        app.close()
    assert len(boxes) > 30  # the status bar, every panel title and figure, the banner and the toasts
    for box in boxes:
        assert box.region_rect.contains(box.rect), f"{box.text!r} leaves {box.region} at {size}"
    for a, b in itertools.combinations(boxes, 2):
        assert not a.rect.colliderect(b.rect), f"{a.text!r} ({a.region}) overlaps {b.text!r} ({b.region}) at {size}"
