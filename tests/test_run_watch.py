"""The run watch says a collapse once, when a run that had learnt falls back, and never
for a mean that wavers near where it started."""

from vpg_sim.core.trainer import UpdateStats
from vpg_sim.ui.window.run_watch import RunWatch


def stats(update: int, mean: float) -> UpdateStats:
    return UpdateStats(
        update=update, env_steps=update * 1024, episodes=100 + update, mean_return_100=mean, max_return_100=mean,
        mean_length_100=mean, policy_loss=0.0, value_loss=0.0, entropy=0.5, approx_kl=0.0,
        explained_variance=0.0, policy_lr=0.02, nan_rollbacks=0, train_seconds=1.0, env_steps_per_second=1e4,
    )


def events(means: list[float]) -> list[str]:
    watch = RunWatch(0, 0.0)
    said = []
    for update, mean in enumerate(means, start=1):
        said += [event.text for event in watch.observe(float(update), update * 1024, [stats(update, mean)])]
    return said


def test_a_run_that_learnt_and_fell_back_is_said_once():
    said = events([20, 100, 300, 500, 480, 200, 190, 210, 180])
    assert said == ["Collapse at update 6: mean return 200, down from 500 at update 4"]


def test_a_mean_that_wavers_near_its_start_is_no_collapse():
    assert events([9, 10, 9, 10.1, 9, 10.2, 9, 10.3, 9]) == []
