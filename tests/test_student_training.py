"""A student's functions in the trainer and in the session beside the reference run; the
"Yours vs reference" numbers against a hand computation."""

import math
import re
import shutil

import numpy as np
import pytest
import torch

from tests import student_solutions as solutions
from tests.test_session import wait_until
from tests.test_student_adapter import two_env_batch
from vpg_sim.core.config import config_for
from vpg_sim.core.networks import make_policy
from vpg_sim.core.stabilisers import normalized_advantages
from vpg_sim.core.student import StudentCode, StudentCodeError, run_slot
from vpg_sim.core.student_step import StudentStep
from vpg_sim.core.trainer import VPGTrainer
from vpg_sim.training.student_session import StudentSession

SMALL = {"num_envs": 4, "steps_per_update": 128, "vf_iters": 2, "vf_minibatch_size": 64}


def in_process(**functions):
    return lambda slot, calls: run_slot(slot, functions[slot], calls)


def test_the_panels_numbers_against_a_hand_computation():
    batch = two_env_batch()
    batch.last_values[:] = 0.0
    config = config_for("CartPole-v1", gamma=0.5)
    step = StudentStep(("advantages",), in_process(advantages=solutions.rtg_forgets_to_reset))
    zeros = np.zeros(batch.rewards.shape)
    phi, _ = step.weights(batch, config, zeros, zeros)
    # By hand, gamma 0.5. Env 0: rewards [1, 2, 4 | 1, 1], both episodes terminated: ours
    # [3, 4, 4, 1.5, 1]; without the reset G_2 = 4 + 0.5 * 1.5 = 4.75, G_1 = 4.375, G_0 = 3.1875.
    # Env 1: [1, 1 | 2, 2, 2], a time limit after step 1 (V of its final state 10), then a
    # termination: ours [1 + 0.5 * 6, 1 + 0.5 * 10, 3.5, 3, 2] = [4, 6, 3.5, 3, 2]; without the
    # reset nor the bootstrap G_1 = 1 + 0.5 * 3.5 = 2.75 (3.25 short: the largest), G_0 = 2.375.
    np.testing.assert_allclose(phi[[0, 1, 2, 4, 5], 0], [3.1875, 4.375, 4.75, 1.5, 1.0])
    np.testing.assert_allclose(phi[[0, 1, 3, 4, 5], 1], [2.375, 2.75, 3.5, 3, 2])

    torch.manual_seed(0)
    policy = make_policy(*spaces(), (8,), "tanh", 0.0)
    observations = torch.randn(int(batch.valid.sum()), 1)
    actions = torch.tensor([0, 1, 1, 0, 1, 0, 0, 1, 1, 0])
    log_probs = policy.log_prob(observations, actions)
    yours = normalized_advantages(phi[batch.valid], config.advantage_std_floor)
    ours_raw = np.array([3, 4, 4, 6, 4, 3.5, 1.5, 3, 1, 2])  # the valid rows in [t, env] order
    ours = normalized_advantages(ours_raw, config.advantage_std_floor)
    step.policy_loss(log_probs, torch.from_numpy(yours).float(), list(policy.parameters()))

    difference = step.comparison.differences[0]
    assert (difference.largest, difference.where()) == (pytest.approx(3.25), "env 1, step 1")
    assert (difference.yours, difference.reference) == (pytest.approx(2.75), pytest.approx(6.0))
    # The cosine by hand: each sample's grad log pi as a row of J (B x P); the loss
    # -mean(log pi * w) has the gradient -J^T w / B.
    rows = []
    for index in range(len(log_probs)):
        grads = torch.autograd.grad(log_probs[index], list(policy.parameters()), retain_graph=True)
        rows.append(torch.cat([grad.reshape(-1) for grad in grads]).numpy().astype(np.float64))
    jacobian = np.stack(rows)
    g_yours, g_ours = -jacobian.T @ yours / len(yours), -jacobian.T @ ours / len(ours)
    cosine = g_yours @ g_ours / (np.linalg.norm(g_yours) * np.linalg.norm(g_ours))
    assert step.comparison.gradient_cosine == pytest.approx(cosine, abs=1e-5)
    assert 0 < cosine < 0.999  # a wrong reward-to-go turns the step


def spaces():
    from gymnasium import spaces as gym_spaces

    return gym_spaces.Box(-1.0, 1.0, (1,)), gym_spaces.Discrete(2)


