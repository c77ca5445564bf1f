"""Save -> load -> train is the same run as never stopping."""

from dataclasses import replace

import pytest

from vpg_sim.core.advantages import CRITIC_FREE
from vpg_sim.core.config import config_for
from vpg_sim.core.trainer import UpdateStats, VPGTrainer
from vpg_sim.policy_files import load_policy, save_policy, trainer_from_file

SMALL = {"num_envs": 4, "steps_per_update": 256, "vf_iters": 2, "vf_minibatch_size": 64}


def without_timing(stats: UpdateStats) -> dict:
    values = stats.to_dict()
    for name in UpdateStats.timing_fields():
        del values[name]
    return values


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])  # the numpy vector env and SyncVectorEnv
def test_four_updates_equal_two_then_save_load_then_two(tmp_path, env_id):
    config = config_for(env_id, seed=3, **SMALL)
    straight = VPGTrainer(config)
    expected = [without_timing(straight.train_update()) for _ in range(4)]
    straight.close()

    first = VPGTrainer(config)
    resumed_stats = [without_timing(first.train_update()) for _ in range(2)]
    path = save_policy(tmp_path / "half.safetensors", first.checkpoint())
    first.close()
    resumed = trainer_from_file(load_policy(path))
    resumed_stats += [without_timing(resumed.train_update()) for _ in range(2)]
    resumed.close()
    assert resumed_stats == expected


def test_a_file_without_resume_state_still_trains_on_from_fresh_envs(tmp_path):
    trainer = VPGTrainer(config_for("CartPole-v1", **SMALL))
    trainer.train_update()
    checkpoint = trainer.checkpoint()
    trainer.close()
    path = save_policy(tmp_path / "old.safetensors", replace(checkpoint, resume=None))
    resumed = trainer_from_file(load_policy(path))
    stats = resumed.train_update()
    resumed.close()
    assert stats.update == 2 and stats.env_steps == 2 * SMALL["steps_per_update"]


@pytest.mark.parametrize("estimator", CRITIC_FREE)
@pytest.mark.parametrize("then", ["same", "gae"])
def test_a_critic_free_run_saved_loaded_and_trained_on_is_the_run_that_never_stopped(tmp_path, estimator, then):
    # After a batch of whole episodes the envs are mid-way through episodes nobody recorded:
    # the next fixed-length batch must reset them (the collector's needs_reset flag), so
    # the file must carry that flag for a run switched to gae after loading.
    config = config_for("CartPole-v1", seed=5, estimator=estimator, **SMALL)
    later = {} if then == "same" else {"estimator": then}

    def run(save_in_between: bool) -> list[dict]:
        trainer = VPGTrainer(config)
        stats = [without_timing(trainer.train_update()) for _ in range(2)]
        if save_in_between:
            path = save_policy(tmp_path / f"{estimator}-{then}.safetensors", trainer.checkpoint())
            trainer.close()
            trainer = trainer_from_file(load_policy(path))
        if later:
            trainer.reconfigure(**later)
        stats += [without_timing(trainer.train_update()) for _ in range(2)]
        trainer.close()
        return stats

    assert run(save_in_between=True) == run(save_in_between=False)
