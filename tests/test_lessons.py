"""Lessons: the file format refuses every mistake in one line naming the step and the
field; expectations are judged against the run; the runner moves as a speaker's clicker
says; and every shipped lesson runs to its end with its expectations met."""

import os
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pygame
import pytest

from vpg_sim.lessons.catalog import find_lesson, read_lesson_file, shipped_names
from vpg_sim.lessons.expectations import MET, NOT_MET, PENDING, NoiseFigure, RunFacts, parse_expectation
from vpg_sim.lessons.script import LessonError, parse_lesson
from vpg_sim.ui.lesson.runner import LessonRunner, check_keys
from vpg_sim.ui.options import WindowOptions
from vpg_sim.ui.window.basics import FrameClock

ROOT = Path(__file__).resolve().parent.parent
FAST = '{ env = "CartPole-v1", seed = 0, num_envs = 4, steps_per_update = 256, vf_iters = 2 }'


def lesson_text(*steps: str, title: str = "A test") -> str:
    return f'title = "{title}"\nminutes = 1\n' + "".join(f"\n[[step]]\n{step}\n" for step in steps)


@pytest.mark.parametrize(
    ("step", "said"),
    [
        ('caption = "x"\ndo = [{ fly = 1 }]', "step 1.do[1]: unknown action 'fly'"),
        ('caption = "x"\ndo = [{ train = { gamma = 7.0 } }]', "step 1.do[1].train.gamma: gamma must be in"),
        ('caption = "x"\ndo = [{ train = { lr = 0.1 } }]', "step 1.do[1].train: 'lr' is not a config field"),
        ('caption = "x"\ndo = [{ wait = { minutes = 3 } }]', "step 1.do[1].wait: unknown key 'minutes'"),
        ('caption = "x"\ndo = [{ pace = "warp" }]', "step 1.do[1].pace: expected one of full"),
        ('caption = "x"\ndo = [{ open = "spreadsheet" }]', "step 1.do[1].open: expected one of map"),
        ('caption = "x"\ndo = [{ push = 9.0 }]', "step 1.do[1].push: an impulse"),
        ('caption = "x"\ndo = [{ knob = { hidden_sizes = 3 } }]', "step 1.do[1].knob: 'hidden_sizes' is not a live"),
        ('caption = "x"\ndo = [{ pace = "1/s", wait = "solved" }]', "step 1.do[1]: expected one action per table"),
        ('caption = "x"\nexpect = "it works"', "step 1.expect: 'it works' is not an expectation"),
        ('caption = "x"\nexpect = "adam quieter than gae"', "step 1.expect: 'adam' is not an estimator"),
        ('captoin = "x"', "step 1: unknown key 'captoin'"),
        ("do = []", "step 1.caption: expected one or two sentences"),
        ('caption = "x"\nhold = -1', "step 1.hold: expected seconds from 0 to 600"),
    ],
)
def test_every_mistake_in_a_lesson_is_one_line_naming_the_step_and_the_field(step, said):
    with pytest.raises(LessonError) as caught:
        parse_lesson(lesson_text(step), "test")
    assert said in str(caught.value) and "\n" not in str(caught.value)


def test_a_second_step_s_mistake_names_step_2():
    with pytest.raises(LessonError, match=r"^step 2\.do\[2\]\.wait: expected"):
        parse_lesson(lesson_text('caption = "a"', 'caption = "b"\ndo = [{ pace = "1/s" }, { wait = 3 }]'), "t")


def test_a_file_that_is_no_lesson_is_refused_in_one_line_without_waiting(tmp_path):
    fifo = tmp_path / "lesson.toml"
    os.mkfifo(fifo)  # opening a FIFO to read would wait for a writer for ever
    with pytest.raises(LessonError, match="is not a regular file"):
        read_lesson_file(fifo)
    with pytest.raises(LessonError, match="is a folder"):
        read_lesson_file(tmp_path)
    broken = tmp_path / "broken.toml"
    broken.write_bytes(b'title = "\xff"')
    with pytest.raises(LessonError, match="not UTF-8"):
        read_lesson_file(broken)
    with pytest.raises(LessonError, match="no lesson named 'nope'"):
        find_lesson("nope")


