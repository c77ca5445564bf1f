"""Recording the window: files imageio can read back, failures as one line, a queue that never blocks."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
import pygame
import pytest

from vpg_sim.ui.recording.recorder import Recorder, RecordingError, RecordingResult, timestamped_path

COLOURS = [(220, 40, 40), (40, 200, 60), (50, 70, 230), (240, 170, 40), (30, 30, 36), (235, 235, 235)]


def colour_frames(size: tuple[int, int], count: int) -> list[pygame.Surface]:
    """``count`` surfaces of ``size``, each a solid colour (cycling through COLOURS)."""
    frames = []
    for index in range(count):
        surface = pygame.Surface(size)
        surface.fill(COLOURS[index % len(COLOURS)])
        frames.append(surface)
    return frames


def record(recorder: Recorder, frames: list[pygame.Surface]) -> RecordingResult:
    for surface in frames:
        assert recorder.add_frame(surface)
    return recorder.stop()


def stream_line(path: Path) -> str:
    """ffmpeg's description of the video stream: "Stream #0:0...: Video: h264 ..., yuv420p(tv, bt709, ...)..."."""
    probe = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True, check=False
    )
    return next(line for line in probe.stderr.splitlines() if "Video:" in line)


def recorder_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("recorder:")]


WAIT = 30.0
"""Seconds to wait for what should happen at once (generous: the machine is shared)."""


def wait_for(condition, seconds: float = WAIT) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


@pytest.mark.parametrize("size", [(1280, 720), (320, 240)])
def test_mp4_has_every_frame_at_the_surface_size_in_the_right_colours(tmp_path, size):
    path = tmp_path / "clip.mp4"
    # A queue as long as the clip: the frames come in a burst here, and none may be dropped.
    result = record(Recorder(path, size, fps=60, max_queued_frames=30), colour_frames(size, 30))

    assert (result.frames_written, result.dropped_frames, result.size) == (30, 0, size)
    assert result.seconds == pytest.approx(0.5)
    video = iio.imread(path, plugin="FFMPEG", index=...)  # (frames, height, width, 3)
    assert video.shape == (30, size[1], size[0], 3)
    means = video.reshape(30, -1, 3).mean(axis=1)
    expected = np.array([COLOURS[index % len(COLOURS)] for index in range(30)])
    # H.264 and the RGB->YUV->RGB round trip are lossy; a swapped channel or wrong matrix is not.
    np.testing.assert_allclose(means, expected, atol=6)
    # What slide software needs: H.264, 4:2:0, and BT.709 said out loud for matrix, primaries and
    # transfer (untagged HD is read as BT.709 by players but written as BT.601 by ffmpeg).
    assert "Video: h264" in stream_line(path) and "yuv420p(tv, bt709, progressive)" in stream_line(path)


@pytest.mark.parametrize(
    ("size", "make"),
    [
        ((64, 48), lambda size: pygame.Surface(size, 0, 24)),  # raw bgr24
        ((33, 24), lambda size: pygame.Surface(size, 0, 24)),  # rows padded to 4 bytes: tobytes
        ((64, 48), lambda size: pygame.Surface(size, pygame.SRCALPHA)),  # alpha byte ignored
        ((64, 48), lambda size: pygame.Surface(size, 0, 8)),  # palette: tobytes
    ],
    ids=["24bit", "24bit-padded-rows", "srcalpha", "8bit"],
)
def test_other_surface_layouts_record_the_right_colours(tmp_path, size, make):
    frames = []
    for colour in COLOURS:
        surface = make(size)
        surface.fill(colour)
        frames.append(surface)
    path = tmp_path / "layout.mp4"
    record(Recorder(path, size, max_queued_frames=10), frames)
    video = iio.imread(path, plugin="FFMPEG", index=...)
    means = video.reshape(len(COLOURS), -1, 3).mean(axis=1)
    # 8-bit surfaces map fill colours to their palette's nearest, hence the looser tolerance.
    np.testing.assert_allclose(means, np.array(COLOURS), atol=40 if frames[0].get_bitsize() == 8 else 6)


def test_odd_size_mp4_is_cropped_by_one_pixel_not_rescaled(tmp_path):
    surface = pygame.Surface((321, 181))
    surface.fill((20, 20, 20))
    surface.fill((240, 240, 240), pygame.Rect(312, 0, 8, 181))  # a bar ending at the last kept column
    surface.fill((0, 255, 0), pygame.Rect(320, 0, 1, 181))  # the odd column: cropped away
    surface.fill((0, 255, 0), pygame.Rect(0, 180, 321, 1))  # the odd row: cropped away
    path = tmp_path / "odd.mp4"
    result = record(Recorder(path, (321, 181), max_queued_frames=10), [surface] * 10)

    assert result.size == (320, 180)
    video = iio.imread(path, plugin="FFMPEG", index=...).astype(int)
    assert video.shape == (10, 180, 320, 3)
    frame = video[-1]
    # Rescaling 321 -> 320 would smear the green edge into the picture and move the bar's edges.
    assert frame[:, 312:320].min() > 200, "the bar should reach the last column untouched"
    assert frame[:, 300:308].max() < 60, "left of the bar should stay dark"
    assert (frame[..., 1] - frame[..., 0]).max() < 30, "no green may survive the crop"