@pytest.mark.parametrize(
    ("slots", "functions"),
    [
        (("advantages",), {"advantages": solutions.reward_to_go}),
        (("gae", "loss"), {"gae": solutions.gae, "loss": solutions.pg_loss}),
    ],
)
def test_a_right_answer_trains_exactly_as_the_reference_does(slots, functions):
    config = config_for("CartPole-v1", **SMALL)
    student, reference = VPGTrainer(config), VPGTrainer(config)
    student.student = StudentStep(slots, in_process(**functions))
    reference.student = StudentStep(slots, None)
    try:
        for _ in range(3):
            ours, theirs = student.train_update(), reference.train_update()
            for name in ("episodes", "mean_return_100", "policy_loss", "value_loss", "approx_kl"):
                assert getattr(ours, name) == pytest.approx(getattr(theirs, name), rel=1e-5, abs=1e-7), name
            comparison = student.checkpoint().yours_vs_reference
            assert all(difference.largest < 1e-6 for difference in comparison.differences)
            assert comparison.gradient_cosine == pytest.approx(1.0, abs=1e-6)
    finally:
        student.close()
        reference.close()
    assert reference.checkpoint().yours_vs_reference is None  # the reference compares with nothing


def test_the_reference_of_gae_is_the_plain_trainer():
    config = config_for("CartPole-v1", **SMALL)
    plain, reference = VPGTrainer(config), VPGTrainer(config)
    reference.student = StudentStep(("gae",), None)
    try:
        assert plain.train_update().policy_loss == reference.train_update().policy_loss
    finally:
        plain.close()
        reference.close()


def test_a_failing_function_changes_no_weight():
    trainer = VPGTrainer(config_for("CartPole-v1", **SMALL))
    trainer.student = StudentStep(("advantages",), in_process(advantages=solutions.gives_nan))
    before = {name: tensor.clone() for name, tensor in trainer.policy.state_dict().items()}
    try:
        with pytest.raises(StudentCodeError, match="returned nan"):
            trainer.train_update()
        assert trainer.updates == 0
        assert all(torch.equal(before[name], tensor) for name, tensor in trainer.policy.state_dict().items())
    finally:
        trainer.close()


# -- the session: two trainers, one update each in turn ------------------------------------------


def test_the_session_trains_the_student_and_the_reference_one_update_each(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(solutions.__file__, tmp_path / "mine.py")
    session = StudentSession.for_student(
        config_for("CartPole-v1", **SMALL), StudentCode((("advantages", "mine:rtg_forgets_to_reset"),))
    )
    try:
        session.start(paused=True)
        for count in (1, 2, 3):
            session.step()
            assert wait_until(lambda count=count: session.latest_snapshot().update == count)
            assert wait_until(
                lambda count=count: (
                    session.reference_latest_stats() is not None and session.reference_latest_stats().update == count
                )
            )
        comparison = session.latest_snapshot().yours_vs_reference
        assert comparison.differences[0].largest > 0.1 and comparison.gradient_cosine < 0.999
        assert len(session.reference_episode_returns()) > 0
        assert session.student_label == "advantages=mine:rtg_forgets_to_reset"
    finally:
        assert session.close(timeout=5.0)


def test_a_failure_pauses_with_one_line_and_a_fixed_file_trains_on(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = tmp_path / "wip.py"
    module.write_text("def rtg(r, v, te, tr, g):\n    return r[:-1]\n")
    session = StudentSession.for_student(config_for("CartPole-v1", **SMALL), StudentCode((("advantages", "wip:rtg"),)))
    try:
        session.start()
        assert wait_until(lambda: session.error is not None)
        assert re.fullmatch(r"update 1: wip:rtg returned shape \(\d+,\) for \d+ steps; .*\(env \d\)", session.error)
        assert session.paused and session.running  # the run is kept, the thread alive
        assert session.latest_snapshot().update == 0
        module.write_text("def rtg(r, v, te, tr, g):\n    return r * 1.0\n")
        session.resume()
        assert session.error is None
        assert wait_until(lambda: session.latest_snapshot().update >= 2)
        assert session.reference_latest_stats().update >= 1
    finally:
        assert session.close(timeout=5.0)


def test_a_function_that_hangs_is_said_and_the_window_would_not_wait(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "slow.py").write_text("import time\ndef rtg(r, v, te, tr, g):\n    time.sleep(10)\n    return r\n")
    code = StudentCode((("advantages", "slow:rtg"),))
    session = StudentSession.for_student(config_for("CartPole-v1", **SMALL), code, timeout=0.5)
    try:
        session.start()
        assert wait_until(lambda: session.error is not None)
        assert "slow:rtg took longer than 0.5 s" in session.error and session.paused
    finally:
        assert session.close(timeout=5.0)
    assert math.isnan(session.latest_snapshot().mean_return_100)


def test_a_session_from_a_checkpoint_trains_both_runs_on_from_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(solutions.__file__, tmp_path / "mine.py")
    trainer = VPGTrainer(config_for("CartPole-v1", **SMALL))
    trainer.train_update()
    checkpoint = trainer.checkpoint()
    trainer.close()
    session = StudentSession.for_student(checkpoint, StudentCode((("advantages", "mine:reward_to_go"),)))
    try:
        session.start(paused=True)
        session.step()
        assert wait_until(lambda: session.latest_snapshot().update == 2)
        assert wait_until(lambda: getattr(session.reference_latest_stats(), "update", 0) == 2)
    finally:
        assert session.close(timeout=5.0)
