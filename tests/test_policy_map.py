"""The policy as a map over the state space: the grid, its axes, and ``vpg-sim map``."""

import dataclasses
import json
import struct
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pygame
import pytest
import torch
from gymnasium import spaces

from vpg_sim.cli import main
from vpg_sim.cli.map_figure import figure_size
from vpg_sim.core.config import ConfigChange, config_for
from vpg_sim.core.networks import ValueNet, make_policy, mlp
from vpg_sim.core.policy_map import (
    BOUNDS,
    MEAN_ACTION,
    MOST_LIKELY,
    TERMINATION,
    TYPICAL,
    UNBOUNDED,
    VISITED,
    default_dims,
    default_ranges,
    evaluate_policy_map,
    forward,
    policy_map_from_checkpoint,
    visited_ranges,
)
from vpg_sim.core.trainer import VPGTrainer
from vpg_sim.policy_files import load_policy, save_policy
from vpg_sim.resources import shipped_policy
from vpg_sim.ui.layout import compute_layout
from vpg_sim.ui.panels import policy_map as map_panel
from vpg_sim.ui.panels.painter import PanelPainter
from vpg_sim.ui.theme import THEMES, Fonts

SHIPPED = str(shipped_policy())


def run(capsys, *argv):
    """``main(argv)``'s exit status, its stdout, and the lines it printed on stderr."""
    try:
        status = main(list(argv))
    except SystemExit as exit_:  # argparse
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err.strip().splitlines()


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk, after checking the signature."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def value_net_reading(dim: int, obs_dim: int = 4) -> ValueNet:
    """A value net whose V(s) is exactly ``obs[dim]``: relu(x) - relu(-x) = x."""
    net = ValueNet(obs_dim, (2,), "relu")
    with torch.no_grad():
        first, last = net.net[0], net.net[2]
        first.weight.zero_()
        first.weight[0, dim], first.weight[1, dim] = 1.0, -1.0
        first.bias.zero_()
        last.weight.copy_(torch.tensor([[1.0, -1.0]]))
        last.bias.zero_()
    return net


# -- the shipped policy shows the physics ---------------------------------------------------


def test_the_shipped_policy_pushes_the_way_the_pole_falls(capsys):
    status, out, _ = run(capsys, "map", SHIPPED, "--json")
    assert status == 0
    grid = json.loads(out)
    assert grid["dims"] == [2, 3] and grid["names"] == ["pole angle", "pole angular velocity"]
    x, y, policy = np.array(grid["x"]), np.array(grid["y"]), np.array(grid["policy"])
    assert policy.shape == (len(y), len(x)) == (64, 64)  # rows over y, columns over x
    falls_right = policy[np.ix_(y > 0, x > 0)]  # leaning right and turning right
    falls_left = policy[np.ix_(y < 0, x < 0)]
    assert falls_right.mean() > 0.9 and falls_left.mean() < 0.1, (falls_right.mean(), falls_left.mean())
    value = np.array(grid["value"])
    assert value.shape == policy.shape and 80 < value[32, 32] <= 101  # near 1 / (1 - 0.99) when balanced


def test_the_cart_pair_shows_the_push_that_tips_the_pole_first():
    checkpoint = load_policy(shipped_policy()).checkpoint
    grid = policy_map_from_checkpoint(checkpoint, dims=(0, 1), grid_size=32)
    x, y = grid.x, grid.y
    assert grid.names == ("cart position", "cart velocity") and grid.units == ("m", "m/s")
    assert x[0] < -2.4 < 2.4 < x[-1]  # the termination limits inside the range, visible
    # To bring a cart that drifts right back left, the pole must lean left first, and
    # only a push *right* tips it left: with the pole upright, right of centre and moving
    # right means push right (and the mirror image).
    drifting_right, drifting_left = grid.policy[np.ix_(y > 0, x > 0)], grid.policy[np.ix_(y < 0, x < 0)]
    assert drifting_right.mean() > 0.9 and drifting_left.mean() < 0.1


# -- the grid: shapes, orientation, kinds ---------------------------------------------------


@pytest.mark.parametrize("grid_size", [2, 5, 64])
def test_columns_follow_x_and_rows_follow_y(grid_size):
    policy = make_policy(spaces.Box(-1, 1, (4,)), spaces.Discrete(2), (8,), "tanh", 0.0)
    held_at = np.array([0.5, -0.25, 0.75, 0.125])
    for reads, expect in ((0, "x"), (3, "y"), (2, "held")):
        grid = evaluate_policy_map(
            policy, value_net_reading(reads), (0, 3), ((-1.0, 1.0), (-3.0, 2.0)), grid_size, held_at
        )
        assert grid.x.shape == grid.y.shape == (grid_size,)
        assert grid.value.shape == grid.policy.shape == (grid_size, grid_size)
        assert grid.x[0] == -1 and grid.x[-1] == 1 and grid.y[0] == -3 and grid.y[-1] == 2
        wanted = {
            "x": np.broadcast_to(grid.x[np.newaxis, :], (grid_size, grid_size)),
            "y": np.broadcast_to(grid.y[:, np.newaxis], (grid_size, grid_size)),
            "held": np.full((grid_size, grid_size), 0.75),
        }[expect]
        np.testing.assert_allclose(grid.value, wanted, atol=1e-6)


