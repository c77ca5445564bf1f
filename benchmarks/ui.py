"""Frame rate and training speed of the real window, against headless training.

``work`` is the window's own work per frame (events, update, drawing), the display flip
excluded and reported apart as ``flip``.

    Xvfb :99 -screen 0 1280x720x24 -nolisten tcp &
    DISPLAY=:99 python benchmarks/ui.py --seconds 20

First trains headless for ``--seconds`` to measure env-steps/s alone, then opens
the app at pace ``full`` for ``--seconds`` and measures frames and training speed
beside it. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pygame
import torch

from vpg_sim.cli.arguments import window_size
from vpg_sim.core.config import config_for
from vpg_sim.core.trainer import VPGTrainer
from vpg_sim.ui.launch import WindowOptions
from vpg_sim.ui.window.app import App


def process_cpu_seconds(pid: int | None) -> float:
    """User and system CPU seconds of a process so far, from /proc (0 if there is none)."""
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker_pid(app: App) -> int | None:
    """The training process's pid, where training runs in one."""
    process = getattr(app.session, "_process", None)
    return process.pid if process is not None else None


def headless_steps_per_second(seconds: float, seed: int) -> float:
    trainer = VPGTrainer(config_for("CartPole-v1", seed=seed))
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        trainer.train_update()
    rate = trainer.env_steps / (time.perf_counter() - started)
    trainer.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--knobs", action="store_true", help="with the knobs panel (pygame_gui sliders) open")
    parser.add_argument("--map", action="store_true", help="with the map view (M) open")
    parser.add_argument("--update-panel", action="store_true", help="with the Update panel (U) shown")
    parser.add_argument("--formulas", action="store_true", help="with the formulas (X) shown")
    parser.add_argument(
        "--noise-panel", action="store_true", help="with the Gradient noise panel (O) shown, measuring beside training"
    )
    parser.add_argument("--record", choices=("mp4", "gif"), help="record the window the whole time")
    parser.add_argument("--size", type=window_size, default=(1280, 720), help="window size, WxH")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as main.py does

    # Measured in a thread, as the window runs it, so both numbers pay the same GIL costs.
    result: dict[str, float] = {}
    worker = threading.Thread(target=lambda: result.update(rate=headless_steps_per_second(args.seconds, args.seed)))
    worker.start()
    worker.join()
    headless = result["rate"]

    recordings = Path(tempfile.mkdtemp(prefix="vpg-sim-bench-"))
    app = App(
        WindowOptions(
            config=config_for("CartPole-v1", seed=args.seed),
            pace="full",
            run_for=args.seconds,
            size=args.size,
            record_format=args.record or "mp4",
            recordings_dir=recordings,
        )
    )
    for view in ("knobs", "map", "update_panel", "formulas", "noise_panel"):  # each flag is named as its command
        if getattr(args, view):
            app.command(view)
    if args.record:
        app.command("record")
    clock = pygame.time.Clock()
    opened = time.perf_counter()
    steps_at_open = app.session.latest_snapshot().env_steps
    cpu_at_open = process_cpu_seconds(os.getpid()), process_cpu_seconds(worker_pid(app))
    measured_updates: set[int] = set()  # the noise panel's readings: proof that it measured
    try:
        while app.running:
            app.step(clock.tick(60) / 1000.0)
            reading = app.session.gradient_noise() if args.noise_panel else None
            if reading is not None:
                measured_updates.add(reading.update)
        elapsed = time.perf_counter() - opened
        steps = app.session.latest_snapshot().env_steps - steps_at_open
        cpu = [
            (process_cpu_seconds(pid) - before) / elapsed
            for pid, before in zip((os.getpid(), worker_pid(app)), cpu_at_open, strict=True)
        ]
        recorder = app.recording.recorder
    finally:
        app.close()  # finishes the recording
    recorded = {}
    if recorder is not None:
        recorded = {"recorded_frames": recorder.frames_written, "dropped_frames": recorder.dropped_frames}
    shutil.rmtree(recordings, ignore_errors=True)

    starts = np.asarray(app.frame_times.starts)
    intervals_ms = np.diff(starts) * 1000.0
    with_window = steps / elapsed
    print(
        json.dumps(
            {
                "seconds": args.seconds,
                "frames": len(starts),
                "fps_median": round(1000.0 / statistics.median(intervals_ms), 1),
                "frame_ms_median": round(statistics.median(intervals_ms), 2),
                "frame_ms_p99": round(float(np.percentile(intervals_ms, 99)), 2),
                "frames_over_20ms": round(float(np.mean(intervals_ms > 20.0)), 4),
                "work_ms_median": round(statistics.median(app.frame_times.work) * 1000.0, 2),
                "work_ms_p99": round(float(np.percentile(app.frame_times.work, 99)) * 1000.0, 2),
                "flip_ms_median": round(statistics.median(app.frame_times.flip) * 1000.0, 2),
                "train_env_steps_per_second": round(with_window),
                "headless_env_steps_per_second": round(headless),
                "ratio": round(with_window / headless, 3),
                "window_process_cpu": round(cpu[0], 2),
                "training_process_cpu": round(cpu[1], 2),
                "size": "x".join(map(str, args.size)),
                "knobs_open": args.knobs,
                "map_open": args.map,
                "update_panel": args.update_panel,
                "formulas": args.formulas,
                "noise_panel": args.noise_panel,
                **({"noise_measurements": len(measured_updates)} if args.noise_panel else {}),
                "recording": args.record,
                **recorded,
            }
        )
    )


if __name__ == "__main__":
    main()