def test_gif_keeps_every_third_frame_at_60_fps_full_size_and_colours(tmp_path):
    path = tmp_path / "clip.gif"
    recorder = Recorder(path, (160, 120), fps=60, fmt="gif", max_queued_frames=30)
    result = record(recorder, colour_frames((160, 120), 30))

    assert recorder.fps == 20.0
    assert (result.frames_written, result.dropped_frames, result.fps, result.seconds) == (10, 0, 20.0, 0.5)
    frames = iio.imread(path, index=...)  # Pillow: (frames, height, width, 3)
    assert frames.shape[:3] == (10, 120, 160)
    assert iio.immeta(path)["duration"] == 50  # ms per frame: 5 centiseconds, exact in GIF
    expected = np.array([COLOURS[(3 * index) % len(COLOURS)] for index in range(10)])
    # Palette per frame: flat colours come back exactly (a red frame after an orange one once came back orange).
    np.testing.assert_allclose(frames[..., :3].reshape(10, -1, 3).mean(axis=1), expected, atol=1)


def test_mp4_at_half_the_offered_rate_keeps_every_second_frame(tmp_path):
    path = tmp_path / "half.mp4"
    recorder = Recorder(path, (64, 48), fps=60, video_fps=30, max_queued_frames=30)
    result = record(recorder, colour_frames((64, 48), 30))

    assert (result.fps, result.frames_written, result.seconds) == (30.0, 15, 0.5)
    video = iio.imread(path, plugin="FFMPEG", index=...)
    assert video.shape == (15, 48, 64, 3)
    assert iio.immeta(path, plugin="FFMPEG")["fps"] == pytest.approx(30.0)
    expected = np.array([COLOURS[(2 * index) % len(COLOURS)] for index in range(15)])
    np.testing.assert_allclose(video.reshape(15, -1, 3).mean(axis=1), expected, atol=6)


def test_a_resized_window_is_padded_top_left_and_recording_goes_on(tmp_path):
    path = tmp_path / "resized.mp4"
    recorder = Recorder(path, (64, 48), max_queued_frames=10)
    small = pygame.Surface((32, 48))
    small.fill((240, 240, 240))
    record(recorder, [pygame.Surface((64, 48))] * 2 + [small] * 2)

    video = iio.imread(path, plugin="FFMPEG", index=...).astype(int)
    assert video.shape == (4, 48, 64, 3)
    assert video[-1, :, :28].min() > 200 and video[-1, :, 36:].max() < 40


def test_request_stop_returns_at_once_and_an_empty_recording_leaves_no_file(tmp_path):
    path = tmp_path / "nothing.mp4"
    recorder = Recorder(path, (64, 48))
    recorder.request_stop()
    wait_for(lambda: recorder.finished)
    assert not recorder.add_frame(pygame.Surface((64, 48)))
    result = recorder.stop()
    assert result.frames_written == 0
    assert not path.exists()