def test_the_fast_forward_pass_is_the_networks_own():
    torch.manual_seed(0)
    net = mlp([4, 64, 64, 2], "tanh")
    batch = torch.randn(4096, 4) * 3
    before = batch.clone()
    with torch.no_grad():
        torch.testing.assert_close(forward(net, batch), net(batch), atol=1e-6, rtol=0)
    assert torch.equal(batch, before)  # the input is never written


@pytest.mark.parametrize(
    ("env_id", "kind", "dtype"),
    [("Acrobot-v1", MOST_LIKELY, np.int64), ("Pendulum-v1", MEAN_ACTION, np.float32)],
)
def test_more_actions_give_the_likeliest_and_a_continuous_one_its_mean(env_id, kind, dtype):
    env = gym.make(env_id)
    obs_dim = env.observation_space.shape[0]
    policy = make_policy(env.observation_space, env.action_space, (16,), "tanh", 0.0)
    dims = default_dims(env_id, env.observation_space)
    ranges = default_ranges(env_id, env.observation_space)
    grid = evaluate_policy_map(
        policy, ValueNet(obs_dim, (16,), "tanh"), dims, (ranges[dims[0]], ranges[dims[1]]), 8, np.zeros(obs_dim)
    )
    env.close()
    assert grid.policy_kind == kind and grid.policy.dtype == dtype and grid.policy.shape == (8, 8)
    if kind == MOST_LIKELY:
        assert set(np.unique(grid.policy)) <= {0, 1, 2}


@pytest.mark.parametrize(("dims", "grid_size"), [((1, 1), 8), ((0, 4), 8), ((-1, 0), 8), ((0, 1), 1)])
def test_bad_dims_or_sizes_are_refused(dims, grid_size):
    policy = make_policy(spaces.Box(-1, 1, (4,)), spaces.Discrete(2), (8,), "tanh", 0.0)
    with pytest.raises(ValueError):
        evaluate_policy_map(policy, value_net_reading(0), dims, ((0, 1), (0, 1)), grid_size, np.zeros(4))


# -- the ranges ---------------------------------------------------------------------------


def test_visited_ranges_are_robust_percentiles_widened():
    rng = np.random.default_rng(0)
    spread = np.linspace(0.0, 100.0, 10_001)
    outliers = np.r_[spread, [1e6, -1e6]]  # two wild states must not stretch the map
    observations = np.stack([outliers, np.full_like(outliers, 3.0), rng.normal(size=outliers.shape)], axis=1)
    first, constant, _ = visited_ranges(observations)
    assert first.origin == VISITED
    assert first.low == pytest.approx(1.0 - 9.8, abs=0.1) and first.high == pytest.approx(99.0 + 9.8, abs=0.1)
    assert (constant.low, constant.high) == (2.5, 3.5)
    with pytest.raises(ValueError):
        visited_ranges(np.zeros((0, 3)))


def test_each_range_says_where_it_came_from():
    cartpole = gym.make("CartPole-v1")
    ranges = default_ranges("CartPole-v1", cartpole.observation_space)
    assert [r.origin for r in ranges] == [TERMINATION, TYPICAL, TERMINATION, TYPICAL]
    assert ranges[0].low < -2.4 and ranges[2].high > np.radians(12)
    visits = np.array([[0.0, -0.5, 0.0, -0.2], [0.1, 0.5, 0.01, 0.2]] * 50)
    ranges = default_ranges("CartPole-v1", cartpole.observation_space, visits)
    assert [r.origin for r in ranges] == [TERMINATION, VISITED, TERMINATION, VISITED]
    assert ranges[1].high < 1.0  # from the visits, not the measured typical 1.5
    pendulum = gym.make("Pendulum-v1")
    assert [(r.low, r.high, r.origin) for r in default_ranges("Pendulum-v1", pendulum.observation_space)][2] == (
        -8.0,
        8.0,
        BOUNDS,
    )
    unknown = spaces.Box(-np.inf, np.inf, (3,))
    assert {r.origin for r in default_ranges("Custom-v0", unknown)} == {UNBOUNDED}
    assert default_dims("Custom-v0", unknown) == (0, 1)


# -- the command ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--dims", "7,9"], "--dims 7,9: give two different dimensions of 0..3"),
        (["--dims", "2,2"], "--dims 2,2: give two different dimensions"),
        (["--dims", "2"], "--dims 2: give two different dimensions"),
        (["--dims", "a,b"], "--dims: not whole numbers"),
        (["--grid", "0"], "--grid: 0 is not in 2..1,024"),
        (["--grid", "5000"], "--grid: 5000 is not in 2..1,024"),
        (["--grid", "ten"], "--grid: not whole numbers"),
        (["--grid-of", "10,1"], "--grid-of: 1 to 8 different updates in increasing order"),
        (["--grid-of", "0,5"], "--grid-of: 0 is not in 1..5,000"),
        (["--out", "map.jpg"], "--out: map.jpg is not a .png file name"),
    ],
)
def test_bad_flags_are_one_line_and_exit_2(capsys, flags, named):
    status, out, lines = run(capsys, "map", SHIPPED, *flags)
    assert status == 2 and out == ""
    assert len(lines) == 1 and named in lines[0], lines


