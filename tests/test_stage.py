"""The stage simulator: what it shows is one consistent moment, and its maths follows the
snapshot it plays."""

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from tests.toy_envs import SHORT_CARTPOLE
from vpg_sim.core.config import config_for
from vpg_sim.core.trainer import VPGTrainer
from vpg_sim.training.stage import SKIP_AHEAD_SECONDS, SKIP_AHEAD_UPDATES, StagePlayer

SMALL = {"num_envs": 2, "steps_per_update": 64, "vf_iters": 1, "vf_minibatch_size": 64}


def checkpoint(env_id="CartPole-v1", **changes):
    trainer = VPGTrainer(config_for(env_id, **SMALL, **changes))
    snapshot = trainer.checkpoint()
    trainer.close()
    return snapshot


@pytest.fixture
def stage():
    player = StagePlayer(checkpoint(), seed=3)
    yield player
    player.close()


def test_the_policy_panel_shows_the_state_in_which_the_shown_action_was_chosen(stage):
    for _ in range(5):
        before = np.array(stage.observation, dtype=np.float32)
        stage.advance(1 / stage.steps_per_second)
        logits = stage.policy.logits_net(torch.from_numpy(before)[None])[0]
        np.testing.assert_allclose(stage.decision.probabilities, torch.softmax(logits, -1).detach().numpy(), 1e-6)
        assert stage.decision.action == stage.trace.actions[-1]
        assert not np.array_equal(before, stage.observation)  # the cart shows where the action led


def test_greedy_actions_are_the_most_probable_in_the_state_they_were_chosen_in(stage):
    stage.greedy = True
    for _ in range(10):
        stage.advance(1 / stage.steps_per_second)
        assert stage.decision.action == int(np.argmax(stage.decision.probabilities))


def test_a_time_limit_cut_is_bootstrapped_with_the_value_of_the_final_state():
    player = StagePlayer(checkpoint(SHORT_CARTPOLE, gamma=0.9), seed=0)
    try:
        assert player.advance(20 / player.steps_per_second) == 1
        finished = player.finished
        assert not finished.terminated and finished.end_reason == "time limit: 8 steps"
        final_value = player.view.value  # V of the observation the time limit cut
        steps = len(finished.values)
        expected_bootstrap = final_value * 0.9 ** np.arange(steps, 0, -1)
        np.testing.assert_allclose(finished.bootstrap, expected_bootstrap)
        # The last step: its reward, then the bootstrapped future.
        assert finished.returns_to_go[-1] == pytest.approx(1.0 + 0.9 * final_value)
    finally:
        player.close()


def test_a_termination_is_not_bootstrapped_and_names_the_limit(stage):
    stage.env.unwrapped.state = np.array([0.0, 0.0, 0.2, 2.0])  # falling right, past saving
    stage.observation = stage.env.unwrapped.state.astype(np.float32)
    stage.view = stage.decision = stage._evaluate(stage.observation)
    assert stage.advance(1.0) == 1
    finished = stage.finished
    assert finished.terminated and finished.end_reason == "pole fell past 12°"
    assert not finished.bootstrap.any()
    assert finished.returns_to_go[-1] == 1.0


def test_the_stage_computes_advantages_with_the_gamma_of_the_snapshot_it_plays(stage):
    tuned = replace(stage.snapshot, config=stage.snapshot.config.replace(gamma=0.5, gae_lambda=1.0), update=1)
    stage.offer(tuned)
    stage.play_now(tuned)
    while not stage.advance(1 / stage.steps_per_second):
        pass
    finished = stage.finished
    assert (finished.gamma, finished.gae_lambda) == (0.5, 1.0)
    # With lambda 1, A_t + V(s_t) is the realised discounted return at gamma 0.5.
    np.testing.assert_allclose(finished.advantages + finished.values, finished.returns_to_go, atol=1e-9)


def test_a_far_newer_policy_cuts_a_long_episode_short(stage):
    newer = replace(stage.snapshot, update=stage.playing_update + SKIP_AHEAD_UPDATES)
    stage.offer(newer)
    stage.episode_seconds = SKIP_AHEAD_SECONDS  # as if it had played that long
    episode = stage.episode_number
    stage.advance(0.0)
    assert stage.playing_update == newer.update and stage.episode_number == episode + 1
    assert stage.skipped_from == newer.update - SKIP_AHEAD_UPDATES


def test_pushes_count_per_episode_and_cancelling_pushes_count_nothing(stage):
    stage.push(0.5)
    stage.push(-0.5)
    stage.advance(1 / stage.steps_per_second)
    assert stage.pushes == 0
    stage.push(0.5)
    stage.advance(1 / stage.steps_per_second)
    assert stage.pushes == 1
    stage.play_now(stage.snapshot)  # a new episode
    assert stage.pushes == 0


def test_the_largest_possible_return_is_known_for_cartpole(stage):
    assert stage.max_discounted_return == pytest.approx((1 - 0.99**500) / (1 - 0.99))
    assert math.isclose(stage.max_discounted_return, 99.34, abs_tol=0.01)


def test_an_episode_cut_for_a_newer_policy_is_shown_up_to_the_cut_bootstrapped(stage):
    for _ in range(5):  # five steps of the old policy (an untrained pole may fall: start again until it stands)
        if stage.advance(1 / stage.steps_per_second):
            stage.play_now(stage.snapshot)
    played, old_update = len(stage.trace.rewards), stage.playing_update
    assert played > 0
    last_value = stage.view.value
    newer = replace(stage.snapshot, update=old_update + SKIP_AHEAD_UPDATES)
    stage.offer(newer)
    stage.episode_seconds = SKIP_AHEAD_SECONDS
    stage.advance(0.0)
    cut = stage.finished
    assert cut is not None and cut.cut and not cut.terminated and cut.update == old_update
    assert len(cut.rewards) == played
    assert cut.end_reason == f"cut at step {played}: the stage moved on to update {newer.update}"
    # The state it was cut in still had a future: V of it, discounted, as training bootstraps a batch cut.
    assert cut.bootstrap[-1] == pytest.approx(stage.config.gamma * last_value)
    assert stage.hold_remaining == 0.0 and stage.playing_update == newer.update
