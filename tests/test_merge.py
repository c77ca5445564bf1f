"""A class's laptops pooled: compare --json-out shards merged give exactly one run over all
their seeds; files that ran something else, overlap, were cut short or edited are refused
in one line."""

import contextlib
import dataclasses
import io
import json
from pathlib import Path

import pytest

from tests.test_comparison import run
from vpg_sim.cli import main
from vpg_sim.cli.comparison_file import comparison_json, read_comparison

# gae and baseline agents batch alike: a seed's run is the same to the bit alone or among
# others (test_population.py), so a shard's seeds are exactly the full run's.
SHARD = [
    "compare",
    "--a",
    "estimator=baseline",
    "--b",
    "gae_lambda=0.9",
    "--max-steps",
    "512",
    "--headless",
    "--num-envs",
    "2",
    "--steps-per-update",
    "128",
    "--vf-iters",
    "1",
    "--vf-minibatch-size",
    "64",
]


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """Seeds 0-2, 3-5 and 0-5 of the same comparison, each a --json-out file, and what
    each run printed with --json."""
    folder = tmp_path_factory.mktemp("shards")
    printed = {}
    for name, seeds in (("first", "0-2"), ("second", "3-5"), ("all", "0-5")):
        argv = [*SHARD, "--json", "--seeds", seeds, "--json-out", folder / f"{name}.json", "--out", folder / "c.png"]
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            assert main([str(arg) for arg in argv]) == 0
        printed[name] = out.getvalue()
    return folder, printed


def without_wall_time(text):
    return [{k: v for k, v in json.loads(line).items() if k != "wall_seconds"} for line in text.splitlines()]


def test_two_halves_merged_are_exactly_one_run_over_all_seeds(shards, capsys, tmp_path):
    folder, printed = shards
    merged_file = tmp_path / "merged.json"
    status, halves, err = run(
        capsys,
        "merge",
        folder / "second.json",
        folder / "first.json",
        "--json",
        "--json-out",
        merged_file,
        "--out",
        tmp_path / "m.png",
    )
    assert status == 0, err
    status, whole, _ = run(capsys, "merge", folder / "all.json", "--json", "--out", tmp_path / "w.png")
    assert status == 0
    assert halves == whole  # every statistic, to the last digit
    assert without_wall_time(halves) == without_wall_time(printed["all"])  # and what compare printed
    assert merged_file.read_bytes() == (folder / "all.json").read_bytes()  # the pooled file, byte for byte
    groups = [json.loads(line) for line in halves.splitlines()]
    assert [group["seeds"] for group in groups] == [list(range(6))] * 2
    assert "merged 2 files, 6 seeds per group" in err[-1]


def test_a_file_holds_every_seed_s_curve_steps_to_solve_config_and_version(shards):
    folder, _ = shards
    document = json.loads((folder / "first.json").read_text())
    assert document["vpg_sim_version"] and document["env"] == "CartPole-v1"
    group = document["groups"][1]
    assert group["name"] == "B" and group["config"]["gae_lambda"] == 0.9 and "seed" not in group["config"]
    assert [seed["seed"] for seed in group["seeds"]] == [0, 1, 2]
    for seed in group["seeds"]:
        assert len(seed["env_steps"]) == len(seed["returns"]) > 0 and seed["env_steps"][-1] >= 512


def rewritten(folder: Path, source: str, target: Path, config=None, **changes) -> Path:
    """A copy of a shard with some of what it ran changed, its checksum made anew (as a
    different vpg-sim or config would have written it)."""
    comparison = read_comparison(folder / source)
    results = comparison.results
    if config is not None:
        results = tuple(dataclasses.replace(result, config=result.config.replace(**config)) for result in results)
    target.write_bytes(comparison_json(dataclasses.replace(comparison, results=results, **changes)))
    return target


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"version": "0.1.0"}, "in the vpg-sim version: '0.1.0' there, "),
        ({"env_id": "Acrobot-v1"}, "in the env: 'Acrobot-v1' there, 'CartPole-v1' here"),
        ({"config": {"policy_lr": 0.05}}, "in group A's policy_lr: 0.05 there, 0.02 here"),
    ],
)
def test_files_that_ran_something_else_are_refused_naming_the_difference(shards, capsys, tmp_path, changes, named):
    folder, _ = shards
    other = rewritten(folder, "second.json", tmp_path / "other.json", **changes)
    status, _, lines = run(capsys, "merge", folder / "first.json", other, "--out", tmp_path / "x.png")
    assert status == 2 and len(lines) == 1
    assert f"{other} differs from {folder / 'first.json'} {named}" in lines[0]
    assert not (tmp_path / "x.png").exists()


def test_a_seed_in_two_files_is_refused(shards, capsys, tmp_path):
    folder, _ = shards
    status, _, lines = run(capsys, "merge", folder / "first.json", folder / "all.json", "--out", tmp_path / "x.png")
    assert status == 2 and len(lines) == 1
    assert f"seed 0 of group A is in both {folder / 'first.json'} and {folder / 'all.json'}" in lines[0]


def test_a_truncated_file_is_refused_in_one_line(shards, capsys, tmp_path):
    folder, _ = shards
    data = (folder / "first.json").read_bytes()
    cut = tmp_path / "cut.json"
    cut.write_bytes(data[: len(data) // 2])
    status, _, lines = run(capsys, "merge", folder / "second.json", cut)
    assert status == 2 and len(lines) == 1 and f"{cut}: not a whole JSON file (truncated?)" in lines[0]


def test_a_hand_edited_file_is_refused_in_one_line(shards, capsys, tmp_path):
    folder, _ = shards
    document = json.loads((folder / "first.json").read_text())
    document["groups"][0]["seeds"][1]["steps_to_solve"] = 100  # a better result, typed in
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(document))
    status, _, lines = run(capsys, "merge", edited, folder / "second.json")
    assert status == 2 and len(lines) == 1
    assert f"{edited}: its contents do not match its checksum (edited by hand, or damaged)" in lines[0]


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (None, "no such file"),
        ("", "not a whole JSON file"),
        ('{"format": "something else"}', "not a vpg-sim comparison file"),
        ("[1, 2]", "not a vpg-sim comparison file"),
    ],
)
def test_a_missing_file_or_one_of_another_kind_is_refused_in_one_line(capsys, tmp_path, content, named):
    if content is not None:
        (tmp_path / "f.json").write_text(content)
    status, _, lines = run(capsys, "merge", tmp_path / "f.json")
    assert status == 2 and len(lines) == 1
    assert lines[0].startswith(f"vpg-sim: error: merge: {tmp_path / 'f.json'}: {named}")
