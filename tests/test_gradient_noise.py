"""The noise of the four policy-gradient estimators: the figures, the measurement, ``vpg-sim variance``."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from vpg_sim.cli import main
from vpg_sim.cli import variance as variance_cli
from vpg_sim.core import gradient_noise
from vpg_sim.core.advantages import ESTIMATORS, TRUNCATION_NOTE
from vpg_sim.core.config import VPGConfig
from vpg_sim.core.gradient_noise import (
    checkpoint_gradient_noise,
    debiased_ratio,
    estimator_weights,
    measure_gradient_noise,
    noise_figures,
    policy_gradients,
    signal_resolved,
)
from vpg_sim.core.networks import CategoricalPolicy
from vpg_sim.core.rollout import Collector
from vpg_sim.core.stabilisers import normalized_advantages
from vpg_sim.core.trainer import TrainingInterrupted, UpdateStats, VPGTrainer

TINY = VPGConfig(num_envs=4, steps_per_update=64, hidden_sizes=(8,), vf_iters=1, vf_minibatch_size=64)


def test_identical_batches_have_no_variance_and_agree_perfectly():
    gradient = np.random.default_rng(0).normal(size=50)
    figures = noise_figures(np.tile(gradient, (6, 1)))
    assert figures.noise == pytest.approx(0.0, abs=1e-20)  # the mean's rounding, no more
    assert figures.relative_variance == pytest.approx(0.0, abs=1e-20)
    assert figures.cosine == pytest.approx(1.0)
    assert figures.signal == pytest.approx(float(gradient @ gradient))


def test_the_figures_by_hand():
    # g = 1 and 3: mean 2, signal 4; variance ((1 - 2)^2 + (3 - 2)^2) / (2 - 1) = 2.
    by_hand = noise_figures(np.array([[1.0], [3.0]]))
    assert (by_hand.signal, by_hand.noise, by_hand.relative_variance, by_hand.cosine) == (4.0, 2.0, 0.5, 1.0)
    # Two orthogonal unit steps: mean (1/2, 1/2), signal 1/2, variance 1; each at right angles to the other.
    orthogonal = noise_figures(np.eye(2))
    assert orthogonal.relative_variance == pytest.approx(2.0) and orthogonal.cosine == pytest.approx(0.0)
    # Opposite steps: the mean is 0, so the noise is infinitely larger than the signal.
    opposite = noise_figures(np.array([[1.0, 2.0], [-1.0, -2.0]]))
    assert opposite.relative_variance == np.inf and opposite.cosine == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="K >= 2"):
        noise_figures(np.ones((1, 3)))


def test_the_debiased_ratio_reads_the_true_noise_over_signal_where_the_plain_one_is_squeezed():
    # K = 16 estimates of a gradient g with |g|^2 = 1 and per-estimate noise tr Cov = 8: the
    # true ratio is 8. |g_bar|^2 averages |g|^2 + tr Cov / K = 1.5, so the plain ratio reads ~5.3.
    rng = np.random.default_rng(3)
    batches, dims = 16, 400
    gradient = np.full(dims, 1 / np.sqrt(dims))
    draws = [noise_figures(gradient + rng.normal(0.0, np.sqrt(8 / dims), size=(batches, dims))) for _ in range(200)]
    assert np.mean([f.noise for f in draws]) == pytest.approx(8, rel=0.02)
    assert np.mean([f.signal for f in draws]) == pytest.approx(1.5, rel=0.03)  # biased by tr Cov / K
    assert np.mean([f.signal - f.noise / batches for f in draws]) == pytest.approx(1, rel=0.03)  # not
    assert np.median([f.relative_variance for f in draws]) == pytest.approx(8 / 1.5, rel=0.05)
    assert np.median([f.debiased for f in draws]) == pytest.approx(8, rel=0.05)
    assert all(f.resolved for f in draws)  # |g_bar|^2 ~ 1.5 >= 2 tr Cov / K = 1


def test_no_resolvable_signal_is_one_rule_at_twice_the_noise_over_k():
    # At |g_bar|^2 = 2 tr Cov / K exactly: resolved, the plain ratio K / 2, the debiased one K.
    assert signal_resolved(2.0, 16.0, 16) and debiased_ratio(2.0, 16.0, 16) == pytest.approx(16.0)
    assert not signal_resolved(1.99, 16.0, 16) and debiased_ratio(1.99, 16.0, 16) > 16
    assert debiased_ratio(0.5, 16.0, 16) == np.inf  # the noise accounts for all of |g_bar|^2
    assert debiased_ratio(4.0, 0.0, 16) == 0.0 and np.isnan(debiased_ratio(0.0, 0.0, 16))
    assert not signal_resolved(0.0, 0.0, 16)  # all-zero estimates resolve nothing
    rng = np.random.default_rng(4)
    pure = [noise_figures(rng.normal(size=(16, 2000))) for _ in range(20)]
    assert not any(f.resolved for f in pure)
    clear = noise_figures(rng.normal(size=(16, 2000)) + 0.5)  # |g|^2 = 500 against tr Cov / K = 125
    assert clear.resolved and clear.debiased == pytest.approx(2000 / 500, rel=0.15)


def test_on_countdown_the_estimators_order_as_the_textbook_says():
    # A critic fitted to V(s_t) = (10 - t) x 1.5 while the policy stays where it began
    # (a tiny learning rate): then on raw Phi total-return > reward-to-go > baseline, each
    # by a wide margin, all resolved (see tests/toy_envs.py's Countdown for why).
    config = VPGConfig(
        env_id="VpgSimTest/Countdown-v0",
        num_envs=4,
        steps_per_update=256,
        hidden_sizes=(16,),
        policy_lr=1e-5,
        target_kl=None,
        gamma=1.0,
        vf_iters=4,
        vf_minibatch_size=64,
        value_lr=1e-2,
    )
    trainer = VPGTrainer(config)
    for _ in range(10):
        trainer.train_update()
    noise = measure_gradient_noise(config, trainer.policy, trainer.value_net, batches=32, seed=0)
    trainer.close()
    raw = noise.estimators
    assert all(figures.resolved for figures in raw.values())
    assert raw["total-return"].debiased > 1.5 * raw["reward-to-go"].debiased
    assert raw["reward-to-go"].debiased > 10 * raw["baseline"].debiased
    # Normalised, as the run trains on it, the batch mean is a baseline of its own: the
    # critic-free pair are far quieter than their raw figures say.
    for name in ("total-return", "reward-to-go"):
        assert noise.normalised[name].debiased < raw[name].debiased / 4
    assert noise.trained(True) is noise.normalised and noise.trained(False) is raw


def test_the_normalised_weights_are_the_trainer_s_on_the_same_batch():
    trainer = VPGTrainer(TINY)
    batch = trainer.collector.collect_episodes(trainer.policy, trainer.value_net, TINY.steps_per_update)
    trainer.close()
    weights = estimator_weights(batch, TINY)
    assert weights.shape == (8, int(batch.valid.sum()))
    for raw, normalised in zip(weights[:4], weights[4:], strict=True):
        np.testing.assert_array_equal(normalised, normalized_advantages(raw, TINY.advantage_std_floor))
    assert abs(weights[4].mean()) < 1e-9 and weights[4].std() == pytest.approx(1.0, rel=1e-6)


def test_pure_noise_reads_about_k_and_a_clear_signal_far_less():
    rng = np.random.default_rng(1)
    noise = rng.normal(size=(16, 2000))
    pure = noise_figures(noise)
    assert 12 < pure.relative_variance < 21 and abs(pure.cosine) < 0.1
    clear = noise_figures(noise + 0.5 * np.ones(2000))  # signal 0.25 x 2000 = 500 against noise ~2000
    # Expected: 2000 / (500 + 2000 / 16) = 3.2, cosine 500 / sqrt(2500 x 633) = 0.40.
    assert 2.5 < clear.relative_variance < 4 and 0.3 < clear.cosine < 0.5


def test_relative_variance_and_cosine_do_not_change_when_phi_is_scaled():
    torch.manual_seed(0)
    policy = CategoricalPolicy(4, 2, (8,), "tanh")
    rng = np.random.default_rng(2)
    estimates, scaled = [], []
    for _ in range(5):
        observations = torch.from_numpy(rng.normal(size=(30, 4)).astype(np.float32))
        actions = torch.from_numpy(rng.integers(0, 2, size=30))
        phi = rng.normal(1.0, 2.0, size=(1, 30))
        estimates.append(policy_gradients(policy, observations, actions, phi)[0])
        scaled.append(policy_gradients(policy, observations, actions, 37.0 * phi)[0])
    plain, big = noise_figures(np.stack(estimates)), noise_figures(np.stack(scaled))
    assert big.noise == pytest.approx(37.0**2 * plain.noise, rel=1e-4)
    assert big.signal == pytest.approx(37.0**2 * plain.signal, rel=1e-4)
    assert big.relative_variance == pytest.approx(plain.relative_variance, rel=1e-4)
    assert big.cosine == pytest.approx(plain.cosine, abs=1e-5)
    assert all(parameter.grad is None for parameter in policy.parameters())  # nothing left behind


def test_a_measurement_has_every_estimator_in_range_and_repeats_with_its_seed():
    trainer = VPGTrainer(TINY)
    trainer.train_update()
    noise = measure_gradient_noise(trainer.config, trainer.policy, trainer.value_net, batches=4, seed=7)
    assert tuple(noise.estimators) == tuple(noise.normalised) == ESTIMATORS
    assert noise.batches == 4 and noise.batch_steps >= TINY.steps_per_update
    assert noise.env_steps >= 4 * TINY.steps_per_update and noise.seconds > 0
    for figures in (*noise.estimators.values(), *noise.normalised.values()):
        assert 0 <= figures.relative_variance < np.inf and -1 <= figures.cosine <= 1
        assert figures.signal > 0 and figures.noise > 0 and figures.batches == 4
    again = checkpoint_gradient_noise(trainer.checkpoint(), batches=4, seed=7)  # nets of its own, same figures
    assert again.estimators == noise.estimators and again.normalised == noise.normalised
    other = measure_gradient_noise(trainer.config, trainer.policy, trainer.value_net, batches=4, seed=8)
    assert other.relative_variance != noise.relative_variance
    trainer.close()


def test_side_by_side_batches_are_whole_episodes_of_their_own_envs():
    trainer = VPGTrainer(TINY)
    batches, width = 3, TINY.num_envs
    collector = Collector(TINY.env_id, batches * width, 5, np.random.default_rng(5))
    played = collector.collect_episodes(trainer.policy, trainer.value_net, batches * TINY.steps_per_update)
    collector.close()
    assert played.last_values.shape == (batches * width,)  # even when fewer steps than envs were played
    steps = 0
    for index in range(batches):
        batch = gradient_noise.env_columns(played, slice(index * width, (index + 1) * width))
        assert batch.valid.shape[1] == width and batch.last_values.shape == (width,)
        for env in range(width):
            [valid_steps] = np.nonzero(batch.valid[:, env])
            last = valid_steps[-1]
            assert batch.terminated[last, env] or batch.truncated[last, env]  # no episode cut
        steps += int(batch.valid.sum())
    assert steps >= batches * TINY.steps_per_update
    trainer.close()


def test_a_measurement_ends_when_asked_to_stop():
    trainer = VPGTrainer(TINY)
    with pytest.raises(TrainingInterrupted):
        measure_gradient_noise(trainer.config, trainer.policy, trainer.value_net, batches=2, should_stop=lambda: True)
    trainer.close()


def test_measuring_does_not_disturb_training():
    measured, plain = VPGTrainer(TINY), VPGTrainer(TINY)
    stats = []
    for trainer, measure in ((measured, True), (plain, False)):
        for update in range(4):
            if measure and update == 2:
                measure_gradient_noise(trainer.config, trainer.policy, trainer.value_net, batches=3)
            last = trainer.train_update().to_dict()
        stats.append({k: v for k, v in last.items() if k not in UpdateStats.timing_fields()})
        trainer.close()
    assert stats[0] == stats[1]


def run(capsys, *argv):
    try:
        status = main(list(argv))
    except SystemExit as exit_:  # argparse
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out.strip().splitlines(), captured.err.strip().splitlines()


def test_variance_json_is_one_object_per_point_with_the_four_estimators(capsys):
    status, lines, _ = run(capsys, "variance", "--at-steps", "1000,0", "--batches", "2", "--json")
    assert status == 0 and len(lines) == 2
    points = [json.loads(line) for line in lines]
    assert [point["update"] for point in points] == [0, 1] and points[1]["env_steps"] == 1024
    assert points[0]["mean_return_100"] is None  # no episode has finished before training
    for point in points:
        assert point["trains_on"] == "normalised"  # the default config's normalize_advantages
        for weights in ("raw", "normalised"):
            figures = point[weights]
            assert set(figures) == {"relative_variance", "debiased_relative_variance", "cosine", "resolved"}
            for name in ESTIMATORS:
                plain, debiased = figures["relative_variance"][name], figures["debiased_relative_variance"][name]
                # The debiased ratio is the plain one x with the noise's share taken out: x / (1 - x / K).
                if figures["resolved"][name]:
                    assert debiased == pytest.approx(plain / (1 - plain / 2))
                else:
                    assert plain >= 1  # K / 2 with K = 2
        assert point["raw"]["relative_variance"] != point["normalised"]["relative_variance"]


def test_variance_prints_a_table(capsys):
    status, lines, _ = run(capsys, "variance", "--at-steps", "0", "--batches", "2")
    assert status == 0 and "raw Phi, debiased" in lines[1] and "normalised Phi, debiased" in lines[1]
    assert "cosine (normalised: trains)" in lines[1] and "baseline" in lines[2]
    assert lines[3].split()[:3] == ["0", "0", "-"] and lines[-1].startswith("relative variance:")
    assert "undecided" in lines[-1] and TRUNCATION_NOTE in lines[-1]


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--batches", "1"], "argument --batches: must be in [2, 1,024]"),
        (["--at-steps", "0,ten"], "argument --at-steps: not a whole number: 'ten'"),
        (["--at-steps", ","], "argument --at-steps: expected env steps"),
        (["--at-steps", "-5"], "argument --at-steps: must be in [0,"),
        (["--seed", "x"], "argument --seed: not a whole number"),
        (["--env", "NoSuchEnv-v0"], "unknown environment id 'NoSuchEnv-v0'"),
        (["--env", "no_such_module:Thing-v0"], "cannot import 'no_such_module'"),
    ],
)
def test_a_bad_variance_flag_is_one_line_naming_it_and_exit_2(capsys, argv, named):
    status, out, err = run(capsys, "variance", *argv)
    assert status == 2 and not out
    assert named in err[-1] and "Traceback" not in "\n".join(err)


def test_the_parser_still_opens_the_window_before_torch_is_imported():
    # build_parser imports cli/variance.py; torch must wait for a command that trains.
    root = Path(__file__).resolve().parent.parent
    code = "import sys, vpg_sim.cli; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=root, check=False).returncode == 0
    assert variance_cli.DEFAULT_BATCHES == gradient_noise.DEFAULT_BATCHES
