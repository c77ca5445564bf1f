"""A sweep's cells as Ray tasks: ``vpg-sim sweep --ray ADDRESS`` (the optional extra ``[cluster]``).

Each cell is one task, :func:`~vpg_sim.training.sweep_run.train_cell` (the cell's seeds
trained in this process, to the cell's end, as ``compare`` trains a group), asking for one
CPU. Tasks, not Ray Tune's grid search: a cell is a pure function of its config, its
seeds and its budget, whose records come back whole; Tune's trials would add what a
sweep must not do (schedulers that stop trials early, which would cut a cell's curves)
or does not need (a results folder per trial, checkpoints, its own reporting), and the
grid is already checked and expanded by the command line before anything starts.

A cell trained alone gives the same records, to the bit, as the same cell trained
among the others in this machine's workers (see ``populations_worker.py``), so the JSON and the
figure are the same as the local run's. vpg_sim itself travels to the cluster with the
job (Ray's ``py_modules``); its nodes need the requirements (torch, gymnasium, numpy).
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vpg_sim.training.parallel import WorkerError, error_line
from vpg_sim.training.sweep_run import Progress, SweepCell, SweepResult, train_cell

INSTALL = "pip install 'vpg-sim[cluster]'"
CONNECT_SECONDS = 5.0
PROGRESS_SECONDS = 5.0


class RayUnavailable(Exception):
    """Ray cannot be used as asked: not installed, or the cluster cannot be reached (one line)."""


def _reachable(address: str) -> None:
    """RayUnavailable unless ``HOST:PORT`` (or ``ray://HOST:PORT``) takes a TCP connection
    within :data:`CONNECT_SECONDS` (``ray.init`` itself retries for much longer)."""
    host, colon, port = address.removeprefix("ray://").rpartition(":")
    if not colon or not host or not port.isdigit():
        raise RayUnavailable(f"--ray {address}: expected auto, local, HOST:PORT or ray://HOST:PORT")
    if not 0 < int(port) < 65536:
        raise RayUnavailable(f"--ray {address}: the port must be 1 to 65535")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as error:
        raise RayUnavailable(f"--ray {address}: cannot reach it ({error.strerror or error})") from None


def connect(address: str) -> RayCluster:
    """Join the cluster at ``address``: ``auto`` (the one this machine belongs to, as
    ``ray start`` made it), ``local`` (a private instance on this machine, for the
    duration of the sweep), ``HOST:PORT`` or ``ray://HOST:PORT``. RayUnavailable (one
    line) if Ray is not installed or the cluster cannot be reached."""
    try:
        import ray
    except ImportError:
        raise RayUnavailable(f"--ray needs Ray, an optional extra: {INSTALL}") from None
    if address not in ("auto", "local"):
        _reachable(address)
    import vpg_sim

    package = str(Path(vpg_sim.__file__).resolve().parent)
    try:
        ray.init(
            address=None if address == "local" else address,
            runtime_env={"py_modules": [package]},
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.ERROR,
        )
    except Exception as error:  # ConnectionError, RuntimeError, ...: all one line
        raise RayUnavailable(f"--ray {address}: {error_line(error)}") from None
    return RayCluster(ray)


class RayCluster:
    """A connection to a Ray cluster that trains a sweep's cells as tasks."""

    def __init__(self, ray: Any) -> None:
        self.ray = ray

    def run(
        self,
        cells: Sequence[SweepCell],
        seeds: Sequence[int],
        max_steps: int | None,
        progress: Progress | None = None,
        env_import: str | None = None,
    ) -> SweepResult:
        """Every cell as a task of one CPU; their records in cell order. (``env_import``:
        the module of ``--env module:Env-v0``, which must be importable on the cluster's nodes.)"""
        started = time.monotonic()
        task = self.ray.remote(num_cpus=1)(train_cell)
        pending = [task.remote(cell.group, list(seeds), max_steps, env_import) for cell in cells]
        references = list(pending)
        last = time.monotonic()
        try:
            while pending:
                _, pending = self.ray.wait(pending, num_returns=len(pending), timeout=PROGRESS_SECONDS)
                if progress is not None and (time.monotonic() - last >= PROGRESS_SECONDS or not pending):
                    last = time.monotonic()
                    progress(f"{len(cells) - len(pending)}/{len(cells)} cells done on Ray")
            results = tuple(self.ray.get(references))
        except Exception as error:  # a task failed (RayTaskError, a lost node, ...): one line
            raise WorkerError(f"on Ray: {error_line(error)}") from None
        return SweepResult(tuple(cells), results, tuple(seeds), max_steps, round(time.monotonic() - started, 1))

    def close(self) -> None:
        self.ray.shutdown()
