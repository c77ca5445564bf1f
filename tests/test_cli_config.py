"""Every knob a flag, every run repeatable, your own env: the command line as a tool."""

import csv
import dataclasses
import json
import os
import sys
from pathlib import Path

import pytest

from vpg_sim.cli import build_parser, main
from vpg_sim.cli.arguments import config_flag_names
from vpg_sim.core.config import VPGConfig, field_docs
from vpg_sim.policy_files import load_policy

FAST = ["--num-envs", "4", "--steps-per-update", "128", "--vf-iters", "2", "--vf-minibatch-size", "64"]


def run(capsys, *argv):
    try:
        status = main([str(arg) for arg in argv])
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def rows_without_timing(path):
    rows = list(csv.DictReader(path.open()))
    for row in rows:
        del row["train_seconds"], row["env_steps_per_second"]
    return rows


def test_every_config_field_is_a_flag_of_train_with_its_docstring_as_help():
    parser = build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    flags = {option: action for action in train._actions for option in action.option_strings}
    docs = field_docs()
    for field in dataclasses.fields(VPGConfig):
        action = flags[config_flag_names(field.name)[0]]
        assert action.dest == field.name and action.help == docs[field.name].replace("%", "%%")


def test_flags_reach_the_config_and_the_run_records_it(tmp_path, capsys):
    argv = ["train", *FAST, "--steps", "512", "--gamma", "0.98", "--policy-lr", "0.01", "--hidden-sizes", "32", "32"]
    status, _, _ = run(capsys, *argv, "--no-normalize-advantages", "--target-kl", "none", "--log-dir", tmp_path)
    assert status == 0
    record = json.loads((tmp_path / "config.json").read_text())
    config = VPGConfig.from_dict(record["config"])
    assert (config.gamma, config.policy_lr, config.hidden_sizes) == (0.98, 0.01, (32, 32))
    assert config.normalize_advantages is False and config.target_kl is None
    assert record["seed"] == 0 and record["vpg_sim_version"]


def test_a_run_repeats_bit_for_bit_from_its_config_json(tmp_path, capsys):
    first, second = tmp_path / "first", tmp_path / "second"
    assert run(capsys, "train", *FAST, "--steps", "1024", "--gamma", "0.97", "--seed", "4", "--log-dir", first)[0] == 0
    assert run(capsys, "train", "--config", first / "config.json", "--log-dir", second)[0] == 0
    assert rows_without_timing(first / "progress.csv") == rows_without_timing(second / "progress.csv")
    assert len(rows_without_timing(first / "progress.csv")) == 8


def test_flags_given_beside_a_config_file_win(tmp_path, capsys):
    toml = tmp_path / "lesson.toml"
    toml.write_text("gamma = 0.9\nvf_iters = 3\nhidden_sizes = [16]\n")
    argv = ["train", *FAST, "--steps", "128", "--config", toml, "--gamma", "0.95", "--log-dir", tmp_path]
    status, _, _ = run(capsys, *argv)
    assert status == 0
    config = VPGConfig.from_dict(json.loads((tmp_path / "config.json").read_text())["config"])
    assert (config.gamma, config.hidden_sizes) == (0.95, (16,))
    assert config.vf_iters == 2  # FAST's flag, given on the command line too


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON"),
        ('{"gamma": 0.9, "learning_rate": 1}', "unknown fields learning_rate"),
        ('{"gamma": "high"}', "gamma must be a number"),
        ('{"env_id": "os:Whatever-v0"}', "names a module to import"),
    ],
)
def test_a_bad_config_file_is_one_line_and_exit_2(tmp_path, capsys, content, problem):
    path = tmp_path / "config.json"
    path.write_text(content)
    status, _, err = run(capsys, "train", "--config", path, "--log-dir", tmp_path / "log")
    assert status == 2 and problem in err and len(err.strip().splitlines()) == 1


