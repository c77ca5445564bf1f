"""A student's shapes (one env's steps in time order) to and from our batch layout, and the
checks on what a student's function returns."""

import numpy as np
import pytest

from tests import student_solutions as solutions
from vpg_sim.core.config import config_for
from vpg_sim.core.rollout import RolloutBatch
from vpg_sim.core.student import (
    StudentCode,
    StudentCodeError,
    batch_streams,
    from_streams,
    loss_and_gradient,
    reference_on_batch,
    run_slot,
    stream_batch,
)
from vpg_sim.core.trainer import VPGTrainer


def two_env_batch() -> RolloutBatch:
    """Env 0: an episode of 3 steps ending in a terminal state (V of its final state 7),
    the reset row, then 2 steps cut by the batch; env 1: 6 steps, a time limit at step 1
    (V of its final state 10), the reset row, then 3 steps ending in a termination."""
    rewards = np.array([[1, 1], [2, 1], [4, 0], [0, 2], [1, 2], [1, 2]], dtype=np.float64)
    values = np.array([[3, 1], [2, 2], [1, 10], [7, 3], [2, 4], [1, 5]], dtype=np.float64)
    terminated = np.zeros((6, 2), dtype=bool)
    truncated = np.zeros((6, 2), dtype=bool)
    valid = np.ones((6, 2), dtype=bool)
    terminated[2, 0] = True
    valid[3, 0] = False
    truncated[1, 1] = True
    valid[2, 1] = False
    terminated[5, 1] = True
    return RolloutBatch(
        observations=np.zeros((6, 2, 1), dtype=np.float32),
        actions=np.zeros((6, 2), dtype=np.int64),
        rewards=rewards,
        values=values,
        terminated=terminated,
        truncated=truncated,
        valid=valid,
        last_values=np.array([8.0, 6.0]),
    )


def test_each_env_becomes_its_valid_steps_with_the_value_of_the_state_each_led_to():
    env0, env1 = batch_streams(two_env_batch())
    np.testing.assert_array_equal(env0.rows, [0, 1, 2, 4, 5])
    np.testing.assert_array_equal(env0.rewards, [1, 2, 4, 1, 1])
    # After the termination: V of the final state (the reset row holds it); at the cut: last_values.
    np.testing.assert_array_equal(env0.next_values, [2, 1, 7, 1, 8])
    np.testing.assert_array_equal(env0.terminated, [False, False, True, False, False])
    np.testing.assert_array_equal(env1.rows, [0, 1, 3, 4, 5])
    np.testing.assert_array_equal(env1.next_values, [2, 10, 4, 5, 6])
    np.testing.assert_array_equal(env1.truncated, [False, True, False, False, False])


def test_outputs_go_back_to_their_rows_and_reset_rows_stay_zero():
    batch = two_env_batch()
    streams = batch_streams(batch)
    back = from_streams([stream.rewards * 10 for stream in streams], streams, batch.rewards.shape)
    np.testing.assert_array_equal(back[batch.valid], batch.rewards[batch.valid] * 10)
    assert back[3, 0] == 0 and back[2, 1] == 0


def test_the_reference_reward_to_go_is_the_starter_files_worked_example():
    # gamma 0.5: [1, 2, 4] terminated (the 7 after it ignored), then [1, 1] cut with 8 after.
    reference = reference_on_batch("advantages", two_env_batch(), 0.5, 0.9)
    np.testing.assert_allclose(reference[[0, 1, 2, 4, 5], 0], [3, 4, 4, 3.5, 5])
    # Env 1: the time limit bootstraps 10; the last episode terminates.
    np.testing.assert_allclose(reference[[0, 1, 3, 4, 5], 1], [1 + 0.5 * 6, 1 + 0.5 * 10, 2 + 0.5 * 3, 3, 2])


def test_a_stream_put_back_into_our_layout_gives_the_same_reference_as_the_whole_batch():
    trainer = VPGTrainer(config_for("CartPole-v1", num_envs=4, steps_per_update=256))
    batch = trainer.collect()
    trainer.close()
    batch.values[:] = np.random.default_rng(0).normal(0, 5, batch.values.shape)
    for slot in ("advantages", "gae"):
        whole = reference_on_batch(slot, batch, 0.9, 0.8)
        for stream in batch_streams(batch):
            alone = stream_batch(stream)
            np.testing.assert_allclose(
                reference_on_batch(slot, alone, 0.9, 0.8)[alone.valid], whole[stream.rows, stream.env], atol=1e-12
            )


