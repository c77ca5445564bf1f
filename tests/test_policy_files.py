"""Policy files: exact round trips, refusal of every kind of bad file, crash safety."""

import dataclasses
import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as save_tensors

from tests.fork_eval import eval_each
from tests.hostile_files import padded
from tests.window_options import threaded
from vpg_sim.core.config import ConfigChange, config_for
from vpg_sim.core.evaluation import evaluate_greedy
from vpg_sim.core.trainer import VPGTrainer
from vpg_sim.policy_files import SUFFIX, PolicyFileError, load_policy, policy_from_file, save_policy, trainer_from_file
from vpg_sim.policy_files.schema import FORMAT_VERSION, METADATA_KEY

ROOT = Path(__file__).resolve().parent.parent
SMALL = {"num_envs": 4, "steps_per_update": 128, "vf_iters": 2, "vf_minibatch_size": 64}
SHIPPED = ROOT / "saved_models" / "cartpole-v1.safetensors"


@pytest.fixture(scope="module")
def trained():
    trainer = VPGTrainer(config_for("CartPole-v1", seed=5, **SMALL))
    for _ in range(6):
        trainer.train_update()
    yield trainer
    trainer.close()


@pytest.fixture
def saved(trained, tmp_path):
    return save_policy(tmp_path / "policy.safetensors", trained.checkpoint())


def test_round_trip_is_bit_identical_with_the_same_greedy_actions(trained, saved):
    loaded = load_policy(saved)
    for name, tensor in trained.policy.state_dict().items():
        assert torch.equal(loaded.checkpoint.policy_state[name], tensor), name
    for name, tensor in trained.value_net.state_dict().items():
        assert torch.equal(loaded.checkpoint.value_state[name], tensor), name
    states = torch.randn(1000, 4, generator=torch.Generator().manual_seed(0)) * torch.tensor([1.0, 1.0, 0.1, 1.0])
    restored = policy_from_file(loaded)
    assert torch.equal(restored.greedy(states), trained.policy.greedy(states))


def test_metadata_round_trip(trained, saved):
    meta = load_policy(saved).metadata
    assert meta.format_version == FORMAT_VERSION
    assert meta.env_id == "CartPole-v1"
    assert meta.update == trained.updates and meta.env_steps == trained.env_steps
    assert meta.observation_space == {"type": "Box", "shape": [4]}
    assert meta.action_space == {"type": "Discrete", "n": 2}
    assert meta.architecture == {"policy": "categorical", "hidden_sizes": [64, 64], "activation": "tanh"}
    assert meta.config == trained.config.to_dict()
    assert meta.mean_return_100 == pytest.approx(trained.mean_return_100)
    assert meta.created


def test_resume_continues_the_update_count_and_optimizer_state(trained, saved):
    resumed = trainer_from_file(load_policy(saved))
    try:
        assert resumed.updates == trained.updates
        saved_moment = resumed.policy_optimizer.state_dict()["state"][0]["exp_avg"]
        assert torch.equal(saved_moment, trained.policy_optimizer.state_dict()["state"][0]["exp_avg"])
        stats = resumed.train_update()
        assert stats.update == trained.updates + 1
        assert stats.env_steps == trained.env_steps + resumed.config.steps_per_update
    finally:
        resumed.close()


def test_knobs_turned_during_training_are_stored_and_restored(tmp_path):
    trainer = VPGTrainer(config_for("CartPole-v1", seed=1, **SMALL))
    try:
        trainer.train_update()
        episodes_before_change = trainer.collector.episodes
        trainer.reconfigure(gamma=0.95, entropy_coef=0.01)
        trainer.train_update()
        path = save_policy(tmp_path / "tuned.safetensors", trainer.checkpoint())
    finally:
        trainer.close()
    loaded = load_policy(path)
    assert loaded.config.gamma == 0.95 and loaded.config.entropy_coef == 0.01
    assert loaded.metadata.config_changes == [
        {"update": 2, "episode": episodes_before_change, "changes": {"gamma": 0.95, "entropy_coef": 0.01}}
    ]
    resumed = trainer_from_file(loaded)
    try:
        assert resumed.config_changes == trainer.config_changes
        assert resumed.config.gamma == 0.95
    finally:
        resumed.close()


def test_files_from_before_the_critic_kept_target_statistics_still_load(saved, tmp_path):
    header_and_tensors = load_tensors_and_metadata(saved)
    tensors, metadata = header_and_tensors
    del tensors["value.target_mean"], tensors["value.target_std"]
    old = tmp_path / "old.safetensors"
    old.write_bytes(save_tensors(tensors, metadata=metadata))
    loaded = load_policy(old)
    value_state = loaded.checkpoint.value_state
    assert float(value_state["target_mean"]) == 0.0 and float(value_state["target_std"]) == 1.0
    trainer_from_file(loaded).close()


