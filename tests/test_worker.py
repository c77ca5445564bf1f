"""Training in a process of its own: the window's side answers like a TrainingSession."""

import functools
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vpg_sim.core.config import config_for
from vpg_sim.training.process_session import ProcessSession
from vpg_sim.ui.panels.return_plot import PlotRequest, ReturnPlotRenderer
from vpg_sim.ui.theme import DARK

SMALL = {"num_envs": 4, "steps_per_update": 128, "vf_iters": 2, "vf_minibatch_size": 64}
RENDERER = functools.partial(ReturnPlotRenderer, DARK)


def wait_until(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture(scope="module")
def worker():
    session = ProcessSession(config=config_for("CartPole-v1", **SMALL), renderer=RENDERER)
    yield session
    session.close()


def test_the_child_trains_and_every_update_reaches_the_window(worker):
    worker.set_pace(None)
    worker.start()
    assert wait_until(lambda: worker.latest_snapshot().update >= 5)
    stats = worker.stats_since(0)
    assert [s.update for s in stats] == list(range(1, len(stats) + 1))
    snapshot = worker.latest_snapshot()
    assert set(snapshot.policy_state) and snapshot.policy_state["logits_net.0.weight"].shape == (64, 4)
    assert worker.episode_count() == len(worker.episode_returns()) > 0
    assert worker.timeline_updates()[0] == 0


def test_pause_holds_and_step_runs_one_update(worker):
    worker.pause()
    assert wait_until(lambda: not worker.updating)
    time.sleep(0.3)  # let anything in flight arrive
    frozen = worker.latest_snapshot().update
    worker.step()
    assert wait_until(lambda: worker.latest_snapshot().update == frozen + 1)
    time.sleep(0.3)
    assert worker.latest_snapshot().update == frozen + 1


def test_a_knob_reaches_the_child_at_the_next_update(worker):
    config = worker.request_changes(gamma=0.95)
    assert config.gamma == 0.95 and worker.config().gamma == 0.95
    before = worker.latest_snapshot().update
    worker.step()
    assert wait_until(lambda: worker.latest_snapshot().update > before)
    assert worker.latest_snapshot().config.gamma == 0.95
    assert [change.changes for change in worker.config_changes()] == [{"gamma": 0.95}]


def test_an_invalid_knob_is_refused_in_the_window_and_nothing_is_sent(worker):
    with pytest.raises(ValueError, match="gamma"):
        worker.request_changes(gamma=7.0)
    assert worker.config().gamma == 0.95


def test_the_child_draws_the_return_curve(worker):
    returns = worker.episode_returns()
    worker.renderer.request(PlotRequest(returns, 475.0, (400, 200)))
    images = []
    assert wait_until(lambda: images.append(worker.renderer.take_image()) or images[-1] is not None)
    assert images[-1].size == (400, 200) and len(images[-1].rgba) == 400 * 200 * 4


def test_the_window_side_measures_the_gradient_noise_of_the_child_s_newest_policy(worker):
    # Measured from the window's process: the trainer's process is daemonic and may not
    # start the measuring process (it once failed there without a word).
    worker.watch_noise(True)
    assert wait_until(lambda: worker.gradient_noise() is not None, timeout=60.0)
    reading = worker.gradient_noise()
    assert reading.update <= worker.latest_snapshot().update
    assert set(reading.noise.relative_variance) == {"total-return", "reward-to-go", "baseline", "gae"}
    assert worker.error is None
    worker.watch_noise(False)
    assert not worker.watching_noise
    assert worker.gradient_noise() is reading  # the last reading stays readable


def test_close_ends_the_child():
    session = ProcessSession(config=config_for("CartPole-v1", **SMALL), renderer=RENDERER)
    session.start()
    assert session.running
    session.close(timeout=20.0)  # by itself, or terminated after the timeout: either way, gone
    assert not session.running


def test_the_child_ends_by_itself_when_the_window_is_killed(tmp_path):
    script = tmp_path / "window.py"
    script.write_text(
        "import os, sys\n"
        "from vpg_sim.core.config import config_for\n"
        "from vpg_sim.training.process_session import ProcessSession\n"
        "if __name__ == '__main__':\n"
        f"    session = ProcessSession(config=config_for('CartPole-v1', **{SMALL!r}))\n"
        "    session.set_pace(None)\n"
        "    session.start()\n"
        "    print(session._process.pid, flush=True)\n"
        "    os._exit(0)  # killed: no close, no atexit\n"
    )
    repo = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(repo)}
    window = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env)
    assert window.stdout.strip(), window.stderr
    child = int(window.stdout.split()[-1])
    assert wait_until(lambda: not Path(f"/proc/{child}").exists() or is_zombie(child), timeout=60.0)


def is_zombie(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True
