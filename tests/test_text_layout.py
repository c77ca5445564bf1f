"""Every label the window draws sits inside its panel and clear of every other label, at
four sizes, in both themes, with and without presenter mode."""

import itertools
import time
from dataclasses import replace

import pygame
import pytest

from tests.window_options import threaded
from vpg_sim.core.advantages import ESTIMATORS
from vpg_sim.core.config import config_for
from vpg_sim.core.gradient_noise import EstimatorNoise, GradientNoise
from vpg_sim.training.noise_monitor import NoiseReading
from vpg_sim.ui.panels.noise import UNDECIDED
from vpg_sim.ui.window.app import App

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


def fake_noise_reading(update: int) -> NoiseReading:
    """Figures as wide as they come: undecided ones (with the footer's reason), a figure
    of four significant digits, a negative and a NaN cosine. (signal, noise, cosine) with K = 16."""
    figures = [(1.0, 1234.5, -0.25), (1.0, 0.0123, 0.99), (0.0, 1.0, float("nan")), (1.0, 7.5, 0.5)]
    pairs = zip(ESTIMATORS, figures, strict=True)
    raw = {
        name: EstimatorNoise(noise / signal if signal else float("inf"), cosine, signal, noise, 16)
        for name, (signal, noise, cosine) in pairs
    }
    normalised = {name: replace(figures, noise=figures.noise / 3) for name, figures in raw.items()}
    return NoiseReading(update, "gae", GradientNoise(raw, normalised, 16, 8000.0, 128000, 12.3))


@pytest.mark.parametrize(("size", "theme", "present"), list(itertools.product(SIZES, ("dark", "light"), (False, True))))
def test_the_noise_update_and_map_views_keep_their_labels_apart(size, theme, present):
    config = config_for("CartPole-v1", **SMALL)
    app = App(threaded(pace="full", theme=theme, size=size, present=present, config=config))
    try:
        pygame.display.set_mode(size)
        app.resize(*size)
        app.view.shown.update({"value": "noise", "advantage": "update"})
        reading = fake_noise_reading(app.session.latest_snapshot().update)
        app.session.gradient_noise = lambda: reading
        boxes = labels_of_a_busy_frame(app)
        app.command("map")  # over the value and advantage places: the policy, returns and map
        for _ in range(200):
            app.step()
            if app.drawing.panels["map"]._map is not None:
                break
            time.sleep(0.01)
        app.drawing.text_log = []
        app.draw()
        map_boxes = list(app.drawing.text_log)
    finally:
        app.close()
    assert {"Gradient noise", "Update", UNDECIDED, "raw undecided", "0.0041", "-0.25"} <= {box.text for box in boxes}
    assert any(box.region == "map" for box in map_boxes)
    for labels in (boxes, map_boxes):
        for box in labels:
            assert box.region_rect.contains(box.rect), f"{box.text!r} leaves {box.region} at {size}"
        for a, b in itertools.combinations(labels, 2):
            assert not a.rect.colliderect(b.rect), f"{a.text!r} ({a.region}) overlaps {b.text!r} ({b.region}) at {size}"
