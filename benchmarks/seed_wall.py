"""Frame rate of the comparison window with the seed wall open (W), against without.

    Xvfb :99 -screen 0 1920x1080x24 -nolisten tcp &
    DISPLAY=:99 python benchmarks/seed_wall.py --seconds 20 --seeds 32 --size 1920x1080

Opens the comparison window (gae against total-return, ``--seeds`` agents a group,
training at full pace) twice, alternately with and without the wall, ``--rounds`` times,
and prints one JSON line per run: frames per second, the frame interval's p99, and the
window's own work per frame (events, update, drawing; the display flip apart).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pygame
import torch

from vpg_sim.cli.arguments import window_size
from vpg_sim.core.config import config_for
from vpg_sim.training.comparison_run import Group
from vpg_sim.training.population_session import ComparisonSession
from vpg_sim.ui.compare.app import CompareApp
from vpg_sim.ui.options import WindowOptions


def measure(seconds: float, seeds: int, size: tuple[int, int], wall: bool) -> dict[str, object]:
    a = config_for("CartPole-v1")
    groups = [Group("A", a, "estimator=gae", {}), Group("B", a.replace(estimator="total-return"), "total-return", {})]
    session = ComparisonSession.from_groups(groups, range(seeds), 300_000)
    app = CompareApp(WindowOptions(pace="full", size=size), session)
    if wall:
        app.command("seed_wall")
    clock = pygame.time.Clock()
    started = time.monotonic()
    try:
        while time.monotonic() - started < seconds:
            app.step(clock.tick(60) / 1000.0)
        starts = np.asarray(app.frame_times.starts)
        intervals = np.diff(starts)[60:]  # the first second: fonts, the first snapshot
        work = list(app.frame_times.work)[60:]
        rounds = app.session.latest().rounds
    finally:
        app.close()
    return {
        "wall": wall,
        "seeds_per_group": seeds,
        "size": f"{size[0]}x{size[1]}",
        "video_driver": pygame.display.get_driver() if pygame.display.get_init() else "closed",
        "fps": round(1.0 / float(np.median(intervals)), 1),
        "interval_ms_p99": round(float(np.percentile(intervals, 99)) * 1000.0, 1),
        "work_ms_median": round(statistics.median(work) * 1000.0, 2),
        "work_ms_p99": round(float(np.percentile(work, 99)) * 1000.0, 2),
        "rounds": rounds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--seeds", type=int, default=32)
    parser.add_argument("--size", type=window_size, default=(1920, 1080))
    parser.add_argument("--rounds", type=int, default=2, help="pairs of runs, alternating")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for _ in range(args.rounds):
        for wall in (True, False):
            print(json.dumps(measure(args.seconds, args.seeds, args.size, wall)), flush=True)


if __name__ == "__main__":
    main()