def test_a_key_that_names_no_command_is_refused_before_any_window_opens():
    lesson = parse_lesson(lesson_text('caption = "x"\ndo = [{ key = "teleport" }]'), "t")
    with pytest.raises(LessonError, match=r"step 1\.do\[1\]\.key: 'teleport' is no command of the window"):
        check_keys(lesson)


def test_the_command_line_refuses_a_bad_lesson_with_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(lesson_text('caption = "x"\ndo = [{ train = { gamma = 7.0 } }]'))
    result = subprocess.run(
        [sys.executable, "main.py", "lesson", str(bad)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("vpg-sim: error: lesson: bad.toml: step 1.do[1].train.gamma: ")


def test_lesson_list_names_every_shipped_lesson_with_its_length():
    result = subprocess.run(
        [sys.executable, "main.py", "lesson", "--list"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == shipped_names() and len(lines) == 5
    assert all(" min  " in line for line in lines)


# -- expectations ----------------------------------------------------------------------------


def test_a_mean_return_by_an_update_is_met_once_it_holds_and_not_met_once_that_update_passed():
    expect = parse_expectation("mean return >= 200 by update 60")
    assert expect.judge(RunFacts(update=30, mean_returns={30: 150.0})).state == PENDING
    assert expect.judge(RunFacts(update=55, mean_returns={54: 120.0, 55: 210.0})).state == MET
    late = expect.judge(RunFacts(update=61, mean_returns={60: 180.0, 61: 260.0}))  # 260 came after update 60
    assert late.state == NOT_MET and late.detail == "the mean return was 180 at update 60"


def test_a_mean_return_at_an_update_judges_that_update_alone():
    expect = parse_expectation("mean return < 475 at update 60")
    assert expect.judge(RunFacts(update=59, mean_returns={59: 500.0})).state == PENDING
    assert expect.judge(RunFacts(update=70, mean_returns={60: 300.0, 70: 500.0})).state == MET
    assert expect.judge(RunFacts(update=70, mean_returns={60: 480.0})).state == NOT_MET


def test_solved_waits_for_the_step_s_actions_then_reads_the_run():
    expect = parse_expectation("solved")
    assert expect.judge(RunFacts(solved=True, actions_done=False)).state == PENDING
    assert expect.judge(RunFacts(solved=True, actions_done=True)).state == MET
    not_yet = expect.judge(RunFacts(update=80, solved=False, actions_done=True))
    assert not_yet.state == NOT_MET and not_yet.detail == "the run is not solved at update 80"
    assert parse_expectation("not solved").judge(RunFacts(solved=False, actions_done=True)).state == MET


def test_quieter_needs_a_decided_measurement_in_that_order():
    expect = parse_expectation("gae quieter than total-return")
    assert expect.judge(RunFacts()).state == PENDING
    figures = {"gae": NoiseFigure(0.5, True), "total-return": NoiseFigure(4.0, True)}
    assert expect.judge(RunFacts(noise=figures)).state == MET
    reversed_ = {"gae": NoiseFigure(5.0, True), "total-return": NoiseFigure(4.0, True)}
    assert expect.judge(RunFacts(noise=reversed_)).state == NOT_MET
    undecided = {"gae": NoiseFigure(0.5, True), "total-return": NoiseFigure(4.0, False)}
    verdict = expect.judge(RunFacts(noise=undecided))
    assert verdict.state == NOT_MET and "no resolvable signal" in verdict.detail


def test_faster_judges_the_medians_once_the_comparison_has_finished():
    expect = parse_expectation("a faster than b")
    assert expect.judge(RunFacts(medians={"a": 50_000.0, "b": 70_000.0})).state == PENDING
    assert expect.judge(RunFacts(medians={"a": 50_000.0, "b": 70_000.0}, finished=True)).state == MET
    assert expect.judge(RunFacts(medians={"a": 50_000.0, "b": None}, finished=True)).state == MET
    assert expect.judge(RunFacts(medians={"a": 80_000.0, "b": 70_000.0}, finished=True)).state == NOT_MET


# -- the runner ------------------------------------------------------------------------------


def run_lesson(lesson, per_second=4.0, until=None, max_frames=20_000, **options):
    """Run ``lesson`` playing by itself, headless, training in threads; the runner and each
    step's last verdict."""
    frames = FrameClock(per_second)
    runner = LessonRunner(lesson, WindowOptions(training_process=False, headless=True, **options), True, frames.now)
    verdicts = {}
    try:
        for _ in range(max_frames):
            if not runner.running or (until is not None and until(runner)):
                break
            runner.window.step(frames.seconds)
            runner.switch_if_asked()
            frames.advance()
            verdicts[runner.index] = runner.state.verdict
    finally:
        runner.window.mode = None
        runner.window.close()
    return runner, verdicts


def test_a_step_whose_expectation_fails_says_so_instead_of_its_caption():
    lesson = parse_lesson(
        lesson_text(
            f'caption = "It is solved by update 2."\ndo = [{{ train = {FAST} }}, {{ pace = "5/s" }}, '
            '{ wait = { update = 3 } }]\nexpect = "mean return >= 499 by update 2"\n'
            'otherwise = "Seeds differ."\nhold = 1'
        ),
        "t",
    )
    runner, verdicts = run_lesson(lesson, until=lambda r: r.state.verdict.state == NOT_MET)
    text, warning = runner.caption()
    assert verdicts[0].state == NOT_MET and warning
    assert text.startswith("Not this time: the mean return was ")
    assert text.endswith("(the lesson expected mean return >= 499 by update 2). Seeds differ.")


def test_page_down_page_up_and_home_move_through_the_steps_and_other_keys_still_work():
    lesson = parse_lesson(
        lesson_text(f'caption = "one"\ndo = [{{ train = {FAST} }}]', 'caption = "two"', 'caption = "three"'), "t"
    )
    frames = FrameClock(4.0)
    runner = LessonRunner(lesson, WindowOptions(training_process=False, headless=True), False, frames.now)
    window = runner.window
    try:

        def press(key):
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode=""))
            window.step(frames.seconds)
            frames.advance()

        press(pygame.K_PAGEDOWN)
        press(pygame.K_PAGEDOWN)
        assert runner.index == 2 and runner.caption()[0] == "three"
        press(pygame.K_PAGEUP)
        assert runner.index == 1
        press(pygame.K_b)  # a key of the window: presenter mode, in the middle of the lesson
        assert window.view.presenting and runner.index == 1
        press(pygame.K_HOME)
        assert runner.index == 0
        for _ in range(40):  # not playing by itself: it stays on the first step
            window.step(frames.seconds)
            frames.advance()
        assert runner.index == 0 and runner.running
    finally:
        window.mode = None
        window.close()


@pytest.mark.slow
@pytest.mark.parametrize("name", shipped_names())
def test_each_shipped_lesson_runs_to_its_end_with_its_expectations_met(name):
    lesson = find_lesson(name)
    runner, verdicts = run_lesson(lesson)
    assert runner.finished, f"{name} stopped at step {runner.index + 1}"
    assert sorted(verdicts) == list(range(len(lesson.steps)))
    failed = {index + 1: verdict for index, verdict in verdicts.items() if verdict.state != MET}
    assert not failed, f"{name}: steps not met: {failed}"


# -- recorded without a display --------------------------------------------------------------


def test_the_window_records_to_a_video_with_no_display_at_all(tmp_path):
    video = tmp_path / "out.mp4"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--headless", "--record", str(video), "--run-for", "2"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    frames = iio.imread(video, index=None)
    assert len(frames) == 120  # 2 s at 60 frames a second of the window's own time, none dropped
    last = frames[-1]
    assert last.shape == (720, 1280, 3) and len(np.unique(last.reshape(-1, 3), axis=0)) > 50