def test_a_bad_file_is_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "policy.safetensors"
    bad.write_bytes(b"not a policy at all")
    for path in (bad, tmp_path / "missing.safetensors", tmp_path):
        status, out, lines = run(capsys, "map", str(path))
        assert status == 2 and out == "" and len(lines) == 1 and str(path) in lines[0], lines


def test_the_png_is_written_beside_nothing_surprising_and_never_replaced_silently(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, lines = run(capsys, "map", SHIPPED, "--grid", "16")
    target = tmp_path / "cartpole-v1-map.png"
    assert status == 0 and out.startswith("cartpole-v1-map.png: CartPole-v1 update") and not lines
    assert png_size(target.read_bytes()) == figure_size(0) == (1800, 750)
    out_file = tmp_path / "maps" / "velocities.png"
    for attempt in range(2):
        status, _, lines = run(capsys, "map", SHIPPED, "--dims", "1,3", "--grid", "8", "--out", str(out_file))
        assert status == 0 and any("replaced" in line for line in lines) == (attempt == 1)
    assert png_size(out_file.read_bytes()) == (1800, 750)
    assert sorted(p.name for p in out_file.parent.iterdir()) == ["velocities.png"]  # no temp file left


def test_json_alone_draws_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, _ = run(capsys, "map", SHIPPED, "--json", "--dims", "0,1", "--grid", "4")
    assert status == 0 and list(tmp_path.iterdir()) == []
    grid = json.loads(out)
    assert {"dims", "names", "x", "y", "policy", "value"} <= grid.keys()
    assert grid["names"] == ["cart position", "cart velocity"] and len(grid["policy"]) == 4


def test_grid_of_trains_the_same_run_again_and_draws_a_strip(tmp_path, capsys):
    saved = tmp_path / "two.safetensors"
    status, _, _ = run(capsys, "train", "--steps", "2048", "--log-dir", str(tmp_path / "log"), "--save", str(saved))
    assert status == 0 and load_policy(saved).metadata.update == 2
    out_file = tmp_path / "strip.png"
    argv = ["map", str(saved), "--grid-of", "1,2", "--grid", "8", "--json", "--out", str(out_file)]
    status, out, _ = run(capsys, *argv)
    assert status == 0
    result = json.loads(out)
    assert result["updates"] == [1, 2] and result["same_run"] is True
    assert [grid["update"] for grid in result["maps"]] == [1, 2]
    assert (
        result["maps"][1]["policy"]
        == policy_map_from_checkpoint(load_policy(saved).checkpoint, grid_size=8).policy.tolist()
    )  # update 2 trained again is the file's update 2
    assert png_size(out_file.read_bytes()) == figure_size(2)


def test_grid_of_refuses_a_run_whose_knobs_were_turned(tmp_path, capsys):
    checkpoint = load_policy(shipped_policy()).checkpoint
    turned = dataclasses.replace(checkpoint, config_changes=(ConfigChange(3, 5, {"policy_lr": 0.001}),))
    path = save_policy(tmp_path / "turned.safetensors", turned)
    status, _, lines = run(capsys, "map", str(path), "--grid-of", "1,2")
    assert status == 2 and len(lines) == 1 and "knobs were turned during this run" in lines[0]


def test_the_map_panel_s_thread_ends_when_the_map_is_no_longer_drawn_and_starts_again_when_it_is(monkeypatch):
    monkeypatch.setattr(map_panel, "IDLE_SECONDS", 0.05)
    trainer = VPGTrainer(config_for("CartPole-v1", num_envs=4, steps_per_update=128))
    env = SimpleNamespace(observation_space=trainer.observation_space)
    stage = SimpleNamespace(snapshot=trainer.checkpoint(), observation=np.zeros(4), env=env, playing_update=0)
    frame = SimpleNamespace(env_id="CartPole-v1", stage=stage)
    trainer.close()
    pygame.init()
    painter = PanelPainter(pygame.Surface((1280, 720)), compute_layout(1280, 720), THEMES["dark"], Fonts())
    panel = map_panel.MapPanel()
    panel.draw(painter, pygame.Rect(0, 0, 600, 300), frame)
    first = panel._worker
    first.thread.join(timeout=30)  # no more frames draw the map: idle, its thread ends
    assert not first.thread.is_alive()
    panel._next_request = 0.0  # the next frame asks for a map again
    panel.draw(painter, pygame.Rect(0, 0, 600, 300), frame)
    assert panel._worker is not first and panel._worker.thread.is_alive()
    panel._worker.thread.join(timeout=30)
    assert not panel._worker.thread.is_alive()
