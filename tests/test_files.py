"""Temp files of a save killed mid-write are cleaned up: ours only, stale only."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from vpg_sim.files import QUIET_SECONDS, STALE_SECONDS, remove_stale_temp_files, write_atomically

ROOT = Path(__file__).resolve().parent.parent

KILLED_WHILE_SAVING = """
import os, signal, sys
from vpg_sim import files
# Killed at the worst moment: the temp file written, not yet renamed over the target.
files.os.replace = lambda source, target: os.kill(os.getpid(), signal.SIGKILL)
files.write_atomically(files.Path(sys.argv[1]), b"a policy")
"""


def killed_mid_save(target: Path) -> Path:
    """The temp file a ``kill -9`` during ``write_atomically(target)`` leaves behind."""
    done = subprocess.run([sys.executable, "-c", KILLED_WHILE_SAVING, str(target)], cwd=ROOT, timeout=60)
    assert done.returncode == -9
    (left,) = (path for path in target.parent.iterdir() if path.name.endswith(".tmp"))
    assert not target.exists() and left.read_bytes() == b"a policy"
    return left


def aged(path: Path, seconds: float) -> Path:
    past = time.time() - seconds
    os.utime(path, (past, past), follow_symlinks=False)
    return path


def test_a_temp_file_left_by_a_kill_9_during_a_save_is_removed_by_the_next_save(tmp_path):
    left = aged(killed_mid_save(tmp_path / "policy.safetensors"), QUIET_SECONDS + 5)
    write_atomically(tmp_path / "other.safetensors", b"another policy")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["other.safetensors"]
    assert not left.exists()


def test_a_fresh_temp_file_of_a_dead_writer_is_kept_a_minute(tmp_path):
    left = killed_mid_save(tmp_path / "policy.safetensors")
    assert remove_stale_temp_files(tmp_path) == []  # its writer may be a process of another machine
    assert remove_stale_temp_files(tmp_path, now=time.time() + QUIET_SECONDS + 5) == [left]


def test_only_our_own_stale_temp_files_are_removed(tmp_path):
    ours_in_progress = tmp_path / f".a.safetensors.{os.getpid()}-abcd1234.tmp"  # this process: still writing it
    living_writer = tmp_path / f".b.safetensors.{os.getppid()}-abcd1234.tmp"  # a process that runs
    ours_before_pids = tmp_path / ".c.safetensors.abcd1234.tmp"  # no pid: stale only once long unchanged
    ours_long_unchanged = tmp_path / f".d.safetensors.{os.getppid()}-abcd_234.tmp"
    not_ours = [tmp_path / ".e.swp.tmp", tmp_path / "f.tmp", tmp_path / ".g.safetensors.abcd123.tmp"]
    for path in [ours_in_progress, living_writer, ours_before_pids, ours_long_unchanged, *not_ours]:
        path.write_bytes(b"x")
        aged(path, QUIET_SECONDS + 5)
    aged(ours_long_unchanged, STALE_SECONDS + 5)
    folder_like_ours = tmp_path / ".h.safetensors.abcd1234.tmp"
    folder_like_ours.mkdir()
    link_like_ours = tmp_path / ".i.safetensors.abcd1234.tmp"
    link_like_ours.symlink_to(ours_in_progress)
    aged(link_like_ours, STALE_SECONDS + 5)

    assert remove_stale_temp_files(tmp_path) == [ours_long_unchanged]
    later = remove_stale_temp_files(tmp_path, now=time.time() + STALE_SECONDS)  # all of them long unchanged
    assert set(later) == {ours_before_pids, living_writer}
    kept = {ours_in_progress, *not_ours, folder_like_ours, link_like_ours}
    assert set(tmp_path.iterdir()) == kept


def test_opening_the_l_list_removes_a_stale_temp_file_from_the_policies_folder(tmp_path):
    from vpg_sim.ui.widgets.dialogs import list_policies

    left = aged(killed_mid_save(tmp_path / "policy.safetensors"), QUIET_SECONDS + 5)
    assert list_policies(tmp_path) == []
    assert not left.exists()
