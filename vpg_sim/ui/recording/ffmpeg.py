"""The ffmpeg process a recording is piped into, and how its errors become one line.

Why ffmpeg is driven directly rather than through ``imageio_ffmpeg.write_frames``: that
generator sends ffmpeg's stderr to our terminal (so the reason for a failure cannot reach
the toast), never checks ffmpeg's exit status (a file that failed to finalise would pass
as written), and hides the process (no CPU figure, cannot be killed on a stuck stop).
We take the binary from ``imageio_ffmpeg.get_ffmpeg_exe()``; nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

MP4_PRESET = "ultrafast"
"""x264 preset. ``ultrafast`` is the cheapest on CPU (about a quarter of a core for 1280x720
at 60 fps, half a core for 1920x1080, conversion and pipe included; measured); superfast and
veryfast make files 1.5-3x smaller but cost 1.5-2x the CPU, and on two cores shared with
training the CPU matters more than the file size (17-36 MB a minute at 720p60, measured)."""

MP4_CRF = 23
"""x264 constant-rate factor (lower = better quality, bigger file); 23 is x264's default."""

PIPE_BYTES = 1024 * 1024
"""Requested size of the pipe into ffmpeg (Linux's default is 64 KiB, 1 MiB the unprivileged
maximum): fewer wake-ups of both ends per frame."""


@dataclass(frozen=True)
class RecordingResult:
    """What :meth:`Recorder.stop` wrote.

    ``size`` is the video's (width, height), which for MP4 may be one pixel smaller than the
    window's in either direction (see :class:`Recorder`). ``seconds`` is the clip's playback
    length, ``frames_written / fps``; ``wall_seconds`` is the time from start to stop. With
    dropped frames the clip is shorter than the wall time (it plays the kept frames at ``fps``).
    ``encoder_cpu_seconds`` is ffmpeg's user+system CPU time (None where it cannot be read).
    """

    path: Path
    fmt: str
    size: tuple[int, int]
    fps: float
    frames_written: int
    dropped_frames: int
    seconds: float
    wall_seconds: float
    encoder_cpu_seconds: float | None = None


class RecordingError(Exception):
    """A recording failed. ``str(error)`` is one line for a toast; ``result`` has the counts so far."""

    def __init__(self, message: str, result: RecordingResult | None = None) -> None:
        super().__init__(message)
        self.result = result


