"""A corpus of hostile policy files, generated in a test's folder (never committed as binaries).

Every way a ``*.safetensors`` file can be wrong, one file each: special files (a FIFO, a
symlink to /dev/zero, loops), broken containers, metadata taken on trust, bad weights,
bad optimiser and resume state, a policy for another env. Each comes with what vpg-sim
must do with it: load it, or refuse it with one line that contains given words.

The files are made from two valid policies (CartPole: categorical, the numpy vector env;
Pendulum: Gaussian, ``SyncVectorEnv``) by editing their JSON or tensors, or byte by byte.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save as save_tensors

from vpg_sim.core.config import config_for

VALID = "valid"
"""Loads, trains on and plays."""
REFUSED = "refused"
"""``load_policy`` refuses it (so do ``trainer_from_file`` and ``eval``)."""
WRONG_ENV = "wrong env"
"""Loads, but its spaces do not match its env as installed: training on and ``eval`` refuse it."""
UNRESUMABLE = "unresumable"
"""Loads and plays, but its resume state does not fit its env: training on refuses it."""


@dataclass(frozen=True)
class HostileFile:
    kind: str
    """What is wrong with it, in a few words (the test id)."""
    path: Path
    outcome: str
    """VALID, REFUSED, WRONG_ENV or UNRESUMABLE."""
    words: str = ""
    """What the one-line refusal must contain."""


def read_policy(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """A valid policy file's tensors and its header's string metadata."""
    with safe_open(str(path), framework="pt") as handle:
        return {name: handle.get_tensor(name) for name in handle.keys()}, dict(handle.metadata())  # noqa: SIM118


def header_bytes(header: dict[str, Any] | bytes) -> bytes:
    """A safetensors prefix: the little-endian u64 length, then the header."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text


def padded(data: bytes, pad: int) -> bytes:
    """The same file with ``pad`` spaces before its header's JSON (JSON allows them, so
    does safetensors): another header length, and byte 8 no longer "{"."""
    (length,) = struct.unpack("<Q", data[:8])
    header = b" " * pad + data[8 : 8 + length]
    return header_bytes(header) + data[8 + length :]


class Corpus:
    """Writes hostile files into ``folder`` and records what each must do."""

    def __init__(self, folder: Path, cartpole: Path, pendulum: Path) -> None:
        self.folder = folder
        self.files: list[HostileFile] = []
        self.cartpole_path, self.pendulum_path = cartpole, pendulum
        self.cartpole = read_policy(cartpole)
        self.pendulum = read_policy(pendulum)

    def add(self, kind: str, path: Path, outcome: str, words: str = "") -> None:
        self.files.append(HostileFile(kind, path, outcome, words))

    def path(self, kind: str) -> Path:
        return self.folder / (kind.replace(" ", "-").replace("/", "-") + ".safetensors")

    def raw(self, kind: str, data: bytes, outcome: str, words: str = "") -> None:
        path = self.path(kind)
        path.write_bytes(data)
        self.add(kind, path, outcome, words)

    def edited(
        self,
        kind: str,
        outcome: str,
        words: str = "",
        metadata: Callable[[dict], Any] | None = None,
        config: Callable[[dict], Any] | None = None,
        resume: Callable[[dict], Any] | None = None,
        groups: Callable[[dict], Any] | None = None,
        tensors: Callable[[dict], Any] | None = None,
        header: Callable[[dict], Any] | None = None,
        base: str = "cartpole",
    ) -> None:
        """A valid policy with parts edited in place: the vpg-sim metadata, its config, the
        resume state, the optimiser's param groups (each as JSON), the tensors, the header's strings."""
        original_tensors, original_strings = self.cartpole if base == "cartpole" else self.pendulum
        all_tensors, strings = dict(original_tensors), dict(original_strings)
        if metadata is not None or config is not None:
            meta = json.loads(strings["vpg_sim"])
            if metadata is not None:
                metadata(meta)
            if config is not None:
                config(meta["config"])
            strings["vpg_sim"] = json.dumps(meta)
        for key, edit in (("vpg_sim_resume", resume), ("optimizer_param_groups", groups)):
            if edit is not None:
                value = json.loads(strings[key])
                edit(value)
                strings[key] = json.dumps(value)
        if tensors is not None:
            tensors(all_tensors)
        if header is not None:
            header(strings)
        path = self.path(kind)
        path.write_bytes(save_tensors(all_tensors, metadata=strings))
        self.add(kind, path, outcome, words)


