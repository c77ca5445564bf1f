"""The sweep: cells trained in worker processes give the records a cell trained alone gives
(whatever the number of workers), compare's groups as the engine trains them, the heat
map's numbers against the JSON, and bad input as one line with exit 2, nothing started."""

import json
import math
import sys

import numpy as np
import pytest

from tests.test_comparison import TINY, run
from vpg_sim.cli import arguments
from vpg_sim.cli.sweep_figure import heat_map_labels, sweep_figure
from vpg_sim.core.comparison import Curve, GroupResult
from vpg_sim.core.config import config_for
from vpg_sim.training import parallel, populations_worker, sweep_run
from vpg_sim.training.comparison_run import ComparisonRun, Group
from vpg_sim.training.parallel import Member, ParallelRun, place
from vpg_sim.training.sweep_run import SweepCell, SweepResult, train_cell
from vpg_sim.training.worker_process import StartedWorkers

SMALL = config_for("CartPole-v1", num_envs=2, steps_per_update=128, vf_iters=2, vf_minibatch_size=64)


def records_of(run, groups):
    return {g.name: [(r.env_steps, r.returns, r.steps_to_solve) for r in run.records[g.name]] for g in groups}


def as_tuples(result):
    return [(list(c.env_steps), list(c.returns), s) for c, s in zip(result.curves, result.steps_to_solve, strict=True)]


def solved_episodes(solved, env_steps):
    """A round's episodes as a worker reports them: 100 of return 500 ending at ``env_steps``
    (the mean of the last 100 reaches CartPole's 475 there), or none."""
    return ([500.0] * 100, [env_steps] * 100) if solved else ([], [])


# -- placement ---------------------------------------------------------------------------


def test_placement_keeps_a_critic_free_group_whole_and_deals_the_others_evenly():
    groups = {
        "whole": SMALL.replace(estimator="total-return"),
        "a": SMALL.replace(gae_lambda=0.5),
        "b": SMALL.replace(estimator="baseline"),
        "wide": SMALL.replace(hidden_sizes=(32,)),  # another config class: a population of its own
    }
    plans = place(groups, seeds=range(6), workers=3)
    members = [m for worker in plans for p in worker for m in p.members]
    assert sorted(members) == sorted(Member(g, i) for g in groups for i in range(6))
    loads = [sum(len(p.members) for p in worker) for worker in plans]
    assert loads == [8, 8, 8]
    whole = [p for worker in plans for p in worker if any(m.group == "whole" for m in p.members)]
    assert len(whole) == 1 and {m.group for m in whole[0].members} == {"whole"}

    def spread(name):
        return [sum(m.group == name for p in worker for m in p.members) for worker in plans]

    assert spread("a") == spread("b") == [0, 3, 3]  # over the two workers the whole group left room on
    assert spread("wide") == [2, 2, 2]
    for worker in plans:
        for population in worker:
            assert len({populations_worker.config_class(c) for c in population.configs}) == 1


def test_a_critic_free_group_of_ten_seeds_trains_as_two_fixed_populations_of_five_one_worker_or_two():
    groups = {"whole": SMALL.replace(estimator="reward-to-go")}
    for workers in (1, 2):
        populations = [p for worker in place(groups, range(10), workers) for p in worker]
        assert [[m.seed_index for m in p.members] for p in populations] == [[0, 2, 4, 6, 8], [1, 3, 5, 7, 9]]
        assert [c.seed for c in populations[1].configs] == [1, 3, 5, 7, 9]
    assert [len(worker) for worker in place(groups, range(10), 2)] == [1, 1]


# -- the same records, however the cells are trained ---------------------------------------


def test_the_engine_trains_compares_groups_as_comparison_run_does():
    groups = [
        Group("A", SMALL.replace(estimator="baseline"), "estimator=baseline", {}),
        Group("B", SMALL.replace(estimator="total-return"), "estimator=total-return", {}),
    ]
    expected = ComparisonRun(groups, range(3), 1024)
    while not expected.finished:
        expected.train_round()
    engine = ParallelRun(groups, range(3), 1024)
    engine.train_to_the_end()
    assert records_of(engine, groups) == records_of(expected, groups)
    assert engine.rounds == expected.rounds
    expected.close()
    engine.close()


