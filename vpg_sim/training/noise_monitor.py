"""The gradient's noise, measured again and again at the newest policy while training runs.

A :class:`NoiseMonitor` owns a daemon thread that takes the newest checkpoint it was
offered, has the four estimators' noise measured there (:func:`checkpoint_gradient_noise`
in a child process: K batches from envs of its own, so training is not disturbed) and
keeps the newest reading. A measurement costs ~0.15-0.7 s of one core (CartPole, K = 16), so after each one
the thread rests for a multiple of what it took: it spends at most ``duty`` of its time
measuring, and the trainer beside it keeps most of the core.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from vpg_sim.core.checkpoint import Checkpoint
from vpg_sim.core.gradient_noise import DEFAULT_BATCHES, GradientNoise, probe_seed
from vpg_sim.core.trainer import TrainingInterrupted
from vpg_sim.training.noise_process import NoiseProcess

EVERY_UPDATES = 5
"""Measure again once the policy is at least this many updates newer."""
DUTY = 0.1
"""At most this share of the thread's time is spent measuring (the rest it rests). At 0.25
training beside the window (benchmarks/ui.py --noise-panel) fell to 0.65-0.68 of headless
against 0.75-0.77 with no panel; at 0.1, 0.66-0.74 against 0.70-0.73, with a new reading
every ~6 s at a solved policy (every 5 updates at the window's default pace)."""

Measure = Callable[[Checkpoint, int, int, Callable[[], bool]], GradientNoise]
"""``(checkpoint, batches, seed, should_stop) -> GradientNoise``:
:class:`NoiseProcess`, :func:`checkpoint_gradient_noise`, or a stand-in in tests. It raises
:class:`TrainingInterrupted` once ``should_stop()`` is True."""


@dataclass(frozen=True)
class NoiseReading:
    """One measurement and the policy it was made at."""

    update: int
    """The update of the checkpoint measured."""
    estimator: str
    """The estimator that policy was trained with (the panel marks it)."""
    noise: GradientNoise


class NoiseMonitor:
    """Measures the gradient noise of the newest offered checkpoint, in a thread of its own.

    :param every_updates: measure again once the offered policy is this many updates newer
        than the last one measured (a paused run's policy is measured once).
    :param duty: the most of its time the thread spends measuring, in (0, 1].
    :param measure: the measurement; None: :func:`checkpoint_gradient_noise` in a child
        process the monitor owns (:class:`NoiseProcess`: a thread beside the trainer would
        take its GIL), ended when the monitor stops. Tests give a fast stand-in.
    :param wait: rests for ``seconds`` or until the monitor stops (returns True if it
        stopped); tests give one that does not sleep.
    """

    def __init__(
        self,
        every_updates: int = EVERY_UPDATES,
        batches: int = DEFAULT_BATCHES,
        duty: float = DUTY,
        measure: Measure | None = None,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        if not 0 < duty <= 1:
            raise ValueError(f"duty must be in (0, 1], not {duty}")
        self.every_updates = every_updates
        self.batches = batches
        self.duty = duty
        self._own_process = NoiseProcess() if measure is None else None
        self._measure: Measure = measure or self._own_process  # type: ignore[assignment]
        self._lock = threading.Lock()
        self._offered = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._wait = wait if wait is not None else self._stop.wait
        self._candidate: Checkpoint | None = None
        self._reading: NoiseReading | None = None
        self._measured_update: int | None = None
        self.error: str | None = None
        """One line, if a measurement failed (the thread then stops)."""
        self._thread = threading.Thread(target=self._run, name="gradient-noise", daemon=True)
        self._thread.start()

    def offer(self, checkpoint: Checkpoint) -> None:
        """The newest policy; measured when the thread is free and it is new enough."""
        with self._offered:
            self._candidate = checkpoint
            self._offered.notify_all()

    def reading(self) -> NoiseReading | None:
        """The newest measurement, or None before the first has finished."""
        with self._lock:
            return self._reading

    def stop(self, timeout: float = 1.0) -> bool:
        """Stop, interrupting a measurement in flight (within one env step); True if the
        thread ended in time."""
        with self._offered:
            self._stop.set()
            self._offered.notify_all()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _due(self) -> Checkpoint | None:
        """Under the lock: the candidate, if it should be measured now."""
        candidate = self._candidate
        if candidate is None:
            return None
        if self._measured_update is None or candidate.update >= self._measured_update + self.every_updates:
            return candidate
        return None

    def _run(self) -> None:
        try:
            self._measure_while_running()
        finally:  # the thread owns the measuring process: it ends with it
            if self._own_process is not None:
                self._own_process.close()

    def _measure_while_running(self) -> None:
        while True:
            with self._offered:
                while not self._stop.is_set() and self._due() is None:
                    self._offered.wait()
                if self._stop.is_set():
                    return
                checkpoint = self._due()
                assert checkpoint is not None
                self._measured_update = checkpoint.update
            try:
                seed = probe_seed(checkpoint.config.seed, checkpoint.update)
                noise = self._measure(checkpoint, self.batches, seed, self._stop.is_set)
            except TrainingInterrupted:
                return
            except Exception as error:  # the panel says why; training goes on
                lines = str(error).splitlines()
                self.error = f"gradient noise: {type(error).__name__}: {lines[0] if lines else ''}"
                return
            with self._lock:
                self._reading = NoiseReading(checkpoint.update, checkpoint.config.estimator, noise)
            # The measurement's own time, not the call's: the first call also starts the
            # measuring process (~1 s), which would stretch the first rest tenfold.
            if self._wait(noise.seconds * (1 / self.duty - 1)):
                return


class NoiseWatch:
    """A session's noise measurements: a :class:`NoiseMonitor` while watching, and the
    last reading after. Both sessions (the training thread's and the worker's window side)
    hold one; its methods are thread-safe."""

    def __init__(self, make_monitor: Callable[[], NoiseMonitor] = NoiseMonitor) -> None:
        self._make_monitor = make_monitor
        self._lock = threading.Lock()
        self._monitor: NoiseMonitor | None = None
        self._last: NoiseReading | None = None

    def start(self, newest: Checkpoint) -> None:
        """Measure at ``newest`` and then at every newer policy offered (no-op if already)."""
        with self._lock:
            if self._monitor is None:
                self._monitor = self._make_monitor()
                self._monitor.offer(newest)

    def stop(self) -> None:
        """Stop measuring: the reading in flight is dropped, the last one stays readable."""
        with self._lock:
            monitor, self._monitor = self._monitor, None
            if monitor is not None:
                self._last = monitor.reading() or self._last
        if monitor is not None:
            monitor.stop(timeout=0)  # it ends within an env step; nobody need wait

    @property
    def watching(self) -> bool:
        with self._lock:
            return self._monitor is not None

    def offer(self, checkpoint: Checkpoint) -> None:
        """A newer policy, measured if watching."""
        with self._lock:
            monitor = self._monitor
        if monitor is not None:
            monitor.offer(checkpoint)

    def reading(self) -> tuple[NoiseReading | None, str | None]:
        """The newest reading (or None), and the monitor's one-line error if it failed
        (watching then stops)."""
        with self._lock:
            monitor = self._monitor
        reading = monitor.reading() if monitor is not None else None
        error = monitor.error if monitor is not None else None
        if error:
            self.stop()
        with self._lock:
            return reading or self._last, error

    def close(self, timeout: float = 1.0) -> None:
        """Stop watching and wait up to ``timeout`` for the monitor's thread."""
        with self._lock:
            monitor, self._monitor = self._monitor, None
        if monitor is not None:
            monitor.stop(timeout)


class NoiseWatching:
    """A session's noise commands and readings, over the :class:`NoiseWatch` it keeps in
    ``_noise`` and offers each new snapshot: both sessions (the training thread's and the
    worker's window side) answer the window alike."""

    _noise: NoiseWatch
    error: str | None

    def latest_snapshot(self) -> Checkpoint:
        raise NotImplementedError

    def watch_noise(self, enabled: bool) -> None:
        """Measure the gradient's noise at the newest policy every few updates, beside
        training (see :class:`NoiseMonitor`), or stop measuring (the last reading stays)."""
        if enabled:
            self._noise.start(self.latest_snapshot())
        else:
            self._noise.stop()

    @property
    def watching_noise(self) -> bool:
        """Whether the gradient noise is being measured (see :meth:`watch_noise`)."""
        return self._noise.watching

    def gradient_noise(self) -> NoiseReading | None:
        """The newest gradient-noise measurement (see :meth:`watch_noise`), or None; a failed
        measurement's one line becomes the session's ``error``."""
        reading, error = self._noise.reading()
        if error:
            self.error = error
        return reading
