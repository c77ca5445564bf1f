"""``vpg-sim train``: headless training with a progress bar, a CSV log, the run's config
and, if asked, TensorBoard event files."""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import math
import sys
import time
from pathlib import Path
from typing import IO, Any

from vpg_sim import __version__
from vpg_sim.cli.arguments import PROG, ConfigFileError, config_from_args, fail
from vpg_sim.cli.student_flags import student_code_from_args, student_timeout
from vpg_sim.core.config import VPGConfig
from vpg_sim.core.envs import UnsupportedEnvError
from vpg_sim.core.student import StudentCode, StudentCodeError
from vpg_sim.core.trainer import UpdateStats
from vpg_sim.files import write_atomically

TENSORBOARD_HINT = "TensorBoard logs need the tensorboard package: pip install 'vpg-sim[tensorboard]'"


def run_record(config: VPGConfig, env_typed: str, student: StudentCode | None = None) -> dict[str, Any]:
    """What ``config.json`` holds: enough to repeat the run (``train --config`` reads it;
    a student's functions, named under ``student_code``, only their flags bring back)."""
    record = {"vpg_sim_version": __version__, "seed": config.seed, "env": env_typed, "config": config.to_dict()}
    if student is not None:
        record["student_code"] = dict(student.functions)
    return record


class RunLog:
    """A run's folder: ``config.json`` at the start, a CSV row per update, TensorBoard
    scalars if asked. A write that fails (a full disk) stops the log with one warning;
    training goes on, and the CSV keeps whole rows only."""

    def __init__(
        self,
        folder: Path,
        config: VPGConfig,
        env_typed: str,
        tensorboard: Path | None,
        student: StudentCode | None = None,
    ) -> None:
        self.folder = folder
        self.problem: str | None = None
        folder.mkdir(parents=True, exist_ok=True)
        record = run_record(config, env_typed, student)
        write_atomically(folder / "config.json", json.dumps(record, indent=2).encode())
        # Unbuffered: each row is one write of its own, so that a disk filling in the middle
        # of one leaves a known end to cut back to (a buffer flushed the first part of a row).
        self._file: IO[bytes] = (folder / "progress.csv").open("wb", buffering=0)
        self._fields = list(UpdateStats.__dataclass_fields__)
        self._whole = 0
        """Bytes of whole rows written."""
        self._pending = self._rows(None)
        """The header, written with the first row."""
        self._tensorboard = None
        if tensorboard is not None:
            from torch.utils.tensorboard import SummaryWriter  # raises ImportError without tensorboard

            self._tensorboard = SummaryWriter(str(tensorboard))
            text = "\n".join(f"    {name}: {value}" for name, value in config.to_dict().items())
            self._tensorboard.add_text("config", text)

    def write(self, stats: UpdateStats, warn: Any) -> None:
        """One update's row (and scalars); ``warn(line)`` says once why the log stopped."""
        if self.problem is not None:
            return
        try:
            self._append(self._pending + self._rows(stats))
            self._pending = b""
            if self._tensorboard is not None:
                for name, value in stats.to_dict().items():
                    if name != "update":
                        self._tensorboard.add_scalar(name, value, global_step=stats.update)
        except OSError as error:  # a full disk: say so once, train on, still save the policy
            self.problem = f"the log stopped at update {stats.update}: {error.strerror or error}"
            warn(f"{PROG}: warning: {self.problem}")

    def _rows(self, stats: UpdateStats | None) -> bytes:
        """The CSV of one update's row (None: the header), as it goes into the file."""
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=self._fields)
        if stats is None:
            writer.writeheader()
        else:
            writer.writerow(stats.to_dict())
        return text.getvalue().encode()

    def _append(self, data: bytes) -> None:
        """Write ``data`` whole, or, if the disk fills, cut what part of it got in back off."""
        try:
            done = 0
            while done < len(data):  # a write cut short by a full disk returns less; the next one raises
                done += self._file.write(data[done:])
        except OSError:
            with contextlib.suppress(OSError):  # /dev/full cannot be truncated, nor needs to be
                self._file.truncate(self._whole)
            raise
        self._whole += len(data)

    def close(self) -> None:
        with contextlib.suppress(OSError):  # a run without one update still gets its header
            if self.problem is None and self._pending:
                self._append(self._pending)
        with contextlib.suppress(OSError):
            self._file.close()
        if self._tensorboard is not None:
            with contextlib.suppress(OSError):
                self._tensorboard.close()


