"""Run ``python main.py eval PATH`` on many files in a fraction of the time.

A fresh interpreter spends ~1.5 s importing torch before it reads a byte, so a hundred
files would take minutes. This script imports once, then forks one child per file that
runs ``main.py`` exactly as ``python main.py eval PATH --episodes 1`` would (``runpy``,
``sys.argv``, its own stdout and stderr files), and waits for it with a deadline. Each
child's exit status, wall time and peak memory (``ru_maxrss`` from ``wait4``, which counts
the pages it shares with this parent too: an upper bound) go back as JSON.

Usage (what :func:`eval_each` does): ``python -m tests.fork_eval`` with a JSON request
``{"paths": [...], "folder": DIR, "deadline": SECONDS}`` on stdin.
"""

from __future__ import annotations

import json
import os
import runpy
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def eval_each(paths: list[Path], folder: Path, deadline: float = 10.0) -> list[dict[str, Any]]:
    """For each path, ``main.py eval`` in a forked child: ``exit``, ``stderr``, ``seconds``,
    ``max_rss_mb`` and ``hung`` (killed at ``deadline`` seconds)."""
    request = {"paths": [str(path) for path in paths], "folder": str(folder), "deadline": deadline}
    result = subprocess.run(
        [sys.executable, "-m", "tests.fork_eval"],
        cwd=ROOT,
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60 + deadline * len(paths),
        check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


def _run_main(path: str, out: Path, err: Path) -> None:
    """In the child: be ``python main.py eval PATH``, then exit with its status."""
    code = 1
    try:
        os.dup2(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 1)
        os.dup2(os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 2)
        sys.argv = ["main.py", "eval", path, "--episodes", "1"]
        runpy.run_path(str(ROOT / "main.py"), run_name="__main__")
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        traceback.print_exc()  # as the interpreter would: the test looks for "Traceback"
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _wait(pid: int, deadline: float) -> tuple[int, Any, bool]:
    started = time.monotonic()
    while True:
        waited, status, usage = os.wait4(pid, os.WNOHANG)
        if waited:
            return status, usage, False
        if time.monotonic() - started > deadline:
            os.kill(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
            return status, usage, True
        time.sleep(0.002)


def main() -> None:
    request = json.loads(sys.stdin.read())
    folder = Path(request["folder"])
    # What main.py eval imports, once, before any fork (no torch op runs here, so no
    # thread exists to be lost in a fork).
    import vpg_sim.cli
    import vpg_sim.core.evaluation
    import vpg_sim.policy_files  # noqa: F401

    results = []
    for index, path in enumerate(request["paths"]):
        out, err = folder / f"{index}.out", folder / f"{index}.err"
        sys.stdout.flush()
        sys.stderr.flush()
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _run_main(path, out, err)
        status, usage, hung = _wait(pid, request["deadline"])
        results.append(
            {
                "path": path,
                "exit": os.waitstatus_to_exitcode(status),
                "stderr": err.read_text(errors="replace") if err.exists() else "",
                "seconds": time.monotonic() - started,
                "max_rss_mb": usage.ru_maxrss / 1024,
                "hung": hung,
            }
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
