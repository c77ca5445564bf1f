"""No file can crash, hang or starve vpg-sim; a saved policy always loads.

A corpus of hostile files (``tests/hostile_files.py``, generated here) goes through every
way vpg-sim reads a policy: ``load_policy``, ``read_metadata``, the L list, training on
(``trainer_from_file``) and ``python main.py eval``. Each file must load (if valid) or be
refused with one line, ``<path>: <problem>``, within 10 s and 1 GB.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as save_tensors

from tests.fork_eval import eval_each
from tests.hostile_files import REFUSED, UNRESUMABLE, VALID, WRONG_ENV, HostileFile, read_policy, write_corpus
from vpg_sim.core.config import config_for
from vpg_sim.core.trainer import VPGTrainer
from vpg_sim.policy_files import (
    SUFFIX,
    PolicyFileError,
    load_policy,
    read_metadata,
    reading,
    save_policy,
    trainer_from_file,
)
from vpg_sim.ui.widgets import dialogs

ROOT = Path(__file__).resolve().parent.parent
SECONDS = 10
"""No file may keep vpg-sim busy longer."""
MAX_RSS_MB = 1024
"""Nor take more memory (a process of vpg-sim's imports alone takes ~250 MB)."""


def trained_file(path: Path, env_id: str, **overrides: int) -> Path:
    trainer = VPGTrainer(config_for(env_id, seed=5, vf_iters=1, **overrides))
    try:
        trainer.train_update()  # so that the file holds Adam's state and the envs' mid-episode state
        return save_policy(path, trainer.checkpoint())
    finally:
        trainer.close()


@pytest.fixture(scope="module")
def valid_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("valid")
    cartpole = trained_file(folder / "cartpole.safetensors", "CartPole-v1", num_envs=4, steps_per_update=128)
    pendulum = trained_file(
        folder / "pendulum.safetensors", "Pendulum-v1", num_envs=2, steps_per_update=64, vf_minibatch_size=32
    )
    return cartpole, pendulum


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, valid_files: tuple[Path, Path]) -> list[HostileFile]:
    return write_corpus(tmp_path_factory.mktemp("hostile"), *valid_files)


class Hung(BaseException):
    """Not an Exception: code under test that catches everything must not swallow it."""


@contextmanager
def deadline(seconds: int = SECONDS) -> Iterator[None]:
    """Raise :class:`Hung` in this thread after ``seconds`` (a blocking open included)."""

    def expire(signum: int, frame: object) -> None:
        raise Hung(f"still busy after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def assert_one_line_refusal(error: PolicyFileError, file: HostileFile) -> None:
    message = str(error)
    assert "\n" not in message and message.startswith(f"{file.path}: "), (file.kind, message)
    assert file.words in message, (file.kind, message)


def test_corpus_covers_every_class_of_hostile_file(corpus):
    kinds = {file.kind for file in corpus}
    for expected in (
        "fifo",
        "symlink to /dev/zero",
        "symlink to /dev/urandom",
        "dangling symlink",
        "symlink loop",
        "directory",
        "missing",
        "empty",
        "truncated tensors",
        "header nested 100000 deep",
        "action_space.n two",
        "hidden sizes 100000 x 100000",
        "num_envs 1e9",
        "seed 2**70",
        "torch_threads 1e6",
        "weight NaN",
        "weight int8",
        "exp_avg wrong shape",
        "critic lr 1e10",
        "resume steps 2**40",
        "cartpole weights, acrobot env",
        "valid header length 0x80",
    ):
        assert expected in kinds
    assert {file.outcome for file in corpus} == {VALID, REFUSED, WRONG_ENV, UNRESUMABLE}


def test_load_policy_loads_each_valid_file_and_refuses_each_bad_one_in_one_line(corpus):
    for file in corpus:
        started = time.monotonic()
        with deadline():
            try:
                loaded = load_policy(file.path)
            except PolicyFileError as error:
                assert file.outcome == REFUSED, (file.kind, str(error))
                assert_one_line_refusal(error, file)
            else:
                assert file.outcome != REFUSED, f"{file.kind}: loaded"
                assert loaded.metadata.env_id == loaded.config.env_id
        assert time.monotonic() - started < SECONDS, file.kind


def test_read_metadata_reads_each_header_or_refuses_in_one_line(corpus):
    for file in corpus:
        with deadline():
            try:
                metadata = read_metadata(file.path)
            except PolicyFileError as error:
                assert file.outcome == REFUSED, (file.kind, str(error))
                assert "\n" not in str(error) and str(error).startswith(f"{file.path}: "), file.kind
            else:
                assert isinstance(metadata.update, int) and metadata.update >= 0, file.kind


def test_the_l_list_lists_every_file_and_greys_the_bad_ones(corpus):
    folder = corpus[0].path.parent
    with deadline():
        choices = dialogs.list_policies(folder)
    assert sorted(choice.value.name for choice in choices) == sorted(
        name for name in os.listdir(folder) if name.endswith(SUFFIX)
    )
    by_path = {choice.value: choice for choice in choices}
    for file in corpus:
        if file.path not in by_path:
            assert file.kind == "missing"
            continue
        choice = by_path[file.path]
        try:
            read_metadata(file.path)
        except PolicyFileError as error:
            assert not choice.usable and error.problem in choice.label, (file.kind, choice.label)
        else:
            assert choice.usable, (file.kind, choice.label)
        assert "\n" not in choice.label


def test_training_on_from_each_file_trains_or_refuses_in_one_line(corpus):
    threads = torch.get_num_threads()
    for file in corpus:
        if file.outcome == REFUSED:
            continue
        with deadline():
            loaded = load_policy(file.path)
            try:
                trainer = trainer_from_file(loaded)
            except PolicyFileError as error:
                assert file.outcome in (WRONG_ENV, UNRESUMABLE), (file.kind, str(error))
                assert_one_line_refusal(error, file)
                continue
            assert file.outcome == VALID, f"{file.kind}: training on was allowed"
            try:
                stats = trainer.train_update()  # a resume state that passed must not fail later
            finally:
                trainer.close()
        assert stats.update == loaded.metadata.update + 1, file.kind
    assert torch.get_num_threads() == threads  # never set from a file's config.torch_threads


def test_eval_exits_2_with_one_line_for_each_bad_file_within_10_s_and_1_gb(corpus, tmp_path):
    results = eval_each([file.path for file in corpus], tmp_path, deadline=SECONDS)
    for file, result in zip(corpus, results, strict=True):
        assert not result["hung"] and result["seconds"] < SECONDS, (file.kind, result)
        assert result["max_rss_mb"] < MAX_RSS_MB, (file.kind, result)
        stderr = result["stderr"]
        assert "Traceback" not in stderr, (file.kind, stderr)
        if file.outcome in (VALID, UNRESUMABLE):  # eval plays; it does not train on
            assert result["exit"] == 0, (file.kind, stderr)
            continue
        assert result["exit"] == 2, (file.kind, result)
        lines = stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"vpg-sim: error: {file.path}: "), (file.kind, stderr)
        assert file.words in lines[0], (file.kind, stderr)


