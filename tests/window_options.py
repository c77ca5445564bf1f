"""Window options for tests: training in a thread of the test's own process (the app's
default, a process of its own, costs seconds of start-up per window)."""

from vpg_sim.ui.options import WindowOptions


def threaded(**options: object) -> WindowOptions:
    return WindowOptions(training_process=False, **options)
