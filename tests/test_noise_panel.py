"""The gradient's noise measured beside training: the monitor, the session, the panel."""

import threading
from dataclasses import replace
from types import SimpleNamespace

import pygame
import pytest

from tests.test_window import SMALL, frames_until, press, update_count
from tests.window_options import threaded
from vpg_sim.core.advantages import ESTIMATORS
from vpg_sim.core.config import VPGConfig, config_for
from vpg_sim.core.gradient_noise import (
    DEFAULT_BATCHES,
    EstimatorNoise,
    GradientNoise,
    checkpoint_gradient_noise,
    probe_seed,
)
from vpg_sim.core.trainer import TrainingInterrupted, VPGTrainer
from vpg_sim.training.noise_monitor import NoiseMonitor, NoiseReading
from vpg_sim.training.noise_process import NoiseProcess
from vpg_sim.training.session import TrainingSession
from vpg_sim.ui.layout import compute_layout
from vpg_sim.ui.panels.noise import (
    ACTIVE_MARK,
    TRUNCATION_LINES,
    UNDECIDED,
    UNDECIDED_REASONS,
    NoisePanel,
    bar_fraction,
    figure_text,
    variance_text,
)
from vpg_sim.ui.panels.painter import PanelPainter
from vpg_sim.ui.theme import THEMES, Fonts
from vpg_sim.ui.window.app import App

TINY = VPGConfig(num_envs=4, steps_per_update=64, hidden_sizes=(8,), vf_iters=1, vf_minibatch_size=64)


def fake_noise(value: float = 1.0) -> GradientNoise:
    """Raw figures of noise ``value`` x (1, 2, 3, 4) over a signal of 1 (K = 16, all
    resolved up to 8); normalised ones a tenth as noisy."""
    raw = {name: EstimatorNoise(value * (i + 1), 0.5, 1.0, value * (i + 1), 16) for i, name in enumerate(ESTIMATORS)}
    normalised = {name: replace(figures, noise=figures.noise / 10) for name, figures in raw.items()}
    return GradientNoise(raw, normalised, batches=16, batch_steps=1024.0, env_steps=16384, seconds=0.0)