def encoder_command(
    executable: str,
    pix_fmt: str,
    fmt: str,
    size: tuple[int, int],
    video_size: tuple[int, int],
    fps: float,
    path: Path,
) -> list[str]:
    """ffmpeg's command line: raw ``pix_fmt`` frames of ``size`` on stdin, ``fmt`` (mp4 or
    gif) of ``video_size`` (``size`` cropped to even sides for H.264) out to ``path``."""
    width, height = size
    command = [executable, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-y"]
    command += ["-f", "rawvideo", "-pix_fmt", pix_fmt, "-video_size", f"{width}x{height}"]
    command += ["-framerate", frame_rate(fps), "-i", "pipe:0", "-an"]
    if fmt == "mp4":
        video_width, video_height = video_size
        filters = []
        if video_size != size:
            filters.append(f"crop={video_width}:{video_height}:0:0")
        # ffmpeg's RGB->YUV default is the BT.601 matrix, but players read untagged HD video
        # as BT.709: convert with BT.709 and say so, or the theme's colours shift on slides.
        filters.append("scale=out_color_matrix=bt709:out_range=tv,format=yuv420p")
        # Tagged on the frames: this ffmpeg (9.0) ignores -color_primaries/-color_trc output
        # options when the filtered frames carry "unknown" ones.
        filters.append("setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv")
        command += ["-vf", ",".join(filters)]
        encoder = ["-c:v", "libx264", "-preset", MP4_PRESET, "-crf", str(MP4_CRF)]
        command += [*encoder, "-pix_fmt", "yuv420p", "-f", "mp4"]
    else:
        command += [
            "-vf",
            "split[a][b];[a]palettegen=stats_mode=single:reserve_transparent=0[p];[b][p]paletteuse=new=1:dither=none",
        ]
        # ffmpeg's GIF encoder diffs each frame against the last by palette *index*, which is
        # wrong once every frame has its own palette (a red frame after an orange one came out
        # orange): whole frames only. Costs nothing measurable in size for the window's content.
        command += ["-c:v", "gif", "-gifflags", "-offsetting-transdiff", "-loop", "0", "-f", "gif"]
    command.append(str(path))
    return command


class FfmpegEncoder:
    """One ffmpeg process fed raw frames on stdin; its stderr goes to a temp file for the error line."""

    def __init__(self, command: list[str], nice: int = 0) -> None:
        # Lives as long as the process; closed in finish(). A file, not a pipe: nobody has to drain it.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        popen_options: dict[str, object] = {}
        if os.name == "posix":
            # Own session: Ctrl+C in the terminal reaches the app, which stops the recording
            # cleanly, instead of killing ffmpeg mid-file.
            popen_options["start_new_session"] = True
        nice_command = shutil.which("nice") if nice and os.name == "posix" else None
        if nice_command:
            # nice(1) lowers the priority before it execs ffmpeg (same pid), so every thread
            # ffmpeg starts inherits it; renicing the pid afterwards would race those threads.
            command = [nice_command, "-n", str(nice), *command]
        try:
            self.process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._stderr, **popen_options
            )
        except OSError as exc:
            self._stderr.close()
            raise RecordingError(f"cannot start ffmpeg: {os_reason(exc)}") from exc
        if nice and not nice_command and hasattr(os, "setpriority"):
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, self.process.pid, nice)
        assert self.process.stdin is not None
        self._stdin = self.process.stdin
        if sys.platform == "linux":
            import fcntl

            with contextlib.suppress(OSError, AttributeError):
                fcntl.fcntl(self._stdin.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        self._done = False

    def write(self, frame: bytes) -> None:
        """Hand one frame to ffmpeg; blocks (GIL released) while ffmpeg catches up."""
        try:
            self._stdin.write(frame)
        except OSError as exc:  # EPIPE: ffmpeg has quit; the reason is on its stderr
            self.finish()  # raises with ffmpeg's own message if it has one
            raise RecordingError(f"ffmpeg stopped reading frames: {os_reason(exc)}") from exc

    def finish(self) -> float | None:
        """Close stdin, wait for ffmpeg to finalise the file; its CPU seconds, or None if unknown.

        Raises RecordingError with ffmpeg's first error line if it exits non-zero.
        """
        if self._done:
            return None
        self._done = True
        with contextlib.suppress(OSError):
            self._stdin.close()
        cpu: float | None = None
        if hasattr(os, "wait4"):
            # wait4 rather than Popen.wait: same wait, plus the child's CPU time (rusage).
            try:
                _, status, usage = os.wait4(self.process.pid, 0)
                self.process.returncode = os.waitstatus_to_exitcode(status)
                cpu = usage.ru_utime + usage.ru_stime
            except ChildProcessError:
                self.process.wait()
        else:
            self.process.wait()
        code = self.process.returncode
        message = self._first_stderr_line()
        self._stderr.close()
        if code != 0:
            reason = message or (f"killed by signal {-code}" if code < 0 else "no message")
            raise RecordingError(f"ffmpeg failed (exit {code}): {reason}")
        return cpu

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()

    def _first_stderr_line(self) -> str:
        """ffmpeg's first error line (the cause; later lines are its consequences), sans "[mp4 @ 0x..]"."""
        with contextlib.suppress(OSError, ValueError):
            self._stderr.seek(0)
            for line in self._stderr.read().decode("utf-8", "replace").splitlines():
                text = re.sub(r"^(\[[^\]]* @ [^\]]*\]\s*)+", "", line.strip())
                if text:
                    return one_line(text)
        return ""


def frame_rate(fps: float) -> str:
    """fps as ffmpeg wants it, exactly: 60 -> "60", 20.0 -> "20", 29.97 -> "2997/100"."""
    fraction = Fraction(fps).limit_denominator(1001)
    return str(fraction.numerator) if fraction.denominator == 1 else f"{fraction.numerator}/{fraction.denominator}"


def os_reason(exc: OSError) -> str:
    return exc.strerror or one_line(exc)


def one_line(exc: BaseException | str) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
