"""Record every shipped lesson without a display and time it against its length.

    python benchmarks/lessons.py --out lessons/            # each lesson to lessons/<name>.mp4
    python benchmarks/lessons.py --only watch-it-learn --size 1920x1080

What ``vpg-sim lesson NAME --headless --record FILE`` does (SDL's dummy driver, the
window's own time, a training process of its own), in this process so that the steps'
times are known: after each recording it prints one JSON line (the video's length, the
wall time it took, their ratio, frames, each step's start and verdict) and saves, beside
the video, the first 3 s as three stills and a still from the middle of each step, to be
looked at. Render time under the video's length means a 60 s lesson renders in at most
60 s here.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "dummy"
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import imageio.v3 as iio
import torch

from vpg_sim.cli.arguments import window_size
from vpg_sim.lessons.catalog import find_lesson, shipped_names
from vpg_sim.ui.lesson.runner import LessonRunner
from vpg_sim.ui.options import WindowOptions
from vpg_sim.ui.window.basics import FrameClock


def record(name: str, out: Path, size: tuple[int, int], theme: str) -> dict[str, object]:
    lesson = find_lesson(name)
    video = out / f"{name}.mp4"
    frames = FrameClock()
    options = WindowOptions(size=size, theme=theme, headless=True, record_to=video, record_format="mp4")
    started = time.monotonic()
    runner = LessonRunner(lesson, options, True, frames.now)
    steps: list[dict[str, object]] = []
    last_index = -1

    def frame_seconds() -> float:
        nonlocal last_index
        if runner.index != last_index:
            last_index = runner.index
            steps.append({"step": runner.index + 1, "starts": round(frames.now(), 2)})
        steps[-1]["verdict"] = runner.state.verdict.state
        frames.advance()
        return frames.seconds

    status = runner.run(frame_seconds)
    wall = time.monotonic() - started
    length = frames.now()
    return {
        "lesson": name,
        "status": status,
        "length_seconds": round(length, 1),
        "wall_seconds": round(wall, 1),
        "wall_per_lesson_second": round(wall / length, 3),
        "frames": frames.frames,
        "size": f"{size[0]}x{size[1]}",
        "steps": steps,
        "video": str(video),
    }


def stills(result: dict[str, object], out: Path) -> None:
    """The first 3 s (one still a second) and the middle of each step, as PNGs beside the video."""
    video = Path(str(result["video"]))
    fps = 60
    starts = [float(step["starts"]) for step in result["steps"]]  # type: ignore[index, union-attr]
    ends = [*starts[1:], float(result["length_seconds"])]  # type: ignore[arg-type]
    wanted = {f"{video.stem}-t{second}s": second * fps for second in (0, 1, 2)}
    for number, (begin, end) in enumerate(zip(starts, ends, strict=True), start=1):
        wanted[f"{video.stem}-step{number}"] = int((begin + end) / 2 * fps)
    for index, frame in enumerate(iio.imiter(video)):
        for stem, at in wanted.items():
            if index == at:
                iio.imwrite(out / f"{stem}.png", frame)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("lessons"))
    parser.add_argument("--only", choices=shipped_names(), action="append")
    parser.add_argument("--size", type=window_size, default=(1280, 720))
    parser.add_argument("--theme", choices=("dark", "light"), default="dark")
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.only or shipped_names():
        result = record(name, args.out, args.size, args.theme)
        stills(result, args.out)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
