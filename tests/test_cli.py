"""The command line: bad flags are one line and exit 2; a full disk loses the log, not the run."""

import csv
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from vpg_sim.cli import main
from vpg_sim.policy_files import load_policy

FAST = ["--steps", "256"]
ROOT = Path(__file__).resolve().parent.parent


def run(capsys, *argv):
    """``main(argv)``'s exit status and the lines it printed on stderr."""
    try:
        status = main(list(argv))
    except SystemExit as exit_:  # argparse
        status = exit_.code
    return status, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--size", "99999x99999"], "--size: too large (at most 3840x2160)"),
        (["--size", "100x100"], "--size: too small"),
        (["train", "--seed", "99999999999999999999999"], "invalid config: seed must be in [0, 4,294,967,295]"),
        (["train", "--steps", "1e23"], "total_steps must be in [1, 10,000,000,000]"),
        (["train", "--steps", "ten"], "--steps/--total-steps: not a whole number"),
        (["train", "--gamma", "1.5"], "invalid config: gamma must be in (0, 1], not 1.5"),
        (["train", "--hidden-sizes", "0"], "hidden_sizes must be 1 to 8 layer widths"),
        (["train", "--env", "no_such_module:Thing-v0"], "cannot import 'no_such_module'"),
        (["train", "--env", "NoSuchEnv-v0", *FAST], "unknown environment id 'NoSuchEnv-v0'"),
    ],
)
def test_a_bad_flag_is_one_line_naming_it_and_exit_2(capsys, argv, named):
    status, lines = run(capsys, *argv)
    assert status == 2
    assert named in lines[-1] and "Traceback" not in "\n".join(lines)


def test_a_full_disk_stops_the_log_with_one_line_and_the_policy_is_still_saved(tmp_path, capsys):
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    (log_dir / "progress.csv").symlink_to("/dev/full")  # every write fails: No space left on device
    target = tmp_path / "policy.safetensors"
    status, lines = run(capsys, "train", "--steps", "2048", "--log-dir", str(log_dir), "--save", str(target))
    assert status == 0
    warnings = [line for line in lines if "No space left on device" in line]
    assert len(warnings) == 1 and "the log stopped at update 1" in warnings[0]
    assert load_policy(target).metadata.update == 2


def test_saving_over_an_existing_file_says_so(tmp_path, capsys):
    target = tmp_path / "policy.safetensors"
    for _ in range(2):
        status, lines = run(capsys, "train", *FAST, "--log-dir", str(tmp_path / "log"), "--save", str(target))
        assert status == 0
    assert any(f"replaced the existing {target}" in line for line in lines)


SHIPPED = "saved_models/cartpole-v1.safetensors"


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--load", SHIPPED, "--env", "Acrobot-v1", "--gamma", "0.5"], "--env, --gamma cannot go with it"),
        (["--load", SHIPPED, "--config", "run.json"], "--config cannot go with it"),
        (["--gamma", "0.5", "play", SHIPPED], "play plays the file as saved, so --gamma cannot go with it"),
        (["--load", SHIPPED, "eval", SHIPPED], "--load trains on from a file in the window; it cannot go with eval"),
    ],
)
def test_settings_a_saved_policy_would_drop_are_refused_in_one_line_not_ignored(capsys, argv, named):
    # --run-for: were they ignored (as they were), the window would train the file and quit by itself.
    status, lines = run(capsys, "--run-for", "2", *argv)
    assert status == 2 and len(lines) == 1 and named in lines[0]


FILLS_AT = 2_000
"""Bytes the log may hold: the header and a few rows, then the next row meets a full disk."""


def test_a_disk_that_fills_mid_row_leaves_whole_rows_only(tmp_path):
    # A file-size limit (RLIMIT_FSIZE) is a disk that fills at a byte of our choosing: the
    # write that crosses it is cut short, the next fails, as on a full disk. A process of
    # its own, since the limit holds for every file the process writes.
    script = f"""
import resource, signal, sys
from vpg_sim.cli import main
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write instead of a killed process
resource.setrlimit(resource.RLIMIT_FSIZE, ({FILLS_AT}, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
sys.exit(main(["train", "--steps", "4096", "--num-envs", "4", "--steps-per-update", "256", "--log-dir", sys.argv[1]]))
"""
    command = [sys.executable, "-c", script, str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "the log stopped at update" in line]
    assert len(warnings) == 1 and "File too large" in warnings[0]
    data = (tmp_path / "progress.csv").read_bytes()
    assert 0 < len(data) <= FILLS_AT and data.endswith(b"\r\n")
    rows = list(csv.reader(io.StringIO(data.decode())))
    assert len(rows) >= 3 and all(len(row) == len(rows[0]) for row in rows)
    updates = [int(row[0]) for row in rows[1:]]
    assert updates == list(range(1, len(updates) + 1))
    assert f"at update {len(updates) + 1}:" in warnings[0]  # the row that did not fit is the one said


def test_a_mistaken_flag_is_one_line_not_the_usage_block(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--gamma", "abc"])
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and err.count("\n") == 1 and "usage:" not in err
    assert err.startswith("vpg-sim: error: argument --gamma: not a number: 'abc'")


def test_ctrl_c_before_a_command_handles_it_is_one_line_and_exit_130(capsys, monkeypatch):
    import vpg_sim.cli

    def interrupted_while_importing(argv):
        raise KeyboardInterrupt  # as Ctrl-C lands while a command still imports torch

    monkeypatch.setattr(vpg_sim.cli, "parse_arguments", interrupted_while_importing)
    assert main(["train"]) == 130
    assert capsys.readouterr().err.strip().splitlines() == ["vpg-sim: interrupted"]


def test_a_worker_process_ignores_ctrl_c_from_its_start():
    from vpg_sim.training.worker_process import StartedWorkers

    started = StartedWorkers(1)
    worker = started.take()
    try:
        os.kill(worker.process.pid, signal.SIGINT)  # in its start-up: the parent's to handle
        worker.connection.send(None)  # no share: it ends by itself
        worker.process.join(timeout=60)
        assert worker.process.exitcode == 0
    finally:
        worker.process.kill()
        worker.connection.close()
