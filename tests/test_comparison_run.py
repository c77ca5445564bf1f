"""ComparisonRun's rules: steps to solve are the env step of the episode whose return
brought the mean of the last 100 to the threshold, for every estimator (not the end of the
update it fell in); an agent stops at its budget; all stop once all have solved, unless
they are to be pooled."""

import numpy as np
import pytest

from vpg_sim.core.comparison import first_crossing
from vpg_sim.core.config import VPGConfig, config_for
from vpg_sim.core.population.trainer import PopulationTrainer
from vpg_sim.training.comparison_run import ComparisonRun, Group

ONE_ENV = {"num_envs": 1, "steps_per_update": 64, "vf_iters": 1, "vf_minibatch_size": 32}


def test_first_crossing_finds_the_episode_that_lifted_the_window_mean():
    # window 3: [0, 0, 3] -> 1, [0, 3, 3] -> 2: the second new episode reaches 2
    assert first_crossing([0.0, 0.0], [3.0, 3.0, 3.0], 2.0, window=3) == 1
    # a crossing that falls back within the same update still counts: the first reach
    assert first_crossing([1.0, 1.0, 1.0], [4.0, 0.0, 0.0], 2.0, window=3) == 0
    # the mean is of the last `window` returns, older ones forgotten
    assert first_crossing([9.0] * 5 + [0.0, 0.0], [0.0], 2.0, window=3) is None
    # fewer than `window` episodes so far: not solved whatever their mean
    assert first_crossing([], [5.0, 5.0], 2.0, window=3) is None
    assert first_crossing([5.0], [5.0, 5.0], 5.0, window=3) == 1  # reaching the threshold exactly counts


@pytest.mark.parametrize("estimator", ["gae", "total-return"])
def test_each_episode_ends_at_the_env_step_its_lengths_and_resets_add_up_to(estimator):
    # One env: an episode of length L ends L steps after the previous one's end, plus the
    # autoreset step between them. A fixed-length batch's env goes on across batches; a
    # whole-episode batch resets its env at its start (no step) and ends at an episode's end.
    population = PopulationTrainer([config_for("CartPole-v1", seed=3, estimator=estimator, **ONE_ENV)])
    ends, expected, batch_start = [], [], 0
    for _ in range(6):
        population.train_update()
        returns, end_steps = population.take_new_episodes(0)
        recorded = list(population.agents[0].episodes.recent_lengths)
        lengths = recorded[len(recorded) - len(returns) :]
        first_in_batch = estimator == "total-return" or not expected
        position = batch_start if estimator == "total-return" else (expected[-1] if expected else 0)
        for index, length in enumerate(lengths):
            reset = 0 if (index == 0 and first_in_batch) else 1
            position += reset + length
            expected.append(position)
        ends.extend(end_steps)
        batch_start = population.env_steps(0)
        assert population.agents[0].episodes.env_steps == population.env_steps(0)
        assert len(returns) == len(end_steps)
    assert len(ends) >= 4 and ends == expected
    if estimator == "total-return":
        assert ends[-1] == population.env_steps(0)  # a whole-episode batch ends where its last episode does


def test_a_comparison_s_solve_point_is_the_crossing_episode_s_step_within_its_batch():
    # The bandit's episodes are one step long: 100 of them come within two updates.
    base = VPGConfig(env_id="VpgSimTest/TwoArmedBandit-v0", num_envs=4, steps_per_update=64, vf_iters=1)
    groups = [Group("A", base, "default", {}), Group("B", base.replace(estimator="total-return"), "tr", {})]
    run = ComparisonRun(groups, range(3), max_steps=2000)
    run.reward_threshold = 0.8
    try:
        history = {(g.name, seed): ([], []) for g in groups for seed in range(3)}
        take = {g.name: run.populations[g.name].take_new_episodes for g in groups}
        for group in groups:

            def logged(agent, name=group.name):
                returns, ends = take[name](agent)
                history[(name, agent)][0].extend(returns)
                history[(name, agent)][1].extend(ends)
                return returns, ends

            run.populations[group.name].take_new_episodes = logged
        while not run.finished:
            run.train_round()
        inside = 0
        for group in groups:
            solve_points = run.steps_to_solve(group.name)
            for seed, (record, solved) in enumerate(zip(run.records[group.name], solve_points, strict=True)):
                returns, ends = (np.array(values) for values in history[(group.name, seed)])
                means = np.array([returns[i - 99 : i + 1].mean() if i >= 99 else -1 for i in range(len(returns))])
                crossed = np.flatnonzero(means >= 0.8)
                assert solved == (int(ends[crossed[0]]) if len(crossed) else None)
                inside += solved is not None and solved not in record.env_steps
        assert inside == 6  # inside a batch, every one: read at the update's end it would have come late
    finally:
        run.close()


def bandit_run(max_steps, stop_when_all_solved=True):
    base = VPGConfig(env_id="VpgSimTest/TwoArmedBandit-v0", num_envs=4, steps_per_update=64, vf_iters=1)
    groups = [Group("A", base, "default", {}), Group("B", base.replace(estimator="total-return"), "tr", {})]
    run = ComparisonRun(groups, range(3), max_steps, stop_when_all_solved)
    run.reward_threshold = 0.8
    return run


def train_out(run):
    try:
        while not run.finished:
            run.train_round()
        return {name: [record.env_steps for record in records] for name, records in run.records.items()}
    finally:
        run.close()


def test_an_agent_stops_at_the_first_update_that_reaches_its_budget():
    run = bandit_run(max_steps=300)
    run.reward_threshold = None  # nothing solves: only the budget stops them
    for curves in train_out(run).values():
        for env_steps in curves:
            assert env_steps[-1] >= 300 > env_steps[-2]


def test_once_every_agent_has_solved_all_stop_unless_told_to_train_their_budget():
    early = bandit_run(max_steps=5000)
    curves = train_out(early)
    assert early.all_solved
    assert all(env_steps[-1] < 5000 for group in curves.values() for env_steps in group)
    # every agent trained the same rounds, and the last solve fell in the last of them
    solved_in_round = [
        int(np.searchsorted(curves[name][agent], steps))
        for name in curves
        for agent, steps in enumerate(early.steps_to_solve(name))
    ]
    assert {len(env_steps) for group in curves.values() for env_steps in group} == {early.rounds}
    assert max(solved_in_round) == early.rounds - 1
    pooled = bandit_run(max_steps=1000, stop_when_all_solved=False)
    assert all(env_steps[-1] >= 1000 for group in train_out(pooled).values() for env_steps in group)
