"""Record the window to an MP4 (H.264) or GIF while it keeps drawing at full speed.

The render loop calls :meth:`Recorder.add_frame` once per frame. All it pays for is one
copy of the surface's pixel bytes (about 0.2 ms for 1280x720 on a window-format surface,
see ``benchmarks/recording.py``); the copy goes on a short queue. A daemon writer thread
takes frames off the queue and pipes them into an ``ffmpeg`` subprocess (the binary that
the ``imageio-ffmpeg`` wheel ships), which converts and encodes outside our process and
so outside the GIL. If the encoder falls behind and the queue is full, the frame is
dropped and counted; the render loop never waits.

Nothing here raises into the render loop: a failure in the writer (no ffmpeg, folder not
writable, disk full, ffmpeg quitting) becomes a one-line :attr:`Recorder.error` for a
toast, and :meth:`Recorder.stop` then raises :class:`RecordingError` carrying the same
line and the counts so far.

How ffmpeg is driven: ``ffmpeg.py``.
"""

from __future__ import annotations

import collections
import contextlib
import shutil
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

import pygame

from vpg_sim.files import unused_path
from vpg_sim.ui.recording.ffmpeg import (
    FfmpegEncoder,
    RecordingError,
    RecordingResult,
    encoder_command,
    one_line,
    os_reason,
)

FORMATS = ("mp4", "gif")

GIF_FPS = 20.0
"""Target frame rate of GIFs. A GIF frame delay is whole centiseconds and browsers and
slide software stretch delays under 2 cs to 10 cs, so 60 fps cannot be stored or played;
20 fps (every 3rd frame of a 60 fps window, 5 cs each) is exact and plays everywhere, and
it also cuts the encoder's work (palette per frame) to a third."""

QUEUE_BYTES = 64 * 1024 * 1024
"""Memory the queue of copied frames may hold: 17 frames of 1280x720 (0.28 s at 60 fps),
8 of 1920x1080. It absorbs hiccups of the encoder; a longer queue would only delay drops."""

_STOP_KILL_GRACE = 2.0
"""Seconds :meth:`Recorder.stop` waits for the writer after killing a stuck ffmpeg."""


def timestamped_path(folder: Path, fmt: str, now: datetime | None = None) -> Path:
    """``folder/<YYYYmmdd-HHMMSS>.<fmt>``, or ``...-2``, ``...-3``... if that file exists.

    ``fmt`` is the extension: ``"mp4"`` or ``"gif"`` for a :class:`Recorder`, but any plain
    extension works (the window names its PNG screenshots this way too).

    Touches nothing (the folder need not exist yet: the :class:`Recorder` creates it). The
    check here is not atomic; the Recorder claims the name with an exclusive create, so two
    recordings racing for the same second still never overwrite each other (the loser gets
    an "already exists" error).
    """
    if not fmt.isalnum():
        raise ValueError(f"not a file extension: {fmt!r}")
    return unused_path(folder, (now or datetime.now()).strftime("%Y%m%d-%H%M%S"), suffix=f".{fmt}")