def load_tensors_and_metadata(path):
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        return {key: handle.get_tensor(key) for key in handle.keys()}, handle.metadata()  # noqa: SIM118


def with_metadata(path, tensors, **metadata):
    path.write_bytes(save_tensors(tensors, metadata=metadata or None))
    return path


def bad_files(saved: Path, tmp: Path) -> dict[str, tuple[Path, str]]:
    """Every kind of bad file, each with the words its error must contain."""
    data = saved.read_bytes()
    meta = json.loads(load_policy(saved).metadata.to_json())
    tensors = {"w": torch.zeros(2)}
    (tmp / "empty.safetensors").write_bytes(b"")
    (tmp / "truncated.safetensors").write_bytes(data[: len(data) // 2])
    (tmp / "cut-header.safetensors").write_bytes(data[:40])
    (tmp / "text.safetensors").write_text("hello, I am not a policy")
    (tmp / "pickle.safetensors").write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    torch.save({"weights": torch.zeros(3)}, tmp / "torch-save.safetensors")
    newer = {**meta, "format_version": FORMAT_VERSION + 1}
    acrobot = {**meta, "env_id": "Acrobot-v1", "config": {**meta["config"], "env_id": "Acrobot-v1"}}
    loaded = load_policy(saved)
    wrong_shape = {f"policy.{k}": v for k, v in loaded.checkpoint.policy_state.items()}
    wrong_shape["policy.logits_net.0.weight"] = torch.zeros(64, 5)
    wrong_shape.update({f"value.{k}": v for k, v in loaded.checkpoint.value_state.items()})
    return {
        "missing": (tmp / "nowhere.safetensors", "no such file"),
        "directory": (tmp, "is a directory"),
        "empty": (tmp / "empty.safetensors", "is empty"),
        "truncated": (tmp / "truncated.safetensors", "truncated"),
        "truncated header": (tmp / "cut-header.safetensors", "truncated"),
        "not safetensors": (tmp / "text.safetensors", "not a safetensors file"),
        "pickle": (tmp / "pickle.safetensors", "pickle"),
        "torch.save": (tmp / "torch-save.safetensors", "torch.save"),
        "no metadata": (with_metadata(tmp / "plain.safetensors", tensors), "without vpg-sim metadata"),
        "newer format": (
            with_metadata(tmp / "newer.safetensors", tensors, **{METADATA_KEY: json.dumps(newer)}),
            "newer than this vpg-sim",
        ),
        "another env": (
            with_metadata(tmp / "acrobot.safetensors", tensors, **{METADATA_KEY: json.dumps(acrobot)}),
            "policy for Acrobot-v1, not CartPole-v1",
        ),
        "wrong shapes": (
            with_metadata(tmp / "shapes.safetensors", wrong_shape, **{METADATA_KEY: json.dumps(meta)}),
            "has shape [64, 5], expected [64, 4]",
        ),
    }


def test_every_bad_file_is_refused_with_one_line_naming_it(saved, tmp_path):
    for kind, (path, words) in bad_files(saved, tmp_path).items():
        with pytest.raises(PolicyFileError) as caught:
            load_policy(path, expected_env="CartPole-v1")
        message = str(caught.value)
        assert words in message, (kind, message)
        assert str(path) in message and "\n" not in message, kind


def test_cli_refuses_every_bad_file_with_exit_2(saved, tmp_path):
    files = {kind: case for kind, case in bad_files(saved, tmp_path).items() if kind != "another env"}
    # (eval takes a policy for any env: "another env" is the window's refusal, tested below)
    output = tmp_path / "eval-output"
    output.mkdir()
    results = eval_each([path for path, _ in files.values()], output)
    for (kind, (_, words)), result in zip(files.items(), results, strict=True):
        assert result["exit"] == 2, (kind, result)
        assert result["stderr"].splitlines() == [result["stderr"].strip()], kind  # one line
        assert result["stderr"].startswith("vpg-sim: error:"), kind
        assert words in result["stderr"] and "Traceback" not in result["stderr"], kind


def test_window_load_refuses_bad_files_and_leaves_training_untouched(saved, tmp_path):
    from vpg_sim.ui.window.app import App

    app = App(threaded(pace="full", config=config_for("CartPole-v1", **SMALL), models_dir=tmp_path))
    try:
        deadline = time.monotonic() + 10
        while app.session.latest_snapshot().update < 2 and time.monotonic() < deadline:
            app.step()
        session = app.session
        for kind, (path, words) in bad_files(saved, tmp_path).items():
            app.commands.load_from_file(path, play=False)
            assert app.session is session and session.running, kind
            assert app.toasts.items[-1].error and words in app.toasts.items[-1].text, kind
        app.commands.load_from_file(saved, play=True)
        assert app.session is not session and app.view.playback
        assert app.session.latest_snapshot().update == load_policy(saved).metadata.update
    finally:
        app.close()


def test_window_save_never_overwrites(tmp_path):
    from vpg_sim.ui.window.app import App

    app = App(threaded(playback=True, config=config_for("CartPole-v1", **SMALL), models_dir=tmp_path))
    try:  # in playback no update runs, so both saves see the same snapshot
        app.command("save")
        app.command("save")
    finally:
        app.close()
    files = {p.name for p in tmp_path.glob("*.safetensors")}
    assert files == {"CartPole-v1-u0.safetensors", "CartPole-v1-u0-2.safetensors"}


SAVER = """
import sys
from pathlib import Path
import torch
torch.set_num_threads(1)
from vpg_sim.core.config import config_for
from vpg_sim.core.trainer import VPGTrainer
from vpg_sim.policy_files import save_policy
trainer = VPGTrainer(config_for("CartPole-v1", num_envs=4, steps_per_update=128, vf_iters=1, vf_minibatch_size=64))
target = Path(sys.argv[1])
print("ready", flush=True)
while True:
    trainer.train_update()
    save_policy(target, trainer.checkpoint())
"""


@pytest.mark.slow
def test_kill_9_while_saving_always_leaves_a_whole_file(tmp_path):
    target = tmp_path / "policy.safetensors"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = torch.Generator().manual_seed(0)
    updates_seen = set()
    for _ in range(20):
        process = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(target)], env=env, stdout=subprocess.PIPE, text=True
        )
        assert process.stdout.readline().strip() == "ready"
        time.sleep(0.05 + 0.25 * torch.rand(1, generator=rng).item())
        process.send_signal(signal.SIGKILL)
        process.wait()
        if target.exists():
            updates_seen.add(load_policy(target).metadata.update)  # raises if the file is not whole
    assert updates_seen, "the saver never got to write a file"
    # A kill mid-write leaves its temp file behind; hidden, and never a name L would list.
    assert list(tmp_path.glob(f"*{SUFFIX}")) == [target]
    assert all(p.name.startswith(".") and p.name.endswith(".tmp") for p in tmp_path.iterdir() if p != target)