def test_eval_in_a_fresh_interpreter_refuses_the_worst_files_quickly_and_lean(corpus):
    """The forked evals above skip the interpreter's start; these few run it as a user does."""
    worst = {"fifo", "symlink to /dev/zero", "metadata of 8 MB of objects", "exp_avg wrong shape"}
    files = [file for file in corpus if file.kind in worst]
    # Two at a time (two cores); each within the 10 s a file may take plus ~2 s of imports.
    for pair in (files[i : i + 2] for i in range(0, len(files), 2)):
        processes = [
            (
                file,
                subprocess.Popen(
                    [sys.executable, "main.py", "eval", str(file.path)],
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
            )
            for file in pair
        ]
        for file, process in processes:
            try:
                _, stderr = process.communicate(timeout=SECONDS + 10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
                pytest.fail(f"{file.kind}: main.py eval still running after {SECONDS + 10} s")
            assert process.returncode == 2, (file.kind, stderr)
            assert stderr.count("\n") == 1 and file.words in stderr and "Traceback" not in stderr, (file.kind, stderr)
    # The largest any child of this test process has been (an upper bound for these).
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 < MAX_RSS_MB


# -- what the corpus cannot show --------------------------------------------------------


def test_an_unreadable_file_is_refused_in_one_line(valid_files, tmp_path, monkeypatch):
    path = tmp_path / "locked.safetensors"
    path.write_bytes(valid_files[0].read_bytes())
    path.chmod(0)
    if os.geteuid() != 0:  # root reads anything: there, the permission error is simulated
        with pytest.raises(PolicyFileError, match="cannot be read"):
            load_policy(path)

    def denied(*args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(reading.os, "open", denied)
    with pytest.raises(PolicyFileError) as caught:
        load_policy(path)
    assert str(caught.value) == f"{path}: cannot be read (Permission denied)"


def test_read_metadata_reads_the_header_only(valid_files, tmp_path, monkeypatch):
    tensors, strings = read_policy(valid_files[0])
    big = tmp_path / "big.safetensors"
    big.write_bytes(save_tensors({**tensors, "value.extra": torch.zeros(4 << 20)}, metadata=strings))  # +16 MB
    read = []
    real_pread = os.pread
    monkeypatch.setattr(reading.os, "pread", lambda fd, size, offset: read.append(size) or real_pread(fd, size, offset))
    monkeypatch.setattr(reading, "safe_open", None)  # the tensors' reader: never called
    read_metadata(big)
    assert 0 < sum(read) < 64 * 1024  # the 8-byte length, then the header: a few KB, never the 16 MB


def test_load_policy_reads_tensors_from_the_file_it_checked(valid_files, monkeypatch):
    opened = []
    real_safe_open = reading.safe_open
    monkeypatch.setattr(reading, "safe_open", lambda name, **kw: opened.append(name) or real_safe_open(name, **kw))
    load_policy(valid_files[0])
    assert len(opened) == 1 and opened[0].startswith("/proc/self/fd/")  # the descriptor checked, not the path again


def test_a_file_deleted_between_listing_and_reading_is_listed_as_unusable(valid_files, tmp_path, monkeypatch):
    kept = save_policy(tmp_path / "kept.safetensors", load_policy(valid_files[0]).checkpoint)
    gone = tmp_path / "gone.safetensors"
    monkeypatch.setattr(Path, "glob", lambda self, pattern: iter([gone, kept]))
    choices = dialogs.list_policies(tmp_path)
    assert [choice.usable for choice in choices] == [True, False]
    assert choices[1].label == "gone.safetensors  ·  unusable: no such file"


def test_any_error_reading_one_file_greys_that_file_only(valid_files, tmp_path, monkeypatch):
    for name in ("a", "b"):
        save_policy(tmp_path / f"{name}{SUFFIX}", load_policy(valid_files[0]).checkpoint)
    real_read_metadata = dialogs.read_metadata

    def fails_on_a(path: Path):
        if path.name == f"a{SUFFIX}":
            raise RecursionError("maximum recursion depth exceeded")
        return real_read_metadata(path)

    monkeypatch.setattr(dialogs, "read_metadata", fails_on_a)
    choices = {choice.value.name: choice for choice in dialogs.list_policies(tmp_path)}
    assert choices[f"b{SUFFIX}"].usable and not choices[f"a{SUFFIX}"].usable
    assert "RecursionError" in choices[f"a{SUFFIX}"].label


def test_the_l_dialog_draws_unusable_files_grey(valid_files, tmp_path):
    import pygame
    import pygame_gui

    save_policy(tmp_path / f"good{SUFFIX}", load_policy(valid_files[0]).checkpoint)
    (tmp_path / f"empty{SUFFIX}").write_bytes(b"")
    pygame.display.init()
    pygame.font.init()
    try:
        screen = pygame.display.set_mode((1280, 720))
        manager = pygame_gui.UIManager(screen.get_size())
        dialog = dialogs.load_dialog(manager, screen.get_rect(), tmp_path, 1.0)
        manager.update(0.0)
        colours = {item["text"]: item["button_element"].colours["normal_text"] for item in dialog.list.item_list}
    finally:
        pygame.font.quit()
        pygame.display.quit()
    grey = manager.get_theme().get_colour("disabled_text")
    assert colours[f"empty{SUFFIX}  ·  unusable: is empty"] == grey
    assert [colour for text, colour in colours.items() if text.startswith("good")] != [grey]


def test_the_l_dialog_shows_a_name_that_is_not_utf8_escaped(valid_files, tmp_path):
    import pygame
    import pygame_gui

    path = Path(os.fsdecode(bytes(tmp_path) + b"/bad-\xff\xfe" + SUFFIX.encode()))
    save_policy(path, load_policy(valid_files[0]).checkpoint)
    pygame.display.init()
    pygame.font.init()
    try:
        screen = pygame.display.set_mode((1280, 720))
        manager = pygame_gui.UIManager(screen.get_size())
        dialog = dialogs.load_dialog(manager, screen.get_rect(), tmp_path, 1.0)  # raised UnicodeEncodeError
        manager.update(0.0)
        manager.draw_ui(screen)
        texts = [item["text"] for item in dialog.list.item_list]
    finally:
        pygame.font.quit()
        pygame.display.quit()
    assert len(texts) == 2 and texts[0].startswith(f"bad-\\xff\\xfe{SUFFIX}  ·  CartPole-v1")
    assert dialog.choices[0].value == path and dialog.choices[0].usable  # the real name, to load from


def test_the_l_list_greys_a_policy_for_another_env_than_the_one_training(valid_files, tmp_path):
    for source in valid_files:
        save_policy(tmp_path / source.name, load_policy(source).checkpoint)
    choices = {choice.value.name: choice for choice in dialogs.list_policies(tmp_path, "CartPole-v1")}
    assert choices["cartpole.safetensors"].usable
    pendulum = choices["pendulum.safetensors"]
    assert not pendulum.usable
    assert "is a policy for Pendulum-v1, not CartPole-v1" in pendulum.label
    with pytest.raises(PolicyFileError, match="is a policy for Pendulum-v1, not CartPole-v1"):
        load_policy(pendulum.value, expected_env="CartPole-v1")  # what loading it would say