def test_your_own_env_trains_from_the_command_line_and_its_policy_needs_the_flag_again(tmp_path, capsys):
    saved = tmp_path / "walk.safetensors"
    env = "tests.custom_env_module:LineWalkTest-v0"
    status, out, _ = run(capsys, "train", "--env", env, *FAST, "--steps", "256", "--save", saved, "--log-dir", tmp_path)
    assert status == 0 and "LineWalkTest-v0" in out
    assert load_policy(saved).config.env_id == "LineWalkTest-v0"  # the bare id: the file names no module
    status, out, _ = run(capsys, "eval", saved, "--episodes", "2", "--env", env)
    assert status == 0 and "LineWalkTest-v0" in out


def test_a_file_never_imports_a_module(tmp_path, capsys):
    # A config that names a module is refused before Gymnasium sees it: nothing is imported.
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"env_id": "tests.import_sentinel:Boom-v0"}))
    status, _, err = run(capsys, "train", "--config", path, "--log-dir", tmp_path / "log")
    assert status == 2 and "names a module to import" in err
    assert "tests.import_sentinel" not in sys.modules


def test_tensorboard_logs_every_stats_field_and_the_config(tmp_path, capsys):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    assert run(capsys, "train", *FAST, "--steps", "256", "--log-dir", tmp_path, "--tensorboard")[0] == 0
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert {"mean_return_100", "policy_loss", "approx_kl", "policy_lr"} <= set(events.Tags()["scalars"])
    assert [event.step for event in events.Scalars("policy_loss")] == [1, 2]
    assert any("config" in tag for tag in events.Tags()["tensors"])


def test_without_tensorboard_the_flag_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if not installed
    status, _, err = run(capsys, "train", *FAST, "--steps", "128", "--log-dir", tmp_path, "--tensorboard")
    assert status == 2 and "pip install 'vpg-sim[tensorboard]'" in err


def test_version_names_the_shipped_policy(capsys):
    status, out, _ = run(capsys, "--version")
    assert status == 0 and "cartpole-v1.safetensors" in out


def test_the_estimator_s_help_says_that_normalised_total_return_is_the_return_minus_the_batch_mean(capsys):
    status, out, _ = run(capsys, "train", "--help")
    estimator = " ".join(out.split("--estimator NAME", 2)[2].split("--gamma")[0].split())
    assert status == 0 and "total-return trains on R(tau) minus the batch mean" in estimator
    assert "normalize_advantages on (the default)" in estimator


def test_an_env_module_in_the_current_folder_is_imported_by_the_command_line(tmp_path, capsys, monkeypatch):
    # A person's module beside them, not on sys.path: the command line puts the current folder first.
    module = Path(__file__).with_name("custom_env_module.py").read_text()
    (tmp_path / "walk_here.py").write_text(module.replace("LineWalkTest-v0", "WalkHere-v0"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [entry for entry in sys.path if entry not in ("", str(tmp_path))])
    env = "walk_here:WalkHere-v0"
    status, out, _ = run(capsys, "train", "--env", env, *FAST, "--steps", "128", "--log-dir", tmp_path)
    assert status == 0 and "WalkHere-v0" in out and sys.path[0] == str(tmp_path)


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda path: path.mkdir(), "is a folder, not a file"),
        (lambda path: os.mkfifo(path), "is a FIFO (named pipe), not a regular file"),  # and it does not wait on it
        (lambda path: path.symlink_to(path.parent / "gone.json"), "is a dangling symlink"),
        (lambda path: None, "no such file"),
    ],
)
def test_a_config_path_that_is_no_file_says_what_it_is(tmp_path, capsys, make, problem):
    path = tmp_path / "lesson.json"
    make(path)
    status, _, err = run(capsys, "train", "--config", path, "--log-dir", tmp_path / "log")
    assert status == 2 and err.strip() == f"vpg-sim: error: --config {path}: {problem}"
