"""What recording costs the render loop, and whether the encoder keeps up. Prints one JSON line.

    python benchmarks/recording.py                  # ~90 s: 720p and 1080p MP4, 720p GIF, the real app
    python benchmarks/recording.py --seconds 5 --no-app

For each case a window-like scene (panels, text, a moving cart, curves) is drawn into a
plain 32-bit ``pygame.Surface`` and offered to a :class:`~vpg_sim.ui.recording.recorder.Recorder`
at 60 fps, paced by the clock, for ``--seconds``. Reported per case:

* ``add_frame_ms_median`` / ``_p99``: main-thread cost of ``add_frame`` (drawing excluded);
* ``encoder_fps``: frames written per second of wall time, start to the end of ``stop()``
  (60 means it kept up; the queue is flushed inside ``stop()``);
* ``dropped_frames`` of ``frames_offered``; ``stop_ms``: how long ``stop()`` blocked;
* ``ffmpeg_cpu_percent``: ffmpeg's user+system CPU over that wall time, in % of one core;
* ``megabytes`` of the file.

``app`` (unless ``--no-app``) runs the real window (training at pace ``full``) and cycles
through ``--app-seconds`` without recording, recording it at its size as 60 fps MP4, and
as 30 fps MP4 (every 2nd frame), ``--app-rounds`` times; it reports the frame rates and
training speed of every phase.
Without ``DISPLAY`` it uses SDL's dummy video driver, where ``flip`` is nearly free; for
a real X server run it under Xvfb as ``benchmarks/ui.py`` says.

``copy_ms`` compares ways to copy a frame's pixels on the main thread.

Timings are wall-clock on whatever else the machine is doing: on a shared 2-core machine,
run it twice and expect tens of per cent of noise.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pygame

from vpg_sim.ui.recording.recorder import Recorder, RecordingError

FPS = 60


class Scene:
    """Draws something like the window into a (width, height) surface: changes every frame."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.surface = pygame.Surface(size)
        self.font = pygame.font.Font(None, max(16, size[1] // 32))

    def draw(self, index: int) -> pygame.Surface:
        surface = self.surface
        width, height = surface.get_size()
        surface.fill((24, 26, 32))
        for panel in range(4):
            rect = pygame.Rect(
                int(width * 0.62), int(12 + panel * height * 0.24), int(width * 0.36), int(height * 0.22)
            )
            pygame.draw.rect(surface, (36, 40, 50), rect, border_radius=8)
            points = [
                (
                    rect.left + 6 + j * (rect.width - 12) / 99,
                    rect.centery + math.sin(j * 0.2 + index * 0.05 * (panel + 1)) * rect.height * 0.35,
                )
                for j in range(100)
            ]
            pygame.draw.aalines(surface, (90, 200, 250), False, points)
            label = self.font.render(f"panel {panel}: {index * 0.37 + panel:.3f}", True, (220, 220, 230))
            surface.blit(label, (rect.left + 8, rect.top + 6))
        track_y = int(height * 0.7)
        cart_x = width * 0.3 + math.sin(index * 0.05) * width * 0.2
        angle = math.sin(index * 0.13) * 0.3
        pygame.draw.line(surface, (120, 120, 130), (20, track_y), (int(width * 0.6), track_y), 3)
        pygame.draw.rect(surface, (230, 160, 60), (cart_x - 40, track_y - 25, 80, 40), border_radius=4)
        tip = (cart_x + math.sin(angle) * height * 0.25, track_y - 25 - math.cos(angle) * height * 0.25)
        pygame.draw.line(surface, (240, 240, 240), (cart_x, track_y - 25), tip, 8)
        status = self.font.render(f"step {index * 1024}   return {100 + index % 400}", True, (200, 200, 200))
        surface.blit(status, (10, height - status.get_height() - 4))
        return surface


def percentile_ms(samples: list[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(samples) * 1000.0, q)), 3)


def copy_costs(size: tuple[int, int], repeats: int = 60) -> dict[str, float]:
    """Median ms of each way to get a frame's pixels into a bytes-like, row-major (H, W, C) copy."""
    surface = Scene(size).draw(0)
    methods = {
        "get_buffer_raw": lambda: surface.get_buffer().raw,
        "tobytes_RGB": lambda: pygame.image.tobytes(surface, "RGB"),
        "tobytes_RGBX": lambda: pygame.image.tobytes(surface, "RGBX"),
        "array3d_transposed": lambda: np.ascontiguousarray(pygame.surfarray.array3d(surface).transpose(1, 0, 2)),
        "pixels3d_transposed_copy": lambda: np.ascontiguousarray(pygame.surfarray.pixels3d(surface).transpose(1, 0, 2)),
    }
    costs = {}
    for name, method in methods.items():
        method()
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            method()
            times.append(time.perf_counter() - started)
        costs[name] = round(statistics.median(times) * 1000.0, 3)
    return costs


def record_case(size: tuple[int, int], fmt: str, seconds: float, folder: Path) -> dict[str, object]:
    """Offer ``seconds * 60`` frames at 60 fps, paced, and measure the recorder."""
    scene = Scene(size)
    path = folder / f"{size[0]}x{size[1]}.{fmt}"
    recorder = Recorder(path, size, fps=FPS, fmt=fmt)
    costs: list[float] = []
    frames = round(seconds * FPS)
    started = time.perf_counter()
    for index in range(frames):
        deadline = started + index / FPS
        pause = deadline - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        surface = scene.draw(index)
        before = time.perf_counter()
        recorder.add_frame(surface)
        costs.append(time.perf_counter() - before)
    before_stop = time.perf_counter()
    error = None
    try:
        result = recorder.stop()
    except RecordingError as exc:
        error, result = str(exc), exc.result
    ended = time.perf_counter()
    assert result is not None
    wall = ended - started
    cpu = result.encoder_cpu_seconds
    return {
        "size": f"{size[0]}x{size[1]}",
        "fmt": fmt,
        "file_fps": result.fps,
        "frames_offered": frames,
        "add_frame_ms_median": round(statistics.median(costs) * 1000.0, 3),
        "add_frame_ms_p99": percentile_ms(costs, 99),
        "add_frame_ms_max": round(max(costs) * 1000.0, 3),
        "frames_written": result.frames_written,
        "dropped_frames": result.dropped_frames,
        "encoder_fps": round(result.frames_written / wall, 1),
        "stop_ms": round((ended - before_stop) * 1000.0, 1),
        "ffmpeg_cpu_percent": None if cpu is None else round(100.0 * cpu / wall, 1),
        "megabytes": round(path.stat().st_size / 1e6, 2) if path.exists() else None,
        "error": error,
    }


APP_PHASES = {"without": None, "recording_60fps": 60.0, "recording_30fps": 30.0}
"""Phases of the real-window run and the video_fps each records at (None: not recording)."""


def app_phases(seconds: float, rounds: int, folder: Path) -> dict[str, object]:
    """The real window at pace ``full``: ``rounds`` x ``seconds`` of each of :data:`APP_PHASES`.

    Alternating, because training itself changes speed as it learns and because the other
    loads of a shared machine come and go: one "without" then one "recording" phase would
    credit the recorder with both. The window offers 60 frames a second in every phase.
    """
    from vpg_sim.ui.options import WindowOptions
    from vpg_sim.ui.window.app import App

    app = App(WindowOptions(pace="full"))
    clock = pygame.time.Clock()
    report: dict[str, object] = {"video_driver": pygame.display.get_driver(), "seconds_per_phase": seconds}
    phases: dict[str, list[dict[str, object]]] = {label: [] for label in APP_PHASES}
    try:
        warm_up = time.perf_counter()
        while time.perf_counter() - warm_up < 2.0:  # fonts, first plot, first snapshot
            app.step(clock.tick(FPS) / 1000.0)
        for index in range(len(APP_PHASES) * rounds):
            label, video_fps = list(APP_PHASES.items())[index % len(APP_PHASES)]
            recorder = None
            if video_fps is not None:
                path = folder / f"app-{index}.mp4"
                recorder = Recorder(path, app.screen.get_size(), fps=FPS, video_fps=video_fps)
            starts: list[float] = []
            costs: list[float] = []
            steps_before = app.session.latest_snapshot().env_steps
            opened = time.perf_counter()
            while time.perf_counter() - opened < seconds:
                starts.append(time.perf_counter())
                app.step(clock.tick(FPS) / 1000.0)
                if recorder is not None:
                    before = time.perf_counter()
                    recorder.add_frame(app.screen)
                    costs.append(time.perf_counter() - before)
            elapsed = time.perf_counter() - opened
            intervals_ms = np.diff(np.asarray(starts)) * 1000.0
            phase: dict[str, object] = {
                "fps_mean": round(len(starts) / elapsed, 1),
                "frame_ms_median": round(float(np.median(intervals_ms)), 2),
                "frame_ms_p99": round(float(np.percentile(intervals_ms, 99)), 2),
                "frames_over_20ms": round(float(np.mean(intervals_ms > 20.0)), 4),
                "train_env_steps_per_second": round((app.session.latest_snapshot().env_steps - steps_before) / elapsed),
            }
            if recorder is not None:
                try:
                    result = recorder.stop()
                    phase["error"] = None
                except RecordingError as exc:
                    result = exc.result
                    phase["error"] = str(exc)
                assert result is not None
                phase.update(
                    size=f"{result.size[0]}x{result.size[1]}",
                    add_frame_ms_median=round(statistics.median(costs) * 1000.0, 3),
                    add_frame_ms_p99=percentile_ms(costs, 99),
                    frames_written=result.frames_written,
                    dropped_frames=result.dropped_frames,
                    ffmpeg_cpu_percent=None
                    if result.encoder_cpu_seconds is None
                    else round(100.0 * result.encoder_cpu_seconds / result.wall_seconds, 1),
                    megabytes=round(result.path.stat().st_size / 1e6, 2) if result.path.exists() else None,
                )
            phases[label].append(phase)
    finally:
        app.close()
    for label, runs in phases.items():
        report[label] = {
            "fps_mean": round(statistics.mean(float(run["fps_mean"]) for run in runs), 1),  # type: ignore[arg-type]
            "train_env_steps_per_second": round(
                statistics.mean(float(run["train_env_steps_per_second"]) for run in runs)  # type: ignore[arg-type]
            ),
            "phases": runs,
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of frames offered per case")
    parser.add_argument("--app-seconds", type=float, default=6.0, help="seconds per phase of the real window")
    parser.add_argument("--app-rounds", type=int, default=3, help="rounds of the app phases")
    parser.add_argument("--no-app", action="store_true", help="skip the real-window phases")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)  # as main.py does

    pygame.init()
    report: dict[str, object] = {"cpus": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2)}
    report["copy_ms"] = {"1280x720": copy_costs((1280, 720)), "1920x1080": copy_costs((1920, 1080))}
    with tempfile.TemporaryDirectory(prefix="vpg-rec-") as folder:
        report["cases"] = [
            record_case(size, fmt, args.seconds, Path(folder))
            for size, fmt in (((1280, 720), "mp4"), ((1920, 1080), "mp4"), ((1280, 720), "gif"))
        ]
        if not args.no_app:
            try:
                report["app"] = app_phases(args.app_seconds, args.app_rounds, Path(folder))
            except Exception as exc:  # the window is being worked on; the recorder numbers still stand
                report["app"] = {"error": f"{type(exc).__name__}: {exc}"}
    report["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