def knob_turns_with_extra_digits(extra: int) -> tuple[ConfigChange, ...]:
    """30 knob turns whose episode numbers have ``extra`` (0-270) digits more than 30 zeros."""
    digits = [min(9, max(0, extra - 9 * turn)) for turn in range(30)]
    return tuple(ConfigChange(update=1, episode=10**count, changes={"gamma": 0.9}) for count in digits)


def test_a_saved_policy_loads_whatever_its_header_length(trained, tmp_path):
    """The 8-byte header length comes first, so a file may begin with any byte: 0x80 is
    pickle's first byte, and a length of 128 mod 256 once made valid files "pickles".

    Each digit in the metadata adds a byte to the header, which safetensors pads to a
    multiple of 8; 32 files 8 digits apart give every length mod 256 it writes. Another
    writer may not pad, or may begin the JSON with spaces: each is also loaded with 1 to
    8 spaces before its header's JSON, so that every header length mod 256 occurs, 0x80
    among them with a space, not "{", at byte 8.
    """
    checkpoint = trained.checkpoint()
    lengths = set()
    for extra in range(0, 256, 8):
        changes = knob_turns_with_extra_digits(extra)
        path = save_policy(tmp_path / f"turns-{extra}{SUFFIX}", dataclasses.replace(checkpoint, config_changes=changes))
        data = path.read_bytes()
        for pad in range(9):
            path.write_bytes(padded(data, pad))
            (length,) = struct.unpack("<Q", path.read_bytes()[:8])
            lengths.add(length % 256)
            loaded = load_policy(path)
            assert loaded.checkpoint.config_changes == tuple(
                ConfigChange(change.update, change.episode, {"gamma": 0.9}) for change in changes
            )
    assert lengths == set(range(256))


def test_saved_policies_are_readable_by_others_like_any_new_file(saved):
    assert saved.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_shipped_policy_scores_500_in_every_greedy_episode():
    loaded = load_policy(SHIPPED, expected_env="CartPole-v1")
    returns = evaluate_greedy(policy_from_file(loaded), "CartPole-v1", episodes=20)
    assert returns.min() == 500.0, returns