class Recording:
    """A stand-in measurement: records what it was asked and answers at once."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, int]] = []
        self.done = threading.Semaphore(0)

    def __call__(self, checkpoint, batches, seed, should_stop):
        self.calls.append((checkpoint.update, batches, seed))
        self.done.release()
        return fake_noise(checkpoint.update + 1)


def checkpoints(count: int):
    trainer = VPGTrainer(TINY)
    taken = [trainer.checkpoint()]
    for _ in range(count - 1):
        trainer.train_update()
        taken.append(trainer.checkpoint())
    trainer.close()
    return taken


def test_the_monitor_measures_the_offered_policy_once_and_again_only_when_it_is_newer_enough():
    measure = Recording()
    monitor = NoiseMonitor(every_updates=2, measure=measure, wait=lambda seconds: False)
    first, second, third = checkpoints(3)
    monitor.offer(first)
    assert measure.done.acquire(timeout=30)
    monitor.offer(first)  # a paused run: the same policy again
    monitor.offer(second)  # one update newer: not yet
    monitor.offer(third)  # two: measured
    assert measure.done.acquire(timeout=30)
    assert monitor.stop()
    assert [update for update, _, _ in measure.calls] == [0, 2]
    assert measure.calls[1][1:] == (DEFAULT_BATCHES, probe_seed(TINY.seed, 2))
    reading = monitor.reading()
    assert (reading.update, reading.estimator) == (2, "gae")
    assert reading.noise.relative_variance["total-return"] == 3.0


def test_stopping_interrupts_a_measurement_in_flight():
    started = threading.Event()

    def endless(checkpoint, batches, seed, should_stop):
        started.set()
        while not should_stop():
            threading.Event().wait(0.001)
        raise TrainingInterrupted

    monitor = NoiseMonitor(measure=endless)
    monitor.offer(checkpoints(1)[0])
    assert started.wait(timeout=30)
    assert monitor.stop(timeout=30)
    assert monitor.reading() is None and monitor.error is None


def test_a_failed_measurement_is_one_line_and_ends_only_the_monitor():
    def broken(checkpoint, batches, seed, should_stop):
        raise RuntimeError("no envs\nsecond line")

    monitor = NoiseMonitor(measure=broken)
    monitor.offer(checkpoints(1)[0])
    monitor._thread.join(timeout=30)  # it ends by itself
    assert not monitor._thread.is_alive() and monitor.reading() is None
    assert monitor.error == "gradient noise: RuntimeError: no envs"


def test_the_monitor_rests_for_a_multiple_of_what_a_measurement_took():
    rests: list[float] = []
    measure = Recording()

    def slow(checkpoint, batches, seed, should_stop):  # took 0.4 s, by its own account
        return replace(measure(checkpoint, batches, seed, should_stop), seconds=0.4)

    monitor = NoiseMonitor(duty=0.25, measure=slow, wait=lambda seconds: rests.append(seconds) or True)
    monitor.offer(checkpoints(1)[0])
    assert measure.done.acquire(timeout=30)
    assert monitor.stop(timeout=30)
    assert rests == [pytest.approx(1.2)]  # 3x the measurement's own time at a duty of 1/4
    with pytest.raises(ValueError, match="duty"):
        NoiseMonitor(duty=0.0, measure=measure)


def test_a_measurement_in_its_own_process_equals_one_made_here_and_a_stop_ends_the_process():
    [checkpoint] = checkpoints(1)
    process = NoiseProcess()
    try:
        there = process(checkpoint, 3, 7, lambda: False)
        assert process.running  # kept for the next measurement
        here = checkpoint_gradient_noise(checkpoint, 3, 7)
        assert there.relative_variance == here.relative_variance
        assert there.cosine == here.cosine
        assert (there.env_steps, there.batch_steps) == (here.env_steps, here.batch_steps)
        with pytest.raises(TrainingInterrupted):
            process(checkpoint, 3, 7, lambda: True)
        assert not process.running
    finally:
        process.close()
    assert not process.running


def test_a_session_watching_noise_measures_its_newest_policy_for_real():
    session = TrainingSession.from_config(TINY)
    session.watch_noise(True)
    session.start(paused=True)
    reading = None
    for _ in range(6000):  # until the first measurement lands (it plays its own envs)
        reading = session.gradient_noise()
        if reading is not None:
            break
        threading.Event().wait(0.01)
    assert reading is not None and reading.update == 0
    assert set(reading.noise.relative_variance) == set(ESTIMATORS)
    assert reading.noise.batch_steps >= TINY.steps_per_update * 0.5
    session.watch_noise(False)
    assert session.gradient_noise() is reading  # the last reading stays readable
    assert session.close(timeout=10)


def test_bar_lengths_are_logarithmic_and_figures_read_plainly():
    assert bar_fraction(0.1) == 0.0 and bar_fraction(1000.0) == 1.0
    assert bar_fraction(10.0) == pytest.approx(0.5)
    assert bar_fraction(float("inf")) == 1.0 and bar_fraction(0.0) == 0.0
    assert figure_text(float("nan")) == "–" and figure_text(float("inf")) == "∞"
    assert figure_text(0.2, signed=True) == "+0.20" and figure_text(12345.0) == "12,345"


def panel_labels(noise: GradientNoise, config: VPGConfig, height: int = 200) -> list[str]:
    """Every label the Gradient noise panel draws for a reading of ``noise`` at update 3, in
    a panel 540 px wide and ``height`` tall."""
    pygame.init()
    log = []
    painter = PanelPainter(pygame.Surface((1280, 720)), compute_layout(1280, 720), THEMES["dark"], Fonts(), log=log)
    rect = pygame.Rect(0, 0, 540, height)
    painter.begin("value", rect)
    snapshot = SimpleNamespace(config=config, update=3)
    frame = SimpleNamespace(noise=NoiseReading(3, config.estimator, noise), snapshot=snapshot)
    NoisePanel().draw(painter, rect, frame)
    return [box.text for box in log]


def test_the_panel_shows_the_debiased_figures_of_the_weights_that_train_and_the_others_beside():
    noise = fake_noise(2.0)  # raw: noise 2, 4, 6, 8 over a signal of 1; normalised: a tenth
    labels = panel_labels(noise, TINY)  # normalize_advantages on, as by default
    assert any("debiased, of normalised Φ (trains" in label for label in labels)
    for name in ESTIMATORS:
        raw, normalised = noise.estimators[name], noise.normalised[name]
        assert figure_text(normalised.debiased) in labels and f"raw {variance_text(raw)}" in labels
    # total-return's normalised figure: 0.2 / (1 - 0.2 / 16), not the plain 0.2.
    assert figure_text(0.2 / (1 - 0.2 / 16)) in labels and "0.2" not in labels
    assert any(label in TRUNCATION_LINES for label in labels)
    plain = panel_labels(noise, replace(TINY, normalize_advantages=False))
    assert any("debiased, of raw Φ (trains" in label for label in plain)
    assert figure_text(noise.estimators["gae"].debiased) in plain and "norm. " + figure_text(0.8 / 0.95) in plain


def test_figures_the_batches_cannot_resolve_read_undecided_and_the_panel_says_why():
    noise = fake_noise(2.0)  # raw gae: noise 8 over a signal of 1, resolved just (1 >= 2 x 8 / 16)
    noise = replace(noise, estimators={**noise.estimators, "gae": replace(noise.estimators["gae"], noise=9.0)})
    labels = panel_labels(noise, TINY)
    assert labels.count("raw undecided") == 1  # gae's, beside its normalised figure
    assert any(label in UNDECIDED_REASONS for label in labels)
    assert not set(UNDECIDED_REASONS) & set(panel_labels(fake_noise(2.0), TINY))  # all resolved: no reason
    solved = replace(noise, normalised={name: replace(f, signal=0.0) for name, f in noise.normalised.items()})
    labels = panel_labels(solved, TINY)
    assert labels.count(UNDECIDED) == len(ESTIMATORS)  # every figure that trains, as at a solved policy
    assert any(label in UNDECIDED_REASONS for label in labels) and any(label in TRUNCATION_LINES for label in labels)
    short = panel_labels(solved, TINY, height=150)  # room for one note: the reason, not the caveat
    assert any(label in UNDECIDED_REASONS for label in short) and not set(TRUNCATION_LINES) & set(short)


def marked_estimator(boxes) -> str:
    """The estimator whose row holds the panel's mark."""
    [mark] = [box.rect for box in boxes if box.text == ACTIVE_MARK]
    [marked] = [box.text for box in boxes if box.text in ESTIMATORS and box.rect.centery == mark.centery]
    return marked