def train_command(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from vpg_sim.policy_files import save_policy
    from vpg_sim.training.headless import run_headless
    from vpg_sim.training.student_code import trainer_with_student_code

    if args.save_best and args.save is None:
        return fail("--save-best needs --save PATH")
    if args.save is not None and args.save.is_dir():
        return fail(f"--save: {args.save} is a directory; give a file path such as {args.save / 'policy.safetensors'}")
    replacing = args.save is not None and args.save.exists()
    try:
        config = config_from_args(args)
        student_code = student_code_from_args(args)
        # A student's module is imported here: its failure is said before anything is written.
        trainer, student = trainer_with_student_code(config, student_code, student_timeout(args))
    except (UnsupportedEnvError, ConfigFileError, ValueError) as error:
        return fail(str(error))
    env_typed = getattr(args, "env_id", config.env_id)

    log_dir = args.log_dir or Path("runs") / (
        f"{config.env_id.replace('/', '_')}-seed{config.seed}-{time.strftime('%Y%m%d-%H%M%S')}"
    )
    tensorboard = (log_dir if args.tensorboard is True else args.tensorboard) if args.tensorboard else None
    try:
        log = RunLog(log_dir, config, env_typed, tensorboard, student_code)
    except OSError as error:
        trainer.close()
        if student is not None:
            student.close()
        return fail(f"cannot write the log in {log_dir}: {error.strerror or error}")
    except ImportError:
        trainer.close()
        if student is not None:
            student.close()
        return fail(TENSORBOARD_HINT)

    max_steps = config.total_steps
    with (
        contextlib.closing(log),
        tqdm(total=max_steps, unit="step", unit_scale=True, dynamic_ncols=True, file=sys.stderr) as bar,
    ):
        best_return = -math.inf

        def on_update(stats: UpdateStats) -> None:
            nonlocal best_return
            log.write(stats, lambda line: bar.write(line, file=sys.stderr))
            if args.save_best and stats.episodes >= 10 and stats.mean_return_100 > best_return:
                best_return = stats.mean_return_100
                save_policy(args.save, trainer.checkpoint())
            bar.update(min(stats.env_steps, max_steps) - bar.n)
            if not math.isnan(stats.mean_return_100):
                bar.set_postfix(update=stats.update, mean_return=f"{stats.mean_return_100:.1f}", refresh=False)

        try:
            result = run_headless(trainer, max_steps, until_solved=args.until_solved, on_update=on_update)
            if args.save is not None and not args.save_best:
                save_policy(args.save, trainer.checkpoint())
        except KeyboardInterrupt:
            bar.close()
            print(f"interrupted after {trainer.env_steps} env steps; log in {log_dir}", file=sys.stderr)
            return 130
        except OSError as error:
            return fail(f"cannot save the policy to {args.save}: {error.strerror or error}")
        except StudentCodeError as error:  # the run so far is kept: its log, and its policy if asked
            bar.close()
            kept = f"log in {log_dir}"
            if args.save is not None and not args.save_best:
                save_policy(args.save, trainer.checkpoint())
                kept += f"; the policy of update {trainer.updates} in {args.save}"
            return fail(f"update {trainer.updates + 1}: {error} ({kept})")
        finally:
            trainer.close()
            if student is not None:
                student.close()

    if args.json:
        extra = {} if student_code is None else {"student_code": dict(student_code.functions)}
        print(json.dumps({**result.to_dict(), **extra}))
    else:
        solved = (
            f"solved after {result.steps_to_solve:,} steps in {result.seconds_to_solve:.1f} s"
            if result.solved
            else "not solved"
        )
        mean = "n/a" if result.mean_return_100 is None else f"{result.mean_return_100:.1f}"
        yours = "" if student_code is None else f" with {student_code.label()}"
        print(
            f"{result.env} seed {result.seed}{yours}: {solved}; {result.env_steps:,} steps, {result.updates} updates, "
            f"mean return (last 100) {mean}, {result.env_steps_per_second:,.0f} steps/s; "
            f"log: {log_dir}" + (f"; policy: {args.save}" if args.save is not None else "")
        )
    if replacing:
        print(f"{PROG}: note: replaced the existing {args.save}", file=sys.stderr)
    return 0