def test_a_cell_among_others_in_two_workers_gives_the_records_it_gives_alone():
    cells = [
        Group("gae 0.5", SMALL.replace(gae_lambda=0.5), "gae_lambda=0.5", {}),
        Group("baseline", SMALL.replace(estimator="baseline", value_lr=1e-2), "baseline", {}),
        Group("reward-to-go", SMALL.replace(estimator="reward-to-go"), "reward-to-go", {}),
    ]
    engine = ParallelRun(cells, range(3), 1536, stop_sets=[[c.name] for c in cells], workers=2)
    try:
        engine.train_to_the_end()
        pooled = records_of(engine, cells)
    finally:
        engine.close()
    for cell in cells:
        assert as_tuples(train_cell(cell, range(3), 1536)) == pooled[cell.name], cell.name


def test_workers_started_before_the_run_train_it_as_workers_it_spawns():
    cells = [Group(name, SMALL.replace(estimator=name), name, {}) for name in ("gae", "total-return")]
    records = []
    for started in (None, StartedWorkers(1)):
        engine = ParallelRun(cells, range(3), 1024, [[c.name] for c in cells], workers=2, started=started)
        try:
            assert started is None or started.take() is None  # the run took the one started
            engine.train_to_the_end()
            records.append(records_of(engine, cells))
        finally:
            engine.close()
    assert records[0] == records[1]


def test_started_workers_no_run_took_are_ended_at_once():
    started = StartedWorkers(2)
    processes = [worker.process for worker in started._waiting]
    started.close()
    assert all(not process.is_alive() for process in processes)
    assert started.take() is None


def test_a_stop_set_stops_when_all_its_agents_solved_and_not_before(monkeypatch):
    solved_from = {Member("A", 0): 2, Member("A", 1): 4, Member("B", 0): 1, Member("B", 1): 1}

    class ScriptedWorker:
        """Reports each agent solved from a given round on (no training)."""

        def __init__(self, plans, max_steps):
            self.members = [m for p in plans for m in p.members]
            self.rounds = 0
            self.stops = {}

        def stop(self, due):
            self.stops.update(due)

        def train_round(self):
            self.rounds += 1
            running = [m for m in self.members if self.stops.get(m, math.inf) >= self.rounds]
            steps = 100 * self.rounds
            return self.rounds, [
                (m, steps, 1.0, *solved_episodes(self.rounds == solved_from[m], steps)) for m in running
            ]

        def close(self):
            pass

    monkeypatch.setattr(parallel, "PopulationsWorker", ScriptedWorker)
    groups = [Group("A", SMALL, "a", {}), Group("B", SMALL, "b", {})]
    engine = ParallelRun(groups, range(2), 10_000, stop_sets=[["A"], ["B"]])
    engine.train_round()
    assert engine.running_agents() == {"A": 2}  # B all solved after round 1
    for _ in range(3):
        engine.train_round()
    assert engine.finished and engine.rounds == 4
    assert engine.steps_to_solve("A") == [200, 400] and engine.steps_to_solve("B") == [100, 100]
    assert [len(r.env_steps) for r in engine.records["A"]] == [4, 4]  # solved seed 0 trained on with seed 1
    assert [len(r.env_steps) for r in engine.records["B"]] == [1, 1]


def test_rounds_a_worker_trained_past_its_stop_sets_end_are_dropped(monkeypatch):
    monkeypatch.setattr(parallel, "PopulationsWorker", lambda plans, max_steps: None)  # nothing trains
    engine = ParallelRun([Group("A", SMALL, "a", {})], range(2), 10_000, stop_sets=[["A"]])
    a0, a1 = Member("A", 0), Member("A", 1)
    stops = []
    engine._workers = [type("Worker", (), {"stop": lambda self, due: stops.append(due), "close": lambda self: None})()]
    engine._handle(0, 1, [(a0, 100, 9.0, *solved_episodes(False, 100)), (a1, 100, 9.0, *solved_episodes(False, 100))])
    engine._handle(0, 2, [(a0, 200, 9.5, *solved_episodes(True, 200)), (a1, 200, 9.5, *solved_episodes(False, 200))])
    # the last solves in round 3
    engine._handle(0, 3, [(a0, 300, 9.7, *solved_episodes(False, 300)), (a1, 300, 9.7, *solved_episodes(True, 300))])
    assert stops == [{a0: 3, a1: 3}] and engine.finished
    # trained on before hearing of it
    engine._handle(0, 4, [(a0, 400, 9.9, *solved_episodes(True, 400)), (a1, 400, 9.9, *solved_episodes(True, 400))])
    assert [r.env_steps for r in engine.records["A"]] == [[100, 200, 300], [100, 200, 300]]
    assert engine.steps_to_solve("A") == [200, 300]


# -- the command ---------------------------------------------------------------------------


