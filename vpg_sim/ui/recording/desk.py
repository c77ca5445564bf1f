"""The window's recording desk: at most one recording at a time, finished in the background.

Both windows record through one :class:`RecordingDesk`: a command starts or stops it,
the frame loop hands it each frame (before the toasts and the red dot, so the clip stays
clean) and collects how each finished recording went, for a toast.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pygame

from vpg_sim.ui.recording.ffmpeg import RecordingError, RecordingResult
from vpg_sim.ui.recording.recorder import Recorder, timestamped_path


class RecordingDesk:
    """Starts, feeds and stops the window's recordings."""

    def __init__(self, folder: Path, fmt: str, fps: float) -> None:
        self.folder = folder
        self.fmt = fmt
        self.fps = fps
        self.recorder: Recorder | None = None
        self._finished: list[RecordingResult | RecordingError] = []
        self._stopping: list[threading.Thread] = []
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self.recorder is not None

    @property
    def error(self) -> str | None:
        """Why the recording in progress failed (it should then be stopped), or None."""
        return self.recorder.error if self.recorder is not None else None

    def start(self, size: tuple[int, int], path: Path | None = None, every_frame: bool = False) -> Path:
        """Start recording frames of ``size`` to ``path`` (default: a new timestamped file
        in the folder); the path. ``every_frame``: wait for the encoder rather than drop a
        frame (recording without a display). OSError if the folder cannot be made (a
        folder that cannot be written is reported by the recorder: its :attr:`error` at
        the next frame)."""
        if path is None:
            path = timestamped_path(self.folder, self.fmt)
        self.recorder = Recorder(path, size, self.fps, self.fmt, overwrite=path.exists(), wait_when_full=every_frame)
        return path

    def add_frame(self, surface: pygame.Surface) -> None:
        if self.recorder is not None:
            self.recorder.add_frame(surface)

    def stop(self, wait: bool = False) -> None:
        """Finish the file in the background (ffmpeg may need a moment), or now with
        ``wait``; :meth:`take_finished` then says how it went."""
        recorder, self.recorder = self.recorder, None
        if recorder is None:
            return

        def finish() -> None:
            try:
                outcome: RecordingResult | RecordingError = recorder.stop()
            except RecordingError as error:
                outcome = error
            with self._lock:
                self._finished.append(outcome)

        if wait:
            finish()
            return
        thread = threading.Thread(target=finish, name="recording-stop", daemon=True)
        thread.start()
        self._stopping.append(thread)

    def take_finished(self) -> list[RecordingResult | RecordingError]:
        """How the recordings finished since the last call went, oldest first."""
        with self._lock:
            finished, self._finished = self._finished, []
        return finished

    def close(self) -> None:
        """Finish a recording in progress and wait for every file to be complete."""
        self.stop(wait=True)
        for thread in self._stopping:
            thread.join()