def test_o_shows_the_noise_panel_in_the_value_panel_s_place_with_the_active_estimator_marked():
    app = App(threaded(pace="full", config=config_for("CartPole-v1", **SMALL)))
    try:
        press(app, pygame.K_SPACE)
        press(app, pygame.K_o)
        assert app.view.shown == {"value": "noise"}
        assert frames_until(app, lambda: app.session.gradient_noise() is not None, timeout=120)
        reading = app.session.gradient_noise()
        app.drawing.text_log = []
        app.draw()
        boxes = [box for box in app.drawing.text_log if box.region == "value"]
        labels = [box.text for box in boxes]
        assert "Gradient noise" in labels and all(name in labels for name in ESTIMATORS)
        trained = reading.noise.normalised  # the default config normalises its advantages
        for name in ESTIMATORS:  # each figure is the reading's, as the panel prints it
            assert variance_text(trained[name]) in labels
            assert figure_text(trained[name].cosine, signed=True) in labels
        assert any(label.startswith(f"at update {reading.update}") for label in labels)
        assert marked_estimator(boxes) == app.session.latest_snapshot().config.estimator == "gae"
        assert frames_until(app, lambda: not app.session.updating)
        before = update_count(app)
        app.session.request_changes(estimator="baseline")
        press(app, pygame.K_n)
        assert frames_until(app, lambda: update_count(app) == before + 1)
        app.draw()
        assert marked_estimator(app.drawing.text_log) == "baseline"  # the mark follows training's estimator
        press(app, pygame.K_o)
        assert app.view.shown == {}
        assert not app.session.watching_noise
    finally:
        app.close()