def test_a_correct_student_matches_the_reference_on_a_real_batch():
    trainer = VPGTrainer(config_for("CartPole-v1", num_envs=4, steps_per_update=256))
    batch = trainer.collect()
    trainer.close()
    streams = batch_streams(batch)
    for slot, function in (("advantages", solutions.reward_to_go), ("gae", solutions.gae)):
        calls = [(f"env {s.env}", s.arguments(slot, 0.9, 0.8)) for s in streams]
        yours = from_streams(run_slot(slot, function, calls), streams, batch.rewards.shape)
        np.testing.assert_allclose(yours[batch.valid], reference_on_batch(slot, batch, 0.9, 0.8)[batch.valid])


@pytest.mark.parametrize(
    ("function", "said"),
    [
        (solutions.raises, r"raised IndexError: index 5 is out of .*\(student_solutions.py, line \d+\) \(env 0\)"),
        (solutions.one_short, r"returned shape \(4,\) for 5 steps; expected \(5,\), one per step \(env 0\)"),
        (solutions.gives_nan, r"returned nan at step 4 \(env 0\)"),
        (solutions.gives_a_string, r"returned a str, not an array of numbers"),
        (lambda *arguments: None, r"returned None, not an array \(is the return missing\?\)"),
        (solutions.not_written_yet, r"raised NotImplementedError: the body is still to be written"),
    ],
)
def test_a_function_that_fails_is_one_line_naming_what_and_where(function, said):
    streams = batch_streams(two_env_batch())
    calls = [(f"env {s.env}", s.arguments("advantages", 0.5, 0.5)) for s in streams]
    with pytest.raises(StudentCodeError, match=said) as caught:
        run_slot("advantages", function, calls)
    assert "\n" not in str(caught.value)


def test_a_function_that_changes_its_input_changes_no_batch():
    batch = two_env_batch()
    rewards = batch.rewards.copy()

    def scribbles(rewards, next_values, terminated, truncated, gamma):
        rewards[:] = 99.0
        return rewards

    streams = batch_streams(batch)
    run_slot("advantages", scribbles, [(f"env {s.env}", s.arguments("advantages", 0.5, 0.5)) for s in streams])
    np.testing.assert_array_equal(batch.rewards, rewards)
    assert all((stream.rewards != 99).all() for stream in streams)


def test_a_loss_gives_its_value_and_its_gradient_with_respect_to_log_pi():
    log_probs = np.log(np.array([0.5, 0.25], dtype=np.float32))
    advantages = np.array([1.0, -2.0], dtype=np.float32)
    value, gradient = loss_and_gradient(solutions.pg_loss, log_probs, advantages)
    assert value == pytest.approx(-(np.log(0.5) * 1 + np.log(0.25) * -2) / 2, rel=1e-6)  # the starter's -1.040
    np.testing.assert_allclose(gradient, [-0.5, 1.0])  # d/d log pi_i of -mean(log pi * A) = -A_i / B


@pytest.mark.parametrize(
    ("function", "said"),
    [
        (solutions.loss_through_numpy, "does not depend on log_probs"),
        (lambda log_probs, advantages: log_probs * advantages, r"returned shape \(2,\): a loss is one number"),
        (lambda log_probs, advantages: 3.0, "returned a float, not a torch tensor"),
        (lambda log_probs, advantages: (log_probs * advantages).mean() / 0.0, "returned a loss of"),
    ],
)
def test_a_loss_that_cannot_be_followed_is_one_line(function, said):
    log_probs = np.log(np.array([0.5, 0.25], dtype=np.float32))
    with pytest.raises(StudentCodeError, match=said):
        loss_and_gradient(function, log_probs, np.array([1.0, -2.0], dtype=np.float32))


def test_two_functions_for_phi_are_refused():
    with pytest.raises(ValueError, match="give one of them"):
        StudentCode((("advantages", "a:f"), ("gae", "a:g")))
    assert StudentCode((("advantages", "a:f"), ("loss", "a:g"))).label() == "advantages=a:f, loss=a:g"