def sweep_json(capsys, tmp_path, *extra):
    status, out, lines = run(
        capsys,
        "sweep",
        "--grid",
        "estimator=gae,total-return",
        "--grid",
        "gamma=0.9,0.99",
        "--seeds",
        "3",
        "--budget",
        "512",
        "--headless",
        "--json",
        "--out",
        str(tmp_path / "sweep.png"),
        *TINY,
        *extra,
    )
    assert status == 0, lines
    return [json.loads(line) for line in out.splitlines()]


def test_one_worker_and_two_give_the_same_json(capsys, tmp_path):
    one = sweep_json(capsys, tmp_path, "--workers", "1")
    two = sweep_json(capsys, tmp_path, "--workers", "2")
    assert one == two
    assert [row["group"] for row in one] == [
        "estimator=gae, gamma=0.9",
        "estimator=gae, gamma=0.99",
        "estimator=total-return, gamma=0.9",
        "estimator=total-return, gamma=0.99",
    ]
    assert all(row["end_env_steps"][0] >= 512 for row in one)  # nothing solves in 512 steps: all to the budget
    assert (tmp_path / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def synthetic_result():
    """A 2 x 2 sweep of made-up records: a cell whose seeds all solved, one with one of
    three (no median: its return at the end is shown), and so on."""
    steps = np.array([1000, 2000, 3000])
    cells, results = [], []
    table = {
        (0.5, 0.9): ([1500, 2500, 3000], [480.0, 490.0, 500.0]),
        (0.5, 0.99): ([None, None, 2000], [100.0, 200.0, 480.0]),
        (1.0, 0.9): ([1000, 1000, None], [490.0, 495.0, 300.0]),
        (1.0, 0.99): ([None, None, None], [10.0, 20.0, 30.0]),
    }
    for index, ((lam, gamma), (solve, ends)) in enumerate(table.items()):
        settings = {"gae_lambda": lam, "gamma": gamma}
        group = Group(f"cell {index}", SMALL.replace(**settings), f"gae_lambda={lam}, gamma={gamma}", settings)
        cells.append(SweepCell(index, settings, group))
        curves = tuple(Curve(steps, np.array([50.0, 100.0, end])) for end in ends)
        results.append(
            GroupResult(group.name, group.label, settings, group.config, 3000, (0, 1, 2), curves, tuple(solve))
        )
    return SweepResult(tuple(cells), tuple(results), (0, 1, 2), 3000, 0.0)


@pytest.mark.parametrize("statistic", ["iqm", "mean"])
def test_the_heat_maps_numbers_are_the_jsons(statistic):
    result = synthetic_result()
    rows = result.json_rows(statistic)
    figure = sweep_figure(result, statistic)
    shown = {text.get_text() for text in figure.axes[0].texts}
    assert shown == set(heat_map_labels(result, statistic).values())
    for row in rows:
        heat = row["heat_map"]
        number = f"{heat['value']:,.0f}" if heat["of"] == "median steps to solve" else f"R {heat['value']:.1f}"
        assert f"{number}\n{row['solved']}/3 solved" in shown, row["group"]
        if heat["of"] == "median steps to solve":
            assert heat["value"] == row["median_steps_to_solve"]
    # three seeds: the IQM trims none (a quarter of 3 is under one seed), so it is the mean
    assert "2,500\n3/3 solved" in shown and "R 260.0\n1/3 solved" in shown and "R 20.0\n0/3 solved" in shown
    assert "1,000\n2/3 solved" in shown  # two of three solved: the median is reached


def test_the_curves_figure_has_a_curve_per_value_in_grid_order():
    result = synthetic_result()
    first = [cell for cell in result.cells if cell.settings["gamma"] == 0.9]
    one_d = SweepResult(
        tuple(SweepCell(i, {"gae_lambda": c.settings["gae_lambda"]}, c.group) for i, c in enumerate(first)),
        tuple(result.results[c.index] for c in first),
        result.seeds,
        3000,
        0.0,
    )
    legend = [text.get_text() for text in sweep_figure(one_d, "iqm").axes[0].get_legend().get_texts()]
    assert legend == ["gae_lambda=0.5  (3/3 solved)", "gae_lambda=1  (2/3 solved)", "solved: 475"]


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--grid", "lambda=0,1"], "unknown key 'lambda'"),
        (["--grid", "gae_lambda=0,1.5"], "gae_lambda must be in [0, 1]"),
        (["--grid", "gae_lambda=0,x"], "gae_lambda: not a number"),
        ([], "give the grid"),
        (["--grid", "gae_lambda="], "no values"),
        (["--grid", "gae_lambda=0,0"], "listed twice"),
        (["--grid", "seed=1,2"], "seed cannot vary"),
        (["--grid", "gamma=0.9,1", "--grid", "gamma=0.5,1"], "already a grid key"),
        (
            [
                "--grid",
                "num_envs=" + ",".join(str(n) for n in range(1, 101)),
                "--grid",
                "policy_lr=" + ",".join(f"0.{i:03d}" for i in range(1, 102)),
            ],
            "10,100 cells, more than 10,000",
        ),
        (["--grid", "num_envs=3,4"], "steps_per_update must be a positive multiple of num_envs"),
        (["--grid", "gamma=0.9,1", "--ray", "127.0.0.1:1"], "cannot reach it"),
        (["--grid", "gamma=0.9,1", "--ray", "nonsense"], "expected auto, local, HOST:PORT"),
        (["--grid", "gamma=0.9,1", "--ray", "1.2.3.4:99999"], "the port must be 1 to 65535"),
        (["--grid", "hidden_sizes=32x32,64x"], "not widths such as 64x64: '64x'"),
        (["--grid", "gamma=0.9,1", "--seeds", "-3"], "a count N or a range FIRST-LAST"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_starts_nothing(capsys, monkeypatch, tmp_path, argv, named):
    if "--ray" in argv:
        pytest.importorskip("ray")
    monkeypatch.setattr(sweep_run, "ParallelRun", None)  # anything started would fail loudly
    monkeypatch.setattr(arguments, "StartedWorkers", None)  # a worker process too
    status, out, lines = run(capsys, "sweep", *argv, "--headless", "--out", str(tmp_path / "x.png"))
    assert status == 2 and out == ""
    assert len(lines) == 1 and named in lines[0], lines
    assert not (tmp_path / "x.png").exists()


def test_without_ray_installed_ray_says_how_to_install_it(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails, as without the extra
    status, _, lines = run(capsys, "sweep", "--grid", "gamma=0.9,1", "--ray", "auto", "--headless")
    assert status == 2 and len(lines) == 1
    assert "pip install 'vpg-sim[cluster]'" in lines[0]


def test_without_a_display_the_window_is_one_line_suggesting_headless(capsys, monkeypatch):
    for name in ("SDL_VIDEODRIVER", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    status, _, lines = run(capsys, "sweep", "--grid", "gamma=0.9,1")
    assert status == 2 and "no display" in lines[-1] and "--headless" in lines[-1]


def test_headless_flags_without_headless_are_refused_in_one_line(capsys):
    status, _, lines = run(capsys, "sweep", "--grid", "gamma=0.9,1", "--workers", "2", "--json")
    assert status == 2 and len(lines) == 1 and "--json, --workers" in lines[0] and "--headless" in lines[0]


def test_a_window_sweep_of_more_than_25_cells_is_refused_before_it_opens(capsys):
    grid = ["--grid", "gamma=0.9,0.91,0.92,0.93,0.94,0.95", "--grid", "gae_lambda=0,0.2,0.4,0.6,0.8"]
    status, _, lines = run(capsys, "sweep", *grid)
    assert status == 2 and len(lines) == 1 and "30 cells, more than 25" in lines[0]


@pytest.mark.slow
def test_a_local_ray_instance_gives_the_local_runs_json_and_figure(capsys, tmp_path):
    pytest.importorskip("ray")
    here = sweep_json(capsys, tmp_path, "--workers", "2")
    here_png = (tmp_path / "sweep.png").read_bytes()
    on_ray = sweep_json(capsys, tmp_path, "--ray", "local")
    assert on_ray == here
    assert (tmp_path / "sweep.png").read_bytes() == here_png
    assert here[0]["return_end"] is not None


def test_a_custom_env_trains_in_worker_processes_as_in_one(capsys, tmp_path):
    argv = ["--grid", "gamma=0.9,0.99", "--env", "tests.custom_env_module:LineWalkTest-v0", "--seeds", "2"]
    outputs = []
    for workers in ("1", "2"):
        status, out, lines = run(
            capsys,
            "sweep",
            *argv,
            "--budget",
            "256",
            *TINY,
            "--workers",
            workers,
            "--headless",
            "--json",
            "--out",
            str(tmp_path / "walk.png"),
        )
        assert status == 0, lines
        outputs.append([json.loads(line) for line in out.splitlines()])
    assert outputs[0] == outputs[1] and len(outputs[0]) == 2


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_worker_that_fails_is_one_line_and_exit_1(capsys, tmp_path, workers):
    argv = ["--grid", "gamma=0.9,0.99", "--env", "tests.failing_env_module:ExplodingWalk-v0", "--seeds", "2"]
    status, out, lines = run(
        capsys, "sweep", *argv, *TINY, "--workers", workers, "--headless", "--out", str(tmp_path / "x.png")
    )
    errors = [line for line in lines if "error" in line]
    assert status == 1 and out == ""
    assert errors == [lines[-1]] and "RuntimeError: the env's own bug" in lines[-1] and "second" not in lines[-1]
    assert not (tmp_path / "x.png").exists()


def test_cells_that_solve_at_different_rounds_are_recorded_alike_in_one_worker_two_and_alone():
    import tests.quick_env_module  # noqa: F401  (registers QuickBandit-v0 here)

    bandit = SMALL.replace(env_id="QuickBandit-v0", steps_per_update=32, vf_minibatch_size=16)
    cells = [Group(f"lr {rate}", bandit.replace(policy_lr=rate), f"policy_lr={rate}", {}) for rate in (0.003, 0.03)]
    records = []
    for workers in (1, 2):
        engine = ParallelRun(cells, range(4), 3200, [[c.name] for c in cells], workers, "tests.quick_env_module")
        try:
            engine.train_to_the_end()
            records.append(records_of(engine, cells))
        finally:
            engine.close()
    assert records[0] == records[1]
    lengths = {name: {len(steps) for steps, _, _ in agents} for name, agents in records[0].items()}
    assert lengths["lr 0.03"] != lengths["lr 0.003"] and all(len(n) == 1 for n in lengths.values())
    assert all(solved is not None for agents in records[0].values() for _, _, solved in agents)
    for cell in cells:
        assert as_tuples(train_cell(cell, range(4), 3200)) == records[0][cell.name]


def test_a_worker_that_cannot_start_here_is_a_one_line_worker_error(monkeypatch):
    def cannot_start(plans, max_steps):
        raise OSError("the env could not reset\nsecond line")

    monkeypatch.setattr(parallel, "PopulationsWorker", cannot_start)
    with pytest.raises(parallel.WorkerError, match=r"^OSError: the env could not reset$"):
        ParallelRun([Group("A", SMALL, "a", {})], range(2), 1024)


def test_workers_with_ray_is_refused_in_one_line(capsys):
    status, out, lines = run(capsys, "sweep", "--grid", "gamma=0.9,1", "--headless", "--ray", "local", "--workers", "2")
    assert status == 2 and out == "" and len(lines) == 1 and "--workers and --ray" in lines[0]


def test_an_out_in_a_missing_folder_is_refused_before_anything_trains(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(sweep_run, "ParallelRun", None)  # anything started would fail loudly
    missing = tmp_path / "no such folder" / "sweep.png"
    status, out, lines = run(capsys, "sweep", "--grid", "gamma=0.9,1", "--headless", "--out", str(missing))
    assert status == 2 and out == "" and len(lines) == 1 and "--out" in lines[0]


def test_the_sweep_window_trains_at_compares_pace_unless_told():
    from vpg_sim.cli import parse_arguments
    from vpg_sim.training.pacing import COMPARE_PACE

    assert parse_arguments(["sweep", "--grid", "gamma=0.9,1"]).pace == COMPARE_PACE
    assert parse_arguments(["sweep", "--grid", "gamma=0.9,1", "--pace", "2/s"]).pace == "2/s"


def test_the_window_s_run_stops_each_cell_as_the_headless_sweep_does():
    import tests.quick_env_module  # noqa: F401  (registers QuickBandit-v0 here)

    bandit = SMALL.replace(env_id="QuickBandit-v0", steps_per_update=32, vf_minibatch_size=16)
    cells = [Group(f"lr {rate}", bandit.replace(policy_lr=rate), f"policy_lr={rate}", {}) for rate in (0.003, 0.03)]
    stop_sets = [[cell.name] for cell in cells]
    window = ComparisonRun(cells, range(4), 3200, stop_sets=stop_sets)
    engine = ParallelRun(cells, range(4), 3200, stop_sets, 1, "tests.quick_env_module")
    try:
        while not window.finished:
            window.train_round()
        engine.train_to_the_end()
        assert records_of(window, cells) == records_of(engine, cells)
        lengths = {name: {len(r.env_steps) for r in window.records[name]} for name in ("lr 0.003", "lr 0.03")}
        assert all(len(n) == 1 for n in lengths.values())  # a cell's seeds stop together
        assert lengths["lr 0.03"] != lengths["lr 0.003"]  # and each cell on its own
    finally:
        window.close()
        engine.close()
