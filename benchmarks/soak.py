"""Does the window's memory stay flat over a long class? Samples its RSS while it runs.

    Xvfb :99 -screen 0 1280x720x24 -nolisten tcp &
    DISPLAY=:99 python benchmarks/soak.py --minutes 60
    python benchmarks/soak.py --minutes 5 --dummy      # no X server: SDL's dummy driver

Opens the real window at pace ``full`` (the most updates, episodes and frames per minute)
and samples the resident memory of the window's process and of its training process
(summed) every ``--every`` seconds. Prints one JSON line
per sample and then a summary: the growth per minute after the first minute (a least
squares slope, so that a single allocation spike does not dominate), and what that
slope makes of an hour. Target: under 20 MB an hour.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch


def resident_megabytes(pid: int | str = "self") -> float:
    """A process's resident set size, from /proc (Linux); 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            pages = int(statm.read().split()[1])
    except OSError:
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--dummy", action="store_true", help="SDL's dummy video driver (no X server needed)")
    parser.add_argument("--size", default="1280x720")
    args = parser.parse_args()
    if args.dummy:
        os.environ["SDL_VIDEODRIVER"] = "dummy"
    torch.set_num_threads(1)  # as main.py does

    import pygame

    from vpg_sim.cli.arguments import window_size
    from vpg_sim.ui.options import WindowOptions
    from vpg_sim.ui.window.app import App

    app = App(WindowOptions(pace="full", size=window_size(args.size), run_for=args.minutes * 60))
    clock = pygame.time.Clock()
    started = time.monotonic()
    next_sample = started
    samples: list[tuple[float, float]] = []
    try:
        while app.running:
            app.step(clock.tick(60) / 1000.0)
            now = time.monotonic()
            if now >= next_sample:
                minutes = (now - started) / 60
                window = resident_megabytes()
                process = getattr(app.session, "_process", None)  # training in a process of its own
                training = resident_megabytes(process.pid) if process is not None else 0.0
                samples.append((minutes, window + training))
                update = app.session.latest_snapshot().update
                line = {"minute": round(minutes, 2), "window_mb": round(window, 1), "training_mb": round(training, 1)}
                print(json.dumps({**line, "rss_mb": round(window + training, 1), "update": update}))
                sys.stdout.flush()
                next_sample += args.every
    finally:
        app.close()

    after_first = np.array([(m, mb) for m, mb in samples if m >= 1.0])
    if len(after_first) < 2:
        print(json.dumps({"summary": True, "error": "run at least two minutes for a slope"}))
        return
    slope, _ = np.polyfit(after_first[:, 0], after_first[:, 1], 1)
    print(
        json.dumps(
            {
                "summary": True,
                "minutes": round(samples[-1][0], 1),
                "rss_mb_at_1_min": round(float(after_first[0, 1]), 1),
                "rss_mb_at_end": round(float(after_first[-1, 1]), 1),
                "growth_mb_per_minute": round(float(slope), 3),
                "growth_mb_per_hour": round(float(slope) * 60, 1),
                "updates": app.session.latest_snapshot().update,
                "target_mb_per_hour": 20,
            }
        )
    )


if __name__ == "__main__":
    main()