class Recorder:
    """Records frames of ``size`` (width, height) to ``path`` as MP4 or GIF, encoding off-thread.

    Starts its writer thread on construction, which creates ``path.parent`` and claims
    ``path`` (exclusive create: an existing file is never overwritten unless ``overwrite``).
    Call :meth:`add_frame` once per rendered frame, then :meth:`stop` (or use ``with``).

    Frames are stored at a constant rate: every ``round(fps / video_fps)``-th offered frame
    (all of them by default for MP4, every 3rd at 60 fps for GIF). The clip plays at real
    speed when the caller offers frames at ``fps``; dropped frames make it a little shorter.

    * ``mp4``: H.264 (libx264, preset :data:`MP4_PRESET`, CRF :data:`MP4_CRF`), yuv420p,
      BT.709-tagged: what PowerPoint, Keynote, Google Slides and browsers play. yuv420p needs
      an even width and height, so an odd window size loses its last column and/or row
      (ffmpeg crops, top-left anchored); nothing is rescaled. ``video_fps=30`` halves the
      encoder's work (and the copies) if 60 fps costs the training too much.
    * ``gif``: :data:`GIF_FPS` frames per second by default, full size, streamed through
      ffmpeg with a 256-colour palette made per frame (a global palette would need every
      frame in memory first), no dithering (the window is flat colours, and dithering would
      shimmer from frame to frame), looping forever.

    A surface whose size differs from ``size`` (the window was resized) is drawn top-left onto
    a black frame of ``size``, cropped or padded, so the recording goes on.

    Surfaces in the window's usual layout (32- or 24-bit, no row padding) are copied as raw
    bytes, the cheapest copy there is (4 bytes per pixel for 32-bit: 3.7 MB per 1280x720
    frame); ffmpeg is told the byte order. Anything else goes through
    ``pygame.image.tobytes(surface, "RGB")`` (3 bytes per pixel, about 10x slower).

    Args:
        path: output file, e.g. from :func:`timestamped_path`.
        size: (width, height) in pixels of the frames that will be offered.
        fps: rate at which frames are offered (and stored, for MP4).
        fmt: ``"mp4"`` or ``"gif"``.
        max_queued_frames: frames the queue may hold; default from :data:`QUEUE_BYTES`.
        overwrite: replace an existing ``path`` instead of failing.
        wait_when_full: when the encoder is behind, :meth:`add_frame` waits for room
            instead of dropping the frame (a recording made without a display, where the
            frames are the product and nobody watches the window).
        encoder_nice: niceness ffmpeg runs at (POSIX; 0 = same as the app). On two cores the
            encoder's threads otherwise compete on equal terms with the render loop: at 1080p
            (half a core of x264) nice 10 roughly halved the slowest ``add_frame`` calls (p99
            5-7 -> 3-4 ms, noisy machine) and dropped nothing. When the machine is saturated,
            the recording drops frames before the window does, which is the point.
        video_fps: frame rate of the file; None = ``fps`` for MP4, :data:`GIF_FPS` for GIF.
            Rounded to ``fps`` divided by a whole number (frames are skipped, not blended).
    """

    def __init__(
        self,
        path: Path,
        size: tuple[int, int],
        fps: float = 60,
        fmt: str = "mp4",
        *,
        max_queued_frames: int | None = None,
        overwrite: bool = False,
        video_fps: float | None = None,
        encoder_nice: int = 10,
        wait_when_full: bool = False,
    ) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown recording format {fmt!r}; expected one of {', '.join(FORMATS)}")
        width, height = (int(side) for side in size)
        if width < 2 or height < 2:
            raise ValueError(f"cannot record a {width}x{height} surface")
        if fps <= 0:
            raise ValueError(f"fps must be positive, not {fps}")
        self.path = Path(path)
        self.fmt = fmt
        self.size = (width, height)
        # yuv420p stores one colour sample per 2x2 block: MP4 dimensions must be even.
        self.video_size = (width - width % 2, height - height % 2) if fmt == "mp4" else self.size
        if video_fps is None:
            video_fps = GIF_FPS if fmt == "gif" else fps
        if video_fps <= 0:
            raise ValueError(f"video_fps must be positive, not {video_fps}")
        self._frame_step = max(1, round(fps / video_fps))
        self.fps = fps / self._frame_step
        """Frames per second of the file: the offered rate divided by the whole-number frame step."""
        self._overwrite = overwrite
        self._encoder_nice = encoder_nice
        self._wait_when_full = wait_when_full
        frame_bytes = width * height * 4
        self._max_queued = max_queued_frames or max(2, min(60, QUEUE_BYTES // frame_bytes))

        # Shared with the writer thread; the condition guards the queue and the closing flag.
        self._pending: collections.deque[bytes] = collections.deque()
        self._wakeup = threading.Condition()
        self._closing = False
        self._error: str | None = None
        self._claimed = False
        self._encoder: FfmpegEncoder | None = None
        self._encoder_cpu: float | None = None
        self._frames_written = 0
        # Touched only by the thread that calls add_frame.
        self._frames_offered = 0
        self._dropped = 0
        self._layout: _RawLayout | None = None  # how frames are copied; fixed by the first frame
        self._staging: pygame.Surface | None = None
        self._result: RecordingResult | None = None

        self._started = time.monotonic()
        self._stopped_at: float | None = None
        self._thread = threading.Thread(target=self._run, name=f"recorder:{self.path.name}", daemon=True)
        self._thread.start()

    # -- the render loop's side ------------------------------------------------------

    def add_frame(self, surface: pygame.Surface) -> bool:
        """Queue a copy of ``surface``'s pixels; never blocks, never raises.

        Returns False if the frame was dropped because the encoder is behind (counted in
        :attr:`dropped_frames`), or because the recording has stopped or failed (see
        :attr:`error`). Frames skipped on purpose (``video_fps`` below ``fps``) return True.
        """
        if self._closing or self._error is not None:
            return False
        index = self._frames_offered
        self._frames_offered += 1
        if index % self._frame_step:
            return True
        # Checked before copying: when the encoder is behind, a dropped frame costs nothing.
        if len(self._pending) >= self._max_queued:
            if not self._wait_when_full:
                self._dropped += 1
                return False
            with self._wakeup:  # a recording without a display waits for the encoder instead
                while len(self._pending) >= self._max_queued and not self._closing and self._error is None:
                    self._wakeup.wait(0.1)
            if self._closing or self._error is not None:
                return False
        try:
            data = self._copy_pixels(surface)
        except Exception as exc:  # a bad surface must not take the window down
            self._fail(f"cannot read the frame: {one_line(exc)}")
            return False
        with self._wakeup:
            if self._closing:
                return False
            self._pending.append(data)
            self._wakeup.notify()
        return True

    def _copy_pixels(self, surface: pygame.Surface) -> bytes:
        """The frame as ``height`` rows of ``width`` pixels, no padding, in ``self._layout``'s format."""
        if self._layout is None:
            self._layout = _RawLayout.of(surface) if surface.get_size() == self.size else None
            if self._layout is None:
                self._layout = _RawLayout.of(pygame.Surface(self.size, 0, surface))
            if self._layout is None:
                self._layout = _RGB24
        layout = self._layout
        if surface.get_size() != self.size or (layout is not _RGB24 and _RawLayout.of(surface) != layout):
            surface = self._restage(surface)
        if layout is _RGB24:
            return pygame.image.tobytes(surface, "RGB")
        # One memcpy of the pixel buffer: over 10x faster than tobytes, which converts per pixel.
        return surface.get_buffer().raw

    def _restage(self, surface: pygame.Surface) -> pygame.Surface:
        """``surface`` drawn top-left on a black surface of ``self.size`` in the recording's layout."""
        layout = self._layout
        if self._staging is None:
            if layout is None or layout is _RGB24:
                self._staging = pygame.Surface(self.size)
            else:
                self._staging = pygame.Surface(self.size, 0, layout.bitsize, layout.masks)
        self._staging.fill((0, 0, 0))
        self._staging.blit(surface, (0, 0))
        return self._staging

    # -- state -----------------------------------------------------------------------

    @property
    def error(self) -> str | None:
        """One line saying why the recording failed, or None while it is fine."""
        return self._error

    @property
    def recording(self) -> bool:
        """True while frames are accepted (not stopping, not failed)."""
        return not self._closing and self._error is None

    @property
    def finished(self) -> bool:
        """True once the writer thread is done (the file is final, or the recording failed)."""
        return not self._thread.is_alive()

    @property
    def frames_written(self) -> int:
        """Frames handed to ffmpeg so far."""
        return self._frames_written

    @property
    def dropped_frames(self) -> int:
        """Frames :meth:`add_frame` dropped because the queue was full."""
        return self._dropped

    @property
    def queued_frames(self) -> int:
        """Frames copied but not yet handed to the encoder."""
        return len(self._pending)

    # -- stopping --------------------------------------------------------------------

    def request_stop(self) -> None:
        """Stop accepting frames and let the writer flush and finalise; returns at once.

        Poll :attr:`finished` and then call :meth:`stop` (which no longer waits) to keep the
        render loop smooth while the last queued frames are encoded.
        """
        with self._wakeup:
            if not self._closing:
                self._closing = True
                self._stopped_at = time.monotonic()
            self._wakeup.notify()

    def stop(self, timeout: float = 30.0) -> RecordingResult:
        """Flush the queue, finalise the file, join the writer thread. Safe to call twice.

        Waits up to ``timeout`` seconds (the queue holds at most a fraction of a second of
        frames; ffmpeg finishing an MP4 takes milliseconds), then kills ffmpeg.

        Raises:
            RecordingError: the recording failed; its message is :attr:`error`, its
                ``result`` the counts so far. The failed file is removed when this Recorder
                created it (an MP4 cut short cannot be played anyway).
        """
        self.request_stop()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._fail(f"the encoder did not finish within {timeout:g} s")
            encoder = self._encoder
            if encoder is not None:
                encoder.kill()
            self._thread.join(_STOP_KILL_GRACE)
        if self._result is None:
            self._result = RecordingResult(
                path=self.path,
                fmt=self.fmt,
                size=self.video_size,
                fps=self.fps,
                frames_written=self._frames_written,
                dropped_frames=self._dropped,
                seconds=self._frames_written / self.fps,
                wall_seconds=(self._stopped_at or time.monotonic()) - self._started,
                encoder_cpu_seconds=self._encoder_cpu,
            )
        if self._error is not None:
            raise RecordingError(self._error, self._result)
        return self._result

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.stop()
        else:  # do not hide the original exception behind a RecordingError
            with contextlib.suppress(RecordingError):
                self.stop()

    # -- the writer thread -----------------------------------------------------------

    def _fail(self, message: str) -> None:
        with self._wakeup:
            if self._error is None:
                self._error = message
            self._pending.clear()  # free the frames now; nobody will encode them
            self._wakeup.notify()

    def _next_frame(self) -> bytes | None:
        """The oldest queued frame; None once stopping with the queue empty, or failed."""
        with self._wakeup:
            while not self._pending and not self._closing and self._error is None:
                self._wakeup.wait()
            if self._error is not None or not self._pending:
                return None
            frame = self._pending.popleft()
            self._wakeup.notify_all()  # room in the queue for a render loop that waits for it
            return frame

    def _run(self) -> None:
        try:
            self._claim_path()
            first = self._next_frame()
            if first is None:  # stopped before any frame (or failed): leave no empty file behind
                self._remove_claimed()
                return
            assert self._layout is not None  # set by add_frame before it queues anything
            encoder = self._open_encoder(self._layout.pix_fmt)
            self._encoder = encoder
            frame: bytes | None = first
            try:
                while frame is not None:
                    encoder.write(frame)
                    self._frames_written += 1
                    frame = self._next_frame()
            finally:
                if self._error is not None:
                    encoder.kill()
                self._encoder_cpu = encoder.finish()
        except Exception as exc:  # everything becomes one line for the toast
            self._fail(one_line(exc))
        if self._error is not None:
            self._remove_claimed()

    def _claim_path(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RecordingError(f"cannot create folder {self.path.parent}: {os_reason(exc)}") from exc
        if self._overwrite:
            return
        try:
            # Exclusive create: an existing recording is never replaced, even by a racing one.
            with self.path.open("xb"):
                pass
        except FileExistsError as exc:
            raise RecordingError(f"{self.path} already exists") from exc
        except OSError as exc:
            raise RecordingError(f"cannot write {self.path}: {os_reason(exc)}") from exc
        self._claimed = True

    def _remove_claimed(self) -> None:
        if self._claimed:
            with contextlib.suppress(OSError):
                self.path.unlink()
            self._claimed = False

    def _open_encoder(self, pix_fmt: str) -> FfmpegEncoder:
        """Start ffmpeg reading raw ``pix_fmt`` frames of ``self.size`` on stdin. Tests override this."""
        try:
            import imageio_ffmpeg
        except ImportError as exc:
            raise RecordingError("recording needs the imageio-ffmpeg package (pip install imageio-ffmpeg)") from exc
        try:
            executable = imageio_ffmpeg.get_ffmpeg_exe()
        except Exception as exc:
            raise RecordingError(f"ffmpeg not found: {one_line(exc)}") from exc
        if shutil.which(executable) is None:  # checked here: behind nice(1) it would be a vaguer error
            raise RecordingError(f"ffmpeg not found or not executable: {executable}")
        command = encoder_command(executable, pix_fmt, self.fmt, self.size, self.video_size, self.fps, self.path)
        return FfmpegEncoder(command, nice=self._encoder_nice)


@dataclass(frozen=True)
class _RawLayout:
    """A surface whose pixel buffer ffmpeg can read as is: no row padding, whole-byte channels."""

    pix_fmt: str
    bitsize: int
    masks: tuple[int, int, int, int]

    @staticmethod
    def of(surface: pygame.Surface) -> _RawLayout | None:
        width, _ = surface.get_size()
        bytesize = surface.get_bytesize()
        if bytesize not in (3, 4) or surface.get_pitch() != width * bytesize:
            return None
        masks = surface.get_masks()
        channels = ["0"] * bytesize  # alpha and padding bytes are ignored: the window is opaque
        for letter, mask in zip("rgb", masks[:3], strict=True):
            shift = (mask & -mask).bit_length() - 1
            if mask == 0 or shift % 8 or mask >> shift != 0xFF:
                return None
            byte = shift // 8 if sys.byteorder == "little" else bytesize - 1 - shift // 8
            channels[byte] = letter
        order = "".join(channels)
        pix_fmt = {"bgr0": "bgr0", "rgb0": "rgb0", "0rgb": "0rgb", "0bgr": "0bgr", "rgb": "rgb24", "bgr": "bgr24"}
        if order not in pix_fmt:
            return None
        return _RawLayout(pix_fmt[order], surface.get_bitsize(), masks)


_RGB24 = _RawLayout("rgb24", 24, (0, 0, 0, 0))
"""Fallback: frames converted by ``pygame.image.tobytes(surface, "RGB")``."""