def _set(key: str, value: Any) -> Callable[[dict], None]:
    """An edit that sets ``key`` (dotted for nested dicts, an int for a list index) to ``value``."""

    def edit(record: dict) -> None:
        *parents, last = key.split(".")
        for part in parents:
            record = record[int(part)] if isinstance(record, list) else record[part]
        if isinstance(record, list):
            record[int(last)] = value
        else:
            record[last] = value

    return edit


def _put(name: str, tensor: torch.Tensor) -> Callable[[dict], None]:
    """An edit that sets the tensor ``name`` (its dots are part of the name)."""
    return lambda tensors: tensors.__setitem__(name, tensor)


def _delete(key: str) -> Callable[[dict], None]:
    return lambda record: record.pop(key)


def _deep(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def write_corpus(folder: Path, cartpole: Path, pendulum: Path) -> list[HostileFile]:
    """Write every hostile file into ``folder`` (which should hold nothing else) and list them.

    ``cartpole`` and ``pendulum`` are valid policy files saved after at least one update
    (so that they hold Adam's state and the collection's resume state).
    """
    corpus = Corpus(folder, cartpole, pendulum)
    _valid_files(corpus)
    _special_files(corpus)
    _containers(corpus)
    _metadata(corpus)
    _weights(corpus)
    _optimizer(corpus)
    _resume(corpus)
    return corpus.files


def _valid_files(corpus: Corpus) -> None:
    data = corpus.cartpole_path.read_bytes()
    corpus.raw("valid cartpole", data, VALID)
    corpus.raw("valid pendulum", corpus.pendulum_path.read_bytes(), VALID)
    (length,) = struct.unpack("<Q", data[:8])
    # A header length whose first byte is 0x80, pickle's first byte; and one not a multiple of 8.
    corpus.raw("valid header length 0x80", padded(data, (0x80 - length) % 256), VALID)
    corpus.raw("valid unaligned header", padded(data, 3), VALID)
    corpus.edited("valid without resume state", VALID, header=_delete("vpg_sim_resume"))

    def without_optimizer(tensors: dict) -> None:
        for name in [name for name in tensors if "_optimizer." in name]:
            del tensors[name]

    corpus.edited(
        "valid without optimizer state", VALID, tensors=without_optimizer, header=_delete("optimizer_param_groups")
    )

    def without_target_statistics(tensors: dict) -> None:
        del tensors["value.target_mean"], tensors["value.target_std"]

    corpus.edited("valid without target statistics", VALID, tensors=without_target_statistics)
    corpus.edited("valid largest seed", VALID, config=_set("seed", 2**32 - 1))


def _special_files(corpus: Corpus) -> None:
    folder = corpus.folder
    corpus.add("missing", corpus.path("missing"), REFUSED, "no such file")
    corpus.path("directory").mkdir()
    corpus.add("directory", corpus.path("directory"), REFUSED, "is a directory")
    corpus.path("dangling symlink").symlink_to(folder / "nothing-here")
    corpus.add("dangling symlink", corpus.path("dangling symlink"), REFUSED, "dangling symlink")
    corpus.path("symlink loop").symlink_to(corpus.path("symlink loop"))
    corpus.add("symlink loop", corpus.path("symlink loop"), REFUSED, "symlink loop")
    os.mkfifo(corpus.path("fifo"))
    corpus.add("fifo", corpus.path("fifo"), REFUSED, "FIFO")
    for device in ("/dev/zero", "/dev/urandom"):
        path = corpus.path(f"symlink to {device}")
        path.symlink_to(device)
        corpus.add(f"symlink to {device}", path, REFUSED, "character device")


def _containers(corpus: Corpus) -> None:
    data = corpus.cartpole_path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    corpus.raw("empty", b"", REFUSED, "is empty")
    corpus.raw("five bytes", b"\x01\x02\x03\x04\x05", REFUSED, "not a safetensors file")
    corpus.raw("truncated tensors", data[: len(data) - 100], REFUSED, "truncated")
    corpus.raw("truncated header", data[:40], REFUSED, "truncated")
    corpus.raw("trailing bytes", data + b"\0" * 16, REFUSED, "corrupt")
    corpus.raw("header length 2**63", struct.pack("<Q", 2**63) + b'{"a":1}', REFUSED, "truncated")
    huge = corpus.path("header of 64 MB")
    with huge.open("wb") as sparse:  # a sparse file: 64 MB long, nothing written
        sparse.write(struct.pack("<Q", 64 << 20) + b"{")
        sparse.truncate(8 + (64 << 20) + 16)
    corpus.add("header of 64 MB", huge, REFUSED, "more than vpg-sim reads")
    corpus.raw("text", b"hello, I am not a policy", REFUSED, "not a safetensors file")
    corpus.raw("pickle", pickle.dumps({"weights": list(range(100))}), REFUSED, "pickle")
    corpus.raw("pickle protocol 2", pickle.dumps({"weights": [1, 2, 3]}, protocol=2), REFUSED, "pickle")
    zip_path = corpus.path("torch.save")
    torch.save({"weights": torch.zeros(3)}, zip_path)
    corpus.add("torch.save", zip_path, REFUSED, "torch.save")
    corpus.raw("header not utf-8", header_bytes(b'{"\xff\xfe": 1}'), REFUSED, "UTF-8")
    corpus.raw("header a list", header_bytes(b"[1, 2, 3]"), REFUSED, "not a safetensors file")
    corpus.raw("header nested 100000 deep", header_bytes(_deep(100_000).encode()), REFUSED, "nested")
    nan_shape = b'{"w": {"dtype": "F32", "shape": [NaN], "data_offsets": [0, 4]}}'
    corpus.raw("header NaN", header_bytes(nan_shape) + bytes(4), REFUSED, "NaN")
    corpus.raw("header 1e999", header_bytes(b'{"__metadata__": {"a": "b"}, "x": 1e999}'), REFUSED, "1e999")
    # Just under the 8 MB a header may have, of the JSON that takes most memory per byte.
    objects = b"[" + b"{}," * (((8 << 20) - 100) // 3) + b"{}]"
    corpus.raw("header of 8 MB of objects", header_bytes(b'{"x": ' + objects + b"}"), REFUSED, "without vpg-sim")
    metadata_of_objects = {"__metadata__": {"vpg_sim": (objects[: (8 << 20) - 100].rstrip(b",{") + b"]").decode()}}
    corpus.raw(
        "metadata of 8 MB of objects",
        header_bytes(json.dumps(metadata_of_objects).encode()),
        REFUSED,
        "vpg-sim metadata",
    )
    corpus.raw("metadata not strings", header_bytes({"__metadata__": {"vpg_sim": {"a": 1}}}), REFUSED, "__metadata__")

    # Two tensors of one size at the same bytes: the header lies about where they are.
    header = json.loads(data[8 : 8 + length])
    header["value.net.0.bias"]["data_offsets"] = header["policy.logits_net.0.bias"]["data_offsets"]
    corpus.raw("overlapping offsets", header_bytes(header) + data[8 + length :], REFUSED, "corrupt")
    header = json.loads(data[8 : 8 + length])
    header["value.net.0.bias"]["shape"] = [2**62, 2**62]
    corpus.raw("shape overflow", header_bytes(header) + data[8 + length :], REFUSED, "corrupt")


def _metadata(corpus: Corpus) -> None:
    edit = corpus.edited
    edit("no vpg-sim metadata", REFUSED, "without vpg-sim metadata", header=_delete("vpg_sim"))
    edit("metadata not JSON", REFUSED, "vpg-sim metadata", header=_set("vpg_sim", "{not json"))
    edit("metadata a list", REFUSED, "vpg-sim metadata", header=_set("vpg_sim", "[1, 2]"))
    edit("metadata nested deep", REFUSED, "nested", header=_set("vpg_sim", _deep(100_000)))
    edit("newer format", REFUSED, "newer than this vpg-sim", metadata=_set("format_version", 2))
    edit("format version a string", REFUSED, "format_version", metadata=_set("format_version", "1"))
    edit("metadata field missing", REFUSED, "update", metadata=_delete("update"))
    edit("metadata field unknown", REFUSED, "surprise", metadata=_set("surprise", 1))
    edit("action_space.n two", REFUSED, "action_space.n", metadata=_set("action_space.n", "two"))
    edit("action_space.n -2", REFUSED, "action_space.n", metadata=_set("action_space.n", -2))
    edit("action_space.n 10**9", REFUSED, "action_space.n", metadata=_set("action_space.n", 10**9))
    edit("action_space Dict", REFUSED, "action_space.type", metadata=_set("action_space.type", "Dict"))
    edit("observation shape -4", REFUSED, "observation_space.shape", metadata=_set("observation_space.shape", [-4]))
    edit("observation shape 1e9", REFUSED, "observation_space.shape", metadata=_set("observation_space.shape", [1e9]))
    edit("observation shape 2-D", REFUSED, "observation_space.shape", metadata=_set("observation_space.shape", [2, 2]))

    def hidden(sizes: Any) -> Callable[[dict], None]:
        def edit_both(meta: dict) -> None:
            meta["architecture"]["hidden_sizes"] = sizes
            meta["config"]["hidden_sizes"] = sizes

        return edit_both

    edit("hidden sizes 100000 x 100000", REFUSED, "hidden_sizes", metadata=hidden([100_000, 100_000]))
    edit("hidden sizes 9 layers", REFUSED, "hidden_sizes", metadata=hidden([8] * 9))
    edit("hidden sizes 2048 x 8", REFUSED, "weights between hidden layers", metadata=hidden([2048] * 8))
    edit("hidden sizes a string", REFUSED, "hidden_sizes", metadata=hidden("64"))
    edit("hidden sizes 0", REFUSED, "hidden_sizes", metadata=hidden([0]))
    edit("architecture differs from config", REFUSED, "hidden_sizes", metadata=_set("architecture.hidden_sizes", [32]))
    edit("activation differs", REFUSED, "activation", metadata=_set("architecture.activation", "relu"))
    edit("policy kind differs", REFUSED, "architecture.policy", metadata=_set("architecture.policy", "gaussian"))
    edit("num_envs 1e9", REFUSED, "num_envs", config=_set("num_envs", 1e9))
    edit("num_envs 10**9", REFUSED, "num_envs", config=_set("num_envs", 10**9))
    edit("num_envs -1", REFUSED, "num_envs", config=_set("num_envs", -1))
    edit("seed -1", REFUSED, "seed", config=_set("seed", -1))
    edit("seed 2**70", REFUSED, "seed", config=_set("seed", 2**70))
    edit("update abc", REFUSED, "update", metadata=_set("update", "abc"))
    edit("update -1", REFUSED, "update", metadata=_set("update", -1))
    edit("update true", REFUSED, "update", metadata=_set("update", True))
    edit("env_steps 1e300", REFUSED, "env_steps", metadata=_set("env_steps", 1e300))
    edit("torch_threads 1e6", REFUSED, "torch_threads", config=_set("torch_threads", 1e6))
    edit("torch_threads 10**6", REFUSED, "torch_threads", config=_set("torch_threads", 10**6))
    edit("steps_per_update 10**12", REFUSED, "steps_per_update", config=_set("steps_per_update", 10**12))
    edit("steps_per_update not a multiple", REFUSED, "steps_per_update", config=_set("steps_per_update", 127))
    edit("vf_iters 10**9", REFUSED, "vf_iters", config=_set("vf_iters", 10**9))
    edit("gamma NaN", REFUSED, "NaN", config=_set("gamma", float("nan")))
    edit("policy_lr 1e999", REFUSED, "Infinity", config=_set("policy_lr", float("inf")))
    edit("policy_lr huge int", REFUSED, "policy_lr", config=_set("policy_lr", 10**400))
    edit("gamma a string", REFUSED, "gamma", config=_set("gamma", "0.99"))
    edit("gamma 2", REFUSED, "gamma", config=_set("gamma", 2.0))
    edit("normalize_advantages yes", REFUSED, "normalize_advantages", config=_set("normalize_advantages", "yes"))
    edit("target_kl a list", REFUSED, "target_kl", config=_set("target_kl", [0.03]))
    edit("init_log_std 1e300", REFUSED, "init_log_std", config=_set("init_log_std", 1e300))
    edit("unknown config key", REFUSED, "surprise", config=_set("surprise", 1))
    edit("config a list", REFUSED, "config", metadata=_set("config", [1, 2]))
    edit("unknown env", REFUSED, "Nope-v0", metadata=lambda m: _both_env_ids(m, "Nope-v0"))
    edit("env id with a newline", REFUSED, "env_id", metadata=lambda m: _both_env_ids(m, "CartPole-v1\nEvil"))
    edit("env ids differ", REFUSED, "env_id", metadata=_set("env_id", "Acrobot-v1"))
    edit("mean_return_100 a string", REFUSED, "mean_return_100", metadata=_set("mean_return_100", "high"))
    edit("created a number", REFUSED, "created", metadata=_set("created", 12345))
    edit("config_changes strings", REFUSED, "config_changes", metadata=_set("config_changes", ["a", "b"]))
    change = {"update": 1, "episode": 0, "changes": {"gamma": 0.9}}
    edit("config_changes 20000", REFUSED, "config_changes", metadata=_set("config_changes", [change] * 20_000))
    edit(
        "config_changes value a string",
        REFUSED,
        "config_changes",
        metadata=_set("config_changes", [{**change, "changes": {"gamma": "x"}}]),
    )
    # Every field says Acrobot, but the weights are CartPole's (4 inputs, 2 actions).
    edit("cartpole weights, acrobot env", WRONG_ENV, "do not match Acrobot-v1", metadata=_acrobot)


def _both_env_ids(meta: dict, env_id: str) -> None:
    meta["env_id"] = env_id
    meta["config"]["env_id"] = env_id


def _acrobot(meta: dict) -> None:
    _both_env_ids(meta, "Acrobot-v1")


def _weights(corpus: Corpus) -> None:
    weight = "policy.logits_net.0.weight"

    def replaced(name: str, make: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[dict], None]:
        def edit(tensors: dict) -> None:
            tensors[name] = make(tensors[name])

        return edit

    def nan(t: torch.Tensor) -> torch.Tensor:
        t = t.clone()
        t.view(-1)[0] = float("nan")
        return t

    edit = corpus.edited
    edit("weight NaN", REFUSED, weight, tensors=replaced(weight, nan))
    edit("weight inf", REFUSED, "value.net.0.bias", tensors=replaced("value.net.0.bias", lambda t: t + float("inf")))
    edit("weight int8", REFUSED, weight, tensors=replaced(weight, lambda t: t.to(torch.int8)))
    edit("weight bool", REFUSED, weight, tensors=replaced(weight, lambda t: t > 0))
    edit("weight float64", REFUSED, weight, tensors=replaced(weight, lambda t: t.double()))
    edit("weight float16", REFUSED, weight, tensors=replaced(weight, lambda t: t.half()))
    edit("weight wrong shape", REFUSED, "has shape [64, 5], expected [64, 4]", tensors=_put(weight, torch.zeros(64, 5)))
    edit("weight missing", REFUSED, "policy.logits_net.2.bias", tensors=_delete("policy.logits_net.2.bias"))
    edit("tensor unexpected", REFUSED, "surprise", tensors=_put("policy.surprise", torch.zeros(1)))
    edit("target_std 0", REFUSED, "value.target_std", tensors=_put("value.target_std", torch.zeros(())))
    edit("target_std -1", REFUSED, "value.target_std", tensors=_put("value.target_std", -torch.ones(())))
    edit(
        "log_std 100", REFUSED, "policy.log_std", tensors=replaced("policy.log_std", lambda t: t + 100), base="pendulum"
    )


def _optimizer(corpus: Corpus) -> None:
    edit = corpus.edited
    moment = "policy_optimizer.0.exp_avg"
    # Adam's moment of the wrong shape: fused Adam writes past its end (a segfault in training).
    edit("exp_avg wrong shape", REFUSED, moment, tensors=_put(moment, torch.zeros(3)))
    edit("exp_avg NaN", REFUSED, moment, tensors=_put(moment, torch.full((64, 4), float("nan"))))
    square = "value_optimizer.1.exp_avg_sq"
    edit("exp_avg_sq negative", REFUSED, square, tensors=_put(square, -torch.ones(64)))
    edit("step missing", REFUSED, "policy_optimizer.2.step", tensors=_delete("policy_optimizer.2.step"))
    edit("step -5", REFUSED, "policy_optimizer.0.step", tensors=_put("policy_optimizer.0.step", torch.tensor(-5.0)))
    edit("step int64", REFUSED, "policy_optimizer.0.step", tensors=_put("policy_optimizer.0.step", torch.tensor(3)))
    edit("optimizer index 99", REFUSED, "policy_optimizer.99", tensors=_put("policy_optimizer.99.step", torch.ones(())))
    edit("param groups not JSON", REFUSED, "optimizer", header=_set("optimizer_param_groups", "{oops"))
    edit("lr negative", REFUSED, "lr", groups=_set("policy_optimizer.0.lr", -1.0))
    edit("lr a string", REFUSED, "lr", groups=_set("policy_optimizer.0.lr", "fast"))
    edit("lr NaN", REFUSED, "NaN", groups=_set("policy_optimizer.0.lr", float("nan")))
    # A rate training never reaches: the critic's at 1e10 overflowed V to infinity, then NaN.
    edit("critic lr 1e10", REFUSED, "value_optimizer[0].lr must be from", groups=_set("value_optimizer.0.lr", 1e10))
    edit("lr 1e10", REFUSED, "policy_optimizer[0].lr must be from", groups=_set("policy_optimizer.0.lr", 1e10))
    ceiling = config_for("CartPole-v1").policy_lr * 10  # the KL-adaptive step's highest
    edit("lr at the adaptive ceiling", VALID, groups=_set("policy_optimizer.0.lr", ceiling))
    edit("betas 2 and 3", REFUSED, "betas", groups=_set("policy_optimizer.0.betas", [2, 3]))
    edit("amsgrad on", REFUSED, "amsgrad", groups=_set("value_optimizer.0.amsgrad", True))
    edit("params wrong", REFUSED, "params", groups=_set("policy_optimizer.0.params", [0, 1]))
    edit("two param groups", REFUSED, "policy_optimizer", groups=lambda g: g["policy_optimizer"].append({}))
    edit("param groups a list", REFUSED, "optimizer", header=_set("optimizer_param_groups", "[]"))


def _resume(corpus: Corpus) -> None:
    edit = corpus.edited
    edit("resume not JSON", REFUSED, "resume", header=_set("vpg_sim_resume", "{"))
    edit("resume a list", REFUSED, "resume", header=_set("vpg_sim_resume", "[]"))
    edit("resume nested deep", REFUSED, "nested", header=_set("vpg_sim_resume", _deep(5_000)))
    edit("resume without collector", REFUSED, "collector", resume=_delete("collector"))
    edit("resume observations short", REFUSED, "observations", resume=lambda r: r["collector"]["observations"].pop())
    edit("resume observation a string", REFUSED, "observations", resume=_set("collector.observations.0.0", "x"))
    edit("resume observation 1e300", REFUSED, "observations", resume=_set("collector.observations.0.0", 1e300))
    edit("resume returns 100000", REFUSED, "recent_returns", resume=_set("collector.recent_returns", [1.0] * 100_000))
    edit("resume lengths mismatch", REFUSED, "recent_lengths", resume=_set("collector.recent_lengths", [1, 2, 3]))
    edit("resume steps 2**40", REFUSED, "steps", resume=_set("collector.envs.steps.0", 2**40))
    edit("resume kind unknown", REFUSED, "kind", resume=_set("collector.envs.kind", "mystery"))
    edit("resume rng MT19937", REFUSED, "bit_generator", resume=_set("collector.action_rng.bit_generator", "MT19937"))
    edit("resume rng 2**200", REFUSED, "action_rng", resume=_set("collector.action_rng.state.state", 2**200))
    edit("resume nan_rollbacks x", REFUSED, "nan_rollbacks", resume=_set("nan_rollbacks", "x"))
    edit("resume episodes -1", REFUSED, "episodes", resume=_set("collector.episodes", -1))
    edit("resume dtype object", REFUSED, "dtype", resume=_set("collector.envs.envs.0.dtype", "object"), base="pendulum")
    edit(
        "resume elapsed_steps x",
        REFUSED,
        "elapsed_steps",
        resume=_set("collector.envs.envs.0.elapsed_steps", "x"),
        base="pendulum",
    )
    edit("resume physics 1e300", REFUSED, "collector.envs.state", resume=_set("collector.envs.state.0.0", 1e300))
    edit("resume physics 1e30", VALID, resume=_set("collector.envs.state.0.0", 1e30))  # far off the track, but a number
    # Well formed, but the numpy CartPole vector env's state given to Pendulum's SyncVectorEnv.
    cartpole_envs = json.loads(corpus.cartpole[1]["vpg_sim_resume"])["collector"]["envs"]
    cartpole_envs = {**cartpole_envs, "state": [row[:2] for row in cartpole_envs["state"]]}
    cartpole_envs.update(steps=cartpole_envs["steps"][:2], prev_done=cartpole_envs["prev_done"][:2])
    edit(
        "resume of another env",
        UNRESUMABLE,
        "cannot be restored",
        resume=_set("collector.envs", cartpole_envs),
        base="pendulum",
    )