def test_a_folder_that_cannot_be_created_is_one_clear_line_and_no_thread_is_left(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a regular file")
    recorder = Recorder(blocker / "recordings" / "clip.mp4", (64, 48))
    surface = pygame.Surface((64, 48))

    for _ in range(30):  # while the writer thread discovers the problem: no exception reaches the window
        recorder.add_frame(surface)
    wait_for(lambda: recorder.error is not None)
    assert recorder.error.startswith("cannot create folder")
    assert "\n" not in recorder.error
    assert not recorder.recording and not recorder.add_frame(surface)
    with pytest.raises(RecordingError, match="cannot create folder") as raised:
        recorder.stop()
    assert raised.value.result is not None and raised.value.result.frames_written == 0
    assert recorder.finished and recorder_threads() == []


def test_an_existing_file_is_never_overwritten(tmp_path):
    path = tmp_path / "taken.mp4"
    path.write_bytes(b"someone's talk")
    recorder = Recorder(path, (64, 48))
    recorder.add_frame(pygame.Surface((64, 48)))
    with pytest.raises(RecordingError, match="already exists"):
        recorder.stop()
    assert path.read_bytes() == b"someone's talk"


def test_missing_ffmpeg_is_reported_not_raised(tmp_path, monkeypatch):
    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", lambda: str(tmp_path / "no-ffmpeg"))
    path = tmp_path / "clip.mp4"
    recorder = Recorder(path, (64, 48))
    assert recorder.add_frame(pygame.Surface((64, 48)))
    wait_for(lambda: recorder.error is not None)
    assert "ffmpeg not found" in recorder.error
    with pytest.raises(RecordingError, match="ffmpeg not found"):
        recorder.stop()
    assert not path.exists(), "the claimed, empty file is removed"
    assert recorder_threads() == []


@pytest.mark.skipif(not os.access("/dev/full", os.W_OK), reason="needs Linux's /dev/full")
def test_a_full_disk_gives_ffmpegs_reason(tmp_path):
    # overwrite=True: /dev/full already exists (and is never claimed, so never removed).
    recorder = Recorder(Path("/dev/full"), (64, 48), overwrite=True, max_queued_frames=30)
    for surface in colour_frames((64, 48), 30):
        recorder.add_frame(surface)
    with pytest.raises(RecordingError, match="No space left on device"):
        recorder.stop()
    assert recorder_threads() == []


class StalledEncoder:
    """Stands in for ffmpeg: ``write`` blocks until released, like an encoder that has fallen behind."""

    def __init__(self) -> None:
        self.writing = threading.Event()
        self.release = threading.Event()
        self.killed = False
        self.frames: list[bytes] = []

    def write(self, frame: bytes) -> None:
        self.writing.set()
        self.release.wait()
        self.frames.append(frame)

    def finish(self) -> float | None:
        return None

    def kill(self) -> None:
        self.killed = True
        self.release.set()


class StalledRecorder(Recorder):
    def __init__(self, *args, **kwargs) -> None:
        self.encoder = StalledEncoder()
        super().__init__(*args, **kwargs)

    def _open_encoder(self, pix_fmt: str) -> StalledEncoder:  # type: ignore[override]
        return self.encoder


def test_a_full_queue_drops_frames_instead_of_blocking(tmp_path):
    recorder = StalledRecorder(tmp_path / "stalled.mp4", (1280, 720), max_queued_frames=2)
    surface = pygame.Surface((1280, 720))
    assert recorder.add_frame(surface)
    assert recorder.encoder.writing.wait(WAIT)  # the writer now holds frame 1, stuck in write()

    # The 40 frames go in from a thread of their own: had add_frame blocked on the full
    # queue, it would still be waiting for the stalled encoder (released only below).
    accepted = []

    def add_frames() -> None:
        accepted.extend(recorder.add_frame(surface) for _ in range(40))

    window = threading.Thread(target=add_frames, daemon=True)
    window.start()
    window.join(timeout=WAIT)
    assert not window.is_alive() and not recorder.encoder.release.is_set(), "add_frame blocked on a full queue"
    assert accepted == [True, True] + [False] * 38
    assert recorder.dropped_frames == 38 and recorder.queued_frames == 2
    recorder.encoder.release.set()
    result = recorder.stop()
    assert (result.frames_written, result.dropped_frames) == (3, 38)
    assert len(recorder.encoder.frames[0]) == 1280 * 720 * 4  # raw 32-bit pixels, no row padding


def test_stop_gives_up_on_a_stuck_encoder_and_leaves_no_thread(tmp_path):
    recorder = StalledRecorder(tmp_path / "stuck.mp4", (64, 48))
    recorder.add_frame(pygame.Surface((64, 48)))
    assert recorder.encoder.writing.wait(WAIT)
    # The encoder is stuck until killed: stop returns at all only by giving up on it.
    with pytest.raises(RecordingError, match=r"did not finish within 0\.2 s"):
        recorder.stop(timeout=0.2)
    assert recorder.encoder.killed
    assert recorder_threads() == []
    assert not (tmp_path / "stuck.mp4").exists()


def test_timestamped_path_never_reuses_a_name(tmp_path):
    now = datetime(2025, 3, 4, 5, 6, 7)
    first = timestamped_path(tmp_path / "recordings", "mp4", now=now)
    assert first == tmp_path / "recordings" / "20250304-050607.mp4"
    assert not first.parent.exists(), "choosing a name creates nothing"

    first.parent.mkdir()
    taken = []
    for _ in range(3):
        path = timestamped_path(first.parent, "mp4", now=now)
        assert path not in taken
        path.write_bytes(b"clip")
        taken.append(path)
    assert [path.name for path in taken] == ["20250304-050607.mp4", "20250304-050607-2.mp4", "20250304-050607-3.mp4"]
    assert timestamped_path(first.parent, "gif", now=now).name == "20250304-050607.gif"
    assert timestamped_path(first.parent, "png", now=now).name == "20250304-050607.png"  # screenshots
    for bad in ("", ".mp4", "../mp4"):
        with pytest.raises(ValueError, match="not a file extension"):
            timestamped_path(first.parent, bad)


def test_unknown_format_is_refused_at_once(tmp_path):
    with pytest.raises(ValueError, match="unknown recording format"):
        Recorder(tmp_path / "clip.avi", (64, 48), fmt="avi")
    assert recorder_threads() == []
